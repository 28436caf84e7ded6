"""The ``naca`` command line.

    naca train   train a network (golden model, float reference or BP baseline) on a dataset
    naca eval    re-evaluate a saved run folder
    naca config  write the default config of a network size as JSON
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from .golden_model import datasets
from .golden_model.config import DEFAULT_TIME_STEPS, NacaConfig
from .golden_model.training import (
    History,
    evaluate,
    load_state,
    train,
    write_run,
)

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


def build_config(args: argparse.Namespace, data: datasets.Dataset) -> NacaConfig:
    """The run's config: a JSON file if given (checked against the data), else the default for
    the data's size; command-line options override either."""
    overrides = {"n_hidden": args.hidden, "seed": args.seed, "time_steps": args.time_steps,
                 "lr_hidden": args.lr_hidden, "lr_output": args.lr_output,
                 "output_rule": args.output_rule}
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
    return p


def main(argv: list[str] | None = None) -> int:
    from threadpoolctl import threadpool_limits

    args = parser().parse_args(argv)
    try:
        # Batch-1 products are tiny: BLAS threads only contend for the cores.
        with threadpool_limits(limits=1):
            return args.func(args)
    except (ValueError, FileNotFoundError, datasets.DatasetError) as exc:
        print(f"naca {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
