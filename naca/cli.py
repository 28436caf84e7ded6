"""The ``naca`` command line.

    naca train   train a network (golden model, float reference or BP baseline) on a dataset
    naca eval    re-evaluate a saved run folder
    naca config  write the default config of a network size as JSON
    naca verilog export the network core as Verilog, with its config and hardware description
    naca sim     co-simulate the core (cocotb + Verilator) against the golden model on a dataset
    naca cl      class-incremental learning: NACA (fixed, float) against BP and EWC, with plots
    naca build   a bitstream for the iCEBreaker or the ULX3S, with a resource and clock report
    naca board   drive a board over its UART: load, train, infer, dump, status
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, get_args

import numpy as np
from serial import SerialException

from .boards.protocol import LinkError
from .golden_model import datasets
from .golden_model.config import DEFAULT_TIME_STEPS, NacaConfig, OutputError
from .golden_model.training import (
    History,
    evaluate,
    load_state,
    train,
    write_run,
)

DEFAULT_LANES = 10
DEFAULT_EPOCHS = {"digits": 40, "mnist5k": 20, "fashion": 10, "idx": 5}
#: Learning settings measured best per dataset where they differ from the size's default
#: (Fashion-MNIST, 60k samples per epoch: weaker plasticity, halving every 3 epochs).
DATASET_LEARNING = {"fashion": {"lr_hidden": 2.0**-10, "lr_output": 2.0**-11,
                                "lr_halving_epochs": 3}}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def _positive_float(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be zero or a positive number, not {text}")
    return value


def build_config(args: argparse.Namespace, data: datasets.Dataset) -> NacaConfig:
    """The run's config: a JSON file if given (checked against the data), else the default for
    the data's size; command-line options override either."""
    overrides = {"n_hidden": args.hidden, "seed": args.seed, "time_steps": args.time_steps,
                 "lr_hidden": args.lr_hidden, "lr_output": args.lr_output,
                 "output_rule": args.output_rule, "output_error": args.output_error}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if not args.config:
        if args.model == "snn":
            overrides = {**DATASET_LEARNING.get(data.name, {}), **overrides}
        steps = overrides.pop("time_steps", 1 if args.model == "ann" else DEFAULT_TIME_STEPS)
        hidden = overrides.pop("n_hidden", 100)
        return NacaConfig.for_sizes(data.n_inputs, hidden, data.n_classes, model=args.model,
                                    time_steps=steps, **overrides)
    cfg = replace(NacaConfig.load(args.config), **overrides)
    if cfg.n_inputs != data.n_inputs or cfg.n_classes < data.n_classes:
        raise ValueError(f"{args.config}: the config has n_inputs={cfg.n_inputs}, "
                         f"n_classes={cfg.n_classes}, but dataset {data.name!r} has "
                         f"{data.n_inputs} inputs and {data.n_classes} classes")
    return cfg


def make_model(cfg: NacaConfig, precision: str):
    from .golden_model.bp import BpNetwork
    from .golden_model.network import NacaNetwork

    if precision == "bp":
        return BpNetwork(cfg)
    return NacaNetwork(cfg, precision)


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    data = datasets.load(args.dataset, args.data_dir)
    if args.limit:
        data = data.head(args.limit, args.limit)
    cfg = build_config(args, data)
    epochs = args.epochs or DEFAULT_EPOCHS[args.dataset]
    model = make_model(cfg, args.precision)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out or f"runs/{data.name}-{cfg.model}-{args.precision}-h{cfg.n_hidden}"
                             f"-s{cfg.seed}-{stamp}")
    print(f"naca train: {data.name} ({len(data.x_train)} train / {len(data.x_test)} test), "
          f"{cfg.model.upper()} {cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}, T={cfg.time_steps}, "
          f"{args.precision}, {epochs} epochs, seed {cfg.seed}")
    bar = tqdm(total=epochs * len(data.x_train), unit="sample", disable=args.quiet,
               dynamic_ncols=True, leave=False)

    def progress(done: int, total: int) -> None:
        if done % 64 == 0 or done == total:
            bar.update(done - bar.n)

    def on_epoch(epoch: int, hist: History) -> None:
        bar.clear()
        print(f"epoch {epoch + 1:3d}/{epochs}: train {100 * hist.train_accuracy[-1]:6.2f} %  "
              f"test {100 * hist.test_accuracy[-1]:6.2f} %  "
              f"({hist.samples_per_second[-1]:,.0f} samples/s)", flush=True)

    hist = train(model, data, epochs, progress, on_epoch)
    bar.close()
    meta = {"dataset": data.name, "data_dir": args.data_dir, "precision": args.precision,
            "epochs": epochs, "limit": args.limit,
            "title": f"{data.name}: NACA {cfg.model.upper()} {args.precision} "
                     f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}"}
    write_run(out, cfg, meta, model, hist)
    print(f"final test accuracy {100 * hist.test_accuracy[-1]:.2f} % "
          f"(best {100 * max(hist.test_accuracy):.2f} %); run written to {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    run = Path(args.run)
    metrics_path = run / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{run} is not a run folder (no metrics.json); "
                                "make one with: naca train")
    meta = json.loads(metrics_path.read_text())
    cfg = NacaConfig.load(run / "config.json")
    precision = meta["precision"]
    state = load_state(run / "weights.npz", cfg, exact=precision == "fixed")
    model = make_model(cfg, precision)
    model.state = state
    data = datasets.load(meta["dataset"], args.data_dir or meta.get("data_dir"))
    if meta.get("limit"):
        data = data.head(meta["limit"], meta["limit"])
    accuracy = evaluate(model, data.x_test, data.y_test)
    print(f"{run}: test accuracy {100 * accuracy:.2f} % "
          f"(recorded at the end of training: {100 * meta['final_test_accuracy']:.2f} %)")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    cfg = NacaConfig.for_sizes(args.inputs, args.hidden, args.classes, model=args.model,
                               time_steps=1 if args.model == "ann" else args.time_steps)
    if args.output:
        cfg.save(args.output)
        print(f"wrote {args.output}")
    else:
        print(cfg.to_json())
    return 0


def cmd_verilog(args: argparse.Namespace) -> int:
    from .rtl.export import export_verilog

    cfg, state = _core_config(args)
    if args.device:
        from .rtl.budget import check_fits

        check_fits(cfg, args.lanes, args.device)
    start = time.perf_counter()
    path = export_verilog(cfg, args.lanes, args.output, fifo_depth=args.fifo_depth, state=state)
    print(f"wrote {path} ({cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}, {args.lanes} lanes"
          f"{', trained weights baked in' if state else ''}) with config.json and hardware.json "
          f"in {time.perf_counter() - start:.1f} s")
    return 0


def _core_config(args: argparse.Namespace) -> tuple[NacaConfig, object]:
    """The config (and trained state, from a run folder) that ``verilog`` and ``sim`` build."""
    if getattr(args, "run", None):
        run = Path(args.run)
        cfg = NacaConfig.load(run / "config.json")
        return cfg, load_state(run / "weights.npz", cfg, exact=True)
    if args.config:
        return NacaConfig.load(args.config), None
    return NacaConfig.for_sizes(64, 100, 10), None


def cmd_sim(args: argparse.Namespace) -> int:
    from .rtl.export import export_verilog, load_export
    from .sim.cosim import CosimFailed, cosimulate

    build = Path(args.build_dir)
    if args.export:
        export = Path(args.export)
        cfg, hardware = load_export(export)
        lanes = hardware["lanes"]
    else:
        cfg, _ = _core_config(args)
        if args.dataset in ("fashion", "mnist5k") and not args.config:
            cfg = NacaConfig.for_sizes(784, 100, 10)
        lanes, export = args.lanes, build / "verilog"
        export_verilog(cfg, lanes, export)
    print(f"co-simulating {cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes} at {lanes} lanes on "
          f"{args.dataset}: {args.samples} training samples, {args.test_samples} test samples "
          f"(Verilator build in {build / 'verilator'})", flush=True)
    try:
        report = cosimulate(export, build / "verilator", dataset=args.dataset,
                            data_dir=args.data_dir, samples=args.samples,
                            test_samples=args.test_samples, seed=args.seed, idle=args.idle,
                            backpressure=args.backpressure, checkpoint=args.checkpoint,
                            waves=args.waves, progress=not args.quiet,
                            classes_per_task=args.classes_per_task, tasks=args.tasks,
                            test_per_class=args.test_per_class)
    except CosimFailed as exc:
        print(f"naca sim: MISMATCH: {exc}", file=sys.stderr)
        if args.report:
            Path(args.report).write_text(json.dumps(exc.report, indent=2) + "\n")
        return 1
    print(f"{report['samples']} training samples match the golden model bit for bit "
          f"({report['checks']} checks: every prediction and spike count, every weight and "
          f"counter at the checkpoints and the end)")
    print(f"speed: {report['samples_per_second']:.1f} samples/s, "
          f"{report['cycles_per_second'] / 1e3:.0f} k simulated cycles/s; "
          f"{report['core_cycles_per_sample']:.0f} core cycles per training sample")
    print(f"on-chip training accuracy (during training): {100 * report['train_accuracy']:.2f} %")
    for t, row in enumerate(report.get("class_incremental", {}).get("accuracy", [])):
        print(f"after task {t + 1}: per-class test accuracy on the core (%): "
              + " ".join(f"{100 * a:.0f}" for a in row))
    if "test" in report:
        print(f"test accuracy on the core ({report['test']['samples']} samples, equal to the "
              f"golden model's): {100 * report['test']['accuracy']:.2f} %")
    if args.waves:
        print(f"waveforms: {report['waves']}")
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.report}")
    return 0


class ClSetting(NamedTuple):
    """NACA's class-incremental setting for one model, mask setting and kind of image."""

    mask_delta: float       # the neuron mask threshold, in raw intensity
    hidden_rate: float      # the learning rates, as multiples of the network size's
    output_rate: float      #   classification defaults
    output_error: OutputError


#: Per model, setting and kind of image, each is the best final average accuracy of a sweep
#: with 1000 hidden neurons (seeds 1 and 2 on digits, seed 1 on MNIST-5k). The mask threshold
#: depends on the images' grey levels: the 8x8 digits have 17, the 28x28 sets (MNIST-5k,
#: Fashion-MNIST, IDX folders) mostly saturated strokes.
CL_NACA = {
    "snn": {"reference": {"digits": ClSetting(0.1, 1, 0.125, "mistakes"),
                          "28x28": ClSetting(0.3, 4, 2, "mistakes")},
            "task_free": {"digits": ClSetting(0.05, 1, 0.125, "mistakes"),
                          "28x28": ClSetting(0.3, 4, 0.5, "mistakes")}},
    "ann": {"reference": {"digits": ClSetting(0.02, 1, 2, "mistakes"),
                          "28x28": ClSetting(0.1, 1, 0.5, "mistakes")},
            "task_free": {"digits": ClSetting(0.05, 1, 0.125, "all"),
                          "28x28": ClSetting(0.05, 1, 2, "mistakes")}},
}


def cmd_cl(args: argparse.Namespace) -> int:
    from .golden_model import incremental
    from .golden_model.bp import BpNetwork, EwcNetwork
    from .golden_model.network import NacaNetwork

    data = datasets.load(args.dataset, args.data_dir)
    if args.limit:
        data = data.head(args.limit, args.limit)
    base = NacaConfig.for_sizes(data.n_inputs, args.hidden, data.n_classes, model=args.model,
                                seed=args.seed, lr_halving_epochs=0,
                                **({"time_steps": 1} if args.model == "ann" else {}))
    images = "digits" if args.dataset == "digits" else "28x28"
    naca_cfg = {}
    for setting, chosen in CL_NACA[args.model].items():
        chosen = chosen[images]
        naca_cfg[setting] = replace(
            base, mask_delta=chosen.mask_delta if args.mask_delta is None else args.mask_delta,
            output_error=args.output_error or chosen.output_error,
            lr_hidden=min((chosen.hidden_rate if args.hidden_rate is None else args.hidden_rate)
                          * base.lr_hidden, base.formats.learning_rate.max_value),
            lr_output=min(chosen.output_rate * base.lr_output,
                          base.formats.learning_rate.max_value))
    tasks = incremental.make_tasks(data.n_classes, args.classes_per_task)
    factories = {
        "NACA fixed": lambda setting: NacaNetwork(naca_cfg[setting], "fixed"),
        "NACA float": lambda setting: NacaNetwork(naca_cfg[setting], "float"),
        "BP": lambda setting: BpNetwork(base, args.bp_lr, args.bp_lr),
        # the control for NACA's output rule: BP with the same "mistakes" output error
        "BP mistakes": lambda setting: BpNetwork(replace(base, output_error="mistakes"),
                                                 args.bp_lr, args.bp_lr),
        "EWC": lambda setting: EwcNetwork(base, args.bp_lr, args.bp_lr,
                                          strength=args.ewc_lambda, penalty_step="sgd"),
        "EWC proximal": lambda setting: EwcNetwork(base, args.bp_lr, args.bp_lr,
                                                   strength=args.ewc_lambda),
    }
    results, unmasked = [], {}
    for setting in incremental.SETTINGS:
        for method, make in factories.items():
            start = time.perf_counter()
            model = make(setting)
            if method in unmasked:          # without a mask the settings do not differ
                result = replace(unmasked[method], setting=setting)
                took = "the same run as above"
            else:
                result = incremental.run(model, method, data, tasks, setting,
                                         epochs_per_task=args.epochs_per_task, seed=args.seed)
                took = f"{time.perf_counter() - start:.0f} s"
                if model.cfg.mask_delta is None:
                    unmasked[method] = result
            results.append(result)
            print(f"{setting:>9} {method:>12}: average after each task "
                  + " ".join(f"{100 * a:.1f}" for a in result.average) + f"  ({took})",
                  flush=True)
    out = Path(args.out or f"runs/cl-{args.dataset}-{args.model}-{args.classes_per_task}pt")
    out.mkdir(parents=True, exist_ok=True)
    n, h, c = data.n_inputs, args.hidden, data.n_classes
    cost = {}
    for key, method in (("NACA fixed", "naca"), ("BP", "bp"), ("EWC", "ewc"),
                        ("EWC proximal", "ewc")):
        ops = incremental.synaptic_ops_per_sample(method, n, h, c)
        run = next(r for r in results if r.method == key)
        cost[key] = {"ops_per_sample": ops, "epochs_per_task": args.epochs_per_task,
                     "cost": ops * args.epochs_per_task,
                     "measured_synaptic_events_per_sample":
                         run.work.synaptic_events / max(run.work.samples, 1)}
    metrics = {"dataset": args.dataset, "model": args.model, "tasks": [list(t) for t in tasks],
               "config_naca": {k: v.to_dict() for k, v in naca_cfg.items()},
               "bp_lr": args.bp_lr,
               "ewc_lambda": args.ewc_lambda, "results": [r.as_dict() for r in results],
               "cost": cost}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    plots = incremental.plot_report(out, results, f"{args.dataset}, {args.model.upper()} "
                                                  f"{n}-{h}-{c}, {len(tasks)} tasks")
    print("final average accuracy (%):")
    for setting in incremental.SETTINGS:
        row = {r.method: 100 * r.average[-1] for r in results if r.setting == setting}
        print(f"  {setting:>9}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()))
    print(f"wrote {out}/metrics.json and " + ", ".join(plots))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from .boards.build import build, synthesise

    cfg, _ = _core_config(args)
    out = Path(args.output or f"build/{args.board}")
    print(f"{'synthesising' if args.synth_only else 'building'} {cfg.n_inputs}-{cfg.n_hidden}-"
          f"{cfg.n_classes} at {args.lanes} lanes for the {args.board} in {out} (YoWASP; the "
          f"first run compiles the tools)", flush=True)
    clock_hz = None if args.clock is None else args.clock * 1e6
    if args.synth_only:
        report = synthesise(args.board, cfg, args.lanes, out, baud=args.baud, clock_hz=clock_hz)
    else:
        report = build(args.board, cfg, args.lanes, out, baud=args.baud, clock_hz=clock_hz,
                       seed=args.seed)
    print(json.dumps(report, indent=2))
    if args.synth_only and report["over"]:
        counts = {**{cell: (used, report["device_cells"][cell])
                     for cell, used in report["cells"].items() if cell in report["device_cells"]},
                  **{cell: (usage["used"], usage["available"])
                     for cell, usage in report["packed"].items()}}
        over = "; ".join(f"{cell} {counts[cell][0]:,} of {counts[cell][1]:,}"
                         for cell in report["over"])
        print(f"error: by the synthesis and packing counts the design does not fit the "
              f"{report['device']}: {over}", file=sys.stderr)
        return 1
    return 0


def cmd_board(args: argparse.Namespace) -> int:
    import serial

    from .boards.driver import Board

    folder = Path(args.export)
    for name in ("config.json", "hardware.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing; point --export at the folder "
                                    "naca build wrote (it holds config.json and hardware.json)")
    cfg = NacaConfig.load(folder / "config.json")
    hardware = json.loads((folder / "hardware.json").read_text())
    with serial.Serial(args.port, args.baud, timeout=args.timeout) as port:
        board = Board(port, cfg, hardware["lanes"])
        if args.action == "load":
            run = Path(args.run)
            board.load(load_state(run / "weights.npz", cfg, exact=True))
            print(f"loaded {run} into the board")
        elif args.action == "status":
            print(json.dumps(board.status(), indent=2))
        elif args.action == "dump":
            out = Path(args.output or "board_weights.npz")
            np.savez(out, w_hidden=board.weights("hidden"), w_output=board.weights("output"),
                     modulation=board.table())
            print(f"wrote {out}")
        else:
            data = datasets.load(args.dataset, args.data_dir)
            train = args.action == "train"
            x, y = (data.x_train, data.y_train) if train else (data.x_test, data.y_test)
            count = min(args.samples or len(x), len(x))
            from tqdm import tqdm

            correct = 0
            for k in tqdm(range(count), unit="sample", desc=args.action):
                result = board.run(cfg.formats.input.quantize(x[k]), int(y[k]), train)
                correct += result.prediction == int(y[k])
            print(f"{args.action}: {count} samples, accuracy {100 * correct / count:.2f} %")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="naca", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train on a dataset and write a run folder")
    t.add_argument("--dataset", choices=datasets.NAMES, default="digits")
    t.add_argument("--data-dir", help="IDX folder (for --dataset idx, or another Fashion-MNIST)")
    t.add_argument("--model", choices=("snn", "ann"), default="snn",
                   help="ignored with --config (the config names its model)")
    t.add_argument("--precision", choices=("fixed", "float", "bp"), default="fixed",
                   help="fixed: the bit-exact golden model; float: float64 NACA; bp: backprop")
    t.add_argument("--config", help="a config JSON (naca config) instead of the default")
    t.add_argument("--hidden", type=_positive_int)
    t.add_argument("--epochs", type=_positive_int,
                   help=f"default per dataset: {DEFAULT_EPOCHS}")
    t.add_argument("--seed", type=int)
    t.add_argument("--time-steps", type=_positive_int)
    t.add_argument("--lr-hidden", type=float, help="0 disables NACA's hidden rule (ablation)")
    t.add_argument("--lr-output", type=float)
    t.add_argument("--output-rule", choices=("accumulate", "last_step"))
    t.add_argument("--output-error", choices=get_args(OutputError),
                   help="all: the delta rule; mistakes: a class's own spikes count in its "
                        "error only when it is the label or the wrong winner (NacaConfig)")
    t.add_argument("--limit", type=_positive_int, help="use only the first N train/test samples")
    t.add_argument("--out", help="run folder (default runs/<dataset>-<model>-...)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("eval", help="re-evaluate a saved run folder")
    e.add_argument("run")
    e.add_argument("--data-dir")
    e.set_defaults(func=cmd_eval)

    c = sub.add_parser("config", help="print or write the default config of a network size")
    c.add_argument("--inputs", type=_positive_int, default=64)
    c.add_argument("--hidden", type=_positive_int, default=100)
    c.add_argument("--classes", type=_positive_int, default=10)
    c.add_argument("--model", choices=("snn", "ann"), default="snn")
    c.add_argument("--time-steps", type=_positive_int, default=DEFAULT_TIME_STEPS)
    c.add_argument("-o", "--output")
    c.set_defaults(func=cmd_config)

    v = sub.add_parser("verilog", help="export the network core as Verilog")
    source = v.add_mutually_exclusive_group()
    source.add_argument("--config", help="a config JSON (default: 64-100-10)")
    source.add_argument("--run", help="a fixed-point run folder: its config, and its trained "
                                      "weights baked into the memories")
    v.add_argument("--lanes", type=_positive_int, default=DEFAULT_LANES,
                   help="hidden-layer lanes P")
    v.add_argument("--fifo-depth", type=_positive_int, default=16)
    v.add_argument("--device", choices=("ice40up5k", "ecp5-85f"),
                   help="refuse a core whose memories do not fit this device")
    v.add_argument("-o", "--output", default="build/verilog", help="output folder")
    v.set_defaults(func=cmd_verilog)

    s = sub.add_parser("sim", help="co-simulate the core against the golden model")
    s.add_argument("--dataset", choices=datasets.NAMES, default="digits")
    s.add_argument("--data-dir", help="IDX folder (for --dataset idx)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--config", help="a config JSON (default: 64-100-10, or 784-100-10 for "
                                        "the 28x28 datasets)")
    where.add_argument("--export", help="an exported core folder (naca verilog -o FOLDER)")
    s.add_argument("--lanes", type=_positive_int, default=DEFAULT_LANES)
    s.add_argument("--samples", type=_positive_int, default=1437,
                   help="training samples (default: one epoch of digits)")
    s.add_argument("--test-samples", type=int, default=360,
                   help="test samples inferred after training")
    s.add_argument("--checkpoint", type=int, default=0,
                   help="read back and compare all weights every N samples (0: at the end)")
    s.add_argument("--seed", type=int, default=1, help="seed of the idle and stall pattern")
    s.add_argument("--idle", type=float, default=0.1, help="idle probability per input beat")
    s.add_argument("--backpressure", type=float, default=0.1,
                   help="stall probability per output beat")
    s.add_argument("--classes-per-task", type=_positive_int,
                   help="class-incremental order instead of epochs (with a config that has "
                        "mask_delta for the on-chip neuron mask)")
    s.add_argument("--tasks", type=_positive_int, help="class-incremental tasks to run")
    s.add_argument("--test-per-class", type=_positive_int,
                   help="class-incremental test samples per class after each task")
    s.add_argument("--waves", action="store_true", help="write an FST waveform (slower)")
    s.add_argument("--build-dir", default="build/sim")
    s.add_argument("--report", help="write the JSON report here")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_sim)

    cl = sub.add_parser("cl", help="class-incremental learning: NACA against BP and EWC")
    cl.add_argument("--dataset", choices=datasets.NAMES, default="digits")
    cl.add_argument("--data-dir")
    cl.add_argument("--model", choices=("snn", "ann"), default="snn")
    cl.add_argument("--hidden", type=_positive_int, default=1000,
                    help="hidden neurons (default: 1000, the paper's class-incremental network)")
    cl.add_argument("--classes-per-task", type=_positive_int, default=1)
    cl.add_argument("--epochs-per-task", type=_positive_int, default=1)
    cl.add_argument("--mask-delta", type=float,
                    help="NACA's neuron mask threshold in raw intensity, for both settings "
                         "(default: CL_NACA's, per model, setting and dataset)")
    cl.add_argument("--hidden-rate", type=_non_negative_float,
                    help="NACA's hidden learning rate as a multiple of the config's default, for "
                         "both settings (default: CL_NACA's; 0 freezes the hidden layer)")
    cl.add_argument("--output-error", choices=get_args(OutputError),
                    help="NACA's output error, for both settings (default: CL_NACA's)")
    cl.add_argument("--bp-lr", type=float, default=0.001, help="BP and EWC learning rate")
    cl.add_argument("--ewc-lambda", type=float, default=5e4)
    cl.add_argument("--seed", type=int, default=1)
    cl.add_argument("--limit", type=_positive_int, help="first N train/test samples only")
    cl.add_argument("--out", help="output folder (default runs/cl-<dataset>-...)")
    cl.set_defaults(func=cmd_cl)

    b = sub.add_parser("build", help="build a bitstream for a board")
    b.add_argument("--board", choices=("icebreaker", "ulx3s"), required=True)
    b.add_argument("--config", help="a config JSON (default: 64-100-10)")
    b.add_argument("--lanes", type=_positive_int, default=DEFAULT_LANES)
    b.add_argument("--baud", type=_positive_int, default=115_200)
    b.add_argument("--clock", type=_positive_float,
                   help="design clock in MHz (default: 30 on the iCEBreaker, 80 on the ULX3S); "
                        "the PLL's nearest clock at or below it is used")
    b.add_argument("--seed", type=int,
                   help="nextpnr's placement seed (default: nextpnr's own; place and route "
                        "only): in a nearly full device the reached clock moves by a few MHz "
                        "from seed to seed")
    b.add_argument("--synth-only", action="store_true",
                   help="Yosys and nextpnr's packing only: the cells and logic cells the "
                        "design needs against the device's (no block-RAM check, no place "
                        "and route, no bitstream)")
    b.add_argument("-o", "--output", help="build folder (default build/<board>)")
    b.set_defaults(func=cmd_build)

    d = sub.add_parser("board", help="drive a board over its UART host link")
    d.add_argument("action", choices=("load", "train", "infer", "dump", "status"))
    d.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB1")
    d.add_argument("--export", required=True,
                   help="the folder with the board's config.json and hardware.json")
    d.add_argument("--baud", type=_positive_int, default=115_200)
    d.add_argument("--timeout", type=float, default=2.0, help="seconds per reply")
    d.add_argument("--run", help="for load: a fixed-point run folder (naca train)")
    d.add_argument("--dataset", choices=datasets.NAMES, default="digits")
    d.add_argument("--data-dir")
    d.add_argument("--samples", type=_positive_int)
    d.add_argument("-o", "--output", help="for dump: the .npz to write")
    d.set_defaults(func=cmd_board)
    return p


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_limits

    args = parser().parse_args(argv)
    try:
        # Batch-1 products are tiny: BLAS threads only contend for the cores.
        with threadpool_limits(limits=1):
            return args.func(args)
    except (ValueError, FileNotFoundError, datasets.DatasetError, LinkError,
            SerialException) as exc:
        print(f"naca {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
