"""Batch resizing of uint8 image arrays with OpenCV."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["resize_images", "resize_short_side_center_crop"]


def resize_images(x: npt.NDArray[np.uint8], resolution: int) -> npt.NDArray[np.uint8]:
    """Resize ``(N, H, W, 3)`` images to ``(N, resolution, resolution, 3)``.

    Returns a copy even when the size already matches. Area interpolation when shrinking
    (no aliasing), bilinear when enlarging.
    """
    n, h, w, _ = x.shape
    if (h, w) == (resolution, resolution):
        return x.copy()
    import cv2

    interp = cv2.INTER_AREA if resolution < min(h, w) else cv2.INTER_LINEAR
    out = np.empty((n, resolution, resolution, 3), dtype=np.uint8)
    for i in range(n):
        out[i] = cv2.resize(x[i], (resolution, resolution), interpolation=interp)
    return out


def resize_short_side_center_crop(img: npt.NDArray[np.uint8], size: int) -> npt.NDArray[np.uint8]:
    """Resize one ``(H, W, 3)`` image so its shorter side is ``size``, then center-crop square."""
    import cv2

    h, w = img.shape[:2]
    if (h, w) == (size, size):
        return img
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled: npt.NDArray[np.uint8] = np.asarray(cv2.resize(img, (nw, nh), interpolation=interp), dtype=np.uint8)
    top, left = (nh - size) // 2, (nw - size) // 2
    return np.ascontiguousarray(scaled[top : top + size, left : left + size])
