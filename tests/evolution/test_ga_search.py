"""adaptive_ga: determinism, feasibility, elitism, stopping, and search quality."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from optnas import ConfigError, OptnasError
from optnas.evolution import GAConfig, GAResult, adaptive_ga
from optnas.evolution._ga import _offspring
from optnas.evolution._operators import Genome

FloatArray = npt.NDArray[np.float64]


def _run(problem: Any, seed: int = 0, seeds: FloatArray | None = None, **config: Any) -> GAResult:
    cfg = GAConfig(**{"population": 40, "n_best": 8, "n_random": 32, **config})
    return adaptive_ga(
        problem.space, problem.score, problem.feasible, seeds, rng=np.random.default_rng(seed), config=cfg
    )


def test_same_seed_same_result(digits: Any) -> None:
    a = _run(digits, seed=3, max_generations=15)
    b = _run(digits, seed=3, max_generations=15)
    np.testing.assert_array_equal(a.cols, b.cols)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert (a.generations, a.history, a.n_scored, a.n_dropped) == (
        b.generations,
        b.history,
        b.n_scored,
        b.n_dropped,
    )
    c = _run(digits, seed=4, max_generations=15)
    assert not np.array_equal(a.cols, c.cols)


@pytest.mark.parametrize("quantile", [0.5, 0.1])
def test_every_result_is_feasible_legal_and_sorted(digits: Any, quantile: float) -> None:
    from optnas.cost import count_columns

    space = digits.space
    pool = space.sample(512, 99)
    limit = float(np.quantile(count_columns(space, pool, num_classes=10).macs, quantile))

    def feasible(cols: FloatArray) -> npt.NDArray[np.bool_]:
        return count_columns(space, cols, num_classes=10).macs <= limit

    res = adaptive_ga(
        space,
        digits.score,
        feasible,
        rng=np.random.default_rng(0),
        config=GAConfig(population=30, n_best=0, n_random=30, max_generations=20, max_repair=2),
    )
    assert res.cols.shape == (30, len(space.dims))
    assert feasible(res.cols).all()
    assert np.all(np.diff(res.scores) <= 0)  # best first
    np.testing.assert_allclose(res.scores, digits.score(res.cols))
    assert len(np.unique(res.cols, axis=0)) == len(res.cols)  # deduplicated
    back = space.to_columns([space.to_params(row) for row in res.cols])  # on the grid
    np.testing.assert_allclose(back, res.cols)


def test_children_are_never_infeasible_and_repair_rescues_them(digits: Any) -> None:
    # a rule that rejects many children: a child with the second optimizer (adamw) or over the
    # MACs budget is infeasible. It must be resampled or dropped, never kept.
    j = digits.space.names.index("optimizer")
    calls: list[int] = []

    def feasible(cols: FloatArray) -> npt.NDArray[np.bool_]:
        calls.append(len(cols))
        return np.asarray(digits.feasible(cols) & (cols[:, j] == 0.0))

    dropped = {}
    for max_repair in (0, 10):
        calls.clear()
        cfg = GAConfig(population=20, n_best=0, n_random=20, max_generations=5, max_repair=max_repair, epsilon=0.0)
        res = adaptive_ga(digits.space, digits.score, feasible, rng=np.random.default_rng(1), config=cfg)
        assert feasible(res.cols).all()
        dropped[max_repair] = res.n_dropped
        # the initial pool, then per generation one check of the children and at most one of
        # all their resamples (vectorized), then the check above
        assert len(calls) <= 1 + 2 * res.generations + 1
    assert dropped[0] > 10
    assert dropped[10] < dropped[0] / 5


def test_best_score_history_is_monotone(problem_factory: Callable[[str, int], Any]) -> None:
    problem = problem_factory("cifar", 2)
    res = _run(problem, seed=5, max_generations=40, epsilon=0.0)
    hist = np.array(res.history)
    assert len(hist) == res.generations + 1
    assert np.all(np.diff(hist) >= 0)
    assert hist[-1] == res.scores[0]
    assert hist[-1] > hist[0]


def test_large_epsilon_stops_after_patience_generations(digits: Any) -> None:
    res = _run(digits, epsilon=1e9, patience=1, max_generations=50)
    assert res.generations == 1
    res = _run(digits, epsilon=1e9, patience=3, max_generations=50)
    assert res.generations == 3
    assert len(res.history) == 4


def test_max_generations_is_respected(digits: Any) -> None:
    res = _run(digits, epsilon=0.0, max_generations=7)
    assert res.generations == 7
    assert len(res.history) == 8
    res0 = _run(digits, max_generations=0)
    assert res0.generations == 0 and res0.n_scored == 32  # q random ones only, no seeds


def test_n_scored_counts_every_score_call(digits: Any) -> None:
    calls: list[int] = []

    def score(cols: FloatArray) -> FloatArray:
        calls.append(cols.shape[0])
        return np.asarray(digits.score(cols))

    res = adaptive_ga(
        digits.space,
        score,
        digits.feasible,
        rng=np.random.default_rng(2),
        config=GAConfig(population=20, n_best=0, n_random=20, max_generations=6, epsilon=0.0),
    )
    assert len(calls) == res.generations + 1  # one vectorized call per generation
    assert sum(calls) == res.n_scored
    assert max(calls[1:]) <= 20 * GAConfig().children_per_member


def test_seeds_enter_d_star_and_infeasible_seeds_are_skipped(digits: Any) -> None:
    space = digits.space
    pool = space.sample(256, 7)
    feas = digits.feasible(pool)
    infeasible, feasible_rows = pool[~feas][:3], pool[feas][:5]
    seeds = np.concatenate([infeasible, feasible_rows, digits.target[None, :]])
    res = _run(digits, seeds=seeds, n_best=4, n_random=5, max_generations=0)
    assert res.n_scored == 4 + 5
    members = {tuple(r) for r in res.cols}
    assert all(tuple(r) in members for r in feasible_rows[:4])  # the first p feasible seeds
    assert tuple(feasible_rows[4]) not in members or tuple(digits.target) in members
    assert not any(tuple(r) in members for r in infeasible)
    # with the optimum among the first p seeds, the GA returns it first with score 0
    res = _run(digits, seeds=digits.target[None, :], n_best=1, n_random=10, max_generations=3)
    np.testing.assert_array_equal(res.cols[0], digits.target)
    assert res.scores[0] == 0.0


def test_best_member_is_only_locally_mutated(digits: Any) -> None:
    # fitness [1, 0, ..., 0]: the best member has pc = pm = 0, so each of its children differs
    # from it in exactly one dimension (Srinivas & Patnaik protect the best solution), while the
    # below-average members (f = 0 < f_avg) mutate each dimension with probability k4.
    space = digits.space
    d = len(space.dims)
    pop = space.sample(16, 3)
    fit = np.zeros(16)
    fit[0] = 1.0
    cfg = GAConfig(population=16, n_best=0, n_random=16, children_per_member=200, k3=0.0, k4=0.25)
    genome = Genome(space, local_step=cfg.local_step, local_sigma=cfg.local_sigma)
    children, dropped = _offspring(
        genome, pop, fit, lambda c: np.ones(len(c), dtype=bool), np.random.default_rng(0), cfg
    )
    assert dropped == 0 and len(children) == 16 * 200
    np.testing.assert_array_equal((children[:200] != pop[0]).sum(axis=1), 1)
    changed = children[200:] != pop[np.repeat(np.arange(1, 16), 200)]
    # k4 per dimension, plus one forced dimension for the children that drew no mutation
    expected = 0.25 + 0.75**d / d
    assert abs(changed.mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / changed.size)


def test_no_feasible_candidate_is_an_error(digits: Any) -> None:
    with pytest.raises(OptnasError, match="no feasible initial candidate"):
        adaptive_ga(
            digits.space,
            digits.score,
            lambda c: np.zeros(len(c), dtype=bool),
            rng=np.random.default_rng(0),
            config=GAConfig(init_pool=64, init_rounds=2),
        )


def test_bad_inputs_are_reported(digits: Any) -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError) as info:
        adaptive_ga(digits.space, digits.score, digits.feasible, np.zeros((2, 3)), rng=rng)
    assert info.value.field == "seeds"
    with pytest.raises(OptnasError, match="score returned"):
        adaptive_ga(digits.space, lambda c: np.zeros(len(c) + 1), digits.feasible, rng=rng)
    with pytest.raises(OptnasError, match="non-finite"):
        adaptive_ga(digits.space, lambda c: np.full(len(c), np.nan), digits.feasible, rng=rng)
    with pytest.raises(OptnasError, match="feasible returned"):
        adaptive_ga(digits.space, digits.score, lambda c: np.ones((len(c), 2)), rng=rng)


@pytest.mark.parametrize("init", ["sobol", "uniform"])
@pytest.mark.parametrize(("name", "target_index"), [("digits", 1), ("cifar", 4)])
def test_finds_the_optimum_much_better_than_random_search(
    problem_factory: Callable[[str, int], Any], name: str, target_index: int, init: str
) -> None:
    problem = problem_factory(name, target_index)
    res = adaptive_ga(
        problem.space,
        problem.score,
        problem.feasible,
        rng=np.random.default_rng(21),
        config=GAConfig(init=init),
    )
    # random search with the same number of scored (feasible) candidates
    rng = np.random.default_rng(22)
    found = np.zeros((0, len(problem.space.dims)))
    while len(found) < res.n_scored:
        draw = problem.space.sample_uniform(4096, rng)
        found = np.concatenate([found, draw[problem.feasible(draw)]])
    random_best = -float(problem.score(found[: res.n_scored]).max())
    ga_best = -float(res.scores[0])
    assert ga_best < 0.01 * random_best
    assert ga_best < 0.02  # squared distance in the [0, 1] encoding: essentially at the target


def test_top_keeps_at_most_max_per_arch_per_architecture() -> None:
    from optnas.evolution._ga import _top

    # columns: (arch a, arch b, recipe r); architectures (0,0), (0,1), (1,1)
    cols = np.array([[0, 0, 0.1], [0, 0, 0.2], [0, 1, 0.3], [0, 0, 0.4], [1, 1, 0.5], [0, 1, 0.6]], dtype=float)
    scores = np.array([5.0, 4.0, 3.0, 6.0, 1.0, 2.0])
    arch = np.array([0, 1], dtype=np.int64)
    top, s = _top(cols, scores, 4, arch, None)
    np.testing.assert_array_equal(s, [6.0, 5.0, 4.0, 3.0])
    top, s = _top(cols, scores, 4, arch, 1)
    np.testing.assert_array_equal(s, [6.0, 3.0, 1.0])  # best of each architecture
    np.testing.assert_array_equal(top[:, 2], [0.4, 0.3, 0.5])
    top, s = _top(cols, scores, 4, arch, 2)
    np.testing.assert_array_equal(s, [6.0, 5.0, 3.0, 2.0])


def test_max_per_arch_keeps_the_top_k_diverse(digits: Any) -> None:
    arch = [j for j, d in enumerate(digits.space.dims) if d.part == "arch"]
    plain = _run(digits, seed=2, max_generations=30)
    diverse = _run(digits, seed=2, max_generations=30, max_per_arch=2)
    n_plain = len(np.unique(plain.cols[:, arch], axis=0))
    _, counts = np.unique(diverse.cols[:, arch], axis=0, return_counts=True)
    assert counts.max() <= 2 and len(counts) >= len(diverse.cols) / 2
    assert len(counts) > n_plain
    assert digits.feasible(diverse.cols).all()
    assert np.all(np.diff(diverse.scores) <= 0)


def test_recipe_only_space(digits: Any) -> None:
    # AutoTrain (FBNetV3 Sec. 5.2): the architecture is fixed and only the recipe is searched
    space = digits.space
    arch, _ = space.decode_params(space.to_params(digits.target))
    recipe_space = space.recipe_only(arch)
    assert all(d.part == "recipe" for d in recipe_space.dims)
    target = recipe_space.sample(1, 4)[0]
    enc = recipe_space.encode(target[None, :])[0]

    def score(cols: FloatArray) -> FloatArray:
        return np.asarray(-np.sum((recipe_space.encode(cols) - enc) ** 2, axis=1))

    def feasible(cols: FloatArray) -> npt.NDArray[np.bool_]:
        return np.ones(len(cols), dtype=bool)

    res = adaptive_ga(recipe_space, score, feasible, rng=np.random.default_rng(0), config=GAConfig(population=30))
    assert res.cols.shape[1] == len(recipe_space.dims)
    assert -res.scores[0] < 0.01
    with pytest.raises(ConfigError) as info:
        adaptive_ga(recipe_space, score, feasible, rng=np.random.default_rng(0), config=GAConfig(max_per_arch=1))
    assert info.value.field == "max_per_arch"
