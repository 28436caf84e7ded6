"""The broadcast modulator unit: a label in, one update word per hidden neuron out."""

from amaranth.hdl import Module
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import index_shape, requantize, shape_of
from .scan import ReadScan


def table_write_layout(cfg: NacaConfig) -> StructLayout:
    """A write of modulation-table entry ``addr = label * H + neuron``."""
    return StructLayout({"addr": index_shape(cfg.n_classes * cfg.n_hidden),
                         "data": shape_of(cfg.formats.modulation)})


def modulation_layout(cfg: NacaConfig) -> StructLayout:
    return StructLayout({"neuron": index_shape(cfg.n_hidden),
                         "value": shape_of(cfg.formats.update_hidden), "last": 1})


class ModulatorUnit(wiring.Component):
    """Per-(class, neuron) modulation, scaled by the hidden learning rate.

    For a label c it streams, for j = 0 .. H-1, ``q(-lr * G[c, j])`` in the update_hidden format
    (the golden model's broadcast word); a hidden core multiplies it by its neuron's h and mask.
    The table G and the rate are run-time state: ``table_write`` loads G, ``lr`` is a register
    input (the host shifts it for the schedule).

    Members
    -------
    lr: In(learning_rate shape)
    table_write: In(stream of {addr, data}); always ready.
    i: In(stream of label)
        One request per sample; ready again once the last word has been taken.
    o: Out(stream of {neuron, value, last})

    Throughput one neuron per cycle (H + 1 cycles per label, one of memory latency);
    back-pressure on ``o`` stalls the scan. One multiplier (lr x G).
    """

    def __init__(self, cfg: NacaConfig):
        self._cfg = cfg
        super().__init__({
            "lr": In(shape_of(cfg.formats.learning_rate)),
            "table_write": In(stream.Signature(table_write_layout(cfg))),
            "i": In(stream.Signature(index_shape(cfg.n_classes))),
            "o": Out(stream.Signature(modulation_layout(cfg))),
        })

    def elaborate(self, platform):
        cfg, f = self._cfg, self._cfg.formats
        h = cfg.n_hidden
        m = Module()
        m.submodules.table = table = memory.Memory(
            shape=shape_of(f.modulation), depth=cfg.n_classes * h, init=[])
        write, read = table.write_port(), table.read_port()
        m.d.comb += [self.table_write.ready.eq(1), write.en.eq(self.table_write.valid),
                     write.addr.eq(self.table_write.payload.addr),
                     write.data.eq(self.table_write.payload.data)]

        m.submodules.scan = scan = ReadScan(count=h, addr_shape=write.addr.shape())
        m.d.comb += [scan.start.valid.eq(self.i.valid), scan.start.payload.eq(self.i.payload * h),
                     self.i.ready.eq(scan.start.ready), read.addr.eq(scan.addr),
                     self.o.valid.eq(scan.present),
                     self.o.payload.neuron.eq(scan.index),
                     self.o.payload.last.eq(scan.last),
                     self.o.payload.value.eq(requantize(-(self.lr * read.data),
                                                        f.learning_rate.frac + f.modulation.frac,
                                                        f.update_hidden)),
                     scan.advance.eq(self.o.ready)]
        return m
