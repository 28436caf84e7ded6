"""The mask unit in amaranth.sim against the golden neuron mask, on real inputs."""

import pytest

from naca.golden_model import datasets
from naca.golden_model.arith import FixedPoint
from naca.golden_model.config import NacaConfig
from naca.rtl.mask import MaskUnit
from naca.sim.streams import simulate, stream_put_all


@pytest.mark.parametrize("sizes, delta", [((64, 100, 10), 0.3), ((37, 23, 7), 0.2),
                                          ((784, 100, 10), 0.3), ((64, 100, 10), 1.0)])
def test_mask_unit_matches_the_golden_mask(sizes, delta):
    cfg = NacaConfig.for_sizes(*sizes, mask_delta=delta)
    data = datasets.load("mnist5k" if sizes[0] == 784 else "digits")
    ar = FixedPoint(cfg)
    samples = [ar.inputs(data.x_train[k, :cfg.n_inputs]) for k in range(3)]
    dut = MaskUnit(cfg)
    got = []

    async def bench(ctx):
        for codes in samples:
            await stream_put_all(ctx, dut.pixels, [{"addr": a, "code": int(c)}
                                                   for a, c in enumerate(codes)])
            await stream_put_all(ctx, dut.start, [0])
            await ctx.tick().until(dut.done)
            bits = ctx.get(dut.mask)
            got.append([bool(bits >> j & 1) for j in range(cfg.n_hidden)])

    simulate(dut, bench)
    expected = [ar.mask(codes).tolist() for codes in samples]
    assert got == expected
    assert any(0 < sum(row) < cfg.n_hidden for row in expected) or delta == 1.0
