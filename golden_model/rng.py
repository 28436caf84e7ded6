"""Counter-based random bits: every random byte is a pure function of where it is used.

A byte is addressed by (seed, stream, sample counter, time step, element index). Nothing is
sequential, so any hardware parallelism (lanes, pipelining, skipped work) draws the same bytes
as this vectorised NumPy code.

The mixing function is Thomas Wang's 32-bit integer hash with its one multiply (by 2057)
written as shift-adds: three adds and three xor-shifts, no multipliers. A key is derived once
per (sample, step):

    key = mix(mix(mix(mix(seed) ^ stream) ^ sample) ^ step)
    word(index) = mix(key ^ index)

and every 32-bit word carries four random bytes for four consecutive elements: element ``e``
takes byte ``e & 3`` of ``word(e >> 2)`` (byte 0 = bits 7:0). Two-dimensional element spaces
(synapses) use the word index ``(row << col_word_bits) | (col >> 2)`` and byte ``col & 3``, so that
four neighbouring lanes share one hash.
"""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache

import numpy as np

_U32 = np.uint32


class Stream(IntEnum):
    """Independent random streams: one per use of random bits."""

    ENCODE = 1          #: SNN input spikes, one byte per (step, input)
    ROUND_HIDDEN = 2    #: stochastic rounding of hidden-layer weight updates
    ROUND_OUTPUT = 3    #: stochastic rounding of output-layer weight updates


def mix32(x: np.ndarray | int) -> np.ndarray:
    """The 32-bit mixing function (shifts, xors and adds only)."""
    x = np.asarray(x, dtype=_U32)
    with np.errstate(over="ignore"):
        x = ~x + (x << _U32(15))
        x = x ^ (x >> _U32(12))
        x = x + (x << _U32(2))
        x = x ^ (x >> _U32(4))
        x = x + (x << _U32(3)) + (x << _U32(11))
        x = x ^ (x >> _U32(16))
    return x


@lru_cache(maxsize=64)
def _stream_base(seed: int, stream: int) -> np.uint32:
    return mix32(mix32(_U32(seed)) ^ _U32(stream))


def stream_key(seed: int, stream: Stream | tuple[Stream, ...], sample: np.ndarray | int,
               step: int) -> np.ndarray:
    """The key of one (sample, step) of a stream; ``sample`` may be an array (a batch), and
    ``stream`` a tuple of streams (one key each, for one sample)."""
    if isinstance(stream, tuple):
        base = np.array([_stream_base(int(seed), int(s)) for s in stream], dtype=_U32)
    else:
        base = _stream_base(int(seed), int(stream))
    key = mix32(base ^ (np.asarray(sample, dtype=np.int64) & 0xFFFFFFFF).astype(_U32))
    return mix32(key ^ _U32(step))


def words(key: np.ndarray, word_index: np.ndarray) -> np.ndarray:
    """Random 32-bit words; ``key`` and ``word_index`` broadcast against each other."""
    return mix32(np.asarray(key, dtype=_U32) ^ np.asarray(word_index, dtype=_U32))


def bytes_of(word: np.ndarray, lane: np.ndarray) -> np.ndarray:
    """Byte ``lane`` (0..3, low byte first) of each word, as int64."""
    shift = (np.asarray(lane, dtype=_U32) & _U32(3)) * _U32(8)
    return ((word >> shift) & _U32(0xFF)).astype(np.int64)


def vector_bytes(key: np.ndarray, n: int) -> np.ndarray:
    """Bytes for elements 0..n-1 of a one-dimensional space; shape ``key.shape + (n,)``."""
    e = np.arange(n, dtype=np.int64)
    w = words(np.asarray(key, dtype=_U32)[..., None], e >> 2)
    return bytes_of(w, e)


def col_word_bits(n_cols: int) -> int:
    """Bits of the word index taken by the column part of a two-dimensional space."""
    return max(0, ((n_cols + 3) >> 2) - 1).bit_length()


def matrix_bytes(key: int | np.ndarray, rows: np.ndarray, cols: np.ndarray, n_cols: int
                 ) -> np.ndarray:
    """Bytes for elements (rows[a], cols[b]) of an (R, n_cols) space, shape
    (len(rows), len(cols))."""
    rows = np.asarray(rows, dtype=np.int64)[:, None]
    cols = np.asarray(cols, dtype=np.int64)[None, :]
    w = words(key, (rows << col_word_bits(n_cols)) | (cols >> 2))
    return bytes_of(w, cols)
