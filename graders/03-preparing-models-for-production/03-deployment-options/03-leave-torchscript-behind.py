"""SCT for 3.3.3, Leave TorchScript behind."""

from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(
    multiple_choice(
        {
            1: "torch.jit.script is deprecated too: it prints the same FutureWarning, 'torch.jit.script is deprecated. "
            "Please switch to torch.compile or torch.export.' All of TorchScript is on its way out, so re-export.",
            3: "A pickled model needs Python, PyTorch and your classes where it loads, and it can run code when it is "
            "unpickled: no phone app or browser loads it. Export the weights to a format with runtimes there.",
            4: "torch.compile speeds up a model inside the running Python process; it writes no file to ship. For other "
            "devices, export with torch.export or ONNX.",
        }
    )
)

cases = [
    wrong(
        "thinks only tracing is deprecated",
        replace={"answer = 2": "answer = 1"},
        says="torch.jit.script is deprecated too",
    ),
    wrong("pickles the model", replace={"answer = 2": "answer = 3"}, says="no phone app or browser loads it"),
    wrong("thinks torch.compile writes a file", replace={"answer = 2": "answer = 4"}, says="writes no file"),
    right("writes the number with a comment", replace={"answer = 2": "answer = 2  # torch.export or ONNX"}),
]
