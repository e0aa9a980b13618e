"""The typed ``[sampler]`` sections of the study kinds, parsed once when the study file is read.

Each study kind names its section class in the registry (:mod:`optnas.studies._kinds`):

* ``jointnas`` / ``autotrain``: :class:`JointNASSamplerSection`, the keyword arguments of
  :class:`optnas.samplers.JointNASSampler` that a study file sets (its sub-tables
  ``[sampler.predictor]`` and ``[sampler.ga]`` are :class:`optnas.predictor.PredictorConfig` and
  :class:`optnas.evolution.GAConfig`);
* ``autoaugment``: :class:`PPOSamplerSection`, those of :class:`optnas.samplers.PPOSampler`;
* ``randaugment``: :class:`GridSamplerSection`, which has no key (the grid is ``[augment] n, m``).

A key the section does not have is an error naming it (``sampler.bogus=3: unknown key; ...``), as
is a value of the wrong type or out of range (``sampler.batch_size=0: must be a positive
integer``). The sampler is seeded by ``study.seed`` and constrained by ``[constraints]``, so
``sampler.seed`` and ``sampler.constraints`` say so. A key that is not given keeps the sampler's
own default (the field is ``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from optnas import _validate as v
from optnas._errors import ConfigError
from optnas.studies._sections import _opt, _Section

if TYPE_CHECKING:  # imported when given (PredictorConfig's module imports torch)
    from optnas.evolution import GAConfig
    from optnas.predictor import PredictorConfig

__all__ = [
    "GridSamplerSection",
    "JointNASSamplerSection",
    "PPOSamplerSection",
    "SamplerSection",
    "remap_sampler_error",
]

#: Keys that belong elsewhere in a study file, and where.
_ELSEWHERE = {
    "seed": "the sampler is seeded by study.seed; remove it",
    "constraints": "constraints go in the [constraints] table",
}


@dataclass(frozen=True, eq=False)
class SamplerSection(_Section):
    where: ClassVar[str] = "sampler"

    @classmethod
    def unknown_key(cls, key: str, value: Any) -> ConfigError:
        if key in _ELSEWHERE:
            return ConfigError(f"sampler.{key}", value, _ELSEWHERE[key])
        return ConfigError(f"sampler.{key}", value, f"unknown key; expected one of {sorted(cls._names())}")

    def kwargs(self) -> dict[str, Any]:
        """The given keys as the sampler's keyword arguments."""
        return dict(self.items())


def _number(where: str, value: Any, low: float, *, open_low: bool = False, high: float | None = None) -> None:
    if value is not None:
        v.number(where, value, low=low, high=high, low_open=open_low)


@dataclass(frozen=True, eq=False)
class JointNASSamplerSection(SamplerSection):
    """``[sampler]`` of a ``jointnas`` or ``autotrain`` study (FBNetV3 Alg. 1; see ``JointNASSampler``).

    Attributes:
        batch_size: ``m``, candidates per stage-1 batch.
        n_batches: ``T``, stage-1 batches.
        pool_size: ``n``, feasible QMC candidates scored per batch.
        final_batch_size: ``K``, stage-2 candidates (0 disables stage 2).
        n_startup_trials: size of the space-filling first batch.
        acquisition: ``"paper"``, ``"local"`` or ``"ensemble"``.
        cost_filter: ``"auto"``, ``"exact"`` or ``"predicted"``.
        trust_region: stage-2 GA radius around the best trials, in typical spacings
            (``false``: none, the paper's GA).
        early_stopping_tau: Kendall tau an epoch budget's ranking must reach.
        diversity: minimum distance between one batch's candidates (0 disables).
        wait_timeout: seconds a pick waits for a lower-numbered trial of another worker that is
            still picking its candidate (never for a training).
        poll_interval: seconds between those checks.
        predictor: ``[sampler.predictor]``, a :class:`~optnas.predictor.PredictorConfig`.
        ga: ``[sampler.ga]``, a :class:`~optnas.evolution.GAConfig`.
    """

    batch_size: int | None = None
    n_batches: int | None = None
    pool_size: int | None = None
    final_batch_size: int | None = None
    n_startup_trials: int | None = None
    acquisition: str | None = None
    cost_filter: str | None = None
    trust_region: float | bool | None = None
    early_stopping_tau: float | None = None
    diversity: float | None = None
    wait_timeout: float | None = None
    poll_interval: float | None = None
    predictor: PredictorConfig | None = None
    ga: GAConfig | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "n_batches", "pool_size", "n_startup_trials"):
            _opt(f"sampler.{name}", getattr(self, name), v.positive_int)
        _opt("sampler.final_batch_size", self.final_batch_size, v.non_negative_int)
        _opt("sampler.acquisition", self.acquisition, v.string)
        _opt("sampler.cost_filter", self.cost_filter, v.string)
        _number("sampler.early_stopping_tau", self.early_stopping_tau, -1.0, high=1.0)
        _number("sampler.diversity", self.diversity, 0.0)
        if self.trust_region is not False:  # false: no trust region (TOML has no null)
            _number("sampler.trust_region", self.trust_region, 0.0, open_low=True)
        _number("sampler.wait_timeout", self.wait_timeout, 0.0)
        _number("sampler.poll_interval", self.poll_interval, 0.0, open_low=True)
        if self.predictor is not None:  # imported only when given: PredictorConfig's module imports torch
            from optnas.predictor import PredictorConfig

            if not isinstance(self.predictor, PredictorConfig):
                object.__setattr__(
                    self, "predictor", v.build_section("sampler.predictor", self.predictor, PredictorConfig)
                )
        if self.ga is not None:
            from optnas.evolution import GAConfig

            if not isinstance(self.ga, GAConfig):
                object.__setattr__(self, "ga", v.build_section("sampler.ga", self.ga, GAConfig))

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``JointNASSampler`` (``predictor`` is ``predictor_config``, ``ga`` ``ga_config``)."""
        renamed = {"predictor": "predictor_config", "ga": "ga_config"}
        out = {renamed.get(key, key): value for key, value in self.items()}
        if out.get("trust_region") is False:
            out["trust_region"] = None
        return out


@dataclass(frozen=True, eq=False)
class PPOSamplerSection(SamplerSection):
    """``[sampler]`` of an ``autoaugment`` study: the PPO controller (AutoAugment Sec. 3; ``PPOSampler``).

    Attributes:
        preset: the named settings the others default to (``PPOSampler``'s ``preset``:
            ``"paper"``, the default, or ``"small_budget"``).
        batch_size: completed trials per PPO update.
        learning_rate: the controller's learning rate (paper: 0.00035).
        entropy_weight: entropy penalty (paper: 1e-5).
        baseline_decay: weight of the reward baseline's moving average, in [0, 1) (paper: 0.95).
        clip: PPO clipping range, in (0, 1].
        hidden_size: LSTM hidden units (paper: 100).
        ppo_epochs: optimization epochs per update.
    """

    preset: str | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    entropy_weight: float | None = None
    baseline_decay: float | None = None
    clip: float | None = None
    hidden_size: int | None = None
    ppo_epochs: int | None = None

    def __post_init__(self) -> None:
        _opt("sampler.preset", self.preset, v.string)
        for name in ("batch_size", "hidden_size", "ppo_epochs"):
            _opt(f"sampler.{name}", getattr(self, name), v.positive_int)
        _number("sampler.learning_rate", self.learning_rate, 0.0, open_low=True)
        _number("sampler.entropy_weight", self.entropy_weight, 0.0)
        _number("sampler.baseline_decay", self.baseline_decay, 0.0, high=1.0)
        if self.baseline_decay is not None and self.baseline_decay >= 1.0:
            raise ConfigError("sampler.baseline_decay", self.baseline_decay, "must be < 1")
        _number("sampler.clip", self.clip, 0.0, open_low=True, high=1.0)


@dataclass(frozen=True, eq=False)
class GridSamplerSection(SamplerSection):
    """``[sampler]`` of a ``randaugment`` study: none; the (N, M) grid is set by ``[augment] n, m``."""

    @classmethod
    def unknown_key(cls, key: str, value: Any) -> ConfigError:
        return ConfigError(
            f"sampler.{key}", value, "a randaugment study grid-searches N and M; set the grid with [augment] n and m"
        )


def remap_sampler_error(exc: ConfigError, section: _Section, aliases: dict[str, str] | None = None) -> ConfigError:
    """A sampler constructor's error on one of ``section``'s keys, named ``sampler.<key>``.

    ``aliases`` maps a constructor's own argument names to the section's keys (``epochs`` ->
    ``ppo_epochs``). An error on anything else is returned unchanged.
    """
    key = (aliases or {}).get(exc.field, exc.field)
    if key in section._names():
        return ConfigError(f"sampler.{key}", exc.value, exc.reason)
    return exc
