"""SCT for 4.1.3, Tune the learning rate with Optuna."""

from graders.sct import SCT, custom, right, study, wrong


def _watch_objective(run):
    """Record the type of every value the objective returns to Optuna."""
    import optuna

    real = optuna.study.Study.optimize
    returned = run.records.setdefault("objective_returns", [])

    def optimize(self, func, *args, **kwargs):
        def watched(trial):
            value = func(trial)
            returned.append(type(value).__name__)
            return value

        return real(self, watched, *args, **kwargs)

    optuna.study.Study.optimize = optimize


def _returned_number(got, want, ctx):
    odd = sorted({name for name in got or [] if name not in ("float", "int")})
    if odd:
        return (
            f"The objective returns a {odd[0]}, not a Python number: Optuna converts it, but a tensor brings its "
            "device and graph along (a GPU tensor must be copied back first). Return "
            'trainer.callback_metrics["val_acc"].item().'
        )
    return None


def _watch_fits(run):
    """Record which loaders each trial's fit trained and validated on."""
    import pytorch_lightning as pl

    fits = run.records.setdefault("fit_loaders", [])
    real = pl.Trainer.fit

    def fit(self, model, train_dataloaders=None, val_dataloaders=None, *args, **kwargs):
        if run.phase == "code" and len(fits) < 20:
            fits.append([id(train_dataloaders), id(val_dataloaders)])
        return real(self, model, train_dataloaders, val_dataloaders, *args, **kwargs)

    pl.Trainer.fit = fit


def _fit_loaders(run):
    train, val = id(run.ns.get("train_loader")), id(run.ns.get("val_loader"))
    return [
        {"trains_on_val": t == val, "validates_on_train": v == train} for t, v in run.records.get("fit_loaders", [])
    ]


def _splits_right(got, want, ctx):
    if any(fit["trains_on_val"] for fit in got or []):
        return (
            "The trials train on val_loader: a model scored on the images it trained on looks better than it is, "
            "and the search picks the learning rate that memorises best. Train on train_loader, score on val_loader."
        )
    if any(fit["validates_on_train"] for fit in got or []):
        return (
            "The trials are scored on train_loader, the images they trained on: that rewards memorising, not "
            "generalising. Score each trial on the validation split, val_loader."
        )
    return None


sct = SCT(
    custom(probe=_fit_loaders, judge=_splits_right, before=_watch_fits),
    study("study")
    .trials(3)
    .searched("lr")
    .direction(
        "maximize",
        msg=(
            "The objective returns a validation accuracy, where higher is better, so the study must use "
            'direction="maximize"; with "minimize" Optuna hunts for the worst learning rate.'
        ),
    )
    .values(),
    custom(probe=lambda run: run.records.get("objective_returns"), judge=_returned_number, before=_watch_objective),
    errors={r"callback_metrics": "The objective reads a metric that was never logged: the model logs 'val_acc'."},
)

cases = [
    wrong(
        "trains each trial on the validation images",
        replace={"train_loader, val_loader)": "val_loader, val_loader)"},
        says="The trials train on val_loader",
    ),
    wrong(
        "scores each trial on the training images",
        replace={"train_loader, val_loader)": "train_loader, train_loader)"},
        says="The trials are scored on train_loader",
    ),
    right(
        "passes the loaders by keyword and returns the metric as a float",
        replace={
            "trainer.fit(CIFARClassifier(lr=lr), train_loader, val_loader)": "trainer.fit(model=CIFARClassifier(lr=lr), train_dataloaders=train_loader, val_dataloaders=val_loader)",
            'return trainer.callback_metrics["val_acc"].item()': 'return float(trainer.callback_metrics["val_acc"])',
        },
    ),
    wrong(
        "minimises an accuracy",
        replace={'direction="maximize"': 'direction="minimize"'},
        says="Optuna hunts for the worst",
    ),
    wrong("searches the learning rate on a linear scale", replace={"log=True": "log=False"}, says="log scale"),
    wrong(
        "returns the suggested value instead of a result",
        replace={'return trainer.callback_metrics["val_acc"].item()': "return lr"},
        says="should return the validation accuracy",
    ),
    wrong("runs one trial", replace={"n_trials=3": "n_trials=1"}, says="the study should run 3"),
    wrong(
        "returns the metric tensor",
        replace={'return trainer.callback_metrics["val_acc"].item()': 'return trainer.callback_metrics["val_acc"]'},
        says="not a Python number",
    ),
    right(
        "returns the accuracy as a float",
        replace={
            'return trainer.callback_metrics["val_acc"].item()': 'return float(trainer.callback_metrics["val_acc"])'
        },
    ),
]
