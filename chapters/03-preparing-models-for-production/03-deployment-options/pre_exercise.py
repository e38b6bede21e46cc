import onnxruntime as ort
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from torch.export import Dim
import pytorch_lightning as pl
from course.core.data import cifar10_dataset, cifar10_loaders, load_tensors

QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)


class SmallCNN(nn.Module):
    """The chapter's CNN: two conv blocks with batch norm, dropout before the head."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(32 * 8 * 8, 10))

    def forward(self, x):
        return self.head(self.features(x))


class LitCNN(pl.LightningModule):
    """SmallCNN in a LightningModule, with a training step and an optimizer."""

    def __init__(self):
        super().__init__()
        self.net = SmallCNN()

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=3e-3)


# One short epoch of training
torch.manual_seed(0)
train_loader, _ = cifar10_loaders(batch_size=64, n_train=512, n_val=64)
test_loader = DataLoader(cifar10_dataset("test", 256), batch_size=64)  # the test split
trainer = pl.Trainer(max_epochs=1, **QUIET)
trainer.fit(LitCNN(), train_loader)
model = trainer.lightning_module.net  # the trained network, still in training mode
images, labels = load_tensors("test", 8)  # eight normalised CIFAR-10 test images
