"""``course train``'s one progress display: a bar on a terminal, a plain line per epoch
otherwise (a log file gets no control codes). Shown by rank 0 only."""

from __future__ import annotations

import sys
import time


def make_progress(fraction, total_label: str, show: bool = True):
    """A callback; ``fraction(trainer)`` says how far the fit is (0 to 1): the share of the
    time budget spent, or of the steps for ``--epochs``. ``show=False`` (``--no-progress``):
    nothing but the line that says the processes joined."""
    import pytorch_lightning as pl

    class Progress(pl.Callback):
        def __init__(self):
            self.bar = None
            self.start = None

        def on_train_start(self, trainer, pl_module):
            self.start = time.perf_counter()
            if trainer.world_size > 1 and trainer.is_global_zero:
                import torch.distributed as dist

                print(
                    f"{dist.get_world_size()} processes joined the {dist.get_backend()} process group "
                    f"(ranks 0-{dist.get_world_size() - 1}); {trainer.num_nodes} node(s)",
                    flush=True,
                )
            if show and trainer.is_global_zero and sys.stdout.isatty():
                from tqdm import tqdm

                self.bar = tqdm(
                    total=100,
                    desc="training",
                    unit="%",
                    dynamic_ncols=True,
                    bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}",
                )

        def _metrics(self, trainer) -> str:
            m = trainer.callback_metrics
            parts = [
                f"{name} {float(m[key]):.3f}"
                for key, name in (("train_loss", "loss"), ("train_acc", "train acc"), ("val_acc", "val acc"))
                if key in m
            ]
            return ", ".join(parts)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            if self.bar is not None:
                self.bar.n = min(100.0, round(100 * fraction(trainer), 1))
                self.bar.set_postfix_str(
                    f"epoch {trainer.current_epoch}, step {trainer.global_step}, " + self._metrics(trainer),
                    refresh=False,
                )
                self.bar.refresh()

        def on_validation_end(self, trainer, pl_module):
            if not show or not trainer.is_global_zero or trainer.sanity_checking or self.bar is not None:
                return
            print(
                f"epoch {trainer.current_epoch}: step {trainer.global_step}, "
                f"{min(100, 100 * fraction(trainer)):.0f}% of {total_label}, "
                f"{time.perf_counter() - self.start:.0f} s, {self._metrics(trainer)}",
                flush=True,
            )

        def on_train_end(self, trainer, pl_module):
            if self.bar is not None:
                self.bar.close()

    return Progress()
