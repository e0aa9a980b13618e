"""The FBNetV3 predictor (Sec. 3.1-3.2, Fig. 4): pretraining, fitting, determinism, persistence."""

from __future__ import annotations

import dataclasses
import io
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from optnas import ConfigError
from optnas.cost import count_columns
from optnas.predictor import Predictor, PredictorConfig
from optnas.predictor import _predictor as predictor_module
from optnas.space import IntRange, preset, reference

SPACE = preset("digits")
# Enough pretraining for the proxy head to rank architectures (the default is larger still).
CONFIG = PredictorConfig(pretrain_samples=512, pretrain_steps=200, fit_steps=200)
FAST = PredictorConfig(hidden=32, embedding=16, head_hidden=16, pretrain_samples=128, pretrain_steps=20, fit_steps=30)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cost_target(cols: np.ndarray) -> np.ndarray:
    """A synthetic accuracy that rises with log MACs and log params."""
    c = count_columns(SPACE, cols, 10)
    return np.asarray(0.05 * np.log(c.macs) + 0.02 * np.log(c.params))


HELD_OUT = SPACE.sample(256, 123)


def test_identical_predictions_for_a_seed_and_training_set() -> None:
    cols = SPACE.sample(24, 5)
    y = cost_target(cols)
    a = Predictor(SPACE, num_classes=10, seed=3, config=FAST).fit(cols, y).predict(HELD_OUT)
    b = Predictor(SPACE, num_classes=10, seed=3, config=FAST).fit(cols, y).predict(HELD_OUT)
    np.testing.assert_array_equal(a, b)
    c = Predictor(SPACE, num_classes=10, seed=4, config=FAST).fit(cols, y).predict(HELD_OUT)
    assert not np.array_equal(a, c)


def test_pretraining_is_cached_per_space_fingerprint(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OPTNAS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(predictor_module, "_PRETRAIN_CACHE", OrderedDict())
    calls: list[str] = []
    original = Predictor._run_pretrain

    def counting(self: Predictor) -> Any:
        calls.append(self.space.fingerprint())
        return original(self)

    monkeypatch.setattr(Predictor, "_run_pretrain", counting)

    def encoder(p: Predictor) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in p._net.encoder.state_dict().items()}

    first = encoder(Predictor(SPACE, num_classes=10, seed=0, config=FAST).pretrain())
    second = encoder(Predictor(preset("digits"), num_classes=10, seed=0, config=FAST).pretrain())
    assert calls == [SPACE.fingerprint()]  # an equal space (same fingerprint) reuses the encoder
    for k, v in first.items():
        torch.testing.assert_close(second[k], v, rtol=0, atol=0)
    # fit() pretrains on first use and hits the cache as well.
    Predictor(SPACE, num_classes=10, seed=0, config=FAST).fit(SPACE.sample(4, 1), np.linspace(0.2, 0.8, 4))
    assert len(calls) == 1
    # Another process (an empty in-memory cache) reads the shared on-disk cache.
    assert len(list((tmp_path / "pretrain").glob("*.pt"))) == 1
    monkeypatch.setattr(predictor_module, "_PRETRAIN_CACHE", OrderedDict())
    third = encoder(Predictor(SPACE, num_classes=10, seed=0, config=FAST).pretrain())
    assert len(calls) == 1
    for k, v in first.items():
        torch.testing.assert_close(third[k], v, rtol=0, atol=0)
    # A different space is a different key.
    other = SPACE.override({"g2_c": IntRange(24, 40, 8)})
    Predictor(other, num_classes=10, seed=0, config=FAST).pretrain()
    assert calls == [SPACE.fingerprint(), other.fingerprint()]


def test_proxy_head_ranks_held_out_macs() -> None:
    p = Predictor(SPACE, num_classes=10, seed=0, config=CONFIG).pretrain()
    exact = np.log(count_columns(SPACE, HELD_OUT, 10).macs)
    tau = kendalltau(p.predict_proxy(HELD_OUT)[:, 0], exact).statistic
    assert tau > 0.9


def test_pretraining_helps_with_16_samples() -> None:
    """FBNetV3 Sec. 3.2: with few evaluations, the pretrained encoder ranks far better."""
    with_pre, without = [], []
    truth = cost_target(HELD_OUT)
    for k in range(3):
        cols = SPACE.sample(16, 1000 + k)
        for pretrain, out in ((True, with_pre), (False, without)):
            cfg = PredictorConfig(pretrain_samples=512, pretrain_steps=200, fit_steps=200, pretrain=pretrain)
            p = Predictor(SPACE, num_classes=10, seed=0, config=cfg).fit(cols, cost_target(cols))
            out.append(kendalltau(p.predict(HELD_OUT), truth).statistic)
    # Measured: about 0.8 with pretraining, 0.25-0.5 without.
    assert all(a > b for a, b in zip(with_pre, without, strict=True))
    assert np.mean(with_pre) > np.mean(without) + 0.2
    assert np.mean(with_pre) > 0.6


def test_bytes_round_trip_is_exact() -> None:
    cols = SPACE.sample(16, 9)
    p = Predictor(SPACE, num_classes=10, seed=2, config=FAST).fit(cols, cost_target(cols))
    q = Predictor.from_bytes(p.to_bytes())
    np.testing.assert_array_equal(p.predict(HELD_OUT), q.predict(HELD_OUT))
    np.testing.assert_array_equal(p.predict_proxy(HELD_OUT), q.predict_proxy(HELD_OUT))
    assert q.metadata() == p.metadata()
    for key, value in p._net.state_dict().items():
        torch.testing.assert_close(q._net.state_dict()[key], value, rtol=0, atol=0)


def test_ensemble_spread() -> None:
    cols = SPACE.sample(16, 9)
    cfg = PredictorConfig(hidden=32, embedding=16, head_hidden=16, pretrain=False, fit_steps=30, ensemble=3)
    mean, std = (
        Predictor(SPACE, num_classes=10, seed=0, config=cfg)
        .fit(cols, cost_target(cols))
        .predict(HELD_OUT, return_std=True)
    )
    assert mean.shape == std.shape == (256,)
    assert np.all(std >= 0) and np.any(std > 0)  # independently initialized heads disagree somewhere


def test_recipe_only_space_needs_no_pretraining() -> None:
    space = SPACE.recipe_only(reference("mobilenet_v2", resolution=32))
    assert space.arch_width == 0
    cols = space.sample(16, 0)
    lr = space.full_columns(cols)["lr"]
    y = 0.6 + 0.1 * np.log10(lr)  # accuracy rising with the learning rate
    cfg = PredictorConfig(hidden=32, embedding=16, head_hidden=16, fit_steps=200)
    p = Predictor(space, num_classes=10, seed=0, config=cfg).fit(cols, y)
    assert kendalltau(p.predict(cols), y).statistic > 0.8


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hidden": 0}, "predictor.hidden"),
        ({"ensemble": True}, "predictor.ensemble"),
        ({"fit_steps": -1}, "predictor.fit_steps"),
        ({"lr": 0.0}, "predictor.lr"),
        ({"weight_decay": -1e-3}, "predictor.weight_decay"),
        ({"huber_delta": -1.0}, "predictor.huber_delta"),
        ({"frozen_fraction": 1.5}, "predictor.frozen_fraction"),
        ({"finetune_lr_ratio": -0.1}, "predictor.finetune_lr_ratio"),
    ],
)
def test_config_validation(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as info:
        PredictorConfig(**kwargs)
    assert info.value.field == field


def _encoder_state(p: Predictor) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in p._net.state_dict().items() if k.startswith(("encoder.", "proxy."))}


def test_a_random_encoder_is_never_frozen() -> None:
    """Without step 1 there is no embedding worth freezing: the encoder trains from the first step."""
    cols = SPACE.sample(24, 5)
    cfg = PredictorConfig(hidden=32, embedding=16, head_hidden=16, pretrain=False, fit_steps=40, frozen_fraction=1.0)
    p = Predictor(SPACE, num_classes=10, seed=1, config=cfg)
    before = _encoder_state(p)
    p.fit(cols, cost_target(cols))
    after = _encoder_state(p)
    assert not all(torch.equal(before[k], after[k]) for k in before if k.startswith("encoder."))


@pytest.mark.parametrize("pretrain", [True])
def test_step_2_freezes_the_encoder_then_fine_tunes_it(pretrain: bool) -> None:
    """Sec. 3.2, step 2: the accuracy head trains on the frozen embedding, then everything is fine-tuned."""
    cols = SPACE.sample(24, 5)
    y = cost_target(cols)
    frozen_cfg = PredictorConfig(
        hidden=32, embedding=16, head_hidden=16, pretrain=pretrain, pretrain_samples=128, pretrain_steps=20,
        fit_steps=40, frozen_fraction=1.0,
    )
    p = Predictor(SPACE, num_classes=10, seed=1, config=frozen_cfg)
    if pretrain:
        p.pretrain()
    before = _encoder_state(p)
    p.fit(cols, y)
    after = _encoder_state(p)
    assert all(torch.equal(before[k], after[k]) for k in before)  # frozen throughout
    heads_moved = Predictor(SPACE, num_classes=10, seed=1, config=frozen_cfg)
    assert not np.array_equal(heads_moved.predict(cols), p.predict(cols))
    tuned = Predictor(SPACE, num_classes=10, seed=1, config=dataclasses.replace(frozen_cfg, frozen_fraction=0.5))
    tuned.fit(cols, y)
    assert any(not torch.equal(before[k], v) for k, v in _encoder_state(tuned).items())


def test_fit_validates_its_input() -> None:
    p = Predictor(SPACE, num_classes=10, seed=0, config=FAST)
    with pytest.raises(ConfigError, match="one value per row"):
        p.fit(SPACE.sample(4, 0), [1.0, 2.0])
    with pytest.raises(ConfigError, match="finite"):
        p.fit(SPACE.sample(2, 0), [1.0, float("nan")])
    with pytest.raises(ConfigError):
        Predictor(SPACE, num_classes=0)
    data = torch.load(io.BytesIO(p.to_bytes()), weights_only=True)
    data["meta"]["format"] = 2
    buf = io.BytesIO()
    torch.save(data, buf)
    with pytest.raises(ConfigError, match="unsupported predictor file"):
        Predictor.from_bytes(buf.getvalue())
