"""SCT for 2.3.1, Fit a model with a Trainer."""

import ast

from graders.sct import SCT, SOLUTION, Check, Fail, avoids, right, trainer, uses, variable, wrong

_ACCELERATOR_NAMES = ("cpu", "cuda", "gpu", "mps", "tpu")


class _HardwareFromDevice(Check):
    """The accelerator comes from the detected ``device``, not from a name typed into the code.
    Static: on a machine without that hardware the Trainer raises, and this is the reason."""

    static = True

    def judge(self, got, want, ctx):
        for node in ast.walk(ctx.tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                value = keyword.value
                if (
                    keyword.arg == "accelerator"
                    and isinstance(value, ast.Constant)
                    and isinstance(value.value, str)
                    and value.value.split(":")[0] in _ACCELERATOR_NAMES
                ):
                    return Fail(
                        f"Your code names the hardware, accelerator={value.value!r}, so it only runs "
                        "where that hardware is. Take the kind of device from the detected device: "
                        "accelerator=device.type is 'cpu' here and 'cuda' on an NVIDIA GPU machine.",
                        line=value.lineno,
                    )
        return None


sct = SCT(
    avoids(
        ".backward",
        ".zero_grad",
        ".step",
        msg="No training loop of your own is needed here: the Trainer calls backward, step and "
        "zero_grad for you. Hand the model and the loaders to trainer.fit instead.",
    ),
    _HardwareFromDevice(),
    variable("trainer").instance_of("pytorch_lightning.Trainer"),
    trainer("trainer")
    .settings(max_epochs=SOLUTION)
    .settings(
        accelerator=SOLUTION,
        msg="The Trainer runs on the wrong kind of hardware: expected {expected}, got "
        "{got}. Take the kind from the detected device, accelerator=device.type.",
    )
    .settings(
        num_devices=SOLUTION,
        msg="The Trainer should use one device: expected {expected}, got {got}. "
        "`devices` counts how many devices of that kind the run uses.",
    ),
    uses(".fit", msg="Call trainer.fit(model, train_loader, val_loader): creating a Trainer does not train."),
    trainer("trainer")
    .fitted()
    .logged(
        "val_acc", msg="Validation never ran: pass val_loader to fit as well, so the Trainer validates each epoch."
    ),
    # What ran, not what was set: a debugging flag or swapped loaders can keep max_epochs=1.
    trainer("trainer").ran(
        model="model",
        train_loader="train_loader",
        val_loader="val_loader",
        train_batches=SOLUTION,
        optimizer_steps=SOLUTION,
        val_batches=SOLUTION,
    ),
    errors={
        r"invalid accelerator name: `accelerator=device\(": "The accelerator is a name such as 'cpu' or 'cuda', not a torch.device. A device has a kind and an "
        "index: its type attribute holds the kind alone, so use accelerator=device.type.",
        r"invalid accelerator name: `accelerator='\w+:\d+'": "The accelerator is the kind of device without its index, such as 'cuda', not 'cuda:0': "
        "str(device) can include the index, device.type never does. Use accelerator=device.type.",
        r"`devices` selected with `\w+` should be an int > 0|Trainer\(devices=0\)` value is not a valid input": "`devices` is how many devices of that kind to use, a count from 1 up, not the index of a device "
        "such as 0 in cuda:0 (a list such as [0] names GPUs, and a CPU has none). This run needs one "
        "device: devices=1.",
    },
)

cases = [
    wrong("trains for two epochs", replace={"max_epochs=1": "max_epochs=2"}, says="wrong `max_epochs` setting"),
    wrong(
        "names the CPU instead of the detected device",
        replace={"accelerator=device.type": 'accelerator="cpu"'},
        says="Your code names the hardware",
    ),
    wrong(
        "names a GPU on a machine without one",
        replace={"accelerator=device.type": 'accelerator="cuda"'},
        says="Your code names the hardware",
    ),
    wrong(
        "passes the torch.device itself",
        replace={"accelerator=device.type": "accelerator=device"},
        says="not a torch.device",
    ),
    wrong(
        "passes the device with its index",
        replace={"accelerator=device.type": 'accelerator=f"{device.type}:0"'},
        says="without its index",
    ),
    wrong(
        "gives the index of the device, 0, as devices",
        replace={"devices=1": "devices=0"},
        says="not the index of a device",
    ),
    wrong("lists device 0 as on a GPU", replace={"devices=1": "devices=[0]"}, says="not the index of a device"),
    wrong(
        "creates the Trainer but never fits",
        replace={"trainer.fit(model, train_loader, val_loader)": "model"},
        says="creating a Trainer does not train",
    ),
    wrong(
        "skips validation",
        replace={"trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, train_loader)"},
        says="pass val_loader to fit",
    ),
    wrong(
        "writes a manual loop instead of using Lightning",
        code="opt = model.configure_optimizers()\nfor x, y in train_loader:\n    opt.zero_grad()\n"
        "    model.training_step((x, y), 0).backward()\n    opt.step()\n",
        says="No training loop of your own is needed",
    ),
    wrong(
        "stops after one batch with fast_dev_run",
        replace={"max_epochs=1,": "max_epochs=1, fast_dev_run=True,"},
        says="runs with fast_dev_run=True",
    ),
    wrong(
        "trains on half of each epoch",
        replace={"max_epochs=1,": "max_epochs=1, limit_train_batches=0.5,"},
        says="limit_train_batches=0.5",
    ),
    wrong(
        "swaps the loaders",
        replace={"trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, val_loader, train_loader)"},
        says="the loaders are swapped",
    ),
    wrong(
        "passes the validation loader as the training one",
        replace={
            "trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, train_dataloaders=val_loader, val_dataloaders=val_loader)"
        },
        says="trained on `val_loader`, the validation loader, not on `train_loader`",
    ),
    right(
        "passes the loaders by keyword",
        replace={
            "trainer.fit(model, train_loader, val_loader)": "trainer.fit(model, train_dataloaders=train_loader, val_dataloaders=val_loader)"
        },
    ),
    right("lets Lightning detect the accelerator", replace={"accelerator=device.type": 'accelerator="auto"'}),
    right(
        "reads the kind from str(device) split at the index",
        replace={"accelerator=device.type": 'accelerator=str(device).split(":")[0]'},
    ),
]
