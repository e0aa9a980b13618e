"""Exact analytic cost model and latency prediction.

- :func:`count` / :func:`count_columns`: exact MACs and parameters (vectorized over pools).
- :func:`count_model`: exact MACs and parameters of a user's own ``torch.nn.Module``.
- :class:`LatencyTable`: per-block latency lookup table of a device (measured lazily and cached
  per device fingerprint, or a user's JSON/CSV table), :func:`measure_latency`,
  :func:`device_table`, :func:`default_latency_table`, :func:`use_latency_table`.
"""

from optnas.cost._count import Cost, PoolCost, PoolMetrics, count, count_columns, infer_num_classes
from optnas.cost._defaults import default_latency_table, use_latency_table
from optnas.cost._latency import (
    BlockKey,
    LatencyTable,
    LatencyTarget,
    arch_keys,
    device_fingerprint,
    device_table,
    measure_latency,
    measure_runs,
)
from optnas.cost._model import count_model

__all__ = [
    "BlockKey",
    "Cost",
    "LatencyTable",
    "LatencyTarget",
    "PoolCost",
    "PoolMetrics",
    "arch_keys",
    "count",
    "count_columns",
    "count_model",
    "default_latency_table",
    "device_fingerprint",
    "device_table",
    "infer_num_classes",
    "measure_latency",
    "measure_runs",
    "use_latency_table",
]
