"""After the fit: the test measurement, the ONNX export and its check against PyTorch."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from course.core import onnxrt
from course.product.paths import MODEL_FILE
from course.product.train.network import Served

CHECK_IMAGES = 1000  # real test images on which ONNX Runtime must match PyTorch


def export_onnx(served_model, path: Path) -> None:
    import torch

    example = torch.zeros(2, 3, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's progress chatter and onnxscript's notes
        torch.onnx.export(
            served_model,
            (example,),
            str(path),
            input_names=["image"],
            output_names=["probs"],
            dynamic_shapes={"x": {0: torch.export.Dim("batch", min=1, max=4096)}},
            external_data=False,
            verbose=False,
        )


def predict_onnx(session, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities (N, 10) for uint8 images (N, 32, 32, 3), via the one preprocessing."""
    from course.core.preprocess import to_model_input

    out = [
        session.run(None, {"image": to_model_input(images[i : i + batch_size])})[0]
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out)


def predict_torch(model, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    import torch

    from course.core.preprocess import to_model_input

    with torch.inference_mode():
        return torch.cat(
            [
                model(torch.from_numpy(to_model_input(images[i : i + batch_size])))
                for i in range(0, len(images), batch_size)
            ]
        ).numpy()


def per_class_accuracy(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    from course.core.data import CLASSES

    return {name: float((pred[labels == k] == k).mean()) for k, name in enumerate(CLASSES)}


def evaluate_and_export(best, x_test, y_test, out: Path, flip_tta: bool, threads: int) -> dict:
    """Measure ``best`` (fp32, eval mode) on the test set, export it to ``out/model.onnx``
    and check the file against PyTorch on real test images: the card's "evaluation"."""
    served = Served(best, flip=flip_tta)
    probs_torch = predict_torch(served, x_test)
    other = predict_torch(Served(best, flip=not flip_tta), x_test)  # the other choice, for the card
    out.mkdir(parents=True, exist_ok=True)
    onnx_path = out / MODEL_FILE
    export_onnx(served, onnx_path)
    probs_onnx = predict_onnx(onnxrt.session(onnx_path, threads=threads), x_test)
    n_check = min(CHECK_IMAGES, len(x_test))
    diff = float(np.abs(probs_onnx[:n_check] - probs_torch[:n_check]).max())
    agree = float((probs_onnx[:n_check].argmax(1) == probs_torch[:n_check].argmax(1)).mean())
    if diff > 1e-3 or agree < 0.99:
        raise SystemExit(
            f"course train: the ONNX export does not match PyTorch on {n_check} test images "
            f"(largest probability difference {diff:.2e}, top class agreement {agree:.4f})"
        )
    pred = probs_onnx.argmax(1)
    other_name = "test_accuracy_flip_tta" if not flip_tta else "test_accuracy_no_flip"
    return {
        "n_test": len(x_test),
        "test_accuracy_torch": float((probs_torch.argmax(1) == y_test).mean()),
        "test_accuracy_onnx": float((pred == y_test).mean()),
        other_name: float((other.argmax(1) == y_test).mean()),
        "per_class": per_class_accuracy(pred, np.asarray(y_test)),
        "onnx_check": {"images": n_check, "max_abs_diff": diff, "argmax_agreement": agree},
    }
