"""The host link in gateware: frames of :mod:`boards.protocol` in, the core driven, replies out."""

from amaranth.hdl import Const, Module, Mux, Signal, Value, unsigned
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from ..rtl.control import STATUS, Register, Target, control_layout
from ..rtl.fifo import connect_buffered
from ..rtl.network import result_layout, sample_layout
from .protocol import ACCESS_BYTES, MAX_PAYLOAD, READ_BYTES, REPLY, SYNC, Command, Error

BYTE = unsigned(8)


def crc16_step(m: Module, crc: Value, byte: Value) -> Value:
    """CRC-16/CCITT-FALSE after one more byte (one signal per bit step)."""
    value = crc ^ (byte << 8)
    for bit in range(8):
        held = Signal(16, name=f"crc_bit{bit}")
        m.d.comb += held.eq(value)
        value = Mux(held[15], (held << 1) ^ 0x1021, held << 1)[:16]
    return value


def registered_offer(m: Module, port, offering: Value) -> Value:
    """Drive the stream ``port``'s ``valid`` from a register: high the cycle after
    ``offering`` rises, low again once the beat is taken. Returns the acceptance, also from a
    register (a cycle after it happened); ``offering`` and the payload must hold until then."""
    taken = Signal()
    accepted = port.valid & port.ready
    m.d.sync += [port.valid.eq(offering & ~accepted & ~taken), taken.eq(accepted)]
    return taken


class HostLink(wiring.Component):
    """Receives a whole frame into its buffer, checks length and CRC, then runs the command on
    the core's ports and sends one reply frame. A bad frame (CRC, unknown command, wrong or
    oversized length, a pause longer than ``timeout`` cycles inside a frame, bytes outside a
    frame) gets an ``ERROR`` reply and touches nothing; the link then hunts for ``SYNC``.
    After stray bytes one error is sent, not one per byte.

    Members
    -------
    rx: In(stream of bytes); always ready (bytes arriving while a command runs are dropped:
        the host waits for each reply).
    tx: Out(stream of bytes)
    control, control_data, samples, results: the core's control port and sample streams
        (flipped :class:`rtl.network.NacaCore` members).
    busy: Out(1): a frame is being received or run.
    refusing: Out(1): the reply being sent is an error.

    Throughput: one byte per cycle each way; a command runs at the core's speed. The
    handshakes with the core start and end at registers (a control access or a pixel is valid
    a cycle after it is offered, and its acceptance is acted on a cycle later; answers and
    results are taken a cycle after their last byte is sent), so the two may be connected
    without FIFOs.
    """

    def __init__(self, cfg: NacaConfig, *, lanes: int, timeout: int):
        if cfg.n_inputs + 1 > MAX_PAYLOAD:
            raise ValueError(f"n_inputs = {cfg.n_inputs}: a sample's frame ({cfg.n_inputs + 1} "
                             f"bytes) would not fit the host link's {MAX_PAYLOAD}-byte frame "
                             f"buffer; the link takes at most {MAX_PAYLOAD - 1} inputs")
        self._cfg, self._lanes, self._timeout = cfg, lanes, timeout
        super().__init__({
            "rx": In(stream.Signature(BYTE)),
            "tx": Out(stream.Signature(BYTE)),
            "control": Out(stream.Signature(control_layout(cfg, lanes))),
            "control_data": In(stream.Signature(unsigned(32))),
            "samples": Out(stream.Signature(sample_layout(cfg))),
            "results": In(stream.Signature(result_layout(cfg))),
            "busy": Out(1),
            "refusing": Out(1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        n, c = cfg.n_inputs, cfg.n_classes
        m = Module()
        m.submodules.buffer = buffer = memory.Memory(shape=BYTE, depth=MAX_PAYLOAD, init=[])
        put, get = buffer.write_port(), buffer.read_port()

        byte, got = self.rx.payload, self.rx.valid
        # a payload's lengths and positions (a longer frame is refused as its length arrives)
        frame_count = range(MAX_PAYLOAD + 1)
        command, length = Signal(8), Signal(frame_count)
        count = Signal(frame_count)          # payload bytes received, then consumed
        final = Signal(frame_count)          # the index of the payload's last byte
        crc = Signal(16, init=0xFFFF)
        crc_next = crc16_step(m, crc, byte)
        crc_ok = Signal()                    # the received CRC's bytes so far match
        idle_cycles = Signal(range(self._timeout + 1))
        stray = Signal()                     # the error for a run of stray bytes was sent
        error = Signal(8)
        reply_command, expected = Signal(8), Signal(frame_count)   # the reply's command, length

        # the record being gathered from the buffer, and the answer being sent back
        write, target, addr, data = Signal(), Signal(8), Signal(32), Signal(32)
        field = Signal(range(16))
        label = Signal(8)
        status_index = Signal(range(2 * len(STATUS) + 1))

        # the reply framer's side: payload bytes offered by the command states
        reply_byte, reply_ready, reply_taken = Signal(8), Signal(), Signal()
        sending, tx_done = Signal(), Signal()

        # the buffer is read synchronously: ``data_ok`` once its output is the byte at ``count``
        last_addr = Signal.like(count)
        data_ok = Signal()
        m.d.sync += last_addr.eq(count)
        m.d.comb += [get.addr.eq(count), data_ok.eq(last_addr == count),
                     self.rx.ready.eq(1), put.data.eq(byte), put.addr.eq(count)]
        with m.If(got):
            m.d.sync += idle_cycles.eq(0)
        with m.Elif(idle_cycles != self._timeout):
            m.d.sync += idle_cycles.eq(idle_cycles + 1)
        timed_out = idle_cycles == self._timeout

        # the handshakes with the core start and end at registers (see registered_offer)
        access = self.control.payload
        asking, offering = Signal(), Signal()            # a control access, a pixel
        control_taken = registered_offer(m, self.control, asking)
        pixel_taken = registered_offer(m, self.samples, offering)
        # the core's held answer (or result) is taken the cycle after its last byte is sent
        answer_sent, result_sent = Signal(), Signal()
        m.d.sync += [self.control_data.ready.eq(answer_sent), self.results.ready.eq(result_sent)]
        m.d.comb += [access.write.eq(write), access.target.eq(target), access.addr.eq(addr),
                     access.data.eq(data),
                     self.samples.payload.code.eq(get.data),
                     self.samples.payload.label.eq(label),
                     self.samples.payload.train.eq(command == Command.TRAIN)]

        # record counting while the payload arrives (no dividers): the position inside a WRITE
        # and a READ record, and the number of whole READ records
        in_write = Signal(range(ACCESS_BYTES))
        in_read = Signal(range(READ_BYTES))
        reads = Signal(frame_count)
        # whether the command is known and its length right, registered: both are final a
        # CRC byte before they are used
        known, length_ok = Signal(), Signal()
        m.d.sync += [
            length_ok.eq(Mux(command == Command.WRITE, (length != 0) & (in_write == 0),
                         Mux(command == Command.READ, (length != 0) & (in_read == 0),
                         Mux((command == Command.TRAIN) | (command == Command.INFER),
                             length == n + 1, length == 0)))),
            known.eq(sum(command == cmd for cmd in (
                Command.WRITE, Command.READ, Command.TRAIN, Command.INFER, Command.STATUS,
                Command.RESET)) != 0),
        ]

        def frame_byte(then, *updates):
            """Take the next byte of a frame, or give up on a pause."""
            m.d.comb += self.busy.eq(1)
            with m.If(got):
                m.d.sync += updates
                m.next = then
            with m.Elif(timed_out):
                m.d.sync += error.eq(Error.TRUNCATED)
                m.next = "ERROR"

        def gather(*fields):
            """Take the record's next buffer byte into its field: ``fields`` are the registers
            filled in order, little-endian, a byte per cycle once the buffer's data is ready."""
            with m.If(data_ok):
                m.d.sync += [count.eq(count + 1), field.eq(field + 1)]
                with m.Switch(field):
                    first = 0
                    for register in fields:
                        for k in range(len(register) // 8):
                            with m.Case(first + k):
                                m.d.sync += register.word_select(k, 8).eq(get.data)
                        first += len(register) // 8

        with m.FSM(name="link"):
            with m.State("HUNT"):
                with m.If(got & (byte == SYNC)):
                    m.d.sync += [stray.eq(0), crc.eq(0xFFFF), count.eq(0), in_write.eq(0),
                                 in_read.eq(0), reads.eq(0)]
                    m.next = "COMMAND"
                with m.Elif(got & ~stray):
                    m.d.sync += [stray.eq(1), error.eq(Error.STRAY_BYTES)]
                    m.next = "ERROR"
            with m.State("COMMAND"):
                frame_byte("LENGTH_LOW", command.eq(byte), crc.eq(crc_next))
            with m.State("LENGTH_LOW"):
                frame_byte("LENGTH_HIGH", length[:8].eq(byte), crc.eq(crc_next))
            with m.State("LENGTH_HIGH"):
                full = byte << 8 | length[:8]
                m.d.comb += self.busy.eq(1)
                with m.If(got):
                    m.d.sync += [length[8:].eq(byte), crc.eq(crc_next), final.eq(full - 1)]
                    with m.If(full > MAX_PAYLOAD):
                        m.d.sync += error.eq(Error.BAD_LENGTH)
                        m.next = "ERROR"
                    with m.Elif(full == 0):
                        m.next = "CRC_LOW"
                    with m.Else():
                        m.next = "PAYLOAD"
                with m.Elif(timed_out):
                    m.d.sync += error.eq(Error.TRUNCATED)
                    m.next = "ERROR"
            with m.State("PAYLOAD"):
                m.d.comb += put.en.eq(got)
                frame_byte("PAYLOAD", count.eq(count + 1), crc.eq(crc_next),
                           in_write.eq(Mux(in_write == ACCESS_BYTES - 1, 0, in_write + 1)),
                           in_read.eq(Mux(in_read == READ_BYTES - 1, 0, in_read + 1)),
                           reads.eq(reads + (in_read == READ_BYTES - 1)))
                with m.If(got & (count == final)):
                    m.next = "CRC_LOW"
            with m.State("CRC_LOW"):
                frame_byte("CRC_HIGH", crc_ok.eq(byte == crc[:8]))
            with m.State("CRC_HIGH"):
                frame_byte("CHECK", crc_ok.eq(crc_ok & (byte == crc[8:])))
            with m.State("CHECK"):
                # the frame is whole (bytes arriving now belong to no frame and are dropped)
                m.d.comb += self.busy.eq(1)
                m.d.sync += [count.eq(0), field.eq(0), status_index.eq(0),
                             reply_command.eq(command | REPLY)]
                with m.If(~crc_ok):
                    m.d.sync += error.eq(Error.BAD_CRC)
                    m.next = "ERROR"
                with m.Elif(~known):
                    m.d.sync += error.eq(Error.UNKNOWN_COMMAND)
                    m.next = "ERROR"
                with m.Elif(~length_ok):
                    m.d.sync += error.eq(Error.BAD_LENGTH)
                    m.next = "ERROR"
                with m.Else():
                    with m.Switch(command):
                        with m.Case(Command.WRITE):
                            m.d.sync += expected.eq(0)
                            m.next = "WRITE"
                        with m.Case(Command.READ):
                            m.d.sync += expected.eq(reads << 2)
                            m.next = "READ"
                        with m.Case(Command.TRAIN, Command.INFER):
                            m.d.sync += expected.eq(5 + c)
                            m.next = "SAMPLE"
                        with m.Case(Command.STATUS):
                            m.d.sync += expected.eq(6 * len(STATUS))
                            m.next = "STATUS"
                        with m.Case(Command.RESET):
                            m.d.sync += expected.eq(0)
                            m.next = "RESET"

            with m.State("WRITE"):
                # gather target (1), address (4), data (4) from the buffer, then write
                m.d.comb += self.busy.eq(1)
                with m.If(field < ACCESS_BYTES):
                    gather(target, addr, data)
                with m.Else():
                    m.d.comb += asking.eq(1)
                    m.d.sync += write.eq(1)
                    with m.If(control_taken):
                        m.d.sync += field.eq(0)
                        with m.If(count == length):
                            m.next = "REPLY"
            with m.State("READ"):
                m.d.comb += self.busy.eq(1)
                with m.If(field < READ_BYTES):
                    gather(target, addr)
                with m.Elif(field == READ_BYTES):
                    m.d.comb += asking.eq(1)
                    m.d.sync += write.eq(0)
                    with m.If(control_taken):
                        m.d.sync += field.eq(READ_BYTES + 1)
                with m.Elif(self.control_data.valid):
                    m.d.sync += field.eq(0)
                    m.next = "READ_REPLY"
            with m.State("READ_REPLY"):
                # one answer's 4 bytes, sent from the core's held answer, which is taken with
                # the last (the reply's header goes out before the first)
                m.d.comb += [self.busy.eq(1), sending.eq(1), reply_ready.eq(1),
                             reply_byte.eq(self.control_data.payload.word_select(field[:2], 8))]
                with m.If(reply_taken):
                    m.d.sync += field.eq(field + 1)
                    with m.If(field == 3):
                        m.d.comb += answer_sent.eq(1)
                        m.d.sync += field.eq(0)
                        m.next = "READ_NEXT"
            with m.State("READ_NEXT"):
                m.d.comb += [self.busy.eq(1), sending.eq(1)]
                with m.If(count == length):
                    m.next = "FINISH"
                with m.Else():
                    m.next = "READ"
            with m.State("SAMPLE"):
                # the label, then N pixel beats to the core
                m.d.comb += self.busy.eq(1)
                with m.If(data_ok):
                    with m.If(count == 0):
                        m.d.sync += [label.eq(get.data), count.eq(1)]
                    with m.Else():
                        m.d.comb += offering.eq(1)
                        with m.If(pixel_taken):
                            m.d.sync += count.eq(count + 1)
                            with m.If(count == n):
                                m.next = "RESULT"
            with m.State("RESULT"):
                m.d.comb += self.busy.eq(1)
                with m.If(self.results.valid):
                    m.d.sync += field.eq(0)
                    m.next = "RESULT_REPLY"
            with m.State("RESULT_REPLY"):
                # sample counter (4), prediction (1), spike counts (C), sent from the core's
                # held result, which is taken with the last byte
                result = self.results.payload
                m.d.comb += [self.busy.eq(1), sending.eq(1), reply_ready.eq(1)]
                with m.Switch(field):
                    for k in range(4):
                        with m.Case(k):
                            m.d.comb += reply_byte.eq(result.sample.word_select(k, 8))
                    with m.Case(4):
                        m.d.comb += reply_byte.eq(result.prediction)
                for k in range(c):
                    with m.If(field == 5 + k):
                        m.d.comb += reply_byte.eq(result.counts[k])
                with m.If(reply_taken):
                    m.d.sync += field.eq(field + 1)
                    with m.If(field == 4 + c):
                        m.d.comb += result_sent.eq(1)
                        m.next = "FINISH"
            with m.State("STATUS"):
                # each counter: read its low and high words, send 4 + 2 bytes
                m.d.comb += self.busy.eq(1)
                m.d.sync += [write.eq(0), target.eq(Target.REGISTERS)]
                with m.Switch(status_index):
                    for k, reg in enumerate(int(r) + half for r in STATUS for half in (0, 1)):
                        with m.Case(k):
                            m.d.sync += addr.eq(reg)
                with m.If(field == 0):
                    m.d.comb += asking.eq(1)
                    with m.If(control_taken):
                        m.d.sync += field.eq(1)
                with m.Elif(self.control_data.valid):
                    m.d.sync += field.eq(0)
                    m.next = "STATUS_REPLY"
            with m.State("STATUS_REPLY"):
                # the held answer's low 4 bytes, or 2 of the high word; taken with the last
                m.d.comb += [self.busy.eq(1), sending.eq(1), reply_ready.eq(1),
                             reply_byte.eq(self.control_data.payload.word_select(field[:2], 8))]
                with m.If(reply_taken):
                    m.d.sync += field.eq(field + 1)
                    with m.If(field == Mux(status_index[0], 1, 3)):
                        m.d.comb += answer_sent.eq(1)
                        m.d.sync += [field.eq(0), status_index.eq(status_index + 1)]
                        with m.If(status_index == 2 * len(STATUS) - 1):
                            m.next = "FINISH"
                        with m.Else():
                            m.next = "STATUS"
            with m.State("RESET"):
                m.d.comb += [self.busy.eq(1), asking.eq(1)]
                m.d.sync += [write.eq(1), target.eq(Target.REGISTERS),
                             addr.eq(Register.CLEAR_STATUS)]
                with m.If(control_taken):
                    m.next = "REPLY"
            with m.State("REPLY"):
                m.d.comb += [self.busy.eq(1), sending.eq(1)]
                m.next = "FINISH"
            with m.State("ERROR"):
                m.d.sync += [reply_command.eq(Command.ERROR), expected.eq(1)]
                m.next = "ERROR_REPLY"
            with m.State("ERROR_REPLY"):
                m.d.comb += [sending.eq(1), reply_ready.eq(1), reply_byte.eq(error)]
                with m.If(reply_taken):
                    m.next = "FINISH"
            with m.State("FINISH"):
                m.d.comb += sending.eq(1)
                with m.If(tx_done):
                    m.next = "HUNT"

        m.d.comb += self.refusing.eq(reply_command == Command.ERROR)

        # -- the reply framer: SYNC, command, length, payload, CRC ------------------------------
        # each byte sent is folded into the CRC the cycle after (from a register, not from the
        # byte's multiplexer); the last payload byte is in before the CRC state is reached
        tx_crc = Signal(16, init=0xFFFF)
        # payload bytes still to send, counted down (its compare with 1 reads registers only)
        to_send = Signal(frame_count)
        payload_sent = Signal()              # to_send == 0, registered
        sent, folding = Signal(8), Signal()
        m.d.sync += folding.eq(0)
        with m.If(folding):
            m.d.sync += tx_crc.eq(crc16_step(m, tx_crc, sent))
        with m.FSM(name="reply"):
            with m.State("IDLE"):
                m.d.sync += [tx_crc.eq(0xFFFF), to_send.eq(expected),
                             payload_sent.eq(expected == 0)]
                with m.If(sending):
                    m.next = "SYNC"
            header = (("SYNC", Const(SYNC, 8), "COMMAND"),
                      ("COMMAND", reply_command, "LENGTH_LOW"),
                      ("LENGTH_LOW", expected[:8], "LENGTH_HIGH"),
                      ("LENGTH_HIGH", expected[8:], "PAYLOAD"))
            for state, value, following in header:
                with m.State(state):
                    m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(value)]
                    with m.If(self.tx.ready):
                        if state != "SYNC":
                            m.d.sync += [sent.eq(value), folding.eq(1)]
                        m.next = following
            with m.State("PAYLOAD"):
                with m.If(payload_sent):
                    m.next = "CRC_LOW"
                with m.Else():
                    m.d.comb += [self.tx.valid.eq(reply_ready), self.tx.payload.eq(reply_byte),
                                 reply_taken.eq(reply_ready & self.tx.ready)]
                    with m.If(reply_taken):
                        m.d.sync += [sent.eq(reply_byte), folding.eq(1),
                                     to_send.eq(to_send - 1),
                                     payload_sent.eq(to_send == 1)]
            with m.State("CRC_LOW"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(tx_crc[:8])]
                with m.If(self.tx.ready):
                    m.next = "CRC_HIGH"
            with m.State("CRC_HIGH"):
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(tx_crc[8:])]
                with m.If(self.tx.ready):
                    m.d.comb += tx_done.eq(1)
                    m.next = "IDLE"
        return m


def connect_to_core(m: Module, link: HostLink, core, *, registered: bool = True) -> None:
    """Wire ``link`` to a :class:`rtl.network.NacaCore`'s control port and sample streams,
    each through a two-beat FIFO when ``registered``: the link and the core then meet only
    at registers (the control port's handshake reaches deep into the core's memories). Order
    across the streams is kept: the link receives a whole frame before its first beat, so
    the beats of one frame have left their FIFO long before the next frame's begin."""
    pairs = {"control": (link.control, core.control),
             "control_data": (core.control_data, link.control_data),
             "samples": (link.samples, core.i), "results": (core.o, link.results)}
    for name, (source, sink) in pairs.items():
        connect_buffered(m, f"{name}_fifo", source, sink, depth=2 if registered else 0)
