# An effective batch of 128 from batches of 32 that fit
target_batch = 128
accumulate = target_batch // small_loader.batch_size
model = CIFARClassifier()
trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1,
                     accumulate_grad_batches=accumulate, **QUIET)
trainer.fit(model, small_loader)
# One optimizer step for every few batches
print(trainer.global_step, "optimizer steps")
