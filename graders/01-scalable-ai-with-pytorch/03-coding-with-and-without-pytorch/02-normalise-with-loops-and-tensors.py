"""SCT for 1.3.2, Normalise with loops and with tensors."""

import ast
import math

import torch

from graders.sct import SCT, Fail, custom, right, variable, wrong

_TOL = {"rtol": 1e-4, "atol": 1e-4}


def _tensor_lines_have_no_loops(got, want, ctx):
    """The loops belong to the plain-Python version only: `z` and `z_batch` are tensor code."""
    for node in ast.walk(ctx.tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in ("z", "z_batch") for t in node.targets
        ):
            for inner in ast.walk(node.value):
                if isinstance(inner, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
                    return Fail(
                        "This line computes the tensor version with a loop again. Tensor code works on "
                        "all values at once: (values - values.mean()) / values.std(correction=0).",
                        line=node.lineno,
                    )
    return None


def _tensor(name):
    def probe(run):
        value = run.ns.get(name)
        return value if isinstance(value, torch.Tensor) else None

    return probe


def _judge_z(got, want, ctx):
    if got is None:
        return "`z` should be a tensor: (values - values.mean()) / values.std(correction=0)."
    if tuple(got.shape) == tuple(want.shape) and torch.allclose(got, want, **_TOL):
        return None
    n = want.numel()
    if tuple(got.shape) == tuple(want.shape) and torch.allclose(got, want * math.sqrt((n - 1) / n), **_TOL):
        return (
            "`z` does not match the loop version: torch.std divides by N - 1 unless you pass correction=0, "
            "while the loop divides by N. Translated code must compute the same thing."
        )
    return "`z` should standardise `values` like the loop does: (values - values.mean()) / values.std(correction=0)."


def _judge_batch(got, want, ctx):
    if got is None:
        return "`z_batch` should be a tensor: the batch standardised with (x - mean_c) / std_c."
    if tuple(got.shape) != tuple(want.shape):
        return f"`z_batch` should keep the batch's shape {tuple(want.shape)}, but it has shape {tuple(got.shape)}."
    if torch.allclose(got, want, **_TOL):
        return None
    channel_means = got.mean(dim=(0, 2, 3))
    if not torch.allclose(channel_means, torch.zeros(3), atol=1e-3):
        return (
            "Each channel of `z_batch` should have mean 0: standardise per channel, with statistics over "
            "axes 0, 2 and 3, (x - mean_c) / std_c, not with one mean and std for the whole batch."
        )
    return "`z_batch` should be (x - mean_c) / std_c: each channel standardised with its own mean and std."


sct = SCT(
    custom(judge=_tensor_lines_have_no_loops),
    custom(probe=_tensor("z"), judge=_judge_z),
    variable("z").computed_with(
        "sub",
        "mean",
        "std",
        "var",
        msg="`z` has the loop's values, but your code did not compute it with tensor operations: it is a copy of "
        "z_loops. Compute it from `values`: (values - values.mean()) / values.std(correction=0).",
    ),
    variable("mean_c").equals(
        **_TOL,
        msg="`mean_c` should hold each channel's mean with the averaged axes kept: "
        "x.mean(dim=(0, 2, 3), keepdim=True), shape (1, 3, 1, 1).",
    ),
    custom(probe=_tensor("z_batch"), judge=_judge_batch),
    variable("z_batch").computed_with(
        "sub", "div", msg="`z_batch` should be computed from x with mean_c and std_c: (x - mean_c) / std_c."
    ),
    errors={
        r"must match the size of tensor b \(3\)": "Without keepdim=True the channel means have shape (3,), and broadcasting lines them up with the "
        "image widths, the last axis. Keep the averaged axes: x.mean(dim=(0, 2, 3), keepdim=True)."
    },
)

_Z = "z = (values - values.mean()) / values.std(correction=0)"

cases = [
    wrong(
        "uses the default, unbiased std", replace={"values.std(correction=0)": "values.std()"}, says="divides by N - 1"
    ),
    wrong(
        "computes the tensor version with a comprehension",
        replace={_Z: "z = torch.tensor([(v - mean) / std for v in vals])"},
        says="with a loop again",
    ),
    wrong(
        "copies the loop result into a tensor",
        replace={_Z: "z = torch.tensor(z_loops)"},
        says="it is a copy of z_loops",
    ),
    wrong(
        "divides by the variance",
        replace={_Z: "z = (values - values.mean()) / values.var(correction=0)"},
        says="`z` should standardise `values` like the loop does",
    ),
    wrong(
        "forgets to subtract the mean",
        replace={_Z: "z = values / values.std(correction=0)"},
        says="`z` should standardise `values` like the loop does",
    ),
    wrong(
        "standardises the whole batch with one mean and std",
        replace={"z_batch = (x - mean_c) / std_c": "z_batch = (x - x.mean()) / x.std(correction=0)"},
        says="Each channel of `z_batch` should have mean 0",
    ),
    wrong(
        "drops the averaged axes",
        replace={"dim=(0, 2, 3), keepdim=True)\nstd_c": "dim=(0, 2, 3))\nstd_c"},
        says="Keep the averaged axes",
    ),
    wrong(
        "averages over the channels instead",
        replace={"mean_c = x.mean(dim=(0, 2, 3), keepdim=True)": "mean_c = x.mean(dim=1, keepdim=True)"},
        says="`mean_c` should hold each channel's mean",
    ),
    right(
        "calls the torch functions",
        replace={
            "(values - values.mean()) / values.std(correction=0)": "(values - torch.mean(values)) / torch.std(values, correction=0)"
        },
    ),
    right(
        "takes the std as the square root of the variance",
        replace={
            "values.std(correction=0)": "values.var(correction=0).sqrt()",
            "std_c = x.std(dim=(0, 2, 3), keepdim=True, correction=0)": "std_c = x.var(dim=(0, 2, 3), keepdim=True, correction=0).sqrt()",
        },
    ),
    right(
        "uses torch.std_mean",
        replace={_Z: "std_v, mean_v = torch.std_mean(values, correction=0)\nz = (values - mean_v) / std_v"},
    ),
]
