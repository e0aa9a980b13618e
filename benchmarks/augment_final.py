"""The fair final comparison of augmentation methods in the regime where augmentation matters.

Issue 17, "Fair final comparison". Every arm trains the same child (``benchmarks.augment_regime``:
the 40k-parameter residual child, the regime's reduced CIFAR-10 setting, same epochs) with the
same training seeds (paired: seed ``s`` gives every arm the same initialization and epoch order),
and is scored on the 5,000 test images. Arms:

- ``none``: no augmentation; ``cropflip``: pad 4 + random crop + flip (every other arm has it);
- ``cutout``: crop + flip + Cutout 16 px (DeVries & Taylor 2017);
- ``randaugment``: RandAugment (Cubuk et al. 2020, Sec. 3) at the (N, M) of the grid
  N in {1, 2, 3} x M in {5, 9, 13} (torchvision's 0-30 scale) with the best validation accuracy;
- ``trivialaugment``: TrivialAugment wide (Mueller & Hutter 2021), search-free;
- ``published``: AutoAugment's published CIFAR-10 policy (Cubuk et al. 2019, Appendix);
- ``ppo``: the policy found by ``PPOSampler`` with the study file's preset (Cubuk et al. 2019, Sec. 3): the 25
  sub-policies of the 5 best of ``--ppo-trials`` searched policies.

The searches run from their study files, ``studies/randaugment_cifar10_regime.toml`` and
``studies/autoaugment_cifar10_regime.toml`` (``optnas run <file>`` runs the same study; the
benchmark checks that a file's child, data and recipe are the comparison's, at ``--search-epochs``).
They use the training images and score the child on the validation images (held out of the
training split), never on the test images. Search cost is reported as trainings and CPU minutes
(one torch thread, so a training's wall time is its CPU time).

Resumable: finished trainings of the arms are appended to ``benchmarks/results/augment_runs.jsonl``
(shared with ``augment_regime``, whose none/crop+flip/Cutout trainings of the same setting and seed
are reused), and both searches are Optuna studies in ``benchmarks/results/augment_final.db``
(SQLite): running the same command again continues where it stopped. ``--stop-at HH:MM`` (UTC)
stops before a training that would not finish in time (estimated from the trainings so far).

Usage::

    python -m benchmarks.augment_final --seeds 0 1 2 3 4 --ppo-trials 60 --search-epochs 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import optuna

from benchmarks import _harness
from benchmarks.augment_regime import ARMS, RunLog, Setting, arm_stats, paired, pct, then_cutout, train_one
from optnas import OptnasError

DB = _harness.RESULTS / "augment_wide" / "augment_final.db"
#: The comparison's child: 194k parameters, 5.8 M MACs at 32 px; wide enough that the published
#: AutoAugment policy beats crop + flip at 1,000 images (``benchmarks/results/augment_wide``), where
#: the regime's 40k-parameter child (``augment_regime.CHILD``) under-fits every policy.
WIDE_CHILD = (
    "res32 stem_k3_s1_c16_hs ir_k3_e1_c16_hs ir_k3_e3_c32_s2_hs ir_k3_e3_c48_s2_se_hs "
    "ir_k3_e3_c80_s2_hs ir_k3_e3_c128_se_hs head_c512_hs"
)
RA_N = (1, 2, 3)
RA_M = (5, 9, 13)
ORDER = ("none", "cropflip", "cutout", "randaugment", "trivialaugment", "published", "ppo")
BASELINES = ("none", "cropflip", "cutout", "trivialaugment", "published")


class OutOfTime(Exception):
    """The next training would end after ``--stop-at``."""


class Clock:
    """Stops before a training that would end after the deadline (mean duration so far, else a guess)."""

    def __init__(self, stop_at: str | None, guess_s: float) -> None:
        self.deadline: float | None = None
        if stop_at:
            hh, mm = (int(x) for x in stop_at.split(":"))
            now = dt.datetime.now(dt.UTC)
            target = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
            if target < now:
                target += dt.timedelta(days=1)
            self.deadline = time.time() + (target - now).total_seconds()
        self.durations: list[float] = []
        self.guess = guess_s

    def check(self) -> None:
        if self.deadline is None:
            return
        expected = statistics.fmean(self.durations) if self.durations else self.guess
        if time.time() + expected > self.deadline:
            raise OutOfTime

    def timed(self, fn: Callable[[], Any]) -> Any:
        self.check()
        start = time.time()
        out = fn()
        self.durations.append(time.time() - start)
        return out


def _storage() -> str:
    return f"sqlite:///{DB}"


STUDIES = Path(__file__).resolve().parents[1] / "studies"
RA_FILE = STUDIES / "randaugment_cifar10_wide.toml"
PPO_FILE = STUDIES / "autoaugment_cifar10_wide.toml"


def study_config(path: Path, setting: Setting) -> Any:
    """The search's study file, checked against the comparison's search setting (same child, data, recipe).

    The searches run from these files (``optnas run <file>`` runs the same study), so a search
    reproduces from its study file; a file that drifted from the benchmark's setting is an error
    rather than a silently different search.
    """
    from optnas.space import Arch
    from optnas.studies import load_study_file
    from optnas.studies._augment_child import child_recipe

    config = load_study_file(path)
    dataset = dict(config.dataset)
    checks = {
        "dataset.subset": (dataset.get("subset"), setting.train_size),
        "dataset.val_size": (dataset.get("val_size"), setting.val_size),
        "study.seed": (config.seed, setting.data_seed),
        "space.arch": (str(config.space.fixed_arch), str(Arch.parse(setting.arch))),
        "augment.recipe": (child_recipe(config), setting.recipe()),
    }
    for field, (got, want) in checks.items():
        if got != want:
            raise SystemExit(f"{path.name}: {field} is {got!r}, the search setting needs {want!r}")
    return config


def _run_file(path: Path, setting: Setting, clock: Clock, n_trials: int | None) -> optuna.Study:
    """Run (or resume) the study file in ``augment_final.db`` until it has its target or time runs out.

    With ``--stop-at``, no trial starts that would end after the deadline (one search trial is
    taken to last as long as a training of the search setting so far, else ``clock.guess / 2``).
    """
    from optnas.studies import run_study

    config = study_config(path, setting)
    target = n_trials if n_trials is not None else (config.n_trials or len(RA_N) * len(RA_M))
    study = _existing(config.name)
    if study is None or _complete(study) < target:
        timeout = None
        if clock.deadline is not None:
            per_trial = statistics.fmean(clock.durations) * setting.epochs / 40 if clock.durations else clock.guess / 2
            timeout = clock.deadline - time.time() - per_trial
            if timeout <= 0:
                raise OutOfTime
        run_study(config, storage_url=_storage(), n_trials=target, timeout=timeout, stream=sys.stdout)
        study = _existing(config.name)
        if study is None or _complete(study) < target:
            raise OutOfTime
    return optuna.load_study(study_name=config.name, storage=_storage(), sampler=_sampler(config))


def _sampler(config: Any) -> optuna.samplers.BaseSampler:
    from optnas.studies._runner import make_sampler

    return make_sampler(config, 10)


def randaugment_search(path: Path, setting: Setting, clock: Clock) -> optuna.Study:
    """The (N, M) grid of a RandAugment study file: validation accuracy as the score."""
    return _run_file(path, setting, clock, None)


def ppo_search(path: Path, setting: Setting, n_trials: int, clock: Clock) -> optuna.Study:
    """AutoAugment's search from its study file (``PPOSampler`` with the file's preset)."""
    return _run_file(path, setting, clock, n_trials)


def _complete(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))


def _existing(name: str) -> optuna.Study | None:
    if not DB.is_file():
        return None
    try:
        return optuna.load_study(study_name=name, storage=_storage())
    except KeyError:
        return None


def search_cost(study: optuna.Study | None) -> dict[str, Any]:
    if study is None:
        return {"trainings": 0, "cpu_min": 0.0}
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    seconds = sum(float(t.user_attrs.get("train_seconds", t.user_attrs.get("cpu_s", 0.0))) for t in done)
    return {"trainings": len(done), "cpu_min": seconds / 60}


def ppo_learning(study: optuna.Study | None, hidden_size: int) -> dict[str, Any] | None:
    """Did the controller move? KL from uniform after the last update, early vs late rewards."""
    if study is None or _complete(study) < 8:
        return None
    import math

    import torch
    from scipy.stats import mannwhitneyu

    from optnas.controller import PolicyController, autoaugment_schema
    from optnas.samplers import PPOSampler

    done = sorted(
        study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)),
        key=lambda t: (t.datetime_complete, t.number),
    )
    values = [float(t.value or 0.0) for t in done]
    q = len(values) // 4
    sampler = study.sampler
    kl = None
    if isinstance(sampler, PPOSampler):
        schema = autoaugment_schema()
        controller = PolicyController(
            schema.num_choices, hidden_size=hidden_size, generator=torch.Generator().manual_seed(0)
        )
        controller.load_state_dict(sampler.state(study).parameters)
        with torch.no_grad():
            actions, _ = controller.sample(torch.Generator().manual_seed(1), batch=256)
            _, entropies = controller.evaluate(actions)
        log_n = torch.tensor([math.log(n) for n in schema.num_choices])
        kl = float((log_n - entropies).sum(dim=1).mean())
    return {
        "trials": len(values),
        "early_mean": statistics.fmean(values[:q]),
        "late_mean": statistics.fmean(values[-q:]),
        "mannwhitney_p_one_sided": float(mannwhitneyu(values[-q:], values[:q], alternative="greater").pvalue),
        "kl_to_uniform_end": kl,
    }


def accuracy_figure(
    by_arm: dict[str, list[dict[str, Any]]], labels: dict[str, str], out: Path, name: str = "augment_final"
) -> str:
    """The accuracy table as a figure: mean ± sd per arm, one dot per seed (PNG, else HTML)."""
    import plotly.graph_objects as go

    keys = [k for k in ORDER if by_arm.get(k)]
    fig = go.Figure()
    means = [statistics.fmean(r["test_accuracy"] for r in by_arm[k]) * 100 for k in keys]
    sds = [statistics.stdev([r["test_accuracy"] * 100 for r in by_arm[k]]) if len(by_arm[k]) > 1 else 0.0 for k in keys]
    names = [labels[k] for k in keys]
    fig.add_bar(x=names, y=means, error_y={"type": "data", "array": sds}, name="mean ± sd", marker_color="#9ecae1")
    for seed in sorted({r["seed"] for k in keys for r in by_arm[k]}):
        pts = [(labels[k], r["test_accuracy"] * 100) for k in keys for r in by_arm[k] if r["seed"] == seed]
        fig.add_scatter(
            x=[p[0] for p in pts], y=[p[1] for p in pts], mode="markers", name=f"seed {seed}", marker={"size": 7}
        )
    low = min((m - s for m, s in zip(means, sds, strict=True)), default=0.0)
    high = max((p["test_accuracy"] * 100 for k in keys for p in by_arm[k]), default=100.0)
    fig.update_layout(
        title="Reduced CIFAR-10, test accuracy of the same child per augmentation arm",
        yaxis={"title": "test accuracy (%)", "range": [max(0.0, low - 3), high + 1]},
        width=1000,
        height=520,
        barmode="overlay",
    )
    stem = out / name
    try:
        fig.write_image(str(stem.with_suffix(".png")))
        return stem.with_suffix(".png").name
    except Exception:  # kaleido needs a Chrome/Chromium (apt-get install chromium)
        fig.write_html(str(stem.with_suffix(".html")), include_plotlyjs="cdn")
        return stem.with_suffix(".html").name


def _sample_image(out: Path, name: str) -> Path:
    """A CIFAR-10 test image, upscaled 4x (nearest) so a grid of its draws is readable."""
    from PIL import Image

    from benchmarks.augment_regime import DATA_ROOT

    first = sorted((DATA_ROOT / "test" / "ship").iterdir())[0]
    path = out / f"{name}_sample.png"
    with Image.open(first) as im:
        im.convert("RGB").resize((128, 128), Image.Resampling.NEAREST).save(path)
    return path


def _rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (the command as a user would type it)."""
    try:
        return path.resolve().relative_to(_harness.REPO).as_posix()
    except ValueError:
        return str(path)


def policy_pictures(extra: dict[str, Any], out: Path, name: str = "augment_final") -> list[tuple[str, str, str]]:
    """``optnas augment show`` grids of the found policies: ``(label, command, png name)``."""
    import subprocess

    jobs: list[tuple[str, str, str]] = []
    if extra.get("ppo_policy"):
        policy = out / f"{name}_ppo_policy.json"
        policy.write_text(json.dumps(json.loads(extra["ppo_policy"]), indent=1) + "\n")
        jobs.append(("PPO-found policy (25 sub-policies)", _rel(policy), "ppo"))
    if extra.get("randaugment_best"):
        n, m = extra["randaugment_best"]
        jobs.append((f"RandAugment best (N={n}, M={m})", f"randaugment:{n},{m}", "randaugment"))
    if not jobs:
        return []
    image = _sample_image(out, name)
    done = []
    for label, spec, tag in jobs:
        png = out / f"{name}_{tag}_grid.png"
        args = ["augment", "show", spec, "--image", _rel(image)]
        args += ["--out", _rel(png), "--rows", "4", "--cols", "8", "--seed", "0"]
        subprocess.run([sys.executable, "-m", "optnas", *args], check=True, cwd=_harness.REPO, capture_output=True)
        done.append((label, "optnas " + " ".join(args), png.name))
    return done


def write(
    log: RunLog,
    setting: Setting,
    arms: dict[str, str],
    labels: dict[str, str],
    seeds: Sequence[int],
    extra: dict[str, Any],
    command: str,
    status: str,
    out: Path = _harness.RESULTS,
    name: str = "augment_final",
    saved: dict[str, Any] | None = None,
) -> None:
    """Write the report ``<out>/<name>.json`` and ``.md`` with its figure and policy grids beside it.

    ``saved`` is the metadata of the report being rewritten (``--report-only``): its date and load
    average are the runs', and its command is kept among ``earlier_commands``.
    """
    by_arm: dict[str, list[dict[str, Any]]] = {}
    for key, arm_id in arms.items():
        rows = [log.find(setting, arm_id, s) for s in seeds]
        by_arm[key] = [r for r in rows if r is not None]
    stats = {k: arm_stats(rs) for k, rs in by_arm.items() if rs}
    comparisons: dict[str, Any] = {}

    def compare(a: str, b: str) -> None:
        if a in stats and b in stats:
            base = {r["seed"]: r["test_accuracy"] for r in by_arm[b]}
            common = [r for r in by_arm[a] if r["seed"] in base]
            if len(common) >= 2:
                comparisons[f"{a} - {b}"] = paired(
                    [r["test_accuracy"] for r in common], [base[r["seed"]] for r in common]
                )

    for key in ORDER:
        if key not in ("none", "cropflip"):
            compare(key, "cropflip")
    compare("cropflip", "none")
    compare("ppo", "randaugment")
    compare("ppo", "trivialaugment")
    s = setting
    body = [
        f"Setting: {s.train_size} training images, {s.val_size} validation images (the searches' score),"
        f" {s.epochs} epochs, lr {s.lr}, batch {s.batch_size}, weight decay {s.weight_decay};"
        f" child `{s.arch}`. Test accuracy on the 5,000 test images; training seeds {list(seeds)} (paired).",
        "",
    ]
    rows = []
    for key in ORDER:
        if key not in arms:
            continue
        st = stats.get(key)
        cost = extra.get("cost", {}).get(key, {"trainings": 0, "cpu_min": 0.0})
        if st is None:
            rows.append([labels[key], "not run yet", "-", "-", f"{cost['trainings']} / {cost['cpu_min']:.0f}"])
            continue
        per = ", ".join(f"{r['seed']}: {pct(r['test_accuracy'])}" for r in by_arm[key])
        rows.append(
            [
                labels[key],
                f"{pct(st['mean'])} ± {pct(st['sd'])}",
                f"{len(st['test_accuracy'])}",
                per,
                f"{cost['trainings']} / {cost['cpu_min']:.0f}",
            ]
        )
    body += _harness.md_table(
        ["arm", "test acc. % (mean ± sd)", "seeds", "per seed", "search: trainings / CPU min"], rows
    )
    body += ["", "Paired differences (test accuracy points, one-sided: first arm better):", ""]
    for pair, p in comparisons.items():
        tp = "-" if p["t_p_one_sided"] is None else f"{p['t_p_one_sided']:.4f}"
        wp = "-" if p["wilcoxon_p_one_sided"] is None else f"{p['wilcoxon_p_one_sided']:.4f}"
        body.append(
            f"- {pair}: {pct(p['mean_diff'])} ± {pct(p['sd_diff'])} over {p['n']} seeds, {p['wins']}/{p['n']} wins;"
            f" paired t p = {tp}, Wilcoxon p = {wp}"
        )
    if extra.get("randaugment_grid"):
        body += ["", "RandAugment grid (validation accuracy %):", ""]
        grid = extra["randaugment_grid"]
        body += _harness.md_table(
            ["N \\ M", *[str(m) for m in RA_M]],
            [[str(n), *[pct(grid.get(f"{n},{m}")) for m in RA_M]] for n in RA_N],
        )
    if extra.get("ppo_learning"):
        learn = extra["ppo_learning"]
        kl = learn["kl_to_uniform_end"]
        body += [
            "",
            f"PPO search ({extra.get('preset')}): {learn['trials']} trials; first-quarter mean validation accuracy"
            f" {pct(learn['early_mean'])} %, last quarter {pct(learn['late_mean'])} % (one-sided Mann-Whitney"
            f" p = {learn['mannwhitney_p_one_sided']:.3g}); KL(controller || uniform) after the last update"
            f" {'-' if kl is None else f'{kl:.2f}'} nats.",
        ]
    if extra.get("ppo_policy"):
        body += ["", f"PPO-found policy: `{extra['ppo_policy']}`"]
    done = [k for k in ORDER if k in stats and len(stats[k]["test_accuracy"]) >= len(seeds)]
    headline = f"{len(done)} of {len(arms)} arms finished for {len(seeds)} seeds"
    if "cropflip" in stats:
        headline += f"; crop+flip {pct(stats['cropflip']['mean'])} %"
    for key in ("ppo", "randaugment"):
        if f"{key} - cropflip" in comparisons:
            c = comparisons[f"{key} - cropflip"]
            headline += f"; {key} - crop+flip {pct(c['mean_diff'])} (p={c['t_p_one_sided'] or float('nan'):.3g})"
    figure = accuracy_figure(by_arm, labels, out, name)
    body += ["", f"![test accuracy per arm]({figure})" if figure.endswith(".png") else f"Figure: `{figure}`."]
    pictures = policy_pictures(extra, out, name)
    if pictures:
        body += ["", "Augmented samples (top-left: the original test image; every other cell one draw):", ""]
        body += [f"- {label}: `{cmd}`" + "\n\n  " + f"![{label}]({png})" for label, cmd, png in pictures]
    meta = _harness.metadata(
        command, setting=setting.__dict__, seeds=list(seeds), runs_file=_rel(log.path), studies_db=_rel(DB)
    )
    if saved is not None:
        earlier = [*saved.get("earlier_commands", [])]
        if saved.get("command") != command:
            earlier.append({"command": saved.get("command"), "date": saved.get("date")})
        meta.update(
            date=saved.get("date", meta["date"]),
            load_average=saved.get("load_average"),
            git_commit=saved.get("git_commit", meta.get("git_commit")),
            git_dirty=saved.get("git_dirty", meta.get("git_dirty")),
            report_rewritten=_harness.metadata("")["date"],
            earlier_commands=earlier,
        )
    _harness.write_report(
        name,
        meta=meta,
        result={
            "arms": {k: {"arm_id": arms[k], "label": labels[k], "runs": by_arm.get(k, [])} for k in arms},
            "stats": stats,
            "paired": comparisons,
            **extra,
        },
        body=body,
        title="Fair final comparison of augmentation methods (reduced CIFAR-10, CPU)",
        headline=headline,
        status=status,
        results_dir=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--search-epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--ppo-trials", type=int, default=60)
    parser.add_argument("--cutout-after-policy", action="store_true", help="Cutout 16 px after every policy arm")
    parser.add_argument(
        "--stages", nargs="+", default=["baselines", "randaugment", "ppo"], choices=["baselines", "randaugment", "ppo"]
    )
    parser.add_argument(
        "--baseline-arms",
        nargs="+",
        default=list(BASELINES),
        choices=list(BASELINES),
        help="the baseline arms the baselines stage trains (e.g. crop + flip first when adding seeds)",
    )
    parser.add_argument(
        "--child",
        default=WIDE_CHILD,
        help="the child network (optnas' text form); the search stages need --ra-file/--ppo-file study files "
        "with this child (another child: --out and --name of its own)",
    )
    parser.add_argument(
        "--ra-file", type=Path, default=RA_FILE, help="the RandAugment study file (its child, data, recipe are checked)"
    )
    parser.add_argument(
        "--ppo-file", type=Path, default=PPO_FILE, help="the AutoAugment study file (checked like --ra-file)"
    )
    parser.add_argument("--stop-at", default=None, help="UTC HH:MM; stop before a training that would end later")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--out", type=Path, default=_harness.RESULTS / "augment_wide", help="data folder: the runs log and the studies"
    )
    parser.add_argument("--report-dir", type=Path, default=_harness.RESULTS, help="where the report and figures go")
    parser.add_argument("--name", default="augment_final", help="the report's file name (without suffix)")
    args = parser.parse_args(argv)
    global DB
    DB = args.out / "augment_final.db"
    args.out.mkdir(parents=True, exist_ok=True)
    report = (args.report_dir, args.name)
    import torch

    from optnas.augment import published_policy, rand_augment, trivial_augment
    from optnas.controller import controller_preset
    from optnas.studies import final_policy

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # the command that reproduces the runs (a rewritten report names the run, not the rewrite)
    run_argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--report-only"]
    command = _harness.command_line("benchmarks.augment_final", run_argv)
    saved_json = args.report_dir / f"{args.name}.json"
    saved = json.loads(saved_json.read_text())["meta"] if args.report_only and saved_json.is_file() else None
    from optnas.space import Arch
    from optnas.studies import load_study_file

    try:
        child = str(Arch.parse(args.child))
    except OptnasError as exc:
        parser.error(f"--child: {exc}")
    setting = Setting(train_size=args.train_size, epochs=args.epochs, arch=child)
    search_setting = replace(setting, epochs=args.search_epochs)
    # the searches' study files must match the setting; a probe of another child runs no search
    searching = bool({"randaugment", "ppo"} & set(args.stages))
    ra_config = study_config(args.ra_file, search_setting) if searching else None
    ppo_config = study_config(args.ppo_file, search_setting) if searching else None
    preset = load_study_file(args.ppo_file).sampler.preset or "paper"
    log = RunLog(args.out / "augment_runs.jsonl")
    clock = Clock(None if args.report_only else args.stop_at, guess_s=150.0)
    suffix = "+cutout" if args.cutout_after_policy else ""

    def policy_arm(make: Callable[[int], Any]) -> Callable[[int], Any]:
        return (lambda seed: then_cutout(make(seed), seed)) if args.cutout_after_policy else make

    arms: dict[str, str] = {
        "none": "none",
        "cropflip": "cropflip",
        "cutout": "cutout",
        "trivialaugment": "trivialaugment" + suffix,
        "published": "autoaugment:cifar10" + suffix,
    }
    labels = {
        "none": "none",
        "cropflip": "crop + flip",
        "cutout": "crop + flip + Cutout 16 px",
        "trivialaugment": "TrivialAugment" + suffix,
        "published": "AutoAugment published CIFAR-10" + suffix,
        "randaugment": "RandAugment best",
        "ppo": f"PPO-found ({preset})",
    }
    makers: dict[str, tuple[bool, Callable[[int], Any]]] = {
        "none": ARMS["none"],
        "cropflip": ARMS["cropflip"],
        "cutout": ARMS["cutout"],
        "trivialaugment": (True, policy_arm(lambda seed: trivial_augment(seed=seed))),
        "published": (True, policy_arm(lambda seed: published_policy("cifar10").to_albumentations(seed=seed))),
    }
    extra: dict[str, Any] = {"preset": preset, "search_epochs": args.search_epochs, "cost": {}}

    def run_arm(key: str) -> None:
        standard, make = makers[key]
        for seed in args.seeds:
            if log.find(setting, arms[key], seed) is not None:
                continue
            result = clock.timed(lambda seed=seed: train_one(setting, standard=standard, augment=make(seed), seed=seed))
            log.add("final", setting, arms[key], seed, result)
            print(f"final {arms[key]} seed {seed}: test {result['test_accuracy']:.4f}", flush=True)
            write(log, setting, arms, labels, args.seeds, extra, command, "partial", *report)

    def add_randaugment(study: optuna.Study) -> None:
        grid = {
            f"{t.params['N']},{t.params['M']}": float(t.value or 0.0)
            for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        }
        extra["randaugment_grid"] = grid
        extra["cost"]["randaugment"] = search_cost(study)
        if _complete(study) >= len(RA_N) * len(RA_M):
            n, m = int(study.best_trial.params["N"]), int(study.best_trial.params["M"])
            arms["randaugment"] = f"randaugment:{n},{m}" + suffix
            extra["randaugment_best"] = [n, m]
            labels["randaugment"] = f"RandAugment best (N={n}, M={m})" + suffix
            makers["randaugment"] = (True, policy_arm(lambda seed: rand_augment(n, m, seed=seed)))

    def add_ppo(study: optuna.Study) -> None:
        extra["cost"]["ppo"] = search_cost(study)
        extra["ppo_learning"] = ppo_learning(study, controller_preset(preset).hidden_size)
        if _complete(study) >= args.ppo_trials:
            policy = final_policy(study, top=5)
            digest = __import__("hashlib").sha256(policy.to_json(indent=None).encode()).hexdigest()[:10]
            arms["ppo"] = f"ppo:{digest}" + suffix
            extra["ppo_policy"] = policy.to_json(indent=None)
            makers["ppo"] = (True, policy_arm(lambda seed: policy.to_albumentations(seed=seed)))

    for config, add in ((ra_config, add_randaugment), (ppo_config, add_ppo)):
        if config is not None and _existing(config.name) is not None:
            add(optuna.load_study(study_name=config.name, storage=_storage(), sampler=_sampler(config)))
    try:
        if not args.report_only:
            if "baselines" in args.stages:
                for key in args.baseline_arms:
                    run_arm(key)
            if "randaugment" in args.stages:
                add_randaugment(randaugment_search(args.ra_file, search_setting, clock))
                write(log, setting, arms, labels, args.seeds, extra, command, "partial", *report)
                run_arm("randaugment")
            if "ppo" in args.stages:
                add_ppo(ppo_search(args.ppo_file, search_setting, args.ppo_trials, clock))
                write(log, setting, arms, labels, args.seeds, extra, command, "partial", *report)
                run_arm("ppo")
    except OutOfTime:
        print("stopping: the next training would end after --stop-at", flush=True)
    finished = all(log.find(setting, arms[k], s) for k in ORDER if k in arms for s in args.seeds)
    status = "complete" if finished and len(arms) == len(ORDER) else "partial"
    write(log, setting, arms, labels, args.seeds, extra, command, status, *report, saved=saved)
    print(json.dumps({"status": status}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
