"""The registry of study kinds: each kind's study-file rules, parametrized over the registry."""

from __future__ import annotations

import ast
import dataclasses
import io
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.artifacts import FileSystemArtifactStore

from optnas import ConfigError
from optnas.evolution import GAConfig
from optnas.predictor import PredictorConfig
from optnas.studies import (
    KINDS,
    _runner,
    load_data,
    load_study_file,
    make_objective,
    make_sampler,
    parse_study,
    run_study,
)
from optnas.studies._augment_settings import BASELINES, AutoAugmentSection, RandAugmentSection
from optnas.studies._kinds import REGISTRY, StudyKind, study_kind_of
from optnas.studies._runner import target_trials
from optnas.studies._sampler_sections import JointNASSamplerSection, PPOSamplerSection

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


# --- every kind-specific decision goes through the registry (issue 15) ----------------------------------------------

#: A representative, non-default [sampler] / [augment] table of each kind (every key its section has, where cheap).
FULL_SECTIONS: dict[str, dict[str, Any]] = {
    "jointnas": {
        "sampler": {
            "batch_size": 3,
            "n_batches": 2,
            "pool_size": 64,
            "final_batch_size": 0,
            "n_startup_trials": 4,
            "acquisition": "paper",
            "cost_filter": "exact",
            "trust_region": 1.5,
            "early_stopping_tau": 0.5,
            "diversity": 0.25,
            "wait_timeout": 3.0,
            "poll_interval": 0.25,
            "predictor": {"hidden": 16, "pretrain": False},
            "ga": {"population": 8, "n_best": 4, "n_random": 4},
        }
    },
    "autotrain": {"sampler": {"batch_size": 2, "n_batches": 1, "pool_size": 32, "final_batch_size": 1}},
    "autoaugment": {
        "sampler": {"batch_size": 4, "learning_rate": 0.01, "entropy_weight": 0.0, "baseline_decay": 0.5},
        "augment": {"prune": False, "baselines": ["none"], "recipe": {"epochs": 2, "lr": 0.1}},
    },
    "randaugment": {"augment": {"n": [0, 2], "m": [3, 7], "num_magnitude_bins": 11, "prune": False}},
}


def test_every_registered_kind_has_a_representative_file() -> None:
    assert set(FULL_SECTIONS) == set(REGISTRY)


@pytest.mark.parametrize("kind", KIND_LIST, ids=IDS)
def test_sections_are_the_kinds_typed_classes_and_round_trip(kind: StudyKind) -> None:
    config = parse_study(_minimal(kind, **FULL_SECTIONS[kind.name]))
    assert type(config.sampler) is kind.sampler_section
    if kind.augment_section is None:
        assert dict(config.augment) == {}
    else:
        assert type(config.augment) is kind.augment_section
    # The stored summary is plain TOML/JSON data, and parsing it again gives equal sections.
    summary = json.loads(json.dumps(config.summary()))
    again = parse_study(_minimal(kind, sampler=summary["sampler"], augment=summary["augment"]))
    assert again.sampler == config.sampler and again.augment == config.augment
    assert again.summary() == summary
    # Given keys only: a key the file leaves out keeps the component's own default.
    assert set(config.sampler) == set(FULL_SECTIONS[kind.name].get("sampler", {}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.sampler.batch_size = 1  # type: ignore[misc]


def test_typed_values() -> None:
    joint = parse_study(_minimal(REGISTRY["jointnas"], **FULL_SECTIONS["jointnas"]))
    assert isinstance(joint.sampler, JointNASSamplerSection)
    assert joint.sampler.predictor == PredictorConfig(hidden=16, pretrain=False)
    assert joint.sampler.ga == GAConfig(population=8, n_best=4, n_random=4)
    assert joint.sampler.kwargs()["predictor_config"] is joint.sampler.predictor
    assert joint.sampler.kwargs()["ga_config"] is joint.sampler.ga
    ra = parse_study(_minimal(REGISTRY["randaugment"], **FULL_SECTIONS["randaugment"]))
    assert isinstance(ra.augment, RandAugmentSection)
    assert (ra.augment.n, ra.augment.m, ra.augment.num_magnitude_bins) == ((0, 2), (3, 7), 11)
    settings = ra.augment.settings()
    assert (settings.n_values, settings.m_values, settings.prune) == ((0, 2), (3, 7), False)
    assert settings.baselines == BASELINES  # not given: the default
    aa = parse_study(_minimal(REGISTRY["autoaugment"], **FULL_SECTIONS["autoaugment"]))
    assert isinstance(aa.augment, AutoAugmentSection) and isinstance(aa.sampler, PPOSamplerSection)
    assert dict(aa.augment.recipe or {}) == {"epochs": 2, "lr": 0.1}
    assert aa.augment.settings().recipe == (("epochs", 2), ("lr", 0.1))
    assert aa.sampler.kwargs() == {"batch_size": 4, "learning_rate": 0.01, "entropy_weight": 0.0, "baseline_decay": 0.5}


def test_replacing_a_section_with_a_dict_parses_it_for_the_kind() -> None:
    config = parse_study(_minimal(REGISTRY["randaugment"]))
    changed = dataclasses.replace(config, augment={**config.augment, "n": [1, 2], "m": [5, 13]})
    assert isinstance(changed.augment, RandAugmentSection) and changed.augment.n == (1, 2)
    with pytest.raises(ConfigError, match=r"^augment\.m\[0\]=40: must be an integer in \[0, 30\]$"):
        dataclasses.replace(config, augment={"m": [40]})
    joint = parse_study(_minimal(REGISTRY["jointnas"]))
    assert dataclasses.replace(joint, sampler={"batch_size": 2}).sampler == JointNASSamplerSection(batch_size=2)


BAD_KEYS = [
    ("jointnas", {"sampler": {"bogus": 3}}, "sampler.bogus=3: unknown key; expected one of ['acquisition', "),
    ("jointnas", {"sampler": {"seed": 3}}, "sampler.seed=3: the sampler is seeded by study.seed; remove it"),
    ("autotrain", {"sampler": {"constraints": 1}}, "sampler.constraints=1: constraints go in the [constraints] table"),
    ("jointnas", {"sampler": {"batch_size": 0}}, "sampler.batch_size=0: must be a positive integer"),
    ("jointnas", {"sampler": {"final_batch_size": -1}}, "sampler.final_batch_size=-1: must be a non-negative integer"),
    ("jointnas", {"sampler": {"diversity": True}}, "sampler.diversity=True: must be a number, got a boolean"),
    ("jointnas", {"sampler": {"trust_region": 0}}, "sampler.trust_region=0: must be > 0"),
    ("jointnas", {"sampler": {"trust_region": True}}, "sampler.trust_region=True: must be a number, got a boolean"),
    ("jointnas", {"sampler": {"ga": {"populaton": 8}}}, "sampler.ga.populaton=8: unknown key"),
    ("jointnas", {"sampler": {"predictor": 3}}, "sampler.predictor=3: must be a table, got an integer"),
    ("jointnas", {"train": {"prune": False}}, "train.prune=False: a jointnas study ranks candidates at its"),
    ("autoaugment", {"sampler": {"lr": 0.1}}, "sampler.lr=0.1: unknown key; expected one of ['baseline_decay', "),
    ("autoaugment", {"sampler": {"clip": 0.0}}, "sampler.clip=0.0: must be a number in (0, 1]"),
    ("autoaugment", {"sampler": {"baseline_decay": 1.0}}, "sampler.baseline_decay=1.0: must be < 1"),
    ("autoaugment", {"augment": {"n": [1]}}, "augment.n=[1]: unknown key for an autoaugment study; expected one of"),
    ("autoaugment", {"augment": {"recipe": {"lrate": 1}}}, "augment.recipe.lrate=1: unknown recipe field"),
    ("autoaugment", {"augment": {"recipe": {"lr": -1.0}}}, "augment.recipe.lr=-1.0: "),
    ("autoaugment", {"train": {"augment": "trivialaugment"}}, "train.augment='trivialaugment': a autoaugment study"),
    ("randaugment", {"sampler": {"batch_size": 3}}, "sampler.batch_size=3: a randaugment study grid-searches N and M"),
    ("randaugment", {"augment": {"m": [5, 5]}}, "augment.m=[5, 5]: values must be distinct"),
    ("randaugment", {"augment": {"num_magnitude_bins": 11}}, "augment.num_magnitude_bins=11: the default M grid"),
]


@pytest.mark.parametrize(("kind", "sections", "message"), BAD_KEYS, ids=[f"{b[0]}-{b[2][:24]}" for b in BAD_KEYS])
def test_bad_keys_name_the_full_key_path_and_value(kind: str, sections: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_study(_minimal(REGISTRY[kind], **sections))  # when the file is read: before any sampler exists
    assert str(info.value).startswith(message), str(info.value)
    assert "\n" not in str(info.value)


def test_a_samplers_own_check_names_the_study_file_key() -> None:
    config = parse_study(_minimal(REGISTRY["jointnas"], sampler={"batch_size": 4, "pool_size": 2}))
    with pytest.raises(ConfigError, match=r"^sampler\.pool_size=2: must be at least the batch size \(4\)$"):
        make_sampler(config, 10)


@pytest.mark.parametrize("kind", KIND_LIST, ids=IDS)
def test_each_kind_makes_its_sampler_objective_and_pruner(kind: StudyKind, tmp_path: Path) -> None:
    config = parse_study(_minimal(kind, **FULL_SECTIONS[kind.name], train={"epochs": 1, "num_threads": 1}))
    sampler = make_sampler(config, 10, FileSystemArtifactStore(str(tmp_path)))
    expected_sampler = {
        "jointnas": "JointNASSampler",
        "autotrain": "JointNASSampler",
        "autoaugment": "PPOSampler",
        "randaugment": "RandAugmentGridSampler",
    }
    assert type(sampler).__name__ == expected_sampler[kind.name]
    if kind.name == "jointnas":  # every key reaches the sampler
        assert sampler.config.trust_region == 1.5 and sampler.config.cost_filter == "exact"
        off = parse_study(_minimal(kind, sampler={"trust_region": False}, train={"epochs": 1, "num_threads": 1}))
        assert make_sampler(off, 10).config.trust_region is None  # false: the paper's GA
        default = parse_study(_minimal(kind, train={"epochs": 1, "num_threads": 1}))
        assert make_sampler(default, 10).config.trust_region == 0.5
    planned = {"jointnas": 4 + 3 + 0, "autotrain": 2 + 0 + 1, "autoaugment": 32, "randaugment": 4}
    assert target_trials(config, sampler) == planned[kind.name]
    assert target_trials(dataclasses.replace(config, n_trials=5), sampler) == 5
    expected_pruner = optuna.pruners.NopPruner if kind.trains_candidates else optuna.pruners.MedianPruner
    assert type(_runner._pruner(config)) is expected_pruner
    study = optuna.create_study(direction="maximize", sampler=sampler)
    assert kind.exhausted(study, sampler) is False
    objective = make_objective(config, load_data(dataclasses.replace(config, dataset={"name": "digits", "subset": 50})))
    assert callable(objective)
    assert (kind.baselines is not None) == (kind.family == "augment")


def test_the_augmentation_pruner_follows_train_prune() -> None:
    for name in ("autoaugment", "randaugment"):
        assert isinstance(_runner._pruner(parse_study(_minimal(REGISTRY[name]))), optuna.pruners.MedianPruner)
        off = parse_study(_minimal(REGISTRY[name], train={"prune": False}))
        assert isinstance(_runner._pruner(off), optuna.pruners.NopPruner)


def test_the_run_loop_never_compares_kind_names() -> None:
    source = Path(_runner.__file__).read_text(encoding="utf-8")
    for name in KINDS:
        assert f'"{name}"' not in source and f"'{name}'" not in source, name
    assert "getattr(sampler" not in source  # no sniffing of sampler attributes either


def test_a_fifth_kind_is_one_registry_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Register a kind (a random sampler, a made-up objective) and run it through `run_study` on SQLite."""

    def objective(config: Any, data: Any) -> Any:
        def score(trial: optuna.Trial) -> float:
            return trial.suggest_float("x", 0.0, 1.0)

        return score

    fifth = dataclasses.replace(
        REGISTRY["randaugment"],
        name="fifth",
        sampler_section=PPOSamplerSection,
        augment_section=None,
        check=lambda config: None,
        make_sampler=lambda config, num_classes, store: optuna.samplers.RandomSampler(seed=config.seed),
        make_objective=objective,
        make_pruner=lambda config: optuna.pruners.NopPruner(),
        planned_trials=lambda sampler: 3,
        baselines=None,
        exhausted=lambda study, sampler: False,
    )
    monkeypatch.setitem(REGISTRY, "fifth", fifth)  # type: ignore[index]
    config = parse_study({"study": {"kind": "fifth", "seed": 1}, "dataset": {"name": "digits", "subset": 50}})
    url = f"sqlite:///{tmp_path / 'fifth.db'}"
    study = run_study(config, storage_url=url, stream=io.StringIO())
    stored = optuna.load_study(study_name=config.name, storage=url)
    assert [t.state for t in stored.trials] == [optuna.trial.TrialState.COMPLETE] * 3
    assert stored.user_attrs["optnas:kind"] == "fifth" and study.study_name == "optnas-fifth"
    assert [t.params["x"] for t in stored.trials] == [
        t.params["x"] for t in _random_trials(seed=1, n=3)
    ]  # the kind's own sampler ran


def _random_trials(*, seed: int, n: int) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed))
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=n)
    return study.trials


STUDY_FILES = sorted((Path(__file__).parents[2] / "studies").glob("*.toml"))


@pytest.mark.parametrize("path", STUDY_FILES, ids=[p.stem for p in STUDY_FILES])
def test_every_shipped_study_file_parses_into_its_kinds_sections(path: Path) -> None:
    try:
        config = load_study_file(path)
    except ConfigError as exc:
        if exc.field != "dataset.root":
            raise
        pytest.skip(f"{path.name}: its ImageFolder data is not on this machine ({exc})")
    kind = study_kind_of(config.kind)
    assert type(config.sampler) is kind.sampler_section
    assert kind.augment_section is None or type(config.augment) is kind.augment_section
    summary = json.loads(json.dumps(config.summary()))
    assert kind.sampler_section.parse(summary["sampler"]) == config.sampler
    if kind.augment_section is not None:
        assert kind.augment_section.parse(summary["augment"]) == config.augment


def test_sampler_sections_name_only_real_constructor_arguments() -> None:
    """A guard for whoever changes a sampler's constructor: its study-file section must follow."""
    import inspect

    from optnas.samplers import JointNASSampler, PPOSampler

    joint = set(inspect.signature(JointNASSampler).parameters)
    renamed = {"predictor": "predictor_config", "ga": "ga_config"}
    assert {renamed.get(n, n) for n in JointNASSamplerSection._names()} <= joint
    assert set(PPOSamplerSection._names()) <= set(inspect.signature(PPOSampler).parameters)


def test_the_ppo_preset_goes_through_the_study_file() -> None:
    small = parse_study(_minimal(REGISTRY["autoaugment"], sampler={"preset": "small_budget"}))
    assert make_sampler(small, None).hidden_size == 32  # type: ignore[attr-defined]
    explicit = parse_study(_minimal(REGISTRY["autoaugment"], sampler={"preset": "small_budget", "hidden_size": 48}))
    assert make_sampler(explicit, None).hidden_size == 48  # type: ignore[attr-defined]
    assert make_sampler(parse_study(_minimal(REGISTRY["autoaugment"])), None).hidden_size == 100  # type: ignore[attr-defined]
    huge = parse_study(_minimal(REGISTRY["autoaugment"], sampler={"preset": "huge"}))
    with pytest.raises(ConfigError, match=r"^sampler\.preset='huge': unknown PPO preset; expected one of "):
        make_sampler(huge, None)


def _kind_dispatch(tree: ast.AST) -> list[int]:
    """Lines that compare with, or key a table by, a study kind's name."""

    def is_kind(node: ast.AST | None) -> bool:
        if isinstance(node, ast.Constant):
            return node.value in KINDS
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(is_kind(e) for e in node.elts)
        return False

    def dispatches(node: ast.AST) -> bool:
        if isinstance(node, ast.Compare):
            return any(is_kind(n) for n in (node.left, *node.comparators))
        if isinstance(node, ast.Dict):
            return any(is_kind(k) for k in node.keys)
        return isinstance(node, ast.MatchValue) and is_kind(node.value)

    return [node.lineno for node in ast.walk(tree) if dispatches(node)]  # type: ignore[attr-defined]


def test_no_module_outside_the_registry_dispatches_on_a_kind_name() -> None:
    """Issue 15: every decision that depends on the kind is the registry's (``StudyKind``)."""
    package = Path(_runner.__file__).parents[1]
    registry = package / "studies" / "_kinds.py"
    found = {
        str(path.relative_to(package)): lines
        for path in sorted(package.rglob("*.py"))
        if path != registry and (lines := _kind_dispatch(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert not found
    assert _kind_dispatch(ast.parse('if kind == "randaugment" or config.kind in ("jointnas",): pass'))  # it finds them


def _type_error_option_checks(tree: ast.AST) -> list[int]:
    """Lines of ``except TypeError`` handlers around a ``f(**options)`` call (unknown options found by a crash)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        star = any(
            isinstance(call, ast.Call) and any(k.arg is None for k in call.keywords)
            for statement in node.body
            for call in ast.walk(statement)
        )
        for handler in node.handlers:
            caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
            if star and any(isinstance(e, ast.Name) and e.id == "TypeError" for e in caught):
                lines.append(handler.lineno)
    return lines


def test_the_study_layer_never_finds_unknown_options_by_catching_type_error() -> None:
    """Issue 15: sections check their keys; no ``try: cls(**table) except TypeError``."""
    package = Path(_runner.__file__).parents[1]
    paths = [*sorted((package / "studies").glob("*.py")), *sorted((package / "samplers").glob("*.py"))]
    found = {
        path.name: lines
        for path in [*paths, package / "cli.py"]
        if (lines := _type_error_option_checks(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert not found
    assert _type_error_option_checks(ast.parse("try:\n    f(**kw)\nexcept (KeyError, TypeError):\n    pass"))


def _sniffing(tree: ast.AST) -> list[int]:
    """Lines that probe an object for what it offers: ``hasattr``, ``inspect``, ``getattr(obj, name, default)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            if "inspect" in names:
                lines.append(node.lineno)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            probe = node.func.id == "hasattr"
            if node.func.id == "getattr" and len(node.args) == 3:  # a default: "whatever it has"
                probe = not (isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls"))
            if probe:
                lines.append(node.lineno)
    return lines


def test_the_study_layer_does_not_sniff_parameters() -> None:
    """Issue 15: no ``hasattr``/``inspect``/``getattr(x, name, default)`` probing in ``optnas.studies``."""
    package = Path(_runner.__file__).parent
    found = {
        path.name: lines
        for path in sorted(package.glob("*.py"))
        if (lines := _sniffing(ast.parse(path.read_text(encoding="utf-8"))))
    }
    assert not found
    assert _sniffing(ast.parse("import inspect\nhasattr(s, 'n')\ngetattr(sampler, 'n', None)")) == [1, 2, 3]
