"""The one harness every benchmark writes its results through.

Every report is a pair ``benchmarks/results/<name>.json`` + ``<name>.md``:

- the JSON is ``{"schema": SCHEMA_VERSION, "meta": {...}, "result": ...}``, where ``meta`` always
  holds the keys of :data:`META_KEYS` (command, date, cores, python/optuna/torch/numpy versions,
  machine, load average, status, headline) plus whatever the benchmark adds;
- the Markdown starts with the same header (title, command, date, machine, versions) written by
  :func:`header`, followed by the benchmark's own body.

``benchmarks/make_results.py`` assembles ``benchmarks/RESULTS.md`` from the JSON ``meta`` of each
report (never by parsing the Markdown) and inlines the Markdown bodies.

Benchmarks are run as modules from the repository root: ``python -m benchmarks.<name>``.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SCHEMA_VERSION = 1
#: Keys every report's ``meta`` holds.
META_KEYS = (
    "command",
    "date",
    "cores",
    "machine",
    "python",
    "optuna",
    "torch",
    "numpy",
    "load_average",
    "git_commit",
    "git_dirty",
    "status",
    "headline",
)
STATUSES = ("complete", "partial", "failed")


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def command_line(module: str, argv: Sequence[str] | None = None) -> str:
    """The command that reproduces a run: ``python -m <module> <args>``."""
    import shlex

    args = list(sys.argv[1:] if argv is None else argv)
    return " ".join(["python -m", module, shlex.join(args)]).strip()


def git_state(paths: Sequence[str] = ("optnas",)) -> tuple[str | None, list[str]]:
    """``HEAD``'s commit and the uncommitted files under ``paths`` (the code a result measured).

    In a clean export of one commit (``git archive``: no ``.git``), ``OPTNAS_BENCH_COMMIT`` names it.
    """
    import subprocess

    if os.environ.get("OPTNAS_BENCH_COMMIT") and not (REPO / ".git").exists():
        return os.environ["OPTNAS_BENCH_COMMIT"], []
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
        st = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths], cwd=REPO, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None, []
    return head.stdout.strip(), sorted(line[3:] for line in st.stdout.splitlines() if line.strip())


def metadata(command: str, **extra: Any) -> dict[str, Any]:
    """The shared metadata of one run (``status``/``headline`` are filled in by :func:`write_report`)."""
    try:
        cores: int | None = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count()
    meta: dict[str, Any] = {
        "command": command,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": cores,
        "machine": f"{platform.system()} {platform.machine()} ({platform.processor() or 'unknown cpu'})",
        "python": platform.python_version(),
        "optuna": _version("optuna"),
        "torch": _version("torch"),  # from the installed metadata: does not import torch
        "numpy": np.__version__,
        "load_average": None,
        "git_commit": None,
        "git_dirty": [],
        "status": "complete",
        "headline": "",
    }
    meta["git_commit"], meta["git_dirty"] = git_state()
    if meta["git_dirty"]:  # which uncommitted version was measured
        import hashlib

        h = hashlib.sha256()
        for rel in meta["git_dirty"]:
            f = REPO / rel
            h.update(rel.encode() + (f.read_bytes() if f.is_file() else b""))
        meta["git_dirty_sha256"] = h.hexdigest()
    meta.update(extra)
    return meta


def _load_average() -> float | None:
    try:
        return float(os.getloadavg()[0])
    except OSError:
        return None


def header(title: str, meta: Mapping[str, Any]) -> list[str]:
    """The report's first Markdown lines: title, command, date, machine and versions."""
    load = meta.get("load_average")
    return [
        f"# {title}",
        "",
        f"Command: `{meta['command']}`  ",
        f"Date (UTC): {meta['date']}  ",
        f"Machine: {meta['machine']}, {meta['cores']} usable cores"
        + (f" (load average {load:.1f} at the end)" if isinstance(load, float) else "")
        + "  ",
        f"Versions: Python {meta['python']}, Optuna {meta['optuna']}, torch {meta['torch']}, numpy {meta['numpy']}"
        + (f"; optnas at {str(meta['git_commit'])[:10]}" if meta.get("git_commit") else "")
        + (f" with uncommitted changes in {', '.join(meta['git_dirty'])}" if meta.get("git_dirty") else ""),
        "",
    ]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return obj.as_posix()
    return obj


def write_report(
    name: str,
    *,
    meta: Mapping[str, Any],
    result: Any,
    body: Sequence[str] | str,
    title: str,
    headline: str,
    status: str = "complete",
    results_dir: Path | str = RESULTS,
) -> tuple[Path, Path]:
    """Write ``<name>.json`` and ``<name>.md`` into ``results_dir``; return both paths.

    ``headline`` is the one-line summary shown on the results page (also printed in bold under
    the header); ``status`` is one of :data:`STATUSES`.
    """
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
    missing = [k for k in ("command", "date", "cores") if k not in meta]
    if missing:
        raise ValueError(f"meta lacks {missing}; build it with benchmarks._harness.metadata()")
    # a report rewritten from saved runs keeps the load measured when the runs ended
    rewritten = meta.get("report_rewritten") is not None and meta.get("load_average") is not None
    full = {**meta, "status": status, "headline": headline}
    full["load_average"] = meta["load_average"] if rewritten else _load_average()
    out = Path(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    js, md = out / f"{name}.json", out / f"{name}.md"
    tmp = js.with_suffix(f".json.tmp{os.getpid()}")
    tmp.write_text(json.dumps(_jsonable({"schema": SCHEMA_VERSION, "meta": full, "result": result}), indent=1) + "\n")
    tmp.replace(js)
    text = body if isinstance(body, str) else "\n".join(body)
    lines = header(title, full)
    if status != "complete":
        lines += [f"Status: {status}.", ""]
    lines += [f"**{headline}**", "", text.strip(), ""]
    md.write_text("\n".join(lines))
    return js, md


def write_partial(path: Path, *, meta: Mapping[str, Any], result: Any) -> None:
    """Save a resumable benchmark's progress to ``path`` (its JSON, status ``partial``), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".json.tmp{os.getpid()}")
    data = {"schema": SCHEMA_VERSION, "meta": {**meta, "status": "partial"}, "result": result}
    tmp.write_text(json.dumps(_jsonable(data), indent=1) + "\n")
    tmp.replace(path)


def read_meta(data: Mapping[str, Any]) -> dict[str, Any]:
    """The :data:`META_KEYS` of a report's JSON (``None`` where a field is absent)."""
    meta = data.get("meta") if isinstance(data.get("meta"), Mapping) else {}
    return {k: meta.get(k) for k in META_KEYS}


def md_table(head: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> list[str]:
    """A Markdown table; ``align`` is one character per column (``l`` or ``r``; default: first left)."""
    align = align or "l" + "r" * (len(head) - 1)
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out
