"""The LIF neuron update, time-multiplexed: one neuron-step per beat."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import index_shape, requantize, shape_of
from .scan import ReadScan
from .synapses import current_shape, lane_groups


def neuron_in_layout(cfg: NacaConfig, layer: str, current_shape) -> StructLayout:
    """A neuron's state before the step (membrane, whether it fired last step), its summed
    synaptic current and its mask bit."""
    v = shape_of(getattr(cfg.formats, f"membrane_{layer}"))
    return StructLayout({"v": v, "fired": 1, "current": current_shape, "mask": 1})


def h_group_layout(lanes: int) -> ArrayLayout:
    """The post factors h of one group of P neurons."""
    return ArrayLayout(signed(2), lanes)


def neuron_out_layout(cfg: NacaConfig, layer: str) -> StructLayout:
    v = shape_of(getattr(cfg.formats, f"membrane_{layer}"))
    return StructLayout({"v": v, "spike": 1, "h": signed(2)})


def leak(cfg: NacaConfig, v, fired):
    """floor(alpha * V * (1 - fired)), the first half of :func:`lif_step`."""
    return (Mux(fired, 0, v) * cfg.code("alpha")) >> cfg.formats.leak.frac


def integrate(m: Module, cfg: NacaConfig, layer: str, leaked, fired, current, mask):
    """(V', spike, h) from the leaked membrane, the second half of :func:`lif_step`."""
    membrane = getattr(cfg.formats, f"membrane_{layer}")
    # the sum is re-expressed in the membrane format: same LSB, its saturation
    total = Signal((leaked + current).shape(), name="v_sum")
    v_next = Signal(shape_of(membrane), name="v_next")
    m.d.comb += [total.eq(leaked + current),
                 v_next.eq(requantize(m, total, membrane.frac, membrane))]

    def above(code: int):
        """[V' > code], read from the sum beside its saturation (not after it): saturation
        to [min, max] keeps the answer for min <= code < max, which the config ensures for
        both thresholds (0 <= threshold - lens <= threshold < max)."""
        assert membrane.min_code <= code < membrane.max_code
        return total > code

    spike = above(cfg.code(f"threshold_{layer}")) & mask
    h = above(cfg.code(f"near_threshold_{layer}")) - fired
    return v_next, spike, h


def lif_step(m: Module, cfg: NacaConfig, layer: str, v, fired, current, mask):
    """(V', spike, h) of one neuron's LIF step (see :class:`LifUnit`), as logic of ``m``."""
    return integrate(m, cfg, layer, leak(cfg, v, fired), fired, current, mask)


class LifUnit(wiring.Component):
    """One LIF step of one neuron, bit-exact with the golden model:

        V' = sat(floor(alpha * V * (1 - fired)) + I)
        h  = [V' > threshold - lens] - fired
        s  = [V' > threshold] & mask

    Parameters
    ----------
    cfg, layer:
        The config and ``"hidden"`` or ``"output"`` (membrane format, thresholds).
    current_shape:
        Shape of the summed current (the layer core's accumulator).

    Latency 1 cycle; throughput one neuron per cycle; a single register stage, so
    ``i.ready`` follows ``o.ready`` when the stage is full.
    """

    def __init__(self, cfg: NacaConfig, layer: str, current_shape):
        self._cfg, self._layer = cfg, layer
        super().__init__({
            "i": In(stream.Signature(neuron_in_layout(cfg, layer, current_shape))),
            "o": Out(stream.Signature(neuron_out_layout(cfg, layer))),
        })

    def elaborate(self, platform):
        m = Module()
        p = self.i.payload
        v_next, spike, h = lif_step(m, self._cfg, self._layer, p.v, p.fired, p.current, p.mask)
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [self.o.valid.eq(1), self.o.payload.v.eq(v_next),
                         self.o.payload.spike.eq(spike), self.o.payload.h.eq(h)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


class NeuronBank(wiring.Component):
    """The LIF state of a layer over P lanes, one group of P neurons per input beat.

    Lane p holds neurons j = g*P + p (as :class:`SynapseArray` does). For every group's
    currents it applies :func:`lif_step`, stores V, the spike and h, and streams the step's
    spikes as events (ascending j) followed by a ``last`` beat: the next layer's input.
    The bank counts its steps: every T-th step (from reset) is a sample's first, in which V
    and ``fired`` read as 0. Padding neurons (j >= n) never fire.

    Parameters
    ----------
    h_lookup:
        Keep h in a memory read by group (``h_read``; one block RAM) instead of registers
        (``h_out``): for a layer whose h is read neuron by neuron after the last step.

    Members
    -------
    mask: In(n_neurons), all ones by default
        Neuron j may fire only while bit j is set.
    i: In(stream of {group, currents[P], last})
    o: Out(stream of {index, spike, last})
    h_out: Out(ArrayLayout(signed(2), n_neurons)), without ``h_lookup``
        h of every neuron at the latest step (the output rule's post factors, each step).
    h_read: Out(:class:`memory.ReadPort.Signature` of groups, P values of h); with ``h_lookup``
        h of group ``addr``'s neurons at the latest step (the hidden rule's post factors at
        t = T), kept in a memory instead of registers: ``data`` is the group at the ``addr``
        of the last cycle ``en`` was high. A group's h is written the cycle after its
        currents are taken; read it only between steps.

    The leak of the next group is computed ahead, from its stored state, into a register;
    the group's currents then only add, saturate and compare. Throughput one group per cycle
    when no neuron spikes, plus one cycle per step (the first group's leak waits for the
    step to turn); each spike costs one output cycle (the group waits while its spikes
    leave). Back-pressure on ``o`` stalls the input.
    """

    def __init__(self, cfg: NacaConfig, layer: str, *, lanes: int, h_lookup: bool = False):
        n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
        self._cfg, self._layer, self._lanes, self._n = cfg, layer, lanes, n
        self._groups = lane_groups(n, lanes)
        self._current = current_shape(cfg, layer)
        self._h_lookup = h_lookup
        h_port = ({"h_read": Out(memory.ReadPort.Signature(
                      addr_width=index_shape(self._groups).width,
                      shape=h_group_layout(lanes)))} if h_lookup else
                  {"h_out": Out(ArrayLayout(signed(2), n))})
        super().__init__({
            "mask": In(unsigned(n), init=(1 << n) - 1),
            "i": In(stream.Signature(StructLayout({
                "group": index_shape(self._groups),
                "currents": ArrayLayout(self._current, lanes), "last": 1}))),
            "o": Out(stream.Signature(StructLayout({
                "index": index_shape(n), "spike": 1, "last": 1}))),
            **h_port,
        })

    def elaborate(self, platform):
        cfg, layer, lanes, groups = self._cfg, self._layer, self._lanes, self._groups
        membrane = shape_of(getattr(cfg.formats, f"membrane_{layer}"))
        state = StructLayout({"v": membrane, "fired": 1})
        m = Module()
        m.submodules.scan = scan = ReadScan(count=groups, addr_shape=index_shape(groups))
        m.d.comb += [scan.start.valid.eq(1), scan.start.payload.eq(0)]

        pending = Signal(lanes)              # spikes of the accepted group still to be sent
        pending_group = Signal(range(groups))
        end_pending = Signal()               # the step's last beat is still to be sent
        take = Signal()
        step = Signal(range(cfg.time_steps))
        first_step = Signal(init=1)          # step == 0, held in a register
        with m.If(take & self.i.payload.last):
            wrap = step == cfg.time_steps - 1
            m.d.sync += [step.eq(Mux(wrap, 0, step + 1)), first_step.eq(wrap)]
        # the next group's leaked membranes and fired bits, read and computed ahead
        ahead = Signal()
        ahead_last = Signal()
        leaked_shape = leak(cfg, Signal(membrane), 0).shape()
        leaked = [Signal(leaked_shape, name=f"leaked{p}") for p in range(lanes)]
        fired = [Signal(name=f"fired{p}") for p in range(lanes)]
        capture = Signal()
        m.d.comb += [
            self.i.ready.eq(ahead & (pending == 0) & ~end_pending),
            take.eq(self.i.valid & self.i.ready),
            # a step's first group waits until the previous step's last has been written
            capture.eq(scan.present & (~ahead | (take & ~ahead_last))),
            scan.advance.eq(capture),
        ]
        with m.If(capture):
            m.d.sync += [ahead.eq(1), ahead_last.eq(scan.last)]
        with m.Elif(take):
            m.d.sync += ahead.eq(0)
        spikes, h_of_group = [], []
        for p in range(lanes):
            mem = memory.Memory(shape=state, depth=groups, init=[])
            m.submodules[f"state{p}"] = mem
            write = mem.write_port()
            read = mem.read_port(transparent_for=(write,))
            m.d.comb += read.addr.eq(scan.addr)
            fired_old = read.data.fired & ~first_step
            # the lane's mask bits by group (padding neurons never fire)
            lane_mask = Cat(self.mask[g * lanes + p] if g * lanes + p < self._n else 0
                            for g in range(groups))
            with m.If(capture):
                m.d.sync += [leaked[p].eq(leak(cfg, Mux(first_step, 0, read.data.v), fired_old)),
                             fired[p].eq(fired_old)]
            v_next, spike, h = integrate(m, cfg, layer, leaked[p], fired[p],
                                         self.i.payload.currents[p],
                                         lane_mask.bit_select(self.i.payload.group, 1))
            spike_sig = Signal(name=f"spike{p}")
            m.d.comb += [spike_sig.eq(spike), write.addr.eq(self.i.payload.group),
                         write.en.eq(take), write.data.v.eq(v_next), write.data.fired.eq(spike_sig)]
            spikes.append(spike_sig)
            h_sig = Signal(signed(2), name=f"h{p}")
            m.d.comb += h_sig.eq(h)
            h_of_group.append(h_sig)
            if not self._h_lookup:
                for g in range(groups):       # neuron g*P + p takes its h when group g steps
                    if g * lanes + p < self._n:
                        with m.If(take & (self.i.payload.group == g)):
                            m.d.sync += self.h_out[g * lanes + p].eq(h_sig)
        if self._h_lookup:
            m.submodules.h = h_memory = memory.Memory(shape=h_group_layout(lanes),
                                                      depth=groups, init=[])
            h_write, h_read = h_memory.write_port(), h_memory.read_port()
            # written the cycle after the group is taken, from registers (the compares then
            # end there, not at the block RAM); ``pending_group`` is that group
            h_written, h_word = Signal(), Signal.like(h_write.data)
            m.d.sync += [h_written.eq(take), h_word.eq(Cat(*h_of_group))]
            m.d.comb += [h_write.addr.eq(pending_group), h_write.en.eq(h_written),
                         h_write.data.eq(h_word), h_read.addr.eq(self.h_read.addr),
                         h_read.en.eq(self.h_read.en), self.h_read.data.eq(h_read.data)]
        with m.If(take):
            m.d.sync += [pending.eq(Cat(*spikes)), pending_group.eq(self.i.payload.group),
                         end_pending.eq(self.i.payload.last)]

        # Serialise: the lowest pending lane first, then the step's terminator.
        lowest = Signal(range(lanes))
        for p in reversed(range(lanes)):
            with m.If(pending[p]):
                m.d.comb += lowest.eq(p)
        m.d.comb += [
            self.o.valid.eq((pending != 0) | end_pending),
            self.o.payload.spike.eq(pending != 0),
            self.o.payload.last.eq(pending == 0),
            self.o.payload.index.eq(Mux(pending != 0, pending_group * lanes + lowest, 0)),
        ]
        with m.If(self.o.valid & self.o.ready):
            with m.If(pending != 0):
                m.d.sync += pending.eq(pending & ~(1 << lowest))
            with m.Else():
                m.d.sync += end_pending.eq(0)
        return m
