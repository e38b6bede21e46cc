import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
import pytorch_lightning as pl
from course.core.data import cifar10_dataset, cifar10_loaders

# Trainer flags that keep short runs lean: no logs, checkpoints, progress
# bar or sanity check
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)


class BaseClassifier(pl.LightningModule):
    """A small CNN for CIFAR-10 with a training step, but no validation or optimizer yet."""

    def __init__(self, lr=1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(16 * 8 * 8, 10),
        )

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)
