# bfloat16 on a CPU; float16 with loss scaling on a GPU
precision = "16-mixed" if device.type == "cuda" else ____
# Convolutions run faster on channels-last tensors
model = CIFARClassifier().to(memory_format=____)
trainer = pl.Trainer(max_epochs=1, accelerator=device.type, devices=1,
                     precision=____, **QUIET)
trainer.fit(model, train_loader)
print(trainer.precision)
