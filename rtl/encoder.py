"""Spike encoder: a sample's pixel codes and a step key in, the active input indices out."""

from amaranth.hdl import Module, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import RANDOM_BYTE_BITS, NacaConfig
from .fixed import index_shape, shape_of
from .random import WORD, mix32
from .scan import ReadScan


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
        m.submodules.scan = scan = ReadScan(count=n + 1, addr_shape=index_shape(n + 1))
        m.d.comb += [scan.start.valid.eq(self.key.valid), scan.start.payload.eq(0),
                     self.key.ready.eq(scan.start.ready), read.addr.eq(scan.addr)]
        with m.If(self.key.valid & self.key.ready):
            m.d.sync += key.eq(self.key.payload)

        index = scan.index          # position n is the step's terminator
        word = mix32(m, key ^ (index >> 2))
        byte = (word >> (index[:2] * 8))[:RANDOM_BYTE_BITS]
        rand = byte >> (RANDOM_BYTE_BITS - cfg.formats.input.width)
        spike = rand < read.data
        m.d.comb += [
            self.o.payload.index.eq(index),
            self.o.payload.spike.eq(~scan.last),
            self.o.payload.last.eq(scan.last),
            self.o.valid.eq(scan.present & (scan.last | spike)),
            scan.advance.eq(~self.o.valid | self.o.ready),
        ]
        return m
