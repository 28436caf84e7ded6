"""Requantisation, the modulator and the output error unit in amaranth.sim, bit-exact against
the golden model."""

import random

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from naca.golden_model.arith import FixedPoint
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import init_state
from naca.golden_model.qformat import QFormat
from naca.rtl.fixed import requantize, shape_of
from naca.rtl.learning import HiddenUpdatePacker, OutputErrorUnit
from naca.rtl.modulator import ModulatorUnit
from naca.sim.streams import simulate, stream_get, stream_put_all


@pytest.mark.parametrize("fmt, from_frac", [
    (QFormat(8, 4, rounding="half_up"), 9),
    (QFormat(8, 4), 9),
    (QFormat(6, 2, overflow="wrap"), 5),
    (QFormat(8, 6, signed=False, rounding="half_up"), 6),
    (QFormat(10, 8), 5),
])
def test_requantize_matches_qformat_shift(fmt, from_frac):
    values = np.random.default_rng(0).integers(-(1 << 15), 1 << 15, 400)
    m = Module()
    x = Signal(signed(17))
    y = Signal(shape_of(fmt))
    m.d.comb += y.eq(requantize(m, x, from_frac, fmt))
    out = []

    async def bench(ctx):
        for v in values:
            ctx.set(x, int(v))
            out.append(ctx.get(y))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert out == fmt.shift(values, from_frac).tolist()


def rtl_modulation(cfg, table, lr_code, labels, stall):
    dut = ModulatorUnit(cfg)
    words = []

    async def producer(ctx):
        ctx.set(dut.lr, lr_code)
        await stream_put_all(ctx, dut.table_write, [{"addr": addr, "data": int(code)}
                                                    for addr, code in enumerate(table.ravel())])
        await stream_put_all(ctx, dut.i, labels, seed=3, stall_probability=stall)

    async def consumer(ctx):
        gen = random.Random(5)
        for _ in labels:
            row = []
            while True:
                beat = await stream_get(ctx, dut.o, stall=gen, stall_probability=stall)
                assert beat.neuron == len(row)
                row.append(beat.value)
                if beat.last:
                    break
            words.append(row)

    simulate(dut, producer, consumer)
    return words


@pytest.mark.parametrize("stall", [0.0, 0.5])
@pytest.mark.parametrize("sizes, lr", [((64, 100, 10), 2.0**-7), ((37, 23, 7), 0.0123)])
def test_modulator_matches_golden_broadcast(stall, sizes, lr):
    cfg = NacaConfig.for_sizes(*sizes, lr_hidden=lr)
    arith = FixedPoint(cfg)
    table = init_state(cfg, arith).modulation
    labels = [3, 0, cfg.n_classes - 1, 3]
    expected = [arith.update_value("hidden", table[c], cfg.formats.modulation.frac).tolist()
                for c in labels]
    assert any(v != 0 for row in expected for v in row)
    assert rtl_modulation(cfg, table, cfg.code("lr_hidden"), labels, stall) == expected


@pytest.mark.parametrize("lr, lanes", [(2.0**-9, 10), (0.0123, 4), (0.061, 1)])
@pytest.mark.parametrize("output_error", ["all", "mistakes"])
def test_output_error_words_match_golden(lr, lanes, output_error):
    # every error from -T (label never fired) to +T (another class fired every step), with
    # right and wrong predictions
    cfg = NacaConfig.for_sizes(64, 100, 10, lr_output=lr, output_error=output_error)
    steps, c = cfg.time_steps, cfg.n_classes
    gen = np.random.default_rng(1)
    cases = [(np.full(c, steps), 0), (np.zeros(c, int), 9)]
    cases += [(gen.integers(0, steps + 1, c), int(gen.integers(c))) for _ in range(6)]
    cases += [(counts, int(np.argmax(counts))) for counts, _ in cases[2:4]]   # right ones
    dut = OutputErrorUnit(cfg, lanes=lanes)
    groups = -(-c // lanes)
    got = []

    async def bench(ctx):
        ctx.set(dut.lr, cfg.code("lr_output"))
        for counts, label in cases:
            ctx.set(dut.counts, [int(k) for k in counts])
            ctx.set(dut.prediction, int(np.argmax(counts)))
            await stream_put_all(ctx, dut.i, [label])
            words = []
            for g in range(groups):      # group g carries neurons g*P .. g*P+P-1
                beat = await stream_get(ctx, dut.o, stall=random.Random(g),
                                        stall_probability=0.3)
                assert beat.group == g
                words += [int(v) for v in beat.values]
            assert not any(words[c:])     # the padded last group's lanes carry zeros
            got.append(words[:c])

    simulate(dut, bench)
    arith = FixedPoint(cfg)
    expected = []
    for counts, label in cases:
        prediction = int(np.argmax(counts))
        if output_error == "mistakes":      # a wrong prediction's two rows count
            rows = [label, prediction] if prediction != label else []
            counts = np.where(np.isin(np.arange(c), rows), counts, 0)
        error = counts - steps * (np.arange(c) == label)
        expected.append(arith.update_value("output", error, 0).tolist())
    assert any(v != 0 for row in expected for v in row)
    assert got == expected



@pytest.mark.parametrize("lanes, stall", [(1, 0.0), (3, 0.4), (4, 0.2), (10, 0.0)])
def test_hidden_update_packer_signs_masks_and_groups_the_broadcast(lanes, stall):
    # v_j = h_j * mask_j * broadcast_j for random words, h read from a model of the neuron
    # bank's h memory (a group of P per address, the data the cycle after ``en``)
    cfg = NacaConfig.for_sizes(64, 23, 10)
    h, groups = cfg.n_hidden, -(-cfg.n_hidden // lanes)
    top = (1 << (shape_of(cfg.formats.update_hidden).width - 1)) - 1
    gen = np.random.default_rng(lanes)
    passes = [(gen.integers(-1, 2, h), gen.random(h) < 0.7, gen.integers(-top, top + 1, h))
              for _ in range(3)]
    dut = HiddenUpdatePacker(cfg, lanes=lanes)
    state = {"table": None, "done": False}
    got = []

    async def h_memory(ctx):
        while not state["done"]:
            _, _, addr, en = await ctx.tick().sample(dut.h_read.addr, dut.h_read.en)
            if en:
                group = state["table"][addr * lanes:(addr + 1) * lanes]
                ctx.set(dut.h_read.data, [int(x) for x in group])

    async def producer(ctx):
        for k, (post, mask, value) in enumerate(passes):
            state["table"] = np.concatenate([post, np.zeros(groups * lanes - h, int)])
            ctx.set(dut.mask, int("".join("1" if b else "0" for b in mask[::-1]), 2))
            await stream_put_all(ctx, dut.i, [{"neuron": j, "value": int(value[j]),
                                               "last": j == h - 1} for j in range(h)],
                                 seed=k, stall_probability=stall)

    async def consumer(ctx):
        gen = random.Random(7)
        for _ in passes:
            words = []
            for g in range(groups):
                beat = await stream_get(ctx, dut.o, stall=gen, stall_probability=stall)
                assert beat.group == g
                words += [int(v) for v in beat.values]
            assert not any(words[h:])      # the padded last group's lanes carry zeros
            got.append(words[:h])
        state["done"] = True

    simulate(dut, h_memory, producer, consumer)
    expected = [(post * mask * value).tolist() for post, mask, value in passes]
    assert all(any(row) for row in expected)
    assert got == expected
