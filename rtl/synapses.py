"""Event-driven synaptic accumulation over P parallel lanes."""

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import RANDOM_BYTE_BITS, NacaConfig
from ..golden_model.rng import col_word_bits
from .fixed import index_shape, requantize, shape_of
from .pipeline import shift
from .random import HASH_LATENCY, WORD
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


def lanes_per_hash(lanes: int, groups: int) -> int:
    """Lanes that share a rounding hash. Four neighbouring neurons share a random word: when
    every group starts on a multiple of four (P % 4 == 0) or there is one group, lanes
    4q .. 4q+3 always share theirs (and take a fixed byte of it); otherwise each lane hashes
    its own."""
    return 4 if lanes % 4 == 0 or groups == 1 else 1


def rounding_hashes(lanes: int, groups: int) -> int:
    """The rounding hash pipelines a :class:`SynapseArray` of P lanes and G groups uses."""
    return -(-lanes // lanes_per_hash(lanes, groups))


def update_word_shape(cfg: NacaConfig, layer: str):
    """A neuron's update word: the update format and one bit more, for the sign-flipped
    broadcast word (-min_code)."""
    return signed(getattr(cfg.formats, f"update_{layer}").width + 1)


#: Lanes whose weights share a word of a single-port memory (two 8-bit weights fill the
#: iCE40's 16-bit SPRAM word).
SINGLE_PORT_LANES_PER_WORD = 2

#: Cycles from a learning sweep's read of a group to its write-back: the word index, the
#: rounding hash, the weight read, the weight and the rounded step held, the new weight.
LEARN_LATENCY = 1 + HASH_LATENCY + 2


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
        When given, every learning beat carries one factor per neuron of the layer (the
        output rule's spike-h correlation of synapse (i, j)); group g's sweep takes those of
        neurons g*P .. g*P+P-1.
    init:
        The (fan_in, neurons) weight codes the banks hold after configuration (default zeros).
    single_port:
        Whether the weight memories have one port (the iCE40's SPRAM): two lanes then share a
        memory, their weights side by side in one word, and the learning sweep starts a group
        only every other cycle, so that its reads and its write-backs (one cycle later than
        otherwise) fall on alternate cycles; forward sweeps are unchanged.

    Members
    -------
    memories: the weight memories (not ports; for inspection in simulation): memory q holds
        lanes q*K .. q*K+K-1, K = :attr:`lanes_per_memory`, lane q*K+k in bits k*w .. k*w+w-1
        of each word (w the weight width).
    weight_write: In(stream of {bank, addr, data}); weight_read: In(stream of {bank, addr});
    weight_data: Out(stream of weight)
        Run-time load and read-back (see :func:`bank_address`); served only while idle. A
        loaded weight is written a cycle after it is taken; a read-back answers two cycles
        later and is held until taken.
    events: In(stream of {index, spike, last})
        One step: a beat per active input, then a ``last`` beat.
    o: Out(stream of {group, currents[P], last})
        After the step's ``last`` beat: G beats with the currents of neurons g*P .. g*P+P-1;
        the accumulators are cleared as they are read.
    updates: In(stream of {group, values[P]})
        The sample's update words v_j (update format), loaded before learning.
    round_key: In(32)
        The sample's ROUND_HIDDEN (or ROUND_OUTPUT) key.
    learn: In(stream of {index, spike, last[, factors[n]]})
        The learning rows (``spike`` set; a beat without ``spike`` or ``last`` is passed
        over), then a ``last`` beat; G cycles per row. The ``last`` beat is taken once every
        write-back of the sweep has landed.
    updates_written: Out(range(P + 1))
        How many synapses received a non-zero update term this cycle (a status count).
    hash_x: Out(words); hash_words: In(words), :func:`rounding_hashes` of each
        The learning sweep's rounding hashes, computed outside (a :class:`random.HashBank`,
        which the core shares between its two layers): ``hash_words[k]`` must be ``mix32`` of
        ``hash_x[k]`` of :data:`random.HASH_LATENCY` cycles earlier while a sweep learns.

    Throughput: one group per cycle per lane in both sweeps (with ``single_port``, one every
    other cycle in the learning sweep), back to back between rows. The forward sweep is a
    three-stage read-modify-write of the accumulators (the weight read, the accumulator read,
    the sum); two cycles of drain and one of memory latency come before the G output beats.
    The learning sweep is a pipeline of :data:`LEARN_LATENCY` cycles, one more with
    ``single_port`` (a synapse is read and written once per sweep, so nothing waits on a
    previous write); an ``events`` beat waits until it has drained. Back-pressure on ``o``
    stalls the read-out; ``events`` and ``learn`` are not accepted during the read-out or
    during a sweep of the other kind.
    """

    def __init__(self, cfg: NacaConfig, layer: str, *, lanes: int, factor_shape=None,
                 init=None, single_port: bool = False):
        self._cfg, self._layer, self._lanes = cfg, layer, lanes
        self._single_port = single_port
        fan_in = cfg.n_inputs if layer == "hidden" else cfg.n_hidden
        n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
        self._fan_in, self._n, self._groups = fan_in, n, lane_groups(n, lanes)
        hashes = rounding_hashes(lanes, self._groups)
        self._factor_shape = factor_shape
        self._weight_fmt = getattr(cfg.formats, f"weight_{layer}")
        self._update_fmt = getattr(cfg.formats, f"update_{layer}")
        self._weight = shape_of(self._weight_fmt)
        self._acc = current_shape(cfg, layer)
        #: Lanes whose weights share a memory word.
        self.lanes_per_memory = SINGLE_PORT_LANES_PER_WORD if single_port else 1
        self.memories = tuple(
            memory.Memory(shape=unsigned(len(words) * self._weight.width),
                          depth=fan_in * self._groups, init=packed_words(words, self._weight.width))
            for words in chunks(bank_contents(init, lanes, (fan_in, n)), self.lanes_per_memory))
        event = StructLayout({"index": index_shape(fan_in), "spike": 1, "last": 1})
        learn = event if factor_shape is None else StructLayout({
            "index": index_shape(fan_in), "spike": 1, "last": 1,
            "factors": ArrayLayout(factor_shape, n)})
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
            "hash_x": Out(ArrayLayout(WORD, hashes)),
            "hash_words": In(ArrayLayout(WORD, hashes)),
            "o": Out(stream.Signature(StructLayout({
                "group": index_shape(self._groups),
                "currents": ArrayLayout(self._acc, lanes), "last": 1}))),
        })

    def elaborate(self, platform):
        p_lanes, g_count = self._lanes, self._groups
        per_memory, width = self.lanes_per_memory, self._weight.width
        m = Module()
        w_reads, w_writes, acc_reads, acc_writes, upd_reads = [], [], [], [], []
        for q, weights in enumerate(self.memories):
            m.submodules[f"weights{q}"] = weights
            w_writes.append(weights.write_port(granularity=width))   # an enable per lane
            w_reads.append(weights.read_port())
        # lane p's weight in its memory's read word
        lane_weights = [w_reads[p // per_memory].data.word_select(p % per_memory, width)
                        for p in range(p_lanes)]
        if self._weight.signed:
            lane_weights = [w.as_signed() for w in lane_weights]
        for p in range(p_lanes):
            acc = memory.Memory(shape=self._acc, depth=g_count, init=[])
            m.submodules[f"acc{p}"] = acc
            upd = memory.Memory(shape=update_word_shape(self._cfg, self._layer), depth=g_count,
                                init=[])
            m.submodules[f"updates{p}"] = upd
            upd_write = upd.write_port()
            m.d.comb += [upd_write.addr.eq(self.updates.payload.group),
                         upd_write.data.eq(self.updates.payload.values[p]),
                         upd_write.en.eq(self.updates.valid & self.updates.ready)]
            upd_reads.append(upd.read_port())
            acc_writes.append(acc.write_port())
            acc_reads.append(acc.read_port(transparent_for=(acc_writes[-1],)))

        m.submodules.readout = scan = ReadScan(count=g_count, addr_shape=index_shape(g_count))
        sweeping = Signal()                       # accumulating one input over the G groups
        group = Signal(range(g_count))
        # the weight address of the sweep's group, row * G + group: counted up with the group
        # (a register, so that the memories' addresses and bank enables start from one)
        address = Signal(range(self._fan_in * g_count))
        # each stream's row address, formed from its own payload (kept apart, so that the
        # handshake choosing between them comes after the products, not before them)
        event_base = Signal.like(address, attrs={"keep": 1})
        learn_base = Signal.like(address, attrs={"keep": 1})
        m.d.comb += [event_base.eq(self.events.payload.index * g_count),
                     learn_base.eq(self.learn.payload.index * g_count)]
        # the forward sweep's stages: 1 reads the accumulator, 2 adds the held weight
        fetched, fetched_group = Signal(), Signal.like(group)
        pending, pending_group = Signal(), Signal.like(group)
        accumulating = fetched | pending
        draining = Signal()                       # the step's last beat was taken
        reading = Signal()                        # read-out in progress

        learning = Signal()                       # the sweep applies updates, not currents
        row = Signal(range(self._fan_in))
        factors = None
        if self._factor_shape is not None:
            # the row's factors padded to G*P; each group takes the first P, then shifts them out
            factors = Signal(ArrayLayout(self._factor_shape, g_count * p_lanes))
            lane_factors = ArrayLayout(self._factor_shape, p_lanes)
        # The learning pipeline: stage k holds the group read k cycles ago.
        stage_fields = {"valid": 1, "addr": index_shape(self._fan_in * g_count),
                        "group": index_shape(g_count)}
        if factors is not None:
            stage_fields["factors"] = lane_factors
        # with one port a group starts only on cycles of one parity, and its write-back comes
        # a stage later: three stages after its read, an odd distance, so the two never meet
        late = int(self._single_port)
        if self._single_port:
            issuing = Signal(init=1)
            m.d.sync += issuing.eq(~issuing)
        else:
            issuing = Const(1)
        stage = [Signal(StructLayout(stage_fields), name=f"learn_stage{k}")
                 for k in range(LEARN_LATENCY + 1 + late)]
        m.d.comb += [stage[0].valid.eq(sweeping & learning & issuing),
                     stage[0].addr.eq(address),
                     stage[0].group.eq(group)]
        if factors is not None:
            m.d.comb += stage[0].factors.eq(factors.as_value()[:lane_factors.size])
        shift(m, stage)
        learn_busy = Signal()               # stages 1 .. L hold a group: a register of its own
        m.d.sync += learn_busy.eq(Cat(s.valid for s in stage[:-1]) != 0)
        read_bank = Signal.like(self.weight_read.payload.bank)

        advancing = ~learning | issuing            # the sweep moves on to the next group
        # group == G - 1, kept in a register beside the group (the handshakes wait on it)
        last_group = Signal()
        sweep_done = ~sweeping | (last_group & advancing)
        idle = ~sweeping & ~accumulating & ~learn_busy & ~draining & ~reading
        take = self.events.valid & self.events.ready
        take_learn = self.learn.valid & self.learn.ready
        # A loaded weight is written the cycle after it is taken, from registers: the memories'
        # write enables and addresses then never wait on the loading handshake. Nothing that
        # reads the weights starts in that cycle.
        posted = Signal()
        posted_write = Signal.like(self.weight_write.payload)
        m.d.sync += posted.eq(self.weight_write.valid & self.weight_write.ready)
        with m.If(self.weight_write.valid & self.weight_write.ready):
            m.d.sync += posted_write.eq(self.weight_write.payload)
        m.d.comb += [
            self.events.ready.eq(~draining & ~reading & sweep_done & ~(sweeping & learning)
                                 & ~learn_busy & ~posted),
            self.learn.ready.eq(~draining & ~reading & sweep_done & ~(sweeping & ~learning)
                                & ~(self.learn.payload.last & (sweeping | learn_busy))
                                & ~posted),
            self.weight_write.ready.eq(idle),
            self.updates.ready.eq(~sweeping & ~accumulating & ~learn_busy),
        ]
        def start_sweep(learns: bool, row_address) -> None:
            m.d.sync += [sweeping.eq(1), group.eq(0), last_group.eq(g_count == 1),
                         learning.eq(learns), address.eq(row_address)]

        with m.If(take & self.events.payload.spike):
            start_sweep(False, event_base)
        with m.Elif(take_learn & self.learn.payload.spike):
            start_sweep(True, learn_base)
            m.d.sync += row.eq(self.learn.payload.index)
            if factors is not None:
                m.d.sync += factors.eq(self.learn.payload.factors.as_value())
        with m.Elif(sweeping & advancing):
            with m.If(last_group):
                m.d.sync += sweeping.eq(0)
            with m.Else():
                m.d.sync += [group.eq(group + 1), last_group.eq(group == g_count - 2),
                             address.eq(address + 1)]
                if factors is not None:
                    m.d.sync += factors.eq(factors.as_value() >> lane_factors.size)
        with m.If(take & self.events.payload.last):
            m.d.sync += draining.eq(1)

        # The sweep reads W[address]; stage 1 holds it and reads acc[group]; stage 2
        # writes their sum (the accumulators' read port sees a write of the same cycle).
        m.d.sync += [fetched.eq(sweeping & ~learning), fetched_group.eq(group),
                     pending.eq(fetched), pending_group.eq(fetched_group)]
        # Weight read-back: the memory's cycle and a register (every lane's read data is
        # registered: the forward sum's operand, and the read-back word), then held until taken.
        held_weights = [Signal(self._weight, name=f"held_weight{p}") for p in range(p_lanes)]
        m.d.sync += [held.eq(w) for held, w in zip(held_weights, lane_weights, strict=True)]
        reading_back = serve_reads(m, self.weight_read, self.weight_data,
                                   Array(held_weights)[read_bank], allowed=idle & ~posted,
                                   latency=2)
        with m.If(reading_back):
            m.d.sync += read_bank.eq(self.weight_read.payload.bank)
        # Read-out: after the drain, walk the accumulators, clearing each as it leaves.
        m.d.comb += scan.start.valid.eq(draining & ~accumulating & ~sweeping)
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
        nonzero, new_weights, lane_writes = [], [], []
        apply = stage[LEARN_LATENCY - 2]
        # with factors the update word is read a stage earlier: its product is two cycles
        # (the partial products of its high and low bits, then their sum)
        fetch = stage[LEARN_LATENCY - (4 if factors is not None else 3)]
        landed = stage[LEARN_LATENCY]          # the new weight is formed
        written = stage[LEARN_LATENCY + late]
        # four neighbouring neurons share a random word (see lanes_per_hash)
        per_hash = lanes_per_hash(p_lanes, g_count)
        words = {}
        for p in range(p_lanes):
            # The learning pipeline of synapse (i, j), j = group * P + p:
            #   stage 0: the word index of its random byte; stages 1-3: the hash;
            #   stage 3: read v_j (with factors: stage 2, and stage 3 the partial products
            #   of v_j f); stage 4: the term v_j f and the byte, read W;
            #   stage 5: hold W and the step SR(v_j f); stage 6: write W <- sat(W + step).
            j = group * p_lanes + p
            owner = p // per_hash
            if owner not in words:
                index = Signal(32, name=f"word_index{owner}")
                m.d.sync += index.eq(self.round_key ^ ((row << col_bits) | (j >> 2)))
                m.d.comb += self.hash_x[owner].eq(index)
                words[owner] = self.hash_words[owner]
            word = words[owner]
            rand = Signal(RANDOM_BYTE_BITS, name=f"rand{p}")
            if per_hash == 4:
                m.d.sync += rand.eq(word.word_select(p % 4, 8)[:RANDOM_BYTE_BITS])
            else:
                byte_of = [Signal(2, name=f"byte{p}_{k}") for k in range(LEARN_LATENCY - 1)]
                m.d.comb += byte_of[0].eq(j & 3)
                shift(m, byte_of)
                m.d.sync += rand.eq((word >> (byte_of[-1] * 8))[:RANDOM_BYTE_BITS])
            word = upd_reads[p].data
            term = Signal(signed(len(word) + (0 if factors is None else len(factors[p]))),
                          name=f"term{p}")
            if factors is None:
                m.d.sync += term.eq(word)
            else:
                # word * f = (word >> k) * f * 2^k + word[:k] * f, each part one multiplier
                low_bits = max(len(word) - 16, 0)
                factor = stage[LEARN_LATENCY - 3].factors[p]
                high = Signal(signed(len(word) - low_bits + len(factor)), name=f"high{p}")
                low = Signal(signed(low_bits + len(factor) + 1), name=f"low{p}")
                m.d.sync += [high.eq((word >> low_bits) * factor),
                             low.eq(word[:low_bits] * factor),
                             term.eq((high << low_bits) + low)]
            v = term >> (drop - keep)
            rounded = (v + (rand >> (RANDOM_BYTE_BITS - keep))) >> keep if keep else v
            step, weight = Signal.like(rounded, name=f"step{p}"), Signal(self._weight)
            touched = Signal(name=f"touched{p}")
            m.d.sync += [step.eq(rounded), weight.eq(lane_weights[p]), touched.eq(term != 0)]
            nonzero.append(landed.valid & touched)
            learned = requantize(m, weight + step, w_fmt.frac, w_fmt)
            if late:
                learned_late = Signal.like(learned, name=f"learned{p}")
                m.d.sync += learned_late.eq(learned)
                learned = learned_late
            new_weight = Signal(self._weight, name=f"new_weight{p}")
            m.d.comb += new_weight.eq(Mux(written.valid, learned, posted_write.data))
            new_weights.append(new_weight)
            lane_writes.append(written.valid | (posted & (posted_write.bank == p)))
            held_weight = held_weights[p]
            m.d.comb += [
                upd_reads[p].addr.eq(fetch.group),
                acc_reads[p].addr.eq(Mux(reading, scan.addr, fetched_group)),
                self.o.payload.currents[p].eq(acc_reads[p].data),
                acc_writes[p].addr.eq(Mux(reading, scan.index, pending_group)),
                acc_writes[p].data.eq(Mux(reading, 0, acc_reads[p].data + held_weight)),
                acc_writes[p].en.eq(Mux(reading, leaving, pending)),
            ]
        m.d.comb += self.updates_written.eq(sum(nonzero))
        # every lane of a memory is at the same address
        write_addr = Mux(written.valid, written.addr, posted_write.addr)
        # outside the sweeps the read port serves read-back (whether a request is taken only
        # decides whether its data is kept)
        read_addr = Mux(apply.valid, apply.addr,
                        Mux(sweeping, address, self.weight_read.payload.addr))
        for q, (read, write) in enumerate(zip(w_reads, w_writes, strict=True)):
            lanes = range(q * per_memory, min((q + 1) * per_memory, p_lanes))
            m.d.comb += [write.data.eq(Cat(new_weights[p] for p in lanes)),
                         write.en.eq(Cat(lane_writes[p] for p in lanes))]
            if self._single_port:
                # one address; the read is disabled while the word is written
                shared = Signal.like(write.addr, name=f"address{q}")
                m.d.comb += [shared.eq(Mux(write.en.any(), write_addr, read_addr)),
                             write.addr.eq(shared), read.addr.eq(shared),
                             read.en.eq(~write.en.any())]
            else:
                m.d.comb += [write.addr.eq(write_addr), read.addr.eq(read_addr)]
        return m


def chunks(items: list, size: int) -> list[list]:
    """``items`` in consecutive runs of ``size`` (the last one shorter)."""
    return [items[k:k + size] for k in range(0, len(items), size)]


def packed_words(banks: list[list[int]], width: int) -> list[int]:
    """The words of a memory holding several lanes' banks of ``width``-bit codes side by side
    (the first bank in the lowest bits)."""
    mask = (1 << width) - 1
    return [sum((code & mask) << (k * width) for k, code in enumerate(codes))
            for codes in zip(*banks, strict=True)]


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
