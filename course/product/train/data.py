"""The data: uint8 tensors in memory, each global batch shared out among the processes,
whole-batch augmentation."""

from __future__ import annotations

import os

import numpy as np


def augment(images, generator, pad: int = 4, share: tuple[int, int] = (0, 1)):
    """Random crop of the reflect-padded image and random horizontal flip, for a whole
    uint8 batch (N, 32, 32, 3) at once: one gather, no per-image Python.

    ``share=(rank, world)``: the batch is rank's share of a global batch of ``world * N``
    images; the random draws are made for the whole global batch (every process holds
    the same generator) and rank's slice is used, so the processes together augment
    exactly as one process would."""
    import torch

    rank, world = share
    n, h, w, _ = images.shape
    mine = slice(rank * n, (rank + 1) * n)
    shift_y = torch.randint(0, 2 * pad + 1, (world * n, 1), generator=generator)[mine]
    shift_x = torch.randint(0, 2 * pad + 1, (world * n, 1), generator=generator)[mine]
    flip = (torch.rand(world * n, 1, generator=generator) < 0.5)[mine]

    def reflect(index, size):  # padded coordinate -> source coordinate (reflect padding)
        index = (index - pad).abs()
        return torch.where(index >= size, 2 * (size - 1) - index, index)

    rows = reflect(shift_y + torch.arange(h), h)
    cols = reflect(shift_x + torch.arange(w), w)
    cols = torch.where(flip, cols.flip(1), cols)
    return images[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


class GlobalBatches:
    """A sampler of index lists: each epoch one permutation of the training images (the
    same on every process, drawn from the seed and the epoch), cut into global batches of
    ``batch_size``; process ``rank`` of ``world`` takes its contiguous ``batch_size //
    world`` share of each. The processes' shares of a step make up the very batch one
    process would train on, and every process runs the same number of steps."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.n, self.batch_size, self.seed, self.rank, self.world = n, batch_size, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:  # Lightning calls it before each epoch
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n // self.batch_size

    def __iter__(self):
        import torch

        order = torch.randperm(self.n, generator=torch.Generator().manual_seed(self.seed * 100_003 + self.epoch))
        share = self.batch_size // self.world
        for step in range(len(self)):
            start = step * self.batch_size + self.rank * share
            yield order[start : start + share].tolist()
        self.epoch += 1


def make_datamodule(
    train_images, train_labels, val_images, val_labels, batch_size: int, seed: int, rank: int = 0, world: int = 1
):
    """``batch_size`` is the global batch; this process gets its share of it."""
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    from course.core.preprocess import to_model_input

    def tensors(images, labels):
        return TensorDataset(torch.from_numpy(np.array(images)), torch.from_numpy(np.array(labels, dtype=np.int64)))

    class CifarBatches(pl.LightningDataModule):
        """Yields whole batches of uint8 pixels (a TensorDataset indexed by a list of
        rows), then augments and normalises each batch before it goes to the device."""

        def __init__(self):
            super().__init__()
            self.train, self.val = tensors(train_images, train_labels), tensors(val_images, val_labels)
            self.generator = torch.Generator().manual_seed(seed)  # the same on every process (see augment)

        def train_dataloader(self):
            return DataLoader(
                self.train, sampler=GlobalBatches(len(self.train), batch_size, seed, rank, world), batch_size=None
            )

        def val_dataloader(self):  # each process validates its own contiguous share, in batches of 500
            mine = np.array_split(np.arange(len(self.val)), world)[rank]
            return DataLoader(
                self.val, sampler=[c.tolist() for c in np.array_split(mine, -(-len(mine) // 500))], batch_size=None
            )

        def on_before_batch_transfer(self, batch, dataloader_idx):
            images, labels = batch
            if self.trainer is not None and self.trainer.training:
                images = augment(images, self.generator, share=(rank, world))
            # the one preprocessing (course.core.preprocess), as in serving
            return torch.from_numpy(to_model_input(images.numpy())), labels

    return CifarBatches()


def load_data(subset: bool, download: bool):
    """(train, val and test images and labels, description). The validation split is
    course.core.data's, the one the lessons use: the last tenth of the training file (at most
    2,000 images), held out to pick the best checkpoint, so the test set stays unseen."""
    from course.core import data

    if subset:  # the shipped 3,000 + 1,000 images: for a quick check of the command
        saved = os.environ.pop(data.ENV_DIR, None)
        try:
            splits = [data.load_arrays(name) for name in data.SPLITS]
        finally:
            if saved is not None:
                os.environ[data.ENV_DIR] = saved
        return (*splits[0], *splits[1], *splits[2], f"the shipped subset in {data.SUBSET_DIR}")
    if download:
        splits = [data.load_arrays(name, download=True) for name in data.SPLITS]
        return (*splits[0], *splits[1], *splits[2], "torchvision download")
    directory = os.environ.get(data.ENV_DIR)
    if not directory:
        raise data.DatasetError(
            f"course train needs the full CIFAR-10 (50,000 training images). Set {data.ENV_DIR} to a "
            "directory holding cifar10_train.npz and cifar10_test.npz (on the course machines: "
            f"export {data.ENV_DIR}=/work/shared/cifar10), or pass --download on a machine with internet "
            "(torchvision fetches the official release, 170 MB). `course train --subset` trains on the "
            "shipped 3,000-image subset instead, to try the command."
        )
    splits = [data.load_arrays(name) for name in data.SPLITS]
    return (*splits[0], *splits[1], *splits[2], f"{data.ENV_DIR}={directory}")
