"""A typed stream FIFO: ``lib.fifo.SyncFIFOBuffered`` behind ``lib.stream`` ports of a layout."""

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


def connect_buffered(m: Module, name: str, source, sink, *, depth: int = 2) -> None:
    """Connect the stream ``source`` to ``sink`` through a :class:`StreamFifo` of ``depth``
    beats, added to ``m`` as submodule ``name``: the two ends then meet only at registers.
    With ``depth`` 0 the two are connected directly (no latency, no registers)."""
    if depth == 0:
        wiring.connect(m, source, sink)
        return
    m.submodules[name] = buffer = StreamFifo(source.payload.shape(), depth=depth)
    wiring.connect(m, source, buffer.i)
    wiring.connect(m, buffer.o, sink)
