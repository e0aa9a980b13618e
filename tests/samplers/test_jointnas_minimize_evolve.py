"""The sampler and ``evolve`` fit on the same training data, so a minimized study ranks the right way round."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import scipy.stats

from optnas.samplers._history import training_data
from optnas.space import preset
from optnas.studies._evolve import evaluated_columns as _evaluated

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_evolve_and_sampler_share_the_sign_of_a_minimized_objective() -> None:
    space = preset("digits")
    study = optuna.create_study(direction="minimize")
    rng = np.random.default_rng(0)
    cols = space.sample(12, 0)
    for row in cols:
        params = space.to_params(row)
        dists = {d.name: d.distribution() for d in space.dims}
        loss = float(rng.random())
        study.add_trial(optuna.trial.create_trial(params=params, distributions=dists, value=loss))
    ev_cols, ev_y = _evaluated(study, space)
    s_cols, s_y, used = training_data(study.trials, space, study.direction)
    assert np.array_equal(ev_cols, s_cols) and np.array_equal(ev_y, s_y)
    losses = [t.value for t in used]
    # higher target = better = lower loss: perfectly anti-correlated with the objective
    assert scipy.stats.kendalltau(ev_y, losses)[0] == pytest.approx(-1.0)
