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
    variable("results").equals(atol=1e-6, rtol=0),
    expression(f"{TESTED}.confusion").equals(
        msg="`confusion` should be the confusion matrix of the whole test set: update the metric in every "
        "test_step and compute it once, in on_test_epoch_end."
    ),
    errors={
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
    right(
        "logs with on_epoch and tests by keyword",
        replace={
            'self.log("test_acc", self.test_acc)': 'self.log("test_acc", self.test_acc, on_epoch=True)',
            'trainer.test(TestedCNN.load_from_checkpoint("trained.ckpt"), test_loader)': 'trainer.test(TestedCNN.load_from_checkpoint("trained.ckpt"), dataloaders=test_loader)',
        },
    ),
]
