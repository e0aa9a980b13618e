"""Fidelity of the 16 ops against torchvision/PIL on real photographs and CIFAR-sized images.

Reference: ``torchvision.transforms.autoaugment._apply_op`` (what torchvision's AutoAugment /
RandAugment / TrivialAugmentWide run for each op) at the same magnitude; the table's bin values
are checked against torchvision's ``_augmentation_space`` separately (equal up to float32
rounding: torchvision's bins are float32, e.g. 0.29999998 for 0.3, which can move an enhance
factor across a truncation boundary, so torchvision's AutoAugment at bin 3 of Contrast differs
from the exact factor 0.7 by 1 level on ~2% of pixels). Tolerances, in intensity levels
(max abs difference):

* PIL input (the AutoAugment reference, PIL ``ImageOps``/``ImageEnhance``): **0** for every op
  — our geometric ops replicate PIL's 16.16 fixed-point nearest-neighbour map and our
  enhance ops PIL's float32 blend with truncation.
* Tensor input: geometric ops are identical wherever torchvision's two backends agree; its tensor
  backend (``grid_sample``) breaks ties on pixel boundaries differently from its own PIL
  backend, so geometric ops are checked to match PIL and to differ from the tensor backend
  only on pixels where the tensor backend differs from PIL. **0** for the LUT ops (Invert,
  Posterize, Solarize, Equalize, Brightness). **1** for Contrast, Color, Sharpness and
  AutoContrast: the tensor backend computes the gray mean/gray image/blend in a different
  float order (truncated float gray vs PIL's rounded fixed-point luma).
* Cutout (not in torchvision) is compared with ``torchvision.transforms.functional.erase`` on
  the same box, SamplePairing with ``PIL.Image.blend``: both **0**.
"""

from __future__ import annotations

import os
import re

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from typing import Any

import numpy as np
import pytest
from PIL import Image

from optnas._errors import ConfigError
from optnas.augment import AUTOAUGMENT_SPACE, OP_NAMES, make_op
from optnas.augment import _ops as ops
from optnas.augment._table import TRIVIALAUGMENT_WIDE_SPACE

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
tv_aa = pytest.importorskip("torchvision.transforms.autoaugment")
F = pytest.importorskip("torchvision.transforms.functional")
sklearn_datasets = pytest.importorskip("sklearn.datasets")

TORCHVISION_OPS = [n for n in OP_NAMES if n not in ("Cutout", "SamplePairing")]
GEOMETRIC = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}
TENSOR_TOLERANCE = {"Contrast": 1, "Color": 1, "Sharpness": 1, "AutoContrast": 1}
# (bin, sign) cases; a sign of -1 only applies to signed ops.
CASES = ((0, 1.0), (3, -1.0), (6, 1.0), (9, 1.0), (9, -1.0))
FIDELITY_IMAGES = ("china224", "flower143x214", "china32", "noise32")


def _images() -> dict[str, np.ndarray[Any, Any]]:
    china, flower = sklearn_datasets.load_sample_images().images
    rng = np.random.default_rng(0)
    return {
        "china224": china[100:324, 200:424].copy(),
        "flower143x214": flower[::3, ::3].copy(),  # non-square, odd height
        "china32": china[150:182, 300:332].copy(),
        "flower32": np.ascontiguousarray(flower[::13, ::13][:32, :32]),
        "noise32": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8),
    }


IMAGES = _images()


def _tv_space(h: int, w: int) -> dict[str, tuple[Any, bool]]:
    return tv_aa.AutoAugment()._augmentation_space(10, (h, w))


def _ours(name: str, magnitude: float, img: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    spec = AUTOAUGMENT_SPACE[name]
    kwargs = {"magnitude": magnitude, "signed": False, **spec.options} if spec.has_magnitude else {}
    op = spec.transform(**kwargs)
    return np.asarray(op(image=img)["image"])


def _reference(name: str, tv_magnitude: float, img: np.ndarray[Any, Any]) -> tuple[Any, Any]:
    interp = F.InterpolationMode.NEAREST
    pil = tv_aa._apply_op(Image.fromarray(img), name, tv_magnitude, interpolation=interp, fill=None)
    tensor = torch.from_numpy(img).permute(2, 0, 1).contiguous()
    out = tv_aa._apply_op(tensor, name, tv_magnitude, interpolation=interp, fill=None)
    return np.asarray(pil), out.permute(1, 2, 0).numpy()


def test_table_magnitudes_match_torchvision() -> None:
    for h, w in ((224, 224), (32, 32), (143, 214)):
        space = _tv_space(h, w)
        for name in TORCHVISION_OPS:
            spec = AUTOAUGMENT_SPACE[name]
            values, signed = space[name]
            assert spec.signed == signed, name
            if not spec.has_magnitude:
                continue
            ours = np.array(spec.magnitudes(10))
            side = {"TranslateX": w, "TranslateY": h}.get(name, 1)
            np.testing.assert_allclose(ours * side, values.numpy(), rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("size", [32, 143, 214, 224, 300, 331])
def test_translate_pixels_match_torchvision(size: int) -> None:
    expected = [int(v) for v in _tv_space(size, size)["TranslateX"][0].tolist()]
    op = ops.TranslateX()
    assert [op._pixels(m, size) for m in AUTOAUGMENT_SPACE["TranslateX"].magnitudes()] == expected


@pytest.mark.parametrize("name", TORCHVISION_OPS)
def test_op_matches_torchvision(name: str) -> None:
    spec = AUTOAUGMENT_SPACE[name]
    cases = [(b, s) for b, s in CASES if spec.signed or s > 0] if spec.has_magnitude else [(0, 1.0)]
    for key in FIDELITY_IMAGES:
        img = IMAGES[key]
        h, w = img.shape[:2]
        side = {"TranslateX": w, "TranslateY": h}.get(name, 1)
        for b, sign in cases:
            ours_mag = sign * spec.magnitude(b) if spec.has_magnitude else 0.0
            tv_mag = ours_mag * side
            ours = _ours(name, ours_mag, img)
            pil, tensor = _reference(name, tv_mag, img)
            where = f"{name} bin={b} sign={sign} image={key}"
            assert ours.shape == img.shape and ours.dtype == np.uint8
            np.testing.assert_array_equal(ours, pil, err_msg=where)
            diff = np.abs(ours.astype(int) - tensor.astype(int))
            if name in GEOMETRIC:
                backends_differ = np.any(pil != tensor, axis=-1)
                assert not np.any(diff.max(axis=-1)[~backends_differ]), where
            else:
                assert diff.max() <= TENSOR_TOLERANCE.get(name, 0), where


def test_ops_change_images_when_they_should() -> None:
    """Guard against a vacuous fidelity test: bin 9 of every op changes a low-contrast photo."""
    img = (IMAGES["china224"] // 2 + 40).astype(np.uint8)
    for name in TORCHVISION_OPS:
        spec = AUTOAUGMENT_SPACE[name]
        mag = spec.magnitude(9) if spec.has_magnitude else 0.0
        assert not np.array_equal(_ours(name, mag, img), img), name


def test_albumentations_equalize_deviates_but_ours_does_not() -> None:
    import albumentations as A

    img = IMAGES["china224"]
    pil = np.asarray(F.equalize(Image.fromarray(img)))
    stock = A.Equalize(mode="pil", by_channels=True, p=1.0)(image=img)["image"]
    assert not np.array_equal(stock, pil)
    np.testing.assert_array_equal(make_op("Equalize")(image=img)["image"], pil)


def test_sharpness_blurs_below_one() -> None:
    img = IMAGES["china224"]
    blurred = _ours("Sharpness", -0.9, img)
    lap = np.abs(np.diff(img.astype(int), axis=0)).mean()
    assert np.abs(np.diff(blurred.astype(int), axis=0)).mean() < 0.8 * lap


@pytest.mark.parametrize("key", ["china224", "china32", "flower143x214"])
def test_cutout_matches_torchvision_erase(key: str) -> None:
    img = IMAGES[key]
    op = make_op("Cutout", 9)
    op.set_random_seed(3)
    for _ in range(10):
        out = op(image=img)["image"]
        y0, x0, y1, x1 = op.params["box"]
        value = torch.tensor(ops.CUTOUT_FILL, dtype=torch.uint8)[:, None, None]
        tensor = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        ref = F.erase(tensor, y0, x0, y1 - y0, x1 - x0, value).permute(1, 2, 0).numpy()
        np.testing.assert_array_equal(out, ref)
        half = int(60 / 331 * min(img.shape[:2]) + 1e-6) // 2
        cy, cx = y0 + half if y0 > 0 else y1 - half, x0 + half if x0 > 0 else x1 - half
        assert (y0, y1) == (max(0, cy - half), min(img.shape[0], cy + half))
        assert (x0, x1) == (max(0, cx - half), min(img.shape[1], cx + half))


def test_cutout_bin0_is_identity() -> None:
    img = IMAGES["china32"]
    np.testing.assert_array_equal(make_op("Cutout", 0)(image=img)["image"], img)


@pytest.mark.parametrize("magnitude_bin", [1, 5, 9])
def test_sample_pairing_matches_pil_blend(magnitude_bin: int) -> None:
    img, partner = IMAGES["china32"], IMAGES["flower32"]
    op = make_op("SamplePairing", magnitude_bin)
    weight = 0.4 * magnitude_bin / 9
    ref = np.asarray(Image.blend(Image.fromarray(img), Image.fromarray(partner), weight))
    np.testing.assert_array_equal(op(image=img, pair_image=partner)["image"], ref)


def test_sample_pairing_pool_and_missing_partner() -> None:
    img = IMAGES["china32"]
    op = make_op("SamplePairing", 9)
    with pytest.raises(ConfigError, match="pair_image"):
        op(image=img)
    pool = [IMAGES["flower32"], IMAGES["noise32"]]
    op.set_pool(pool)
    op.set_random_seed(0)
    refs = [np.asarray(Image.blend(Image.fromarray(img), Image.fromarray(p), 0.4)) for p in pool]
    hits = [0, 0]
    for _ in range(200):
        out = op(image=img)["image"]
        matches = [k for k, r in enumerate(refs) if np.array_equal(out, r)]
        assert len(matches) == 1
        hits[matches[0]] += 1
    assert 60 < hits[0] < 140  # uniform choice: Binomial(200, 0.5), > 5 sigma margin


def test_sample_pairing_resizes_partner() -> None:
    img = IMAGES["china32"]
    out = make_op("SamplePairing", 9)(image=img, pair_image=IMAGES["china224"])["image"]
    assert out.shape == img.shape and not np.array_equal(out, img)


@pytest.mark.parametrize("name", [n for n in OP_NAMES if AUTOAUGMENT_SPACE[n].signed])
def test_signed_ops_draw_sign_with_half_probability(name: str) -> None:
    op = make_op(name, 9)
    op.set_random_seed(11)
    img = IMAGES["noise32"]
    negatives = 0
    for _ in range(1000):
        op(image=img)
        assert abs(op.params["magnitude"]) == pytest.approx(AUTOAUGMENT_SPACE[name].magnitude(9))
        negatives += op.params["magnitude"] < 0
    assert 420 < negatives < 580  # Binomial(1000, 0.5): mean 500, sd 15.8


def test_drawn_magnitude_is_uniform_over_bins() -> None:
    spec = TRIVIALAUGMENT_WIDE_SPACE["Rotate"]
    op = spec.build(spec.magnitudes(31))
    op.set_random_seed(5)
    img = IMAGES["noise32"]
    counts: dict[float, int] = {}
    for _ in range(3100):
        op(image=img)
        value = abs(op.params["magnitude"])
        counts[value] = counts.get(value, 0) + 1
    assert sorted(counts) == pytest.approx(list(np.linspace(0, 135, 31)))
    from scipy.stats import chisquare

    assert chisquare(list(counts.values())).pvalue > 1e-3


def test_grayscale_and_single_channel_images() -> None:
    gray = np.ascontiguousarray(IMAGES["china224"][..., :1])
    for name in OP_NAMES:
        if name == "SamplePairing":
            out = make_op(name, 5)(image=gray, pair_image=gray[::-1].copy())["image"]
        else:
            out = make_op(name, 5)(image=gray)["image"]
        assert out.shape == gray.shape and out.dtype == np.uint8, name
    pil = np.asarray(F.equalize(Image.fromarray(gray[..., 0])))
    np.testing.assert_array_equal(make_op("Equalize")(image=gray)["image"][..., 0], pil)


def test_invalid_arguments_name_the_field() -> None:
    with pytest.raises(ConfigError, match="op='Shear'"):
        make_op("Shear", 1)
    with pytest.raises(ConfigError, match=re.escape("ShearX.magnitude_bin=10")):
        make_op("ShearX", 10)
    with pytest.raises(ConfigError, match=re.escape("Posterize.magnitude")):
        ops.Posterize(magnitude=3.5)
    with pytest.raises(ConfigError, match=re.escape("p=1.5")):
        make_op("Invert", None, p=1.5)
    with pytest.raises(ConfigError, match="dtype"):
        make_op("Invert")(image=np.zeros((4, 4, 3), dtype=np.float32))
