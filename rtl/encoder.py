"""Spike encoder: a sample's pixel codes and a step key in, the active input indices out."""

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import RANDOM_BYTE_BITS, NacaConfig
from .fixed import index_shape, shape_of
from .random import WORD, mix32


def pixel_layout(cfg: NacaConfig) -> StructLayout:
    return StructLayout({"addr": index_shape(cfg.n_inputs), "code": shape_of(cfg.formats.input)})


def event_layout(cfg: NacaConfig) -> StructLayout:
    """One input event: ``spike`` beats carry an active input's index; every step ends with
    one ``last`` beat whose ``spike`` is 0."""
    return StructLayout({"index": index_shape(cfg.n_inputs), "spike": 1, "last": 1})


class SpikeEncoder(wiring.Component):
    """Bernoulli rate encoding, bit-exact with the golden model.

    Input ``i`` spikes at a step when ``byte >> (8 - input.width) < code_i``, where the byte is
    byte ``i & 3`` of ``mix32(key ^ (i >> 2))`` and ``key`` the step's ENCODE key.

    Members
    -------
    pixels: In(stream of {addr, code})
        Writes the sample's input codes into the encoder's memory; always ready.
    key: In(stream of 32-bit key)
        One key per step starts a scan of all N inputs.
    o: Out(stream of :func:`event_layout`)
        The active inputs in ascending order, then a terminating ``last`` beat.

    Throughput one input per cycle while ``o`` is ready (N + 1 cycles per step plus one cycle
    of memory latency); back-pressure on ``o`` stalls the scan without losing events.
    """

    def __init__(self, cfg: NacaConfig):
        self._cfg = cfg
        super().__init__({
            "pixels": In(stream.Signature(pixel_layout(cfg))),
            "key": In(stream.Signature(WORD)),
            "o": Out(stream.Signature(event_layout(cfg))),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        n = cfg.n_inputs
        m = Module()
        m.submodules.codes = codes = memory.Memory(
            shape=shape_of(cfg.formats.input), depth=n, init=[])
        write = codes.write_port()
        read = codes.read_port()
        m.d.comb += [self.pixels.ready.eq(1), write.addr.eq(self.pixels.payload.addr),
                     write.data.eq(self.pixels.payload.code), write.en.eq(self.pixels.valid)]

        key = Signal(WORD)
        busy = Signal()          # scanning a step
        index = Signal(range(n + 1))     # input whose code the read port presents next
        fetched = Signal()       # read.data holds the code of input ``index``
        m.d.comb += self.key.ready.eq(~busy)
        with m.If(self.key.valid & self.key.ready):
            m.d.sync += [key.eq(self.key.payload), busy.eq(1), index.eq(0), fetched.eq(0)]

        word = mix32(key ^ (index >> 2))
        byte = (word >> (index[:2] * 8))[:RANDOM_BYTE_BITS]
        rand = byte >> (RANDOM_BYTE_BITS - cfg.formats.input.width)
        spike = rand < read.data
        at_end = index == n
        advance = Signal()
        m.d.comb += [
            self.o.payload.index.eq(index),
            self.o.payload.spike.eq(~at_end),
            self.o.payload.last.eq(at_end),
            self.o.valid.eq(busy & fetched & (at_end | spike)),
            advance.eq(busy & fetched & (~self.o.valid | self.o.ready)),
            # the read port holds its address while the scan is stalled
            read.addr.eq(index + advance),
        ]
        with m.If(busy & ~fetched):
            m.d.sync += fetched.eq(1)
        with m.If(advance):
            with m.If(at_end):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += index.eq(index + 1)
        return m
