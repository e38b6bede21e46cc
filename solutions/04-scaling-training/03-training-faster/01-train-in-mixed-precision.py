# bfloat16 on a CPU; float16 with loss scaling on a GPU
precision = "16-mixed" if device.type == "cuda" else "bf16-mixed"
# Convolutions run faster on channels-last tensors
model = CIFARClassifier().to(memory_format=torch.channels_last)
trainer = pl.Trainer(max_epochs=1, accelerator=device.type, devices=1,
                     precision=precision, **QUIET)
trainer.fit(model, train_loader)
print(trainer.precision)
