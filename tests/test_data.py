"""Tests of course.core.data, the course's one CIFAR-10 loader (offline, a few seconds)."""

import ast
import hashlib
import shutil
import sys
import types
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch

from course.core import data
from course.core.data import DatasetError


@pytest.fixture(autouse=True)
def _no_env_dir(monkeypatch):
    # A developer's own COURSE_CIFAR10_DIR must not change what these tests load.
    monkeypatch.delenv(data.ENV_DIR, raising=False)


@pytest.fixture
def subset_copy(tmp_path, monkeypatch):
    """A private copy of datasets/cifar10 that the loader reads instead of the real one."""
    copy = tmp_path / "cifar10"
    shutil.copytree(data.SUBSET_DIR, copy)
    monkeypatch.setattr(data, "SUBSET_DIR", copy)
    return copy


def _write_shared(directory, n_train=12, n_test=6, seed=0, **overrides):
    """Tiny files in the shared format: images uint8 (N,32,32,3), labels uint8 (N,)."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for name, n in (("cifar10_train.npz", n_train), ("cifar10_test.npz", n_test)):
        images = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        content = {"images": images, "labels": labels, **overrides}
        np.savez_compressed(directory / name, **content)
        arrays[name] = (images, labels)
    return arrays


# --- the shipped subset ------------------------------------------------------------------


def test_constants():
    assert data.CLASSES == ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
    assert data.MEAN == (0.4914, 0.4822, 0.4465)
    assert data.STD == (0.2470, 0.2435, 0.2616)


def test_subset_arrays_shapes_and_dtypes():
    images, labels = data.load_arrays("train")
    assert images.shape == (2700, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (2700,) and labels.dtype == np.int64
    images, labels = data.load_arrays("val")
    assert images.shape == (300, 32, 32, 3) and labels.shape == (300,)
    images, labels = data.load_arrays("test")
    assert images.shape == (1000, 32, 32, 3) and labels.shape == (1000,)


def test_subset_files_are_listed_in_sha256sums():
    lines = (data.SUBSET_DIR / "SHA256SUMS").read_text().splitlines()
    sums = dict(reversed(line.split("  ")) for line in lines)
    assert set(sums) == set(data.SUBSET_FILES.values())
    for name, digest in sums.items():
        assert hashlib.sha256((data.SUBSET_DIR / name).read_bytes()).hexdigest() == digest


def test_no_python_files_under_datasets():
    # A datasets/*.py would make `import datasets` pick up this folder instead of Hugging Face's.
    assert not list((data.REPO_ROOT / "datasets").rglob("*.py"))


def test_val_is_held_out_of_the_training_file_and_bad_split():
    train, val, test = (data.load_arrays(split) for split in ("train", "val", "test"))
    # The tail of the one training file: the two splits together are the file, in order.
    file = data._load_file(data.SUBSET_DIR / data.SUBSET_FILES["train"], "subset")
    np.testing.assert_array_equal(np.concatenate([train[0], val[0]]), file[0])
    assert not np.shares_memory(train[0], val[0]) and not np.shares_memory(val[0], test[0])
    # No image in two splits (the source files hold no duplicates across train and test).
    seen = {img.tobytes() for img in test[0]}
    assert not any(img.tobytes() in seen for img in val[0])
    assert data.validation_size(3000) == 300 and data.validation_size(50000) == 2000
    with pytest.raises(ValueError, match="train"):
        data.load_arrays("validation")


def test_subset_is_class_balanced():
    for split, per_class, slack in (("train", 270, 0.25), ("val", 30, 0.5), ("test", 100, 0.25)):
        counts = np.bincount(data.load_arrays(split)[1], minlength=10)
        assert len(counts) == 10
        # A shuffled slice is balanced up to sampling noise (~2.5-3 sigma here; 15..39 in val).
        assert counts.min() >= (1 - slack) * per_class and counts.max() <= (1 + slack) * per_class, counts


def test_arrays_are_cached_and_read_only():
    images, labels = data.load_arrays("train")
    again, _ = data.load_arrays("train")
    assert np.shares_memory(images, again)  # second call served from the cache
    with pytest.raises(ValueError):
        images[0, 0, 0, 0] = 1
    with pytest.raises(ValueError):
        labels.setflags(write=True)  # a view of a read-only array stays read-only


@pytest.mark.parametrize(
    "module, allowed",
    [
        # torchvision costs ~1.5 s to import: it must stay inside the download branch.
        ("course/core/data.py", {"numpy", "torch", "course.core.preprocess", "course.core.paths"}),
        # The served model's preprocessing: Pillow only when an image is decoded, never torch.
        ("course/core/preprocess.py", {"numpy"}),
    ],
)
def test_only_cheap_imports_at_module_level(module, allowed):
    tree = ast.parse((Path(data.__file__).parents[2] / module).read_text())
    allowed = set(sys.stdlib_module_names) | allowed
    for node in tree.body:
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name in allowed or name.split(".")[0] in allowed, f"{module} imports {name}"


# --- tensors and loaders -----------------------------------------------------------------


def test_tensors_shapes_dtypes_and_normalisation():
    raw, y = data.load_tensors("train", 256, normalize=False)
    assert raw.shape == (256, 3, 32, 32) and raw.dtype == torch.float32 and raw.is_contiguous()
    assert y.shape == (256,) and y.dtype == torch.int64
    assert 0.0 <= raw.min() and raw.max() <= 1.0

    images, labels = data.load_arrays("train")
    expected = torch.from_numpy(images[:256].astype(np.float32) / 255).permute(0, 3, 1, 2)
    torch.testing.assert_close(raw, expected)
    torch.testing.assert_close(y, torch.from_numpy(labels[:256].copy()))

    x, _ = data.load_tensors("train", 256)
    mean, std = torch.tensor(data.MEAN).view(1, 3, 1, 1), torch.tensor(data.STD).view(1, 3, 1, 1)
    torch.testing.assert_close(x, (raw - mean) / std)


def test_normalised_subset_is_roughly_standardised():
    x, _ = data.load_tensors("train")
    torch.testing.assert_close(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=0.05, rtol=0)
    torch.testing.assert_close(x.std(dim=(0, 2, 3)), torch.ones(3), atol=0.05, rtol=0)


def test_n_larger_than_source_names_source_and_full_data():
    with pytest.raises(DatasetError, match="shipped subset") as info:
        data.load_tensors("train", 2701)
    assert data.ENV_DIR in str(info.value)
    with pytest.raises(ValueError):
        data.load_tensors("train", 0)


def test_dataset():
    ds = data.cifar10_dataset("test", 50)
    assert len(ds) == 50
    x, y = ds[0]
    assert x.shape == (3, 32, 32) and y.dtype == torch.int64


def _label_order(loader):
    return torch.cat([y for _, y in loader])


def test_train_loader_order_is_deterministic_per_seed():
    train_a, val = data.cifar10_loaders(batch_size=32, n_train=200, n_val=100, seed=0)
    torch.manual_seed(123)  # the global RNG must not matter
    train_b, _ = data.cifar10_loaders(batch_size=32, n_train=200, n_val=100, seed=0)
    train_c, _ = data.cifar10_loaders(batch_size=32, n_train=200, n_val=100, seed=1)
    first = _label_order(train_a)
    torch.testing.assert_close(first, _label_order(train_b))
    assert not torch.equal(first, _label_order(train_c))
    # Shuffled, but the same 200 examples.
    _, y = data.load_tensors("train", 200)
    assert not torch.equal(first, y)
    torch.testing.assert_close(first.sort().values, y.sort().values)


def test_val_loader_is_validation_split_in_order():
    _, val = data.cifar10_loaders(batch_size=32, n_train=10, n_val=100)
    x, y = data.load_tensors("val", 100)
    torch.testing.assert_close(torch.cat([xb for xb, _ in val]), x)
    torch.testing.assert_close(_label_order(val), y)


# --- path= and COURSE_CIFAR10_DIR --------------------------------------------------------


def test_path_argument_reads_shared_format(tmp_path):
    arrays = _write_shared(tmp_path / "full")
    images, labels = data.load_arrays("train", path=tmp_path / "full")
    np.testing.assert_array_equal(images, arrays["cifar10_train.npz"][0][:11])  # 1 of 12 held out
    assert labels.dtype == np.int64
    val_images, _ = data.load_arrays("val", path=tmp_path / "full")
    np.testing.assert_array_equal(val_images, arrays["cifar10_train.npz"][0][11:])
    x, y = data.load_tensors("test", path=tmp_path / "full", normalize=False)
    assert x.shape == (6, 3, 32, 32)
    torch.testing.assert_close(y, torch.arange(6) % 10)
    _write_shared(tmp_path / "small", n_train=5)
    with pytest.raises(DatasetError, match="too few to hold out a validation split"):
        data.load_arrays("val", path=tmp_path / "small")


def test_env_var_reads_shared_format_and_path_wins(tmp_path, monkeypatch):
    env_arrays = _write_shared(tmp_path / "env", n_train=7, seed=1)
    _write_shared(tmp_path / "arg", n_train=5, seed=2)
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path / "env"))
    images, _ = data.load_arrays("train")
    np.testing.assert_array_equal(images, env_arrays["cifar10_train.npz"][0])
    assert len(data.load_arrays("train", path=tmp_path / "arg")[0]) == 5
    with pytest.raises(DatasetError, match=data.ENV_DIR):
        data.load_tensors("train", 8)


def test_cache_notices_a_rewritten_file(tmp_path):
    _write_shared(tmp_path, n_train=4)
    assert len(data.load_arrays("train", path=tmp_path)[0]) == 4
    _write_shared(tmp_path, n_train=9)  # new size and mtime: a new cache key
    assert len(data.load_arrays("train", path=tmp_path)[0]) == 9  # under 10 rows: none held out


def test_path_missing_dir_or_file(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match="not a directory"):
        data.load_arrays("train", path=tmp_path / "nope")
    monkeypatch.setenv(data.ENV_DIR, str(tmp_path))
    with pytest.raises(DatasetError, match="cifar10_train.npz") as info:
        data.load_arrays("train")
    assert data.ENV_DIR in str(info.value)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"images": np.zeros((4, 3, 32, 32), np.uint8)}, "images must be uint8"),
        ({"images": np.zeros((12, 32, 32, 3), np.float32)}, "images must be uint8"),
        ({"labels": np.zeros(3, np.uint8)}, "12 images but 3 labels"),
        ({"labels": np.full(12, 10, np.uint8)}, "0..9"),
    ],
)
def test_wrong_layout_is_a_dataset_error(tmp_path, overrides, message):
    _write_shared(tmp_path, **overrides)
    with pytest.raises(DatasetError, match=message) as info:
        data.load_arrays("train", path=tmp_path)
    assert "cifar10_train.npz" in str(info.value)


def test_missing_array_is_a_dataset_error(tmp_path):
    np.savez_compressed(tmp_path / "cifar10_train.npz", images=np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(DatasetError, match="no labels array"):
        data.load_arrays("train", path=tmp_path)


def test_truncated_unknown_file_is_a_dataset_error(tmp_path):
    _write_shared(tmp_path)
    file = tmp_path / "cifar10_train.npz"
    file.write_bytes(file.read_bytes()[:5000])
    with pytest.raises(DatasetError, match="cifar10_train.npz") as info:
        data.load_arrays("train", path=tmp_path)
    assert info.value.__cause__ is not None  # the numpy/zipfile error is chained, not shown raw


def test_known_full_file_with_wrong_hash(tmp_path, monkeypatch):
    # Pretend the tiny file has the official size, so its hash is checked (and fails).
    _write_shared(tmp_path)
    size = (tmp_path / "cifar10_test.npz").stat().st_size
    monkeypatch.setitem(data._KNOWN_FULL_FILES, "cifar10_test.npz", (size, "0" * 64))
    with pytest.raises(DatasetError, match="sha256") as info:
        data.load_arrays("test", path=tmp_path)
    assert "cifar10_test.npz" in str(info.value) and "Re-copy" in str(info.value)


# --- damaged shipped subset --------------------------------------------------------------


def test_subset_copy_loads(subset_copy):
    images, _ = data.load_arrays("test")
    np.testing.assert_array_equal(images[:3], np.load(subset_copy / "cifar10_test_subset.npz")["images"][:3])


def test_missing_subset_file(subset_copy):
    (subset_copy / "cifar10_test_subset.npz").unlink()
    with pytest.raises(DatasetError, match="cifar10_test_subset.npz") as info:
        data.load_arrays("test")
    assert "git checkout -- datasets/cifar10/" in str(info.value)


def test_truncated_subset_file(subset_copy):
    file = subset_copy / "cifar10_train_subset.npz"
    file.write_bytes(file.read_bytes()[:100_000])
    with pytest.raises(DatasetError, match="cifar10_train_subset.npz.*corrupt or truncated") as info:
        data.load_arrays("train")
    assert "git checkout -- datasets/cifar10/" in str(info.value)


def test_corrupted_subset_file(subset_copy):
    file = subset_copy / "cifar10_test_subset.npz"
    raw = bytearray(file.read_bytes())
    raw[50_000:50_016] = bytes(b ^ 0xFF for b in raw[50_000:50_016])  # same size, bad bytes
    file.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="cifar10_test_subset.npz.*sha256"):
        data.load_arrays("test")


def test_missing_checksum_file(subset_copy):
    (subset_copy / "SHA256SUMS").unlink()
    with pytest.raises(DatasetError, match="SHA256SUMS"):
        data.load_arrays("train")


# --- the download branch (no network: torchvision is faked) ------------------------------


class _FakeCIFAR10:
    calls = []

    def __init__(self, root, train=True, download=False):
        type(self).calls.append((root, train, download))
        n = 20 if train else 10
        self.data = np.full((n, 32, 32, 3), 7 if train else 9, dtype=np.uint8)
        self.targets = [i % 10 for i in range(n)]  # torchvision gives a list of ints


@pytest.fixture
def fake_torchvision(monkeypatch):
    # Fake modules in sys.modules: no 1.5 s torchvision import, no network.
    datasets = types.ModuleType("torchvision.datasets")
    datasets.CIFAR10 = _FakeCIFAR10
    torchvision = types.ModuleType("torchvision")
    torchvision.datasets = datasets
    monkeypatch.setitem(sys.modules, "torchvision", torchvision)
    monkeypatch.setitem(sys.modules, "torchvision.datasets", datasets)
    _FakeCIFAR10.calls = []
    return datasets


def test_download_branch_converts(fake_torchvision, tmp_path):
    images, labels = data.load_arrays("test", download=True, root=tmp_path)
    assert _FakeCIFAR10.calls == [(str(tmp_path.resolve()), False, True)]
    assert images.shape == (10, 32, 32, 3) and images.dtype == np.uint8 and (images == 9).all()
    assert labels.dtype == np.int64
    x, y = data.load_tensors("train", 4, download=True, root=tmp_path, normalize=False)
    assert _FakeCIFAR10.calls[-1][1:] == (True, True)
    torch.testing.assert_close(x, torch.full((4, 3, 32, 32), 7 / 255))
    torch.testing.assert_close(y, torch.arange(4))


def test_download_default_root(fake_torchvision, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))  # keep ~ expansion inside tmp_path
    data.load_arrays("train", download=True)
    assert _FakeCIFAR10.calls[0][0].endswith(str(Path(".cache", "course", "cifar10")))


def test_download_failure_is_a_dataset_error(fake_torchvision, tmp_path):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    fake_torchvision.CIFAR10 = offline
    with pytest.raises(DatasetError, match=data.ENV_DIR) as info:
        data.load_arrays("train", download=True, root=tmp_path / "offline")
    assert isinstance(info.value.__cause__, urllib.error.URLError)


def test_download_and_path_conflict(tmp_path):
    with pytest.raises(ValueError):
        data.load_arrays("train", download=True, path=tmp_path)


# --- building the subset -----------------------------------------------------------------


def test_build_subset_is_deterministic_and_loadable(tmp_path, monkeypatch):
    arrays = _write_shared(tmp_path / "src", n_train=30, n_test=20)
    sums_a = data.build_subset(tmp_path / "src", tmp_path / "a", n_train=10, n_test=5)
    assert (
        data.main(
            ["build-subset", str(tmp_path / "src"), "--dst", str(tmp_path / "b"), "--n-train", "10", "--n-test", "5"]
        )
        == 0
    )
    for name in [*data.SUBSET_FILES.values(), "SHA256SUMS"]:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert set(sums_a) == set(data.SUBSET_FILES.values())

    with np.load(tmp_path / "a" / "cifar10_train_subset.npz") as built:
        assert built["labels"].dtype == np.uint8  # the shared format, not int64
        np.testing.assert_array_equal(built["images"], arrays["cifar10_train.npz"][0][:10])

    monkeypatch.setattr(data, "SUBSET_DIR", tmp_path / "a")
    assert data.load_arrays("test")[0].shape == (5, 32, 32, 3)
    with pytest.raises(ValueError):
        data.build_subset(tmp_path / "src", tmp_path / "c", n_train=31)
