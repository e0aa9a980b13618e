"""Policies: structure, uniform sub-policy choice, independent op probabilities, JSON format."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import json
import re
from collections import Counter
from typing import Any

import albumentations as A
import numpy as np
import pytest
from scipy.stats import chisquare

from optnas._errors import ConfigError
from optnas.augment import (
    PUBLISHED_POLICIES,
    Policy,
    PolicyOp,
    SubPolicy,
    published_policy,
)
from optnas.augment import _ops as ops

GRAY200 = np.full((8, 8, 3), 200, dtype=np.uint8)


def _outcomes(pipeline: A.Compose, n: int) -> Counter[int]:
    return Counter(int(pipeline(image=GRAY200)["image"][0, 0, 0]) for _ in range(n))


@pytest.mark.parametrize("name", PUBLISHED_POLICIES)
def test_published_policies_equal_torchvision(name: str) -> None:
    tv_aa = pytest.importorskip("torchvision.transforms.autoaugment")
    expected = tv_aa.AutoAugment(tv_aa.AutoAugmentPolicy(name)).policies
    policy = published_policy(name)
    assert len(policy) == 25
    got = [
        tuple((o.name, o.probability, o.magnitude_bin) for o in sp.ops) for sp in policy.subpolicies
    ]
    assert got == [tuple(pair) for pair in expected]


def test_published_policy_unknown_name() -> None:
    with pytest.raises(ConfigError, match="policy='mnist'"):
        published_policy("mnist")
    assert published_policy("ImageNet") == published_policy("imagenet")


def test_to_albumentations_structure() -> None:
    policy = Policy.concat([published_policy("svhn"), published_policy("cifar10")])
    assert len(policy) == 50
    pipeline = policy.to_albumentations()
    assert isinstance(pipeline, A.Compose) and pipeline.p == 1.0
    (one_of,) = pipeline.transforms
    assert isinstance(one_of, A.OneOf) and one_of.p == 1.0
    assert one_of.transforms_ps == pytest.approx([1 / 50] * 50)
    for seq, sp in zip(one_of.transforms, policy.subpolicies, strict=True):
        assert isinstance(seq, A.Sequential) and seq.p == 1.0
        assert [t.p for t in seq.transforms] == [o.probability for o in sp.ops]
        assert [type(t).__name__ for t in seq.transforms] == [o.name for o in sp.ops]


def test_subpolicy_chosen_uniformly() -> None:
    # Distinct outcome per sub-policy on a constant 200 image: Invert 55, Posterize(4 bits) 192,
    # Equalize (constant image: unchanged) 200.
    policy = Policy(
        (
            SubPolicy.of(("Invert", 1.0, None), ("Invert", 0.0, None)),
            SubPolicy.of(("Posterize", 1.0, 9), ("Invert", 0.0, None)),
            SubPolicy.of(("Equalize", 1.0, None), ("Invert", 0.0, None)),
        )
    )
    counts = _outcomes(policy.to_albumentations(seed=1), 3000)
    assert set(counts) == {55, 192, 200}
    assert chisquare([counts[55], counts[192], counts[200]]).pvalue > 1e-3


def test_ops_fire_independently_with_their_probabilities() -> None:
    """Invert p=0.5 then Posterize(4 bits) p=0.3 on 200: 200 / 55 / 192 / 48 (55 & 0xF0)."""
    policy = Policy((SubPolicy.of(("Invert", 0.5, None), ("Posterize", 0.3, 9)),))
    counts = _outcomes(policy.to_albumentations(seed=2), 4000)
    expected = {200: 0.5 * 0.7, 55: 0.5 * 0.7, 192: 0.5 * 0.3, 48: 0.5 * 0.3}
    assert set(counts) == set(expected)
    observed = [counts[k] for k in expected]
    assert chisquare(observed, [4000 * p for p in expected.values()]).pvalue > 1e-3


def test_albumentations_compose_seed_correlates_children() -> None:
    """Why ``to_albumentations(seed=...)`` shares one stream instead of ``Compose(seed=...)``."""
    policy = Policy((SubPolicy.of(("Invert", 0.5, None), ("Posterize", 0.5, 9)),))
    inner = policy.to_albumentations().transforms
    naive = A.Compose(inner, seed=0)
    assert set(_outcomes(naive, 400)) == {200, 48}  # both ops fire together or not at all
    assert set(_outcomes(policy.to_albumentations(seed=0), 400)) == {200, 55, 192, 48}


def test_same_seed_same_output_and_seeds_differ() -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    policy = published_policy("imagenet")

    def run(seed: int) -> np.ndarray[Any, Any]:
        pipe = policy.to_albumentations(seed=seed)
        return np.stack([pipe(image=im)["image"] for im in images])

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_policy_json_round_trip_and_schema() -> None:
    extra = Policy((SubPolicy.of(("Cutout", 0.3, 7), ("SamplePairing", 0.1, 2)),))
    policy = Policy.concat([published_policy("imagenet"), extra])
    text = policy.to_json()
    data = json.loads(text)
    assert data["format"] == "optnas.augment.policy" and data["version"] == 1
    assert data["subpolicies"][0] == [
        {"op": "Posterize", "prob": 0.4, "magnitude": 8},
        {"op": "Rotate", "prob": 0.6, "magnitude": 9},
    ]
    assert data["subpolicies"][1][1] == {"op": "AutoContrast", "prob": 0.6, "magnitude": None}
    assert Policy.from_json(text) == policy
    minimal = '{"subpolicies": [[{"op": "Invert", "prob": 1}]]}'
    assert Policy.from_json(minimal) == Policy((SubPolicy.of(("Invert", 1.0, None)),))


def test_magnitude_free_ops_normalize_magnitude() -> None:
    assert PolicyOp("Equalize", 0.5, 7) == PolicyOp("Equalize", 0.5, None)


_F = "p.json.subpolicies[0][0]."
_OP = '{"subpolicies": [[%s]]}'


@pytest.mark.parametrize(
    ("text", "field", "value"),
    [
        ("[1, 2]", "p.json", "[1, 2]"),
        ('{"subpolicies": []}', "p.json.subpolicies", "[]"),
        (_OP % '{"op": "Shear", "prob": 0.5, "magnitude": 1}', _F + "op", "'Shear'"),
        (_OP % '{"op": "Rotate", "prob": 1.5, "magnitude": 1}', _F + "prob", "1.5"),
        (_OP % '{"op": "Rotate", "prob": 0.5, "magnitude": 10}', _F + "magnitude", "10"),
        (_OP % '{"op": "Rotate", "prob": 0.5}', _F + "magnitude", "None"),
        (_OP % '{"op": "Rotate", "prob": 0.5, "magnitude": 2, "x": 1}', _F + "x", "1"),
        (_OP % '{"prob": 0.5}', _F + "op", "None"),
        ('{"subpolicies": [{"op": "Rotate"}]}', "p.json.subpolicies[0]", ""),
        ('{"version": 2, "subpolicies": [[{"op": "Invert", "prob": 1}]]}', "p.json.version", "2"),
        ('{"subpolicies": [[{"op": "Invert", "prob": 1}]],', "p.json", "'<end of file>'"),
    ],
)
def test_policy_json_errors_name_key_and_value(text: str, field: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Policy.from_json(text, source="p.json")
    assert info.value.field == field
    assert value in repr(info.value.value) or value in str(info.value)
    assert "\n" not in str(info.value)


def test_invalid_policy_objects() -> None:
    with pytest.raises(ConfigError, match=re.escape("Rotate.probability=2")):
        PolicyOp("Rotate", 2, 3)
    with pytest.raises(ConfigError, match=re.escape("Rotate.magnitude_bin=None")):
        PolicyOp("Rotate", 0.5)
    with pytest.raises(ConfigError, match="subpolicies"):
        Policy(())


def test_sample_pairing_in_a_policy_uses_pair_image() -> None:
    policy = Policy((SubPolicy.of(("SamplePairing", 1.0, 9), ("Invert", 0.0, None)),))
    pipe = policy.to_albumentations(seed=0)
    black = np.zeros_like(GRAY200)
    out = pipe(image=GRAY200, pair_image=black)["image"]
    assert int(out[0, 0, 0]) == int(np.float32(200) + np.float32(0.4) * np.float32(-200))
    assert isinstance(pipe.transforms[0].transforms[0].transforms[0], ops.SamplePairing)
