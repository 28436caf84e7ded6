"""Core cycles per training and per inference sample, measured by co-simulating the exported
core (Verilator) on real samples, beside the bound: the sample's synaptic events (plus, when
training, its weight updates) divided by the lanes P.

    python benchmarks/rtl_cycles.py [--lanes 1 4 8] [--train 40] [--test 20]

Lane utilisation = bound / measured cycles. Inputs: digits for 64-100-10, MNIST-5k for
784-100-10, without stalls (the counters count the core's own cycles either way). Prints a
table and writes benchmarks/rtl_cycles.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from naca.golden_model.config import NacaConfig
from naca.rtl.export import export_verilog
from naca.sim.cosim import cosimulate

#: The networks measured, with their data: the two of the table, and the iCEBreaker's 8-8-2
#: (the first 8 pixels of digits, labels modulo 2).
NETWORKS = {"64-100-10": ("digits", (64, 100, 10)), "784-100-10": ("mnist5k", (784, 100, 10)),
            "8-8-2": ("digits", (8, 8, 2))}
TABLE = ["64-100-10", "784-100-10"]


def measure(name: str, lanes: int, train: int, test: int, scratch: Path,
            **core_options) -> dict:
    """Cycles per sample of ``name`` on ``lanes`` lanes; ``core_options`` as in
    :class:`naca.rtl.network.NacaCore` (a board's: :attr:`naca.boards.build.Board.core_options`)."""
    dataset, sizes = NETWORKS[name]
    folder = scratch / f"{name}-p{lanes}"
    export_verilog(NacaConfig.for_sizes(*sizes), lanes, folder / "verilog", **core_options)
    report = cosimulate(folder / "verilog", folder / "build", dataset=dataset, samples=train,
                        test_samples=test, idle=0.0, backpressure=0.0)
    learned, inferred = report["status"], report["test"]["status"]
    train_cycles = learned["cycles"] / learned["samples"]
    train_bound = (learned["synaptic_events"] + learned["hidden_updates"]
                   + learned["output_updates"]) / learned["samples"] / lanes
    infer_cycles = inferred["cycles"] / inferred["samples"]
    infer_bound = inferred["synaptic_events"] / inferred["samples"] / lanes
    return {"network": name, "dataset": dataset, "lanes": lanes,
            "train_samples": learned["samples"], "test_samples": inferred["samples"],
            "train_cycles_per_sample": train_cycles, "train_bound": train_bound,
            "train_utilisation": train_bound / train_cycles,
            "infer_cycles_per_sample": infer_cycles, "infer_bound": infer_bound,
            "infer_utilisation": infer_bound / infer_cycles,
            "cosim_samples_per_second": report["samples_per_second"],
            "cosim_cycles_per_second": report["cycles_per_second"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--networks", nargs="+", default=TABLE, choices=NETWORKS)
    parser.add_argument("--train", type=int, default=40)
    parser.add_argument("--test", type=int, default=20)
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = parser.parse_args()
    rows = []
    header = (f"{'network':>10} {'P':>3} | {'train cycles':>12} {'bound':>9} {'util':>6} | "
              f"{'infer cycles':>12} {'bound':>9} {'util':>6} | {'cosim/s':>8}")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.networks:
            for lanes in args.lanes:
                row = measure(name, lanes, args.train, args.test, Path(scratch))
                rows.append(row)
                print(f"{name:>10} {lanes:>3} | {row['train_cycles_per_sample']:>12,.0f} "
                      f"{row['train_bound']:>9,.0f} {100 * row['train_utilisation']:>5.1f}% | "
                      f"{row['infer_cycles_per_sample']:>12,.0f} {row['infer_bound']:>9,.0f} "
                      f"{100 * row['infer_utilisation']:>5.1f}% | "
                      f"{row['cosim_samples_per_second']:>8.1f}", flush=True)
    Path(args.out).write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
