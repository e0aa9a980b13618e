"""Fixtures for the data tests: tiny ImageFolder trees written with PIL."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# Class -> solid RGB colour, so a decoded image identifies its folder.
COLOURS = {"cat": (200, 30, 30), "dog": (30, 200, 30), "emu": (30, 30, 200)}


def write_tree(root: Path, per_class: dict[str, int], size: tuple[int, int] = (12, 12)) -> None:
    """Write ``per_class[c]`` PNGs of class ``c`` under ``root/c``; pixel (0, 0) encodes the index."""
    for cls, n in per_class.items():
        d = root / cls
        d.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            arr = np.empty((size[1], size[0], 3), dtype=np.uint8)
            arr[:] = COLOURS[cls]
            arr[0, 0] = (i, i, i)
            Image.fromarray(arr).save(d / f"img_{i:03d}.png")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A flat ImageFolder tree: cat 10, dog 12, emu 8 images of 12x12, plus a stray text file."""
    write_tree(tmp_path / "flat", {"cat": 10, "dog": 12, "emu": 8})
    (tmp_path / "flat" / "cat" / "notes.txt").write_text("not an image")
    return tmp_path / "flat"


@pytest.fixture
def split_folder(tmp_path: Path) -> Path:
    """A train/test ImageFolder tree: train cat 20 dog 20, test cat 5 dog 7."""
    write_tree(tmp_path / "tt" / "train", {"cat": 20, "dog": 20})
    write_tree(tmp_path / "tt" / "test", {"cat": 5, "dog": 7})
    return tmp_path / "tt"
