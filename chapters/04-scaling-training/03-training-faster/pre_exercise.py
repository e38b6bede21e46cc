import torch
import torch.nn.functional as F
from torch import nn
import pytorch_lightning as pl
from course.core.data import cifar10_loaders
from course.core.device import get_device

# Trainer flags that keep short runs lean: no logs, checkpoints, progress
# bar, summary or sanity check
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)


class CIFARClassifier(pl.LightningModule):
    """A small CNN."""

    def __init__(self, lr=1e-3):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 8 * 8, 10),
        )

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x).float(), y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


# One thread: steady timings on a small, shared CPU
torch.set_num_threads(1)
device = get_device()
train_loader, _ = cifar10_loaders(batch_size=64, n_train=256, n_val=64)
# For gradient accumulation: 512 images in batches of 32
small_loader, _ = cifar10_loaders(batch_size=32, n_train=512, n_val=64)
