"""A typed stream FIFO (``lib.fifo.SyncFIFOBuffered`` behind ``lib.stream`` ports of a layout)
and a stream register."""

from amaranth.hdl import Module, Value
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out


class StreamFifo(wiring.Component):
    """``depth`` beats of ``layout`` between two streams.

    Latency 2 cycles (``SyncFIFOBuffered``); one beat per cycle in and out; ``i.ready`` falls
    when ``depth`` beats are held.
    """

    def __init__(self, layout, *, depth: int):
        self._layout, self._depth = layout, depth
        super().__init__({"i": In(stream.Signature(layout)), "o": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.buffer = buffer = fifo.SyncFIFOBuffered(
            width=len(Value.cast(self.i.payload)), depth=self._depth)
        m.d.comb += [buffer.w_data.eq(self.i.payload), buffer.w_en.eq(self.i.valid),
                     self.i.ready.eq(buffer.w_rdy),
                     self.o.payload.eq(buffer.r_data), self.o.valid.eq(buffer.r_rdy),
                     buffer.r_en.eq(self.o.ready)]
        return m


class StreamRegister(wiring.Component):
    """One register stage on a stream: its payload and ``valid`` leave from registers, its
    ``ready`` passes through (``i.ready = ~o.valid | o.ready``).

    Latency 1 cycle; one beat per cycle; back-pressure on ``o`` holds the beat and stalls ``i``.
    """

    def __init__(self, layout):
        super().__init__({"i": In(stream.Signature(layout)), "o": Out(stream.Signature(layout))})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(self.i.ready):
            m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        return m


def connect_buffered(m: Module, name: str, source, sink, *, depth: int = 2,
                     registered: bool = False) -> None:
    """Connect the stream ``source`` to ``sink`` through a :class:`StreamFifo` of ``depth``
    beats, added to ``m`` as submodule ``name``: the two ends then meet only at registers.
    With ``depth`` 0 the two are connected directly (no latency, no registers); with ``depth``
    0 and ``registered``, through a :class:`StreamRegister` (the payload and ``valid`` leave
    from registers, ``ready`` passes through)."""
    if depth == 0 and registered:
        m.submodules[name] = buffer = StreamRegister(source.payload.shape())
    elif depth == 0:
        wiring.connect(m, source, sink)
        return
    else:
        m.submodules[name] = buffer = StreamFifo(source.payload.shape(), depth=depth)
    wiring.connect(m, source, buffer.i)
    wiring.connect(m, buffer.o, sink)
