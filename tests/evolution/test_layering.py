"""``optnas.evolution`` is the GA over a space scored by a predictor: nothing in it reads an Optuna study.

The study-level reuse code (``evolve``, front sweeps) lives in :mod:`optnas.studies`, the
predictor's artifact storage in :mod:`optnas.predictor` (issue 12); the old names still resolve.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import optnas
import optnas.evolution
import optnas.predictor
import optnas.studies

EVOLUTION = Path(optnas.evolution.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_evolution_module_imports_optuna_or_a_higher_layer() -> None:
    modules = sorted(EVOLUTION.glob("*.py"))
    assert {p.name for p in modules} >= {"__init__.py", "_ga.py", "_config.py", "_operators.py", "_rates.py"}
    for path in modules:
        bad = {
            m
            for m in _imports(path)
            if m.split(".")[0] == "optuna" or m.startswith(("optnas.studies", "optnas.samplers"))
        }
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_importing_evolution_loads_no_study_sampler_or_predictor_code() -> None:
    code = (
        "import json, sys, optnas.evolution\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('optnas.studies', 'optnas.samplers', "
        "'optnas.predictor', 'torch')))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(proc.stdout) == []


def test_the_study_level_names_live_in_the_study_and_predictor_layers() -> None:
    assert optnas.evolve is optnas.studies.evolve
    assert optnas.studies.load_predictor.__module__ == "optnas.studies._evolve"
    assert optnas.predictor.save_predictor.__module__ == "optnas.predictor._artifact"
    for moved in ("evolve", "load_predictor", "save_predictor", "Candidate"):
        assert not hasattr(optnas.evolution, moved), moved
    assert set(optnas.evolution.__all__) == {
        "GAConfig",
        "GAResult",
        "adaptive_ga",
        "crossover_probability",
        "mutation_probability",
    }
