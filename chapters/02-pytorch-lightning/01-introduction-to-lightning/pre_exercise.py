import torch
import torch.nn.functional as F
from torch import nn
import pytorch_lightning as pl
from course.core.data import cifar10_loaders

# Trainer flags that keep short runs quiet: no logs, checkpoints or progress bar
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False)


class TinyNet(nn.Module):
    """A plain PyTorch model: one conv layer, dropout and a linear head."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(8 * 8 * 8, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 4)
        return self.head(self.drop(x.flatten(1)))


train_loader, val_loader = cifar10_loaders(batch_size=64, n_train=256, n_val=128)
