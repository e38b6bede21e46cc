"""SCT for 2.2.1, Add a validation step and an optimizer."""

from graders.sct import SCT, SOLUTION, custom, lightning_module, right, trainer, wrong


def _validation(run):
    t, val_loader = run.ns.get("trainer"), run.ns.get("val_loader")
    metrics = getattr(t, "callback_metrics", {}) or {}
    return {
        "own_val_loader": getattr(t, "val_dataloaders", None) is val_loader,
        "val_acc": float(metrics["val_acc"]) if "val_acc" in metrics else None,
        "val_loss": float(metrics["val_loss"]) if "val_loss" in metrics else None,
    }


def _validated_right(got, want, ctx):
    if not got["own_val_loader"]:
        return (
            "The Trainer did not validate on val_loader. Validation must use images the model never "
            "trains on, or it measures memory rather than learning: trainer.fit(model, train_loader, val_loader)."
        )
    if got["val_acc"] is not None and got["val_acc"] > 1:
        return (
            f"val_acc is {got['val_acc']:.1f}, more than 1: it counts the matching images. The accuracy is "
            "their share, the mean of the matches as floats: (logits.argmax(dim=1) == y).float().mean()."
        )
    if got["val_acc"] is None or abs(got["val_acc"] - want["val_acc"]) > 1e-4:
        return (
            f"val_acc is {got['val_acc']}, expected {want['val_acc']:.4f}. The logits have the shape "
            "(batch, classes): the predicted class is logits.argmax(dim=1), compared with the labels y, "
            "and the accuracy is the mean of those matches as floats."
        )
    if got["val_loss"] is None or abs(got["val_loss"] - want["val_loss"]) > 1e-4:
        return (
            f"val_loss is {got['val_loss']}, expected {want['val_loss']:.4f}: log the cross-entropy of the "
            "logits and the labels, and train with Adam over self.parameters() at lr=self.hparams.lr."
        )
    return None


sct = SCT(
    lightning_module("model")
    .hooks(
        "validation_step",
        "configure_optimizers",
        msg="Lightning finds the parts of a module by their hook names: the class needs methods named exactly "
        "validation_step and configure_optimizers.",
    )
    .optimizers(),
    # The optimizer first: a wrong one changes every metric after it.
    lightning_module("Classifier()").same_optimizer(),
    trainer("trainer")
    .fitted()
    .ran(
        model="model",
        train_loader="train_loader",
        val_loader="val_loader",
        train_batches=SOLUTION,
        val_batches=SOLUTION,
    )
    .logged(
        "val_loss",
        "val_acc",
        msg="val_loss and val_acc were never logged, so validation did not run: pass "
        "val_loader to trainer.fit as its third argument.",
    ),
    custom(probe=_validation, judge=_validated_right),
    errors={
        r"mean\(\): could not infer output dtype.*Bool": "Comparing the predictions with the labels gives booleans, and mean() needs floats: turn the matches "
        "into numbers first, (logits.argmax(dim=1) == y).float().mean().",
        r"size of tensor a \(10\) must match the size of tensor b \(\d+\)": "The logits have shape (batch, 10): argmax(dim=0) picks the best image for each class, 10 values, "
        "instead of the best class for each image. Take the arg max over the classes: argmax(dim=1).",
    },
)

_FIT = "trainer.fit(model, train_loader, val_loader)"
_ACC = "(logits.argmax(dim=1) == y).float().mean()"

cases = [
    wrong("misnames the validation hook", replace={"def validation_step": "def val_step"}, says="hook names"),
    wrong(
        "takes the arg max over the whole batch",
        replace={"logits.argmax(dim=1)": "logits.argmax()"},
        says="logits.argmax(dim=1)",
    ),
    wrong(
        "takes the arg max over the batch dimension",
        replace={"logits.argmax(dim=1)": "logits.argmax(dim=0)"},
        says="instead of the best class for each image",
    ),
    wrong("averages booleans", replace={_ACC: "(logits.argmax(dim=1) == y).mean()"}, says="mean() needs floats"),
    wrong(
        "counts the matches instead of their share",
        replace={_ACC: "(logits.argmax(dim=1) == y).float().sum()"},
        says="it counts the matching images",
    ),
    wrong(
        "logs the accuracy under another name",
        replace={'self.log("val_acc"': 'self.log("accuracy"'},
        says="were never logged",
    ),
    wrong(
        "returns the loss instead of logging it",
        replace={
            '        self.log("val_loss", F.cross_entropy(logits, y))\n': "        return F.cross_entropy(logits, y)\n"
        },
        says="were never logged",
    ),
    wrong(
        "trains with SGD",
        replace={"torch.optim.Adam(": "torch.optim.SGD("},
        says="returns SGD; the exercise asks for Adam",
    ),
    wrong("hard-codes another learning rate", replace={"lr=self.hparams.lr": "lr=0.01"}, says="learning rate is 0.01"),
    wrong(
        "optimizes only the last layer",
        replace={"self.parameters()": "self.net[-1].parameters()"},
        says="leaves 4 of the module's trainable parameters out",
    ),
    wrong(
        "validates on the training data",
        replace={_FIT: "trainer.fit(model, train_loader, train_loader)"},
        says="measures memory rather than learning",
    ),
    wrong(
        "never passes the validation loader", replace={_FIT: "trainer.fit(model, train_loader)"}, says="never validated"
    ),
    wrong(
        "swaps the loaders",
        replace={_FIT: "trainer.fit(model, val_loader, train_loader)"},
        says="the loaders are swapped",
    ),
    wrong(
        "checks the code with a one-batch trial run",
        replace={"pl.Trainer(max_epochs=1, **QUIET)": "pl.Trainer(max_epochs=1, fast_dev_run=True, **QUIET)"},
        says="fast_dev_run=True runs a single batch",
    ),
    right(
        "counts classes from the last dimension and optimizes the network",
        replace={"argmax(dim=1)": "argmax(dim=-1)", "self.parameters()": "self.net.parameters()"},
    ),
    right(
        "computes the share with sum and len and logs both metrics at once",
        replace={
            '        self.log("val_loss", F.cross_entropy(logits, y))\n        self.log("val_acc", '
            + _ACC
            + ")": "        acc = (logits.argmax(dim=1) == y).sum() / len(y)\n"
            '        self.log_dict({"val_loss": F.cross_entropy(logits, y), "val_acc": acc})'
        },
    ),
    right(
        "uses torchmetrics' accuracy and keyword loaders",
        replace={
            _ACC: 'torchmetrics.functional.accuracy(logits, y, task="multiclass", num_classes=10)',
            _FIT: "trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)",
            "class Classifier": "import torchmetrics\n\n\nclass Classifier",
        },
    ),
]
