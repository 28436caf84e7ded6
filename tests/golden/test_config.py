"""NacaConfig: JSON round trip, validation messages, memory footprint on the iCE40UP5K."""

import json
from dataclasses import replace

import pytest

from naca.golden_model.config import Formats, NacaConfig
from naca.golden_model.qformat import QFormat

UP5K_SPRAM_BYTES = 4 * 256 * 1024 // 8
UP5K_EBR_BYTES = 30 * 4096 // 8


def test_json_round_trip(tmp_path):
    cfg = NacaConfig.for_sizes(784, 100, 10, seed=5, mask_delta=0.2, output_rule="last_step")
    assert NacaConfig.from_json(cfg.to_json()) == cfg
    cfg.save(tmp_path / "c.json")
    assert NacaConfig.load(tmp_path / "c.json") == cfg


@pytest.mark.parametrize("change, message", [
    ({"n_hidden": 0}, r"NacaConfig.n_hidden = 0 is invalid: allowed an integer in 1..65536"),
    ({"n_classes": 1}, r"n_classes = 1 is invalid"),
    ({"time_steps": 0}, r"time_steps = 0 is invalid"),
    ({"model": "cnn"}, r"model = 'cnn' is invalid: allowed 'snn' or 'ann'"),
    ({"model": "ann", "time_steps": 10}, r"time_steps = 10 is invalid: allowed 1 for the ANN"),
    ({"alpha": 1.5}, r"alpha = 1.5 is invalid"),
    ({"lens": 0.9}, r"lens = 0.9 is invalid: allowed 0 <= lens <= threshold"),
    ({"sr_bits": 9}, r"sr_bits = 9 is invalid: allowed an integer in 0..8"),
    ({"lr_hidden": -1.0}, r"lr_hidden = -1.0 is invalid"),
    ({"lr_hidden": 0.5}, r"lr_hidden 0.5 .* exceeds the learning_rate format"),
    ({"mask_delta": 2.0}, r"mask_delta = 2.0 is invalid"),
    ({"threshold": 1000.0}, r"threshold 1000.0 is not representable in membrane_hidden"),
])
def test_invalid_fields_are_named(change, message):
    with pytest.raises(ValueError, match=message):
        replace(NacaConfig(), **change)


def test_format_constraints_are_named():
    bad = replace(Formats(), membrane_hidden=QFormat(16, 5))
    with pytest.raises(ValueError, match=r"membrane_hidden.frac \(5\) must equal weight_hidden"):
        NacaConfig(formats=bad)
    with pytest.raises(ValueError, match="input must be unsigned"):
        NacaConfig(formats=replace(Formats(), input=QFormat(8, 7, signed=False)))


def test_malformed_json_is_reported(tmp_path):
    with pytest.raises(ValueError, match="not valid JSON"):
        NacaConfig.from_json("{n_inputs: 3")
    with pytest.raises(ValueError, match=r"unknown NacaConfig field\(s\) \['hiden'\]"):
        NacaConfig.from_dict({"hiden": 5})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"n_inputs": -3}))
    with pytest.raises(ValueError, match=r"bad.json: NacaConfig.n_inputs = -3"):
        NacaConfig.load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        NacaConfig.load(tmp_path / "missing.json")


def test_codes_of_constants():
    cfg = NacaConfig.for_sizes(64, 100, 10)
    frac = cfg.formats.membrane_hidden.frac
    assert cfg.code("threshold_hidden") == 1 << (frac - 1)          # 0.5
    assert cfg.code("near_threshold_hidden") == 0                   # 0.5 - lens 0.5
    assert cfg.code("alpha") == 51                                  # round(0.2 * 256)
    assert cfg.code("lr_output") == round(cfg.lr_output / cfg.time_steps * 2**20)
    with pytest.raises(KeyError, match="no constant named 'beta'"):
        cfg.code("beta")


def test_default_784_100_10_fits_the_up5k():
    cfg = NacaConfig.for_sizes(784, 100, 10)
    mem = cfg.memory_bytes()
    assert mem["weight_hidden"] == 78_400 and mem["weight_output"] == 1_000
    assert mem["weight_hidden"] + mem["weight_output"] <= UP5K_SPRAM_BYTES
    state = sum(v for k, v in mem.items() if not k.startswith("weight"))
    assert state <= UP5K_EBR_BYTES
