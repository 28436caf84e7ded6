"""The neuron bank in amaranth.sim against the golden hidden layer: spikes and h, per step."""

import random

import numpy as np
import pytest

from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork
from naca.rtl.neuron import NeuronBank
from naca.rtl.synapses import lane_groups
from naca.sim.streams import get_step_events, simulate, stream_put_all


def golden_layer(cfg, samples):
    """Currents (S, T, H) that the hidden layer of a trained-looking network sees, with the
    golden spikes and h."""
    net = NacaNetwork(cfg)
    gen = np.random.default_rng(0)
    u = gen.random((samples, cfg.n_inputs)) * (gen.random((samples, cfg.n_inputs)) < 0.4)
    fwd = net.forward(u, np.arange(samples))
    current = net.arith.fan_in(fwd.pre_hidden, net.state.w_hidden)
    return current, fwd.s_hidden, fwd.h_hidden, fwd.mask


async def read_h_by_group(ctx, port, groups, n):
    """Every neuron's h through the ``h_lookup`` read port, group by group."""
    h = []
    for g in range(groups):
        ctx.set(port.addr, g)
        ctx.set(port.en, 1)
        await ctx.tick()
        ctx.set(port.en, 0)
        await ctx.tick()      # the data holds while ``en`` is low
        h += [int(v) for v in ctx.get(port.data)]
    return h[:n]


def rtl_layer(cfg, currents, lanes, stall, mask=None, h_lookup=False):
    dut = NeuronBank(cfg, "hidden", lanes=lanes, h_lookup=h_lookup)
    groups = lane_groups(cfg.n_hidden, lanes)
    spikes, hs = [], []
    steps_read = []

    async def producer(ctx):
        if mask is not None:
            ctx.set(dut.mask, int("".join("1" if b else "0" for b in mask[::-1]), 2))
        sent = 0
        for sample in currents:
            for t, step in enumerate(sample):
                while h_lookup and len(steps_read) < sent:    # h is read between steps
                    await ctx.tick()
                sent += 1
                padded = np.zeros(groups * lanes, dtype=np.int64)
                padded[:len(step)] = step
                beats = [{"group": g, "currents": [int(c) for c in
                                                   padded[g * lanes:(g + 1) * lanes]],
                          "last": g == groups - 1} for g in range(groups)]
                await stream_put_all(ctx, dut.i, beats, seed=t, stall_probability=stall)

    async def consumer(ctx):
        gen = random.Random(3)
        for sample in currents:
            rows, h_rows = [], []
            for _ in sample:
                rows.append(await get_step_events(ctx, dut.o, stall=gen,
                                                  stall_probability=stall))
                if h_lookup:
                    h_rows.append(await read_h_by_group(ctx, dut.h_read, groups,
                                                        cfg.n_hidden))
                    steps_read.append(len(h_rows))
                else:
                    h_rows.append([int(h) for h in ctx.get(dut.h_out)])
            spikes.append(rows)
            hs.append(h_rows)

    simulate(dut, producer, consumer)
    return spikes, hs


@pytest.mark.parametrize("lanes, stall, h_lookup", [
    (1, 0.0, False), (4, 0.3, False), (8, 0.2, False), (10, 0.0, False), (100, 0.3, False),
    (1, 0.2, True), (3, 0.0, True), (8, 0.3, True)])
def test_neuron_bank_matches_golden_hidden_layer(lanes, stall, h_lookup):
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=5)
    current, s, h, _ = golden_layer(cfg, 2)
    spikes, hs = rtl_layer(cfg, current, lanes, stall, h_lookup=h_lookup)
    assert spikes == [[np.flatnonzero(s[b, t]).tolist() for t in range(5)] for b in range(2)]
    assert hs == h.tolist()


def test_neuron_bank_applies_the_mask():
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=3, mask_delta=0.3)
    current, s, h, mask = golden_layer(cfg, 1)
    assert 0 < mask[0].sum() < 100
    spikes, hs = rtl_layer(cfg, current, 4, 0.0, mask=mask[0])
    assert spikes == [[np.flatnonzero(s[0, t]).tolist() for t in range(3)]]
    assert hs == h.tolist()
