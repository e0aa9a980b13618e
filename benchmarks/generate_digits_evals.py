"""Train ``digits``-preset candidates on scikit-learn's digits and record one CSV row per candidate.

The cheap companion of ``generate_evals.py`` (same columns, same resumable append-only CSV): the
first ``--n`` points of the ``digits`` preset's scrambled Sobol pool, each trained with
:func:`optnas.train.train_and_evaluate` on the embedded digits split (seconds per candidate on a
CPU), so the predictor benchmark has hundreds of real evaluations when reduced CIFAR-10 ones are
too expensive to make in numbers::

    python -m benchmarks.generate_digits_evals --n 256 [--out benchmarks/data/digits_evals.csv]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from benchmarks.generate_evals import _append, columns, done_indices
from optnas.data import load
from optnas.space import preset
from optnas.train import train_and_evaluate

REPO = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "data" / "digits_evals.csv")
    args = ap.parse_args(argv)
    space = preset("digits")
    header = columns(space)
    done = done_indices(args.out, header)
    todo = [i for i in range(args.n) if i not in done]
    print(f"{len(todo)} candidates to train ({len(done)} already in {args.out})", flush=True)
    data = load("digits", seed=0)
    pool = space.sample(args.n, args.seed)
    with args.out.open("a", newline="") as f:
        for k, i in enumerate(todo):
            params = space.to_params(pool[i])
            arch, recipe = space.decode_params(params)
            t0 = time.perf_counter()
            res = train_and_evaluate(arch, recipe, data, seed=args.seed, num_threads=args.threads)
            row = [
                i,
                args.seed,
                *(params[name] for name in space.names),
                res.cost.macs,
                res.cost.params,
                res.accuracy,
                "",
                json.dumps(list(res.curve)),
                round(res.wall_time, 3),
                str(arch),
                res.diverged,
            ]
            _append(f, row)
            print(f"[{k + 1}/{len(todo)}] {i}: val {res.accuracy:.4f} {time.perf_counter() - t0:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
