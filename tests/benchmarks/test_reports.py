"""Report logic of the sampler comparison and the results-page assembler (no search is run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:  # sampler_comparison imports its sibling ``surrogate``
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


cmp = _load("sampler_comparison")
mk = _load("make_results")


def _run(sampler: str, seed: int, budget: int, f: Any) -> dict[str, Any]:
    return {
        "sampler": sampler,
        "seed": seed,
        "budget": budget,
        "curve": [f(n) for n in range(1, budget + 1)],
        "n_feasible": budget // 2,
        "overhead_s_per_trial": 0.01 * (seed + 1),
    }


def test_summary_statistics_and_targets() -> None:
    runs = []
    for k in range(3):
        runs.append(_run("tpe", k, 64, lambda n, k=k: None if n == 1 else n / 100 + k / 100))
        runs.append(_run("gp", k, 64, lambda n: 0.3))
        runs.append(_run("jointnas", k, 16, lambda n: 0.5))
        runs.append(_run("jointnas", k, 32, lambda n: 0.7 if n == 32 else 0.4))
        runs.append(_run("jointnas", k, 64, lambda n: min(n / 50, 0.9)))
    s = cmp.summarize(runs, [16, 32, 64])
    tpe16 = s["table"]["tpe"]["16"]
    assert tpe16["n_seeds"] == 3
    assert tpe16["median"] == pytest.approx(0.17)
    assert tpe16["q1"] == pytest.approx(0.165) and tpe16["q3"] == pytest.approx(0.175)
    assert s["target"] == pytest.approx(0.65)  # TPE's 64-trial median
    assert s["table"]["jointnas"]["32"]["median"] == pytest.approx(0.7)  # its own 32-trial plan
    reach = s["reach"]
    assert reach["tpe"]["median_curve_trials"] == 64
    assert reach["tpe"]["seeds_reaching"] == 2  # seed 0 ends at 0.64
    assert reach["jointnas"]["median_curve_trials"] == 33  # 33 / 50 >= 0.65
    assert reach["jointnas"]["smallest_budget_reaching"] == 32
    assert reach["gp"]["median_curve_trials"] is None
    assert s["overhead"]["tpe"]["median_s_per_trial"] == pytest.approx(0.02)
    assert s["feasible_fraction"]["gp"] == pytest.approx(0.5)
    v = cmp.verdict(s, [16, 32, 64])
    assert "**met**" in v[0] and "smallest plan reaching it: 32" in v[0]
    assert "**met**" in v[1] and "JointNAS 0.7000 vs GP 0.3000" in v[1]


def test_first_trial_without_feasible_counts_as_infeasible_value() -> None:
    assert cmp._at([None, 0.2], 1) == 0.0
    assert cmp._at([None, 0.2], 2) == 0.2


def test_jointnas_plans_match_budgets() -> None:
    for budget, (m, t, k) in cmp.JOINTNAS_PLANS.items():
        assert m * t + k == budget


def test_results_page(tmp_path: Path) -> None:
    res = tmp_path / "results"
    res.mkdir()
    (res / "trainer_overhead.md").write_text(
        "# Trainer overhead\n\nCommand: `python benchmarks/trainer_overhead.py`  \n"
        "Date (UTC): 2026-11-29T09:39:52Z  \nMachine: x86_64, 2 cores\n\n**Overhead ratio: 1.035**\n\n"
        "## Details\n![plot](trainer.png) [raw](trainer_overhead.json) [web](https://example.org/x)\n"
    )
    (res / "scaling.md").write_text(
        "# Scaling\n\n`python benchmarks/scaling.py --trials 48` — 2026-11-29T10:04:11+00:00, 4 cores\n"
    )
    (res / "extra_thing.md").write_text("# extra\n")
    text = mk.assemble(res, tmp_path / "RESULTS.md")
    assert (
        "| [Trainer overhead](#trainer-overhead) | a bare PyTorch training loop | complete | 2026-11-29T09:39:52Z | 2 |"
        in text
    )
    assert "Overhead ratio: 1.035" in text
    assert "`python benchmarks/scaling.py --trials 48`" in text and "| 4 |" in text
    for s in mk.SECTIONS:
        if s.name not in ("trainer_overhead", "scaling"):
            assert f"no `results/{s.name}.md` yet" in text or s.measured_in  # every missing one is listed
    assert text.count("**not run**") == len(mk.SECTIONS) - 2
    assert "### Trainer overhead" in text and "#### Details" in text  # demoted below the section title
    assert "![plot](results/trainer.png)" in text and "[raw](results/trainer_overhead.json)" in text
    assert "[web](https://example.org/x)" in text
    assert "- `results/extra_thing.md`" in text
