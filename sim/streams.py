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


async def stream_put_all(ctx, port, payloads, *, seed: int = 0, stall_probability: float = 0.0
                         ) -> None:
    """Drive every payload in order, with seeded random idle cycles."""
    gen = random.Random(seed)
    for payload in payloads:
        await stream_put(ctx, port, payload, stall=gen, stall_probability=stall_probability)


def simulate(dut, *testbenches, period: float = 1e-8) -> None:
    """Run ``amaranth.sim`` on ``dut`` with a clock until every testbench has returned."""
    from amaranth.sim import Simulator

    sim = Simulator(dut)
    sim.add_clock(period)
    for bench in testbenches:
        sim.add_testbench(bench)
    sim.run()


async def get_step_events(ctx, port, *, stall: random.Random | None = None,
                          stall_probability: float = 0.0) -> list[int]:
    """The indices of one step's spike events from ``port``, up to its ``last`` beat."""
    events = []
    while True:
        beat = await stream_get(ctx, port, stall=stall, stall_probability=stall_probability)
        if beat.last:
            return events
        assert beat.spike
        events.append(int(beat.index))
