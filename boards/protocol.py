"""The host link's frames, as the host builds and checks them (the gateware twin is
:mod:`boards.link`).

A frame is ``SYNC | command | length (2 bytes, little-endian) | payload | CRC (2 bytes, LE)``,
the CRC being CRC-16/CCITT-FALSE (polynomial 0x1021, initial value 0xFFFF) over the command,
the length and the payload. The board answers every frame with one frame: the command with its
top bit set, or ``ERROR`` with a one-byte :class:`Error` code. A bad frame changes no state; the
board then hunts for the next ``SYNC``.
"""

from __future__ import annotations

import struct
from enum import IntEnum

SYNC = 0xA5
REPLY = 0x80
#: Payload bytes a frame may carry (the board's frame buffer: 4 of the UP5K's 30 block RAMs;
#: a sample's frame, N + 1 bytes, must fit).
MAX_PAYLOAD = 2048
ACCESS_BYTES = 9          # target (1), address (4), data (4)
READ_BYTES = 5            # target (1), address (4)


class Command(IntEnum):
    WRITE = 0x01          # payload: access records; reply: empty
    READ = 0x02           # payload: read records; reply: 4 bytes per record
    TRAIN = 0x03          # payload: label (1), N pixel codes; reply: the result
    INFER = 0x04          # as TRAIN, without learning
    STATUS = 0x05         # empty; reply: the status counters, 6 bytes each
    RESET = 0x06          # empty: clear the status counters; reply: empty
    ERROR = 0x7F          # board to host only


class Error(IntEnum):
    BAD_CRC = 1
    UNKNOWN_COMMAND = 2
    BAD_LENGTH = 3        # oversized, or not what the command needs
    TRUNCATED = 4         # the frame stopped arriving (inter-byte timeout)
    STRAY_BYTES = 5       # bytes outside a frame


class LinkError(RuntimeError):
    """The board refused a frame, or its reply was malformed."""


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frame(command: int, payload: bytes = b"") -> bytes:
    """One frame, ready for the wire."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"a frame carries at most {MAX_PAYLOAD} payload bytes, "
                         f"not {len(payload)}; split the transfer")
    body = struct.pack("<BH", command, len(payload)) + payload
    return bytes([SYNC]) + body + struct.pack("<H", crc16(body))


def parse(data: bytes) -> tuple[int, bytes, bytes]:
    """The first frame in ``data``: (command, payload, the bytes after it). Raises LinkError
    on a malformed frame and ValueError when ``data`` holds no whole frame yet."""
    if not data or data[0] != SYNC:
        raise LinkError(f"a reply must start with 0x{SYNC:02X}, not {data[:1].hex() or 'nothing'}")
    if len(data) < 6:
        raise ValueError("incomplete frame")
    command, length = struct.unpack_from("<BH", data, 1)
    if length > MAX_PAYLOAD:
        raise LinkError(f"reply length {length} exceeds {MAX_PAYLOAD}")
    end = 4 + length + 2
    if len(data) < end:
        raise ValueError("incomplete frame")
    body, (crc,) = data[1:4 + length], struct.unpack_from("<H", data, 4 + length)
    if crc16(body) != crc:
        raise LinkError(f"reply CRC 0x{crc:04X} does not match its contents (0x{crc16(body):04X})")
    return command, bytes(data[4:4 + length]), bytes(data[end:])


def access_records(accesses: list[dict]) -> bytes:
    """WRITE payload from control-port accesses (:mod:`rtl.control`)."""
    return b"".join(struct.pack("<BII", a["target"], a["addr"], a["data"] & 0xFFFF_FFFF)
                    for a in accesses)


def read_records(accesses: list[dict]) -> bytes:
    return b"".join(struct.pack("<BI", a["target"], a["addr"]) for a in accesses)
