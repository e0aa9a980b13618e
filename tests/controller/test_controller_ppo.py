"""PPOTrainer: EMA baseline, clipped-surrogate direction and clipping, entropy, determinism."""

from __future__ import annotations

import math

import pytest
import torch

from optnas import ConfigError
from optnas.controller import PolicyController, PPOConfig, PPOTrainer

WIDTHS = (4, 3, 5)


def _trainer(seed: int = 0, **config: float) -> PPOTrainer:
    controller = PolicyController(
        WIDTHS, hidden_size=8, generator=torch.Generator().manual_seed(seed)
    )
    return PPOTrainer(controller, PPOConfig(**config))  # type: ignore[arg-type]


def _seq_log_prob(trainer: PPOTrainer, actions: list[list[int]]) -> torch.Tensor:
    with torch.no_grad():
        return trainer.controller.evaluate(torch.tensor(actions))[0].sum(dim=1)


def _old_log_probs(trainer: PPOTrainer, actions: list[list[int]]) -> list[list[float]]:
    with torch.no_grad():
        return trainer.controller.evaluate(torch.tensor(actions))[0].tolist()  # type: ignore[no-any-return]


def test_defaults_are_the_papers() -> None:
    config = PPOConfig()
    assert (config.learning_rate, config.entropy_weight, config.baseline_decay, config.clip) == (
        0.00035,
        1e-5,
        0.95,
        0.2,
    )


def test_ema_baseline_exact() -> None:
    trainer = _trainer(baseline_decay=0.5)
    actions = [[0, 0, 0], [1, 1, 1], [2, 2, 2]]
    stats = trainer.update(actions, _old_log_probs(trainer, actions), [1.0, 2.0, 3.0])
    # First batch: baseline starts at the batch mean (2), then b <- 0.5 b + 0.5 r per reward.
    assert stats.baseline_before == 2.0
    assert stats.baseline_after == pytest.approx(2.375)
    assert trainer.baseline == pytest.approx(2.375)
    advantages, before, after = trainer.advantages([4.0, 0.0])
    assert advantages == pytest.approx([4.0 - 2.375, -2.375])
    assert before == pytest.approx(2.375)
    assert after == pytest.approx(0.5 * (0.5 * 2.375 + 0.5 * 4.0))
    assert trainer.update_count == 1
    assert stats.mean_reward == 2.0


def test_update_moves_probability_towards_positive_advantage() -> None:
    trainer = _trainer(learning_rate=0.01, epochs=5)
    good, bad = [1, 2, 3], [3, 0, 1]
    before = _seq_log_prob(trainer, [good, bad])
    trainer.update([good, bad], _old_log_probs(trainer, [good, bad]), [1.0, 0.0])
    after = _seq_log_prob(trainer, [good, bad])
    assert after[0] > before[0] + 0.05
    assert after[1] < before[1] - 0.05


def _ratios_after(clip: float, epochs: int) -> tuple[float, float, float]:
    trainer = _trainer(learning_rate=0.005, epochs=epochs, clip=clip, entropy_weight=0.0)
    good, bad = [1, 2, 3], [3, 0, 1]
    old = _seq_log_prob(trainer, [good, bad])
    stats = trainer.update([good, bad], _old_log_probs(trainer, [good, bad]), [1.0, 0.0])
    ratio = torch.exp(_seq_log_prob(trainer, [good, bad]) - old)
    return float(ratio[0]), float(ratio[1]), stats.clip_fraction


def test_clipping_stops_the_update() -> None:
    # Once both ratios leave [1 - eps, 1 + eps] in their advantage's direction, the surrogate's
    # gradient vanishes: more epochs barely move the policy (only Adam's momentum coasts on),
    # and how far it moves grows with eps.
    results = {clip: (_ratios_after(clip, 60), _ratios_after(clip, 180)) for clip in (0.1, 0.3)}
    for clip, ((up40, down40, frac40), (up160, down160, frac160)) in results.items():
        assert frac40 == frac160 == 1.0
        assert up160 > 1 + clip and down160 < 1 - clip
        assert up160 == pytest.approx(up40, rel=0.1)
        assert down160 == pytest.approx(down40, rel=0.25)
    assert results[0.1][1][0] < 1.5 < results[0.3][1][0]


def test_entropy_bonus_raises_entropy_when_advantages_vanish() -> None:
    trainer = _trainer(learning_rate=0.01, epochs=20, entropy_weight=1.0)
    with torch.no_grad():
        trainer.controller.heads[0].bias.copy_(torch.tensor([3.0, 0.0, 0.0, 0.0]))
    actions = [[0, 0, 0], [1, 1, 1]]
    probe = torch.tensor(actions)
    with torch.no_grad():
        entropy_before = float(trainer.controller.evaluate(probe)[1][:, 0].mean())
    trainer.update(actions, _old_log_probs(trainer, actions), [0.5, 0.5])  # zero advantages
    with torch.no_grad():
        entropy_after = float(trainer.controller.evaluate(probe)[1][:, 0].mean())
    assert entropy_after > entropy_before + 0.1
    assert entropy_after <= math.log(4) + 1e-6


def test_replay_is_bitwise_deterministic() -> None:
    batches = [
        ([[0, 1, 2], [3, 2, 4], [1, 1, 1]], [0.1, 0.7, 0.3]),
        ([[2, 0, 0], [0, 2, 3], [3, 1, 4]], [0.9, 0.2, 0.4]),
    ]
    a, b = _trainer(3, learning_rate=0.01), _trainer(3, learning_rate=0.01)
    for trainer in (a, b):
        for actions, rewards in batches:
            trainer.update(actions, _old_log_probs(trainer, actions), rewards)
    for (name, pa), pb in zip(
        a.controller.state_dict().items(), b.controller.state_dict().values(), strict=True
    ):
        assert torch.equal(pa, pb), name
    assert a.baseline == b.baseline
    c = _trainer(4, learning_rate=0.01)
    assert not torch.equal(c.controller.start, a.controller.start)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("learning_rate", 0.0),
        ("learning_rate", float("nan")),
        ("entropy_weight", -1e-3),
        ("clip", 0.0),
        ("clip", 1.5),
        ("baseline_decay", 1.0),
        ("baseline_decay", -0.1),
        ("epochs", 0),
        ("epochs", 1.5),
        ("learning_rate", "0.1"),
    ],
)
def test_config_validation(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        PPOConfig(**{field: value})  # type: ignore[arg-type]
    assert info.value.field == field
    assert info.value.value is value or (value != value and info.value.value != info.value.value)


def test_batch_validation() -> None:
    trainer = _trainer()
    with pytest.raises(ConfigError, match="batch"):
        trainer.update([[0, 0, 0]], [[0.0, 0.0, 0.0]], [1.0, 2.0])
    with pytest.raises(ConfigError, match="batch"):
        trainer.update([], [], [])
