"""Predictor reuse for new constraints over a stored study (FBNetV3, Dai et al., 2021, Sec. 3.3 and 5.1).

Earlier NAS methods are "one-time use": a new resource budget means a new search. FBNetV3's
predictor is not tied to a budget, so a study's fitted predictor plus the adaptive genetic
algorithm answer a new constraint without training anything. The predictor is stored with the
study as an Optuna artifact (:func:`optnas.predictor.save_predictor`); :func:`evolve` loads it
(or, if the study has none, refits it deterministically from the stored trials, on the sampler's
own training data) and runs :func:`optnas.evolution.adaptive_ga` under the new constraints.

This is study-level code: it reads an Optuna study. The GA itself (:mod:`optnas.evolution`) only
sees a space, a score function and a feasibility mask.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from optuna.trial import TrialState

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas._keys import CLASSES_ATTR, PREDICTOR_ATTR, SPACE_ATTR
from optnas.constraints import Constraint, check_satisfiable, feasible_mask
from optnas.cost import LatencyTable, count_columns
from optnas.evolution import GAConfig, adaptive_ga
from optnas.space import AnyArch, JointSpace, Recipe, parse_arch

if TYPE_CHECKING:
    from optnas.predictor import Predictor

__all__ = ["Candidate", "evaluated_columns", "evolve", "joint_space", "load_predictor"]


@dataclass(frozen=True)
class Candidate:
    """One result of :func:`evolve`."""

    arch: AnyArch
    recipe: Recipe
    predicted_accuracy: float
    macs: int
    params: int
    trial_params: dict[str, Any]
    latency_ms: float | None = None

    def metric(self, name: str) -> float:
        """The candidate's ``macs``, ``params`` or ``latency_ms``."""
        value = self.latency_ms if name == "latency_ms" else getattr(self, name, None)
        if value is None:
            raise ConfigError("metric", name, "not known for this candidate")
        return float(value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "arch": str(self.arch),
            "recipe": self.recipe.to_dict(),
            "predicted_accuracy": self.predicted_accuracy,
            "macs": self.macs,
            "params": self.params,
            **({"latency_ms": self.latency_ms} if self.latency_ms is not None else {}),
            "params_dict": self.trial_params,
        }


def load_predictor(
    study: optuna.Study, *, artifact_dir: str | os.PathLike[str] | None = None, num_classes: int | None = None
) -> Predictor:
    """The study's predictor: the stored artifact, else a deterministic refit on its trials.

    Args:
        study: a JointNAS or AutoTrain study made by optnas.
        artifact_dir: where its artifacts live (default: the directory recorded in the study).
        num_classes: classifier width, needed only when the study has no stored predictor and
            no recorded dataset width.
    """
    from optnas.predictor import Predictor, load_predictor_artifact

    stored = load_predictor_artifact(study, artifact_dir=artifact_dir)
    if stored is not None:
        return stored
    meta = study.user_attrs.get(PREDICTOR_ATTR)
    space_dict = study.user_attrs.get(SPACE_ATTR)
    if space_dict is None:
        raise ConfigError("study", study.study_name, "is not an optnas JointNAS/AutoTrain study (no stored space)")
    space = JointSpace.from_dict(space_dict)
    classes = (
        num_classes
        or (meta or {}).get("num_classes")
        or study.user_attrs.get(CLASSES_ATTR)  # recorded by JointNASSampler
        or _dataset_classes(study)
    )
    from optnas.samplers._storage import study_attrs

    seed = int(study_attrs(study).get("jointnas:seed", (meta or {}).get("seed", 0)))
    cols, y = evaluated_columns(study, space)
    if len(y) < 2:
        raise ConfigError("study", study.study_name, f"has {len(y)} completed trials; the predictor needs at least 2")
    _say_refit(study, meta, len(y))
    return Predictor(space, num_classes=classes, seed=seed).fit(cols, y)


def _say_refit(study: optuna.Study, meta: Any, n: int) -> None:
    """One line (logger ``optnas``, stderr by default) saying the predictor is refitted, not loaded."""
    import logging

    why = (
        f"stored its predictor as artifact {meta.get('artifact_id')!r}, but the artifact directory is unknown "
        "(pass --artifacts DIR / artifact_dir=)"
        if isinstance(meta, dict)
        else "has no stored predictor artifact (no artifact store when it ran)"
    )
    logging.getLogger("optnas").warning(
        "optnas: study %r %s: refitting the predictor on its %d completed trials (deterministic; "
        "no candidate is trained)",
        study.study_name,
        why,
        n,
    )


def _dataset_classes(study: optuna.Study) -> int:
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        params = t.user_attrs.get("params")
        arch = t.user_attrs.get("arch")
        if params is not None and arch is not None:
            from optnas.cost import infer_num_classes

            return infer_num_classes(parse_arch(arch), int(params))
    raise ConfigError("num_classes", None, "unknown for this study; pass num_classes")


def evaluated_columns(study: optuna.Study, space: JointSpace) -> tuple[np.ndarray, np.ndarray]:
    """The sampler's own training data (:func:`optnas.samplers._history.training_data`).

    Higher is better in both directions (a minimized objective is negated), at the sampler's
    fidelity: the accuracy after the early-stopping budget when there is one.
    """
    from optnas.samplers._history import training_data

    es = study.user_attrs.get("early_stopping_epochs")
    budget = int(es) if es is not None else None
    cols, y, _ = training_data(study.get_trials(deepcopy=False), space, study.direction, budget=budget)
    return cols, y


def evolve(
    study: optuna.Study,
    constraints: Sequence[Constraint] = (),
    top_k: int = 5,
    *,
    seed: int = 0,
    ga_config: GAConfig | None = None,
    artifact_dir: str | os.PathLike[str] | None = None,
    num_classes: int | None = None,
    latency: LatencyTable | None = None,
    predictor: Predictor | None = None,
    extra_seeds: np.ndarray | None = None,
) -> list[Candidate]:
    """Top-K candidates for new constraints from the study's predictor, without training.

    Runs :func:`optnas.evolution.adaptive_ga` seeded with the study's best evaluated candidates
    that meet the new constraints, scored by the stored predictor.

    Args:
        latency: the table that scores ``max_latency_ms`` (default: the study's stored table,
            else :func:`optnas.cost.default_latency_table`).
        predictor: a predictor already loaded with :func:`load_predictor` (a sweep loads it once).
        extra_seeds: further column rows offered to the GA's initial population (kept only when
            they meet the constraints), e.g. the members of a smaller budget's front.

    Returns:
        Up to ``top_k`` candidates, best predicted first, each feasible under ``constraints``.
    """
    validate.positive_int("top_k", top_k)
    if predictor is None:
        predictor = load_predictor(study, artifact_dir=artifact_dir, num_classes=num_classes)
    if latency is None and any(c.metric == "latency_ms" for c in constraints):
        from optnas.predictor import load_latency_table

        latency = load_latency_table(study, artifact_dir=artifact_dir)
    if latency is not None:
        from optnas.cost import use_latency_table

        with use_latency_table(latency):
            return _evolve(study, predictor, constraints, top_k, seed, ga_config, latency, extra_seeds)
    return _evolve(study, predictor, constraints, top_k, seed, ga_config, None, extra_seeds)


def joint_space(predictor: Predictor) -> JointSpace:
    """The predictor's space, which must be an optnas JointSpace (evolve decodes candidates with it)."""
    space = predictor.space
    if not isinstance(space, JointSpace):
        raise ConfigError("study", type(space).__name__, "evolve needs a study over an optnas JointSpace")
    return space


def _evolve(
    study: optuna.Study,
    predictor: Predictor,
    constraints: Sequence[Constraint],
    top_k: int,
    seed: int,
    ga_config: GAConfig | None,
    latency: LatencyTable | None,
    extra_seeds: np.ndarray | None,
) -> list[Candidate]:
    space = joint_space(predictor)
    check_satisfiable(space, constraints, predictor.num_classes)
    wants_latency = any(c.metric == "latency_ms" for c in constraints)

    def feasible(c: np.ndarray) -> np.ndarray:
        return feasible_mask(constraints, count_columns(space, c, predictor.num_classes, latency=latency))

    cols, y = evaluated_columns(study, space)
    seeds = cols[np.argsort(-y, kind="stable")] if len(y) else cols
    if extra_seeds is not None and len(extra_seeds):
        seeds = np.concatenate([np.asarray(extra_seeds, dtype=float).reshape(-1, len(space.dims)), seeds])
    if len(seeds):
        seeds = seeds[feasible(seeds)]
    config = ga_config or GAConfig(population=max(4 * top_k, 32), max_per_arch=None if space.fixed_arch else 1)
    result = adaptive_ga(space, predictor.predict, feasible, seeds, rng=np.random.default_rng(seed), config=config)
    chosen = np.asarray(result.cols)[:top_k]
    cost = count_columns(space, chosen, predictor.num_classes, latency=latency)
    lat = cost.latency_ms if (wants_latency or latency is not None) else None
    out = []
    for i, row in enumerate(chosen):
        params = space.to_params(row)
        arch, recipe = space.decode_params(params)
        out.append(
            Candidate(
                arch,
                recipe,
                float(result.scores[i]),
                int(cost.macs[i]),
                int(cost.params[i]),
                params,
                None if lat is None else float(lat[i]),
            )
        )
    return out
