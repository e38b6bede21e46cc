class CIFARDataModule(pl.LightningDataModule):
    def setup(self, stage=None):
        self.train_set = cifar10_dataset("train", 256)
        self.val_set = cifar10_dataset("val", 128)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=64, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=64, shuffle=False)

dm = CIFARDataModule()
# The Trainer asks the data module for its loaders
trainer = pl.Trainer(max_epochs=1, **QUIET)
trainer.fit(Classifier(), datamodule=dm)
