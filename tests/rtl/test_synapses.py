"""The synapse array in amaranth.sim: forward currents and the learning write-back, against
the golden model."""

import gc
import random
import warnings

import numpy as np
import pytest
from amaranth.hdl import Module, UnusedElaboratable

from naca.golden_model import datasets, rng
from naca.golden_model.arith import FixedPoint
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import init_state
from naca.rtl.learning import correlation_shape
from naca.rtl.random import HashBank
from naca.rtl.synapses import SynapseArray, lane_groups, weight_write_beats
from naca.sim.streams import simulate, stream_get, stream_put_all


def golden_inputs(cfg, sample_index):
    """Real spike trains (T, N) of a digits sample and the golden currents (T, H)."""
    data = datasets.load("digits") if cfg.n_inputs == 64 else None
    u = data.x_train[sample_index] if data else np.random.default_rng(sample_index).random(
        cfg.n_inputs)
    ar = FixedPoint(cfg)
    keys = rng.stream_key(cfg.seed, rng.Stream.ENCODE, np.array([sample_index])[:, None],
                          np.arange(cfg.time_steps)[None, :])
    x = ar.spikes(ar.inputs(u)[None, None, :], rng.vector_bytes(keys, cfg.n_inputs))[0]
    w = init_state(cfg, ar).w_hidden
    return x, w, ar.fan_in(x, w)


def rtl_currents(cfg, x, w, lanes, stall, single_port=False):
    dut = SynapseArray(cfg, "hidden", lanes=lanes, single_port=single_port)
    groups = lane_groups(cfg.n_hidden, lanes)
    steps = []

    async def producer(ctx):
        await stream_put_all(ctx, dut.weight_write, weight_write_beats(w, lanes))
        for t in range(len(x)):
            beats = [{"index": int(i), "spike": 1, "last": 0} for i in np.flatnonzero(x[t])]
            beats.append({"index": 0, "spike": 0, "last": 1})
            await stream_put_all(ctx, dut.events, beats, seed=t, stall_probability=stall)

    async def consumer(ctx):
        gen = random.Random(8)
        for _ in range(len(x)):
            currents = np.zeros(groups * lanes, dtype=np.int64)
            for g in range(groups):
                beat = await stream_get(ctx, dut.o, stall=gen, stall_probability=stall)
                assert beat.group == g and beat.last == (g == groups - 1)
                for p in range(lanes):
                    currents[g * lanes + p] = beat.currents[p]
            assert not currents[cfg.n_hidden:].any()      # padding neurons have no weights
            steps.append(currents[:cfg.n_hidden])

    simulate(dut, producer, consumer)
    return np.array(steps)


@pytest.mark.parametrize("lanes, stall, single_port",
                         [(1, 0.0, False), (4, 0.0, False), (4, 0.4, False), (5, 0.3, False),
                          (8, 0.2, False), (100, 0.0, False), (1, 0.2, True), (5, 0.3, True)])
def test_fan_in_matches_golden_currents_on_digits(lanes, stall, single_port):
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=3)
    x, w, expected = golden_inputs(cfg, 4)
    assert x.sum() > 0
    assert np.array_equal(rtl_currents(cfg, x, w, lanes, stall, single_port), expected)


def test_fan_in_odd_layer():
    cfg = NacaConfig.for_sizes(37, 23, 7, time_steps=3)
    x, w, expected = golden_inputs(cfg, 1)
    assert np.array_equal(rtl_currents(cfg, x, w, 1, 0.3), expected)


@pytest.mark.parametrize("lanes, message", [
    (101, "lanes = 101 exceeds the layer's 100 neurons"),
    (0, "lanes must be a positive integer, not 0"),
    (2.0, "lanes must be a positive integer, not 2.0"),
])
def test_impossible_lane_counts_are_refused(lanes, message):
    with warnings.catch_warnings():
        # the half-built component is never elaborated: collect it while its warning is off
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match=message):
            SynapseArray(NacaConfig.for_sizes(64, 100, 10), "hidden", lanes=lanes)
        gc.collect()


def rtl_learn(cfg, w, v, rows, key, lanes, stall, *, layer="hidden", factors=None,
              single_port=False):
    """Load W and the per-neuron update words, sweep the learning rows (with each row's
    factors, for the output layer), read W back. With ``single_port`` a read in a cycle that
    writes is disabled, so a sweep that needed one would read a stale weight."""
    dut = SynapseArray(cfg, layer, lanes=lanes, single_port=single_port,
                       factor_shape=None if factors is None else correlation_shape(cfg))
    groups = lane_groups(w.shape[1], lanes)
    loaded = weight_write_beats(w, lanes)
    back = []

    async def bench(ctx):
        ctx.set(dut.round_key, key)
        ctx.set(dut.weight_data.ready, 1)
        await stream_put_all(ctx, dut.weight_write, loaded)
        padded = np.zeros(groups * lanes, dtype=np.int64)
        padded[:len(v)] = v
        await stream_put_all(ctx, dut.updates, [
            {"group": g, "values": [int(x) for x in padded[g * lanes:(g + 1) * lanes]]}
            for g in range(groups)])
        beats = [{"index": int(i), "spike": 1, "last": 0} for i in rows]
        end = {"index": 0, "spike": 0, "last": 1}
        if factors is not None:
            for beat in beats:
                beat["factors"] = [int(f) for f in factors[beat["index"]]]
            end["factors"] = [0] * w.shape[1]
            # the correlator's untouched rows: beats without spike, passed over
            beats.insert(len(beats) // 2, {"index": int(rows[0]), "spike": 0, "last": 0,
                                           "factors": [7] * w.shape[1]})
        await stream_put_all(ctx, dut.learn, [*beats, end], seed=2, stall_probability=stall)
        for beat in loaded:
            await stream_put_all(ctx, dut.weight_read, [{"bank": beat["bank"],
                                                         "addr": beat["addr"]}])
            back.append(await stream_get(ctx, dut.weight_data))

    # the array's rounding hashes, as the core provides them
    top = Module()
    top.submodules.array = dut
    top.submodules.hashes = hashes = HashBank(len(dut.hash_x))
    top.d.comb += [hashes.x.eq(dut.hash_x), dut.hash_words.eq(hashes.word)]
    simulate(top, bench)
    return np.array(back).reshape(w.shape)


@pytest.mark.parametrize("lanes, stall, single_port",
                         [(4, 0.0, False), (5, 0.4, False), (1, 0.0, False), (8, 0.2, False),
                          (1, 0.0, True), (2, 0.3, True), (5, 0.0, True), (8, 0.2, True)])
def test_learning_sweep_matches_the_golden_hidden_update(lanes, stall, single_port):
    from naca.golden_model.network import NacaNetwork

    data = datasets.load("digits")
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=4, lr_hidden=2.0**-5)
    net = NacaNetwork(cfg)
    before = net.state.w_hidden.copy()
    sample, label = 7, int(data.y_train[7])
    fwd = net.train_sample(data.x_train[sample], label, sample)
    ar = net.arith
    v = (ar.update_value("hidden", net.state.modulation[label], cfg.formats.modulation.frac)
         * fwd.h_hidden[0, -1] * fwd.mask[0])
    rows = np.flatnonzero(fwd.pre_hidden[0, -1])
    key = net._keys(sample)[0]
    assert (net.state.w_hidden != before).sum() > 50
    after = rtl_learn(cfg, before, v, rows, key, lanes, stall, single_port=single_port)
    assert np.array_equal(after, net.state.w_hidden)


@pytest.mark.parametrize("lanes, stall", [(10, 0.0), (4, 0.3), (3, 0.0), (1, 0.2)])
def test_output_learning_sweep_over_groups_matches_the_golden_output_update(lanes, stall):
    # the output rule's factors P_jk = sum_t s_j(t) h_k(t) of a real digits sample, the
    # layer's C = 10 neurons over ``lanes`` lanes (G = ceil(10 / lanes) groups, padded);
    # positive output weights, so that every output neuron fires and has an error
    from naca.golden_model.network import NacaNetwork

    data = datasets.load("digits")
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=8, lr_output=2.0**-4)
    net = NacaNetwork(cfg)
    net.state.w_output[:] = np.abs(net.state.w_output)
    before = net.state.w_output.copy()
    sample, label = 7, int(data.y_train[7])
    fwd = net.train_sample(data.x_train[sample], label, sample)
    ar = net.arith
    error = net._output_error(fwd, label, ar.target(np.array([label]), cfg.time_steps)[0])
    v = ar.update_value("output", error, 0)
    factors = fwd.s_hidden[0].T.astype(np.int64) @ fwd.h_output[0].astype(np.int64)
    rows = np.flatnonzero(factors.any(axis=1))
    key = net._keys(sample)[1]
    assert fwd.output[0].all() and (net.state.w_output != before).sum() > 200
    assert len(np.unique(factors[rows])) > 3       # the factors differ between synapses
    after = rtl_learn(cfg, before, v, rows, key, lanes, stall, layer="output", factors=factors)
    assert np.array_equal(after, net.state.w_output)
