"""AutoAugment policies: sub-policies of two ops, one sub-policy drawn per image.

AutoAugment (Cubuk et al. 2019, Sec. 3): a policy is a list of sub-policies; for every image
one sub-policy is chosen uniformly at random and its operations are applied in order, each
with its own probability, at its own magnitude bin.

The policy JSON format (``Policy.to_json``/``from_json``) is optnas' own, small and stable,
independent of albumentations' serialization::

    {
      "format": "optnas.augment.policy",
      "version": 1,
      "subpolicies": [
        [{"op": "Posterize", "prob": 0.4, "magnitude": 8},
         {"op": "Rotate", "prob": 0.6, "magnitude": 9}],
        [{"op": "Equalize", "prob": 0.8, "magnitude": null}, ...],
        ...
      ]
    }

``op`` is one of :data:`optnas.augment.OP_NAMES`, ``prob`` a probability in [0, 1] and
``magnitude`` a bin in [0, 9] (``null`` for AutoContrast, Invert, Equalize; an integer
there is accepted and dropped). ``"format"`` and ``"version"`` are optional on input. An optional
``"source"`` object records where the policy came from (``optnas export`` writes
``{"study": NAME, "trials": [numbers]}``); it is checked to be an object and otherwise ignored.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np

from optnas._errors import ConfigError
from optnas.augment._table import MAGNITUDE_BINS, op_spec

__all__ = ["Policy", "PolicyOp", "SubPolicy", "seeded"]

_FORMAT = "optnas.augment.policy"
_VERSION = 1


def seeded(pipeline: A.Compose, seed: int | None) -> A.Compose:
    """Give ``pipeline`` one shared random stream seeded by ``seed`` (``None``: leave it).

    ``albumentations.Compose(seed=s)`` gives every child transform its *own*
    ``random.Random(s)``: identical streams, so e.g. the two ops of a sub-policy would always
    both fire or both not. Sharing one numpy ``Generator`` and one ``random.Random`` across the
    tree keeps the draws independent and the output a deterministic function of ``seed``.
    """
    if seed is not None:
        pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
    return pipeline


@dataclass(frozen=True)
class PolicyOp:
    """One operation of a sub-policy.

    Attributes:
        name: Op name, one of :data:`optnas.augment.OP_NAMES`.
        probability: Probability of applying it, in [0, 1] (the search uses 11 values).
        magnitude_bin: Bin in ``[0, 9]``; ``None`` for ops without magnitude (any value given
            for those is normalized to ``None``).
    """

    name: str
    probability: float
    magnitude_bin: int | None = None

    def __post_init__(self) -> None:
        spec = op_spec(self.name)
        p = self.probability
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ConfigError(f"{self.name}.probability", p, "must be a number in [0, 1]")
        object.__setattr__(self, "probability", float(p))
        if not spec.has_magnitude:
            object.__setattr__(self, "magnitude_bin", None)
            return
        spec.magnitude(self.magnitude_bin)  # type: ignore[arg-type]  # validates, names field

    def to_albumentations(self) -> A.BasicTransform:
        """The op as a transform applied with :attr:`probability`."""
        spec = op_spec(self.name)
        magnitude = spec.magnitude(self.magnitude_bin) if self.magnitude_bin is not None else 0.0
        return spec.build(magnitude, p=self.probability)


def _as_op(op: PolicyOp | Sequence[Any]) -> PolicyOp:
    if isinstance(op, PolicyOp):
        return op
    return PolicyOp(*op)


@dataclass(frozen=True)
class SubPolicy:
    """Operations applied in order, each with its own probability (AutoAugment: two).

    Build with ``SubPolicy.of(("Posterize", 0.4, 8), ("Rotate", 0.6, 9))``.
    """

    ops: tuple[PolicyOp, ...]

    def __post_init__(self) -> None:
        if not self.ops:
            raise ConfigError("SubPolicy.ops", self.ops, "needs at least one operation")
        object.__setattr__(self, "ops", tuple(_as_op(o) for o in self.ops))

    @classmethod
    def of(cls, *ops: PolicyOp | Sequence[Any]) -> SubPolicy:
        """From ``PolicyOp``s or ``(name, probability, magnitude_bin)`` tuples."""
        return cls(tuple(_as_op(o) for o in ops))

    def to_albumentations(self) -> A.Sequential:
        """``Sequential(p=1)`` of the ops; each op keeps its own probability."""
        return A.Sequential([op.to_albumentations() for op in self.ops], p=1.0)


@dataclass(frozen=True)
class Policy:
    """A list of sub-policies, one drawn uniformly per image (AutoAugment, Sec. 3)."""

    subpolicies: tuple[SubPolicy, ...]

    def __post_init__(self) -> None:
        if not self.subpolicies:
            raise ConfigError("Policy.subpolicies", self.subpolicies, "needs at least one")
        items = tuple(
            s if isinstance(s, SubPolicy) else SubPolicy.of(*s) for s in self.subpolicies
        )
        object.__setattr__(self, "subpolicies", items)

    @classmethod
    def concat(cls, policies: Iterable[Policy]) -> Policy:
        """All sub-policies of several policies (AutoAugment's final policy: best 5 x 5)."""
        return cls(tuple(sp for pol in policies for sp in pol.subpolicies))

    def __len__(self) -> int:
        return len(self.subpolicies)

    def to_albumentations(self, *, seed: int | None = None) -> A.Compose:
        """The policy as an albumentations pipeline.

        ``Compose([OneOf([Sequential(ops, p=1), ...], p=1)])``: albumentations' ``OneOf``
        and ``Sequential`` default to p=0.5, so both are set to 1; ``OneOf`` weights its
        children by their ``p``, so equal ``p=1`` makes the choice uniform. The result
        round-trips through ``albumentations.save``/``load`` once ``optnas.augment._ops``
        is imported.

        Args:
            seed: Seed of one random stream shared by all transforms (see :func:`seeded`);
                ``None`` keeps albumentations' default (independent, unseeded).
        """
        branches = [sp.to_albumentations() for sp in self.subpolicies]
        return seeded(A.Compose([A.OneOf(branches, p=1.0)], p=1.0), seed)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict of the module docstring's schema."""
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "subpolicies": [
                [{"op": o.name, "prob": o.probability, "magnitude": o.magnitude_bin}
                 for o in sp.ops]
                for sp in self.subpolicies
            ],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """Serialize to the policy JSON format (module docstring)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "policy") -> Policy:
        """Parse the policy JSON schema; errors name ``source`` and the offending key."""
        if not isinstance(data, dict):
            raise ConfigError(
                source,
                _short(data),
                f'expected a JSON object {{"format": ..., "subpolicies": [[[op, p, m], [op, p, m]], ...]}}, '
                f"got a {type(data).__name__}",
            )
        unknown = set(data) - {"format", "version", "subpolicies", "source"}
        if unknown:
            raise ConfigError(f"{source}.{sorted(unknown)[0]}", "...", "unknown key")
        if "source" in data and not isinstance(data["source"], dict):
            raise ConfigError(f"{source}.source", _short(data["source"]), "expected a JSON object (provenance)")
        if data.get("format", _FORMAT) != _FORMAT:
            raise ConfigError(f"{source}.format", data["format"], f"expected {_FORMAT!r}")
        if data.get("version", _VERSION) != _VERSION:
            raise ConfigError(f"{source}.version", data["version"], f"expected {_VERSION}")
        subs = data.get("subpolicies")
        if not isinstance(subs, list) or not subs:
            raise ConfigError(f"{source}.subpolicies", _short(subs), "expected a non-empty list")
        where = f"{source}.subpolicies"
        return cls(tuple(_parse_sub(sub, f"{where}[{i}]") for i, sub in enumerate(subs)))

    @classmethod
    def from_json(cls, text: str, *, source: str = "policy") -> Policy:
        """Parse :meth:`to_json` output; a JSON syntax error names ``source`` and the line."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                source,
                _short(exc.doc[exc.pos : exc.pos + 20]) or "<end of file>",
                f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            ) from None
        return cls.from_dict(data, source=source)


def _short(value: Any) -> Any:
    text = repr(value)
    return value if len(text) <= 60 else text[:57] + "..."


def _parse_sub(sub: Any, where: str) -> SubPolicy:
    if not isinstance(sub, list) or not sub:
        raise ConfigError(where, _short(sub), "expected a non-empty list of operations")
    return SubPolicy(tuple(_parse_op(op, f"{where}[{j}]") for j, op in enumerate(sub)))


def _parse_op(op: Any, where: str) -> PolicyOp:
    if not isinstance(op, dict):
        raise ConfigError(where, _short(op), 'expected {"op": ..., "prob": ..., "magnitude": ...}')
    unknown = set(op) - {"op", "prob", "magnitude"}
    if unknown:
        raise ConfigError(f"{where}.{sorted(unknown)[0]}", op[sorted(unknown)[0]], "unknown key")
    for key in ("op", "prob"):
        if key not in op:
            raise ConfigError(f"{where}.{key}", None, "missing")
    name, prob, magnitude = op["op"], op["prob"], op.get("magnitude")
    try:
        spec = op_spec(name)
    except ConfigError as exc:
        raise ConfigError(f"{where}.op", name, exc.reason) from None
    if isinstance(prob, bool) or not isinstance(prob, (int, float)) or not 0.0 <= prob <= 1.0:
        raise ConfigError(f"{where}.prob", prob, "must be a number in [0, 1]")
    if spec.has_magnitude:
        in_range = isinstance(magnitude, int) and 0 <= magnitude < MAGNITUDE_BINS
        if isinstance(magnitude, bool) or not in_range:
            reason = f"must be an integer bin in [0, {MAGNITUDE_BINS - 1}]"
            raise ConfigError(f"{where}.magnitude", magnitude, reason)
    elif magnitude is not None and (not isinstance(magnitude, int) or isinstance(magnitude, bool)):
        raise ConfigError(f"{where}.magnitude", magnitude, "must be null or an integer")
    return PolicyOp(name, float(prob), magnitude)
