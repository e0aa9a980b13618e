"""Predictor-based adaptive genetic search: FBNetV3 (Dai et al., 2021) Algorithm 1, stage 2.

Stage 2 of JointNAS starts from the accuracy predictor ``u`` fitted in stage 1 and searches the
joint architecture + recipe space for the candidates with the best *predicted* score under the
resource constraints, without training anything:

1. ``D*`` is initialized with the ``p`` best evaluated candidates and ``q`` random feasible
   ones, all scored by ``u``.
2. Every generation, every member of ``D*`` produces children by crossover (uniform, with a
   random partner from ``D*``) and mutation over all searched dimensions; the crossover and
   mutation probabilities adapt to the member's fitness (Srinivas & Patnaik, 1994, see
   :mod:`optnas.evolution._rates`). A child that violates the constraints is resampled from its
   parent up to ``max_repair`` times and dropped if still infeasible: an infeasible child is
   never kept.
3. ``D*`` is augmented with the (deduplicated) children, scored by ``u`` in one vectorized
   call, and the top ``K`` by predicted score are kept (elitist truncation).
4. The search stops when the best score improves by less than ``epsilon`` or after
   ``max_generations`` generations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError, OptnasError
from optnas.evolution._config import GAConfig
from optnas.evolution._operators import Genome
from optnas.evolution._rates import crossover_probability, mutation_probability
from optnas.space import SearchSpace

__all__ = ["GAResult", "adaptive_ga"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

ScoreFn = Callable[[FloatArray], npt.ArrayLike]
FeasibleFn = Callable[[FloatArray], npt.ArrayLike]


@dataclass(frozen=True, eq=False)
class GAResult:
    """Outcome of :func:`adaptive_ga`.

    Attributes:
        cols: the final ``D*`` as a column array (at most ``K`` rows), best predicted first.
        scores: predicted score of each row of ``cols``.
        generations: generations run.
        history: best predicted score of ``D*`` after initialization and after each
            generation (``generations + 1`` entries, non-decreasing).
        n_scored: candidates passed to ``score`` in total (initialization included).
        n_dropped: children dropped because they stayed infeasible after ``max_repair``
            resamplings.
    """

    cols: FloatArray
    scores: FloatArray
    generations: int
    history: tuple[float, ...]
    n_scored: int
    n_dropped: int


def _mask(feasible: FeasibleFn, cols: FloatArray) -> BoolArray:
    if cols.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    mask = np.asarray(feasible(cols))
    if mask.shape != (cols.shape[0],):
        raise OptnasError(f"feasible returned shape {mask.shape} for {cols.shape[0]} candidates; expected a 1-d mask")
    return mask.astype(bool)


def _score(score: ScoreFn, cols: FloatArray) -> FloatArray:
    s = np.asarray(score(cols), dtype=float).reshape(-1)
    if s.shape != (cols.shape[0],):
        raise OptnasError(f"score returned {s.shape[0]} values for {cols.shape[0]} candidates")
    if not np.all(np.isfinite(s)):
        raise OptnasError("score returned non-finite values (NaN or inf)")
    return s


def _new_rows(existing: FloatArray, candidates: FloatArray) -> IntArray:
    """Indices of ``candidates`` rows that are in neither ``existing`` nor earlier candidates."""
    both = np.concatenate([existing, candidates], axis=0)
    _, first = np.unique(both, axis=0, return_index=True)
    first = np.sort(first)
    return np.asarray(first[first >= existing.shape[0]] - existing.shape[0], dtype=np.int64)


def _top(
    cols: FloatArray, scores: FloatArray, k: int, arch_cols: IntArray, max_per_arch: int | None
) -> tuple[FloatArray, FloatArray]:
    """The ``k`` best rows (stable order), at most ``max_per_arch`` per architecture if set."""
    order = np.argsort(-scores, kind="stable")
    if max_per_arch is not None:
        _, group = np.unique(cols[order][:, arch_cols], axis=0, return_inverse=True)
        group = group.reshape(-1)
        by_group = np.argsort(group, kind="stable")  # rows grouped, best first within a group
        starts = np.searchsorted(group[by_group], group[by_group])
        rank = np.empty_like(by_group)
        rank[by_group] = np.arange(len(by_group)) - starts
        order = order[rank < max_per_arch]
    order = order[:k]
    return cols[order], scores[order]


def _initial(
    space: SearchSpace,
    feasible: FeasibleFn,
    seeds: FloatArray,
    rng: np.random.Generator,
    config: GAConfig,
) -> FloatArray:
    """The ``p`` best feasible seeds plus up to ``q`` distinct random feasible candidates."""
    d = len(space.dims)
    best = seeds[_mask(feasible, seeds)][: config.n_best] if config.n_best else np.zeros((0, d))
    best = best[np.sort(np.unique(best, axis=0, return_index=True)[1])]
    found = np.zeros((0, d))
    for _ in range(config.init_rounds):
        if found.shape[0] >= config.n_random:
            break
        if config.init == "sobol":
            pool = space.sample(config.init_pool, rng)
        else:
            pool = space.sample_uniform(config.init_pool, rng)
        pool = pool[_mask(feasible, pool)]
        pool = pool[_new_rows(np.concatenate([best, found]), pool)]
        found = np.concatenate([found, pool[: config.n_random - found.shape[0]]])
    return np.concatenate([best, found])


def adaptive_ga(
    space: SearchSpace,
    score: ScoreFn,
    feasible: FeasibleFn,
    seeds: FloatArray | None = None,
    *,
    rng: np.random.Generator,
    config: GAConfig | None = None,
) -> GAResult:
    """Adaptive genetic search for the top-K candidates by predicted score (FBNetV3 Alg. 1, stage 2).

    Each generation, every member ``i`` of ``D*`` (fitness ``f_i``, population maximum
    ``f_max`` and mean ``f_avg``) produces ``children_per_member`` children:

    - a partner ``j != i`` is drawn uniformly from ``D*``; with probability
      ``pc = k1 (f_max - f') / (f_max - f_avg)`` if ``f' >= f_avg`` else ``k3``, where
      ``f' = max(f_i, f_j)``, the child is their uniform crossover, otherwise a copy of ``i``;
    - every dimension of the child is then mutated independently with probability
      ``pm = k2 (f_max - f_i) / (f_max - f_avg)`` if ``f_i >= f_avg`` else ``k4``
      (Srinivas & Patnaik, 1994). When ``f_max == f_avg`` the ratio is taken as 1.
    - Srinivas & Patnaik give every solution a small default mutation rate so that the best
      one (``pc = pm = 0``) is not frozen; here, since a child identical to its parent would
      be a wasted evaluation, a child that received no mutation and equals its parent instead
      has one uniformly chosen dimension mutated. The best member thus does a local search
      around itself while below-average members explore.

    A child violating the constraints is resampled from the same parent (new partner,
    crossover and mutation under the same rates) up to ``max_repair`` times, then dropped.
    Children already in ``D*`` or repeated are removed before scoring, ``score`` is called
    once per generation on all new children, and the top ``K`` of ``D*`` plus children are
    kept (ties keep the earlier row; with ``max_per_arch`` set, at most that many per
    architecture, so the top-K is not one architecture with K recipe variants). The run stops
    when the best score improved by less than ``epsilon`` for ``patience`` consecutive
    generations (``patience = 1`` is the paper's literal rule), when no new feasible child was
    produced, or after ``max_generations``.

    Args:
        space: the joint space; candidates are column arrays of ``space.dims``.
        score: vectorized predictor, ``(n, len(space.dims))`` columns -> ``(n,)`` scores
            (higher is better), e.g. ``Predictor.predict``.
        feasible: vectorized constraint check, columns -> ``(n,)`` boolean mask.
        seeds: the evaluated candidates, best first (``None`` or empty for none); infeasible
            ones are skipped and the first ``n_best`` feasible ones enter ``D*``.
        rng: the only source of randomness; the result is a deterministic function of its
            state and the inputs.
        config: GA settings (:class:`GAConfig` defaults if ``None``).

    Returns:
        A :class:`GAResult` whose rows are all feasible, sorted by predicted score.

    Raises:
        ConfigError: ``seeds`` has the wrong shape or non-finite values, or ``max_per_arch``
            is set for a space that searches no architecture dimension.
        OptnasError: no feasible initial candidate was found, or ``score``/``feasible``
            returned arrays of the wrong shape or non-finite scores.
    """
    cfg = GAConfig() if config is None else config
    d = len(space.dims)
    if d == 0:
        raise ConfigError("space", space.name, "has no searched dimensions")
    seed_cols = np.zeros((0, d)) if seeds is None else np.asarray(seeds, dtype=float)
    if seed_cols.ndim != 2 or seed_cols.shape[1] != d:
        raise ConfigError("seeds", seed_cols.shape, f"expected a column array of shape (n, {d})")
    if not np.all(np.isfinite(seed_cols)):
        raise ConfigError("seeds", "non-finite", "column values must be finite")

    arch_cols = np.array([j for j, dim in enumerate(space.dims) if dim.part == "arch"], dtype=np.int64)
    if cfg.max_per_arch is not None and arch_cols.size == 0:
        raise ConfigError("max_per_arch", cfg.max_per_arch, "the space searches no architecture dimension")
    genome = Genome(space, local_step=cfg.local_step, local_sigma=cfg.local_sigma)
    pop = _initial(space, feasible, seed_cols, rng, cfg)
    if pop.shape[0] == 0:
        raise OptnasError(
            f"no feasible initial candidate: none of {seed_cols.shape[0]} seeds and none of "
            f"{cfg.init_rounds * cfg.init_pool} random draws meet the constraints"
        )
    fit = _score(score, pop)
    n_scored = pop.shape[0]
    pop, fit = _top(pop, fit, cfg.population, arch_cols, cfg.max_per_arch)
    history = [float(fit[0])]
    n_dropped = 0
    stall = 0
    generation = 0
    while generation < cfg.max_generations:
        generation += 1
        children, dropped = _offspring(genome, pop, fit, feasible, rng, cfg)
        n_dropped += dropped
        children = children[_new_rows(pop, children)]
        if children.shape[0] == 0:
            history.append(history[-1])
            break
        child_fit = _score(score, children)
        n_scored += children.shape[0]
        pop, fit = _top(
            np.concatenate([pop, children]),
            np.concatenate([fit, child_fit]),
            cfg.population,
            arch_cols,
            cfg.max_per_arch,
        )
        history.append(float(fit[0]))
        stall = stall + 1 if history[-1] - history[-2] < cfg.epsilon else 0
        if stall >= cfg.patience:
            break
    return GAResult(
        cols=pop,
        scores=fit,
        generations=generation,
        history=tuple(history),
        n_scored=n_scored,
        n_dropped=n_dropped,
    )


def _offspring(
    genome: Genome,
    pop: FloatArray,
    fit: FloatArray,
    feasible: FeasibleFn,
    rng: np.random.Generator,
    cfg: GAConfig,
) -> tuple[FloatArray, int]:
    """Feasible children of every member (crossover, mutation, resampling); also the drop count."""
    f_max, f_avg = float(fit.max()), float(fit.mean())
    parents = np.repeat(np.arange(pop.shape[0]), cfg.children_per_member)
    children = _vary(genome, pop, fit, parents, f_max, f_avg, rng, cfg)
    ok = _mask(feasible, children)
    bad = np.flatnonzero(~ok)
    if bad.size and cfg.max_repair:
        # all max_repair resamples of every infeasible child in one vectorized batch; the first
        # feasible one (in attempt order) replaces the child, as a sequential loop would
        tries = _vary(genome, pop, fit, np.repeat(parents[bad], cfg.max_repair), f_max, f_avg, rng, cfg)
        good = _mask(feasible, tries).reshape(bad.size, cfg.max_repair)
        fixed = good.any(axis=1)
        first = good.argmax(axis=1)
        tries = tries.reshape(bad.size, cfg.max_repair, -1)
        children[bad[fixed]] = tries[fixed, first[fixed]]
        ok[bad[fixed]] = True
    return children[ok], int((~ok).sum())


def _vary(
    genome: Genome,
    pop: FloatArray,
    fit: FloatArray,
    parents: IntArray,
    f_max: float,
    f_avg: float,
    rng: np.random.Generator,
    cfg: GAConfig,
) -> FloatArray:
    """One child per entry of ``parents``: adaptive crossover with a random partner, then mutation."""
    m, d = pop.shape
    n = parents.shape[0]
    if m > 1:
        partners = rng.integers(0, m - 1, size=n)
        partners = partners + (partners >= parents)
    else:
        partners = parents.copy()
    f_prime = np.maximum(fit[parents], fit[partners])
    pc = crossover_probability(f_prime, f_max=f_max, f_avg=f_avg, k1=cfg.k1, k3=cfg.k3)
    pm = mutation_probability(fit[parents], f_max=f_max, f_avg=f_avg, k2=cfg.k2, k4=cfg.k4)
    children = genome.crossover(pop[parents], pop[partners], rng.random(n) < pc, rng)
    mask = rng.random((n, d)) < pm[:, None]
    same = ~mask.any(axis=1) & np.all(children == pop[parents], axis=1)
    _force_one(mask, same, rng)
    return genome.mutate(children, mask, rng)


def _force_one(mask: BoolArray, rows: BoolArray, rng: np.random.Generator) -> None:
    """Set one uniformly chosen dimension of each ``rows`` row of ``mask`` (in place)."""
    idx = np.flatnonzero(rows)
    if idx.size and mask.shape[1]:
        mask[idx, rng.integers(0, mask.shape[1], size=idx.size)] = True
