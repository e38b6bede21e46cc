"""The command line of ``course train`` (and ``python -m course.product.train``): only
argparse here, so ``course`` reads the options without importing torch."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from course.product.paths import CARD_FILE, META_FILE, MODEL_FILE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        default="build/model",
        help="where model.onnx, model.json and MODEL_CARD.md go (default: %(default)s; "
        "course/product/model/ is the model shipped with the course)",
    )
    parser.add_argument(
        "--run-dir", default="build/train-run", help="checkpoints and CSV metrics of the run (default: %(default)s)"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds for the whole command: training runs a one-cycle schedule on the clock "
        "and stops in time for evaluation and export (default: 600, or 90 with --subset)",
    )
    parser.add_argument(
        "--reserve",
        type=float,
        default=None,
        help="seconds of the budget kept for evaluation and export (default: estimated from the measured speed)",
    )
    parser.add_argument("--epochs", type=int, default=0, help="a fixed number of epochs instead of the budget")
    parser.add_argument(
        "--max-epochs", type=int, default=30, help="with --budget, never more epochs than this (default: %(default)s)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=256,
        help="the global batch: images per optimizer step, all processes together (default: %(default)s)",
    )
    parser.add_argument("--lr", type=float, default=0.2, help="peak learning rate (default: %(default)s)")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--label-smoothing", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads per process (default: with one process on the CPU, 1 or one per "
        "core, whichever trains faster right now; with several, the cores shared out)",
    )
    parser.add_argument("--fp32", action="store_true", help="train in float32 instead of bf16 autocast")
    parser.add_argument(
        "--subset", action="store_true", help="a quick try of the command: the shipped 3,000-image subset, 90 s in all"
    )
    parser.add_argument("--limit-train", type=int, default=0, help="use only the first N training images")
    parser.add_argument("--download", action="store_true", help="download CIFAR-10 with torchvision")
    parser.add_argument("--no-progress", action="store_true", help="no progress display (only the summary)")
    parser.add_argument(
        "--flip-tta",
        action="store_true",
        help="export probabilities averaged with the mirror image (more accurate, 2x slower to serve)",
    )
    group = parser.add_argument_group("several devices and nodes (Lightning's distributed engine)")
    group.add_argument(
        "--accelerator",
        default="auto",
        choices=["auto", "cpu", "gpu", "mps"],
        help="default: a GPU if there is one, else the CPU",
    )
    group.add_argument(
        "--devices", type=int, default=1, help="processes per node, one per device (default: %(default)s)"
    )
    group.add_argument("--num-nodes", type=int, default=1, help="machines (default: %(default)s)")
    group.add_argument(
        "--strategy", default=None, choices=["auto", "ddp", "fsdp"], help="default: ddp with more than one process"
    )


def run(args) -> int:
    from course.core.data import DatasetError
    from course.product.train.fit import train

    try:
        meta = train(args)
    except DatasetError as err:
        print(f"course train: {err}", file=sys.stderr)
        return 1
    if meta is None:  # not rank 0: rank 0 reports
        return 0
    ev, t = meta["evaluation"], meta["training"]
    print(
        f"test accuracy on {ev['n_test']:,} images: {ev['test_accuracy_onnx']:.4f} (ONNX Runtime), "
        f"{ev['test_accuracy_torch']:.4f} (PyTorch); per class: "
        + ", ".join(f"{k} {v:.3f}" for k, v in ev["per_class"].items())
    )
    print(
        f"wrote {Path(args.out) / MODEL_FILE}, {META_FILE}, {CARD_FILE}; checkpoints and metrics in "
        f"{args.run_dir}; whole run {t['total_seconds']:.0f} s"
    )
    return 0


def main(argv=None) -> int:
    from course.product import train

    parser = argparse.ArgumentParser(prog="python -m course.product.train", description=train.__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))
