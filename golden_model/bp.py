"""Backpropagation baseline: the same network, initial weights and input spikes as the float
NACA reference, trained by SGD at batch 1 on the squared error of the output rates.

SNN: backpropagation through time with the reset treated as a constant (the usual detached
reset) and a box surrogate dS/dV = [|V - theta| < lens] / (2 lens). ANN: plain backprop
through tanh and sigmoid. The learning rates are the config's ``lr_hidden`` / ``lr_output``
unless given. The output error is the config's ``output_error`` (as NACA's), so the delta
rule's "mistakes" variant can be compared under BP too.
"""

from __future__ import annotations

import numpy as np

from .config import NacaConfig
from .network import Forward, NacaNetwork


class BpNetwork(NacaNetwork):
    """The float NACA network with its learning step replaced by backpropagation."""

    def __init__(self, cfg: NacaConfig, lr_hidden: float | None = None,
                 lr_output: float | None = None):
        super().__init__(cfg, "float")
        self.base_lr = (cfg.lr_hidden if lr_hidden is None else lr_hidden,
                        cfg.lr_output if lr_output is None else lr_output)
        self.lr_h, self.lr_o = self.base_lr

    def set_lr_shift(self, shift: int) -> None:
        self.lr_h, self.lr_o = (lr * 2.0**-shift for lr in self.base_lr)

    def train_sample(self, u: np.ndarray, label: int, sample: int,
                     mask: np.ndarray | None = None) -> Forward:
        fwd, (g_h, g_o) = self.gradients(u, label, sample, mask)
        self.state.w_hidden -= self.lr_h * g_h
        self.state.w_output -= self.lr_o * g_o
        fwd.work.hidden_updates += g_h.size
        fwd.work.output_updates += g_o.size
        return fwd

    def gradients(self, u: np.ndarray, label: int, sample: int, mask: np.ndarray | None = None
                  ) -> tuple[Forward, tuple[np.ndarray, np.ndarray]]:
        """The forward pass and the loss gradients (hidden, output) of one sample."""
        if not 0 <= int(label) < self.cfg.n_classes:
            raise ValueError(f"label {label} is outside 0..{self.cfg.n_classes - 1}")
        fwd = self.forward(u, np.array([sample]), mask)
        target = np.eye(self.cfg.n_classes)[int(label)]
        if self.cfg.model == "snn":
            steps = self.cfg.time_steps
            rate_error = self._output_error(fwd, int(label), steps * target) / steps
            return fwd, self._gradients_snn(fwd, rate_error)
        return fwd, self._gradients_ann(fwd, self._output_error(fwd, int(label), target))

    def _surrogate(self, v: np.ndarray) -> np.ndarray:
        width = max(self.cfg.lens, 1e-3)
        return (np.abs(v - self.cfg.threshold) < width) / (2.0 * width)

    def _bptt(self, grad_s: np.ndarray, v: np.ndarray, s: np.ndarray) -> np.ndarray:
        """dL/dI(t) for one LIF layer from dL/ds(t): (T, L) arrays."""
        alpha = self.cfg.alpha
        grad_i = np.zeros_like(v)
        carry = np.zeros(v.shape[1])
        for t in range(v.shape[0] - 1, -1, -1):
            grad_v = grad_s[t] * self._surrogate(v[t]) + carry
            grad_i[t] = grad_v
            carry = grad_v * alpha * (1 - s[t])
        return grad_i

    def _gradients_snn(self, fwd: Forward, rate_error: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        steps = self.cfg.time_steps
        grad_s_out = np.broadcast_to(2.0 * rate_error / steps, fwd.v_output[0].shape)
        spikes_out = (fwd.v_output[0] > self.cfg.threshold).astype(np.float64)
        grad_i_out = self._bptt(grad_s_out, fwd.v_output[0], spikes_out)
        s_hid = fwd.s_hidden[0].astype(np.float64)
        g_o = s_hid.T @ grad_i_out
        grad_s_hid = grad_i_out @ self.state.w_output.T * fwd.mask[0]
        grad_i_hid = self._bptt(grad_s_hid, fwd.v_hidden[0], s_hid)
        g_h = fwd.pre_hidden[0].astype(np.float64).T @ grad_i_hid
        return g_h, g_o

    def _gradients_ann(self, fwd: Forward, error: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d_o = fwd.h_output[0, 0]
        a, d_h = fwd.s_hidden[0, 0], fwd.h_hidden[0, 0]
        delta_o = 2.0 * error * d_o
        g_o = np.outer(a, delta_o)
        delta_h = (self.state.w_output @ delta_o) * d_h * fwd.mask[0]
        g_h = np.outer(fwd.pre_hidden[0, 0], delta_h)
        return g_h, g_o


class EwcNetwork(BpNetwork):
    """BP plus elastic weight consolidation (Kirkpatrick et al. 2017): after each task the
    diagonal empirical Fisher F of that task's samples is added up and the weights are
    anchored, and every SGD step adds the penalty gradient lambda * F * (W - W*).

    ``penalty_step``:

    - ``"sgd"``: the plain gradient step, W <- W - lr * lambda * F * (W - W*), as the authors'
      baseline takes it. Wherever lr * lambda * F > 2 it overshoots the anchor by more than it
      started from, so those weights oscillate with a growing amplitude.
    - ``"proximal"``: W <- W - min(1, lr * lambda * F) * (W - W*), which equals the SGD step
      wherever that is stable and never overshoots the anchor.
    """

    PENALTY_STEPS = ("sgd", "proximal")

    def __init__(self, cfg: NacaConfig, lr_hidden: float | None = None,
                 lr_output: float | None = None, strength: float = 5e4,
                 penalty_step: str = "proximal"):
        if penalty_step not in self.PENALTY_STEPS:
            raise ValueError(f"penalty_step {penalty_step!r}: use one of {self.PENALTY_STEPS}")
        super().__init__(cfg, lr_hidden, lr_output)
        self.strength, self.penalty_step = strength, penalty_step
        self.fisher = [np.zeros_like(self.state.w_hidden), np.zeros_like(self.state.w_output)]
        self.anchor = [self.state.w_hidden.copy(), self.state.w_output.copy()]

    def train_sample(self, u: np.ndarray, label: int, sample: int,
                     mask: np.ndarray | None = None) -> Forward:
        fwd = super().train_sample(u, label, sample, mask)
        for w, f, a, lr in zip((self.state.w_hidden, self.state.w_output), self.fisher,
                               self.anchor, (self.lr_h, self.lr_o), strict=True):
            step = lr * self.strength * f
            if self.penalty_step == "proximal":
                step = np.minimum(1.0, step)
            w -= step * (w - a)
        return fwd

    def consolidate(self, x: np.ndarray, y: np.ndarray, samples: np.ndarray,
                    mask: np.ndarray | None = None) -> None:
        """Add the Fisher information of a finished task's samples; anchor the weights."""
        for k, (u, label) in enumerate(zip(x, y, strict=True)):
            _, grads = self.gradients(u, int(label), int(samples[k]), mask)
            for f, g in zip(self.fisher, grads, strict=True):
                f += g * g / len(x)
        self.anchor = [self.state.w_hidden.copy(), self.state.w_output.copy()]
