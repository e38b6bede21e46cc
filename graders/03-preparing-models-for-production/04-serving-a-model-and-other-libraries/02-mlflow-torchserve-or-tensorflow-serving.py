"""SCT for 3.4.2, What a serving library adds."""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            2: "A registry stores and versions models; something still has to run them and answer requests. MLflow can "
            "start such a server (mlflow models serve), or your own FastAPI app can load the registered model.",
            3: "FastAPI with ONNX Runtime or torch.export is a common, reliable way to serve PyTorch models. TorchServe adds "
            "packaging and management, and is now in limited maintenance: it is an option, never a requirement.",
            4: "TensorFlow Serving serves TensorFlow SavedModels; it reads neither .pt2 nor .onnx files. A PyTorch team "
            "would have to convert the model first, and gains nothing for it.",
        }
    )
)

cases = [
    wrong(
        "thinks a registry replaces the server",
        replace={"answer = 1": "answer = 2"},
        says="something still has to run them",
    ),
    wrong("thinks TorchServe is required", replace={"answer = 1": "answer = 3"}, says="never a requirement"),
    wrong(
        "thinks TensorFlow Serving reads PyTorch files",
        replace={"answer = 1": "answer = 4"},
        says="reads neither .pt2 nor .onnx",
    ),
    right("writes the number with a comment", replace={"answer = 1": "answer = 1  # registry, packaging, TF models"}),
]
