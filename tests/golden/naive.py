"""A deliberately naive, scalar re-implementation of one fixed-point NACA training step.

Plain Python integers and loops, its own copy of the hash and of every rounding rule, written
from the algorithm's description rather than from the vectorised code, so that the two can be
compared bit for bit.
"""

from __future__ import annotations

import math

M32 = 0xFFFFFFFF
ENCODE, ROUND_HIDDEN, ROUND_OUTPUT = 1, 2, 3


def mix(x: int) -> int:
    x &= M32
    x = ((x ^ M32) + (x << 15)) & M32
    x ^= x >> 12
    x = (x + (x << 2)) & M32
    x ^= x >> 4
    x = (x * 2057) & M32
    x ^= x >> 16
    return x


def key(seed: int, stream: int, sample: int, step: int) -> int:
    return mix(mix(mix(mix(seed) ^ stream) ^ sample) ^ step)


def byte_1d(k: int, element: int) -> int:
    return (mix(k ^ (element // 4)) >> (8 * (element % 4))) & 0xFF


def byte_2d(k: int, row: int, col: int, n_cols: int) -> int:
    col_words = (n_cols + 3) // 4
    bits = (col_words - 1).bit_length()
    return (mix(k ^ ((row << bits) | (col // 4))) >> (8 * (col % 4))) & 0xFF


def clamp(x: int, fmt) -> int:
    if fmt.signed:
        low, high = -(1 << (fmt.width - 1)), (1 << (fmt.width - 1)) - 1
    else:
        low, high = 0, (1 << fmt.width) - 1
    return min(max(x, low), high)


def requantise(x: int, from_frac: int, fmt) -> int:
    drop = from_frac - fmt.frac
    if drop > 0:
        if fmt.rounding == "half_up":
            x += 1 << (drop - 1)
        x = x >> drop          # Python's >> floors, like an arithmetic shift
    else:
        x = x << -drop
    return clamp(x, fmt)


def stochastic(x: int, drop: int, sr_bits: int, rand_byte: int) -> int:
    if drop <= 0:
        return x << -drop
    k = min(drop, sr_bits)
    x >>= drop - k
    return (x + (rand_byte >> (8 - k))) >> k if k else x


def lif_layer(cfg, layer, currents, mask):
    """currents[t][j] -> (spikes[t][j], h[t][j]) with the config's leak, threshold and lens."""
    fmt = getattr(cfg.formats, f"membrane_{layer}")
    alpha, alpha_frac = cfg.code("alpha"), cfg.formats.leak.frac
    theta, near = cfg.code(f"threshold_{layer}"), cfg.code(f"near_threshold_{layer}")
    width = len(currents[0])
    v, prev = [0] * width, [0] * width
    spikes, hs = [], []
    for current in currents:
        s_now, h_now = [], []
        for j in range(width):
            kept = 0 if prev[j] else v[j]
            v[j] = clamp(((kept * alpha) >> alpha_frac) + current[j], fmt)
            h_now.append((1 if v[j] > near else 0) - prev[j])
            s_now.append(1 if (v[j] > theta and (mask is None or mask[j])) else 0)
        prev = s_now
        spikes.append(s_now)
        hs.append(h_now)
    return spikes, hs


def train_step(cfg, w_hid, w_out, table, u, label, sample):
    """One SNN training step on lists of ints; returns (counts, new w_hid, new w_out)."""
    f = cfg.formats
    n, h, c, steps = cfg.n_inputs, cfg.n_hidden, cfg.n_classes, cfg.time_steps
    codes = [clamp(math.floor(ui * (1 << f.input.frac) + 0.5), f.input) for ui in u]
    mask = None
    if cfg.mask_delta is not None:
        beta = max(codes) - cfg.code("mask_delta")
        mask = [codes[(j * n) // h] > beta for j in range(h)]
    x = []
    for t in range(steps):
        k = key(cfg.seed, ENCODE, sample, t)
        x.append([1 if (byte_1d(k, i) >> (8 - f.input.width)) < codes[i] else 0 for i in range(n)])
    cur_h = [[sum(w_hid[i][j] for i in range(n) if x[t][i]) for j in range(h)]
             for t in range(steps)]
    s_h, h_h = lif_layer(cfg, "hidden", cur_h, mask)
    cur_o = [[sum(w_out[j][k] for j in range(h) if s_h[t][j]) for k in range(c)]
             for t in range(steps)]
    s_o, h_o = lif_layer(cfg, "output", cur_o, None)
    counts = [sum(s_o[t][k] for t in range(steps)) for k in range(c)]

    new_hid = [row[:] for row in w_hid]
    lr_frac = f.learning_rate.frac
    key_h = key(cfg.seed, ROUND_HIDDEN, sample, steps)
    for j in range(h):
        m = 1 if mask is None or mask[j] else 0
        v = requantise(-cfg.code("lr_hidden") * table[label][j], lr_frac + f.modulation.frac,
                       f.update_hidden) * h_h[-1][j] * m
        if v == 0:
            continue
        for i in range(n):
            if x[-1][i]:
                step = stochastic(v, f.update_hidden.frac - f.weight_hidden.frac, cfg.sr_bits,
                                  byte_2d(key_h, i, j, h))
                new_hid[i][j] = clamp(w_hid[i][j] + step, f.weight_hidden)

    new_out = [row[:] for row in w_out]
    key_o = key(cfg.seed, ROUND_OUTPUT, sample, steps)
    first = 0 if cfg.output_rule == "accumulate" else steps - 1
    prediction = counts.index(max(counts))              # the first of the largest counts
    for k in range(c):
        counted = (cfg.output_error == "all"
                   or (prediction != label and k in (label, prediction)))
        error = (counts[k] if counted else 0) - (steps if k == label else 0)
        v = requantise(-cfg.code("lr_output") * error, lr_frac, f.update_output)
        for j in range(h):
            pre = sum(s_h[t][j] * h_o[t][k] for t in range(first, steps))
            if v == 0 or pre == 0:
                continue
            step = stochastic(v * pre, f.update_output.frac - f.weight_output.frac, cfg.sr_bits,
                              byte_2d(key_o, j, k, c))
            new_out[j][k] = clamp(w_out[j][k] + step, f.weight_output)
    return counts, new_hid, new_out
