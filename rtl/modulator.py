"""The broadcast modulator unit: a label in, one update word per hidden neuron out."""

from amaranth.hdl import Module, Mux
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import index_shape, requantize, shape_of
from .scan import ReadScan, serve_reads


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

    ``init`` is the (C, H) table of codes held after configuration (default zeros).

    Members
    -------
    lr: In(learning_rate shape)
    table_write: In(stream of {addr, data}); always ready.
    table_read: In(stream of addr); table_data: Out(stream of modulation code)
        Run-time read-back, served between labels; the entry follows one cycle later and is
        held until taken.
    i: In(stream of label)
        One request per sample; ready again once the last word has been taken.
    o: Out(stream of {neuron, value, last})

    Throughput one neuron per cycle (H + 1 cycles per label, one of memory latency);
    back-pressure on ``o`` stalls the scan. One multiplier (lr x G).
    """

    def __init__(self, cfg: NacaConfig, *, init=None):
        self._cfg = cfg
        self._init = [] if init is None else [int(v) for v in init.ravel()]
        if init is not None and init.shape != (cfg.n_classes, cfg.n_hidden):
            raise ValueError(f"the modulation table has shape {init.shape}; the network needs "
                             f"{(cfg.n_classes, cfg.n_hidden)} (classes, hidden neurons)")
        super().__init__({
            "lr": In(shape_of(cfg.formats.learning_rate)),
            "table_write": In(stream.Signature(table_write_layout(cfg))),
            "table_read": In(stream.Signature(table_write_layout(cfg).members["addr"])),
            "table_data": Out(stream.Signature(shape_of(cfg.formats.modulation))),
            "i": In(stream.Signature(index_shape(cfg.n_classes))),
            "o": Out(stream.Signature(modulation_layout(cfg))),
        })

    def elaborate(self, platform):
        cfg, f = self._cfg, self._cfg.formats
        h = cfg.n_hidden
        m = Module()
        m.submodules.table = table = memory.Memory(
            shape=shape_of(f.modulation), depth=cfg.n_classes * h, init=self._init)
        write, read = table.write_port(), table.read_port()
        m.d.comb += [self.table_write.ready.eq(1), write.en.eq(self.table_write.valid),
                     write.addr.eq(self.table_write.payload.addr),
                     write.data.eq(self.table_write.payload.data)]

        m.submodules.scan = scan = ReadScan(count=h, addr_shape=write.addr.shape())
        m.d.comb += [scan.start.valid.eq(self.i.valid), scan.start.payload.eq(self.i.payload * h),
                     self.i.ready.eq(scan.start.ready),
                     self.o.valid.eq(scan.present),
                     self.o.payload.neuron.eq(scan.index),
                     self.o.payload.last.eq(scan.last),
                     self.o.payload.value.eq(requantize(m, -(self.lr * read.data),
                                                        f.learning_rate.frac + f.modulation.frac,
                                                        f.update_hidden)),
                     scan.advance.eq(self.o.ready)]
        reading_back = serve_reads(m, self.table_read, self.table_data, read.data,
                                   allowed=scan.start.ready & ~self.i.valid)
        m.d.comb += read.addr.eq(Mux(reading_back, self.table_read.payload, scan.addr))
        return m
