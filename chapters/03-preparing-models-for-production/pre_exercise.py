# The chapter's model, run before each lesson's own set-up. It is defined here, in the
# learner's __main__ as a notebook's own classes are, so torch.save(model) pickles it by
# reference to this definition (lesson 3.2 shows why that is fragile).
import torch
import torch.nn.functional as F
from torch import nn
import pytorch_lightning as pl


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
