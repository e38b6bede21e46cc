"""SCT for 2.4.1, Build a CNN for CIFAR-10."""

from torch import nn

from graders.sct import SCT, custom, module, right, wrong


def _layout(run):
    cnn = run.ns.get("cnn")
    if not isinstance(cnn, nn.Module):
        return None
    return {
        "convs": [(m.in_channels, m.out_channels) for m in cnn.modules() if isinstance(m, nn.Conv2d)],
        "geometry": [
            (m.kernel_size, tuple(k // 2 for k in m.kernel_size) if m.padding == "same" else m.padding, m.stride)
            for m in cnn.modules()
            if isinstance(m, nn.Conv2d)
        ],
        "flat_features": _features_before_linear(cnn),
        "softmax": any(isinstance(m, (nn.Softmax, nn.LogSoftmax)) for m in cnn.modules()),
        "flatten_start": [m.start_dim for m in cnn.modules() if isinstance(m, nn.Flatten)],
        "linear_in": [m.in_features for m in cnn.modules() if isinstance(m, nn.Linear)],
    }


def _features_before_linear(cnn):
    """How many values per image reach the first Linear layer (None if that cannot run)."""
    import torch

    if not isinstance(cnn, nn.Sequential):
        return None
    x = torch.zeros(1, 3, 32, 32)
    try:
        with torch.no_grad():
            for layer in cnn:
                if isinstance(layer, nn.Linear):
                    return x.shape[-1] if x.dim() == 2 else None
                x = layer(x)
    except Exception:
        return None
    return None


def _layout_right(got, want, ctx):
    if got is None or not got["convs"]:
        return None  # the module checks below say what is missing
    if got["convs"][0][0] != 3:
        return (
            f"The first Conv2d takes {got['convs'][0][0]} input channels, but a CIFAR-10 batch has the shape "
            "(batch, 3, 32, 32): three colour channels, so in_channels=3."
        )
    for (_, out), (nxt, _) in zip(got["convs"], got["convs"][1:]):
        if nxt != out:
            return (
                f"A Conv2d takes {nxt} input channels after one that gives out {out}: each convolution's "
                "in_channels must equal the out_channels of the one before it."
            )
    if got["geometry"] != want["geometry"]:
        return (
            "A convolution changes the size of its maps: a 3 x 3 kernel needs padding=1 (and stride 1) to keep "
            "32 x 32 maps at 32 x 32, so that the two MaxPool2d(2) layers leave 8 x 8 for the linear layer."
        )
    if got["softmax"]:
        return (
            "End the network with the raw class scores (logits): F.cross_entropy applies log-softmax itself, "
            "so a softmax layer in the model squashes the scores twice and slows learning."
        )
    if any(start != 1 for start in got["flatten_start"]):
        return (
            "nn.Flatten should keep the batch dimension (start_dim=1): flattening from dimension 0 merges all "
            "the images of the batch into one vector."
        )
    flat = got["flat_features"] or want["linear_in"][0]
    if got["linear_in"] and got["linear_in"][0] != flat:
        return (
            f"The Linear layer expects {got['linear_in'][0]} inputs, but Flatten gives {flat} per image: two "
            "MaxPool2d(2) layers turn 32 x 32 maps into 8 x 8, and there are as many maps as the last "
            "convolution's out_channels, 32 here, so 32 * 8 * 8."
        )
    return None


sct = SCT(
    custom(probe=_layout, judge=_layout_right),
    module("cnn")
    .layers(nn.Conv2d, nn.Linear)
    .layers(
        nn.ReLU,
        msg="Put a ReLU after each convolution: without a non-linearity, stacked convolutions and the "
        "linear layer collapse into one linear map, however many there are.",
    )
    .layers(
        nn.MaxPool2d,
        msg="Halve the maps with MaxPool2d(2) after each convolution block: the linear layer expects 8 x 8 maps.",
    )
    .output_shape((8, 10))
    .param_count()
    .gradients_flow(),
)

_LINEAR = "nn.Linear(32 * 8 * 8, 10)"

cases = [
    wrong(
        "takes one input channel, as for grey images",
        replace={"nn.Conv2d(3, 16": "nn.Conv2d(1, 16"},
        says="three colour channels",
    ),
    wrong(
        "gives the second convolution the wrong input",
        replace={"nn.Conv2d(16, 32": "nn.Conv2d(32, 32"},
        says="must equal the out_channels",
    ),
    wrong("forgets that pooling shrinks the maps", replace={_LINEAR: "nn.Linear(32 * 32 * 32, 10)"}, says="32 * 8 * 8"),
    wrong("counts one pooling only", replace={_LINEAR: "nn.Linear(32 * 16 * 16, 10)"}, says="32 * 8 * 8"),
    wrong(
        "flattens the batch dimension too", replace={"nn.Flatten()": "nn.Flatten(0)"}, says="keep the batch dimension"
    ),
    wrong(
        "drops the padding, so the maps shrink",
        replace={"nn.Conv2d(3, 16, kernel_size=3, padding=1)": "nn.Conv2d(3, 16, kernel_size=3)"},
        says="needs padding=1",
    ),
    wrong("uses 5 x 5 kernels with padding 1", replace={"kernel_size=3": "kernel_size=5"}, says="needs padding=1"),
    wrong("forgets the ReLUs", replace={"nn.ReLU(), ": ""}, says="Put a ReLU after each convolution"),
    wrong(
        "ends with a softmax",
        replace={_LINEAR + ",\n": _LINEAR + ", nn.Softmax(dim=1),\n"},
        says="End the network with the raw class scores",
    ),
    wrong(
        "widens the second convolution",
        replace={"nn.Conv2d(16, 32": "nn.Conv2d(16, 64", _LINEAR: "nn.Linear(64 * 8 * 8, 10)"},
        says="wrong number of parameters",
    ),
    right("writes the number of features out", replace={_LINEAR: "nn.Linear(2048, 10)"}),
    right(
        "keeps the size with padding='same' and ReLUs in place",
        replace={"padding=1": 'padding="same"', "nn.ReLU()": "nn.ReLU(inplace=True)"},
    ),
    right("names the flatten start", replace={"nn.Flatten()": "nn.Flatten(start_dim=1)"}),
]
