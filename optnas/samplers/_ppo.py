"""``PPOSampler``: AutoAugment's PPO-trained LSTM controller as an Optuna sampler.

Cubuk et al. (2019), Sec. 3 ("Search algorithm details"): a one-layer LSTM controller with 100
hidden units emits the 30 softmax decisions of a policy (5 sub-policies x 2 operations x
(type, probability bin, magnitude bin)); it is trained with PPO (learning rate 0.00035, entropy
penalty 1e-5) on the child model's validation accuracy, with an exponential moving average of
rewards (weight 0.95) as baseline. Here one trial is one rollout: its decisions are categorical
Optuna parameters and its objective value is the reward.

State lives in storage (DESIGN.md, "Sampler state lives in storage"). Each trial the sampler
proposes carries, in its system attributes, the sampled action indices, their log-probabilities
under the sampling policy and that policy's version (its update count). The controller is a pure
function of the seed and the stored trials: completed rollouts, in order of completion, form
batches of ``batch_size``, and every full batch is one PPO update; any process rebuilds the same
controller by replaying those updates (cached in-process, so only new batches are replayed).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from optnas._errors import ConfigError
from optnas._keys import ROLLOUT_KEY
from optnas.controller import (
    Decision,
    DecisionSchema,
    PolicyController,
    PPOConfig,
    PPOTrainer,
    autoaugment_schema,
    controller_preset,
)

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["ROLLOUT_KEY", "PPOSampler", "PPOState"]

#: Trial system attribute holding a rollout: ``{"schema": <schema fingerprint>, "version":
#: <update count of the sampling policy>, "actions": [<index per decision>], "log_probs":
#: [<log-probability per decision>]}`` -- about 1 kB for AutoAugment's 30 decisions, one write.

# SeedSequence spawn keys that separate the independent random streams derived from a seed.
_INIT_STREAM = 0
_TRIAL_STREAM = 1


def _seed_from(entropy: int, *spawn_key: int) -> int:
    sequence = np.random.SeedSequence(entropy=entropy, spawn_key=spawn_key)
    return int(sequence.generate_state(1, dtype=np.uint64)[0])


def _fresh_entropy() -> int:
    # OS entropy, not a global RNG's state.
    return int(np.random.SeedSequence().entropy)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PPOState:
    """A snapshot of the controller rebuilt from a study's stored trials.

    Attributes:
        update_count: PPO updates applied (the version of the current policy).
        baseline: The reward baseline (None before the first update).
        trial_numbers: Numbers of the trials consumed by the updates, in batch order.
        parameters: A detached copy of the controller's weights.
        greedy_params: The most likely policy (arg-max at every step) as parameter values.
    """

    update_count: int
    baseline: float | None
    trial_numbers: tuple[int, ...]
    parameters: dict[str, torch.Tensor]
    greedy_params: dict[str, Any]


@dataclass
class _Rollout:
    number: int
    actions: list[int]
    log_probs: list[float]
    reward: float


class _Cache:
    """The in-process controller of one study, with the trials it has consumed."""

    def __init__(self, storage: object, study_id: int, trainer: PPOTrainer) -> None:
        self.storage = storage
        self.study_id = study_id
        self.trainer = trainer
        self.consumed: list[int] = []


class PPOSampler(BaseSampler):
    """Sampler that proposes decision sequences from a PPO-trained LSTM controller.

    The sampler owns the parameters of its decision schema (by default AutoAugment's 30
    decisions, exactly those ``optnas.augment.suggest_policy`` suggests). They are sampled
    jointly by :meth:`sample_relative`; every other parameter falls back to
    ``independent_sampler``. The reward of a trial is its objective value (negated when the study
    minimizes). Only trials that used the proposal unchanged (every schema parameter suggested
    with the proposed value) and completed with a finite value are rollouts. Completed rollouts
    are grouped, in order of completion, into batches of ``batch_size``; each full batch is one
    PPO update (AutoAugment, Sec. 3).

    Randomness: the controller's initial weights derive from ``seed``; the decisions of trial
    ``n`` are drawn from a generator seeded by ``(seed, n)`` (a stream that :meth:`reseed_rng`
    replaces) from the controller rebuilt from the stored trials. Proposals are therefore a
    deterministic function of the seed, the trial number and the stored trials: a resumed study
    does not repeat earlier proposals and workers sharing a seed draw different decisions. Give
    every worker of a study the same ``seed`` so that all of them rebuild the same controller.

    Example:
        .. code-block:: python

            import optuna
            from optnas.samplers import PPOSampler
            from optnas.augment import suggest_policy

            def objective(trial):
                policy = suggest_policy(trial)
                return train_child_model(policy)  # validation accuracy

            study = optuna.create_study(direction="maximize", sampler=PPOSampler(seed=0))
            study.optimize(objective, n_trials=500)

    Settings: ``preset`` names the defaults (:data:`~optnas.controller.PPO_PRESETS`). The default,
    ``"paper"``, is AutoAugment's (Sec. 3: LSTM with 100 hidden units, learning rate 0.00035,
    entropy penalty 1e-5, EMA baseline weight 0.95), which needs thousands of trials to move the
    controller. ``"small_budget"`` (LSTM with 32 hidden units, learning rate 0.01, baseline EMA weight
    0.8) was chosen by measurement for budgets of a few hundred trials
    (``benchmarks/results/ppo_preset.md``). Every setting passed explicitly overrides the preset's
    value.

    Args:
        seed: Seed of the controller initialisation and of every trial's sampling stream.
            ``None`` draws one from OS entropy.
        preset: Name of the settings the other arguments default to (``"paper"`` or
            ``"small_budget"``).
        batch_size: Completed rollouts per PPO update (both presets: 10).
        learning_rate: Adam learning rate (paper: 0.00035).
        entropy_weight: Entropy penalty weight (paper: 1e-5).
        baseline_decay: EMA weight of the reward baseline (paper: 0.95).
        clip: PPO clipping range epsilon (0.2).
        hidden_size: LSTM hidden units (paper: 100).
        ppo_epochs: Gradient steps per batch (4).
        decisions: The decision schema (sequence of :class:`~optnas.controller.Decision` or a
            :class:`~optnas.controller.DecisionSchema`); ``None`` means AutoAugment's.
        independent_sampler: Sampler for parameters outside the schema; defaults to
            ``RandomSampler(seed=seed)``.

    Raises:
        ConfigError: If any argument is invalid (an unknown ``preset`` included).
    """

    #: The trial system attribute each proposal's rollout is stored under.
    ROLLOUT_KEY: ClassVar[str] = ROLLOUT_KEY

    def __init__(
        self,
        *,
        seed: int | None = None,
        preset: str = "paper",
        batch_size: int | None = None,
        learning_rate: float | None = None,
        entropy_weight: float | None = None,
        baseline_decay: float | None = None,
        clip: float | None = None,
        hidden_size: int | None = None,
        ppo_epochs: int | None = None,
        decisions: Sequence[Decision] | DecisionSchema | None = None,
        independent_sampler: BaseSampler | None = None,
    ) -> None:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ConfigError("seed", seed, "must be None or an int >= 0")
        defaults = controller_preset(preset)
        batch_size = defaults.batch_size if batch_size is None else batch_size
        hidden_size = defaults.hidden_size if hidden_size is None else hidden_size
        ppo_epochs = defaults.ppo.epochs if ppo_epochs is None else ppo_epochs
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError("batch_size", batch_size, "must be an int >= 1")
        if isinstance(hidden_size, bool) or not isinstance(hidden_size, int) or hidden_size < 1:
            raise ConfigError("hidden_size", hidden_size, "must be an int >= 1")
        if isinstance(ppo_epochs, bool) or not isinstance(ppo_epochs, int) or ppo_epochs < 1:
            raise ConfigError("ppo_epochs", ppo_epochs, "must be an int >= 1")
        self._preset = defaults.name
        self._config = PPOConfig(
            learning_rate=defaults.ppo.learning_rate if learning_rate is None else learning_rate,
            entropy_weight=defaults.ppo.entropy_weight if entropy_weight is None else entropy_weight,
            clip=defaults.ppo.clip if clip is None else clip,
            baseline_decay=defaults.ppo.baseline_decay if baseline_decay is None else baseline_decay,
            epochs=ppo_epochs,
        )
        self._schema = autoaugment_schema() if decisions is None else DecisionSchema.of(decisions)
        if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
            raise ConfigError("independent_sampler", independent_sampler, "must be an optuna BaseSampler")
        self._seed = _fresh_entropy() if seed is None else seed
        self._stream_seed = self._seed
        self._batch_size = batch_size
        self._hidden_size = hidden_size
        self._search_space: dict[str, BaseDistribution] = dict(self._schema.distributions())
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._lock = threading.Lock()
        self._cache: _Cache | None = None

    # -- pickling: the lock cannot be pickled and the cache is only an optimisation ----------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_cache"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- public -----------------------------------------------------------------------------

    @property
    def schema(self) -> DecisionSchema:
        """The decisions this sampler owns, in emission order."""
        return self._schema

    @property
    def batch_size(self) -> int:
        """Completed rollouts per PPO update."""
        return self._batch_size

    @property
    def preset(self) -> str:
        """Name of the preset the settings not passed explicitly come from."""
        return self._preset

    @property
    def config(self) -> PPOConfig:
        """The PPO update settings in effect (the preset's, overridden by explicit arguments)."""
        return self._config

    @property
    def hidden_size(self) -> int:
        """LSTM hidden units of the controller."""
        return self._hidden_size

    def reseed_rng(self) -> None:
        """Replace the per-trial sampling stream (and reseed the independent sampler).

        The controller's initialisation seed is kept, so the controller rebuilt from storage
        stays the one that sampled the stored rollouts.
        """
        self._stream_seed = _fresh_entropy()
        self._independent_sampler.reseed_rng()

    def state(self, study: Study, *, version: int | None = None) -> PPOState:
        """Snapshot the controller rebuilt from ``study``'s stored trials.

        Args:
            study: The study whose completed rollouts define the controller.
            version: Number of PPO updates to replay (default: every full batch), for example
                the ``version`` stored in a trial's :data:`ROLLOUT_KEY` attribute.

        Raises:
            ConfigError: If ``version`` exceeds the number of full batches stored.
        """
        with self._lock:
            cache = self._synchronize(study)
            available = cache.trainer.update_count
            if version is not None and version != available:
                if isinstance(version, bool) or not isinstance(version, int):
                    raise ConfigError("version", version, "must be an int")
                if not 0 <= version <= available:
                    raise ConfigError("version", version, f"must lie in [0, {available}]")
                cache = self._new_cache(study)
                self._replay(cache, self._rollouts(study), version)
            actions, _ = cache.trainer.controller.greedy()
            return PPOState(
                update_count=cache.trainer.update_count,
                baseline=cache.trainer.baseline,
                trial_numbers=tuple(cache.consumed),
                parameters={k: v.detach().clone() for k, v in cache.trainer.controller.state_dict().items()},
                greedy_params=self._schema.values(actions[0].tolist()),
            )

    # -- BaseSampler ------------------------------------------------------------------------

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return dict(self._search_space)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._raise_if_multi_objective(study)
        owned = [name for name in search_space if self._search_space.get(name) == search_space[name]]
        params: dict[str, Any] = {}
        if owned:
            # A retried trial (the heartbeat retry callback copies system attributes) re-evaluates its
            # failed original's proposal: keep that rollout, it is still on-policy data.
            inherited = self._parse(trial.system_attrs.get(ROLLOUT_KEY))
            actions = inherited[0] if inherited is not None else self._sample_and_store(study, trial)
            values = self._schema.values(actions)
            params.update((name, values[name]) for name in owned)
        for name, distribution in search_space.items():
            if name not in params:
                params[name] = self._independent_sampler.sample_independent(study, trial, name, distribution)
        return params

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._raise_if_multi_objective(study)
        return self._independent_sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent_sampler.before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent_sampler.after_trial(study, trial, state, values)

    # -- internals --------------------------------------------------------------------------

    def _sample_and_store(self, study: Study, trial: FrozenTrial) -> list[int]:
        with self._lock:
            cache = self._synchronize(study)
            generator = torch.Generator().manual_seed(_seed_from(self._stream_seed, _TRIAL_STREAM, trial.number))
            actions_t, log_probs_t = cache.trainer.controller.sample(generator)
            version = cache.trainer.update_count
        actions = [int(a) for a in actions_t[0].tolist()]
        rollout: dict[str, Any] = {
            "schema": self._schema.fingerprint,
            "version": version,
            "actions": actions,
            "log_probs": [float(x) for x in log_probs_t[0].tolist()],
        }
        study._storage.set_trial_system_attr(trial._trial_id, ROLLOUT_KEY, rollout)
        return actions

    def _parse(self, stored: Any) -> tuple[list[int], list[float]] | None:
        """``(actions, log_probs)`` of a stored rollout of this schema, or None if unusable."""
        if not isinstance(stored, dict) or stored.get("schema") != self._schema.fingerprint:
            return None
        actions, log_probs = stored.get("actions"), stored.get("log_probs")
        n = len(self._schema)
        if not isinstance(actions, list) or not isinstance(log_probs, list):
            return None
        if len(actions) != n or len(log_probs) != n:
            return None
        if not all(isinstance(a, int) and 0 <= a < k for a, k in zip(actions, self._schema.num_choices, strict=True)):
            return None
        if not all(isinstance(x, float) and math.isfinite(x) for x in log_probs):
            return None
        return actions, log_probs

    @staticmethod
    def _raise_if_multi_objective(study: Study) -> None:
        if study._is_multi_objective():
            raise ValueError("PPOSampler supports single-objective studies only: the reward is one value.")

    def _new_cache(self, study: Study) -> _Cache:
        generator = torch.Generator().manual_seed(_seed_from(self._seed, _INIT_STREAM))
        controller = PolicyController(self._schema.num_choices, hidden_size=self._hidden_size, generator=generator)
        return _Cache(study._storage, study._study_id, PPOTrainer(controller, self._config))

    def _synchronize(self, study: Study) -> _Cache:
        """Replay the PPO updates of all full batches of stored rollouts not yet applied."""
        rollouts = self._rollouts(study)
        cache = self._cache
        if (
            cache is None
            or cache.storage is not study._storage
            or cache.study_id != study._study_id
            or [r.number for r in rollouts[: len(cache.consumed)]] != cache.consumed
        ):
            # A rollout completed "in the past" (clock skew, a slow commit) or another study:
            # the cached replay is not a prefix of the stored history, so start again.
            cache = self._new_cache(study)
        self._replay(cache, rollouts, len(rollouts) // self._batch_size)
        self._cache = cache
        return cache

    def _replay(self, cache: _Cache, rollouts: list[_Rollout], n_batches: int) -> None:
        """Apply PPO updates to ``cache`` until it has consumed ``n_batches`` full batches."""
        size = self._batch_size
        for start in range(len(cache.consumed), n_batches * size, size):
            batch = rollouts[start : start + size]
            cache.trainer.update([r.actions for r in batch], [r.log_probs for r in batch], [r.reward for r in batch])
            cache.consumed.extend(r.number for r in batch)

    def _rollouts(self, study: Study) -> list[_Rollout]:
        """Usable rollouts of the study in order of completion (time, then trial number)."""
        sign = -1.0 if study.direction == StudyDirection.MINIMIZE else 1.0
        names = self._schema.names
        found: list[tuple[Any, int, _Rollout]] = []
        for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            parsed = self._parse(trial.system_attrs.get(ROLLOUT_KEY))
            if parsed is None or trial.value is None or not math.isfinite(trial.value):
                continue
            actions, log_probs = parsed
            proposed = self._schema.values(actions)
            if any(name not in trial.params or trial.params[name] != proposed[name] for name in names):
                continue
            rollout = _Rollout(trial.number, actions, log_probs, sign * trial.value)
            found.append((trial.datetime_complete, trial.number, rollout))
        found.sort(key=lambda item: (item[0], item[1]))
        return [item[2] for item in found]
