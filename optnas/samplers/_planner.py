"""The JointNAS planner: FBNetV3's Algorithm 1 as a pure function of the evaluated candidates.

Dai et al. (2021), "FBNetV3: Joint Architecture-Recipe Search using Predictor Pretraining",
Algorithm 1. :meth:`Planner.plan` takes the batch index ``t`` and the history (column rows of
the evaluated candidates and their scores, higher is better) and returns the next batch. It
makes no storage call: :class:`~optnas.samplers.JointNASSampler` is the Optuna adapter that
turns stored trials into the history and hands the batch out. Read top to bottom:

1. **Stage 1, first batch** (Sec. 3.1): a space-filling subset (greedy maximin) of a
   constraint-filtered scrambled Sobol pool (``scipy.stats.qmc``).
2. **Stage 1, later batches**: fit the predictor on the history (Sec. 3.2: pretrained encoder,
   then the accuracy head), draw a fresh constraint-filtered pool Λ_t and choose the batch by
   the acquisition rule.
3. **Stage 2** (Sec. 3.3, batch ``t = T``): the predictor-based adaptive genetic algorithm
   (:func:`optnas.evolution.adaptive_ga`), seeded with the best evaluated candidates, proposes
   the pool; its top-K are the final batch. By default the GA searches only near the best
   evaluated candidates (the trust region below); ``trust_region=None`` is the paper's GA.

Acquisition rules (``PlannerConfig.acquisition``):

- ``"paper"``: the literal rule, the ``m`` best predicted means of a QMC pool, skipping
  near-duplicates.
- ``"local"``: the paper's predicted mean, over a pool that also holds local mutations of the
  best evaluated candidates (Schneider et al., 2021: mutating the incumbent is most of what
  makes BANANAS work; White et al., 2021, Sec. 5: a mutation-based acquisition optimizer beats
  a random pool). One accuracy head.
- ``"ensemble"``: an ensemble of accuracy heads trained on bootstrap resamples (BANANAS, White
  et al., 2021), and a pool that also holds local mutations of the best evaluated candidates
  (Schneider et al., 2021: mutating the incumbent is most of what makes BANANAS work). Slot
  ``j`` of a batch takes the best candidate of ensemble member ``j mod E`` (Thompson sampling
  over the ensemble), which also spreads a batch over the members' disagreements; the first slot
  takes the best mean.

Stage-2 trust region (``PlannerConfig.trust_region``): FBNetV3's GA maximizes a predictor fitted
on a few dozen trials, and an MLP extrapolates linearly: measured on real digits training
(``benchmarks/results/digits_train_runs``), the unconstrained GA drove every recipe dimension to a
bound of its range (learning rate 0.001, label smoothing 0.1) where the predictor is confidently
wrong, and the whole stage-2 batch scored 0.54-0.71 against the first batch's 0.955. With a trust
region, a GA candidate is admissible only within ``trust_region`` typical spacings (the median
nearest-neighbour distance of a QMC pool, in the encoding) of one of the ``n_incumbents`` best
evaluated candidates: the local, data-supported region of trust-region Bayesian optimization
(TuRBO: Eriksson et al., NeurIPS 2019; CASMOPOLITAN, Wan et al., ICML 2021, for categorical
dimensions, where one changed choice moves a point by sqrt(2)). The default radius, 0.5, is the
measured best (``benchmarks/results/jointnas_ablation_*.md``, ``digits_train_tr0.5/``): on real
digits training the predictor-chosen trials beat the space-filling batch in 10 of 10 seeds
(7 of 10 without), and on the tabular and surrogate benchmarks it is the paper's equal (no paired
difference significant). The paper's literal configuration is ``acquisition="paper",
trust_region=None``.

Constraints are known before training: every pool is filtered by cost. When the exact cost is
cheap (the analytic model of a JointSpace, a lookup table) the filter is exact; otherwise the
predictor's proxy head, pretrained on exact costs of a QMC sample (free data: nothing is
trained), predicts the pool's cost, and the exact cost of every chosen candidate is checked
before it is proposed. An infeasible candidate is never proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError
from optnas.constraints import Constraint, feasible_mask
from optnas.samplers._costs import CostModel
from optnas.space import SearchSpace

if TYPE_CHECKING:
    from optnas.evolution import GAConfig
    from optnas.predictor import Predictor, PredictorConfig

__all__ = ["ACQUISITIONS", "Candidate", "Plan", "Planner", "PlannerConfig"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ACQUISITIONS = ("ensemble", "local", "paper")
#: Acquisitions whose pool holds local mutations of the best evaluated candidates.
_LOCAL_POOL = ("ensemble", "local")
#: Pools are drawn at most this many times to find enough feasible candidates.
_POOL_ROUNDS = 16


@dataclass(frozen=True)
class PlannerConfig:
    """Settings of Algorithm 1.

    Attributes:
        batch_size: ``m``, candidates of a stage-1 batch.
        n_batches: ``T``, stage-1 batches (the first is space-filling).
        final_batch_size: ``K``, the stage-2 batch (0: no stage 2).
        n_startup: size of the space-filling first batch (default ``batch_size``).
        pool_size: ``n``, feasible candidates scored per batch.
        diversity: minimum distance between the candidates of a batch (and to evaluated ones),
            as a fraction of the pool's median nearest-neighbour distance in the encoding.
        acquisition: ``"ensemble"``, ``"local"`` or ``"paper"`` (see the module docstring).
        n_incumbents: evaluated candidates whose local mutations join the pool (``"ensemble"``,
            ``"local"``).
        mutations: local mutations per incumbent.
        predictor: predictor settings (``None``: the acquisition's defaults).
        ga: stage-2 GA settings (``None``: sized from the batch).
        cost_filter: ``"auto"`` (exact when cheap), ``"exact"`` or ``"predicted"``.
        trust_region: stage-2 GA candidates must lie within this many typical spacings of one
            of the ``n_incumbents`` (at least 1) best evaluated candidates (``None``: anywhere, the paper;
            default 0.5, the measured best).
    """

    batch_size: int = 8
    n_batches: int = 4
    final_batch_size: int = 8
    n_startup: int | None = None
    pool_size: int = 1024
    diversity: float = 0.5
    acquisition: str = "paper"
    n_incumbents: int = 4
    mutations: int = 64
    predictor: PredictorConfig | None = None
    ga: GAConfig | None = None
    cost_filter: str = "auto"
    trust_region: float | None = 0.5

    def __post_init__(self) -> None:
        for name in ("batch_size", "n_batches", "pool_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(name, v, "must be a positive integer")
        for name in ("final_batch_size", "n_incumbents", "mutations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(name, v, "must be a non-negative integer")
        s = self.n_startup
        if s is not None and (isinstance(s, bool) or not isinstance(s, int) or s < 1):
            raise ConfigError("n_startup_trials", s, "must be a positive integer or None")
        if self.pool_size < max(self.batch_size, self.startup):
            raise ConfigError("pool_size", self.pool_size, f"must be at least the batch size ({self.batch_size})")
        if self.acquisition not in ACQUISITIONS:
            raise ConfigError("acquisition", self.acquisition, f"expected one of {list(ACQUISITIONS)}")
        if self.cost_filter not in ("auto", "exact", "predicted"):
            raise ConfigError("cost_filter", self.cost_filter, "expected 'auto', 'exact' or 'predicted'")
        r = self.trust_region
        if r is not None and (isinstance(r, bool) or not isinstance(r, int | float) or not 0 < r < float("inf")):
            raise ConfigError("trust_region", r, "must be a positive finite number or None")
        if isinstance(self.diversity, bool) or not isinstance(self.diversity, int | float) or self.diversity < 0:
            raise ConfigError("diversity", self.diversity, "must be >= 0")

    @property
    def startup(self) -> int:
        return self.batch_size if self.n_startup is None else self.n_startup

    def batch_sizes(self, t: int) -> int:
        """Size of batch ``t``: the startup batch, stage-1 batches, the stage-2 batch, then stage 1 again."""
        if t == 0:
            return self.startup
        return self.final_batch_size if t == self.n_batches else self.batch_size

    def locate(self, position: int) -> tuple[int, int, str]:
        """``(batch, slot, stage)`` of the ``position``-th planned trial."""
        if position < self.startup:
            return 0, position, "stage1"
        rest = position - self.startup
        mid = (self.n_batches - 1) * self.batch_size
        if rest < mid:
            return 1 + rest // self.batch_size, rest % self.batch_size, "stage1"
        rest -= mid
        if rest < self.final_batch_size:
            return self.n_batches, rest, "stage2"
        rest -= self.final_batch_size
        return self.n_batches + 1 + rest // self.batch_size, rest % self.batch_size, "stage1"

    @property
    def n_planned(self) -> int:
        """Trials of the full plan (later trials continue with stage-1 batches)."""
        return self.startup + (self.n_batches - 1) * self.batch_size + self.final_batch_size

    def predictor_config(self) -> PredictorConfig:
        from optnas.predictor import PredictorConfig

        if self.predictor is not None:
            return self.predictor
        if self.acquisition == "ensemble":
            return PredictorConfig(ensemble=5, bootstrap=True)
        return PredictorConfig()


@dataclass(frozen=True)
class Candidate:
    """One planned candidate: its column row, exact costs and predicted score (``None`` in batch 0)."""

    row: tuple[float, ...]
    costs: dict[str, float]
    predicted: float | None


@dataclass(frozen=True)
class Plan:
    """A batch of Algorithm 1.

    Attributes:
        batch: the batch index ``t``.
        stage: ``"stage1"`` or ``"stage2"``.
        candidates: the batch, in slot order (best predicted first after batch 0).
        n_train: evaluated candidates the predictor was fitted on.
        n_checked: chosen candidates whose exact cost was checked after a predicted filter.
        n_rejected: of those, the infeasible ones (the predicted filter's false positives).
    """

    batch: int
    stage: str
    candidates: tuple[Candidate, ...]
    n_train: int
    n_checked: int = 0
    n_rejected: int = 0
    info: dict[str, Any] = field(default_factory=dict)


class Planner:
    """Plans the batches of Algorithm 1 over ``space`` (pure: history in, batch out).

    Args:
        space: the search space (a JointSpace or a ParamSpace).
        cost: exact costs of candidates (``None``: no constraints possible).
        constraints: resource constraints; infeasible candidates are never planned.
        config: the plan's settings.
        num_classes: classifier width (enters a JointSpace's exact parameter count).
    """

    def __init__(
        self,
        space: SearchSpace,
        cost: CostModel | None,
        constraints: Sequence[Constraint],
        config: PlannerConfig,
        *,
        num_classes: int = 1,
    ) -> None:
        if not space.dims:
            raise ConfigError("space", space.name, "has no searchable dimension")
        if constraints and cost is None:
            raise ConfigError("constraints", [str(c) for c in constraints], "need a cost function (cost=...)")
        self.space = space
        self.cost = cost
        self.constraints = tuple(constraints)
        self.config = config
        self.num_classes = num_classes
        self.exact_filter = cost is None or not constraints or self._exact_filter()
        self.last_predictor: Predictor | None = None
        self._spacing: dict[int, float] = {}
        self._fits: dict[tuple[bytes, bytes, int], Predictor] = {}
        self._ga_pools: dict[tuple[bytes, bytes, int, int], FloatArray] = {}
        self._proxy_cache: dict[int, Predictor] = {}
        self._proxy: tuple[Callable[[FloatArray], FloatArray] | None, str | None, int | None] | None = None

    def _cost(self) -> CostModel:
        """The cost model; only called where constraints exist, which the constructor ties to one."""
        if self.cost is None:
            raise ConfigError("cost", None, "constraints need a cost function (cost=...)")
        return self.cost

    def _exact_filter(self) -> bool:
        mode = self.config.cost_filter
        if mode != "auto":
            return mode == "exact"
        return self.cost is not None and self.cost.cheap(self.space)

    # --- Algorithm 1 ------------------------------------------------------------------------------
    def plan(self, t: int, cols: FloatArray, y: FloatArray, *, seed: int, pending: FloatArray | None = None) -> Plan:
        """Batch ``t`` given the evaluated candidates ``cols`` (column rows) and scores ``y``.

        ``pending`` holds candidates that are taken but have no score (running, queued for a
        retry, failed): they are never proposed again and count as seen by the diversity rule,
        as pending points do in asynchronous batch Bayesian optimization.
        """
        rng = np.random.default_rng([seed, t])
        seen = cols if pending is None or not len(pending) else np.concatenate([cols, pending])
        size = self.config.batch_sizes(t)
        stage = "stage2" if t == self.config.n_batches else "stage1"
        if t == 0 or len(y) < 2:
            # Stage 1, first batch: space-filling over the feasible QMC pool.
            pool = self._feasible_pool(rng, self.config.pool_size, seed)
            if len(pool) < size:  # fewer distinct feasible points than slots: repeat some
                pool = np.concatenate([pool, pool[np.arange(size - len(pool)) % len(pool)]])
            if len(seen):
                unseen = _drop_seen(pool, seen)
                pool = unseen if len(unseen) >= size else pool
            order = _space_filling(self.space.encode(pool), 4 * size)
            return self._finish(t, "stage1", pool, order, None, size, 0)
        predictor = self.fit(cols, y, seed)
        if stage == "stage2":
            pool = self._stage2_pool(predictor, cols, y, rng, size, seed)
        else:
            pool = self._feasible_pool(rng, self.config.pool_size, seed)
            if self.config.acquisition in _LOCAL_POOL:
                pool = np.concatenate([pool, self._local_pool(cols, y, rng, seed)])
        pool = _drop_seen(pool, seen)
        if len(pool) < size:
            # The GA (or a nearly exhausted space) left fewer unseen candidates than slots: top up
            # from a fresh feasible pool, and if the feasible space is exhausted, re-propose feasible
            # evaluated candidates rather than leave a slot to an unconstrained sampler.
            fresh = self._feasible_pool(np.random.default_rng([seed, t, 1]), self.config.pool_size, seed)
            extra = _drop_seen(fresh, np.concatenate([seen, pool]))
            pool = np.concatenate([pool, extra])
            if len(pool) < size:
                pool = np.concatenate([pool, fresh[: size - len(pool)]])
        members = predictor.predict_members(pool)
        order = self._acquire(members, pool, seen, seed, stage)
        return self._finish(t, stage, pool, order, members.mean(axis=1), size, len(y))

    def fit(self, cols: FloatArray, y: FloatArray, seed: int) -> Predictor:
        """Step 2 of the predictor's training on the evaluated candidates.

        Memoized on the history (the fit is deterministic): the trials of one batch, picked one at
        a time, share one fit.
        """
        key = _history_key(cols, y, seed)
        predictor = self._fits.get(key)
        if predictor is None:
            predictor = self._new_predictor(seed)
            predictor.fit(cols, y)
            self._fits = {key: predictor}  # the latest history only: batches move on
        self.last_predictor = predictor
        return predictor

    def _acquire(self, members: FloatArray, pool: FloatArray, seen: FloatArray, seed: int, stage: str) -> list[int]:
        """Pool indices in slot order (longer than a batch, so infeasible picks can be skipped)."""
        x = self.space.encode(pool)
        delta = self.config.diversity * self._typical_spacing(seed)
        mean = members.mean(axis=1)
        limit = 4 * max(self.config.batch_size, self.config.final_batch_size)
        if self.config.acquisition != "ensemble" or stage == "stage2" or members.shape[1] == 1:
            return _diverse_order([mean], x, self.space.encode(seen), delta, limit)
        scores = [mean] + [members[:, e] for e in range(members.shape[1])]
        return _diverse_order(scores, x, self.space.encode(seen), delta, limit)

    def _finish(
        self,
        t: int,
        stage: str,
        pool: FloatArray,
        order: Sequence[int],
        predicted: FloatArray | None,
        size: int,
        n_train: int,
    ) -> Plan:
        """Take ``size`` candidates in ``order``; check exact costs where the filter was predicted."""
        chosen: list[int] = []
        checked = rejected = 0
        for i in order:
            if len(chosen) == size:
                break
            if not self.exact_filter:
                checked += 1
                if not self._cost().feasible(self.space, pool[i : i + 1], self.constraints)[0]:
                    rejected += 1
                    continue
            chosen.append(int(i))
        if predicted is not None:
            # Slots in order of predicted score, also when near-duplicates had to fill the batch.
            chosen = sorted(chosen, key=lambda i: -float(predicted[i]))
        costs = self.cost.exact(self.space, pool[chosen]) if self.cost is not None and chosen else {}
        cands = tuple(
            Candidate(
                tuple(float(v) for v in pool[i]),
                {k: float(v[n]) for k, v in costs.items()},
                None if predicted is None else float(predicted[i]),
            )
            for n, i in enumerate(chosen)
        )
        return Plan(t, stage, cands, n_train, checked, rejected)

    # --- pools -------------------------------------------------------------------------------------
    def _feasible(self, cols: FloatArray, seed: int) -> BoolArray:
        if not self.constraints or len(cols) == 0:
            return np.ones(len(cols), dtype=bool)
        if self.exact_filter:
            return self._cost().feasible(self.space, cols, self.constraints)
        proxy = self._proxy_predictor(seed)
        logs = proxy.predict_proxy(cols)
        metrics = {m: np.exp(logs[:, j]) for j, m in enumerate(self._cost().metrics)}
        return feasible_mask(self.constraints, metrics, len(cols))

    def _feasible_pool(self, rng: np.random.Generator, n: int, seed: int) -> FloatArray:
        """``n`` feasible QMC candidates (fewer only if the space is almost infeasible)."""
        kept: list[FloatArray] = []
        total = 0
        drawn: list[FloatArray] = []
        for _ in range(_POOL_ROUNDS):
            cols = self.space.sample(max(n, 256), rng)
            mask = self._feasible(cols, seed)
            kept.append(cols[mask])
            drawn.append(cols)
            total += int(mask.sum())
            if total >= n:
                break
        pool = np.concatenate(kept)[:n]
        if len(pool) == 0:
            raise self._unsatisfiable(np.concatenate(drawn))
        return pool

    def _unsatisfiable(self, cols: FloatArray) -> ConfigError:
        """The error for constraints no sampled point meets, with the smallest value seen."""
        sample = cols[:256]
        costs = self._cost().exact(self.space, sample)
        for c in self.constraints:
            seen = float(np.min(costs[c.metric]))
            if seen > c.limit:
                return ConfigError(
                    c.name,
                    c.limit,
                    f"no sampled candidate meets it: the smallest {c.metric} among {len(sample)} is {seen:,.6g}",
                )
        return ConfigError(
            "constraints", [str(c) for c in self.constraints], f"no candidate of {len(cols)} QMC draws meets them all"
        )

    def _local_pool(self, cols: FloatArray, y: FloatArray, rng: np.random.Generator, seed: int) -> FloatArray:
        """Feasible local mutations of the best evaluated candidates."""
        from optnas.evolution._operators import Genome

        if self.config.n_incumbents == 0 or self.config.mutations == 0:
            return np.zeros((0, len(self.space.dims)))
        best = cols[np.argsort(-y, kind="stable")[: self.config.n_incumbents]]
        genome = Genome(self.space, local_step=0.7, local_sigma=0.1)
        parents = np.repeat(best, self.config.mutations, axis=0)
        d = parents.shape[1]
        # one to three dimensions per mutation, so that neighbours of the incumbent dominate
        k = rng.integers(1, min(3, d) + 1, size=len(parents))
        mask = np.argsort(rng.random((len(parents), d)), axis=1) < k[:, None]
        children = genome.mutate(parents, mask, rng)
        return children[self._feasible(children, seed)]

    def _stage2_pool(
        self, predictor: Predictor, cols: FloatArray, y: FloatArray, rng: np.random.Generator, size: int, seed: int
    ) -> FloatArray:
        from optnas.evolution import GAConfig, adaptive_ga

        key = (*_history_key(cols, y, seed), size)
        hit = self._ga_pools.get(key)
        if hit is not None:  # the stage-2 batch, picked one trial at a time, runs the GA once
            return hit
        fixed = getattr(self.space, "fixed_arch", None) is not None
        has_arch = any(d.part == "arch" for d in self.space.dims) and self.space.arch_width < self.space.encoding_width
        config = self.config.ga or GAConfig(
            population=max(2 * size, 16), max_per_arch=1 if (has_arch and not fixed) else None
        )

        seeds = cols[np.argsort(-y, kind="stable")]
        seeds = seeds[self._feasible(seeds, seed)] if len(seeds) else seeds
        inside = self._trust_region(seeds, seed)

        def feasible(c: FloatArray) -> BoolArray:
            mask = self._feasible(c, seed)
            return mask if inside is None else mask & inside(c)

        result = adaptive_ga(self.space, predictor.predict, feasible, seeds, rng=rng, config=config)
        pool = np.asarray(result.cols)
        if inside is not None and (not self.exact_filter or len(_drop_seen(pool, cols)) < size):
            # The GA's top-K alone can run short of slots once the evaluated ones are dropped, or
            # when the exact check rejects a predicted filter's false positives: local mutations
            # of the incumbents inside the region are the spares (a top-up from the whole space
            # would leave the region).
            spares = self._local_pool(cols, y, rng, seed)
            pool = np.concatenate([pool, spares[inside(spares)]])
        self._ga_pools = {key: pool}
        return self._ga_pools[key]

    def _trust_region(self, ranked: FloatArray, seed: int) -> Callable[[FloatArray], BoolArray] | None:
        """Membership of the stage-2 trust region around the best of ``ranked`` (best first)."""
        r = self.config.trust_region
        if r is None or len(ranked) == 0:
            return None
        centres = self.space.encode(ranked[: max(1, self.config.n_incumbents)])
        radius = r * self._typical_spacing(seed)

        def inside(c: FloatArray) -> BoolArray:
            x = self.space.encode(c)
            d2 = ((x[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
            return np.asarray(d2.min(axis=1) <= radius**2 + 1e-12, dtype=bool)

        return inside

    # --- predictors ---------------------------------------------------------------------------------
    def _proxy_fn(self) -> tuple[Callable[[FloatArray], FloatArray] | None, str | None, int | None]:
        """The free statistics of a user space (log exact costs), one closure per planner, so
        that the predictor's in-process pretraining cache hits on every later batch."""
        if self._proxy is None:
            self._proxy = self._make_proxy_fn()
        return self._proxy

    def _make_proxy_fn(self) -> tuple[Callable[[FloatArray], FloatArray] | None, str | None, int | None]:
        from optnas.space import JointSpace

        if isinstance(self.space, JointSpace):
            return None, None, None  # the predictor's analytic default
        if self.cost is None or not self.cost.metrics:
            return None, None, None
        cost = self.cost
        space = self.space

        def proxy(c: FloatArray) -> FloatArray:
            v = cost.exact(space, c)
            return np.stack([np.log(np.maximum(v[m], 1e-12)) for m in cost.metrics], axis=1)

        return proxy, None, len(cost.metrics)

    def _new_predictor(self, seed: int, config: PredictorConfig | None = None) -> Predictor:
        from optnas.predictor import Predictor

        cfg = config or self.config.predictor_config()
        proxy, key, width = self._proxy_fn()
        if proxy is not None and not self.exact_filter:
            # exact costs are slow here: pretrain on a smaller free sample
            cfg = replace(cfg, pretrain_samples=min(cfg.pretrain_samples, 128))
        return Predictor(
            self.space, num_classes=self.num_classes, seed=seed, config=cfg, proxy=proxy, proxy_key=key, n_proxy=width
        )

    def _proxy_predictor(self, seed: int) -> Predictor:
        """A predictor pretrained on exact costs (step 1 only): the predicted cost filter."""
        hit = self._proxy_cache.get(seed)
        if hit is None:
            cfg = replace(self.config.predictor_config(), pretrain=True)
            hit = self._new_predictor(seed, cfg).pretrain()
            self._proxy_cache[seed] = hit
        return hit

    def _typical_spacing(self, seed: int) -> float:
        """Median nearest-neighbour distance of a 512-point QMC pool (in the encoding)."""
        if seed not in self._spacing:
            rng = np.random.default_rng([seed, 2**31])
            pool = self._feasible_pool(rng, 512, seed) if self.exact_filter else self.space.sample(512, rng)
            x = self.space.encode(pool)
            d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)
            np.fill_diagonal(d, np.inf)
            self._spacing[seed] = float(np.median(d.min(axis=1))) if len(x) > 1 else 0.0
        return self._spacing[seed]


def _history_key(cols: FloatArray, y: FloatArray, seed: int) -> tuple[bytes, bytes, int]:
    """A hashable key of a history (rows and scores) for memoizing the fit on it."""
    c, v = np.ascontiguousarray(cols, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64)
    return c.tobytes(), v.tobytes(), seed


def _drop_seen(pool: FloatArray, seen: FloatArray) -> FloatArray:
    """Pool rows that are neither evaluated nor repeated (the first of repeats kept, in pool order)."""
    if len(pool) == 0:
        return pool
    rounded = np.round(np.concatenate([seen.reshape(-1, pool.shape[1]), pool]), 10) + 0.0  # -0.0 == 0.0
    _, first = np.unique(rounded, axis=0, return_index=True)
    keep = np.sort(first[first >= len(seen)]) - len(seen)
    # a pool row equal to a seen one has its first occurrence among the seen rows: dropped
    return pool[keep]


def _space_filling(x: FloatArray, size: int) -> list[int]:
    """Greedy farthest-point (maximin) order of ``size`` rows from the first row, then the rest."""
    n = len(x)
    if n == 0:
        return []
    chosen = [0]
    dist = np.linalg.norm(x - x[0], axis=1)
    while len(chosen) < min(size, n):
        i = int(np.argmax(dist))
        if dist[i] <= 0:
            break
        chosen.append(i)
        dist = np.minimum(dist, np.linalg.norm(x - x[i], axis=1))
    picked = set(chosen)
    return chosen + [i for i in range(n) if i not in picked]  # spares, in pool order


def _diverse_order(
    scores: Sequence[FloatArray], x: FloatArray, seen: FloatArray, delta: float, limit: int
) -> list[int]:
    """Round-robin over ``scores``: each turn takes its best row not yet taken and at least
    ``delta`` away from the taken and ``seen`` rows, until ``limit`` rows are taken; then every
    remaining row by the first score (spares for candidates the exact cost check rejects)."""
    n = len(x)
    orders = [np.argsort(-s, kind="stable") for s in scores]
    ptr = [0] * len(orders)
    taken: list[int] = []
    used = np.zeros(n, dtype=bool)
    # distance of every row to its nearest taken-or-seen row, updated as rows are taken
    near = np.full(n, np.inf)
    if delta > 0 and len(seen):
        for r in seen:
            near = np.minimum(near, np.linalg.norm(x - r, axis=1))
    active = True
    while active and len(taken) < min(n, limit):
        active = False
        for k, order in enumerate(orders):
            while ptr[k] < n:
                i = int(order[ptr[k]])
                ptr[k] += 1
                if used[i] or (delta > 0 and near[i] < delta):
                    continue
                used[i] = True
                taken.append(i)
                if delta > 0:
                    near = np.minimum(near, np.linalg.norm(x - x[i], axis=1))
                active = True
                break
            if len(taken) >= limit:
                break
    # relax: the best remaining rows by the first score
    taken.extend(int(i) for i in orders[0] if not used[int(i)])
    return taken
