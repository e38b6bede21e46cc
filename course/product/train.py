"""``course train``: the course's CIFAR-10 classifier, trained on the full data set.

The recipe is the one the course teaches for training fast on a small machine:

* the images stay a uint8 tensor in memory and each batch is augmented as a whole
  with tensor ops (random crop of a reflect-padded image, horizontal flip), so no
  per-image transforms and no worker processes;
* a compact residual CNN (ResNet-9 layout, narrowed for a 2-core CPU) with BatchNorm,
  run in ``channels_last`` with bf16 autocast (``precision="bf16-mixed"``);
* SGD with Nesterov momentum, a one-cycle learning rate, label smoothing;
* a time budget: the one-cycle schedule follows the wall clock (progress = time
  spent / time available), so training ends on time, annealed, however busy the
  machine; ``--epochs N`` gives a fixed, step-based schedule instead.

Then the best checkpoint (by accuracy on 2,000 held-out training images) is
evaluated on the full 10,000-image test set, exported to ONNX (class probabilities;
``--flip-tta`` also averages over the mirror image), checked against PyTorch on real
test images, and described in a model card. ``course serve`` answers with that ONNX file.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np

SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "model"
MODEL_FILE = "model.onnx"
META_FILE = "model.json"
CARD_FILE = "MODEL_CARD.md"
WIDTHS = (32, 64, 128)
PCT_START, DIV_FACTOR, FINAL_DIV_FACTOR = 0.25, 20, 200  # the one-cycle schedule's shape
MOMENTUM_RANGE = (0.85, 0.95)  # one-cycle lowers momentum while the learning rate rises
CHECK_IMAGES = 1000  # real test images on which ONNX Runtime must match PyTorch
# `course` imports this module before torch and Lightning: the budget counts from here,
# so their import time is inside it too.
STARTED = time.perf_counter()


# ----------------------------------------------------------------------------
# The network


def _conv_bn(c_in: int, c_out: int):
    from torch import nn

    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


def build_net(widths=WIDTHS):
    """ResNet-9's layout (Page, 2018) at a quarter of its width: a stem, three stages of
    conv + max-pool, a residual pair of convs after stages 2 and 3, global max-pool,
    a linear layer. About 0.47 M parameters and 24 M multiply-adds per image."""
    from torch import nn

    class Residual(nn.Module):
        def __init__(self, channels: int):
            super().__init__()
            self.body = nn.Sequential(_conv_bn(channels, channels), _conv_bn(channels, channels))

        def forward(self, x):
            return x + self.body(x)

    w1, w2, w3 = widths
    return nn.Sequential(
        _conv_bn(3, w1 // 2),
        _conv_bn(w1 // 2, w1), nn.MaxPool2d(2),
        _conv_bn(w1, w2), nn.MaxPool2d(2), Residual(w2),
        _conv_bn(w2, w3), nn.MaxPool2d(2), Residual(w3),
        nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(w3, 10, bias=False),
    )


def make_module(**hparams):
    """The LightningModule (built in a function so importing this file stays cheap)."""
    import pytorch_lightning as pl
    import torch
    import torch.nn.functional as F
    from torchmetrics.classification import MulticlassAccuracy

    class CifarNet(pl.LightningModule):
        def __init__(self, widths=WIDTHS, lr: float = 0.2, weight_decay: float = 5e-4,
                     momentum: float = 0.9, label_smoothing: float = 0.1, total_steps: int = 1,
                     logit_scale: float = 0.125, clock_schedule: bool = False):
            super().__init__()
            self.save_hyperparameters()
            self.net = build_net(tuple(widths)).to(memory_format=torch.channels_last)
            self.train_acc = MulticlassAccuracy(num_classes=10, average="micro")
            self.val_acc = MulticlassAccuracy(num_classes=10, average="micro")

        def forward(self, x):
            # channels_last: oneDNN's fast layout on CPU (and tensor cores' on GPU)
            return self.net(x.contiguous(memory_format=torch.channels_last)) * self.hparams.logit_scale

        def training_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            loss = F.cross_entropy(logits, y, label_smoothing=self.hparams.label_smoothing)
            self.train_acc(logits, y)
            self.log("train_loss", loss, prog_bar=True)
            self.log("train_acc", self.train_acc, prog_bar=True, on_step=False, on_epoch=True)
            return loss

        def validation_step(self, batch, batch_idx):
            x, y = batch
            logits = self(x)
            self.val_acc(logits, y)
            self.log("val_loss", F.cross_entropy(logits, y), prog_bar=False)
            self.log("val_acc", self.val_acc, prog_bar=True)

        def configure_optimizers(self):
            hp = self.hparams
            decay, no_decay = [], []
            for p in self.parameters():  # no weight decay on BatchNorm's scale and shift
                (decay if p.ndim > 1 else no_decay).append(p)
            opt = torch.optim.SGD([{"params": decay, "weight_decay": hp.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=hp.lr, momentum=hp.momentum, nesterov=True)
            if hp.clock_schedule:  # ClockSchedule sets the learning rate before every step
                return opt
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt, max_lr=hp.lr, total_steps=hp.total_steps, pct_start=PCT_START, anneal_strategy="linear",
                div_factor=DIV_FACTOR, final_div_factor=FINAL_DIV_FACTOR,
                base_momentum=MOMENTUM_RANGE[0], max_momentum=MOMENTUM_RANGE[1])
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return CifarNet(**hparams)


def one_cycle(progress: float, peak: float) -> tuple[float, float]:
    """(learning rate, momentum) at ``progress`` (0 to 1) of a linear one-cycle schedule,
    the same shape as ``torch.optim.lr_scheduler.OneCycleLR(anneal_strategy="linear")``."""
    start, end = peak / DIV_FACTOR, peak / DIV_FACTOR / FINAL_DIV_FACTOR
    low, high = MOMENTUM_RANGE
    if progress < PCT_START:
        f = progress / PCT_START
        return start + (peak - start) * f, high - (high - low) * f
    f = min(1.0, (progress - PCT_START) / (1 - PCT_START))
    return peak - (peak - end) * f, low + (high - low) * f


def make_clock_schedule(seconds: float, peak_lr: float):
    """A callback that runs the one-cycle schedule on the wall clock instead of a step
    count: progress is the share of ``seconds`` spent since training began, and training
    stops (after a last validation) when the time is up. However busy the machine gets,
    the fit ends on time with its learning rate annealed."""
    import pytorch_lightning as pl

    class ClockSchedule(pl.Callback):
        def __init__(self):
            self.start = None
            self.progress = 0.0

        def on_train_start(self, trainer, pl_module):
            self.start = time.perf_counter()

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.progress = (time.perf_counter() - self.start) / seconds
            lr, momentum = one_cycle(self.progress, peak_lr)
            for group in trainer.optimizers[0].param_groups:
                group["lr"], group["momentum"] = lr, momentum
            pl_module.log("lr", lr, prog_bar=False)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if time.perf_counter() - self.start >= seconds:
                trainer.should_stop = True  # Lightning validates once more, then stops

    return ClockSchedule()


class Served:
    """Wrap a trained network into the served model: class probabilities, optionally
    averaged over the image and its mirror image (horizontal-flip test-time augmentation:
    a little more accurate, twice the work per request)."""

    def __new__(cls, module, flip: bool = False):
        import torch
        from torch import nn

        class _Served(nn.Module):
            def __init__(self, inner):
                super().__init__()
                self.inner = inner

            def forward(self, x):
                if not flip:
                    return self.inner(x).float().softmax(1)
                probs = self.inner(torch.cat([x, x.flip(3)])).float().softmax(1)
                n = x.shape[0]
                return (probs[:n] + probs[n:]) * 0.5

        return _Served(module)


# ----------------------------------------------------------------------------
# Data: uint8 tensors in memory, whole-batch augmentation


def augment(images, generator, pad: int = 4):
    """Random crop of the reflect-padded image and random horizontal flip, for a whole
    uint8 batch (N, 32, 32, 3) at once: one gather, no per-image Python."""
    import torch

    n, h, w, _ = images.shape
    shift_y = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator)
    shift_x = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator)
    flip = torch.rand(n, 1, generator=generator) < 0.5

    def reflect(index, size):  # padded coordinate -> source coordinate (reflect padding)
        index = (index - pad).abs()
        return torch.where(index >= size, 2 * (size - 1) - index, index)

    rows = reflect(shift_y + torch.arange(h), h)
    cols = reflect(shift_x + torch.arange(w), w)
    cols = torch.where(flip, cols.flip(1), cols)
    return images[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def make_datamodule(train_images, train_labels, val_images, val_labels, batch_size: int, seed: int):
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

    from course.core.preprocess import to_model_input

    class CifarBatches(pl.LightningDataModule):
        """Yields whole batches of uint8 pixels (a TensorDataset indexed by a list of
        rows), then augments and normalises each batch before it goes to the device."""

        def __init__(self):
            super().__init__()
            self.train = TensorDataset(torch.from_numpy(np.array(train_images)),
                                       torch.from_numpy(np.array(train_labels, dtype=np.int64)))
            self.val = TensorDataset(torch.from_numpy(np.array(val_images)),
                                     torch.from_numpy(np.array(val_labels, dtype=np.int64)))
            self.generator = torch.Generator().manual_seed(seed)

        def train_dataloader(self):
            sampler = BatchSampler(RandomSampler(self.train, generator=self.generator), batch_size, drop_last=True)
            return DataLoader(self.train, sampler=sampler, batch_size=None)

        def val_dataloader(self):
            return DataLoader(self.val, sampler=BatchSampler(SequentialSampler(self.val), 500, drop_last=False),
                              batch_size=None)

        def on_before_batch_transfer(self, batch, dataloader_idx):
            images, labels = batch
            if self.trainer is not None and self.trainer.training:
                images = augment(images, self.generator)
            # the one preprocessing (course.core.preprocess), as in serving
            return torch.from_numpy(to_model_input(images.numpy())), labels

    return CifarBatches()


# ----------------------------------------------------------------------------
# Time budget -> number of epochs


def measure_speed(hparams: dict, batch_size: int, precision: str, device, steps: int = 5) -> float:
    """Training images/second of this recipe here and now (a throwaway copy of the net),
    with the current number of torch threads."""
    import torch
    import torch.nn.functional as F

    model = make_module(**{**hparams, "total_steps": 1000}).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    x = torch.randn(batch_size, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch_size,), device=device)
    use_bf16 = precision.startswith("bf16")

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(2):  # oneDNN builds its kernels on the first steps
        step()
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return steps * batch_size / (time.perf_counter() - start)


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def epochs_for_budget(budget_s: float, speed: float, n_train: int, n_val: int, reserve_s: float) -> int:
    """Whole epochs that fit in ``budget_s`` seconds at ``speed`` training images/second,
    keeping ``reserve_s`` for evaluation and export. Each epoch costs its training images,
    the batch preparation and Lightning (about 3 % more: a 4-epoch run measured 480
    images/s before and 485 during the fit), and a validation pass (a forward pass costs
    about a third of a training step)."""
    per_epoch = n_train / speed * 1.03 + n_val / (3 * speed)
    return max(1, int((budget_s - reserve_s) / per_epoch))


# ----------------------------------------------------------------------------
# Evaluation, export, model card


def export_onnx(served_model, path: Path) -> None:
    import torch

    example = torch.zeros(2, 3, 32, 32)
    torch.onnx.export(served_model, (example,), str(path), input_names=["image"], output_names=["probs"],
                      dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=4096)}},
                      external_data=False, verbose=False)


def ort_session(path, threads: int = 1):
    """An ONNX Runtime session on the CPU with ``threads`` intra-op threads and spinning
    off, so it does not fight PyTorch or the web server for the cores."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def predict_onnx(session, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities (N, 10) for uint8 images (N, 32, 32, 3), via the one preprocessing."""
    from course.core.preprocess import to_model_input

    out = [session.run(None, {"image": to_model_input(images[i:i + batch_size])})[0]
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out)


def per_class_accuracy(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from course.core.data import CLASSES

    return {name: float((pred[labels == k] == k).mean()) for k, name in enumerate(CLASSES)}


def write_model_card(meta: dict, path: Path) -> None:
    """MODEL_CARD.md, generated from model.json (the one source of its facts)."""
    from course.core.data import CLASSES

    t = meta["training"]
    ev = meta["evaluation"]
    lines = [
        "# Model card: the course's CIFAR-10 classifier",
        "",
        f"Generated by `course train` on {meta['created_utc']} from `{META_FILE}`; do not edit by hand.",
        "",
        "## Data",
        f"- Training: {t['n_train']:,} CIFAR-10 training images ({t['data_source']}); "
        f"{t['n_val']:,} more training images held out to pick the best checkpoint.",
        f"- Test: the {ev['n_test']:,} CIFAR-10 test images, never used in training or model selection.",
        "- Augmentation: random crop of the 4-pixel reflect-padded image, random horizontal flip, "
        "applied to whole uint8 batches.",
        f"- Preprocessing (`course.core.preprocess.to_model_input`): pixels / 255, minus mean {meta['preprocess']['mean']}, "
        f"divided by std {meta['preprocess']['std']}; input float32 (N, 3, 32, 32), RGB.",
        "",
        "## Architecture",
        f"- {meta['architecture']['description']}",
        f"- {meta['architecture']['parameters']:,} parameters; ONNX file {meta['onnx']['bytes']:,} bytes "
        f"(opset {meta['onnx']['opset']}).",
        f"- Output `probs` (N, 10): {meta['output']['meaning']}.",
        "",
        "## Training",
        f"- {t['epochs']} epochs ({t.get('steps', round(t['epochs'] * (t['n_train'] // t['batch_size'])))} steps), "
        f"batch {t['batch_size']}, SGD with Nesterov momentum, one-cycle learning rate peaking at {t['lr']} "
        f"(momentum {MOMENTUM_RANGE[1]} to {MOMENTUM_RANGE[0]} and back, against it), "
        f"weight decay {t['weight_decay']}, label smoothing "
        f"{t['label_smoothing']}, precision {t['precision']}, seed {t['seed']}.",
        f"- Schedule: {t['epochs_from']}.",
        f"- Device: {t['device']}; {t['threads']} torch threads; load average at the start "
        f"{t['load_start']}, at the end {t['load_end']}.",
        f"- Training time {t['fit_seconds']:.0f} s (fit); whole `course train` run {t['total_seconds']:.0f} s "
        f"(data loading, fit, evaluation, export, checks); {t['train_images_per_s']:.0f} training images/s.",
        f"- Best checkpoint: epoch {t['best_epoch']}, validation accuracy {t['best_val_acc']:.4f}.",
        "",
        "## Accuracy on the test set",
        f"- PyTorch (fp32, the exported model): {ev['test_accuracy_torch']:.4f}",
        f"- ONNX Runtime (the served file): {ev['test_accuracy_onnx']:.4f}",
        (f"- Averaged with the mirror image (not exported; `course train --flip-tta` exports it, at twice "
         f"the cost per request): {ev['test_accuracy_flip_tta']:.4f}" if not meta["flip_tta"] else
         f"- Without averaging with the mirror image: {ev['test_accuracy_no_flip']:.4f}"),
        f"- ONNX vs PyTorch on {ev['onnx_check']['images']:,} real test images: largest probability difference "
        f"{ev['onnx_check']['max_abs_diff']:.2e}, same top class for {ev['onnx_check']['argmax_agreement']:.4f}.",
        "",
        "| class | accuracy |",
        "| --- | --- |",
        *[f"| {name} | {ev['per_class'][name]:.4f} |" for name in CLASSES],
        "",
        "## Versions",
        *[f"- {k} {v}" for k, v in meta["versions"].items()],
        "",
        "## Limits",
        "- 32x32 inputs: larger pictures are resized down, so small objects in big photos are lost.",
        "- Ten classes only: any picture gets one of them, with no 'none of these'.",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("torch", "pytorch-lightning", "torchmetrics", "onnx", "onnxruntime", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


# ----------------------------------------------------------------------------
# The command


def load_data(subset: bool, download: bool):
    """(train, val and test images and labels, description). The validation split is
    course.core.data's: held out of the training file to pick the best checkpoint, so the test
    set stays unseen."""
    from course.core import data

    if subset:  # the shipped 3,000 + 1,000 images: for a quick check of the command
        saved = os.environ.pop(data.ENV_DIR, None)
        try:
            splits = [data.load_arrays(split) for split in data.SPLITS]
        finally:
            if saved is not None:
                os.environ[data.ENV_DIR] = saved
        return (*splits[0], *splits[1], *splits[2], f"the shipped subset in {data.SUBSET_DIR}")
    if download:
        splits = [data.load_arrays(split, download=True) for split in data.SPLITS]
        return (*splits[0], *splits[1], *splits[2], "torchvision download")
    directory = os.environ.get(data.ENV_DIR)
    if not directory:
        raise data.DatasetError(
            f"course train needs the full CIFAR-10 (50,000 training images). Set {data.ENV_DIR} to a "
            "directory holding cifar10_train.npz and cifar10_test.npz (on the course machines: "
            f"export {data.ENV_DIR}=/work/shared/cifar10), or pass --download on a machine with internet "
            "(torchvision fetches the official release, 170 MB). `course train --subset` trains on the "
            "shipped 3,000-image subset instead, to try the command.")
    splits = [data.load_arrays(split) for split in data.SPLITS]
    return (*splits[0], *splits[1], *splits[2], f"{data.ENV_DIR}={directory}")


def train(args) -> dict:
    import logging
    import warnings

    import pytorch_lightning as pl
    import torch
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.loggers import CSVLogger

    from course.core.data import CLASSES
    from course.core.device import describe_device, get_device
    from course.core.preprocess import MEAN, STD, to_model_input

    t0 = STARTED
    load_start = _load()
    pl.seed_everything(args.seed, workers=True, verbose=False)
    device = get_device()
    accelerator = {"cuda": "gpu"}.get(device.type, device.type)
    bf16_ok = device.type == "cpu" or (device.type == "cuda" and torch.cuda.is_bf16_supported())
    precision = "bf16-mixed" if bf16_ok and not args.fp32 else "32-true"

    x_fit, y_fit, x_val, y_val, x_test, y_test, source = load_data(args.subset, args.download)
    n_val = len(x_val)
    if args.limit_train:
        x_fit, y_fit = x_fit[:args.limit_train], y_fit[:args.limit_train]
    steps_per_epoch = len(x_fit) // args.batch_size
    if steps_per_epoch < 1:
        raise SystemExit(f"course train: {len(x_fit)} training images, fewer than one batch of {args.batch_size}")

    hparams = dict(widths=WIDTHS, lr=args.lr, weight_decay=args.weight_decay, momentum=0.9,
                   label_smoothing=args.label_smoothing)
    speed = None
    if args.threads:
        threads = args.threads
    elif device.type != "cpu" or (os.cpu_count() or 1) == 1:
        threads = os.cpu_count() or 1
    else:
        # On a busy CPU, threads that wait for each other at every op can make all cores
        # slower than one (measured 5-10x on the course machines): time both, keep the faster.
        speeds = {}
        for n in sorted({1, os.cpu_count()}):
            torch.set_num_threads(n)
            speeds[n] = measure_speed(hparams, args.batch_size, precision, device)
        threads = max(speeds, key=speeds.get)
        speed = speeds[threads]
        print("training images/s by torch threads: " + ", ".join(f"{n}: {v:.0f}" for n, v in speeds.items())
              + f" -> {threads}", flush=True)
    torch.set_num_threads(threads)
    print(f"course train: {len(x_fit):,} training + {n_val:,} validation images from {source}; "
          f"test {len(x_test):,} images", flush=True)
    print(f"device {describe_device(device)}, precision {precision}, {threads} threads, "
          f"load average {load_start}", flush=True)
    callbacks = []
    if args.epochs:
        epochs = args.epochs
        epochs_from = f"--epochs {epochs} (one-cycle schedule over {epochs * steps_per_epoch} steps)"
        model = make_module(**hparams, total_steps=epochs * steps_per_epoch)
    else:
        speed = speed or measure_speed(hparams, args.batch_size, precision, device)
        # After training: forward passes over the test set (PyTorch, PyTorch with flips, ONNX
        # Runtime: 4 per image, each about half a training step here) plus the export.
        reserve = args.reserve if args.reserve is not None else 20 + 4 * len(x_test) / (2 * speed)
        fit_seconds_budget = args.budget - (time.perf_counter() - t0) - reserve
        expected = epochs_for_budget(fit_seconds_budget + reserve, speed, len(x_fit), n_val, reserve)
        epochs = args.max_epochs
        if expected > args.max_epochs:  # a fast machine: spend the time --max-epochs needs, not more
            fit_seconds_budget *= args.max_epochs / expected
        callbacks.append(make_clock_schedule(fit_seconds_budget, args.lr))
        epochs_from = (f"time budget {args.budget:.0f} s: {fit_seconds_budget:.0f} s of training, the one-cycle "
                       f"schedule following the clock ({speed:.0f} training images/s measured at the start, "
                       f"about {min(expected, args.max_epochs)} epochs); {reserve:.0f} s kept for evaluation "
                       "and export")
        print(epochs_from, flush=True)
        if fit_seconds_budget < 0.25 * args.budget:
            print(f"warning: only {fit_seconds_budget:.0f} s of the {args.budget:.0f} s budget are left for "
                  "training (start-up took the rest: a busy machine?); the model will be weak. A larger "
                  "--budget or --epochs N gives it more.", file=sys.stderr, flush=True)
        model = make_module(**hparams, clock_schedule=True)

    run_dir = Path(args.run_dir)
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    dm = make_datamodule(x_fit, y_fit, x_val, y_val, args.batch_size, args.seed)
    checkpoint = ModelCheckpoint(dirpath=run_dir / "checkpoints", filename="best-{epoch}-{val_acc:.4f}",
                                 monitor="val_acc", mode="max", save_top_k=1)
    trainer = pl.Trainer(max_epochs=epochs, accelerator=accelerator, devices=1, precision=precision,
                         callbacks=[checkpoint, *callbacks], logger=CSVLogger(run_dir, name="logs"),
                         enable_progress_bar=not args.no_progress, log_every_n_steps=min(20, steps_per_epoch),
                         num_sanity_val_steps=0, deterministic=False)
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)
    fit_start = time.perf_counter()
    with warnings.catch_warnings():
        # Lightning's own LeafSpec FutureWarning and its advice about DataLoader workers: the
        # batches are built in memory on purpose (see make_datamodule).
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(model, datamodule=dm)
    fit_seconds = time.perf_counter() - fit_start
    steps = trainer.global_step
    epochs_run = round(steps / steps_per_epoch, 2)
    print(f"fit: {steps} steps ({epochs_run} epochs) in {fit_seconds:.0f} s "
          f"({steps * args.batch_size / fit_seconds:.0f} training images/s)", flush=True)

    best = make_module(**hparams)
    state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)["state_dict"]
    best.load_state_dict(state)
    best_epoch = int(Path(checkpoint.best_model_path).stem.split("epoch=")[1].split("-")[0])
    best = best.cpu().float().eval()
    served = Served(best, flip=args.flip_tta)

    # Test accuracy of the PyTorch model (fp32, like the ONNX file), then the ONNX file itself.
    def torch_probs(model):
        with torch.inference_mode():
            return torch.cat([model(torch.from_numpy(to_model_input(x_test[i:i + 500])))
                              for i in range(0, len(x_test), 500)]).numpy()

    probs_torch = torch_probs(served)
    other = torch_probs(Served(best, flip=not args.flip_tta))  # the other choice, for the card
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / MODEL_FILE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress chatter and onnxscript's notes
        export_onnx(served, onnx_path)
    session = ort_session(onnx_path, threads=threads)
    probs_onnx = predict_onnx(session, x_test)
    n_check = min(CHECK_IMAGES, len(x_test))
    diff = float(np.abs(probs_onnx[:n_check] - probs_torch[:n_check]).max())
    agree = float((probs_onnx[:n_check].argmax(1) == probs_torch[:n_check].argmax(1)).mean())
    if diff > 1e-3 or agree < 0.99:
        raise SystemExit(f"course train: the ONNX export does not match PyTorch on {n_check} test images "
                         f"(largest probability difference {diff:.2e}, top class agreement {agree:.4f})")
    pred = probs_onnx.argmax(1)
    import onnx

    meta = {
        "created_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "classes": list(CLASSES),
        "input": {"name": "image", "shape": ["N", 3, 32, 32], "dtype": "float32"},
        "output": {"name": "probs", "shape": ["N", 10],
                   "meaning": "class probabilities" + (", averaged with the mirror image" if args.flip_tta else "")},
        "flip_tta": bool(args.flip_tta),
        "preprocess": {"function": "course.core.preprocess.to_model_input", "mean": list(MEAN), "std": list(STD)},
        "architecture": {
            "description": f"residual CNN (ResNet-9 layout, widths {WIDTHS}): conv-BN-ReLU stem, three stages "
                           "of conv-BN-ReLU + 2x2 max-pool, a residual pair of conv-BN-ReLU after stages 2 and 3, "
                           "global max-pool, linear layer, logits scaled by 0.125",
            "parameters": int(sum(p.numel() for p in best.parameters())),
        },
        "training": {
            "data_source": source, "n_train": len(x_fit), "n_val": n_val, "epochs": epochs_run, "steps": steps,
            "epochs_from": epochs_from, "batch_size": args.batch_size, "lr": args.lr,
            "momentum": list(MOMENTUM_RANGE),
            "weight_decay": args.weight_decay, "label_smoothing": args.label_smoothing,
            "precision": precision, "seed": args.seed, "device": describe_device(device), "threads": threads,
            "fit_seconds": round(fit_seconds, 1),
            "train_images_per_s": round(steps * args.batch_size / fit_seconds, 1),
            "best_epoch": best_epoch, "best_val_acc": float(checkpoint.best_model_score),
            "load_start": load_start, "load_end": _load(), "cpu_seconds": round(time.process_time(), 1),
        },
        "evaluation": {
            "n_test": len(x_test),
            "test_accuracy_torch": float((probs_torch.argmax(1) == y_test).mean()),
            "test_accuracy_onnx": float((pred == y_test).mean()),
            "test_accuracy_flip_tta" if not args.flip_tta else "test_accuracy_no_flip":
                float((other.argmax(1) == y_test).mean()),
            "per_class": per_class_accuracy(pred, np.asarray(y_test)),
            "onnx_check": {"images": n_check, "max_abs_diff": diff, "argmax_agreement": agree},
        },
        "onnx": {"file": MODEL_FILE, "bytes": onnx_path.stat().st_size,
                 "opset": int(onnx.load(str(onnx_path)).opset_import[0].version)},
        "versions": _versions(),
    }
    meta["training"]["total_seconds"] = round(time.perf_counter() - t0, 1)
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    write_model_card(meta, out / CARD_FILE)
    return meta


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="build/model",
                        help="where model.onnx, model.json and MODEL_CARD.md go (default: %(default)s; "
                             "course/model/ is the model shipped with the course)")
    parser.add_argument("--run-dir", default="build/train-run",
                        help="checkpoints and CSV metrics of the run (default: %(default)s)")
    parser.add_argument("--budget", type=float, default=600.0,
                        help="seconds for the whole command: training runs a one-cycle schedule on the clock "
                             "and stops in time for evaluation and export (default: %(default)s)")
    parser.add_argument("--reserve", type=float, default=None,
                        help="seconds of the budget kept for evaluation and export (default: estimated "
                             "from the measured speed)")
    parser.add_argument("--epochs", type=int, default=0, help="a fixed number of epochs instead of the budget")
    parser.add_argument("--max-epochs", type=int, default=30,
                        help="with --budget, never more epochs than this (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.2, help="peak learning rate (default: %(default)s)")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: 1 or one per core, whichever trains faster right now)")
    parser.add_argument("--fp32", action="store_true", help="train in float32 instead of bf16 autocast")
    parser.add_argument("--subset", action="store_true",
                        help="train on the shipped 3,000-image subset (a quick check of the command)")
    parser.add_argument("--limit-train", type=int, default=0, help="use only the first N training images")
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 with torchvision")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (logs, CI)")
    parser.add_argument("--flip-tta", action="store_true",
                        help="export probabilities averaged with the mirror image (more accurate, 2x slower to serve)")


def run(args) -> int:
    from course.core.data import DatasetError

    try:
        meta = train(args)
    except DatasetError as err:
        print(f"course train: {err}", file=sys.stderr)
        return 1
    ev, t = meta["evaluation"], meta["training"]
    print(f"test accuracy on {ev['n_test']:,} images: {ev['test_accuracy_onnx']:.4f} (ONNX Runtime), "
          f"{ev['test_accuracy_torch']:.4f} (PyTorch); per class: "
          + ", ".join(f"{k} {v:.3f}" for k, v in ev["per_class"].items()))
    print(f"wrote {Path(args.out) / MODEL_FILE}, {META_FILE}, {CARD_FILE}; checkpoints and metrics in "
          f"{args.run_dir}; whole run {t['total_seconds']:.0f} s")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.product.train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
