# Train for one epoch on the detected device
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
print(trainer.callback_metrics)
