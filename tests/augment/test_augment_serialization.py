"""Pipelines round-trip through albumentations.save/load, in a process that imports only
albumentations and optnas' transform module, and reproduce the same outputs for the same seed."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import albumentations as A
import numpy as np

from optnas.augment import Policy, SubPolicy, published_policy, rand_augment, trivial_augment

CHILD = r"""
import os, random, sys
os.environ["NO_ALBUMENTATIONS_UPDATE"] = "1"
import numpy as np
import albumentations as A
import optnas.augment._ops  # registers the transforms; nothing else is imported explicitly

folder = sys.argv[1]
data = np.load(os.path.join(folder, "data.npz"))
for name in sys.argv[2:]:
    pipe = A.load(os.path.join(folder, name + ".json"))
    pipe.set_random_state(np.random.default_rng(7), random.Random(7))
    out = np.stack([pipe(image=im, pair_image=data["pair"])["image"] for im in data["images"]])
    np.save(os.path.join(folder, name + ".child.npy"), out)
print("ok")
"""


def _pipelines() -> dict[str, A.Compose]:
    extra = Policy(
        (
            SubPolicy.of(("Cutout", 0.7, 9), ("SamplePairing", 0.6, 9)),
            SubPolicy.of(("ShearX", 0.8, 5), ("Sharpness", 0.9, 3)),
        )
    )
    return {
        "imagenet": published_policy("imagenet").to_albumentations(),
        "svhn_extra": Policy.concat([published_policy("svhn"), extra]).to_albumentations(),
        "randaugment": rand_augment(2, 9),
        "trivialaugment": trivial_augment(),
    }


def _run(pipe: A.Compose, images: np.ndarray[Any, Any], pair: np.ndarray[Any, Any]) -> Any:
    pipe.set_random_state(np.random.default_rng(7), random.Random(7))
    return np.stack([pipe(image=im, pair_image=pair)["image"] for im in images])


def test_round_trip_in_fresh_process(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    pair = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "data.npz", images=images, pair=pair)
    pipelines = _pipelines()
    expected = {}
    for name, pipe in pipelines.items():
        A.save(pipe, str(tmp_path / f"{name}.json"))
        expected[name] = _run(pipe, images, pair)
        reloaded = A.load(str(tmp_path / f"{name}.json"))
        assert A.to_dict(reloaded) == A.to_dict(pipe)
        np.testing.assert_array_equal(_run(reloaded, images, pair), expected[name])
    assert not np.array_equal(expected["imagenet"], np.stack(list(images)))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path), *pipelines],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in pipelines:
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.child.npy"), expected[name])


def test_serialized_transform_names_and_arguments() -> None:
    d = A.to_dict(rand_augment(1, 30))["transform"]
    (slot,) = d["transforms"][0]["transforms"]
    names = [t["__class_fullname__"] for t in slot["transforms"]]
    assert names[:2] == ["optnas.augment._ops.Identity", "optnas.augment._ops.ShearX"]
    shear = slot["transforms"][1]
    assert shear["magnitude"] == 0.3 and shear["signed"] is True and shear["p"] == 1.0
