"""``train(args)``: data, processes, schedule, the fit, then (rank 0) evaluation, export
and model card."""

from __future__ import annotations

import os
import shutil
import sys
import time
import warnings
from pathlib import Path

from course.product.train import STARTED, card, processes
from course.product.train.data import load_data, make_datamodule
from course.product.train.network import WIDTHS, make_module
from course.product.train.schedule import epochs_for_budget, make_one_cycle, measure_speed

SUBSET_BUDGET = 90.0  # seconds: `--subset` is a quick try of the command, not a model worth serving
FULL_BUDGET = 600.0


class Run:
    """What one process knows of the run: arguments, data, plan, and the Trainer."""

    def __init__(self, args):
        import torch

        self.args, self.load_start = args, card.load_average()
        self.budget = args.budget or (SUBSET_BUDGET if args.subset else FULL_BUDGET)
        self.plan = processes.plan(args)
        (self.x_fit, self.y_fit, self.x_val, self.y_val, self.x_test, self.y_test, self.source) = load_data(
            args.subset, args.download
        )
        if args.limit_train:
            self.x_fit, self.y_fit = self.x_fit[: args.limit_train], self.y_fit[: args.limit_train]
        self.steps_per_epoch = len(self.x_fit) // args.batch_size
        if self.steps_per_epoch < 1:
            raise SystemExit(
                f"course train: {len(self.x_fit)} training images, fewer than one batch of {args.batch_size}"
            )
        bf16_ok = self.plan.accelerator == "cpu" or (self.plan.accelerator == "gpu" and torch.cuda.is_bf16_supported())
        self.precision = "bf16-mixed" if bf16_ok and not args.fp32 else "32-true"
        self.hparams = dict(
            widths=WIDTHS,
            lr=args.lr,
            weight_decay=args.weight_decay,
            momentum=0.9,
            label_smoothing=args.label_smoothing,
        )
        self.clock = make_one_cycle(args.lr, args.epochs * self.steps_per_epoch if args.epochs else None)
        self.trainer, self.checkpoint = self._trainer()
        self.rank0 = self.trainer.is_global_zero

    def say(self, *lines: str, err: bool = False) -> None:
        if self.rank0:
            print(*lines, sep="\n", file=sys.stderr if err else sys.stdout, flush=True)

    def _trainer(self):
        import pytorch_lightning as pl
        from pytorch_lightning.callbacks import ModelCheckpoint
        from pytorch_lightning.loggers import CSVLogger

        from course.product.train.progress import make_progress

        args, plan = self.args, self.plan
        run_dir = Path(args.run_dir)
        checkpoint = ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="best-{epoch}-{val_acc:.4f}",
            monitor="val_acc",
            mode="max",
            save_top_k=1,
        )
        of = f"{args.epochs * self.steps_per_epoch} steps" if args.epochs else "the training time"
        self.progress = make_progress(lambda trainer: self.clock.progress, of, show=not args.no_progress)
        callbacks = [checkpoint, self.progress, self.clock]
        trainer = pl.Trainer(
            max_epochs=args.epochs or args.max_epochs,
            accelerator=plan.accelerator,
            devices=plan.devices,
            num_nodes=plan.num_nodes,
            strategy=plan.strategy,
            precision=self.precision,
            callbacks=callbacks,
            logger=CSVLogger(run_dir, name="logs"),
            use_distributed_sampler=False,  # GlobalBatches shares out
            enable_progress_bar=False,
            enable_model_summary=False,
            num_sanity_val_steps=0,
            log_every_n_steps=min(20, self.steps_per_epoch),
            deterministic=False,
        )
        return trainer, checkpoint

    def choose_threads(self):
        """(torch threads, training images/s measured or None). On a busy CPU, threads that
        wait for each other at every op can make all cores slower than one (measured 5-10x
        on the course machines): with one process, time both and keep the faster."""
        import torch

        from course.core.device import get_device

        args, device = self.args, get_device() if self.plan.accelerator != "cpu" else torch.device("cpu")
        if args.threads or self.plan.world > 1 or device.type != "cpu" or (os.cpu_count() or 1) == 1:
            threads = args.threads or (
                processes.threads_per_process(self.plan) if device.type == "cpu" else os.cpu_count() or 1
            )
            torch.set_num_threads(threads)
            return threads, None
        speeds = {}
        for n in sorted({1, os.cpu_count()}):
            torch.set_num_threads(n)
            speeds[n] = measure_speed(self.hparams, min(64, args.batch_size), self.precision, device)
        threads = max(speeds, key=speeds.get)
        torch.set_num_threads(threads)
        self.say(
            "training images/s by torch threads: "
            + ", ".join(f"{n}: {v:.0f}" for n, v in speeds.items())
            + f" -> {threads}"
        )
        return threads, speeds[threads]

    def schedule(self, speed):
        """The model, and the sentence that says how long it trains. With a budget, sets
        the clock's deadline: start-up time, however long, comes out of the budget."""
        args = self.args
        if args.epochs:
            total = args.epochs * self.steps_per_epoch
            return make_module(**self.hparams), f"--epochs {args.epochs} (one-cycle schedule over {total} steps)"
        import torch

        if not self.rank0:  # only rank 0's clock counts (ClockSchedule broadcasts its progress)
            self.clock.deadline = time.perf_counter() + self.budget
            return make_module(**self.hparams), ""
        if speed is None:
            device = torch.device("cuda" if self.plan.accelerator == "gpu" else "cpu")
            speed = measure_speed(self.hparams, self.plan.per_process_batch, self.precision, device)
        # After training, rank 0 alone, on the CPU: forward passes over the test set (PyTorch,
        # PyTorch with flips, ONNX Runtime: 4 per image, each about half a training step) plus
        # the export. On a GPU the training speed says nothing of that: time the CPU too.
        cpu_speed = (
            speed
            if self.plan.accelerator == "cpu"
            else measure_speed(self.hparams, 64, "bf16-mixed", torch.device("cpu"), steps=2, seconds=1.0)
        )
        reserve = args.reserve if args.reserve is not None else 20 + 4 * len(self.x_test) / (2 * cpu_speed)
        fit_budget = self.budget - (time.perf_counter() - STARTED) - reserve
        expected = epochs_for_budget(
            fit_budget + reserve, speed * self.plan.world, len(self.x_fit), len(self.x_val), reserve
        )
        if expected > args.max_epochs:  # a fast machine: spend the time --max-epochs needs, not more
            fit_budget *= args.max_epochs / expected
        self.clock.deadline = time.perf_counter() + fit_budget
        if fit_budget < 0.25 * self.budget:
            self.say(
                f"warning: only {fit_budget:.0f} s of the {self.budget:.0f} s budget are left for "
                "training (start-up took the rest: a busy machine?); the model will be weak. A larger "
                "--budget or --epochs N gives it more.",
                err=True,
            )
        return make_module(**self.hparams), (
            f"time budget {self.budget:.0f} s: {fit_budget:.0f} s of training, the one-cycle schedule following "
            f"the clock ({speed * self.plan.world:.0f} training images/s measured at the start, about "
            f"{min(expected, args.max_epochs)} epochs); {reserve:.0f} s kept for evaluation and export"
        )


def _fit(run: Run, model) -> float:
    """Fit on every process; the seconds it took."""
    import torch

    run_dir = Path(run.args.run_dir)
    if run.rank0 and run_dir.exists():
        shutil.rmtree(run_dir)
    dm = make_datamodule(
        run.x_fit,
        run.y_fit,
        run.x_val,
        run.y_val,
        run.args.batch_size,
        run.args.seed,
        rank=run.trainer.global_rank,
        world=run.trainer.world_size,
    )
    with warnings.catch_warnings():
        # Lightning's own LeafSpec FutureWarning and its advice about DataLoader workers: the
        # batches are built in memory on purpose (see make_datamodule).
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        run.trainer.fit(model, datamodule=dm)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()  # the other ranks are done; rank 0 evaluates alone
    return time.perf_counter() - run.progress.start  # from the first step: the processes' start-up is not fit


def _finish(run: Run, fit_seconds: float, epochs_from: str, threads: int) -> dict:
    """Rank 0: the best checkpoint measured, exported and described."""
    import torch

    from course.core.device import describe_device
    from course.product.train.export import evaluate_and_export

    args, steps = run.args, run.trainer.global_step
    best_path = run.checkpoint.best_model_path
    best = make_module(**run.hparams)
    best.load_state_dict(torch.load(best_path, map_location="cpu", weights_only=True)["state_dict"])
    best = best.cpu().float().eval()
    out = Path(args.out)
    evaluation = evaluate_and_export(best, run.x_test, run.y_test, out, args.flip_tta, threads)
    device = torch.device("cuda") if run.plan.accelerator == "gpu" else torch.device(run.plan.accelerator)
    training = {
        "data_source": run.source,
        "n_train": len(run.x_fit),
        "n_val": len(run.x_val),
        "epochs": round(steps / run.steps_per_epoch, 2),
        "steps": steps,
        "epochs_from": epochs_from,
        "batch_size": args.batch_size,
        "processes": run.plan.as_dict(),
        "lr": args.lr,
        "momentum": list(card.MOMENTUM_RANGE),
        "weight_decay": args.weight_decay,
        "label_smoothing": args.label_smoothing,
        "precision": run.precision,
        "seed": args.seed,
        "device": describe_device(device),
        "threads": threads,
        "fit_seconds": round(fit_seconds, 1),
        "train_images_per_s": round(steps * args.batch_size / fit_seconds, 1),
        "best_epoch": int(Path(best_path).stem.split("epoch=")[1].split("-")[0]),
        "best_val_acc": float(run.checkpoint.best_model_score),
        "load_start": run.load_start,
        "load_end": card.load_average(),
        "cpu_seconds": round(time.process_time(), 1),
    }
    meta = card.build_meta(training, evaluation, int(sum(p.numel() for p in best.parameters())), out, args.flip_tta)
    meta["training"]["total_seconds"] = round(time.perf_counter() - STARTED, 1)
    card.write_files(meta, out)
    return meta


def train(args) -> dict | None:
    """Train, evaluate, export; the model's metadata on rank 0, None on the other ranks."""
    from course.core.quiet import quiet_lightning

    quiet_lightning()
    import pytorch_lightning as pl

    pl.seed_everything(args.seed, workers=True, verbose=False)
    run = Run(args)
    if args.subset and not args.budget and not args.epochs:
        run.say(
            f"course train --subset: a quick try of the command on the shipped 3,000 images, "
            f"{SUBSET_BUDGET:.0f} s in all (--budget changes it); the model is not one worth serving"
        )
    threads, speed = run.choose_threads()
    from course.core.device import describe_device

    run.say(
        f"course train: {len(run.x_fit):,} training + {len(run.x_val):,} validation images from "
        f"{run.source}; test {len(run.x_test):,} images",
        f"{run.plan.describe(args.lr)}",
        f"precision {run.precision}, {threads} torch threads per process, load average {run.load_start}"
        + (f", device {describe_device('cpu')}" if run.plan.accelerator == "cpu" else ""),
    )
    model, epochs_from = run.schedule(speed)
    run.say(epochs_from)
    fit_seconds = _fit(run, model)
    steps = run.trainer.global_step
    run.say(
        f"fit: {steps} steps ({steps / run.steps_per_epoch:.2f} epochs) in {fit_seconds:.0f} s "
        f"({steps * args.batch_size / fit_seconds:.0f} training images/s, all processes)"
    )
    return _finish(run, fit_seconds, epochs_from, threads) if run.rank0 else None
