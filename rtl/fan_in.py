"""Event-driven synaptic accumulation over P parallel lanes."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import index_shape, shape_of
from .scan import ReadScan


def lane_groups(n_neurons: int, lanes: int, *, field: str = "lanes") -> int:
    """G = neurons per lane; ``lanes`` must divide the layer."""
    if not isinstance(lanes, int) or lanes < 1:
        raise ValueError(f"{field} must be a positive integer, not {lanes!r}")
    if n_neurons % lanes:
        raise ValueError(f"{field} = {lanes} does not divide the layer's {n_neurons} neurons; "
                         f"choose a divisor of {n_neurons}")
    return n_neurons // lanes


def bank_address(i: int, j: int, lanes: int, groups: int) -> tuple[int, int]:
    """Where weight W[i, j] lives: (bank j mod P, address i*G + j div P)."""
    return j % lanes, i * groups + j // lanes


def current_shape(cfg: NacaConfig, layer: str):
    """The accumulator: a sum of up to fan_in weights of the layer."""
    fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
    return signed(getattr(cfg.formats, f"weight_{layer}").width + fan_in.bit_length())


class FanInAccumulator(wiring.Component):
    """Sums, for every neuron, the weights of the inputs that spiked at one step.

    Lane p holds neurons j = g*P + p (g = 0 .. G-1) in its own weight bank, so each active input
    costs G cycles whatever P is: the layer's forward work divided by the lane count.

    Members
    -------
    weight_write: In(stream of {bank, addr, data})
        Loads weights (see :func:`bank_address`); accepted when no step is in progress.
    events: In(stream of {index, spike, last})
        One step: a beat per active input, then a ``last`` beat.
    o: Out(stream of {group, currents[P], last})
        After the step's ``last`` beat: G beats with the currents of neurons g*P .. g*P+P-1;
        the accumulators are cleared as they are read.

    Throughput: an active input every G cycles (back to back); one cycle of pipeline drain
    and one of memory latency before the G output beats. Back-pressure on ``o`` stalls the
    read-out; ``events`` is not accepted during the read-out.
    """

    def __init__(self, cfg: NacaConfig, layer: str, *, lanes: int):
        self._cfg, self._layer, self._lanes = cfg, layer, lanes
        fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
        n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
        self._fan_in, self._groups = fan_in, lane_groups(n, lanes)
        self._weight = shape_of(getattr(cfg.formats, f"weight_{layer}"))
        self._acc = current_shape(cfg, layer)
        super().__init__({
            "weight_write": In(stream.Signature(StructLayout({
                "bank": index_shape(lanes), "addr": index_shape(fan_in * self._groups),
                "data": self._weight}))),
            "events": In(stream.Signature(StructLayout({
                "index": index_shape(fan_in), "spike": 1, "last": 1}))),
            "o": Out(stream.Signature(StructLayout({
                "group": index_shape(self._groups),
                "currents": ArrayLayout(self._acc, lanes), "last": 1}))),
        })

    def elaborate(self, platform):
        p_lanes, g_count = self._lanes, self._groups
        m = Module()
        w_reads, acc_reads, acc_writes = [], [], []
        for p in range(p_lanes):
            bank = memory.Memory(shape=self._weight, depth=self._fan_in * g_count, init=[])
            acc = memory.Memory(shape=self._acc, depth=g_count, init=[])
            m.submodules[f"weights{p}"], m.submodules[f"acc{p}"] = bank, acc
            w_write = bank.write_port()
            m.d.comb += [w_write.addr.eq(self.weight_write.payload.addr),
                         w_write.data.eq(self.weight_write.payload.data),
                         w_write.en.eq(self.weight_write.valid & self.weight_write.ready
                                       & (self.weight_write.payload.bank == p))]
            w_reads.append(bank.read_port())
            acc_writes.append(acc.write_port())
            acc_reads.append(acc.read_port(transparent_for=(acc_writes[-1],)))

        m.submodules.readout = scan = ReadScan(count=g_count, addr_shape=index_shape(g_count))
        sweeping = Signal()                       # accumulating one input over the G groups
        group = Signal(range(g_count))
        base = Signal(range(self._fan_in * g_count))
        pending = Signal()                        # the write stage holds an addition
        pending_group = Signal.like(group)
        draining = Signal()                       # the step's last beat was taken
        reading = Signal()                        # read-out in progress

        sweep_done = ~sweeping | (group == g_count - 1)
        take = self.events.valid & self.events.ready
        m.d.comb += [
            self.events.ready.eq(~draining & ~reading & sweep_done),
            self.weight_write.ready.eq(~sweeping & ~pending & ~draining & ~reading),
        ]
        with m.If(take & self.events.payload.spike):
            m.d.sync += [sweeping.eq(1), group.eq(0),
                         base.eq(self.events.payload.index * g_count)]
        with m.Elif(sweeping):
            with m.If(group == g_count - 1):
                m.d.sync += sweeping.eq(0)
            with m.Else():
                m.d.sync += group.eq(group + 1)
        with m.If(take & self.events.payload.last):
            m.d.sync += draining.eq(1)

        # Stage 1 (this cycle): read W[base + group] and acc[group]; stage 2: write the sum.
        m.d.sync += [pending.eq(sweeping), pending_group.eq(group)]
        # Read-out: after the drain, walk the accumulators, clearing each as it leaves.
        m.d.comb += scan.start.valid.eq(draining & ~pending & ~sweeping)
        with m.If(scan.start.valid & scan.start.ready):
            m.d.sync += [draining.eq(0), reading.eq(1)]
        leaving = scan.present & self.o.ready
        with m.If(leaving & scan.last):
            m.d.sync += reading.eq(0)
        m.d.comb += [self.o.valid.eq(scan.present), self.o.payload.group.eq(scan.index),
                     self.o.payload.last.eq(scan.last), scan.advance.eq(self.o.ready)]
        for p in range(p_lanes):
            m.d.comb += [
                w_reads[p].addr.eq(base + group),
                acc_reads[p].addr.eq(Mux(reading, scan.addr, group)),
                self.o.payload.currents[p].eq(acc_reads[p].data),
                acc_writes[p].addr.eq(Mux(reading, scan.index, pending_group)),
                acc_writes[p].data.eq(Mux(reading, 0, acc_reads[p].data + w_reads[p].data)),
                acc_writes[p].en.eq(Mux(reading, leaving, pending)),
            ]
        return m


def weight_write_beats(w, lanes: int) -> list[dict]:
    """The ``weight_write`` beats that load a (fan_in, neurons) weight matrix of codes."""
    fan_in, n = w.shape
    groups = lane_groups(n, lanes)
    beats = []
    for i in range(fan_in):
        for j in range(n):
            bank, addr = bank_address(i, j, lanes, groups)
            beats.append({"bank": bank, "addr": addr, "data": int(w[i, j])})
    return beats
