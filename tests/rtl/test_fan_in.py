"""Event-driven fan-in accumulation in amaranth.sim against the golden model's currents."""

import gc
import random
import warnings

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable

from naca.golden_model import datasets, rng
from naca.golden_model.arith import FixedPoint
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import init_state
from naca.rtl.fan_in import FanInAccumulator, lane_groups, weight_write_beats
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


def rtl_currents(cfg, x, w, lanes, stall):
    dut = FanInAccumulator(cfg, "hidden", lanes=lanes)
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
            currents = np.zeros(cfg.n_hidden, dtype=np.int64)
            for g in range(groups):
                beat = await stream_get(ctx, dut.o, stall=gen, stall_probability=stall)
                assert beat.group == g and beat.last == (g == groups - 1)
                for p in range(lanes):
                    currents[g * lanes + p] = beat.currents[p]
            steps.append(currents)

    simulate(dut, producer, consumer)
    return np.array(steps)


@pytest.mark.parametrize("lanes, stall", [(1, 0.0), (4, 0.0), (4, 0.4), (5, 0.3), (100, 0.0)])
def test_fan_in_matches_golden_currents_on_digits(lanes, stall):
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=3)
    x, w, expected = golden_inputs(cfg, 4)
    assert x.sum() > 0
    assert np.array_equal(rtl_currents(cfg, x, w, lanes, stall), expected)


def test_fan_in_odd_layer():
    cfg = NacaConfig.for_sizes(37, 23, 7, time_steps=3)
    x, w, expected = golden_inputs(cfg, 1)
    assert np.array_equal(rtl_currents(cfg, x, w, 1, 0.3), expected)


def test_lanes_must_divide_the_layer():
    with warnings.catch_warnings():
        # the half-built component is never elaborated: collect it while its warning is off
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match="lanes = 8 does not divide the layer's 100"):
            FanInAccumulator(NacaConfig.for_sizes(64, 100, 10), "hidden", lanes=8)
        gc.collect()
