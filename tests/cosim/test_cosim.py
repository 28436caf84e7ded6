"""cocotb + Verilator co-simulations of the exported core against the golden model, on real
data with random idle cycles and back-pressure (``pytest -m cosim``; the long run is ``slow``)."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from naca.golden_model.config import NacaConfig
from naca.golden_model.qformat import QFormat
from naca.rtl.export import export_verilog
from naca.sim.cosim import CosimFailed, cosimulate

pytestmark = pytest.mark.cosim


def odd_config() -> NacaConfig:
    """37-23-7, the last-step output rule and 10-bit hidden weights."""
    base = NacaConfig.for_sizes(37, 23, 7, time_steps=6, output_rule="last_step",
                                lr_hidden=2.0**-5)
    frac = base.formats.weight_hidden.frac + 2
    return replace(base, formats=replace(
        base.formats, weight_hidden=QFormat(10, frac, rounding="half_up"),
        membrane_hidden=QFormat(18, frac)))


@pytest.fixture(scope="module")
def digits_core(tmp_path_factory):
    folder = tmp_path_factory.mktemp("digits_core")
    export_verilog(NacaConfig.for_sizes(64, 100, 10), 10, folder / "verilog")
    return folder


def test_digits_default_network_matches_over_training_and_test(digits_core):
    report = cosimulate(digits_core / "verilog", digits_core / "build", samples=250,
                        test_samples=60, checkpoint=100, idle=0.2, backpressure=0.3, seed=3)
    assert report["passed"] and report["samples"] == 250
    assert report["test"]["samples"] == 60
    # every sample's result, three full read-backs (at 100, 200 and the end) and the counters
    assert report["checks"] >= 3 * 250 + 60 * 2
    assert report["status"]["samples"] == 250
    assert "waves" not in report and not list((digits_core / "build").glob("*.fst"))


def test_odd_sizes_other_lanes_and_weight_format(tmp_path):
    export_verilog(odd_config(), 3, tmp_path / "verilog")
    report = cosimulate(tmp_path / "verilog", tmp_path / "build", samples=150, test_samples=30,
                        checkpoint=50, idle=0.1, backpressure=0.1)
    assert report["passed"] and report["status"]["samples"] == 150


def test_mnist_sized_network_matches(tmp_path):
    export_verilog(NacaConfig.for_sizes(784, 100, 10), 8, tmp_path / "verilog")
    report = cosimulate(tmp_path / "verilog", tmp_path / "build", dataset="mnist5k",
                        samples=25, test_samples=5, idle=0.05, backpressure=0.05)
    assert report["passed"] and report["status"]["samples"] == 25


def test_a_drifted_reference_is_caught_at_the_first_difference(digits_core, tmp_path):
    """The same hardware scored against a golden model with another output learning rate:
    the run must stop and name the first differing sample with both values."""
    drifted = tmp_path / "verilog"
    drifted.mkdir()
    for name in ("naca_core.v", "hardware.json"):
        (drifted / name).write_bytes((digits_core / "verilog" / name).read_bytes())
    cfg = json.loads((digits_core / "verilog" / "config.json").read_text())
    cfg["lr_output"] *= 2
    (drifted / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CosimFailed) as failure:
        cosimulate(drifted, digits_core / "build", samples=200, idle=0.0, backpressure=0.0)
    message = str(failure.value)
    assert re.match(r"(training sample \d+ \(index \d+\)|after \d+ samples)", message)
    assert ": design " in message and ", reference " in message


def test_waves_on_request(tmp_path):
    """An FST waveform when asked for; where the LZ4 headers Verilator's FST writer needs are
    missing, a clear error naming the package instead."""
    export_verilog(odd_config(), 23, tmp_path / "verilog")
    if Path("/usr/include/lz4.h").is_file():
        report = cosimulate(tmp_path / "verilog", tmp_path / "build", samples=3, waves=True)
        assert report["waves"].endswith("dump.fst")
        assert Path(report["waves"]).read_bytes()[:1] == b"\x00"    # an FST header block
    else:
        with pytest.raises(FileNotFoundError, match="apt-get install liblz4-dev"):
            cosimulate(tmp_path / "verilog", tmp_path / "build", samples=3, waves=True)



@pytest.mark.slow
def test_ten_thousand_digits_training_samples(digits_core):
    report = cosimulate(digits_core / "verilog", digits_core / "build", samples=10_000,
                        test_samples=360, checkpoint=2_000, progress=True)
    assert report["passed"] and report["status"]["samples"] == 10_000


def test_class_incremental_run_with_the_task_free_mask(tmp_path):
    # the chip's class-incremental learning: per-sample mask, output error on mistakes only
    cfg = NacaConfig.for_sizes(64, 100, 10, mask_delta=0.3, lr_halving_epochs=0,
                               output_error="mistakes")
    export_verilog(cfg, 10, tmp_path / "verilog")
    report = cosimulate(tmp_path / "verilog", tmp_path / "build", classes_per_task=1, tasks=3,
                        test_per_class=8, idle=0.1, backpressure=0.1)
    accuracy = report["class_incremental"]["accuracy"]
    assert len(accuracy) == 3 and all(len(row) == 10 for row in accuracy)
    assert report["status"]["samples"] == report["samples"] + 3 * 80
    assert accuracy[0][0] > 0.5          # the first task's class is learned on the core


def test_naca_verilog_and_naca_sim_commands(tmp_path, capsys):
    from naca.cli import main

    config = tmp_path / "cfg.json"
    odd_config().save(config)
    assert main(["verilog", "--config", str(config), "--lanes", "3",
                 "-o", str(tmp_path / "v")]) == 0
    assert {p.name for p in (tmp_path / "v").iterdir()} == {"naca_core.v", "config.json",
                                                           "hardware.json"}
    big = tmp_path / "big.json"
    NacaConfig.for_sizes(784, 100, 10).save(big)
    assert main(["verilog", "--config", str(big), "--lanes", "10", "--device", "ice40up5k",
                 "-o", str(tmp_path / "w")]) == 2
    assert "needs 5 SPRAM blocks for its hidden weights" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()
    report = tmp_path / "report.json"
    assert main(["sim", "--export", str(tmp_path / "v"), "--samples", "40",
                 "--test-samples", "10", "--quiet", "--build-dir", str(tmp_path / "b"),
                 "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "40 training samples match the golden model bit for bit" in out
    assert json.loads(report.read_text())["test"]["samples"] == 10
