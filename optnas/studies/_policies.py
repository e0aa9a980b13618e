"""Final policies of augmentation studies, and their export (albumentations JSON, policy JSON, PNG).

Stable public functions (``optnas export`` calls them):

* :func:`final_policy` ``(study, top=5) -> Policy`` -- AutoAugment's final policy (Cubuk et al.
  2019, Sec. 3: "we concatenate the sub-policies of the best 5 policies into a single policy
  with 25 sub-policies").
* :func:`best_randaugment` ``(study) -> (n, m)`` -- the best grid point of a RandAugment study
  (Cubuk et al. 2020, Sec. 3).
* :func:`export_policy` ``(study, out_dir) -> list[Path]`` -- writes, for the study's kind:

  - ``albumentations.json``: ``albumentations.save`` of the pipeline (load it back with
    ``albumentations.load`` after ``import optnas.augment``, which registers the custom ops);
  - ``policy.json``: for AutoAugment the policy in optnas' policy format
    (:meth:`optnas.augment.Policy.to_json`); for RandAugment
    ``{"format": "optnas.augment.randaugment", "version": 1, "n": N, "m": M, "num_magnitude_bins": B}``;
    both with the trials they came from under ``"source"``. The file is read back with the
    reader of ``optnas augment show`` before it is written, so ``optnas augment show
    OUT/policy.json`` (and ``train.augment = "OUT/policy.json"``) always loads it;
  - ``examples.png``: one row per example image, the original first and then independent
    draws of the pipeline (reproducible from ``seed``).

Trials are ranked by objective value (best first for the study's direction), ties by trial
number; only completed trials with a finite value count.
"""

from __future__ import annotations

import json
import math
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import optuna
from optuna.trial import FrozenTrial, TrialState

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas._keys import CONFIG_ATTR, KIND_ATTR
from optnas.studies._augment_kinds import M_PARAM, N_PARAM, attach_pairing_pool
from optnas.studies._kinds import study_kind_of

if TYPE_CHECKING:
    from optnas.augment import Policy

__all__ = [
    "RANDAUGMENT_FORMAT",
    "autoaugment_final",
    "best_randaugment",
    "best_trials",
    "export_policy",
    "final_policy",
    "randaugment_final",
    "render_examples",
]

#: ``optnas.augment._cli.RANDAUGMENT_FORMAT`` (not imported: ``optnas.augment`` imports albumentations).
RANDAUGMENT_FORMAT = "optnas.augment.randaugment"
_KIND_ATTR = KIND_ATTR
_CONFIG_ATTR = CONFIG_ATTR
_MIN_CELL = 64

U8 = npt.NDArray[np.uint8]


def best_trials(study: optuna.Study, k: int | None = None) -> list[FrozenTrial]:
    """Completed trials with a finite value, best first (ties: lower trial number first)."""
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and math.isfinite(t.value)
    ]
    done.sort(key=lambda t: (sign * float(t.value), t.number))  # type: ignore[arg-type]
    return done if k is None else done[:k]


def _check_top(top: int) -> None:
    validate.positive_int("top", top)


def final_policy(study: optuna.Study, top: int = 5) -> Policy:
    """AutoAugment's final policy: the sub-policies of the ``top`` best policies, concatenated.

    Cubuk et al. (2019), Sec. 3: the best 5 policies of the search (5 sub-policies each) form
    one policy of 25 sub-policies, in rank order. When the study has fewer than ``top``
    completed trials, all of them are used.

    Args:
        study: an ``autoaugment`` study (trial parameters ``sp{i}_op{j}_{type,prob,mag}``).
        top: number of best trials to concatenate.

    Raises:
        ConfigError: no completed trial, or a trial without policy parameters.
    """
    from optnas.augment import Policy, policy_from_params

    _check_top(top)
    trials = best_trials(study, top)
    if not trials:
        raise ConfigError("study", study.study_name, "has no completed trial to take a policy from")
    policies = []
    for t in trials:
        try:
            policies.append(policy_from_params(t.params))
        except ConfigError as exc:
            raise ConfigError(f"trial {t.number}: {exc.field}", exc.value, exc.reason) from None
    return Policy.concat(policies)


def best_randaugment(study: optuna.Study) -> tuple[int, int]:
    """``(N, M)`` of the best completed trial of a ``randaugment`` study.

    Raises:
        ConfigError: no completed trial, or the trial has no ``N``/``M`` parameters.
    """
    trials = best_trials(study, 1)
    if not trials:
        raise ConfigError("study", study.study_name, "has no completed trial to take (N, M) from")
    params = trials[0].params
    for name in (N_PARAM, M_PARAM):
        if name not in params:
            raise ConfigError(f"trial {trials[0].number}: {name}", None, "missing RandAugment parameter")
    return int(params[N_PARAM]), int(params[M_PARAM])


def _final_augmentation(study: optuna.Study, kind: str | None) -> Callable[[optuna.Study, int], tuple[Any, Any]]:
    """The final-augmentation hook of ``study``'s kind: its recorded kind, else ``kind`` (a study made from Python)."""
    recorded = study.user_attrs.get(_KIND_ATTR)
    if recorded is not None and kind is not None and recorded != kind:
        raise ConfigError("kind", kind, f"the study {study.study_name!r} is a {recorded} study")
    name = recorded if recorded is not None else kind
    if name is None:
        raise ConfigError("study", study.study_name, "records no optnas kind; pass kind='autoaugment' or 'randaugment'")
    spec = study_kind_of(name, field="kind")
    if spec.final_augmentation is None:
        raise ConfigError("study", study.study_name, f"is a {spec.name} study, not an augmentation study")
    return spec.final_augmentation


def autoaugment_final(study: optuna.Study, top: int) -> tuple[dict[str, Any], Any]:
    """``(policy.json document, albumentations pipeline)`` of an AutoAugment study (:func:`final_policy`)."""
    policy = final_policy(study, top)
    document: dict[str, Any] = policy.to_dict()
    document["source"] = {"study": study.study_name, "trials": [t.number for t in best_trials(study, top)]}
    return document, policy.to_albumentations()


def randaugment_final(study: optuna.Study, top: int) -> tuple[dict[str, Any], Any]:
    """``(policy.json document, albumentations pipeline)`` of a RandAugment study (:func:`best_randaugment`)."""
    from optnas.augment import rand_augment

    n, m = best_randaugment(study)
    bins = _num_magnitude_bins(study)
    document = {"format": RANDAUGMENT_FORMAT, "version": 1, "n": n, "m": m, "num_magnitude_bins": bins}
    document["source"] = {"study": study.study_name, "trials": [best_trials(study, 1)[0].number]}
    return document, rand_augment(n, m, num_magnitude_bins=bins)


def _stored_config(study: optuna.Study) -> dict[str, Any]:
    config = study.user_attrs.get(_CONFIG_ATTR)
    return dict(config) if isinstance(config, dict) else {}


def _num_magnitude_bins(study: optuna.Study) -> int:
    augment = _stored_config(study).get("augment") or {}
    bins = augment.get("num_magnitude_bins", 31) if isinstance(augment, dict) else 31
    return int(bins)


def _dataset_examples(study: optuna.Study, count: int) -> U8 | None:
    """One validation image from each of the first ``count`` classes of the study's dataset."""
    from optnas.data import load

    config = _stored_config(study)
    dataset = config.get("dataset")
    if not isinstance(dataset, dict) or "name" not in dataset:
        return None
    kwargs = {
        k: dataset[k] for k in ("root", "subset", "val_size", "val_fraction", "download", "balanced") if k in dataset
    }
    try:
        data = load(dataset["name"], seed=int(config.get("seed", 0)), **kwargs)
    except (ConfigError, OSError):
        return None
    picks = []
    for c in range(data.num_classes):
        where = np.flatnonzero(data.val_y == c)
        if where.size:
            picks.append(int(where[0]))
        if len(picks) == count:
            break
    return np.asarray(data.val_x[picks], dtype=np.uint8)


def _sample_images(count: int, size: int = 96) -> U8:
    """scikit-learn's bundled photographs (center crops), repeated to ``count`` images."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    out = []
    for i in range(count):
        photo = np.asarray(photos[i % len(photos)], dtype=np.uint8)
        h, w = photo.shape[:2]
        s = min(h, w)
        crop = photo[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
        if i >= len(photos):  # a different view of a repeated photo
            crop = crop[:, ::-1]
        out.append(np.asarray(Image.fromarray(crop).resize((size, size), Image.Resampling.BILINEAR)))
    return np.stack(out).astype(np.uint8)


def render_examples(pipeline: Any, images: U8, *, samples: int = 7, seed: int = 0) -> U8:
    """A grid image: one row per input, the original then ``samples`` draws of ``pipeline``.

    The pipeline's random state is set from ``seed`` (one numpy ``Generator`` and one
    ``random.Random`` shared by all its transforms); ``SamplePairing`` ops pair with the other
    inputs. Cells smaller than 64 px are enlarged by an integer factor (nearest neighbour).

    Args:
        pipeline: an albumentations transform.
        images: ``(K, H, W, 3)`` uint8 images.
        samples: augmented draws per image.
        seed: seed of the draws.
    """
    validate.positive_int("samples", samples)
    images = np.asarray(images, dtype=np.uint8)
    if images.ndim != 4 or images.shape[3] != 3 or images.shape[0] < 1:
        raise ConfigError("images", images.shape, "expected (K, H, W, 3) uint8 images")
    attach_pairing_pool(pipeline, list(images))
    pipeline.set_random_state(np.random.default_rng(seed), random.Random(seed))
    k, h, w = images.shape[:3]
    scale = max(1, -(-_MIN_CELL // max(h, w)))
    ch, cw = h * scale, w * scale
    grid = np.full((k * (ch + 2), (samples + 1) * (cw + 2), 3), 255, dtype=np.uint8)
    for r in range(k):
        for c in range(samples + 1):
            cell = images[r] if c == 0 else np.asarray(pipeline(image=images[r])["image"], dtype=np.uint8)
            cell = np.repeat(np.repeat(cell, scale, axis=0), scale, axis=1)
            grid[r * (ch + 2) + 1 : r * (ch + 2) + 1 + ch, c * (cw + 2) + 1 : c * (cw + 2) + 1 + cw] = cell
    return grid


def _check_readable(document: dict[str, Any]) -> None:
    """Parse ``document`` with the reader of ``optnas augment show`` (a file it cannot read is never written)."""
    from optnas.augment import Policy
    from optnas.augment._cli import RANDAUGMENT_FORMAT as RA_FORMAT
    from optnas.augment._cli import parse_randaugment

    if document.get("format") == RA_FORMAT:
        parse_randaugment(document, source="policy.json")
    else:
        Policy.from_dict(document, source="policy.json")


def export_policy(
    study: optuna.Study,
    out_dir: str | os.PathLike[str],
    *,
    top: int = 5,
    images: U8 | None = None,
    rows: int = 5,
    samples: int = 7,
    seed: int = 0,
    kind: str | None = None,
) -> list[Path]:
    """Write the study's final augmentation (module docstring) into ``out_dir``.

    Args:
        study: an ``autoaugment`` or ``randaugment`` study.
        out_dir: output directory (created).
        top: best trials concatenated for an AutoAugment study (:func:`final_policy`).
        images: example images for the PNG; default: one validation image from each of the
            first ``rows`` classes of the study's dataset, or scikit-learn's sample photographs
            when the dataset cannot be loaded here.
        rows: number of example images when ``images`` is not given.
        samples: augmented draws per example image.
        seed: seed of the example draws.
        kind: ``"autoaugment"`` or ``"randaugment"`` for a study that records no optnas kind
            (made from Python); a study made by optnas records its own.

    Returns:
        The paths written: ``[albumentations.json, policy.json, examples.png]``.
    """
    import albumentations as A
    from PIL import Image

    final = _final_augmentation(study, kind)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError("out_dir", str(out), f"cannot create the directory: {exc}") from None
    document, pipeline = final(study, top)
    _check_readable(document)
    album_path, policy_path, png_path = out / "albumentations.json", out / "policy.json", out / "examples.png"
    A.save(pipeline, str(album_path), data_format="json")
    policy_path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if images is None:
        validate.positive_int("rows", rows)
        found = _dataset_examples(study, rows)
        images = found if found is not None else _sample_images(rows)
    grid = render_examples(pipeline, images, samples=samples, seed=seed)
    Image.fromarray(grid).save(png_path, format="PNG")
    return [album_path, policy_path, png_path]
