"""Plotly report of a study: ``optnas report --storage URL --study-name NAME --out DIR``.

Figures (each written as ``<name>.html`` next to one shared ``plotly.min.js``, and as
``<name>.png`` when PNG export works here; kaleido 1.x drives a Chrome/Chromium install):

- ``best_so_far``: validation accuracy of every evaluated trial (in evaluation order) and the
  best-so-far curve, against baselines:

  * the *random-search expectation*: the expected best of ``k`` candidates drawn uniformly
    at random, ``E[max_k] = sum_i v_(i) ((i/n)^k - ((i-1)/n)^k)`` over the sorted accuracies
    ``v_(1) <= ... <= v_(n)`` of the reference trials (their empirical distribution). For
    JointNAS/AutoTrain the reference trials are the space-filling first batch (batch 0 of
    FBNetV3 Sec. 3.1, a constraint-filtered QMC sample of the space, i.e. what random search
    would evaluate); otherwise the first quarter of the evaluated trials;
  * JointNAS/AutoTrain: the best accuracy of that first batch (a horizontal line);
  * augmentation studies: every stored ``baseline:<name>`` result (no extra augmentation,
    TrivialAugment, published policies; :func:`optnas.studies._augment_kinds.evaluate_baselines`).

- ``accuracy_vs_macs`` (JointNAS/AutoTrain): accuracy against exact MACs, the feasible region
  (shaded) and the MACs constraint line, the Pareto front, infeasible candidates (never trained).
- ``predictor_calibration`` (JointNAS/AutoTrain): the predictor's accuracy prediction at proposal
  time against the measured accuracy, with Kendall's tau (``scipy.stats.kendalltau``) -- the
  ranking quality FBNetV3's acquisition function needs (Sec. 3.1). Needs two predicted trials.
- ``op_frequencies`` (AutoAugment): how often each operation occurs in the final policy, the
  sub-policies of the top-5 policies (Cubuk et al. 2019, Sec. 3).
- ``grid`` (RandAugment): validation accuracy over the (N, M) grid (Cubuk et al. 2020, Sec. 3).

The summary (:func:`optnas.studies._export.summary_markdown`) plus a figure list is written as
``SUMMARY.md`` and attached to the study as an optuna-dashboard note, and the figures are
attached as dashboard plotly graph objects (fixed ids, so re-running replaces them).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
from optuna.trial import FrozenTrial, TrialState

from optnas._errors import ConfigError
from optnas._keys import CONFIG_ATTR
from optnas.studies._export import policies_module, study_kind, summary_markdown
from optnas.studies._kinds import StudyKind, study_kind_of

__all__ = [
    "Report",
    "attach_to_dashboard",
    "autoaugment_figures",
    "build_report",
    "evaluated_trials",
    "kendall_tau",
    "nas_figures",
    "randaugment_figures",
    "random_search_expectation",
    "write_report",
]

_STAGE_COLORS = {"stage1": "#1f77b4", "stage2": "#d62728", "evolve": "#9467bd"}
_DASHBOARD_PREFIX = "optnas-"


def _add_stage_traces(fig: Any, points: Sequence[Any], label: Callable[[FrozenTrial], str]) -> None:
    """One marker trace per proposing stage for ``(x, y, trial)`` points, coloured by stage."""
    import plotly.graph_objects as go

    stages = [str(p[2].user_attrs.get("stage", "trial")) for p in points]
    for stage in dict.fromkeys(stages):
        sel = [p for p, s in zip(points, stages, strict=True) if s == stage]
        fig.add_trace(
            go.Scatter(
                x=[p[0] for p in sel],
                y=[p[1] for p in sel],
                mode="markers",
                name=f"{stage} trials",
                marker={"color": _STAGE_COLORS.get(stage), "size": 8},
                text=[label(p[2]) for p in sel],
            )
        )


@dataclass
class Report:
    """Figures (name -> ``plotly.graph_objects.Figure``), the summary, and notes on skipped figures."""

    kind: str
    figures: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    skipped: dict[str, str] = field(default_factory=dict)
    tau: float | None = None


def evaluated_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Completed trials with a finite value that were actually trained, in trial-number order.

    Infeasible JointNAS candidates (``trained = False``, never trained) are excluded.
    """
    return [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value) and t.user_attrs.get("trained", True)
    ]


def random_search_expectation(values: npt.ArrayLike, k_max: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``E[best of k uniform draws]`` from the empirical distribution of ``values``, ``k = 1..k_max``.

    With sorted values ``v_(1) <= ... <= v_(n)``, ``P(max_k = v_(i)) = (i/n)^k - ((i-1)/n)^k``.
    """
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    if n == 0:
        raise ConfigError("values", [], "need at least one reference value")
    i = np.arange(1, n + 1, dtype=float)
    k = np.arange(1, k_max + 1, dtype=float)[:, None]
    weights = (i / n) ** k - ((i - 1) / n) ** k
    return np.asarray(weights @ v, dtype=float)


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b of two samples (``None`` when undefined: fewer than 2 points or a constant)."""
    from scipy.stats import kendalltau

    if len(x) < 2:
        return None
    tau = float(kendalltau(x, y).statistic)
    return None if math.isnan(tau) else tau


def _reference(kind: StudyKind, trials: Sequence[FrozenTrial]) -> tuple[list[FrozenTrial], str]:
    if kind.trains_candidates:
        first = [t for t in trials if t.user_attrs.get("batch") == 0 and t.user_attrs.get("stage") == "stage1"]
        if first:
            return first, "space-filling batch 0"
    n = max(1, math.ceil(len(trials) / 4))
    return list(trials[:n]), f"first {n} trials"


def _best_so_far(study: optuna.Study, kind: StudyKind, trials: Sequence[FrozenTrial]) -> Any:
    import plotly.graph_objects as go

    values = [float(t.value) for t in trials]  # type: ignore[arg-type]
    k = list(range(1, len(trials) + 1))
    fig = go.Figure()
    stages = [str(t.user_attrs.get("stage", "trial")) for t in trials]
    for stage in dict.fromkeys(stages):
        idx = [i for i, s in enumerate(stages) if s == stage]
        fig.add_trace(
            go.Scatter(
                x=[k[i] for i in idx],
                y=[values[i] for i in idx],
                mode="markers",
                name=f"{stage} trials",
                marker={"color": _STAGE_COLORS.get(stage), "size": 7, "opacity": 0.7},
                text=[f"trial {trials[i].number}" for i in idx],
            )
        )
    fig.add_trace(
        go.Scatter(
            x=k, y=np.maximum.accumulate(values), mode="lines", name="best so far", line={"shape": "hv", "width": 3}
        )
    )
    ref, label = _reference(kind, trials)
    expected = random_search_expectation([float(t.value) for t in ref], len(trials))  # type: ignore[arg-type]
    fig.add_trace(
        go.Scatter(x=k, y=expected, mode="lines", name=f"random search, expected (from {label})", line={"dash": "dot"})
    )
    if kind.trains_candidates and label.startswith("space-filling"):
        best0 = max(float(t.value) for t in ref)  # type: ignore[arg-type]
        fig.add_hline(y=best0, line={"dash": "dash", "color": "gray"}, annotation_text=f"best of {label}: {best0:.4f}")
    for key, entry in sorted(study.user_attrs.items()):
        if key.startswith("baseline:") and isinstance(entry, Mapping) and "val_accuracy" in entry:
            acc = float(entry["val_accuracy"])
            fig.add_hline(y=acc, line={"dash": "dash"}, annotation_text=f"{key}: {acc:.4f}")
    fig.update_layout(
        title=f"{study.study_name}: best-so-far validation accuracy",
        xaxis_title="evaluated trials",
        yaxis_title="validation accuracy",
        template="plotly_white",
    )
    return fig


def _macs_limit(study: optuna.Study) -> float | None:
    config = study.user_attrs.get(CONFIG_ATTR, {})
    for c in config.get("constraints", []) if isinstance(config, Mapping) else []:
        if isinstance(c, Mapping) and c.get("metric") == "macs":
            return float(c["limit"])
    return None


def _accuracy_vs_macs(study: optuna.Study, trials: Sequence[FrozenTrial]) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    limit = _macs_limit(study)
    pts = [(t.user_attrs["macs"] / 1e6, float(t.value), t) for t in trials if isinstance(t.user_attrs.get("macs"), int)]  # type: ignore[arg-type]
    if limit is not None:
        fig.add_vrect(
            x0=0,
            x1=limit / 1e6,
            fillcolor="green",
            opacity=0.08,
            line_width=0,
            annotation_text="feasible region",
            annotation_position="top left",
        )
        fig.add_vline(
            x=limit / 1e6, line={"color": "red", "dash": "dash"}, annotation_text=f"max_macs = {limit / 1e6:g}M"
        )
    _add_stage_traces(fig, pts, lambda t: f"trial {t.number}: {t.user_attrs.get('arch', '')}")
    front_x, front_y, best = [], [], -math.inf
    for x, y, _ in sorted(pts, key=lambda p: (p[0], -p[1])):
        if y > best:
            best = y
            front_x.append(x)
            front_y.append(y)
    if front_x:
        fig.add_trace(go.Scatter(x=front_x, y=front_y, mode="lines", name="Pareto front", line={"shape": "hv"}))
    infeasible = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get("feasible") is False and isinstance(t.user_attrs.get("macs"), int)
    ]
    if infeasible:
        fig.add_trace(
            go.Scatter(
                x=[t.user_attrs["macs"] / 1e6 for t in infeasible],
                y=[float(t.value or 0.0) for t in infeasible],
                mode="markers",
                name="infeasible (not trained)",
                marker={"symbol": "x", "color": "black", "size": 9},
                text=[f"trial {t.number}" for t in infeasible],
            )
        )
    fig.update_layout(
        title=f"{study.study_name}: accuracy vs MACs",
        xaxis_title="MACs (millions, exact)",
        yaxis_title="validation accuracy",
        template="plotly_white",
    )
    return fig


def _calibration(study: optuna.Study, trials: Sequence[FrozenTrial]) -> tuple[Any, float | None] | None:
    import plotly.graph_objects as go

    pairs = [
        (float(t.user_attrs["predicted_accuracy"]), float(t.value), t)  # type: ignore[arg-type]
        for t in trials
        if isinstance(t.user_attrs.get("predicted_accuracy"), int | float)
    ]
    if len(pairs) < 2:
        return None
    pred, meas = [p[0] for p in pairs], [p[1] for p in pairs]
    tau = kendall_tau(pred, meas)
    lo, hi = min(pred + meas), max(pred + meas)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name="predicted = measured", line={"dash": "dot"}))
    _add_stage_traces(fig, pairs, lambda t: f"trial {t.number} (batch {t.user_attrs.get('batch')})")
    tau_text = "n/a" if tau is None else f"{tau:.3f}"
    fig.update_layout(
        title=f"{study.study_name}: predictor calibration, Kendall tau = {tau_text} (n = {len(pairs)})",
        xaxis_title="predicted accuracy (at proposal time)",
        yaxis_title="measured validation accuracy",
        template="plotly_white",
    )
    return fig, tau


def _op_frequencies(study: optuna.Study, top: int) -> Any:
    import plotly.graph_objects as go

    policy = policies_module().final_policy(study, top=top)
    counts = Counter(op.name for sp in policy.subpolicies for op in sp.ops).most_common()
    fig = go.Figure(go.Bar(x=[c[0] for c in counts], y=[c[1] for c in counts]))
    fig.update_layout(
        title=f"{study.study_name}: operations in the final policy ({len(policy.subpolicies)} sub-policies, top {top})",
        xaxis_title="operation",
        yaxis_title="occurrences",
        template="plotly_white",
    )
    return fig


def _grid(study: optuna.Study, trials: Sequence[FrozenTrial]) -> Any:
    import plotly.graph_objects as go

    from optnas.studies._augment_kinds import M_PARAM, N_PARAM

    cells = {(int(t.params[N_PARAM]), int(t.params[M_PARAM])): float(t.value) for t in trials if N_PARAM in t.params}  # type: ignore[arg-type]
    ns = sorted({n for n, _ in cells})
    ms = sorted({m for _, m in cells})
    z = [[cells.get((n, m)) for m in ms] for n in ns]
    fig = go.Figure(go.Heatmap(x=[str(m) for m in ms], y=[str(n) for n in ns], z=z, colorbar={"title": "accuracy"}))
    fig.update_layout(
        title=f"{study.study_name}: RandAugment validation accuracy over (N, M)",
        xaxis_title="M (magnitude)",
        yaxis_title="N (operations per image)",
        template="plotly_white",
    )
    return fig


def build_report(study: optuna.Study, *, storage_url: str | None = None, top: int = 5) -> Report:
    """The figures and summary of a study (module docstring).

    Raises:
        ConfigError: not an optnas study, or no evaluated trial.
    """
    kind = study_kind_of(study_kind(study), field=f"study {study.study_name!r} kind")
    trials = evaluated_trials(study)
    if not trials:
        raise ConfigError("--study-name", study.study_name, "has no completed trial to report on")
    report = Report(kind=kind.name, summary=summary_markdown(study, storage_url=storage_url, top=top))
    report.figures["best_so_far"] = _best_so_far(study, kind, trials)
    kind.figures(study, trials, report, top)
    return report


def nas_figures(study: optuna.Study, trials: Sequence[FrozenTrial], report: Report, top: int) -> None:
    """JointNAS / AutoTrain figures: accuracy against MACs, predictor calibration."""
    report.figures["accuracy_vs_macs"] = _accuracy_vs_macs(study, trials)
    calibration = _calibration(study, trials)
    if calibration is None:
        report.skipped["predictor_calibration"] = "fewer than 2 trained trials with a predicted accuracy"
    else:
        report.figures["predictor_calibration"], report.tau = calibration


def autoaugment_figures(study: optuna.Study, trials: Sequence[FrozenTrial], report: Report, top: int) -> None:
    """AutoAugment figure: operation frequencies of the final policy."""
    report.figures["op_frequencies"] = _op_frequencies(study, top)


def randaugment_figures(study: optuna.Study, trials: Sequence[FrozenTrial], report: Report, top: int) -> None:
    """RandAugment figure: accuracy over the (N, M) grid."""
    report.figures["grid"] = _grid(study, trials)


def _note(report: Report, png: bool) -> str:
    lines = [report.summary, "## Report figures", ""]
    for name in report.figures:
        lines.append(f"- `{name}.html`" + (f", `{name}.png`" if png else ""))
    for name, why in report.skipped.items():
        lines.append(f"- {name}: not drawn ({why})")
    if report.tau is not None:
        lines += ["", f"Predictor calibration: Kendall tau = {report.tau:.3f} (predicted vs measured accuracy)."]
    return "\n".join(lines) + "\n"


def attach_to_dashboard(study: optuna.Study, report: Report, note: str) -> None:
    """Save ``note`` as the study's optuna-dashboard note and the figures as dashboard plots."""
    from optuna_dashboard import save_note, save_plotly_graph_object

    save_note(study, note)
    for name, fig in report.figures.items():
        save_plotly_graph_object(study, fig, graph_object_id=f"{_DASHBOARD_PREFIX}{name}")


def write_pngs(figures: Mapping[str, Any], out: Path) -> tuple[list[Path], str | None]:
    """Write the figures as PNG with kaleido; ``([], reason)`` when that does not work here."""
    import plotly.io as pio

    paths = [out / f"{name}.png" for name in figures]
    try:
        pio.write_images(list(figures.values()), paths, width=1000, height=650)
    except Exception as exc:  # kaleido missing, no Chrome, Chrome crashed: HTML is enough
        for p in paths:
            p.unlink(missing_ok=True)
        text = str(exc).strip().splitlines()
        return [], f"{type(exc).__name__}: {text[0] if text else ''}"
    return paths, None


def write_report(
    study: optuna.Study,
    out_dir: str | Path,
    *,
    storage_url: str | None = None,
    top: int = 5,
    png: bool = True,
    dashboard: bool = True,
    stream: Any = None,
) -> list[Path]:
    """Write the report into ``out_dir`` (created); return the files written.

    Args:
        study: an optnas study.
        out_dir: output directory.
        storage_url: shown (password redacted) in the summary.
        top: best trials in the summary (and AutoAugment policies in the final policy).
        png: also write PNGs (skipped with a message on ``stream`` when kaleido cannot run).
        dashboard: attach the note and figures to the study for optuna-dashboard.
        stream: where messages go (``None``: nowhere).
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "exists and is not a directory")
    report = build_report(study, storage_url=storage_url, top=top)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in report.figures.items():
        path = out / f"{name}.html"
        fig.write_html(path, include_plotlyjs="directory", full_html=True)
        written.append(path)
    pngs: list[Path] = []
    if png:
        pngs, why = write_pngs(report.figures, out)
        if why is not None and stream is not None:
            print(f"optnas: PNG export unavailable ({why}); wrote HTML only", file=stream)
    written += pngs
    note = _note(report, bool(pngs))
    summary = out / "SUMMARY.md"
    summary.write_text(note, encoding="utf-8")
    written.append(summary)
    if dashboard:
        try:
            attach_to_dashboard(study, report, note)
        except ImportError as exc:  # optuna-dashboard is an optional extra (optnas[dashboard])
            if stream is not None:
                print(f"optnas: note not attached: {exc} (pip install 'optnas[dashboard]')", file=stream)
    return written
