"""optnas.data.Loader with DataLoader worker processes: the same batches as without them."""

from __future__ import annotations

import multiprocessing
import os
import random

import numpy as np
import pytest
import torch

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
import albumentations as A

from optnas import ConfigError
from optnas.augment import rand_augment
from optnas.data import ImageData, Loader, load


@pytest.fixture(scope="module")
def digits() -> ImageData:
    return load("digits", subset=300)


def _epochs(loader: Loader, epochs: list[int]) -> list[list[tuple[torch.Tensor, torch.Tensor]]]:
    with loader:
        return [list(loader.epoch(e)) for e in epochs]


_Epochs = list[list[tuple[torch.Tensor, torch.Tensor]]]


def _same(a: _Epochs, b: _Epochs) -> bool:
    if len(a) != len(b) or any(len(ea) != len(eb) for ea, eb in zip(a, b, strict=True)):
        return False
    pairs = [(p, q) for ea, eb in zip(a, b, strict=True) for p, q in zip(ea, eb, strict=True)]
    return all(torch.equal(xa, xb) and torch.equal(ya, yb) for (xa, ya), (xb, yb) in pairs)


@pytest.mark.parametrize("workers", [1, 2])
def test_workers_give_the_batches_of_the_training_process(digits: ImageData, workers: int) -> None:
    # standard crop + flip, then RandAugment: many random draws per image
    kw = {"batch_size": 64, "seed": 7, "augment": rand_augment(2, 9)}
    plain = _epochs(Loader(digits, 16, **kw), [0, 1, 2])  # type: ignore[arg-type]
    parallel = _epochs(Loader(digits, 16, num_workers=workers, epochs=3, **kw), [0, 1, 2])  # type: ignore[arg-type]
    assert _same(plain, parallel)
    assert not torch.equal(plain[0][0][0], plain[1][0][0])  # epochs differ


def test_out_of_order_epochs_restart_the_stream(digits: ImageData) -> None:
    plain = _epochs(Loader(digits, 8, batch_size=50, seed=1), [2, 0, 0, 1])
    parallel = _epochs(Loader(digits, 8, batch_size=50, seed=1, num_workers=2), [2, 0, 0, 1])
    assert _same(plain, parallel)
    loader = Loader(digits, 8, batch_size=50, seed=1, num_workers=1)
    with loader:
        first = next(loader.epoch(0))  # abandon epoch 0 after one batch
        again = list(loader.epoch(0))
    assert torch.equal(first[0], again[0][0]) and _same([again], [plain[1]])


def test_augmentation_is_a_function_of_seed_epoch_and_image(digits: ImageData) -> None:
    """Per-sample seeding: an image's augmentation does not depend on its batch or neighbours."""
    small, large = Loader(digits, 16, batch_size=7, seed=3), Loader(digits, 16, batch_size=300, seed=3)
    a = torch.cat([x for x, _ in (small.augmented(1, b) for b in range(len(small)))])
    b = large.augmented(1, 0)[0]
    assert a.dtype == torch.uint8 and a.shape == (300, 16, 16, 3) and torch.equal(a, b)
    other_seed = Loader(digits, 16, batch_size=300, seed=4)
    # the same image in another run: compare by image index, since the orders differ too
    inv_a = np.argsort(large.order(1))
    inv_c = np.argsort(other_seed.order(1))
    c = other_seed.augmented(1, 0)[0]
    assert not torch.equal(b[inv_a], c[inv_c])


def test_no_global_random_state_is_used_with_workers(digits: ImageData) -> None:
    py, np_state, torch_state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    _epochs(Loader(digits, 8, batch_size=64, seed=0, num_workers=1), [0, 1])
    assert random.getstate() == py
    assert all(np.array_equal(u, v) for u, v in zip(np.random.get_state(), np_state, strict=True))
    assert torch.equal(torch.random.get_rng_state(), torch_state)


def test_close_stops_the_worker_processes(digits: ImageData) -> None:
    before = set(multiprocessing.active_children())
    loader = Loader(digits, 8, batch_size=64, seed=0, num_workers=2)
    list(loader.epoch(0))
    assert len(set(multiprocessing.active_children()) - before) == 2
    loader.close()
    assert set(multiprocessing.active_children()) - before == set()
    assert len(list(loader.epoch(1))) == len(loader)  # a later epoch starts new workers
    loader.close()


def test_worker_config_error_keeps_its_field(digits: ImageData) -> None:
    loader = Loader(digits, 8, batch_size=32, augment=A.Resize(6, 6), seed=0, num_workers=1)
    with pytest.raises(ConfigError) as err, loader:
        next(loader.epoch(0))
    assert err.value.field == "augment"


def test_channels_last_batches_hold_the_same_values(digits: ImageData) -> None:
    plain = _epochs(Loader(digits, 8, batch_size=100, seed=2), [0])[0]
    cl = _epochs(Loader(digits, 8, batch_size=100, seed=2, channels_last=True), [0])[0]
    assert all(x.is_contiguous(memory_format=torch.channels_last) for x, _ in cl)
    assert all(torch.equal(a, b) for (a, _), (b, _) in zip(plain, cl, strict=True))


def test_eval_batches_match_eval_tensors(digits: ImageData) -> None:
    loader = Loader(digits, 16, batch_size=32, seed=0)
    x, y = loader.eval_tensors("val")
    parts = list(loader.eval_batches("val", 17))
    assert torch.equal(torch.cat([p[0] for p in parts]), x) and torch.equal(torch.cat([p[1] for p in parts]), y)


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [("num_workers", {"num_workers": -1}), ("prefetch_factor", {"prefetch_factor": 0}), ("epochs", {"epochs": 0})],
)
def test_loader_rejects_bad_worker_options(digits: ImageData, field: str, kwargs: dict[str, int]) -> None:
    with pytest.raises(ConfigError) as err:
        Loader(digits, 8, batch_size=8, **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_epochs_past_the_bound_are_an_error(digits: ImageData) -> None:
    loader = Loader(digits, 8, batch_size=64, num_workers=1, epochs=1)
    with pytest.raises(ConfigError) as err, loader:
        next(loader.epoch(1))
    assert err.value.field == "epoch"
