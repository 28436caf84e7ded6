"""What the two learning rules need besides the weights: the hidden update words, the output
error words and the output rule's spike-h correlations."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import index_shape, requantize, shape_of
from .modulator import modulation_layout
from .neuron import h_group_layout
from .scan import ReadScan
from .synapses import lane_groups, update_word_shape


def updates_layout(cfg: NacaConfig, layer: str, lanes: int) -> StructLayout:
    """A group's update words, as :class:`SynapseArray.updates` takes them."""
    n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
    return StructLayout({"group": index_shape(lane_groups(n, lanes)),
                         "values": ArrayLayout(update_word_shape(cfg, layer), lanes)})


def count_shape(cfg: NacaConfig):
    """A spike count over the T steps (0 .. T)."""
    return range(cfg.time_steps + 1)


def correlation_shape(cfg: NacaConfig):
    """P_jk = sum_t s_j(t) h_k(t), in -T .. T (one step only for the ``last_step`` rule)."""
    steps = cfg.time_steps if cfg.output_rule == "accumulate" else 1
    return signed(steps.bit_length() + 1)


class HiddenUpdatePacker(wiring.Component):
    """The hidden core's update words: ``v_j = h_j * m_j * broadcast_j``, P neurons per beat.

    The modulator's broadcast word q(-lr * G[c, j]) has its sign flipped (h = -1), is passed
    (h = 1) or is zeroed (h = 0 or mask bit clear); words are gathered into groups of P
    (neuron j = g*P + p), a padded last group carrying zeros.

    Members
    -------
    h_read: In(:class:`memory.ReadPort.Signature`): the hidden :class:`NeuronBank`'s h of the
        last step, group by group (its ``h_lookup`` port).
    mask: In(H): the sample's mask, held during the pass.
    i: In(stream of {neuron, value, last}) (:func:`modulator.modulation_layout`); the neurons
        in order, 0 to H - 1.
    o: Out(stream of {group, values[P]})

    A neuron's h (its group's, read when the neuron is taken) and mask bit are looked up into
    a register stage first (they live with the neurons, across the chip). Throughput one
    neuron per cycle; a group leaves two cycles after its last neuron and is held until taken
    (``i`` waits meanwhile only if the next group completes first).
    """

    def __init__(self, cfg: NacaConfig, *, lanes: int):
        self._cfg, self._lanes = cfg, lanes
        h = cfg.n_hidden
        super().__init__({
            "h_read": In(memory.ReadPort.Signature(
                addr_width=index_shape(lane_groups(h, lanes)).width,
                shape=h_group_layout(lanes))),
            "mask": In(h, init=(1 << h) - 1),
            "i": In(stream.Signature(modulation_layout(cfg))),
            "o": Out(stream.Signature(updates_layout(cfg, "hidden", lanes))),
        })

    def elaborate(self, platform):
        lanes = self._lanes
        m = Module()
        lane = Signal(range(lanes))
        group = Signal.like(self.o.payload.group)
        gathered = Signal.like(self.o.payload.values)
        # the looked-up beat: its broadcast word, h and mask bit
        beat = Signal(StructLayout({"value": self.i.payload.value.shape(), "last": 1,
                                    "allowed": 1}))
        held = Signal()
        consume = held & (~self.o.valid | self.o.ready)
        complete = (lane == lanes - 1) | beat.last
        take = self.i.valid & self.i.ready
        # the group of the neuron taken now: the held beat's, or the next once it completes
        m.d.comb += [self.i.ready.eq(~held | consume),
                     self.h_read.addr.eq(Mux(held & complete, Mux(beat.last, 0, group + 1),
                                             group)),
                     self.h_read.en.eq(take)]
        with m.If(take):
            m.d.sync += [held.eq(1), beat.value.eq(self.i.payload.value),
                         beat.last.eq(self.i.payload.last),
                         beat.allowed.eq(self.mask.bit_select(self.i.payload.neuron, 1))]
        with m.Elif(consume):
            m.d.sync += held.eq(0)
        post = self.h_read.data[lane]        # the held neuron is lane ``lane`` of its group
        word = Signal.like(gathered[0])
        m.d.comb += word.eq(Mux(beat.allowed, Mux(post == 1, beat.value,
                                                  Mux(post == -1, -beat.value, 0)), 0))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.If(consume):
            with m.If(complete):
                for p in range(lanes):
                    # lanes after this one are the padding of the last group
                    m.d.sync += self.o.payload.values[p].eq(
                        Mux(lane == p, word, Mux(lane > p, gathered[p], 0)))
                m.d.sync += [self.o.valid.eq(1), self.o.payload.group.eq(group), lane.eq(0),
                             group.eq(Mux(beat.last, 0, group + 1))]
            with m.Else():
                m.d.sync += [gathered[lane].eq(word), lane.eq(lane + 1)]
        return m


class OutputErrorUnit(wiring.Component):
    """The output rule's per-neuron words: ``v_k = q(-lr_o * (count_k - T * [k == label]))``
    in the update_output format, as :class:`SynapseArray` update beats of P words (neuron
    k = g*P + p; a padded last group carries zeros). With the config's
    ``output_error = "mistakes"`` count_k enters only for k in {label, prediction} when the
    two differ (``NacaConfig.output_error``).

    Members
    -------
    lr: In(learning rate); counts: In(the output spike counts); prediction: In(their argmax);
        all three held during the pass.
    i: In(stream of label)
    o: Out(stream of {group, values[P]})

    The error is a small integer (at most T in magnitude), so its product with the rate is
    formed serially, a bit of the error per cycle (one adder, no multiplier). Latency
    C * (B + 2) cycles from the label to the last beat, B = T.bit_length() (per neuron: the
    error, B product steps, the rounding), plus the cycles each beat waits to be taken: a
    beat is held until taken, the next group's words wait for it, and so does the next label.
    """

    def __init__(self, cfg: NacaConfig, *, lanes: int):
        self._cfg, self._lanes = cfg, lanes
        c = cfg.n_classes
        super().__init__({
            "lr": In(shape_of(cfg.formats.learning_rate)),
            "counts": In(ArrayLayout(count_shape(cfg), c)),
            "prediction": In(index_shape(c)),
            "i": In(stream.Signature(index_shape(c))),
            "o": Out(stream.Signature(updates_layout(cfg, "output", lanes))),
        })

    def elaborate(self, platform):
        cfg, f, lanes = self._cfg, self._cfg.formats, self._lanes
        c, steps = cfg.n_classes, cfg.time_steps
        m = Module()
        label = Signal.like(self.i.payload)
        k = Signal(range(c))
        lane = Signal(range(lanes))
        counted = self.counts[k]
        if cfg.output_error == "mistakes":     # only a mistake's label and winner count
            competed = (self.prediction != label) & ((k == label) | (k == self.prediction))
            counted = Mux(competed, counted, 0)
        error = counted - Mux(k == label, steps, 0)
        bits = steps.bit_length()                    # of the error's magnitude
        magnitude = Signal(bits)                     # its bits still to add, highest first
        remaining = Signal(range(bits + 1))
        step = Signal(signed(len(self.lr) + 1))      # the rate, signed like -error
        product = Signal(signed(len(step) + bits))   # |lr| * |error| and the sign
        with m.If(self.o.valid & self.o.ready):
            # the next group starts from zeros (its padding lanes stay so)
            m.d.sync += [self.o.valid.eq(0), self.o.payload.values.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                m.d.comb += self.i.ready.eq(~self.o.valid)
                with m.If(self.i.valid & self.i.ready):
                    m.d.sync += [label.eq(self.i.payload), k.eq(0), lane.eq(0),
                                 self.o.payload.group.eq(0)]
                    m.next = "ERROR"
            with m.State("ERROR"):
                m.d.sync += [magnitude.eq(abs(error)), remaining.eq(bits), product.eq(0),
                             step.eq(Mux(error < 0, self.lr, -self.lr))]
                m.next = "PRODUCT"
            with m.State("PRODUCT"):
                # product <- 2 product + (top bit ? step : 0): -lr * error after B steps
                m.d.sync += [product.eq((product << 1) + Mux(magnitude[-1], step, 0)),
                             magnitude.eq(magnitude << 1), remaining.eq(remaining - 1)]
                with m.If(remaining == 1):
                    m.next = "ROUND"
            with m.State("ROUND"):
                m.d.sync += self.o.payload.values[lane].eq(
                    requantize(m, product, f.learning_rate.frac, f.update_output))
                with m.If(k == c - 1):
                    m.d.sync += self.o.valid.eq(1)
                    m.next = "IDLE"
                with m.Elif(lane == lanes - 1):
                    m.d.sync += self.o.valid.eq(1)
                    m.next = "SEND"
                with m.Else():
                    m.d.sync += [k.eq(k + 1), lane.eq(lane + 1)]
                    m.next = "ERROR"
            with m.State("SEND"):
                # a complete group waits to be taken before the next one is formed
                with m.If(self.o.ready):
                    m.d.sync += [k.eq(k + 1), lane.eq(0),
                                 self.o.payload.group.eq(self.o.payload.group + 1)]
                    m.next = "ERROR"
        return m


class Correlator(wiring.Component):
    """The output rule's pre-post terms ``P_jk = sum_t s_j(t) h_k(t)`` and their sweep.

    Each step, the output layer's h (one ``post`` beat, taken once the output neurons have
    stepped) is added to the row of every hidden neuron that spiked in that step (the ``pre``
    events, which arrive through a FIFO). A sample's first step first clears every row (H
    cycles, the ``pre`` events waiting). With the ``last_step`` rule only the last step is
    kept. The ``learn`` sweep then streams every hidden neuron's row of C factors, then a
    ``last`` beat: the output :class:`SynapseArray`'s learning stream. ``spike`` is set for the
    neurons that spiked at least once (the row's ``touched`` bit); the array passes over the
    others. (``valid`` does not wait on the row's memory: that path would reach back into the
    sweep's address.)

    Members
    -------
    post: In(stream of C post factors h_k(t)); one per step, before that step's ``pre``.
    pre: In(stream of {index, spike, last}): a step's hidden spikes, then ``last``.
    busy: Out(1): a step is being correlated.
    start: In(stream): starts the sweep (once the sample's last step is done).
    learn: Out(stream of {index, spike, last, factors[C]})

    Throughput one hidden spike per cycle (a read-modify-write over two cycles, rows distinct
    within a step) after the first step's H cycles of clearing; the sweep takes H + 1 cycles
    plus one of latency, stalled by ``learn``.
    """

    def __init__(self, cfg: NacaConfig):
        self._cfg = cfg
        h, c = cfg.n_hidden, cfg.n_classes
        self._row = ArrayLayout(correlation_shape(cfg), c)
        self._entry = StructLayout({"touched": 1, "factors": self._row})
        super().__init__({
            "post": In(stream.Signature(ArrayLayout(signed(2), c))),
            "pre": In(stream.Signature(StructLayout({
                "index": index_shape(h), "spike": 1, "last": 1}))),
            "busy": Out(1),
            "start": In(stream.Signature(0)),
            "learn": Out(stream.Signature(StructLayout({
                "index": index_shape(h), "spike": 1, "last": 1, "factors": self._row}))),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        h, steps = cfg.n_hidden, cfg.time_steps
        m = Module()
        m.submodules.rows = rows = memory.Memory(shape=self._entry, depth=h, init=[])
        read, write = rows.read_port(), rows.write_port()
        m.submodules.scan = scan = ReadScan(count=h + 1, addr_shape=index_shape(h + 1))

        post = Signal.like(self.post.payload)
        stepping = Signal()               # ``post`` holds this step's h
        step = Signal(range(steps))
        kept = (step == steps - 1) if cfg.output_rule == "last_step" else 1
        clearing, cleared_row = Signal(), Signal(range(h))
        pending, pending_row = Signal(), Signal.like(self.pre.payload.index)
        take_pre = self.pre.valid & self.pre.ready
        m.d.comb += [
            self.post.ready.eq(~stepping & ~scan.present),
            self.pre.ready.eq(stepping & ~clearing),
            self.busy.eq(stepping | pending),
            read.addr.eq(Mux(scan.start.ready, self.pre.payload.index, scan.addr)),
        ]
        with m.If(self.post.valid & self.post.ready):
            m.d.sync += [post.eq(self.post.payload), stepping.eq(1)]
            with m.If(step == 0):
                m.d.sync += clearing.eq(1)
        with m.If(clearing):
            m.d.sync += cleared_row.eq(Mux(cleared_row == h - 1, 0, cleared_row + 1))
            with m.If(cleared_row == h - 1):
                m.d.sync += clearing.eq(0)
        with m.If(take_pre & self.pre.payload.last):
            m.d.sync += [stepping.eq(0), step.eq(Mux(step == steps - 1, 0, step + 1))]
        # first cycle: read the row; second cycle: row <- row + h(t), touched
        m.d.sync += [pending.eq(take_pre & self.pre.payload.spike & kept),
                     pending_row.eq(self.pre.payload.index)]
        m.d.comb += [write.addr.eq(Mux(clearing, cleared_row, pending_row)),
                     write.en.eq(pending | clearing)]
        with m.If(~clearing):
            m.d.comb += write.data.touched.eq(1)
            for k in range(cfg.n_classes):
                m.d.comb += write.data.factors[k].eq(read.data.factors[k] + post[k])

        m.d.comb += [
            scan.start.valid.eq(self.start.valid), self.start.ready.eq(scan.start.ready),
            scan.start.payload.eq(0),
            self.learn.valid.eq(scan.present),
            self.learn.payload.index.eq(scan.index),
            self.learn.payload.spike.eq(~scan.last & read.data.touched),
            self.learn.payload.last.eq(scan.last),
            self.learn.payload.factors.eq(read.data.factors),
            scan.advance.eq(~self.learn.valid | self.learn.ready),
        ]
        return m
