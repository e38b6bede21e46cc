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
    return {"error": None,
            "independent": full.shape[0] == 8 and alone.shape == full[4:].shape
            and torch.allclose(full[4:], alone, atol=1e-5),
            "sees_last_row": not torch.allclose(full, last_row, atol=1e-6)}


def _behaviour_right(got, want, ctx):
    if got is None:
        return None  # the module check says what is wrong
    if got["error"]:
        if "input_size" in got["error"] or "input.size(-1)" in got["error"]:
            return ("The LSTM's input_size does not match a row: each time step is one row of 32 pixels with "
                    "3 colours, so input_size=96. (" + got["error"] + ")")
        return "Calling `rnn` on a CIFAR-10 batch raised " + got["error"]
    if not got["independent"]:
        return ("The prediction for an image changes when other images are in the batch: the LSTM reads across "
                "the batch as if it were time. nn.LSTM expects (sequence, batch, features) unless you pass "
                "batch_first=True, and rows has the shape (batch, 32, 96).")
    if not got["sees_last_row"]:
        return ("Changing the bottom row of the images does not change the predictions, so the model decides "
                "before it has read the whole image: classify from the output after the last row, out[:, -1].")
    return None


sct = SCT(
    custom(probe=_behaviour, judge=_behaviour_right),
    module("rnn").layers(nn.LSTM).output_shape((8, 10)).param_count().gradients_flow(),
)

cases = [
    wrong("leaves the LSTM in its default (sequence, batch) layout",
          replace={"batch_first=True": "batch_first=False"}, says="batch_first=True"),
    wrong("classifies after the first row", replace={"out[:, -1]": "out[:, 0]"}, says="out[:, -1]"),
    wrong("takes one pixel's colours as the input size", replace={"input_size=96": "input_size=3"},
          says="input_size=96"),
    right("classifies from the final hidden state",
          replace={"out, _ = self.lstm(rows)": "_, (h, _) = self.lstm(rows)", "self.head(out[:, -1])": "self.head(h[-1])"}),
]
