import torch
from torch.utils.data import DataLoader
import pytorch_lightning as pl
from course.core.data import cifar10_dataset, cifar10_loaders, load_tensors

QUIET = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
             enable_model_summary=False, num_sanity_val_steps=0)

# SmallCNN and LitCNN come from the chapter's pre_exercise.py, which runs before this file

# One short epoch of training, saved as a Lightning checkpoint
torch.manual_seed(0)
train_loader, _ = cifar10_loaders(batch_size=64, n_train=512, n_val=64)
test_loader = DataLoader(cifar10_dataset("test", 256), batch_size=64)  # the test split
trainer = pl.Trainer(max_epochs=1, **QUIET)
trainer.fit(LitCNN(), train_loader)
trainer.save_checkpoint("trained.ckpt")
model = trainer.lightning_module.net  # the trained network, still in training mode
images, labels = load_tensors("test", 8)  # eight normalised CIFAR-10 test images
