"""The AutoAugment image operations as albumentations transforms (Cubuk et al. 2019, Sec. 3).

Every class here is an ``albumentations.ImageOnlyTransform`` working on ``uint8`` HWC
images (1 or 3 channels) at a *fixed* magnitude, on the op's own natural scale (a shear
factor, degrees, a fraction of the image side, a number of bits, an enhancement offset, ...).
``optnas.augment._table`` maps the paper's magnitude bins onto these scales.

Semantics follow PIL ``ImageOps``/``ImageEnhance`` as called by torchvision's functional
ops on PIL images (what ``torchvision.transforms.AutoAugment`` runs on PIL input), not the
nearest albumentations 2.0.8 class, which differ in the ways DESIGN.md lists:
``Equalize(mode="pil")`` builds its LUT from the inclusive cumulative histogram (PIL uses the
exclusive one), ``Sharpen`` cannot blur, ``Affine`` shears about the centre and a scalar
shear hits both axes, ``RandomBrightnessContrast`` is additive/mean-based rather than a PIL
blend, and SamplePairing does not exist. All ops are therefore implemented here with cv2
LUTs/warps, so that one base class carries the magnitude, sign and per-application random
draw uniformly (needed by TrivialAugment, which draws the magnitude per image).

Randomness (sign, drawn magnitude, Cutout position, SamplePairing partner) is drawn in
``get_params`` from albumentations' ``self.py_random``, so a pipeline is reproducible from
its random state; ``apply`` is deterministic.

Every class serializes with ``albumentations.save``/``load``: importing this module
registers them (full names ``optnas.augment._ops.<Name>``).
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Sequence
from typing import Any

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import cv2
import numpy as np
from albumentations.core.transforms_interface import ImageOnlyTransform

from optnas._errors import ConfigError

__all__ = [
    "AutoContrast",
    "Brightness",
    "Color",
    "Contrast",
    "Cutout",
    "Equalize",
    "Identity",
    "Invert",
    "Posterize",
    "Rotate",
    "SamplePairing",
    "Sharpness",
    "ShearX",
    "ShearY",
    "Solarize",
    "TranslateX",
    "TranslateY",
]

_U8 = np.ndarray[Any, np.dtype[np.uint8]]
_F32 = np.float32
_LEVELS = np.arange(256, dtype=np.float32)
# Added before truncating a relative size to pixels, so that a size that is an exact integer in
# torchvision's float32 linspace (e.g. 150/331 * 331) is not truncated one pixel short here.
_PIXEL_EPS = 1e-6
# Cutout fill of the AutoAugment reference code (augmentation_transforms.py, `_cutout_pil_img`).
CUTOUT_FILL = (125, 122, 113)


def _check_prob(p: float) -> float:
    if not 0.0 <= float(p) <= 1.0:
        raise ConfigError("p", p, "probability must be in [0, 1]")
    return float(p)


def _as_magnitude(name: str, magnitude: float | Sequence[float]) -> float | tuple[float, ...]:
    if isinstance(magnitude, (int, float)) and not isinstance(magnitude, bool):
        if not math.isfinite(magnitude):
            raise ConfigError(f"{name}.magnitude", magnitude, "must be finite")
        return float(magnitude)
    if isinstance(magnitude, Sequence) and not isinstance(magnitude, str) and len(magnitude) > 0:
        values = tuple(float(v) for v in magnitude)
        if all(math.isfinite(v) for v in values):
            return values
    raise ConfigError(f"{name}.magnitude", magnitude, "expected a number or a non-empty list")


def _as_fill(fill: float | Sequence[float]) -> float | tuple[float, ...]:
    if isinstance(fill, (int, float)):
        return float(fill)
    return tuple(float(v) for v in fill)


def _lut(img: _U8, table: np.ndarray[Any, Any]) -> _U8:
    """Apply a ``(256,)`` or per-channel ``(256, C)`` uint8 lookup table."""
    if table.ndim == 2 and img.ndim == 3 and img.shape[2] == table.shape[1] > 1:
        if img.shape[2] <= 4:
            return np.asarray(cv2.LUT(img, table.reshape(256, 1, -1)), dtype=np.uint8)
        return np.stack([table[:, c][img[..., c]] for c in range(img.shape[2])], axis=-1)
    flat = table.reshape(256, -1)[:, 0]
    return np.asarray(cv2.LUT(img, flat), dtype=np.uint8).reshape(img.shape)


def _pil_blend(degenerate: np.ndarray[Any, Any], image: np.ndarray[Any, Any], alpha: float) -> _U8:
    """PIL ``Image.blend(degenerate, image, alpha)``: ``deg + alpha * (img - deg)``.

    Computed in float32 and truncated, as PIL does (``img - deg`` is an exact integer).
    ``degenerate`` must have the shape of ``image`` (numpy broadcasting over a trailing
    channel axis of 3 is several times slower than same-shape arithmetic).
    """
    deg = degenerate.astype(_F32, copy=False)
    out = image.astype(_F32)
    out -= deg
    out *= _F32(alpha)
    out += deg
    np.clip(out, 0.0, 255.0, out=out)
    return out.astype(np.uint8)


def _blend_lut(degenerate: float, alpha: float) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Lookup table of :func:`_pil_blend` against a constant degenerate value."""
    deg = _F32(degenerate)
    out = np.clip(deg + _F32(alpha) * (_LEVELS - deg), 0.0, 255.0)
    return np.asarray(out, dtype=np.uint8)


_LUMA = np.array([[19595.0, 38470.0, 7471.0, 32768.0]], dtype=np.float32)


def _luma(img: _U8) -> np.ndarray[Any, np.dtype[np.float32]]:
    """PIL ``convert("L")`` as float32 ``(H, W)``: ``(19595 R + 38470 G + 7471 B + 2**15) >> 16``.

    Every intermediate is an integer below 2**24, so the float32 arithmetic is exact.
    """
    if img.ndim == 2 or img.shape[2] == 1:
        return img.reshape(img.shape[0], img.shape[1]).astype(np.float32)
    weighted = np.asarray(cv2.transform(img.astype(np.float32), _LUMA), dtype=np.float32)
    return np.floor(weighted.reshape(img.shape[:2]) * _F32(1.0 / 65536.0))


def _histograms(img: _U8) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Per-channel 256-bin histograms, shape ``(256, C)``."""
    channels = 1 if img.ndim == 2 else img.shape[2]
    planes = [img] if channels == 1 else cv2.split(img)
    hists = [cv2.calcHist([plane], [0], None, [256], [0, 256]).reshape(256) for plane in planes]
    return np.stack(hists, axis=1).astype(np.int64)


@functools.lru_cache(maxsize=256)
def _pil_nearest_map(
    height: int, width: int, inverse: tuple[float, ...]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Source pixel of every output pixel, exactly as PIL's nearest-neighbour affine transform.

    ``inverse`` = ``(a, b, c, d, e, f)`` maps an output point to its source point in
    corner-based coordinates, as ``PIL.Image.transform(AFFINE)``. PIL evaluates it at pixel
    centres in 16.16 fixed point (``FIX(v) = floor(v * 65536 + 0.5)``, source index
    ``= value >> 16``); replicating that integer arithmetic makes the map bit-identical,
    including ties on pixel boundaries, which a float warp (cv2's 10-bit fixed point) gets
    wrong for rational shears. Returns integer-valued float32 ``(H, W)`` x and y maps for
    ``cv2.remap`` (faster than an int16 map there), ``-1`` for points outside the image.
    Cached: magnitudes come from a few bins.
    """
    a, b, c, d, e, f = inverse

    def fix(v: float) -> int:
        return math.floor(v * 65536.0 + 0.5)

    ys = np.arange(height, dtype=np.int64)[:, None]
    xs = np.arange(width, dtype=np.int64)[None, :]
    xin = (fix(c + a * 0.5 + b * 0.5) + ys * fix(b) + xs * fix(a)) >> 16
    yin = (fix(f + d * 0.5 + e * 0.5) + ys * fix(e) + xs * fix(d)) >> 16
    outside = (xin < 0) | (xin >= width) | (yin < 0) | (yin >= height)
    map_x = np.where(outside, -1, xin).astype(np.float32)
    map_y = np.where(outside, -1, yin).astype(np.float32)
    map_x.setflags(write=False)
    map_y.setflags(write=False)
    return map_x, map_y


def _warp_nearest(img: _U8, inverse: tuple[float, ...], fill: float | tuple[float, ...]) -> _U8:
    """Apply :func:`_pil_nearest_map`; uncovered pixels get ``fill``."""
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    border = (fill,) * channels if isinstance(fill, float) else tuple(fill)
    map_x, map_y = _pil_nearest_map(h, w, inverse)
    out = cv2.remap(
        img,
        map_x,
        map_y,
        interpolation=cv2.INTER_NEAREST,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border[:4],
    )
    return np.asarray(out, dtype=np.uint8).reshape(img.shape)


class _Op(ImageOnlyTransform):  # type: ignore[misc]
    """Base of all ops: uint8 images only, ``p`` validated, no magnitude."""

    def __init__(self, p: float = 1.0) -> None:
        super().__init__(p=_check_prob(p))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        """Serialized arguments: exactly this class's ``__init__`` parameters.

        albumentations' default gathers the parameters of every ``__init__`` in the MRO,
        which would serialize ``signed`` for Cutout/SamplePairing whose ``__init__`` has none.
        """
        names = inspect.signature(type(self).__init__).parameters
        return tuple(n for n in names if n not in ("self", "p", "strict"))

    def apply(self, img: np.ndarray[Any, Any], **params: Any) -> np.ndarray[Any, Any]:
        if img.dtype != np.uint8:
            name = type(self).__name__
            raise ConfigError(f"{name}.image.dtype", str(img.dtype), "expected uint8")
        return self._apply(img, **params)

    def _apply(self, img: _U8, **params: Any) -> _U8:
        raise NotImplementedError


class _MagnitudeOp(_Op):
    """An op with a magnitude on its own scale, optionally signed.

    Args:
        magnitude: The magnitude, or a sequence of magnitudes from which one is drawn
            uniformly per application (TrivialAugment, Müller & Hutter 2021, Sec. 3).
        signed: Negate the magnitude with probability 0.5 per application, as torchvision's
            ``_augmentation_space`` marks the op.
        p: Probability of applying the op.
    """

    def __init__(
        self, magnitude: float | Sequence[float] = 0.0, signed: bool = False, p: float = 1.0
    ) -> None:
        super().__init__(p=p)
        self.magnitude = _as_magnitude(type(self).__name__, magnitude)
        self.signed = bool(signed)
        self._check(self.magnitude if isinstance(self.magnitude, tuple) else (self.magnitude,))

    def _check(self, values: tuple[float, ...]) -> None:
        """Validate magnitudes; subclasses override."""

    def get_params(self) -> dict[str, Any]:
        mag = self.magnitude
        value = self.py_random.choice(mag) if isinstance(mag, tuple) else mag
        if self.signed and self.py_random.random() < 0.5:
            value = -value
        return {"magnitude": value}


class _GeometricOp(_MagnitudeOp):
    """Nearest-neighbour affine op; the area uncovered is filled with ``fill`` (default 0, as
    torchvision's ``fill=None``; the AutoAugment reference code used 128 gray)."""

    def __init__(
        self,
        magnitude: float | Sequence[float] = 0.0,
        signed: bool = True,
        fill: float | Sequence[float] = 0.0,
        p: float = 1.0,
    ) -> None:
        super().__init__(magnitude=magnitude, signed=signed, p=p)
        self.fill = _as_fill(fill)

    def _inverse(self, magnitude: float, height: int, width: int) -> tuple[float, ...]:
        raise NotImplementedError

    def _apply(self, img: _U8, **params: Any) -> _U8:
        h, w = img.shape[:2]
        return _warp_nearest(img, self._inverse(params["magnitude"], h, w), self.fill)


class ShearX(_GeometricOp):
    """Shear along x about the origin (top-left corner): source ``x' = x + m * y``.

    ``magnitude`` is the shear factor ``m`` (paper: ±0.3); torchvision passes
    ``shear=degrees(atan(m))`` with ``center=[0, 0]``, which is the same map.
    """

    def _inverse(self, magnitude: float, height: int, width: int) -> tuple[float, ...]:
        return (1.0, magnitude, 0.0, 0.0, 1.0, 0.0)


class ShearY(_GeometricOp):
    """Shear along y about the origin: source ``y' = m * x + y`` (paper: ``m`` in ±0.3)."""

    def _inverse(self, magnitude: float, height: int, width: int) -> tuple[float, ...]:
        return (1.0, 0.0, 0.0, magnitude, 1.0, 0.0)


class _TranslateOp(_GeometricOp):
    """Integer translation (torchvision truncates the magnitude with ``int()``).

    ``magnitude`` is a fraction of the image side when ``relative`` (AutoAugment:
    up to 150/331 of the side, i.e. 150 px at 331 px), else pixels (TrivialAugmentWide: 32).
    A positive magnitude moves the content right/down.
    """

    def __init__(
        self,
        magnitude: float | Sequence[float] = 0.0,
        signed: bool = True,
        fill: float | Sequence[float] = 0.0,
        relative: bool = True,
        p: float = 1.0,
    ) -> None:
        super().__init__(magnitude=magnitude, signed=signed, fill=fill, p=p)
        self.relative = bool(relative)

    def _pixels(self, magnitude: float, side: int) -> int:
        value = magnitude * side if self.relative else magnitude
        return int(value + math.copysign(_PIXEL_EPS, value))

    def _shift(self, img: _U8, dy: int, dx: int) -> _U8:
        """Integer shift by slicing (what PIL's affine does for a pure translation)."""
        h, w = img.shape[:2]
        channels = 1 if img.ndim == 2 else img.shape[2]
        fill = self.fill if isinstance(self.fill, tuple) else (self.fill,) * channels
        dy, dx = max(-h, min(h, dy)), max(-w, min(w, dx))
        kept = img[max(-dy, 0) : h - max(dy, 0), max(-dx, 0) : w - max(dx, 0)]
        if kept.size == 0:
            kept = img[:1, :1]  # fully shifted out: pad a 1x1 crop and overwrite below
            out = cv2.copyMakeBorder(kept, 0, h - 1, 0, w - 1, cv2.BORDER_CONSTANT, value=fill[:4])
            out[...] = np.asarray(fill[:channels]).astype(np.uint8).reshape(out.shape[2:])
            return np.asarray(out, dtype=np.uint8).reshape(img.shape)
        out = cv2.copyMakeBorder(
            kept, max(dy, 0), max(-dy, 0), max(dx, 0), max(-dx, 0),
            cv2.BORDER_CONSTANT, value=fill[:4],
        )
        return np.asarray(out, dtype=np.uint8).reshape(img.shape)


class TranslateX(_TranslateOp):
    """Translate horizontally by ``int(magnitude * width)`` pixels (see :class:`_TranslateOp`)."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        return self._shift(img, 0, self._pixels(params["magnitude"], img.shape[1]))


class TranslateY(_TranslateOp):
    """Translate vertically by ``int(magnitude * height)`` pixels (see :class:`_TranslateOp`)."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        return self._shift(img, self._pixels(params["magnitude"], img.shape[0]), 0)


class Rotate(_GeometricOp):
    """Rotate counter-clockwise by ``magnitude`` degrees about the image centre (paper: ±30°).

    Same map as ``PIL.Image.rotate`` (centre ``(w/2, h/2)``, cos/sin rounded to 15 digits)
    and torchvision's ``F.rotate``; no expansion.
    """

    def _inverse(self, magnitude: float, height: int, width: int) -> tuple[float, ...]:
        rad = -math.radians(magnitude)
        cos, sin = round(math.cos(rad), 15), round(math.sin(rad), 15)
        cx, cy = width * 0.5, height * 0.5
        return (
            cos,
            sin,
            cx - cos * cx - sin * cy,
            -sin,
            cos,
            cy + sin * cx - cos * cy,
        )


class Identity(_Op):
    """No change (RandAugment/TrivialAugment include it in their op lists)."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        return img


class AutoContrast(_Op):
    """PIL ``ImageOps.autocontrast`` (cutoff 0): per channel, map ``[min, max]`` to ``[0, 255]``
    with ``int(i * 255/(hi-lo) - lo * 255/(hi-lo))``; constant channels are unchanged."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        hist = _histograms(img)
        occupied = hist > 0
        lo = np.argmax(occupied, axis=0).astype(np.float64)
        hi = (255 - np.argmax(occupied[::-1], axis=0)).astype(np.float64)
        span = np.where(hi > lo, hi - lo, 1.0)
        scale = np.where(hi > lo, 255.0 / span, 1.0)
        offset = np.where(hi > lo, -lo * scale, 0.0)
        levels = np.arange(256, dtype=np.float64)[:, None]
        table = np.clip(np.trunc(levels * scale + offset), 0, 255).astype(np.uint8)
        return _lut(img, table)


class Equalize(_Op):
    """PIL ``ImageOps.equalize`` per channel.

    ``step = (N - count of the last occupied level) // 255`` and
    ``lut[i] = (step // 2 + sum(hist[:i])) // step`` (exclusive cumulative histogram; the
    inclusive one is albumentations 2.0.8's off-by-one). ``step == 0`` leaves the channel.
    """

    def _apply(self, img: _U8, **params: Any) -> _U8:
        hists = _histograms(img)
        table = np.empty(hists.shape, dtype=np.uint8)
        for c in range(hists.shape[1]):
            hist = hists[:, c]
            occupied = np.flatnonzero(hist)
            step = (int(hist.sum()) - int(hist[occupied[-1]])) // 255
            if step == 0:
                table[:, c] = np.arange(256)
                continue
            cum = np.concatenate(([0], np.cumsum(hist)[:-1]))
            table[:, c] = np.minimum((step // 2 + cum) // step, 255)
        return _lut(img, table)


class Invert(_Op):
    """PIL ``ImageOps.invert``: ``255 - x``."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        return np.subtract(255, img, dtype=np.uint8)


class Solarize(_MagnitudeOp):
    """Invert every pixel ``>= threshold`` (PIL ``ImageOps.solarize``, torchvision ``F.solarize``).

    ``magnitude`` is the threshold in ``[0, 256]`` (paper range; torchvision's bins go 255 → 0).
    """

    def _check(self, values: tuple[float, ...]) -> None:
        if any(not 0.0 <= v <= 256.0 for v in values):
            raise ConfigError("Solarize.magnitude", values, "threshold must be in [0, 256]")

    def _apply(self, img: _U8, **params: Any) -> _U8:
        table = np.where(params["magnitude"] > _LEVELS, _LEVELS, 255.0 - _LEVELS).astype(np.uint8)
        return _lut(img, table)


class Posterize(_MagnitudeOp):
    """Keep the ``magnitude`` most significant bits of each channel (paper: 4-8 bits)."""

    def _check(self, values: tuple[float, ...]) -> None:
        if any(v != int(v) or not 0 <= v <= 8 for v in values):
            raise ConfigError("Posterize.magnitude", values, "bits must be integers in [0, 8]")

    def _apply(self, img: _U8, **params: Any) -> _U8:
        bits = int(abs(params["magnitude"]))
        mask = (0xFF << (8 - bits)) & 0xFF
        return np.bitwise_and(img, np.uint8(mask))


class _EnhanceOp(_MagnitudeOp):
    """A PIL ``ImageEnhance`` op with factor ``1 + magnitude`` (paper: factor in [0.1, 1.9],
    i.e. magnitude in ±0.9, signed as in torchvision)."""

    def __init__(
        self, magnitude: float | Sequence[float] = 0.0, signed: bool = True, p: float = 1.0
    ) -> None:
        super().__init__(magnitude=magnitude, signed=signed, p=p)

    def _check(self, values: tuple[float, ...]) -> None:
        if any(not -1.0 <= v <= 1.0 for v in values):
            raise ConfigError(f"{type(self).__name__}.magnitude", values, "must be in [-1, 1]")


class Brightness(_EnhanceOp):
    """PIL ``ImageEnhance.Brightness``: blend with black, ``x * factor`` truncated."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        return _lut(img, _blend_lut(0.0, 1.0 + params["magnitude"]))


class Contrast(_EnhanceOp):
    """PIL ``ImageEnhance.Contrast``: blend with the rounded mean luma of the image."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        mean = int(float(_luma(img).mean(dtype=np.float64)) + 0.5)
        return _lut(img, _blend_lut(float(mean), 1.0 + params["magnitude"]))


class Color(_EnhanceOp):
    """PIL ``ImageEnhance.Color``: blend with the luma image (saturation)."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        if img.ndim == 2 or img.shape[2] == 1:
            return img
        luma = _luma(img)
        if img.shape[2] == 3:
            degenerate = cv2.cvtColor(luma, cv2.COLOR_GRAY2RGB)
        else:
            degenerate = np.repeat(luma[..., None], img.shape[2], axis=2)
        return _pil_blend(degenerate, img, 1.0 + params["magnitude"])


_SMOOTH = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], dtype=np.float32) / np.float32(13.0)


class Sharpness(_EnhanceOp):
    """PIL ``ImageEnhance.Sharpness``: blend with ``ImageFilter.SMOOTH`` (3x3 kernel
    ``[[1,1,1],[1,5,1],[1,1,1]]/13``, rounded, border pixels kept), so factors below 1 blur."""

    def _apply(self, img: _U8, **params: Any) -> _U8:
        h, w = img.shape[:2]
        if h < 3 or w < 3:
            return img
        smooth = cv2.filter2D(img.astype(np.float32), -1, _SMOOTH, borderType=cv2.BORDER_REPLICATE)
        degenerate = img.copy()
        inner = np.rint(np.asarray(smooth)[1:-1, 1:-1]).reshape(degenerate[1:-1, 1:-1].shape)
        degenerate[1:-1, 1:-1] = inner.astype(np.uint8)
        return _pil_blend(degenerate, img, 1.0 + params["magnitude"])


class Cutout(_MagnitudeOp):
    """Fill a square with ``fill`` (DeVries & Taylor 2017, as used by AutoAugment).

    ``magnitude`` is the side as a fraction of the shorter image side (paper: 0-60 px at
    331 px, i.e. up to 60/331). As in the AutoAugment reference code, the centre is uniform
    over the image, the square spans ``centre ± size // 2`` clipped to the image, and the
    fill is the gray ``(125, 122, 113)``.
    """

    def __init__(
        self,
        magnitude: float | Sequence[float] = 0.0,
        fill: float | Sequence[float] = CUTOUT_FILL,
        p: float = 1.0,
    ) -> None:
        super().__init__(magnitude=magnitude, signed=False, p=p)
        self.fill = _as_fill(fill)

    def _check(self, values: tuple[float, ...]) -> None:
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ConfigError("Cutout.magnitude", values, "must be a fraction in [0, 1]")

    def get_params_dependent_on_data(
        self, params: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        h, w = params["shape"][:2]
        half = int(params["magnitude"] * min(h, w) + _PIXEL_EPS) // 2
        cy, cx = self.py_random.randrange(h), self.py_random.randrange(w)
        return {"box": (max(0, cy - half), max(0, cx - half), min(h, cy + half), min(w, cx + half))}

    def _apply(self, img: _U8, **params: Any) -> _U8:
        y0, x0, y1, x1 = params["box"]
        if y1 <= y0 or x1 <= x0:
            return img
        out = img.copy()
        channels = 1 if img.ndim == 2 else img.shape[2]
        fill = self.fill if isinstance(self.fill, tuple) else (self.fill,) * channels
        value = np.asarray(fill[:channels] if len(fill) >= channels else fill[:1] * channels)
        out[y0:y1, x0:x1] = value.astype(np.uint8).reshape(-1) if img.ndim == 3 else value[0]
        return out


class SamplePairing(_MagnitudeOp):
    """Blend with another training image (Inoue 2018), as AutoAugment's SamplePairing op:
    ``PIL.Image.blend(image, partner, magnitude)`` with weight ``magnitude`` in [0, 0.4].

    The partner comes from the extra target ``pair_image`` when the caller passes one
    (``pipeline(image=x, pair_image=y)``), or else from a pool set with :meth:`set_pool`, drawn
    uniformly with ``self.py_random``. The pool is runtime state and is not serialized. A partner
    of another size is resized to the image (bilinear). Without a partner the op raises
    ``ConfigError``.

    Partner choice versus the paper. AutoAugment (Cubuk et al., 2019, Appendix, Table 1) blends
    with "another image (selected at random from the same mini-batch)"; optnas' training loop
    gives the op the whole training set as its pool, deliberately:

    - *Same distribution per image.* The loader shuffles every epoch with a uniformly random
      permutation, so the other members of an image's mini-batch are a uniformly random subset
      of the other training images, and a partner drawn at random from the mini-batch is a
      uniformly random training image -- what the pool draw gives. The only difference is the
      chance of drawing the image itself (blend with itself = no change): ``1/B`` from a batch of
      ``B`` versus ``1/N`` from ``N`` training images (``tests/augment/test_augment_sample_pairing.py``
      measures both).
    - *Per-sample determinism.* albumentations transforms see one image, and optnas' loader derives
      each image's augmentation from ``(seed, epoch, index)`` alone (DESIGN.md, "Determinism"),
      never from the batch layout of a worker; a batch partner would tie an image's augmentation
      to its batch-mates.

    A caller that builds mini-batches itself can follow the paper literally by passing a
    batch-mate as ``pair_image``.
    """

    def __init__(self, magnitude: float | Sequence[float] = 0.0, p: float = 1.0) -> None:
        super().__init__(magnitude=magnitude, signed=False, p=p)
        self._pool: tuple[_U8, ...] = ()

    def _check(self, values: tuple[float, ...]) -> None:
        if any(not 0.0 <= v <= 1.0 for v in values):
            raise ConfigError("SamplePairing.magnitude", values, "weight must be in [0, 1]")

    def set_pool(self, images: Sequence[np.ndarray[Any, Any]]) -> SamplePairing:
        """Set the images partners are drawn from when no ``pair_image`` is passed."""
        pool = tuple(np.asarray(im) for im in images)
        if any(im.dtype != np.uint8 for im in pool):
            raise ConfigError("SamplePairing.pool", "dtype", "images must be uint8")
        self._pool = pool
        return self

    def get_params_dependent_on_data(
        self, params: dict[str, Any], data: dict[str, Any]
    ) -> dict[str, Any]:
        partner = data.get("pair_image")
        if partner is None:
            if not self._pool:
                raise ConfigError(
                    "SamplePairing.pair_image", None, "pass pair_image=... or call set_pool()"
                )
            partner = self._pool[self.py_random.randrange(len(self._pool))]
        return {"partner": np.asarray(partner)}

    def _apply(self, img: _U8, **params: Any) -> _U8:
        partner: _U8 = params["partner"]
        if partner.shape[:2] != img.shape[:2]:
            partner = np.asarray(
                cv2.resize(partner, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR),
                dtype=np.uint8,
            )
        return _pil_blend(img, partner.reshape(img.shape), params["magnitude"])
