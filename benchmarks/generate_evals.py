"""Train ``cifar``-preset candidates on reduced CIFAR-10 and record one CSV row per candidate.

This produces the evaluation data that the predictor and surrogate benchmarks use: the
candidates are the first ``--n`` points of the ``cifar`` preset's scrambled Sobol pool
(``preset("cifar").sample(n, seed)``, in order; the Sobol sequence is prefix-stable, so a
larger ``--n`` extends the same list). Each is trained with :func:`optnas.train.train_and_evaluate`
on AutoAugment's reduced CIFAR-10 (Cubuk et al., 2019, Sec. 4.1): 4,000 class-balanced training
images and a fixed 1,000-image validation split carved from the remaining training images of
the folder (``load("imagefolder", subset=4000, val_size=1000, seed=0)``), and is also scored on
the folder's test split.

Columns: ``index, seed, <every searched parameter by name>, macs, params, val_acc, test_acc,
curve`` (per-epoch validation accuracy as a JSON list) ``, wall_time``, then ``arch`` (the
architecture string) and ``diverged``. ``seed`` is ``--seed``: it draws the pool and seeds
every candidate's training. A row is appended (and fsync'ed) when its candidate finishes; on
restart the indices already in the file are skipped, a torn last line is dropped, and a lock
file keeps two processes from writing the same file. It can run in the background for hours::

    nohup python benchmarks/generate_evals.py --n 256 > benchmarks/data/cifar_evals.log 2>&1 &

Usage::

    python benchmarks/generate_evals.py [--n 256] [--start 0] [--seed 0] [--epochs E]
        [--out benchmarks/data/cifar_evals.csv] [--root ../shared/data/cifar10] [--threads 1]

``--root`` defaults to ``$OPTNAS_CIFAR10`` or ``../shared/data/cifar10`` beside the repository.
``--epochs`` overrides the preset's epoch budget (the schedule then spans those epochs).

Repeated seeds (the surrogate's noise, measured): ``--train-seed S --repeat K`` retrains the
first ``K`` candidates of the pool (the same pool: ``--seed`` still draws it) with training seed
``S`` and writes them to ``benchmarks/data/cifar_evals_repeats.csv`` (default ``--out`` then),
whose header has a ``train_seed`` column after ``seed``; rows are keyed by ``(index,
train_seed)``, so further seeds append to the same file::

    python -m benchmarks.generate_evals --epochs 4 --train-seed 1 --repeat 20
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from optnas import OptnasError
from optnas.data import load
from optnas.space import JointSpace, preset
from optnas.train import train_and_evaluate

REPO = Path(__file__).resolve().parents[1]
SUBSET, VAL_SIZE, DATA_SEED = 4000, 1000, 0


def columns(space: JointSpace, *, repeats: bool = False) -> list[str]:
    """The CSV header for ``space`` (``repeats``: with the ``train_seed`` column)."""
    return [
        "index",
        "seed",
        *(["train_seed"] if repeats else []),
        *space.names,
        "macs",
        "params",
        "val_acc",
        "test_acc",
        "curve",
        "wall_time",
        "arch",
        "diverged",
    ]


def done_indices(path: Path, header: Sequence[str], train_seed: int | None = None) -> set[int]:
    """Indices already recorded in ``path`` (creating it with ``header`` when absent).

    With ``train_seed``, only the rows of that training seed count. A last line without its
    newline (the process died while writing it) is removed.
    """
    if not path.exists() or path.stat().st_size == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="") as f:
            csv.writer(f).writerow(header)
        return set()
    text = path.read_text()
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
        path.write_text(text)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0] != list(header):
        raise OptnasError(f"{path}: its header does not match this space's columns; use another --out")
    if train_seed is not None:
        col = list(header).index("train_seed")
        return {int(r[0]) for r in rows[1:] if r and int(r[col]) == train_seed}
    return {int(r[0]) for r in rows[1:] if r}


def _append(f: TextIO, row: Sequence[Any]) -> None:
    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    f.write(buf.getvalue())  # one write per row
    f.flush()
    os.fsync(f.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256, help="number of pool candidates (indices 0..n-1)")
    parser.add_argument("--start", type=int, default=0, help="first index to train")
    parser.add_argument("--seed", type=int, default=0, help="pool and training seed")
    parser.add_argument("--epochs", type=int, default=None, help="override the preset's epoch budget")
    parser.add_argument("--out", type=Path, default=None, help="CSV (default: cifar_evals[_repeats].csv)")
    parser.add_argument("--train-seed", type=int, default=None, help="retrain with this training seed (repeats)")
    parser.add_argument("--repeat", type=int, default=20, help="with --train-seed: the first K candidates")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(os.environ.get("OPTNAS_CIFAR10", REPO.parent / "shared" / "data" / "cifar10")),
    )
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    if args.n < 1 or not 0 <= args.start < args.n:
        parser.error("need n >= 1 and 0 <= start < n")
    repeats = args.train_seed is not None
    if repeats and not 1 <= args.repeat <= args.n:
        parser.error(f"--repeat must lie in 1..--n ({args.n}), not {args.repeat}")
    if args.out is None:
        args.out = REPO / "benchmarks" / "data" / ("cifar_evals_repeats.csv" if repeats else "cifar_evals.csv")
    train_seed = args.train_seed if repeats else args.seed
    last = args.repeat if repeats else args.n

    space = preset("cifar")
    header = columns(space, repeats=repeats)
    lock_path = args.out.with_name(args.out.name + ".lock")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"another process is writing {args.out} (lock {lock_path})", file=sys.stderr)
            return 1
        done = done_indices(args.out, header, args.train_seed)
        todo = [i for i in range(args.start, last) if i not in done]
        print(f"{len(todo)} candidates to train ({len(done)} already in {args.out})", flush=True)
        if not todo:
            return 0
        data = load("imagefolder", root=args.root, subset=SUBSET, val_size=VAL_SIZE, seed=DATA_SEED)
        print(f"data: {data.summary()}", flush=True)
        pool = space.sample(args.n, args.seed)
        started = time.perf_counter()
        with args.out.open("a", newline="") as f:
            for k, i in enumerate(todo):
                params = space.to_params(pool[i])
                arch, recipe = space.decode_params(params)
                res = train_and_evaluate(
                    arch,
                    recipe,
                    data,
                    seed=train_seed,
                    epochs=args.epochs,
                    evaluate_test=True,
                    num_threads=args.threads,
                )
                row = [
                    i,
                    args.seed,
                    *([train_seed] if repeats else []),
                    *(params[name] for name in space.names),
                    res.cost.macs,
                    res.cost.params,
                    res.accuracy,
                    res.test_accuracy,
                    json.dumps(list(res.curve)),
                    round(res.wall_time, 3),
                    str(arch),
                    res.diverged,
                ]
                _append(f, row)
                elapsed = time.perf_counter() - started
                eta = elapsed / (k + 1) * (len(todo) - k - 1)
                print(
                    f"[{k + 1}/{len(todo)}] index {i}: val {res.accuracy:.4f} test {res.test_accuracy:.4f} "
                    f"{res.cost.macs / 1e6:.2f} MMACs {res.wall_time:.1f}s (eta {eta / 3600:.2f} h)",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume", file=sys.stderr)
        raise SystemExit(130) from None
