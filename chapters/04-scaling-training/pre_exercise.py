# The chapter's classifier, run before each lesson's own set-up, in the learner's __main__
# as a notebook's own classes are. A lesson that adds to it (a validation step, a
# RankRecorder) derives a class of the same name from it, so that its exercises'
# CIFARClassifier is the lesson's.
import torch
import torch.nn.functional as F
from torch import nn
import pytorch_lightning as pl


class CIFARClassifier(pl.LightningModule):
    """A small CNN for 32x32 colour images: two conv blocks and a linear head."""

    def __init__(self, lr=1e-3):
        super().__init__()
        self.save_hyperparameters()  # lr goes to every logger as a hyperparameter
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
        )

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)
