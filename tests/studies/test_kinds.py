"""The registry of study kinds: each kind's study-file rules, parametrized over the registry."""

from __future__ import annotations

from typing import Any

import pytest

from optnas import ConfigError
from optnas.studies import KINDS, parse_study
from optnas.studies._kinds import REGISTRY, StudyKind, study_kind_of

ARCH = "res8 stem_k3_s1_c8_hs ir_k3_e1_c8_hs head_c32_hs"


def _minimal(kind: StudyKind, **sections: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"study": {"kind": kind.name}, "dataset": {"name": "digits"}}
    if kind.arch == "required":
        data["space"] = {"arch": ARCH}
    data.update(sections)
    return data


KIND_LIST = list(REGISTRY.values())
IDS = [k.name for k in KIND_LIST]


def test_the_schema_knows_exactly_the_registered_kinds() -> None:
    assert KINDS == tuple(REGISTRY) == ("jointnas", "autotrain", "autoaugment", "randaugment")
    with pytest.raises(ConfigError, match=r"study.kind='nas': unknown study kind"):
        study_kind_of("nas")


@pytest.mark.parametrize("kind", KIND_LIST, ids=IDS)
def test_each_kind_parses_and_follows_its_rules(kind: StudyKind) -> None:
    assert parse_study(_minimal(kind)).kind == kind.name
    constrained = _minimal(kind, constraints={"max_macs": 1e9})
    if kind.takes_constraints:
        assert parse_study(constrained).constraints
    else:
        with pytest.raises(ConfigError, match=r"^constraints\.max_macs=1000000000\.0: "):
            parse_study(constrained)
    if kind.augment_keys is None:
        with pytest.raises(ConfigError, match=rf"^augment\.prune=True: a {kind.name} study has no \[augment\] table"):
            parse_study(_minimal(kind, augment={"prune": True}))
    else:
        assert parse_study(_minimal(kind, augment={"prune": True})).augment == {"prune": True}
    if kind.arch == "searched":
        with pytest.raises(ConfigError, match=r"^space\.arch="):
            parse_study(_minimal(kind, space={"arch": ARCH}))
    elif kind.arch == "required":
        with pytest.raises(ConfigError, match=r"^space\.arch=None"):
            parse_study({"study": {"kind": kind.name}})
    else:
        assert parse_study(_minimal(kind, space={"arch": ARCH})).space.fixed_arch is not None
    assert callable(kind.export) and callable(kind.summary) and callable(kind.figures)
    assert (kind.final_augmentation is not None) == (kind.family == "augment")
