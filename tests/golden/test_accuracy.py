"""The golden model's headline accuracies, with the CLI's default config and epochs.

The digits run is fast enough for every test run; MNIST-5k and Fashion-MNIST are the slow
tier (pytest -m slow).
"""

import pytest

from naca.cli import DATASET_LEARNING, DEFAULT_EPOCHS
from naca.golden_model import datasets
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork
from naca.golden_model.training import train


def final_accuracy(name: str) -> float:
    data = datasets.load(name)
    cfg = NacaConfig.for_sizes(data.n_inputs, 100, data.n_classes,
                               **DATASET_LEARNING.get(name, {}))
    return train(NacaNetwork(cfg, "fixed"), data, DEFAULT_EPOCHS[name]).test_accuracy[-1]


def test_digits_fixed_point_reaches_95_percent():
    assert final_accuracy("digits") >= 0.95


@pytest.mark.slow
def test_mnist5k_fixed_point_reaches_90_percent():
    assert final_accuracy("mnist5k") >= 0.90


@pytest.mark.slow
def test_fashion_fixed_point_reaches_82_percent():
    assert final_accuracy("fashion") >= 0.82
