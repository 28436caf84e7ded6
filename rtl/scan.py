"""Walking a synchronous memory read port over consecutive addresses, with back-pressure."""

from amaranth.hdl import Cat, Module, Signal, Value
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .fixed import index_shape


class ReadScan(wiring.Component):
    """Presents ``count`` consecutive memory words, one position per step of the consumer.

    A ``start`` beat (the base address) begins a scan of positions 0 .. count-1. While
    ``present`` is high, the read port's data is the word at ``base + index``; the consumer
    raises ``advance`` (in the same cycle) to move on, and the scan ends after advancing from
    position ``count - 1``. Positions may run past the memory (a terminator position): the
    consumer then ignores the data.

    Members
    -------
    start: In(stream of base address); ready while idle.
    addr: Out(address)
        Drive the read port's address with it; it holds while the consumer stalls.
    index: Out(position); present: Out(1); last: Out(1) (``index == count - 1``)
    advance: In(1)

    Latency one cycle from ``start`` to the first ``present``; then one position per cycle
    while ``advance`` is high.
    """

    def __init__(self, *, count: int, addr_shape):
        self._count = count
        super().__init__({
            "start": In(stream.Signature(addr_shape)),
            "addr": Out(addr_shape),
            "index": Out(index_shape(count)),
            "present": Out(1),
            "last": Out(1),
            "advance": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        base = Signal.like(self.addr)
        busy, fetched = Signal(), Signal()
        m.d.comb += [
            self.start.ready.eq(~busy),
            self.present.eq(busy & fetched),
            self.last.eq(self.index == self._count - 1),
            self.addr.eq(base + self.index + (self.present & self.advance)),
        ]
        with m.If(self.start.valid & self.start.ready):
            m.d.sync += [base.eq(self.start.payload), self.index.eq(0), busy.eq(1),
                         fetched.eq(0)]
        with m.If(busy & ~fetched):
            m.d.sync += fetched.eq(1)
        with m.If(self.present & self.advance):
            with m.If(self.last):
                m.d.sync += busy.eq(0)
            with m.Else():
                m.d.sync += self.index.eq(self.index + 1)
        return m


class PositionIssuer(wiring.Component):
    """Issues positions 0 .. count-1 into a pipeline that moves while ``advance`` is high.

    A ``start`` beat (the base address) begins; from the next cycle, ``valid`` is high with
    ``position`` and ``addr = base + position`` (drive the first stage and the read port's
    address with them; use ``advance`` as the read port's enable). Each cycle with ``advance``
    issues one position; the next ``start`` is taken once ``last`` has been issued.

    Members
    -------
    start: In(stream of base address); ready while no scan is being issued.
    advance: In(1)
    valid: Out(1); position: Out(range(count)); addr: Out(address); last: Out(1)
    """

    def __init__(self, *, count: int, addr_shape):
        self._count = count
        super().__init__({
            "start": In(stream.Signature(addr_shape)),
            "advance": In(1),
            "valid": Out(1),
            "position": Out(index_shape(count)),
            "addr": Out(addr_shape),
            "last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        base = Signal.like(self.addr)
        m.d.comb += [self.start.ready.eq(~self.valid), self.addr.eq(base + self.position),
                     self.last.eq(self.position == self._count - 1)]
        with m.If(self.start.valid & self.start.ready):
            m.d.sync += [base.eq(self.start.payload), self.position.eq(0), self.valid.eq(1)]
        with m.Elif(self.valid & self.advance):
            m.d.sync += self.position.eq(self.position + 1)
            with m.If(self.last):
                m.d.sync += self.valid.eq(0)
        return m


def serve_reads(m: Module, request, response, data, *, allowed, latency: int = 1) -> Value:
    """Answer a ``request`` stream from a synchronous read port onto a ``response`` stream.

    A request is taken while ``allowed`` and nothing is outstanding; ``data`` (the port's data
    ``latency`` cycles later: 1, or 2 through a register after the port) goes out on
    ``response`` and is held until taken. Returns the acceptance: while it is high, drive the
    read port's address from the request.
    """
    pending = Signal(latency)                # the taken request, moving towards its data
    take = request.valid & request.ready
    m.d.comb += request.ready.eq(allowed & (pending == 0) & ~response.valid)
    m.d.sync += pending.eq(Cat(take, pending[:-1]))
    with m.If(pending[-1]):
        m.d.sync += [response.valid.eq(1), response.payload.eq(data)]
    with m.If(response.valid & response.ready):
        m.d.sync += response.valid.eq(0)
    return take
