"""Driving :class:`rtl.network.NacaCore` in ``amaranth.sim``: control accesses, whole samples,
and a look inside its weight banks."""

from __future__ import annotations

import random

import numpy as np
from amaranth.hdl import Shape

from ..golden_model.config import NacaConfig
from ..rtl.control import signed_word
from ..rtl.synapses import bank_address, lane_groups
from .streams import stream_get, stream_put


async def access(ctx, core, beat: dict) -> int | None:
    """One control-port access; a read returns the answered word."""
    await stream_put(ctx, core.control, beat)
    if beat["write"]:
        return None
    return int(await stream_get(ctx, core.control_data))


async def run_sample(ctx, core, cfg: NacaConfig, codes, label: int, train: bool, *,
                     stall: random.Random | None = None, stall_probability: float = 0.0):
    """Send one sample's pixel beats and wait for its result beat (random stalls on both)."""
    for code in codes:
        await stream_put(ctx, core.i, {"code": int(code), "label": int(label), "train": train},
                         stall=stall, stall_probability=stall_probability)
    return await stream_get(ctx, core.o, stall=stall, stall_probability=stall_probability)


def peek_weights(ctx, cfg: NacaConfig, core, layer: str) -> np.ndarray:
    """The weight codes of ``layer`` as they sit in the banks, (fan_in, neurons)."""
    array = core.hidden_synapses if layer == "hidden" else core.output_synapses
    fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
    n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
    width = getattr(cfg.formats, f"weight_{layer}").width
    # each memory word holds its lanes' codes side by side
    banks = [[signed_word(int(ctx.get(weights.data[a])) >> (k * width), width)
              for a in range(weights.depth)]
             for weights in array.memories for k in range(Shape.cast(weights.shape).width // width)]
    lanes = len(banks)
    groups = lane_groups(n, lanes)
    w = np.zeros((fan_in, n), dtype=np.int64)
    for i in range(fan_in):
        for j in range(n):
            bank, addr = bank_address(i, j, lanes, groups)
            w[i, j] = banks[bank][addr]
    return w
