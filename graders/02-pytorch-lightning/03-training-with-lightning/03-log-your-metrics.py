"""SCT for 2.3.3, Log your metrics."""
import ast
import csv
import glob
import os

from graders.sct import SCT, custom, file, right, trainer, variable, wrong


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
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "log":
            on_epoch = next((k.value for k in node.keywords if k.arg == "on_epoch"), None)
            if not (isinstance(on_epoch, ast.Constant) and on_epoch.value is True):
                return ("train_loss is not averaged per epoch, so metrics.csv has no train_loss column for the "
                        "epoch: pass on_epoch=True to self.log.")
    return "The metrics.csv file has no train_loss column: log the loss with self.log in training_step."


def _trainer_uses_logger(run):
    trainer, logger = run.ns.get("trainer"), run.ns.get("logger")
    return trainer is not None and logger is not None and trainer.logger is logger


sct = SCT(
    variable("logger").instance_of("CSVLogger", msg="`logger` should be a CSVLogger, which writes metrics.csv files."),
    custom(probe=_trainer_uses_logger, judge=lambda got, want, ctx: None if got else
           "Pass your logger to the Trainer with logger=logger: creating a logger does not attach it, and the "
           "Trainer then writes to its default logger instead."),
    trainer("trainer").fitted().logged("train_loss"),
    file("logs/cifar/version_*/metrics.csv"),
    custom(probe=_csv_columns, judge=_has_epoch_loss),
)

cases = [
    wrong("forgets to hand the logger to the Trainer", replace={"logger=logger,": "logger=True,"},
          says="Pass your logger to the Trainer"),
    wrong("logs per step only", replace={"on_step=False, on_epoch=True": "on_step=True, on_epoch=False"},
          says="on_epoch=True"),
    wrong("writes somewhere else", replace={'save_dir="logs"': 'save_dir="runs"'},
          says="No file matching 'logs/cifar/version_*/metrics.csv'"),
    right("also shows the loss in the progress bar",
          replace={"on_step=False, on_epoch=True)": "on_step=False, on_epoch=True, prog_bar=True)"}),
]
