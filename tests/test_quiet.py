"""Lightning's routine INFO chatter is silenced; its warnings about user code are not.

The notebook case is tested as a learner meets it: a fresh kernel loads the course tools
first and imports Lightning afterwards (Lightning sets its loggers back to INFO when it
is imported), then fits a model."""

import logging
import subprocess
import sys
import warnings

from kernel_support import fresh_kernel, text_of

from course.core.quiet import quiet_lightning

CHATTER = (
    "GPU available",
    "TPU available",
    "Tip:",
    "litlogger",
    "| Name",
    "Trainable params",
    "LeafSpec",
    "`Trainer.fit` stopped",
)


def test_lightning_info_is_quiet_but_warnings_still_show():
    quiet_lightning()
    log = logging.getLogger("pytorch_lightning.utilities.rank_zero")
    assert not log.isEnabledFor(logging.INFO) and log.isEnabledFor(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # every warning shows...
        quiet_lightning()  # ...but the one this silences
        warnings.warn("`isinstance(treespec, LeafSpec)` is deprecated, use ...", FutureWarning)
        # ...and the one about the course's few batches, not the learner's choices (issue 23)
        warnings.warn(
            "The number of training batches (2) is smaller than the logging interval Trainer(log_every_n_steps=50).",
            UserWarning,
        )
        warnings.warn("You defined a `validation_step` but have no `val_dataloader`. Skipping val loop.", UserWarning)
    assert [str(w.message)[:28] for w in caught] == ["You defined a `validation_st"]


def test_mlflow_store_set_up_is_quiet(tmp_path, monkeypatch):
    """MLflow's "Creating a new experiment" is the course's set-up talking (issue 23)."""
    code = (
        "from course.core.quiet import quiet_lightning\nquiet_lightning()\nimport mlflow\n"
        "mlflow.set_tracking_uri('sqlite:///m.db')\nmlflow.set_experiment('cifar')\nprint('done')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "done"
    assert "Creating" not in out.stderr and "INFO" not in out.stderr, out.stderr


FIT = """
import torch
import pytorch_lightning as pl
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

class Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = nn.Linear(4, 2)
    def training_step(self, batch, batch_idx):
        x, y = batch
        return nn.functional.cross_entropy(self.net(x), y)
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)

data = DataLoader(TensorDataset(torch.randn(64, 4), torch.randint(0, 2, (64,))), batch_size=16)
trainer = pl.Trainer(max_epochs=1, log_every_n_steps=1, accelerator="cpu", default_root_dir="lightning-run")
trainer.fit(Tiny(), data)
print("fitted")
"""


def test_lightning_imported_after_the_course_tools_stays_quiet(tmp_path):
    """Without the course tools, the same kernel code prints the banner: the test can fail."""
    loud = subprocess.run([sys.executable, "-c", FIT], cwd=tmp_path, capture_output=True, text=True)
    assert "GPU available" in loud.stdout + loud.stderr and "| Name" in loud.stdout + loud.stderr
    with fresh_kernel(tmp_path, env={"COURSE_PROGRESS_DIR": str(tmp_path / "p")}) as kernel:
        # Lightning loads after the course tools: in their import-ahead thread or in the cell,
        # whichever comes first (a check of sys.modules here would race that thread)
        kernel.run("%load_ext course.jupyter")
        cell = kernel.run(FIT)
    shown = text_of(cell)
    assert "fitted" in shown
    assert not [c for c in CHATTER if c in shown], shown
