"""OptunaHub package: AutoAugment's PPO-trained LSTM controller sampler (from optnas)."""

from optnas.samplers import PPOSampler

__all__ = ["PPOSampler"]
