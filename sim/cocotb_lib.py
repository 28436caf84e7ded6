"""A small cocotb verification library for ``lib.stream`` ports of Amaranth designs.

An Amaranth stream member ``x`` appears in the Verilog as ``x__valid``, ``x__ready`` and
``x__payload``. :class:`StreamDriver` and :class:`StreamMonitor` bind to such a port by its
prefix and move whole beats with two awaits each, so Python never runs once per clock cycle
while the design works. Every transaction starts and ends at a falling clock edge: the design's
registers have settled there, and a handshake completes at the rising edge between two.
Random idle cycles (driver) and back-pressure (monitor) come from a seeded ``random.Random``.
"""

from __future__ import annotations

import json
import os
import random

from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer


def stall_cycles(rng: random.Random, probability: float) -> int:
    """A geometric number of cycles: each further cycle with ``probability``."""
    cycles = 0
    while probability and rng.random() < probability:
        cycles += 1
    return cycles


class StreamDriver:
    """Drives the DUT's input stream ``prefix`` (valid, payload) and watches its ready."""

    def __init__(self, dut, prefix: str, clock, *, rng: random.Random,
                 idle_probability: float = 0.0):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self._clock, self._rng, self._idle = clock, rng, idle_probability
        self.valid.value = 0
        self.beats = 0

    async def send(self, word: int) -> None:
        """Offer ``word`` (after random idle cycles) until the DUT takes it."""
        idle = stall_cycles(self._rng, self._idle)
        if idle:
            await ClockCycles(self._clock, idle, rising=False)
        self.valid.value = 1
        self.payload.value = word
        while True:
            await Timer(1, "ns")                 # ready may follow the payload combinationally
            taken = bool(self.ready.value)
            await FallingEdge(self._clock)
            if taken:
                break
        self.valid.value = 0
        self.beats += 1


class StreamMonitor:
    """Takes beats from the DUT's output stream ``prefix``, holding ready low at random."""

    def __init__(self, dut, prefix: str, clock, *, rng: random.Random,
                 backpressure_probability: float = 0.0):
        self.valid = getattr(dut, f"{prefix}__valid")
        self.ready = getattr(dut, f"{prefix}__ready")
        self.payload = getattr(dut, f"{prefix}__payload")
        self._clock, self._rng, self._stall = clock, rng, backpressure_probability
        self.ready.value = 0
        self.beats = 0

    async def receive(self) -> int:
        """The next beat's payload bits."""
        stall = stall_cycles(self._rng, self._stall)
        if stall:
            await ClockCycles(self._clock, stall, rising=False)
        self.ready.value = 1
        while not self.valid.value:
            await RisingEdge(self.valid)
            await FallingEdge(self._clock)
        word = int(self.payload.value)
        await FallingEdge(self._clock)
        self.ready.value = 0
        self.beats += 1
        return word


class Mismatch(AssertionError):
    """The design and the reference model disagree; the message names the first difference."""


class Scoreboard:
    """Compares the design's observations with the reference model's, item by item.

    :meth:`expect` raises :class:`Mismatch` at the first difference (so the run stops there),
    naming the context (sample, neuron, synapse) and both values.
    """

    def __init__(self):
        self.checked = 0

    def expect(self, context: str, got, want) -> None:
        self.checked += 1
        if got != want:
            raise Mismatch(f"{context}: design {got}, reference {want}")

    def expect_arrays(self, context: str, got, want, index_names: tuple[str, ...]) -> None:
        """Element-wise equality of two NumPy arrays; names the first differing index."""
        import numpy as np

        self.checked += 1
        if got.shape != want.shape:
            raise Mismatch(f"{context}: design shape {got.shape}, reference {want.shape}")
        diff = np.argwhere(got != want)
        if len(diff):
            where = tuple(int(k) for k in diff[0])
            named = ", ".join(f"{n} {k}" for n, k in zip(index_names, where, strict=True))
            raise Mismatch(f"{context}, {named}: design {got[where]}, reference {want[where]} "
                           f"({len(diff)} of {got.size} differ)")


async def run_with_report(body) -> None:
    """Run ``body(spec, report)`` with the JSON spec named by ``NACA_COSIM_SPEC``, then write
    ``report`` (``passed``, or the ``mismatch`` that stopped the run) to ``spec["report"]``."""
    with open(os.environ["NACA_COSIM_SPEC"]) as f:
        spec = json.load(f)
    report = {"spec": spec, "passed": False}
    try:
        await body(spec, report)
        report["passed"] = True
    except Mismatch as exc:
        report["mismatch"] = str(exc)
        raise
    finally:
        with open(spec["report"], "w") as f:
            json.dump(report, f, indent=2)
