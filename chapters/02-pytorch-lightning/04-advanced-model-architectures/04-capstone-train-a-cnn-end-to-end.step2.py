class LitConvNet(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = ConvNet()

    def training_step(self, batch, batch_idx):
        x, y = batch
        return ____

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.____("val_acc", (self.net(x).argmax(dim=1) == y).float().mean())

    def configure_optimizers(self):
        return torch.optim.Adam(self.____(), lr=1e-3)
