class TestedCNN(LitCNN):
    def __init__(self):
        super().__init__()
        self.test_acc = MulticlassAccuracy(num_classes=10, average="micro")
        self.confmat = MulticlassConfusionMatrix(num_classes=10)
    def test_step(self, batch, batch_idx):
        preds = self(batch[0]).argmax(dim=1)
        self.test_acc(preds, batch[1])
        self.confmat.update(preds, batch[1])
        self.log("test_acc", self.test_acc)
    # A matrix is not one number: compute it, do not log it
    def on_test_epoch_end(self):
        self.confusion = self.confmat.compute()
results = trainer.test(TestedCNN.load_from_checkpoint("trained.ckpt"), test_loader)
print(results, trainer.lightning_module.confusion.diag())
