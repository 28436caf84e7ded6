"""The host driver: talks to a board's host link over any byte port with pyserial's
``write(bytes)`` / ``read(n)`` (a ``serial.Serial``, or a simulated UART)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..golden_model.config import NacaConfig
from ..rtl.control import (
    STATUS,
    Register,
    register_access,
    signed_word,
    state_writes,
    table_accesses,
    weight_accesses,
)
from .protocol import (
    ACCESS_BYTES,
    MAX_PAYLOAD,
    READ_BYTES,
    REPLY,
    Command,
    Error,
    LinkError,
    access_records,
    frame,
    parse,
    read_records,
)


@dataclass
class Result:
    sample: int
    prediction: int
    counts: list[int]


class Board:
    """One NACA board: ``cfg`` and ``lanes`` as built (the export's config.json and
    hardware.json)."""

    def __init__(self, port, cfg: NacaConfig, lanes: int):
        self.port, self.cfg, self.lanes = port, cfg, lanes

    # -- frames ------------------------------------------------------------------------------
    def exchange(self, command: Command, payload: bytes = b"") -> bytes:
        """Send one frame and return the reply's payload; raises LinkError on an error reply."""
        self.port.write(frame(command, payload))
        data = self._read(4)
        length = struct.unpack_from("<H", data, 2)[0]
        data += self._read(length + 2)
        reply, body, _ = parse(data)
        if reply == Command.ERROR:
            reason = Error(body[0]).name if body and body[0] in Error._value2member_map_ else body
            raise LinkError(f"the board refused {command.name}: {reason}")
        if reply != command | REPLY:
            raise LinkError(f"expected a reply to {command.name}, got command 0x{reply:02X}")
        return body

    def _read(self, count: int) -> bytes:
        data = self.port.read(count)
        if len(data) != count:
            raise LinkError(f"the board sent {len(data)} of {count} bytes before the timeout; "
                            "check the port, the baud rate and that the bitstream is loaded")
        return data

    # -- control-port accesses ----------------------------------------------------------------
    def write(self, accesses: list[dict]) -> None:
        per_frame = MAX_PAYLOAD // ACCESS_BYTES
        for start in range(0, len(accesses), per_frame):
            self.exchange(Command.WRITE, access_records(accesses[start:start + per_frame]))

    def read(self, accesses: list[dict]) -> list[int]:
        per_frame = MAX_PAYLOAD // READ_BYTES
        words = []
        for start in range(0, len(accesses), per_frame):
            chunk = accesses[start:start + per_frame]
            payload = self.exchange(Command.READ, read_records(chunk))
            words += list(struct.unpack(f"<{len(chunk)}I", payload))
        return words

    def load(self, state) -> None:
        """Weights and modulation table (a :class:`NetworkState` of the board's shape)."""
        for name, shape in (("w_hidden", (self.cfg.n_inputs, self.cfg.n_hidden)),
                            ("w_output", (self.cfg.n_hidden, self.cfg.n_classes)),
                            ("modulation", (self.cfg.n_classes, self.cfg.n_hidden))):
            if getattr(state, name).shape != shape:
                raise ValueError(f"{name} has shape {getattr(state, name).shape}; the board "
                                 f"holds {shape}")
        self.write(state_writes(self.cfg, self.lanes, state))

    def weights(self, layer: str) -> np.ndarray:
        width = getattr(self.cfg.formats, f"weight_{layer}").width
        words = self.read(weight_accesses(self.cfg, self.lanes, layer))
        n = self.cfg.n_hidden if layer == "hidden" else self.cfg.n_classes
        return np.array([signed_word(w, width) for w in words]).reshape(-1, n)

    def table(self) -> np.ndarray:
        width = self.cfg.formats.modulation.width
        words = self.read(table_accesses(self.cfg))
        return np.array([signed_word(w, width) for w in words]).reshape(self.cfg.n_classes, -1)

    def set_register(self, register: Register, value: int) -> None:
        self.write([register_access(register, value)])

    def register(self, register: int) -> int:
        return self.read([register_access(register)])[0]

    # -- samples ------------------------------------------------------------------------------
    def run(self, codes: np.ndarray, label: int, train: bool) -> Result:
        codes = np.asarray(codes)
        if codes.shape != (self.cfg.n_inputs,):
            raise ValueError(f"a sample has {self.cfg.n_inputs} pixel codes, not {codes.shape}")
        if not 0 <= label < self.cfg.n_classes:
            raise ValueError(f"label {label} is outside 0..{self.cfg.n_classes - 1}")
        payload = self.exchange(Command.TRAIN if train else Command.INFER,
                                bytes([label]) + codes.astype(np.uint8).tobytes())
        sample, prediction = struct.unpack_from("<IB", payload)
        return Result(sample, prediction, list(payload[5:]))

    def status(self) -> dict[str, int]:
        payload = self.exchange(Command.STATUS)
        return {reg.name.lower(): int.from_bytes(payload[6 * k:6 * k + 6], "little")
                for k, reg in enumerate(STATUS)}

    def reset_status(self) -> None:
        self.exchange(Command.RESET)
