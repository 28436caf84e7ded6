"""``naca build`` with the YoWASP tools: small configs' bitstreams and reports, and the refusals
(marker ``synth``; the full-size ULX3S build and the UP5K's logic refusal, which needs place
and route, are in the ``slow`` tier)."""

import json
from pathlib import Path

import pytest

from naca.boards.build import build, synthesise
from naca.golden_model.config import NacaConfig

pytestmark = pytest.mark.synth

#: What an ECP5 bitstream from ecppack starts its command stream with, and the LFE5U-85F's
#: JTAG IDCODE (Lattice's ECP5 sysCONFIG documentation), which the bitstream checks.
ECP5_PREAMBLE = bytes.fromhex("FFFFBDB3")
LFE5U_85F_IDCODE = bytes.fromhex("41113043")
#: The iCE40 configuration image's synchronisation word (Lattice's iCE40 programming and
#: configuration guide); icepack's output has it after a short comment block.
ICE40_SYNC = bytes.fromhex("7EAA997E")


def check_report(report: dict, out: Path, board: str) -> None:
    assert json.loads((out / "report.json").read_text()) == report
    assert report["board"] == board
    assert report["fmax_mhz"] >= report["target_mhz"]
    for cell, use in report["resources"].items():
        assert use["used"] <= use["available"], cell
    hardware = json.loads((out / "hardware.json").read_text())
    assert hardware["clock_hz"] == report["target_mhz"] * 1e6
    assert NacaConfig.load(out / "config.json") is not None


def test_ulx3s_bitstream_of_a_small_network(tmp_path):
    report = build("ulx3s", NacaConfig.for_sizes(8, 8, 2), 1, tmp_path, seed=7)
    check_report(report, tmp_path, "ulx3s")
    # the placement seed reaches nextpnr's command line
    assert report["placement_seed"] == 7
    assert "--seed 7" in (tmp_path / "build_naca.sh").read_text()
    bitstream = Path(report["bitstream"]).read_bytes()
    head = bitstream[:4096]
    assert ECP5_PREAMBLE in head and LFE5U_85F_IDCODE in head
    # the core's memories are block RAM, its multipliers DSP slices
    assert report["resources"]["DP16KD"]["used"] > 0
    assert report["resources"]["MULT18X18D"]["used"] > 0


def test_icebreaker_bitstream_of_a_small_network(tmp_path):
    # 8-8-2 on one lane fills 94 % of the UP5K's logic cells and reaches about 35 MHz against
    # the board's default 30 MHz: built at 24 MHz, so that placement noise cannot fail CI
    report = build("icebreaker", NacaConfig.for_sizes(8, 8, 2), 1, tmp_path, clock_hz=24e6)
    check_report(report, tmp_path, "icebreaker")
    bitstream = Path(report["bitstream"]).read_bytes()
    assert ICE40_SYNC in bitstream[:64]
    # the hidden weights are in SPRAM, small memories in block RAM, the multipliers SB_MAC16s
    assert report["resources"]["ICESTORM_SPRAM"]["used"] == 1
    assert report["resources"]["ICESTORM_RAM"]["used"] > 0
    assert report["resources"]["ICESTORM_DSP"]["used"] > 0


def test_a_core_too_big_for_the_device_is_refused_before_building(tmp_path):
    with pytest.raises(ValueError, match=r"784-100-10 at 10 lanes needs 5 SPRAM blocks"):
        build("icebreaker", NacaConfig.for_sizes(784, 100, 10), 10, tmp_path)
    with pytest.raises(ValueError, match=r"784-700-10 at 10 lanes needs [\d,]+ B of block RAM"):
        build("ulx3s", NacaConfig.for_sizes(784, 700, 10), 10, tmp_path)
    assert not any(tmp_path.iterdir())


def test_synthesis_alone_counts_the_cells_of_784_100_10_on_the_up5k(tmp_path):
    # 784-100-10 on one lane, without place and route
    report = synthesise("icebreaker", NacaConfig.for_sizes(784, 100, 10), 1, tmp_path)
    assert json.loads((tmp_path / "report.json").read_text()) == report
    cells, packed = report["cells"], report["packed"]
    # a logic cell holds one LUT4 and one flip-flop: packing needs at least as many as either
    lcs = packed["ICESTORM_LC"]
    flip_flops = sum(n for cell, n in cells.items() if cell.startswith("SB_DFF"))
    assert lcs["available"] == 5_280 and lcs["used"] >= max(cells["SB_LUT4"], flip_flops)
    assert packed["ICESTORM_SPRAM"]["used"] == cells["SB_SPRAM256KA"]
    assert report["over"] == (
        [c for c in ("SB_LUT4", "SB_RAM40_4K", "SB_SPRAM256KA", "SB_MAC16")
         if cells.get(c, 0) > report["device_cells"][c]]
        + [c for c, usage in packed.items() if usage["used"] > usage["available"]])
    # and it fits: logic cells, block RAM, SPRAM and DSPs
    assert report["over"] == []
    # the hidden weights, 78,400 of 8 bits, fill 3 SPRAMs of 256 kbit; the rest fits the
    # block RAM, and one output lane's multipliers, the hidden lane's and the neurons' the DSPs
    assert cells["SB_SPRAM256KA"] == -(-78_400 * 8 // (256 * 1024)) == 3
    assert cells["SB_RAM40_4K"] <= 30 and cells["SB_MAC16"] <= 8
    assert not (tmp_path / "naca.bin").exists()


@pytest.mark.slow
def test_a_design_over_the_logic_of_the_up5k_is_named(tmp_path):
    # the memories fit, the logic does not: nextpnr's own count is reported
    with pytest.raises(ValueError, match=r"16-16-4 at 4 lanes does not fit the ice40up5k: it "
                                         r"needs ICESTORM_LC [\d,]+ of 5,280"):
        build("icebreaker", NacaConfig.for_sizes(16, 16, 4), 4, tmp_path)


@pytest.mark.slow
def test_ulx3s_bitstream_of_digits_64_100_10(tmp_path):
    report = build("ulx3s", NacaConfig.for_sizes(64, 100, 10), 10, tmp_path)
    check_report(report, tmp_path, "ulx3s")
