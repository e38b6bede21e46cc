"""SCT for 3.3.3, Leave TorchScript behind."""
from graders.sct import SCT, multiple_choice, right, wrong

sct = SCT(multiple_choice({
    1: "TorchScript is deprecated: torch.jit.trace, script and load all warn, and the warning recommends "
       "torch.export (or torch.compile in Python). New fixes and runtimes go to the export paths.",
    3: "A pickled model needs Python, PyTorch and your classes where it loads, and it can run code when it is "
       "unpickled: no phone app or browser loads it. Export the weights to a format with runtimes there.",
    4: "torch.compile speeds up a model inside the running Python process; it writes no file to ship. For other "
       "devices, export with torch.export or ONNX.",
}))

cases = [
    wrong("keeps TorchScript", replace={"answer = 2": "answer = 1"}, says="TorchScript is deprecated"),
    wrong("pickles the model", replace={"answer = 2": "answer = 3"}, says="no phone app or browser loads it"),
    wrong("thinks torch.compile writes a file", replace={"answer = 2": "answer = 4"}, says="writes no file"),
    right("writes the number with a comment", replace={"answer = 2": "answer = 2  # torch.export or ONNX"}),
]
