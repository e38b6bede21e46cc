"""The one way the course opens an ONNX Runtime session (the product, the chapters' helpers
and the graders all use it).

ONNX Runtime's defaults suit a process that does nothing else: one intra-op thread per
core, spinning while idle. Next to PyTorch, or inside a web server, the spinning threads
steal the cores (ORT issue 13808: PyTorch measured several times slower), so every session
here runs on the CPU with ``threads`` intra-op threads (one unless asked), one inter-op
thread, and no spinning.
"""

from __future__ import annotations


def session_options(threads: int = 1):
    """``onnxruntime.SessionOptions``: ``threads`` intra-op threads, one inter-op thread,
    spinning off for both."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return options


def session(path, threads: int = 1):
    """An ``onnxruntime.InferenceSession`` for the ONNX file at ``path``, on the CPU, made
    with ``session_options(threads)``."""
    import onnxruntime as ort

    return ort.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])
