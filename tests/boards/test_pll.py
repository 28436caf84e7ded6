"""The PLL settings behind ``naca build --clock``, against the vendor formulas and the settings
icepll and ecppll print for the boards' default clocks."""

import pytest

from naca.boards.build import ecp5_pll, ice40_pll


def test_default_clocks_are_the_settings_of_icepll_and_ecppll():
    # icepll -i 12 -o 30 and ecppll -i 25 -o 80
    assert ice40_pll(12e6, 30e6) == ({"p_FEEDBACK_PATH": "SIMPLE", "p_DIVR": 0, "p_DIVF": 79,
                                      "p_DIVQ": 5, "p_FILTER_RANGE": 1}, 30e6)
    params, clock = ecp5_pll(25e6, 80e6)
    assert clock == 80e6
    assert (params["p_CLKI_DIV"], params["p_CLKFB_DIV"], params["p_CLKOP_DIV"],
            params["p_CLKOP_CPHASE"]) == (5, 16, 7, 3)


@pytest.mark.parametrize("target_mhz", [12, 18.5, 30, 33.3, 41, 48, 60, 75])
def test_ice40_clock_follows_the_sb_pll40_formula(target_mhz):
    params, clock = ice40_pll(12e6, target_mhz * 1e6)
    vco = 12e6 * (params["p_DIVF"] + 1) / (params["p_DIVR"] + 1)
    assert clock == vco / 2 ** params["p_DIVQ"]
    assert 533e6 <= vco <= 1066e6 and 10e6 <= 12e6 / (params["p_DIVR"] + 1) <= 133e6
    assert 0.97 * target_mhz * 1e6 <= clock <= target_mhz * 1e6


@pytest.mark.parametrize("target_mhz", [25, 40, 55.5, 66, 70, 80, 100])
def test_ecp5_clock_follows_the_ehxplll_formula(target_mhz):
    params, clock = ecp5_pll(25e6, target_mhz * 1e6)
    assert clock == 25e6 / params["p_CLKI_DIV"] * params["p_CLKFB_DIV"]
    assert 400e6 <= clock * params["p_CLKOP_DIV"] <= 800e6
    assert 0.97 * target_mhz * 1e6 <= clock <= target_mhz * 1e6


def test_a_clock_the_pll_cannot_make_is_refused():
    with pytest.raises(ValueError, match="the iCE40 PLL cannot make 1 MHz from 12 MHz"):
        ice40_pll(12e6, 1e6)
    with pytest.raises(ValueError, match="the ECP5 PLL cannot make 2 MHz from 25 MHz"):
        ecp5_pll(25e6, 2e6)
