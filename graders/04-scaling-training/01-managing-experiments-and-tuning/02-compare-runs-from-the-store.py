"""SCT for 4.1.2, Compare runs from the store."""

from graders.sct import SCT, custom, expression, right, uses, variable, wrong

SCALE = 7.0  # the store's learning rates, multiplied: an answer read from the store follows them


def _order(run):
    runs = run.ns.get("runs")
    try:
        return [r.data.metrics.get("val_acc") for r in runs]
    except Exception:
        return None


def _order_right(got, want, ctx):
    if got is not None and any(a is None or b is None or a < b for a, b in zip(got, got[1:])):
        return (
            '`runs` is not ordered by validation accuracy, highest first: order_by takes "metrics.<name> '
            "DESC\" with the metric's own name, val_acc, so that runs[0] is the best run "
            f"(the val_acc of your runs, in order: {got})."
        )
    return None


def _scale_learning_rates(db):
    for value, run_id in db.execute("SELECT value, run_uuid FROM params WHERE key = 'lr'").fetchall():
        db.execute(
            "UPDATE params SET value = ? WHERE key = 'lr' AND run_uuid = ?", (repr(float(value) * SCALE), run_id)
        )


def _reverse_accuracies(db):
    """Give the runs their val_acc in reverse order of accuracy: the best run becomes the worst."""
    rows = db.execute("SELECT run_uuid, value FROM latest_metrics WHERE key = 'val_acc' ORDER BY value").fetchall()
    for (run_id, _), (_, value) in zip(rows, reversed(rows)):
        for table in ("latest_metrics", "metrics"):
            db.execute(f"UPDATE {table} SET value = ? WHERE key = 'val_acc' AND run_uuid = ?", (value, run_id))  # noqa: S608


def _from_store(run, change=_scale_learning_rates):
    """The learner's code once more, after the store changed."""
    import contextlib
    import io
    import os
    import sqlite3

    from graders.sct.api import LEARNER_FILE, learner_error

    with contextlib.closing(sqlite3.connect(os.path.join(run.workdir, "mlflow.db"))) as db:
        change(db)
        db.commit()
    ns = dict(run.ns)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            exec(compile(run.code, LEARNER_FILE, "exec"), ns)  # noqa: S102 - in the sandbox
    except Exception as err:
        return {"error": learner_error(err)}
    value = ns.get("best_lr")
    return {"again": value if isinstance(value, (int, float)) else None, "first": run.ns.get("best_lr")}


def _from_store_right(got, want, ctx):
    if "error" in got or not want or want.get("again") is None:
        return None  # the first run already said what is wrong
    if got["again"] is None or abs(got["again"] - want["again"]) > 1e-12 * abs(want["again"]):
        return (
            f"best_lr does not come from the store: with every run's learning rate multiplied by {SCALE:g} in "
            f"mlflow.db, your code still gave {got['again']!r} instead of {want['again']!r}. Read it from the best "
            "run's data.params, never type in a number you saw."
        )
    return None


def _follows_accuracy_right(got, want, ctx):
    if "error" in got or not want or want.get("again") is None:
        return None
    if got["again"] is None or abs(got["again"] - want["again"]) > 1e-12 * abs(want["again"]):
        return (
            "best_lr does not follow the validation accuracy: with the runs' val_acc reversed in mlflow.db, your "
            f"code still gave {got['again']!r}, not the learning rate of the new best run, {want['again']!r}. The "
            "store returns runs newest first unless you order them: order the search by the metric, highest first."
        )
    return None


sct = SCT(
    uses(".search_runs", msg="Ask the store: client.search_runs([experiment.experiment_id], order_by=[...])."),
    expression("len(runs)").equals(msg="`runs` should hold the three runs of the sweep ({got})."),
    variable("best_lr")
    .instance_of(
        float, msg=("best_lr should be a number: MLflow returns parameters as strings, so convert with float(...).")
    )
    .equals(
        msg='best_lr is the learning rate of another run: order the runs by "metrics.val_acc DESC", so the run '
        "with the highest validation accuracy comes first (expected {expected}, got {got})."
    ),
    custom(probe=_order, judge=_order_right),
    custom(probe=_from_store, judge=_from_store_right),
    custom(probe=lambda run: _from_store(run, _reverse_accuracies), judge=_follows_accuracy_right),
    errors={
        r"'NoneType' object has no attribute 'experiment_id'": (
            "get_experiment_by_name returns None when the store has no experiment of that name, and None has no "
            "experiment_id: the sweep's experiment is called 'lr-sweep', with a hyphen."
        )
    },
)

cases = [
    wrong(
        "orders from the lowest accuracy",
        replace={"metrics.val_acc DESC": "metrics.val_acc ASC"},
        says="highest validation accuracy comes first",
    ),
    wrong(
        "orders by the loss, highest first",
        replace={"metrics.val_acc DESC": "metrics.val_loss DESC"},
        says="highest validation accuracy comes first",
    ),
    wrong(
        "keeps the parameter as text",
        replace={'float(best.data.params["lr"])': 'best.data.params["lr"]'},
        says="MLflow returns parameters as strings",
    ),
    wrong(
        "types in the best learning rate",
        replace={'best_lr = float(best.data.params["lr"])': "best_lr = 0.01"},
        says="best_lr does not come from the store",
    ),
    wrong(
        "orders the runs by the loss, lowest last",
        replace={
            'order_by=["metrics.val_acc DESC"]': 'order_by=["metrics.val_loss DESC"]',
            "best = runs[0]": 'best = max(runs, key=lambda run: run.data.metrics["val_acc"])',
        },
        says="`runs` is not ordered by validation accuracy",
    ),
    wrong("misspells the experiment's name", replace={'"lr-sweep"': '"lr_sweep"'}, says="called 'lr-sweep'"),
    wrong(
        "takes the first run in the store's own order",
        replace={', order_by=["metrics.val_acc DESC"]': ""},
        says="best_lr does not follow the validation accuracy",
    ),
    right(
        "sorts the runs in Python by their accuracy and caps the search",
        replace={
            'runs = client.search_runs([experiment.experiment_id], order_by=["metrics.val_acc DESC"])': (
                "runs = sorted(client.search_runs(experiment_ids=[experiment.experiment_id], max_results=100),"
                ' key=lambda r: r.data.metrics["val_acc"], reverse=True)'
            )
        },
    ),
    right(
        "picks the maximum in Python",
        replace={"best = runs[0]": 'best = max(runs, key=lambda run: run.data.metrics["val_acc"])'},
    ),
    right(
        "searches with mlflow.search_runs, whose runs come back as a pandas DataFrame",
        replace={
            'runs = client.search_runs([experiment.experiment_id], order_by=["metrics.val_acc DESC"])': (
                'import mlflow\nmlflow.set_tracking_uri("sqlite:///mlflow.db")\n'
                'runs = mlflow.search_runs([experiment.experiment_id], order_by=["metrics.val_acc DESC"])'
            ),
            "best = runs[0]": "best = runs.iloc[0]",
            'best_lr = float(best.data.params["lr"])': 'best_lr = float(best["params.lr"])',
            "best.data.metrics['val_acc']": "best['metrics.val_acc']",
        },
    ),
]
