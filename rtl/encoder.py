"""Spike encoder: a sample's pixel codes and a step key in, the active input indices out."""

from amaranth.hdl import Cat, EnableInserter, Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import RANDOM_BYTE_BITS, NacaConfig
from .fixed import index_shape, shape_of
from .pipeline import shift
from .random import HASH_LATENCY, WORD, HashPipeline
from .scan import PositionIssuer


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
        One key per step starts a scan of all N inputs. The key is not copied: its payload
        must hold until ``hash_free`` rises again (the :class:`KeyUnit`'s does: it changes only
        with a new request, which waits for ``hash_free``). The next key is taken as soon as the
        scan has issued its last position.
    o: Out(stream of :func:`event_layout`)
        The active inputs in ascending order, then a terminating ``last`` beat.
    hash_free: Out(1); hash_x: In(32); hash_word: Out(32)
        The encoder's :class:`HashPipeline`, lent while no step runs (``hash_free``: no key
        being scanned, nothing in flight): it then hashes ``hash_x`` into ``hash_word``,
        :data:`HASH_LATENCY` cycles later (the :class:`KeyUnit`'s rounds).

    A pipeline of ``HASH_LATENCY`` stages (the code read and the hash) and an output register
    examines one input per cycle; inputs that do not spike leave no beat. Latency
    ``HASH_LATENCY + 1`` cycles from a position's issue to its beat, so a step takes N + 1
    cycles plus that latency while ``o`` is ready. Back-pressure on ``o`` stalls the whole
    pipeline without losing events.
    """

    def __init__(self, cfg: NacaConfig):
        self._cfg = cfg
        super().__init__({
            "pixels": In(stream.Signature(pixel_layout(cfg))),
            "key": In(stream.Signature(WORD)),
            "o": Out(stream.Signature(event_layout(cfg))),
            "hash_free": Out(1),
            "hash_x": In(WORD),
            "hash_word": Out(WORD),
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

        advance = Signal()                  # every stage moves on (nothing waits at the end)
        key = self.key.payload              # held while the step's positions are issued
        m.submodules.issue = issue = PositionIssuer(count=n + 1, addr_shape=index_shape(n + 1))
        m.d.comb += [issue.start.valid.eq(self.key.valid), issue.start.payload.eq(0),
                     self.key.ready.eq(issue.start.ready), issue.advance.eq(advance)]

        # Stage 0 issues a position (n is the step's terminator) and its hash begins; its
        # code is read on the way into the second-to-last stage and registered into the last.
        m.submodules.hash = hasher = EnableInserter(advance)(HashPipeline())
        stages = [Signal(StructLayout({"valid": 1, "position": range(n + 1)}),
                         name=f"stage{k}") for k in range(HASH_LATENCY + 1)]
        in_flight = Cat(self.o.valid, *(stage.valid for stage in stages)) != 0
        m.d.comb += [stages[0].valid.eq(issue.valid), stages[0].position.eq(issue.position),
                     self.hash_free.eq(issue.start.ready & ~in_flight),
                     hasher.x.eq(Mux(self.hash_free, self.hash_x,
                                     key ^ (issue.position >> 2))),
                     self.hash_word.eq(hasher.word),
                     read.addr.eq(stages[-3].position), read.en.eq(advance)]
        code = Signal.like(read.data)
        with m.If(advance):
            shift(m, stages)
            m.d.sync += code.eq(read.data)

        # The last stage decides: a spike or the terminator leaves as a beat, from a register
        # (the compare then ends there, not in the handshake and the pipeline's enables).
        done = stages[-1]
        byte = (hasher.word >> (done.position[:2] * 8))[:RANDOM_BYTE_BITS]
        rand = byte >> (RANDOM_BYTE_BITS - cfg.formats.input.width)
        terminator = done.position == n
        with m.If(advance):
            m.d.sync += [self.o.payload.index.eq(done.position),
                         self.o.payload.spike.eq(~terminator),
                         self.o.payload.last.eq(terminator),
                         self.o.valid.eq(done.valid & (terminator | (rand < code)))]
        m.d.comb += advance.eq(~self.o.valid | self.o.ready)
        return m
