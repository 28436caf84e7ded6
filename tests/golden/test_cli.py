"""The naca command line: train writes a run folder that eval reproduces; bad input is named."""

import json

import numpy as np
import pytest

from naca.cli import main


def test_train_then_eval(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--limit", "120", "--epochs", "2", "--quiet", "--out", str(run)]) == 0
    for name in ("config.json", "weights.npz", "metrics.json", "curve.png"):
        assert (run / name).is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert len(metrics["test_accuracy"]) == 2 and metrics["work"]["samples"] == 240
    assert main(["eval", str(run)]) == 0
    out = capsys.readouterr().out
    recorded = f"{100 * metrics['final_test_accuracy']:.2f} %"
    assert f"test accuracy {recorded} (recorded at the end of training: {recorded})" in out


def test_ann_and_bp_runs(tmp_path):
    for precision in ("float", "bp"):
        out = tmp_path / precision
        assert main(["train", "--model", "ann", "--precision", precision, "--limit", "60",
                     "--epochs", "1", "--quiet", "--out", str(out)]) == 0
        assert main(["eval", str(out)]) == 0


def test_bad_inputs_give_clear_errors(tmp_path, capsys):
    bad = tmp_path / "cfg.json"
    bad.write_text('{"n_inputs": 64, "n_hidden": 0}')
    assert main(["train", "--config", str(bad), "--quiet", "--out", str(tmp_path / "x")]) == 2
    assert "NacaConfig.n_hidden = 0 is invalid" in capsys.readouterr().err
    wrong = tmp_path / "wrong.json"
    assert main(["config", "--inputs", "784", "-o", str(wrong)]) == 0
    assert main(["train", "--config", str(wrong), "--quiet"]) == 2
    assert "dataset 'digits' has 64 inputs" in capsys.readouterr().err
    run = tmp_path / "run"
    assert main(["train", "--limit", "30", "--epochs", "1", "--quiet", "--out", str(run)]) == 0
    np.savez(run / "weights.npz", w_hidden=np.zeros((3, 3), dtype=np.int64),
             w_output=np.zeros((100, 10), dtype=np.int64),
             modulation=np.zeros((10, 100), dtype=np.int64))
    assert main(["eval", str(run)]) == 2
    assert "w_hidden has shape (3, 3), but the config needs (64, 100)" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert "is not a run folder" in capsys.readouterr().err


def test_class_incremental_writes_metrics_and_plots(tmp_path, capsys):
    out = tmp_path / "cl"
    assert main(["cl", "--limit", "200", "--classes-per-task", "5", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    runs = {(r["method"], r["setting"]) for r in metrics["results"]}
    assert runs == {(m, s) for m in ("NACA fixed", "NACA float", "BP", "BP mistakes", "EWC",
                                     "EWC proximal")
                    for s in ("reference", "task_free")}
    assert all(len(r["average"]) == 2 for r in metrics["results"])
    assert metrics["cost"]["EWC"]["ops_per_sample"] > metrics["cost"]["NACA fixed"][
        "ops_per_sample"]
    for name in ("average.png", "matrix.png", "weight_change.png"):
        assert (out / name).stat().st_size > 10_000
    assert "final average accuracy" in capsys.readouterr().out


def test_class_incremental_with_the_hidden_layer_frozen(tmp_path, capsys):
    out = tmp_path / "cl"
    assert main(["cl", "--limit", "200", "--classes-per-task", "5", "--hidden-rate", "0",
                 "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert all(cfg["lr_hidden"] == 0 for cfg in metrics["config_naca"].values())
    naca = [r for r in metrics["results"] if r["method"].startswith("NACA")]
    assert len(naca) == 4 and all(r["hidden_unchanged_fraction"] == 1.0 for r in naca)
    bp = next(r for r in metrics["results"] if r["method"] == "BP")
    assert bp["hidden_unchanged_fraction"] < 0.5          # the baselines' rates are their own
    with pytest.raises(SystemExit):
        main(["cl", "--hidden-rate", "-1"])
    assert "must be zero or a positive number, not -1" in capsys.readouterr().err
