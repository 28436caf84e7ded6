"""The host link in amaranth.sim, in front of the real core: the host's frames in, replies
out; training equals the golden model; malformed frames are refused and change nothing."""

import gc
import struct
import warnings

import numpy as np
import pytest
from amaranth.hdl import Module, UnusedElaboratable

from naca.boards.link import HostLink, connect_to_core
from naca.boards.protocol import (
    ACCESS_BYTES,
    REPLY,
    Command,
    Error,
    access_records,
    crc16,
    frame,
    parse,
    read_records,
)
from naca.golden_model import datasets
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork, WorkCounts
from naca.rtl.control import STATUS, state_writes, weight_accesses
from naca.rtl.network import NacaCore
from naca.sim.streams import simulate

TIMEOUT = 64


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1      # the standard check value


def build(cfg, lanes, *, registered=True):
    m = Module()
    m.submodules.core = core = NacaCore(cfg, lanes=lanes, registered_streams=registered)
    m.submodules.link = link = HostLink(cfg, lanes=lanes, timeout=TIMEOUT)
    connect_to_core(m, link, core, registered=registered)
    return m, link


async def send(ctx, link, data: bytes):
    for byte in data:
        ctx.set(link.rx.payload, byte)
        ctx.set(link.rx.valid, 1)
        await ctx.tick()
    ctx.set(link.rx.valid, 0)


async def receive(ctx, link) -> tuple[int, bytes]:
    data = b""
    ctx.set(link.tx.ready, 1)
    while True:
        *_, valid, byte = await ctx.tick().sample(link.tx.valid, link.tx.payload)
        if valid:
            data += bytes([byte])
            try:
                command, payload, rest = parse(data)
            except ValueError:
                continue
            assert rest == b""
            return command, payload


async def exchange(ctx, link, data: bytes) -> tuple[int, bytes]:
    await send(ctx, link, data)
    return await receive(ctx, link)


# registered: the ULX3S's link and core; without: the iCEBreaker's (no FIFOs between them)
@pytest.mark.parametrize("registered", [True, False])
def test_link_trains_like_the_golden_model_and_refuses_bad_frames(registered):
    cfg = NacaConfig.for_sizes(16, 12, 4, time_steps=4)
    lanes = 3
    net = NacaNetwork(cfg)
    data = datasets.load("digits")
    m, link = build(cfg, lanes, registered=registered)
    outcome = {}

    async def read_weights(ctx, layer):
        reads = weight_accesses(cfg, lanes, layer)
        words = []
        for start in range(0, len(reads), 100):
            chunk = reads[start:start + 100]
            command, payload = await exchange(ctx, link, frame(Command.READ, read_records(chunk)))
            assert command == Command.READ | REPLY
            words += [int(w) for w in struct.unpack(f"<{len(chunk)}i", payload)]
        width = getattr(cfg.formats, f"weight_{layer}").width
        return np.array([(w + (1 << (width - 1))) % (1 << width) - (1 << (width - 1))
                         for w in words]).reshape(-1, cfg.n_hidden if layer == "hidden"
                                                  else cfg.n_classes)

    async def bench(ctx):
        writes = state_writes(cfg, lanes, net.state)
        per_frame = 2048 // ACCESS_BYTES
        for start in range(0, len(writes), per_frame):
            records = access_records(writes[start:start + per_frame])
            reply = await exchange(ctx, link, frame(Command.WRITE, records))
            assert reply == (Command.WRITE | REPLY, b"")
        work = WorkCounts()
        results = []
        for k in range(5):
            u, label = data.x_train[k, :16], int(data.y_train[k]) % 4
            codes = cfg.formats.input.quantize(u).astype(np.uint8)
            command, payload = await exchange(ctx, link, frame(
                Command.TRAIN, bytes([label]) + codes.tobytes()))
            assert command == Command.TRAIN | REPLY
            fwd = net.train_sample(u, label, k)
            work.add(fwd.work)
            results.append((payload, struct.pack("<IB", k, int(fwd.prediction[0]))
                            + bytes(fwd.output[0].tolist())))
        outcome["results"] = results
        outcome["hidden"] = await read_weights(ctx, "hidden")
        command, payload = await exchange(ctx, link, frame(Command.STATUS))
        counters = [int.from_bytes(payload[6 * i:6 * i + 6], "little") for i in range(6)]
        outcome["status"] = (counters, work)

        # malformed frames: each gets its error and changes nothing
        good = frame(Command.TRAIN, bytes([1]) + bytes(16))
        bad_crc = good[:-1] + bytes([good[-1] ^ 0xFF])
        errors = [await exchange(ctx, link, bad_crc),
                  await exchange(ctx, link, frame(0x42)),
                  await exchange(ctx, link, frame(Command.TRAIN, bytes(5))),
                  await exchange(ctx, link, bytes([0xA5, 0x01, 0xFF, 0xFF])),
                  await exchange(ctx, link, b"\x00\x13\x37")]
        await send(ctx, link, good[:7])                  # truncated: then silence
        errors.append(await receive(ctx, link))
        outcome["errors"] = errors
        # after all that, the weights and the sample counter are where they were
        outcome["hidden_after"] = await read_weights(ctx, "hidden")
        command, payload = await exchange(ctx, link, frame(Command.INFER,
                                                           bytes([0]) + bytes(16)))
        outcome["next_sample"] = struct.unpack_from("<I", payload)[0]
        outcome["reset"] = await exchange(ctx, link, frame(Command.RESET))
        command, payload = await exchange(ctx, link, frame(Command.STATUS))
        outcome["status_after_reset"] = payload

    simulate(m, bench)
    for got, want in outcome["results"]:
        assert got == want
    assert np.array_equal(outcome["hidden"], net.state.w_hidden)
    counters, work = outcome["status"]
    assert counters[0] == work.samples == 5
    assert counters[2:] == [work.input_events, work.synaptic_events, work.hidden_updates,
                            work.output_updates]
    codes = [(c, p) for c, p in outcome["errors"]]
    assert codes == [(Command.ERROR, bytes([Error.BAD_CRC])),
                     (Command.ERROR, bytes([Error.UNKNOWN_COMMAND])),
                     (Command.ERROR, bytes([Error.BAD_LENGTH])),
                     (Command.ERROR, bytes([Error.BAD_LENGTH])),
                     (Command.ERROR, bytes([Error.STRAY_BYTES])),
                     (Command.ERROR, bytes([Error.TRUNCATED]))]
    assert np.array_equal(outcome["hidden_after"], net.state.w_hidden)
    assert outcome["next_sample"] == 5
    assert outcome["reset"] == (Command.RESET | REPLY, b"")
    assert outcome["status_after_reset"] == bytes(6 * len(STATUS))


def test_frames_the_host_cannot_send_are_refused_before_the_wire():
    with pytest.raises(ValueError, match="at most 2048 payload bytes, not 2049"):
        frame(Command.WRITE, bytes(2049))


def test_a_network_whose_samples_overflow_the_frame_buffer_is_refused():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match=r"n_inputs = 2048: a sample's frame \(2049 bytes\) "
                                             r"would not fit .* at most 2047 inputs"):
            HostLink(NacaConfig.for_sizes(2048, 10, 2), lanes=1, timeout=100)
        gc.collect()


def test_board_command_names_a_missing_port(tmp_path, capsys):
    from naca.boards.export import export_uart_top
    from naca.cli import main

    export_uart_top(NacaConfig.for_sizes(16, 12, 4, time_steps=4), 3, tmp_path,
                    clock_hz=100e6, baud=6_250_000)
    assert main(["board", "status", "--port", str(tmp_path / "ttyNONE"),
                 "--export", str(tmp_path)]) == 2
    assert "ttyNONE" in capsys.readouterr().err
