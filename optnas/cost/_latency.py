"""Latency on a target device: measurement and a per-block lookup table.

FBNet (Wu et al., 2019, Sec. 3.2) and Once-for-All (Cai et al., 2020, Sec. 3.4) predict a
network's latency as the sum of per-operator latencies looked up in a table measured once on the
target device; FBNetV3 (Dai et al., 2021, Sec. 3) constrains its search with such statistics,
which are known before training. This module does the same for the networks
:func:`optnas.models.build` makes:

- :func:`measure_latency` times a built model (eval mode, ``torch.inference_mode``, warm-up runs,
  median of repeated runs, settable batch size, thread count and device).
- :class:`LatencyTable` holds one measured latency per distinct :class:`BlockKey` -- the stem,
  every inverted-residual block (input size, channels, expanded width, kernel, stride,
  squeeze-excite, activation) and the head (1x1 conv, pool, classifier). A network's prediction
  is ``scale * sum(entries) + overhead_ms + entry_overhead_ms * len(entries)``; a measured table
  fits ``scale`` on whole networks (the median ratio of whole-model latency to the sum of its
  entries, :meth:`LatencyTable.calibrate`). :meth:`LatencyTable.predict_columns` predicts a whole
  pool of column arrays in one vectorized pass (like :func:`optnas.cost.count_columns`).
- A table is measured lazily, key by key as candidates need them, and cached on disk per device
  fingerprint (device name, torch version, threads, batch size) under
  ``$OPTNAS_CACHE_DIR/latency`` (default ``~/.cache/optnas/latency``).
- A user table (a phone or an accelerator measured elsewhere) is read from JSON or CSV
  (:meth:`LatencyTable.load`); it never measures, and a missing entry is an error naming it.

File formats
------------
JSON::

    {"format": "optnas-latency-table", "version": 1,
     "device": {"name": "Pixel 6", ...},          # free-form description
     "overhead_ms": 0.05,                          # optional: added to every network
     "entry_overhead_ms": 0.0,                     # optional: added per entry of a network
     "scale": 1.0,                                 # optional: multiplies the sum of entries
     "entries": [{"op": "ir", "h": 16, "cin": 16, "cout": 24, "k": 3, "stride": 2,
                  "exp": 64, "se": "se", "act": "hs", "fc": 0, "classes": 0, "ms": 0.031}, ...]}

CSV: a header ``op,h,cin,cout,k,stride,exp,se,act,fc,classes,ms`` and one row per entry; the
optional constants are rows whose ``op`` is ``overhead``, ``entry_overhead`` or ``scale`` (value in
``ms``, other fields empty). Fields of an entry:

- ``op``: ``stem`` (conv k x k stride s from 3 channels + BN + act), ``ir`` (one MBConv block,
  residual add included) or ``head`` (1x1 conv + BN + act, global average pool, optional hidden
  linear layer ``fc`` + act, classifier of ``classes`` outputs);
- ``h``: input height = width; ``cin``/``cout``: input/output channels; ``k``, ``stride``;
- ``exp``: expanded (depthwise) width of an ``ir`` block (0 otherwise);
- ``se``: ``""``, ``se`` or ``seeff`` (see :mod:`optnas.space`); ``act``: an activation token;
- ``pad``: depthwise padding of an ``ir`` block, ``-1`` (the default) for ``(k - 1) // 2``;
  optional in both formats;
- ``ms``: latency in milliseconds for the table's batch size.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import platform
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from optnas._errors import ConfigError
from optnas.space import ACTIVATIONS, SE_VARIANTS, AnyArch, Arch, JointSpace, TorchvisionArch

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = [
    "BlockKey",
    "LatencyTable",
    "LatencyTarget",
    "arch_keys",
    "device_fingerprint",
    "device_table",
    "measure_latency",
    "measure_runs",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_I = np.int64
FORMAT = "optnas-latency-table"
VERSION = 1
OPS = ("stem", "ir", "head")


@dataclass(frozen=True)
class LatencyTarget:
    """How latency is measured (the device a table belongs to).

    Attributes:
        device: a torch device string (``cpu``; ``cuda`` and ``cuda:<i>`` follow the same path,
            with ``torch.cuda.synchronize`` around each timed run).
        batch_size: images per forward pass (default 1).
        threads: ``torch.set_num_threads`` while measuring (default 1; restored afterwards).
        warmup: untimed runs before timing.
        repeats: timed runs; the latency is their median (``quantile`` 0.5).
        quantile: which quantile of the timed runs is the latency. The median is the default; on
            a machine shared with other jobs a low quantile (e.g. 0.1) estimates the uncontended
            latency, since preemption only ever adds time and hits long runs (whole networks)
            more often than short ones (single blocks).
        calibration: whole networks measured to estimate the table's fixed overhead
            (whole-model latency minus the sum of its entries; the median is kept).
    """

    device: str = "cpu"
    batch_size: int = 1
    threads: int = 1
    warmup: int = 10
    repeats: int = 31
    quantile: float = 0.5
    calibration: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.device, str) or not self.device:
            raise ConfigError("latency device", self.device, "expected a torch device string such as 'cpu'")
        for name, minimum in (("batch_size", 1), ("threads", 1), ("warmup", 0), ("repeats", 1), ("calibration", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
                raise ConfigError(f"latency {name}", v, f"must be an integer >= {minimum}")
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, int | float) or not 0.0 <= q <= 1.0:
            raise ConfigError("latency quantile", q, "must be in [0, 1]")


@dataclass(frozen=True, order=True)
class BlockKey:
    """One distinct operator of the table (see the module docstring for the fields)."""

    op: str
    h: int
    cin: int
    cout: int
    k: int = 1
    stride: int = 1
    exp: int = 0
    se: str = ""
    act: str = "hs"
    fc: int = 0
    classes: int = 0
    pad: int = -1

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ConfigError("latency entry op", self.op, f"expected one of {OPS}")
        for name in ("h", "cin", "cout", "k", "stride"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"latency entry {name}", v, "must be a positive integer")
        for name in ("exp", "fc", "classes"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(f"latency entry {name}", v, "must be a non-negative integer")
        if self.se not in ("", *SE_VARIANTS):
            raise ConfigError("latency entry se", self.se, f"expected '' or one of {SE_VARIANTS}")
        if self.act not in ACTIVATIONS:
            raise ConfigError("latency entry act", self.act, f"expected one of {sorted(ACTIVATIONS)}")
        if self.op == "ir" and self.exp < 1:
            raise ConfigError("latency entry exp", self.exp, "an 'ir' entry needs its expanded width")
        if isinstance(self.pad, bool) or not isinstance(self.pad, int) or self.pad < -1:
            raise ConfigError("latency entry pad", self.pad, "must be -1 (the default (k - 1) // 2) or >= 0")
        if self.op == "head" and self.classes < 1:
            raise ConfigError("latency entry classes", self.classes, "a 'head' entry needs its number of classes")

    def __str__(self) -> str:
        return " ".join(f"{f.name}={getattr(self, f.name)}" for f in fields(self))


KEY_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(BlockKey))
_INT_FIELDS = {"h", "cin", "cout", "k", "stride", "exp", "fc", "classes", "pad"}


def _out(h: Any, k: Any, s: Any) -> Any:
    """Output size of a conv with padding (k - 1) // 2 (as in :mod:`optnas.cost._count`)."""
    return (h + 2 * ((k - 1) // 2) - k) // s + 1


def arch_keys(arch: Arch, num_classes: int) -> list[BlockKey]:
    """The table entries one network is made of: stem, every block, head (in order)."""
    st = arch.stem
    keys = [BlockKey("stem", arch.resolution, 3, st.out_channels, st.kernel, st.stride, act=st.act)]
    h = _out(arch.resolution, st.kernel, st.stride)
    for b in arch.blocks:
        pad = -1 if b.padding is None else b.padding
        keys.append(
            BlockKey("ir", h, b.in_channels, b.out_channels, b.kernel, b.stride, b.expanded, b.se or "", b.act, pad=pad)
        )
        h = b.out_size(h)
    hd = arch.head
    keys.append(BlockKey("head", h, arch.last_channels, hd.channels, act=hd.act, fc=hd.fc or 0, classes=num_classes))
    return keys


# --- measurement -------------------------------------------------------------------------------


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return str(torch.cuda.get_device_name(torch.device(device)))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_fingerprint(target: LatencyTarget) -> dict[str, Any]:
    """What a measured table is valid for: device name, torch version, threads, batch size."""
    import torch

    return {
        "device": target.device.split(":")[0],
        "name": _device_name(target.device),
        "torch": torch.__version__,
        "threads": target.threads,
        "batch_size": target.batch_size,
    }


def _fingerprint_id(fp: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(dict(fp), sort_keys=True).encode()).hexdigest()[:16]


@contextmanager
def _threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _runs(model: nn.Module, x: torch.Tensor, target: LatencyTarget) -> list[float]:
    """Milliseconds of each timed ``model(x)`` after the warm-up (model in eval mode on the device)."""
    import torch

    cuda = x.device.type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(x.device)

    with torch.inference_mode():
        for _ in range(target.warmup):
            model(x)
        sync()
        times = []
        for _ in range(target.repeats):
            t0 = time.perf_counter()
            model(x)
            sync()
            times.append(1e3 * (time.perf_counter() - t0))
    return times


def _timed(model: nn.Module, x: torch.Tensor, target: LatencyTarget) -> float:
    """The ``target.quantile`` (default: median) of the timed runs, in milliseconds."""
    return float(np.quantile(_runs(model, x, target), target.quantile))


def _input(channels: int, h: int, target: LatencyTarget) -> torch.Tensor:
    import torch

    gen = torch.Generator(device="cpu")
    gen.manual_seed(0)
    return torch.randn(target.batch_size, channels, h, h, generator=gen).to(target.device)


def measure_runs(
    arch: AnyArch | nn.Module,
    *,
    resolution: int | None = None,
    num_classes: int = 1000,
    target: LatencyTarget | None = None,
) -> list[float]:
    """Every timed run of one network, in milliseconds (see :func:`measure_latency`)."""
    from torch import nn

    target = target or LatencyTarget()
    if isinstance(arch, nn.Module):
        if resolution is None:
            raise ConfigError("resolution", None, "needed to measure a torch module")
        model, res = arch, resolution
    else:
        from optnas.models import build

        res = arch.resolution if resolution is None else resolution
        model = build(arch.replace_resolution(res), None, num_classes, device=target.device)
    model = model.eval().to(target.device)
    with _threads(target.threads):
        return _runs(model, _input(3, res, target), target)


def measure_latency(
    arch: AnyArch | nn.Module,
    *,
    resolution: int | None = None,
    num_classes: int = 1000,
    target: LatencyTarget | None = None,
) -> float:
    """Measured latency of one network, in milliseconds: the median (``target.quantile``) of
    ``target.repeats`` timed runs after ``target.warmup`` untimed ones, in eval mode under
    ``torch.inference_mode``, at ``target.batch_size`` and ``target.threads``.

    Args:
        arch: an architecture (built with :func:`optnas.models.build`) or a ``torch.nn.Module``
            (then ``resolution`` is required; the module is put in eval mode and moved to the
            device).
        resolution: input size (default: the architecture's own).
        num_classes: classifier width of a built architecture.
        target: device, batch size, threads, warm-up and repeats (default :class:`LatencyTarget`).
    """
    target = target or LatencyTarget()
    runs = measure_runs(arch, resolution=resolution, num_classes=num_classes, target=target)
    return float(np.quantile(runs, target.quantile))


def _key_module(key: BlockKey, device: str) -> nn.Module:
    """The module whose latency is ``key``'s entry, initialized from a seeded generator."""
    import torch
    from torch import nn
    from torchvision.ops import Conv2dNormActivation

    from optnas.models._build import _ACT, MBConv, _init
    from optnas.space import BlockSpec

    module: nn.Module
    with torch.device("meta"):
        if key.op == "stem":
            module = Conv2dNormActivation(3, key.cout, key.k, stride=key.stride, activation_layer=_ACT[key.act])
        elif key.op == "ir":
            spec = BlockSpec(
                key.cin, key.exp, key.cout, key.k, key.stride, key.se or None, key.act, None if key.pad < 0 else key.pad
            )
            module = MBConv(spec, 0.0)
        else:
            layers: list[nn.Module] = [
                Conv2dNormActivation(key.cin, key.cout, 1, activation_layer=_ACT[key.act]),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(1),
            ]
            width = key.cout
            if key.fc:
                layers += [nn.Linear(width, key.fc), _ACT[key.act]()]
                width = key.fc
            layers += [nn.Dropout(0.0), nn.Linear(width, key.classes)]
            module = nn.Sequential(*layers)
    module = module.to_empty(device=device)
    gen = torch.Generator(device="cpu")
    gen.manual_seed(0)
    _init(module, gen)
    return module.eval()


# --- the table ---------------------------------------------------------------------------------


def _cache_root() -> Path | None:
    root = os.environ.get("OPTNAS_CACHE_DIR")
    if root == "":
        return None
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "optnas"
    return base / "latency"


class LatencyTable:
    """Per-block latency lookup table of one device (FBNet Sec. 3.2; Once-for-All Sec. 3.4).

    Args:
        entries: milliseconds per :class:`BlockKey`.
        overhead_ms: fixed per-network overhead added to every prediction.
        device: the device fingerprint (:func:`device_fingerprint`) or a user's description.
        target: how to measure missing entries; ``None`` for a user table (never measures).
        path: where the table is saved after new measurements (``None``: memory only).
    """

    def __init__(
        self,
        entries: Mapping[BlockKey, float] | None = None,
        *,
        overhead_ms: float | None = None,
        entry_overhead_ms: float = 0.0,
        scale: float = 1.0,
        device: Mapping[str, Any] | None = None,
        target: LatencyTarget | None = None,
        path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.entries: dict[BlockKey, float] = dict(entries or {})
        for key, ms in self.entries.items():
            if not isinstance(key, BlockKey):
                raise ConfigError("latency entry", key, "expected a BlockKey")
            _check_ms(ms, str(key))
        if overhead_ms is not None and (isinstance(overhead_ms, bool) or not math.isfinite(overhead_ms)):
            raise ConfigError("overhead_ms", overhead_ms, "must be a finite number")
        self.overhead_ms = overhead_ms
        self.entry_overhead_ms = float(entry_overhead_ms)
        for name, v in (("entry_overhead_ms", entry_overhead_ms), ("scale", scale)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ConfigError(name, v, "must be a finite number")
        if not scale > 0:
            raise ConfigError("scale", scale, "must be > 0")
        self.scale = float(scale)
        self.calibration: list[tuple[str, int, float, float]] = []
        self.device: dict[str, Any] = dict(device or {})
        self.target = target
        self.path = Path(path) if path is not None else None
        self.measure_seconds = 0.0

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return f"LatencyTable({len(self)} entries, overhead_ms={self.overhead_ms}, device={self.device})"

    @property
    def fingerprint(self) -> str:
        """A short hash of the device description (names cache files and artifacts)."""
        return _fingerprint_id(self.device)

    # --- measuring ---------------------------------------------------------------------------
    def missing(self, keys: Iterable[BlockKey]) -> list[BlockKey]:
        """The keys without an entry, sorted and without repeats."""
        return sorted({k for k in keys if k not in self.entries})

    def ensure(self, keys: Iterable[BlockKey]) -> int:
        """Measure every key without an entry (each distinct key once); return how many.

        Raises:
            ConfigError: the table cannot measure (a user table) and an entry is missing.
        """
        todo = self.missing(keys)
        if not todo:
            return 0
        if self.target is None:
            raise ConfigError(
                "latency table",
                str(self.path) if self.path else "<user table>",
                f"has no entry for {len(todo)} operator(s) of these candidates, e.g. {todo[0]}",
            )
        start = time.perf_counter()
        with _threads(self.target.threads):
            for key in todo:
                module = _key_module(key, self.target.device)
                cin = 3 if key.op == "stem" else key.cin
                self.entries[key] = _timed(module, _input(cin, key.h, self.target), self.target)
        self.measure_seconds += time.perf_counter() - start
        self._persist()
        return len(todo)

    def calibrate(self, archs: Sequence[Arch], num_classes: int, *, label: str = "") -> float:
        """Measure whole networks and refit the table's ``scale``; return it.

        FBNet's table sums operators measured alone. A whole forward pass is a little slower than
        that sum: the network's own dispatch, fresh output buffers, and weights that are no longer
        hot in the cache once the other blocks have run. The prediction is therefore
        ``scale * sum(entries)``, where ``scale`` is the median ratio of measured whole-network
        latency to the sum of its entries over every calibration network the table has seen
        (``label`` records the space they came from). The median keeps one preempted run from
        moving it.
        """
        if self.target is None:
            raise ConfigError("latency table", "<user table>", "cannot calibrate without a device to measure on")
        if not archs:
            raise ConfigError("calibration", 0, "needs at least one architecture")
        for arch in archs:
            keys = arch_keys(arch, num_classes)
            self.ensure(keys)
            measured = measure_latency(arch, num_classes=num_classes, target=self.target)
            self.calibration.append((label, len(keys), sum(self.entries[k] for k in keys), measured))
        self.scale = float(np.median([c[3] / c[2] for c in self.calibration if c[2] > 0] or [1.0]))
        if self.overhead_ms is None:
            self.overhead_ms = 0.0
        self._persist()
        return self.scale

    def _ensure_overhead(self, space: JointSpace | None, archs: Sequence[Arch], num_classes: int) -> None:
        if self.target is None or self.target.calibration == 0:
            if self.overhead_ms is None:
                self.overhead_ms = 0.0
            return
        if space is None and self.calibration:
            return
        label = space.fingerprint() if space is not None else "arch"
        if space is not None and space.fixed_arch is None:
            if any(c[0] == label for c in self.calibration):
                return
            rng = np.random.default_rng(0)
            cols = space.sample_uniform(self.target.calibration, rng)
            archs = [a for a, _ in space.iter_candidates(cols) if isinstance(a, Arch)]
        elif self.overhead_ms is not None:
            return
        self.calibrate(list(archs)[: self.target.calibration], num_classes, label=label)

    def total(self, entry_sum: Any, n_entries: Any) -> Any:
        """Prediction from the sum of a network's entries and their number (scalars or arrays):
        ``scale * entry_sum + overhead_ms + entry_overhead_ms * n_entries``."""
        return self.scale * entry_sum + (self.overhead_ms or 0.0) + self.entry_overhead_ms * n_entries

    # --- prediction --------------------------------------------------------------------------
    def predict(self, arch: AnyArch, num_classes: int = 1000) -> float:
        """Predicted latency of one network in milliseconds (sum of entries + overhead)."""
        if isinstance(arch, TorchvisionArch):
            raise ConfigError("arch", str(arch), "latency tables cover optnas block architectures only")
        keys = arch_keys(arch, num_classes)
        self.ensure(keys)
        self._ensure_overhead(None, [arch], num_classes)
        return float(self.total(sum(self.entries[k] for k in keys), len(keys)))

    def pool_keys(self, space: JointSpace, cols: FloatArray, num_classes: int) -> list[BlockKey]:
        """Every distinct key the candidates of a pool need (sorted)."""
        out: set[BlockKey] = set()
        for make, values, active in _positions(space, cols, num_classes):
            rows = np.unique(values[active], axis=0) if active.any() else values[:0]
            out.update(make(tuple(int(v) for v in r)) for r in rows)
        return sorted(out)

    def predict_columns(self, space: JointSpace, cols: FloatArray, num_classes: int = 1000) -> FloatArray:
        """Vectorized :meth:`predict` over a column array of ``space`` (one value per row).

        Each (group, repetition) position of the space gives an integer array of the varying key
        fields; the distinct rows are looked up once and broadcast back.
        """
        cols = np.asarray(cols, dtype=float)
        n = cols.shape[0]
        if space.fixed_arch is not None:
            return np.full(n, self.predict(space.fixed_arch, num_classes))
        positions = list(_positions(space, cols, num_classes))
        needed: set[BlockKey] = set()
        uniq: list[tuple[IntArray, IntArray]] = []
        for make, values, active in positions:
            rows, inverse = np.unique(values, axis=0, return_inverse=True)
            keys = [make(tuple(int(v) for v in r)) for r in rows]
            used = np.bincount(inverse.reshape(-1)[active], minlength=len(rows)) > 0
            needed.update(k for k, u in zip(keys, used, strict=True) if u)
            uniq.append((rows, inverse.reshape(-1)))
        self.ensure(needed)
        self._ensure_overhead(space, [], num_classes)
        total = np.zeros(n)
        count = np.zeros(n)
        for (make, _, active), (rows, inverse) in zip(positions, uniq, strict=True):
            ms = np.array([self.entries.get(make(tuple(int(v) for v in r)), 0.0) for r in rows])
            total += np.where(active, ms[inverse], 0.0)
            count += active
        return np.asarray(self.total(total, count), dtype=float)

    # --- files -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "device": self.device,
            "target": None if self.target is None else asdict(self.target),
            "overhead_ms": self.overhead_ms,
            "entry_overhead_ms": self.entry_overhead_ms,
            "scale": self.scale,
            "calibration": [list(c) for c in self.calibration],
            "entries": [{**asdict(k), "ms": ms} for k, ms in sorted(self.entries.items())],
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the table as JSON (``.json``) or CSV (``.csv``); atomic replace."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        if p.suffix.lower() == ".csv":
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow([*KEY_FIELDS, "ms"])
                if self.overhead_ms is not None:
                    w.writerow(["overhead", *[""] * (len(KEY_FIELDS) - 1), repr(self.overhead_ms)])
                if self.entry_overhead_ms:
                    w.writerow(["entry_overhead", *[""] * (len(KEY_FIELDS) - 1), repr(self.entry_overhead_ms)])
                if self.scale != 1.0:
                    w.writerow(["scale", *[""] * (len(KEY_FIELDS) - 1), repr(self.scale)])
                for k, ms in sorted(self.entries.items()):
                    w.writerow([*(getattr(k, f) for f in KEY_FIELDS), repr(ms)])
        else:
            tmp.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        os.replace(tmp, p)
        return p

    def _persist(self) -> None:
        if self.path is None:
            return
        if self.path.is_file():  # another process may have measured other keys meanwhile
            try:
                other = LatencyTable.load(self.path)
            except ConfigError:
                other = None
            if other is not None and other.device == self.device:
                for k, ms in other.entries.items():
                    self.entries.setdefault(k, ms)
                seen = set(self.calibration)
                self.calibration += [c for c in other.calibration if c not in seen]
        self.save(self.path)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<dict>") -> LatencyTable:
        """Inverse of :meth:`to_dict` (a user table: no ``target``, so it never measures)."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ConfigError("latency table", source, f"expected a JSON object with format={FORMAT!r}")
        if data.get("version") != VERSION:
            raise ConfigError("latency table version", data.get("version"), f"expected {VERSION}")
        raw = data.get("entries")
        if not isinstance(raw, list):
            raise ConfigError("latency table entries", type(raw).__name__, "expected a list of entries")
        entries = dict(_entry(e, f"{source} entry {i}") for i, e in enumerate(raw))
        overhead = data.get("overhead_ms")
        if overhead is not None and (isinstance(overhead, bool) or not isinstance(overhead, int | float)):
            raise ConfigError("overhead_ms", overhead, "must be a number")
        per_entry = data.get("entry_overhead_ms", 0.0)
        scale = data.get("scale", 1.0)
        device = data.get("device") or {}
        if not isinstance(device, Mapping):
            raise ConfigError("latency table device", device, "expected an object")
        base = None if overhead is None else float(overhead)
        table = cls(entries, overhead_ms=base, entry_overhead_ms=per_entry, scale=scale, device=device)
        calib = data.get("calibration") or []
        try:
            table.calibration = [(str(c[0]), int(c[1]), float(c[2]), float(c[3])) for c in calib]
        except (TypeError, ValueError, IndexError):
            raise ConfigError(
                "latency table calibration", calib, "expected [label, entries, sum_ms, whole_ms] rows"
            ) from None
        return table

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LatencyTable:
        """Read a user table from JSON or CSV (see the module docstring for both formats)."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError("latency table", str(path), "does not exist")
        text = p.read_text(encoding="utf-8")
        if p.suffix.lower() == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
            need = {*KEY_FIELDS, "ms"} - {"pad"}  # pad is optional (-1: the default (k - 1) // 2)
            if not rows or not need <= set(rows[0]):
                raise ConfigError("latency table", str(path), f"a CSV table needs the columns {[*KEY_FIELDS, 'ms']}")
            overhead = None
            per_entry = 0.0
            scale = 1.0
            entries: dict[BlockKey, float] = {}
            for i, r in enumerate(rows):
                where = f"{path} row {i + 2}"
                if r["op"] == "overhead":
                    overhead = _float(r["ms"], where)
                    continue
                if r["op"] == "entry_overhead":
                    per_entry = _float(r["ms"], where)
                    continue
                if r["op"] == "scale":
                    scale = _float(r["ms"], where)
                    continue
                fields_ = {f: (_int(r[f], f"{where} {f}") if f in _INT_FIELDS else r[f]) for f in KEY_FIELDS if f in r}
                if r.get("pad") in (None, ""):
                    fields_["pad"] = -1
                key, ms = _entry({**fields_, "ms": _float(r["ms"], where)}, where)
                entries[key] = ms
            return cls(
                entries, overhead_ms=overhead, entry_overhead_ms=per_entry, scale=scale, device={"source": p.name}
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError("latency table", str(path), f"is not valid JSON: {exc}") from None
        return cls.from_dict(data, source=str(path))


def _check_ms(ms: Any, where: str) -> None:
    if isinstance(ms, bool) or not isinstance(ms, int | float) or not math.isfinite(ms) or ms < 0:
        raise ConfigError(f"latency {where}", ms, "ms must be a finite number >= 0")


def _int(text: str, where: str) -> int:
    try:
        return int(text) if text not in ("", None) else 0
    except ValueError:
        raise ConfigError(where, text, "expected an integer") from None


def _float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ConfigError(where, text, "expected a number of milliseconds") from None


def _entry(e: Any, where: str) -> tuple[BlockKey, float]:
    if not isinstance(e, Mapping):
        raise ConfigError(where, e, "expected an object")
    unknown = set(e) - {*KEY_FIELDS, "ms"}
    if unknown:
        raise ConfigError(where, sorted(unknown)[0], f"unknown field; expected {[*KEY_FIELDS, 'ms']}")
    if "ms" not in e or "op" not in e:
        raise ConfigError(where, dict(e), "an entry needs at least 'op' and 'ms'")
    kw = {f: e[f] for f in KEY_FIELDS if f in e}
    try:
        key = BlockKey(**kw)
    except TypeError as exc:
        raise ConfigError(where, dict(e), str(exc)) from None
    except ConfigError as exc:
        raise ConfigError(f"{where} {exc.field.removeprefix('latency entry ')}", exc.value, exc.reason) from None
    _check_ms(e["ms"], where)
    return key, float(e["ms"])


def device_table(
    target: LatencyTarget | None = None, *, cache_dir: str | os.PathLike[str] | None = None
) -> LatencyTable:
    """The measured table of this machine's ``target`` device, from the on-disk cache.

    Entries are measured on first use and saved to ``<cache>/<fingerprint>.json``, where the
    cache is ``cache_dir``, else ``$OPTNAS_CACHE_DIR/latency`` (``~/.cache/optnas/latency``);
    ``OPTNAS_CACHE_DIR=""`` keeps the table in memory.
    """
    target = target or LatencyTarget()
    fp = device_fingerprint(target)
    root = Path(cache_dir) if cache_dir is not None else _cache_root()
    path = None if root is None else root / f"{_fingerprint_id(fp)}.json"
    table = LatencyTable(device=fp, target=target, path=path)
    if path is not None and path.is_file():
        try:
            cached = LatencyTable.load(path)
        except ConfigError:
            cached = None  # a torn or foreign file: measure again
        if cached is not None and cached.device == fp:
            table.entries.update(cached.entries)
            table.overhead_ms = cached.overhead_ms
            table.entry_overhead_ms = cached.entry_overhead_ms
            table.scale = cached.scale
            table.calibration = cached.calibration
    return table


# --- vectorized positions ------------------------------------------------------------------------

_MakeKey = Any  # Callable[[tuple[int, ...]], BlockKey]


def _positions(space: JointSpace, cols: FloatArray, num_classes: int) -> Iterator[tuple[_MakeKey, IntArray, Any]]:
    """For each network position: (key maker, (n, f) varying integer fields, active mask)."""
    from optnas.cost._count import _make_divisible

    v = space.full_columns(np.asarray(cols, dtype=float))
    n = cols.shape[0]

    def col(name: str) -> IntArray:
        return np.rint(v[name]).astype(_I)

    res = col("resolution")
    stem_c = col("stem_c")
    sk, ss, sa = space.stem_kernel, space.stem_stride, space.stem_act
    yield (
        lambda r: BlockKey("stem", r[0], 3, r[1], sk, ss, act=sa),
        np.stack([res, stem_c], axis=1),
        np.ones(n, dtype=bool),
    )
    h = _out(res, sk, ss)
    cin = stem_c
    for i, g in enumerate(space.groups):
        k = np.asarray(g.kernels, dtype=_I)[col(f"g{i}_k")]
        e = v[f"g{i}_e"]
        cout = col(f"g{i}_c")
        depth = col(f"g{i}_n")
        for r in range(g.depth.high):
            active = r < depth
            stride = g.stride if r == 0 else 1
            exp = np.where(e == 1.0, cin, _make_divisible(cin * e, 8)).astype(_I)

            def make(t: tuple[int, ...], s: int = stride, se: str = g.se or "", act: str = g.act) -> BlockKey:
                return BlockKey("ir", t[0], t[1], t[3], t[4], s, t[2], se, act)

            yield make, np.stack([h, cin, exp, cout, k], axis=1), active
            h = np.where(active, _out(h, k, stride), h)
            cin = np.where(active, cout, cin)
    fc, ha = space.head_fc or 0, space.head_act
    yield (
        lambda t: BlockKey("head", t[0], t[1], t[2], act=ha, fc=fc, classes=num_classes),
        np.stack([h, cin, col("head_c")], axis=1),
        np.ones(n, dtype=bool),
    )
