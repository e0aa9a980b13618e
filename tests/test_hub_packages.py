"""Every OptunaHub package under samplers/ has the registry's layout and front matter.

Parametrized over the folders, so a new sampler package is checked automatically.
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in (ROOT / "samplers").iterdir() if p.is_dir() and p.name != "__pycache__")


def test_packages_exist_and_samplers_is_not_a_package() -> None:
    assert [p.name for p in PACKAGES] == ["jointnas_sampler", "ppo_sampler"]
    assert not (ROOT / "samplers" / "__init__.py").exists()


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_layout(package: Path) -> None:
    assert sorted(p.name for p in package.iterdir() if p.name != "__pycache__") == [
        "LICENSE",
        "README.md",
        "__init__.py",
        "example.py",
    ]
    assert (package / "LICENSE").read_text().startswith("MIT License")


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_readme_front_matter(package: Path) -> None:
    text = (package / "README.md").read_text()
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match is not None
    fields = dict(line.split(": ", 1) for line in match.group(1).splitlines())
    assert set(fields) == {"author", "title", "description", "tags", "optuna_versions", "license"}
    assert "sampler" in fields["tags"].strip("[]").split(", ")
    assert optuna.__version__ in fields["optuna_versions"]
    assert fields["license"] == "MIT License"
