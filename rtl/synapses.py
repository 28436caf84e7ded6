"""Event-driven synaptic accumulation over P parallel lanes."""

from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import RANDOM_BYTE_BITS, NacaConfig
from ..golden_model.rng import col_word_bits
from .fixed import index_shape, requantize, shape_of
from .random import mix32
from .scan import ReadScan, serve_reads


def lane_groups(n_neurons: int, lanes: int, *, field: str = "lanes") -> int:
    """G = ceil(n / P), the neurons per lane. When P does not divide the layer, the last
    group is padded: its neurons j >= n hold zero weights, never fire and never learn."""
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1:
        raise ValueError(f"{field} must be a positive integer, not {lanes!r}")
    if lanes > n_neurons:
        raise ValueError(f"{field} = {lanes} exceeds the layer's {n_neurons} neurons: "
                         f"{lanes - n_neurons} lanes would never work; use at most {n_neurons}")
    return -(-n_neurons // lanes)


def bank_address(i: int, j: int, lanes: int, groups: int) -> tuple[int, int]:
    """Where weight W[i, j] lives: (bank j mod P, address i*G + j div P)."""
    return j % lanes, i * groups + j // lanes


def update_word_shape(cfg: NacaConfig, layer: str):
    """A neuron's update word: the update format and one bit more, for the sign-flipped
    broadcast word (-min_code)."""
    return signed(getattr(cfg.formats, f"update_{layer}").width + 1)


def current_shape(cfg: NacaConfig, layer: str):
    """The accumulator: a sum of up to fan_in weights of the layer."""
    fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
    return signed(getattr(cfg.formats, f"weight_{layer}").width + fan_in.bit_length())


class SynapseArray(wiring.Component):
    """A layer's weights over P lanes: forward accumulation, learning write-back, load and
    read-back. Lane p holds neurons j = g*P + p (g = 0 .. G-1) in its own weight bank.

    Forward: for every active input the G groups are summed into per-lane accumulators, so
    each input event costs G cycles whatever P is (the forward work divided by the lanes).
    Learning: for every row i of the learning stream, each lane rewrites its G weights with
    ``W <- sat(W + SR(v_j * f))``, v_j the neuron's update word, f the beat's factor (1 without
    ``factor_shape``) and SR the golden model's stochastic rounding with the byte of synapse
    (i, j) under ``round_key``.

    Parameters
    ----------
    cfg, layer:
        The config and ``"hidden"`` (rows are inputs) or ``"output"`` (rows are hidden neurons).
    lanes:
        P, see :func:`lane_groups`.
    factor_shape:
        When given, every learning beat carries one factor per lane (the output rule's
        spike-h correlation of synapse (i, j)); this needs G = 1 (P >= the layer's neurons).
    init:
        The (fan_in, neurons) weight codes the banks hold after configuration (default zeros).

    Members
    -------
    banks: the weight memories, one per lane (not ports; for inspection in simulation).
    weight_write: In(stream of {bank, addr, data}); weight_read: In(stream of {bank, addr});
    weight_data: Out(stream of weight)
        Run-time load and read-back (see :func:`bank_address`); served only while idle, a
        read-back answers one cycle later and is held until taken.
    events: In(stream of {index, spike, last})
        One step: a beat per active input, then a ``last`` beat.
    o: Out(stream of {group, currents[P], last})
        After the step's ``last`` beat: G beats with the currents of neurons g*P .. g*P+P-1;
        the accumulators are cleared as they are read.
    updates: In(stream of {group, values[P]})
        The sample's update words v_j (update format), loaded before learning.
    round_key: In(32)
        The sample's ROUND_HIDDEN (or ROUND_OUTPUT) key.
    learn: In(stream of {index, spike, last[, factors[P]]})
        The learning rows (``spike`` set), then a ``last`` beat; G cycles per row.
    updates_written: Out(range(P + 1))
        How many synapses received a non-zero update term this cycle (a status count).

    Throughput: one group per cycle per lane in both sweeps (a two-stage read-modify-write),
    back to back between rows; one cycle of drain and one of memory latency before the G
    output beats. Back-pressure on ``o`` stalls the read-out; ``events`` and ``learn`` are not
    accepted during the read-out or during a sweep of the other kind.
    """

    def __init__(self, cfg: NacaConfig, layer: str, *, lanes: int, factor_shape=None,
                 init=None):
        self._cfg, self._layer, self._lanes = cfg, layer, lanes
        fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
        n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
        self._fan_in, self._n, self._groups = fan_in, n, lane_groups(n, lanes)
        self._factor_shape = factor_shape
        if factor_shape is not None and self._groups != 1:
            raise ValueError(f"per-synapse factors need one group: lanes = {lanes} must be at "
                             f"least the layer's {n} neurons")
        self._weight_fmt = getattr(cfg.formats, f"weight_{layer}")
        self._update_fmt = getattr(cfg.formats, f"update_{layer}")
        self._weight = shape_of(self._weight_fmt)
        self._acc = current_shape(cfg, layer)
        #: The P weight banks (see :func:`bank_address`); simulations may inspect their data.
        self.banks = tuple(memory.Memory(shape=self._weight, depth=fan_in * self._groups,
                                         init=contents)
                           for contents in bank_contents(init, lanes, (fan_in, n)))
        event = StructLayout({"index": index_shape(fan_in), "spike": 1, "last": 1})
        learn = event if factor_shape is None else StructLayout({
            "index": index_shape(fan_in), "spike": 1, "last": 1,
            "factors": ArrayLayout(factor_shape, lanes)})
        bank_addr = StructLayout({"bank": index_shape(lanes),
                                  "addr": index_shape(fan_in * self._groups)})
        super().__init__({
            "weight_write": In(stream.Signature(StructLayout({
                "bank": index_shape(lanes), "addr": index_shape(fan_in * self._groups),
                "data": self._weight}))),
            "weight_read": In(stream.Signature(bank_addr)),
            "weight_data": Out(stream.Signature(self._weight)),
            "events": In(stream.Signature(event)),
            "updates": In(stream.Signature(StructLayout({
                "group": index_shape(self._groups),
                "values": ArrayLayout(update_word_shape(cfg, layer), lanes)}))),
            "round_key": In(unsigned(32)),
            "learn": In(stream.Signature(learn)),
            "updates_written": Out(range(lanes + 1)),
            "o": Out(stream.Signature(StructLayout({
                "group": index_shape(self._groups),
                "currents": ArrayLayout(self._acc, lanes), "last": 1}))),
        })

    def elaborate(self, platform):
        p_lanes, g_count = self._lanes, self._groups
        m = Module()
        w_reads, w_writes, acc_reads, acc_writes, upd_reads = [], [], [], [], []
        for p, bank in enumerate(self.banks):
            acc = memory.Memory(shape=self._acc, depth=g_count, init=[])
            m.submodules[f"weights{p}"], m.submodules[f"acc{p}"] = bank, acc
            upd = memory.Memory(shape=update_word_shape(self._cfg, self._layer), depth=g_count,
                                init=[])
            m.submodules[f"updates{p}"] = upd
            upd_write = upd.write_port()
            m.d.comb += [upd_write.addr.eq(self.updates.payload.group),
                         upd_write.data.eq(self.updates.payload.values[p]),
                         upd_write.en.eq(self.updates.valid & self.updates.ready)]
            upd_reads.append(upd.read_port())
            w_writes.append(bank.write_port())
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

        learning = Signal()                       # the sweep applies updates, not currents
        row = Signal(range(self._fan_in))
        pending_learn = Signal()
        pending_row = Signal.like(row)
        pending_addr = Signal.like(base)
        factors = pending_factors = None
        if self._factor_shape is not None:
            factors = Signal.like(self.learn.payload.factors)
            pending_factors = Signal.like(factors)
            m.d.sync += pending_factors.eq(factors)
        read_bank = Signal.like(self.weight_read.payload.bank)

        sweep_done = ~sweeping | (group == g_count - 1)
        idle = ~sweeping & ~pending & ~pending_learn & ~draining & ~reading
        take = self.events.valid & self.events.ready
        take_learn = self.learn.valid & self.learn.ready
        m.d.comb += [
            self.events.ready.eq(~draining & ~reading & sweep_done & ~(sweeping & learning)),
            self.learn.ready.eq(~draining & ~reading & sweep_done & ~(sweeping & ~learning)),
            self.weight_write.ready.eq(idle),
            self.updates.ready.eq(~sweeping & ~pending & ~pending_learn),
        ]
        with m.If(take & self.events.payload.spike):
            m.d.sync += [sweeping.eq(1), group.eq(0), learning.eq(0),
                         base.eq(self.events.payload.index * g_count)]
        with m.Elif(take_learn & self.learn.payload.spike):
            m.d.sync += [sweeping.eq(1), group.eq(0), learning.eq(1),
                         row.eq(self.learn.payload.index),
                         base.eq(self.learn.payload.index * g_count)]
            if factors is not None:
                m.d.sync += factors.eq(self.learn.payload.factors)
        with m.Elif(sweeping):
            with m.If(group == g_count - 1):
                m.d.sync += sweeping.eq(0)
            with m.Else():
                m.d.sync += group.eq(group + 1)
        with m.If(take & self.events.payload.last):
            m.d.sync += draining.eq(1)

        # Stage 1 (this cycle): read W[base + group] and acc[group]; stage 2: write the sum.
        m.d.sync += [pending.eq(sweeping & ~learning), pending_learn.eq(sweeping & learning),
                     pending_group.eq(group), pending_row.eq(row),
                     pending_addr.eq(base + group)]
        # Weight read-back: one cycle of memory latency, then held until taken.
        reading_back = serve_reads(m, self.weight_read, self.weight_data,
                                   Array(r.data for r in w_reads)[read_bank], allowed=idle)
        with m.If(reading_back):
            m.d.sync += read_bank.eq(self.weight_read.payload.bank)
        # Read-out: after the drain, walk the accumulators, clearing each as it leaves.
        m.d.comb += scan.start.valid.eq(draining & ~pending & ~sweeping)
        with m.If(scan.start.valid & scan.start.ready):
            m.d.sync += [draining.eq(0), reading.eq(1)]
        leaving = scan.present & self.o.ready
        with m.If(leaving & scan.last):
            m.d.sync += reading.eq(0)
        m.d.comb += [self.o.valid.eq(scan.present), self.o.payload.group.eq(scan.index),
                     self.o.payload.last.eq(scan.last), scan.advance.eq(self.o.ready)]
        w_fmt, u_fmt = self._weight_fmt, self._update_fmt
        drop = u_fmt.frac - w_fmt.frac
        keep = min(drop, self._cfg.sr_bits)
        col_bits = col_word_bits(self._n)
        nonzero = []
        for p in range(p_lanes):
            # Stage 2 of a learning sweep: W <- sat(W + SR(v_j f)), the byte of synapse (i, j).
            j = pending_group * p_lanes + p
            word = mix32(m, self.round_key ^ ((pending_row << col_bits) | (j >> 2)))
            rand = (word >> ((j & 3) * 8))[:RANDOM_BYTE_BITS]
            term = Signal(signed(len(upd_reads[p].data) + (
                0 if pending_factors is None else len(pending_factors[p]))), name=f"term{p}")
            m.d.comb += term.eq(upd_reads[p].data if pending_factors is None
                                else upd_reads[p].data * pending_factors[p])
            nonzero.append(pending_learn & (term != 0))
            v = term >> (drop - keep)
            step = (v + (rand >> (RANDOM_BYTE_BITS - keep))) >> keep if keep else v
            learned = requantize(m, w_reads[p].data + step, w_fmt.frac, w_fmt)
            loading = self.weight_write.payload
            m.d.comb += [
                w_writes[p].addr.eq(Mux(pending_learn, pending_addr, loading.addr)),
                w_writes[p].data.eq(Mux(pending_learn, learned, loading.data)),
                w_writes[p].en.eq(pending_learn | (self.weight_write.valid
                                                   & self.weight_write.ready
                                                   & (loading.bank == p))),
                upd_reads[p].addr.eq(group),
                w_reads[p].addr.eq(Mux(reading_back,
                                       self.weight_read.payload.addr, base + group)),
                acc_reads[p].addr.eq(Mux(reading, scan.addr, group)),
                self.o.payload.currents[p].eq(acc_reads[p].data),
                acc_writes[p].addr.eq(Mux(reading, scan.index, pending_group)),
                acc_writes[p].data.eq(Mux(reading, 0, acc_reads[p].data + w_reads[p].data)),
                acc_writes[p].en.eq(Mux(reading, leaving, pending)),
            ]
        m.d.comb += self.updates_written.eq(sum(nonzero))
        return m


def bank_contents(w, lanes: int, shape: tuple[int, int]) -> list[list[int]]:
    """The P banks' words holding a (fan_in, neurons) weight matrix of codes (or all zeros
    when ``w`` is None); padding neurons hold zero."""
    fan_in, n = shape
    groups = lane_groups(n, lanes)
    banks = [[0] * (fan_in * groups) for _ in range(lanes)]
    if w is not None:
        if tuple(w.shape) != shape:
            raise ValueError(f"initial weights have shape {tuple(w.shape)}; the layer needs "
                             f"{shape} (inputs, neurons)")
        for i in range(fan_in):
            for j in range(n):
                bank, addr = bank_address(i, j, lanes, groups)
                banks[bank][addr] = int(w[i, j])
    return banks


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
