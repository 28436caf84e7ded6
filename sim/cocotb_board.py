"""cocotb test of the UART board top driven by the real host driver (:class:`boards.driver.Board`)
through its ``rx``/``tx`` pins: the driver runs in a thread (``cocotb.task.bridge``) and its
port's ``write``/``read`` move bits on the pins. Spec in ``NACA_COSIM_SPEC`` (``export_dir``,
``samples``, ``report``)."""

from __future__ import annotations

import collections
import struct

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge, Timer

from ..boards.driver import Board
from ..boards.export import UART_TOP
from ..boards.protocol import Command, Error, frame, parse
from ..golden_model import datasets
from ..golden_model.network import NacaNetwork, WorkCounts
from ..golden_model.training import EVAL_COUNTER_BASE
from ..rtl.control import Register
from ..rtl.export import load_export
from .cocotb_lib import Mismatch, run_with_report

CLOCK_NS = 10


class PinPort:
    """pyserial's ``write``/``read`` on the simulated UART pins (8N1)."""

    def __init__(self, dut, bit_ns: float, timeout_ns: float):
        self.dut, self.bit_ns, self.timeout_ns = dut, bit_ns, timeout_ns
        self.received = collections.deque()
        dut.rx.value = 1
        cocotb.start_soon(self._receive_forever())
        self.write = resume(self._send)
        self.read = resume(self._read)
        self.leds = resume(self._leds)

    async def _send(self, data: bytes) -> int:
        for byte in data:
            for bit in (0, *((byte >> i) & 1 for i in range(8)), 1):
                self.dut.rx.value = bit
                await Timer(self.bit_ns, "ns")
        return len(data)

    async def _receive_forever(self) -> None:
        while True:
            await FallingEdge(self.dut.tx)
            await Timer(1.5 * self.bit_ns, "ns")
            byte = 0
            for i in range(8):
                byte |= int(self.dut.tx.value) << i
                await Timer(self.bit_ns, "ns")
            self.received.append(byte)

    async def _leds(self) -> int:
        """The board's LED pins (not a serial-port call: the test looks at the board)."""
        await Timer(CLOCK_NS, "ns")
        return int(self.dut.leds.value)

    async def _read(self, count: int) -> bytes:
        waited = 0.0
        while len(self.received) < count and waited < self.timeout_ns:
            await Timer(10 * self.bit_ns, "ns")
            waited += 10 * self.bit_ns
        return bytes(self.received.popleft() for _ in range(min(count, len(self.received))))


def scenario(port: PinPort, cfg, lanes: int, samples: int) -> dict:
    """What a user does from the host: load, train, infer, dump, status; then bad frames."""
    board, net, work = Board(port, cfg, lanes), NacaNetwork(cfg), WorkCounts()
    data = datasets.load("digits")
    x = data.x_train[:, :cfg.n_inputs]
    board.load(net.state)
    for k in range(samples):
        label = int(data.y_train[k]) % cfg.n_classes
        result = board.run(cfg.formats.input.quantize(x[k]), label, True)
        fwd = net.train_sample(x[k], label, k)
        work.add(fwd.work)
        want = (k, int(fwd.prediction[0]), fwd.output[0].tolist())
        if (result.sample, result.prediction, result.counts) != want:
            raise Mismatch(f"training sample {k}: board {result}, golden {want}")
    board.set_register(Register.SAMPLE, EVAL_COUNTER_BASE)
    for k in range(3):
        u = data.x_test[k, :cfg.n_inputs]
        result = board.run(cfg.formats.input.quantize(u), 0, False)
        fwd = net.forward(u, np.array([EVAL_COUNTER_BASE + k]))
        work.add(fwd.work)
        if result.counts != fwd.output[0].tolist():
            raise Mismatch(f"test sample {k}: board {result.counts}, golden {fwd.output[0]}")
    for layer in ("hidden", "output"):
        if not np.array_equal(board.weights(layer), getattr(net.state, f"w_{layer}")):
            raise Mismatch(f"W_{layer} read back through the link differs from the golden model")
    if not np.array_equal(board.table(), net.state.modulation):
        raise Mismatch("the modulation table read back differs")
    status = board.status()
    for name in ("samples", "input_events", "synaptic_events", "hidden_updates",
                 "output_updates"):
        if status[name] != getattr(work, name):
            raise Mismatch(f"status {name}: board {status[name]}, golden {getattr(work, name)}")

    # malformed input: each refused with its reason, nothing changed, the link resynchronises
    good = frame(Command.INFER, bytes([0]) + bytes(cfg.n_inputs))
    refusals = {}
    for name, raw in (("bad CRC", good[:-1] + bytes([good[-1] ^ 1])),
                      ("unknown command", frame(0x42)),
                      ("wrong length", frame(Command.TRAIN, bytes(3))),
                      ("oversized length", bytes([0xA5, 0x01, 0xFF, 0xFF])),
                      ("bytes between frames", b"\x13\x37"),
                      ("truncated frame", good[:5])):   # the reply comes after the timeout
        port.write(raw)
        head = port.read(4)
        reply, body, _ = parse(head + port.read(struct.unpack_from("<H", head, 2)[0] + 2))
        refusals[name] = Error(body[0]).name if reply == Command.ERROR else f"0x{reply:02X}"
    refused_led = [port.leds() >> 1 & 1]          # the last frame was refused
    after = board.status()
    refused_led.append(port.leds() >> 1 & 1)      # and a good one followed
    if after["samples"] != status["samples"]:
        raise Mismatch(f"a refused frame changed the sample count: {after} vs {status}")
    if not np.array_equal(board.weights("output"), net.state.w_output):
        raise Mismatch("a refused frame changed the output weights")
    assert board.exchange(Command.RESET) == b"" and board.status()["samples"] == 0
    return {"samples": samples, "refusals": refusals, "status": status,
            "refused_led": refused_led}


@cocotb.test()
async def drive_the_board(dut):
    async def body(spec: dict, report: dict) -> None:
        cfg, hardware = load_export(spec["export_dir"], UART_TOP)
        Clock(dut.clk, CLOCK_NS, unit="ns").start()
        dut.rst.value = 1
        await ClockCycles(dut.clk, 3)
        dut.rst.value = 0
        bit_ns = CLOCK_NS * round(hardware["clock_hz"] / hardware["baud"])
        port = PinPort(dut, bit_ns, timeout_ns=bit_ns * 10 * 1000 + 1e7)
        report.update(await bridge(scenario)(port, cfg, hardware["lanes"], spec["samples"]))

    await run_with_report(body)
