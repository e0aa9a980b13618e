"""``PredictorConfig(cost_inputs=True)``: the free statistics as accuracy-head inputs (issue 13)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from optnas import ConfigError
from optnas.cost import count_columns
from optnas.predictor import Predictor, PredictorConfig
from optnas.space import ParamSpace, preset

SPACE = preset("digits")
SMALL = PredictorConfig(pretrain=False, fit_steps=200)


def log_macs(cols: np.ndarray) -> np.ndarray:
    return np.log(count_columns(SPACE, cols, 10).macs.astype(float))


def test_head_sees_the_standardized_costs() -> None:
    p = Predictor(SPACE, num_classes=10, seed=0, config=PredictorConfig(pretrain=False, cost_inputs=True))
    recipe = SPACE.encoding_width - SPACE.arch_width
    assert p._net.heads[0][0].in_features == PredictorConfig().embedding + recipe + 2
    cols = SPACE.sample(64, 1)
    x = p._x(cols).numpy()
    assert x.shape == (64, SPACE.encoding_width + 2)
    np.testing.assert_allclose(x[:, : SPACE.encoding_width], SPACE.encode(cols), atol=1e-6)
    # standardized over the QMC sample of step 1: log MACs in column -2, log params in column -1
    np.testing.assert_allclose(x[:, -2], (log_macs(cols) - p._proxy_mean[0]) / p._proxy_std[0], rtol=1e-4, atol=1e-5)
    ref = np.log(count_columns(SPACE, SPACE.sample(p.config.pretrain_samples, 0), 10).macs.astype(float))
    assert p._proxy_mean[0] == pytest.approx(ref.mean()) and p._proxy_std[0] == pytest.approx(ref.std(), rel=1e-6)
    assert p._x(cols[:0]).shape == (0, SPACE.encoding_width + 2)


def test_cost_inputs_learn_a_cost_trend_from_few_samples() -> None:
    """With 24 evaluations of a log-MACs trend and no pretraining, the head with the costs as inputs ranks
    held-out candidates better than the random encoder alone (which must find MACs in the one-hots):
    on every one of 3 seeded draws, and by more than 0.15 Kendall tau on average."""
    gains = []
    for seed in range(3):
        train, test = SPACE.sample(24, 3 + seed), SPACE.sample(300, 40 + seed)
        y = 0.5 + 0.05 * (log_macs(train) - log_macs(train).mean())
        taus = []
        for flag in (False, True):
            cfg = PredictorConfig(pretrain=False, cost_inputs=flag)
            p = Predictor(SPACE, num_classes=10, seed=seed, config=cfg).fit(train, y)
            taus.append(float(kendalltau(p.predict(test), log_macs(test)).statistic))
        assert taus[1] > max(taus[0], 0.6), (seed, taus)
        gains.append(taus[1] - taus[0])
    assert np.mean(gains) > 0.15, gains


def test_round_trip_keeps_predictions() -> None:
    p = Predictor(
        SPACE, num_classes=10, seed=2, config=PredictorConfig(pretrain_steps=20, fit_steps=30, cost_inputs=True)
    )
    cols = SPACE.sample(20, 5)
    p.fit(cols, np.linspace(0.3, 0.9, 20))
    q = Predictor.from_bytes(p.to_bytes())
    pool = SPACE.sample(50, 6)
    np.testing.assert_allclose(q.predict(pool), p.predict(pool), rtol=1e-6)


def test_needs_free_statistics() -> None:
    import optuna

    space = ParamSpace({"x": optuna.distributions.FloatDistribution(0.0, 1.0)})
    with pytest.raises(ConfigError, match=r"predictor\.cost_inputs"):
        Predictor(space, config=PredictorConfig(cost_inputs=True))
    with pytest.raises(ConfigError, match=r"predictor\.cost_inputs"):
        PredictorConfig(cost_inputs=1)  # type: ignore[arg-type]
