"""The control port's map, shared by the network top and every host that drives it: targets,
registers, addresses, and the accesses that load or read back a network's state."""

from enum import IntEnum

import numpy as np
from amaranth.hdl import unsigned
from amaranth.lib.data import StructLayout

from ..golden_model.config import NacaConfig
from .fixed import index_shape
from .synapses import lane_groups

DATA = unsigned(32)
STATUS_WIDTH = 48


class Target(IntEnum):
    """What a control-port access addresses."""

    HIDDEN_WEIGHTS = 0      # addr = bank << hidden bank address bits | bank address
    OUTPUT_WEIGHTS = 1      # addr = neuron k << output bank address bits | hidden neuron j
    MODULATION = 2          # addr = label * H + neuron
    REGISTERS = 3           # addr: :class:`Register`


class Register(IntEnum):
    """The register map. Status counters are 48-bit, read as two words (low, then high)."""

    LR_HIDDEN = 0
    LR_OUTPUT = 1
    SEED = 2
    SAMPLE = 3              # the next sample's counter (addresses its random bits)
    CLEAR_STATUS = 4        # write: zero every status counter
    SAMPLES = 8
    CYCLES = 10
    INPUT_EVENTS = 12
    SYNAPTIC_EVENTS = 14
    HIDDEN_UPDATES = 16
    OUTPUT_UPDATES = 18


STATUS = (Register.SAMPLES, Register.CYCLES, Register.INPUT_EVENTS, Register.SYNAPTIC_EVENTS,
          Register.HIDDEN_UPDATES, Register.OUTPUT_UPDATES)


def bank_address_bits(cfg: NacaConfig, layer: str, lanes: int) -> int:
    """Width of the address inside one weight bank of ``layer``."""
    fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
    n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
    return index_shape(fan_in * lane_groups(n, lanes)).width


def control_layout(cfg: NacaConfig, lanes: int) -> StructLayout:
    """A control-port access: ``write`` with ``data``, or a read answered on ``control_data``."""
    hidden = bank_address_bits(cfg, "hidden", lanes) + index_shape(lanes).width
    output_lanes = layer_lanes(cfg, "output", lanes)
    output = bank_address_bits(cfg, "output", output_lanes) + index_shape(output_lanes).width
    table = index_shape(cfg.n_classes * cfg.n_hidden).width
    return StructLayout({"write": 1, "target": 2, "addr": max(hidden, output, table, 5),
                         "data": DATA})


def layer_lanes(cfg: NacaConfig, layer: str, lanes: int) -> int:
    """The lanes of ``layer``: P for the hidden layer, min(P, C) for the output layer."""
    return lanes if layer == "hidden" else min(lanes, cfg.n_classes)


def weight_address(cfg: NacaConfig, lanes: int, layer: str, i: int, j: int) -> int:
    """The control-port address of weight W[i, j] of ``layer`` (i its input, j its neuron)."""
    p = layer_lanes(cfg, layer, lanes)
    groups = lane_groups(cfg.n_hidden if layer == "hidden" else cfg.n_classes, p)
    return ((j % p) << bank_address_bits(cfg, layer, p)) | (i * groups + j // p)


def weight_accesses(cfg: NacaConfig, lanes: int, layer: str, w: np.ndarray | None = None
                    ) -> list[dict]:
    """Accesses covering every weight of ``layer`` in row-major (i, j) order: writes of ``w``'s
    codes, or reads when ``w`` is None."""
    target = Target.HIDDEN_WEIGHTS if layer == "hidden" else Target.OUTPUT_WEIGHTS
    fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
    n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
    return [{"write": int(w is not None), "target": target,
             "addr": weight_address(cfg, lanes, layer, i, j),
             "data": 0 if w is None else int(w[i, j]) & 0xFFFF_FFFF}
            for i in range(fan_in) for j in range(n)]


def table_accesses(cfg: NacaConfig, table: np.ndarray | None = None) -> list[dict]:
    """Writes of the (C, H) modulation table's codes, or reads when ``table`` is None."""
    return [{"write": int(table is not None), "target": Target.MODULATION, "addr": a,
             "data": 0 if table is None else int(table.flat[a]) & 0xFFFF_FFFF}
            for a in range(cfg.n_classes * cfg.n_hidden)]


def register_access(register: int, value: int | None = None) -> dict:
    """A write of ``value`` to ``register`` (a :class:`Register`, or the high word of a status
    counter), or a read when ``value`` is None."""
    return {"write": int(value is not None), "target": Target.REGISTERS, "addr": register,
            "data": 0 if value is None else value & 0xFFFF_FFFF}


def state_writes(cfg: NacaConfig, lanes: int, state) -> list[dict]:
    """The writes that load a :class:`golden_model.network.NetworkState`."""
    return (weight_accesses(cfg, lanes, "hidden", state.w_hidden)
            + weight_accesses(cfg, lanes, "output", state.w_output)
            + table_accesses(cfg, state.modulation))


def signed_word(word: int, width: int) -> int:
    """A read-back word as the signed code of a ``width``-bit field."""
    word &= (1 << width) - 1
    return word - (1 << width) if word >> (width - 1) else word
