"""A layer's forward path: input events in, the layer's spike events out, step by step."""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.data import StructLayout
from amaranth.lib.wiring import In, Out, flipped

from ..golden_model.config import NacaConfig
from .fixed import index_shape
from .neuron import NeuronBank
from .synapses import SynapseArray


class LayerForward(wiring.Component):
    """:class:`SynapseArray` followed by :class:`NeuronBank` over the same P lanes.

    Members
    -------
    weight_write: In(stream of {bank, addr, data}); see :func:`synapses.bank_address`.
    mask: In(n_neurons) (see :class:`NeuronBank`).
    events: In(stream of {index, spike, last}): the step's active inputs, then ``last``.
    o: Out(stream of {index, spike, last}): the step's spiking neurons, then ``last``.
    h_out: the post factors h of the latest step.

    Latency per step: G cycles per active input, then the read-out of G groups plus one cycle
    per spike; back-pressure on ``o`` propagates to ``events``.
    """

    def __init__(self, cfg: NacaConfig, layer: str, *, lanes: int):
        self._accumulator = SynapseArray(cfg, layer, lanes=lanes)
        self._neurons = NeuronBank(cfg, layer, lanes=lanes)
        n = cfg.n_hidden if layer == "hidden" else cfg.n_classes
        event = StructLayout({"index": index_shape(n), "spike": 1, "last": 1})
        super().__init__({
            "weight_write": In(self._accumulator.weight_write.signature.flip()),
            "mask": In(self._neurons.mask.shape(), init=(1 << n) - 1),
            "events": In(self._accumulator.events.signature.flip()),
            "o": Out(stream.Signature(event)),
            "h_out": Out(self._neurons.h_out.shape()),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.accumulator = acc = self._accumulator
        m.submodules.neurons = neurons = self._neurons
        wiring.connect(m, flipped(self.weight_write), acc.weight_write)
        wiring.connect(m, flipped(self.events), acc.events)
        wiring.connect(m, acc.o, neurons.i)
        wiring.connect(m, neurons.o, flipped(self.o))
        m.d.comb += [neurons.mask.eq(self.mask),
                     self.h_out.eq(neurons.h_out)]
        return m
