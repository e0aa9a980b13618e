"""Issue 15: the README's study-file reference matches the code, both ways.

The "Study files" section of README.md documents every key of every section in tables whose
first column is the key (a sub-table as ``[section.sub]``). These tests read those tables and
compare them with the typed sections' real fields, parametrized over the registry of study
kinds: a key the code has and the README lacks fails, and so does a documented key the code
does not know.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from optnas.constraints import METRICS
from optnas.evolution import GAConfig
from optnas.predictor import PredictorConfig
from optnas.studies._kinds import KINDS, REGISTRY, StudyKind
from optnas.studies._schema import _SECTIONS
from optnas.studies._sections import DATASETS, DatasetSection, TrainSection

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _between(text: str, start: str, stop: str) -> str:
    begin = text.index(start)
    end = text.find(stop, begin + len(start))
    return text[begin : end if end >= 0 else len(text)]


REFERENCE = _between(README, "\n## Study files\n", "\n## ")


def _subsections(text: str, level: str) -> dict[str, str]:
    """``{heading: body}`` of the headings of ``level`` (``"###"``) in ``text``."""
    parts = re.split(rf"^{level} (.+)$", text, flags=re.MULTILINE)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


SECTIONS = _subsections(REFERENCE, "###")


def _rows(body: str) -> list[list[str]]:
    """The cells of every table row of ``body`` (header and separator rows left out)."""
    rows = []
    for line in body.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if set(cells[0]) <= {"-", ":"} or cells[0] in ("key", "file"):
            continue
        rows.append(cells)
    return rows


def _key(cell: str) -> str:
    """The key a first cell documents: ``kind`` of `` `kind` ``, ``recipe`` of `` `[augment.recipe]` ``."""
    match = re.fullmatch(r"`\[?([a-z_.]+)\]?`", cell)
    assert match, f"README key cell {cell!r} is not a single backticked key"
    return match.group(1).rsplit(".", 1)[-1]


def _keys(body: str) -> list[str]:
    return [_key(row[0]) for row in _rows(body)]


def _ticked(cell: str) -> list[str]:
    return [t.strip('"') for t in re.findall(r"`([^`]+)`", cell)]


def _section(name: str) -> str:
    (heading,) = [h for h in SECTIONS if h.startswith(f"`[{name}]`")]
    return SECTIONS[heading]


def _same(documented: list[str], real: tuple[str, ...] | set[str], where: str) -> None:
    assert len(documented) == len(set(documented)), f"{where}: a key is documented twice: {documented}"
    missing, unknown = set(real) - set(documented), set(documented) - set(real)
    assert not missing and not unknown, f"{where}: undocumented {sorted(missing)}, not in the code {sorted(unknown)}"


@pytest.mark.parametrize(
    ("name", "real"),
    [
        ("study", _SECTIONS["study"]),
        ("dataset", DatasetSection._names()),
        ("space", _SECTIONS["space"]),
        ("train", TrainSection._names()),
        ("constraints", {f"max_{metric}" for metric in METRICS}),
    ],
)
def test_section_tables_list_exactly_the_sections_keys(name: str, real: tuple[str, ...] | set[str]) -> None:
    _same(_keys(_section(name)), real, f"[{name}]")


def test_the_sections_documented_are_the_schemas() -> None:
    documented = {re.match(r"`\[([a-z]+)\]`", h).group(1) for h in SECTIONS if h.startswith("`[")}  # type: ignore[union-attr]
    assert documented == set(_SECTIONS)


def test_documented_kinds_and_datasets_are_the_registered_ones() -> None:
    rows = {_key(r[0]): r for r in _rows(_section("study"))}
    assert _ticked(rows["kind"][-1]) == list(KINDS)
    rows = {_key(r[0]): r for r in _rows(_section("dataset"))}
    assert _ticked(rows["name"][-1]) == list(DATASETS)


SAMPLER = _subsections(_section("sampler"), "####")


def _sampler_docs(kind: StudyKind) -> str:
    """The ``####`` subsection of ``[sampler]`` whose heading names ``kind`` (exactly one)."""
    found = [body for heading, body in SAMPLER.items() if kind.name in _ticked(heading.split(":")[0])]
    assert len(found) == 1, f"[sampler]: {len(found)} subsections name {kind.name}"
    return found[0]


def _subtable_keys(body: str, sub: str) -> list[str]:
    (row,) = [r for r in _rows(body) if r[0] == f"`[sampler.{sub}]`"]
    return _ticked(row[-1].split("keys:", 1)[1])


@pytest.mark.parametrize("kind", list(REGISTRY.values()), ids=list(REGISTRY))
def test_sampler_tables_list_exactly_each_kinds_keys(kind: StudyKind) -> None:
    body = _sampler_docs(kind)
    _same(_keys(body), kind.sampler_section._names(), f"[sampler] of {kind.name}")
    if "predictor" in kind.sampler_section._names():
        _same(_subtable_keys(body, "predictor"), {f.name for f in dataclasses.fields(PredictorConfig)}, "predictor")
    if "ga" in kind.sampler_section._names():
        _same(_subtable_keys(body, "ga"), {f.name for f in dataclasses.fields(GAConfig)}, "[sampler.ga]")


def test_every_sampler_subsection_names_registered_kinds() -> None:
    named = [k for heading in SAMPLER for k in _ticked(heading.split(":")[0])]
    assert sorted(named) == sorted(KINDS)


@pytest.mark.parametrize("kind", list(REGISTRY.values()), ids=list(REGISTRY))
def test_augment_table_lists_exactly_each_kinds_keys(kind: StudyKind) -> None:
    (heading,) = [h for h in SECTIONS if h.startswith("`[augment]`")]
    kinds_with_table = [k for k in KINDS if k in heading]
    assert kinds_with_table == [k.name for k in REGISTRY.values() if k.augment_section is not None]
    documented = []
    for row in _rows(SECTIONS[heading]):
        which = kinds_with_table if row[1] == "both" else [k.strip() for k in row[1].split(",")]
        assert set(which) <= set(kinds_with_table), row
        if kind.name in which:
            documented.append(_key(row[0]))
    if kind.augment_section is None:
        assert not documented
    else:
        _same(documented, kind.augment_section._names(), f"[augment] of {kind.name}")


def test_the_ready_made_files_table_lists_every_shipped_study_file_with_its_kind() -> None:
    body = _between(REFERENCE, "Ready-made files", "\n### ")
    listed: dict[str, set[str]] = {}
    for row in _rows(body):
        files = _ticked(row[0])
        kinds = [k.strip() for k in row[1].split("/")]
        for path in files:
            listed[path] = set(kinds)
    shipped = {f"studies/{p.name}": p for p in (ROOT / "studies").glob("*.toml")}
    assert set(listed) == set(shipped)
    for path, kinds in listed.items():
        kind = tomllib.loads(shipped[path].read_text(encoding="utf-8"))["study"]["kind"]
        assert kind in kinds, f"{path} is a {kind} study, README says {sorted(kinds)}"


def _quoted_errors() -> list[str]:
    """Every error the reference quotes (`` `field=value: reason` ``), whitespace normalized."""
    quoted = re.findall(r"`([a-z_.]+=[^`]*?: [^`]*)`", REFERENCE)
    return [" ".join(q.split()) for q in quoted]


def _file_with(error: str) -> dict[str, Any]:
    """The study file an error quotes: its key set to its value, in a study of the kind it names."""
    path, _, rest = error.partition("=")
    value_text = rest.split(": ", 1)[0]
    named = re.search(r"\ban? (\w+) study\b", error)
    if named and named.group(1) in KINDS:
        kind = named.group(1)
    else:  # the first kind that has the section
        kind = next(k.name for k in REGISTRY.values() if not path.startswith("augment.") or k.augment_section)
    data: dict[str, Any] = {"study": {"kind": kind}, "dataset": {"name": "digits"}}
    *tables, key = path.split(".")
    table = data
    for name in tables:
        table = table.setdefault(name, {})
    table[key] = ast.literal_eval(value_text)
    return data


@pytest.mark.parametrize("error", _quoted_errors())
def test_every_error_the_reference_quotes_is_the_real_one(error: str) -> None:
    from optnas import ConfigError
    from optnas.studies import make_sampler, parse_study

    with pytest.raises(ConfigError) as info:
        make_sampler(parse_study(_file_with(error)), 10)  # the sampler's own checks come last
    expected = error.split("...")[0].rstrip(" ,")
    assert str(info.value).startswith(expected), f"README quotes {error!r}; the code says {str(info.value)!r}"


def test_the_documented_parameter_names_are_the_digits_presets() -> None:
    from optnas.space import preset

    space = preset("digits")
    text = _between(_section("space"), "Parameter names (digits preset):", "\n\n")
    names, _, fixed_text = text.partition("Single-valued in the preset")

    def expand(part: str) -> set[str]:
        found = set()
        for name in _ticked(part):
            if "<i>" in name:
                found |= {name.replace("<i>", str(i)) for i in range(len(space.groups))}
            elif re.fullmatch(r"[a-z0-9_]+", name):
                found.add(name)
        return found

    assert expand(names) == {d.name for d in space.all_dims}
    assert expand(fixed_text) == {d.name for d in space.all_dims if d.fixed}
