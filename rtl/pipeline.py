"""Shift registers for pipeline stages."""

from itertools import pairwise

from amaranth.hdl import Module


def shift(m: Module, stages) -> None:
    """Each stage of ``stages`` (signals of one shape) takes the previous one's value at every
    clock edge of ``m``'s sync domain (in the current ``If`` context, if any); the first stage
    is driven by the caller."""
    m.d.sync += [later.eq(earlier) for earlier, later in pairwise(stages)]
