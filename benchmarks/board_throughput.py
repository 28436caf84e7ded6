"""Training samples per second on a board: the core's bound, the host link's bound, and both
together, from a ``naca build`` report and the core's co-simulated cycles per sample.

    naca build --board ulx3s -o build/ulx3s
    naca build --board icebreaker --config 8-8-2.json --lanes 1 -o build/icebreaker
    python benchmarks/board_throughput.py build/ulx3s/report.json build/icebreaker/report.json

The core's clock is the PLL's when timing is met, else the reached Fmax (the clock the
bitstream would have to be rebuilt for). The link's bound: a TRAIN frame (label and N pixel
codes) and its reply (sample counter, prediction, C counts) at 10 bits per byte (8N1) on the
report's baud rate. The driver waits for each reply, and the link receives a whole frame
before the core starts, so a sample takes the wire time plus the core time. Prints a table
and writes benchmarks/board_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from rtl_cycles import NETWORKS, measure

from naca.boards.build import BOARDS
from naca.boards.protocol import REPLY, Command, frame
from naca.golden_model.config import NacaConfig

BITS_PER_BYTE = 10          # 8N1: start, 8 data, stop


def link_bytes(cfg: NacaConfig) -> int:
    """Bytes on the wire for one training sample: the TRAIN frame and its reply."""
    request = frame(Command.TRAIN, bytes(1 + cfg.n_inputs))
    reply = frame(REPLY | Command.TRAIN, bytes(5 + cfg.n_classes))
    return len(request) + len(reply)


def throughput(report: dict, cycles_per_sample: float) -> dict:
    sizes = tuple(int(v) for v in report["network"].split("-"))
    cfg = NacaConfig.for_sizes(*sizes)
    clock_hz = min(report["target_mhz"], report["fmax_mhz"]) * 1e6
    wire = link_bytes(cfg)
    core_rate = clock_hz / cycles_per_sample
    link_rate = report["baud"] / BITS_PER_BYTE / wire
    return {"board": report["board"], "network": report["network"], "lanes": report["lanes"],
            "clock_mhz": clock_hz / 1e6, "timing_met": report["fmax_mhz"] >= report["target_mhz"],
            "train_cycles_per_sample": cycles_per_sample,
            "core_samples_per_second": core_rate,
            "baud": report["baud"], "link_bytes_per_sample": wire,
            "link_samples_per_second": link_rate,
            "samples_per_second": 1 / (1 / core_rate + 1 / link_rate),
            "bound": "host link" if link_rate < core_rate else "core"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="report.json files written by naca build")
    parser.add_argument("--train", type=int, default=40, help="samples co-simulated per network")
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    args = parser.parse_args()
    rows = []
    header = (f"{'board':>10} {'network':>10} {'P':>3} {'MHz':>6} | {'cycles':>7} "
              f"{'core/s':>8} | {'bytes':>5} {'link/s':>7} | {'both/s':>7} bound")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as scratch:
        for path in args.reports:
            report = json.loads(Path(path).read_text())
            if report["network"] not in NETWORKS:
                raise SystemExit(f"{path}: network {report['network']} has no benchmark "
                                 f"dataset; use one of {', '.join(NETWORKS)}")
            cycles = measure(report["network"], report["lanes"], args.train, 1, Path(scratch),
                             **BOARDS[report["board"]].core_options)
            row = throughput(report, cycles["train_cycles_per_sample"])
            rows.append(row)
            print(f"{row['board']:>10} {row['network']:>10} {row['lanes']:>3} "
                  f"{row['clock_mhz']:>6.1f} | {row['train_cycles_per_sample']:>7,.0f} "
                  f"{row['core_samples_per_second']:>8,.0f} | {row['link_bytes_per_sample']:>5} "
                  f"{row['link_samples_per_second']:>7,.1f} | {row['samples_per_second']:>7,.1f} "
                  f"{row['bound']}", flush=True)
    Path(args.out).write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
