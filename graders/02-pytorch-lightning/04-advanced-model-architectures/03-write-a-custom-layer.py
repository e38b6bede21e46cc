"""SCT for 2.4.3, Write a custom layer that trains."""
from torch import nn

from graders.sct import SCT, custom, module, right, wrong


def _scale_parameters(run):
    cls = run.ns.get("Scale")
    if not isinstance(cls, type) or not issubclass(cls, nn.Module):
        return None
    layer = cls(4)
    return {"names": [n for n, _ in layer.named_parameters()],
            "shapes": [tuple(p.shape) for p in layer.parameters()]}


def _registered(got, want, ctx):
    if got is None:
        return "Define `Scale` as a subclass of nn.Module, as the scaffold does."
    if not got["names"]:
        return ("Scale(4) has no parameters: its weight is a plain tensor, so PyTorch does not know it is "
                "learnable. It is missing from parameters() and the state_dict, and the optimizer never "
                "updates it. Wrap it in nn.Parameter(...).")
    if got["shapes"] != want["shapes"]:
        return (f"Scale(4)'s weight has the shape {got['shapes'][0]}; it should be (1, 4, 1, 1): one factor per "
                "channel, shaped to broadcast over the batch, the height and the width.")
    return None


sct = SCT(
    custom(probe=_scale_parameters, judge=_registered),
    module("model").output_shape((8, 10)).param_count().gradients_flow(
        msg="After a backward pass, {got} has no gradient: forward does not use the weight, so it can never "
            "train. Multiply the input by self.weight.",
    ).trains(),
)

cases = [
    wrong("stores a plain tensor", replace={"self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))":
                                            "self.weight = torch.ones(1, channels, 1, 1)"},
          says="Wrap it in nn.Parameter"),
    wrong("asks a plain tensor for gradients", replace={"self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))":
                                                        "self.weight = torch.ones(1, channels, 1, 1, requires_grad=True)"},
          says="the optimizer never updates it"),
    wrong("registers the weight but never uses it", replace={"return x * self.weight": "return x"},
          says="forward does not use the weight"),
    right("multiplies in the other order", replace={"return x * self.weight": "return self.weight * x"}),
]
