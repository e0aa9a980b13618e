"""The controller's decision schema: which categorical decisions it emits, in which order.

AutoAugment (Cubuk et al., 2019, Sec. 3, "Search space details") searches policies made of
5 sub-policies, each applying 2 image operations in sequence. Every operation is described by
three decisions: its type (one of 16 operations), the probability of applying it (11 uniformly
spaced bins) and its magnitude (10 uniformly spaced bins), so the controller emits
5 x 2 x 3 = 30 softmax decisions. Each decision is exposed to Optuna as a categorical
parameter with a readable name (``sp{i}_op{j}_type``, ``sp{i}_op{j}_prob``, ``sp{i}_op{j}_mag``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

from optuna.distributions import CategoricalDistribution

from optnas._errors import ConfigError

__all__ = [
    "AUTOAUGMENT_OPS",
    "NUM_MAGNITUDE_BINS",
    "NUM_OPS_PER_SUBPOLICY",
    "NUM_PROBABILITY_BINS",
    "NUM_SUBPOLICIES",
    "Choice",
    "Decision",
    "DecisionSchema",
    "autoaugment_schema",
]

Choice: TypeAlias = bool | int | float | str | None

#: The 16 operations of AutoAugment's search space (Cubuk et al., 2019, Sec. 3 and Table 1 of
#: the appendix), in the paper's order. These strings are the values of ``sp{i}_op{j}_type``.
AUTOAUGMENT_OPS: tuple[str, ...] = (
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Rotate",
    "AutoContrast",
    "Invert",
    "Equalize",
    "Solarize",
    "Posterize",
    "Contrast",
    "Color",
    "Brightness",
    "Sharpness",
    "Cutout",
    "SamplePairing",
)
NUM_SUBPOLICIES = 5
NUM_OPS_PER_SUBPOLICY = 2
NUM_PROBABILITY_BINS = 11
NUM_MAGNITUDE_BINS = 10


@dataclass(frozen=True)
class Decision:
    """One categorical decision of the controller: an Optuna parameter name and its choices.

    Args:
        name: The Optuna parameter name (for example ``"sp0_op1_type"``).
        choices: The values the decision can take; the controller's softmax has one output per
            choice, and the Optuna parameter is ``CategoricalDistribution(choices)``.

    Raises:
        ConfigError: If the name is empty, the choices are empty, repeated, or not valid
            Optuna categorical values (None, bool, int, float, str).
    """

    name: str
    choices: tuple[Choice, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError("Decision.name", self.name, "must be a non-empty string")
        if not isinstance(self.choices, tuple) or not self.choices:
            raise ConfigError(f"{self.name}.choices", self.choices, "must be a non-empty tuple")
        for choice in self.choices:
            if choice is not None and not isinstance(choice, bool | int | float | str):
                raise ConfigError(
                    f"{self.name}.choices",
                    choice,
                    "each choice must be None, bool, int, float or str",
                )
        if len(set(map(_choice_key, self.choices))) != len(self.choices):
            raise ConfigError(f"{self.name}.choices", self.choices, "choices must be distinct")

    @property
    def distribution(self) -> CategoricalDistribution:
        """The Optuna distribution a trial suggests this decision with."""
        return CategoricalDistribution(self.choices)


def _choice_key(choice: Choice) -> tuple[str, Choice]:
    # 1, 1.0 and True compare equal in Python; keep the type so they count as distinct choices.
    return (type(choice).__name__, choice)


@dataclass(frozen=True)
class DecisionSchema:
    """The ordered decisions the controller emits, one softmax step per decision.

    Args:
        decisions: The decisions in emission order. Names must be unique.

    Raises:
        ConfigError: If ``decisions`` is empty, contains something that is not a
            :class:`Decision`, or repeats a name.
    """

    decisions: tuple[Decision, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.decisions, tuple) or not self.decisions:
            raise ConfigError("decisions", self.decisions, "must be a non-empty tuple of Decision")
        seen: set[str] = set()
        for decision in self.decisions:
            if not isinstance(decision, Decision):
                raise ConfigError("decisions", decision, "each item must be a Decision")
            if decision.name in seen:
                raise ConfigError("decisions", decision.name, "parameter names must be unique")
            seen.add(decision.name)

    @classmethod
    def of(cls, decisions: Sequence[Decision] | DecisionSchema) -> DecisionSchema:
        """Build a schema from a sequence of decisions (or return an existing schema)."""
        if isinstance(decisions, DecisionSchema):
            return decisions
        if isinstance(decisions, str) or not isinstance(decisions, Sequence):
            raise ConfigError("decisions", decisions, "must be a sequence of Decision")
        return cls(tuple(decisions))

    def __len__(self) -> int:
        return len(self.decisions)

    def __iter__(self) -> Iterator[Decision]:
        return iter(self.decisions)

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names in emission order."""
        return tuple(d.name for d in self.decisions)

    @property
    def num_choices(self) -> tuple[int, ...]:
        """Softmax width of every step, in emission order."""
        return tuple(len(d.choices) for d in self.decisions)

    def distributions(self) -> dict[str, CategoricalDistribution]:
        """The Optuna search space of the schema, in emission order."""
        return {d.name: d.distribution for d in self.decisions}

    def values(self, actions: Sequence[int]) -> dict[str, Choice]:
        """Map action indices (one per decision) to Optuna parameter values.

        Raises:
            ConfigError: If the number of actions or an index is out of range.
        """
        if len(actions) != len(self.decisions):
            raise ConfigError("actions", list(actions), f"expected {len(self.decisions)} indices")
        out: dict[str, Choice] = {}
        for decision, index in zip(self.decisions, actions, strict=True):
            if not 0 <= index < len(decision.choices):
                raise ConfigError(decision.name, index, "action index out of range")
            out[decision.name] = decision.choices[index]
        return out

    @property
    def fingerprint(self) -> str:
        """A short stable digest of names and choices, stored with each rollout.

        Rollouts recorded under a different schema are never replayed into a controller.
        """
        payload = json.dumps(
            [[d.name, [_choice_key(c) for c in d.choices]] for d in self.decisions],
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def autoaugment_schema() -> DecisionSchema:
    """The 30 decisions of AutoAugment's controller (Cubuk et al., 2019, Sec. 3).

    For sub-policy ``i`` in ``range(5)`` and operation ``j`` in ``range(2)``, in that order:
    ``sp{i}_op{j}_type`` (the 16 op names of :data:`AUTOAUGMENT_OPS`), ``sp{i}_op{j}_prob``
    (bins ``0..10``; probability ``bin / 10``) and ``sp{i}_op{j}_mag`` (bins ``0..9``).

    Returns:
        The schema; its names and choices are exactly what ``optnas.augment.suggest_policy``
        suggests.
    """
    decisions: list[Decision] = []
    for i in range(NUM_SUBPOLICIES):
        for j in range(NUM_OPS_PER_SUBPOLICY):
            decisions.append(Decision(f"sp{i}_op{j}_type", AUTOAUGMENT_OPS))
            decisions.append(Decision(f"sp{i}_op{j}_prob", tuple(range(NUM_PROBABILITY_BINS))))
            decisions.append(Decision(f"sp{i}_op{j}_mag", tuple(range(NUM_MAGNITUDE_BINS))))
    return DecisionSchema(tuple(decisions))
