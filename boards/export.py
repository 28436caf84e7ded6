"""Verilog of the board-independent UART top, for co-simulation with the host driver."""

from __future__ import annotations

from pathlib import Path

from ..golden_model.config import NacaConfig
from ..rtl.export import hardware_description, write_export
from .top import NacaUartTop

UART_TOP = "naca_uart_top"


def export_uart_top(cfg: NacaConfig, lanes: int, out_dir: str | Path, *, clock_hz: float,
                    baud: int) -> Path:
    """Write ``naca_uart_top.v`` with config.json and hardware.json (clock and baud added)."""
    top = NacaUartTop(cfg, lanes=lanes, clock_hz=clock_hz, baud=baud)
    hardware = {**hardware_description(cfg, lanes, 16), "top": UART_TOP,
                "clock_hz": clock_hz, "baud": baud}
    return write_export(out_dir, UART_TOP, top, cfg, hardware)
