"""optnas.data.load: split sizes, determinism, balanced subsets, ImageFolder, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from optnas import ConfigError
from optnas.data import DATASETS, ImageData, load
from optnas.data._split import balanced_counts, proportional_counts

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


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load("digits")


def _rows(x: np.ndarray) -> list[bytes]:
    return sorted(bytes(r) for r in x.reshape(x.shape[0], -1))


def test_import_data_does_not_import_torch() -> None:
    code = "import sys, optnas.data; print('torch' in sys.modules, 'albumentations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_digits_sizes_and_pixels(digits: ImageData) -> None:
    assert digits.train_x.shape == (1438, 8, 8, 3) and digits.val_x.shape == (359, 8, 8, 3)
    assert digits.test_x is None and not digits.has_test
    assert digits.num_classes == 10 and digits.class_names == tuple(str(i) for i in range(10))
    assert digits.hflip is False
    raw = load_digits()
    expected = np.rint(raw.images * 255 / 16).astype(np.uint8)
    merged = np.concatenate([digits.train_x, digits.val_x])
    # channels are identical grey copies, and train + val is exactly the whole dataset
    assert np.array_equal(merged[..., 0], merged[..., 2])
    assert _rows(merged[..., 0]) == _rows(expected)
    assert merged.max() == 255 and merged.min() == 0
    labels = np.concatenate([digits.train_y, digits.val_y])
    assert np.array_equal(np.bincount(labels), np.bincount(raw.target))


def test_digits_validation_is_stratified(digits: ImageData) -> None:
    available = np.bincount(load_digits().target)
    assert np.array_equal(digits.class_counts("val"), proportional_counts(available, 359))
    exact = available * 359 / available.sum()
    assert np.all(np.abs(digits.class_counts("val") - exact) < 1)


def test_digits_deterministic_under_seed(digits: ImageData) -> None:
    again = load("digits")
    for name in ("train_x", "train_y", "val_x", "val_y"):
        assert np.array_equal(getattr(digits, name), getattr(again, name))
    other = load("digits", seed=1)
    assert not np.array_equal(other.val_x, digits.val_x)
    assert np.array_equal(other.class_counts("val"), digits.class_counts("val"))


def test_val_size_and_fraction() -> None:
    d = load("digits", val_size=100)
    assert (d.train_x.shape[0], d.val_x.shape[0]) == (1697, 100)
    d = load("digits", val_fraction=0.5)
    assert (d.train_x.shape[0], d.val_x.shape[0]) == (899, 898)  # round(898.5) = 898 (half to even)


def test_arrays_are_read_only(digits: ImageData) -> None:
    with pytest.raises(ValueError):
        digits.train_x[0, 0, 0, 0] = 1


@pytest.mark.parametrize("subset", [500, 505])
def test_balanced_subset(digits: ImageData, subset: int) -> None:
    d = load("digits", subset=subset)
    counts = d.class_counts()
    assert counts.sum() == subset and counts.max() - counts.min() <= 1
    assert sorted(counts.tolist()) == [subset // 10] * (10 - subset % 10) + [subset // 10 + 1] * (subset % 10)
    # the validation split does not depend on the subset; the subset comes from the rest
    assert np.array_equal(d.val_x, digits.val_x)
    assert set(_rows(d.train_x)) <= set(_rows(digits.train_x))
    again = load("digits", subset=subset)
    assert np.array_equal(again.train_x, d.train_x)
    assert not np.array_equal(load("digits", subset=subset, seed=3).train_x, d.train_x)


def test_proportional_subset(digits: ImageData) -> None:
    d = load("digits", subset=300, balanced=False)
    assert np.array_equal(d.class_counts(), proportional_counts(digits.class_counts(), 300))


def test_subset_larger_than_remaining_fails() -> None:
    with pytest.raises(ConfigError) as err:
        load("digits", subset=1439)
    assert err.value.field == "subset" and err.value.value == 1439


def test_balanced_counts_rejects_small_class() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="class 1 has 3 images"):
        balanced_counts(np.array([10, 3, 10]), 15, rng)


def test_balanced_counts_extra_images_are_spread_uniformly() -> None:
    rng = np.random.default_rng(0)
    hits = sum(balanced_counts(np.full(4, 100), 9, rng) for _ in range(4000))
    # each draw gives one class 3 images: each class should win ~1000 of 4000 draws
    extra = hits - 4000 * 2
    assert extra.sum() == 4000 and np.all(np.abs(extra - 1000) < 4 * np.sqrt(4000 * 0.25 * 0.75))


def test_imagefolder_flat(folder: Path) -> None:
    d = load("imagefolder", root=folder, val_size=6)
    assert d.class_names == ("cat", "dog", "emu") and d.name == "flat"
    assert d.train_x.shape == (24, 12, 12, 3) and d.val_x.shape == (6, 12, 12, 3)
    assert d.test_x is None
    # counts 10/12/8 -> val 2/2/2 (proportional, largest remainder)
    assert d.class_counts("val").tolist() == [2, 2, 2]
    for x, y in ((d.train_x, d.train_y), (d.val_x, d.val_y)):
        colours = np.array([COLOURS[d.class_names[k]] for k in y])
        assert np.array_equal(x[:, 5, 5], colours)


def test_imagefolder_train_test(split_folder: Path) -> None:
    d = load("imagefolder", root=split_folder, val_fraction=0.25, subset=20)
    assert d.class_names == ("cat", "dog")
    assert d.val_x.shape[0] == 10 and d.train_x.shape[0] == 20 and d.class_counts().tolist() == [10, 10]
    assert d.test_x is not None and d.test_x.shape == (12, 12, 12, 3)
    assert d.class_counts("test").tolist() == [5, 7]
    assert np.array_equal(d.test_x[:, 3, 3], np.array([COLOURS["cat"]] * 5 + [COLOURS["dog"]] * 7))


def test_imagefolder_mixed_sizes_need_image_size(tmp_path: Path) -> None:
    write_tree(tmp_path / "m", {"cat": 4}, size=(12, 12))
    write_tree(tmp_path / "m", {"dog": 4}, size=(20, 16))
    with pytest.raises(ConfigError) as err:
        load("imagefolder", root=tmp_path / "m", val_size=2)
    assert err.value.field == "image_size"
    d = load("imagefolder", root=tmp_path / "m", val_size=2, image_size=10)
    assert d.train_x.shape[1:] == (10, 10, 3)
    assert np.array_equal(d.train_x[d.train_y == 1][:, 5, 5], np.tile(COLOURS["dog"], (3, 1)))


def test_imagefolder_test_classes_must_match(tmp_path: Path) -> None:
    write_tree(tmp_path / "x" / "train", {"cat": 3, "dog": 3})
    write_tree(tmp_path / "x" / "test", {"cat": 3, "emu": 3})
    with pytest.raises(ConfigError, match="differ from the training classes"):
        load("imagefolder", root=tmp_path / "x", val_size=2)


def test_imagefolder_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as err:
        load("imagefolder", root=missing)
    assert err.value.field == "root" and err.value.value == str(missing)
    with pytest.raises(ConfigError) as err:
        load("imagefolder")
    assert err.value.field == "root"
    (tmp_path / "one" / "cat").mkdir(parents=True)
    with pytest.raises(ConfigError, match="at least 2 class subfolders"):
        load("imagefolder", root=tmp_path / "one")
    (tmp_path / "one" / "dog").mkdir()
    with pytest.raises(ConfigError, match="contains no images"):
        load("imagefolder", root=tmp_path / "one")


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn"])
def test_torchvision_sets_missing_files_name_the_path(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(name, root=tmp_path)
    assert err.value.field == "root" and err.value.value == str(tmp_path)
    assert "download=True" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load(name, root=tmp_path / "absent")
    assert err.value.value == str(tmp_path / "absent")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "mnist"}, "dataset"),
        ({"name": "digits", "root": "/tmp"}, "root"),
        ({"name": "digits", "download": True}, "download"),
        ({"name": "digits", "image_size": 16}, "image_size"),
        ({"name": "digits", "val_fraction": 1.5}, "val_fraction"),
        ({"name": "digits", "val_fraction": 0.1, "val_size": 10}, "val_size"),
        ({"name": "digits", "val_size": 1797}, "val_size"),
        ({"name": "digits", "subset": 0}, "subset"),
        ({"name": "digits", "seed": -1}, "seed"),
        ({"name": "imagefolder", "root": "/tmp", "download": True}, "download"),
        ({"name": "cifar10", "root": "/tmp", "image_size": 24}, "image_size"),
    ],
)
def test_bad_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    name = kwargs.pop("name")
    with pytest.raises(ConfigError) as err:
        load(name, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_dataset_registry() -> None:
    assert DATASETS == ("digits", "imagefolder", "cifar10", "cifar100", "svhn")


def test_resized_is_cached_and_sized(digits: ImageData) -> None:
    a = digits.resized("val", 16)
    assert a.shape == (359, 16, 16, 3) and a is digits.resized("val", 16)
    assert np.array_equal(digits.resized("val", 8), digits.val_x)
    with pytest.raises(ConfigError) as err:
        digits.resized("test", 8)
    assert err.value.field == "split"


def test_imagedata_validates_arrays() -> None:
    x = np.zeros((4, 8, 8, 3), dtype=np.uint8)
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ConfigError) as err:
        ImageData("t", x.astype(np.float32), y, x, y, 2, ("a", "b"))  # type: ignore[arg-type]
    assert err.value.field == "train_x"
    with pytest.raises(ConfigError) as err:
        ImageData("t", x, np.array([0, 1, 2, 1]), x, y, 2, ("a", "b"))
    assert err.value.field == "train_y"
    with pytest.raises(ConfigError) as err:
        ImageData("t", x, y, np.zeros((4, 6, 6, 3), np.uint8), y, 2, ("a", "b"))
    assert err.value.field == "image shape"
