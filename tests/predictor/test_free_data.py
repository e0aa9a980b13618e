"""``PredictorConfig(free_data=...)``: the statistics step 1 pretrains on (FBNetV3 Sec. 3.2), with SynFlow."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch

from optnas import ConfigError
from optnas.cost import count_columns
from optnas.models import build
from optnas.predictor import Predictor, PredictorConfig
from optnas.predictor._free_data import free_data_proxy, synflow_score
from optnas.samplers import JointNASSampler
from optnas.space import Arch, Recipe, preset

SPACE = preset("digits")
TINY = Arch.parse("res8 stem_k3_s1_c8_hs ir_k3_e1_c8_hs head_c16_hs")


def reference_synflow(arch: Arch) -> float:
    """SynFlow written out (Tanaka et al. 2020, Sec. 6): |theta| weights, all-ones input, R = sum of outputs."""
    net = build(arch, Recipe(dropout=0.0, stochastic_depth=0.0), 10, seed=0).double().eval()
    for p in net.parameters():
        p.data = p.data.abs()
    for b in net.buffers():
        if b.is_floating_point():
            b.abs_()
    out = net(torch.ones(1, 3, arch.resolution, arch.resolution, dtype=torch.float64)).sum()
    grads = torch.autograd.grad(out, list(net.parameters()))
    return float(np.log(sum(float((p * g).detach().abs().sum()) for p, g in zip(net.parameters(), grads, strict=True))))


def test_synflow_matches_the_definition_and_ignores_the_global_rng() -> None:
    torch.manual_seed(123)
    a = synflow_score(TINY, 10)
    torch.manual_seed(7)
    torch.rand(5)
    assert synflow_score(TINY, 10) == a
    assert a == pytest.approx(reference_synflow(TINY), rel=1e-9)
    wider = Arch.parse("res8 stem_k3_s1_c8_hs ir_k3_e1_c8_hs head_c64_hs")
    # more channels in the head are more paths for the flow: the score grows (log scale)
    assert synflow_score(wider, 10) > a + 0.5


def test_costs_plus_synflow_keeps_the_cost_columns_and_adds_one() -> None:
    cols = SPACE.sample(6, 3)
    costs, key = free_data_proxy(SPACE, 10, "costs")
    both, key2 = free_data_proxy(SPACE, 10, "costs+synflow")
    assert (key, key2) == ("analytic", "analytic+synflow")
    a, b = costs(cols), both(cols)
    assert a.shape == (6, 2) and b.shape == (6, 3)
    np.testing.assert_array_equal(b[:, :2], a)
    cost = count_columns(SPACE, cols, 10)
    np.testing.assert_allclose(a[:, 0], np.log(cost.macs.astype(float)))
    archs = [arch for arch, _ in SPACE.iter_candidates(cols)]
    assert isinstance(archs[0], Arch)
    np.testing.assert_allclose(b[:, 2], [synflow_score(x, 10) for x in archs])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"free_data": "naswot"}, r"predictor\.free_data.*'naswot'"),
        ({"free_data": "costs+synflow", "cost_inputs": True}, r"predictor\.free_data.*cost_inputs"),
    ],
)
def test_bad_free_data_is_an_error_naming_field_and_value(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PredictorConfig(**kwargs)  # type: ignore[arg-type]


def test_pretraining_on_synflow_learns_the_third_statistic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTNAS_CACHE_DIR", "")  # no disk cache: this test measures step 1 itself
    cfg = PredictorConfig(free_data="costs+synflow", pretrain_samples=96, pretrain_steps=300)
    p = Predictor(SPACE, num_classes=10, seed=0, config=cfg).pretrain()
    held = SPACE.sample(48, 11)
    truth = free_data_proxy(SPACE, 10, "costs+synflow")[0](held)
    pred = p.predict_proxy(held)
    assert pred.shape == (48, 3)
    corr = np.corrcoef(pred[:, 2], truth[:, 2])[0, 1]
    assert corr > 0.6, corr  # the encoder learned SynFlow from 96 samples, not just its mean
    # a predictor pretrained on the costs alone has no third column
    assert Predictor(SPACE, num_classes=10, seed=0, config=PredictorConfig(pretrain_samples=96)).predict_proxy(
        held
    ).shape == (48, 2)


def test_jointnas_runs_with_synflow_pretraining(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPTNAS_CACHE_DIR", "")
    cfg = PredictorConfig(free_data="costs+synflow", pretrain_samples=64, pretrain_steps=50, fit_steps=50)
    sampler = JointNASSampler(
        space=SPACE, num_classes=10, batch_size=4, n_batches=2, seed=0, predictor_config=cfg, early_stopping_tau=None
    )
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(12):
        trial = study.ask()
        arch, recipe = SPACE.suggest(trial)
        study.tell(trial, float(np.log(recipe.lr)) + 0.01 * arch.resolution)
    assert len(study.trials) == 12
    assert {t.state for t in study.trials} == {optuna.trial.TrialState.COMPLETE}
