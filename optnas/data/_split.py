"""Deterministic stratified splits and class-balanced subsets (numpy ``Generator`` only)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError

__all__ = ["balanced_counts", "proportional_counts", "take_per_class"]

I64 = npt.NDArray[np.int64]


def proportional_counts(available: I64, n: int) -> I64:
    """Per-class counts summing to ``n`` and proportional to ``available`` (largest remainder).

    Ties in the fractional parts go to the lower class index, so the result is deterministic.
    """
    total = int(available.sum())
    if not 0 <= n <= total:
        raise ConfigError("size", n, f"must be between 0 and the {total} images available")
    exact = available.astype(np.float64) * n / max(total, 1)
    counts = np.floor(exact).astype(np.int64)
    short = n - int(counts.sum())
    if short:
        order = np.lexsort((np.arange(len(available)), -(exact - counts)))
        counts[order[:short]] += 1
    return counts


def balanced_counts(available: I64, n: int, rng: np.random.Generator) -> I64:
    """Per-class counts summing to ``n``, as equal as possible (class balance).

    ``n // C`` images per class; the ``n % C`` extra images go to classes drawn by ``rng``.
    Raises :class:`ConfigError` when a class has too few images for a balanced subset.
    """
    c = len(available)
    counts = np.full(c, n // c, dtype=np.int64)
    extra = rng.permutation(c)[: n % c]
    counts[extra] += 1
    lacking = np.flatnonzero(counts > available)
    if lacking.size:
        k = int(lacking[0])
        raise ConfigError(
            "subset",
            n,
            f"class {k} has {int(available[k])} images, fewer than the {int(counts[k])} a balanced "
            "subset needs; pass balanced=False or a smaller subset",
        )
    return counts


def take_per_class(y: I64, counts: I64, rng: np.random.Generator) -> tuple[I64, I64]:
    """Draw ``counts[c]`` indices of each class ``c`` without replacement.

    Returns ``(taken, rest)``: sorted index arrays of the drawn and the remaining images.
    """
    taken: list[I64] = []
    for c, k in enumerate(counts):
        idx = np.flatnonzero(y == c)
        taken.append(rng.permutation(idx)[: int(k)])
    chosen = np.sort(np.concatenate(taken)) if taken else np.zeros(0, dtype=np.int64)
    mask = np.ones(len(y), dtype=bool)
    mask[chosen] = False
    return chosen.astype(np.int64), np.flatnonzero(mask).astype(np.int64)
