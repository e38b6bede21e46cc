"""SCT for 2.2.2, Package CIFAR-10 in a LightningDataModule."""

from graders.sct import SCT, SOLUTION, custom, right, trainer, variable, wrong


def _loaders(run):
    from torch.utils.data import RandomSampler

    dm = run.ns.get("dm")
    if not hasattr(dm, "train_set"):  # the Trainer never called its setup
        dm.setup("fit")
    train, val = dm.train_dataloader(), dm.val_dataloader()
    for hook, loader in (("train_dataloader", train), ("val_dataloader", val)):
        if loader is None:
            return {"missing": hook}
    x, y = next(iter(val))
    return {
        "train_shuffles": isinstance(train.sampler, RandomSampler),
        "val_shuffles": isinstance(val.sampler, RandomSampler),
        "val_labels": y,
        "batch_shape": tuple(next(iter(train))[0].shape),
    }


def _loaders_right(got, want, ctx):
    if "missing" in got:
        return (
            f"{got['missing']} returns None: a hook without `return` gives nothing to the Trainer. Return "
            "the DataLoader you build."
        )
    if not got["train_shuffles"]:
        return (
            "The training loader does not shuffle, so every epoch sees the same batches in the same order "
            "and the gradient steps repeat one pattern. Pass shuffle=True to the training DataLoader."
        )
    if got["val_shuffles"]:
        return (
            "The validation loader shuffles. Validation looks at every image anyway, so shuffling gains "
            "nothing and makes batch-level results differ from run to run: pass shuffle=False."
        )
    if got["batch_shape"][1:] != (3, 32, 32):
        return (
            f"A training batch has the shape {got['batch_shape']}: the batch must come first, followed by "
            "3 channels of 32 x 32 pixels, as the data sets give them."
        )
    if not (
        got["val_labels"].shape == want["val_labels"].shape and bool((got["val_labels"] == want["val_labels"]).all())
    ):
        return (
            'The validation loader does not serve the validation split: validate on cifar10_dataset("val", '
            "128), images held out of training. The test split is for the one final measurement, never for "
            "watching a run."
        )
    return None


def _fit_from_datamodule(run):
    t = run.ns.get("trainer")
    return getattr(t, "datamodule", None) is run.ns.get("dm")


sct = SCT(
    variable("dm").instance_of(
        "pytorch_lightning.LightningDataModule",
        msg="`dm` should be a CIFARDataModule, a subclass of pl.LightningDataModule.",
    ),
    custom(probe=_loaders, judge=_loaders_right),
    trainer("trainer").fitted(),
    custom(
        probe=_fit_from_datamodule,
        judge=lambda got, want, ctx: (
            None
            if got
            else "The Trainer did not train from `dm`: pass it with trainer.fit(model, datamodule=dm), so the Trainer "
            "calls its setup and asks it for both loaders."
        ),
    ),
    trainer("trainer").ran(train_batches=SOLUTION, val_batches=SOLUTION, epochs=SOLUTION),
    errors={
        r"object has no attribute '(train|val)_set'": "The data module's loaders use self.train_set and self.val_set, which setup() creates: give the "
        "data module to the Trainer (datamodule=dm), which calls setup before it asks for the loaders, and "
        "create both sets in setup."
    },
)

_FIT = "trainer.fit(Classifier(), datamodule=dm)"

cases = [
    wrong(
        "does not shuffle the training data",
        replace={"shuffle=True": "shuffle=False"},
        says="Pass shuffle=True to the training DataLoader",
    ),
    wrong("shuffles the validation data", replace={"shuffle=False": "shuffle=True"}, says="shuffling gains nothing"),
    wrong(
        "validates on training images",
        replace={'cifar10_dataset("val", 128)': 'cifar10_dataset("train", 128)'},
        says="does not serve the validation split",
    ),
    wrong(
        "validates on the test split",
        replace={'cifar10_dataset("val", 128)': 'cifar10_dataset("test", 128)'},
        says="The test split is for the one final measurement",
    ),
    wrong(
        "fits from a data module the variable does not hold",
        replace={_FIT: "trainer.fit(Classifier(), datamodule=CIFARDataModule())"},
        says="did not train from `dm`",
    ),
    wrong(
        "hands the Trainer loaders instead of the data module",
        replace={_FIT: "dm.setup()\ntrainer.fit(Classifier(), dm.train_dataloader(), dm.val_dataloader())"},
        says="did not train from `dm`",
    ),
    wrong(
        "asks for loaders before setup has run",
        replace={_FIT: "trainer.fit(Classifier(), dm.train_dataloader(), dm.val_dataloader())"},
        says="which setup() creates",
    ),
    wrong(
        "trains on the validation set",
        replace={
            "DataLoader(self.train_set, batch_size=64, shuffle=True)": "DataLoader(self.val_set, batch_size=64, shuffle=True)"
        },
        says="It trained on 128 images an epoch; the exercise's run trains on 256",
    ),
    wrong(
        "trains in batches of 32",
        replace={"DataLoader(self.train_set, batch_size=64": "DataLoader(self.train_set, batch_size=32"},
        says="in batches of about 32 instead of 64",
    ),
    wrong(
        "forgets to return the validation loader",
        replace={"return DataLoader(self.val_set": "DataLoader(self.val_set"},
        says="a *_dataloader hook without `return` gives nothing",
    ),
    wrong(
        "tries the data module with a one-batch run",
        replace={"pl.Trainer(max_epochs=1, **QUIET)": "pl.Trainer(fast_dev_run=True, **QUIET)"},
        says="fast_dev_run=True runs a single batch",
    ),
    right(
        "passes the data module by position and relies on the default shuffle=False",
        replace={"datamodule=dm)": "dm)", ", shuffle=False)": ")"},
    ),
    right(
        "names the setup stage and passes the model by keyword",
        replace={
            "def setup(self, stage=None):": "def setup(self, stage: str | None = None):",
            _FIT: "trainer.fit(model=Classifier(), datamodule=dm)",
        },
    ),
]
