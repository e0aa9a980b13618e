"""``JointNASSampler``: FBNetV3's constrained iterative optimization (Dai et al., 2021, Alg. 1).

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
The plan of a batch is a deterministic function of the seed, the batch index and the trials of
the earlier batches; it is computed once all of them have finished (a batch barrier, at which
stale trials are failed through Optuna's heartbeat) and stored as a study system attribute. A
retried trial (``RetryHeartbeatStaleTrialCallback``) inherits its position, so a killed
worker's candidate is evaluated again, not lost.

A retry is queued as a waiting trial, but the surviving workers may all be waiting at the next
batch's barrier, where none of them can pop it. A worker blocked by such a waiting trial
therefore *adopts* it: it claims the waiting trial atomically (failing it, marked
``jointnas:adopted_by``), evaluates that position itself, and hands its own position to a new
waiting trial (``jointnas:released_from``), which the next free worker picks up.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optnas._errors import ConfigError
from optnas.constraints import Constraint, check_satisfiable, feasible_mask
from optnas.cost import count_columns
from optnas.samplers._early_stop import early_stopping_epochs
from optnas.samplers._storage import (
    claim_waiting_trial,
    record_heartbeat,
    set_study_attr,
    set_trial_attr,
    study_attrs,
    worker_id,
)
from optnas.space import JointSpace

if TYPE_CHECKING:
    from optnas.evolution import GAConfig
    from optnas.predictor import Predictor, PredictorConfig

__all__ = ["ADOPTED_ATTR", "JointNASSampler", "epoch_budget"]

FloatArray = npt.NDArray[np.float64]

_POS = "jointnas:position"
_WORKER = "jointnas:worker"
_PLAN = "jointnas:plan:"
_SEED = "jointnas:seed"
_CLAIM = "jointnas:planning:"
_CLAIM_TIMEOUT = 120.0
#: On a waiting (retry) trial that a blocked worker took over: the number of the adopting trial.
ADOPTED_ATTR = "jointnas:adopted_by"
_ADOPTED = "jointnas:adopted"
_RELEASED = "jointnas:released_from"
ES_ATTR = "early_stopping_epochs"
SPACE_ATTR = "optnas:space"
CLASSES_ATTR = "optnas:num_classes"
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
#: Seconds a barrier waits for the retry of a trial that has just failed (see _wait_for_barrier).
_RETRY_SETTLE = 2.0


def epoch_budget(trial: optuna.trial.BaseTrial) -> int | None:
    """Epoch budget the sampler assigned to ``trial`` (``None``: the recipe's full budget).

    Call it after the space's parameters have been suggested (the plan is made lazily).
    """
    value = trial.user_attrs.get("epoch_budget")
    return None if value is None else int(value)


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(name, value, "must be a positive integer")
    return value


class JointNASSampler(BaseSampler):
    """FBNetV3 joint architecture + recipe search as an Optuna sampler.

    Args:
        space: the joint search space; its parameters are sampled relatively, any other
            parameter of the objective by ``independent_sampler``.
        num_classes: classifier width (enters the exact parameter count).
        constraints: resource constraints (:mod:`optnas.constraints`). Infeasible candidates are
            never proposed; unsatisfiable constraints raise :class:`~optnas.ConfigError` here.
        batch_size: ``m``, candidates per stage-1 batch.
        n_batches: ``T``, stage-1 batches (the first is space-filling).
        pool_size: ``n``, feasible QMC candidates scored per batch.
        final_batch_size: ``K``, stage-2 candidates trained at the end (default ``batch_size``;
            0 disables stage 2).
        seed: seed of every proposal (stored in the study on first use, so ``seed=None`` resumes
            with the stored one).
        predictor_config: settings of :class:`~optnas.predictor.Predictor`.
        ga_config: settings of the stage-2 :func:`~optnas.evolution.adaptive_ga`.
        early_stopping_tau: Kendall tau an epoch budget's ranking must reach (``None``: no early
            stopping).
        diversity: minimum distance between candidates of one batch, as a fraction of the
            pool's median nearest-neighbour distance in the encoding (0 disables).
        independent_sampler: sampler for parameters outside ``space`` (default: a seeded
            :class:`~optuna.samplers.RandomSampler`).
        wait_timeout: seconds to wait at a batch barrier for other workers' trials before
            planning with the trials available (``None``: wait as long as it takes).
        poll_interval: seconds between barrier checks.
        artifact_store: an Optuna artifact store; when set, the stage-2 predictor is uploaded to
            it as a study artifact (:func:`optnas.evolution.evolve` reuses it).
    """

    def __init__(
        self,
        *,
        space: JointSpace,
        num_classes: int,
        constraints: Sequence[Constraint] = (),
        batch_size: int = 8,
        n_batches: int = 4,
        pool_size: int = 1024,
        final_batch_size: int | None = None,
        seed: int | None = None,
        predictor_config: PredictorConfig | None = None,
        ga_config: GAConfig | None = None,
        early_stopping_tau: float | None = 0.8,
        diversity: float = 0.5,
        independent_sampler: BaseSampler | None = None,
        wait_timeout: float | None = None,
        poll_interval: float = 0.5,
        artifact_store: Any = None,
    ) -> None:
        if not isinstance(space, JointSpace):
            raise ConfigError("space", type(space).__name__, "expected an optnas.space.JointSpace")
        self.space = space
        self.num_classes = _positive_int("num_classes", num_classes)
        self.constraints = tuple(constraints)
        for c in self.constraints:
            if not isinstance(c, Constraint):
                raise ConfigError("constraints", c, "expected optnas.constraints.Constraint objects")
        self.batch_size = _positive_int("batch_size", batch_size)
        self.n_batches = _positive_int("n_batches", n_batches)
        self.pool_size = _positive_int("pool_size", pool_size)
        if self.pool_size < self.batch_size:
            raise ConfigError("pool_size", pool_size, f"must be at least batch_size ({batch_size})")
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
        if not (isinstance(diversity, int | float) and diversity >= 0):
            raise ConfigError("diversity", diversity, "must be >= 0")
        self.diversity = float(diversity)
        if wait_timeout is not None and wait_timeout < 0:
            raise ConfigError("wait_timeout", wait_timeout, "must be >= 0 or None")
        self.wait_timeout = wait_timeout
        if not poll_interval > 0:
            raise ConfigError("poll_interval", poll_interval, "must be > 0")
        self.poll_interval = float(poll_interval)
        self.predictor_config = predictor_config
        self.ga_config = ga_config
        self.artifact_store = artifact_store
        if not space.dims:
            raise ConfigError("space", space.name, "has no searchable dimension")
        check_satisfiable(space, self.constraints, self.num_classes)
        self._independent = independent_sampler or RandomSampler(seed=seed)
        self._plans: dict[tuple[int, int], dict[str, Any]] = {}
        self._seed_cache: dict[int, int] = {}
        self._spacing: dict[int, float] = {}
        self.last_predictor: Predictor | None = None

    # --- layout ----------------------------------------------------------------------------------
    @property
    def n_planned(self) -> int:
        """Trials of the full plan: ``T * m + K`` (later trials continue with stage-1 batches)."""
        return self.n_batches * self.batch_size + self.final_batch_size

    def locate(self, position: int) -> tuple[int, int, str]:
        """``(batch, slot, stage)`` of a plan position."""
        m, t_total, k = self.batch_size, self.n_batches, self.final_batch_size
        if position < t_total * m:
            return position // m, position % m, "stage1"
        if position < t_total * m + k:
            return t_total, position - t_total * m, "stage2"
        rest = position - t_total * m - k
        return t_total + 1 + rest // m, rest % m, "stage1"

    def _batch_size_of(self, t: int) -> int:
        return self.final_batch_size if t == self.n_batches else self.batch_size

    # --- Optuna sampler interface ----------------------------------------------------------------
    def reseed_rng(self) -> None:
        self._independent.reseed_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return self.space.distributions()

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)
        record_heartbeat(study, trial)  # so that even a worker killed right away has its trial retried
        if _POS in trial.system_attrs or not _is_fresh(trial):
            return
        trials = study.get_trials(deepcopy=False)
        ticket = sum(1 for t in trials if t.number < trial.number and _is_fresh(t))
        set_trial_attr(study, trial, _POS, ticket)
        set_trial_attr(study, trial, _WORKER, worker_id())

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        self._raise_if_multi_objective(study)
        values: dict[str, Any] = {}
        # A trial without a position (enqueued with some parameters left open) and parameters
        # outside the joint space fall back to the independent sampler.
        if trial.system_attrs.get(_POS) is not None and search_space.keys() & set(self.space.names):
            values = self._planned(study, trial, search_space)
        for name, dist in search_space.items():
            if name not in values:
                values[name] = self._independent.sample_independent(study, trial, name, dist)
        return values

    def _raise_if_multi_objective(self, study: optuna.Study) -> None:
        if study._is_multi_objective():
            raise ConfigError("directions", study.directions, "JointNASSampler supports single-objective studies")

    def _planned(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """The trial's candidate from the plan of its batch (recorded in its user attributes)."""
        while True:  # re-locate after adopting a waiting trial's position at a barrier
            t, j, stage = self.locate(int(trial.system_attrs[_POS]))
            plan = self._plan(study, t, trial)
            if plan is not None:
                break
        cand = plan["candidates"][j]
        for key, value in (
            ("stage", stage),
            ("batch", t),
            ("slot", j),
            ("macs", cand["macs"]),
            ("params", cand["params"]),
            ("predicted_accuracy", cand["predicted"]),
            ("epoch_budget", plan["epoch_budget"]),
        ):
            set_trial_attr(study, trial, key, value, user=True)
        return {k: v for k, v in cand["values"].items() if k in search_space}

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        self._raise_if_multi_objective(study)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._independent.after_trial(study, trial, state, values)

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
            if SPACE_ATTR not in study.user_attrs:
                study.set_user_attr(SPACE_ATTR, self.space.to_dict())
            study.set_user_attr(CLASSES_ATTR, self.num_classes)
        self._seed_cache[study._study_id] = seed
        return seed

    # --- planning ----------------------------------------------------------------------------------
    def _plan(self, study: optuna.Study, t: int, trial: FrozenTrial | None = None) -> dict[str, Any] | None:
        """The plan of batch ``t``; ``None`` when ``trial`` adopted another position meanwhile."""
        key = (study._study_id, t)
        if key in self._plans:
            return self._plans[key]
        stored = study_attrs(study).get(f"{_PLAN}{t}")
        if stored is not None:
            self._plans[key] = stored
            return dict(stored)
        complete = self._wait_for_barrier(study, t, trial)
        if complete is None:
            return None
        if complete:
            stored = self._await_other_planner(study, t)
            if stored is not None:
                self._plans[key] = stored
                return dict(stored)
        plan = self._make_plan(study, t)
        if complete:
            set_study_attr(study, f"{_PLAN}{t}", plan)
            self._plans[key] = plan
        return plan

    def _await_other_planner(self, study: optuna.Study, t: int) -> dict[str, Any] | None:
        """Let one worker plan a batch while the others wait for its stored plan.

        Every worker released by a barrier would otherwise fit the same predictor at once.
        A worker claims the planning (a study attribute with its id and the time); the others
        poll for the stored plan for up to ``_CLAIM_TIMEOUT`` seconds, then plan themselves.
        Two workers that claim at the same moment both plan; the plans are identical (a
        deterministic function of the earlier batches), so nothing is lost but time.
        """
        claim_key = f"{_CLAIM}{t}"
        attrs = study_attrs(study)
        if f"{_PLAN}{t}" in attrs:
            return dict(attrs[f"{_PLAN}{t}"])
        claim = attrs.get(claim_key)
        me = worker_id()
        fresh = isinstance(claim, dict) and time.time() - float(claim.get("time", 0.0)) < _CLAIM_TIMEOUT
        if not fresh or claim.get("worker") == me:  # type: ignore[union-attr]
            set_study_attr(study, claim_key, {"worker": me, "time": time.time()})
            return None
        deadline = time.monotonic() + _CLAIM_TIMEOUT
        while time.monotonic() < deadline:
            time.sleep(self.poll_interval)
            stored = study_attrs(study).get(f"{_PLAN}{t}")
            if stored is not None:
                return dict(stored)
        return None

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

    def _wait_for_barrier(self, study: optuna.Study, t: int, trial: FrozenTrial | None = None) -> bool | None:
        """Wait until every trial of batches ``< t`` has finished.

        Returns ``True`` when the barrier was met (the plan is then deterministic and stored),
        ``False`` when planning proceeds with the trials available: after ``wait_timeout``, or at
        once when every blocking trial belongs to this very thread (an ask-and-tell user with
        several open trials), since waiting could never end. Returns ``None`` when ``trial``
        adopted a blocking waiting trial's position instead (see the module docstring).
        """
        if t == 0:
            return True
        start = time.monotonic()
        me = worker_id()
        settled = False
        while True:
            trials = study.get_trials(deepcopy=False)
            pos = self._positions(trials)
            earlier = [tr for tr in trials if tr.number in pos and self.locate(pos[tr.number])[0] < t]
            blockers = [tr for tr in earlier if tr.state in (TrialState.RUNNING, TrialState.WAITING)]
            if not blockers:
                # Optuna fails a stale trial first and queues its retry right after: a position whose
                # trials all failed may be about to get one. Look again once before planning without it.
                failed = {pos[tr.number] for tr in earlier if tr.state == TrialState.FAIL}
                failed -= {pos[tr.number] for tr in earlier if tr.state != TrialState.FAIL}
                if failed and not settled:
                    settled = True
                    time.sleep(_RETRY_SETTLE)
                    continue
                return True
            if all(tr.state == TrialState.RUNNING and tr.system_attrs.get(_WORKER) == me for tr in blockers):
                return False
            waiting = [tr for tr in blockers if tr.state == TrialState.WAITING]
            if trial is not None and waiting and self._adopt(study, trial, waiting, pos):
                return None
            if self.wait_timeout is not None and time.monotonic() - start > self.wait_timeout:
                return False
            with warnings.catch_warnings():  # "experimental" in Optuna 5, as Optuna's own loop says
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)
            time.sleep(self.poll_interval)

    def _adopt(
        self, study: optuna.Study, trial: FrozenTrial, waiting: Sequence[FrozenTrial], pos: dict[int, int]
    ) -> bool:
        """Take over the position of a waiting trial that blocks ``trial`` at a barrier.

        Only a trial that has not suggested anything yet can change its position. Its own
        position goes to a new waiting trial, so no position is lost and none is evaluated twice.

        The trial takes the new position *before* it claims the waiting one: at no moment may
        another worker see the adopted position without a running or waiting trial, or it would
        pass the barrier and plan the next batch without that candidate's result.
        """
        if trial.params:
            return False
        own = int(trial.system_attrs[_POS])
        for w in sorted(waiting, key=lambda x: x.number):
            set_trial_attr(study, trial, _POS, pos[w.number])
            if not claim_waiting_trial(study, w, ADOPTED_ATTR, trial.number):
                set_trial_attr(study, trial, _POS, own)
                continue
            set_trial_attr(study, trial, _ADOPTED, w.number)
            # Until this exists, this trial (running, at an earlier batch) blocks every barrier
            # that ``own`` would block.
            study.add_trial(
                optuna.trial.create_trial(state=TrialState.WAITING, system_attrs={_POS: own, _RELEASED: trial.number})
            )
            return True
        return False

    def _training_data(
        self, study: optuna.Study, budget: int | None = None, *, before: int | None = None
    ) -> tuple[FloatArray, FloatArray, list[FrozenTrial]]:
        """Completed candidates and their targets.

        With ``before=t``, only the planned trials of batches ``< t``: the plan of batch ``t`` must
        not depend on which of its own (or other) trials another worker has already finished.

        With an early-stopping budget ``e``, every candidate's target is its accuracy after ``e``
        epochs (its intermediate value at step ``e``), so that fully trained candidates (the
        first batch, the stage-2 batch) and early-stopped ones are on the same fidelity.
        """
        names = set(self.space.names)
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        rows, ys, used = [], [], []
        # Ordered by plan position, so that retries (new trial numbers) do not change the fit.
        pos = self._positions(study.get_trials(deepcopy=False))
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if before is not None:
            done = [tr for tr in done if tr.number in pos and self.locate(pos[tr.number])[0] < before]
        for tr in sorted(done, key=lambda x: (pos.get(x.number, math.inf), x.number)):
            if tr.value is None or not math.isfinite(tr.value) or not names <= tr.params.keys():
                continue
            try:
                rows.append(self.space.to_columns([tr.params])[0])
            except ConfigError:
                continue  # parameters outside the space's ranges
            value = tr.value
            if budget is not None and budget in tr.intermediate_values:
                value = tr.intermediate_values[budget]
            ys.append(sign * value)
            used.append(tr)
        cols = np.array(rows) if rows else np.zeros((0, len(self.space.dims)))
        return cols, np.array(ys, dtype=float), used

    def _feasible_pool(self, rng: np.random.Generator, n: int) -> tuple[FloatArray, Any]:
        """``n`` feasible QMC candidates (fewer only if the space is almost infeasible)."""
        kept: list[FloatArray] = []
        total = 0
        for _ in range(16):
            cols = self.space.sample(max(n, 256), rng)
            cost = count_columns(self.space, cols, self.num_classes)
            mask = feasible_mask(self.constraints, cost)
            kept.append(cols[mask])
            total += int(mask.sum())
            if total >= n:
                break
        pool = np.concatenate(kept)[:n]
        if len(pool) == 0:
            raise ConfigError(
                "constraints", [str(c) for c in self.constraints], "no feasible candidate found in 16 QMC pools"
            )
        return pool, count_columns(self.space, pool, self.num_classes)

    def _make_plan(self, study: optuna.Study, t: int) -> dict[str, Any]:
        seed = self._seed(study)
        rng = np.random.default_rng([seed, t])
        size = self._batch_size_of(t)
        budget = self._early_stopping(study, t)
        cols, y, used = self._training_data(study, budget, before=t)
        predicted: FloatArray | None = None
        if t == 0 or len(y) < 2:
            pool, _ = self._feasible_pool(rng, self.pool_size)
            chosen = _space_filling(self.space.encode(pool), size)
        else:
            predictor = self._fit_predictor(cols, y, seed)
            if t == self.n_batches:
                pool = self._stage2(study, predictor, cols, y, rng, size)
            else:
                pool, _ = self._feasible_pool(rng, self.pool_size)
            pool = _drop_seen(pool, cols)
            predicted = predictor.predict(pool) if len(pool) else np.zeros(0)
            delta = self.diversity * self._typical_spacing(seed)
            chosen = _diverse_top(self.space.encode(pool), predicted, size, self.space.encode(cols), delta)
            if len(chosen) < size:  # top up from a fresh pool (GA returned too few)
                extra, _ = self._feasible_pool(rng, self.pool_size)
                extra = _drop_seen(extra, np.concatenate([cols, pool[chosen]]))
                pool = np.concatenate([pool[chosen], extra])
                predicted = np.concatenate([predicted[chosen], predictor.predict(extra)])
                chosen = list(range(len(chosen))) + [
                    len(chosen) + i for i in np.argsort(-predicted[len(chosen) :], kind="stable")[: size - len(chosen)]
                ]
            # Slots in order of predicted accuracy, also when near-duplicates had to fill the batch.
            chosen = sorted(chosen, key=lambda i: -float(predicted[i]))
        sel = pool[chosen]
        cost = count_columns(self.space, sel, self.num_classes)
        candidates = [
            {
                "values": self.space.to_params(row),
                "macs": int(cost.macs[i]),
                "params": int(cost.params[i]),
                "predicted": None if predicted is None else float(predicted[chosen[i]]),
            }
            for i, row in enumerate(sel)
        ]
        stage_budget = None if t in (0, self.n_batches) else budget
        return {"batch": t, "candidates": candidates, "epoch_budget": stage_budget, "n_train": len(used)}

    def _typical_spacing(self, seed: int) -> float:
        """Median nearest-neighbour distance of a 512-point feasible QMC pool (in the encoding)."""
        if seed not in self._spacing:
            pool, _ = self._feasible_pool(np.random.default_rng([seed, 2**31]), 512)
            x = self.space.encode(pool)
            d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
            np.fill_diagonal(d, np.inf)
            self._spacing[seed] = float(np.median(d.min(axis=1)))
        return self._spacing[seed]

    def _fit_predictor(self, cols: FloatArray, y: FloatArray, seed: int) -> Predictor:
        from optnas.predictor import Predictor

        predictor = Predictor(self.space, num_classes=self.num_classes, seed=seed, config=self.predictor_config)
        predictor.fit(cols, y)
        self.last_predictor = predictor
        return predictor

    def _stage2(
        self,
        study: optuna.Study,
        predictor: Predictor,
        cols: FloatArray,
        y: FloatArray,
        rng: np.random.Generator,
        size: int,
    ) -> FloatArray:
        from optnas.evolution import GAConfig, adaptive_ga

        config = self.ga_config or GAConfig(
            population=max(2 * size, 16), max_per_arch=None if self.space.fixed_arch is not None else 1
        )
        feasible = self._feasible_fn()
        seeds = cols[np.argsort(-y, kind="stable")]
        seeds = seeds[feasible(seeds)] if len(seeds) else seeds
        result = adaptive_ga(self.space, predictor.predict, feasible, seeds, rng=rng, config=config)
        if self.artifact_store is not None:
            from optnas.evolution._reuse import save_predictor

            save_predictor(study, predictor, self.artifact_store, constraints=self.constraints)
        return np.asarray(result.cols)

    def _feasible_fn(self) -> Callable[[FloatArray], npt.NDArray[np.bool_]]:
        def feasible(c: FloatArray) -> npt.NDArray[np.bool_]:
            return feasible_mask(self.constraints, count_columns(self.space, c, self.num_classes))

        return feasible

    def _early_stopping(self, study: optuna.Study, t: int) -> int | None:
        if self.early_stopping_tau is None or t == 0:
            return None
        if ES_ATTR in study.user_attrs:
            value = study.user_attrs[ES_ATTR]
            return None if value is None else int(value)
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        pos = self._positions(study.get_trials(deepcopy=False))
        first = [tr for tr in trials if tr.number in pos and self.locate(pos[tr.number])[0] == 0]
        first = [tr for tr in first if tr.value is not None]
        budget = early_stopping_epochs(
            [tr.intermediate_values for tr in first],
            [float(tr.value) for tr in first if tr.value is not None],
            threshold=self.early_stopping_tau,
        )
        study.set_user_attr(ES_ATTR, budget)
        return budget


def _is_fresh(trial: FrozenTrial) -> bool:
    """A trial that draws a new position: not enqueued, not a retry, not a released position."""
    return not ({"fixed_params", "failed_trial", _RELEASED} & trial.system_attrs.keys())


def _drop_seen(pool: FloatArray, seen: FloatArray) -> FloatArray:
    if len(seen) == 0 or len(pool) == 0:
        return pool
    seen_keys = {tuple(np.round(r, 10)) for r in seen}
    keep = [i for i, r in enumerate(pool) if tuple(np.round(r, 10)) not in seen_keys]
    return pool[keep]


def _space_filling(x: FloatArray, size: int) -> list[int]:
    """Greedy farthest-point (maximin) subset of ``size`` rows, starting from the first row."""
    n = len(x)
    if n <= size:
        return list(range(n))
    chosen = [0]
    dist = np.linalg.norm(x - x[0], axis=1)
    while len(chosen) < size:
        i = int(np.argmax(dist))
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(x - x[i], axis=1))
    return chosen


def _diverse_top(x: FloatArray, score: FloatArray, size: int, seen: FloatArray, delta: float) -> list[int]:
    """Best-scored rows, skipping rows closer than ``delta`` to chosen or evaluated ones."""
    order = np.argsort(-score, kind="stable")
    if delta <= 0 or len(x) < 2:
        return [int(i) for i in order[:size]]
    ref = [r for r in seen] if len(seen) else []
    chosen: list[int] = []
    for i in order:
        row = x[i]
        if ref and np.min(np.linalg.norm(np.asarray(ref) - row, axis=1)) < delta:
            continue
        chosen.append(int(i))
        ref.append(row)
        if len(chosen) == size:
            return chosen
    for i in order:  # relax: fill with the best remaining
        if int(i) not in chosen:
            chosen.append(int(i))
            if len(chosen) == size:
                break
    return chosen
