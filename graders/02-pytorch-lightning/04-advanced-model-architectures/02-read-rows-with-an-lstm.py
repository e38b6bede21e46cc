"""SCT for 2.4.2, Read an image row by row with an LSTM."""

import torch
from torch import nn

from graders.sct import SCT, cifar_batch, custom, module, right, wrong


def _behaviour(run):
    rnn = run.ns.get("rnn")
    if not isinstance(rnn, nn.Module):
        return None
    model = rnn.eval()
    x, _ = cifar_batch(8)
    try:
        with torch.no_grad():
            full = model(x)
            alone = model(x[4:])
            changed = x.clone()
            changed[:, :, -1, :] = 0.0  # blank out the bottom row of every image
            last_row = model(changed)
    except Exception as err:
        return {"error": f"{type(err).__name__}: {err}"}
    return {
        "error": None,
        "independent": full.shape[0] == 8
        and alone.shape == full[4:].shape
        and torch.allclose(full[4:], alone, atol=1e-5),
        "sees_last_row": not torch.allclose(full, last_row, atol=1e-6),
        "rows": _reads_rows(model, x, full),
    }


def _reads_rows(model, x, full):
    """What the model's LSTM was fed, caught with a forward pre-hook: "rows" when each time
    step is one image row (its 32 pixels with their 3 colours, in either order), "other"
    when not, "readout" when the rows are right but the output is not the head applied to
    the output after the last row; None when the model has no `lstm` and `head`."""
    lstm, head = getattr(model, "lstm", None), getattr(model, "head", None)
    if not isinstance(lstm, nn.LSTM) or not isinstance(head, nn.Module) or not lstm.batch_first:
        return None
    fed = []
    handle = lstm.register_forward_pre_hook(lambda module, args: fed.append(args[0]))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    if not fed or not isinstance(fed[0], torch.Tensor):
        return None
    n = x.shape[0]
    layouts = (x.permute(0, 2, 1, 3).reshape(n, 32, 96), x.permute(0, 2, 3, 1).reshape(n, 32, 96))
    if not any(fed[0].shape == rows.shape and torch.equal(fed[0], rows) for rows in layouts):
        return "other"
    with torch.no_grad():
        if not torch.allclose(head(lstm(fed[0])[0][:, -1]), full, atol=1e-5):
            return "readout"
    return "rows"


def _behaviour_right(got, want, ctx):
    if got is None:
        return None  # the module check says what is wrong
    if got["error"]:
        if "mat1 and mat2" in got["error"]:
            return (
                "The linear head does not match the LSTM: it gets the LSTM's output, hidden_size values per "
                "image, so nn.Linear(hidden, 10). (" + got["error"] + ")"
            )
        if "view size is not compatible" in got["error"]:
            return (
                "view needs the tensor's memory in order, and permute only changes how it is read: use "
                "reshape, which copies when it must. (" + got["error"] + ")"
            )
        if "input_size" in got["error"] or "input.size(-1)" in got["error"]:
            return (
                "The LSTM's input_size does not match a row: each time step is one row of 32 pixels with "
                "3 colours, so input_size=96. (" + got["error"] + ")"
            )
        return "Calling `rnn` on a CIFAR-10 batch raised " + got["error"]
    if not got["independent"]:
        return (
            "The prediction for an image changes when other images are in the batch: the LSTM reads across "
            "the batch as if it were time. nn.LSTM expects (sequence, batch, features) unless you pass "
            "batch_first=True, and rows has the shape (batch, 32, 96)."
        )
    if not got["sees_last_row"]:
        return (
            "Changing the bottom row of the images does not change the predictions, so the model decides "
            "before it has read the whole image: classify from the output after the last row, out[:, -1]."
        )
    if got["rows"] == "readout":
        return (
            "The LSTM reads the rows, but the prediction is not made from its output after the last row: "
            "classify from out[:, -1], the summary of the whole image."
        )
    if got["rows"] == "other":
        return (
            "The time steps are not the image's rows: reshaping (N, 3, 32, 32) straight to (N, 32, 96) "
            "regroups memory in channel order, so a step holds parts of several rows of one colour. Move the "
            "rows forward first, x.permute(0, 2, 1, 3), then reshape to (N, 32, 96)."
        )
    return None


sct = SCT(
    custom(probe=_behaviour, judge=_behaviour_right),
    module("rnn").layers(nn.LSTM).output_shape((8, 10)).param_count().gradients_flow(),
)

_ROWS = "rows = x.permute(0, 2, 1, 3).reshape(x.shape[0], 32, 96)"

cases = [
    wrong(
        "leaves the LSTM in its default (sequence, batch) layout",
        replace={"batch_first=True": "batch_first=False"},
        says="batch_first=True",
    ),
    wrong("classifies after the first row", replace={"out[:, -1]": "out[:, 0]"}, says="out[:, -1]"),
    wrong(
        "takes one pixel's colours as the input size", replace={"input_size=96": "input_size=3"}, says="input_size=96"
    ),
    wrong(
        "takes a row of one colour as the input size", replace={"input_size=96": "input_size=32"}, says="input_size=96"
    ),
    wrong(
        "reshapes without moving the rows forward",
        replace={_ROWS: "rows = x.reshape(x.shape[0], 32, 96)"},
        says="The time steps are not the image's rows",
    ),
    wrong(
        "views a permuted tensor",
        replace={_ROWS: "rows = x.permute(0, 2, 1, 3).view(x.shape[0], 32, 96)"},
        says="use reshape",
    ),
    wrong(
        "sizes the head for a row instead of the hidden state",
        replace={"nn.Linear(hidden, 10)": "nn.Linear(96, 10)"},
        says="nn.Linear(hidden, 10)",
    ),
    wrong(
        "averages the outputs over the rows",
        replace={"out[:, -1]": "out.mean(dim=1)"},
        says="the prediction is not made from its output after the last row",
    ),
    wrong("reads the image with a plain RNN", replace={"nn.LSTM(": "nn.RNN("}, says="should contain a LSTM layer"),
    right(
        "classifies from the final hidden state",
        replace={
            "out, _ = self.lstm(rows)": "_, (h, _) = self.lstm(rows)",
            "self.head(out[:, -1])": "self.head(h[-1])",
        },
    ),
    right(
        "puts each pixel's colours together in a row",
        replace={_ROWS: "rows = x.permute(0, 2, 3, 1).reshape(x.shape[0], 32, 96)"},
    ),
    right("flattens the rows with flatten", replace={_ROWS: "rows = x.transpose(1, 2).flatten(2)"}),
]
