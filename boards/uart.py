"""8N1 UART receiver and transmitter with ``lib.stream`` byte ports."""

from amaranth.hdl import Module, Signal, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


def divisor_for(clock_hz: float, baud: int) -> int:
    """Clock cycles per bit; refuses rates the clock cannot time within 2 %."""
    divisor = round(clock_hz / baud)
    if divisor < 4 or abs(clock_hz / divisor - baud) / baud > 0.02:
        raise ValueError(f"a {clock_hz / 1e6:g} MHz clock cannot time {baud} baud within 2 % "
                         f"(cycles per bit {clock_hz / baud:.2f}); choose another baud rate")
    return divisor


class UartRx(wiring.Component):
    """Samples ``rx`` (synchronised) in the middle of each bit; a byte leaves on ``o`` after
    its stop bit. A missing stop bit drops the byte. ``o`` holds one byte: if it is not taken
    before the next byte ends, the older byte is overwritten.
    """

    def __init__(self, divisor: int):
        self._divisor = divisor
        super().__init__({"rx": In(1, init=1), "o": Out(stream.Signature(unsigned(8)))})

    def elaborate(self, platform):
        m = Module()
        line = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, line, init=1)
        timer = Signal(range(self._divisor * 3 // 2 + 1))
        bits = Signal(range(10))
        shift = Signal(8)
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~line):
                    # wait one and a half bits: the middle of data bit 0
                    m.d.sync += [timer.eq(self._divisor * 3 // 2 - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq(line << 7 | shift >> 1), bits.eq(bits + 1),
                                 timer.eq(self._divisor - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    with m.If(line):
                        m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(1)]
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """Sends each byte of ``i`` as start bit, 8 data bits (LSB first) and a stop bit;
    ``i.ready`` once the previous stop bit has lasted its bit time (10 bit times per byte)."""

    def __init__(self, divisor: int):
        self._divisor = divisor
        super().__init__({"i": In(stream.Signature(unsigned(8))), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self._divisor))
        frame = Signal(10)
        bits = Signal(range(11))
        m.d.comb += self.i.ready.eq((bits == 0) & (timer == 0))
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [frame.eq(1 << 9 | self.i.payload << 1), bits.eq(10),
                         timer.eq(0)]
        with m.Elif(bits != 0):
            with m.If(timer == 0):
                m.d.sync += [self.tx.eq(frame[0]), frame.eq(frame >> 1), bits.eq(bits - 1),
                             timer.eq(self._divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        with m.Elif(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        return m
