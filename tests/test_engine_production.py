"""The SCT checks for models in production (graders/sct/metrics.py, inference.py,
exported.py and serving.py): for each, an answer that passes and answers that fail, with
their exact messages. Each exercise is a throwaway one, built in a temporary folder."""

from __future__ import annotations

import time

import pytest
from engine_support import SUCCESS, check, make_exercise

from graders.feedback import FAILED, PASSED


def _passes(feedback):
    assert feedback.outcome == PASSED, feedback.text()
    assert feedback.message == SUCCESS


def _fails(feedback, message, expected=None, got=None, line=None):
    assert feedback.outcome == FAILED, feedback.text()
    assert feedback.message == message, feedback.text()
    assert (feedback.expected, feedback.got, feedback.line) == (expected, got, line), feedback.text()


# --------------------------------------------------------------------------- metrics

METRIC = """\
import torch
from torch import nn
from torchmetrics.classification import MulticlassAccuracy
class Scored(nn.Module):
    def __init__(self):
        super().__init__()
        self.metrics = nn.ModuleDict({"acc": MulticlassAccuracy(num_classes=3, average="micro")})
model = Scored()
acc = MulticlassAccuracy(num_classes=3, average="micro")
preds = torch.tensor([[0, 1, 2, 2], [1, 1, 0, 2]])
target = torch.tensor([[0, 1, 2, 1], [1, 0, 0, 2]])
for p, t in zip(preds, target):
    acc.update(p, t)
"""


@pytest.fixture(scope="module")
def metrics(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("metrics"),
        """
        from graders.sct import SCT, metric
        sct = SCT(
            metric("acc").kind("MulticlassAccuracy").settings(average="micro", num_classes=3).updates().value(),
            metric("model.metrics['acc']").attached_to("model"),
        )
    """,
        METRIC,
    )


def test_metric_passes(metrics):
    _passes(check(metrics, METRIC))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            "for p, t in zip(preds, target):\n    acc.update(p, t)",
            "acc = [0.75]",
            "`acc` should be a torchmetrics metric.",
            "a torchmetrics.Metric",
            "list",
            12,
        ),
        (
            'acc = MulticlassAccuracy(num_classes=3, average="micro")',
            "acc = MulticlassAccuracy(num_classes=3)",
            "`acc` has the wrong `average` setting.",
            "average='micro'",
            "average='macro'",
            9,
        ),
        (
            "for p, t in zip(preds, target):\n    acc.update(p, t)",
            "acc.update(preds[1], target[1])",
            "`acc` saw 1 batches; it should see every batch of the loader, one update per batch.",
            "2 updates",
            "1 updates",
            9,
        ),
        (
            "for p, t in zip(preds, target):\n    acc.update(p, t)",
            "pass",
            "`acc` never saw a batch: call its update (or the metric itself) with the predictions and labels of every "
            "batch before compute().",
            "2 updates",
            "0 updates",
            9,
        ),
        (
            "acc.update(p, t)",
            "acc.update(p, p)",
            "`acc.compute()` has the wrong value.",
            "0.75 (tensor of shape (), dtype torch.float32)",
            "1.0 (tensor of shape (), dtype torch.float32)",
            9,
        ),
    ],
)
def test_metric_fails(metrics, old, new, message, expected, got, line):
    _fails(check(metrics, METRIC.replace(old, new)), message, expected, got, line)


def test_metric_not_attached_to_the_model(metrics):
    """A metric in a plain dict is not a submodule: it stays behind when the model moves."""
    _fails(
        check(metrics, METRIC.replace("nn.ModuleDict(", "dict(")),
        "`model.metrics['acc']` is not an attribute of `model`: make it one in __init__ (self.name = Metric(...)), "
        "so it moves to the model's device and resets with it.",
        line=8,
    )


# --------------------------------------------------------------------------- inference

INFERENCE = """\
import torch
from torch import nn
def make():
    return nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(3 * 32 * 32, 10))
net = make()
torch.save(net.state_dict(), "w.pt")
restored = make()
restored.load_state_dict(torch.load("w.pt"))
restored.eval()
"""


@pytest.fixture(scope="module")
def inference(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("inference"),
        """
        from graders.sct import SCT, inference_model
        sct = SCT(inference_model("restored").in_eval_mode().matches_weights("w.pt").reproduces("net"))
    """,
        INFERENCE,
    )


def test_inference_model_passes(inference):
    _passes(check(inference, INFERENCE))


@pytest.mark.parametrize(
    "old,new,message,expected,got,line",
    [
        (
            "restored.eval()\n",
            "",
            "`restored` is still in training mode: dropout drops activations at random and batch "
            "norm normalises with each batch's own statistics, so the same image gets different predictions. Call .eval() "
            "before inference.",
            "training=False everywhere",
            "training=True in (the model itself), 0, 1",
            7,
        ),
        (
            'restored.load_state_dict(torch.load("w.pt"))',
            "pass",
            "`restored` does not hold the weights saved in 'w.pt': "
            "2.weight, 2.bias differ. Load the file's state dict into it with load_state_dict.",
            None,
            None,
            7,
        ),
        (
            'restored = make()\nrestored.load_state_dict(torch.load("w.pt"))',
            "restored = nn.Linear(3 * 32 * 32, 10)",
            "`restored` does not have the layers saved in 'w.pt'.",
            "2.bias, 2.weight",
            "bias, weight",
            7,
        ),
        (
            "restored = make()",
            "restored = nn.Sequential(*make(), nn.ReLU())",
            "`restored(images)` has the right shape but the wrong values. It should give the outputs of `net` in eval "
            "mode.",
            None,
            None,
            7,
        ),
    ],
)
def test_inference_model_fails(inference, old, new, message, expected, got, line):
    _fails(check(inference, INFERENCE.replace(old, new)), message, expected, got, line)


def test_inference_model_refuses_a_pickled_model(inference):
    feedback = check(
        inference,
        INFERENCE.replace('torch.save(net.state_dict(), "w.pt")', 'torch.save(net, "w.pt")').replace(
            'torch.load("w.pt")', 'torch.load("w.pt", weights_only=False).state_dict()'
        ),
    )
    _fails(
        feedback,
        "'w.pt' does not load as a dict of tensors with torch.load(weights_only=True), as a state dict "
        "always does: a pickled model does not. Save model.state_dict().",
    )
    assert feedback.detail.startswith("UnpicklingError: Weights only load failed")


# --------------------------------------------------------------------------- exported files and ORT sessions

EXPORTED = """\
import onnxruntime as ort
import torch
from torch import nn
from torch.export import Dim
torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10)).eval()
shapes = {"input": {0: Dim("batch")}}
torch.export.save(torch.export.export(net, (torch.zeros(2, 3, 32, 32),), dynamic_shapes=shapes), "m.pt2")
torch.onnx.export(net, (torch.zeros(2, 3, 32, 32),), "m.onnx", dynamic_shapes=shapes, external_data=False,
                  verbose=False)
options = ort.SessionOptions()
options.intra_op_num_threads = 1
options.add_session_config_entry("session.intra_op.allow_spinning", "0")
session = ort.InferenceSession("m.onnx", options)
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("exported"),
        """
        from graders.sct import SCT, exported_file, ort_session
        sct = SCT(exported_file("m.pt2").reproduces("net", batches=(1, 3)),
                  exported_file("m.onnx").reproduces("net", batches=(1, 3)),
                  ort_session("session"))
    """,
        EXPORTED,
        timeout_s=60,
    )


def test_exported_files_pass(exported):
    _passes(check(exported, EXPORTED))


def test_exported_program_with_a_fixed_batch(exported):
    feedback = check(exported, EXPORTED.replace('), dynamic_shapes=shapes), "m.pt2")', '),), "m.pt2")'))
    _fails(
        feedback,
        "The model in 'm.pt2' fails on a batch of 1 images: its batch size was fixed when it was "
        "exported. Export with a dynamic batch dimension.",
    )
    assert "Guard failed" in feedback.detail


def test_onnx_file_from_a_model_in_training_mode(exported):
    code = EXPORTED.replace("torch.onnx.export(net,", "torch.onnx.export(nn.Sequential(nn.Dropout(0.5), net).train(),")
    feedback = check(exported, code)
    _fails(
        feedback,
        "`the output of 'm.onnx' on 1 images` has the right shape but the wrong values. It should "
        "reproduce `net` in eval mode.",
    )


def test_onnx_file_that_does_not_load_and_missing_file(exported):
    feedback = check(exported, EXPORTED.replace('"m.pt2")', '"other.pt2")'))
    _fails(feedback, "No file matching 'm.pt2' was written.", "a file m.pt2", "no such file")


def test_ort_session_with_default_threads(exported):
    _fails(
        check(
            exported,
            EXPORTED.replace(
                'session = ort.InferenceSession("m.onnx", options)', 'session = ort.InferenceSession("m.onnx")'
            ),
        ),
        "`session` uses ONNX Runtime's default threads, which spin while idle and slow down PyTorch in the same "
        "process. Create it with SessionOptions that set intra_op_num_threads = 1 and the config entry "
        'session.intra_op.allow_spinning = "0".',
        "intra_op_num_threads=1, allow_spinning='0'",
        "intra_op_num_threads=0, allow_spinning='1 (the default)'",
        14,
    )


def test_ort_sessions_made_with_the_course_options_leave_torch_fast():
    """An ONNX Runtime session with one thread and no spinning, run in this process, does
    not slow down the PyTorch work that follows (ORT issue 13808)."""
    import numpy as np
    import onnxruntime as ort
    import torch
    from torch import nn

    from graders.sct import ort_options

    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1)).eval()
    x = torch.randn(32, 3, 32, 32)

    def torch_time() -> float:
        # This process's CPU time, not the wall clock: ORT threads left spinning show as CPU
        # spent beside torch's work, while other processes on a busy machine (pytest-xdist's
        # other worker, say) stretch only the wall time
        best = float("inf")
        for _ in range(5):
            start = time.process_time()
            with torch.inference_mode():
                net(x)
            best = min(best, time.process_time() - start)
        return best

    before = torch_time()
    path = str(__import__("tempfile").mkdtemp()) + "/n.onnx"
    torch.onnx.export(
        net,
        (x[:2],),
        path,
        dynamic_shapes={"input": {0: torch.export.Dim("batch")}},
        external_data=False,
        verbose=False,
    )
    session = ort.InferenceSession(path, ort_options(), providers=["CPUExecutionProvider"])
    for _ in range(20):
        session.run(None, {"input": x.numpy()})
    after = torch_time()
    assert np.isfinite(after) and after < 2.0 * before + 0.005, (before, after)


# --------------------------------------------------------------------------- serving

SERVING = """\
from fastapi import FastAPI, HTTPException, UploadFile
from course.core.preprocess import ImageError, decode_image
app = FastAPI()
@app.post("/p")
async def p(file: UploadFile):
    try:
        pixels = decode_image(await file.read())
    except ImageError as err:
        raise HTTPException(status_code=422, detail=str(err))
    return {"mean": round(float(pixels.mean()), 3)}
"""


@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    return make_exercise(
        tmp_path_factory.mktemp("serving"),
        """
        from graders.sct import SCT, endpoint
        sct = SCT(endpoint("app", "/p", upload="file").predicts(images=2).rejects("text", "empty", "truncated"))
    """,
        SERVING,
    )


def test_endpoint_passes(serving):
    _passes(check(serving, SERVING))


@pytest.mark.parametrize(
    "old,new,message,expected,got",
    [
        (
            "    try:\n        pixels = decode_image(await file.read())\n    except ImageError as err:\n"
            "        raise HTTPException(status_code=422, detail=str(err))\n",
            "    pixels = decode_image(await file.read())\n",
            "POST /p with a text file answered 500, a server error. Bad input is the client's mistake: answer it with a 4xx "
            "status (HTTPException(status_code=422, detail=...)) and a message that says what is wrong.",
            "a 4xx status with a message",
            "500 'Internal Server Error'",
        ),
        (
            "raise HTTPException(status_code=422, detail=str(err))",
            "return {'mean': 0.0}",
            "POST /p with a text file answered 200 as if the input were fine: reject it with a 4xx status and a message.",
            "a 4xx status",
            "200 {'mean': 0.0}",
        ),
        (
            "raise HTTPException(status_code=422, detail=str(err))",
            "from fastapi.responses import JSONResponse\n        return JSONResponse({}, status_code=422)",
            "POST /p with a text file answered 422 without saying what is wrong: give the HTTPException a detail message.",
            "a JSON body with a 'detail'",
            "{}",
        ),
        (
            "round(float(pixels.mean()), 3)",
            "round(float(pixels.mean()) * 2, 3)",
            "POST /p with a PNG of CIFAR-10 test image 0 got a different answer: `the answer['mean']` has the wrong value.",
            "125.695",
            "251.391",
        ),
        (
            '@app.post("/p")',
            '@app.post("/predict")',
            "POST /p with a PNG of CIFAR-10 test image 0 answered 404 instead of 200. The app has no route at /p: "
            "the path in the route's decorator is the URL clients use.",
            "200 and a prediction",
            "404 {'detail': 'Not Found'}",
        ),
        (
            '@app.post("/p")',
            '@app.get("/p")',
            "POST /p with a PNG of CIFAR-10 test image 0 answered 405 instead of 200. The app answers /p, but not "
            "POST requests (405, Method Not Allowed): the decorator's name is the HTTP method it routes.",
            "200 and a prediction",
            "405 {'detail': 'Method Not Allowed'}",
        ),
    ],
)
def test_endpoint_fails(serving, old, new, message, expected, got):
    _fails(check(serving, SERVING.replace(old, new)), message, expected, got)


def test_endpoint_needs_an_app(serving):
    _fails(
        check(
            serving,
            SERVING.replace("app = FastAPI()", "app = FastAPI()\nserver = app").replace("return {", "return {")
            + "app = 'not an app'\n",
        ),
        "`app` should be a FastAPI app.",
        "FastAPI",
        "str",
        12,
    )


JSON_SERVING = """\
import numpy as np
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from course.core.preprocess import to_model_input
class Pixels(BaseModel):
    pixels: list[list[list[int]]]
app = FastAPI()
@app.post("/q")
def q(request: Pixels):
    try:
        x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))
    except ValueError as err:
        raise HTTPException(status_code=422, detail=str(err))
    return {"shape": list(x.shape)}
"""


def test_json_endpoint_rejects_a_wrong_shape(tmp_path):
    ex = make_exercise(
        tmp_path,
        """
        from graders.sct import SCT, endpoint
        sct = SCT(endpoint("app", "/q", json_field="pixels").predicts(images=1).rejects("wrong_shape", "flat"))
    """,
        JSON_SERVING,
    )
    _passes(check(ex, JSON_SERVING))
    no_check = JSON_SERVING.replace(
        "    try:\n        x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))\n"
        "    except ValueError as err:\n"
        "        raise HTTPException(status_code=422, detail=str(err))\n",
        "    x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))\n",
    )
    feedback = check(ex, no_check)
    _fails(
        feedback,
        "POST /q with pixels of shape (28, 28, 3) answered 500, a server error. Bad input is the "
        "client's mistake: answer it with a 4xx status (HTTPException(status_code=422, detail=...)) and "
        "a message that says what is wrong.",
        "a 4xx status with a message",
        "500 'Internal Server Error'",
    )


def test_bad_arguments_are_refused_when_the_sct_is_written():
    from graders.sct import endpoint, metric

    with pytest.raises(ValueError, match="unknown bad requests"):
        endpoint("app", "/p", upload="file").rejects("wrong_shape")
    with pytest.raises(ValueError, match="either an upload field"):
        endpoint("app", "/p")
    with pytest.raises(ValueError, match="unknown metric settings"):
        metric("acc").settings(averaging="micro")
