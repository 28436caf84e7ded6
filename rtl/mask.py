"""The class-incremental neuron mask, computed on chip from the current sample (task-free)."""

from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .encoder import pixel_layout
from .fixed import index_shape, shape_of


class MaskUnit(wiring.Component):
    """``m_j = code[floor(j*N/H)] > max(code) - delta`` (golden ``neuron_mask`` on input codes).

    Members
    -------
    pixels: In(stream of {addr, code}); always ready. The same beats the encoder takes; the
        beat of address 0 starts a new sample's maximum.
    start: In(stream): computes the mask once all N pixels are in.
    mask: Out(H): bit j is neuron j's mask; valid from ``done`` until the next ``start``.
    done: Out(1)

    Latency H + 2 cycles from ``start`` (one neuron per cycle; the pick address advances by
    floor(N/H) plus a carry, so no divider). One read port on its own copy of the codes.
    """

    def __init__(self, cfg: NacaConfig):
        self._cfg = cfg
        super().__init__({
            "pixels": In(stream.Signature(pixel_layout(cfg))),
            "start": In(stream.Signature(0)),
            "mask": Out(cfg.n_hidden),
            "done": Out(1, init=1),
        })

    def elaborate(self, platform):
        cfg = self._cfg
        n, h = cfg.n_inputs, cfg.n_hidden
        step, carry_step = divmod(n, h)
        delta = cfg.code("mask_delta")
        m = Module()
        m.submodules.codes = codes = memory.Memory(shape=shape_of(cfg.formats.input), depth=n,
                                                   init=[])
        write, read = codes.write_port(), codes.read_port()
        peak = Signal.like(self.pixels.payload.code)
        pixel = self.pixels.payload
        m.d.comb += [self.pixels.ready.eq(1), write.en.eq(self.pixels.valid),
                     write.addr.eq(pixel.addr), write.data.eq(pixel.code)]
        with m.If(self.pixels.valid):
            with m.If((pixel.addr == 0) | (pixel.code > peak)):
                m.d.sync += peak.eq(pixel.code)

        pick = Signal(index_shape(n))            # floor(j * N / H) for the neuron being read
        remainder = Signal(range(h))             # (j * N) mod H
        issued = Signal(range(h + 1))            # neurons whose code was requested
        reading = Signal()                       # the read port's data is neuron j's code
        m.d.comb += [self.start.ready.eq(self.done), read.addr.eq(pick)]
        with m.If(self.start.valid & self.start.ready):
            m.d.sync += [self.done.eq(0), pick.eq(0), remainder.eq(0), issued.eq(0),
                         reading.eq(0)]
        with m.Elif(~self.done):
            with m.If(issued < h):
                wrap = remainder + carry_step >= h
                m.d.sync += [issued.eq(issued + 1),
                             pick.eq(pick + step + wrap),
                             remainder.eq(Mux(wrap, remainder + carry_step - h,
                                              remainder + carry_step))]
            m.d.sync += reading.eq(issued < h)
            with m.If(reading):
                # shift in from the top: after H bits, bit j is neuron j's
                m.d.sync += self.mask.eq((self.mask >> 1)
                                         | ((read.data + delta > peak) << (h - 1)))
            with m.If(reading & (issued == h)):
                m.d.sync += self.done.eq(1)
        return m
