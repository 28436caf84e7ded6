"""Class-incremental protocol: task order, masks, the accuracy matrix, and NACA against BP."""

from dataclasses import replace

import numpy as np
import pytest

from naca.golden_model import datasets, incremental
from naca.golden_model.bp import BpNetwork, EwcNetwork
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork


class Recording:
    """Records every training call (label, counter, mask, input checksum) of the model."""

    def train_sample(self, u, label, sample, mask=None):
        self.calls.append((label, sample, None if mask is None else mask.copy(), u.sum()))
        return super().train_sample(u, label, sample, mask)


class Recorder(Recording, NacaNetwork):
    def __init__(self, cfg):
        super().__init__(cfg)
        self.calls = []


class BpRecorder(Recording, BpNetwork):
    def __init__(self, cfg):
        super().__init__(cfg)
        self.calls = []


@pytest.fixture(scope="module")
def small_digits():
    return datasets.load("digits").head(300, 200)


def cfg_with_mask(delta=0.3):
    return NacaConfig.for_sizes(64, 100, 10, mask_delta=delta, lr_halving_epochs=0)


def test_tasks_group_classes_in_order():
    assert incremental.make_tasks(10, 2) == [(0, 1), (2, 3), (4, 5), (6, 7), (8, 9)]
    with pytest.raises(ValueError, match="classes_per_task = 3 must divide the 10 classes"):
        incremental.make_tasks(10, 3)


def test_every_method_sees_the_same_samples_in_the_same_order(small_digits):
    tasks = incremental.make_tasks(10, 2)
    a = Recorder(cfg_with_mask())
    b = BpRecorder(NacaConfig.for_sizes(64, 100, 10, lr_halving_epochs=0))
    incremental.run(a, "naca", small_digits, tasks, "task_free")
    incremental.run(b, "bp", small_digits, tasks, "reference")
    order_a = [(label, sample, s) for label, sample, _, s in a.calls]
    assert order_a == [(label, sample, s) for label, sample, _, s in b.calls]
    labels = [label for label, *_ in a.calls]
    # task by task: the labels never go back to an earlier task's classes
    assert labels == sorted(labels, key=lambda c: c // 2)
    assert [sample for _, sample, *_ in a.calls] == list(range(len(a.calls)))


def test_reference_mask_comes_from_the_task_batch_mean(small_digits):
    cfg = cfg_with_mask()
    model = Recorder(cfg)
    tasks = incremental.make_tasks(10, 5)
    incremental.run(model, "naca", small_digits, tasks, "reference")
    first_task = np.flatnonzero(np.isin(small_digits.y_train, tasks[0]))
    mean = np.round(small_digits.x_train[first_task] * 256).clip(0, 255).mean(axis=0)
    pick = [j * 64 // 100 for j in range(100)]
    expected = mean[pick] > mean.max() - round(0.3 * 256)
    masks = [m for _, _, m, _ in model.calls[:len(first_task)]]
    assert all(np.array_equal(m, expected) for m in masks)
    assert 0 < expected.sum() < 100
    # task-free: no batch mask is passed; the network masks each sample itself
    free = Recorder(cfg)
    incremental.run(free, "naca", small_digits, tasks, "task_free")
    assert all(m is None for _, _, m, _ in free.calls)


def test_matrix_and_averages_agree(small_digits):
    tasks = incremental.make_tasks(10, 2)
    result = incremental.run(NacaNetwork(cfg_with_mask()), "naca", small_digits, tasks,
                             "task_free")
    assert result.accuracy.shape == (5, 10)
    for t in range(5):
        seen = [c for task in tasks[:t + 1] for c in task]
        assert result.average[t] == pytest.approx(result.accuracy[t, seen].mean())
    assert result.as_dict()["final_average"] == result.average[-1]


def test_ewc_anchors_what_it_learned():
    cfg = NacaConfig.for_sizes(64, 100, 10, lr_halving_epochs=0)
    data = datasets.load("digits")
    ewc = EwcNetwork(cfg, 0.01, 0.01, strength=1e9)
    first = np.flatnonzero(data.y_train == 0)[:40]
    for k, i in enumerate(first):
        ewc.train_sample(data.x_train[i], 0, k)
    ewc.consolidate(data.x_train[first], data.y_train[first], np.arange(len(first)))
    anchored = ewc.state.w_output.copy()
    important = ewc.fisher[1] * 0.01 * 1e9 >= 1
    assert important.any()
    for k, i in enumerate(np.flatnonzero(data.y_train == 1)[:20]):
        ewc.train_sample(data.x_train[i], 1, 100 + k)
    # with an overwhelming strength the important weights stay at their anchors
    assert np.allclose(ewc.state.w_output[important], anchored[important], rtol=0, atol=1e-15)
    assert not np.allclose(ewc.state.w_output[~important], anchored[~important])


def test_ewc_penalty_steps_against_the_plain_bp_step():
    cfg = NacaConfig.for_sizes(64, 100, 10, lr_halving_epochs=0)
    data = datasets.load("digits")
    first = np.flatnonzero(data.y_train == 0)[:30]
    nets = {name: EwcNetwork(cfg, 0.01, 0.01, strength=1e5, penalty_step=name)
            for name in EwcNetwork.PENALTY_STEPS}
    plain = BpNetwork(cfg, 0.01, 0.01)
    for net in (*nets.values(), plain):
        for k, i in enumerate(first):
            net.train_sample(data.x_train[i], 0, k)
    for net in nets.values():
        net.consolidate(data.x_train[first], data.y_train[first], np.arange(len(first)))
    anchor = plain.state.w_output.copy()
    i = int(np.flatnonzero(data.y_train == 1)[0])
    for net in (*nets.values(), plain):
        net.train_sample(data.x_train[i], 1, 100)
    step = 0.01 * 1e5 * nets["sgd"].fisher[1]
    assert (step > 2).any() and (step < 1).any()
    moved = plain.state.w_output - anchor          # the BP step alone, from the anchor
    assert np.allclose(nets["sgd"].state.w_output, anchor + (1 - step) * moved,
                       rtol=0, atol=1e-12)
    assert np.allclose(nets["proximal"].state.w_output,
                       anchor + (1 - np.minimum(step, 1)) * moved, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="penalty_step 'adam'"):
        EwcNetwork(cfg, penalty_step="adam")


def test_naca_reference_setting_beats_bp_by_thirty_points_on_digits():
    data = datasets.load("digits")
    tasks = incremental.make_tasks(10, 1)
    base = NacaConfig.for_sizes(64, 100, 10, lr_halving_epochs=0)
    naca = replace(base, mask_delta=0.3, lr_hidden=4 * base.lr_hidden,
                   lr_output=2 * base.lr_output)
    ours = incremental.run(NacaNetwork(naca), "naca", data, tasks, "reference")
    bp = incremental.run(BpNetwork(base, 0.001, 0.001), "bp", data, tasks, "reference")
    assert ours.average[-1] >= bp.average[-1] + 0.30
    assert np.mean(ours.hidden_change == 0) > 0.3 > np.mean(bp.hidden_change == 0)


def test_plots_survive_a_baseline_whose_weights_diverged(tmp_path):
    tasks = incremental.make_tasks(4, 2)
    accuracy = np.array([[1.0, 0.9, 0.0, 0.0], [0.2, 0.1, 0.8, 0.9]])
    change = np.linspace(-1, 1, 20).reshape(4, 5)
    diverged = change.copy()
    diverged[0, :3] = [np.nan, np.inf, -np.inf]
    results = [incremental.ClResult(method, setting, tasks, accuracy, [0.95, 0.5], 1,
                                    hidden_change=w)
               for setting in incremental.SETTINGS
               for method, w in (("NACA fixed", change), ("EWC", diverged))]
    names = incremental.plot_report(tmp_path, results, "diverged")
    assert all((tmp_path / name).stat().st_size > 10_000 for name in names)
