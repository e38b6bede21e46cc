class LitClassifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.model = TinyNet()

    def training_step(self, batch, batch_idx):
        x, y = batch
        # Return the loss: the Trainer calls backward and step
        return F.cross_entropy(self.model(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)

lit_model = LitClassifier()
trainer.fit(lit_model, train_loader)
