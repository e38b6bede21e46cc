# Keep the checkpoint with the best validation accuracy
checkpoint = ModelCheckpoint(
    dirpath="checkpoints", monitor=____, mode=____, save_top_k=1
)
trainer = pl.Trainer(
    max_epochs=2, accelerator=device.type, devices=1, logger=False,
    callbacks=[____], enable_progress_bar=False,
)
trainer.fit(model, train_loader, val_loader)
# Rebuild the best model from its checkpoint file
best = CIFARClassifier.load_from_checkpoint(checkpoint.____)
print(checkpoint.best_model_path, checkpoint.best_model_score)
