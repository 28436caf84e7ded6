"""Datasets: documented splits, IDX folders, and clear errors for missing or corrupt data."""

import numpy as np
import pytest

from naca.golden_model.datasets import DatasetError, load, write_idx


def test_digits_split():
    d = load("digits")
    assert d.x_train.shape == (1437, 64) and d.x_test.shape == (360, 64)
    assert d.x_train.min() == 0.0 and d.x_train.max() == 1.0
    from sklearn.datasets import load_digits
    raw = load_digits()
    perm = np.random.RandomState(0).permutation(1797)
    assert np.array_equal(d.y_test, raw.target[perm[1437:]])


def test_mnist5k_split_is_per_class_in_shipped_order():
    d = load("mnist5k")
    assert d.x_train.shape == (4000, 784) and d.x_test.shape == (1000, 784)
    assert np.bincount(d.y_train).tolist() == [400] * 10
    assert np.bincount(d.y_test).tolist() == [100] * 10
    assert d.x_train.max() == 1.0


def make_idx_folder(folder, gz, n_train=20, n_test=6, side=5):
    gen = np.random.default_rng(0)
    suffix = ".gz" if gz else ""
    arrays = {
        "train-images-idx3-ubyte": gen.integers(0, 256, (n_train, side, side)),
        "train-labels-idx1-ubyte": gen.integers(0, 4, n_train),
        "t10k-images-idx3-ubyte": gen.integers(0, 256, (n_test, side, side)),
        "t10k-labels-idx1-ubyte": gen.integers(0, 4, n_test),
    }
    for name, arr in arrays.items():
        write_idx(folder / (name + suffix), arr)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trip(tmp_path, gz):
    arrays = make_idx_folder(tmp_path, gz)
    d = load("idx", tmp_path)
    assert d.x_train.shape == (20, 25)
    assert np.array_equal(d.x_test * 255, arrays["t10k-images-idx3-ubyte"].reshape(6, 25))
    assert np.array_equal(d.y_train, arrays["train-labels-idx1-ubyte"])


def test_missing_and_corrupt_data_say_how_to_fix(tmp_path):
    with pytest.raises(DatasetError, match="needs --data-dir"):
        load("idx")
    with pytest.raises(DatasetError, match="apt-get install dataset-fashion-mnist"):
        load("fashion", tmp_path / "nowhere")
    make_idx_folder(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match="has no t10k-labels-idx1-ubyte"):
        load("idx", tmp_path)
    make_idx_folder(tmp_path, gz=False)
    target = tmp_path / "train-images-idx3-ubyte"
    target.write_bytes(target.read_bytes()[:-7])
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        load("idx", tmp_path)
    target.write_bytes(b"\x01\x02\x03\x04garbage")
    with pytest.raises(DatasetError, match="bad magic number"):
        load("idx", tmp_path)
    with pytest.raises(DatasetError, match="unknown dataset 'cifar'"):
        load("cifar")


def test_fashion_from_the_debian_package():
    d = load("fashion")
    assert d.x_train.shape == (60000, 784) and d.x_test.shape == (10000, 784)
