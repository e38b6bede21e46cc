"""SCT for 3.1.2, Test the model once with `test_step`."""

from graders.sct import SCT, custom, expression, inference_model, metric, right, trainer, uses, variable, wrong

TESTED = "trainer.lightning_module"


def _test_data(run):
    loaders = getattr(run.ns.get("trainer"), "test_dataloaders", None)
    test_loader = run.ns.get("test_loader")
    if loaders is None or test_loader is None:
        return None
    loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
    return all(getattr(l, "dataset", None) is test_loader.dataset for l in loaders)


def _test_data_right(got, want, ctx):
    if got is False:
        return (
            "trainer.test ran on other images than test_loader's: the test measurement is the one number from "
            "data the model never trained on. The training images give an optimistic score."
        )
    return None


def _record_logs(run):
    """Record what test_step logs as 'test_acc': the metric object or a number, and for which interval."""
    import pytorch_lightning as pl
    import torchmetrics

    logs = run.records.setdefault("test_acc_logs", [])
    original = pl.LightningModule.log

    def log(self, name, value, *args, **kwargs):
        if run.phase == "code" and name == "test_acc" and len(logs) < 50:
            logs.append({"metric": isinstance(value, torchmetrics.Metric), "on_epoch": kwargs.get("on_epoch")})
        return original(self, name, value, *args, **kwargs)

    pl.LightningModule.log = log


def _logs_right(got, want, ctx):
    if not got:
        return None  # never logged: trainer.logged names it
    if not any(entry["metric"] for entry in got):
        return (
            "test_step logs a number as 'test_acc' (a tensor computed from the batch), not the metric object: "
            "Lightning then averages one value per batch, which weighs batches, not images. Log the metric "
            "object itself, so Lightning computes it once over every test batch when the epoch ends."
        )
    if all(entry["on_epoch"] is False for entry in got):
        return (
            "'test_acc' is logged for each step only (on_epoch=False), so trainer.test returns no accuracy of "
            "the whole test set: the results hold what is logged for the epoch, test_step's default."
        )
    return None


def _epoch_end_hook(run):
    """Run the tested model's on_test_epoch_end on a confusion metric holding a known batch:
    the hook itself must compute the matrix, whatever test_step did."""
    import torch
    from torchmetrics.classification import MulticlassConfusionMatrix

    model = getattr(run.ns.get("trainer"), "lightning_module", None)
    names = [n for n, m in getattr(model, "named_children", lambda: [])() if isinstance(m, MulticlassConfusionMatrix)]
    if not names:
        return None
    name, kept, confusion = names[0], getattr(model, names[0]), model.__dict__.pop("confusion", None)
    probe = MulticlassConfusionMatrix(num_classes=10)
    probe.update(torch.arange(10), torch.arange(10))
    setattr(model, name, probe)
    try:
        model.on_test_epoch_end()
        computed = model.__dict__.get("confusion")
        return {"computed": isinstance(computed, torch.Tensor) and torch.equal(computed, torch.eye(10).long())}
    except Exception:
        return None  # the hook needs more than a lone call (a trainer, a logger): not judged here
    finally:
        setattr(model, name, kept)
        model.__dict__["confusion"] = confusion


def _epoch_end_right(got, want, ctx):
    if got and not got["computed"]:
        return (
            "on_test_epoch_end does not compute the confusion matrix: Lightning calls that hook once, when the test "
            "epoch ends, after every test_step has updated the metric. Computed anywhere else, it is either a "
            "partial matrix or recomputed for every batch; a hook named for another stage never runs in a test."
        )
    return None


sct = SCT(
    uses(
        ".test",
        msg="Measure on the test set with trainer.test(model, test_loader): test_step runs only when "
        "you call it. trainer.validate runs validation_step, and fit trains.",
    ),
    trainer("trainer").tested(
        msg="The trainer did not run a test: call trainer.test(model, test_loader). It runs "
        "test_step on every test batch once; fit and validate never call it."
    ),
    custom(probe=_test_data, judge=_test_data_right),
    inference_model(TESTED).matches_weights(
        "trained.ckpt",
        key="state_dict",
        msg=(
            "The model you tested does not hold the trained weights of trained.ckpt: a new TestedCNN() starts from random "
            'weights. Build it with TestedCNN.load_from_checkpoint("trained.ckpt"), which restores them.'
        ),
    ),
    metric(f"{TESTED}.test_acc")
    .kind("MulticlassAccuracy")
    .settings(average="micro", msg='Report plain accuracy, average="micro": expected {expected}, got {got}.'),
    metric(f"{TESTED}.test_acc").attached_to(TESTED),
    trainer("trainer").logged(
        "test_acc",
        msg="The accuracy was never logged as 'test_acc': call self.log(\"test_acc\", self.test_acc) in test_step.",
    ),
    custom(probe=lambda run: run.records.get("test_acc_logs"), judge=_logs_right, before=_record_logs),
    variable("results").equals(atol=1e-6, rtol=0),
    expression(f"{TESTED}.confusion").equals(
        msg="`confusion` should be the confusion matrix of the whole test set: update the metric in every "
        "test_step and compute it once, in on_test_epoch_end. reset() empties its counts, so it comes after "
        "compute(), never before."
    ),
    custom(probe=_epoch_end_hook, judge=_epoch_end_right),
    errors={
        r"object has no attribute 'confusion'": "The tested model has no `confusion`: the hook that computes it never "
        "ran. Lightning calls on_test_epoch_end once, when the test epoch ends; a hook named for another stage "
        "(validation, training) never runs in trainer.test.",
        r"must have a single element|does not contain a single element": "self.log records single numbers, and a confusion matrix is a 10x10 table. Keep it out of self.log: "
        "compute it in on_test_epoch_end and store (or print) it.",
        r"No `validation_step\(\)` method defined": "trainer.validate runs validation_step, which this model does not have. The final measurement on the "
        "test set is trainer.test, which runs test_step.",
    },
)

cases = [
    wrong(
        "logs the confusion matrix with self.log",
        replace={"self.confusion = self.confmat.compute()": 'self.log("confusion", self.confmat.compute())'},
        says="self.log records single numbers",
    ),
    wrong(
        "keeps the per-class default for accuracy",
        replace={
            'self.test_acc = MulticlassAccuracy(num_classes=10, average="micro")': "self.test_acc = MulticlassAccuracy(num_classes=10)"
        },
        says="Report plain accuracy",
    ),
    wrong(
        "validates instead of testing",
        replace={"results = trainer.test(": "results = trainer.validate("},
        says="trainer.validate runs validation_step",
    ),
    wrong(
        "keeps the confusion matrix of the last batch",
        replace={
            "self.confmat.update(preds, batch[1])": "self.confusion = self.confmat(preds, batch[1])",
            "        self.confusion = self.confmat.compute()": "        pass",
        },
        says="confusion matrix of the whole test set",
    ),
    wrong(
        "computes the accuracy but never logs it",
        replace={'        self.log("test_acc", self.test_acc)\n': ""},
        says="never logged as 'test_acc'",
    ),
    wrong(
        "tests a new, untrained model",
        replace={'TestedCNN.load_from_checkpoint("trained.ckpt")': "TestedCNN()"},
        says="does not hold the trained weights of trained.ckpt",
    ),
    wrong(
        "tests on the training images",
        replace={'"trained.ckpt"), test_loader)': '"trained.ckpt"), train_loader)'},
        says="trainer.test ran on other images than test_loader's",
    ),
    wrong(
        "logs the accuracy computed in each step instead of the metric object",
        replace={'self.log("test_acc", self.test_acc)': 'self.log("test_acc", self.test_acc.compute())'},
        says="not the metric object",
    ),
    wrong(
        "logs the accuracy for each step only",
        replace={
            'self.log("test_acc", self.test_acc)': 'self.log("test_acc", self.test_acc, on_step=True, on_epoch=False)'
        },
        says="logged for each step only",
    ),
    wrong(
        "computes the confusion matrix in every test_step",
        replace={
            '        self.log("test_acc", self.test_acc)': '        self.log("test_acc", self.test_acc)\n        self.confusion = self.confmat.compute()',
            "    def on_test_epoch_end(self):\n        self.confusion = self.confmat.compute()": "    def on_test_epoch_end(self):\n        pass",
        },
        says="on_test_epoch_end does not compute the confusion matrix",
    ),
    wrong(
        "computes the matrix in the hook of another stage",
        replace={
            "def on_test_epoch_end(self):": "def on_validation_epoch_end(self):",
        },
        says="a hook named for another stage (validation, training) never runs",
    ),
    wrong(
        "resets the matrix before computing it",
        replace={
            "self.confusion = self.confmat.compute()": "self.confmat.reset()\n        self.confusion = self.confmat.compute()"
        },
        says="comes after compute(), never before",
    ),
    right(
        "restores the weights with ckpt_path, logs with log_dict and resets the matrix after computing it",
        replace={
            'trainer.test(TestedCNN.load_from_checkpoint("trained.ckpt"), test_loader)': 'trainer.test(TestedCNN(), dataloaders=test_loader, ckpt_path="trained.ckpt")',
            'self.log("test_acc", self.test_acc)': 'self.log_dict({"test_acc": self.test_acc})',
            "self.confusion = self.confmat.compute()": "self.confusion = self.confmat.compute()\n        self.confmat.reset()",
        },
    ),
    right(
        "logs with on_epoch and tests by keyword",
        replace={
            'self.log("test_acc", self.test_acc)': 'self.log("test_acc", self.test_acc, on_epoch=True)',
            'trainer.test(TestedCNN.load_from_checkpoint("trained.ckpt"), test_loader)': 'trainer.test(TestedCNN.load_from_checkpoint("trained.ckpt"), dataloaders=test_loader)',
        },
    ),
]
