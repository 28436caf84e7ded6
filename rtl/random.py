"""Counter-based random bits in hardware, bit-exact with :mod:`golden_model.rng`.

:func:`mix32` builds the golden model's mixing function from adders, xors and shifts (no
multiplier). :class:`KeyUnit` derives the key of one (stream, sample, step) with that one
mixer, iterated four times, through a borrowed :class:`HashPipeline` (the mixer as a
three-cycle pipeline).
"""

from amaranth.hdl import Module, Signal, Value, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.data import ArrayLayout, StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.rng import Stream

WORD = unsigned(32)


def mix32(m: Module, x: Value, *, registered_after: tuple[int, ...] = ()) -> Value:
    """Wang's 32-bit integer hash of the 32-bit unsigned ``x``, as logic of ``m``.

    Each of the six stages is a signal (a stage reads its input two or three times). With
    ``registered_after`` (stage numbers 0-5) the stage's result is registered instead, so the
    hash is a pipeline of ``len(registered_after)`` cycles latency and one word per cycle.
    """
    stages = (lambda v: ~v + (v << 15), lambda v: v ^ (v >> 12), lambda v: v + (v << 2),
              lambda v: v ^ (v >> 4), lambda v: v + (v << 3) + (v << 11),
              lambda v: v ^ (v >> 16))
    for number, stage in enumerate(stages):
        held = Signal(WORD, name=f"mix{number}")
        m.d.comb += held.eq(x)
        x = stage(held)[:32]
        if number in registered_after:
            register = Signal(WORD, name=f"mix{number}_q")
            m.d.sync += register.eq(x)
            x = register
    return x


#: Registers after the adder stages: an adder and its register then share logic cells (on the
#: iCE40 too); the last xor-shift is left to the reader of ``word``.
PIPELINED_MIX = (0, 2, 4)


class HashPipeline(wiring.Component):
    """:func:`mix32` as a pipeline of three registers (see :data:`PIPELINED_MIX`).

    Members
    -------
    x: In(32); word: Out(32)
        ``word`` is ``mix32(x)`` of the ``x`` presented :data:`HASH_LATENCY` cycles earlier.

    One word per cycle; no back-pressure (wrap it in ``EnableInserter`` to stall it).
    """

    def __init__(self):
        super().__init__({"x": In(WORD), "word": Out(WORD)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.word.eq(mix32(m, self.x, registered_after=PIPELINED_MIX))
        return m


HASH_LATENCY = len(PIPELINED_MIX)


class HashBank(wiring.Component):
    """``count`` :class:`HashPipeline` s side by side.

    Members
    -------
    x: In(count words); word: Out(count words)
        ``word[k]`` is ``mix32(x[k])`` of the ``x`` presented :data:`HASH_LATENCY` cycles
        earlier. One word per pipeline per cycle; no back-pressure.
    """

    def __init__(self, count: int):
        self._count = count
        super().__init__({"x": In(ArrayLayout(WORD, count)),
                          "word": Out(ArrayLayout(WORD, count))})

    def elaborate(self, platform):
        m = Module()
        for k in range(self._count):
            m.submodules[f"hash{k}"] = hasher = HashPipeline()
            m.d.comb += [hasher.x.eq(self.x[k]), self.word[k].eq(hasher.word)]
        return m


def key_request_layout(step_shape) -> StructLayout:
    """A key request: the random stream (:class:`golden_model.rng.Stream`) and the step."""
    return StructLayout({"stream": range(max(Stream) + 1), "step": step_shape})


class KeyUnit(wiring.Component):
    """key = mix(mix(mix(mix(seed) ^ stream) ^ sample) ^ step), one unit for every stream,
    hashing through a :class:`HashPipeline` it borrows (the spike encoder's, while the encoder
    is idle: :attr:`encoder.SpikeEncoder.hash_free`).

    Parameters
    ----------
    step_shape:
        Shape of the step field (from the config's time steps).

    Members
    -------
    seed: In(32)
        The network seed (run-time loadable); read during the request's first round.
    sample: In(32)
        The sample's number; held from a request until its key is taken.
    i: In(stream of {stream, step})
        One request per key.
    o: Out(stream of 32-bit key)
    hash_x: Out(32); hash_word: In(32); hash_free: In(1)
        The borrowed pipeline: ``hash_word`` is ``mix32`` of the ``hash_x`` of
        :data:`HASH_LATENCY` cycles earlier while ``hash_free`` is high. A request is taken only
        while it is, and its owner must keep it free until the key has been taken.

    Four rounds through the pipeline, ``HASH_LATENCY + 1`` cycles each: latency
    ``4 * (HASH_LATENCY + 1)`` cycles from an accepted request to ``o.valid``; one request at a
    time (``i.ready`` is low from acceptance until the key is taken). Back-pressure on ``o``
    holds the key.
    """

    def __init__(self, *, step_shape):
        super().__init__({
            "seed": In(WORD),
            "sample": In(WORD),
            "i": In(stream.Signature(key_request_layout(step_shape))),
            "o": Out(stream.Signature(WORD)),
            "hash_x": Out(WORD),
            "hash_word": In(WORD),
            "hash_free": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        acc = Signal(WORD)
        request = Signal.like(self.i.payload)
        round_ = Signal(range(5))
        waited = Signal(range(HASH_LATENCY + 1))    # cycles the round's operand has been in
        operand = Signal(WORD)
        with m.Switch(round_):
            with m.Case(1):
                m.d.comb += operand.eq(self.seed)
            with m.Case(2):
                m.d.comb += operand.eq(acc ^ request.stream)
            with m.Case(3):
                m.d.comb += operand.eq(acc ^ self.sample)
            with m.Case(4):
                m.d.comb += operand.eq(acc ^ request.step)
        m.d.comb += [self.hash_x.eq(operand), self.i.ready.eq((round_ == 0) & self.hash_free),
                     self.o.payload.eq(acc)]
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [request.eq(self.i.payload), round_.eq(1), waited.eq(0)]
        with m.Elif((round_ != 0) & ~self.o.valid):
            with m.If(waited == HASH_LATENCY):
                m.d.sync += [acc.eq(self.hash_word), waited.eq(0)]
                with m.If(round_ == 4):
                    m.d.sync += self.o.valid.eq(1)
                with m.Else():
                    m.d.sync += round_.eq(round_ + 1)
            with m.Else():
                m.d.sync += waited.eq(waited + 1)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [self.o.valid.eq(0), round_.eq(0)]
        return m
