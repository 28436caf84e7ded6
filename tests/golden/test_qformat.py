"""QFormat: round trips, rounding rules, saturation and wrap at both edges."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from naca.golden_model.qformat import QFormat

formats = st.builds(
    QFormat, width=st.integers(2, 24), frac=st.integers(-4, 30), signed=st.booleans(),
    rounding=st.sampled_from(["floor", "half_up"]), overflow=st.sampled_from(["sat", "wrap"]))


def reference_round(value: Fraction, fmt: QFormat) -> int:
    """Exact rational rounding, then the overflow rule, by definition."""
    scaled = value * (Fraction(2) ** fmt.frac)
    code = int(scaled // 1) if fmt.rounding == "floor" else int((scaled + Fraction(1, 2)) // 1)
    if fmt.overflow == "sat":
        return min(max(code, fmt.min_code), fmt.max_code)
    code %= 1 << fmt.width
    return code - (1 << fmt.width) if fmt.signed and code > fmt.max_code else code


@given(formats, st.integers(-(1 << 40), 1 << 40), st.integers(-8, 40))
# shifts left far enough to overflow 64 bits before the saturation
@example(QFormat(2, 26, signed=False), 1 << 29, -8)
@example(QFormat(24, 30), -(1 << 40), -8)
@example(QFormat(24, 30, overflow="wrap"), (1 << 40) - 1, -8)
def test_shift_matches_exact_rounding(fmt, code, from_frac):
    expected = reference_round(Fraction(code) / Fraction(2) ** from_frac, fmt)
    assert int(fmt.shift(code, from_frac)) == expected


@given(formats, st.floats(-1e6, 1e6, allow_nan=False))
def test_quantize_matches_exact_rounding(fmt, value):
    assert int(fmt.quantize(value)) == reference_round(Fraction(value), fmt)


@given(formats, st.data())
def test_representable_values_round_trip(fmt, data):
    code = data.draw(st.integers(fmt.min_code, fmt.max_code))
    assert int(fmt.quantize(fmt.to_float(code))) == code


def test_saturation_at_both_edges():
    fmt = QFormat(8, 4)
    assert fmt.quantize([100.0, -100.0, 7.9375, -8.0]).tolist() == [127, -128, 127, -128]
    assert fmt.fit([128, -129]).tolist() == [127, -128]
    unsigned = QFormat(8, 8, signed=False)
    assert unsigned.quantize([-0.5, 1.0, 0.99]).tolist() == [0, 255, 253]


def test_wrap_keeps_low_bits():
    fmt = QFormat(8, 0, overflow="wrap")
    assert fmt.fit([127, 128, 255, 256, -129]).tolist() == [127, -128, -1, 0, 127]


def test_half_up_rounds_ties_up_and_floor_towards_minus_infinity():
    assert QFormat(8, 0, rounding="half_up").shift(np.array([3, -3, 1, -1]), 1).tolist() == [
        2, -1, 1, 0]
    assert QFormat(8, 0).shift(np.array([3, -3, 1, -1]), 1).tolist() == [1, -2, 0, -1]


@pytest.mark.parametrize("kwargs, message", [
    ({"width": 0, "frac": 0}, "width must be an integer in 1..32"),
    ({"width": 33, "frac": 0}, "width must be an integer in 1..32"),
    ({"width": 1, "frac": 0}, "signed QFormat needs at least 2 bits"),
    ({"width": 8, "frac": 0, "rounding": "nearest"}, "rounding must be 'floor' or 'half_up'"),
    ({"width": 8, "frac": 0, "overflow": "clip"}, "overflow must be 'sat' or 'wrap'"),
])
def test_invalid_formats_name_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QFormat(**kwargs)


def test_dict_round_trip_and_unknown_fields():
    fmt = QFormat(12, 9, signed=False, rounding="half_up", overflow="wrap")
    assert QFormat.from_dict(fmt.to_dict()) == fmt
    with pytest.raises(ValueError, match="unknown QFormat field"):
        QFormat.from_dict({**fmt.to_dict(), "bits": 3})
