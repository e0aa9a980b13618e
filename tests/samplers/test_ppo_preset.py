"""PPOSampler presets: the paper's settings are the default; ``small_budget`` learns within 200 trials."""

from __future__ import annotations

import math
from collections.abc import Iterator

import optuna
import pytest
import torch
from scipy.stats import mannwhitneyu

from optnas import ConfigError
from optnas.controller import PolicyController, PPOConfig, autoaugment_schema, controller_preset
from optnas.samplers import PPOSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)
SCHEMA = autoaugment_schema()
TARGET = {d.name: d.choices[(7 * k + 3) % len(d.choices)] for k, d in enumerate(SCHEMA)}
LOG_N = torch.tensor([math.log(n) for n in SCHEMA.num_choices])


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def match_fraction(trial: optuna.Trial) -> float:
    """Synthetic reward: the fraction of the 30 decisions equal to TARGET's (uniform: 0.0845)."""
    params = {d.name: trial.suggest_categorical(d.name, d.choices) for d in SCHEMA}
    return sum(params[n] == TARGET[n] for n in SCHEMA.names) / len(SCHEMA)


def kl_to_uniform(sampler: PPOSampler, study: optuna.Study) -> float:
    """KL(controller || uniform) of the whole policy, nats (Monte Carlo over 256 sampled policies)."""
    controller = PolicyController(
        SCHEMA.num_choices, hidden_size=sampler.hidden_size, generator=torch.Generator().manual_seed(0)
    )
    controller.load_state_dict(sampler.state(study).parameters)
    with torch.no_grad():
        actions, _ = controller.sample(torch.Generator().manual_seed(1), batch=256)
        _, entropies = controller.evaluate(actions)
    return float((LOG_N - entropies).sum(dim=1).mean())


def test_default_is_the_paper_preset() -> None:
    sampler = PPOSampler(seed=0)
    assert sampler.preset == "paper"
    assert sampler.config == PPOConfig()
    assert sampler.hidden_size == 100 and sampler.batch_size == 10


def test_small_budget_preset_settings_and_explicit_overrides() -> None:
    preset = controller_preset("small_budget")
    sampler = PPOSampler(seed=0, preset="small_budget")
    assert sampler.config == preset.ppo
    assert (sampler.hidden_size, sampler.batch_size) == (preset.hidden_size, preset.batch_size)
    custom = PPOSampler(seed=0, preset="small_budget", learning_rate=0.002, batch_size=5, clip=0.1)
    assert (custom.config.learning_rate, custom.batch_size, custom.config.clip) == (0.002, 5, 0.1)
    assert custom.config.entropy_weight == preset.ppo.entropy_weight
    assert custom.hidden_size == preset.hidden_size


def test_unknown_preset_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        PPOSampler(seed=0, preset="fast")
    assert info.value.field == "preset"


def test_small_budget_seeded_runs_are_identical() -> None:
    studies = []
    for _ in range(2):
        study = optuna.create_study(direction="maximize", sampler=PPOSampler(seed=5, preset="small_budget"))
        study.optimize(match_fraction, n_trials=25)
        studies.append(study)
    assert [t.params for t in studies[0].trials] == [t.params for t in studies[1].trials]


def test_small_budget_moves_the_controller_and_late_beats_early() -> None:
    sampler = PPOSampler(seed=0, preset="small_budget")
    study = optuna.create_study(direction="maximize", sampler=sampler)
    assert kl_to_uniform(sampler, study) < 0.5  # starts near uniform sampling
    study.optimize(match_fraction, n_trials=200)
    values = [float(t.value) for t in study.trials if t.value is not None]
    early, late = values[:50], values[-50:]
    # benchmarks/results/ppo_preset.md (this run is its confirmation's clean seed 0): last quarter
    # 0.55-0.66 and KL about 60 nats over 3 seeds; the paper's settings stay at 0.09 and 0.1-0.3 nats.
    assert kl_to_uniform(sampler, study) > 10.0
    assert sum(late) / 50 > sum(early) / 50 + 0.2
    assert mannwhitneyu(late, early, alternative="greater").pvalue < 1e-6
