"""A real JointNAS digits study seen through optuna-dashboard 0.21's own HTTP API.

The study is run with ``run_study`` (two stage-1 batches of 3 trained candidates: the
space-filling batch, then a predictor-chosen one), ``optnas report`` attaches its note, and the
dashboard's WSGI app, served on a loopback port, must show the parameters, values, per-epoch
intermediate values, the optnas user attributes and the note.
"""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import optuna
import pytest

from optnas.cli import main
from optnas.studies import parse_study, run_study

pytestmark = pytest.mark.slow

MAX_MACS = 1.0e6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def digits_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, optuna.Study]:
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'digits.db'}"
    config = parse_study(
        {
            "study": {"kind": "jointnas", "name": "digits-dash", "seed": 0, "artifacts": str(tmp / "artifacts")},
            "dataset": {"name": "digits", "subset": 200},
            "space": {"preset": "digits"},
            "constraints": {"max_macs": MAX_MACS},
            "sampler": {"batch_size": 3, "n_batches": 2, "final_batch_size": 0, "pool_size": 64},
            "train": {"epochs": 1, "num_threads": 1},
        }
    )
    study = run_study(config, storage_url=url, stream=io.StringIO())
    return url, study


@pytest.fixture(scope="module")
def dashboard(digits_study: tuple[str, optuna.Study]) -> Iterator[str]:
    from optuna_dashboard import wsgi

    url, _ = digits_study
    server = make_server("127.0.0.1", 0, wsgi(url), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=60) as response:
        assert response.status == 200
        return json.loads(response.read().decode("utf-8"))


def test_dashboard_api_shows_study_trials_attrs_and_note(
    digits_study: tuple[str, optuna.Study], dashboard: str, tmp_path: Path
) -> None:
    url, study = digits_study
    out = tmp_path / "report"
    assert main(["report", "--storage", url, "--study-name", "digits-dash", "--out", str(out), "--no-png"]) == 0
    note = (out / "SUMMARY.md").read_text()

    summaries = _get(dashboard, "/api/studies")["study_summaries"]
    (entry,) = [s for s in summaries if s["study_name"] == "digits-dash"]
    assert entry["directions"] == ["maximize"]
    study_attrs = {a["key"]: a["value"] for a in entry["user_attrs"]}
    assert study_attrs["optnas:kind"] == "jointnas"

    detail = _get(dashboard, f"/api/studies/{entry['study_id']}")
    assert detail["note"]["body"] == note and "# optnas study `digits-dash`" in note
    assert {g["id"] for g in detail["plotly_graph_objects"]} == {
        "optnas-best_so_far",
        "optnas-accuracy_vs_macs",
        "optnas-predictor_calibration",
    }
    assert detail["has_intermediate_values"] is True
    trials = {t["number"]: t for t in detail["trials"]}
    stored = {t.number: t for t in study.get_trials()}
    assert sorted(trials) == sorted(stored) == list(range(6))
    space_params = set(study.trials[0].params)
    for number, frozen in stored.items():
        shown = trials[number]
        assert shown["state"] == "Complete"
        assert shown["values"] == [pytest.approx(frozen.value)]
        assert {p["name"]: p["param_external_value"] for p in shown["params"]} == {
            k: str(v) for k, v in frozen.params.items()
        }
        assert {p["name"] for p in shown["params"]} == space_params
        assert [(iv["step"], iv["value"]) for iv in shown["intermediate_values"]] == [
            (step, pytest.approx(v)) for step, v in sorted(frozen.intermediate_values.items())
        ]
        assert len(shown["intermediate_values"]) == 1  # train.epochs = 1: one report per epoch
        attrs = {a["key"]: a["value"] for a in shown["user_attrs"]}
        assert attrs["stage"] == "stage1" and attrs["batch"] == str(number // 3)
        assert attrs["macs"] == str(frozen.user_attrs["macs"]) and int(attrs["macs"]) <= MAX_MACS
        assert attrs["params"] == str(frozen.user_attrs["params"])
        assert attrs["feasible"] == "True"
        assert float(attrs["constraint:max_macs"]) == pytest.approx(frozen.user_attrs["macs"] / MAX_MACS - 1)
        assert attrs["arch"] == frozen.user_attrs["arch"]
        if number < 3:  # the space-filling batch is chosen before any predictor exists
            assert attrs["predicted_accuracy"] == "null"
        else:
            assert 0.0 <= float(attrs["predicted_accuracy"]) <= 1.0
    columns = {a["key"] for a in detail["union_user_attrs"]}
    assert {"predicted_accuracy", "macs", "params", "feasible", "batch", "stage"} <= columns
