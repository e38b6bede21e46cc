"""SCT for 2.2.1, Add a validation step and an optimizer."""
import torch

from graders.sct import SCT, custom, lightning_module, right, trainer, wrong


def _validation(run):
    t, val_loader = run.ns.get("trainer"), run.ns.get("val_loader")
    metrics = getattr(t, "callback_metrics", {}) or {}
    return {"own_val_loader": getattr(t, "val_dataloaders", None) is val_loader,
            "val_acc": float(metrics["val_acc"]) if "val_acc" in metrics else None,
            "val_loss": float(metrics["val_loss"]) if "val_loss" in metrics else None}


def _validated_right(got, want, ctx):
    if not got["own_val_loader"]:
        return ("The Trainer did not validate on val_loader. Validation must use images the model never "
                "trains on, or it measures memory rather than learning: trainer.fit(model, train_loader, val_loader).")
    if got["val_acc"] is None or abs(got["val_acc"] - want["val_acc"]) > 1e-4:
        return (f"val_acc is {got['val_acc']}, expected {want['val_acc']:.4f}. The logits have the shape "
                "(batch, classes): the predicted class is logits.argmax(dim=1), compared with the labels y, "
                "and the accuracy is the mean of those matches as floats.")
    if got["val_loss"] is None or abs(got["val_loss"] - want["val_loss"]) > 1e-4:
        return (f"val_loss is {got['val_loss']}, expected {want['val_loss']:.4f}: log the cross-entropy of the "
                "logits and the labels, and train with Adam over self.parameters() at lr=self.hparams.lr.")
    return None


sct = SCT(
    lightning_module("model").hooks(
        "validation_step", "configure_optimizers",
        msg="Lightning finds the parts of a module by their hook names: the class needs methods named exactly "
            "validation_step and configure_optimizers.",
    ).optimizers(),
    trainer("trainer").fitted().logged(
        "val_loss", "val_acc", msg="val_loss and val_acc were never logged, so validation did not run: pass "
                               "val_loader to trainer.fit as its third argument."),
    custom(probe=_validation, judge=_validated_right),
    errors={r"size of tensor a \(10\) must match the size of tensor b \(\d+\)":
            "The logits have shape (batch, 10): argmax(dim=0) picks the best image for each class, 10 values, "
            "instead of the best class for each image. Take the arg max over the classes: argmax(dim=1)."},
)

cases = [
    wrong("misnames the validation hook", replace={"def validation_step": "def val_step"},
          says="hook names"),
    wrong("takes the arg max over the whole batch", replace={"logits.argmax(dim=1)": "logits.argmax()"},
          says="logits.argmax(dim=1)"),
    wrong("takes the arg max over the batch dimension", replace={"logits.argmax(dim=1)": "logits.argmax(dim=0)"},
          says="instead of the best class for each image"),
    wrong("validates on the training data",
          replace={"trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, train_loader, train_loader)"},
          says="measures memory rather than learning"),
    wrong("never passes the validation loader",
          replace={"trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, train_loader)"},
          says="validation did not run"),
    right("counts classes from the last dimension and optimizes the network",
          replace={"argmax(dim=1)": "argmax(dim=-1)", "self.parameters()": "self.net.parameters()"}),
]
