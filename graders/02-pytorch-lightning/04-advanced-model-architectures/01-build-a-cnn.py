"""SCT for 2.4.1, Build a CNN for CIFAR-10."""
from torch import nn

from graders.sct import SCT, custom, module, right, wrong


def _layout(run):
    cnn = run.ns.get("cnn")
    if not isinstance(cnn, nn.Module):
        return None
    return {"convs": [(m.in_channels, m.out_channels) for m in cnn.modules() if isinstance(m, nn.Conv2d)],
            "flatten_start": [m.start_dim for m in cnn.modules() if isinstance(m, nn.Flatten)],
            "linear_in": [m.in_features for m in cnn.modules() if isinstance(m, nn.Linear)]}


def _layout_right(got, want, ctx):
    if got is None or not got["convs"]:
        return None  # the module checks below say what is missing
    if got["convs"][0][0] != 3:
        return (f"The first Conv2d takes {got['convs'][0][0]} input channels, but a CIFAR-10 batch has the shape "
                "(batch, 3, 32, 32): three colour channels, so in_channels=3.")
    for (_, out), (nxt, _) in zip(got["convs"], got["convs"][1:]):
        if nxt != out:
            return (f"A Conv2d takes {nxt} input channels after one that gives out {out}: each convolution's "
                    "in_channels must equal the out_channels of the one before it.")
    if any(start != 1 for start in got["flatten_start"]):
        return ("nn.Flatten should keep the batch dimension (start_dim=1): flattening from dimension 0 merges all "
                "the images of the batch into one vector.")
    if got["linear_in"] and got["linear_in"][0] != want["linear_in"][0]:
        return (f"The Linear layer expects {got['linear_in'][0]} inputs, but Flatten gives "
                f"{want['linear_in'][0]} per image: two MaxPool2d(2) layers turn 32 x 32 maps into 8 x 8, "
                "and there are 32 of them, so 32 * 8 * 8.")
    return None


sct = SCT(
    custom(probe=_layout, judge=_layout_right),
    module("cnn").layers(nn.Conv2d, nn.Linear).output_shape((8, 10)).param_count().gradients_flow(),
)

cases = [
    wrong("takes one input channel, as for grey images", replace={"nn.Conv2d(3, 16": "nn.Conv2d(1, 16"},
          says="three colour channels"),
    wrong("gives the second convolution the wrong input", replace={"nn.Conv2d(16, 32": "nn.Conv2d(32, 32"},
          says="must equal the out_channels"),
    wrong("forgets that pooling shrinks the maps", replace={"nn.Linear(32 * 8 * 8, 10)": "nn.Linear(32 * 32 * 32, 10)"},
          says="32 * 8 * 8"),
    wrong("flattens the batch dimension too", replace={"nn.Flatten()": "nn.Flatten(0)"},
          says="keep the batch dimension"),
    right("writes the number of features out", replace={"nn.Linear(32 * 8 * 8, 10)": "nn.Linear(2048, 10)"}),
]
