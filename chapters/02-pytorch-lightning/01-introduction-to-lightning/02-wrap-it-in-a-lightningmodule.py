class LitClassifier(pl.____):
    def __init__(self):
        super().__init__()
        self.model = TinyNet()

    def training_step(self, batch, batch_idx):
        x, y = batch
        # Return the loss: the Trainer calls backward and step
        return ____

    def ____(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)

lit_model = LitClassifier()
trainer.fit(lit_model, train_loader)
