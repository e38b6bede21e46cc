"""SCT for 2.3.2, Keep the best checkpoint."""

import os

from graders.sct import SCT, SOLUTION, cifar_batch, custom, file, right, trainer, variable, wrong


def _best_is_a_new_object(run):
    return run.ns.get("best") is not run.ns.get("model")


def _best_matches_the_best_file(run):
    """`best` against the file the callback names best (not merely some .ckpt file), and
    against the solution's best model, on the same batch."""
    import torch

    t, best = run.ns.get("trainer"), run.ns.get("best")
    path = getattr(getattr(t, "checkpoint_callback", None), "best_model_path", "")
    if not isinstance(best, torch.nn.Module) or not path:
        return None
    x, _ = cifar_batch(8)
    with torch.no_grad():
        from_file = type(best).load_from_checkpoint(path, map_location="cpu").eval()(x)
        out = best.eval()(x)
    return {"same_as_file": bool(torch.allclose(out, from_file, atol=1e-5)), "out": out, "file": os.path.basename(path)}


def _best_right(got, want, ctx):
    if got is None:
        return None  # the checks before say what is missing
    if not got["same_as_file"]:
        return (
            f"`best` does not hold the weights of the best checkpoint, {got['file']}: load it from "
            "checkpoint.best_model_path. The model in memory ends at the last epoch, which is not always the best."
        )
    if want and not bool((got["out"] - want["out"]).abs().max() <= 1e-4):
        return (
            "`best` is not the model of the best epoch: with the exercise's settings (two epochs, the highest "
            "val_acc) the best checkpoint holds other weights."
        )
    return None


sct = SCT(
    trainer("trainer")
    .checkpointing(
        monitor=SOLUTION,
        msg="The callback should watch the metric the model logs, 'val_acc'. Expected {expected}, got {got}.",
    )
    .checkpointing(
        mode=SOLUTION,
        msg="For accuracy, higher is better: the mode should be 'max'. Expected {expected}, got {got}.",
    )
    .checkpointing(save_top_k=SOLUTION)
    .settings(
        max_epochs=SOLUTION, msg="Train for two epochs, so there is a best one to keep: expected {expected}, got {got}."
    )
    .fitted()
    .ran(epochs=SOLUTION, train_batches=SOLUTION),
    file("checkpoints/*.ckpt").loads("checkpoint"),
    variable("best").instance_of("CIFARClassifier"),
    custom(
        probe=_best_is_a_new_object,
        judge=lambda got, want, ctx: (
            None
            if got
            else "`best` is the same object as `model`. A model is not saved by keeping a Python reference: load it "
            "from the checkpoint file with CIFARClassifier.load_from_checkpoint(checkpoint.best_model_path)."
        ),
    ),
    custom(probe=_best_matches_the_best_file, judge=_best_right),
    errors={
        r"IsADirectoryError|Is a directory": "checkpoint.best_model_path is empty, so there was no file to load: the callback saved no checkpoint. "
        "It saves one after each validation that logs the monitored val_acc; fast_dev_run=True and "
        "limit_val_batches=0 switch that off."
    },
)

_LOAD = "CIFARClassifier.load_from_checkpoint(checkpoint.best_model_path)"

cases = [
    wrong("keeps the lowest accuracy", replace={'mode="max"': 'mode="min"'}, says="higher is better"),
    wrong(
        "monitors a metric the model never logs",
        replace={'monitor="val_acc"': 'monitor="accuracy"'},
        says="could not find the monitored key",
    ),
    wrong(
        "keeps the in-memory model instead of loading the file",
        replace={_LOAD: "model"},
        says="not saved by keeping a Python reference",
    ),
    wrong(
        "keeps a copy of the in-memory model",
        replace={_LOAD: "copy.deepcopy(model)", "# Keep the checkpoint": "import copy\n# Keep the checkpoint"},
        says="does not hold the weights of the best checkpoint",
    ),
    wrong("keeps every checkpoint", replace={"save_top_k=1": "save_top_k=-1"}, says="wrong `save_top_k`"),
    wrong(
        "monitors the validation loss",
        replace={'monitor="val_acc", mode="max"': 'monitor="val_loss", mode="min"'},
        says="should watch the metric the model logs, 'val_acc'",
    ),
    wrong("trains for one epoch only", replace={"max_epochs=2": "max_epochs=1"}, says="Train for two epochs"),
    wrong(
        "trains with a one-batch trial run",
        replace={"max_epochs=2,": "max_epochs=2, fast_dev_run=True,"},
        says="the callback saved no checkpoint",
    ),
    right(
        "reads the path from the Trainer's own checkpoint callback",
        replace={
            "load_from_checkpoint(checkpoint.best_model_path)": "load_from_checkpoint(trainer.checkpoint_callback.best_model_path)"
        },
    ),
    right(
        "loads the weights into a new model by hand",
        replace={
            _LOAD: "CIFARClassifier()\nbest.load_state_dict(torch.load(checkpoint.best_model_path, "
            'weights_only=True)["state_dict"])'
        },
    ),
    right(
        "passes the callback's settings by keyword in another order",
        replace={
            'dirpath="checkpoints", monitor="val_acc", mode="max", save_top_k=1': 'save_top_k=1, mode="max", monitor="val_acc", dirpath="checkpoints"'
        },
    ),
]
