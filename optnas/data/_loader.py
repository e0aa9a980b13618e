"""Mini-batches from an :class:`ImageData`: resize, albumentations augmentation, normalization.

The training images are held as ``uint8`` arrays resized once per resolution (cached on the
dataset). Each epoch draws a permutation from a numpy ``Generator`` and augments every image
with an albumentations pipeline whose random state is reseeded per epoch from
``SeedSequence([seed, 3, epoch])``: a run is reproducible from ``seed`` alone, and no global
random state is read or written.

The *standard* pipeline is the CIFAR recipe of He et al. (2016, Sec. 4.2) and the baseline
that AutoAugment (Cubuk et al., 2019, Sec. 4.1) applies before its policy: zero-pad 4 pixels
(scaled with the resolution: ``max(1, round(4 * resolution / 32))``), random crop back to the
resolution, random horizontal flip (omitted when the dataset's ``hflip`` is False, e.g.
digits and SVHN). The padding is done once per resolution on the whole array with numpy; the
per-sample pipeline is ``RandomCrop`` (+ ``HorizontalFlip``) followed by the optional extra
transform (e.g. an AutoAugment policy from :mod:`optnas.augment`).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import numpy.typing as npt
import torch

from optnas._errors import ConfigError
from optnas.data._image_data import ImageData

__all__ = ["Loader", "standard_padding", "standard_pipeline"]

U8 = npt.NDArray[np.uint8]

_SHUFFLE, _AUGMENT = 2, 3


def standard_padding(resolution: int) -> int:
    """Zero padding of the standard crop: 4 pixels at 32 px, scaled with the resolution."""
    return max(1, round(4 * resolution / 32))


def standard_pipeline(resolution: int, *, hflip: bool) -> list[A.BasicTransform]:
    """Per-sample part of the standard augmentation (inputs already zero-padded).

    Args:
        resolution: output side length.
        hflip: add a random horizontal flip (p=0.5).
    """
    transforms: list[A.BasicTransform] = [A.RandomCrop(resolution, resolution)]
    if hflip:
        transforms.append(A.HorizontalFlip(p=0.5))
    return transforms


def _is_transform(obj: object) -> bool:
    return isinstance(obj, A.BasicTransform | A.BaseCompose)


class Loader:
    """Training mini-batches and evaluation tensors of one dataset at one resolution.

    Args:
        data: the dataset.
        resolution: side length the images are resized to.
        batch_size: training mini-batch size.
        standard: apply the standard pad + crop (+ flip) augmentation.
        augment: an extra albumentations transform (or ``Compose``) applied to every training
            image after the standard crop and flip; it must keep the image size.
        seed: seed of the shuffling and augmentation streams.
        device: where batches are placed.

    Batches are ``(x, y)`` with ``x`` a float32 ``(B, 3, R, R)`` tensor normalized by the
    training set's per-channel mean and standard deviation and ``y`` int64 labels. The last
    batch of an epoch is kept unless it would hold a single image (BatchNorm needs two).
    """

    def __init__(
        self,
        data: ImageData,
        resolution: int,
        *,
        batch_size: int,
        standard: bool = True,
        augment: Any = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 1:
            raise ConfigError("resolution", resolution, "must be a positive integer")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError("batch_size", batch_size, "must be a positive integer")
        if augment is not None and not _is_transform(augment):
            raise ConfigError("augment", type(augment).__name__, "expected an albumentations transform or Compose")
        self.data = data
        self.resolution = resolution
        self.batch_size = batch_size
        self.seed = seed
        self.device = torch.device(device)
        self.standard = standard
        mean, std = data.channel_stats()
        shape = (1, 3, 1, 1)
        self._scale = torch.tensor(1.0 / (255.0 * std), dtype=torch.float32).reshape(shape).to(self.device)
        self._shift = torch.tensor(mean / std, dtype=torch.float32).reshape(shape).to(self.device)
        transforms: list[Any] = []
        if standard:
            pad = standard_padding(resolution)
            self._source = data.cached(("padded", resolution, pad), lambda: self._pad(pad))
            transforms += standard_pipeline(resolution, hflip=data.hflip)
        else:
            self._source = data.resized("train", resolution)
        if augment is not None:
            transforms.append(augment)
        self.pipeline: A.Compose | None = A.Compose(transforms, p=1.0) if transforms else None
        self._labels = torch.from_numpy(np.array(data.train_y, dtype=np.int64))
        self._eval: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def _pad(self, pad: int) -> U8:
        x = self.data.resized("train", self.resolution)
        out = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        out.flags.writeable = False
        return out

    def __len__(self) -> int:
        n = int(self.data.train_x.shape[0])
        steps = math.ceil(n / self.batch_size)
        return steps - 1 if steps > 1 and n % self.batch_size == 1 else steps

    def normalize(self, x: U8) -> torch.Tensor:
        """``(B, R, R, 3)`` uint8 -> normalized float32 ``(B, 3, R, R)`` on the loader's device."""
        if not x.flags.writeable:  # cached arrays are read-only; torch wants writable memory
            x = x.copy()
        t = torch.from_numpy(x).to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        t = t.to(dtype=torch.float32, memory_format=torch.contiguous_format)
        return t.mul_(self._scale).sub_(self._shift)

    def _augment(self, idx: npt.NDArray[np.int64]) -> U8:
        pipeline = self.pipeline
        if pipeline is None:
            batch: U8 = self._source[idx]
            return batch
        r = self.resolution
        out = np.empty((idx.size, r, r, 3), dtype=np.uint8)
        for j, i in enumerate(idx):
            img = pipeline(image=self._source[i])["image"]
            if img.shape != (r, r, 3):
                raise ConfigError("augment", img.shape, f"augmentation must keep images {r}x{r}x3")
            out[j] = img
        return out

    def order(self, epoch: int) -> npt.NDArray[np.int64]:
        """The permutation of the training images that epoch ``epoch`` visits."""
        n = int(self.data.train_x.shape[0])
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, _SHUFFLE, epoch]))
        return rng.permutation(n).astype(np.int64)

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The shuffled, augmented mini-batches of epoch ``epoch`` (0-based)."""
        order = self.order(epoch)
        if self.pipeline is not None:
            ss = np.random.SeedSequence([self.seed, _AUGMENT, epoch])
            np_state, py_state = ss.spawn(2)
            # One shared stream for all transforms: Compose(seed=...) would give every
            # transform its own identically seeded generator, correlating their draws.
            self.pipeline.set_random_state(
                np.random.default_rng(np_state), random.Random(int(py_state.generate_state(1)[0]))
            )
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            x = self.normalize(self._augment(idx))
            y = self._labels[torch.from_numpy(idx)].to(self.device, non_blocking=True)
            yield x, y

    def eval_tensors(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """All images of ``split`` (``"val"``/``"test"``/``"train"``), unaugmented, as tensors.

        One vectorized conversion per split, cached on the loader.
        """
        if split not in self._eval:
            x = self.data.resized(split, self.resolution)
            _, y = self.data.split(split)
            self._eval[split] = (self.normalize(x), torch.from_numpy(np.array(y, dtype=np.int64)).to(self.device))
        return self._eval[split]
