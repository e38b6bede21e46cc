"""What learner code may rebind and the probes rely on: snapshot it before the learner's code
runs, restore it after."""

from __future__ import annotations

import builtins
import copy
import io
import os
import pickle
import sys

import numpy as np
import torch


def guarded() -> list:
    """What probes and the reply rely on, and learner code could rebind: builtins, torch's
    functions and classes, pickling, and the grader's own modules and classes."""
    import torch.nn.functional as F
    from torch import nn

    objects = [
        builtins,
        torch,
        torch.testing,
        torch.serialization,
        torch.optim,
        nn,
        F,
        np,
        copy,
        io,
        pickle,
        os,
        torch.Tensor,
        nn.Module,
        nn.Parameter,
        torch.optim.Optimizer,
        torch.optim.SGD,
    ]
    import pytorch_lightning as pl

    import course.core.distributed  # noqa: F401  (guarded even before the set-up imports it)

    objects.append(pl.Trainer)  # its properties (num_devices...) are what a run's settings are read from
    for name, module in list(sys.modules.items()):
        if module is not None and (
            name == "graders" or name.startswith("graders.") or name in ("course.core.data", "course.core.distributed")
        ):
            objects.append(module)
            objects += [
                v for v in vars(module).values() if isinstance(v, type) and getattr(v, "__module__", "") == name
            ]
    return objects


def snapshot(objects: list) -> list:
    return [(obj, dict(vars(obj))) for obj in objects]


def restore(saved: list) -> list[str]:
    """Undo learner rebinding of what ``_guarded`` lists; returns what was rebound."""
    missing = object()
    touched = []
    for obj, before in saved:
        now = vars(obj)
        for key, value in before.items():
            if now.get(key, missing) is not value:
                touched.append(f"{getattr(obj, '__name__', obj)}.{key}")
                setattr(obj, key, value)
        if isinstance(obj, type):  # a method added to a class shadows the base class's one
            for key in [k for k in now if k not in before]:
                touched.append(f"{obj.__name__}.{key}")
                delattr(obj, key)
    return touched
