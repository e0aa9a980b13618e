"""``count_model``: exact MACs and parameters of a user's own ``torch.nn.Module``.

For a user-defined search space the sampler needs every candidate's cost before training
(FBNetV3, Dai et al., 2021, Sec. 3: constraints are checked on the architecture, not learned).
``count_model(build_fn, input_shape)`` returns the cost function: given a parameter dict it
builds the module on the meta device (shapes only: no memory, no initialization cost), runs one
forward pass under ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2) and sums the
parameter sizes. Results are cached per parameter set.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from optnas._errors import ConfigError

__all__ = ["count_model"]

Shape = Sequence[int]


class _ModelCost:
    """Callable ``params -> {"macs": int, "params": int}`` (see :func:`count_model`)."""

    def __init__(
        self,
        build_fn: Callable[[Mapping[str, Any]], Any],
        input_shape: Shape | Callable[[Mapping[str, Any]], Shape],
        cache_size: int,
    ) -> None:
        if not callable(build_fn):
            raise ConfigError("build_fn", build_fn, "must be a callable params -> torch.nn.Module")
        if not callable(input_shape):
            shape = tuple(input_shape)
            if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
                raise ConfigError("input_shape", input_shape, "must be positive integers, e.g. (1, 3, 32, 32)")
        self.build_fn = build_fn
        self.input_shape = input_shape
        self.cache_size = cache_size
        self._cache: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.calls = 0

    def __call__(self, params: Mapping[str, Any]) -> dict[str, float]:
        key = json.dumps(dict(params), sort_keys=True, default=str)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return dict(hit)
        value = self._count(params)
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return dict(value)

    def _count(self, params: Mapping[str, Any]) -> dict[str, float]:
        import torch
        from torch.utils.flop_counter import FlopCounterMode

        self.calls += 1
        shape = tuple(self.input_shape(params)) if callable(self.input_shape) else tuple(self.input_shape)
        with torch.device("meta"):
            model = self.build_fn(params)
            if not isinstance(model, torch.nn.Module):
                raise ConfigError("build_fn", type(model).__name__, "must return a torch.nn.Module")
            model.eval()
            x = torch.empty(shape)
            counter = FlopCounterMode(display=False)
            with counter, torch.no_grad():
                model(x)
        n_params = sum(p.numel() for p in model.parameters())
        return {"macs": float(counter.get_total_flops() // 2), "params": float(n_params)}


def count_model(
    build_fn: Callable[[Mapping[str, Any]], Any],
    input_shape: Shape | Callable[[Mapping[str, Any]], Shape] = (1, 3, 32, 32),
    *,
    cache_size: int = 100_000,
) -> Callable[[Mapping[str, Any]], dict[str, float]]:
    """A cost function for ``JointNASSampler(cost=...)`` from a model builder.

    Args:
        build_fn: ``params -> torch.nn.Module``; called on the meta device, so it must not
            load weights or touch data.
        input_shape: the input of one forward pass (batch included), or a function of the
            parameters (when the resolution is searched).
        cache_size: parameter sets whose costs are kept.

    Returns:
        ``cost(params) -> {"macs": ..., "params": ...}`` with exact counts
        (``FlopCounterMode`` FLOPs / 2, and ``sum(p.numel())``).

    Example:
        >>> import torchvision
        >>> cost = count_model(lambda p: torchvision.models.mobilenet_v2(width_mult=p["w"]), (1, 3, 224, 224))
        >>> round(cost({"w": 1.0})["params"])
        3504872
    """
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ConfigError("cache_size", cache_size, "must be a positive integer")
    return _ModelCost(build_fn, input_shape, cache_size)
