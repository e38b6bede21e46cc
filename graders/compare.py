"""Compares a learner's value with the expected one and says how they differ.

Tensors and arrays go through ``torch.testing.assert_close``; before that, shape, dtype,
device and ``requires_grad`` are compared one by one, so the message names the first
property that differs instead of a generic mismatch.
"""

from __future__ import annotations

import numpy as np
import torch

from graders.feedback import Fail
from graders.wire import Opaque


def show(value, limit: int = 120) -> str:
    """A short, readable rendering of a value for a message."""
    if isinstance(value, torch.Tensor):
        text = f"tensor of shape {tuple(value.shape)}, dtype {value.dtype}"
        if value.numel() <= 8:
            text = f"{value.tolist()!r} ({text})" if value.dim() else f"{value.item()!r} ({text})"
        return text
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}, dtype {value.dtype}"
    if isinstance(value, Opaque):
        text = value.text
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def type_name(value) -> str:
    if isinstance(value, Opaque):
        return value.type_name
    if isinstance(value, torch.Tensor):
        return "torch.Tensor"
    if isinstance(value, np.ndarray):
        return "numpy.ndarray"
    return type(value).__name__


def _kind(value) -> str:
    if isinstance(value, torch.Tensor):
        return "tensor"
    if isinstance(value, np.ndarray):
        return "array"
    return "other"


def device_of(tensor: torch.Tensor) -> str:
    """The device a tensor had in the sandbox (``wire.decode`` records it)."""
    return getattr(tensor, "wire_device", str(tensor.device))


def mismatch(
    name: str,
    got,
    want,
    *,
    rtol: float | None = None,
    atol: float | None = None,
    check_dtype: bool = True,
    check_device: bool = True,
    check_requires_grad: bool = True,
) -> Fail | None:
    """None when ``got`` matches ``want``; otherwise a Fail about the first difference."""
    if (rtol is None) != (atol is None):  # torch.testing wants both or neither
        rtol, atol = rtol or 0.0, atol or 0.0
    if _kind(got) != _kind(want) and not (isinstance(want, (int, float)) and isinstance(got, (int, float))):
        return Fail(
            f"`{name}` should be a {type_name(want)}, but it is a {type_name(got)}.",
            expected=type_name(want),
            got=type_name(got),
        )
    if isinstance(want, (torch.Tensor, np.ndarray)):
        return _array_mismatch(name, got, want, rtol, atol, check_dtype, check_device, check_requires_grad)
    if isinstance(want, float) or isinstance(got, float):
        if isinstance(got, bool) or isinstance(want, bool) or not isinstance(got, (int, float)):
            return _plain(name, got, want)
        try:
            torch.testing.assert_close(float(got), float(want), rtol=rtol, atol=atol)
        except AssertionError:
            return Fail(f"`{name}` has the wrong value.", expected=show(want), got=show(got))
        return None
    if isinstance(want, (list, tuple)) and isinstance(got, (list, tuple)):
        if type(got) is not type(want):
            return Fail(
                f"`{name}` should be a {type(want).__name__}, but it is a {type(got).__name__}.",
                expected=show(want),
                got=show(got),
            )
        if len(got) != len(want):
            return Fail(
                f"`{name}` should have {len(want)} items, but it has {len(got)}.", expected=show(want), got=show(got)
            )
        for i, (g, w) in enumerate(zip(got, want)):
            fail = mismatch(
                f"{name}[{i}]",
                g,
                w,
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                check_device=check_device,
                check_requires_grad=check_requires_grad,
            )
            if fail:
                return fail
        return None
    if isinstance(want, dict) and isinstance(got, dict):
        if set(got) != set(want):
            missing, extra = sorted(map(str, set(want) - set(got))), sorted(map(str, set(got) - set(want)))
            return Fail(
                f"`{name}` has the wrong keys.",
                expected=f"keys {sorted(map(str, want))}",
                got=f"missing {missing}, unexpected {extra}",
            )
        for key in want:
            fail = mismatch(
                f"{name}[{key!r}]",
                got[key],
                want[key],
                rtol=rtol,
                atol=atol,
                check_dtype=check_dtype,
                check_device=check_device,
                check_requires_grad=check_requires_grad,
            )
            if fail:
                return fail
        return None
    return _plain(name, got, want)


def _plain(name, got, want) -> Fail | None:
    if type(got) is not type(want) and not (isinstance(got, (int, float)) and isinstance(want, (int, float))):
        return Fail(
            f"`{name}` should be a {type_name(want)}, but it is a {type_name(got)}.", expected=show(want), got=show(got)
        )
    if got != want:
        return Fail(f"`{name}` has the wrong value.", expected=show(want), got=show(got))
    return None


def _array_mismatch(name, got, want, rtol, atol, check_dtype, check_device, check_requires_grad) -> Fail | None:
    if tuple(got.shape) != tuple(want.shape):
        return Fail(
            f"`{name}` has the wrong shape.", expected=f"shape {tuple(want.shape)}", got=f"shape {tuple(got.shape)}"
        )
    if check_dtype and got.dtype != want.dtype:
        return Fail(f"`{name}` has the wrong dtype.", expected=str(want.dtype), got=str(got.dtype))
    if isinstance(want, torch.Tensor):
        if check_device and device_of(got) != device_of(want):
            return Fail(
                f"`{name}` is on the wrong device.",
                expected=f"device {device_of(want)}",
                got=f"device {device_of(got)}",
            )
        if check_requires_grad and got.requires_grad != want.requires_grad:
            verb = "should" if want.requires_grad else "should not"
            return Fail(
                f"`{name}` {verb} track gradients (requires_grad).",
                expected=f"requires_grad={want.requires_grad}",
                got=f"requires_grad={got.requires_grad}",
            )
    try:
        # Devices were compared above; both cross to the grader on the CPU.
        torch.testing.assert_close(
            got, want, rtol=rtol, atol=atol, check_dtype=False, check_device=False, equal_nan=True, msg=lambda m: m
        )
    except AssertionError as err:
        if got.size == 1 if isinstance(got, np.ndarray) else got.numel() == 1:  # one number: show both
            return Fail(
                f"`{name}` has the wrong value.", expected=show(want), got=show(got), detail=_value_detail(str(err))
            )
        return Fail(f"`{name}` has the right shape but the wrong values.", detail=_value_detail(str(err)))
    except TypeError as err:  # e.g. bool vs float dtypes that assert_close will not mix
        return Fail(f"`{name}` has values of an unexpected kind: {err}")
    return None


def _value_detail(text: str) -> str:
    """Keep torch.testing's evidence (mismatch count, largest difference and where)."""
    keep = [
        l.strip()
        for l in text.splitlines()
        if l.strip().startswith(
            (
                "Mismatched elements",
                "Greatest absolute",
                "Greatest relative",
                "Absolute difference",
                "Relative difference",
            )
        )
    ]
    return "\n".join(keep) or text.strip()
