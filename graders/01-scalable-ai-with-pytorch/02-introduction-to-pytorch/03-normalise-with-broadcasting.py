"""SCT for 1.2.3, Normalise a batch with broadcasting."""

import torch

from course.core.data import MEAN, STD
from graders.sct import SCT, avoids, custom, right, wrong


def _x_norm(run):
    value = run.ns.get("x_norm")
    return value if isinstance(value, torch.Tensor) else None


def _judge_x_norm(got, want, ctx):
    if got is None:
        return "`x_norm` should be a tensor: the batch x normalised with (x - mean) / std."
    if tuple(got.shape) != tuple(want.shape):
        return (
            f"`x_norm` has shape {tuple(got.shape)}, but normalising keeps the batch's shape "
            f"{tuple(want.shape)}: view the statistics as (1, 3, 1, 1), so they broadcast over N, H and W."
        )
    if torch.allclose(got, want, rtol=1e-5, atol=1e-5):
        return None
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    x = want * std + mean  # the pixels in [0, 1] that the solution normalised
    if torch.allclose(got, x - mean / std, rtol=1e-5, atol=1e-5):
        return (
            "`x_norm` divides before it subtracts: without parentheses, x - mean / std computes "
            "x - (mean / std). Write (x - mean) / std."
        )
    if torch.allclose(got, (x - mean) * std, rtol=1e-5, atol=1e-5):
        return "`x_norm` multiplies by the std: normalising divides by it, (x - mean) / std."
    if torch.allclose(got, (x - std) / mean, rtol=1e-5, atol=1e-5):
        return "`x_norm` swaps the statistics: subtract the mean and divide by the std, (x - mean) / std."
    if abs(float(got.mean())) < 1e-3 and abs(float(got.std()) - 1) < 1e-2:
        return (
            "`x_norm` is standardised with this batch's own statistics. Normalise with the data set's "
            "per-channel MEAN and STD (mean and std here), the same numbers for every batch, so training and "
            "serving see the same inputs."
        )
    return "`x_norm` has the right shape but the wrong values: subtract the channel means, then divide by the stds."


def _judge_flat(got, want, ctx):
    flat = got["flat"]
    if not isinstance(flat, torch.Tensor):
        return "`flat` should be a tensor: x_norm.reshape(16, 3072)."
    if tuple(flat.shape) != (16, 3072):
        return (
            f"`flat` has shape {tuple(flat.shape)}; it should have one row of 3,072 features per image, "
            "shape (16, 3072): x_norm.reshape(16, 3072)."
        )
    if torch.allclose(flat, want["flat"], rtol=1e-5, atol=1e-5):
        return None
    if isinstance(got["x"], torch.Tensor) and torch.allclose(flat, got["x"].reshape(16, 3072)):
        return "`flat` flattens the raw batch x: flatten the normalised x_norm, so the features are normalised."
    return (
        "`flat` has the right shape but its rows are not the images of x_norm: reshape keeps each image's "
        "values together only when the batch axis stays first, x_norm.reshape(16, 3072)."
    )


sct = SCT(
    avoids(
        "for",
        "while",
        "comprehension",
        msg="No loop is needed: with the statistics viewed as (1, 3, 1, 1), broadcasting applies them to every "
        "image, row and column in one tensor operation.",
    ),
    custom(probe=_x_norm, judge=_judge_x_norm),
    custom(probe=lambda run: {"flat": run.ns.get("flat"), "x": run.ns.get("x")}, judge=_judge_flat),
    errors={
        r"must match the size of tensor b \(3\) at non-singleton dimension 3": "Broadcasting lines shapes up from the right, so a (1, 1, 1, 3) view meets the 32 image widths, not "
        "the 3 channels. View the statistics as (1, 3, 1, 1): one value per channel, size 1 elsewhere."
    },
)

_NORM = "x_norm = (x - mean) / std"

cases = [
    wrong("divides before subtracting", replace={_NORM: "x_norm = x - mean / std"}, says="divides before it subtracts"),
    wrong("multiplies by the std", replace={_NORM: "x_norm = (x - mean) * std"}, says="multiplies by the std"),
    wrong("swaps the mean and the std", replace={_NORM: "x_norm = (x - std) / mean"}, says="swaps the statistics"),
    wrong(
        "standardises with the batch's own statistics",
        replace={_NORM: "x_norm = (x - x.mean()) / x.std()"},
        says="this batch's own statistics",
    ),
    wrong(
        "normalises channel by channel in a loop",
        replace={_NORM: "x_norm = torch.stack([(x[:, c] - MEAN[c]) / STD[c] for c in range(3)], dim=1)"},
        says="No loop is needed",
    ),
    wrong(
        "flattens the whole batch into one row",
        replace={"reshape(16, 3072)": "reshape(1, -1)"},
        says="one row of 3,072 features per image",
    ),
    wrong(
        "puts the features first",
        replace={"reshape(16, 3072)": "reshape(3072, 16)"},
        says="one row of 3,072 features per image",
    ),
    wrong(
        "regroups the batch with the features first",
        replace={"x_norm.reshape(16, 3072)": "x_norm.reshape(3072, 16).T"},
        says="rows are not the images",
    ),
    wrong(
        "flattens the raw batch",
        replace={"flat = x_norm.reshape": "flat = x.reshape"},
        says="flatten the normalised x_norm",
    ),
    wrong(
        "puts the statistics on the last axis, where the widths are",
        replace={"view(1, 3, 1, 1)": "view(1, 1, 1, 3)"},
        says="Broadcasting lines shapes up from the right",
    ),
    wrong(
        "does not view the statistics at all",
        replace={"mean = mean.view(1, 3, 1, 1)\nstd = std.view(1, 3, 1, 1)\n": ""},
        says="Broadcasting lines shapes up from the right",
    ),
    right(
        "indexes in new axes and lets reshape infer the size",
        replace={
            "mean.view(1, 3, 1, 1)": "mean[:, None, None]",
            "std.view(1, 3, 1, 1)": "std[:, None, None]",
            "reshape(16, 3072)": "reshape(16, -1)",
        },
    ),
    right(
        "reshapes the statistics and flattens from axis 1",
        replace={
            "mean.view(1, 3, 1, 1)": "mean.reshape(1, 3, 1, 1)",
            "std.view(1, 3, 1, 1)": "std.reshape(1, 3, 1, 1)",
            "x_norm.reshape(16, 3072)": "x_norm.flatten(1)",
        },
    ),
    right(
        "divides with torch functions",
        replace={
            _NORM: "x_norm = torch.div(torch.sub(x, mean), std)",
            "x_norm.reshape(16, 3072)": "x_norm.view(16, -1)",
        },
    ),
]
