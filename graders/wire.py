"""What crosses from the sandbox to the trusted grader: plain data only.

The sandbox encodes probe results into tensors, numbers, strings and containers, and the
trusted side decodes them with ``torch.load(weights_only=True)``, which refuses to build
arbitrary objects: a learner's object cannot run code in the grader by being unpickled.
"""

from __future__ import annotations

import io

import numpy as np
import torch

_MAX_REPR = 2000


def encode(value, _depth: int = 0):
    """Turn a learner's value into data that ``weights_only`` loading accepts. Only exact
    built-in types cross as themselves: a subclass (of int, str, Tensor...) could carry a
    ``__reduce__`` of its own, so it crosses as plain data or as its repr."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        requires_grad, device = bool(value.requires_grad), str(value.device)
        tensor = value.detach()
        if type(tensor) is not torch.Tensor:  # nn.Parameter or a learner's subclass
            tensor = tensor.as_subclass(torch.Tensor)
        return {"__tensor__": tensor.to("cpu").clone(), "device": device, "requires_grad": requires_grad}
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "biufc":
            return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value).copy()), "dtype": str(value.dtype)}
        return {"__repr__": repr(value)[:_MAX_REPR], "type": "numpy.ndarray"}
    if isinstance(value, np.generic):
        return value.item()
    if _depth < 4:
        # Containers are rebuilt as plain ones, so their own class never crosses.
        if isinstance(value, (list, tuple)) and len(value) <= 10_000:
            items = [encode(v, _depth + 1) for v in value]
            return items if isinstance(value, list) else {"__tuple__": items}
        if isinstance(value, dict) and len(value) <= 10_000:
            return {"__dict__": [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]}
    if isinstance(value, (torch.dtype, torch.device, torch.Size)):
        return {
            "__repr__": str(tuple(value)) if isinstance(value, torch.Size) else str(value),
            "type": type(value).__name__,
        }
    try:
        text = repr(value)
    except Exception as err:  # a learner's __repr__ may raise
        text = f"<unprintable: {type(err).__name__}>"
    return {"__repr__": text[:_MAX_REPR], "type": f"{type(value).__module__}.{type(value).__qualname__}"}


def decode(value):
    """Rebuild the values ``encode`` produced (on the trusted side)."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            tensor = value["__tensor__"]
            if value["requires_grad"] and (tensor.is_floating_point() or tensor.is_complex()):
                tensor.requires_grad_(True)
            tensor.wire_device = value["device"]  # where it lived in the sandbox; it crosses on the CPU
            return tensor
        if "__ndarray__" in value:
            return value["__ndarray__"].numpy()
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            return {_hashable(decode(k)): decode(v) for k, v in value["__dict__"]}
        if "__repr__" in value:
            return Opaque(value["__repr__"], value["type"])
        return {k: decode(v) for k, v in value.items()}
    return value


def _hashable(key):
    return key if isinstance(key, (str, int, float, bool, tuple, type(None))) else repr(key)


class Opaque:
    """A value that could not cross as data, kept as its repr and type name."""

    def __init__(self, text: str, type_name: str):
        self.text, self.type_name = text, type_name

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other) -> bool:
        return isinstance(other, Opaque) and (self.text, self.type_name) == (other.text, other.type_name)

    def __hash__(self) -> int:
        return hash((self.text, self.type_name))


def dumps(payload) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def loads(data: bytes):
    """Raises ``pickle.UnpicklingError`` for anything but plain data: never builds objects."""
    return torch.load(io.BytesIO(data), weights_only=True)
