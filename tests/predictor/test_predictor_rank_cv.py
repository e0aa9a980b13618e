"""The predictor's pairwise ranking loss (BRP-NAS) and its cross-validated weight decay."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from optnas import ConfigError
from optnas.cost import count_columns
from optnas.predictor import Predictor, PredictorConfig
from optnas.predictor._predictor import _pairwise_loss, _ranked_pairs
from optnas.space import preset

SPACE = preset("digits")
FAST = PredictorConfig(
    hidden=32, embedding=16, head_hidden=16, pretrain_samples=128, pretrain_steps=20, fit_steps=60, pretrain=False
)
HELD_OUT = SPACE.sample(256, 321)


def target(cols: np.ndarray) -> np.ndarray:
    c = count_columns(SPACE, cols, 10)
    return np.asarray(0.5 + 0.03 * np.log(c.macs) + 0.01 * np.log(c.params)).clip(0.0, 1.0) * 0.9


def test_pairwise_loss_is_the_mean_logistic_loss_over_ordered_pairs() -> None:
    y = torch.tensor([3.0, 1.0, 2.0, 2.0])
    scores = torch.tensor([[2.0], [0.0], [1.0], [5.0]])
    i, j, w = _ranked_pairs(y, torch.ones(4, 1))
    # y_i > y_j: (0,1) (0,2) (0,3) (2,1) (3,1); the tie (2,3) is no pair
    assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 1), (0, 2), (0, 3), (2, 1), (3, 1)]
    margins = [2.0, 1.0, -3.0, 1.0, 5.0]
    expected = sum(math.log1p(math.exp(-m)) for m in margins) / 5
    assert float(_pairwise_loss(scores, i, j, w)) == pytest.approx(expected, rel=1e-6)


def test_bootstrap_weights_weight_each_pair_by_both_members() -> None:
    y = torch.tensor([2.0, 1.0, 0.0])
    weights = torch.tensor([[2.0], [1.0], [0.0]])  # the third candidate is out of this member's resample
    i, j, w = _ranked_pairs(y, weights)
    pairs = dict(zip(zip(i.tolist(), j.tolist(), strict=True), w[:, 0].tolist(), strict=True))
    assert pairs == {(0, 1): 1.0, (0, 2): 0.0, (1, 2): 0.0}


def test_rank_weight_zero_is_the_plain_fit_and_a_positive_one_changes_it() -> None:
    cols = SPACE.sample(32, 4)
    y = target(cols)
    plain = Predictor(SPACE, num_classes=10, seed=1, config=FAST).fit(cols, y).predict(HELD_OUT)
    zero = Predictor(SPACE, num_classes=10, seed=1, config=PredictorConfig(**{**FAST.__dict__, "rank_weight": 0.0}))
    np.testing.assert_array_equal(plain, zero.fit(cols, y).predict(HELD_OUT))
    ranked_cfg = PredictorConfig(**{**FAST.__dict__, "rank_weight": 1.0})
    ranked = Predictor(SPACE, num_classes=10, seed=1, config=ranked_cfg).fit(cols, y).predict(HELD_OUT)
    again = Predictor(SPACE, num_classes=10, seed=1, config=ranked_cfg).fit(cols, y).predict(HELD_OUT)
    np.testing.assert_array_equal(ranked, again)  # seeded: identical
    assert not np.array_equal(plain, ranked)
    # still accuracies (the Huber term keeps the scale), and still a ranking of the target
    assert ranked.min() > 0.0 and ranked.max() < 1.0
    assert abs(float(np.median(ranked)) - float(np.median(target(HELD_OUT)))) < 0.1
    assert kendalltau(ranked, target(HELD_OUT)).statistic > 0.3


def test_cross_validation_picks_the_weight_decay_that_ranks_held_out_folds_best() -> None:
    cols = SPACE.sample(40, 7)
    y = target(cols)
    # 1e4 crushes the head's weights (a constant prediction ranks nothing); 1e-3 fits.
    cfg = PredictorConfig(**{**FAST.__dict__, "cv_folds": 4, "cv_weight_decays": (1e4, 1e-3)})
    p = Predictor(SPACE, num_classes=10, seed=2, config=cfg).fit(cols, y)
    assert p.chosen_weight_decay == 1e-3
    assert p.cv_tau is not None and p.cv_tau > 0.3
    # the final fit is the plain fit at the chosen value, from the same starting weights
    plain = PredictorConfig(**{**FAST.__dict__, "weight_decay": 1e-3})
    expected = Predictor(SPACE, num_classes=10, seed=2, config=plain).fit(cols, y).predict(HELD_OUT)
    np.testing.assert_allclose(p.predict(HELD_OUT), expected, rtol=1e-5, atol=1e-6)


def test_cross_validation_needs_two_candidates_per_fold() -> None:
    cols = SPACE.sample(7, 8)
    cfg = PredictorConfig(**{**FAST.__dict__, "cv_folds": 4, "cv_weight_decays": (1e4, 1e-3)})
    p = Predictor(SPACE, num_classes=10, seed=2, config=cfg).fit(cols, target(cols))
    assert p.chosen_weight_decay == FAST.weight_decay and p.cv_tau is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cv_folds": 1}, "predictor.cv_folds"),
        ({"cv_folds": -2}, "predictor.cv_folds"),
        ({"cv_folds": True}, "predictor.cv_folds"),
        ({"cv_weight_decays": ()}, "predictor.cv_weight_decays"),
        ({"cv_weight_decays": (1e-2, -1.0)}, "predictor.cv_weight_decays"),
        ({"rank_weight": -0.5}, "predictor.rank_weight"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        PredictorConfig(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_settings_survive_serialization() -> None:
    cols = SPACE.sample(16, 9)
    cfg = PredictorConfig(**{**FAST.__dict__, "cv_folds": 2, "rank_weight": 0.5})
    p = Predictor(SPACE, num_classes=10, seed=0, config=cfg).fit(cols, target(cols))
    q = Predictor.from_bytes(p.to_bytes())
    assert q.config == cfg
    np.testing.assert_array_equal(p.predict(HELD_OUT), q.predict(HELD_OUT))
