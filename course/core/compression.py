"""Helpers for the lesson on compressing a model: a trained model to compress, its ONNX
export, and one way to measure every variant (size on disk, latency, agreement).

Training the small CNN (two epochs of 2,048 images) and exporting it to ONNX take a few
seconds on a small CPU, and every exercise of the lesson starts from them, so both are
made once and kept in ``~/.cache/course/``, keyed by everything they depend on.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "course"


def _key(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else repr(part).encode())
    return digest.hexdigest()[:16]


def _state_bytes(model) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def _store(path: Path, write) -> None:
    """Write a cache file atomically: a parallel run sees the whole file or none."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=CACHE, delete=False) as tmp:
        name = tmp.name
    try:
        write(name)
        os.replace(name, path)
    finally:
        if os.path.exists(name):
            os.remove(name)


def train_cached(model, x, y, *, epochs: int = 2, lr: float = 2e-3, batch_size: int = 64, seed: int = 0):
    """Train ``model`` with Adam on ``(x, y)`` (or load the weights a previous run of the
    same recipe cached); returns the model in eval mode."""
    torch.manual_seed(seed)
    for module in model.modules():  # the same starting weights whatever ran before
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()
    path = (
        CACHE
        / f"trained-{_key(repr(model), _state_bytes(model), x.shape, float(x.sum()), epochs, lr, batch_size, seed, torch.__version__)}.pt"
    )
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), batch_size):
            idx = order[i : i + batch_size]
            optimizer.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()
    _store(path, lambda name: torch.save(model.state_dict(), name))
    return model.eval()


def export_onnx_cached(model, path: str, example) -> str:
    """Export ``model`` to ONNX at ``path`` (input "images" with a dynamic batch, output
    "logits", all weights in the one file), reusing a cached export of the same weights."""
    cached = CACHE / f"onnx-{_key(repr(model), _state_bytes(model), tuple(example.shape), torch.__version__)}.onnx"
    if not cached.exists():

        def export(name):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    (example,),
                    name,
                    input_names=["images"],
                    output_names=["logits"],
                    dynamic_shapes=({0: torch.export.Dim("batch")},),
                    external_data=False,
                    verbose=False,
                )

        _store(cached, export)
    shutil.copyfile(cached, path)
    return path


def ort_session(path: str):
    """An ONNX Runtime session on one thread with spinning off, so it does not slow down
    PyTorch in the same process (onnxruntime issue 13808)."""
    from course.core import onnxrt

    return onnxrt.session(path)


def as_logits(out):
    """Logits as a float tensor, from a tensor (any float dtype) or a NumPy array."""
    if not isinstance(out, torch.Tensor):
        out = torch.as_tensor(out)
    return out.float()


def measure(name: str, predict, path: str, images, labels, reference, *, repeats: int = 5) -> dict:
    """One row of the comparison: size of ``path`` on disk in kB, median milliseconds for a
    batch of 64, agreement of the predicted classes with ``reference`` (the original
    model's) and accuracy against ``labels``."""
    with torch.no_grad():
        pred = as_logits(predict(images)).argmax(dim=1)
        batch = images[:64]
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            predict(batch)
            times.append(time.perf_counter() - start)
    return {
        "name": name,
        "size_kb": round(os.path.getsize(path) / 1024, 1),
        "ms_per_64": round(1000 * statistics.median(times), 2),
        "agreement": round((pred == reference).float().mean().item(), 4),
        "accuracy": round((pred == labels).float().mean().item(), 4),
    }
