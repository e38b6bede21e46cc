# An effective batch of 128 from batches of 32 that fit
target_batch = 128
accumulate = target_batch // ____
model = CIFARClassifier()
trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1,
                     ____=accumulate, **QUIET)
trainer.fit(model, small_loader)
# One optimizer step for every few batches
print(trainer.____, "optimizer steps")
