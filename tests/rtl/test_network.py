"""The whole network top in amaranth.sim, trained on real digits samples, against the golden
model after every sample: prediction, spike counts, every weight, the status counters."""

import gc
import random
import warnings
from dataclasses import replace

import numpy as np
import pytest
from amaranth.hdl import UnusedElaboratable

from naca.golden_model import datasets
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork, WorkCounts
from naca.golden_model.qformat import QFormat
from naca.rtl.control import (
    Register,
    register_access,
    signed_word,
    state_writes,
    table_accesses,
    weight_accesses,
)
from naca.rtl.network import NacaCore
from naca.sim.core_bench import access, peek_weights, run_sample
from naca.sim.streams import simulate


def status_of(work: WorkCounts) -> dict:
    return {Register.SAMPLES: work.samples, Register.INPUT_EVENTS: work.input_events,
            Register.SYNAPTIC_EVENTS: work.synaptic_events,
            Register.HIDDEN_UPDATES: work.hidden_updates,
            Register.OUTPUT_UPDATES: work.output_updates}


def train_on_core(cfg, lanes, samples, *, stall, train=True, start=0, baked=False,
                  read_back=None, state=None, **core_options):
    """Train (or infer) ``samples`` of digits on the core and on the golden model side by side.
    The initial state (the config's, or ``state``) is loaded through the control port, or
    ``baked`` into the memories; at
    the end, every weight (or ``read_back`` random ones per layer) is read back through the
    port. Returns the mismatches found (an empty list when the two agree)."""
    data = datasets.load("digits")
    net = NacaNetwork(cfg)
    if state is not None:
        net.state = state.copy()
    core = NacaCore(cfg, lanes=lanes, state=net.state if baked else None, **core_options)
    problems, work = [], WorkCounts()

    async def bench(ctx):
        gen = random.Random(lanes)
        if not baked:
            for beat in state_writes(cfg, lanes, net.state):
                await access(ctx, core, beat)
        await access(ctx, core, register_access(Register.SAMPLE, start))
        for n in range(samples):
            # odd sizes see the first N pixels and the label modulo C
            u, label = data.x_train[n, :cfg.n_inputs], int(data.y_train[n]) % cfg.n_classes
            codes = cfg.formats.input.quantize(u)
            result = await run_sample(ctx, core, cfg, codes, label, train, stall=gen,
                                      stall_probability=stall)
            fwd = (net.train_sample(u, label, start + n) if train
                   else net.forward(u, np.array([start + n])))
            work.add(fwd.work)
            got = (int(result.sample), int(result.prediction),
                   [int(x) for x in result.counts])
            want = (start + n, int(fwd.prediction[0]), fwd.output[0].tolist())
            if got != want:
                problems.append(f"sample {n}: core {got}, golden {want}")
            for layer in ("hidden", "output"):
                w = peek_weights(ctx, cfg, core, layer)
                expected = getattr(net.state, f"w_{layer}")
                if not np.array_equal(w, expected):
                    i, j = np.argwhere(w != expected)[0]
                    problems.append(f"sample {n}: W_{layer}[{i}, {j}] core {w[i, j]}, "
                                    f"golden {expected[i, j]}")
            if problems:
                return
        # read everything back through the control port
        for layer in ("hidden", "output"):
            width = getattr(cfg.formats, f"weight_{layer}").width
            reads = weight_accesses(cfg, lanes, layer)
            picked = (range(len(reads)) if read_back is None
                      else sorted(gen.sample(range(len(reads)), read_back)))
            words = [signed_word(await access(ctx, core, reads[k]), width) for k in picked]
            expected = getattr(net.state, f"w_{layer}").ravel()[list(picked)]
            if words != expected.tolist():
                problems.append(f"read-back of W_{layer} differs")
        table = [signed_word(await access(ctx, core, beat), cfg.formats.modulation.width)
                 for beat in table_accesses(cfg)]
        if table != net.state.modulation.ravel().tolist():
            problems.append("read-back of the modulation table differs")
        for reg, value in status_of(work).items():
            low = await access(ctx, core, register_access(reg))
            high = await access(ctx, core, register_access(reg + 1))
            if low | high << 32 != value:
                problems.append(f"status {reg.name}: core {low | high << 32}, golden {value}")
        cycles = await access(ctx, core, register_access(Register.CYCLES))
        if not cycles > 0:
            problems.append("the cycle counter did not count")

    simulate(core, bench)
    return problems


def test_core_trains_ten_digits_samples_like_the_golden_model():
    cfg = NacaConfig.for_sizes(64, 100, 10)
    assert train_on_core(cfg, 8, 10, stall=0.0, baked=True, read_back=200) == []


def test_core_with_stalls_other_lanes_and_inference():
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=4)
    assert train_on_core(cfg, 5, 4, stall=0.3, read_back=300) == []
    assert train_on_core(cfg, 5, 3, stall=0.2, train=False, start=1 << 31, baked=True) == []


def test_odd_sizes_last_step_rule_and_wider_weights():
    base = NacaConfig.for_sizes(37, 23, 7, time_steps=6, output_rule="last_step",
                                lr_hidden=2.0**-5)
    frac = base.formats.weight_hidden.frac + 2
    formats = replace(base.formats, weight_hidden=QFormat(10, frac, rounding="half_up"),
                      membrane_hidden=QFormat(18, frac))
    cfg = replace(base, formats=formats)
    assert train_on_core(cfg, 3, 5, stall=0.1) == []
    # two 10-bit weights to a single-port memory word
    assert train_on_core(cfg, 2, 3, stall=0.1, single_port_weights=True) == []


def test_compact_core_without_stream_registers_and_with_single_port_weights():
    # the iCE40's core: no FIFOs between the units, a short event FIFO, the hidden weights in
    # single-port memories (two lanes a word; three lanes leave one alone)
    cfg = NacaConfig.for_sizes(16, 12, 4, time_steps=6)
    compact = {"registered_streams": False, "single_port_weights": True}
    assert train_on_core(cfg, 1, 6, stall=0.3, fifo_depth=4, **compact) == []
    assert train_on_core(cfg, 4, 3, stall=0.0, fifo_depth=2, **compact) == []
    assert train_on_core(cfg, 3, 3, stall=0.2, fifo_depth=4, read_back=40, **compact) == []


@pytest.mark.parametrize("overrides, message", [
    ({"model": "ann"}, "model = 'ann': the RTL builds the SNN"),
])
def test_configs_the_core_cannot_build_are_refused(overrides, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnusedElaboratable)
        with pytest.raises(ValueError, match=message):
            NacaCore(NacaConfig.for_sizes(64, 100, 10, **overrides), lanes=4)
        gc.collect()


def test_core_with_the_task_free_neuron_mask():
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=4, mask_delta=0.3)
    assert train_on_core(cfg, 8, 5, stall=0.1, baked=True, read_back=50) == []


def test_core_with_the_mistakes_output_error():
    # positive output weights: several classes fire, so the rule's choice of rows matters
    cfg = NacaConfig.for_sizes(64, 100, 10, time_steps=4, output_error="mistakes")
    state = NacaNetwork(cfg).state
    state.w_output[:] = np.abs(state.w_output)
    assert train_on_core(cfg, 5, 8, stall=0.1, state=state) == []
    # the golden model's two rules part ways on these samples (so the rule was exercised)
    data, finals = datasets.load("digits"), []
    for rule in ("all", "mistakes"):
        net = NacaNetwork(replace(cfg, output_error=rule))
        net.state = state.copy()
        for n in range(8):
            net.train_sample(data.x_train[n], int(data.y_train[n]), n)
        finals.append(net.state.w_output)
    assert not np.array_equal(*finals)


def test_memories_that_cannot_fit_a_device_are_named():
    from naca.rtl.budget import check_fits

    check_fits(NacaConfig.for_sizes(784, 100, 10), 8, "ecp5-85f")
    # the UP5K's hidden weights are in its 4 SPRAMs: 784-100-10 fits on 1 to 8 lanes (a
    # memory of two lanes at 8 lanes is 784 * 13 words of 16 bits: one block each)
    for lanes in (1, 2, 8):
        check_fits(NacaConfig.for_sizes(784, 100, 10), lanes, "ice40up5k")
    with pytest.raises(ValueError, match=r"784-100-10 at 10 lanes needs 5 SPRAM blocks for its "
                                         r"hidden weights \(78,400 B.*the iCE40UP5K has 4"):
        check_fits(NacaConfig.for_sizes(784, 100, 10), 10, "ice40up5k")
    with pytest.raises(ValueError, match=r"64-1000-10 at 1 lanes needs [0-9,]+ B of block RAM "
                                         r"\(output weights 10,000 B, .*the iCE40UP5K has "
                                         r"15,360 B"):
        check_fits(NacaConfig.for_sizes(64, 1000, 10), 1, "ice40up5k")
    with pytest.raises(ValueError, match=r"needs [0-9,]+ B of block RAM .*the ECP5-85F has "
                                         r"479,232 B"):
        check_fits(NacaConfig.for_sizes(784, 700, 10), 10, "ecp5-85f")
