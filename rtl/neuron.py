"""The LIF neuron update, time-multiplexed: one neuron-step per beat."""

from amaranth.hdl import Module, Mux, signed
from amaranth.lib import stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out

from ..golden_model.config import NacaConfig
from .fixed import requantize, shape_of


def neuron_in_layout(cfg: NacaConfig, layer: str, current_shape) -> StructLayout:
    """A neuron's state before the step (membrane, whether it fired last step), its summed
    synaptic current and its mask bit."""
    v = shape_of(getattr(cfg.formats, f"membrane_{layer}"))
    return StructLayout({"v": v, "fired": 1, "current": current_shape, "mask": 1})


def neuron_out_layout(cfg: NacaConfig, layer: str) -> StructLayout:
    v = shape_of(getattr(cfg.formats, f"membrane_{layer}"))
    return StructLayout({"v": v, "spike": 1, "h": signed(2)})


class LifUnit(wiring.Component):
    """One LIF step of one neuron, bit-exact with the golden model:

        V' = sat(floor(alpha * V * (1 - fired)) + I)
        h  = [V' > threshold - lens] - fired
        s  = [V' > threshold] & mask

    Parameters
    ----------
    cfg, layer:
        The config and ``"hidden"`` or ``"output"`` (membrane format, thresholds).
    current_shape:
        Shape of the summed current (the layer core's accumulator).

    Latency 1 cycle; throughput one neuron per cycle; a single register stage, so
    ``i.ready`` follows ``o.ready`` when the stage is full.
    """

    def __init__(self, cfg: NacaConfig, layer: str, current_shape):
        self._cfg, self._layer = cfg, layer
        super().__init__({
            "i": In(stream.Signature(neuron_in_layout(cfg, layer, current_shape))),
            "o": Out(stream.Signature(neuron_out_layout(cfg, layer))),
        })

    def elaborate(self, platform):
        cfg, layer, f = self._cfg, self._layer, self._cfg.formats
        membrane = getattr(f, f"membrane_{layer}")
        m = Module()
        p = self.i.payload
        kept = Mux(p.fired, 0, p.v)
        leaked = (kept * cfg.code("alpha")) >> f.leak.frac
        # the sum is re-expressed in the membrane format: same LSB, its saturation
        v_next = requantize(leaked + p.current, membrane.frac, membrane)
        take = self.i.valid & self.i.ready
        m.d.comb += self.i.ready.eq(~self.o.valid | self.o.ready)
        with m.If(take):
            v_new = self.o.payload.v
            m.d.sync += [
                self.o.valid.eq(1),
                v_new.eq(v_next),
                self.o.payload.spike.eq((v_next > cfg.code(f"threshold_{layer}")) & p.mask),
                self.o.payload.h.eq((v_next > cfg.code(f"near_threshold_{layer}"))
                                    - p.fired),
            ]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m
