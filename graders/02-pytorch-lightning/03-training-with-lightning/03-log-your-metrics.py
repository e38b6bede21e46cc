"""SCT for 2.3.3, Log your metrics."""

import ast
import csv
import glob
import os

from graders.sct import SCT, SOLUTION, custom, file, right, trainer, variable, wrong


def _csv_columns(run):
    """The columns of every metrics.csv the run wrote."""
    columns = set()
    for path in glob.glob(os.path.join(run.workdir, "logs", "cifar", "*", "metrics.csv")):
        with open(path, newline="") as f:
            columns |= set(next(csv.reader(f), []))
    return sorted(columns)


def _has_epoch_loss(got, want, ctx):
    if "train_loss" in got:
        return None
    if "train_loss_epoch" in got:
        return (
            "With on_step=True as well as on_epoch=True, Lightning splits the metric into train_loss_step and "
            "train_loss_epoch, so there is no train_loss column: log with on_step=False, on_epoch=True."
        )
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "log":
            on_epoch = next((k.value for k in node.keywords if k.arg == "on_epoch"), None)
            if not (isinstance(on_epoch, ast.Constant) and on_epoch.value is True):
                return (
                    "train_loss is not averaged per epoch, so metrics.csv has no train_loss column for the "
                    "epoch: pass on_epoch=True to self.log."
                )
    return "The metrics.csv file has no train_loss column: log the loss with self.log in training_step."


def _trainer_uses_logger(run):
    trainer, logger = run.ns.get("trainer"), run.ns.get("logger")
    return trainer is not None and logger is not None and trainer.logger is logger


sct = SCT(
    variable("logger").instance_of("CSVLogger", msg="`logger` should be a CSVLogger, which writes metrics.csv files."),
    custom(
        probe=_trainer_uses_logger,
        judge=lambda got, want, ctx: (
            None
            if got
            else "Pass your logger to the Trainer with logger=logger: creating a logger does not attach it, and the "
            "Trainer then writes to its default logger instead."
        ),
    ),
    trainer("trainer")
    .fitted()
    .ran(optimizer_steps=SOLUTION, train_batches=SOLUTION)
    .logged(
        "train_loss",
        msg='train_loss was never logged: call self.log("train_loss", loss, ...) in the '
        "training_step of the class you fit, LoggedClassifier.",
    ),
    file("logs/cifar/version_*/metrics.csv"),
    custom(probe=_csv_columns, judge=_has_epoch_loss),
)

_LOG = 'self.log("train_loss", loss, on_step=False, on_epoch=True)'

cases = [
    wrong(
        "forgets to hand the logger to the Trainer",
        replace={"logger=logger,": "logger=True,"},
        says="Pass your logger to the Trainer",
    ),
    wrong("switches logging off", replace={"logger=logger,": "logger=False,"}, says="Pass your logger to the Trainer"),
    wrong(
        "logs per step only",
        replace={"on_step=False, on_epoch=True": "on_step=True, on_epoch=False"},
        says="on_epoch=True",
    ),
    wrong(
        "logs per step and per epoch",
        replace={"on_step=False, on_epoch=True": "on_step=True, on_epoch=True"},
        says="splits the metric into train_loss_step and train_loss_epoch",
    ),
    wrong(
        "writes somewhere else",
        replace={'save_dir="logs"': 'save_dir="runs"'},
        says="No file matching 'logs/cifar/version_*/metrics.csv'",
    ),
    wrong(
        "names the run differently",
        replace={'name="cifar"': 'name="run"'},
        says="No file matching 'logs/cifar/version_*/metrics.csv'",
    ),
    wrong("logs the loss under another name", replace={'"train_loss"': '"loss"'}, says="train_loss was never logged"),
    wrong(
        "fits the base class, which logs nothing",
        replace={"trainer.fit(LoggedClassifier()": "trainer.fit(CIFARClassifier()"},
        says="train_loss was never logged",
    ),
    wrong(
        "logs the loss but returns nothing",
        replace={"        return loss\n": ""},
        says="training_step returned no loss",
    ),
    right(
        "also shows the loss in the progress bar",
        replace={"on_step=False, on_epoch=True)": "on_step=False, on_epoch=True, prog_bar=True)"},
    ),
    right(
        "passes the logger's folder by position and the metric by keyword",
        replace={
            'CSVLogger(save_dir="logs", name="cifar")': 'CSVLogger("logs", name="cifar")',
            _LOG: 'self.log(name="train_loss", value=loss, on_epoch=True, on_step=False)',
        },
    ),
    right(
        "logs a detached loss with log_dict",
        replace={_LOG: 'self.log_dict({"train_loss": loss.detach()}, on_step=False, on_epoch=True)'},
    ),
]
