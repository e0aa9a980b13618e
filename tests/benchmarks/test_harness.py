"""The shared benchmark harness: one metadata schema, one JSON + Markdown writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import _harness


def test_metadata_schema_and_writer(tmp_path: Path) -> None:
    meta = _harness.metadata(_harness.command_line("benchmarks.x", ["--seeds", "3"]), seeds=3)
    assert meta["command"] == "python -m benchmarks.x --seeds 3"
    assert set(_harness.META_KEYS) <= set(meta)
    assert meta["cores"] >= 1 and meta["optuna"] and meta["python"] and meta["numpy"]
    js, md = _harness.write_report(
        "x",
        meta=meta,
        result={"value": 0.5, "nan": float("nan"), "arr": __import__("numpy").arange(3)},
        body=["| a |", "|---|", "| 1 |"],
        title="X benchmark",
        headline="X is 0.5",
        status="partial",
        results_dir=tmp_path,
    )
    data = json.loads(js.read_text())
    assert data["schema"] == _harness.SCHEMA_VERSION
    assert set(_harness.META_KEYS) <= set(data["meta"])
    assert data["meta"]["status"] == "partial" and data["meta"]["headline"] == "X is 0.5"
    assert data["meta"]["seeds"] == 3
    assert data["result"] == {"value": 0.5, "nan": None, "arr": [0, 1, 2]}  # strict JSON: NaN -> null
    assert _harness.read_meta(data)["command"] == meta["command"]
    text = md.read_text()
    assert text.startswith("# X benchmark\n")
    assert "Command: `python -m benchmarks.x --seeds 3`" in text and "Status: partial." in text
    assert "**X is 0.5**" in text and "| 1 |" in text
    assert not list(tmp_path.glob("*.tmp*"))


def test_writer_validates(tmp_path: Path) -> None:
    meta = _harness.metadata("c")
    with pytest.raises(ValueError, match="status"):
        _harness.write_report(
            "x", meta=meta, result={}, body="", title="t", headline="h", status="done", results_dir=tmp_path
        )
    with pytest.raises(ValueError, match="meta lacks"):
        _harness.write_report(
            "x", meta={"command": "c"}, result={}, body="", title="t", headline="h", results_dir=tmp_path
        )


def test_command_line_quotes_arguments_so_it_reruns() -> None:
    import shlex

    argv = ["--child", "res32 stem_k3_s1_c8_hs head_c256_hs", "--seeds", "0", "1"]
    cmd = _harness.command_line("benchmarks.augment_final", argv)
    assert cmd == "python -m benchmarks.augment_final --child 'res32 stem_k3_s1_c8_hs head_c256_hs' --seeds 0 1"
    assert shlex.split(cmd)[3:] == argv


def test_rewritten_report_keeps_the_runs_load_average(tmp_path: Path) -> None:
    meta = {**_harness.metadata("python -m benchmarks.x"), "load_average": 123.0}
    kw = {"result": {}, "body": [], "title": "X", "headline": "h", "status": "complete", "results_dir": tmp_path}
    js, _ = _harness.write_report("x", meta={**meta, "report_rewritten": "2026-12-04"}, **kw)  # type: ignore[arg-type]
    assert json.loads(js.read_text())["meta"]["load_average"] == 123.0
    js, _ = _harness.write_report("x", meta=meta, **kw)  # type: ignore[arg-type]
    assert json.loads(js.read_text())["meta"]["load_average"] != 123.0  # a fresh run measures it
