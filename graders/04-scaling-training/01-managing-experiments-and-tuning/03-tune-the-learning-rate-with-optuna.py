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


sct = SCT(
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
