"""AutoAugment's policy controller (Cubuk et al., 2019, Sec. 3): an LSTM trained with PPO.

- :class:`Decision` / :class:`DecisionSchema` / :func:`autoaugment_schema`: what the controller
  decides (torch-free).
- :class:`PolicyController`: the one-layer LSTM emitting softmax decisions.
- :class:`PPOConfig` / :class:`PPOTrainer`: the clipped-objective PPO update with an EMA baseline.
- :data:`PPO_PRESETS` / :func:`controller_preset`: named settings (``"paper"``, the default, and
  ``"small_budget"`` for a few hundred trials).

The torch-backed names are imported on first access, so the schema can be used without torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from optnas.controller._schema import (
    AUTOAUGMENT_OPS,
    NUM_MAGNITUDE_BINS,
    NUM_OPS_PER_SUBPOLICY,
    NUM_PROBABILITY_BINS,
    NUM_SUBPOLICIES,
    Choice,
    Decision,
    DecisionSchema,
    autoaugment_schema,
)

if TYPE_CHECKING:
    from optnas.controller._lstm import INIT_RANGE, PolicyController
    from optnas.controller._ppo import PPOConfig, PPOTrainer, UpdateStats
    from optnas.controller._presets import PPO_PRESETS, ControllerPreset, controller_preset

__all__ = [
    "AUTOAUGMENT_OPS",
    "INIT_RANGE",
    "NUM_MAGNITUDE_BINS",
    "NUM_OPS_PER_SUBPOLICY",
    "NUM_PROBABILITY_BINS",
    "NUM_SUBPOLICIES",
    "PPO_PRESETS",
    "Choice",
    "ControllerPreset",
    "Decision",
    "DecisionSchema",
    "PPOConfig",
    "PPOTrainer",
    "PolicyController",
    "UpdateStats",
    "autoaugment_schema",
    "controller_preset",
]

_LAZY = {
    "INIT_RANGE": "optnas.controller._lstm",
    "PolicyController": "optnas.controller._lstm",
    "PPOConfig": "optnas.controller._ppo",
    "PPOTrainer": "optnas.controller._ppo",
    "UpdateStats": "optnas.controller._ppo",
    "PPO_PRESETS": "optnas.controller._presets",
    "ControllerPreset": "optnas.controller._presets",
    "controller_preset": "optnas.controller._presets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optnas.controller' has no attribute {name!r}")
