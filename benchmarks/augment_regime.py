"""The regime where augmentation matters: reduced CIFAR-10 small enough for the child to over-fit.

Issue 17, "The regime". Augmentation regularizes, so it pays off where a model over-fits: the
papers' Reduced CIFAR-10 results (Cubuk et al. 2019, Sec. 4.1 and Table 2: 4,000 images,
Wide-ResNet-28-10 trained 200 epochs; baseline 18.8 % error, Cutout 16.5 %, AutoAugment 14.1 %).
Scaled to a shared CPU, this benchmark trains the augmentation studies' small residual child
(the ``cifar`` preset's 40k-parameter MobileNet-style network with inverted-residual blocks)
on a few hundred to a thousand training images for tens of epochs, with

- ``none``: no augmentation at all (no crop, no flip);
- ``cropflip``: the standard pad-4 + random-crop + horizontal-flip (He et al. 2016, Sec. 4.2);
- ``cutout``: crop + flip followed by Cutout 16 px at 32 px (DeVries & Taylor 2017; AutoAugment's
  CIFAR pipeline applies it after the policy);

for several training seeds (the training subset is the same for every seed: ``--data-seed``), and
measures test accuracy on the 5,000 test images of ``/work/shared/data/cifar10``. A setting
qualifies when ``cropflip`` beats ``none`` by a clear margin over the seed spread (paired by
seed, one-sided paired t-test).

Every finished training is appended to ``benchmarks/results/augment_runs.jsonl`` (one JSON object
a line, keyed by setting, arm and seed) and skipped when the command is run again, so an
interrupted run resumes. The report ``benchmarks/results/augment_regime.json`` / ``.md`` is
rebuilt from that file after every training (``--report-only`` rebuilds it without training).

Usage::

    python -m benchmarks.augment_regime --train-size 1000 --epochs 40 --seeds 0 1 2 --arms none cropflip
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from benchmarks import _harness

DATA_ROOT = Path(os.environ.get("OPTNAS_CIFAR10", "/work/shared/data/cifar10"))
RUNS = _harness.RESULTS / "augment_runs.jsonl"
#: The augmentation studies' child (``studies/autoaugment_cifar10.toml``): 39,994 parameters,
#: 1.32 M MACs; its stride-1 equal-width block is residual (MobileNetV2 inverted residuals).
CHILD = (
    "res32 stem_k3_s1_c8_hs ir_k3_e1_c8_hs ir_k3_e2_c16_s2_hs ir_k3_e2_c24_s2_se_hs "
    "ir_k3_e2_c40_s2_hs ir_k3_e2_c64_se_hs head_c256_hs"
)
#: What the measurements say (written after looking at them; shown in the report).
NOTES: list[str] = []
#: Side of the Cutout square at 32 px (DeVries & Taylor 2017: 16 px on CIFAR-10).
CUTOUT_PX = 16


@dataclass(frozen=True)
class Setting:
    """One reduced-CIFAR-10 training setting (what every arm of a comparison shares).

    Args:
        train_size: Training images (balanced over the 10 classes).
        epochs: Training epochs (warm-up + cosine schedule over them).
        val_size: Validation images held out of the training split (the search reward).
        lr: SGD learning rate (momentum 0.9, weight decay 5e-4, as the augmentation child).
        batch_size: Mini-batch size.
        weight_decay: L2 weight decay.
        data_seed: Seed of the validation split and of the training subset.
        arch: The child network in optnas' text form.
    """

    train_size: int = 1000
    epochs: int = 40
    val_size: int = 500
    lr: float = 0.05
    batch_size: int = 64
    weight_decay: float = 5e-4
    data_seed: int = 0
    arch: str = CHILD

    @property
    def key(self) -> str:
        """A short stable identifier of the setting."""
        blob = json.dumps(asdict(self), sort_keys=True).encode()
        return f"n{self.train_size}_e{self.epochs}_" + hashlib.sha256(blob).hexdigest()[:8]

    def recipe(self) -> Any:
        from optnas.space import Recipe

        return Recipe(
            optimizer="sgd",
            lr=self.lr,
            weight_decay=self.weight_decay,
            momentum=0.9,
            batch_size=self.batch_size,
            warmup_epochs=1.0,
            epochs=self.epochs,
        )


_DATA: dict[tuple[int, int, int], Any] = {}


def load_data(setting: Setting) -> Any:
    """The setting's :class:`optnas.data.ImageData` (cached per process)."""
    from optnas.data import load

    key = (setting.train_size, setting.val_size, setting.data_seed)
    if key not in _DATA:
        _DATA[key] = load(
            "imagefolder",
            root=str(DATA_ROOT),
            subset=setting.train_size,
            val_size=setting.val_size,
            seed=setting.data_seed,
        )
    return _DATA[key]


def cutout(seed: int) -> Any:
    """Cutout of a ``CUTOUT_PX`` square at 32 px, always applied, AutoAugment's gray fill."""
    return then_cutout(None, seed)


def then_cutout(pipeline: Any, seed: int) -> Any:
    """``pipeline`` (or nothing) followed by Cutout 16 px, as AutoAugment's CIFAR pipeline."""
    import albumentations as A

    from optnas.augment._ops import Cutout

    parts = [] if pipeline is None else [pipeline]
    return A.Compose([*parts, Cutout(magnitude=CUTOUT_PX / 32, p=1.0)], seed=seed)


#: Arm -> (standard crop + flip?, extra augmentation factory of the training seed).
ARMS: dict[str, tuple[bool, Callable[[int], Any]]] = {
    "none": (False, lambda seed: None),
    "cropflip": (True, lambda seed: None),
    "cutout": (True, cutout),
}


def train_one(setting: Setting, *, standard: bool, augment: Any, seed: int) -> dict[str, Any]:
    """Train the child once; its test accuracy, validation curve and losses."""
    from optnas.augment import SamplePairing
    from optnas.space import Arch
    from optnas.train import train_and_evaluate

    data = load_data(setting)
    arch = Arch.parse(setting.arch)
    if augment is not None:
        for transform in _walk(augment):
            if isinstance(transform, SamplePairing):
                transform.set_pool(data.resized("train", arch.resolution))
    start = time.process_time()
    result = train_and_evaluate(
        arch,
        setting.recipe(),
        data,
        seed=seed,
        augment=augment,
        standard_augment=standard,
        evaluate_test=True,
        num_threads=1,
        progress=False,
    )
    return {
        "test_accuracy": float(result.test_accuracy or 0.0),
        "val_accuracy": float(result.accuracy),
        "val_curve": [round(float(v), 4) for v in result.curve],
        "train_loss": [round(float(v), 4) for v in result.train_loss],
        "wall_s": round(result.wall_time, 1),
        "cpu_s": round(time.process_time() - start, 1),
        "diverged": bool(result.diverged),
    }


def _walk(pipeline: Any) -> Any:
    children = getattr(pipeline, "transforms", None)
    if children is None:
        yield pipeline
        return
    for child in children:
        yield from _walk(child)


class RunLog:
    """Append-only JSON-lines log of finished trainings, keyed by ``(setting, arm, seed)``.

    ``study`` records which benchmark trained a row; a training of the same setting, arm and seed
    is one training whichever benchmark asks for it (``augment_final`` reuses the regime's).
    """

    def __init__(self, path: Path = RUNS) -> None:
        self.path = path
        self.rows: list[dict[str, Any]] = []
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    self.rows.append(json.loads(line))

    def find(self, setting: Setting, arm: str, seed: int) -> dict[str, Any] | None:
        for row in self.rows:
            if (row["setting_key"], row["arm"], row["seed"]) == (setting.key, arm, seed):
                return row
        return None

    def add(self, study: str, setting: Setting, arm: str, seed: int, result: Mapping[str, Any]) -> dict[str, Any]:
        row = {"study": study, "setting_key": setting.key, "setting": asdict(setting), "arm": arm, "seed": seed}
        row.update(result)
        row["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        self.rows.append(row)
        return row

    def select(self, arms: Sequence[str]) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["arm"] in arms]


def paired(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Paired one-sided comparison ``a > b``: mean and sd of ``a - b``, t-test and sign counts."""
    from scipy import stats

    diff = [x - y for x, y in zip(a, b, strict=True)]
    out: dict[str, Any] = {
        "n": len(diff),
        "mean_diff": statistics.fmean(diff) if diff else None,
        "sd_diff": statistics.stdev(diff) if len(diff) > 1 else None,
        "wins": sum(d > 0 for d in diff),
        "t_p_one_sided": None,
        "wilcoxon_p_one_sided": None,
    }
    if len(diff) > 1 and any(d != diff[0] for d in diff):
        out["t_p_one_sided"] = float(stats.ttest_rel(a, b, alternative="greater").pvalue)
    if len(diff) >= 5 and any(d != 0 for d in diff):
        out["wilcoxon_p_one_sided"] = float(stats.wilcoxon(a, b, alternative="greater").pvalue)
    return out


def pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}"


def arm_stats(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    tests = [r["test_accuracy"] for r in rows]
    return {
        "seeds": [r["seed"] for r in rows],
        "test_accuracy": tests,
        "mean": statistics.fmean(tests),
        "sd": statistics.stdev(tests) if len(tests) > 1 else None,
        "final_train_loss": statistics.fmean(r["train_loss"][-1] for r in rows),
        "best_val": statistics.fmean(max(r["val_curve"]) for r in rows),
        "cpu_s": statistics.fmean(r["cpu_s"] for r in rows),
    }


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per setting: per-arm statistics and the paired comparisons against ``none``."""
    settings: dict[str, Any] = {}
    for row in rows:
        entry = settings.setdefault(row["setting_key"], {"setting": row["setting"], "arms": {}})
        entry["arms"].setdefault(row["arm"], []).append(row)
    for entry in settings.values():
        by_arm = {arm: sorted(rs, key=lambda r: r["seed"]) for arm, rs in entry["arms"].items()}
        entry["arms"] = {arm: arm_stats(rs) for arm, rs in by_arm.items()}
        entry["paired"] = {}
        for arm, rs in by_arm.items():
            if arm == "none" or "none" not in by_arm:
                continue
            base = {r["seed"]: r["test_accuracy"] for r in by_arm["none"]}
            common = [r for r in rs if r["seed"] in base]
            if common:
                entry["paired"][f"{arm} - none"] = paired(
                    [r["test_accuracy"] for r in common], [base[r["seed"]] for r in common]
                )
        if "cutout" in by_arm and "cropflip" in by_arm:
            base = {r["seed"]: r["test_accuracy"] for r in by_arm["cropflip"]}
            common = [r for r in by_arm["cutout"] if r["seed"] in base]
            if common:
                entry["paired"]["cutout - cropflip"] = paired(
                    [r["test_accuracy"] for r in common], [base[r["seed"]] for r in common]
                )
        cf = entry["paired"].get("cropflip - none")
        spread = max((s["sd"] or 0.0) for s in entry["arms"].values())
        entry["seed_spread"] = spread
        entry["qualifies"] = bool(
            cf is not None
            and cf["n"] >= 3
            and cf["mean_diff"] > 2 * spread
            and cf["t_p_one_sided"] is not None
            and cf["t_p_one_sided"] < 0.05
        )
    return settings


def write(log: RunLog, command: str, status: str) -> None:
    settings = summarize(log.select(list(ARMS)))
    body = [
        "Reduced CIFAR-10 (ImageFolder copy, balanced training subset; the same subset for every seed),"
        f" test accuracy on the 5,000 test images. Child: `{CHILD}` (39,994 parameters, 1.32 M MACs)."
        " SGD, momentum 0.9, 1 warm-up epoch + cosine, 1 torch thread. Arms: `none` = no augmentation;"
        " `cropflip` = pad 4 + random crop + horizontal flip; `cutout` = crop + flip + Cutout 16 px.",
        "",
        "A setting qualifies when crop + flip beats none by more than twice the largest per-arm seed sd"
        " and the one-sided paired t-test gives p < 0.05.",
        "",
    ]
    headline = "no setting measured yet"
    for entry in sorted(settings.values(), key=lambda e: (e["setting"]["train_size"], e["setting"]["epochs"])):
        s = entry["setting"]
        body += [
            f"## {s['train_size']} training images, {s['epochs']} epochs (lr {s['lr']}, batch {s['batch_size']},"
            f" weight decay {s['weight_decay']}, val {s['val_size']})",
            "",
        ]
        rows = []
        for arm, st in entry["arms"].items():
            per = ", ".join(pct(t) for t in st["test_accuracy"])
            rows.append(
                [
                    arm,
                    f"{pct(st['mean'])} ± {pct(st['sd'])}",
                    per,
                    f"{st['final_train_loss']:.3f}",
                    pct(st["best_val"]),
                    f"{st['cpu_s']:.0f}",
                ]
            )
        body += _harness.md_table(
            ["arm", "test acc. % (mean ± sd)", "per seed", "final train loss", "best val %", "CPU s / run"], rows
        )
        body.append("")
        for name, p in entry["paired"].items():
            tp = "-" if p["t_p_one_sided"] is None else f"{p['t_p_one_sided']:.4f}"
            body.append(
                f"- {name}: {pct(p['mean_diff'])} ± {pct(p['sd_diff'])} points over {p['n']} paired seeds,"
                f" {p['wins']}/{p['n']} wins, one-sided paired t-test p = {tp}"
            )
        body += [
            "",
            f"Qualifies: **{'yes' if entry['qualifies'] else 'no'}** (seed spread {pct(entry['seed_spread'])} points).",
            "",
        ]
        if entry["qualifies"] or headline == "no setting measured yet":
            cf = entry["paired"].get("cropflip - none")
            if cf is not None:
                headline = (
                    f"{s['train_size']} images x {s['epochs']} epochs: crop+flip - none = {pct(cf['mean_diff'])} points"
                    f" (paired, n={cf['n']}, p={cf['t_p_one_sided'] or float('nan'):.3g});"
                    f" {'qualifies' if entry['qualifies'] else 'does not qualify'}"
                )
    if NOTES:
        body += ["## Notes", "", *[f"- {n}" for n in NOTES], ""]
    meta = _harness.metadata(command, runs_file=RUNS.relative_to(_harness.REPO).as_posix())
    _harness.write_report(
        "augment_regime",
        meta=meta,
        result={"settings": settings},
        body=body,
        title="Augmentation regime: reduced CIFAR-10 where crop + flip pays off",
        headline=headline,
        status=status,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--val-size", type=int, default=500)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["none", "cropflip"], choices=list(ARMS))
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    command = _harness.command_line("benchmarks.augment_regime", argv)
    log = RunLog()
    if args.report_only:
        write(log, command, "complete")
        return 0
    setting = Setting(
        train_size=args.train_size,
        epochs=args.epochs,
        val_size=args.val_size,
        lr=args.lr,
        batch_size=args.batch_size,
        weight_decay=args.weight_decay,
    )
    for seed in args.seeds:
        for arm in args.arms:
            if log.find(setting, arm, seed) is not None:
                continue
            standard, factory = ARMS[arm]
            result = train_one(setting, standard=standard, augment=factory(seed), seed=seed)
            log.add("regime", setting, arm, seed, result)
            print(
                f"{setting.key} {arm} seed {seed}: test {result['test_accuracy']:.4f}"
                f" loss {result['train_loss'][-1]:.3f} ({result['cpu_s']:.0f} CPU s)",
                flush=True,
            )
            write(log, command, "partial")
    write(log, command, "complete")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
