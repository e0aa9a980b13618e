"""Shared small training problem: a 600-image digits subset and a tiny network."""

from __future__ import annotations

import pytest

from optnas.data import ImageData, load
from optnas.space import Arch, Recipe

TINY = "res8 stem_k3_s1_c16_hs ir_k3_e1_c16_hs ir_k3_e3_c24_s2_n2_se_hs ir_k3_e3_c32_s2_hs head_c64_hs"


@pytest.fixture(scope="session")
def small_digits() -> ImageData:
    return load("digits", subset=600)


@pytest.fixture(scope="session")
def tiny_arch() -> Arch:
    return Arch.parse(TINY)


@pytest.fixture
def recipe() -> Recipe:
    """Learns the subset to ~0.9 validation accuracy in 3 epochs."""
    return Recipe(
        optimizer="adamw",
        lr=0.03,
        weight_decay=1e-4,
        epochs=3,
        batch_size=32,
        warmup_epochs=0.5,
        label_smoothing=0.0,
        dropout=0.0,
    )
