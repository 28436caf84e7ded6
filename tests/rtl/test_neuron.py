"""The LIF unit in amaranth.sim against the golden model's neuron step, with stalls."""

import random

import numpy as np
import pytest
from amaranth.hdl import signed

from naca.golden_model.arith import FixedPoint
from naca.golden_model.config import NacaConfig
from naca.rtl.neuron import LifUnit
from naca.sim.streams import simulate, stream_get, stream_put_all


def ref_lif(cfg, layer, beats):
    ar = FixedPoint(cfg)
    v, fired, current, mask = (np.array(x) for x in zip(*beats, strict=True))
    v_new = ar.integrate(layer, np.where(fired, 0, v), current)
    spike = ar.above(layer, v_new, near=False) & mask.astype(bool)
    h = ar.above(layer, v_new, near=True).astype(int) - fired
    return list(zip(v_new.tolist(), spike.astype(int).tolist(), h.tolist(), strict=True))


def rtl_lif(cfg, layer, beats, stall):
    dut = LifUnit(cfg, layer, signed(20))
    out = []

    async def producer(ctx):
        payloads = [{"v": v, "fired": fired, "current": current, "mask": mask}
                    for v, fired, current, mask in beats]
        await stream_put_all(ctx, dut.i, payloads, seed=1, stall_probability=stall)

    async def consumer(ctx):
        gen = random.Random(2)
        for _ in beats:
            beat = await stream_get(ctx, dut.o, stall=gen, stall_probability=stall)
            out.append((beat.v, beat.spike, beat.h))

    simulate(dut, producer, consumer)
    return out


@pytest.mark.parametrize("stall", [0.0, 0.5])
@pytest.mark.parametrize("layer", ["hidden", "output"])
def test_lif_unit_matches_golden(layer, stall):
    cfg = NacaConfig.for_sizes(784, 100, 10, lens=0.3)
    fmt = getattr(cfg.formats, f"membrane_{layer}")
    fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
    largest = fan_in * 128                  # the largest current 8-bit weights can sum to
    gen = np.random.default_rng(7)
    beats = [(int(gen.integers(fmt.min_code, fmt.max_code + 1)), int(gen.integers(2)),
              int(gen.integers(-largest, largest + 1)) if k % 3 else int(gen.integers(-600, 600)),
              int(gen.integers(2))) for k in range(300)]
    expected = ref_lif(cfg, layer, beats)
    assert {s for _, s, _ in expected} == {0, 1} and {h for *_, h in expected} == {-1, 0, 1}
    assert rtl_lif(cfg, layer, beats, stall) == expected
