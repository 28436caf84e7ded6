"""Verilog of the board-independent UART top, for co-simulation with the host driver."""

from __future__ import annotations

import json
from pathlib import Path

from amaranth.back import verilog

from ..golden_model.config import NacaConfig
from ..rtl.export import CONFIG_FILE, HARDWARE_FILE, hardware_description
from .top import NacaUartTop

UART_TOP = "naca_uart_top"


def export_uart_top(cfg: NacaConfig, lanes: int, out_dir: str | Path, *, clock_hz: float,
                    baud: int) -> Path:
    """Write ``naca_uart_top.v`` with config.json and hardware.json (clock and baud added)."""
    out = Path(out_dir)
    top = NacaUartTop(cfg, lanes=lanes, clock_hz=clock_hz, baud=baud)
    text = verilog.convert(top, name=UART_TOP, emit_src=False)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{UART_TOP}.v"
    path.write_text(text)
    cfg.save(out / CONFIG_FILE)
    hardware = {**hardware_description(cfg, lanes, 16), "top": UART_TOP,
                "clock_hz": clock_hz, "baud": baud}
    (out / HARDWARE_FILE).write_text(json.dumps(hardware, indent=2) + "\n")
    return path
