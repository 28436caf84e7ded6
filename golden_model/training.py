"""Training and evaluation loops, and the run folder they write.

Sample counters (which address every random bit): the k-th training sample presented, counted
from 0 over all epochs, uses counter k; test sample k uses ``EVAL_COUNTER_BASE + k`` in every
evaluation, so a test pass never depends on when it runs. The training order of epoch e is
``np.random.default_rng([seed, e]).permutation(n_train)``, and its learning rates are the
config's divided by ``2**lr_shift(cfg, e)``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import NacaConfig
from .datasets import Dataset
from .network import Forward, NacaNetwork, NetworkState, WorkCounts

EVAL_COUNTER_BASE = 1 << 31


def lr_shift(cfg: NacaConfig, epoch: int) -> int:
    """How many times the learning rates have halved by ``epoch`` (0-based)."""
    return epoch // cfg.lr_halving_epochs if cfg.lr_halving_epochs else 0


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(n)


@dataclass
class History:
    """Per-epoch metrics of a run."""

    train_accuracy: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    samples_per_second: list[float] = field(default_factory=list)
    work: WorkCounts = field(default_factory=WorkCounts)

    def as_dict(self) -> dict:
        return {"train_accuracy": self.train_accuracy, "test_accuracy": self.test_accuracy,
                "samples_per_second": self.samples_per_second, "work": self.work.as_dict()}


class Learner(Protocol):
    """What the training loop needs of a model: NACA (fixed or float) or a BP baseline."""

    cfg: NacaConfig

    def set_lr_shift(self, shift: int) -> None: ...

    def train_sample(self, u: np.ndarray, label: int, sample: int) -> Forward: ...

    def predict(self, u: np.ndarray, samples: np.ndarray) -> Forward: ...


def evaluate(model: Learner, x: np.ndarray, y: np.ndarray) -> float:
    """Test accuracy with the fixed evaluation counters."""
    fwd = model.predict(x, EVAL_COUNTER_BASE + np.arange(len(x)))
    return float(np.mean(fwd.prediction == y))


def train(model: Learner, data: Dataset, epochs: int,
          progress: Callable[[int, int], None] | None = None,
          on_epoch: Callable[[int, History], None] | None = None) -> History:
    """Train for ``epochs`` epochs at batch 1, evaluating on the test split after each.

    ``progress(done, total)`` is called after every training sample, ``on_epoch`` after each
    epoch's evaluation.
    """
    hist = History()
    n = len(data.x_train)
    counter = 0
    for epoch in range(epochs):
        model.set_lr_shift(lr_shift(model.cfg, epoch))
        correct = 0
        start = time.perf_counter()
        for i in epoch_order(model.cfg.seed, epoch, n):
            fwd = model.train_sample(data.x_train[i], int(data.y_train[i]), counter)
            correct += int(fwd.prediction[0] == data.y_train[i])
            hist.work.add(fwd.work)
            counter += 1
            if progress is not None:
                progress(counter, epochs * n)
        hist.samples_per_second.append(n / (time.perf_counter() - start))
        hist.train_accuracy.append(correct / n)
        hist.test_accuracy.append(evaluate(model, data.x_test, data.y_test))
        if on_epoch is not None:
            on_epoch(epoch, hist)
    return hist


# -- run folders ---------------------------------------------------------------------------------
def save_state(path: Path, state: NetworkState) -> None:
    np.savez(path, w_hidden=state.w_hidden, w_output=state.w_output,
             modulation=state.modulation)


def load_state(path: Path, cfg: NacaConfig, exact: bool) -> NetworkState:
    """Load weights saved by :func:`save_state`, checking names, shapes and dtypes."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file {path} does not exist")
    expected = {"w_hidden": (cfg.n_inputs, cfg.n_hidden),
                "w_output": (cfg.n_hidden, cfg.n_classes),
                "modulation": (cfg.n_classes, cfg.n_hidden)}
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable .npz weight file: {exc}") from exc
    missing = set(expected) - set(arrays)
    if missing:
        raise ValueError(f"{path} lacks array(s) {sorted(missing)}")
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ValueError(f"{path}: {name} has shape {arrays[name].shape}, but the config "
                             f"needs {shape} (n_inputs={cfg.n_inputs}, n_hidden={cfg.n_hidden}, "
                             f"n_classes={cfg.n_classes})")
        if exact and arrays[name].dtype.kind not in "iu":
            raise ValueError(f"{path}: {name} holds {arrays[name].dtype}, but a fixed-point run "
                             "needs integer codes")
    dtype = np.int64 if exact else np.float64
    return NetworkState(*(arrays[k].astype(dtype) for k in expected))


def write_run(folder: Path, cfg: NacaConfig, meta: dict, model: NacaNetwork | None,
              hist: History) -> None:
    """Write config.json, metrics.json, weights.npz (NACA runs) and curve.png into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg.save(folder / "config.json")
    if model is not None:
        save_state(folder / "weights.npz", model.state)
    metrics = {**meta, **hist.as_dict(),
               "final_test_accuracy": hist.test_accuracy[-1] if hist.test_accuracy else None,
               "best_test_accuracy": max(hist.test_accuracy) if hist.test_accuracy else None}
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plot_curve(folder / "curve.png", hist, title=meta.get("title", ""))


def plot_curve(path: Path, hist: History, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(hist.test_accuracy) + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, 100 * np.array(hist.train_accuracy), "o-", label="train")
    ax.plot(epochs, 100 * np.array(hist.test_accuracy), "s-", label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
