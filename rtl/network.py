"""The NACA network top: samples in, predictions out, learning on chip, a run-time control port."""

from amaranth.hdl import Module, Mux, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from ..golden_model.rng import Stream
from .control import (
    DATA,
    STATUS,
    STATUS_WIDTH,
    Register,
    Target,
    bank_address_bits,
    control_layout,
    layer_lanes,
)
from .encoder import SpikeEncoder, event_layout
from .fifo import StreamFifo, connect_buffered
from .fixed import index_shape, shape_of
from .learning import (
    Correlator,
    HiddenUpdatePacker,
    OutputErrorUnit,
    correlation_shape,
    count_shape,
)
from .mask import MaskUnit
from .modulator import ModulatorUnit
from .neuron import NeuronBank
from .random import WORD, HashBank, KeyUnit
from .synapses import SynapseArray, lane_groups


def sample_layout(cfg: NacaConfig) -> StructLayout:
    """A pixel of a sample; the label and the train flag of the sample's last pixel count."""
    return StructLayout({"code": shape_of(cfg.formats.input),
                         "label": index_shape(cfg.n_classes), "train": 1})


def result_layout(cfg: NacaConfig) -> StructLayout:
    return StructLayout({"sample": WORD, "prediction": index_shape(cfg.n_classes),
                         "counts": ArrayLayout(count_shape(cfg), cfg.n_classes)})


def check_buildable(cfg: NacaConfig, lanes: int) -> None:
    """Refuse configs the network top cannot build, naming the field and the limit."""
    if cfg.model != "snn":
        raise ValueError(f"model = {cfg.model!r}: the RTL builds the SNN; use model = 'snn'")
    lane_groups(cfg.n_hidden, lanes)
    for name in ("weight_hidden", "weight_output", "learning_rate", "modulation"):
        width = getattr(cfg.formats, name).width
        if width > DATA.width:
            raise ValueError(f"formats.{name} is {width} bits; the control port carries at "
                             f"most {DATA.width}")


class NacaCore(wiring.Component):
    """A NACA SNN (N-H-C) that trains and infers sample by sample, bit-exact with
    :class:`golden_model.network.NacaNetwork` (fixed point).

    Per sample: the N pixel beats are stored (with ``mask_delta``, the task-free neuron mask is
    computed from them, H + 3 cycles); T steps run as a pipeline (encoder, event FIFO,
    hidden synapses over P lanes, hidden neurons, output synapses over min(P, C) lanes, output
    neurons, spike counts, the correlator). The prediction (the counts' argmax) is decided
    next, as the output error of ``output_error = "mistakes"`` needs it. When training, the
    modulator broadcasts the label's words to the hidden core and the error unit the output
    words; the encoder replays the last step's inputs into the hidden learning sweep, then the
    correlator sweeps the output synapses (the two sweeps take turns at one bank of rounding
    hashes). Then the result leaves and the sample counter advances.
    Streams that leave block RAM or cross the chip (the currents, the update words, the
    learning rows) pass two-beat FIFOs, so that units meet at registers.

    Parameters
    ----------
    cfg:
        The golden model's config: every width, constant and reset value comes from it.
    lanes:
        P, the hidden layer's parallel lanes (:func:`synapses.lane_groups`); the output layer
        has min(P, C) (:func:`control.layer_lanes`).
    fifo_depth:
        Input events buffered between the encoder and the hidden synapses.
    registered_streams:
        Whether the streams that cross the chip pass two-beat FIFOs (see above). Without them
        the core is smaller (for the iCE40 at its lower clock) and a few cycles faster per
        sample; its results are the same.
    single_port_weights:
        Whether the hidden weights are in single-port memories (the iCE40's SPRAM; see
        :class:`SynapseArray`): two lanes per memory word, the learning sweep at half rate.
        Its results are the same.
    state:
        A :class:`golden_model.network.NetworkState` held in the memories after configuration
        (weights and modulation table baked into the bitstream); by default all zeros, to be
        loaded through ``control``.

    Members
    -------
    i: In(stream of {code, label, train}): N beats per sample, accepted while no sample runs.
    o: Out(stream of {sample, prediction, counts[C]}): one beat per sample, once it is done.
    control: In(stream of {write, target, addr, data}); control_data: Out(stream of 32 bits)
        Load and read back weights, the modulation table and the registers (:class:`Target`,
        :class:`Register`) between samples; a read is answered before the next access is taken.
    busy: Out(1): a sample is in flight.
    hidden_synapses, output_synapses: the two :class:`SynapseArray` s (not ports; their
        ``memories`` may be inspected in simulation).

    The prediction takes C cycles after the last step. Cycles per sample: about
    T * (N + G * active inputs) / overlap; :mod:`benchmarks.rtl_cycles`
    measures them. Back-pressure on ``o`` holds the core (and the counters) at the result.
    """

    def __init__(self, cfg: NacaConfig, *, lanes: int, fifo_depth: int = 16, state=None,
                 registered_streams: bool = True, single_port_weights: bool = False):
        check_buildable(cfg, lanes)
        self._cfg, self._lanes, self._fifo_depth = cfg, lanes, fifo_depth
        self._hop = 2 if registered_streams else 0      # beats of each crossing's FIFO
        self.hidden_synapses = SynapseArray(cfg, "hidden", lanes=lanes,
                                            init=None if state is None else state.w_hidden,
                                            single_port=single_port_weights)
        self._output_lanes = layer_lanes(cfg, "output", lanes)
        self.output_synapses = SynapseArray(cfg, "output", lanes=self._output_lanes,
                                            factor_shape=correlation_shape(cfg),
                                            init=None if state is None else state.w_output)
        self._modulator = ModulatorUnit(cfg, init=None if state is None else state.modulation)
        super().__init__({
            "i": In(stream.Signature(sample_layout(cfg))),
            "o": Out(stream.Signature(result_layout(cfg))),
            "control": In(stream.Signature(control_layout(cfg, lanes))),
            "control_data": Out(stream.Signature(DATA)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg, lanes = self._cfg, self._lanes
        n, h, c, steps = cfg.n_inputs, cfg.n_hidden, cfg.n_classes, cfg.time_steps
        m = Module()
        sub = m.submodules
        sub.encoder = encoder = SpikeEncoder(cfg)
        step_shape = range(steps + 1)
        sub.keys = keys = KeyUnit(step_shape=step_shape)
        sub.events = events = StreamFifo(event_layout(cfg), depth=self._fifo_depth)
        sub.hidden = hidden = self.hidden_synapses
        sub.hidden_neurons = hidden_neurons = NeuronBank(cfg, "hidden", lanes=lanes,
                                                         h_lookup=True)
        sub.output = output = self.output_synapses
        sub.output_neurons = output_neurons = NeuronBank(cfg, "output",
                                                         lanes=self._output_lanes)
        sub.hidden_spikes = hidden_spikes = StreamFifo(hidden_neurons.o.payload.shape(),
                                                       depth=h + 2)
        sub.correlator = correlator = Correlator(cfg)
        sub.modulator = modulator = self._modulator
        sub.packer = packer = HiddenUpdatePacker(cfg, lanes=lanes)
        sub.error = error = OutputErrorUnit(cfg, lanes=self._output_lanes)
        masking = cfg.mask_delta is not None
        if masking:
            sub.mask = mask_unit = MaskUnit(cfg)
            m.d.comb += [mask_unit.pixels.payload.eq(encoder.pixels.payload),
                         mask_unit.pixels.valid.eq(encoder.pixels.valid),
                         hidden_neurons.mask.eq(mask_unit.mask), packer.mask.eq(mask_unit.mask)]

        # -- registers -------------------------------------------------------------------------
        lr_hidden = Signal(shape_of(cfg.formats.learning_rate), init=cfg.code("lr_hidden"))
        lr_output = Signal(shape_of(cfg.formats.learning_rate), init=cfg.code("lr_output"))
        seed = Signal(WORD, init=cfg.seed)
        sample = Signal(WORD)
        status = {reg: Signal(STATUS_WIDTH, name=reg.name.lower()) for reg in STATUS}
        label, train = Signal.like(self.i.payload.label), Signal()
        counts = Signal(ArrayLayout(count_shape(cfg), c))
        # the prediction: argmax of the counts (lowest index on ties), one class per cycle
        prediction = Signal.like(self.o.payload.prediction)
        candidate = Signal(range(c))
        best = Signal.like(counts[0])
        m.d.comb += [keys.seed.eq(seed), modulator.lr.eq(lr_hidden), error.lr.eq(lr_output),
                     error.counts.eq(counts), error.prediction.eq(prediction)]

        # -- the datapath ----------------------------------------------------------------------
        wiring.connect(m, events.o, hidden.events)
        # the currents leave block RAM: a register stage before the neurons' arithmetic
        hop = self._hop
        # (the hidden currents, wide when the layer's fan-in is, always leave from a register)
        connect_buffered(m, "hidden_currents", hidden.o, hidden_neurons.i, depth=hop,
                         registered=True)
        connect_buffered(m, "output_currents", output.o, output_neurons.i, depth=hop)
        wiring.connect(m, hidden_spikes.o, correlator.pre)
        # the learning rows reach the synapses through registers (their ``last`` beat waits
        # for the write-backs, a long way back to the sources otherwise)
        connect_buffered(m, "output_rows", correlator.learn, output.learn, depth=hop)
        hidden_rows = stream.Signature(encoder.o.payload.shape()).create()
        connect_buffered(m, "hidden_rows", hidden_rows, hidden.learn, depth=hop)
        wiring.connect(m, modulator.o, packer.i)
        wiring.connect(m, packer.h_read, hidden_neurons.h_read)
        # the update words cross the chip to every lane: registers at both ends
        connect_buffered(m, "hidden_words", packer.o, hidden.updates, depth=hop)
        connect_buffered(m, "output_words", error.o, output.updates, depth=hop)
        # the encoder feeds the forward pass, or replays the last step into the learning sweep
        replaying = Signal()
        spikes = hidden_neurons.o
        m.d.comb += [
            events.i.payload.eq(encoder.o.payload), hidden_rows.payload.eq(encoder.o.payload),
            events.i.valid.eq(encoder.o.valid & ~replaying),
            hidden_rows.valid.eq(encoder.o.valid & replaying),
            encoder.o.ready.eq(Mux(replaying, hidden_rows.ready, events.i.ready)),
            # the hidden spikes go to the output synapses and (for the correlations) a FIFO
            output.events.payload.eq(spikes.payload), hidden_spikes.i.payload.eq(spikes.payload),
            output.events.valid.eq(spikes.valid & hidden_spikes.i.ready),
            hidden_spikes.i.valid.eq(spikes.valid & output.events.ready),
            spikes.ready.eq(output.events.ready & hidden_spikes.i.ready),
            # each output step's last beat hands that step's h to the correlator
            correlator.post.payload.eq(output_neurons.h_out),
            correlator.post.valid.eq(output_neurons.o.valid & output_neurons.o.payload.last),
            output_neurons.o.ready.eq(~output_neurons.o.payload.last | correlator.post.ready),
        ]
        out_beat = output_neurons.o
        for k in range(c):
            with m.If(out_beat.valid & out_beat.ready & out_beat.payload.spike
                      & (out_beat.payload.index == k)):
                m.d.sync += counts[k].eq(counts[k] + 1)

        # -- the sample's phases ---------------------------------------------------------------
        pixel = Signal(range(n))
        issued = Signal(range(steps + 1))           # encode keys requested this sample
        stepped = Signal(range(steps + 1))          # output steps handed to the correlator
        hidden_key_asked, hidden_key_in = Signal(), Signal()
        hidden_key = Signal(WORD)
        # One key unit serves the three streams; its key goes where its request came from. The
        # output rounding key is asked for once the hidden sweep is done, and the output sweep
        # reads it from the key unit, which holds it until that sweep is done too.
        key_stream = Signal.like(keys.i.payload.stream)
        encoding = key_stream == Stream.ENCODE
        output_key_in = keys.o.valid & (key_stream == Stream.ROUND_OUTPUT)
        words_sent, words_loaded = Signal(2), Signal(2)
        learn_started, learned = Signal(3), Signal(2)   # replay key, output key, output sweep
        # the two layers' learning sweeps take turns (hidden first) at one bank of rounding
        # hashes
        sub.hashes = hashes = HashBank(max(len(hidden.hash_x), len(output.hash_x)))
        for k in range(len(hashes.x)):
            hidden_x = hidden.hash_x[k] if k < len(hidden.hash_x) else 0
            output_x = output.hash_x[k] if k < len(output.hash_x) else 0
            m.d.comb += hashes.x[k].eq(Mux(learned[0], output_x, hidden_x))
        m.d.comb += [hidden.hash_words.eq(hashes.word[:len(hidden.hash_x)]),
                     output.hash_words.eq(hashes.word[:len(output.hash_x)])]
        m.d.comb += [hidden.round_key.eq(hidden_key), output.round_key.eq(keys.o.payload),
                     keys.sample.eq(sample),
                     # the key unit hashes through the encoder's pipeline between its steps
                     keys.hash_free.eq(encoder.hash_free), encoder.hash_x.eq(keys.hash_x),
                     keys.hash_word.eq(encoder.hash_word),
                     encoder.key.payload.eq(keys.o.payload),
                     encoder.key.valid.eq(keys.o.valid & encoding),
                     keys.o.ready.eq(Mux(encoding, encoder.key.ready,
                                         (key_stream != Stream.ROUND_OUTPUT) | learned[1])),
                     modulator.i.payload.eq(label), error.i.payload.eq(label)]
        with m.If(keys.i.valid & keys.i.ready):
            m.d.sync += key_stream.eq(keys.i.payload.stream)
        with m.If(keys.o.valid & (key_stream == Stream.ROUND_HIDDEN)):
            m.d.sync += [hidden_key.eq(keys.o.payload), hidden_key_in.eq(1)]
        with m.If(correlator.post.valid & correlator.post.ready):
            m.d.sync += stepped.eq(stepped + 1)

        take_pixel = self.i.valid & self.i.ready
        m.d.comb += [encoder.pixels.valid.eq(take_pixel),
                     encoder.pixels.payload.addr.eq(pixel),
                     encoder.pixels.payload.code.eq(self.i.payload.code)]
        m.d.comb += [self.o.payload.sample.eq(sample), self.o.payload.counts.eq(counts),
                     self.o.payload.prediction.eq(prediction)]

        control_open = Signal()
        with m.FSM() as phase:
            with m.State("IDLE"):
                m.d.comb += [self.i.ready.eq(1), control_open.eq(pixel == 0)]
                with m.If(take_pixel):
                    m.d.sync += pixel.eq(Mux(pixel == n - 1, 0, pixel + 1))
                    with m.If(pixel == n - 1):
                        m.d.sync += [label.eq(self.i.payload.label), train.eq(self.i.payload.train),
                                     issued.eq(0), stepped.eq(0), hidden_key_asked.eq(0),
                                     hidden_key_in.eq(0),
                                     words_sent.eq(0), words_loaded.eq(0),
                                     learn_started.eq(0), learned.eq(0),
                                     counts.eq(0), candidate.eq(0)]
                        m.next = "MASK" if masking else "FORWARD"
            if masking:
                with m.State("MASK"):
                    # the task-free neuron mask of this sample, before its first step
                    m.d.comb += mask_unit.start.valid.eq(mask_unit.done)
                    with m.If(mask_unit.start.ready):
                        m.next = "MASK_WAIT"
                with m.State("MASK_WAIT"):
                    with m.If(mask_unit.done):
                        m.next = "FORWARD"
            with m.State("FORWARD"):
                # the steps' encode keys, then the hidden rounding key
                with m.If(issued < steps):
                    m.d.comb += [keys.i.valid.eq(1), keys.i.payload.stream.eq(Stream.ENCODE),
                                 keys.i.payload.step.eq(issued)]
                    with m.If(keys.i.ready):
                        m.d.sync += issued.eq(issued + 1)
                with m.Elif(~hidden_key_asked):
                    m.d.comb += [keys.i.valid.eq(1),
                                 keys.i.payload.stream.eq(Stream.ROUND_HIDDEN),
                                 keys.i.payload.step.eq(steps)]
                    with m.If(keys.i.ready):
                        m.d.sync += hidden_key_asked.eq(1)
                with m.If((stepped == steps) & ~correlator.busy & hidden_key_in):
                    m.next = "DECIDE"
            with m.State("DECIDE"):
                # the prediction comes before learning: the "mistakes" output error needs it
                current = counts[candidate]
                with m.If((candidate == 0) | (current > best)):
                    m.d.sync += [best.eq(current), prediction.eq(candidate)]
                with m.If(candidate != c - 1):
                    m.d.sync += candidate.eq(candidate + 1)
                with m.Elif(train):
                    m.next = "UPDATES"
                with m.Else():
                    m.next = "REPORT"
            with m.State("UPDATES"):
                m.d.comb += [modulator.i.valid.eq(~words_sent[0]),
                             error.i.valid.eq(~words_sent[1])]
                with m.If(modulator.i.ready):
                    m.d.sync += words_sent[0].eq(1)
                with m.If(error.i.ready):
                    m.d.sync += words_sent[1].eq(1)
                with m.If(hidden.updates.valid & hidden.updates.ready
                          & (hidden.updates.payload.group == lane_groups(h, lanes) - 1)):
                    m.d.sync += words_loaded[0].eq(1)
                with m.If(output.updates.valid & output.updates.ready
                          & (output.updates.payload.group
                             == lane_groups(c, self._output_lanes) - 1)):
                    m.d.sync += words_loaded[1].eq(1)
                with m.If(words_loaded == 0b11):
                    m.next = "LEARN"
            with m.State("LEARN"):
                # the replay's key; once the hidden sweep is done, the output rounding key, then
                # the output sweep (the two sweeps share the rounding hashes)
                m.d.comb += [replaying.eq(1),
                             keys.i.valid.eq(Mux(learned[0], ~learn_started[1],
                                                 ~learn_started[0])),
                             keys.i.payload.stream.eq(Mux(learned[0], Stream.ROUND_OUTPUT,
                                                          Stream.ENCODE)),
                             keys.i.payload.step.eq(Mux(learned[0], steps, steps - 1)),
                             correlator.start.valid.eq(output_key_in & ~learn_started[2])]
                with m.If(keys.i.valid & keys.i.ready):
                    with m.If(learned[0]):
                        m.d.sync += learn_started[1].eq(1)
                    with m.Else():
                        m.d.sync += learn_started[0].eq(1)
                with m.If(correlator.start.valid & correlator.start.ready):
                    m.d.sync += learn_started[2].eq(1)
                with m.If(hidden.learn.valid & hidden.learn.ready & hidden.learn.payload.last):
                    m.d.sync += learned[0].eq(1)
                with m.If(output.learn.valid & output.learn.ready & output.learn.payload.last):
                    m.d.sync += learned[1].eq(1)
                with m.If(learned == 0b11):
                    m.next = "REPORT"     # every write-back has landed
            with m.State("REPORT"):
                m.d.comb += self.o.valid.eq(1)
                with m.If(self.o.ready):
                    m.d.sync += [sample.eq(sample + 1),
                                 status[Register.SAMPLES].eq(status[Register.SAMPLES] + 1)]
                    m.next = "IDLE"

        # -- status counters -------------------------------------------------------------------
        m.d.comb += self.busy.eq(~phase.ongoing("IDLE"))
        hidden_event = hidden.events.valid & hidden.events.ready & hidden.events.payload.spike
        output_event = output.events.valid & output.events.ready & output.events.payload.spike
        increments = {
            Register.CYCLES: self.busy,
            Register.INPUT_EVENTS: hidden_event,
            Register.SYNAPTIC_EVENTS: Mux(hidden_event, h, 0) + Mux(output_event, c, 0),
            Register.HIDDEN_UPDATES: hidden.updates_written,
            Register.OUTPUT_UPDATES: output.updates_written,
        }
        # each cycle's increments are added a cycle later, from registers (the counters are
        # read, or cleared, only while no sample runs)
        for reg, amount in increments.items():
            held = Signal(Value.cast(amount).shape(), name=f"{reg.name.lower()}_increment")
            m.d.sync += [held.eq(amount), status[reg].eq(status[reg] + held)]

        # -- the control port ------------------------------------------------------------------
        access = self.control.payload
        writing = self.control.valid & control_open & access.write
        reading = self.control.valid & control_open & ~access.write
        hidden_bits = bank_address_bits(cfg, "hidden", lanes)
        output_bits = bank_address_bits(cfg, "output", self._output_lanes)
        replying = Signal()                          # a read's answer is on its way
        source = Signal.like(access.target)
        register_value = Signal(DATA)
        reply = Signal(DATA)
        weight_sources = {Target.HIDDEN_WEIGHTS: (hidden, hidden_bits),
                          Target.OUTPUT_WEIGHTS: (output, output_bits)}
        for target, (array, bits) in weight_sources.items():
            selected = access.target == target
            m.d.comb += [
                array.weight_write.payload.bank.eq(access.addr[bits:]),
                array.weight_write.payload.addr.eq(access.addr[:bits]),
                array.weight_write.payload.data.eq(access.data),
                array.weight_write.valid.eq(writing & selected),
                array.weight_read.payload.bank.eq(access.addr[bits:]),
                array.weight_read.payload.addr.eq(access.addr[:bits]),
                array.weight_read.valid.eq(reading & selected & ~replying),
                array.weight_data.ready.eq(self.control_data.ready & (source == target)),
            ]
        table = modulator.table_write.payload
        m.d.comb += [
            table.addr.eq(access.addr), table.data.eq(access.data),
            modulator.table_write.valid.eq(writing & (access.target == Target.MODULATION)),
            modulator.table_read.payload.eq(access.addr),
            modulator.table_read.valid.eq(reading & ~replying
                                          & (access.target == Target.MODULATION)),
            modulator.table_data.ready.eq(self.control_data.ready
                                          & (source == Target.MODULATION)),
        ]
        # The units' readiness as of the previous cycle, so that the handshake starts at
        # registers: the port opens only in IDLE, long after the units have settled, and the
        # one change a read makes to its unit's readiness is covered by ``replying``; so these
        # agree with the units' own ``ready`` whenever the port is open.
        write_ready = {target: Signal(name=f"{target.name.lower()}_write_ready")
                       for target in weight_sources}
        read_ready = {target: Signal(name=f"{target.name.lower()}_read_ready")
                      for target in (*weight_sources, Target.MODULATION)}
        for target, (array, _) in weight_sources.items():
            m.d.sync += [write_ready[target].eq(array.weight_write.ready),
                         read_ready[target].eq(array.weight_read.ready)]
        m.d.sync += read_ready[Target.MODULATION].eq(modulator.table_read.ready)
        with m.Switch(access.target):
            for target in weight_sources:
                with m.Case(target):
                    m.d.comb += self.control.ready.eq(control_open & Mux(
                        access.write, write_ready[target], read_ready[target] & ~replying))
            with m.Case(Target.MODULATION):
                m.d.comb += self.control.ready.eq(control_open & Mux(
                    access.write, 1, read_ready[Target.MODULATION] & ~replying))
            with m.Case(Target.REGISTERS):
                m.d.comb += self.control.ready.eq(control_open & (access.write | ~replying))
        take = self.control.valid & self.control.ready
        with m.If(take & ~access.write):
            m.d.sync += [replying.eq(1), source.eq(access.target)]
        with m.If(self.control_data.valid & self.control_data.ready):
            m.d.sync += replying.eq(0)

        registers = {Register.LR_HIDDEN: lr_hidden, Register.LR_OUTPUT: lr_output,
                     Register.SEED: seed, Register.SAMPLE: sample}
        # the register map is decoded from its few address bits; beyond it everything reads 0
        map_bits = (max(STATUS) + 1).bit_length()
        inside = access.addr[map_bits:] == 0
        # the same acceptance as ``take`` for this target, without the weight arrays' readiness
        # in its logic (that path would reach every status counter)
        register_take = (self.control.valid & control_open & (access.target == Target.REGISTERS)
                         & (access.write | ~replying))
        with m.If(register_take & ~inside):
            m.d.sync += register_value.eq(0)
        with m.Elif(register_take):
            with m.Switch(access.addr[:map_bits]):
                for reg, signal in registers.items():
                    with m.Case(reg):
                        with m.If(access.write):
                            m.d.sync += signal.eq(access.data)
                        m.d.sync += register_value.eq(signal)
                for reg in STATUS:
                    with m.Case(reg):
                        m.d.sync += register_value.eq(status[reg][:32])
                    with m.Case(reg + 1):
                        m.d.sync += register_value.eq(status[reg][32:])
                with m.Case(Register.CLEAR_STATUS):
                    with m.If(access.write):
                        m.d.sync += [counter.eq(0) for counter in status.values()]
                with m.Default():
                    m.d.sync += register_value.eq(0)
        with m.Switch(source):
            for target, (array, _) in weight_sources.items():
                with m.Case(target):
                    m.d.comb += [reply.eq(array.weight_data.payload),
                                 self.control_data.valid.eq(replying & array.weight_data.valid)]
            with m.Case(Target.MODULATION):
                m.d.comb += [reply.eq(modulator.table_data.payload),
                             self.control_data.valid.eq(replying & modulator.table_data.valid)]
            with m.Case(Target.REGISTERS):
                m.d.comb += [reply.eq(register_value), self.control_data.valid.eq(replying)]
        m.d.comb += self.control_data.payload.eq(reply)
        return m
