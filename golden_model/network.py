"""The NACA network: one algorithm, run in integer codes (the hardware) or float64 (reference).

Per training sample (SNN, batch 1, label c known before the sample):

1. Encode: x_i(t) = [r(t, i) < u_i], r a random byte of stream ENCODE (t = 0..T-1).
2. Hidden LIF: V <- alpha * V * (1 - s(t-1)) + sum_i W_ij x_i(t); h = [V > theta - lens] - s(t-1);
   s = [V > theta] * m (m: optional neuron mask). Output LIF likewise over the hidden spikes;
   the output spike counts give the prediction (argmax, lowest index on ties).
3. Hidden update, forward-only, at the last step: v_j = h_j(T) * m_j * q(-eta_h * G[c, j]) and
   W_ij += SR(v_j) for every input i with x_i(T) = 1 (the truncated NACA rule, the reference
   code's sign: f > 0 with h = x = 1 gives LTD).
4. Output update (delta rule): e_k = cnt_k / T - y_k, v_k = -eta_o * e_k and
   W_jk += SR(v_k * P_jk), with P_jk = sum_t h_k(t) s_j(t) ("accumulate", default) or
   h_k(T) s_j(T) ("last_step"). With output_error "mistakes", e_k = g_k cnt_k / T - y_k,
   g_k = 1 only for k in {c, p} when the prediction p is not c.

The ANN runs one analog pass: a = tanh(W_h u) * m, o = sigmoid(W_o a); the hidden update is
v_j = -eta_h * G[c, j] * tanh'(z_j) * m_j times u_i, the output update v_k = -eta_o * (o_k - y_k) *
sigmoid'(z_k) times a_j.

SR is stochastic rounding into the weight format (:func:`arith.stochastic_round`); in the float
reference it is the identity. Both learning rules use the weights of before the sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import rng
from .arith import Arithmetic, arithmetic
from .config import NacaConfig
from .modulation import ni_matrix


@dataclass
class NetworkState:
    """What the hardware stores: the two weight matrices and the modulation table.

    ``w_hidden`` is (N, H): row i holds the weights from input i to every hidden neuron, the
    order in which an input event reads them. ``w_output`` is (H, C), ``modulation`` (C, H).
    """

    w_hidden: np.ndarray
    w_output: np.ndarray
    modulation: np.ndarray

    def copy(self) -> NetworkState:
        return NetworkState(self.w_hidden.copy(), self.w_output.copy(), self.modulation.copy())


@dataclass
class WorkCounts:
    """Work done, summed over samples (what the hardware's status counters count).

    Attributes
    ----------
    samples: samples processed.
    input_events: active input spikes (SNN) or non-zero inputs (ANN), summed over steps.
    synaptic_events: synapses read in the forward pass (input events x H + hidden spikes x C).
    neuron_updates: neuron state updates (T x (H + C) per sample).
    hidden_updates, output_updates: synapses written by learning (non-zero update terms).
    """

    samples: int = 0
    input_events: int = 0
    synaptic_events: int = 0
    neuron_updates: int = 0
    hidden_updates: int = 0
    output_updates: int = 0

    def add(self, other: WorkCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: int(getattr(self, name)) for name in self.__dataclass_fields__}


@dataclass
class Forward:
    """One forward pass over a batch (B samples)."""

    prediction: np.ndarray        # (B,) int
    output: np.ndarray            # (B, C): spike counts (SNN) or output activations (ANN)
    work: WorkCounts
    pre_hidden: np.ndarray = field(repr=False)   # (B, T, N) input spikes / (B, 1, N) input codes
    s_hidden: np.ndarray = field(repr=False)     # (B, T, H) hidden spikes / activations
    h_hidden: np.ndarray = field(repr=False)     # (B, T, H) hidden post factor
    h_output: np.ndarray = field(repr=False)     # (B, T, C) output post factor
    mask: np.ndarray = field(repr=False)         # (B, H) bool
    v_hidden: np.ndarray | None = field(default=None, repr=False)   # (B, T, H) SNN membranes
    v_output: np.ndarray | None = field(default=None, repr=False)   # (B, T, C)


def init_state(cfg: NacaConfig, arith: Arithmetic) -> NetworkState:
    """Initial weights U(+-1/sqrt(fan_in)) and the NI matrix, all drawn from ``cfg.seed``."""
    gen = np.random.default_rng(cfg.seed)
    bound_h, bound_o = 1.0 / np.sqrt(cfg.n_inputs), 1.0 / np.sqrt(cfg.n_hidden)
    w_h = gen.uniform(-bound_h, bound_h, (cfg.n_inputs, cfg.n_hidden))
    w_o = gen.uniform(-bound_o, bound_o, (cfg.n_hidden, cfg.n_classes))
    ni = ni_matrix(cfg, gen)
    return NetworkState(arith.weights("hidden", w_h), arith.weights("output", w_o),
                        arith.modulation_table(ni))


class NacaNetwork:
    """A NACA network in one number system.

    Parameters
    ----------
    cfg:
        The configuration (sizes, constants, formats).
    precision:
        ``"fixed"`` (integer codes: the hardware's behaviour) or ``"float"`` (float64 reference).
    state:
        Weights and modulation table; by default :func:`init_state`.
    """

    def __init__(self, cfg: NacaConfig, precision: str = "fixed",
                 state: NetworkState | None = None):
        self.cfg = cfg
        self.precision = precision
        self.arith = arithmetic(cfg, precision)
        self.state = state if state is not None else init_state(cfg, self.arith)

    # -- forward ---------------------------------------------------------------------------------
    def forward(self, u: np.ndarray, samples: np.ndarray, mask: np.ndarray | None = None
                ) -> Forward:
        """Forward pass of a batch: ``u`` (B, N) intensities in [0, 1], ``samples`` (B,) the
        sample counters that address the random bits. ``mask`` (H,) bool, when given, replaces
        the per-sample neuron mask (the class-incremental reference setting's batch mask)."""
        u = np.atleast_2d(np.asarray(u, dtype=np.float64))
        samples = np.atleast_1d(np.asarray(samples, dtype=np.int64))
        if u.shape[1] != self.cfg.n_inputs:
            raise ValueError(f"input has {u.shape[1]} features; the network has "
                             f"n_inputs = {self.cfg.n_inputs}")
        if len(samples) != len(u):
            raise ValueError(f"{len(u)} inputs but {len(samples)} sample counters")
        codes = self.arith.inputs(u)
        if mask is not None:
            mask = np.broadcast_to(np.asarray(mask, dtype=bool), (len(u), self.cfg.n_hidden))
        elif self.cfg.mask_delta is not None:
            mask = self.arith.mask(codes)
        else:
            mask = np.ones((len(u), self.cfg.n_hidden), dtype=bool)
        if self.cfg.model == "snn":
            return self._forward_snn(codes, samples, mask)
        return self._forward_ann(codes, mask)

    def _forward_snn(self, codes: np.ndarray, samples: np.ndarray, mask: np.ndarray) -> Forward:
        cfg, ar, st = self.cfg, self.arith, self.state
        steps = np.arange(cfg.time_steps)
        keys = rng.stream_key(cfg.seed, rng.Stream.ENCODE, samples[:, None], steps[None, :])
        x = ar.spikes(codes[:, None, :], rng.vector_bytes(keys, cfg.n_inputs))     # (B, T, N)
        masked = None if mask.all() else mask
        s_h, h_h, v_h = self._lif("hidden", ar.fan_in(x, st.w_hidden), masked)
        s_o, h_o, v_o = self._lif("output", ar.fan_in(s_h, st.w_output), None)
        counts = s_o.sum(axis=1)
        active, hidden_spikes = int(x.sum()), int(s_h.sum())
        work = WorkCounts(
            samples=len(codes), input_events=active,
            synaptic_events=active * cfg.n_hidden + hidden_spikes * cfg.n_classes,
            neuron_updates=len(codes) * cfg.time_steps * (cfg.n_hidden + cfg.n_classes))
        return Forward(np.argmax(counts, axis=1), counts, work, x, s_h, h_h, h_o, mask, v_h, v_o)

    def _lif(self, layer: str, current: np.ndarray, mask: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """LIF over T steps with hard reset: spikes s and post factors h, both (B, T, L) int8,
        and the membranes V after each step's integration (B, T, L)."""
        ar = self.arith
        b, steps, width = current.shape
        s = np.zeros((b, steps, width), dtype=np.int8)
        trace = np.zeros((b, steps, width), dtype=current.dtype)
        v = np.zeros((b, width), dtype=current.dtype)
        fired = np.zeros((b, width), dtype=bool)
        for t in range(steps):
            v = ar.integrate(layer, np.where(fired, 0, v), current[:, t])
            trace[:, t] = v
            fired = ar.above(layer, v, near=False)
            if mask is not None:
                fired &= mask
            s[:, t] = fired
        previous = np.zeros_like(s)
        previous[:, 1:] = s[:, :-1]
        h = ar.above(layer, trace, near=True).astype(np.int8) - previous
        return s, h, trace

    def _forward_ann(self, codes: np.ndarray, mask: np.ndarray) -> Forward:
        cfg, ar, st = self.cfg, self.arith, self.state
        in_frac, act_frac = ar.input_frac(), ar.activation_frac()
        w_h_frac, w_o_frac = self._weight_frac("hidden"), self._weight_frac("output")
        a_h, d_h = ar.activation(ar.fan_in(codes, st.w_hidden), in_frac + w_h_frac, "tanh")
        a_h = a_h * mask
        o, d_o = ar.activation(ar.fan_in(a_h, st.w_output), act_frac + w_o_frac, "sigmoid")
        b = len(codes)
        work = WorkCounts(samples=b, input_events=int(np.count_nonzero(codes)),
                          synaptic_events=b * cfg.n_synapses,
                          neuron_updates=b * (cfg.n_hidden + cfg.n_classes))
        return Forward(np.argmax(o, axis=1), o, work, codes[:, None, :], a_h[:, None, :],
                       d_h[:, None, :], d_o[:, None, :], mask)

    def _weight_frac(self, layer: str) -> int:
        return self.arith.weight[layer].frac if self.arith.exact else 0

    # -- learning --------------------------------------------------------------------------------
    def set_lr_shift(self, shift: int) -> None:
        """Divide the learning rates by 2**shift (the schedule's rates for one epoch)."""
        self.arith.set_lr_shift(shift)

    def train_sample(self, u: np.ndarray, label: int, sample: int,
                     mask: np.ndarray | None = None) -> Forward:
        """Forward one sample, then apply the hidden (NACA) and output (delta) updates."""
        if not 0 <= int(label) < self.cfg.n_classes:
            raise ValueError(f"label {label} is outside 0..{self.cfg.n_classes - 1}")
        fwd = self.forward(u, np.array([sample]), mask)
        if self.cfg.model == "snn":
            self._learn_snn(fwd, int(label), int(sample))
        else:
            self._learn_ann(fwd, int(label), int(sample))
        return fwd

    def _keys(self, sample: int) -> tuple[int, int]:
        streams = (rng.Stream.ROUND_HIDDEN, rng.Stream.ROUND_OUTPUT)
        hidden, output = rng.stream_key(self.cfg.seed, streams, sample, self.cfg.time_steps)
        return int(hidden), int(output)

    def _output_error(self, fwd: Forward, label: int, target: np.ndarray) -> np.ndarray:
        """e_k = g_k out_k - target_k, g_k per the config's ``output_error`` (module doc)."""
        counted = fwd.output[0]
        if self.cfg.output_error == "mistakes":
            prediction = int(fwd.prediction[0])
            counted = np.zeros_like(counted)
            if prediction != label:
                counted[[label, prediction]] = fwd.output[0, [label, prediction]]
        return counted - target

    def _learn_snn(self, fwd: Forward, label: int, sample: int) -> None:
        cfg, ar, st = self.cfg, self.arith, self.state
        key_h, key_o = self._keys(sample)
        last = cfg.time_steps - 1
        # Hidden: v_j = h_j(T) m_j q(-eta_h G[c, j]) on every synapse from an input active at T.
        # The modulator broadcasts q(-eta_h G[c, j]); each neuron flips its sign or gates it.
        broadcast = ar.update_value("hidden", st.modulation[label], ar.frac("modulation"))
        v_h = broadcast * fwd.h_hidden[0, last] * fwd.mask[0]
        rows, cols = np.flatnonzero(fwd.pre_hidden[0, last]), np.flatnonzero(v_h)
        ar.apply_update("hidden", st.w_hidden, rows, cols,
                        np.broadcast_to(v_h[cols], (len(rows), len(cols))),
                        ar.frac("update_hidden"), key_h)
        fwd.work.hidden_updates += len(rows) * len(cols)
        # Output: v_k = -eta_o (cnt_k - T y_k), times P_jk = sum_t s_j(t) h_k(t).
        error = self._output_error(fwd, label, ar.target(np.array([label]), cfg.time_steps)[0])
        v_o = ar.update_value("output", error, 0)
        s_h, h_o = fwd.s_hidden[0], fwd.h_output[0]
        if cfg.output_rule == "last_step":
            s_h, h_o = s_h[last:], h_o[last:]
        pre = s_h.T.astype(np.int64) @ h_o.astype(np.int64)                         # (H, C)
        rows, cols = np.flatnonzero(pre.any(axis=1)), np.flatnonzero(v_o)
        delta = pre[np.ix_(rows, cols)] * v_o[cols]
        ar.apply_update("output", st.w_output, rows, cols, delta, ar.frac("update_output"), key_o)
        fwd.work.output_updates += int(np.count_nonzero(delta))

    def _learn_ann(self, fwd: Forward, label: int, sample: int) -> None:
        ar, st = self.arith, self.state
        key_h, key_o = self._keys(sample)
        act_frac = ar.activation_frac()
        # Hidden: v_j = -eta_h G[c, j] tanh'(z_j) m_j, times u_i.
        post = st.modulation[label] * fwd.h_hidden[0, 0] * fwd.mask[0]
        v_h = ar.update_value("hidden", post, ar.frac("modulation") + act_frac)
        u = fwd.pre_hidden[0, 0]
        rows, cols = np.flatnonzero(u), np.flatnonzero(v_h)
        delta = u[rows, None] * v_h[None, cols]
        ar.apply_update("hidden", st.w_hidden, rows, cols, delta,
                        ar.frac("update_hidden") + ar.input_frac(), key_h)
        # Output: v_k = -eta_o (o_k - y_k) sigmoid'(z_k), times a_j.
        error = self._output_error(fwd, label, ar.target(np.array([label]), 1 << act_frac)[0])
        v_o = ar.update_value("output", error * fwd.h_output[0, 0], 2 * act_frac)
        a = fwd.s_hidden[0, 0]
        rows_o, cols_o = np.flatnonzero(a), np.flatnonzero(v_o)
        delta_o = a[rows_o, None] * v_o[None, cols_o]
        ar.apply_update("output", st.w_output, rows_o, cols_o, delta_o,
                        ar.frac("update_output") + act_frac, key_o)
        fwd.work.hidden_updates += len(rows) * len(cols)
        fwd.work.output_updates += len(rows_o) * len(cols_o)

    # -- inference -------------------------------------------------------------------------------
    def predict(self, u: np.ndarray, samples: np.ndarray, batch: int = 256,
                mask: np.ndarray | None = None) -> Forward:
        """Inference over many samples, in batches; returns predictions, outputs and work."""
        u = np.atleast_2d(u)
        samples = np.asarray(samples, dtype=np.int64)
        preds, outs, work = [], [], WorkCounts()
        for start in range(0, len(u), batch):
            fwd = self.forward(u[start:start + batch], samples[start:start + batch], mask)
            preds.append(fwd.prediction)
            outs.append(fwd.output)
            work.add(fwd.work)
        empty = np.zeros((0,), dtype=np.int8)
        return Forward(np.concatenate(preds), np.concatenate(outs), work,
                       empty, empty, empty, empty, empty)
