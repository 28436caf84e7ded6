"""The NACA network: LIF by hand, the whole training step against a naive scalar model,
repeatability, fixed versus float, and learning."""

from dataclasses import replace

import numpy as np
import pytest

from naca.golden_model import datasets, rng
from naca.golden_model.bp import BpNetwork
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork
from naca.golden_model.training import evaluate, train

from . import naive


def small_config(**overrides) -> NacaConfig:
    """An odd-sized network whose learning rates make updates of several LSBs."""
    base = dict(time_steps=4, seed=7, lr_hidden=2.0**-5, lr_output=2.0**-5)
    return NacaConfig.for_sizes(13, 7, 3, **{**base, **overrides})


def test_lif_hard_reset_by_hand():
    cfg = NacaConfig.for_sizes(4, 2, 2, threshold=0.5, lens=0.25, alpha=0.25)
    net = NacaNetwork(cfg)
    frac = cfg.formats.membrane_hidden.frac
    one = 1 << frac                                    # the code of 1.0
    # neuron 0: 0.375 per step, neuron 1: 0.75 then nothing
    current = np.array([[[3 * one // 8, 3 * one // 4], [3 * one // 8, 0],
                         [3 * one // 8, 0], [3 * one // 8, 0]]], dtype=np.int64)
    s, h, v = net._lif("hidden", current, None)
    # neuron 0: V = .375, .375/4+.375 = .46875, .46875/4+.375 = .4921875, .498046875 (never > .5)
    expect_v0 = [0.375, 0.46875, 0.4921875, 0.498046875]
    assert list(v[0, :, 0]) == [int(np.floor(x * one)) for x in expect_v0]
    assert list(s[0, :, 0]) == [0, 0, 0, 0]
    assert list(h[0, :, 0]) == [1, 1, 1, 1]            # V > threshold - lens = 0.25
    # neuron 1: fires at t=0 (0.75 > 0.5), hard reset, then stays at 0
    assert list(v[0, :, 1]) == [3 * one // 4, 0, 0, 0]
    assert list(s[0, :, 1]) == [1, 0, 0, 0]
    assert list(h[0, :, 1]) == [1, -1, 0, 0]           # stopped firing at t=1: h = 0 - 1


def test_leak_floors_negative_membranes():
    cfg = NacaConfig.for_sizes(4, 1, 2, alpha=0.25)
    net = NacaNetwork(cfg)
    current = np.array([[[-5], [0]]], dtype=np.int64)
    _, _, v = net._lif("hidden", current, None)
    assert v[0, 1, 0] == -2                             # floor(-5 * 64 / 256) = floor(-1.25)


@pytest.mark.parametrize("overrides", [
    {},
    {"output_rule": "last_step"},
    {"output_error": "mistakes"},
    {"mask_delta": 0.3},
    {"sr_bits": 3},
    {"sr_bits": 0},
])
def test_training_step_matches_naive_model(overrides):
    cfg = small_config(**overrides)
    net = NacaNetwork(cfg)
    data = np.random.default_rng(3).random((6, cfg.n_inputs))
    labels = [0, 2, 1, 1, 0, 2]
    w_hid = net.state.w_hidden.tolist()
    w_out = net.state.w_output.tolist()
    table = net.state.modulation.tolist()
    changed = 0
    for sample, (u, label) in enumerate(zip(data, labels, strict=True)):
        counts, w_hid, w_out = naive.train_step(cfg, w_hid, w_out, table, u, label, sample)
        before = net.state.copy()
        fwd = net.train_sample(u, label, sample)
        assert fwd.output[0].tolist() == counts
        assert net.state.w_hidden.tolist() == w_hid
        assert net.state.w_output.tolist() == w_out
        changed += int((before.w_hidden != net.state.w_hidden).sum())
    assert changed > 0                                  # the comparison exercised updates


def test_repeatable_bit_for_bit_and_seed_dependent():
    data = datasets.load("digits").head(200, 50)
    cfg = NacaConfig.for_sizes(64, 100, 10)

    def run(config):
        net = NacaNetwork(config)
        train(net, data, 1)
        return net.state

    a, b = run(cfg), run(cfg)
    assert np.array_equal(a.w_hidden, b.w_hidden) and np.array_equal(a.w_output, b.w_output)
    c = run(replace(cfg, seed=2))
    assert not np.array_equal(a.w_hidden, c.w_hidden)


def test_work_counts_match_the_spikes():
    cfg = small_config()
    net = NacaNetwork(cfg)
    u = np.random.default_rng(0).random(cfg.n_inputs)
    fwd = net.train_sample(u, 1, 0)
    active = int(fwd.pre_hidden.sum())
    assert fwd.work.input_events == active
    assert fwd.work.synaptic_events == active * cfg.n_hidden + int(fwd.s_hidden.sum()) * 3
    assert fwd.work.neuron_updates == cfg.time_steps * (cfg.n_hidden + cfg.n_classes)
    post = net.state.modulation[1] * fwd.h_hidden[0, -1]
    assert fwd.work.hidden_updates <= int(fwd.pre_hidden[0, -1].sum()) * np.count_nonzero(post)


def test_batched_inference_equals_one_by_one():
    cfg = small_config()
    net = NacaNetwork(cfg)
    u = np.random.default_rng(1).random((9, cfg.n_inputs))
    counters = np.arange(100, 109)
    batch = net.predict(u, counters, batch=4)
    single = [net.forward(u[k], counters[k:k + 1]).output[0] for k in range(9)]
    assert np.array_equal(batch.output, np.array(single))


def test_encoding_rate_follows_intensity():
    cfg = NacaConfig.for_sizes(200, 4, 2, time_steps=50)
    net = NacaNetwork(cfg)
    u = np.linspace(0.0, 0.99, 200)
    fwd = net.forward(u, np.array([5]))
    rate = fwd.pre_hidden[0].mean(axis=0)
    assert rate[0] == 0.0
    # 50 Bernoulli draws per input: the mean over inputs tracks the intensity closely
    assert abs(rate.mean() - cfg.formats.input.quantize(u).mean() / 256) < 0.02
    assert np.corrcoef(rate, u)[0, 1] > 0.95


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def test_fixed_point_learns_well_above_chance(digits):
    net = NacaNetwork(NacaConfig.for_sizes(64, 100, 10))
    hist = train(net, digits, 1)
    assert hist.test_accuracy[-1] > 0.7                 # chance is 0.1


def test_fixed_and_float_agree(digits):
    """Same config and seed: after two epochs the accuracies are close, and the float network
    given the fixed network's weights predicts (nearly) the same classes."""
    cfg = NacaConfig.for_sizes(64, 100, 10)
    fixed, flt = NacaNetwork(cfg, "fixed"), NacaNetwork(cfg, "float")
    acc_fixed = train(fixed, digits, 2).test_accuracy[-1]
    acc_float = train(flt, digits, 2).test_accuracy[-1]
    assert abs(acc_fixed - acc_float) < 0.05
    f = cfg.formats
    flt.state.w_hidden = f.weight_hidden.to_float(fixed.state.w_hidden)
    flt.state.w_output = f.weight_output.to_float(fixed.state.w_output)
    counters = np.arange(len(digits.x_test)) + (1 << 31)
    same = fixed.predict(digits.x_test, counters).prediction == flt.predict(
        digits.x_test, counters).prediction
    assert same.mean() > 0.9


def test_hidden_rule_changes_hidden_weights_only_when_enabled(digits):
    data = digits.head(100, 10)
    off = NacaNetwork(NacaConfig.for_sizes(64, 100, 10, lr_hidden=0.0))
    start = off.state.w_hidden.copy()
    train(off, data, 1)
    assert np.array_equal(off.state.w_hidden, start)
    on = NacaNetwork(NacaConfig.for_sizes(64, 100, 10))
    train(on, data, 1)
    assert not np.array_equal(on.state.w_hidden, start)


@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_ann_learns(digits, precision):
    net = NacaNetwork(NacaConfig.for_sizes(64, 100, 10, model="ann"), precision)
    assert train(net, digits, 1).test_accuracy[-1] > 0.6


@pytest.mark.parametrize("model", ["snn", "ann"])
def test_bp_baseline_learns(digits, model):
    cfg = NacaConfig.for_sizes(64, 100, 10, model=model, lr_hidden=0.01, lr_output=0.01)
    net = BpNetwork(cfg)
    before = evaluate(net, digits.x_test, digits.y_test)
    after = train(net, digits, 1).test_accuracy[-1]
    assert after > 0.6 and after > before + 0.3


def test_random_bytes_do_not_depend_on_evaluation_order():
    k = rng.stream_key(9, rng.Stream.ROUND_HIDDEN, 123, 4)
    rows, cols = np.arange(20), np.arange(11)
    full = rng.matrix_bytes(k, rows, cols, 11)
    perm_r, perm_c = np.random.default_rng(0).permutation(20), np.arange(11)[::-1]
    assert np.array_equal(rng.matrix_bytes(k, perm_r, perm_c, 11), full[np.ix_(perm_r, perm_c)])
    for i, j in [(0, 0), (5, 10), (19, 3)]:
        assert full[i, j] == naive.byte_2d(int(k), i, j, 11)


def test_label_out_of_range_is_rejected():
    net = NacaNetwork(small_config())
    with pytest.raises(ValueError, match=r"label 3 is outside 0\.\.2"):
        net.train_sample(np.zeros(13), 3, 0)


@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_learning_rate_schedule_is_a_shift_of_the_rates(precision):
    """Two halvings train exactly like a network configured with rates four times smaller."""
    cfg = small_config()
    scheduled = NacaNetwork(cfg, precision)
    scheduled.set_lr_shift(2)
    smaller = NacaNetwork(replace(cfg, lr_hidden=cfg.lr_hidden / 4, lr_output=cfg.lr_output / 4),
                          precision)
    data = np.random.default_rng(4).random((5, cfg.n_inputs))
    for sample, u in enumerate(data):
        scheduled.train_sample(u, sample % 3, sample)
        smaller.train_sample(u, sample % 3, sample)
    assert np.array_equal(scheduled.state.w_hidden, smaller.state.w_hidden)
    assert np.array_equal(scheduled.state.w_output, smaller.state.w_output)
    assert not np.array_equal(scheduled.state.w_hidden, NacaNetwork(cfg, precision).state.w_hidden)


def test_training_applies_the_halving_schedule():
    from naca.golden_model.training import lr_shift
    cfg = NacaConfig(lr_halving_epochs=10)
    assert [lr_shift(cfg, e) for e in (0, 9, 10, 25)] == [0, 0, 1, 2]
    assert lr_shift(replace(cfg, lr_halving_epochs=0), 25) == 0


def test_membrane_clamp_is_skipped_only_where_it_cannot_act():
    from naca.golden_model.arith import FixedPoint
    small = FixedPoint(NacaConfig.for_sizes(64, 100, 10))
    assert small.may_saturate == {"hidden": False, "output": False}
    large = FixedPoint(NacaConfig.for_sizes(784, 100, 10))
    assert large.may_saturate["hidden"]
    # where it may act, it does: a current beyond the format saturates
    v = large.integrate("hidden", np.zeros(2, dtype=np.int64), np.array([10**6, -10**6]))
    fmt = large.membrane["hidden"]
    assert v.tolist() == [fmt.max_code, fmt.min_code]
    # where it is skipped, the bound holds on the worst case: all inputs at the extreme weight
    w = small.weight["hidden"]
    worst = np.full(1, 64 * w.min_code, dtype=np.int64)
    v = np.zeros(1, dtype=np.int64)
    for _ in range(200):
        v = small.integrate("hidden", v, worst)
    assert small.membrane["hidden"].min_code < v[0] < 0


@pytest.mark.parametrize("model", ["snn", "ann"])
def test_mistakes_rule_changes_only_the_label_and_a_wrong_winner(model):
    # The "mistakes" output error against the delta rule from the same weights and sample
    # (and, for the SNN, against the naive model): a right prediction changes only the label's
    # column; a wrong one only the label's and the winner's, exactly as the delta rule does.
    # Positive output weights make most classes fire, so the delta rule moves other columns.
    cfg = NacaConfig.for_sizes(13, 7, 5, seed=7, lr_hidden=2.0**-5, lr_output=2.0**-5,
                               model=model, **({"time_steps": 4} if model == "snn" else {}))
    data = np.random.default_rng(4).random((40, cfg.n_inputs))
    delta_rule = NacaNetwork(cfg)
    delta_rule.state.w_output[:] = 2 * np.abs(delta_rule.state.w_output)
    mistakes = NacaNetwork(replace(cfg, output_error="mistakes"))
    outcomes, bystanders_moved = set(), 0
    for sample, u in enumerate(data):
        label = sample % cfg.n_classes
        mistakes.state = delta_rule.state.copy()
        before = delta_rule.state.copy()
        fwd = delta_rule.train_sample(u, label, sample)
        mistakes.train_sample(u, label, sample)
        got = mistakes.state.w_output
        if model == "snn":
            _, _, w_out = naive.train_step(mistakes.cfg, before.w_hidden.tolist(),
                                           before.w_output.tolist(),
                                           before.modulation.tolist(), u, label, sample)
            assert got.tolist() == w_out
        assert np.array_equal(mistakes.state.w_hidden, delta_rule.state.w_hidden)
        prediction = int(np.argmax(fwd.output[0]))
        moved = [label, prediction] if prediction != label else [label]
        others = [k for k in range(cfg.n_classes) if k not in moved]
        assert np.array_equal(got[:, others], before.w_output[:, others])
        if prediction != label:
            assert np.array_equal(got[:, moved], delta_rule.state.w_output[:, moved])
        outcomes.add((prediction == label, bool(np.any(got != before.w_output))))
        bystanders_moved += bool(np.any(delta_rule.state.w_output[:, others]
                                        != before.w_output[:, others]))
    assert {(True, True), (False, True)} <= outcomes        # both branches, and real updates
    assert bystanders_moved > 0         # the delta rule moved columns that "mistakes" kept


@pytest.mark.parametrize("model", ["snn", "ann"])
def test_bp_with_the_mistakes_output_error(model):
    # Each output column's gradient depends on its own error only: under "mistakes" a wrong
    # prediction's two columns equal plain BP's, and every column but the label's and a wrong
    # winner's is 0.
    cfg = NacaConfig.for_sizes(13, 7, 5, seed=7, model=model,
                               **({"time_steps": 4} if model == "snn" else {}))
    plain, mistakes = BpNetwork(cfg), BpNetwork(replace(cfg, output_error="mistakes"))
    plain.state.w_output[:] = 2 * np.abs(plain.state.w_output)
    mistakes.state = plain.state.copy()
    data = np.random.default_rng(5).random((30, cfg.n_inputs))
    branches = set()
    for sample, u in enumerate(data):
        label = sample % cfg.n_classes
        fwd, (_, g_plain) = plain.gradients(u, label, sample)
        _, (_, g_mistakes) = mistakes.gradients(u, label, sample)
        prediction = int(np.argmax(fwd.output[0]))
        moved = [label, prediction] if prediction != label else [label]
        others = [k for k in range(cfg.n_classes) if k not in moved]
        assert not g_mistakes[:, others].any()
        if prediction != label:
            assert np.array_equal(g_mistakes[:, moved], g_plain[:, moved])
        branches.add(prediction == label)
    assert branches == {True, False}
