"""Encoder and hidden layer forward together, against the golden network's hidden spikes on
real digits samples, with stalls at both ends."""

import random

import numpy as np
import pytest
from amaranth.hdl import Module
from amaranth.lib import wiring

from naca.golden_model import datasets, rng
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork
from naca.rtl.encoder import SpikeEncoder
from naca.rtl.layer import LayerForward
from naca.rtl.synapses import weight_write_beats
from naca.sim.streams import get_step_events, simulate, stream_put, stream_put_all


def rtl_hidden_spikes(cfg, net, samples, lanes, stall):
    m = Module()
    m.submodules.encoder = enc = SpikeEncoder(cfg)
    m.submodules.layer = layer = LayerForward(cfg, "hidden", lanes=lanes)
    wiring.connect(m, enc.o, layer.events)
    w = net.state.w_hidden
    out = []

    async def producer(ctx):
        await stream_put_all(ctx, layer.weight_write, weight_write_beats(w, lanes))
        for counter, u in samples:
            codes = cfg.formats.input.quantize(u)
            await stream_put_all(ctx, enc.pixels, [{"addr": a, "code": int(c)}
                                                   for a, c in enumerate(codes)])
            keys = rng.stream_key(cfg.seed, rng.Stream.ENCODE, counter,
                                  np.arange(cfg.time_steps))
            gen = random.Random(counter)
            for key in keys:
                await stream_put(ctx, enc.key, int(key), stall=gen, stall_probability=stall)
                # the key is held until its step has been issued, as the key unit holds it
                await ctx.tick().until(enc.hash_free)
            # the encoder holds the codes until its last step's scan is done
            while steps_done[0] < (counter + 1) * cfg.time_steps:
                await ctx.tick()

    steps_done = [0]

    async def consumer(ctx):
        gen = random.Random(6)
        for _ in samples:
            rows = []
            for _ in range(cfg.time_steps):
                rows.append(await get_step_events(ctx, layer.o, stall=gen,
                                                  stall_probability=stall))
                steps_done[0] += 1
            out.append(rows)

    simulate(m, producer, consumer)
    return out


@pytest.mark.parametrize("lanes, stall", [(4, 0.0), (5, 0.3), (8, 0.2)])
def test_hidden_layer_forward_matches_golden_on_digits(lanes, stall):
    data = datasets.load("digits")
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=4)
    net = NacaNetwork(cfg)
    samples = [(0, data.x_train[0]), (1, data.x_train[1])]
    fwd = net.forward(np.array([u for _, u in samples]), np.array([c for c, _ in samples]))
    expected = [[np.flatnonzero(fwd.s_hidden[b, t]).tolist() for t in range(4)]
                for b in range(2)]
    assert sum(len(r) for rows in expected for r in rows) > 0
    assert rtl_hidden_spikes(cfg, net, samples, lanes, stall) == expected
