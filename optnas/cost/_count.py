"""Exact, analytic MACs and parameter counts (no model is built).

The counts equal what ``torch.utils.flop_counter.FlopCounterMode`` (MACs = FLOPs / 2: every
convolution and matrix product, nothing else) and ``sum(p.numel() for p in
model.parameters())`` give for the network :func:`optnas.models.build` makes. They are the
"free" architecture statistics that FBNetV3 (Dai et al., 2021, Sec. 3.2) uses to pretrain its
predictor's encoder, and the resource constraints of its constrained search (Sec. 3).

Published sizes often count otherwise. mobile-vision's model zoo (the FBNetV3 references) counts
weights only (no biases, no BatchNorm) and every adaptive average pool as one MAC per input
element; converted that way, ``fbnetv3_a`` .. ``fbnetv3_g`` match ``model_info_fbnet_v3.json``
exactly (``tests/cost/test_fbnetv3_references.py``).

Every formula works element-wise on numpy integer arrays, so :func:`count_columns` costs a whole
QMC pool in one vectorized pass; :func:`count` applies the same formulas to one architecture.

A torchvision classifier (:class:`~optnas.space.TorchvisionArch`, AutoTrain's fixed networks)
has no closed form here: :func:`count` builds it on the meta device (shapes only, no memory, no
training) and counts it with ``FlopCounterMode``, once per (network, resolution, classes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError
from optnas.space import AnyArch, JointSpace, TorchvisionArch

if TYPE_CHECKING:
    from optnas.cost._latency import LatencyTable

__all__ = ["Cost", "PoolCost", "PoolMetrics", "count", "count_columns", "infer_num_classes"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_I = np.int64


@dataclass(frozen=True)
class Cost:
    """Cost of one architecture at its resolution.

    ``latency_ms`` is the latency predicted by a per-block lookup table
    (:class:`optnas.cost.LatencyTable`): the one given to :func:`count`, else, on first access,
    the default table of :func:`optnas.cost.default_latency_table`.
    """

    macs: int
    params: int
    resolution: int
    num_classes: int
    latency: float | None = None
    arch: AnyArch | None = field(default=None, compare=False, repr=False)

    @cached_property
    def latency_ms(self) -> float:
        """Predicted latency in milliseconds (see the class docstring)."""
        if self.latency is not None:
            return self.latency
        if self.arch is None:
            raise ConfigError("max_latency_ms", None, "this cost has no latency: count it with latency=<LatencyTable>")
        from optnas.cost._defaults import default_latency_table

        return default_latency_table().predict(self.arch, self.num_classes)

    @property
    def mflops(self) -> float:
        """Millions of multiply-accumulates (the "MFLOPs" of the mobile-NAS literature)."""
        return self.macs / 1e6

    @property
    def mparams(self) -> float:
        """Millions of parameters."""
        return self.params / 1e6

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "macs": self.macs,
            "params": self.params,
            "mflops": self.mflops,
            "mparams": self.mparams,
            "resolution": self.resolution,
            "num_classes": self.num_classes,
            **({"latency_ms": self.latency} if self.latency is not None else {}),
        }


@dataclass(frozen=True)
class PoolCost:
    """Costs of a pool of candidates (one entry per row).

    ``latency_ms`` is predicted from a per-block lookup table, vectorized over the pool: the
    table given to :func:`count_columns`, else, on first access, the default table of
    :func:`optnas.cost.default_latency_table`.
    """

    macs: IntArray
    params: IntArray
    latency: FloatArray | None = None
    space: JointSpace | None = field(default=None, compare=False, repr=False)
    cols: FloatArray | None = field(default=None, compare=False, repr=False)
    num_classes: int = 1000

    @cached_property
    def latency_ms(self) -> FloatArray:
        """Predicted latency of every row in milliseconds (see the class docstring)."""
        if self.latency is not None:
            return self.latency
        if self.space is None or self.cols is None:
            raise ConfigError("max_latency_ms", None, "this pool has no latency: count it with latency=<LatencyTable>")
        from optnas.cost._defaults import default_latency_table

        return default_latency_table().predict_columns(self.space, self.cols, self.num_classes)

    def metrics(self) -> PoolMetrics:
        """The statistics by metric name, as float arrays (``{"macs", "params", "latency_ms"}``);
        ``latency_ms`` is only computed when first looked up."""
        return PoolMetrics(self)


class PoolMetrics(dict[str, FloatArray]):
    """``{"macs": ..., "params": ...}`` of a pool, plus ``"latency_ms"`` computed on first lookup.

    A plain dict to its readers (``metric in m``, ``m[metric]``), so cost functions that return
    metric mappings can pass a pool's latency along without paying for it when no constraint
    asks for it.
    """

    def __init__(self, pool: PoolCost) -> None:
        super().__init__(macs=np.asarray(pool.macs, dtype=float), params=np.asarray(pool.params, dtype=float))
        self._pool = pool
        if pool.latency is not None:
            self["latency_ms"] = np.asarray(pool.latency, dtype=float)

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or (key == "latency_ms" and self._pool.space is not None)

    def __missing__(self, key: str) -> FloatArray:
        if key != "latency_ms":
            raise KeyError(key)
        value = np.asarray(self._pool.latency_ms, dtype=float)
        self[key] = value
        return value


def _out(h: Any, k: Any, s: Any, pad: Any = None) -> Any:
    """Output size of a conv with padding ``pad`` (default (k - 1) // 2)."""
    p = (k - 1) // 2 if pad is None else pad
    return (h + 2 * p - k) // s + 1


def _divisible_by(v: Any, divisor: int = 8) -> Any:
    """Vectorized :func:`optnas.space._arch.divisible_by` (mobile-vision's ``get_divisible_by``,
    the ``sefb`` squeeze width): multiples kept, else nearest multiple (halves up, at least one),
    plus one more below 95%; at least ``divisor``."""
    v = np.asarray(v, dtype=_I)
    near = np.maximum(1, np.floor(v / divisor + 0.5).astype(_I)) * divisor
    near = np.where(near < 0.95 * v, near + divisor, near)
    return np.maximum(divisor, np.where(v % divisor == 0, v, near)).astype(_I)


def _conv_bn(h: Any, cin: Any, cout: Any, k: Any, s: Any, groups: Any, pad: Any = None) -> tuple[Any, Any, Any]:
    """(out size, MACs, params) of Conv2d(bias=False) + BatchNorm2d."""
    ho = _out(h, k, s, pad)
    per_out = (cin // groups) * k * k
    return ho, ho * ho * cout * per_out, cout * per_out + 2 * cout


def _make_divisible(v: Any, divisor: int = 8) -> Any:
    new = np.maximum(divisor, np.floor(v + divisor / 2) // divisor * divisor)
    return np.where(new < 0.9 * v, new + divisor, new).astype(_I)


def _block(
    h: Any, cin: Any, exp: Any, cout: Any, k: Any, s: Any, se: str | None, pad: int | None = None
) -> tuple[Any, Any, Any]:
    """(out size, MACs, params) of one MBConv block; arrays broadcast element-wise."""
    macs = np.zeros_like(np.asarray(h, dtype=_I))
    params = np.zeros_like(macs)
    has_expand = exp != cin
    _, m, p = _conv_bn(h, cin, exp, 1, 1, 1)
    macs = macs + np.where(has_expand, m, 0)
    params = params + np.where(has_expand, p, 0)
    ho, m, p = _conv_bn(h, exp, exp, k, s, exp, pad)
    macs, params = macs + m, params + p
    if se is not None:
        if se == "se":
            sq = _make_divisible(exp // 4, 8)
        elif se == "sefb":
            sq = _divisible_by(cin // 4)
        else:
            sq = np.maximum(1, cin // 4)
        macs = macs + 2 * exp * sq
        params = params + 2 * exp * sq + sq + exp
    _, m, p = _conv_bn(ho, exp, cout, 1, 1, 1)
    return ho, macs + m, params + p


def _head(h: Any, cin: Any, channels: Any, fc: int | None, num_classes: int) -> tuple[Any, Any]:
    _, macs, params = _conv_bn(h, cin, channels, 1, 1, 1)
    width = channels
    if fc is not None:
        macs = macs + width * fc
        params = params + width * fc + fc
        width = fc
    return macs + width * num_classes, params + width * num_classes + num_classes


def count(
    arch: AnyArch, num_classes: int = 1000, resolution: int | None = None, *, latency: LatencyTable | None = None
) -> Cost:
    """Exact MACs and parameters of ``arch`` (at ``resolution`` if given, else its own).

    With ``latency`` (a :class:`~optnas.cost.LatencyTable`) the cost also carries the predicted
    latency; without it, ``Cost.latency_ms`` uses the default table when first read.
    """
    res = arch.resolution if resolution is None else resolution
    if isinstance(arch, TorchvisionArch):
        c = _count_torchvision(arch.replace_resolution(res), num_classes)
        if latency is None:
            return c
        return Cost(c.macs, c.params, c.resolution, c.num_classes, latency.predict(arch, num_classes))
    if resolution is not None:
        arch = arch.replace_resolution(res)
    st = arch.stem
    h, macs, params = _conv_bn(_I(res), _I(3), _I(st.out_channels), st.kernel, st.stride, 1)
    for b in arch.blocks:
        h, m, p = _block(h, _I(b.in_channels), _I(b.expanded), _I(b.out_channels), b.kernel, b.stride, b.se, b.padding)
        macs, params = macs + m, params + p
    m, p = _head(h, _I(arch.last_channels), _I(arch.head.channels), arch.head.fc, num_classes)
    lat = None if latency is None else latency.predict(arch, num_classes)
    return Cost(int(macs + m), int(params + p), res, num_classes, lat, arch)


def infer_num_classes(arch: AnyArch, params: int) -> int:
    """Number of classes of a network with ``params`` parameters (exact, from the cost model).

    The parameter count is affine in the classifier width, ``params(n) = params(1) + (n - 1) * d``,
    so two exact counts (:func:`optnas.cost.count`) recover ``n``.

    Raises:
        ConfigError: ``params`` does not match the architecture for any positive class count.
    """
    p1 = count(arch, 1).params
    d = count(arch, 2).params - p1
    n, rem = divmod(params - p1, d)
    if rem or n < 0:
        raise ConfigError("params", params, f"does not match architecture {arch} for any number of classes")
    return int(n) + 1


@lru_cache(maxsize=64)
def _count_torchvision(arch: TorchvisionArch, num_classes: int) -> Cost:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from optnas.models import build

    model = build(arch, None, num_classes, device="meta").eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.empty(1, 3, arch.resolution, arch.resolution, device="meta"))
    params = sum(p.numel() for p in model.parameters())
    return Cost(int(counter.get_total_flops()) // 2, int(params), arch.resolution, num_classes)


def count_columns(
    space: JointSpace, cols: npt.NDArray[np.float64], num_classes: int = 1000, *, latency: LatencyTable | None = None
) -> PoolCost:
    """Vectorized :func:`count` over a column array of ``space`` (see ``JointSpace.sample``).

    With ``latency`` the pool also carries the predicted latencies
    (:meth:`LatencyTable.predict_columns`); without it, ``PoolCost.latency_ms`` uses the default
    table when first read.
    """
    n = cols.shape[0]
    lat = None if latency is None else latency.predict_columns(space, cols, num_classes)
    if space.fixed_arch is not None:
        c = count(space.fixed_arch, num_classes)
        return PoolCost(np.full(n, c.macs, dtype=_I), np.full(n, c.params, dtype=_I), lat, space, cols, num_classes)
    v = space.full_columns(cols)
    kernels = {f"g{i}_k": g.kernels for i, g in enumerate(space.groups)}

    def col(name: str) -> IntArray:
        return np.rint(v[name]).astype(_I)

    h, macs, params = _conv_bn(col("resolution"), _I(3), col("stem_c"), space.stem_kernel, space.stem_stride, 1)
    cin = col("stem_c")
    for i, g in enumerate(space.groups):
        k = np.asarray(kernels[f"g{i}_k"], dtype=_I)[col(f"g{i}_k")]
        e = v[f"g{i}_e"]
        cout = col(f"g{i}_c")
        depth = col(f"g{i}_n")
        for r in range(g.depth.high):
            active = r < depth
            stride = g.stride if r == 0 else 1
            exp = np.where(e == 1.0, cin, _make_divisible(cin * e, 8))
            ho, m, p = _block(h, cin, exp, cout, k, stride, g.se)
            macs = macs + np.where(active, m, 0)
            params = params + np.where(active, p, 0)
            h = np.where(active, ho, h)
            cin = np.where(active, cout, cin)
    m, p = _head(h, cin, col("head_c"), space.head_fc, num_classes)
    return PoolCost(np.asarray(macs + m, dtype=_I), np.asarray(params + p, dtype=_I), lat, space, cols, num_classes)
