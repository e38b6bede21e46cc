"""SCT for 3.3.2, Run the model with ONNX Runtime."""

from graders.sct import SCT, exported_file, ort_session, right, uses, variable, wrong
from graders.sct.observed import ort_ran

sct = SCT(
    uses("torch.onnx.export", msg='Export with torch.onnx.export(model, (images[:2],), "model.onnx", ...).'),
    exported_file("model.onnx").reproduces(
        "model",
        batches=(1, 8),
        batch_msg="model.onnx only accepts the batch size it was exported with: pass dynamic_shapes="
        '{"x": {0: Dim("batch")}} to torch.onnx.export.',
        other_msg="model.onnx does not reproduce `model`: its outputs are those of a model in evaluation mode, but "
        "of other weights. Export the trained `model` itself.",
    ),
    ort_session("session"),
    ort_ran(
        "session",
        rows=8,
        never_msg=(
            "`session` never ran, so `logits` did not come from ONNX Runtime: a model's outputs computed with PyTorch "
            'say nothing about the file. Run the images through session.run(None, {"x": images.numpy()}).'
        ),
        rows_msg="Run all eight `images` through the session in one call: it ran on {got}.",
    ),
    variable("logits")
    .instance_of(
        "numpy.ndarray",
        msg=(
            "session.run returns a list with one NumPy array per output of the graph: keep the first, [0], as `logits`."
        ),
    )
    .equals(atol=1e-4, rtol=1e-4),
    errors={
        r"Got invalid dimensions for input": "ONNX Runtime refused the batch of 8: the file was exported with a fixed batch size. Pass "
        'dynamic_shapes={"x": {0: Dim("batch")}} to torch.onnx.export.',
        r"Input must be a list of dictionaries or a single numpy array": "ONNX Runtime takes NumPy arrays, not torch tensors: pass images.numpy().",
        r"Required inputs \(\[.*\]\) are missing|Invalid input name": "The input's name is the name of forward's argument, \"x\" (session.get_inputs()[0].name says so).",
    },
)

cases = [
    wrong(
        "limits the inter-op threads instead of the intra-op ones",
        replace={"options.intra_op_num_threads = 1": "options.inter_op_num_threads = 1"},
        says="inter_op_num_threads, for parallel branches",
    ),
    wrong(
        "turns off the spinning of the inter-op threads",
        replace={"session.intra_op.allow_spinning": "session.inter_op.allow_spinning"},
        says="still spin while idle",
    ),
    wrong(
        "exports a new, untrained model",
        replace={"torch.onnx.export(model,": "torch.onnx.export(SmallCNN().eval(),"},
        says="but of other weights",
    ),
    right(
        "names the options by keyword, takes the default provider and exports by position",
        replace={
            'session = ort.InferenceSession("model.onnx", options, providers=["CPUExecutionProvider"])': 'session = ort.InferenceSession("model.onnx", sess_options=options)',
            'dynamic_shapes={"x": {0: Dim("batch")}}': 'dynamic_shapes=({0: Dim("n")},), input_names=["x"]',
            "images.numpy()": "images.detach().cpu().numpy()",
        },
    ),
    wrong(
        "keeps ONNX Runtime's default threads",
        replace={
            "options = ort.SessionOptions()\noptions.intra_op_num_threads = 1\n"
            'options.add_session_config_entry("session.intra_op.allow_spinning", "0")\n': "",
            '"model.onnx", options, providers': '"model.onnx", providers',
        },
        says="spin while idle and slow down PyTorch",
    ),
    wrong(
        "exports a fixed batch size",
        replace={' dynamic_shapes={"x": {0: Dim("batch")}},': ""},
        says="exported with a fixed batch size",
    ),
    wrong("passes a torch tensor", replace={"images.numpy()": "images"}, says="takes NumPy arrays"),
    wrong(
        "guesses the input's name",
        replace={'{"x": images.numpy()}': '{"input": images.numpy()}'},
        says="name of forward's argument",
    ),
    wrong(
        "computes the logits with PyTorch",
        replace={'logits = session.run(None, {"x": images.numpy()})[0]': "logits = model(images).detach().numpy()"},
        says="did not come from ONNX Runtime",
    ),
    wrong(
        "runs two of the images",
        replace={'{"x": images.numpy()}': '{"x": images[:2].numpy()}'},
        says="Run all eight `images`",
    ),
    wrong(
        "keeps the list of outputs",
        replace={
            'logits = session.run(None, {"x": images.numpy()})[0]': 'logits = session.run(None, {"x": images.numpy()})',
            "print(logits.argmax(axis=1))": "print(len(logits))",
        },
        says="returns a list with one NumPy array per output",
    ),
    right(
        "reads the input's name from the session",
        replace={'{"x": images.numpy()}': "{session.get_inputs()[0].name: images.numpy()}"},
    ),
    right(
        "runs the batch as float32 NumPy and keeps the first output by name",
        replace={
            'logits = session.run(None, {"x": images.numpy()})[0]': 'logits = session.run([session.get_outputs()[0].name], {"x": images.numpy().astype("float32")})[0]'
        },
    ),
]
