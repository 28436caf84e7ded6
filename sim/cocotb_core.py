"""cocotb test of the exported network core: train (and evaluate) on real data, sample by sample,
against the golden model running in the same process on the same input stream.

Run through :func:`sim.cosim.cosimulate`, which passes a JSON spec in ``NACA_COSIM_SPEC``:
``export_dir`` (from ``naca verilog``), ``dataset``, ``data_dir``, ``samples`` (training samples),
``test_samples`` (evaluated afterwards), ``seed`` (stalls), ``idle``, ``backpressure``,
``checkpoint`` (weights and counters are read back every this many samples and at the end),
``progress`` and ``report`` (the JSON file this test writes, pass or fail). With
``classes_per_task`` (and optionally ``tasks``, ``test_per_class``) the training order is the
class-incremental protocol's, and every class is tested on the core after each task.
"""

from __future__ import annotations

import gc
import random
import sys
import time

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge
from cocotb.utils import get_sim_time

from ..golden_model import datasets, incremental
from ..golden_model.network import NacaNetwork, WorkCounts
from ..golden_model.training import EVAL_COUNTER_BASE, epoch_order, lr_shift
from ..rtl.control import (
    STATUS,
    Register,
    control_layout,
    register_access,
    signed_word,
    state_writes,
    table_accesses,
    weight_accesses,
)
from ..rtl.export import load_export
from ..rtl.network import result_layout, sample_layout
from .cocotb_lib import Scoreboard, StreamDriver, StreamMonitor, run_with_report

CLOCK_NS = 10
STATUS_OF_WORK = {Register.SAMPLES: "samples", Register.INPUT_EVENTS: "input_events",
                  Register.SYNAPTIC_EVENTS: "synaptic_events",
                  Register.HIDDEN_UPDATES: "hidden_updates",
                  Register.OUTPUT_UPDATES: "output_updates"}


def field_offsets(layout) -> dict[str, int]:
    """Bit offsets of a struct layout's fields (every field here is a non-negative code)."""
    return {name: field.offset for name, field in layout}


def pack(offsets: dict[str, int], values: dict) -> int:
    """A payload word from field values (already within their widths)."""
    return sum(int(values[name]) << offset for name, offset in offsets.items())


class CoreHost:
    """The host's side of the core's ports: control accesses and whole samples."""

    def __init__(self, dut, cfg, lanes: int, *, rng: random.Random, idle: float,
                 backpressure: float):
        self.cfg, self.lanes = cfg, lanes
        clk = dut.clk
        self.samples_in = StreamDriver(dut, "i", clk, rng=rng, idle_probability=idle)
        self.results = StreamMonitor(dut, "o", clk, rng=rng, backpressure_probability=backpressure)
        self.control = StreamDriver(dut, "control", clk, rng=rng, idle_probability=idle)
        self.replies = StreamMonitor(dut, "control_data", clk, rng=rng,
                                     backpressure_probability=backpressure)
        self._sample, self._result = field_offsets(sample_layout(cfg)), result_layout(cfg)
        self._control = field_offsets(control_layout(cfg, lanes))

    async def access(self, beat: dict) -> int | None:
        await self.control.send(pack(self._control, beat))
        return None if beat["write"] else await self.replies.receive()

    async def run_sample(self, codes: np.ndarray, label: int, train: bool):
        header = pack(self._sample, {"code": 0, "label": label, "train": int(train)})
        for word in (codes.astype(np.int64) << self._sample["code"]) | header:
            await self.samples_in.send(int(word))
        return self._result.from_bits(await self.results.receive())

    async def weights(self, layer: str) -> np.ndarray:
        width = getattr(self.cfg.formats, f"weight_{layer}").width
        words = [signed_word(await self.access(beat), width)
                 for beat in weight_accesses(self.cfg, self.lanes, layer)]
        fan_in = self.cfg.n_inputs if layer == "hidden" else self.cfg.n_hidden
        return np.array(words, dtype=np.int64).reshape(fan_in, -1)

    async def status(self) -> dict[Register, int]:
        values = {}
        for reg in STATUS:
            low = await self.access(register_access(reg))
            values[reg] = low | await self.access(register_access(reg + 1)) << 32
        return values


async def check_state(host: CoreHost, net: NacaNetwork, work: WorkCounts, board: Scoreboard,
                      when: str) -> dict:
    """Read every weight, the modulation table and the counters back and compare them."""
    for layer in ("hidden", "output"):
        board.expect_arrays(f"{when}: W_{layer}", await host.weights(layer),
                            getattr(net.state, f"w_{layer}"), ("input", "neuron"))
    width = host.cfg.formats.modulation.width
    table = [signed_word(await host.access(beat), width) for beat in table_accesses(host.cfg)]
    board.expect_arrays(f"{when}: modulation table",
                        np.array(table).reshape(net.state.modulation.shape),
                        net.state.modulation, ("label", "neuron"))
    status = await host.status()
    for reg, name in STATUS_OF_WORK.items():
        board.expect(f"{when}: status counter {reg.name}", status[reg], getattr(work, name))
    return {reg.name.lower(): value for reg, value in status.items()}


@cocotb.test()
async def cosimulate(dut):
    gc.freeze()            # the long-lived model and data: keep the collector off them
    await run_with_report(lambda spec, report: _run(dut, spec, report))


async def _run(dut, spec: dict, report: dict) -> None:
    cfg, hardware = load_export(spec["export_dir"])
    lanes = hardware["lanes"]
    data = datasets.load(spec["dataset"], spec.get("data_dir"))
    if data.n_inputs < cfg.n_inputs:
        raise ValueError(f"{spec['dataset']} has {data.n_inputs} features; the core has "
                         f"n_inputs = {cfg.n_inputs}")
    if data.n_inputs != cfg.n_inputs:
        # an odd-sized network sees the first N pixels and the label modulo C
        data = datasets.Dataset(data.name, data.x_train[:, :cfg.n_inputs], data.y_train,
                                data.x_test[:, :cfg.n_inputs], data.y_test, data.n_classes)
    modulo = cfg.n_classes
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rst.value = 1
    host = CoreHost(dut, cfg, lanes, rng=random.Random(spec["seed"]), idle=spec["idle"],
                    backpressure=spec["backpressure"])
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await FallingEdge(dut.clk)

    net, board, work = NacaNetwork(cfg), Scoreboard(), WorkCounts()
    base_lr = {reg: await host.access(register_access(reg))
               for reg in (Register.LR_HIDDEN, Register.LR_OUTPUT)}
    board.expect("reset value of LR_HIDDEN", base_lr[Register.LR_HIDDEN], cfg.code("lr_hidden"))
    board.expect("reset value of SEED", await host.access(register_access(Register.SEED)),
                 cfg.seed)
    for beat in state_writes(cfg, lanes, net.state):
        await host.access(beat)

    schedule = _schedule(spec, cfg, data)     # [(epoch or task, [sample indices])]
    total = sum(len(indices) for _, indices in schedule)
    bar = _progress(total, spec.get("progress", False))
    start, shift, done, correct = time.perf_counter(), None, 0, 0
    incremental_accuracy = []
    for epoch, indices in schedule:
        if lr_shift(cfg, epoch) != shift:        # the schedule: the host reloads the rates
            shift = lr_shift(cfg, epoch)
            net.set_lr_shift(shift)
            for reg, code in base_lr.items():
                await host.access(register_access(reg, code >> shift))
        for i in indices:
            u, label = data.x_train[i], int(data.y_train[i]) % modulo
            result = await host.run_sample(cfg.formats.input.quantize(u), label, True)
            fwd = net.train_sample(u, label, done)
            work.add(fwd.work)
            board.expect(f"training sample {done} (index {i}): sample counter",
                         int(result.sample), done)
            board.expect(f"training sample {done} (index {i}): output spike counts",
                         [int(c) for c in result.counts], fwd.output[0].tolist())
            board.expect(f"training sample {done} (index {i}): prediction",
                         int(result.prediction), int(fwd.prediction[0]))
            correct += int(result.prediction) == label
            done += 1
            if spec["checkpoint"] and done % spec["checkpoint"] == 0 and done < total:
                await check_state(host, net, work, board, f"after {done} samples")
            if bar is not None:
                bar.update(1)
        if spec.get("classes_per_task"):
            incremental_accuracy.append(
                await _class_accuracy(host, net, data, spec.get("test_per_class"), board,
                                      work))
            await host.access(register_access(Register.SAMPLE, done))
    if incremental_accuracy:
        report["class_incremental"] = {"accuracy": incremental_accuracy}
    seconds = time.perf_counter() - start
    cycles = get_sim_time("ns") / CLOCK_NS
    report["status"] = await check_state(host, net, work, board, f"after {done} samples")
    report.update({
        "samples": done, "seconds": seconds, "samples_per_second": done / seconds,
        "simulated_cycles": cycles, "cycles_per_second": cycles / seconds,
        "train_accuracy": correct / max(done, 1), "checks": board.checked,
        "core_cycles_per_sample": report["status"]["cycles"] / max(done, 1),
    })
    if spec.get("test_samples"):
        report["test"] = await _evaluate(host, net, data, spec["test_samples"], board)
    report["checks"] = board.checked
    if bar is not None:
        bar.close()


async def _evaluate(host: CoreHost, net: NacaNetwork, data, count: int,
                    board: Scoreboard) -> dict:
    """Infer test samples on the core (counters from EVAL_COUNTER_BASE) and compare."""
    await host.access(register_access(Register.SAMPLE, EVAL_COUNTER_BASE))
    before = await host.status()
    correct = 0
    count = min(count, len(data.x_test))
    for k in range(count):
        u, label = data.x_test[k], int(data.y_test[k]) % host.cfg.n_classes
        result = await host.run_sample(host.cfg.formats.input.quantize(u), label, False)
        fwd = net.forward(u, np.array([EVAL_COUNTER_BASE + k]))
        board.expect(f"test sample {k}: output spike counts", [int(c) for c in result.counts],
                     fwd.output[0].tolist())
        board.expect(f"test sample {k}: prediction", int(result.prediction),
                     int(fwd.prediction[0]))
        correct += int(result.prediction) == label
    after = await host.status()
    return {"samples": count, "accuracy": correct / max(count, 1),
            "status": {reg.name.lower(): after[reg] - before[reg] for reg in STATUS}}


def _schedule(spec: dict, cfg, data) -> list[tuple[int, list[int]]]:
    """Training samples in order: epochs of the ``naca train`` order, or (with
    ``classes_per_task``) the class-incremental tasks' order of :mod:`incremental`."""
    if spec.get("classes_per_task"):
        tasks = incremental.make_tasks(cfg.n_classes, spec["classes_per_task"])
        tasks = tasks[:spec.get("tasks") or len(tasks)]
        order = incremental.training_order(data.y_train, tasks, 1, spec["seed"])
        return [(0, indices) for indices in order]
    schedule, total, n_train, epoch = [], spec["samples"], len(data.x_train), 0
    while total > 0:
        indices = [int(i) for i in epoch_order(cfg.seed, epoch, n_train)[:total]]
        schedule.append((epoch, indices))
        total -= len(indices)
        epoch += 1
    return schedule


async def _class_accuracy(host: CoreHost, net: NacaNetwork, data, per_class: int | None,
                          board: Scoreboard, work: WorkCounts) -> list[float]:
    """Each class's test accuracy on the core (task-free: samples one by one, the mask from
    each sample), compared sample by sample with the golden model."""
    accuracy = []
    for c, idx in incremental.test_indices(data.y_test, host.cfg.n_classes, per_class).items():
        correct = 0
        for k in idx:
            await host.access(register_access(Register.SAMPLE, EVAL_COUNTER_BASE + int(k)))
            u = data.x_test[k]
            result = await host.run_sample(host.cfg.formats.input.quantize(u), c, False)
            fwd = net.forward(u, np.array([EVAL_COUNTER_BASE + int(k)]))
            work.add(fwd.work)                   # the core's counters count inference too
            board.expect(f"class-incremental test sample {k}: prediction",
                         int(result.prediction), int(fwd.prediction[0]))
            correct += int(result.prediction) == c
        accuracy.append(correct / max(len(idx), 1))
    return accuracy


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="sample", file=sys.stderr, desc="co-simulating",
                dynamic_ncols=True, mininterval=1.0)
