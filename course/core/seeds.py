"""The randomness and threads a grading run starts with, so an exercise cell run in the
learner's kernel prints what the check's run of the same code prints (the same
``val_acc``, the same shuffled batches). Only stdlib at import."""

from __future__ import annotations

import os
import random
import sys

SEED = 0  # graders.sandbox.run's default seed: each run seeds random, numpy and torch with it
# The set-up (pre-exercise code) runs torch on one thread: each check is forked from the
# process that ran it, and a process forked after OpenMP ran on several threads can hang.
# A notebook runs the set-up the same way, so both compute the same numbers.
SETUP_THREADS = 1


def grading_threads() -> int:
    """The torch threads a grading run uses (graders.sandbox.run's default)."""
    return min(2, os.cpu_count() or 1)


def seed_all(seed: int = SEED) -> None:
    """Seed like a grading run does before the pre-exercise code."""
    random.seed(seed)
    if "numpy" in sys.modules or _importable("numpy"):
        import numpy as np

        np.random.seed(seed)
    if "torch" in sys.modules or _importable("torch"):
        import torch

        torch.manual_seed(seed)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
