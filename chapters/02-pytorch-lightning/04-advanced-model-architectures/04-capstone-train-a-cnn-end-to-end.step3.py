dm = CIFARDataModule(batch_size=64)
model = LitConvNet()
# Two epochs, validating after each one
trainer = pl.Trainer(max_epochs=____, **QUIET)
trainer.fit(model, datamodule=____)
print(trainer.callback_metrics)
