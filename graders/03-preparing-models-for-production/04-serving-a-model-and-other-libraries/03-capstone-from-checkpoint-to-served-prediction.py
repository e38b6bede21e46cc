"""SCT for 3.4.3, Capstone: from a checkpoint to a served prediction (sequential: each step
runs after the solutions of the steps before it)."""
from graders.sct import (SCT, endpoint, exported_file, inference_model, metric, ort_session, right, variable,
                         wrong)

step1 = SCT(
    inference_model("net").in_eval_mode().matches_weights("trained.ckpt", key="state_dict", prefix="net."),
    metric("accuracy").kind("MulticlassAccuracy").settings(
        average="micro", msg="Plain accuracy counts every image once: average=\"micro\", not the per-class "
                             "default. Expected {expected}, got {got}."),
    metric("accuracy").updates(msg="The metric saw {got}, not {expected}: update it inside the loop, once per batch."),
    metric("accuracy").value(),
)


step2 = SCT(
    exported_file("cifar_cnn.onnx").reproduces(
        "net", batches=(1, 64),
        batch_msg="cifar_cnn.onnx only accepts the batch size it was exported with: mark dimension 0 as dynamic, "
                  "dynamic_shapes={\"x\": {0: Dim(\"batch\")}}."),
    ort_session("session"),
    variable("max_diff").at_most(1e-4, msg=(
        "`max_diff` should be the largest absolute difference between the ONNX and the PyTorch outputs, a float "
        "below 1e-4; got {got}.")),
    errors={r"specialized it to be a constant \(1\)":
            "An example batch of 1 cannot carry a dynamic batch dimension: the exporter treats size 1 as a special "
            "case and fixes it. Export from two images, x[:2].",
            r"Got invalid dimensions for input":
            "ONNX Runtime refused the batch of 64: the file was exported with a fixed batch size. Mark dimension 0 "
            "as dynamic with dynamic_shapes={\"x\": {0: Dim(\"batch\")}}.",
            r"Input must be a list of dictionaries or a single numpy array":
            "ONNX Runtime takes NumPy arrays, not torch tensors: pass x.numpy()."},
)

step3 = SCT(
    variable("app").instance_of("fastapi.FastAPI"),
    endpoint("app", "/predict", json_field="pixels").predicts(images=4).rejects("wrong_shape", "flat", "out_of_range"),
)

steps = [step1, step2, step3]

cases = [
    # step 1
    wrong("measures in training mode", step=1, replace={"net.eval()\n": ""}, says="still in training mode"),
    wrong("keeps the per-class default", step=1, replace={'average="micro"': 'average="macro"'},
          says="Plain accuracy counts every image once"),
    wrong("updates once, after the loop", step=1,
          replace={"        accuracy.update(net(x), y)": "        pass\n    accuracy.update(net(x), y)"},
          says="update it inside the loop"),
    right("uses Accuracy with task=", step=1,
          replace={'MulticlassAccuracy(num_classes=10, average="micro")':
                   'Accuracy(task="multiclass", num_classes=10, average="micro")',
                   "net = LitCNN": "from torchmetrics import Accuracy\nnet = LitCNN"}),
    # step 2
    wrong("opens a session with ONNX Runtime's defaults", step=2,
          replace={'session = onnx_session("cifar_cnn.onnx")': 'session = ort.InferenceSession("cifar_cnn.onnx")'},
          says="spin while idle and slow down PyTorch"),
    wrong("exports a fixed batch size", step=2, replace={' dynamic_shapes={"x": {0: Dim("batch")}},': ""},
          says="exported with a fixed batch size"),
    wrong("passes a torch tensor", step=2, replace={'{"x": x.numpy()}': '{"x": x}'}, says="takes NumPy arrays"),
    right("bounds the batch dimension", step=2, replace={'Dim("batch")': 'Dim("batch", min=1, max=1024)'}),
    # step 3
    wrong("lets a wrongly shaped image crash the app", step=3,
          replace={"    try:\n        x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))\n"
                   "    except ValueError as err:\n        # A wrong shape is the client's mistake: a 4xx, never a 500\n"
                   "        raise HTTPException(status_code=422, detail=str(err))\n":
                   "    x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))\n"},
          says="a server error"),
    wrong("reads the pixels as 64-bit integers", step=3, replace={", dtype=np.uint8": ""},
          says="answered 422 instead of 200"),
    wrong("answers with the class index", step=3,
          replace={'{"label": CLASSES[int(logits.argmax())]}': '{"label": int(logits.argmax())}'},
          says="should be a str"),
    right("answers 400 from an async function", step=3,
          replace={"def predict(": "async def predict(", "status_code=422": "status_code=400"}),
]
