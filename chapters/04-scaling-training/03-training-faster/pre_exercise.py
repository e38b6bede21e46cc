import torch
import pytorch_lightning as pl
from course.core.data import cifar10_loaders
from course.core.device import get_device

# Trainer flags that keep short runs lean: no logs, checkpoints, progress
# bar, summary or sanity check
QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)

# One thread: steady timings on a small, shared CPU
torch.set_num_threads(1)
device = get_device()
train_loader, _ = cifar10_loaders(batch_size=64, n_train=256, n_val=64)
# For gradient accumulation: 512 images in batches of 32
small_loader, _ = cifar10_loaders(batch_size=32, n_train=512, n_val=64)
