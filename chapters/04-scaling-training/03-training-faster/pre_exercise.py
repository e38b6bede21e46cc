import torch
import torch.nn.functional as F
import pytorch_lightning as pl
from course.core.data import cifar10_loaders
from course.core.device import get_device
from course.core.distributed import RankRecorder

# Trainer flags that keep short runs lean: no logs, checkpoints, progress
# bar, summary or sanity check
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)


class CIFARClassifier(RankRecorder, CIFARClassifier):
    """The chapter's small CNN; RankRecorder writes what the run did (its batches,
    optimizer steps and the dtype its logits were computed in) to ranks/rank-0.pt."""

    def training_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.record_dtype(logits)
        return F.cross_entropy(logits.float(), y)


# One thread: steady timings on a small, shared CPU
torch.set_num_threads(1)
device = get_device()
train_loader, _ = cifar10_loaders(batch_size=64, n_train=256, n_val=64)
# For gradient accumulation: 512 images in batches of 32
small_loader, _ = cifar10_loaders(batch_size=32, n_train=512, n_val=64)
