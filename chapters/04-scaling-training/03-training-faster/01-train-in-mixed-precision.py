# bfloat16 on a CPU and recent GPUs, float16 on older ones
precision = ____ if device.type == "cpu" or torch.cuda.is_bf16_supported() else "16-mixed"
# Convolutions run faster on channels-last tensors
model = CIFARClassifier().to(memory_format=____)
trainer = pl.Trainer(max_epochs=1, accelerator=device.type, devices=1,
                     precision=____, **QUIET)
trainer.fit(model, train_loader)
print(trainer.precision)
