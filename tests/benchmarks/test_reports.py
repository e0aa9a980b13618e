"""Report logic of the sampler comparison and the results-page assembler (no search is run)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import _harness
from benchmarks import make_results as mk
from benchmarks import sampler_comparison as cmp


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
    meta = {**_harness.metadata("python -m benchmarks.trainer_overhead"), "date": "2026-11-29T09:39:52+00:00"}
    meta["cores"] = 2
    _harness.write_report(
        "trainer_overhead",
        meta=meta,
        result={"ratio": 1.035},
        body="## Details\n![plot](trainer.png) [raw](trainer_overhead.json) [web](https://example.org/x)\n",
        title="Trainer overhead",
        headline="Overhead ratio: 1.035",
        results_dir=res,
    )
    # a report written before the harness: the fields at the top level / under older names
    (res / "scaling.md").write_text("# Scaling\n\nanything, never parsed: 99 cores, 1999-01-01T00:00:00Z\n")
    (res / "scaling.json").write_text(
        json.dumps(
            {
                "command": "python benchmarks/scaling.py --trials 48",
                "date_utc": "2026-11-29T10:04:11Z",
                "cpu_count": 4,
                "partial": True,
                "results": [],
            }
        )
    )
    (res / "extra_thing.md").write_text("# extra\n")
    text = mk.assemble(res, tmp_path / "RESULTS.md")
    assert (
        "| [Trainer overhead](#trainer-overhead) | a bare PyTorch training loop | complete | 2026-11-29T09:39:52+00:00 "
        "| 2 | Overhead ratio: 1.035 | `python -m benchmarks.trainer_overhead` |" in text
    )
    assert "| partial | 2026-11-29T10:04:11Z | 4 | see section | `python benchmarks/scaling.py --trials 48` |" in text
    assert "| 99 |" not in text and "1999" not in text.split("## Cost model")[0]  # the summary is from the JSON
    for s in mk.SECTIONS:
        if s.name not in ("trainer_overhead", "scaling"):
            assert f"no `results/{s.name}.md` yet" in text or s.measured_in  # every missing one is listed
    assert text.count("**not run**") == len(mk.SECTIONS) - 2
    assert "### Trainer overhead" in text and "#### Details" in text  # demoted below the section title
    assert "![plot](results/trainer.png)" in text and "[raw](results/trainer_overhead.json)" in text
    assert "[web](https://example.org/x)" in text
    assert "- `results/extra_thing.md`" in text


def test_legacy_and_harness_describe() -> None:
    d = mk.describe({"meta": {"command": "c", "date": "d", "cores": 2, "status": "partial", "headline": "**h**"}})
    assert d == {"command": "c", "date": "d", "cores": "2", "status": "partial", "headline": "h"}
    d = mk.describe({"command": "c", "date_utc": "d", "usable_cores": 3})
    assert d == {"command": "c", "date": "d", "cores": "3", "status": "complete", "headline": "see section"}
    assert mk.describe({})["command"] == "not stated"


def test_search_summary_uses_equal_trials_overhead_and_trainings(tmp_path: Path) -> None:
    def cells(j: float, tpe: float) -> dict[str, Any]:
        return {"jointnas": {"32": {"median": j}, "64": {"median": j}}, "tpe": {"32": {"median": tpe}}}

    batch = {
        "table": cells(0.9, 0.8),
        "target": 0.85,
        "reach": {"jointnas": {"trials_to_target": 20}, "tpe": {"trials_to_target": 64}},
        "overhead_s_per_trial": {"jointnas": 0.5, "gp": 1.0},  # medians over every plan: not comparable
        "overhead_equal": {
            "trials": 64,
            "ms_per_trial": {"jointnas": 50.0, "gp": 1000.0},
            "ratio_to_gp": {"jointnas": 0.05},
        },
        "by_trainings": {"table": cells(0.9, 0.95), "tests": {"tpe": {"32": {"p": 0.01}}}},
    }
    data = {"result": {"summary": {"batch": batch, "sequential": {"table": {}}}}}
    (tmp_path / "search_quality_nb201.json").write_text(json.dumps(data))
    text = mk.search_summary(tmp_path)
    assert "overhead at most 1/10 of GP's on 1/1" in text and "(ratio 0.05 over 64 trials each)" in text
    assert "batch per budget of trainings: 32 JointNAS 0.9000 vs best peer tpe 0.9500 (p=0.01" in text
    assert "best median at 32 and 64 trials on 1/1" in text
