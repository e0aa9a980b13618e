"""Benchmark: analytic cost model vs FlopCounterMode on meta-device models.

For each preset, a 10,000-candidate Sobol pool is costed three ways in the same run:

- ``optnas.cost.count_columns`` (vectorized over the pool's column array);
- ``optnas.cost.count`` (scalar, one decoded ``Arch`` at a time);
- ``torch.utils.flop_counter.FlopCounterMode`` over ``optnas.models.build(..., device="meta")``
  plus ``sum(p.numel())`` -- the measurement the analytic counts are defined to equal. It is
  timed on a subset (``--flop-subset``, default 50) and extrapolated per candidate; the subset's
  counts are also checked for exact equality.

Writes ``benchmarks/results/cost_model.json`` and ``.md`` with the command, date and cores.

Usage::

    python -m benchmarks.cost_model [--pool 10000] [--flop-subset 50] [--seed 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from optnas.cost import count, count_columns
from optnas.models import build
from optnas.space import PRESETS, preset

RESULTS = Path(__file__).resolve().parent / "results"


def _flop_counter(arch: Any, recipe: Any, num_classes: int) -> tuple[int, int]:
    model = build(arch, recipe, num_classes=num_classes, device="meta").eval()
    x = torch.empty(1, 3, arch.resolution, arch.resolution, device="meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2, sum(p.numel() for p in model.parameters())


def bench_preset(name: str, pool: int, subset: int, seed: int, repeats: int) -> dict[str, Any]:
    space = preset(name)
    num_classes = 1000 if name == "fbnetv3" else 10
    cols = space.sample(pool, seed)

    count_columns(space, cols[:64], num_classes)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        costs = count_columns(space, cols, num_classes)
        times.append(time.perf_counter() - t0)
    vec_total = statistics.median(times)

    t0 = time.perf_counter()
    candidates = list(space.iter_candidates(cols))
    decode_total = time.perf_counter() - t0

    t0 = time.perf_counter()
    scalar = [count(arch, num_classes) for arch, _ in candidates]
    scalar_total = time.perf_counter() - t0
    scalar_exact = all(
        (c.macs, c.params) == (int(m), int(p)) for c, m, p in zip(scalar, costs.macs, costs.params, strict=True)
    )

    _flop_counter(*candidates[0], num_classes)  # warm-up (first-call dispatch setup)
    step = max(1, pool // subset)
    chosen = list(range(0, pool, step))[:subset]
    t0 = time.perf_counter()
    measured = [_flop_counter(*candidates[i], num_classes) for i in chosen]
    flop_total = time.perf_counter() - t0
    mismatches = sum(
        measured_i != (int(costs.macs[i]), int(costs.params[i])) for measured_i, i in zip(measured, chosen, strict=True)
    )

    vec_per = vec_total / pool
    scalar_per = scalar_total / pool
    flop_per = flop_total / len(chosen)
    return {
        "preset": name,
        "num_classes": num_classes,
        "pool": pool,
        "count_columns_s": vec_total,
        "count_columns_per_candidate_us": vec_per * 1e6,
        "count_columns_repeats": repeats,
        "decode_s": decode_total,
        "count_scalar_s": scalar_total,
        "count_scalar_per_candidate_us": scalar_per * 1e6,
        "count_scalar_equals_count_columns": scalar_exact,
        "flop_counter_subset": len(chosen),
        "flop_counter_per_candidate_ms": flop_per * 1e3,
        "flop_counter_extrapolated_pool_s": flop_per * pool,
        "flop_counter_mismatches": mismatches,
        "ratio_flop_counter_over_count_columns": flop_per / vec_per,
        "ratio_flop_counter_over_count_scalar": flop_per / scalar_per,
        "ratio_count_scalar_over_count_columns": scalar_per / vec_per,
        "macs_range": [int(costs.macs.min()), int(costs.macs.max())],
        "params_range": [int(costs.params.min()), int(costs.params.max())],
    }


def _markdown(meta: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    lines = [
        "# Cost model benchmark",
        "",
        f"- command: `{meta['command']}`",
        f"- date: {meta['date']}",
        f"- machine: {meta['cpu_count']} cores (os.cpu_count), torch threads "
        f"{meta['torch_threads']}, load average at start {meta['loadavg_start']}",
        f"- versions: python {meta['python']}, torch {meta['torch']}, numpy {meta['numpy']}",
        "",
        "Per-candidate time of the analytic vectorized `count_columns` over a "
        f"{meta['pool']:,}-candidate Sobol pool, the scalar `count`, and FlopCounterMode on a "
        "meta-device model built by `optnas.models.build` (measured on a subset, "
        "extrapolated). Same run, same candidates.",
        "",
        f"| preset | count_columns, {meta['pool']:,} pool | per candidate | scalar count | "
        "FlopCounterMode (meta) | FlopCounterMode / count_columns | FlopCounterMode / count "
        "| exact on subset |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['count_columns_s'] * 1e3:.1f} ms "
            f"| {r['count_columns_per_candidate_us']:.2f} µs "
            f"| {r['count_scalar_per_candidate_us']:.0f} µs "
            f"| {r['flop_counter_per_candidate_ms']:.0f} ms "
            f"(~{r['flop_counter_extrapolated_pool_s'] / 60:.0f} min per pool) "
            f"| {r['ratio_flop_counter_over_count_columns']:,.0f}x "
            f"| {r['ratio_flop_counter_over_count_scalar']:,.0f}x "
            f"| {r['flop_counter_subset'] - r['flop_counter_mismatches']}"
            f"/{r['flop_counter_subset']} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=10_000)
    parser.add_argument("--flop-subset", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=sorted(PRESETS), choices=sorted(PRESETS))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    torch.set_num_threads(1)
    meta = {
        "command": " ".join(shlex.quote(a) for a in [".venv/bin/python", *sys.argv]),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pool": args.pool,
        "flop_subset": args.flop_subset,
        "seed": args.seed,
    }
    rows = []
    for name in args.presets:
        row = bench_preset(name, args.pool, args.flop_subset, args.seed, args.repeats)
        rows.append(row)
        print(
            f"{name:8s} count_columns {row['count_columns_s'] * 1e3:8.1f} ms / {args.pool} "
            f"| count {row['count_scalar_per_candidate_us']:7.0f} us/cand "
            f"| FlopCounterMode {row['flop_counter_per_candidate_ms']:7.0f} ms/cand "
            f"| ratio {row['ratio_flop_counter_over_count_columns']:,.0f}x "
            f"| mismatches {row['flop_counter_mismatches']}",
            flush=True,
        )
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cost_model.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2) + "\n")
    (args.out / "cost_model.md").write_text(_markdown(meta, rows))
    bad = [r["preset"] for r in rows if r["flop_counter_mismatches"] or not r["count_scalar_equals_count_columns"]]
    if bad:
        print(f"cost mismatch on {bad}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
