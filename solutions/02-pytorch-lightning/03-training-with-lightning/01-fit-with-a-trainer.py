# Train for one epoch on the detected device
trainer = pl.Trainer(
    max_epochs=1,
    accelerator=device.type,
    devices=1,
    logger=False,
    enable_checkpointing=False,
    enable_progress_bar=False,
)
# Fit the model, validating after the epoch
trainer.fit(model, train_loader, val_loader)
print(trainer.callback_metrics)
