"""Key unit and spike encoder in amaranth.sim, bit-exact against the golden model."""

import random

import numpy as np
import pytest
from amaranth.hdl import Module, Mux, Signal

from naca.golden_model import datasets, rng
from naca.golden_model.arith import FixedPoint
from naca.golden_model.config import NacaConfig
from naca.rtl.encoder import SpikeEncoder
from naca.rtl.fixed import index_shape
from naca.rtl.random import HashPipeline, KeyUnit
from naca.sim.streams import get_step_events, simulate, stream_get, stream_put, stream_put_all


def rtl_keys(requests, seed, stall):
    # the key unit borrows a hash pipeline whose owner is busy at random moments
    dut = KeyUnit(step_shape=index_shape(256))
    top = Module()
    top.submodules.keys = dut
    top.submodules.hash = hasher = HashPipeline()
    owner_busy = Signal()
    # while busy, the owner hashes its own words
    top.d.comb += [hasher.x.eq(Mux(owner_busy, 0x5EED_5EED, dut.hash_x)),
                   dut.hash_word.eq(hasher.word), dut.hash_free.eq(~owner_busy)]
    out = []
    finished = []

    async def owner(ctx):
        gen = random.Random(8)
        while not finished:
            # busy only while no request is in flight, as the spike encoder is
            if ctx.get(dut.i.ready) | ctx.get(owner_busy):
                ctx.set(owner_busy, gen.random() < stall)
            await ctx.tick()

    async def bench(ctx):
        ctx.set(dut.seed, seed)
        gen = random.Random(2)
        for stream, sample, step in requests:
            ctx.set(dut.sample, sample)       # held until the key is taken
            await stream_put(ctx, dut.i, {"stream": stream, "step": step}, stall=gen,
                             stall_probability=stall)
            out.append(await stream_get(ctx, dut.o, stall=gen, stall_probability=stall))
        finished.append(True)

    simulate(top, bench, owner)
    return out


@pytest.mark.parametrize("stall", [0.0, 0.5])
def test_key_unit_matches_golden(stall):
    streams = [rng.Stream.ENCODE, rng.Stream.ROUND_HIDDEN, rng.Stream.ENCODE,
               rng.Stream.ROUND_OUTPUT, rng.Stream.ROUND_HIDDEN]
    points = [(0, 0), (1, 0), (7, 15), (123456, 3), ((1 << 32) - 1, 255)]
    requests = [(int(k), s, t) for k, (s, t) in zip(streams, points, strict=True)]
    expected = [int(rng.stream_key(0xDEADBEEF, k, s, t)) for k, s, t in requests]
    assert rtl_keys(requests, 0xDEADBEEF, stall) == expected


def ref_spikes(cfg, codes, sample):
    keys = rng.stream_key(cfg.seed, rng.Stream.ENCODE, np.array([sample])[:, None],
                          np.arange(cfg.time_steps)[None, :])
    x = FixedPoint(cfg).spikes(codes[None, None, :], rng.vector_bytes(keys, cfg.n_inputs))
    return [np.flatnonzero(x[0, t]).tolist() for t in range(cfg.time_steps)]


def rtl_spikes(cfg, codes, sample, stall):
    dut = SpikeEncoder(cfg)
    steps = []

    async def producer(ctx):
        await stream_put_all(ctx, dut.pixels, [{"addr": addr, "code": int(code)}
                                               for addr, code in enumerate(codes)])
        keys = [int(rng.stream_key(cfg.seed, rng.Stream.ENCODE, sample, t))
                for t in range(cfg.time_steps)]
        gen = random.Random(4)
        for key in keys:
            await stream_put(ctx, dut.key, key, stall=gen, stall_probability=stall)
            # the key is held until its step has been issued, as the key unit holds it
            await ctx.tick().until(dut.hash_free)

    async def consumer(ctx):
        gen = random.Random(99)
        for _ in range(cfg.time_steps):
            steps.append(await get_step_events(ctx, dut.o, stall=gen, stall_probability=stall))

    simulate(dut, producer, consumer)
    return steps


@pytest.mark.parametrize("stall", [0.0, 0.4])
@pytest.mark.parametrize("sample", [0, 5])
def test_encoder_matches_golden_on_digits(stall, sample):
    data = datasets.load("digits")
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=4, seed=3)
    codes = cfg.formats.input.quantize(data.x_train[sample])
    expected = ref_spikes(cfg, codes, sample)
    assert sum(map(len, expected)) > 0
    assert rtl_spikes(cfg, codes, sample, stall) == expected


def test_encoder_odd_size_and_silent_steps():
    cfg = NacaConfig.for_sizes(37, 23, 7, time_steps=3)
    codes = np.zeros(37, dtype=np.int64)
    codes[[0, 36]] = 255
    assert rtl_spikes(cfg, codes, 11, 0.3) == ref_spikes(cfg, codes, 11)
    silent = np.zeros(37, dtype=np.int64)
    assert rtl_spikes(cfg, silent, 2, 0.0) == [[], [], []]
