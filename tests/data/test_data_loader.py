"""optnas.data.Loader: batches, determinism, the standard augmentation, extra transforms."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A

from optnas import ConfigError
from optnas.data import ImageData, Loader, load, standard_padding


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load("digits", subset=200)


def _patterned(n: int, size: int, hflip: bool) -> ImageData:
    """Images whose pixels are all distinct (a position code), so crops and flips are identifiable."""
    rng = np.random.default_rng(5)
    base = rng.permutation(256 * 3)[: size * size * 3].reshape(size, size, 3) % 256
    x = np.stack([np.roll(base, i, axis=0) for i in range(n)]).astype(np.uint8)
    y = np.arange(n) % 2
    return ImageData("pattern", x, y, x[:4].copy(), y[:4].copy(), 2, ("a", "b"), hflip=hflip)


def _to_uint8(loader: Loader, x: torch.Tensor) -> np.ndarray:
    mean, std = loader.data.channel_stats()
    img = (x.permute(0, 2, 3, 1).double().numpy() * std + mean) * 255.0
    return np.rint(img).astype(np.uint8)


def _one_batch(loader: Loader, epoch: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    batches = list(loader.epoch(epoch))
    return torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])


def test_padding_scales_with_resolution() -> None:
    assert [standard_padding(r) for r in (8, 16, 24, 32, 64, 224)] == [1, 2, 3, 4, 8, 28]


def test_batches_cover_epoch_once(digits: ImageData) -> None:
    loader = Loader(digits, 8, batch_size=64, standard=False, seed=0)
    batches = list(loader.epoch(0))
    assert len(loader) == len(batches) == 4
    assert [b[0].shape[0] for b in batches] == [64, 64, 64, 8]
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    assert x.dtype == torch.float32 and x.shape == (200, 3, 8, 8) and x.is_contiguous()
    assert torch.equal(torch.bincount(y, minlength=10), torch.from_numpy(digits.class_counts()))
    # without augmentation the epoch is a permutation of the (normalized) training set
    got = sorted(bytes(r) for r in _to_uint8(loader, x).reshape(200, -1))
    assert got == sorted(bytes(r) for r in digits.train_x.reshape(200, -1))


def test_single_image_tail_batch_is_dropped(digits: ImageData) -> None:
    loader = Loader(digits, 8, batch_size=199, standard=False)
    assert len(loader) == 1 and [b[0].shape[0] for b in loader.epoch(0)] == [199]


def test_normalization_uses_training_statistics(digits: ImageData) -> None:
    loader = Loader(digits, 8, batch_size=200, standard=False)
    x, _ = _one_batch(loader)
    assert torch.allclose(x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(x.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-4)


def test_deterministic_per_seed_and_epoch(digits: ImageData) -> None:
    a = _one_batch(Loader(digits, 16, batch_size=50, seed=3), epoch=2)
    b = _one_batch(Loader(digits, 16, batch_size=50, seed=3), epoch=2)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    c = _one_batch(Loader(digits, 16, batch_size=50, seed=4), epoch=2)
    d = _one_batch(Loader(digits, 16, batch_size=50, seed=3), epoch=1)
    assert not torch.equal(a[1], c[1]) and not torch.equal(a[1], d[1])


def test_no_global_random_state_is_used(digits: ImageData) -> None:
    py, np_state, torch_state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    _one_batch(Loader(digits, 8, batch_size=64, seed=0))
    assert random.getstate() == py
    assert all(np.array_equal(u, v) for u, v in zip(np.random.get_state(), np_state, strict=True))
    assert torch.equal(torch.random.get_rng_state(), torch_state)


@pytest.mark.parametrize("hflip", [False, True])
def test_standard_augmentation_is_crop_and_flip(hflip: bool) -> None:
    data = _patterned(300, 16, hflip)
    loader = Loader(data, 16, batch_size=300, seed=1)
    pad = standard_padding(16)
    x, y = _one_batch(loader)
    imgs = _to_uint8(loader, x)
    padded = np.pad(data.train_x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    # identify each output: its label-order index is recoverable from the epoch permutation
    order = loader.order(0)
    assert torch.equal(y, torch.from_numpy(data.train_y[order]))
    offsets, flips = set(), 0
    for img, i in zip(imgs, order, strict=True):
        found = None
        for flip in (False, True):
            src = padded[i][:, ::-1] if flip else padded[i]
            for dy in range(2 * pad + 1):
                for dx in range(2 * pad + 1):
                    if np.array_equal(src[dy : dy + 16, dx : dx + 16], img):
                        found = (flip, dy, dx)
        assert found is not None
        flips += found[0]
        offsets.add(found[1:])
    assert len(offsets) == (2 * pad + 1) ** 2  # every crop offset occurs
    if hflip:
        assert abs(flips - 150) < 4 * np.sqrt(300 * 0.25)  # Binomial(300, 0.5)
    else:
        assert flips == 0


def test_extra_augmentation_runs_after_standard(digits: ImageData) -> None:
    plain = Loader(digits, 8, batch_size=200, standard=False, seed=0)
    inverted = Loader(digits, 8, batch_size=200, standard=False, augment=A.InvertImg(p=1.0), seed=0)
    a, b = _to_uint8(plain, _one_batch(plain)[0]), _to_uint8(inverted, _one_batch(inverted)[0])
    assert np.array_equal(b, 255 - a)


def test_augmentation_must_keep_size(digits: ImageData) -> None:
    loader = Loader(digits, 8, batch_size=32, augment=A.Resize(6, 6), seed=0)
    with pytest.raises(ConfigError) as err:
        next(loader.epoch(0))
    assert err.value.field == "augment"
    with pytest.raises(ConfigError) as err:
        Loader(digits, 8, batch_size=32, augment=lambda image: image)
    assert err.value.field == "augment"


def test_eval_tensors_are_resized_and_unaugmented(digits: ImageData) -> None:
    loader = Loader(digits, 16, batch_size=32, seed=0)
    x, y = loader.eval_tensors("val")
    assert x.shape == (digits.val_x.shape[0], 3, 16, 16) and torch.equal(y, torch.from_numpy(digits.val_y.copy()))
    assert np.array_equal(_to_uint8(loader, x), digits.resized("val", 16))
    assert loader.eval_tensors("val")[0] is x


@pytest.mark.parametrize(("field", "kwargs"), [("resolution", {"resolution": 0}), ("batch_size", {"batch_size": 0})])
def test_loader_rejects_bad_sizes(digits: ImageData, field: str, kwargs: dict[str, int]) -> None:
    args = {"resolution": 8, "batch_size": 8} | kwargs
    with pytest.raises(ConfigError) as err:
        Loader(digits, args["resolution"], batch_size=args["batch_size"])
    assert err.value.field == field
