"""RandAugment and TrivialAugment: op lists, draw order with replacement, magnitudes."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import re
from collections import Counter

import albumentations as A
import numpy as np
import pytest
from scipy.stats import chisquare

from optnas._errors import ConfigError
from optnas.augment import RANDAUGMENT_OPS, rand_augment, trivial_augment
from optnas.augment._table import RANDAUGMENT_SPACE, TRIVIALAUGMENT_WIDE_SPACE

IMG = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)


def _applied(pipeline: A.Compose, n: int) -> list[list[tuple[str, dict[str, object]]]]:
    """Ops applied per call, in order (albumentations tracks them in ``applied_transforms``)."""
    runs = []
    for _ in range(n):
        data = pipeline(image=IMG, applied_transforms=[])
        runs.append(data["applied_transforms"])
    return runs


def test_op_lists_match_torchvision() -> None:
    tv_aa = pytest.importorskip("torchvision.transforms.autoaugment")
    assert list(RANDAUGMENT_OPS) == list(tv_aa.RandAugment()._augmentation_space(31, (32, 32)))
    wide = tv_aa.TrivialAugmentWide()._augmentation_space(31)
    assert list(TRIVIALAUGMENT_WIDE_SPACE) == list(wide)
    for name, spec in TRIVIALAUGMENT_WIDE_SPACE.items():
        values, signed = wide[name]
        assert spec.signed == signed
        if spec.has_magnitude:
            np.testing.assert_allclose(spec.magnitudes(31), values.numpy(), rtol=1e-6, atol=1e-5)


def test_rand_augment_draws_with_replacement_in_drawn_order() -> None:
    runs = _applied(rand_augment(2, 9, seed=0), 4200)
    assert all(len(r) == 2 for r in runs)
    order = {name: k for k, name in enumerate(RANDAUGMENT_OPS)}
    pairs = [(order[a[0]], order[b[0]]) for a, b in runs]
    repeats = sum(a == b for a, b in pairs)
    descending = sum(a > b for a, b in pairs)
    # Uniform with replacement: P(repeat) = 1/14 (300 expected), P(descending) = 13/28 (1950).
    # SomeOf would give 0 repeats and 0 descending pairs.
    assert 230 < repeats < 370
    assert 1800 < descending < 2100
    firsts = Counter(a for a, _ in pairs)
    assert chisquare([firsts[k] for k in range(14)]).pvalue > 1e-3


def test_rand_augment_magnitudes_follow_torchvision_scale() -> None:
    tv_aa = pytest.importorskip("torchvision.transforms.autoaugment")
    space = tv_aa.RandAugment()._augmentation_space(31, (16, 16))
    seen: dict[str, set[float]] = {}
    for run in _applied(rand_augment(1, 9, seed=1), 1500):
        for name, params in run:
            if RANDAUGMENT_SPACE[name].has_magnitude:
                seen.setdefault(name, set()).add(abs(float(params["magnitude"])))  # type: ignore[arg-type]
    for name, values in seen.items():
        (value,) = values
        side = 16 if name.startswith("Translate") else 1
        assert value * side == pytest.approx(float(space[name][0][9]), rel=1e-5), name


def test_rand_augment_zero_ops_is_identity_and_validation() -> None:
    np.testing.assert_array_equal(rand_augment(0, 5)(image=IMG)["image"], IMG)
    with pytest.raises(ConfigError, match=re.escape("m=31")):
        rand_augment(2, 31)
    with pytest.raises(ConfigError, match=re.escape("n=-1")):
        rand_augment(-1, 3)
    assert len(rand_augment(3, 10, num_magnitude_bins=11).transforms[0].transforms) == 3


def test_trivial_augment_one_op_uniform_op_and_magnitude() -> None:
    runs = _applied(trivial_augment(seed=3), 4200)
    assert all(len(r) == 1 for r in runs)
    ops = Counter(r[0][0] for r in runs)
    assert set(ops) == set(TRIVIALAUGMENT_WIDE_SPACE)
    assert chisquare(list(ops.values())).pvalue > 1e-3
    rotations = [abs(float(p["magnitude"])) for (name, p), in runs if name == "Rotate"]  # type: ignore[arg-type]
    assert set(np.round(rotations, 6)) <= set(np.round(np.linspace(0, 135, 31), 6))
    assert len(set(np.round(rotations, 6))) > 25


def test_same_seed_same_output() -> None:
    images = np.random.default_rng(1).integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    for make in (lambda s: rand_augment(2, 9, seed=s), lambda s: trivial_augment(seed=s)):
        a, b, c = make(4), make(4), make(5)
        out_a = [a(image=im)["image"] for im in images]
        out_b = [b(image=im)["image"] for im in images]
        out_c = [c(image=im)["image"] for im in images]
        np.testing.assert_array_equal(out_a, out_b)
        assert not np.array_equal(out_a, out_c)
