"""The README's Python quickstart runs as written (issue 15), on a smaller budget.

Only the budget is shrunk (the substitutions must match, so a README edit that moves them fails
here loudly): the same calls store the stage-2 predictor as an artifact and ``optnas.evolve``
reuses it without training or refitting.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
from optuna.trial import TrialState

ROOT = Path(__file__).resolve().parents[2]
SMALLER = {
    'load("digits")': 'load("digits", subset=150)',
    "batch_size=6, n_batches=3": "batch_size=2, n_batches=2",
}


def quickstart() -> str:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    code = next(b for b in blocks if "JointNASObjective" in b and "optnas.evolve" in b)
    for old, new in SMALLER.items():
        assert code.count(old) == 1, f"the README quickstart no longer contains {old!r}"
        code = code.replace(old, new)
    return code


def test_the_readme_quickstart_runs_and_evolve_reuses_the_stored_predictor(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_ALBUMENTATIONS_UPDATE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", "import torch; torch.set_num_threads(1)\n" + quickstart()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.strip()]
    assert len(lines) == 3  # top_k=3 candidates: predicted accuracy, MACs, arch
    for ln in lines:
        predicted, macs = ln.split()[:2]
        assert 0.0 <= float(predicted) <= 1.0 and int(macs) <= 0.3e6
    assert "refit" not in out.stderr  # the stored predictor was reused, not refitted
    study = optuna.load_study(study_name="digits", storage=f"sqlite:///{tmp_path / 'nas.db'}")
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6  # nothing pruned, nothing failed
    assert study.metric_names == ["val_accuracy"]
    assert "optnas:predictor" in study.user_attrs and any((tmp_path / "nas_artifacts").iterdir())
