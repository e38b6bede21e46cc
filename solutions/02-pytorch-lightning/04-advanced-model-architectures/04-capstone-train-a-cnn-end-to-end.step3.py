dm = CIFARDataModule(batch_size=64)
model = LitConvNet()
# Two epochs, validating after each one
trainer = pl.Trainer(max_epochs=2, **QUIET)
trainer.fit(model, datamodule=dm)
print(trainer.callback_metrics)
