"""The real host driver trains the UART board top through its pins (cocotb + Verilator)."""

import pytest

from naca.boards.export import export_uart_top
from naca.golden_model.config import NacaConfig
from naca.sim.cosim import cosimulate_board

pytestmark = pytest.mark.cosim


def test_driver_trains_the_board_top_through_its_uart_pins(tmp_path):
    cfg = NacaConfig.for_sizes(16, 12, 4, time_steps=4)
    export_uart_top(cfg, 3, tmp_path / "verilog", clock_hz=100e6, baud=6_250_000)
    report = cosimulate_board(tmp_path / "verilog", tmp_path / "build", samples=6)
    assert report["samples"] == 6 and report["status"]["samples"] == 9
    assert report["refusals"] == {"bad CRC": "BAD_CRC", "unknown command": "UNKNOWN_COMMAND",
                                  "wrong length": "BAD_LENGTH",
                                  "oversized length": "BAD_LENGTH",
                                  "bytes between frames": "STRAY_BYTES",
                                  "truncated frame": "TRUNCATED"}
    # the "refused" LED lights after the bad frames and goes out after the next good one
    assert report["refused_led"] == [1, 0]
