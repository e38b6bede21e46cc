import torch
import torch.nn.functional as F
import pytorch_lightning as pl
from pytorch_lightning.loggers import CSVLogger, MLFlowLogger
import optuna
from mlflow.tracking import MlflowClient
from course.core.data import cifar10_loaders
from course.core.tracking import tracking_store

# Trainer flags that keep short runs lean (the logger is each exercise's
# own choice)
QUIET_RUN = dict(enable_checkpointing=False, enable_progress_bar=False,
                 enable_model_summary=False, num_sanity_val_steps=0)
optuna.logging.set_verbosity(optuna.logging.WARNING)
torch.set_num_threads(1)  # steady timings on a small, shared CPU


class CIFARClassifier(CIFARClassifier):
    """The chapter's small CNN, logging its validation accuracy and loss."""

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.log("val_loss", F.cross_entropy(logits, y))
        self.log("val_acc", (logits.argmax(dim=1) == y).float().mean())


train_loader, val_loader = cifar10_loaders(batch_size=64, n_train=128, n_val=64)
# An empty MLflow tracking store (SQLite) in mlflow.db, ready to log to
tracking_store("mlflow.db")
