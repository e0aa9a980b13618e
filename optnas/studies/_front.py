"""The predicted accuracy-cost front from one search (FBNetV3, Dai et al., 2021, Sec. 3.3, Fig. 1).

FBNetV3 derives a whole family of models, one per resource budget, from one search: its
predictor is not tied to a budget, so stage 2 (the adaptive GA) is re-run under each new
constraint with nothing trained (Sec. 3.3; Table 3 lists the resulting FBNetV3-A..G).
:func:`sweep` does that for a list of budgets of one metric (MACs, parameters or predicted
latency), one budget after another, with the predictor loaded once.

The front is monotone by construction: every member found for a smaller budget also meets the
larger ones, so it seeds the next GA run and competes for the larger budget's slot; each
budget's member is the best predicted candidate found so far that meets it.

:func:`write_front` writes ``front.csv``, ``front.md``, ``front.json``, ``front.html`` and (when
kaleido can run) ``front.png``: the predicted front, the study's evaluated trials with their
Pareto front beside it, and front members that are already trained marked.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from optnas._errors import ConfigError
from optnas.constraints import Constraint, check_satisfiable
from optnas.cost import LatencyTable, count_columns
from optnas.evolution import GAConfig
from optnas.studies._evolve import Candidate, evolve, joint_space, load_predictor

__all__ = [
    "SWEEP_KEYS",
    "Front",
    "FrontPoint",
    "SweepSpec",
    "enqueue_front",
    "mark_trained",
    "parse_sweep",
    "sweep",
    "write_front",
]

#: Sweep keys -> (metric, scale of one unit, unit label). ``max_mflops`` is the old name of MMACs.
SWEEP_KEYS: dict[str, tuple[str, float, str]] = {
    "max_mmacs": ("macs", 1e6, "MMACs"),
    "max_mflops": ("macs", 1e6, "MMACs"),
    "max_mparams": ("params", 1e6, "Mparams"),
    "max_latency_ms": ("latency_ms", 1.0, "ms"),
}


@dataclass(frozen=True)
class SweepSpec:
    """Budgets of one metric, in the metric's display unit (``budget * scale`` is the limit)."""

    key: str
    budgets: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.key not in SWEEP_KEYS:
            raise ConfigError("--sweep", self.key, f"unknown budget; expected one of {sorted(SWEEP_KEYS)}")
        if not self.budgets or any(not (math.isfinite(b) and b > 0) for b in self.budgets):
            raise ConfigError("--sweep", self.budgets, "budgets must be positive finite numbers")
        object.__setattr__(self, "budgets", tuple(sorted(float(b) for b in self.budgets)))

    @property
    def metric(self) -> str:
        return SWEEP_KEYS[self.key][0]

    @property
    def scale(self) -> float:
        return SWEEP_KEYS[self.key][1]

    @property
    def unit(self) -> str:
        return SWEEP_KEYS[self.key][2]

    def constraint(self, budget: float) -> Constraint:
        return Constraint(self.metric, budget * self.scale)


def parse_sweep(text: str) -> SweepSpec:
    """``max_mmacs=0.2:2.0:10`` (start:stop:count, evenly spaced, both ends included) or
    ``max_latency_ms=1,1.5,2`` (explicit budgets)."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError("--sweep", text, "expected KEY=START:STOP:COUNT or KEY=B1,B2,..., e.g. max_mmacs=0.2:2.0:10")
    key, _, rhs = text.partition("=")
    key = key.strip()
    if key not in SWEEP_KEYS:
        raise ConfigError("--sweep", key, f"unknown budget; expected one of {sorted(SWEEP_KEYS)}")
    try:
        if ":" in rhs:
            parts = rhs.split(":")
            if len(parts) != 3:
                raise ValueError
            start, stop, count = float(parts[0]), float(parts[1]), int(parts[2])
        else:
            budgets = tuple(float(b) for b in rhs.split(","))
    except ValueError:
        raise ConfigError("--sweep", text, "expected KEY=START:STOP:COUNT or KEY=B1,B2,... with numbers") from None
    if ":" in rhs:
        # outside the try: ConfigError is a ValueError, and this message must not be replaced
        if count < 1 or stop < start:
            raise ConfigError("--sweep", text, "needs COUNT >= 1 and STOP >= START")
        budgets = tuple(float(b) for b in np.linspace(start, stop, count))
    return SweepSpec(key, budgets)


@dataclass(frozen=True)
class FrontPoint:
    """One budget of the front: its best predicted candidate (``None``: nothing meets it)."""

    budget: float
    candidate: Candidate | None
    trained_trial: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Front:
    """The predicted front of a sweep, with the study's evaluated trials beside it."""

    spec: SweepSpec
    points: tuple[FrontPoint, ...]
    evaluated: tuple[dict[str, Any], ...] = ()
    pareto: tuple[int, ...] = ()
    study_name: str = ""
    extra_constraints: tuple[Constraint, ...] = field(default=())

    def members(self) -> list[Candidate]:
        """Distinct front members, smallest budget first."""
        seen: set[str] = set()
        out = []
        for p in self.points:
            if p.candidate is not None:
                key = json.dumps(p.candidate.trial_params, sort_keys=True, default=str)
                if key not in seen:
                    seen.add(key)
                    out.append(p.candidate)
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One table row per budget."""
        out = []
        for p in self.points:
            c = p.candidate
            out.append(
                {
                    f"budget_{self.spec.unit}": p.budget,
                    "predicted_accuracy": None if c is None else c.predicted_accuracy,
                    "mmacs": None if c is None else c.macs / 1e6,
                    "mparams": None if c is None else c.params / 1e6,
                    "latency_ms": None if c is None else c.latency_ms,
                    "trained_trial": p.trained_trial,
                    "arch": "" if c is None else str(c.arch),
                    "note": p.note,
                }
            )
        return out


def _metric_of(c: Candidate, metric: str) -> float:
    return c.metric(metric)


def _evaluated_trials(
    study: optuna.Study, space: Any, num_classes: int, metric: str, latency: LatencyTable | None
) -> tuple[list[dict[str, Any]], np.ndarray]:
    names = set(space.names)
    trials = [
        t
        for t in sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)), key=lambda x: x.number)
        if t.value is not None and names <= t.params.keys() and t.user_attrs.get("trained", True)
    ]
    if not trials:
        return [], np.zeros((0, len(space.dims)))
    cols = space.to_columns([t.params for t in trials])
    cost = count_columns(space, cols, num_classes, latency=latency)
    values = cost.latency_ms if metric == "latency_ms" else getattr(cost, metric)
    rows = [
        {"number": t.number, "value": float(t.value), "cost": float(values[i])}  # type: ignore[arg-type]
        for i, t in enumerate(trials)
    ]
    return rows, cols


def _pareto(rows: Sequence[dict[str, Any]], maximize: bool = True) -> tuple[int, ...]:
    """Indices of the non-dominated rows (lower cost, higher value), by increasing cost."""
    order = sorted(
        range(len(rows)), key=lambda i: (rows[i]["cost"], -rows[i]["value"] if maximize else rows[i]["value"])
    )
    best = -math.inf
    out = []
    for i in order:
        v = rows[i]["value"] if maximize else -rows[i]["value"]
        if v > best:
            best = v
            out.append(i)
    return tuple(out)


def sweep(
    study: optuna.Study,
    spec: SweepSpec,
    constraints: Sequence[Constraint] = (),
    *,
    top_k: int = 5,
    seed: int = 0,
    ga_config: GAConfig | None = None,
    artifact_dir: str | os.PathLike[str] | None = None,
    num_classes: int | None = None,
    latency: LatencyTable | None = None,
) -> Front:
    """The predicted accuracy-cost front: one GA run per budget, no training (FBNetV3 Sec. 3.3).

    Args:
        study: a JointNAS study with a stored (or refittable) predictor.
        spec: the swept metric and its budgets.
        constraints: further constraints every member must meet (e.g. a fixed parameter budget).
        top_k: GA population's returned top-K per budget (the best of them is the member).
        latency: table for latency budgets (default: the study's stored table, else
            :func:`optnas.cost.default_latency_table`).

    Returns:
        A :class:`Front` with one point per budget, monotone in the budget: a larger budget's
        predicted accuracy is never lower, and every member meets its budget.
    """
    from optnas.cost import default_latency_table, use_latency_table
    from optnas.predictor import load_latency_table

    predictor = load_predictor(study, artifact_dir=artifact_dir, num_classes=num_classes)
    space = joint_space(predictor)
    uses_latency = spec.metric == "latency_ms" or any(c.metric == "latency_ms" for c in constraints)
    if latency is None and uses_latency:
        latency = load_latency_table(study, artifact_dir=artifact_dir) or default_latency_table()
    fixed = tuple(c for c in constraints if c.metric != spec.metric)
    found: list[Candidate] = []
    points = []
    with use_latency_table(latency) if latency is not None else _null():
        for budget in spec.budgets:
            cons = (*fixed, spec.constraint(budget))
            try:
                check_satisfiable(space, cons, predictor.num_classes)
            except ConfigError as exc:
                points.append(FrontPoint(budget, None, note=exc.reason))
                continue
            prior = space.to_columns([c.trial_params for c in found]) if found else None
            try:
                cands = evolve(
                    study,
                    cons,
                    top_k,
                    seed=seed,
                    ga_config=ga_config,
                    latency=latency,
                    predictor=predictor,
                    extra_seeds=prior,
                )
            except ConfigError as exc:
                cands = []
                note = exc.reason
            else:
                note = ""
            found.extend(cands)
            limit = budget * spec.scale
            ok = [c for c in found if _metric_of(c, spec.metric) <= limit and all(_meets(c, k) for k in fixed)]
            best = max(ok, key=lambda c: c.predicted_accuracy, default=None)
            points.append(FrontPoint(budget, best, note=note if best is None else ""))
        front = Front(spec, tuple(points), study_name=study.study_name, extra_constraints=fixed)
        return mark_trained(front, study, space, predictor.num_classes, latency)


def mark_trained(
    front: Front, study: optuna.Study, space: Any, num_classes: int, latency: LatencyTable | None = None
) -> Front:
    """``front`` with the study's evaluated trials (and their Pareto front) beside it, and each
    member that is already one of those trials marked with its trial number."""
    evaluated, cols = _evaluated_trials(study, space, num_classes, front.spec.metric, latency)
    marked = []
    for p in front.points:
        trial = None
        if p.candidate is not None and len(cols):
            row = space.to_columns([p.candidate.trial_params])[0]
            hit = np.flatnonzero(np.all(np.isclose(cols, row[None, :]), axis=1))
            trial = int(evaluated[int(hit[0])]["number"]) if len(hit) else None
        marked.append(FrontPoint(p.budget, p.candidate, trial, p.note))
    return Front(
        front.spec, tuple(marked), tuple(evaluated), _pareto(evaluated), study.study_name, front.extra_constraints
    )


def _meets(c: Candidate, constraint: Constraint) -> bool:
    return _metric_of(c, constraint.metric) <= constraint.limit


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def enqueue_front(study: optuna.Study, front: Front) -> int:
    """Add the front's distinct members to the study as waiting trials; return how many."""
    n = 0
    for c in front.members():
        study.enqueue_trial(
            c.trial_params,
            user_attrs={"stage": "front", "predicted_accuracy": c.predicted_accuracy, "macs": c.macs},
            skip_if_exists=True,
        )
        n += 1
    return n


def _figure(front: Front) -> Any:
    import plotly.graph_objects as go

    spec = front.spec
    scale = spec.scale
    fig = go.Figure()
    ev = front.evaluated
    if ev:
        fig.add_trace(
            go.Scatter(
                x=[r["cost"] / scale for r in ev],
                y=[r["value"] for r in ev],
                mode="markers",
                name="evaluated trials",
                marker={"color": "lightgray", "size": 7, "line": {"color": "gray", "width": 1}},
                text=[f"trial {r['number']}" for r in ev],
            )
        )
        par = [ev[i] for i in front.pareto]
        fig.add_trace(
            go.Scatter(
                x=[r["cost"] / scale for r in par],
                y=[r["value"] for r in par],
                mode="lines+markers",
                line={"shape": "hv", "color": "gray", "dash": "dot"},
                name="Pareto front of evaluated trials",
                text=[f"trial {r['number']}" for r in par],
            )
        )
    pts = [p for p in front.points if p.candidate is not None]
    fig.add_trace(
        go.Scatter(
            x=[p.candidate.metric(spec.metric) / scale for p in pts],  # type: ignore[union-attr]
            y=[p.candidate.predicted_accuracy for p in pts],  # type: ignore[union-attr]
            mode="lines+markers",
            name="predicted front (no training)",
            line={"color": "royalblue"},
            text=[f"budget {p.budget:g} {spec.unit}<br>{p.candidate.arch}" for p in pts],  # type: ignore[union-attr]
        )
    )
    trained = [p for p in pts if p.trained_trial is not None]
    if trained:
        fig.add_trace(
            go.Scatter(
                x=[p.candidate.metric(spec.metric) / scale for p in trained],  # type: ignore[union-attr]
                y=[p.candidate.predicted_accuracy for p in trained],  # type: ignore[union-attr]
                mode="markers",
                name="front member already trained",
                marker={"symbol": "star", "size": 14, "color": "orange"},
                text=[f"trial {p.trained_trial}" for p in trained],
            )
        )
    fig.update_layout(
        title=f"Accuracy-cost front of {front.study_name!r} ({spec.key} sweep)",
        xaxis_title=spec.unit,
        yaxis_title="accuracy (predicted for the front, measured for trials)",
        template="plotly_white",
        width=900,
        height=560,
    )
    return fig


def write_front(front: Front, out_dir: str | os.PathLike[str], *, png: bool = True) -> tuple[list[Path], str | None]:
    """Write the front's table (CSV, Markdown, JSON) and figure (HTML, PNG); return the paths
    and, when the PNG could not be rendered here, why."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = front.rows()
    written = []
    csv_path = out / "front.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["budget"])
        w.writeheader()
        w.writerows(rows)
    written.append(csv_path)
    unit = front.spec.unit
    md = [
        f"# Predicted accuracy-cost front: {front.study_name}",
        "",
        f"Sweep `{front.spec.key}` over {len(front.points)} budgets, predictor reused, nothing trained."
        + (f" Also: {', '.join(str(c) for c in front.extra_constraints)}." if front.extra_constraints else ""),
        "",
        f"| budget ({unit}) | predicted acc. | MMACs | Mparams | latency (ms) | trained trial | arch |",
        "|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:

        def f(v: Any, fmt: str) -> str:
            return "" if v is None else format(v, fmt)

        md.append(
            f"| {r[f'budget_{unit}']:g} | {f(r['predicted_accuracy'], '.4f')} | {f(r['mmacs'], '.3f')} | "
            f"{f(r['mparams'], '.4f')} | {f(r['latency_ms'], '.3f')} | {f(r['trained_trial'], 'd')} | "
            f"`{r['arch']}`{(' ' + r['note']) if r['note'] else ''} |"
        )
    if front.evaluated:
        md += ["", f"Pareto front of the {len(front.evaluated)} evaluated trials:", ""]
        md += [f"| trial | {unit} | accuracy |", "|---:|---:|---:|"]
        for i in front.pareto:
            e = front.evaluated[i]
            md.append(f"| {e['number']} | {e['cost'] / front.spec.scale:.4g} | {e['value']:.4f} |")
    md_path = out / "front.md"
    md_path.write_text("\n".join(md) + "\n", encoding="utf-8")
    written.append(md_path)
    json_path = out / "front.json"
    json_path.write_text(
        json.dumps(
            {
                "study": front.study_name,
                "sweep": front.spec.key,
                "unit": unit,
                "points": [
                    {"budget": p.budget, "trained_trial": p.trained_trial, "note": p.note}
                    | ({"candidate": p.candidate.to_dict()} if p.candidate is not None else {})
                    for p in front.points
                ],
                "evaluated": list(front.evaluated),
                "pareto": list(front.pareto),
            },
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    written.append(json_path)
    fig = _figure(front)
    html = out / "front.html"
    fig.write_html(str(html), include_plotlyjs="cdn")
    written.append(html)
    reason = None
    if png:
        try:
            fig.write_image(str(out / "front.png"), width=900, height=560)
            written.append(out / "front.png")
        except Exception as exc:  # kaleido needs a Chrome/Chromium; the HTML is enough then
            lines = str(exc).strip().splitlines()
            reason = f"{type(exc).__name__}: {lines[0] if lines else ''}"
    return written, reason
