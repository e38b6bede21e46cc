"""SCT for 1.2.1, From pixels to a tensor."""

import torch

from graders.sct import SCT, custom, right, variable, wrong


def _x(run):
    x = run.ns.get("x")
    return x if isinstance(x, torch.Tensor) else None


def _judge_x(got, want, ctx):
    if got is None:
        return "`x` should be a tensor: convert `raw` with raw.to(torch.float32) / 255."
    if got.dtype == torch.float64:
        return (
            "`x` is float64. Deep learning computes in float32: it is accurate enough, takes half the memory "
            "and runs much faster on GPUs. Convert with raw.to(torch.float32)."
        )
    if got.dtype != torch.float32:
        return f"`x` should hold 32-bit floats (torch.float32), but its dtype is {got.dtype}."
    if got.numel() == want.numel() and got.max() > 1.5:
        return "The pixels of `x` go up to 255: divide by 255, so that every value lies in [0, 1]."
    if got.numel() == want.numel() and not torch.allclose(got.flatten().sort().values, want.flatten().sort().values):
        if torch.allclose(got.flatten().sort().values * 256 / 255, want.flatten().sort().values):
            return "`x` is divided by 256: the largest pixel value is 255, so divide by 255 to map it to 1.0."
        return (
            "`x` does not hold the pixels of raw divided by 255: convert with raw.to(torch.float32) / 255, a "
            "true division that keeps the fractions (// rounds them down to 0)."
        )
    if tuple(got.shape) != tuple(want.shape):
        return (
            f"`x` has shape {tuple(got.shape)}, but PyTorch layers expect channels first: "
            f"{tuple(want.shape)}. Move axis 3, the channels, to position 1 with permute(0, 3, 1, 2)."
        )
    if not torch.allclose(got, want):
        if torch.allclose(got, want.transpose(2, 3)):
            return (
                "`x` has the right shape, but height and width are swapped, so every image is transposed. "
                "permute lists the old axes in their new order: (0, 3, 1, 2)."
            )
        return (
            "`x` has the right shape, but its pixels are scrambled. view and reshape keep the values in "
            "memory order and only regroup them; to move the channel axis, use permute(0, 3, 1, 2)."
        )
    return None


sct = SCT(
    variable("raw")
    .instance_of(
        "torch.Tensor",
        msg="`raw` should be a PyTorch tensor: torch.tensor(images[:8]) copies the NumPy array into one.",
    )
    .equals(
        msg="`raw` should hold the first 8 images as they are, uint8 of shape (8, 32, 32, 3): "
        "torch.tensor(images[:8]). Convert and reorder `x`, not `raw`."
    ),
    custom(probe=_x, judge=_judge_x),
)

_PERMUTE = "x = x.permute(0, 3, 1, 2)"

cases = [
    wrong(
        "regroups the axes with view instead of permute",
        replace={_PERMUTE: "x = x.view(8, 3, 32, 32)"},
        says="pixels are scrambled",
    ),
    wrong(
        "regroups the axes with reshape", replace={_PERMUTE: "x = x.reshape(8, 3, 32, 32)"}, says="pixels are scrambled"
    ),
    wrong("converts to float64", replace={"torch.float32": "torch.float64"}, says="half the memory"),
    wrong(
        "forgets to scale the pixels",
        replace={"raw.to(torch.float32) / 255": "raw.to(torch.float32)"},
        says="divide by 255",
    ),
    wrong("divides by 256", replace={"/ 255": "/ 256"}, says="divide by 255 to map it to 1.0"),
    wrong(
        "floor-divides, which rounds the pixels down to 0", replace={"/ 255": "// 255"}, says="// rounds them down to 0"
    ),
    wrong(
        "swaps height and width",
        replace={"permute(0, 3, 1, 2)": "permute(0, 3, 2, 1)"},
        says="height and width are swapped",
    ),
    wrong(
        "swaps the channel and width axes with transpose",
        replace={_PERMUTE: "x = x.transpose(1, 3)"},
        says="height and width are swapped",
    ),
    wrong("permutes without keeping the result", replace={_PERMUTE: "x.permute(0, 3, 1, 2)"}, says="channels first"),
    wrong("takes the wrong 8 images", replace={"images[:8]": "images[8:16]"}, says="the first 8 images"),
    wrong(
        "converts raw itself instead of x",
        replace={"torch.tensor(images[:8])": "torch.tensor(images[:8]).float()"},
        says="Convert and reorder `x`, not `raw`",
    ),
    wrong(
        "keeps integers with a rounding division",
        replace={"raw.to(torch.float32) / 255": 'raw.div(255, rounding_mode="floor")'},
        says="32-bit floats",
    ),
    right(
        "converts with float() and from_numpy",
        replace={
            "torch.tensor(images[:8])": "torch.from_numpy(images[:8].copy())",
            "raw.to(torch.float32) / 255": "raw.float() / 255",
        },
    ),
    right("lets true division make the floats", replace={"raw.to(torch.float32) / 255": "raw / 255"}),
    right(
        "converts and reorders in one chain",
        replace={
            "x = raw.to(torch.float32) / 255": "x = raw.permute(0, 3, 1, 2).to(dtype=torch.float32).div(255)",
            _PERMUTE: "x = x.contiguous()",
        },
    ),
]
