"""Class-incremental learning: tasks of one (or two) classes each, trained one after another.

After each task every class's test samples are evaluated, giving the accuracy matrix
A[task trained, class tested]; the metric is the average accuracy over the classes seen so far.
Every method sees the same samples in the same order (and the same sample counters).

Two settings of the neuron mask (cfg.mask_delta), always reported by name:

* ``reference``: as the authors' code, the mask comes from the mean input of a batch of the
  current task, at training time (the whole task's training set) and at test time (each class's
  test batch, which tells the network which task the batch belongs to);
* ``task_free``: the mask comes from the current sample only and test classes are mixed: what a
  deployed chip sees, and what the hardware computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arith import neuron_mask
from .datasets import Dataset
from .network import WorkCounts

SETTINGS = ("reference", "task_free")


def make_tasks(n_classes: int, classes_per_task: int) -> list[tuple[int, ...]]:
    """Classes 0, 1, ... grouped in order into tasks."""
    if classes_per_task < 1 or n_classes % classes_per_task:
        raise ValueError(f"classes_per_task = {classes_per_task} must divide the "
                         f"{n_classes} classes")
    return [tuple(range(k, k + classes_per_task))
            for k in range(0, n_classes, classes_per_task)]


def training_order(labels: np.ndarray, tasks: list[tuple[int, ...]], epochs_per_task: int,
                   seed: int) -> list[list[int]]:
    """The training sample indices of each task, epoch after epoch: the same for every method
    (and for the hardware co-simulation)."""
    gen = np.random.default_rng(seed)
    order = []
    for task in tasks:
        train = np.flatnonzero(np.isin(labels, task))
        order.append([int(i) for _ in range(epochs_per_task) for i in gen.permutation(train)])
    return order


def test_indices(labels: np.ndarray, n_classes: int, per_class: int | None) -> dict:
    """The test samples of each class (the first ``per_class`` of them)."""
    return {c: np.flatnonzero(labels == c)[:per_class] for c in range(n_classes)}


def batch_mask(model, u: np.ndarray) -> np.ndarray:
    """The reference setting's mask: from the mean input of a batch (H,) bool."""
    cfg = model.cfg
    codes = model.arith.inputs(u).astype(np.float64).mean(axis=0)
    exact = getattr(model.arith, "exact", False)
    delta = cfg.code("mask_delta") if exact else cfg.mask_delta
    return neuron_mask(cfg, codes, delta)


@dataclass
class ClResult:
    """One method's class-incremental run."""

    method: str
    setting: str
    tasks: list[tuple[int, ...]]
    accuracy: np.ndarray                 # (tasks, classes): test accuracy of each class
    average: list[float]                 # after each task, over the classes seen
    epochs_per_task: int
    work: WorkCounts = field(default_factory=WorkCounts)
    hidden_change: np.ndarray = field(default=None, repr=False)    # W_h final - initial

    def as_dict(self) -> dict:
        return {"method": self.method, "setting": self.setting,
                "tasks": [list(t) for t in self.tasks],
                "accuracy": self.accuracy.tolist(), "average": self.average,
                "final_average": self.average[-1], "epochs_per_task": self.epochs_per_task,
                "work": self.work.as_dict(),
                "hidden_unchanged_fraction": float(np.mean(self.hidden_change == 0))}


def run(model, method: str, data: Dataset, tasks: list[tuple[int, ...]], setting: str, *,
        epochs_per_task: int = 1, seed: int = 1, test_per_class: int | None = None,
        progress=None) -> ClResult:
    """Train ``model`` task by task and evaluate after each task (see the module doc).

    ``model`` is a NacaNetwork (fixed or float), BpNetwork or EwcNetwork; EWC consolidates
    after each task. The mask applies when the model's config has a ``mask_delta`` (NACA's
    neuron-plasticity modulation; the baselines, as in the authors' code, have none).
    """
    if setting not in SETTINGS:
        raise ValueError(f"setting {setting!r}: use one of {SETTINGS}")
    masked = model.cfg.mask_delta is not None
    n_classes = model.cfg.n_classes
    start_weights = model.state.w_hidden.copy()
    accuracy = np.zeros((len(tasks), n_classes))
    averages, work, counter = [], WorkCounts(), 0
    tests = test_indices(data.y_test, n_classes, test_per_class)
    orders = training_order(data.y_train, tasks, epochs_per_task, seed)
    for t, (task, order) in enumerate(zip(tasks, orders, strict=True)):
        train = np.flatnonzero(np.isin(data.y_train, task))
        reference = masked and setting == "reference"
        mask = batch_mask(model, data.x_train[train]) if reference else None
        for i in order:
            fwd = model.train_sample(data.x_train[i], int(data.y_train[i]), counter, mask)
            work.add(fwd.work)
            counter += 1
            if progress is not None:
                progress()
        if hasattr(model, "consolidate"):
            last = order[-len(train):]           # the task's last epoch
            model.consolidate(data.x_train[last], data.y_train[last],
                              np.arange(counter - len(last), counter), mask)
        for c in range(n_classes):
            idx = tests[c]
            if not len(idx):
                continue
            test_mask = batch_mask(model, data.x_test[idx]) if reference else None
            fwd = model.predict(data.x_test[idx], (1 << 31) + idx, mask=test_mask)
            accuracy[t, c] = float(np.mean(fwd.prediction == c))
        seen = [c for done in tasks[:t + 1] for c in done]
        averages.append(float(accuracy[t, seen].mean()))
    return ClResult(method, setting, tasks, accuracy, averages, epochs_per_task, work,
                    model.state.w_hidden - start_weights)


def synaptic_ops_per_sample(method: str, n: int, h: int, c: int) -> int:
    """The paper's per-sample operation counts (m, n, k = inputs, hidden, outputs)."""
    forward = n * h + h * c
    return {"naca": forward, "bp": 2 * forward, "ewc": 2 * forward + c * forward}[method]


def plot_report(folder, results: list[ClResult], title: str) -> list[str]:
    """Average accuracy after each task, accuracy matrices and hidden-weight change histograms
    as PNGs in ``folder``; returns the file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(11, 4), sharey=True)
    for ax, setting in zip(axes, SETTINGS, strict=True):
        for r in (r for r in results if r.setting == setting):
            ax.plot(range(1, len(r.average) + 1), 100 * np.array(r.average), marker="o",
                    label=r.method)
        ax.set(title=f"{setting} setting", xlabel="tasks learned",
               ylabel="average accuracy over seen classes (%)", ylim=(0, 102))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(f"{folder}/average.png", dpi=120)
    names.append("average.png")
    plt.close(fig)

    fig, axes = plt.subplots(len(SETTINGS), len(results) // len(SETTINGS),
                             figsize=(3.2 * len(results) // len(SETTINGS), 6.4), squeeze=False)
    for ax, r in zip(axes.ravel(), sorted(results, key=lambda r: SETTINGS.index(r.setting)),
                     strict=True):
        ax.imshow(100 * r.accuracy, vmin=0, vmax=100, cmap="viridis", aspect="auto")
        ax.set(title=f"{r.method}, {r.setting}", xlabel="class tested", ylabel="task trained")
    fig.suptitle(f"{title}: accuracy (%) per class after each task")
    fig.tight_layout()
    fig.savefig(f"{folder}/matrix.png", dpi=120)
    names.append("matrix.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in (r for r in results if r.setting == "task_free"):
        change = r.hidden_change.ravel()
        finite = change[np.isfinite(change)]        # a diverging baseline's weights may not be
        diverged = f", {change.size - finite.size} diverged" if finite.size < change.size else ""
        scale = np.abs(finite).max(initial=0.0) or 1.0
        ax.hist(finite / scale, bins=81, histtype="step", log=True,
                label=f"{r.method} ({100 * np.mean(change == 0):.0f} % unchanged{diverged})")
    ax.set(title=f"{title}\nhidden-weight change over all tasks (task-free)",
           xlabel="change / largest change", ylabel="synapses")
    ax.legend()
    fig.tight_layout()
    fig.savefig(f"{folder}/weight_change.png", dpi=120)
    names.append("weight_change.png")
    plt.close(fig)
    return names
