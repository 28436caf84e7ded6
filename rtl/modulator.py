"""The broadcast modulator unit: a label in, one update word per hidden neuron out."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import index_shape, requantize, shape_of
from .pipeline import shift
from .scan import PositionIssuer, serve_reads


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
        One request per sample; ready again once the last word has been issued.
    o: Out(stream of {neuron, value, last})

    A pipeline of four stages (the table read, the entry, the product lr x G, the rounded
    word): one neuron per cycle, H + 4 cycles per label; back-pressure on ``o`` stalls the whole
    pipeline. One multiplier.
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

        advance = Signal()                  # every stage moves on
        m.submodules.issue = issue = PositionIssuer(count=h, addr_shape=write.addr.shape())
        m.d.comb += [issue.start.valid.eq(self.i.valid), issue.start.payload.eq(self.i.payload * h),
                     self.i.ready.eq(issue.start.ready), issue.advance.eq(advance)]
        stage = [Signal(StructLayout({"valid": 1, "neuron": index_shape(h), "last": 1}),
                        name=f"stage{k}") for k in range(5)]
        entry = Signal.like(read.data)
        product = Signal(signed(len(self.lr) + len(read.data)))
        m.d.comb += [stage[0].valid.eq(issue.valid), stage[0].neuron.eq(issue.position),
                     stage[0].last.eq(issue.last)]
        with m.If(advance):
            shift(m, stage)
            m.d.sync += [entry.eq(read.data), product.eq(-(self.lr * entry)),
                         self.o.payload.value.eq(requantize(
                             m, product, f.learning_rate.frac + f.modulation.frac,
                             f.update_hidden))]
        m.d.comb += [advance.eq(~self.o.valid | self.o.ready),
                     self.o.valid.eq(stage[4].valid), self.o.payload.neuron.eq(stage[4].neuron),
                     self.o.payload.last.eq(stage[4].last)]
        idle = issue.start.ready & (Cat(s.valid for s in stage[1:]) == 0)
        reading_back = serve_reads(m, self.table_read, self.table_data, read.data,
                                   allowed=idle & ~self.i.valid)
        m.d.comb += [read.en.eq(advance | reading_back),
                     read.addr.eq(Mux(reading_back, self.table_read.payload, issue.addr))]
        return m
