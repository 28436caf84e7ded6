"""Number systems of the NACA algorithm: integer codes (the hardware) and float64 (reference).

:mod:`golden_model.network` writes the algorithm once against the small interface below;
:class:`FixedPoint` defines the hardware's behaviour bit for bit (formats, rounding, saturation,
stochastic rounding), :class:`FloatPoint` the same algorithm in float64 with the same random
draws. Layer-specific numbers are addressed by the layer name ``"hidden"`` or ``"output"``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from . import modulation, rng
from .config import RANDOM_BYTE_BITS, NacaConfig
from .qformat import QFormat

Layer = Literal["hidden", "output"]
Activation = Literal["tanh", "sigmoid"]


def stochastic_round(code: np.ndarray, drop: int, sr_bits: int, rand: np.ndarray) -> np.ndarray:
    """Drop ``drop`` fractional bits: floor all but the top ``sr_bits`` of them, then round those
    stochastically with the top ``sr_bits`` bits of ``rand`` (random bytes).

    The result is ``floor((x + r) / 2**k)`` with ``k = min(drop, sr_bits)``: unbiased to
    ``2**-k`` LSB, so updates smaller than one LSB still take effect on average.
    """
    code = np.asarray(code, dtype=np.int64)
    if drop <= 0:
        return code << (-drop)
    k = min(drop, sr_bits)
    code = code >> (drop - k)
    if k == 0:
        return code
    return (code + (np.asarray(rand, dtype=np.int64) >> (RANDOM_BYTE_BITS - k))) >> k


def neuron_mask(cfg: NacaConfig, u: np.ndarray, delta) -> np.ndarray:
    """Class-incremental neuron mask: hidden neuron j may fire and learn when input
    floor(j*N/H) exceeds max(u) - delta (u: intensities or their codes, delta in the same unit)."""
    pick = (np.arange(cfg.n_hidden) * cfg.n_inputs) // cfg.n_hidden
    return u[..., pick] > u.max(axis=-1, keepdims=True) - delta


def _matmul_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer matrix product through float64 BLAS: exact while every sum stays below 2**53
    (our codes are at most 32 bits and fan-ins at most 2**16, so it always does)."""
    return np.rint(a.astype(np.float64) @ b.astype(np.float64)).astype(np.int64)


class FixedPoint:
    """The hardware's arithmetic: int64 arrays of codes in the config's formats."""

    exact = True

    def __init__(self, cfg: NacaConfig):
        self.cfg = cfg
        f = cfg.formats
        self.weight = {"hidden": f.weight_hidden, "output": f.weight_output}
        self.membrane = {"hidden": f.membrane_hidden, "output": f.membrane_output}
        self.update = {"hidden": f.update_hidden, "output": f.update_output}
        self.threshold = {k: cfg.code(f"threshold_{k}") for k in ("hidden", "output")}
        self.near_threshold = {k: cfg.code(f"near_threshold_{k}") for k in ("hidden", "output")}
        self.alpha = cfg.code("alpha")
        self.base_lr = {"hidden": cfg.code("lr_hidden"), "output": cfg.code("lr_output")}
        self.lr = dict(self.base_lr)
        self.may_saturate = {"hidden": self._may_saturate("hidden", cfg.n_inputs),
                             "output": self._may_saturate("output", cfg.n_hidden)}
        self._luts = {name: self._activation_lut(name) for name in ("tanh", "sigmoid")}

    # -- parameters ------------------------------------------------------------------------------
    def weights(self, layer: Layer, values: np.ndarray) -> np.ndarray:
        return self.weight[layer].quantize(values)

    def modulation_table(self, ni: np.ndarray) -> np.ndarray:
        return modulation.modulation_table(self.cfg, self.cfg.formats.level.quantize(ni))

    def inputs(self, u: np.ndarray) -> np.ndarray:
        return self.cfg.formats.input.quantize(u)

    # -- forward ---------------------------------------------------------------------------------
    def spikes(self, u: np.ndarray, rand: np.ndarray) -> np.ndarray:
        """x = [r < u]: ``rand`` bytes against input codes (top ``input.width`` bits of r)."""
        width = self.cfg.formats.input.width
        return (rand >> (RANDOM_BYTE_BITS - width)) < u

    def input_frac(self) -> int:
        return self.cfg.formats.input.frac

    def fan_in(self, pre: np.ndarray, w: np.ndarray) -> np.ndarray:
        return _matmul_exact(pre, w)

    def integrate(self, layer: Layer, v: np.ndarray, current: np.ndarray) -> np.ndarray:
        """V <- sat(floor(alpha * V) + I), V already zeroed where the neuron just fired; I is a
        current the layer's weights can sum to (see :meth:`_may_saturate`)."""
        v = v * self.alpha
        v >>= self.cfg.formats.leak.frac
        v += current
        if not self.may_saturate[layer]:
            return v
        fmt = self.membrane[layer]
        np.maximum(v, fmt.min_code, out=v)
        return np.minimum(v, fmt.max_code, out=v)

    def _may_saturate(self, layer: Layer, fan_in: int) -> bool:
        """Whether the membrane can ever reach its format's limits.

        With |I| <= fan_in * max|W| and |floor(alpha V)| <= alpha |V| + 1, the membrane stays
        within (max|I| + 1) / (1 - alpha); when that fits the format, saturation never acts and
        the clamp is skipped (an exact shortcut, not an approximation).
        """
        w = self.weight[layer]
        largest_current = fan_in * max(-w.min_code, w.max_code)
        alpha = self.alpha / (1 << self.cfg.formats.leak.frac)
        return (largest_current + 1) / (1.0 - alpha) > self.membrane[layer].max_code

    def above(self, layer: Layer, v: np.ndarray, near: bool) -> np.ndarray:
        level = self.near_threshold[layer] if near else self.threshold[layer]
        return v > level

    def mask(self, u: np.ndarray) -> np.ndarray:
        """Neuron mask from input codes: u[floor(jN/H)] > max(u) - delta."""
        return neuron_mask(self.cfg, u, self.cfg.code("mask_delta"))

    def activation(self, z: np.ndarray, z_frac: int, kind: Activation
                   ) -> tuple[np.ndarray, np.ndarray]:
        """(act, act') codes from the LUT addressed by z saturated to the act_index format."""
        index_fmt = self.cfg.formats.act_index
        address = index_fmt.shift(z, z_frac) - index_fmt.min_code
        act, deriv = self._luts[kind]
        return act[address], deriv[address]

    def activation_frac(self) -> int:
        return self.cfg.formats.activation.frac

    def _activation_lut(self, kind: Activation) -> tuple[np.ndarray, np.ndarray]:
        index_fmt, act_fmt = self.cfg.formats.act_index, self.cfg.formats.activation
        z = index_fmt.to_float(np.arange(index_fmt.min_code, index_fmt.max_code + 1))
        act, deriv = FloatPoint.activation_float(z, kind)
        return act_fmt.quantize(act), act_fmt.quantize(deriv)

    # -- learning --------------------------------------------------------------------------------
    def target(self, labels: np.ndarray, scale: int) -> np.ndarray:
        """One-hot targets times ``scale`` (T for spike counts), as integer codes."""
        return np.eye(self.cfg.n_classes, dtype=np.int64)[labels] * scale

    def set_lr_shift(self, shift: int) -> None:
        """Learning rates of the schedule: the configured codes shifted right by ``shift``."""
        self.lr = {k: v >> shift for k, v in self.base_lr.items()}

    def update_value(self, layer: Layer, factors: np.ndarray, factors_frac: int) -> np.ndarray:
        """v = -lr * factors, requantised to the layer's update format (its rounding, saturating).

        ``factors`` is the product of the neuron's modulation (or error) and its post-synaptic
        terms, with ``factors_frac`` fractional bits.
        """
        product = -self.lr[layer] * factors
        return self.update[layer].shift(product, self.cfg.formats.learning_rate.frac + factors_frac)

    def apply_update(self, layer: Layer, w: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     delta: np.ndarray, delta_frac: int, key: int) -> None:
        """W[rows, cols] <- sat(W + SR(delta)), delta has ``delta_frac`` fractional bits.

        The random byte of synapse (i, j) comes from the layer's rounding stream at
        :func:`rng.matrix_bytes` position (i, j).
        """
        fmt: QFormat = self.weight[layer]
        rand = rng.matrix_bytes(key, rows, cols, w.shape[1])
        step = stochastic_round(delta, delta_frac - fmt.frac, self.cfg.sr_bits, rand)
        block = np.ix_(rows, cols)
        w[block] = fmt.fit(w[block] + step)

    def frac(self, name: str) -> int:
        """Fractional bits of a named quantity's format."""
        f = self.cfg.formats
        return {"modulation": f.modulation.frac, "activation": f.activation.frac,
                "update_hidden": f.update_hidden.frac,
                "update_output": f.update_output.frac}[name]


class FloatPoint:
    """The float64 reference: the same algorithm with no rounding and no saturation."""

    exact = False

    def __init__(self, cfg: NacaConfig):
        self.cfg = cfg
        self.threshold = {"hidden": cfg.threshold, "output": cfg.threshold}
        self.near_threshold = {k: cfg.threshold - cfg.lens for k in ("hidden", "output")}
        self.base_lr = {"hidden": cfg.lr_hidden, "output": cfg.lr_output / cfg.time_steps}
        self.lr = dict(self.base_lr)

    def weights(self, layer: Layer, values: np.ndarray) -> np.ndarray:
        return np.array(values, dtype=np.float64)

    def modulation_table(self, ni: np.ndarray) -> np.ndarray:
        return modulation.modulation_table_float(self.cfg, ni)

    def inputs(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(u, dtype=np.float64)

    def spikes(self, u: np.ndarray, rand: np.ndarray) -> np.ndarray:
        return rand / float(1 << RANDOM_BYTE_BITS) < u

    def input_frac(self) -> int:
        return 0

    def fan_in(self, pre: np.ndarray, w: np.ndarray) -> np.ndarray:
        return pre.astype(np.float64) @ w

    def integrate(self, layer: Layer, v: np.ndarray, current: np.ndarray) -> np.ndarray:
        return self.cfg.alpha * v + current

    def above(self, layer: Layer, v: np.ndarray, near: bool) -> np.ndarray:
        return v > (self.near_threshold[layer] if near else self.threshold[layer])

    def mask(self, u: np.ndarray) -> np.ndarray:
        return neuron_mask(self.cfg, u, self.cfg.mask_delta or 0.0)

    def activation(self, z: np.ndarray, z_frac: int, kind: Activation
                   ) -> tuple[np.ndarray, np.ndarray]:
        return self.activation_float(z, kind)

    @staticmethod
    def activation_float(z: np.ndarray, kind: Activation) -> tuple[np.ndarray, np.ndarray]:
        if kind == "tanh":
            a = np.tanh(z)
            return a, 1.0 - a * a
        with np.errstate(over="ignore"):        # exp(-z) = inf gives the exact limit 0
            a = 1.0 / (1.0 + np.exp(-z))
        return a, a * (1.0 - a)

    def activation_frac(self) -> int:
        return 0

    def target(self, labels: np.ndarray, scale: int) -> np.ndarray:
        return np.eye(self.cfg.n_classes, dtype=np.float64)[labels] * scale

    def set_lr_shift(self, shift: int) -> None:
        self.lr = {k: v * 2.0**-shift for k, v in self.base_lr.items()}

    def update_value(self, layer: Layer, factors: np.ndarray, factors_frac: int) -> np.ndarray:
        return -self.lr[layer] * factors

    def apply_update(self, layer: Layer, w: np.ndarray, rows: np.ndarray, cols: np.ndarray,
                     delta: np.ndarray, delta_frac: int, key: int) -> None:
        w[np.ix_(rows, cols)] += delta

    def frac(self, name: str) -> int:
        return 0


Arithmetic = FixedPoint | FloatPoint


def arithmetic(cfg: NacaConfig, precision: str) -> Arithmetic:
    """The number system named ``"fixed"`` or ``"float"``."""
    if precision == "fixed":
        return FixedPoint(cfg)
    if precision == "float":
        return FloatPoint(cfg)
    raise ValueError(f"precision must be 'fixed' or 'float', not {precision!r}")
