"""SCT for 4.1.3, Tune the learning rate with Optuna."""
from graders.sct import SCT, right, study, wrong

sct = SCT(
    study("study").trials(3).searched("lr").direction("maximize", msg=(
        "The objective returns a validation accuracy, where higher is better, so the study must use "
        "direction=\"maximize\"; with \"minimize\" Optuna hunts for the worst learning rate.")).values(),
    errors={r"callback_metrics": "The objective reads a metric that was never logged: the model logs 'val_acc'."},
)

cases = [
    wrong("minimises an accuracy", replace={'direction="maximize"': 'direction="minimize"'},
          says="Optuna hunts for the worst"),
    wrong("searches the learning rate on a linear scale", replace={"log=True": "log=False"},
          says="log scale"),
    wrong("returns the suggested value instead of a result",
          replace={'return trainer.callback_metrics["val_acc"].item()': "return lr"},
          says="should return the validation accuracy"),
    wrong("runs one trial", replace={"n_trials=3": "n_trials=1"}, says="the study should run 3"),
    right("returns the accuracy as a float",
          replace={'return trainer.callback_metrics["val_acc"].item()':
                   'return float(trainer.callback_metrics["val_acc"])'}),
]
