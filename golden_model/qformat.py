"""Fixed-point formats: the single definition of every stored or computed quantity.

A :class:`QFormat` describes a two's-complement (or unsigned) integer of ``width`` bits whose
real value is ``code * 2**-frac``. Rounding (how a finer value is brought to this format) and
overflow (what happens outside the range) belong to the format, never to the call site, so the
golden model and the RTL cannot disagree about them.

Integer codes are carried as ``np.int64`` everywhere; every format used by the model is at most
32 bits wide, so intermediate products of two codes never overflow 64 bits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Literal

import numpy as np

Rounding = Literal["floor", "half_up"]
Overflow = Literal["sat", "wrap"]

MAX_WIDTH = 32


@dataclass(frozen=True)
class QFormat:
    """A fixed-point number format.

    Parameters
    ----------
    width:
        Total number of bits, sign included (1 to 32).
    frac:
        Fractional bits: the real value of code ``q`` is ``q * 2**-frac``. May exceed ``width``
        (a small quantity with many fractional bits) or be negative (a coarse one).
    signed:
        Two's complement when true, unsigned otherwise.
    rounding:
        ``"floor"`` (an arithmetic right shift: towards minus infinity) or ``"half_up"``
        (add half an LSB, then floor).
    overflow:
        ``"sat"`` clamps to the representable range, ``"wrap"`` keeps the low ``width`` bits.
    """

    width: int
    frac: int
    signed: bool = True
    rounding: Rounding = "floor"
    overflow: Overflow = "sat"

    def __post_init__(self) -> None:
        if not isinstance(self.width, int) or not 1 <= self.width <= MAX_WIDTH:
            raise ValueError(
                f"QFormat width must be an integer in 1..{MAX_WIDTH}, not {self.width!r}")
        if not isinstance(self.frac, int) or not -MAX_WIDTH <= self.frac <= 2 * MAX_WIDTH:
            raise ValueError(
                f"QFormat frac must be an integer in -32..64, not {self.frac!r}")
        if self.signed and self.width < 2:
            raise ValueError("a signed QFormat needs at least 2 bits (sign and one value bit)")
        if self.rounding not in ("floor", "half_up"):
            raise ValueError(
                f"QFormat rounding must be 'floor' or 'half_up', not {self.rounding!r}")
        if self.overflow not in ("sat", "wrap"):
            raise ValueError(f"QFormat overflow must be 'sat' or 'wrap', not {self.overflow!r}")

    # -- range ---------------------------------------------------------------------------------
    @cached_property
    def min_code(self) -> int:
        return -(1 << (self.width - 1)) if self.signed else 0

    @cached_property
    def max_code(self) -> int:
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    @property
    def lsb(self) -> float:
        return 2.0 ** -self.frac

    @property
    def min_value(self) -> float:
        return self.min_code * self.lsb

    @property
    def max_value(self) -> float:
        return self.max_code * self.lsb

    # -- conversions ---------------------------------------------------------------------------
    def fit(self, code: np.ndarray | int) -> np.ndarray:
        """Bring integer codes into range with this format's overflow rule."""
        code = np.asarray(code, dtype=np.int64)
        if self.overflow == "sat":
            return np.minimum(np.maximum(code, self.min_code), self.max_code)
        low = code & ((1 << self.width) - 1)
        if self.signed:
            low = np.where(low > self.max_code, low - (1 << self.width), low)
        return low

    def shift(self, code: np.ndarray | int, from_frac: int) -> np.ndarray:
        """Re-express codes with ``from_frac`` fractional bits in this format (round, then fit).

        This is the only requantisation primitive: an arithmetic shift right by
        ``from_frac - self.frac`` bits, rounded by this format's rule, or an exact shift left.
        """
        code = np.asarray(code, dtype=np.int64)
        drop = from_frac - self.frac
        if drop > 0:
            if self.rounding == "half_up":
                code = code + (1 << (drop - 1))
            code = code >> drop
        elif drop < 0:
            shift = -drop
            if self.overflow == "sat":
                # beyond +-bound every code saturates whatever the shift: clip first, so the
                # shift cannot overflow 64 bits (past width + 1 bits, +-1 saturates already)
                bound = (max(-self.min_code, self.max_code) >> shift) + 1
                code = np.clip(code, -bound, bound)
                shift = min(shift, self.width + 1)
            code = code << shift
        return self.fit(code)

    def quantize(self, value: np.ndarray | float) -> np.ndarray:
        """Real values to codes: scale, round by this format's rule, then fit."""
        scaled = np.asarray(value, dtype=np.float64) * 2.0**self.frac
        if self.rounding == "half_up":
            scaled = scaled + 0.5
        return self.fit(np.floor(scaled).astype(np.int64))

    def to_float(self, code: np.ndarray | int) -> np.ndarray:
        return np.asarray(code, dtype=np.float64) * self.lsb

    # -- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> QFormat:
        unknown = set(data) - {"width", "frac", "signed", "rounding", "overflow"}
        if unknown:
            raise ValueError(f"unknown QFormat field(s) {sorted(unknown)}")
        return cls(**data)

    def __str__(self) -> str:
        kind = "s" if self.signed else "u"
        return f"{kind}{self.width}.f{self.frac}({self.rounding},{self.overflow})"
