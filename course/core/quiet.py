"""Keeps Lightning's (and MLflow's) routine chatter out of lessons and grading runs.

Every fit logs a device report ("GPU available ..."), a "Tip" advertising a logging
service, a model summary and "`Trainer.fit` stopped" at INFO level, and Lightning 2.6
triggers torch's ``LeafSpec`` FutureWarning from its own code: noise around the
learner's output that is not theirs to act on. Lightning's warnings about the learner's
code still show, and so does anything the learner prints (a summary they ask for).

MLflow logs its store's set-up at INFO ("Creating initial MLflow database tables", "Experiment
with name 'cifar' does not exist. Creating a new experiment."), which is the course's set-up
talking, not the learner's code. And Lightning warns that "the number of training batches
(2) is smaller than the logging interval" whenever an exercise trains on the course's few
batches: that is about the course's small data, not about anything the learner chose.

Lightning and MLflow set their loggers back to INFO when they are imported, which in a notebook
happens after the course tools load (in the learner's ``setup`` or first import). So
when Lightning is not imported yet, an import hook quiets it again right after.
"""

from __future__ import annotations

import importlib.abc
import logging
import sys
import warnings

_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric", "mlflow", "alembic")
_PACKAGES = ("pytorch_lightning", "lightning_fabric", "lightning", "mlflow")  # importing these resets the levels


class _NewExperiment(logging.Filter):
    """Lightning's MLFlowLogger says, as a warning, "Experiment with name cifar not found.
    Creating it." whenever it logs to a fresh store: the course's set-up made that store
    empty on purpose, so it is MLflow's "Creating a new experiment" again, not a problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (str(record.msg).startswith("Experiment with name ") and str(record.msg).endswith("Creating it."))


_NEW_EXPERIMENT = _NewExperiment()


def _apply() -> None:
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("pytorch_lightning.loggers.mlflow", "lightning.pytorch.loggers.mlflow"):
        if _NEW_EXPERIMENT not in logging.getLogger(name).filters:
            logging.getLogger(name).addFilter(_NEW_EXPERIMENT)


def quiet_lightning() -> None:
    _apply()
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings(
        "ignore", message=r"The number of training batches \(\d+\) is smaller than the logging interval"
    )
    if not all(name in sys.modules for name in _PACKAGES) and not any(
        isinstance(f, _QuietAfterImport) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _QuietAfterImport())


class _QuietAfterImport(importlib.abc.MetaPathFinder):
    """Finds Lightning's packages through the other finders and quiets the loggers as
    soon as each package's ``__init__`` has run (it is what sets them to INFO)."""

    def find_spec(self, name, path=None, target=None):
        if name not in _PACKAGES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _QuietLoader(spec.loader)
                return spec
        return None


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        try:
            self.loader.exec_module(module)
        finally:
            _apply()

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: the real loader's
        return getattr(self.loader, name)
