"""A local MLflow tracking store for the lessons on experiment tracking.

MLflow's SQLite store is a real tracking server's store, with nothing to start and no
network: ``MLFlowLogger(tracking_uri="sqlite:///mlflow.db")``. Creating one runs MLflow's
database migrations, 4-5 s on a small CPU, so ``tracking_store`` makes an empty store
once per MLflow version, keeps it in ``~/.cache/course/``, copies it into place and opens
it once, so the first run logged to it is quick.
(MLflow's default file store, ``./mlruns``, is deprecated and refuses to start unless
``MLFLOW_ALLOW_FILE_STORE`` is set.)
"""
from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "course"


def _quiet() -> None:
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


def tracking_store(path: str = "mlflow.db") -> str:
    """Make ``path`` an empty MLflow SQLite store unless it is one already; return its URI."""
    import mlflow

    _quiet()
    if not os.path.exists(path):
        template = CACHE / f"mlflow-{mlflow.__version__}-empty.db"
        if not template.exists():
            CACHE.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
                fresh = os.path.join(tmp, "store.db")
                from mlflow.tracking import MlflowClient

                MlflowClient(tracking_uri=f"sqlite:///{fresh}").search_experiments()  # runs the migrations
                os.replace(fresh, template)  # atomic: a parallel run sees a whole file or none
        shutil.copyfile(template, path)
    uri = f"sqlite:///{path}"
    from mlflow.tracking import MlflowClient

    # MLflow checks a store's schema the first time a process opens it (about 2 s here) and
    # keeps the opened store for that URI: pay it now, not in the first logged run.
    MlflowClient(tracking_uri=uri).search_experiments()
    return uri
