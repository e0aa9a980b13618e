"""The in-memory dataset container shared by every loader: uint8 images plus labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError

__all__ = ["ImageData", "Split"]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Split names accepted by :meth:`ImageData.split` and :meth:`ImageData.resized`.
Split = str
_SPLITS = ("train", "val", "test")


def _check_images(name: str, x: Any) -> U8:
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 4 or x.shape[3] != 3:
        shape = getattr(x, "shape", None)
        dtype = getattr(x, "dtype", type(x).__name__)
        raise ConfigError(name, (shape, str(dtype)), "expected a uint8 array of shape (N, H, W, 3)")
    return x


def _check_labels(name: str, y: Any, n: int, num_classes: int) -> I64:
    y = np.asarray(y)
    out: I64
    if y.ndim != 1 or y.shape[0] != n or not np.issubdtype(y.dtype, np.integer):
        raise ConfigError(name, getattr(y, "shape", None), f"expected {n} integer labels")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ConfigError(name, (int(y.min()), int(y.max())), f"labels must lie in [0, {num_classes})")
    out = y.astype(np.int64, copy=False)
    return out


def _readonly(a: npt.NDArray[Any]) -> None:
    a.flags.writeable = False


@dataclass(frozen=True, eq=False)
class ImageData:
    """A labelled image dataset held in memory as ``uint8`` arrays.

    Attributes:
        name: dataset name (``"digits"``, ``"cifar10"``, a folder name, ...).
        train_x: training images, ``(N, H, W, 3)`` ``uint8`` RGB.
        train_y: training labels, ``(N,)`` ``int64`` in ``[0, num_classes)``.
        val_x: validation images (a split of the original training set).
        val_y: validation labels.
        num_classes: number of classes.
        class_names: one name per class index.
        test_x: held-out test images, when the source has a test split.
        test_y: test labels.
        hflip: whether horizontal flips preserve labels (True for natural images, False for
            digits), which selects the standard augmentation.

    The arrays are made read-only. :meth:`resized` caches the images at each resolution
    requested, so candidates of equal resolution share one resized copy.
    """

    name: str
    train_x: U8
    train_y: I64
    val_x: U8
    val_y: I64
    num_classes: int
    class_names: tuple[str, ...]
    test_x: U8 | None = None
    test_y: I64 | None = None
    hflip: bool = True
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise ConfigError("num_classes", self.num_classes, "must be an integer >= 2")
        if len(self.class_names) != self.num_classes:
            raise ConfigError("class_names", len(self.class_names), f"expected {self.num_classes} names")
        object.__setattr__(self, "class_names", tuple(str(c) for c in self.class_names))
        for split in _SPLITS:
            x, y = getattr(self, f"{split}_x"), getattr(self, f"{split}_y")
            if split == "test" and x is None and y is None:
                continue
            x = _check_images(f"{split}_x", x)
            y = _check_labels(f"{split}_y", y, x.shape[0], self.num_classes)
            object.__setattr__(self, f"{split}_y", y)
            _readonly(x)
            _readonly(y)
        if self.train_x.shape[0] == 0:
            raise ConfigError("train_x", 0, "the training split is empty")
        shapes = {getattr(self, f"{s}_x").shape[1:] for s in _SPLITS if getattr(self, f"{s}_x") is not None}
        if len(shapes) != 1:
            raise ConfigError("image shape", sorted(shapes), "all splits must share one image size")

    @property
    def image_size(self) -> tuple[int, int]:
        """Native ``(height, width)`` of the stored images."""
        return int(self.train_x.shape[1]), int(self.train_x.shape[2])

    @property
    def has_test(self) -> bool:
        """Whether a test split is present."""
        return self.test_x is not None

    def split(self, name: Split) -> tuple[U8, I64]:
        """``(images, labels)`` of ``"train"``, ``"val"`` or ``"test"``."""
        if name not in _SPLITS:
            raise ConfigError("split", name, f"expected one of {_SPLITS}")
        x, y = getattr(self, f"{name}_x"), getattr(self, f"{name}_y")
        if x is None or y is None:
            raise ConfigError("split", name, f"dataset {self.name!r} has no test split")
        return x, y

    def class_counts(self, name: Split = "train") -> I64:
        """Number of images per class in a split."""
        _, y = self.split(name)
        return np.bincount(y, minlength=self.num_classes).astype(np.int64)

    def resized(self, name: Split, resolution: int) -> U8:
        """The images of a split resized to ``resolution`` x ``resolution`` (cached, read-only).

        Downscaling uses area interpolation, upscaling bilinear interpolation (OpenCV).
        """
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise ConfigError("resolution", resolution, "must be a positive integer")
        key = ("resized", name, resolution)
        if key not in self._cache:
            from optnas.data._resize import resize_images

            x, _ = self.split(name)
            out = resize_images(x, resolution)
            _readonly(out)
            self._cache[key] = out
        return self._cache[key]  # type: ignore[no-any-return]

    def cached(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        """Memoize ``build()`` under ``key`` for the lifetime of this dataset (derived arrays)."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    def channel_stats(self) -> tuple[F64, F64]:
        """Per-channel mean and standard deviation of the training images, scaled to [0, 1]."""
        key = ("stats",)
        if key not in self._cache:
            x = self.train_x.reshape(-1, 3).astype(np.float64) / 255.0
            mean = x.mean(axis=0)
            std = np.maximum(x.std(axis=0), 1e-3)
            self._cache[key] = (mean, std)
        return self._cache[key]  # type: ignore[no-any-return]

    def summary(self) -> dict[str, Any]:
        """Split sizes and shape, for logs and reports."""
        return {
            "name": self.name,
            "num_classes": self.num_classes,
            "image_size": list(self.image_size),
            "train": int(self.train_x.shape[0]),
            "val": int(self.val_x.shape[0]),
            "test": None if self.test_x is None else int(self.test_x.shape[0]),
        }
