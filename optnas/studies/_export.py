"""Export the result of a study: ``optnas export --storage URL --study-name NAME --out DIR``.

JointNAS / AutoTrain (FBNetV3, Dai et al., 2021, Sec. 3): the best feasible trained trial
(:func:`optnas.studies.best_feasible`) gives

- ``arch.txt``: the architecture text (:func:`optnas.space.parse_arch`: the block-string format of
  :meth:`optnas.space.Arch.parse`, or ``torchvision:<model> ...`` for an AutoTrain study of a
  torchvision classifier);
- ``recipe.json``: the training recipe (:class:`optnas.space.Recipe` fields);
- ``best.json``: arch, recipe, accuracy, exact cost, number of classes and constraints;
- ``model.py``: a loadable PyTorch model definition, ``make_model()`` rebuilds the network with
  ``optnas.models.build(parse_arch(ARCH), Recipe(**RECIPE), num_classes=NUM_CLASSES)``.

AutoAugment / RandAugment: the policy, written by the augmentation study kinds
(``optnas.studies._policies.export_policy``), and ``child/`` (the same four files plus ``weights.pt``)
for the best trial's trained child network when the study kept its weights.

``weights.pt``: the trial's trained ``state_dict``, when the study kept it (the top ``[train]
keep_weights`` full-fidelity trials, :mod:`optnas.studies._weights`); ``model.py``'s
``make_model(pretrained=True)`` loads it.

Every kind also gets ``SUMMARY.md`` (:func:`summary_markdown`): the study, its kind, the best
trials, the constraints and the early-stopping epoch budget of Sec. 3.1.

The storage is only read. A SQLite file that does not exist is an error (opening it would create
an empty database), as are an unknown study name, a study without a finished feasible trial and
stored attributes that do not parse.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from optnas import _validate as validate
from optnas._errors import ConfigError
from optnas._keys import CONFIG_ATTR, KIND_ATTR
from optnas.cost import infer_num_classes
from optnas.studies._kinds import StudyKind, study_kind_of
from optnas.studies._runner import best_feasible, open_storage

__all__ = [
    "ES_ATTR",
    "autoaugment_summary_lines",
    "export_augment",
    "export_nas",
    "export_study",
    "infer_num_classes",
    "load_existing_study",
    "nas_summary_lines",
    "policies_module",
    "randaugment_summary_lines",
    "redact_url",
    "study_kind",
    "summary_markdown",
    "write_model_files",
]

#: Study user attribute holding the early-stopping epoch budget (set by ``JointNASSampler``).
ES_ATTR = "early_stopping_epochs"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for summaries and notes)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL sqlalchemy understands: keep the scheme only
        return url.split("://", 1)[0] + "://..." if "://" in url else url


def load_existing_study(storage_url: str, study_name: str) -> optuna.Study:
    """Open an existing study read-only-style: nothing is created in storage.

    Raises:
        ConfigError: the SQLite file does not exist, the storage cannot be opened, or it has no
            study named ``study_name``.
    """
    if storage_url.startswith("sqlite:///"):
        path = storage_url[len("sqlite:///") :]
        if path and path != ":memory:" and not Path(path).is_file():
            raise ConfigError("--storage", storage_url, "no such SQLite file")
    storage = open_storage(storage_url)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage, include_best_trial=False)]
    if study_name not in names:
        known = ", ".join(repr(n) for n in sorted(names)[:10]) or "none"
        raise ConfigError("--study-name", study_name, f"no such study in {redact_url(storage_url)} (studies: {known})")
    return optuna.load_study(study_name=study_name, storage=storage)


def study_kind(study: optuna.Study) -> str:
    """The optnas study kind recorded when the study was created."""
    kind = study.user_attrs.get(KIND_ATTR)
    if not isinstance(kind, str):
        raise ConfigError("--study-name", study.study_name, f"is not an optnas study (no {KIND_ATTR!r} attribute)")
    return kind


def policies_module() -> Any:
    """``optnas.studies._policies`` (augmentation study kinds), or a clear error when absent."""
    try:
        import optnas.studies._policies as policies
    except ImportError as exc:
        raise ConfigError(
            "study kind", "autoaugment/randaugment", f"augmentation study support is not available: {exc}"
        ) from None
    return policies


def _best_nas(study: optuna.Study) -> tuple[FrozenTrial, Any, Any, int]:
    best = best_feasible(study, k=1)
    if not best:
        raise ConfigError("--study-name", study.study_name, "has no completed feasible trial to export")
    return (best[0], *_trial_network(best[0]))


def _trial_network(trial: FrozenTrial) -> tuple[Any, Any, int]:
    """``(arch, recipe, num_classes)`` of a trained trial, from its user attributes."""
    from optnas.space import Recipe, parse_arch

    ua = trial.user_attrs
    where = f"trial {trial.number} user attrs"
    missing = [key for key in ("arch", "recipe", "params") if key not in ua]
    if missing:
        raise ConfigError(where, missing, "missing (the trial was not trained by optnas)")
    stored, params = ua["recipe"], ua["params"]
    if not isinstance(stored, dict):
        raise ConfigError(f"{where} recipe", stored, "must be an object of Recipe fields")
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(stored) - fields)
    if unknown:
        raise ConfigError(f"{where} recipe.{unknown[0]}", stored[unknown[0]], "not a Recipe field")
    params = validate.positive_int(f"{where} params", params)
    try:
        arch = parse_arch(str(ua["arch"]))
    except ConfigError as exc:
        raise ConfigError(f"{where} arch", ua["arch"], f"{exc.field}={exc.value!r}: {exc.reason}") from None
    try:
        recipe = Recipe(**stored)
    except ConfigError as exc:
        raise ConfigError(f"{where} recipe.{exc.field}", exc.value, exc.reason) from None
    return arch, recipe, infer_num_classes(arch, params)


_MODEL_TEMPLATE = '''"""Best architecture of the optnas study {name!r}.

Trial {number}, validation accuracy {accuracy:.4f}.

Generated by ``optnas export``. ``make_model()`` rebuilds the network (freshly initialized) with
``optnas.models.build``; train it with ``optnas.train.train_and_evaluate`` and RECIPE.
``make_model(pretrained=True)`` loads the trial's trained weights ({weights_note}).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ARCH = {arch!r}
RECIPE: dict[str, Any] = {recipe}
NUM_CLASSES = {num_classes}
RESOLUTION = {resolution}
MACS = {macs}
PARAMS = {params}
#: The trained ``state_dict`` next to this file, or None when the study kept no weights of this trial.
WEIGHTS: str | None = {weights!r}


def make_model(seed: int = 0, pretrained: bool = False) -> Any:
    """The network of ARCH with RECIPE's dropout and stochastic depth (``torch.nn.Module``).

    Args:
        seed: seed of the initialization.
        pretrained: load the trained weights (WEIGHTS) instead; the model is returned in eval mode.
    """
    from optnas.models import build
    from optnas.space import Recipe, parse_arch

    model = build(parse_arch(ARCH), Recipe(**RECIPE), num_classes=NUM_CLASSES, seed=seed)
    if pretrained:
        import torch

        if WEIGHTS is None:
            raise FileNotFoundError("the study kept no trained weights of this trial ([train] keep_weights)")
        path = Path(__file__).with_name(WEIGHTS)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        model.eval()
    return model


if __name__ == "__main__":
    import torch

    model = make_model(pretrained=WEIGHTS is not None).eval()
    with torch.no_grad():
        logits = model(torch.zeros(1, 3, RESOLUTION, RESOLUTION))
    print(f"{{type(model).__name__}}: input 3x{{RESOLUTION}}x{{RESOLUTION}} -> logits {{tuple(logits.shape)}}")
'''


def write_model_files(
    study: optuna.Study, trial: FrozenTrial, arch: Any, recipe: Any, num_classes: int, out: Path, *, kind: str
) -> list[Path]:
    """``arch.txt``, ``recipe.json``, ``best.json``, ``model.py`` and, when the study kept them, ``weights.pt``.

    ``weights.pt`` is the trial's trained ``state_dict`` (:mod:`optnas.studies._weights`);
    ``model.py``'s ``make_model(pretrained=True)`` loads it.
    """
    from optnas.studies._weights import download_weights

    ua = trial.user_attrs
    config = study.user_attrs.get(CONFIG_ATTR, {})
    out.mkdir(parents=True, exist_ok=True)
    weights = "weights.pt" if download_weights(study, trial, out / "weights.pt") else None
    if weights is None:
        (out / "weights.pt").unlink(missing_ok=True)  # an earlier export's, of another trial
    best = {
        "study": study.study_name,
        "kind": kind,
        "trial": trial.number,
        "accuracy": trial.value,
        "arch": str(arch),
        "recipe": recipe.to_dict(),
        "num_classes": num_classes,
        "resolution": arch.resolution,
        "macs": int(ua["macs"]),
        "params": int(ua["params"]),
        "constraints": config.get("constraints", []) if isinstance(config, dict) else [],
        "stage": ua.get("stage"),
        "predicted_accuracy": ua.get("predicted_accuracy"),
        "weights": weights,
    }
    weights_note = (
        f"``{weights}``, the trained state dict of trial {trial.number}"
        if weights
        else "none were kept for this trial: it trained at a shorter budget, ranked below the kept top-k, or the "
        "study had no artifact store"
    )
    files = {
        "arch.txt": f"{arch}\n",
        "recipe.json": json.dumps(recipe.to_dict(), indent=2) + "\n",
        "best.json": json.dumps(best, indent=2) + "\n",
        "model.py": _MODEL_TEMPLATE.format(
            name=study.study_name,
            number=trial.number,
            accuracy=float(trial.value or 0.0),
            arch=str(arch),
            recipe="{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in recipe.to_dict().items()) + "}",
            num_classes=num_classes,
            resolution=arch.resolution,
            macs=best["macs"],
            params=best["params"],
            weights=weights,
            weights_note=weights_note,
        ),
    }
    written = []
    for name, text in files.items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    if weights:
        written.append(out / weights)
    return written


def _export_child(study: optuna.Study, out: Path) -> list[Path]:
    """The trained child of the best augmentation trial, when the study kept its weights (``child/``).

    The same files as for JointNAS (:func:`write_model_files`): the child network, its recipe and
    ``weights.pt``; nothing when the best trial's weights were not kept.
    """
    from optnas.studies._weights import weights_artifact

    best = policies_module().best_trials(study, 1)
    if not best or weights_artifact(study, best[0]) is None:
        return []
    arch, recipe, num_classes = _trial_network(best[0])
    return write_model_files(study, best[0], arch, recipe, num_classes, out, kind=study_kind(study))


def export_nas(study: optuna.Study, out: Path) -> list[Path]:
    """The JointNAS / AutoTrain files (module docstring) of the best feasible trained trial."""
    trial, arch, recipe, num_classes = _best_nas(study)
    return write_model_files(study, trial, arch, recipe, num_classes, out, kind=study_kind(study))


def export_augment(study: optuna.Study, out: Path) -> list[Path]:
    """The AutoAugment / RandAugment files (module docstring): the policy, then the trained child."""
    policies = policies_module()
    if not any(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)):
        raise ConfigError("--study-name", study.study_name, "has no completed trial to export")
    out.mkdir(parents=True, exist_ok=True)
    written = [Path(p) for p in policies.export_policy(study, out)]
    return written + _export_child(study, out / "child")


def export_study(
    study: optuna.Study, out_dir: str | Path, *, storage_url: str | None = None, top: int = 5
) -> list[Path]:
    """Write the study's best result and ``SUMMARY.md`` under ``out_dir``; return the files.

    The files are the study kind's (:attr:`optnas.studies._kinds.StudyKind.export`). Everything
    is validated before the directory is created.

    Raises:
        ConfigError: not an optnas study, no feasible completed trial, or stored attributes
            (arch, recipe, policy JSON) that do not parse.
    """
    kind = _registered_kind(study)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "exists and is not a directory")
    summary = summary_markdown(study, storage_url=storage_url, top=top)  # validates before writing
    written = kind.export(study, out)
    listing = "\n".join(f"- `{p.relative_to(out)}`" for p in written)
    path = out / "SUMMARY.md"
    path.write_text(f"{summary}\n## Exported files\n\n{listing}\n", encoding="utf-8")
    return [*written, path]


def _registered_kind(study: optuna.Study) -> StudyKind:
    return study_kind_of(study_kind(study), field=f"study {study.study_name!r} kind")


# --- summary ------------------------------------------------------------------------------------------------------
def _fmt(value: Any, spec: str = ".4f") -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, int | float):
        return "-" if isinstance(value, float) and math.isnan(value) else format(value, spec)
    return str(value)


def _best_table(trials: Sequence[FrozenTrial]) -> list[str]:
    rows = [
        "| rank | trial | stage | batch | accuracy | predicted | MMACs | Mparams | arch |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for i, t in enumerate(trials, 1):
        ua = t.user_attrs
        macs, params = ua.get("macs"), ua.get("params")
        rows.append(
            f"| {i} | {t.number} | {ua.get('stage', '-')} | {_fmt(ua.get('batch'), 'd')} | {_fmt(t.value)} "
            f"| {_fmt(ua.get('predicted_accuracy'))} "
            f"| {_fmt(macs / 1e6 if isinstance(macs, int) else None, '.3f')} "
            f"| {_fmt(params / 1e6 if isinstance(params, int) else None, '.4f')} "
            f"| `{ua.get('arch', '-')}` |"
        )
    return rows


def _stored_config(study: optuna.Study) -> dict[str, Any]:
    config = study.user_attrs.get(CONFIG_ATTR, {})
    return config if isinstance(config, dict) else {}


def nas_summary_lines(study: optuna.Study, top: int) -> list[str]:
    """JointNAS / AutoTrain lines of ``SUMMARY.md``: early-stopping budget, sampler, best feasible trials."""
    config = _stored_config(study)
    budget = study.user_attrs.get(ES_ATTR, "not determined yet")
    if budget is None:
        budget = "none (no shorter budget ranks like the full one; candidates train for the full recipe)"
    elif isinstance(budget, int):
        budget = f"{budget} epochs"
    lines = [f"- early-stopping budget (FBNetV3 Sec. 3.1): {budget}"]
    sampler = config.get("sampler", {})
    if isinstance(sampler, dict) and sampler:
        lines.append("- sampler: " + ", ".join(f"{k}={v}" for k, v in sampler.items()))
    best = best_feasible(study, k=top)
    lines += ["", f"## Best feasible trials (top {top})", ""]
    lines += _best_table(best) if best else ["No completed feasible trial yet."]
    return lines


def _augment_table(study: optuna.Study, top: int) -> tuple[list[str], bool]:
    done = sorted(
        (t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE and t.value is not None),
        key=lambda t: (-(t.value or 0.0), t.number),
    )[:top]
    lines = ["", f"## Best trials (top {top})", ""]
    lines += ["| rank | trial | accuracy |", "|---:|---:|---:|"]
    lines += [f"| {i} | {t.number} | {_fmt(t.value)} |" for i, t in enumerate(done, 1)]
    return lines, bool(done)


def autoaugment_summary_lines(study: optuna.Study, top: int) -> list[str]:
    """AutoAugment lines of ``SUMMARY.md``: best trials and the final policy's operation counts."""
    lines, any_done = _augment_table(study, top)
    if any_done:
        policy = policies_module().final_policy(study, top=top)
        ops = Counter(op.name for sp in policy.subpolicies for op in sp.ops)
        lines += ["", "## Best augmentation", ""]
        lines.append(f"Final policy: {len(policy.subpolicies)} sub-policies from the top {top} policies.")
        lines.append("Operation counts: " + ", ".join(f"{name} {n}" for name, n in ops.most_common()))
    return lines


def randaugment_summary_lines(study: optuna.Study, top: int) -> list[str]:
    """RandAugment lines of ``SUMMARY.md``: best trials and the best (N, M)."""
    lines, any_done = _augment_table(study, top)
    if any_done:
        lines += ["", "## Best augmentation", ""]
        lines.append(f"Best RandAugment setting: `{policies_module().best_randaugment(study)}`")
    return lines


def summary_markdown(study: optuna.Study, *, storage_url: str | None = None, top: int = 5) -> str:
    """Markdown summary: study, kind, trial counts, constraints, then the kind's own lines (best trials, ...)."""
    validate.positive_int("--top", top)
    kind = _registered_kind(study)
    trials = study.get_trials(deepcopy=False)
    states = Counter(t.state.name.lower() for t in trials)
    config = _stored_config(study)
    lines = [f"# optnas study `{study.study_name}`", ""]
    lines.append(f"- kind: **{kind.name}**")
    if storage_url is not None:
        lines.append(f"- storage: `{redact_url(storage_url)}`")
    dataset = config.get("dataset", {})
    if isinstance(dataset, dict) and dataset:
        lines.append("- dataset: " + ", ".join(f"{k}={v}" for k, v in dataset.items()))
    lines.append(f"- seed: {config.get('seed', '-')}")
    lines.append(f"- trials: {len(trials)} (" + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + ")")
    constraints = config.get("constraints", [])
    text = ", ".join(f"{c['metric']} <= {c['limit']:,.0f}" for c in constraints) if constraints else "none"
    lines.append(f"- constraints: {text}")
    lines += kind.summary(study, top)
    return "\n".join(lines) + "\n"
