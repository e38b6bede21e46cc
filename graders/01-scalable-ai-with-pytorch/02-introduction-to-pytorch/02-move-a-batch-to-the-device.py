"""SCT for 1.2.2, Move a batch to the device."""

import ast

import torch

from graders.sct import SCT, Fail, custom, right, variable, wrong

_DEVICE_NAMES = ("cpu", "cuda", "mps")


def _hard_coded_device(got, want, ctx):
    """No device named in the code: `.to("cuda")`, `.cuda()`, `torch.device("cpu")`."""
    for node in ast.walk(ctx.tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        name = node.func.attr if node.func.attr in ("cuda", "cpu") else None
        if node.func.attr in ("to", "device"):
            for arg in list(node.args) + [k.value for k in node.keywords]:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and arg.value.split(":")[0] in _DEVICE_NAMES
                ):
                    name = arg.value
        if name:
            return Fail(
                f"Your code names the device '{name}', which ties it to one kind of machine. Use the "
                "`device` that get_device() detected, so the same code runs on a CPU or a GPU.",
                line=node.lineno,
            )
    return None


def _to_result_kept(got, want, ctx):
    """`x.to(device)` on its own line throws the moved tensor away."""
    for node in ast.walk(ctx.tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and node.value.func.attr == "to"
        ):
            return Fail(
                "This line moves a copy to the device and throws it away: for a tensor, to() returns a "
                "new tensor and leaves the original where it was (only modules move in place). Assign it: "
                "x = x.to(device).",
                line=node.lineno,
            )
    return None


def _devices(run):
    ns = run.ns
    return {
        name: str(getattr(ns.get(name), "device", None)) if name != "device" else str(ns.get("device"))
        for name in ("device", "x", "y")
    }


def _on_device(got, want, ctx):
    for name in ("x", "y"):
        if got[name] == "None":
            return f"`{name}` should be a tensor of the batch, moved to the device: {name} = {name}.to(device)."
        if torch.device(got[name]).type != torch.device(got["device"]).type:
            return (
                f"`{name}` is on {got[name]}, not on the detected device {got['device']}: {name} = {name}.to(device)."
            )
    return None


def _channel_mean_shape(run):
    value = run.ns.get("channel_mean")
    return list(value.shape) if isinstance(value, torch.Tensor) else None


def _judge_channel_mean(got, want, ctx):
    if got is None:
        return "`channel_mean` should be a tensor: x.mean(dim=(0, 2, 3))."
    if got == []:
        return (
            "`channel_mean` is a single number: the mean over the channels too. Leave axis 1, the channels, "
            "out of dim, so that each channel keeps its own mean."
        )
    if got != [3]:
        return (
            f"`channel_mean` has shape {tuple(got)}, but there should be one mean per channel, shape (3,): "
            "average over the images (axis 0), rows (axis 2) and columns (axis 3)."
        )
    return None


sct = SCT(
    custom(judge=_hard_coded_device),
    custom(judge=_to_result_kept),
    custom(probe=_devices, judge=_on_device),
    variable("x")
    .equals(msg="`x` should be the first batch of train_loader, moved to the device.")
    .computed_with(
        "to",
        msg="`x` never went through .to(device): on this machine it happens to be on the right device "
        "already, but on a GPU machine it would stay behind. Move it: x = x.to(device).",
    ),
    variable("y")
    .equals(msg="`y` should be the labels of the first batch of train_loader, moved to the device.")
    .computed_with(
        "to",
        msg="`y` never went through .to(device): the labels must be on the same device as the images and "
        "the model, or the loss fails on a GPU. Move it: y = y.to(device).",
    ),
    custom(probe=_channel_mean_shape, judge=_judge_channel_mean),
    variable("channel_mean").equals(
        rtol=1e-5, atol=1e-5, msg="`channel_mean` should be the mean of each channel over axes 0, 2 and 3."
    ),
)

cases = [
    wrong("moves a copy and drops it", replace={"x = x.to(device)": "x.to(device)"}, says="throws it away"),
    wrong("hard-codes the CPU", replace={"x = x.to(device)": 'x = x.to("cpu")'}, says="names the device 'cpu'"),
    wrong("hard-codes CUDA with .cuda()", replace={"x = x.to(device)": "x = x.cuda()"}, says="names the device 'cuda'"),
    wrong(
        "builds its own CPU device",
        replace={"device = get_device()": 'device = torch.device("cpu")'},
        says="names the device 'cpu'",
    ),
    wrong("moves the images but not the labels", replace={"y = y.to(device)\n": ""}, says="`y` never went through"),
    wrong("moves neither tensor", replace={"x = x.to(device)\ny = y.to(device)\n": ""}, says="`x` never went through"),
    wrong(
        "takes the first batch of the validation loader",
        replace={"iter(train_loader)": "iter(val_loader)"},
        says="first batch of train_loader",
    ),
    wrong(
        "averages over the channels too",
        replace={"x.mean(dim=(0, 2, 3))": "x.mean()"},
        says="Leave axis 1, the channels",
    ),
    wrong(
        "averages over the wrong axes",
        replace={"x.mean(dim=(0, 2, 3))": "x.mean(dim=(0, 1, 3))"},
        says="one mean per channel",
    ),
    wrong(
        "averages each image separately",
        replace={"x.mean(dim=(0, 2, 3))": "x.mean(dim=(2, 3))"},
        says="one mean per channel",
    ),
    wrong(
        "sums instead of averaging",
        replace={"x.mean(dim=(0, 2, 3))": "x.sum(dim=(0, 2, 3))"},
        says="the mean of each channel",
    ),
    right(
        "moves both in one line and names the dims by list",
        replace={
            "x = x.to(device)\ny = y.to(device)": "x, y = x.to(device), y.to(device)",
            "dim=(0, 2, 3)": "dim=[0, 2, 3]",
        },
    ),
    right(
        "moves the batch in a comprehension and calls torch.mean",
        replace={
            "x, y = next(iter(train_loader))": "batch = next(iter(train_loader))",
            "x = x.to(device)\ny = y.to(device)": "x, y = [t.to(device) for t in batch]",
            "x.mean(dim=(0, 2, 3))": "torch.mean(x, dim=(0, 2, 3))",
        },
    ),
    right(
        "names the device keyword",
        replace={"x = x.to(device)": "x = x.to(device=device)", "x.mean(dim=(0, 2, 3))": "x.mean((0, 2, 3))"},
    ),
]
