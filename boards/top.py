"""The board-independent top: the NACA core behind the UART host link, with status LEDs."""

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from ..rtl.fifo import connect_buffered
from ..rtl.network import NacaCore
from .link import HostLink, connect_to_core
from .uart import UartRx, UartTx, divisor_for

#: A frame pauses at most this many byte times before the link reports it truncated.
TIMEOUT_BYTES = 64


class NacaUartTop(wiring.Component):
    """:class:`NacaCore` + :class:`HostLink` + 8N1 UART at ``baud`` from a ``clock_hz`` clock.

    Members
    -------
    rx: In(1), tx: Out(1): the UART pins (idle high).
    leds: Out(3), registered: bit 0 a sample or frame is being handled, bit 1 the link's last
        frame was refused (until the next good one), bit 2 a heartbeat (about 1.5 Hz).

    Board tops (:mod:`boards.build`) add the clock, the PLL and the pins. Without
    ``registered_streams`` the core and the link drop the FIFOs between their units (see
    :class:`NacaCore`): smaller, for a slower clock. ``single_port_weights`` as in
    :class:`NacaCore`.
    """

    def __init__(self, cfg: NacaConfig, *, lanes: int, clock_hz: float, baud: int,
                 registered_streams: bool = True, single_port_weights: bool = False):
        self._cfg, self._lanes, self._registered = cfg, lanes, registered_streams
        self._single_port = single_port_weights
        self._clock_hz, self._divisor = clock_hz, divisor_for(clock_hz, baud)
        super().__init__({"rx": In(1, init=1), "tx": Out(1, init=1), "leds": Out(3)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = NacaCore(self._cfg, lanes=self._lanes,
                                            registered_streams=self._registered,
                                            single_port_weights=self._single_port)
        m.submodules.link = link = HostLink(self._cfg, lanes=self._lanes,
                                            timeout=self._divisor * 10 * TIMEOUT_BYTES)
        m.submodules.uart_rx = uart_rx = UartRx(self._divisor)
        m.submodules.uart_tx = uart_tx = UartTx(self._divisor)
        connect_to_core(m, link, core, registered=self._registered)
        wiring.connect(m, uart_rx.o, link.rx)
        # one register between the link's reply framer and the transmitter
        connect_buffered(m, "tx_register", link.tx, uart_tx.i, depth=1)
        m.d.comb += [uart_rx.rx.eq(self.rx), self.tx.eq(uart_tx.tx)]

        # whether the reply leaving for the transmitter is an error (taken after the register,
        # away from the link's handshake logic)
        refused = Signal()
        with m.If(uart_tx.i.valid & uart_tx.i.ready):
            m.d.sync += refused.eq(link.refusing)
        heartbeat = Signal(max(1, int(self._clock_hz).bit_length() - 2))
        m.d.sync += heartbeat.eq(heartbeat + 1)
        m.d.sync += self.leds.eq(link.busy | core.busy | refused << 1 | heartbeat[-1] << 2)
        return m
