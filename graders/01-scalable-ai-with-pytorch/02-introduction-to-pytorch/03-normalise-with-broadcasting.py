"""SCT for 1.2.3, Normalise a batch with broadcasting."""
import torch

from course.data import MEAN, STD
from graders.sct import SCT, avoids, custom, right, variable, wrong


def _x_norm(run):
    value = run.ns.get("x_norm")
    return value if isinstance(value, torch.Tensor) else None


def _judge_x_norm(got, want, ctx):
    if got is None:
        return "`x_norm` should be a tensor: the batch x normalised with (x - mean) / std."
    if tuple(got.shape) != tuple(want.shape):
        return (f"`x_norm` has shape {tuple(got.shape)}, but normalising keeps the batch's shape "
                f"{tuple(want.shape)}: view the statistics as (1, 3, 1, 1), so they broadcast over N, H and W.")
    if torch.allclose(got, want, rtol=1e-5, atol=1e-5):
        return None
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1), torch.tensor(STD).view(1, 3, 1, 1)
    x = want * std + mean  # the pixels in [0, 1] that the solution normalised
    if torch.allclose(got, x - mean / std, rtol=1e-5, atol=1e-5):
        return ("`x_norm` divides before it subtracts: without parentheses, x - mean / std computes "
                "x - (mean / std). Write (x - mean) / std.")
    return "`x_norm` has the right shape but the wrong values: subtract the channel means, then divide by the stds."


sct = SCT(
    avoids("for", "while", "comprehension",
           msg="No loop is needed: with the statistics viewed as (1, 3, 1, 1), broadcasting applies them to every "
               "image, row and column in one tensor operation."),
    custom(probe=_x_norm, judge=_judge_x_norm),
    variable("flat").equals(rtol=1e-5, atol=1e-5,
                            msg="`flat` should have one row of 3,072 features per image, shape (16, 3072): "
                                "x_norm.reshape(16, 3072)."),
    errors={r"must match the size of tensor b \(3\) at non-singleton dimension 3":
            "Broadcasting lines shapes up from the right, so a (1, 1, 1, 3) view meets the 32 image widths, not "
            "the 3 channels. View the statistics as (1, 3, 1, 1): one value per channel, size 1 elsewhere."},
)

cases = [
    wrong("divides before subtracting", replace={"x_norm = (x - mean) / std": "x_norm = x - mean / std"},
          says="divides before it subtracts"),
    wrong("normalises channel by channel in a loop",
          replace={"x_norm = (x - mean) / std":
                   "x_norm = torch.stack([(x[:, c] - MEAN[c]) / STD[c] for c in range(3)], dim=1)"},
          says="No loop is needed"),
    wrong("flattens the whole batch into one row", replace={"reshape(16, 3072)": "reshape(1, -1)"},
          says="one row of 3,072 features per image"),
    wrong("puts the statistics on the last axis, where the widths are",
          replace={"view(1, 3, 1, 1)": "view(1, 1, 1, 3)"},
          says="Broadcasting lines shapes up from the right"),
    right("indexes in new axes and lets reshape infer the size",
          replace={"mean.view(1, 3, 1, 1)": "mean[:, None, None]", "std.view(1, 3, 1, 1)": "std[:, None, None]",
                   "reshape(16, 3072)": "reshape(16, -1)"}),
]
