"""Run torch single-threaded here: on a shared 2-core machine, intra-op thread pools that spin
while other processes hold the cores make small CPU forwards 10-40x slower."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _single_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
