"""Keeps Lightning's routine chatter out of lessons and grading runs.

Every fit logs a device report, a model summary and tips at INFO level, and Lightning
2.6 triggers a torch deprecation warning of its own: noise around the learner's output
that is not theirs to act on. Lightning's warnings about the learner's code still show.
"""
import logging
import warnings

_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning_fabric", "lightning.fabric")


def quiet_lightning() -> None:
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
