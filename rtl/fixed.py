"""The only place where RTL widths are derived: golden-model formats to Amaranth shapes."""

from amaranth.hdl import Shape, signed, unsigned

from ..golden_model.qformat import QFormat


def shape_of(fmt: QFormat) -> Shape:
    """The Amaranth shape holding the integer codes of ``fmt``."""
    return signed(fmt.width) if fmt.signed else unsigned(fmt.width)


def index_shape(count: int) -> Shape:
    """An unsigned shape addressing ``count`` items (at least one bit)."""
    return unsigned(max(1, (count - 1).bit_length()))
