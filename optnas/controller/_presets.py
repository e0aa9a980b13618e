"""Named controller + PPO settings: the paper's, and a preset for a budget of a few hundred trials.

``"paper"`` is AutoAugment's (Cubuk et al., 2019, Sec. 3, "Search algorithm details"): a one-layer
LSTM with 100 hidden units trained by PPO with learning rate 0.00035, entropy penalty 1e-5 and an
EMA reward baseline of weight 0.95. The paper trained 15,000 child models; with a few hundred
rollouts these settings barely move the controller from uniform sampling.

``"small_budget"`` was chosen by measurement (``python -m benchmarks.ppo_preset``, recorded in
``benchmarks/results/ppo_preset.md``): on the synthetic policy reward (fraction of the 30
decisions equal to a fixed target policy), clean and with Gaussian reward noise of sd 0.05, over
5 seeds and 200 rollouts in PPO batches of 10, among 11 settings (learning rate 0.00035-0.03,
hidden 32-100, entropy weight 1e-5-1e-2, baseline weight 0.5-0.95) it had the highest
last-quarter reward (0.549 clean, 0.477 noisy; the paper's settings: 0.097 and 0.093, no better
than uniform sampling's 0.085) and learned in every seed. It keeps the paper's clipped objective
(Schulman et al., 2017, Eq. 7), entropy weight and per-decision softmax heads, and changes three
numbers: a 32-unit LSTM, learning rate 0.01, and a faster reward baseline (EMA weight 0.8, so the
baseline follows the rising rewards of a policy that learns within a few updates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from optnas._errors import ConfigError
from optnas.controller._ppo import PPOConfig

__all__ = ["PPO_PRESETS", "ControllerPreset", "controller_preset"]


@dataclass(frozen=True)
class ControllerPreset:
    """A named setting of the policy controller and its PPO update.

    Attributes:
        name: The preset's key in :data:`PPO_PRESETS`.
        hidden_size: LSTM hidden units (and embedding width).
        ppo: The PPO update settings.
        batch_size: Completed rollouts per PPO update.
        summary: One line on where the numbers come from.
    """

    name: str
    hidden_size: int
    ppo: PPOConfig
    batch_size: int
    summary: str

    def __post_init__(self) -> None:
        for field in ("hidden_size", "batch_size"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(field, value, "must be an int >= 1")
        if not isinstance(self.ppo, PPOConfig):
            raise ConfigError("ppo", type(self.ppo).__name__, "must be a PPOConfig")


PAPER = ControllerPreset(
    name="paper",
    hidden_size=100,
    ppo=PPOConfig(),
    batch_size=10,
    summary="AutoAugment (Cubuk et al., 2019, Sec. 3): LSTM 100, lr 0.00035, entropy 1e-5, baseline EMA 0.95",
)

SMALL_BUDGET = ControllerPreset(
    name="small_budget",
    hidden_size=32,
    ppo=PPOConfig(learning_rate=0.01, entropy_weight=1e-5, baseline_decay=0.8),
    batch_size=10,
    summary="measured for ~200 rollouts (benchmarks/ppo_preset.md): LSTM 32, lr 0.01, baseline EMA 0.8",
)

#: Every preset by name. ``"paper"`` is :class:`~optnas.samplers.PPOSampler`'s default.
PPO_PRESETS: Mapping[str, ControllerPreset] = MappingProxyType({p.name: p for p in (PAPER, SMALL_BUDGET)})


def controller_preset(name: str) -> ControllerPreset:
    """The preset called ``name``.

    Raises:
        ConfigError: If ``name`` is not a key of :data:`PPO_PRESETS`.
    """
    if not isinstance(name, str) or name not in PPO_PRESETS:
        raise ConfigError("preset", name, f"unknown PPO preset; expected one of {sorted(PPO_PRESETS)}")
    return PPO_PRESETS[name]
