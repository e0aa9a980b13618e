"""``optnas augment show``: grids for every kind of POLICY, one-line errors."""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from optnas.augment import Policy, SubPolicy
from optnas.cli import main


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    from sklearn.datasets import load_sample_images

    path = tmp_path / "china.jpg"
    Image.fromarray(load_sample_images().images[0][::8, ::8]).save(path)
    return path


def _grid(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im)


@pytest.mark.parametrize(
    "policy", ["imagenet", "cifar10", "svhn", "randaugment:2,9", "trivialaugment"]
)
def test_show_renders_grid(policy: str, photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    assert (
        main(
            [
                "augment",
                "show",
                policy,
                "--image",
                str(photo),
                "--out",
                str(out),
                "--rows",
                "2",
                "--cols",
                "3",
            ]
        )
        == 0
    )
    grid = _grid(out)
    h, w = 54, 80  # 427x640 photo at stride 8
    assert grid.shape == (2 * (h + 2), 3 * (w + 2), 3)
    cells = [
        grid[r * (h + 2) + 1 : r * (h + 2) + 1 + h, c * (w + 2) + 1 : c * (w + 2) + 1 + w]
        for r in range(2)
        for c in range(3)
    ]
    with Image.open(photo) as im:
        np.testing.assert_array_equal(cells[0], np.asarray(im.convert("RGB")))
    assert any(not np.array_equal(cell, cells[0]) for cell in cells[1:])


def test_show_policy_json_and_same_seed(photo: Path, tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(
        Policy((SubPolicy.of(("SamplePairing", 1.0, 9), ("Rotate", 0.5, 9)),)).to_json()
    )
    outs = []
    for k in range(2):
        out = tmp_path / f"g{k}.png"
        assert (
            main(
                [
                    "augment",
                    "show",
                    str(policy),
                    "--image",
                    str(photo),
                    "--out",
                    str(out),
                    "--seed",
                    "3",
                ]
            )
            == 0
        )
        outs.append(_grid(out))
    np.testing.assert_array_equal(outs[0], outs[1])


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"subpolicies": [[{"op": "Rotate", "prob": 1.0, "magnitude": 9},', "invalid JSON"),
        (
            '{"subpolicies": [[{"op": "Rotat", "prob": 1.0, "magnitude": 9}]]}',
            "subpolicies[0][0].op='Rotat'",
        ),
    ],
)
def test_corrupted_policy_json_is_one_line_error(
    content: str, expected: str, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    code = main(
        ["augment", "show", str(bad), "--image", str(photo), "--out", str(tmp_path / "g.png")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("optnas: error: ")
    assert str(bad) in err and expected in err
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("randaugment:2", "randaugment:N,M"),
        ("nonsense", "POLICY='nonsense'"),
        ("randaugment:2,31", "m=31"),
    ],
)
def test_bad_policy_argument(
    policy: str, expected: str, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["augment", "show", policy, "--image", str(photo), "--out", str(tmp_path / "g.png")])
        == 2
    )
    assert expected in capsys.readouterr().err


def test_unreadable_image(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    assert (
        main(["augment", "show", "imagenet", "--image", str(bad), "--out", str(tmp_path / "g.png")])
        == 2
    )
    assert "--image=" in capsys.readouterr().err
