"""The neuromodulation pathway: expectation indices, the map f, the integer table."""

import numpy as np
import pytest

from naca.golden_model import modulation
from naca.golden_model.config import NacaConfig


@pytest.mark.parametrize("n_classes, expected", [
    (10, [18, 15, 13, 11, 9, 8, 7, 5, 3, 0]),
    (11, [20, 16, 14, 12, 11, 10, 8, 7, 5, 3, 0]),
    (26, [50, 44, 40, 37, 35, 33, 31, 30, 28, 27, 25, 24, 23, 21, 20, 19, 18, 16, 15, 14, 12,
          11, 9, 7, 5, 0]),
])
def test_expectation_index_matches_the_reference_tables(n_classes, expected):
    assert modulation.expectation_index(n_classes).tolist() == expected


@pytest.mark.parametrize("level, value", [
    (0.0, 1.0), (0.125, 1.2), (0.25, 1.0), (0.5, 0.0), (0.75, -1.0), (0.875, -1.2), (1.0, -1.0),
    (0.375, 0.25), (0.625, -0.25),
])
def test_plasticity_map_key_points(level, value):
    assert modulation.plasticity_map(level, 0.5, 1.2) == pytest.approx(value)


def test_plasticity_map_is_continuous_and_odd_about_lambda():
    n = np.linspace(0, 0.5, 501)
    f = modulation.plasticity_map
    assert np.allclose(f(0.5 + n, 0.5, 1.2), -f(0.5 - n, 0.5, 1.2))
    grid = np.linspace(0, 1, 100_001)
    assert np.max(np.abs(np.diff(f(grid, 0.5, 1.2)))) < 1e-3


def test_integer_table_by_hand():
    cfg = NacaConfig.for_sizes(4, 3, 10)
    ni = np.zeros((20, 3), dtype=np.int64)
    ni[18], ni[19] = [0, 128, 255], [1, 128, 255]      # class 0 reads rows 18 and 19
    table = modulation.modulation_table(cfg, ni)
    # levels: (0+1)>>1 = 0 -> f(0) = 1; 128 -> f(0.5) = 0; 255 -> f(255/256) ~ -1.03
    expected_last = round(modulation.plasticity_map(255 / 256, 0.5, 1.2) * 64)
    assert table[0].tolist() == [64, 0, expected_last]


def test_f_lut_covers_every_level_code():
    cfg = NacaConfig()
    lut = modulation.f_lut(cfg)
    assert len(lut) == 256
    assert lut.max() == round(1.2 * 64) and lut.min() == -round(1.2 * 64)
