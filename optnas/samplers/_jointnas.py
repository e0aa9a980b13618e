"""``JointNASSampler``: the Optuna adapter of FBNetV3's Algorithm 1 (Dai et al., 2021).

The algorithm itself is :class:`optnas.samplers._planner.Planner` (a pure function of the
evaluated candidates); this module turns stored trials into its input and hands its batches out
to Optuna trials, across processes and machines. It drives optnas' own
:class:`~optnas.space.JointSpace` or any Optuna search space (given, or inferred from the
trials as GPSampler and TPE do), with constraints on costs a user's function computes.

Stage 1 (Sec. 3.1): a constraint-filtered QMC pool gives a space-filling first batch; for each
later batch the neural acquisition function (:class:`optnas.predictor.Predictor`) is refit on
every completed trial, a fresh QMC pool Λ_t is drawn subject to the constraints, and the ``m``
candidates with the best predicted accuracy are chosen (greedily, skipping near-duplicates).
After the first batch the early-stopping budget is determined from its learning curves.

Stage 2 (Sec. 3.3): after ``T`` batches, the predictor-based adaptive genetic algorithm
(:func:`optnas.evolution.adaptive_ga`) searches the joint space; its top-K form a final batch that
is trained for real.

State lives in storage (DESIGN.md). Every trial the sampler proposes gets a *position* in the
plan: the number of sampler-driven trials (those without fixed parameters) created before it, a
value storage assigns atomically through trial numbers, so concurrent workers never share one.

Planning is asynchronous (chosen by measurement, ``benchmarks/parallel_protocol.py``: a batch
barrier left workers idle for the slowest training of every batch, 42% utilization against 75%,
for no gain in search quality). A trial at a position of batch ``t`` picks its candidate when it
first suggests: the predictor is fitted on the completed trials of batches ``< t``, and every
other candidate taken so far (running, queued for a retry, failed, evaluated in a later batch,
or picked and not yet suggested) is pending, left out of the pool and counted as seen by the
diversity rule, as pending points are in asynchronous batch Bayesian optimization. The trial
takes the best candidate of that batch and records it (``jointnas:pick``). A single worker thus
makes exactly FBNetV3's batches slot by slot (one predictor fit, and one GA run, per batch); a
pick waits only while a lower-numbered trial of another worker is still picking, never for a
training, which is what keeps any two picks apart.

Retries are Optuna's own: a failed or dead worker's trial is queued again as a waiting trial with
the same parameters and system attributes (``RetryHeartbeatStaleTrialCallback``,
:func:`optnas.studies.requeue`), so it inherits its position and its pick and is popped before
any new trial is created; it is never planned again. A single worker that is stopped and
restarted on its host evaluates the queued retry first (``optnas run`` fails a dead local
worker's trial at once, heartbeat or not), so it makes exactly the picks of an uninterrupted run.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.trial import FrozenTrial, TrialState

from optnas._errors import ConfigError
from optnas._keys import (
    CLASSES_ATTR,
    CONSTRAINT_PREFIX,
    ES_ATTR,
    JOINTNAS_PICK,
    JOINTNAS_PLAN,
    JOINTNAS_POSITION,
    JOINTNAS_SEED,
    JOINTNAS_WORKER,
    PREDICTOR_ATTR,
    SPACE_ATTR,
)
from optnas.constraints import Constraint, check_satisfiable
from optnas.samplers._costs import AnalyticCost, CostFn, CostModel, FunctionCost
from optnas.samplers._early_stop import early_stopping_epochs
from optnas.samplers._history import candidate_rows as _taken_rows
from optnas.samplers._history import training_data
from optnas.samplers._planner import Plan, Planner, PlannerConfig
from optnas.samplers._storage import (
    record_heartbeat,
    set_study_attr,
    set_trial_attr,
    study_attrs,
    worker_id,
)
from optnas.space import JointSpace, ParamSpace, SearchSpace

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from optnas.evolution import GAConfig
    from optnas.predictor import Predictor, PredictorConfig

__all__ = ["JointNASSampler", "epoch_budget"]

FloatArray = npt.NDArray[np.float64]

_POS = JOINTNAS_POSITION
_WORKER = JOINTNAS_WORKER
_PLAN = JOINTNAS_PLAN
_SEED = JOINTNAS_SEED
_PICK = JOINTNAS_PICK
_CONSTRAINT_PREFIX = CONSTRAINT_PREFIX


def epoch_budget(trial: optuna.trial.BaseTrial) -> int | None:
    """Epoch budget the sampler assigned to ``trial`` (``None``: the recipe's full budget).

    Call it after the space's parameters have been suggested (the plan is made lazily).
    """
    value = trial.user_attrs.get("epoch_budget")
    return None if value is None else int(value)


def _non_negative(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(name, value, "must be a number >= 0")
    return float(value)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, value, "must be a positive integer")
    return value


class JointNASSampler(BaseSampler):
    """FBNetV3 joint architecture + recipe search as an Optuna sampler.

    Args:
        space: an optnas :class:`~optnas.space.JointSpace` (exact analytic costs, the
            architecture/recipe split of FBNetV3 Fig. 4). ``None``: any Optuna search space,
            ``search_space`` or inferred from the trials.
        search_space: parameter name -> Optuna distribution (float, int, categorical; log and
            step included). ``None`` with no ``space``: the intersection of the completed trials'
            spaces (``optuna.search_space.IntersectionSearchSpace``, as GPSampler does);
            parameters that appear only in some trials (conditional spaces) are sampled by
            ``independent_sampler``. Until a trial has suggested anything the space is unknown,
            so the very first trial is sampled independently.
        arch_params: names of the architecture parameters of a user space (the predictor's
            encoder reads them, its accuracy head reads the rest next to the embedding); empty:
            the encoder reads every parameter.
        cost: a user space's cost function, ``params -> {"macs": ..., "params": ..., ...}``
            (e.g. :func:`optnas.cost.count_model`); the metrics the constraints name must be in
            it. A JointSpace uses its exact analytic model instead.
        num_classes: classifier width of a JointSpace (enters the exact parameter count).
        constraints: resource constraints (:mod:`optnas.constraints`). Infeasible candidates are
            never proposed; unsatisfiable constraints raise :class:`~optnas.ConfigError`.
        batch_size: ``m``, candidates per stage-1 batch.
        n_batches: ``T``, stage-1 batches (the first is space-filling).
        pool_size: ``n``, feasible QMC candidates scored per batch.
        final_batch_size: ``K``, stage-2 candidates trained at the end (default ``batch_size``;
            0 disables stage 2).
        n_startup_trials: size of the space-filling first batch (default ``batch_size``).
        acquisition: ``"paper"`` (the default: the best predicted means of a QMC pool),
            ``"local"`` (the same over a pool that also holds mutations of the best trials) or
            ``"ensemble"`` (bootstrap ensemble, Thompson slots, incumbent mutations); see
            :mod:`optnas.samplers._planner`. The default is the measured best: in the ablation
            (``benchmarks/results/jointnas_ablation_{nb201,fcnet}.md``, 10 paired seeds, 32 and 64
            trials) no other rule, predictor setting (no pretraining, ``rank_weight``,
            ``cv_folds``) beat it significantly, and ``"ensemble"`` was worse on NAS-Bench-201.
        cost_filter: ``"auto"``, ``"exact"`` or ``"predicted"`` (the proxy head predicts the
            pool's costs; every chosen candidate is checked exactly).
        trust_region: the stage-2 GA searches only within this many typical spacings of the best
            evaluated candidates (default 0.5, the measured best; ``None``: the whole space, the
            paper's literal GA); see :mod:`optnas.samplers._planner`.
        seed: seed of every proposal (stored in the study on first use, so ``seed=None`` resumes
            with the stored one).
        predictor_config: settings of :class:`~optnas.predictor.Predictor`.
        ga_config: settings of the stage-2 :func:`~optnas.evolution.adaptive_ga`.
        early_stopping_tau: Kendall tau an epoch budget's ranking must reach (``None``: no early
            stopping).
        diversity: minimum distance between candidates of one batch, as a fraction of the
            pool's median nearest-neighbour distance in the encoding (0 disables).
        independent_sampler: sampler for parameters outside the planned space (default: a
            seeded :class:`~optuna.samplers.RandomSampler`).
        wait_timeout: seconds a pick waits for a lower-numbered trial of another worker that is
            still picking (a dead worker's trial is failed by Optuna's heartbeat before that);
            ``None``: as long as it takes.
        poll_interval: seconds between those checks.
        artifact_store: an Optuna artifact store; when set, the stage-2 predictor is uploaded to
            it as a study artifact (:func:`optnas.studies.evolve` reuses it).
    """

    def __init__(
        self,
        *,
        space: JointSpace | None = None,
        search_space: Mapping[str, BaseDistribution] | None = None,
        arch_params: Collection[str] = (),
        cost: CostFn | None = None,
        num_classes: int | None = None,
        constraints: Sequence[Constraint] = (),
        batch_size: int = 8,
        n_batches: int = 4,
        pool_size: int = 1024,
        final_batch_size: int | None = None,
        n_startup_trials: int | None = None,
        acquisition: str = "paper",
        cost_filter: str = "auto",
        trust_region: float | None = 0.5,
        seed: int | None = None,
        predictor_config: PredictorConfig | None = None,
        ga_config: GAConfig | None = None,
        early_stopping_tau: float | None = 0.8,
        diversity: float = 0.5,
        independent_sampler: BaseSampler | None = None,
        wait_timeout: float | None = 120.0,
        poll_interval: float = 0.5,
        artifact_store: Any = None,
    ) -> None:
        if space is not None and not isinstance(space, JointSpace):
            raise ConfigError("space", type(space).__name__, "expected an optnas.space.JointSpace (or search_space=)")
        if space is not None and (search_space is not None or cost is not None or arch_params):
            raise ConfigError("search_space", "with space", "give either an optnas JointSpace or a search_space/cost")
        self.space = space
        self.constraints = tuple(constraints)
        for c in self.constraints:
            if not isinstance(c, Constraint):
                raise ConfigError("constraints", c, "expected optnas.constraints.Constraint objects")
        if space is not None:
            self.num_classes = _positive_int("num_classes", num_classes)
        else:
            self.num_classes = 1 if num_classes is None else _positive_int("num_classes", num_classes)
        self.batch_size = _positive_int("batch_size", batch_size)
        self.n_batches = _positive_int("n_batches", n_batches)
        self.pool_size = _positive_int("pool_size", pool_size)
        k = batch_size if final_batch_size is None else final_batch_size
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ConfigError("final_batch_size", final_batch_size, "must be a non-negative integer")
        self.final_batch_size = k
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigError("seed", seed, "must be a non-negative integer or None")
        self._seed_arg = seed
        if early_stopping_tau is not None and not -1.0 <= early_stopping_tau <= 1.0:
            raise ConfigError("early_stopping_tau", early_stopping_tau, "must be in [-1, 1] or None")
        self.early_stopping_tau = early_stopping_tau
        if wait_timeout is not None and wait_timeout < 0:
            raise ConfigError("wait_timeout", wait_timeout, "must be >= 0 or None")
        self.wait_timeout = wait_timeout
        if not poll_interval > 0:
            raise ConfigError("poll_interval", poll_interval, "must be > 0")
        self.poll_interval = float(poll_interval)
        self.predictor_config = predictor_config
        self.ga_config = ga_config
        self.artifact_store = artifact_store
        self.config = PlannerConfig(
            batch_size=self.batch_size,
            n_batches=self.n_batches,
            final_batch_size=k,
            n_startup=n_startup_trials,
            pool_size=self.pool_size,
            diversity=_non_negative("diversity", diversity),
            acquisition=acquisition,
            predictor=predictor_config,
            ga=ga_config,
            cost_filter=cost_filter,
            trust_region=trust_region,
        )
        self.diversity = float(diversity)
        self._cost: CostModel | None
        if space is not None:
            if not space.dims:
                raise ConfigError("space", space.name, "has no searchable dimension")
            check_satisfiable(space, self.constraints, self.num_classes)
            self._cost = AnalyticCost(self.num_classes)
        else:
            if self.constraints and cost is None:
                raise ConfigError(
                    "cost", None, f"constraints {[str(c) for c in self.constraints]} need a cost function (cost=...)"
                )
            self._cost = None if cost is None else FunctionCost(cost, self.constraints)
        self._given: ParamSpace | None = None
        if search_space is not None:
            self._given = ParamSpace(search_space, arch=arch_params)
            if not self._given.dims:
                raise ConfigError("search_space", sorted(search_space), "has no searchable dimension")
        self._arch_params = tuple(arch_params)
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._plans: dict[tuple[int, int], dict[str, Any]] = {}
        self._planners: dict[str, Planner] = {}
        self._seed_cache: dict[int, int] = {}
        self._warned: set[tuple[int, str]] = set()
        self.last_predictor: Predictor | None = None
        self.last_plan: Plan | None = None

    # --- layout ----------------------------------------------------------------------------------
    @property
    def n_planned(self) -> int:
        """Trials of the full plan: ``n_startup + (T - 1) * m + K`` (later trials continue with stage 1)."""
        return self.config.n_planned

    def locate(self, position: int) -> tuple[int, int, str]:
        """``(batch, slot, stage)`` of a plan position."""
        return self.config.locate(position)

    # --- Optuna sampler interface ----------------------------------------------------------------
    def reseed_rng(self) -> None:
        self._independent.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        space = self._space_now(study)
        return {} if space is None else {d.name: d.distribution() for d in space.dims}

    def _space_now(self, study: optuna.Study) -> SearchSpace | None:
        """The space plans are made in: the JointSpace, the given space, or the inferred one."""
        if self.space is not None:
            return self.space
        if self._given is not None:
            return self._given
        return self._infer(study.get_trials(deepcopy=False))

    def _infer(self, trials: Sequence[FrozenTrial]) -> ParamSpace | None:
        """Intersection of the completed trials' spaces (else the first trial's), as GPSampler infers."""
        done = [t for t in trials if t.state == TrialState.COMPLETE]
        dists: dict[str, BaseDistribution] | None = None
        for t in done or [t for t in trials if t.distributions][:1]:
            if dists is None:
                dists = dict(t.distributions)
            else:
                dists = {k: v for k, v in dists.items() if t.distributions.get(k) == v}
        if not dists:
            return None
        space = ParamSpace(dists, arch=[a for a in self._arch_params if a in dists])
        return space if space.dims else None

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)
        record_heartbeat(study, trial)  # so that even a worker killed right away has its trial retried
        # The worker running the trial now (a retry copies its dead predecessor's attributes).
        set_trial_attr(study, trial, _WORKER, worker_id())
        if _POS in trial.system_attrs or not _is_fresh(trial):
            return
        trials = study.get_trials(deepcopy=False)
        ticket = sum(1 for t in trials if t.number < trial.number and _is_fresh(t))
        set_trial_attr(study, trial, _POS, ticket)

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._raise_if_multi_objective(study)
        values: dict[str, Any] = {}
        # A trial without a position (enqueued with some parameters left open) falls back to the
        # independent sampler, and so does every parameter the plan does not cover.
        if trial.system_attrs.get(_POS) is not None:
            values = self._planned(study, trial, search_space)
        for name, dist in search_space.items():
            if name not in values:
                values[name] = self._independent.sample_independent(study, trial, name, dist)
        return values

    def _raise_if_multi_objective(self, study: optuna.Study) -> None:
        if len(study.directions) > 1:
            raise ConfigError("directions", study.directions, "JointNASSampler supports single-objective studies")

    def _planned(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """The trial's candidate (recorded as its pick, and in its user attributes).

        A retry carries its predecessor's pick (Optuna copies the system attributes) and is never
        planned again. Every other positioned trial records a pick, possibly empty, so that no
        later trial waits for it.
        """
        picked = trial.system_attrs.get(_PICK)
        if isinstance(picked, dict):
            return _admitted(picked.get("values", {}), search_space)
        position = int(trial.system_attrs[_POS])
        t, j, stage = self.locate(position)
        cand: dict[str, Any] | None = None
        budget: int | None = None
        if search_space:
            if t == 0:
                plan = self._first_batch(study)
                cand = plan["candidates"][j] if j < len(plan["candidates"]) else None
            else:
                self._wait_for_lower(study, trial, position)
                record = self._pick(study, trial, t)
                if record is not None:
                    cand, budget = dict(record["candidates"][0]), record["epoch_budget"]
                    cand["n_train"] = record["n_train"]
        if cand is None:  # no space yet, or a batch the pool could not fill: the independent sampler
            set_trial_attr(study, trial, _PICK, {})
            if not search_space and self.constraints:
                self._warn_once(
                    study,
                    "unchecked-first",
                    f"JointNAS: trial {trial.number} is sampled before any search space is known (it is inferred "
                    "from the trials), so the constraints cannot filter it; its constraint values are recorded. "
                    "Pass search_space= to have every trial checked before training.",
                )
            return {}
        set_trial_attr(study, trial, _PICK, cand)
        attrs: list[tuple[str, Any]] = [("stage", stage), ("batch", t), ("slot", j)]
        attrs += [(k, v) for k, v in cand.get("costs", {}).items()]
        attrs += [("predicted_accuracy", cand["predicted"]), ("epoch_budget", budget)]
        for key, value in attrs:
            set_trial_attr(study, trial, key, value, user=True)
        if self.space is None:
            self._record_constraints(study, trial, cand.get("costs", {}))
        return _admitted(cand["values"], search_space)

    def _record_constraints(
        self, study: optuna.Study, trial: FrozenTrial, costs: Mapping[str, float], *, optuna_values: bool = False
    ) -> None:
        """Record the constraints of a user-space trial: the user-attr mirror, and Optuna's values.

        The sampler knows the exact costs before training. At proposal it mirrors them into user
        attributes (optuna-dashboard 0.21 reads only those); with ``optuna_values`` (when the
        trial ends without its objective having called ``trial.set_constraint``) it also writes
        what ``set_constraint`` writes, the ``constraints:<name>`` system attributes that TPE, GP
        and NSGA-II read. An objective need not call ``set_constraint``; if it does, its values
        stand.
        """
        feasible = True
        for c in self.constraints:
            if c.metric not in costs:
                continue
            v = c.value(costs)
            if optuna_values:
                set_trial_attr(study, trial, f"{_CONSTRAINT_PREFIX}{c.name}", v)
            set_trial_attr(study, trial, f"constraint:{c.name}", v, user=True)
            set_trial_attr(study, trial, f"limit:{c.name}", c.limit, user=True)
            feasible &= v <= 0.0
        if self.constraints:
            set_trial_attr(study, trial, "feasible", bool(feasible), user=True)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        self._raise_if_multi_objective(study)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._independent.after_trial(study, trial, state, values)
        # Optuna's constraint values of a user-space trial, unless its objective set them itself
        # (``trial.set_constraint``), for planned trials and for those the plan did not cover (the
        # first trial of an inferred space, an enqueued one) alike, so that every trial has them.
        recorded = any(k.startswith(_CONSTRAINT_PREFIX) for k in trial.system_attrs)
        if self.space is None and self._cost is not None and self.constraints and trial.params and not recorded:
            try:
                costs = self._cost.exact_params(trial.params)
            except ConfigError:
                return
            self._record_constraints(study, trial, costs, optuna_values=True)

    # --- seed and storage --------------------------------------------------------------------------
    def _seed(self, study: optuna.Study) -> int:
        cached = self._seed_cache.get(study._study_id)
        if cached is not None:
            return cached
        stored = study_attrs(study).get(_SEED)
        if stored is not None:
            if self._seed_arg is not None and int(stored) != self._seed_arg:
                raise ConfigError("seed", self._seed_arg, f"study {study.study_name!r} was started with seed {stored}")
            seed = int(stored)
        else:
            seed = (
                self._seed_arg
                if self._seed_arg is not None
                else int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
            )
            set_study_attr(study, _SEED, seed)
            # What optnas.evolve needs to refit the predictor from this study's trials.
            if self.space is not None:
                if SPACE_ATTR not in study.user_attrs:
                    study.set_user_attr(SPACE_ATTR, self.space.to_dict())
                study.set_user_attr(CLASSES_ATTR, self.num_classes)
        self._seed_cache[study._study_id] = seed
        return seed

    # --- planning ----------------------------------------------------------------------------------
    def _first_batch(self, study: optuna.Study) -> dict[str, Any]:
        """The space-filling batch 0: a function of the seed and the space only, stored once."""
        key = (study._study_id, 0)
        if key in self._plans:
            return self._plans[key]
        stored = study_attrs(study).get(f"{_PLAN}0")
        if stored is None:
            space = self._space_now(study)
            stored = self._plan_record(study, space, 0, None) if space is not None else None
            if stored is None or not stored["candidates"]:
                return {"batch": 0, "candidates": [], "epoch_budget": None, "n_train": 0}
            # Only an inferred space can differ between workers; the first stored plan stands.
            again = study_attrs(study).get(f"{_PLAN}0")
            if again is None:
                set_study_attr(study, f"{_PLAN}0", stored)
            else:
                stored = again
        self._plans[key] = dict(stored)
        return self._plans[key]

    def _pick(self, study: optuna.Study, trial: FrozenTrial, t: int) -> dict[str, Any] | None:
        """The candidate of a trial of batch ``t >= 1``, planned now (asynchronous planning).

        The predictor is fitted on the completed trials of batches ``< t`` (ordered by plan
        position); every other candidate taken so far (running, queued for a retry, failed,
        evaluated in batch ``t`` or later, or just picked by a trial that has not suggested yet)
        is pending. The trial takes the best candidate of the batch planned from that history.
        A single worker therefore makes exactly FBNetV3's batch ``t`` slot by slot, and parallel
        workers never wait for a training to end.
        """
        trials = study.get_trials(deepcopy=False)
        pos = self._positions(trials)
        earlier = [tr for tr in trials if tr.number in pos and self.locate(pos[tr.number])[0] < t]
        space = self._space_now(study) if (self.space is not None or self._given is not None) else self._infer(earlier)
        if space is None:
            return None
        record = self._plan_record(study, space, t, trial, trials=trials, pos=pos, earlier=earlier)
        return None if record is None or not record["candidates"] else record

    def _plan_record(
        self,
        study: optuna.Study,
        space: SearchSpace,
        t: int,
        trial: FrozenTrial | None,
        *,
        trials: Sequence[FrozenTrial] = (),
        pos: Mapping[int, int] | None = None,
        earlier: Sequence[FrozenTrial] = (),
    ) -> dict[str, Any]:
        """Batch ``t`` of Algorithm 1 as a storable record (for batch 0, the whole batch)."""
        seed = self._seed(study)
        budget = self._early_stopping(study, t)
        order = {} if pos is None else pos
        cols, y, used = training_data(
            earlier, space, study.direction, budget=budget, order=lambda x: (order.get(x.number, math.inf), x.number)
        )
        fitted = {tr.number for tr in used}
        mine = -1 if trial is None else trial.number
        pending = _taken_rows([tr for tr in trials if tr.number not in fitted and tr.number != mine], space)
        if t > 0 and len(y) < 2:
            self._warn_once(
                study,
                "no-data",
                f"JointNAS batch {t}: only {len(y)} completed trial(s) of the earlier batches with a finite value "
                "to fit the predictor on (the others are still running, failed or returned NaN); planning a "
                "space-filling candidate instead",
            )
        planner = self._planner(space)
        plan = planner.plan(t, cols, y, seed=seed, pending=pending)
        self.last_plan = plan
        if planner.last_predictor is not None and len(y) >= 2:
            self.last_predictor = planner.last_predictor
            if t == self.n_batches and self.artifact_store is not None:
                saved = study.user_attrs.get(PREDICTOR_ATTR)
                if not isinstance(saved, dict) or int(saved.get("n_train", -1)) < len(y):
                    from optnas.predictor import save_predictor

                    save_predictor(study, planner.last_predictor, self.artifact_store, constraints=self.constraints)
        candidates: list[dict[str, Any]] = [
            {
                "values": space.to_params(np.asarray(c.row)),
                "costs": {k: (int(v) if float(v).is_integer() else v) for k, v in c.costs.items()},
                "predicted": c.predicted,
            }
            for c in plan.candidates
        ]
        for c in candidates:  # the JointSpace's analytic metrics, as earlier versions stored them
            c.update({k: v for k, v in c["costs"].items() if k in ("macs", "params")})
        stage_budget = None if t in (0, self.n_batches) else budget
        return {
            "batch": t,
            "candidates": candidates,
            "epoch_budget": stage_budget,
            "n_train": len(used),
            "n_pending": len(pending),
            "n_checked": plan.n_checked,
            "n_rejected": plan.n_rejected,
        }

    def _wait_for_lower(self, study: optuna.Study, trial: FrozenTrial, position: int) -> None:
        """Wait until every running trial of a lower position has picked its candidate.

        Picking takes seconds (a predictor fit), never a training: this ordering alone makes two
        concurrent workers see each other's picks, so no candidate is proposed twice. A trial of
        this very thread (ask-and-tell with several open trials) never blocks, nor does a dead
        worker's (Optuna's heartbeat fails it) or, after ``wait_timeout`` seconds, a slow one.
        """
        start = time.monotonic()
        me = worker_id()
        while True:
            trials = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            pos = self._positions(study.get_trials(deepcopy=False))
            blockers = [
                tr
                for tr in trials
                if tr.number != trial.number
                and pos.get(tr.number, math.inf) < position
                and _PICK not in tr.system_attrs
                and not tr.system_attrs.get("fixed_params")
                and tr.system_attrs.get(_WORKER) != me
            ]
            if not blockers:
                return
            if self.wait_timeout is not None and time.monotonic() - start > self.wait_timeout:
                return
            with warnings.catch_warnings():  # "experimental" in Optuna 5, as Optuna's own loop says
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            time.sleep(self.poll_interval)

    def _positions(self, trials: Sequence[FrozenTrial]) -> dict[int, int]:
        """Plan position of every trial that has one (fresh ones by ticket, retries inherited)."""
        out: dict[int, int] = {}
        ticket = 0
        by_number = {t.number: t for t in trials}
        for tr in sorted(trials, key=lambda x: x.number):
            if _POS in tr.system_attrs:
                out[tr.number] = int(tr.system_attrs[_POS])
            elif _is_fresh(tr):
                out[tr.number] = ticket
            else:
                origin = tr.system_attrs.get("failed_trial")
                if origin is not None and origin in by_number and origin in out:
                    out[tr.number] = out[origin]
            if _is_fresh(tr):
                ticket += 1
        return out

    def _training_data(
        self, study: optuna.Study, space: SearchSpace, budget: int | None = None, *, before: int | None = None
    ) -> tuple[FloatArray, FloatArray, list[FrozenTrial]]:
        """Completed candidates and their targets (:func:`optnas.samplers._history.training_data`).

        With ``before=t``, only the planned trials of batches ``< t`` (what batch ``t`` is fitted
        on). Rows are ordered by plan position, so that retries (new trial numbers) do not change
        the fit.
        """
        trials = study.get_trials(deepcopy=False)
        pos = self._positions(trials)
        if before is not None:
            trials = [tr for tr in trials if tr.number in pos and self.locate(pos[tr.number])[0] < before]
        return training_data(
            trials, space, study.direction, budget=budget, order=lambda x: (pos.get(x.number, math.inf), x.number)
        )

    def _planner(self, space: SearchSpace) -> Planner:
        key = space.fingerprint()
        if key not in self._planners:
            self._planners[key] = Planner(
                space, self._cost, self.constraints, self.config, num_classes=self.num_classes
            )
        return self._planners[key]

    def _feasible_pool(self, rng: np.random.Generator, n: int) -> tuple[FloatArray, Any]:
        """``n`` feasible QMC candidates of the JointSpace and their exact costs."""
        if self.space is None:
            raise ConfigError("space", None, "only a JointSpace has a pool before any trial")
        planner = self._planner(self.space)
        pool = planner._feasible_pool(rng, n, self._seed_arg or 0)
        from optnas.cost import count_columns

        return pool, count_columns(self.space, pool, self.num_classes)

    def _warn_once(self, study: optuna.Study, key: str, message: str) -> None:
        """One warning per study and cause (a Python warning only: a log line too would say it twice)."""
        if (study._study_id, key) not in self._warned:
            self._warned.add((study._study_id, key))
            warnings.warn(message, stacklevel=2)

    def _early_stopping(self, study: optuna.Study, t: int) -> int | None:
        """The early-stopping budget, fixed once every trial of batch 0 has finished.

        Until then (parallel workers planning batch 1 while batch 0 still trains) the full budget
        is used and nothing is stored, so that one study has one budget.
        """
        if self.early_stopping_tau is None or t == 0:
            return None
        if ES_ATTR in study.user_attrs:
            value = study.user_attrs[ES_ATTR]
            return None if value is None else int(value)
        trials = study.get_trials(deepcopy=False)
        pos = self._positions(trials)
        batch0 = [tr for tr in trials if tr.number in pos and self.locate(pos[tr.number])[0] == 0]
        if any(tr.state in (TrialState.RUNNING, TrialState.WAITING) for tr in batch0):
            return None
        first = [tr for tr in batch0 if tr.state == TrialState.COMPLETE and tr.value is not None]
        budget = early_stopping_epochs(
            [tr.intermediate_values for tr in first],
            [float(tr.value) for tr in first if tr.value is not None],
            threshold=self.early_stopping_tau,
        )
        study.set_user_attr(ES_ATTR, budget)
        return budget


def _admitted(values: Mapping[str, Any], search_space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Only values the trial's own distributions admit (a conditional or changed space may differ)."""
    return {k: v for k, v in values.items() if k in search_space and ParamSpace({k: search_space[k]}).contains({k: v})}


def _is_fresh(trial: FrozenTrial) -> bool:
    """A trial that draws a new position: not enqueued, not a retry."""
    return not ({"fixed_params", "failed_trial"} & trial.system_attrs.keys())
