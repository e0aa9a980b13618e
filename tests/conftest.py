"""Suite-wide settings.

Tiny CPU models gain nothing from intra-op threads and lose a lot to contention on a busy 2-core
machine, so every test runs torch single-threaded (restored afterwards). Tests that need
albumentations never let it phone home.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


@pytest.fixture(autouse=True)
def _torch_single_thread() -> Iterator[None]:
    torch = sys.modules.get("torch")  # only if a test already imported it: keep import checks honest
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
