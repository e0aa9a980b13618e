"""Optuna samplers implemented by optnas.

- :class:`JointNASSampler`: FBNetV3 (Dai et al., 2021) Algorithm 1, stage 1 and 2.
- :class:`PPOSampler`: AutoAugment's (Cubuk et al., 2019) PPO-trained LSTM controller.

Both are loaded lazily so that ``import optnas.samplers`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["JointNASSampler", "PPOSampler"]

_LAZY = {
    "JointNASSampler": "optnas.samplers._jointnas",
    "PPOSampler": "optnas.samplers._ppo",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'optnas.samplers' has no attribute {name!r}")
