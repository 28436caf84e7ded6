"""Verilog export of the network top, with the config and the hardware description beside it."""

from __future__ import annotations

import json
from pathlib import Path

from amaranth.back import verilog

from ..golden_model.config import NacaConfig
from .control import Register, Target, control_layout
from .network import NacaCore, result_layout, sample_layout

TOP = "naca_core"
CONFIG_FILE = "config.json"
HARDWARE_FILE = "hardware.json"


def hardware_description(cfg: NacaConfig, lanes: int, fifo_depth: int) -> dict:
    """What a host or a testbench needs beyond the config: build parameters and the port map."""
    def fields(layout) -> dict:
        return {name: {"offset": field.offset, "width": field.width}
                for name, field in layout}

    return {
        "top": TOP, "lanes": lanes, "fifo_depth": fifo_depth,
        "ports": {"i": fields(sample_layout(cfg)), "o": fields(result_layout(cfg)),
                  "control": fields(control_layout(cfg, lanes))},
        "targets": {t.name: int(t) for t in Target},
        "registers": {r.name: int(r) for r in Register},
    }


def export_verilog(cfg: NacaConfig, lanes: int, out_dir: str | Path, *, fifo_depth: int = 16,
                   state=None, **core_options) -> Path:
    """Write ``naca_core.v``, ``config.json`` and ``hardware.json`` into ``out_dir``; returns
    the Verilog path. ``state`` bakes weights and the modulation table into the memories;
    ``core_options`` (``registered_streams``, ``single_port_weights``) as in
    :class:`NacaCore`."""
    core = NacaCore(cfg, lanes=lanes, fifo_depth=fifo_depth, state=state, **core_options)
    return write_export(out_dir, TOP, core, cfg, hardware_description(cfg, lanes, fifo_depth))


def write_export(out_dir: str | Path, top: str, component, cfg: NacaConfig,
                 hardware: dict) -> Path:
    """``<top>.v`` of ``component`` with config.json and hardware.json beside it."""
    out = Path(out_dir)
    text = verilog.convert(component, name=top, emit_src=False)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{top}.v"
    path.write_text(text)
    write_description(out, cfg, hardware)
    return path


def write_description(out: Path, cfg: NacaConfig, hardware: dict) -> None:
    """config.json and hardware.json of an export."""
    cfg.save(out / CONFIG_FILE)
    (out / HARDWARE_FILE).write_text(json.dumps(hardware, indent=2) + "\n")


def load_export(out_dir: str | Path, top: str = TOP) -> tuple[NacaConfig, dict]:
    """The config and hardware description of an exported core (or board top ``top``)."""
    out = Path(out_dir)
    for name in (CONFIG_FILE, HARDWARE_FILE, f"{top}.v"):
        if not (out / name).is_file():
            raise FileNotFoundError(f"{out / name} is missing; export the core with: "
                                    f"naca verilog --config CFG.json -o {out}")
    return NacaConfig.load(out / CONFIG_FILE), json.loads((out / HARDWARE_FILE).read_text())
