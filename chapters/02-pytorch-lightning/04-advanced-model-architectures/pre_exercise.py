import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
import pytorch_lightning as pl
from course.core.data import cifar10_dataset

# Trainer flags that keep short runs lean: no logs, checkpoints, progress
# bar or sanity check
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)


class CIFARDataModule(pl.LightningDataModule):
    """The data module of lesson 2.2: shuffled training and fixed validation batches."""

    def __init__(self, batch_size=64, n_train=128, n_val=64):
        super().__init__()
        self.batch_size, self.n_train, self.n_val = batch_size, n_train, n_val

    def setup(self, stage=None):
        self.train_set = cifar10_dataset("train", self.n_train)
        self.val_set = cifar10_dataset("val", self.n_val)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=self.batch_size, shuffle=False)
