"""SCT for 2.4.3, Write a custom layer that trains."""

from torch import nn

from graders.sct import SCT, custom, module, right, wrong


def _scale_parameters(run):
    cls = run.ns.get("Scale")
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        return None
    layer = cls(4)
    return {"names": [n for n, _ in layer.named_parameters()], "shapes": [tuple(p.shape) for p in layer.parameters()]}


def _registered(got, want, ctx):
    if got is None:
        return "Define `Scale` as a subclass of nn.Module, as the scaffold does."
    if not got["names"]:
        return (
            "Scale(4) has no parameters: its weight is a plain tensor, so PyTorch does not know it is "
            "learnable. It is missing from parameters() and the state_dict, and the optimizer never "
            "updates it. Wrap it in nn.Parameter(...)."
        )
    if got["shapes"] != want["shapes"]:
        return (
            f"Scale(4)'s weight has the shape {got['shapes'][0]}; it should be (1, 4, 1, 1): one factor per "
            "channel, shaped to broadcast over the batch, the height and the width."
        )
    return None


def _scale_behaviour(run):
    """Scale(4) with factors 1, 2, 3, 4 on a known input: each channel times its own factor?"""
    import torch

    cls = run.ns.get("Scale")
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        return None
    layer = cls(4)
    params = list(layer.parameters())
    if len(params) != 1 or params[0].numel() != 4:
        return None
    x = torch.rand(2, 4, 3, 3) + 0.5
    factors = torch.arange(1.0, 5.0)
    with torch.no_grad():
        params[0].copy_(factors.view(params[0].shape))
        try:
            out = layer(x)
        except Exception as err:
            return {"error": f"{type(err).__name__}: {err}"}
    expected = x * factors.view(1, 4, 1, 1)
    return {
        "error": None,
        "scales": isinstance(out, torch.Tensor) and out.shape == x.shape and bool(torch.allclose(out, expected)),
        "adds": isinstance(out, torch.Tensor)
        and out.shape == x.shape
        and bool(torch.allclose(out, x + factors.view(1, 4, 1, 1))),
    }


def _scales_each_channel(got, want, ctx):
    if got is None:
        return None
    if got["error"]:
        return "Calling Scale(4) on a batch raised " + got["error"]
    if got["adds"]:
        return (
            "Scale adds its weight to the input: multiply instead, x * self.weight, so each factor scales its channel."
        )
    if not got["scales"]:
        return (
            "Scale(4) does not multiply each channel by its own factor: forward should return x * self.weight, "
            "with the weight shaped (1, C, 1, 1) so it broadcasts over the batch, the rows and the columns."
        )
    return None


sct = SCT(
    custom(probe=_scale_parameters, judge=_registered),
    module("Scale(4)").initial_parameters(
        msg="The factors of a new Scale layer should start at 1, torch.ones(1, channels, 1, 1): the layer then "
        "starts by passing its input through unchanged, and training moves each factor from there. Factors "
        "that start at 0 wipe out the signal and every gradient before them; random ones distort it."
    ),
    custom(probe=_scale_behaviour, judge=_scales_each_channel),
    module("model")
    .output_shape((8, 10))
    .param_count()
    .gradients_flow(
        msg="After a backward pass, {got} has no gradient: forward does not use the weight, so it can never "
        "train. Multiply the input by self.weight.",
    )
    .trains(),
)

_WEIGHT = "self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))"

cases = [
    wrong(
        "stores a plain tensor",
        replace={_WEIGHT: "self.weight = torch.ones(1, channels, 1, 1)"},
        says="Wrap it in nn.Parameter",
    ),
    wrong(
        "asks a plain tensor for gradients",
        replace={_WEIGHT: "self.weight = torch.ones(1, channels, 1, 1, requires_grad=True)"},
        says="the optimizer never updates it",
    ),
    wrong(
        "registers the weight but never uses it",
        replace={"return x * self.weight": "return x"},
        says="Scale(4) does not multiply each channel",
    ),
    wrong(
        "starts the factors at zero",
        replace={"torch.ones(1, channels, 1, 1)": "torch.zeros(1, channels, 1, 1)"},
        says="should start at 1",
    ),
    wrong(
        "starts the factors at random",
        replace={"torch.ones(1, channels, 1, 1)": "torch.randn(1, channels, 1, 1)"},
        says="should start at 1",
    ),
    wrong(
        "shapes the weight as a flat vector",
        replace={"torch.ones(1, channels, 1, 1)": "torch.ones(channels)"},
        says="it should be (1, 4, 1, 1)",
    ),
    wrong(
        "adds the weight instead of multiplying",
        replace={"return x * self.weight": "return x + self.weight"},
        says="Scale adds its weight to the input",
    ),
    wrong(
        "scales every channel by one shared factor",
        replace={"return x * self.weight": "return x * self.weight.mean()"},
        says="Scale(4) does not multiply each channel",
    ),
    wrong(
        "forgets to call super().__init__()",
        replace={"        super().__init__()\n": ""},
        says="Call super().__init__() first",
    ),
    right("multiplies in the other order", replace={"return x * self.weight": "return self.weight * x"}),
    right(
        "views a vector of ones and multiplies with torch.mul",
        replace={
            "torch.ones(1, channels, 1, 1)": "torch.ones(channels).view(1, -1, 1, 1)",
            "return x * self.weight": "return torch.mul(x, self.weight)",
        },
    ),
    right(
        "registers the parameter by name",
        replace={_WEIGHT: 'self.register_parameter("weight", nn.Parameter(torch.ones(1, channels, 1, 1)))'},
    ),
]
