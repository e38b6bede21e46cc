"""Tests of course.core.device with CUDA / MPS availability faked (runs on any machine)."""

from types import SimpleNamespace

import pytest
import torch

from course.core import device as dev


@pytest.fixture
def fake(monkeypatch):
    """Set what this 'machine' has: fake(cuda=2, mps=False)."""
    monkeypatch.delenv(dev.ENV_DEVICE, raising=False)

    def set_machine(cuda=0, mps=False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)

    return set_machine


def test_auto_order_cuda_then_mps_then_cpu(fake):
    fake(cuda=1, mps=True)
    assert dev.get_device() == torch.device("cuda")
    fake(cuda=0, mps=True)
    assert dev.get_device() == torch.device("mps")
    fake(cuda=0, mps=False)
    assert dev.get_device() == torch.device("cpu")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("cpu", "cpu"),
        ("cuda", "cuda"),
        ("cuda:1", "cuda:1"),
        (" CUDA:0 ", "cuda:0"),
        ("mps", "mps"),
    ],
)
def test_env_var_forces_device(fake, monkeypatch, value, expected):
    fake(cuda=2, mps=True)
    monkeypatch.setenv(dev.ENV_DEVICE, value)
    assert dev.get_device() == torch.device(expected)
    assert dev.get_device(prefer="cpu") == torch.device(expected)  # the env var beats prefer


@pytest.mark.parametrize("value", ["cuda", "cuda:2", "mps"])
def test_forced_unavailable_device_raises(fake, monkeypatch, value):
    fake(cuda=2 if value == "cuda:2" else 0, mps=False)
    monkeypatch.setenv(dev.ENV_DEVICE, value)
    with pytest.raises(RuntimeError, match="not available") as info:
        dev.get_device()
    assert "available: cpu" in str(info.value)  # says what the machine does have


def test_forced_nonsense_device_raises(fake, monkeypatch):
    fake()
    monkeypatch.setenv(dev.ENV_DEVICE, "gpu")
    with pytest.raises(RuntimeError, match="COURSE_DEVICE"):
        dev.get_device()


def test_empty_env_var_means_auto(fake, monkeypatch):
    fake(cuda=0, mps=False)
    monkeypatch.setenv(dev.ENV_DEVICE, "")
    assert dev.get_device() == torch.device("cpu")


def test_prefer_is_soft(fake):
    fake(cuda=1, mps=False)
    assert dev.get_device(prefer="cpu") == torch.device("cpu")
    fake(cuda=0, mps=False)
    assert dev.get_device(prefer="cuda") == torch.device("cpu")  # falls back, no error


def test_available_devices(fake):
    fake(cuda=2, mps=True)
    assert dev.available_devices() == ["cpu", "cuda:0", "cuda:1", "mps"]


def test_describe_device(monkeypatch):
    assert dev.describe_device("cpu").startswith("cpu (")
    assert dev.describe_device(torch.device("mps")).startswith("mps")
    props = SimpleNamespace(name="Fake GPU", total_memory=80 * 2**30)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: props)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert dev.describe_device("cuda") == "cuda:0 (Fake GPU, 80.0 GiB)"
    assert dev.describe_device("cuda:1").startswith("cuda:1 (Fake GPU")
