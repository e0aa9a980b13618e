"""Learning curve of PPOSampler vs RandomSampler and TPESampler on a synthetic policy reward.

The reward of a trial is the fraction of AutoAugment's 30 decisions (``sp{i}_op{j}_type``,
``_prob``, ``_mag``) that equal a fixed target policy (decision ``k`` takes choice
``(7k + 3) mod width``), so the optimum (1.0) is a known policy and random search averages
``mean(1 / width) = 0.0845``. PPOSampler runs with the paper's settings (Cubuk et al., 2019,
Sec. 3: LSTM with 100 hidden units, learning rate 0.00035, entropy penalty 1e-5, EMA baseline
0.95) and with the faster settings the unit test uses.

Usage::

    python -m benchmarks.ppo_learning --trials 400 --seeds 0 1 2

Writes ``benchmarks/results/ppo_learning.json`` and ``.md`` (with the command, the date and the
machine) and ``ppo_learning.png`` (plotly + kaleido) or ``ppo_learning.html`` if PNG export fails.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

from optnas.controller import autoaugment_schema
from optnas.samplers import PPOSampler

SCHEMA = autoaugment_schema()
TARGET = {d.name: d.choices[(7 * k + 3) % len(d.choices)] for k, d in enumerate(SCHEMA)}
RANDOM_MEAN = sum(1 / n for n in SCHEMA.num_choices) / len(SCHEMA)

SAMPLERS: dict[str, Callable[[int], optuna.samplers.BaseSampler]] = {
    "ppo_paper": lambda seed: PPOSampler(seed=seed, batch_size=10),
    "ppo_fast": lambda seed: PPOSampler(seed=seed, batch_size=10, learning_rate=0.01, hidden_size=32, ppo_epochs=4),
    "ppo_small_budget": lambda seed: PPOSampler(seed=seed, preset="small_budget"),
    "random": lambda seed: optuna.samplers.RandomSampler(seed=seed),
    "tpe": lambda seed: optuna.samplers.TPESampler(seed=seed),
}
SETTINGS = {
    "ppo_paper": "PPOSampler(batch_size=10): lr 0.00035, hidden 100, 4 PPO epochs (paper)",
    "ppo_fast": "PPOSampler(batch_size=10, learning_rate=0.01, hidden_size=32, ppo_epochs=4)",
    "ppo_small_budget": "PPOSampler(preset='small_budget'): lr 0.01, hidden 32, baseline EMA 0.8",
    "random": "RandomSampler",
    "tpe": "TPESampler (defaults)",
}


def match_fraction(trial: optuna.Trial) -> float:
    """The synthetic reward: fraction of decisions equal to the target policy's."""
    params = {d.name: trial.suggest_categorical(d.name, d.choices) for d in SCHEMA}
    return sum(params[n] == TARGET[n] for n in SCHEMA.names) / len(SCHEMA)


def run_one(name: str, seed: int, n_trials: int) -> dict[str, Any]:
    sampler = SAMPLERS[name](seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    start = time.perf_counter()
    study.optimize(match_fraction, n_trials=n_trials)
    seconds = time.perf_counter() - start
    values = [float(t.value) for t in study.trials if t.value is not None]
    out: dict[str, Any] = {"values": values, "seconds": seconds, "best": max(values)}
    if isinstance(sampler, PPOSampler):
        greedy = sampler.state(study).greedy_params
        out["greedy_matches"] = sum(greedy[n] == TARGET[n] for n in SCHEMA.names)
    return out


def block_means(values: list[float], block: int) -> list[float]:
    return [float(np.mean(values[i : i + block])) for i in range(0, len(values), block)]


def summarize(runs: dict[str, list[dict[str, Any]]], block: int) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for name, per_seed in runs.items():
        curves = np.array([r["values"] for r in per_seed])
        last100 = curves[:, -100:].mean(axis=1)
        entry: dict[str, Any] = {
            "settings": SETTINGS[name],
            "block_means": block_means(curves.mean(axis=0).tolist(), block),
            "last100_mean": float(last100.mean()),
            "last100_per_seed": last100.tolist(),
            "best_mean": float(np.mean([r["best"] for r in per_seed])),
            "seconds_mean": float(np.mean([r["seconds"] for r in per_seed])),
        }
        if "greedy_matches" in per_seed[0]:
            entry["greedy_matches"] = [r["greedy_matches"] for r in per_seed]
        summary[name] = entry
    return summary


def write_markdown(path: Path, meta: dict[str, Any], summary: dict[str, Any], block: int) -> None:
    n_blocks = len(next(iter(summary.values()))["block_means"])
    header = " | ".join(f"{i * block}-{(i + 1) * block - 1}" for i in range(n_blocks))
    lines = [
        "# PPOSampler learning curve (synthetic policy reward)",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Date: {meta['date']}. Machine: {meta['machine']}.",
        f"Versions: {meta['versions']}. torch threads: {meta['torch_threads']}.",
        "",
        "Reward: fraction of AutoAugment's 30 decisions equal to a fixed target policy",
        f"(optimum 1.0; random search expects {RANDOM_MEAN:.4f}). Seeds: {meta['seeds']}.",
        "",
        f"Mean reward per block of {block} trials (averaged over seeds):",
        "",
        f"| sampler | {header} | last 100 | best | s/run |",
        "|---|" + "---|" * (n_blocks + 3),
    ]
    for name, entry in summary.items():
        blocks = " | ".join(f"{v:.3f}" for v in entry["block_means"])
        lines.append(
            f"| {name} | {blocks} | {entry['last100_mean']:.3f} | {entry['best_mean']:.3f} "
            f"| {entry['seconds_mean']:.1f} |"
        )
    lines += ["", "Settings:", ""]
    for name, entry in summary.items():
        extra = ""
        if "greedy_matches" in entry:
            extra = f"; greedy policy matches the target in {entry['greedy_matches']} of 30"
        lines.append(f"- `{name}`: {entry['settings']}{extra}")
    path.write_text("\n".join(lines) + "\n")


def write_plot(out_dir: Path, runs: dict[str, list[dict[str, Any]]], window: int) -> str:
    import plotly.graph_objects as go

    figure = go.Figure()
    for name, per_seed in runs.items():
        mean = np.array([r["values"] for r in per_seed]).mean(axis=0)
        smooth = np.convolve(mean, np.ones(window) / window, mode="valid")
        figure.add_trace(go.Scatter(x=np.arange(window - 1, len(mean)), y=smooth, mode="lines", name=name))
    figure.add_hline(y=RANDOM_MEAN, line_dash="dot", annotation_text="random expectation")
    figure.update_layout(
        title=f"Synthetic policy reward, moving average over {window} trials",
        xaxis_title="trial",
        yaxis_title="reward",
        width=900,
        height=500,
    )
    try:
        figure.write_image(str(out_dir / "ppo_learning.png"))
        return "ppo_learning.png"
    except Exception as error:  # kaleido needs a browser; fall back to HTML
        print(f"PNG export failed ({error!r}); writing HTML", file=sys.stderr)
        figure.write_html(str(out_dir / "ppo_learning.html"), include_plotlyjs="cdn")
        return "ppo_learning.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS), choices=list(SAMPLERS))
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[dict[str, Any]]] = {}
    for name in args.samplers:
        runs[name] = []
        for seed in args.seeds:
            result = run_one(name, seed, args.trials)
            runs[name].append(result)
            print(
                f"{name} seed={seed}: last100={np.mean(result['values'][-100:]):.3f} ({result['seconds']:.1f}s)",
                flush=True,
            )
    summary = summarize(runs, args.block)
    meta = {
        "command": shlex.join(["python", "-m", "benchmarks.ppo_learning", *sys.argv[1:]])
        if argv is None
        else shlex.join(["python", "-m", "benchmarks.ppo_learning", *argv]),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {platform.processor() or platform.platform()}, "
        f"{os.cpu_count()} logical CPUs, Python {platform.python_version()}",
        "versions": f"optuna {optuna.__version__}, torch {torch.__version__}",
        "torch_threads": args.threads,
        "seeds": args.seeds,
        "trials": args.trials,
        "random_expectation": RANDOM_MEAN,
    }
    write_markdown(args.out / "ppo_learning.md", meta, summary, args.block)
    meta["plot"] = write_plot(args.out, runs, args.block)
    payload = {
        "meta": meta,
        "summary": summary,
        "curves": {name: [r["values"] for r in per_seed] for name, per_seed in runs.items()},
    }
    (args.out / "ppo_learning.json").write_text(json.dumps(payload, indent=1) + "\n")
    with (args.out / "ppo_learning.md").open("a") as f:
        f.write(f"\nPlot: `{meta['plot']}`.\n")
    print((args.out / "ppo_learning.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
