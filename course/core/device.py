"""Pick the torch device the course runs on.

``COURSE_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``, ``mps``) forces a device and
fails loudly if this machine lacks it, so a CI job or a grader never silently
falls back to the CPU. Otherwise: CUDA, then Apple MPS, then CPU.
"""

from __future__ import annotations

import os

import torch

ENV_DEVICE = "COURSE_DEVICE"


def available_devices() -> list[str]:
    """Names of the devices usable here, e.g. ``['cpu', 'cuda:0']``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if torch.backends.mps.is_available():
        names.append("mps")
    return names


def _parse(spec: str, origin: str) -> torch.device:
    try:
        device = torch.device(spec.strip().lower())
    except (RuntimeError, ValueError) as err:
        raise RuntimeError(
            f"{origin}={spec!r} is not a device name; use cpu, cuda, cuda:N "
            f"or mps (available here: {', '.join(available_devices())})"
        ) from err
    if device.type not in ("cpu", "cuda", "mps"):
        raise RuntimeError(
            f"{origin}={spec!r}: only cpu, cuda, cuda:N and mps are supported "
            f"(available here: {', '.join(available_devices())})"
        )
    return device


def _is_available(device: torch.device) -> bool:
    if device.type == "cpu":
        return True
    if device.type == "cuda":
        return torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count()
    return torch.backends.mps.is_available()


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """The device to use.

    ``COURSE_DEVICE`` wins and must be available (else ``RuntimeError``). ``prefer`` is a
    soft wish: used if available here, otherwise auto-detection (CUDA, MPS, CPU) applies,
    so notebooks written on a GPU machine still run on a laptop.
    """
    forced = os.environ.get(ENV_DEVICE, "").strip()
    if forced:
        device = _parse(forced, ENV_DEVICE)
        if not _is_available(device):
            raise RuntimeError(
                f"{ENV_DEVICE}={forced!r} but that device is not available on "
                f"this machine (available: {', '.join(available_devices())}); "
                f"change or unset {ENV_DEVICE}."
            )
        return device
    if prefer is not None:
        device = prefer if isinstance(prefer, torch.device) else _parse(str(prefer), "prefer")
        if _is_available(device):
            return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: str | torch.device) -> str:
    """One line for logs, e.g. ``cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB)``."""
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        props = torch.cuda.get_device_properties(index)
        return f"cuda:{index} ({props.name}, {props.total_memory / 2**30:.1f} GiB)"
    if device.type == "mps":
        return "mps (Apple Metal Performance Shaders)"
    if device.type == "cpu":
        return f"cpu ({os.cpu_count()} logical cores, torch uses {torch.get_num_threads()} threads)"
    return str(device)
