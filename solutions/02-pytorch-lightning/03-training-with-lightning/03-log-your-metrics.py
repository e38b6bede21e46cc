class LoggedClassifier(CIFARClassifier):
    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        # Record the loss, averaged over each epoch
        self.log("train_loss", loss, on_step=False, on_epoch=True)
        return loss


# Write the metrics of this run as CSV files
logger = CSVLogger(save_dir="logs", name="cifar")
trainer = pl.Trainer(max_epochs=1, accelerator=device.type, devices=1,
                     logger=logger, enable_checkpointing=False, enable_progress_bar=False)
trainer.fit(LoggedClassifier(), train_loader, val_loader)
