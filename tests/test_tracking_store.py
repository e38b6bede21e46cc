"""course.core.tracking: a store per folder, as the notebook's exercise folders need."""

import sqlite3

from course.core.tracking import forget_open_stores, tracking_store


def _experiments(folder) -> list[str]:
    with sqlite3.connect(folder / "mlflow.db") as db:
        return [row[0] for row in db.execute("select name from experiments order by name")]


def test_a_relative_store_in_a_new_folder_is_that_folders_own(tmp_path, monkeypatch):
    """MLflow caches a store per URI text: without forgetting it, `sqlite:///mlflow.db` opened in
    folder a is still a's store after moving to b (the notebook's "readonly database" error)."""
    from mlflow.tracking import MlflowClient

    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
    monkeypatch.chdir(tmp_path / "a")
    tracking_store("mlflow.db")
    MlflowClient(tracking_uri="sqlite:///mlflow.db").create_experiment("in-a")
    monkeypatch.chdir(tmp_path / "b")
    forget_open_stores()
    tracking_store("mlflow.db")
    MlflowClient(tracking_uri="sqlite:///mlflow.db").create_experiment("in-b")
    assert _experiments(tmp_path / "a") == ["Default", "in-a"]
    assert _experiments(tmp_path / "b") == ["Default", "in-b"]
    # The check can fail: without forgetting, c's client writes into b's store.
    monkeypatch.chdir(tmp_path / "c")
    tracking_store("mlflow.db")
    MlflowClient(tracking_uri="sqlite:///mlflow.db").create_experiment("meant-for-c")
    assert "meant-for-c" in _experiments(tmp_path / "b") and "meant-for-c" not in _experiments(tmp_path / "c")
    forget_open_stores()
