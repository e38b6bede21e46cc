"""SCT for 2.4.4, Capstone: train a CIFAR-10 CNN end to end (sequential: each step runs
after the solutions of the steps before it)."""

import ast
import copy

import torch
from torch import nn

from graders.sct import SCT, SOLUTION, avoids, cifar_batch, custom, lightning_module, module, right, trainer, wrong

# ---------------------------------------------------------------- step 1: the ConvNet


def _build_net(run):
    cls = run.ns.get("ConvNet")
    if not isinstance(cls, type):
        return False
    run.ns["ConvNet()"] = cls()  # a fresh instance for the checks below, under the probe's seed
    return True


def _flattens_batch(tree):
    """Whether the code flattens from dimension 0, which merges the images of a batch."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "flatten":
            args = list(node.args) + [k.value for k in node.keywords if k.arg == "start_dim"]
            first = (
                args[1]
                if getattr(node.func, "value", None) is not None and _is_torch(node.func.value) and len(args) > 1
                else (args[0] if args else None)
            )
            if isinstance(first, ast.Constant) and first.value == 0:
                return True
    return False


def _is_torch(node):
    return isinstance(node, ast.Name) and node.id == "torch"


def _forward(run):
    net = run.ns.get("ConvNet()")
    if not isinstance(net, nn.Module):
        return None
    x, _ = cifar_batch(8)
    try:
        with torch.no_grad():
            out = copy.deepcopy(net).eval()(x)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return {"error": None, "shape": tuple(out.shape)}


def _forward_right(got, want, ctx):
    if got is None:
        return None  # the module check says what is wrong
    if _flattens_batch(ctx.tree):
        return (
            "Flatten from dimension 1, .flatten(1), so the batch dimension stays first: flattening from "
            "dimension 0 merges all the images of the batch into one vector."
        )
    error = got["error"]
    if error and "running_mean" in error:
        return (
            "A BatchNorm2d layer does not match the convolution before it: BatchNorm2d(C) normalises C "
            "channels, so it takes that convolution's out_channels, 8 and then 16. (" + error + ")"
        )
    if error and "mat1 and mat2" in error:
        return (
            "The linear head does not match the pooled features: after AdaptiveAvgPool2d(1) each image is "
            "one number per channel, 16 in all, so nn.Linear(16, 10). (" + error + ")"
        )
    if error:
        return "Calling ConvNet() on a CIFAR-10 batch raised " + error
    if got["shape"] != (8, 10):
        return (
            f"ConvNet() gives an output of shape {got['shape']} for 8 images; it should be (8, 10). Flatten from "
            "dimension 1, .flatten(1), so the batch dimension stays first."
        )
    return None


def _relus(run):
    """How many ReLUs a forward pass applies, however the code writes them (nn.ReLU modules,
    torch.relu or F.relu in forward)."""
    from torch.overrides import TorchFunctionMode

    net = run.ns.get("ConvNet()")
    if not isinstance(net, nn.Module):
        return None
    applied = []

    class _Count(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            if "relu" in getattr(func, "__name__", ""):
                applied.append(func.__name__)
            return func(*args, **(kwargs or {}))

    try:
        with torch.no_grad(), _Count():
            copy.deepcopy(net).eval()(cifar_batch(2)[0])
    except Exception:
        return None  # the forward check says what failed
    return len([name for name in applied if name in ("relu", "relu_")]) or len(applied)


def _relus_right(got, want, ctx):
    if got is not None and want and got < want:
        return (
            "Keep a ReLU after each batch normalisation: without a non-linearity the convolutions and the head "
            f"collapse into one linear map (a forward pass applied {got} ReLU{'s' if got != 1 else ''}, not "
            f"{want})."
        )
    return None


step1 = SCT(
    custom(probe=_build_net, judge=lambda got, want, ctx: None if got else "Define the class `ConvNet`."),
    custom(probe=_forward, judge=_forward_right),
    module("ConvNet()").layers(nn.Conv2d, nn.BatchNorm2d, nn.AdaptiveAvgPool2d),
    custom(probe=_relus, judge=_relus_right),
    module("ConvNet()").output_shape((8, 10)).param_count().gradients_flow(),
)

# ---------------------------------------------------------------- step 2: the LightningModule


def _build(run):
    cls = run.ns.get("LitConvNet")
    if not isinstance(cls, type):
        return False
    run.ns["LitConvNet()"] = cls()  # a fresh instance for the checks below, under the probe's seed
    return True


def _validation_run(run):
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader, TensorDataset

    model = run.ns.get("LitConvNet()")
    if model is None:
        return None
    loader = DataLoader(TensorDataset(*cifar_batch(16)), batch_size=16)
    t = pl.Trainer(
        fast_dev_run=True,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=run.workdir,
    )
    try:
        t.fit(copy.deepcopy(model), loader, loader)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return {
        "error": None,
        "metrics": sorted(t.callback_metrics),
        "val_acc": float(t.callback_metrics["val_acc"]) if "val_acc" in t.callback_metrics else None,
    }


def _validation_right(got, want, ctx):
    if got is None:
        return None
    if got["error"]:
        if "could not infer output dtype" in got["error"]:
            return (
                "Comparing the predictions with the labels gives booleans, and mean() needs floats: "
                "(self.net(x).argmax(dim=1) == y).float().mean(). (" + got["error"] + ")"
            )
        if "must match the size" in got["error"]:
            return (
                "Computing val_acc failed: the predicted class of each image is the arg max over the classes, "
                "argmax(dim=1), compared with the labels y. (" + got["error"] + ")"
            )
        return "A one-batch trial run with validation raised " + got["error"]
    if "val_acc" not in got["metrics"]:
        return (
            "validation_step never logged 'val_acc': record it with self.log(\"val_acc\", accuracy). "
            "Lightning only keeps the metrics you log; a value you compute and drop is lost."
        )
    if want and want.get("val_acc") is not None and abs(got["val_acc"] - want["val_acc"]) > 1e-4:
        if got["val_acc"] > 1:
            return (
                f"val_acc is {got['val_acc']:.1f}, more than 1: it counts the matching images. Log their share, "
                "the mean of the matches as floats."
            )
        return (
            f"val_acc is {got['val_acc']:.4f} after a one-batch trial run where the exercise's module logs "
            f"{want['val_acc']:.4f}: the accuracy is the share of images whose arg max over the classes, "
            "argmax(dim=1), equals the label y."
        )
    return None


step2 = SCT(
    custom(probe=_build, judge=lambda got, want, ctx: None if got else "Define the class `LitConvNet`."),
    lightning_module("LitConvNet()")
    .hooks(
        "training_step",
        "validation_step",
        "configure_optimizers",
        msg="LitConvNet needs methods named exactly training_step, validation_step and configure_optimizers: "
        "the Trainer finds them by name.",
    )
    .training_step_loss(
        msg="training_step should return the loss of the batch, F.cross_entropy(self.net(x), y): one number "
        "that the Trainer calls backward on. Logits or accuracies cannot be trained on.",
    )
    .optimizers()
    .same_optimizer()
    .loss_value(
        msg="training_step returns a loss of {got} where the cross-entropy of the network's logits is {expected}: "
        "return F.cross_entropy(self.net(x), y) on the raw logits. cross_entropy applies log-softmax itself, "
        "so a softmax before it squashes the scores twice."
    ),
    custom(probe=_validation_run, judge=_validation_right),
    errors={
        r"mean\(\): could not infer output dtype.*Bool": "Comparing the predictions with the labels gives booleans, and mean() needs floats: "
        "(self.net(x).argmax(dim=1) == y).float().mean()."
    },
)

# ---------------------------------------------------------------- step 3: training


def _from_datamodule(run):
    t, dm = run.ns.get("trainer"), run.ns.get("dm")
    return {
        "datamodule": getattr(t, "datamodule", None) is dm and dm is not None,
        "trained": isinstance(run.ns.get("model"), torch.nn.Module)
        and getattr(t, "lightning_module", None) is run.ns.get("model"),
    }


def _from_datamodule_right(got, want, ctx):
    if not got["datamodule"]:
        return (
            "The Trainer did not take its data from `dm`: pass the whole data module with "
            "trainer.fit(model, datamodule=dm), so it calls setup and gets both the training and the "
            "validation loader."
        )
    if not got["trained"]:
        return "Fit the LitConvNet held in `model`, so that `model` is the one that trains."
    return None


step3 = SCT(
    avoids(
        ".backward",
        ".zero_grad",
        ".step",
        msg="No loop of your own: the Trainer calls zero_grad, backward and step. Hand it the model and the "
        "data module with trainer.fit(model, datamodule=dm).",
    ),
    trainer("trainer")
    .settings(
        max_epochs=SOLUTION,
        msg="Train for two epochs: expected {expected}, got {got}.",
    )
    .fitted()
    .logged(
        "val_acc",
        msg="val_acc was never logged, so validation did not run: give the Trainer the data module, "
        "whose val_dataloader it uses after every epoch.",
    ),
    custom(probe=_from_datamodule, judge=_from_datamodule_right),
    trainer("trainer").ran(model="model", epochs=SOLUTION, train_batches=SOLUTION, val_batches=SOLUTION),
)

steps = [step1, step2, step3]

_STEP = "return F.cross_entropy(self.net(x), y)"
_VAL = 'self.log("val_acc", (self.net(x).argmax(dim=1) == y).float().mean())'
_FIT = "trainer.fit(model, datamodule=dm)"

cases = [
    # step 1
    wrong(
        "sizes the first batch norm for the wrong convolution",
        step=1,
        replace={"nn.BatchNorm2d(8)": "nn.BatchNorm2d(16)"},
        says="takes that convolution's out_channels",
    ),
    wrong(
        "sizes the second batch norm for the image's channels",
        step=1,
        replace={"nn.BatchNorm2d(16)": "nn.BatchNorm2d(3)"},
        says="takes that convolution's out_channels",
    ),
    wrong(
        "sizes the head for unpooled maps",
        step=1,
        replace={"nn.Linear(16, 10)": "nn.Linear(16 * 8 * 8, 10)"},
        says="one number per channel",
    ),
    wrong(
        "flattens away the batch dimension",
        step=1,
        replace={".flatten(1)": ".flatten(0)"},
        says="batch dimension stays first",
    ),
    wrong(
        "pools to 2 x 2 maps",
        step=1,
        replace={"nn.AdaptiveAvgPool2d(1)": "nn.AdaptiveAvgPool2d(2)"},
        says="one number per channel",
    ),
    wrong(
        "drops the batch normalisation",
        step=1,
        replace={"nn.BatchNorm2d(8), ": "", "nn.BatchNorm2d(16), ": ""},
        says="should contain a BatchNorm2d layer",
    ),
    wrong("forgets the ReLUs", step=1, replace={"nn.ReLU(), ": ""}, says="Keep a ReLU after each batch normalisation"),
    right(
        "applies torch.relu in forward instead of nn.ReLU modules",
        step=1,
        replace={
            "nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),\n"
            "            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),": "nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8),\n"
            "            nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16),",
            "return self.head(self.pool(self.features(x)).flatten(1))": "x = F.max_pool2d(torch.relu(self.features[1](self.features[0](x))), 2)\n"
            "        x = F.max_pool2d(torch.relu(self.features[3](self.features[2](x))), 2)\n"
            "        return self.head(self.pool(x).flatten(1))",
        },
    ),
    wrong(
        "skips the pooling in forward",
        step=1,
        replace={"self.head(self.pool(self.features(x)).flatten(1))": "self.head(self.features(x).flatten(1))"},
        says="one number per channel",
    ),
    right(
        "flattens with torch.flatten",
        step=1,
        replace={"self.pool(self.features(x)).flatten(1)": "torch.flatten(self.pool(self.features(x)), 1)"},
    ),
    right(
        "reshapes the pooled maps with view",
        step=1,
        replace={"self.pool(self.features(x)).flatten(1)": "self.pool(self.features(x)).view(x.size(0), -1)"},
    ),
    # step 2
    wrong(
        "returns the logits instead of the loss",
        step=2,
        replace={_STEP: "return self.net(x)"},
        says="return the loss of the batch",
    ),
    wrong(
        "computes the accuracy but never logs it",
        step=2,
        replace={_VAL: "acc = (self.net(x).argmax(dim=1) == y).float().mean()"},
        says="never logged 'val_acc'",
    ),
    wrong("takes the arg max over the batch", step=2, replace={"argmax(dim=1)": "argmax(dim=0)"}, says="argmax(dim=1)"),
    wrong(
        "applies softmax before cross_entropy",
        step=2,
        replace={_STEP: "return F.cross_entropy(F.softmax(self.net(x), dim=1), y)"},
        says="a softmax before it",
    ),
    wrong(
        "returns the loss of the first image only",
        step=2,
        replace={_STEP: "return F.cross_entropy(self.net(x)[:1], y[:1])"},
        says="where the cross-entropy",
    ),
    wrong(
        "trains with SGD",
        step=2,
        replace={"torch.optim.Adam(": "torch.optim.SGD("},
        says="returns SGD; the exercise asks for Adam",
    ),
    wrong("averages booleans", step=2, replace={"== y).float().mean()": "== y).mean()"}, says="mean() needs floats"),
    wrong(
        "counts the matches instead of their share",
        step=2,
        replace={"== y).float().mean()": "== y).float().sum()"},
        says="it counts the matching images",
    ),
    right(
        "names the loss and optimizes the network",
        step=2,
        replace={
            _STEP: "loss = F.cross_entropy(self.net(x), y)\n        return loss",
            "self.parameters()": "self.net.parameters()",
        },
    ),
    right(
        "spells out log-softmax and computes the share by hand",
        step=2,
        replace={
            _STEP: "return F.nll_loss(F.log_softmax(self.net(x), dim=1), y)",
            _VAL: 'self.log("val_acc", (self.net(x).argmax(1) == y).sum() / len(y))',
        },
    ),
    # step 3
    wrong("trains for one epoch", step=3, replace={"max_epochs=2": "max_epochs=1"}, says="Train for two epochs"),
    wrong(
        "fits on the training loader only",
        step=3,
        replace={_FIT: "dm.setup()\ntrainer.fit(model, dm.train_dataloader())"},
        says="validation did not run",
    ),
    wrong(
        "writes its own training loop",
        step=3,
        code="dm = CIFARDataModule(batch_size=64)\ndm.setup()\nmodel = LitConvNet()\n"
        "opt = model.configure_optimizers()\nfor batch in dm.train_dataloader():\n    opt.zero_grad()\n"
        "    model.training_step(batch, 0).backward()\n    opt.step()\n",
        says="No loop of your own",
    ),
    wrong(
        "fits a new LitConvNet, not model",
        step=3,
        replace={_FIT: "trainer.fit(LitConvNet(), datamodule=dm)"},
        says="Fit the LitConvNet held in `model`",
    ),
    wrong(
        "stops after one batch with fast_dev_run",
        step=3,
        replace={"pl.Trainer(max_epochs=2, **QUIET)": "pl.Trainer(max_epochs=2, fast_dev_run=True, **QUIET)"},
        says="runs with fast_dev_run=True, a one-batch trial run",
    ),
    wrong(
        "limits each epoch to one batch",
        step=3,
        replace={"pl.Trainer(max_epochs=2, **QUIET)": "pl.Trainer(max_epochs=2, limit_train_batches=1, **QUIET)"},
        says="limit_train_batches=1",
    ),
    wrong(
        "trains in batches of 32",
        step=3,
        replace={"CIFARDataModule(batch_size=64)": "CIFARDataModule(batch_size=32)"},
        says="in batches of about 32 instead of 64",
    ),
    wrong(
        "passes the data module's loaders in the wrong order",
        step=3,
        replace={_FIT: "dm.setup()\ntrainer.fit(model, dm.val_dataloader(), dm.train_dataloader())"},
        says="did not take its data from `dm`",
    ),
    right("passes the data module by position", step=3, replace={_FIT: "trainer.fit(model, dm)"}),
    right(
        "names every argument",
        step=3,
        replace={
            _FIT: "trainer.fit(model=model, datamodule=dm)",
            "pl.Trainer(max_epochs=2, **QUIET)": "pl.Trainer(**QUIET, max_epochs=2)",
        },
    ),
]
