"""The learning-rate schedule and the time budget: a one-cycle schedule that follows the
wall clock (the same on every process), and the measurements that size it."""

from __future__ import annotations

import time

from course.product.train.network import DIV_FACTOR, FINAL_DIV_FACTOR, MOMENTUM_RANGE, PCT_START, make_module


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


def make_one_cycle(peak_lr: float, total_steps: int | None = None):
    """A callback that runs the one-cycle schedule (``one_cycle``), setting the learning
    rate and momentum before every step. With ``total_steps`` (``--epochs``) progress is
    the share of the steps taken. Without, it follows the wall clock: progress is the
    share of the time until ``deadline`` (a ``time.perf_counter()`` value, set before the
    fit) spent since training began, and training stops (after a last validation) when
    the time is up, so however busy the machine gets, the fit ends on time with its
    learning rate annealed.

    With several processes only rank 0's clock counts: it broadcasts its progress before
    every step, so every process sets the same learning rate and all stop after the same
    step (a process that stopped alone would leave the others waiting in a collective)."""
    import pytorch_lightning as pl

    class OneCycle(pl.Callback):
        def __init__(self):
            self.deadline = None
            self.start = self.seconds = None
            self.progress = 0.0

        def on_train_start(self, trainer, pl_module):
            self.start = time.perf_counter()
            if total_steps is None:
                self.seconds = max(1.0, self.deadline - self.start)

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if total_steps is not None:  # the same on every process
                self.progress = trainer.global_step / max(1, total_steps - 1)
            else:
                progress = (time.perf_counter() - self.start) / self.seconds
                self.progress = trainer.strategy.broadcast(progress, src=0)
            lr, momentum = one_cycle(self.progress, peak_lr)
            for group in trainer.optimizers[0].param_groups:
                group["lr"], group["momentum"] = lr, momentum
            pl_module.log("lr", lr, prog_bar=False)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if total_steps is None and self.progress >= 1.0:
                trainer.should_stop = True  # on every rank at once; Lightning validates once more, then stops

    return OneCycle()


def measure_speed(
    hparams: dict, batch_size: int, precision: str, device, steps: int = 5, seconds: float = 2.0
) -> float:
    """Training images/second of this recipe here and now (a throwaway copy of the net),
    with the current number of torch threads: ``steps`` steps after a warm-up one, or as
    many as ``seconds`` allow (at least one), so a slow choice costs little to try."""
    import torch
    import torch.nn.functional as F

    model = make_module(**hparams).to(device)
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
        _sync(device)

    step()  # oneDNN builds its kernels on the first step
    start = time.perf_counter()
    done = 0
    while done < steps and (done == 0 or time.perf_counter() - start < seconds):
        step()
        done += 1
    return done * batch_size / (time.perf_counter() - start)


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
