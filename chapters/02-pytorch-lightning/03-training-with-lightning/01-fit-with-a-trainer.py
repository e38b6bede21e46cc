# One epoch, on one device of the detected kind
trainer = pl.Trainer(
    max_epochs=____,
    accelerator=____,
    devices=____,
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
)
# Fit the model, validating after the epoch
trainer.____(model, train_loader, val_loader)
print(type(trainer.accelerator).__name__, trainer.num_devices, trainer.callback_metrics)
