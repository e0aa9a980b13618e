"""The latency table used where none is passed explicitly.

``max_latency_ms`` constraints read ``Cost.latency_ms`` / ``PoolCost.latency_ms``. When the cost
was computed without a table (``count(arch)``, ``count_columns(space, cols)``, as the sampler and
the objectives do), the latency comes from the *default* table, resolved in this order:

1. the innermost :func:`use_latency_table` block of this process;
2. ``$OPTNAS_LATENCY_TABLE``: a user table file (JSON or CSV, see :mod:`optnas.cost._latency`);
3. this machine's measured table (:func:`optnas.cost.device_table`) for the target
   ``$OPTNAS_LATENCY_DEVICE`` (default ``cpu``), ``$OPTNAS_LATENCY_BATCH`` (default 1) and
   ``$OPTNAS_LATENCY_THREADS`` (default 1), cached on disk per device fingerprint.

The same table therefore scores the pool, checks satisfiability and records each trial, so a
candidate the pool filter accepted is recorded as feasible.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from optnas._errors import ConfigError
from optnas.cost._latency import LatencyTable, LatencyTarget, device_table

__all__ = ["default_latency_table", "use_latency_table"]

_STACK: list[LatencyTable] = []
_LOADED: dict[tuple[str, ...], LatencyTable] = {}


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "")
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(name, text, "expected an integer") from None


def default_latency_table() -> LatencyTable:
    """The table ``max_latency_ms`` uses when none is given (see the module docstring)."""
    if _STACK:
        return _STACK[-1]
    path = os.environ.get("OPTNAS_LATENCY_TABLE", "")
    target = LatencyTarget(
        device=os.environ.get("OPTNAS_LATENCY_DEVICE", "") or "cpu",
        batch_size=_env_int("OPTNAS_LATENCY_BATCH", 1),
        threads=_env_int("OPTNAS_LATENCY_THREADS", 1),
    )
    key = (path, target.device, str(target.batch_size), str(target.threads), os.environ.get("OPTNAS_CACHE_DIR", "~"))
    if key not in _LOADED:
        _LOADED[key] = LatencyTable.load(path) if path else device_table(target)
    return _LOADED[key]


@contextmanager
def use_latency_table(table: LatencyTable) -> Iterator[LatencyTable]:
    """Make ``table`` the default within the block (e.g. a user table, or 4 threads)."""
    if not isinstance(table, LatencyTable):
        raise ConfigError("latency table", type(table).__name__, "expected an optnas.cost.LatencyTable")
    _STACK.append(table)
    try:
        yield table
    finally:
        _STACK.pop()
