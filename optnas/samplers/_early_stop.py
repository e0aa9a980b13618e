"""Early-stopping criterion of FBNetV3 (Dai et al., 2021), Algorithm 1, stage 1.

"if t = 1: Determine early stopping criteria": after the first batch has been trained to the full
budget, find the smallest number of epochs whose ranking of the batch agrees with the final
ranking (Kendall's tau at least a threshold). Later candidates are trained only that long, since
the search needs rankings, not final accuracies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import kendalltau

from optnas._errors import ConfigError

__all__ = ["early_stopping_epochs"]


def early_stopping_epochs(
    curves: Sequence[Mapping[int, float]], final: Sequence[float], *, threshold: float = 0.8, min_candidates: int = 3
) -> int | None:
    """Smallest epoch budget whose ranking agrees with the final ranking.

    Args:
        curves: per candidate, the intermediate values by step (``trial.intermediate_values``;
            steps are epochs, in increasing order).
        final: per candidate, the final value.
        threshold: Kendall tau the ranking at the budget must reach.
        min_candidates: fewer candidates with complete curves give ``None`` (no criterion).

    Returns:
        The budget in epochs (the number of reported steps up to and including it), or ``None``
        when it cannot be determined (too few curves) or only the full budget qualifies.
    """
    if not -1.0 <= threshold <= 1.0:
        raise ConfigError("early_stopping_tau", threshold, "must be in [-1, 1]")
    if len(curves) != len(final):
        raise ConfigError("curves", len(curves), f"needs one curve per final value ({len(final)})")
    usable = [(sorted(c.items()), f) for c, f in zip(curves, final, strict=True) if c]
    if len(usable) < min_candidates:
        return None
    length = min(len(c) for c, _ in usable)
    finals = np.array([f for _, f in usable])
    if np.ptp(finals) == 0:
        return None
    for e in range(1, length):
        at_e = np.array([c[e - 1][1] for c, _ in usable])
        tau = kendalltau(at_e, finals).statistic
        if np.isfinite(tau) and tau >= threshold:
            return e
    return None
