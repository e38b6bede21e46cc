import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DistributedSampler
import pytorch_lightning as pl
from course.core.data import cifar10_dataset, cifar10_loaders
from course.core.distributed import RankRecorder, run_ranks

# Trainer flags that keep short runs lean: no logs, checkpoints, progress
# bar, summary or sanity check
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)
BASE_LR = 0.01  # SGD with momentum, for one process training on batches of 64

# 256 CIFAR-10 images and one linear layer for the hand-written all-reduce:
# a forked rank starts with the same weights, as DDP guarantees
dataset = cifar10_dataset("train", 256)
torch.manual_seed(0)
model = nn.Linear(3 * 32 * 32, 10)


class CIFARClassifier(RankRecorder, CIFARClassifier):
    """The chapter's small CNN (lr=BASE_LR by default); RankRecorder writes what each
    process did to ranks/."""

    def __init__(self, lr=BASE_LR):
        super().__init__(lr)

    def configure_optimizers(self):
        # SGD: the optimizer the linear scaling rule was found for
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr, momentum=0.9)


train_loader, _ = cifar10_loaders(batch_size=64, n_train=512, n_val=64)
