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


def forget_open_stores() -> None:
    """Close the stores this process has opened. MLflow keeps one store and one SQLAlchemy
    engine per tracking URI for the life of a process, keyed by the URI's text, so a relative
    ``sqlite:///mlflow.db`` opened in one folder is reused after a change of folder: it writes
    to the old folder's file, or fails with "attempt to write a readonly database" once that
    file was replaced. The notebook runs each exercise in a fresh folder of its own (as each
    check is a fresh process), so it forgets them first. A no-op where MLflow is not imported;
    MLflow's internals may change, so nothing here may fail a learner's run."""
    import sys

    utils = sys.modules.get("mlflow.tracking._tracking_service.utils")
    if utils is None:
        return
    try:
        type(utils._tracking_store_registry)._get_store_with_resolved_uri.cache_clear()
    except AttributeError:
        pass
    for name in ("mlflow.store.tracking.sqlalchemy_store", "mlflow.store.model_registry.sqlalchemy_store"):
        store = getattr(sys.modules.get(name), "SqlAlchemyStore", None)
        engines = getattr(store, "_engine_map", None)
        if not isinstance(engines, dict):
            continue
        with store._engine_map_lock:
            for engine in engines.values():
                engine.dispose()
            engines.clear()
