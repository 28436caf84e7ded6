"""The only place where RTL widths are derived: golden-model formats to Amaranth shapes."""

from amaranth.hdl import Module, Mux, Shape, Signal, Value, signed, unsigned

from ..golden_model.qformat import QFormat


def shape_of(fmt: QFormat) -> Shape:
    """The Amaranth shape holding the integer codes of ``fmt``."""
    return signed(fmt.width) if fmt.signed else unsigned(fmt.width)


def index_shape(count: int) -> Shape:
    """An unsigned shape addressing ``count`` items (at least one bit)."""
    return unsigned(max(1, (count - 1).bit_length()))


def requantize(m: Module, value: Value, from_frac: int, fmt: QFormat) -> Value:
    """The expression of :meth:`QFormat.shift`: ``value`` (with ``from_frac`` fractional bits)
    rounded by ``fmt``'s rule and brought into range by its overflow rule.

    ``value`` is first held in a signal of ``m`` (the comparisons read it three times).
    Assign the result to a signal of :func:`shape_of` ``(fmt)``: saturation yields an in-range
    value, and wrapping is that assignment's truncation.
    """
    held = Signal(value.shape(), name="requantize_in")
    m.d.comb += held.eq(value)
    value = held
    drop = from_frac - fmt.frac
    if drop > 0:
        if fmt.rounding == "half_up":
            value = value + (1 << (drop - 1))
        value = value >> drop
    elif drop < 0:
        value = value << -drop
    if fmt.overflow == "sat":
        value = Mux(value > fmt.max_code, fmt.max_code,
                    Mux(value < fmt.min_code, fmt.min_code, value))
    return value
