"""SCT for 4.1.1, Track a run in MLflow."""

from graders.sct import SCT, custom, mlflow_runs, right, trainer, uses, wrong


def _seed(run):
    import os

    return os.environ.get("PL_GLOBAL_SEED")  # what seed_everything really set, whatever the call looked like


def _seed_right(got, want, ctx):
    if got is not None and got != want:
        return (
            f"The run was seeded with {got}; the exercise asks for {want}. Any fixed seed makes a run "
            "repeatable, but only the same seed repeats this run: someone who re-runs it with the seed you "
            "were given must get your weights and your numbers."
        )
    return None


def _record_seed_order(run):
    """In the learner's code, which came first: the first seeding of torch, or the building of
    the model that is fitted (the sandbox seeds before the code too, so the weights alone
    cannot tell)."""
    import pytorch_lightning as pl
    import torch

    order = run.records.setdefault("seed_order", {"n": 0, "seeded": None, "built": {}, "fits": []})
    manual_seed, init, fit = torch.manual_seed, pl.LightningModule.__init__, pl.Trainer.fit

    def seed(value):
        if run.phase == "code" and order["seeded"] is None:
            order["n"] += 1
            order["seeded"] = order["n"]
        return manual_seed(value)

    def build(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if run.phase == "code":
            order["n"] += 1
            order["built"][id(self)] = order["n"]

    def fit_(self, model, *args, **kwargs):
        if run.phase == "code" and len(order["fits"]) < 10:
            order["fits"].append(order["built"].get(id(model)))
        return fit(self, model, *args, **kwargs)

    torch.manual_seed, pl.LightningModule.__init__, pl.Trainer.fit = seed, build, fit_


def _seed_order(run):
    order = run.records.get("seed_order", {})
    return {"seeded": order.get("seeded"), "built": order.get("fits", [None])[:1]}


def _seeded_first(got, want, ctx):
    built = got["built"][0] if got["built"] else None
    if got["seeded"] is not None and built is not None and built < got["seeded"]:
        return (
            "The model was built before the run was seeded: its weights are drawn when it is built, so a seed set "
            "after that repeats the batches but not the weights. Seed first, then build the model."
        )
    return None


def _stores(run):
    import os

    from pytorch_lightning.loggers import MLFlowLogger

    loggers = getattr(run.ns.get("trainer"), "loggers", None) or []
    stores = []
    for logger in loggers:
        uri = getattr(logger, "_tracking_uri", None) if isinstance(logger, MLFlowLogger) else None
        if isinstance(uri, str) and uri.startswith("sqlite:///"):
            path = os.path.realpath(os.path.join(run.workdir, uri[len("sqlite:///") :]))
            stores.append({"uri": uri, "here": path == os.path.realpath(os.path.join(run.workdir, "mlflow.db"))})
        elif uri is not None:
            stores.append({"uri": str(uri), "here": False})
    return stores


def _store_right(got, want, ctx):
    if got and not any(store["here"] for store in got):
        return (
            f"The MLflow logger writes to {got[0]['uri']}, not to the store that is ready in mlflow.db: the "
            'run is tracked, but where nobody looks. Point it there with tracking_uri="sqlite:///mlflow.db".'
        )
    return None


sct = SCT(
    uses(
        ".seed_everything",
        msg="Seed the run with pl.seed_everything(0) before building the model: without it, "
        "the next run starts from other random weights and shuffles differently, and cannot be repeated.",
    ),
    custom(probe=_seed, judge=_seed_right),
    custom(probe=_seed_order, judge=_seeded_first, before=_record_seed_order),
    custom(probe=_stores, judge=_store_right),
    trainer("trainer").fitted(
        msg="The Trainer was never fitted, so no run was recorded: call trainer.fit(model, train_loader, val_loader)."
    ),
    mlflow_runs("sqlite:///mlflow.db", experiment="cifar").runs(1).params("lr").metrics("val_acc").finished(),
    errors={
        r"in maintenance mode": (
            "MLflow's file store (./mlruns) is deprecated and refuses to start: track to a database instead, "
            'tracking_uri="sqlite:///mlflow.db", a local file with the API of a real tracking server.'
        )
    },
)

cases = [
    wrong(
        "tracks to the deprecated file store",
        replace={'tracking_uri="sqlite:///mlflow.db"': 'tracking_uri="file:./mlruns"'},
        says="file store",
    ),
    wrong(
        "creates the logger but never gives it to the Trainer",
        replace={"logger=mlf_logger": "logger=False"},
        says="nothing was logged to it",
    ),
    wrong(
        "builds the Trainer but never fits",
        replace={"trainer.fit(model, train_loader, val_loader)": "pass"},
        says="never fitted",
    ),
    wrong("does not seed the run", replace={"pl.seed_everything(0)\n": ""}, says="cannot be repeated"),
    wrong(
        "seeds with another number",
        replace={"pl.seed_everything(0)": "pl.seed_everything(42)"},
        says="the exercise asks for 0",
    ),
    wrong(
        "names another experiment",
        replace={'experiment_name="cifar"': 'experiment_name="cifar10"'},
        says="the run went to 'cifar10'",
    ),
    wrong(
        "points the logger at another store",
        replace={'tracking_uri="sqlite:///mlflow.db"': 'tracking_uri="sqlite:///runs.db"'},
        says="not to the store that is ready in mlflow.db",
    ),
    wrong(
        "seeds after building the model",
        replace={
            "pl.seed_everything(0)\nmodel = CIFARClassifier(lr=1e-3)": "model = CIFARClassifier(lr=1e-3)\npl.seed_everything(0)"
        },
        says="a seed set after that repeats the batches but not the weights",
    ),
    right(
        "seeds by keyword and gives the store's absolute path",
        replace={
            "pl.seed_everything(0)": "pl.seed_everything(seed=0, workers=True)",
            'tracking_uri="sqlite:///mlflow.db"': "tracking_uri=f\"sqlite:///{os.path.abspath('mlflow.db')}\"",
            "model = CIFARClassifier": "import os\nmodel = CIFARClassifier",
        },
    ),
    right(
        "passes the experiment name by position and a list of loggers",
        replace={
            'MLFlowLogger(experiment_name="cifar", ': 'MLFlowLogger("cifar", ',
            "logger=mlf_logger": "logger=[mlf_logger]",
        },
    ),
]
