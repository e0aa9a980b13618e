"""SamplePairing's partner: drawn from the training set, not from the mini-batch (why, measured).

AutoAugment (Cubuk et al., 2019, Appendix, Table 1) blends with "another image (selected at random
from the same mini-batch)"; optnas' loader gives the op the training set as its pool (see
``optnas.augment.SamplePairing``). These tests check, through the training loader itself, that for
every image the partner is then a uniformly random training image -- the same distribution a
random batch-mate of a uniformly shuffled epoch has, apart from the chance of drawing the image
itself (1/N from the pool, 1/B from a batch) -- and that the draw is a seeded function of
``(seed, epoch, index)``.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A
import numpy as np
import pytest
from scipy import stats

from optnas.augment import SamplePairing
from optnas.data import ImageData, Loader

N = 48  # training images, each a constant image whose value names it
B = 8  # mini-batch size
EPOCHS = 150
VALUES = np.arange(N, dtype=np.uint8) * 5 + 3


def _data() -> ImageData:
    train = np.broadcast_to(VALUES[:, None, None, None], (N, 4, 4, 3)).copy()
    labels = np.arange(N) % 2
    return ImageData(
        name="ids",
        train_x=train,
        train_y=labels,
        val_x=train[:4].copy(),
        val_y=labels[:4].copy(),
        num_classes=2,
        class_names=("a", "b"),
        hflip=False,
    )


def _pool_partners(seed: int, epochs: int = EPOCHS) -> np.ndarray:
    """``partners[e, i]``: the training image that image ``i`` was blended with in epoch ``e``."""
    data = _data()
    # Weight 1: the blend is the partner itself, so the output names the partner.
    pipeline = A.Compose([SamplePairing(magnitude=1.0, p=1.0).set_pool(list(data.train_x))])
    loader = Loader(data, 4, batch_size=B, standard=False, augment=pipeline, seed=seed)
    lookup = {int(v): k for k, v in enumerate(VALUES)}
    out = np.empty((epochs, N), dtype=np.int64)
    for e in range(epochs):
        order = loader.order(e)
        for b in range(N // B):
            images, _ = loader.augmented(e, b)  # uint8 (B, R, R, 3), before normalization
            out[e, order[b * B : (b + 1) * B]] = [lookup[int(v)] for v in images[:, 0, 0, 0].tolist()]
    return out


def _batch_partners(seed: int, epochs: int = EPOCHS) -> np.ndarray:
    """The paper's rule on the loader's own epoch order: a uniformly random member of the batch."""
    data = _data()
    loader = Loader(data, 4, batch_size=B, standard=False, seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 99]))
    out = np.empty((epochs, N), dtype=np.int64)
    for e in range(epochs):
        order = loader.order(e)
        for start in range(0, N, B):
            batch = order[start : start + B]
            out[e, batch] = batch[rng.integers(0, batch.size, batch.size)]
    return out


def test_pool_partner_is_a_seeded_function_of_seed_epoch_and_index() -> None:
    a, b = _pool_partners(3, epochs=5), _pool_partners(3, epochs=5)
    np.testing.assert_array_equal(a, b)
    assert (a != _pool_partners(4, epochs=5)).mean() > 0.5  # another seed, other partners


def test_pool_partner_is_uniform_over_the_training_set() -> None:
    partners = _pool_partners(0)
    counts = np.bincount(partners.ravel(), minlength=N)
    assert stats.chisquare(counts).pvalue > 1e-3
    self_hits = int((partners == np.arange(N)).sum())
    assert stats.binomtest(self_hits, partners.size, 1 / N).pvalue > 1e-3


def test_pool_and_batch_partners_differ_only_in_the_chance_of_drawing_oneself() -> None:
    pool, batch = _pool_partners(1), _batch_partners(1)
    own = np.arange(N)
    # Drawing oneself (blend with itself = no change): 1/N from the pool, 1/B from a batch.
    assert stats.binomtest(int((pool == own).sum()), pool.size, 1 / N).pvalue > 1e-3
    assert stats.binomtest(int((batch == own).sum()), batch.size, 1 / B).pvalue > 1e-3
    # Given another image is drawn, both rules draw it uniformly: the partner's offset
    # (partner - image mod N, 1..N-1) has the same (uniform) distribution under both.
    offsets = [((p - own) % N)[p != own] for p in (pool, batch)]
    table = np.array([np.bincount(o, minlength=N)[1:] for o in offsets])
    assert stats.chi2_contingency(table).pvalue > 1e-3
    for o in offsets:
        assert stats.chisquare(np.bincount(o, minlength=N)[1:]).pvalue > 1e-3


@pytest.mark.parametrize("rule", ["pool", "batch"])
def test_every_image_meets_many_partners(rule: str) -> None:
    # Neither rule pairs an image with a fixed few: over 150 epochs each image meets most others.
    partners = _pool_partners(2) if rule == "pool" else _batch_partners(2)
    distinct = [len(set(partners[:, i].tolist())) for i in range(N)]
    assert min(distinct) > N // 2
