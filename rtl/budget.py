"""Whether a core's memories fit a device, checked before anything is built."""

from __future__ import annotations

from ..golden_model.config import NacaConfig
from .control import layer_lanes
from .synapses import SINGLE_PORT_LANES_PER_WORD, lane_groups

#: Block RAM of the target devices in bytes, and their single-port RAM blocks of 256 kbit.
#: iCE40UP5K: 30 EBR of 512 B, and 4 SPRAMs that hold the hidden weights (the iCEBreaker's
#: core keeps them in single-port memories, see ``NacaCore(single_port_weights=True)``).
#: ECP5-85F: 208 EBR of 18 kbit (2,304 B), no SPRAM.
DEVICES = {"ice40up5k": ("iCE40UP5K", 15_360, 4), "ecp5-85f": ("ECP5-85F", 208 * 2_304, 0)}
SPRAM_BITS = 256 * 1024


def core_memory_bytes(cfg: NacaConfig, lanes: int) -> dict[str, int]:
    """Bytes of every memory of :class:`NacaCore` (padded lanes included)."""
    f = cfg.formats
    n, h, c = cfg.n_inputs, cfg.n_hidden, cfg.n_classes
    output_lanes = layer_lanes(cfg, "output", lanes)

    def size(count: int, bits: int) -> int:
        return (count * bits + 7) // 8

    need = {
        "hidden weights": size(n * lane_groups(h, lanes) * lanes, f.weight_hidden.width),
        "output weights": size(h * lane_groups(c, output_lanes) * output_lanes,
                               f.weight_output.width),
        "modulation table": size(c * h, f.modulation.width),
        "input codes": size(n, f.input.width) * (2 if cfg.mask_delta is not None else 1),
        "neuron state": size(h, f.membrane_hidden.width + 1) + size(c, f.membrane_output.width + 1),
        "hidden post factors": size(lane_groups(h, lanes) * lanes, 2),
        "output correlations": size(h, c * (2 * cfg.time_steps).bit_length() + 1),
    }
    return need


def hidden_spram_blocks(cfg: NacaConfig, lanes: int) -> int:
    """SPRAM blocks of the single-port hidden weights: each memory (lanes side by side in a
    word, see :class:`SynapseArray`) takes whole blocks."""
    width = cfg.formats.weight_hidden.width
    depth = cfg.n_inputs * lane_groups(cfg.n_hidden, lanes)
    per_word = SINGLE_PORT_LANES_PER_WORD
    return sum(-(-depth * width * min(per_word, lanes - first) // SPRAM_BITS)
               for first in range(0, lanes, per_word))


def check_fits(cfg: NacaConfig, lanes: int, device: str) -> None:
    """Raise ValueError naming the memory, its size and the device's limit if the core does
    not fit ``device`` (a key of :data:`DEVICES`). Bytes are a lower bound: each memory also
    rounds up to whole blocks. On a device with SPRAM the hidden weights go there."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; known: {', '.join(DEVICES)}")
    name, block, sprams = DEVICES[device]
    need = core_memory_bytes(cfg, lanes)
    shape = f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}"
    if sprams:
        hidden = need.pop("hidden weights")
        blocks = hidden_spram_blocks(cfg, lanes)
        if blocks > sprams:
            raise ValueError(f"{shape} at {lanes} lanes needs {blocks} SPRAM blocks for its "
                             f"hidden weights ({hidden:,} B; two lanes share a memory of "
                             f"whole blocks); the {name} has {sprams}. Use fewer lanes or a "
                             f"smaller network")
    total = sum(need.values())
    if total > block:
        parts = ", ".join(f"{k} {v:,} B" for k, v in need.items())
        raise ValueError(f"{shape} at {lanes} lanes needs {total:,} B of block RAM ({parts}); "
                         f"the {name} has {block:,} B")
