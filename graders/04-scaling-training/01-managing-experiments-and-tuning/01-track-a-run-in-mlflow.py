"""SCT for 4.1.1, Track a run in MLflow."""
from graders.sct import SCT, mlflow_runs, right, trainer, uses, wrong

sct = SCT(
    uses(".seed_everything", msg="Seed the run with pl.seed_everything(0) before building the model: without it, "
         "the next run starts from other random weights and shuffles differently, and cannot be repeated."),
    trainer("trainer").fitted(msg="The Trainer was never fitted, so no run was recorded: call "
                                  "trainer.fit(model, train_loader, val_loader)."),
    mlflow_runs("sqlite:///mlflow.db", experiment="cifar").runs(1).params("lr").metrics("val_acc").finished(),
    errors={r"in maintenance mode": (
        "MLflow's file store (./mlruns) is deprecated and refuses to start: track to a database instead, "
        "tracking_uri=\"sqlite:///mlflow.db\", a local file with the API of a real tracking server.")},
)

cases = [
    wrong("tracks to the deprecated file store",
          replace={'tracking_uri="sqlite:///mlflow.db"': 'tracking_uri="file:./mlruns"'}, says="file store"),
    wrong("creates the logger but never gives it to the Trainer",
          replace={"logger=mlf_logger": "logger=False"}, says="nothing was logged to it"),
    wrong("builds the Trainer but never fits", replace={"trainer.fit(model, train_loader, val_loader)": "pass"},
          says="never fitted"),
    wrong("does not seed the run", replace={"pl.seed_everything(0)\n": ""}, says="cannot be repeated"),
    right("passes the experiment name by position and a list of loggers",
          replace={'MLFlowLogger(experiment_name="cifar", ': 'MLFlowLogger("cifar", ',
                   "logger=mlf_logger": "logger=[mlf_logger]"}),
]
