"""SCT for 2.3.2, Keep the best checkpoint."""
from graders.sct import SCT, SOLUTION, custom, file, right, trainer, variable, wrong


def _best_is_a_new_object(run):
    return run.ns.get("best") is not run.ns.get("model")


sct = SCT(
    trainer("trainer").checkpointing(
        monitor=SOLUTION, msg="The callback should watch the metric the model logs, 'val_acc'. "
                              "Expected {expected}, got {got}.",
    ).checkpointing(
        mode=SOLUTION, msg="For accuracy, higher is better: the mode should be 'max'. Expected {expected}, got {got}.",
    ).checkpointing(save_top_k=SOLUTION).fitted(),
    file("checkpoints/*.ckpt").loads("checkpoint"),
    variable("best").instance_of("CIFARClassifier"),
    custom(probe=_best_is_a_new_object,
           judge=lambda got, want, ctx: None if got else
           "`best` is the same object as `model`. A model is not saved by keeping a Python reference: load it "
           "from the checkpoint file with CIFARClassifier.load_from_checkpoint(checkpoint.best_model_path)."),
    file("checkpoints/*.ckpt").loads("checkpoint").matches_model(
        "best", msg="`best` does not hold the weights of the best checkpoint: load it from "
                    "checkpoint.best_model_path."),
)

cases = [
    wrong("keeps the lowest accuracy", replace={'mode="max"': 'mode="min"'}, says="higher is better"),
    wrong("monitors a metric the model never logs", replace={'monitor="val_acc"': 'monitor="accuracy"'},
          says="could not find the monitored key"),
    wrong("keeps the in-memory model instead of loading the file",
          replace={"CIFARClassifier.load_from_checkpoint(checkpoint.best_model_path)": "model"},
          says="not saved by keeping a Python reference"),
    right("reads the path from the Trainer's own checkpoint callback",
          replace={"load_from_checkpoint(checkpoint.best_model_path)":
                   "load_from_checkpoint(trainer.checkpoint_callback.best_model_path)"}),
]
