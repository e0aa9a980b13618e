"""Exact analytic cost model: ``count(arch)`` and the vectorized ``count_columns(space, cols)``."""

from optnas.cost._count import Cost, PoolCost, count, count_columns, infer_num_classes

__all__ = ["Cost", "PoolCost", "count", "count_columns", "infer_num_classes"]
