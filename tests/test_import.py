"""Importing optnas (and its torch-free subpackages) must not import torch & co."""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("torch", "torchvision", "albumentations")


def _loaded_after(statement: str, watch: tuple[str, ...] = HEAVY) -> dict[str, object]:
    """Run ``statement`` in a fresh interpreter; which of ``watch`` are in ``sys.modules``."""
    code = (
        "import json, os, sys\n"
        f"{statement}\n"
        f"print(json.dumps({{'loaded': sorted(m for m in {watch!r} if m in sys.modules),"
        " 'env': os.environ.get('NO_ALBUMENTATIONS_UPDATE')}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_ALBUMENTATIONS_UPDATE"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_import_optnas_is_cheap() -> None:
    result = _loaded_after("import optnas")
    assert result["loaded"] == []
    assert result["env"] == "1"  # albumentations' update check is opted out of


def test_import_optnas_space_is_cheap() -> None:
    # "optuna" is watched too, as a control that the check sees imported modules at all.
    result = _loaded_after("import optnas.space", (*HEAVY, "optuna"))
    assert result["loaded"] == ["optuna"]


def test_using_space_and_cost_is_cheap() -> None:
    statement = (
        "import optnas\n"
        "space = optnas.space.preset('fbnetv3')\n"
        "optnas.cost.count_columns(space, space.sample(8, 0))\n"
        "optnas.cost.count(optnas.space.reference('efficientnet_b0'))"
    )
    assert _loaded_after(statement)["loaded"] == []


def test_cost_command_is_cheap() -> None:
    statement = (
        "import contextlib, io\n"
        "from optnas.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['cost', 'mobilenet_v2', '--json'])"
    )
    assert _loaded_after(statement)["loaded"] == []
