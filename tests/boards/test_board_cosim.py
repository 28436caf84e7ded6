"""The real host driver trains the UART board top through its pins (cocotb + Verilator): the
top as Amaranth writes it, and (``slow``) the iCE40 netlist Yosys makes of it."""

import pytest

from naca.boards.export import export_ice40_netlist, export_uart_top
from naca.golden_model.config import NacaConfig
from naca.sim.cosim import cosimulate_board

pytestmark = pytest.mark.cosim

CONFIG = NacaConfig.for_sizes(16, 12, 4, time_steps=4)
CLOCKING = {"clock_hz": 100e6, "baud": 6_250_000}


def check_board_report(report: dict, samples: int) -> None:
    # the scenario compares every result, weight, table and counter with the golden model
    # and raises on the first difference; these are what it reports besides
    assert report["samples"] == samples and report["status"]["samples"] == samples + 3
    assert report["refusals"] == {"bad CRC": "BAD_CRC", "unknown command": "UNKNOWN_COMMAND",
                                  "wrong length": "BAD_LENGTH",
                                  "oversized length": "BAD_LENGTH",
                                  "bytes between frames": "STRAY_BYTES",
                                  "truncated frame": "TRUNCATED"}
    # the "refused" LED lights after the bad frames and goes out after the next good one
    assert report["refused_led"] == [1, 0]


def test_driver_trains_the_board_top_through_its_uart_pins(tmp_path):
    export_uart_top(CONFIG, 3, tmp_path / "verilog", **CLOCKING)
    report = cosimulate_board(tmp_path / "verilog", tmp_path / "build", samples=6)
    check_board_report(report, 6)


@pytest.mark.slow
def test_driver_trains_the_synthesised_ice40_netlist(tmp_path):
    # what the iCEBreaker's bitstream is made from: the compact core, one-hot state machines,
    # SB_RAM40_4K, SB_MAC16 and SB_SPRAM256KA cells (Yosys's simulation models; the hidden
    # weights of three lanes are two SPRAM memories); about 15 minutes
    export_ice40_netlist(CONFIG, 3, tmp_path / "netlist", **CLOCKING)
    netlist = (tmp_path / "netlist" / "naca_uart_top.v").read_text()
    assert "SB_MAC16" in netlist and "SB_RAM40_4K" in netlist
    assert netlist.count("SB_SPRAM256KA ") == 2
    report = cosimulate_board(tmp_path / "netlist", tmp_path / "build", samples=3)
    check_board_report(report, 3)
