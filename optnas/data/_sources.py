"""Readers of the raw datasets: scikit-learn digits, ImageFolder trees, torchvision sets.

Each reader returns a :class:`Raw` record with the source's own train (and test) split, as
``uint8`` RGB arrays; :func:`optnas.data.load` then carves the validation split and subsets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError

__all__ = ["IMG_EXTENSIONS", "Raw", "default_root", "read_digits", "read_folder", "read_torchvision"]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

#: File suffixes read as images in ImageFolder trees (torchvision's list).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


@dataclass(frozen=True, eq=False)
class Raw:
    """A source's own splits before validation carving and subsetting."""

    train_x: U8
    train_y: I64
    test_x: U8 | None
    test_y: I64 | None
    class_names: tuple[str, ...]
    hflip: bool


def default_root() -> Path:
    """Where torchvision datasets live by default: ``$OPTNAS_DATA`` or ``~/.cache/optnas/data``."""
    env = os.environ.get("OPTNAS_DATA")
    return Path(env) if env else Path.home() / ".cache" / "optnas" / "data"


def read_digits() -> Raw:
    """scikit-learn's 8x8 handwritten digits (1,797 images, embedded, no download).

    Grey levels 0..16 map to ``round(v * 255 / 16)`` and are replicated to three channels.
    Flips change a digit's identity, so ``hflip`` is False.
    """
    from sklearn.datasets import load_digits

    bunch: Any = load_digits()
    grey = np.rint(np.asarray(bunch.images, dtype=np.float64) * (255.0 / 16.0)).astype(np.uint8)
    x = np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=3))
    y = np.asarray(bunch.target, dtype=np.int64)
    names = tuple(str(int(t)) for t in bunch.target_names)
    return Raw(x, y, None, None, names, hflip=False)


def _class_dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_tree(
    root: Path, class_names: tuple[str, ...] | None, image_size: int | None
) -> tuple[U8, I64, tuple[str, ...]]:
    from PIL import Image

    from optnas.data._resize import resize_short_side_center_crop

    dirs = _class_dirs(root)
    names = tuple(d.name for d in dirs)
    if class_names is None:
        if len(names) < 2:
            raise ConfigError("root", str(root), f"expected at least 2 class subfolders, found {len(names)}")
    elif names != class_names:
        raise ConfigError("root", str(root), f"class folders {names} differ from the training classes {class_names}")
    images: list[U8] = []
    labels: list[int] = []
    for label, d in enumerate(dirs):
        files = sorted(f for f in d.iterdir() if f.is_file() and f.suffix.lower() in IMG_EXTENSIONS)
        if not files:
            raise ConfigError("root", str(d), "class folder contains no images")
        for f in files:
            with Image.open(f) as im:
                arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
            if image_size is not None:
                arr = resize_short_side_center_crop(arr, image_size)
            images.append(arr)
            labels.append(label)
    shapes = {a.shape for a in images}
    if len(shapes) != 1:
        raise ConfigError(
            "image_size", image_size, f"images under {root} have {len(shapes)} different sizes; pass image_size"
        )
    return np.stack(images), np.asarray(labels, dtype=np.int64), names


def read_folder(root: str | os.PathLike[str] | None, image_size: int | None) -> Raw:
    """An ImageFolder tree: ``root/<class>/<image>``, class index = sorted folder order.

    When ``root`` has both ``train/`` and ``test/`` subfolders, they are the train and test
    splits (each an ImageFolder tree with the same classes).
    """
    if root is None:
        raise ConfigError("root", None, "the imagefolder dataset needs a root directory")
    path = Path(root).expanduser()
    if not path.is_dir():
        raise ConfigError("root", str(path), "directory does not exist")
    if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1):
        raise ConfigError("image_size", image_size, "must be a positive integer")
    train_dir, test_dir = path / "train", path / "test"
    if train_dir.is_dir() and test_dir.is_dir():
        tx, ty, names = _read_tree(train_dir, None, image_size)
        sx, sy, _ = _read_tree(test_dir, names, image_size)
        if sx.shape[1:] != tx.shape[1:]:
            raise ConfigError(
                "image_size", image_size, f"train images are {tx.shape[1:3]}, test images {sx.shape[1:3]}"
            )
        return Raw(tx, ty, sx, sy, names, hflip=True)
    tx, ty, names = _read_tree(path, None, image_size)
    return Raw(tx, ty, None, None, names, hflip=True)


_TV_NAMES = {"cifar10": "CIFAR10", "cifar100": "CIFAR100", "svhn": "SVHN"}


def _tv_split(name: str, root: Path, train: bool, download: bool) -> tuple[U8, I64, tuple[str, ...]]:
    import torchvision.datasets as tvd

    cls: Any = getattr(tvd, _TV_NAMES[name])
    try:
        if name == "svhn":
            ds = cls(str(root), split="train" if train else "test", download=download)
        else:
            ds = cls(str(root), train=train, download=download)
    except RuntimeError as exc:
        raise ConfigError(
            "root",
            str(root),
            f"{name} files not found or corrupted there ({exc}); pass download=True or point root at them",
        ) from exc
    except OSError as exc:
        raise ConfigError("download", str(root), f"could not download {name}: {exc}") from exc
    if name == "svhn":
        x = np.ascontiguousarray(np.transpose(ds.data, (0, 2, 3, 1)))
        y = np.asarray(ds.labels, dtype=np.int64)
        names = tuple(str(i) for i in range(10))
    else:
        x = np.ascontiguousarray(ds.data)
        y = np.asarray(ds.targets, dtype=np.int64)
        names = tuple(ds.classes)
    return x.astype(np.uint8, copy=False), y, names


def read_torchvision(name: str, root: str | os.PathLike[str] | None, download: bool) -> Raw:
    """CIFAR-10, CIFAR-100 or SVHN through torchvision (its download when ``download``).

    SVHN digits are not flipped (``hflip`` False); CIFAR images are.
    """
    path = default_root() if root is None else Path(root).expanduser()
    if not download and not path.is_dir():
        raise ConfigError("root", str(path), f"directory does not exist; pass download=True to fetch {name}")
    tx, ty, names = _tv_split(name, path, True, download)
    sx, sy, _ = _tv_split(name, path, False, download)
    return Raw(tx, ty, sx, sy, names, hflip=name != "svhn")
