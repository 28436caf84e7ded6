"""Golden-model training speed: samples/s at batch 1 on one core (one BLAS thread), SNN
(default T) and ANN.

    python benchmarks/golden_speed.py [--samples N]

Prints a table and writes benchmarks/golden_speed.json. Inputs are real data (digits for
64-100-10, MNIST-5k for 784-100-10); the timed loop is the one ``naca train`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from naca.golden_model import datasets
from naca.golden_model.config import NacaConfig
from naca.golden_model.network import NacaNetwork


def samples_per_second(cfg: NacaConfig, precision: str, data: datasets.Dataset, n: int) -> float:
    net = NacaNetwork(cfg, precision)
    x, y = data.x_train, data.y_train
    for k in range(50):                                      # warm-up
        net.train_sample(x[k], int(y[k]), k)
    start = time.perf_counter()
    for k in range(n):
        i = k % len(x)
        net.train_sample(x[i], int(y[i]), k)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=3000)
    args = parser.parse_args()
    with threadpool_limits(limits=1):                        # one core, as documented
        rows = measure(args.samples)
    out = Path(__file__).with_suffix(".json")
    out.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                               "cpus": os.cpu_count(), "numpy": np.__version__,
                               "samples": args.samples, "results": rows}, indent=2) + "\n")
    print(f"wrote {out}")


def measure(samples: int) -> list[dict]:
    rows = []
    for name, model in (("digits", "snn"), ("mnist5k", "snn"), ("digits", "ann"),
                        ("mnist5k", "ann")):
        data = datasets.load(name)
        cfg = NacaConfig.for_sizes(data.n_inputs, 100, data.n_classes, model=model)
        for precision in ("fixed", "float"):
            rate = samples_per_second(cfg, precision, data, samples)
            net = f"{cfg.n_inputs}-{cfg.n_hidden}-{cfg.n_classes}"
            rows.append({"network": net, "model": model, "time_steps": cfg.time_steps,
                         "precision": precision, "samples_per_second": round(rate, 1)})
            print(f"{net:>10} {model.upper()} T={cfg.time_steps:<2} {precision:>5}: "
                  f"{rate:8,.0f} training samples/s", flush=True)
    return rows


if __name__ == "__main__":
    main()
