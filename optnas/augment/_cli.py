"""``optnas augment show POLICY --image PATH --out grid.png``: a grid of augmented samples.

POLICY is a published policy name (``imagenet``, ``cifar10``, ``svhn``), a policy JSON file,
``randaugment:N,M`` or ``trivialaugment``. A policy JSON file is either an AutoAugment policy
(the format of :meth:`optnas.augment.Policy.to_json`) or a RandAugment setting
``{"format": "optnas.augment.randaugment", "version": 1, "n": N, "m": M, "num_magnitude_bins": B}``;
both may carry a ``"source"`` object (the study and trials ``optnas export`` took them from), so
the ``policy.json`` that ``optnas export`` writes for either augmentation kind loads here.

The top-left cell is the original image; every other cell is one draw
of the policy, reproducible with ``--seed``. Policies containing SamplePairing blend with
``--pair-image`` (default: the input image mirrored left-right).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from optnas._errors import ConfigError

__all__ = ["RANDAUGMENT_FORMAT", "configure", "load_pipeline", "load_policy_file", "parse_randaugment", "run"]

_RANDAUGMENT = re.compile(r"randaugment:(\d+),(\d+)")
#: ``"format"`` of a RandAugment policy file (see the module docstring).
RANDAUGMENT_FORMAT = "optnas.augment.randaugment"
_RANDAUGMENT_KEYS = ("format", "version", "n", "m", "num_magnitude_bins", "source")


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``augment`` subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="render a grid of augmented samples (PNG)")
    show.add_argument(
        "policy",
        metavar="POLICY",
        help="imagenet | cifar10 | svhn | randaugment:N,M | trivialaugment | policy JSON file",
    )
    show.add_argument("--image", required=True, type=Path, help="input image (any PIL format)")
    show.add_argument("--out", required=True, type=Path, help="output PNG path")
    show.add_argument("--rows", type=int, default=4, help="grid rows (default 4)")
    show.add_argument("--cols", type=int, default=4, help="grid columns (default 4)")
    show.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    show.add_argument("--pair-image", type=Path, default=None, help="SamplePairing partner")


def load_pipeline(spec: str, *, seed: int | None = None) -> Any:
    """The albumentations pipeline named by a POLICY argument (see the module docstring)."""
    from optnas.augment._published import PUBLISHED_POLICIES, published_policy
    from optnas.augment._rand import rand_augment, trivial_augment

    if spec.lower() in PUBLISHED_POLICIES:
        return published_policy(spec).to_albumentations(seed=seed)
    if spec.lower() == "trivialaugment":
        return trivial_augment(seed=seed)
    if spec.lower().startswith("randaugment"):
        match = _RANDAUGMENT.fullmatch(spec.lower())
        if match is None:
            raise ConfigError("POLICY", spec, "expected randaugment:N,M with integers N and M")
        return rand_augment(int(match[1]), int(match[2]), seed=seed)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(
            "POLICY",
            spec,
            f"not a published policy ({', '.join(PUBLISHED_POLICIES)}), randaugment:N,M, "
            "trivialaugment, or an existing policy JSON file",
        )
    return load_policy_file(path, seed=seed)


def parse_randaugment(data: Any, *, source: str = "policy") -> tuple[int, int, int]:
    """``(n, m, num_magnitude_bins)`` of a RandAugment policy document (module docstring).

    Raises:
        ConfigError: naming ``<source>.<key>`` for an unknown key or a bad value.
    """
    from optnas._validate import non_negative_int, one_of

    if not isinstance(data, dict):
        shape = '{"format": ..., "n": ..., "m": ...}'
        raise ConfigError(source, "...", f"expected a JSON object {shape}, got a {type(data).__name__}")
    for key in data:
        if key not in _RANDAUGMENT_KEYS:
            raise ConfigError(f"{source}.{key}", data[key], f"unknown key; expected one of {list(_RANDAUGMENT_KEYS)}")
    one_of(f"{source}.format", data.get("format"), (RANDAUGMENT_FORMAT,))
    one_of(f"{source}.version", data.get("version", 1), (1,))
    for key in ("n", "m"):
        if key not in data:
            raise ConfigError(f"{source}.{key}", None, "missing")
    if "source" in data and not isinstance(data["source"], dict):
        raise ConfigError(f"{source}.source", data["source"], "expected a JSON object (provenance)")
    n = non_negative_int(f"{source}.n", data["n"])
    bins = non_negative_int(f"{source}.num_magnitude_bins", data.get("num_magnitude_bins", 31))
    if bins < 2:
        raise ConfigError(f"{source}.num_magnitude_bins", bins, "must be at least 2")
    m = non_negative_int(f"{source}.m", data["m"])
    if m > bins - 1:
        raise ConfigError(f"{source}.m", m, f"must be at most num_magnitude_bins - 1 = {bins - 1}")
    return n, m, bins


def load_policy_file(path: str | Path, *, seed: int | None = None) -> Any:
    """The albumentations pipeline of a policy JSON file (AutoAugment or RandAugment, module docstring).

    Raises:
        ConfigError: the file cannot be read, is not JSON, or does not follow either format.
    """
    from optnas.augment._policy import Policy
    from optnas.augment._rand import rand_augment

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "...", f"cannot read policy file: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None  # Policy.from_json reports the syntax error with its line and column
    if isinstance(data, dict) and data.get("format") == RANDAUGMENT_FORMAT:
        n, m, bins = parse_randaugment(data, source=str(path))
        return rand_augment(n, m, num_magnitude_bins=bins, seed=seed)
    return Policy.from_json(text, source=str(path)).to_albumentations(seed=seed)


#: Bounds of ``augment show``: rows and columns of the grid, image side (px), grid pixels.
MAX_GRID, MAX_SIDE, MAX_GRID_PIXELS = 64, 8192, 64 * 2**20


def _read_image(path: Path, field: str) -> np.ndarray[Any, Any]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            if max(im.size) > MAX_SIDE:
                raise ConfigError(field, str(path), f"{im.size[0]}x{im.size[1]} px: each side must be <= {MAX_SIDE}")
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ConfigError(field, str(path), f"cannot read image: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """Render the grid and write it as PNG; returns 0."""
    from PIL import Image

    from optnas.augment._ops import SamplePairing

    for name in ("rows", "cols"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name}", getattr(args, name), "must be >= 1")
        if getattr(args, name) > MAX_GRID:
            raise ConfigError(f"--{name}", getattr(args, name), f"must be <= {MAX_GRID}")
    image = _read_image(args.image, "--image")
    pixels = args.rows * (image.shape[0] + 2) * args.cols * (image.shape[1] + 2)
    if pixels > MAX_GRID_PIXELS:
        raise ConfigError(
            "--rows",
            args.rows,
            f"a {args.rows}x{args.cols} grid of {image.shape[1]}x{image.shape[0]} px images has {pixels:,} pixels, "
            f"more than {MAX_GRID_PIXELS:,}: use fewer --rows/--cols or a smaller --image",
        )
    pair = (
        image[:, ::-1].copy()
        if args.pair_image is None
        else _read_image(args.pair_image, "--pair-image")
    )
    pipeline = load_pipeline(args.policy, seed=args.seed)
    for transform in _walk(pipeline):
        if isinstance(transform, SamplePairing):
            transform.set_pool([pair])
    h, w = image.shape[:2]
    grid = np.full((args.rows * (h + 2), args.cols * (w + 2), 3), 255, dtype=np.uint8)
    for k in range(args.rows * args.cols):
        cell = image if k == 0 else pipeline(image=image)["image"]
        r, c = divmod(k, args.cols)
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w] = cell
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(grid).save(args.out, format="PNG")
    except OSError as exc:
        raise ConfigError("--out", str(args.out), f"cannot write PNG: {exc}") from None
    print(f"wrote {args.out} ({args.rows}x{args.cols} samples of {args.policy})")
    return 0


def _walk(transform: Any) -> list[Any]:
    children = getattr(transform, "transforms", None)
    if children is None:
        return [transform]
    return [t for child in children for t in _walk(child)]
