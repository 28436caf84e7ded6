"""The neuromodulation pathway: label -> expectation pair -> NI -> level n -> f(n).

Everything here is fixed per network (nothing is learned), so the hardware holds the result as a
per-(class, neuron) table of f codes, loadable at run time. The table is computed in integers:

    n_q[c, j]  = (NI_q[a_c, j] + NI_q[a_c + 1, j]) >> 1        (level format, floor)
    G_q[c, j]  = F_LUT[n_q[c, j]]                               (modulation format)

where ``F_LUT`` is the piecewise-quadratic map f sampled at every level code, and ``a_c`` the
expectation index, computed once in float64 as the authors' code does and never in fixed point.
"""

from __future__ import annotations

import math

import numpy as np

from .config import NacaConfig


def expectation_index(n_classes: int) -> np.ndarray:
    """a_c = floor(a_hat_c / a_hat_1 * 2(C-1)), a_hat_c = sqrt(2 ln(C/c)), c = 1..C.

    Class c (0-based) reads the NI rows a_c and a_c + 1 (rows 0 .. 2C-1).
    """
    c = np.arange(1, n_classes + 1, dtype=np.float64)
    a_hat = np.sqrt(2.0) * np.sqrt(np.log(n_classes / c))
    return np.floor(a_hat / a_hat[0] * 2 * (n_classes - 1)).astype(np.int64)


def plasticity_map(n: np.ndarray, lambda_inv: float, theta_max: float) -> np.ndarray:
    """f(n): piecewise quadratic, f(0)=1, f(lambda/4)=Theta, f(lambda)=0, odd about lambda."""
    n = np.asarray(n, dtype=np.float64)
    lam, theta = lambda_inv, theta_max
    return np.select(
        [n <= lam / 2, n <= lam, n <= 1.5 * lam],
        [theta - (theta - 1) * (4 * n - lam) ** 2 / lam**2,
         4 * (n - lam) ** 2 / lam**2,
         -4 * (n - lam) ** 2 / lam**2],
        (theta - 1) * (7 * lam - 4 * n) ** 2 / lam**2 - theta,
    )


def ni_matrix(cfg: NacaConfig, rng: np.random.Generator) -> np.ndarray:
    """The fixed random matrix NI (2C x H) in [0, 1), float64."""
    shape = (2 * cfg.n_classes, cfg.n_hidden)
    if cfg.ni_distribution == "uniform":
        return rng.random(shape)
    if cfg.ni_distribution == "normal":
        return np.clip(rng.normal(0.5, 1.0, shape), 0.0, math.nextafter(1.0, 0.0))
    return np.minimum(rng.beta(0.5, 0.5, shape), math.nextafter(1.0, 0.0))


def f_lut(cfg: NacaConfig) -> np.ndarray:
    """F_LUT: f at every level code, as modulation codes (2**level.width entries)."""
    lvl = cfg.formats.level
    levels = lvl.to_float(np.arange(lvl.max_code + 1))
    return cfg.formats.modulation.quantize(plasticity_map(levels, cfg.lambda_inv, cfg.theta_max))


def level_codes(cfg: NacaConfig, ni_codes: np.ndarray) -> np.ndarray:
    """n_q[c, j] from NI codes (2C x H): the floor mean of the class's two expectation rows."""
    a = expectation_index(cfg.n_classes)
    return (ni_codes[a] + ni_codes[a + 1]) >> 1


def modulation_table(cfg: NacaConfig, ni_codes: np.ndarray) -> np.ndarray:
    """G_q[c, j]: the modulation code of hidden neuron j for label c (C x H)."""
    return f_lut(cfg)[level_codes(cfg, ni_codes)]


def modulation_table_float(cfg: NacaConfig, ni: np.ndarray) -> np.ndarray:
    """The float reference of :func:`modulation_table`: f(E(c) . NI[:, j]) in float64."""
    a = expectation_index(cfg.n_classes)
    return plasticity_map(0.5 * (ni[a] + ni[a + 1]), cfg.lambda_inv, cfg.theta_max)
