"""The course's one CIFAR-10 loader.

Where the data comes from, first match wins:

1. ``download=True``: torchvision downloads the official release into ``root``
   (default ``~/.cache/course/cifar10``). Needs the network.
2. ``path=DIR`` or the ``COURSE_CIFAR10_DIR`` environment variable: a directory
   holding ``cifar10_train.npz`` / ``cifar10_test.npz`` in the shared format
   (``images`` uint8 (N, 32, 32, 3) RGB, ``labels`` uint8 (N,)). The two known
   full files are checked against their sha256; other files only for shape/dtype.
3. Otherwise the small real subset shipped in ``datasets/cifar10/`` (3,000 train,
   1,000 test images), checked against ``datasets/cifar10/SHA256SUMS``.
   Tests point this elsewhere by setting the module attribute ``SUBSET_DIR``.

Three splits, and no image in two of them:

- ``"test"``: the test file, for the one final measurement.
- ``"val"``: the validation split, held out of the training file by a fixed rule: its
  last ``validation_size(n)`` rows, a tenth of them up to 2,000 (300 of the shipped
  3,000, 2,000 of the full 50,000). Choose checkpoints, learning rates and trials on it.
- ``"train"``: the other rows of the training file (2,700 shipped, 48,000 full).

The files stay as they are (the split is a rule in code, so checksums do not change),
and the rows were shuffled once when the files were made, so the tail is a random
sample of every class (15 to 39 images per class in the shipped 300).

Every data problem raises :class:`DatasetError` with the file and the fix.
Rebuild the shipped subset with::

    python -m course.core.data build-subset /path/to/shared/cifar10

Only numpy, torch and the standard library are imported here: torchvision costs
about 1.5 s to import, so it is imported only when ``download=True``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import sys
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
from course.core.paths import CONTENT_ROOT  # noqa: E402
from course.core.preprocess import MEAN, STD, to_model_input  # noqa: E402,F401  (one preprocessing for all)

ENV_DIR = "COURSE_CIFAR10_DIR"
REPO_ROOT = CONTENT_ROOT
# Module attribute (not a keyword) so the public signatures stay small; tests
# monkeypatch it to a copy of the directory to exercise the corruption checks.
SUBSET_DIR = REPO_ROOT / "datasets" / "cifar10"
SUBSET_FILES = {"train": "cifar10_train_subset.npz", "test": "cifar10_test_subset.npz"}
FULL_FILES = {"train": "cifar10_train.npz", "test": "cifar10_test.npz"}
DEFAULT_DOWNLOAD_ROOT = "~/.cache/course/cifar10"

# The shared full files (see ../shared/cifar10/README.md): name -> (size, sha256).
# Hashing 140 MB costs ~0.3 s, so a file is hashed only when its size says it
# claims to be one of these; any other file is someone's own data, checked for
# shape and dtype only.
_KNOWN_FULL_FILES = {
    "cifar10_train.npz": (142455710, "9fc4b7dcdc82d031f28942080f697a56de3086587320dbcec068f6dbcbdc4f56"),
    "cifar10_test.npz": (28504423, "6acd17b0a22f2b7f3aae13a869322c061553e13d1ddf6a3c1596dbed16063b12"),
}

SPLITS = ("train", "val", "test")
VAL_FRACTION = 10  # the validation split is 1/VAL_FRACTION of the training file ...
VAL_MAX = 2000  # ... up to this many images (course train uses the same rule)
_RESTORE_SUBSET = (
    "Restore it with `git checkout -- datasets/cifar10/`, or rebuild it with "
    "`python -m course.core.data build-subset /path/to/shared/cifar10`."
)
_USE_FULL = (
    f"set {ENV_DIR} (or pass path=) to a directory holding cifar10_train.npz / "
    "cifar10_test.npz, or pass download=True on a machine with internet"
)

# (kind, resolved path, size, mtime_ns) -> (images, labels), both read-only.
_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


class DatasetError(RuntimeError):
    """A CIFAR-10 file is missing, truncated, corrupt or has the wrong layout."""


# ----------------------------------------------------------------------------
# Arrays


def load_arrays(split: str = "train", *, path=None, download: bool = False, root=None):
    """Return ``(images, labels)``: uint8 (N, 32, 32, 3) RGB and int64 (N,).

    The arrays are cached and read-only; copy them before modifying.
    ``root`` is only used with ``download=True``.
    """
    split = _check_split(split)
    file_split = "test" if split == "test" else "train"
    if download:
        if path is not None:
            raise ValueError("pass either path= or download=True, not both")
        images, labels = _load_torchvision(file_split, root)
    else:
        file, hint = _resolve_file(file_split, path)
        images, labels = _load_file(file, hint)
    if split != "test":
        n_val = validation_size(len(images))
        if split == "val" and n_val == 0:
            raise DatasetError(
                f"{_describe_source(path, download, root)} holds only {len(images)} "
                f"training images, too few to hold out a validation split "
                f"(a tenth of them). For more, use the full data set: {_USE_FULL}."
            )
        rows = slice(len(images) - n_val, None) if split == "val" else slice(0, len(images) - n_val)
        images, labels = images[rows], labels[rows]
    # Views of read-only arrays cannot be made writable again, so the cache is safe.
    return images.view(), labels.view()


def validation_size(n_train_file: int) -> int:
    """How many rows at the end of a training file of ``n_train_file`` rows form the
    validation split: a tenth, at most ``VAL_MAX`` (0 for fewer than 10 rows)."""
    return min(VAL_MAX, n_train_file // VAL_FRACTION)


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(
            f"split must be one of {list(SPLITS)} ('val' is held out of the "
            f"training file, 'test' is the test file), got {split!r}"
        )
    return split


def _resolve_file(split: str, path) -> tuple[Path, str]:
    """The file to read for ``split`` and the advice to give if it is bad."""
    origin = "path=" if path is not None else ENV_DIR
    if path is None:
        path = os.environ.get(ENV_DIR) or None
    if path is None:
        subset_dir = Path(SUBSET_DIR)
        if not subset_dir.is_dir():
            raise DatasetError(
                f"The shipped CIFAR-10 subset directory {subset_dir} does not exist. "
                f"{_RESTORE_SUBSET} (An installed, non-editable copy of the course does "
                f"not include it: use `pip install -e .` from the repository, or {_USE_FULL}.)"
            )
        return subset_dir / SUBSET_FILES[split], "subset"
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise DatasetError(
            f"{origin} points to {directory}, which is not a directory. It should be a "
            f"directory holding cifar10_train.npz / cifar10_test.npz; fix {origin}, "
            f"or unset {ENV_DIR} to use the shipped subset."
        )
    return directory / FULL_FILES[split], origin


def _fix_advice(hint: str) -> str:
    if hint == "subset":
        return _RESTORE_SUBSET
    return (
        f"Re-copy it from the shared copy (../shared/cifar10/), point {hint} at another "
        f"directory, or unset {ENV_DIR} to use the shipped subset."
    )


def _load_file(file: Path, hint: str):
    try:
        st = file.stat()
        resolved = file.resolve()
    except OSError as err:
        raise DatasetError(
            f"CIFAR-10 file {file} is missing or unreadable ({err.strerror}). {_fix_advice(hint)}"
        ) from err
    key = ("file", str(resolved), st.st_size, st.st_mtime_ns)
    if key in _CACHE:
        return _CACHE[key]

    try:
        # Read once, hash and parse the same bytes: no second read, no race.
        data = resolved.read_bytes()
    except OSError as err:
        raise DatasetError(f"Cannot read CIFAR-10 file {file}: {err}. {_fix_advice(hint)}") from err

    if hint == "subset":
        expected = _subset_checksum(file)
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise DatasetError(
                f"CIFAR-10 subset file {file} is corrupt or truncated: sha256 {digest} "
                f"({len(data)} bytes) does not match {expected} in "
                f"{file.parent / 'SHA256SUMS'}. {_RESTORE_SUBSET}"
            )
        known = None
    else:
        known = _KNOWN_FULL_FILES.get(file.name)
        if known is not None and len(data) == known[0]:
            digest = hashlib.sha256(data).hexdigest()
            if digest != known[1]:
                raise DatasetError(
                    f"CIFAR-10 file {file} is corrupt: it has the size of the official "
                    f"{file.name} but sha256 {digest} instead of {known[1]}. {_fix_advice(hint)}"
                )

    images, labels = _parse_npz(data, file, hint, known)
    _CACHE[key] = (images, labels)
    return images, labels


def _subset_checksum(file: Path) -> str:
    sums = file.parent / "SHA256SUMS"
    try:
        text = sums.read_text(encoding="utf-8")
    except OSError as err:
        raise DatasetError(
            f"Checksum file {sums} is missing or unreadable, so {file.name} cannot be verified. {_RESTORE_SUBSET}"
        ) from err
    for line in text.splitlines():
        parts = line.split()
        # sha256sum writes "<hex>  <name>", or "<hex> *<name>" in binary mode.
        if len(parts) == 2 and parts[1].lstrip("*") == file.name:
            return parts[0].lower()
    raise DatasetError(f"{sums} has no checksum for {file.name}. {_RESTORE_SUBSET}")


def _parse_npz(data: bytes, file: Path, hint: str, known=None):
    advice = _fix_advice(hint)
    if known is not None and len(data) != known[0]:
        advice = f"(The official {file.name} is {known[0]} bytes; this one is {len(data)}.) " + advice
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [name for name in ("images", "labels") if name not in npz.files]
            if missing:
                raise DatasetError(
                    f"CIFAR-10 file {file} has no {' or '.join(missing)} array (found {npz.files}). {advice}"
                )
            images, labels = npz["images"], npz["labels"]
    except DatasetError:
        raise
    except Exception as err:  # anything numpy/zipfile/zlib says about a bad archive
        raise DatasetError(
            f"CIFAR-10 file {file} is not a readable .npz archive (truncated or "
            f"corrupt?): {type(err).__name__}: {err}. {advice}"
        ) from err
    images, labels = _validate(images, labels, str(file), advice)
    return images, labels


def _validate(images: np.ndarray, labels: np.ndarray, source: str, advice: str):
    problems = []
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (32, 32, 3):
        problems.append(f"images must be uint8 (N, 32, 32, 3) HWC RGB, got {images.dtype} {images.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        problems.append(f"labels must be integers of shape (N,), got {labels.dtype} {labels.shape}")
    elif images.ndim >= 1 and len(labels) != len(images):
        problems.append(f"{len(images)} images but {len(labels)} labels")
    elif len(labels) == 0:
        problems.append("it holds no images")
    elif labels.min() < 0 or labels.max() >= len(CLASSES):
        problems.append(f"labels must lie in 0..9, got {labels.min()}..{labels.max()}")
    if problems:
        raise DatasetError(f"CIFAR-10 data from {source} has the wrong layout: {'; '.join(problems)}. {advice}")
    images = np.ascontiguousarray(images)
    labels = labels.astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def _load_torchvision(split: str, root):
    root_dir = Path(root if root is not None else DEFAULT_DOWNLOAD_ROOT).expanduser().resolve()
    key = ("torchvision", str(root_dir), split)
    if key in _CACHE:
        return _CACHE[key]
    from torchvision.datasets import CIFAR10  # slow import: only on this branch

    try:
        ds = CIFAR10(str(root_dir), train=(split == "train"), download=True)
    except (OSError, RuntimeError, ValueError) as err:  # URLError is an OSError
        raise DatasetError(
            f"torchvision could not download or read CIFAR-10 into {root_dir}: "
            f"{type(err).__name__}: {err}. Without internet, set {ENV_DIR} (or pass path=) "
            "to a directory holding cifar10_train.npz / cifar10_test.npz, or drop "
            "download=True to use the shipped subset."
        ) from err
    images = np.asarray(ds.data, dtype=np.uint8)
    labels = np.asarray(ds.targets, dtype=np.int64)
    advice = f"Delete {root_dir} and download again."
    result = _validate(images, labels, f"torchvision CIFAR10 in {root_dir}", advice)
    _CACHE[key] = result
    return result


def _describe_source(path, download: bool, root) -> str:
    if download:
        return f"the torchvision download in {Path(root or DEFAULT_DOWNLOAD_ROOT).expanduser()}"
    if path is not None:
        return f"path={path}"
    if os.environ.get(ENV_DIR):
        return f"{ENV_DIR}={os.environ[ENV_DIR]}"
    return f"the shipped subset in {SUBSET_DIR}"


# ----------------------------------------------------------------------------
# Tensors, datasets, loaders


def load_tensors(
    split: str = "train", n: int | None = None, *, normalize: bool = True, path=None, download: bool = False, root=None
):
    """Return ``(x, y)``: float32 (N, 3, 32, 32) in [0, 1] (then normalised with
    MEAN/STD if ``normalize``) and int64 (N,) labels. ``n`` keeps the first n rows,
    which are class-balanced because the files are shuffled once."""
    images, labels = load_arrays(split, path=path, download=download, root=root)
    if n is not None:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer or None, got {n!r}")
        if n > len(images):
            raise DatasetError(
                f"Asked for n={n} {split} images but {_describe_source(path, download, root)} "
                f"holds only {len(images)}. For more, use the full data set: {_USE_FULL}."
            )
        images, labels = images[:n], labels[:n]
    if normalize:  # the same function the served model uses (course.core.preprocess)
        x = torch.from_numpy(to_model_input(images))
    else:  # a writable, contiguous NCHW buffer (torch warns on read-only numpy arrays)
        x = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)).astype(np.float32) / np.float32(255))
    y = torch.from_numpy(labels.copy())
    return x, y


def cifar10_dataset(split: str = "train", n: int | None = None, **kw) -> TensorDataset:
    """A ``TensorDataset`` of ``load_tensors(split, n, **kw)``."""
    return TensorDataset(*load_tensors(split, n, **kw))


def cifar10_loaders(
    batch_size: int = 64,
    n_train: int | None = None,
    n_val: int | None = None,
    *,
    seed: int = 0,
    num_workers: int = 0,
    **kw,
):
    """``(train_loader, val_loader)``: the ``"train"`` and ``"val"`` splits, which share no
    image with each other or with the test split (read that with ``cifar10_dataset("test")``).

    The train loader shuffles with its own ``torch.Generator`` seeded by ``seed``, so the
    batch order is the same on every run whatever else touched the global RNG.
    """
    train = cifar10_dataset("train", n_train, **kw)
    val = cifar10_dataset("val", n_val, **kw)
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, generator=generator, num_workers=num_workers)
    val_loader = DataLoader(val, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    return train_loader, val_loader


# ----------------------------------------------------------------------------
# Building the shipped subset


def build_subset(src_dir, dst_dir, n_train: int = 3000, n_test: int = 1000) -> dict[str, str]:
    """Write the first ``n_train`` / ``n_test`` rows of the full files in ``src_dir``
    to ``dst_dir`` plus ``SHA256SUMS``; returns {file name: sha256}.

    The output is byte-for-byte deterministic: ``np.savez_compressed`` stamps its zip
    entries with the fixed date 1980-01-01, and the inputs are fixed.
    """
    dst = Path(dst_dir)
    dst.mkdir(parents=True, exist_ok=True)
    sums = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = load_arrays(split, path=src_dir)
        if not 1 <= n <= len(images):
            raise ValueError(f"n_{split}={n} must lie in 1..{len(images)} (rows in {src_dir})")
        name = SUBSET_FILES[split]
        tmp = dst / (name + ".tmp")
        with open(tmp, "wb") as fh:  # a file object: savez would append .npz to a name
            np.savez_compressed(fh, images=np.ascontiguousarray(images[:n]), labels=labels[:n].astype(np.uint8))
        os.replace(tmp, dst / name)  # never leave a half-written file under the real name
        sums[name] = hashlib.sha256((dst / name).read_bytes()).hexdigest()
    (dst / "SHA256SUMS").write_text("".join(f"{h}  {name}\n" for name, h in sums.items()), encoding="utf-8")
    return sums


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.core.data", description="Course CIFAR-10 data tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    build = sub.add_parser("build-subset", help="rebuild datasets/cifar10/ from the full files")
    build.add_argument("src_dir", help="directory holding cifar10_train.npz and cifar10_test.npz")
    build.add_argument("--dst", default=str(SUBSET_DIR), help="output directory (default: %(default)s)")
    build.add_argument("--n-train", type=int, default=3000)
    build.add_argument("--n-test", type=int, default=1000)
    args = parser.parse_args(argv)
    try:
        sums = build_subset(args.src_dir, args.dst, args.n_train, args.n_test)
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name, digest in sums.items():
        size = (Path(args.dst) / name).stat().st_size
        print(f"{digest}  {name}  ({size:,} bytes)")
    print(f"wrote {Path(args.dst) / 'SHA256SUMS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
