"""Whether a core's memories fit a device, checked before anything is built."""

from __future__ import annotations

from ..golden_model.config import NacaConfig
from .synapses import lane_groups

#: Block memory of the target devices in bytes: (large single-port RAM for the hidden
#: weights, block RAM for everything else). iCE40UP5K: 4 SPRAM of 32 KiB, 30 EBR of 512 B;
#: ECP5-85F: 208 EBR of 18 kbit (2,304 B), no SPRAM.
DEVICES = {"ice40up5k": ("iCE40UP5K", 131_072, 15_360),
           "ecp5-85f": ("ECP5-85F", 0, 208 * 2_304)}


def core_memory_bytes(cfg: NacaConfig, lanes: int) -> dict[str, int]:
    """Bytes of every memory of :class:`NacaCore` (padded lanes included)."""
    f = cfg.formats
    n, h, c = cfg.n_inputs, cfg.n_hidden, cfg.n_classes

    def size(count: int, bits: int) -> int:
        return (count * bits + 7) // 8

    need = {
        "hidden weights": size(n * lane_groups(h, lanes) * lanes, f.weight_hidden.width),
        "output weights": size(h * c, f.weight_output.width),
        "modulation table": size(c * h, f.modulation.width),
        "input codes": size(n, f.input.width) * (2 if cfg.mask_delta is not None else 1),
        "neuron state": size(h, f.membrane_hidden.width + 1) + size(c, f.membrane_output.width + 1),
        "output correlations": size(h * c, (2 * cfg.time_steps).bit_length()),
    }
    return need


def check_fits(cfg: NacaConfig, lanes: int, device: str) -> None:
    """Raise ValueError naming the memory, its size and the device's limit if the core does
    not fit ``device`` (a key of :data:`DEVICES`)."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; known: {', '.join(DEVICES)}")
    name, large, block = DEVICES[device]
    need = core_memory_bytes(cfg, lanes)
    shape = f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}"
    if large:
        weights = need.pop("hidden weights")
        if weights > large:
            raise ValueError(f"{shape}: the hidden weights need {weights:,} B; the {name} has "
                             f"{large:,} B of SPRAM (reduce n_hidden or the weight width)")
    total = sum(need.values())
    if total > block:
        parts = ", ".join(f"{k} {v:,} B" for k, v in need.items())
        raise ValueError(f"{shape} at {lanes} lanes needs {total:,} B of block RAM ({parts}); "
                         f"the {name} has {block:,} B")
