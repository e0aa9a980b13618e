"""Controller presets: the registry, the paper's numbers, and name validation."""

from __future__ import annotations

import dataclasses

import pytest

from optnas import ConfigError
from optnas.controller import PPO_PRESETS, ControllerPreset, PPOConfig, controller_preset


@pytest.mark.parametrize("name", sorted(PPO_PRESETS))
def test_every_preset_is_valid_and_found_by_name(name: str) -> None:
    preset = controller_preset(name)
    assert preset is PPO_PRESETS[name]
    assert preset.name == name
    assert isinstance(preset.ppo, PPOConfig)
    assert preset.hidden_size >= 1 and preset.batch_size >= 1
    assert preset.summary
    with pytest.raises(dataclasses.FrozenInstanceError):
        preset.hidden_size = 1  # type: ignore[misc]


def test_paper_preset_is_the_papers_settings() -> None:
    # Cubuk et al. (2019), Sec. 3: LSTM 100, lr 0.00035, entropy penalty 1e-5, EMA baseline 0.95.
    paper = controller_preset("paper")
    assert paper.hidden_size == 100
    assert paper.ppo == PPOConfig()
    assert (paper.ppo.learning_rate, paper.ppo.entropy_weight, paper.ppo.baseline_decay) == (0.00035, 1e-5, 0.95)


def test_small_budget_differs_from_the_paper() -> None:
    small, paper = controller_preset("small_budget"), controller_preset("paper")
    assert small.ppo.learning_rate > 10 * paper.ppo.learning_rate
    assert small.hidden_size < paper.hidden_size


@pytest.mark.parametrize("bad", ["Paper", "small", "", None, 3])
def test_unknown_preset_names_the_field(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        controller_preset(bad)  # type: ignore[arg-type]
    assert info.value.field == "preset"


def test_preset_validates_its_fields() -> None:
    with pytest.raises(ConfigError):
        ControllerPreset(name="x", hidden_size=0, ppo=PPOConfig(), batch_size=10, summary="-")
    with pytest.raises(ConfigError):
        ControllerPreset(name="x", hidden_size=8, ppo=PPOConfig(), batch_size=True, summary="-")
