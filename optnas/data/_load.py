"""``load()``: one entry point for every dataset, with validation carving and subsets."""

from __future__ import annotations

import os

import numpy as np

from optnas._errors import ConfigError
from optnas.data._image_data import ImageData
from optnas.data._sources import Raw, read_digits, read_folder, read_torchvision
from optnas.data._split import balanced_counts, proportional_counts, take_per_class

__all__ = ["DATASETS", "load"]

#: Dataset names understood by :func:`load`.
DATASETS: tuple[str, ...] = ("digits", "imagefolder", "cifar10", "cifar100", "svhn")

_DEFAULT_VAL_FRACTION = 0.2


def _int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(name, value, f"must be an integer >= {minimum}")
    return int(value)


def load(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    subset: int | None = None,
    balanced: bool = True,
    val_fraction: float | None = None,
    val_size: int | None = None,
    seed: int = 0,
    download: bool = False,
    image_size: int | None = None,
) -> ImageData:
    """Load a dataset into memory as ``uint8`` arrays with a deterministic validation split.

    The validation split is carved from the source's training split first (stratified:
    per-class counts proportional to the class sizes, largest remainder), so it does not
    depend on ``subset``; the training subset is then drawn from the remaining images. This
    gives AutoAugment's "reduced CIFAR-10" (Cubuk et al., 2019, Sec. 4.1: 4,000 training
    images) with ``subset=4000``: 400 images per class when ``balanced``. The source's test
    split, when it has one, is kept whole.

    Args:
        name: one of :data:`DATASETS`. ``"digits"`` is scikit-learn's embedded 8x8 digits;
            ``"imagefolder"`` reads ``root/<class>/<image>`` (or ``root/train`` and
            ``root/test`` trees when both exist); ``"cifar10"``, ``"cifar100"`` and ``"svhn"``
            use torchvision's files under ``root`` (default ``$OPTNAS_DATA`` or
            ``~/.cache/optnas/data``).
        root: dataset directory (imagefolder and torchvision sets; not used by digits).
        subset: number of training images to keep (all when ``None``).
        balanced: draw the subset with equal images per class (else proportional).
        val_fraction: fraction of the source's training images held out for validation
            (default 0.2 when ``val_size`` is not given either).
        val_size: number of validation images (exclusive with ``val_fraction``).
        seed: seed of the split and subset draws (a numpy ``Generator`` per draw).
        download: let torchvision download CIFAR/SVHN when absent.
        image_size: resize imagefolder images (shorter side, then center crop) to this size;
            required when the folder's images differ in size.

    Raises:
        ConfigError: unknown name, missing or malformed directory, bad split sizes, or an
            option that the dataset does not use.
    """
    if name not in DATASETS:
        raise ConfigError("dataset", name, f"unknown dataset; expected one of {DATASETS}")
    seed = _int("seed", seed, 0)
    if not isinstance(balanced, bool):
        raise ConfigError("balanced", balanced, "must be true or false")
    if not isinstance(download, bool):
        raise ConfigError("download", download, "must be true or false")
    if val_fraction is not None and val_size is not None:
        raise ConfigError("val_size", val_size, "give either val_fraction or val_size, not both")
    if val_fraction is not None and not (
        isinstance(val_fraction, int | float) and not isinstance(val_fraction, bool) and 0 < val_fraction < 1
    ):
        raise ConfigError("val_fraction", val_fraction, "must be in (0, 1)")
    if val_size is not None:
        val_size = _int("val_size", val_size, 1)
    if subset is not None:
        subset = _int("subset", subset, 1)

    raw: Raw
    if name == "digits":
        for field, value, unused in (
            ("root", root, None),
            ("download", download, False),
            ("image_size", image_size, None),
        ):
            if value != unused:
                raise ConfigError(field, value, "the embedded digits dataset does not use this option")
        raw = read_digits()
    elif name == "imagefolder":
        if download:
            raise ConfigError("download", download, "imagefolder datasets are read from root, never downloaded")
        raw = read_folder(root, image_size)
    else:
        if image_size is not None:
            raise ConfigError("image_size", image_size, f"{name} images are 32x32 and are not resized on load")
        raw = read_torchvision(name, root, download)

    num_classes = len(raw.class_names)
    available = np.bincount(raw.train_y, minlength=num_classes).astype(np.int64)
    n = int(available.sum())
    n_val = val_size if val_size is not None else round(n * (val_fraction or _DEFAULT_VAL_FRACTION))
    if not 1 <= n_val < n:
        raise ConfigError(
            "val_size" if val_size is not None else "val_fraction", n_val, f"must leave training images out of {n}"
        )
    rng_val = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    val_idx, rest = take_per_class(raw.train_y, proportional_counts(available, n_val), rng_val)

    train_idx = rest
    if subset is not None:
        rest_y = raw.train_y[rest]
        rest_counts = np.bincount(rest_y, minlength=num_classes).astype(np.int64)
        if subset > rest.size:
            raise ConfigError("subset", subset, f"only {rest.size} training images remain after the validation split")
        rng_sub = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        counts = balanced_counts(rest_counts, subset, rng_sub) if balanced else proportional_counts(rest_counts, subset)
        chosen, _ = take_per_class(rest_y, counts, rng_sub)
        train_idx = rest[chosen]

    return ImageData(
        name=name if name != "imagefolder" else os.path.basename(os.path.normpath(str(root))),
        train_x=raw.train_x[train_idx],
        train_y=raw.train_y[train_idx],
        val_x=raw.train_x[val_idx],
        val_y=raw.train_y[val_idx],
        num_classes=num_classes,
        class_names=raw.class_names,
        test_x=raw.test_x,
        test_y=raw.test_y,
        hflip=raw.hflip,
    )
