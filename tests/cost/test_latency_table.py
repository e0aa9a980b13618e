"""Latency lookup table: structure, caching, user tables, vectorized prediction, constraints.

No test depends on timings: measured tables are built with one warm-up and one repeat only to
check their structure, and every numeric check uses a synthetic table whose entries are
known functions of the key.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from optnas._errors import ConfigError
from optnas.constraints import check_satisfiable, feasible_mask, max_latency_ms, minimum_cost
from optnas.cost import (
    BlockKey,
    LatencyTable,
    LatencyTarget,
    arch_keys,
    count,
    count_columns,
    device_fingerprint,
    device_table,
    measure_latency,
    use_latency_table,
)
from optnas.space import preset, reference

FAST = LatencyTarget(warmup=0, repeats=1, calibration=2)


def synthetic(space_name: str, n: int = 256, classes: int = 10) -> tuple[LatencyTable, np.ndarray]:
    """A user table covering a pool: each entry's ms is a fixed function of its key."""
    space = preset(space_name)
    cols = space.sample(n, 3)
    keys = LatencyTable().pool_keys(space, cols, classes)
    entries = {k: 1e-3 * (k.h * k.cin + 3 * k.cout + k.exp * k.k + 7 * k.stride + len(k.se)) for k in keys}
    return LatencyTable(
        entries, overhead_ms=0.05, entry_overhead_ms=0.002, scale=1.3, device={"name": "synthetic"}
    ), cols


@pytest.mark.parametrize("name", ["digits", "cifar", "fbnetv3"])
def test_vectorized_prediction_equals_the_per_candidate_sum(name: str) -> None:
    table, cols = synthetic(name, 128)
    space = preset(name)
    pooled = table.predict_columns(space, cols, 10)
    for i, (arch, _) in enumerate(space.iter_candidates(cols)):
        keys = arch_keys(arch, 10)  # type: ignore[arg-type]
        expected = 1.3 * sum(table.entries[k] for k in keys) + 0.05 + 0.002 * len(keys)
        assert pooled[i] == pytest.approx(expected, rel=1e-12)
        assert table.predict(arch, 10) == pytest.approx(expected, rel=1e-12)


def test_arch_keys_follow_the_network() -> None:
    arch = reference("mobilenet_v2")
    keys = arch_keys(arch, 1000)
    assert [k.op for k in keys] == ["stem"] + ["ir"] * len(arch.blocks) + ["head"]
    assert keys[0] == BlockKey("stem", 224, 3, 32, 3, 2, act="r6")
    assert keys[1] == BlockKey("ir", 112, 32, 16, 3, 1, 32, "", "r6")
    assert keys[-1] == BlockKey("head", 7, 320, 1280, act="r6", classes=1000)
    # Every block's input size is the previous block's output size.
    assert [k.h for k in keys[1:]] == [112, 112, 56, 56, 28, 28, 28, 14, 14, 14, 14, 14, 14, 14, 7, 7, 7, 7]


def test_pool_keys_are_distinct_and_cover_every_candidate() -> None:
    space = preset("cifar")
    cols = space.sample(64, 0)
    keys = LatencyTable().pool_keys(space, cols, 10)
    assert keys == sorted(set(keys))
    needed = {k for arch, _ in space.iter_candidates(cols) for k in arch_keys(arch, 10)}  # type: ignore[arg-type]
    assert set(keys) == needed


def test_measured_table_structure_and_disk_cache(tmp_path: Path) -> None:
    space = preset("digits")
    cols = space.sample(4, 0)
    table = device_table(FAST, cache_dir=tmp_path)
    assert table.device == device_fingerprint(FAST) and len(table) == 0
    pred = table.predict_columns(space, cols, 10)
    keys = table.pool_keys(space, cols, 10)
    assert set(keys) <= set(table.entries) and all(v >= 0 for v in table.entries.values())
    assert pred.shape == (4,) and np.all(np.isfinite(pred))
    assert len(table.calibration) == FAST.calibration and table.scale > 0
    assert table.scale == pytest.approx(float(np.median([c[3] / c[2] for c in table.calibration])))
    # Cached per device fingerprint: a fresh table for the same target measures nothing new.
    files = list(tmp_path.glob("*.json"))
    assert [f.stem for f in files] == [table.fingerprint]
    again = device_table(FAST, cache_dir=tmp_path)
    assert again.entries == table.entries and again.scale == table.scale and again.calibration == table.calibration
    assert again.ensure(keys) == 0
    np.testing.assert_allclose(again.predict_columns(space, cols, 10), pred)
    # Another thread count is another device fingerprint, hence another file.
    other = device_table(LatencyTarget(warmup=0, repeats=1, threads=2), cache_dir=tmp_path)
    assert other.fingerprint != table.fingerprint and len(other) == 0


def test_measure_latency_is_positive_for_archs_and_modules() -> None:
    arch = preset("digits").decode_params(preset("digits").to_params(preset("digits").sample(1, 0)[0]))[0]
    assert measure_latency(arch, num_classes=10, target=FAST) > 0
    from optnas.models import build

    assert measure_latency(build(arch, None, 10), resolution=arch.resolution, target=FAST) > 0
    with pytest.raises(ConfigError, match="resolution"):
        measure_latency(build(arch, None, 10))


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_user_table_round_trips_in_both_formats(tmp_path: Path, suffix: str) -> None:
    table, cols = synthetic("digits", 64)
    path = table.save(tmp_path / f"table{suffix}")
    back = LatencyTable.load(path)
    assert back.entries == table.entries
    assert back.overhead_ms == table.overhead_ms and back.entry_overhead_ms == table.entry_overhead_ms
    assert back.scale == table.scale
    assert back.target is None  # a user table never measures
    np.testing.assert_allclose(
        back.predict_columns(preset("digits"), cols, 10), table.predict_columns(preset("digits"), cols, 10)
    )


def test_documented_csv_format(tmp_path: Path) -> None:
    text = (
        "op,h,cin,cout,k,stride,exp,se,act,fc,classes,ms\n"
        "overhead,,,,,,,,,,,0.5\n"
        "scale,,,,,,,,,,,2\n"
        "stem,16,3,8,3,1,0,,hs,0,0,0.1\n"
        "ir,16,8,8,3,1,8,,hs,0,0,0.2\n"
        "head,16,8,64,1,1,0,,hs,0,10,0.3\n"
    )
    (tmp_path / "t.csv").write_text(text)
    table = LatencyTable.load(tmp_path / "t.csv")
    from optnas.space import Arch

    arch = Arch.parse("res16 stem_k3_s1_c8_hs ir_k3_e1_c8_hs head_c64_hs")
    assert table.predict(arch, 10) == pytest.approx(2 * (0.1 + 0.2 + 0.3) + 0.5)


def test_documented_json_format_and_errors(tmp_path: Path) -> None:
    doc: dict[str, object] = {
        "format": "optnas-latency-table",
        "version": 1,
        "device": {"name": "a phone"},
        "overhead_ms": 0.0,
        "entries": [{"op": "stem", "h": 16, "cin": 3, "cout": 8, "k": 3, "stride": 1, "act": "hs", "ms": 0.1}],
    }
    (tmp_path / "t.json").write_text(json.dumps(doc))
    table = LatencyTable.load(tmp_path / "t.json")
    assert table.device == {"name": "a phone"} and len(table) == 1
    from optnas.space import Arch

    arch = Arch.parse("res16 stem_k3_s1_c8_hs ir_k3_e1_c8_hs head_c64_hs")
    with pytest.raises(ConfigError, match=r"has no entry for 2 operator\(s\)"):
        table.predict(arch, 10)
    bad = dict(doc, entries=[{"op": "conv", "h": 1, "cin": 1, "cout": 1, "ms": 1.0}])
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match="op"):
        LatencyTable.load(tmp_path / "bad.json")
    stem = {"op": "stem", "h": 16, "cin": 3, "cout": 8, "k": 3, "stride": 1, "act": "hs", "ms": -1}
    neg = dict(doc, entries=[stem])
    (tmp_path / "neg.json").write_text(json.dumps(neg))
    with pytest.raises(ConfigError, match="ms must be"):
        LatencyTable.load(tmp_path / "neg.json")
    with pytest.raises(ConfigError, match="does not exist"):
        LatencyTable.load(tmp_path / "missing.json")
    (tmp_path / "wrong.json").write_text("{}")
    with pytest.raises(ConfigError, match="format"):
        LatencyTable.load(tmp_path / "wrong.json")


def test_cost_objects_carry_latency() -> None:
    table, cols = synthetic("digits", 32)
    space = preset("digits")
    pool = count_columns(space, cols, 10, latency=table)
    np.testing.assert_allclose(pool.latency_ms, table.predict_columns(space, cols, 10))
    assert set(pool.metrics()) == {"macs", "params", "latency_ms"}
    arch = next(space.iter_candidates(cols[:1]))[0]
    c = count(arch, 10, latency=table)
    assert c.latency_ms == pytest.approx(pool.latency_ms[0]) and c.to_dict()["latency_ms"] == c.latency_ms
    # Without a table, the default one (here: the user table in use) is read lazily.
    with use_latency_table(table):
        assert count(arch, 10).latency_ms == pytest.approx(c.latency_ms)
        np.testing.assert_allclose(count_columns(space, cols, 10).latency_ms, pool.latency_ms)


def test_constraint_filters_pools_with_the_table() -> None:
    table, cols = synthetic("cifar", 256)
    space = preset("cifar")
    lat = table.predict_columns(space, cols, 10)
    limit = float(np.median(lat))
    mask = feasible_mask([max_latency_ms(limit)], count_columns(space, cols, 10, latency=table))
    np.testing.assert_array_equal(mask, lat <= limit)
    with use_latency_table(table):
        np.testing.assert_array_equal(feasible_mask([max_latency_ms(limit)], count_columns(space, cols, 10)), mask)


def test_unsatisfiable_latency_names_the_smallest_achievable() -> None:
    space = preset("digits")
    table, _ = synthetic("digits", 64)
    cheapest = minimum_cost(space, 10)
    table.entries.update({k: 0.001 for k in arch_keys(cheapest.arch, 10)})  # type: ignore[arg-type]
    with use_latency_table(table):
        low = table.predict(cheapest.arch, 10)  # type: ignore[arg-type]
        with pytest.raises(ConfigError) as info:
            check_satisfiable(space, [max_latency_ms(low / 2)], 10)
        assert "max_latency_ms" in str(info.value)
        assert f"the smallest achievable latency_ms is {low:.4g} ms" in str(info.value)
        check_satisfiable(space, [max_latency_ms(low * 1.01)], 10)


def test_target_validation() -> None:
    with pytest.raises(ConfigError, match="batch_size"):
        LatencyTarget(batch_size=0)
    with pytest.raises(ConfigError, match="threads"):
        LatencyTarget(threads=0)
    with pytest.raises(ConfigError, match="act"):
        BlockKey("ir", 8, 8, 8, 3, 1, 8, "", "gelu")
    with pytest.raises(ConfigError, match="exp"):
        BlockKey("ir", 8, 8, 8, 3, 1, 0)


def test_study_files_accept_max_latency_ms() -> None:
    from optnas.studies._schema import parse_study

    config = parse_study(
        {
            "study": {"kind": "jointnas", "name": "lat"},
            "dataset": {"name": "digits"},
            "space": {"preset": "digits"},
            "constraints": {"max_latency_ms": 1.5, "max_macs": 2e6},
        }
    )
    assert max_latency_ms(1.5) in config.constraints
    with pytest.raises(ConfigError, match="max_latency_ms"):
        parse_study(
            {
                "study": {"kind": "jointnas", "name": "lat"},
                "dataset": {"name": "digits"},
                "space": {"preset": "digits"},
                "constraints": {"max_latency_ms": -1},
            }
        )
