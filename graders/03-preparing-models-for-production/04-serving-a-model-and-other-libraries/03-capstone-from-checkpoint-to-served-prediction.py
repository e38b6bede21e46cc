"""SCT for 3.4.3, Capstone: from a checkpoint to a served prediction (sequential: each step
runs after the solutions of the steps before it)."""

from graders.sct import SCT, endpoint, exported_file, inference_model, metric, ort_session, right, variable, wrong
from graders.sct.observed import built_anew, loaded_file, ort_ran, predicted

step1 = SCT(
    built_anew(
        "net",
        "model",
        msg="`net` is the model the set-up left in memory, not the network from the "
        "checkpoint: take it from trained.ckpt, as a serving process would.",
    ),
    loaded_file(
        "trained.ckpt",
        unread_msg="Your code never read trained.ckpt: take the network from the "
        'checkpoint, LitCNN.load_from_checkpoint("trained.ckpt").net, not from a model in memory.',
    ),
    inference_model("net").in_eval_mode(),
    predicted(
        "net",
        eval_mode=True,
        images="only",
        training_msg="`net` measured in training mode and was switched to evaluation mode only afterwards: dropout "
        "zeroed activations at random, and batch norm used (and updated) each batch's own statistics. Switch the "
        "mode before the loop.",
        other_images_msg="`net` also predicted on {got} that are not test images: the accuracy must measure the "
        "test split, `test_loader`, and nothing else.",
    ),
    inference_model("net").matches_weights("trained.ckpt", key="state_dict", prefix="net."),
    metric("accuracy")
    .kind("MulticlassAccuracy")
    .settings(
        average="micro",
        msg='Plain accuracy counts every image once: average="micro", not the per-class '
        "default. Expected {expected}, got {got}.",
    ),
    metric("accuracy").updates(
        msg="The metric holds {got} when the loop ends, not {expected}, one per batch: "
        "update it inside the loop, for every batch, and compute() after it; reset() "
        "empties its totals."
    ),
    metric("accuracy").value(),
)


step2 = SCT(
    exported_file("cifar_cnn.onnx").reproduces(
        "net",
        batches=(1, 64),
        batch_msg="cifar_cnn.onnx only accepts the batch size it was exported with: mark dimension 0 as dynamic, "
        'dynamic_shapes={"x": {0: Dim("batch")}}.',
    ),
    ort_session("session"),
    ort_ran(
        "session",
        rows=64,
        never_msg=(
            '`session` never ran: `onnx_out` must come from ONNX Runtime, session.run(None, {"x": x.numpy()}), or '
            "max_diff compares PyTorch with itself."
        ),
        rows_msg="Run the whole batch `x`, 64 images, through the session in one call: it ran on {got}.",
    ),
    variable("max_diff").at_most(
        1e-4,
        msg=(
            "`max_diff` should be the largest absolute difference between the ONNX and the PyTorch outputs, a float "
            "below 1e-4; got {got}."
        ),
    ),
    errors={
        r"specialized it to be a constant \(1\)": "An example batch of 1 cannot carry a dynamic batch dimension: the exporter treats size 1 as a special "
        "case and fixes it. Export from two images, x[:2].",
        r"Got invalid dimensions for input": "ONNX Runtime refused the batch of 64: the file was exported with a fixed batch size. Mark dimension 0 "
        'as dynamic with dynamic_shapes={"x": {0: Dim("batch")}}.',
        r"Input must be a list of dictionaries or a single numpy array": "ONNX Runtime takes NumPy arrays, not torch tensors: pass x.numpy().",
    },
)

step3 = SCT(
    variable("app").instance_of("fastapi.FastAPI"),
    endpoint("app", "/predict", json_field="pixels")
    .predicts(images=4)
    .rejects("wrong_shape", "flat", "out_of_range", status=422),
    endpoint("app", "/predict", json_field="pixels").rejects(
        "wrong_shape", carries="course.core.preprocess.to_model_input"
    ),
)

steps = [step1, step2, step3]

cases = [
    # step 1
    wrong("measures in training mode", step=1, replace={"net.eval()\n": ""}, says="still in training mode"),
    wrong(
        "keeps the per-class default",
        step=1,
        replace={'average="micro"': 'average="macro"'},
        says="Plain accuracy counts every image once",
    ),
    wrong(
        "updates once, after the loop",
        step=1,
        replace={"        accuracy.update(net(x), y)": "        pass\n    accuracy.update(net(x), y)"},
        says="update it inside the loop",
    ),
    wrong(
        "measures the model left in memory",
        step=1,
        replace={'net = LitCNN.load_from_checkpoint("trained.ckpt").net': "net = model"},
        says="not the network from the checkpoint",
    ),
    wrong(
        "switches to evaluation mode only after measuring",
        step=1,
        replace={"net.eval()\n": "", 'print(f"test': 'net.eval()\nprint(f"test'},
        says="switched to evaluation mode only afterwards",
    ),
    wrong(
        "measures on the training split",
        step=1,
        replace={"in test_loader": "in train_loader"},
        says="that are not test images",
    ),
    right(
        "uses Accuracy with task=",
        step=1,
        replace={
            'MulticlassAccuracy(num_classes=10, average="micro")': 'Accuracy(task="multiclass", num_classes=10, average="micro")',
            "net = LitCNN": "from torchmetrics import Accuracy\nnet = LitCNN",
        },
    ),
    # step 2
    wrong(
        "opens a session with ONNX Runtime's defaults",
        step=2,
        replace={'session = onnx_session("cifar_cnn.onnx")': 'session = ort.InferenceSession("cifar_cnn.onnx")'},
        says="spin while idle and slow down PyTorch",
    ),
    wrong(
        "exports a fixed batch size",
        step=2,
        replace={' dynamic_shapes={"x": {0: Dim("batch")}},': ""},
        says="exported with a fixed batch size",
    ),
    wrong("passes a torch tensor", step=2, replace={'{"x": x.numpy()}': '{"x": x}'}, says="takes NumPy arrays"),
    wrong(
        "guesses the input's name",
        step=2,
        replace={'{"x": x.numpy()}': '{"images": x.numpy()}'},
        says="finds the inputs by name",
    ),
    wrong(
        "passes float64 pixels",
        step=2,
        replace={'{"x": x.numpy()}': '{"x": x.double().numpy()}'},
        says="NumPy's default float",
    ),
    wrong(
        "compares PyTorch with itself",
        step=2,
        replace={'onnx_out = session.run(None, {"x": x.numpy()})[0]': "onnx_out = net(x).detach().numpy()"},
        says="max_diff compares PyTorch with itself",
    ),
    wrong(
        "runs two images through the session",
        step=2,
        replace={
            'onnx_out = session.run(None, {"x": x.numpy()})[0]': 'onnx_out = session.run(None, {"x": x[:2].numpy()})[0]',
            "net(x).numpy()": "net(x[:2]).numpy()",
        },
        says="Run the whole batch `x`",
    ),
    right("bounds the batch dimension", step=2, replace={'Dim("batch")': 'Dim("batch", min=1, max=1024)'}),
    # step 3
    wrong(
        "lets a wrongly shaped image crash the app",
        step=3,
        replace={
            "    try:\n        x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))\n"
            "    except ValueError as err:\n        # A wrong shape is the client's mistake: a 4xx, never a 500\n"
            "        raise HTTPException(status_code=422, detail=str(err))\n": "    x = to_model_input(np.asarray(request.pixels, dtype=np.uint8))\n"
        },
        says="a server error",
    ),
    wrong(
        "reads the pixels as 64-bit integers",
        step=3,
        replace={", dtype=np.uint8": ""},
        says="answered 422 instead of 200",
    ),
    wrong(
        "answers with the class index",
        step=3,
        replace={'{"label": CLASSES[int(logits.argmax())]}': '{"label": int(logits.argmax())}'},
        says="should be a str",
    ),
    wrong(
        "answers 400 where the text asks for 422",
        step=3,
        replace={"status_code=422": "status_code=400"},
        says="the exercise asks for 422",
    ),
    wrong(
        "answers a wrong shape without the error's message",
        step=3,
        replace={"detail=str(err)": 'detail="wrong shape"'},
        says="leaves out the error's own message",
    ),
    right(
        "answers from an async function with a longer detail",
        step=3,
        replace={"def predict(": "async def predict(", "detail=str(err)": 'detail=f"bad pixels: {err}"'},
    ),
]
