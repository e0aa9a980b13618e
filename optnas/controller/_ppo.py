"""Proximal Policy Optimization of the policy controller.

Cubuk et al. (2019), Sec. 3 ("Search algorithm details"): the controller is trained with PPO
(Schulman et al., 2017, Eq. 7, the clipped surrogate objective) with learning rate 0.00035 and an
entropy penalty of weight 0.00001; the reward baseline is an exponential moving average of
previous rewards with weight 0.95. Each rollout (one trial) is a single action of the policy: the
probability ratio is that of the whole decision sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from optnas._errors import ConfigError
from optnas.controller._lstm import PolicyController

__all__ = ["PPOConfig", "PPOTrainer", "UpdateStats"]


def _check_real(field: str, value: object, low: float, high: float, *, closed_low: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(field, value, "must be a finite number")
    if (value < low or (value == low and not closed_low)) or value > high:
        bracket = "[" if closed_low else "("
        raise ConfigError(field, value, f"must lie in {bracket}{low}, {high}]")


@dataclass(frozen=True)
class PPOConfig:
    """PPO settings; the defaults are AutoAugment's (Cubuk et al., 2019, Sec. 3).

    Args:
        learning_rate: Adam learning rate (paper: 0.00035).
        entropy_weight: Weight of the entropy bonus subtracted from the loss (paper: 1e-5).
        clip: PPO clipping range epsilon (Schulman et al., 2017: 0.2).
        baseline_decay: Weight of the old value in the reward EMA baseline (paper: 0.95).
        epochs: Gradient steps taken on each batch of rollouts.

    Raises:
        ConfigError: If a value is out of range.
    """

    learning_rate: float = 0.00035
    entropy_weight: float = 1e-5
    clip: float = 0.2
    baseline_decay: float = 0.95
    epochs: int = 4

    def __post_init__(self) -> None:
        _check_real("learning_rate", self.learning_rate, 0.0, math.inf, closed_low=False)
        _check_real("entropy_weight", self.entropy_weight, 0.0, math.inf, closed_low=True)
        _check_real("clip", self.clip, 0.0, 1.0, closed_low=False)
        _check_real("baseline_decay", self.baseline_decay, 0.0, 1.0, closed_low=True)
        if self.baseline_decay == 1.0:
            raise ConfigError("baseline_decay", self.baseline_decay, "must be < 1")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError("epochs", self.epochs, "must be an int >= 1")


@dataclass(frozen=True)
class UpdateStats:
    """Diagnostics of one PPO update.

    Attributes:
        baseline_before: Baseline the advantages were computed against.
        baseline_after: Baseline after folding in the batch's rewards.
        mean_reward: Mean reward of the batch.
        loss: Surrogate loss at the last epoch (before its gradient step).
        clip_fraction: Fraction of rollouts whose ratio was clipped at the last epoch.
    """

    baseline_before: float
    baseline_after: float
    mean_reward: float
    loss: float
    clip_fraction: float


class PPOTrainer:
    """Owns a controller's Adam optimiser and reward baseline and applies PPO updates.

    The update is a pure function of the controller state, the optimiser state, the baseline
    and the batch (full-batch gradient steps, no shuffling), so replaying the same batches on a
    controller built from the same generator state reproduces it bit for bit.

    Args:
        controller: The policy to train.
        config: PPO settings.
    """

    def __init__(self, controller: PolicyController, config: PPOConfig) -> None:
        self.controller = controller
        self.config = config
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=config.learning_rate)
        self.baseline: float | None = None
        self.update_count = 0

    def advantages(self, rewards: Sequence[float]) -> tuple[list[float], float, float]:
        """Advantages of a batch against the EMA baseline, and the baseline before/after.

        The baseline starts at the first batch's mean reward; after computing the batch's
        advantages it is updated reward by reward: ``b <- decay * b + (1 - decay) * r``.
        """
        before = sum(rewards) / len(rewards) if self.baseline is None else self.baseline
        after = before
        for reward in rewards:
            after = self.config.baseline_decay * after + (1.0 - self.config.baseline_decay) * reward
        return [r - before for r in rewards], before, after

    def update(
        self,
        actions: Sequence[Sequence[int]],
        old_log_probs: Sequence[Sequence[float]],
        rewards: Sequence[float],
    ) -> UpdateStats:
        """One PPO update from a batch of rollouts.

        Args:
            actions: Per rollout, the action index of every decision.
            old_log_probs: Per rollout, the log-probability of every action under the policy
                that sampled it.
            rewards: Per rollout, the reward (higher is better).

        Returns:
            Diagnostics of the update.

        Raises:
            ConfigError: If the batch is empty or its parts disagree in size.
        """
        if not rewards or not (len(actions) == len(old_log_probs) == len(rewards)):
            raise ConfigError("batch", (len(actions), len(old_log_probs), len(rewards)), "sizes must agree")
        advantages, before, after = self.advantages(rewards)
        action_t = torch.tensor(actions, dtype=torch.long)
        old_t = torch.tensor(old_log_probs, dtype=torch.float32).sum(dim=1)
        adv_t = torch.tensor(advantages, dtype=torch.float32)
        eps = self.config.clip
        loss_value = 0.0
        clip_fraction = 0.0
        self.controller.train()
        for _ in range(self.config.epochs):
            log_probs, entropies = self.controller.evaluate(action_t)
            ratio = torch.exp(log_probs.sum(dim=1) - old_t)
            clipped = torch.clamp(ratio, 1.0 - eps, 1.0 + eps)
            surrogate = torch.minimum(ratio * adv_t, clipped * adv_t)
            loss = -surrogate.mean() - self.config.entropy_weight * entropies.sum(dim=1).mean()
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
            self.optimizer.step()
            loss_value = float(loss.detach())
            clip_fraction = float(((ratio - clipped).abs() > 0).float().mean())
        self.baseline = after
        self.update_count += 1
        return UpdateStats(
            baseline_before=before,
            baseline_after=after,
            mean_reward=sum(rewards) / len(rewards),
            loss=loss_value,
            clip_fraction=clip_fraction,
        )
