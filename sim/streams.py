"""Async ``amaranth.sim`` helpers for ``lib.stream`` interfaces, with seeded random stalls."""

from __future__ import annotations

import random


async def stream_put(ctx, port, payload, *, stall: random.Random | None = None,
                     stall_probability: float = 0.0) -> None:
    """Drive one beat onto ``port`` (an In stream of the DUT), idling first with the given
    probability per cycle, and wait until it is accepted."""
    while stall is not None and stall.random() < stall_probability:
        await ctx.tick()
    ctx.set(port.payload, payload)
    ctx.set(port.valid, 1)
    await ctx.tick().until(port.ready)
    ctx.set(port.valid, 0)


async def stream_get(ctx, port, *, stall: random.Random | None = None,
                     stall_probability: float = 0.0):
    """Take one beat from ``port`` (an Out stream of the DUT), holding ``ready`` low for
    random cycles first; returns the payload."""
    while stall is not None and stall.random() < stall_probability:
        ctx.set(port.ready, 0)
        await ctx.tick()
    ctx.set(port.ready, 1)
    (payload,) = await ctx.tick().sample(port.payload).until(port.valid)
    ctx.set(port.ready, 0)
    return payload
