"""Create or resume a study from a :class:`StudyConfig` and run trials, alone or with other workers.

Storage is Optuna's RDB storage (SQLite by default, PostgreSQL for many machines) with heartbeats:
a worker that dies mid-trial is detected by the others, its trial marked failed and retried with
the same parameters (``RetryHeartbeatStaleTrialCallback``). Several ``optnas run`` processes with
the same study file and storage run one study together; each stops when the study has its target
number of finished trials.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from optnas._errors import ConfigError
from optnas.studies._metric import name_objective
from optnas.studies._schema import StudyConfig

__all__ = [
    "DEFAULT_STORAGE",
    "artifact_dir",
    "best_feasible",
    "load_data",
    "make_objective",
    "make_sampler",
    "open_storage",
    "open_study",
    "run_study",
]

DEFAULT_STORAGE = "sqlite:///optnas.db"
KIND_ATTR = "optnas:kind"
CONFIG_ATTR = "optnas:config"
SPACE_ATTR = "optnas:space"
ARTIFACT_ATTR = "optnas:artifacts"


def open_storage(
    url: str | None, *, heartbeat_interval: int | None = None, grace_period: int | None = None, max_retry: int = 3
) -> RDBStorage:
    """Open an RDB storage with heartbeats and stale-trial retries.

    SQLite gets a 60 s lock timeout so that a second local worker waits instead of failing with
    "database is locked" (SQLite serializes writers; for more than a couple of workers use
    PostgreSQL).
    """
    url = url or DEFAULT_STORAGE
    if heartbeat_interval is None:
        heartbeat_interval = int(os.environ.get("OPTNAS_HEARTBEAT_INTERVAL", "30"))
    if heartbeat_interval < 1:
        raise ConfigError("heartbeat_interval", heartbeat_interval, "must be >= 1 second")
    if grace_period is None:
        grace_period = int(os.environ.get("OPTNAS_GRACE_PERIOD", str(3 * heartbeat_interval)))
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith(("postgresql", "mysql")):
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats and the retry callback are "experimental" in Optuna 5
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=max_retry),
                )
        except Exception as exc:  # sqlalchemy raises many types; the user needs one line
            text = str(exc)
            # Workers started together on a new database race to create its tables: the loser retries.
            if attempt < 4 and any(m in text for m in ("already exists", "duplicate key", "UNIQUE constraint")):
                time.sleep(0.5)
                continue
            first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
            raise ConfigError("storage", url, f"cannot open the storage: {first}") from None
    raise AssertionError("unreachable")  # pragma: no cover


def artifact_dir(config: StudyConfig, storage_url: str) -> Path:
    """Where study artifacts (the stage-2 predictor) go: ``study.artifacts`` or next to SQLite."""
    if config.artifacts:
        return Path(config.artifacts)
    if storage_url.startswith("sqlite:///"):
        db = Path(storage_url[len("sqlite:///") :])
        return db.parent / f"{db.stem}_artifacts"
    return Path("optnas_artifacts")


def load_data(config: StudyConfig) -> Any:
    """The study's dataset (:func:`optnas.data.load`)."""
    from optnas.data import load

    d = dict(config.dataset)
    kwargs: dict[str, Any] = {"seed": config.seed}
    for key in ("root", "subset", "val_size", "val_fraction", "download", "balanced"):
        if key in d:
            kwargs[key] = d[key]
    return load(d["name"], **kwargs)


def make_sampler(config: StudyConfig, num_classes: int, artifact_store: Any = None) -> optuna.samplers.BaseSampler:
    """The sampler of the study kind, configured by the file's ``[sampler]`` table."""
    if config.kind in ("jointnas", "autotrain"):
        from optnas.evolution import GAConfig
        from optnas.predictor import PredictorConfig
        from optnas.samplers._jointnas import JointNASSampler

        opts = dict(config.sampler)
        predictor = opts.pop("predictor", None)
        ga = opts.pop("ga", None)
        try:
            return JointNASSampler(
                space=config.space,
                num_classes=num_classes,
                constraints=config.constraints,
                seed=config.seed,
                predictor_config=PredictorConfig(**predictor) if predictor else None,
                ga_config=GAConfig(**ga) if ga else None,
                artifact_store=artifact_store,
                **opts,
            )
        except TypeError as exc:
            raise ConfigError("sampler", sorted(config.sampler), f"unknown sampler option: {exc}") from None
    from optnas.studies._augment_kinds import make_augment_sampler

    sampler: optuna.samplers.BaseSampler = make_augment_sampler(config)
    return sampler


def make_objective(config: StudyConfig, data: Any) -> Callable[[optuna.Trial], float]:
    """The objective of the study kind."""
    if config.kind in ("jointnas", "autotrain"):
        from optnas.studies._objectives import JointNASObjective

        return JointNASObjective(config.space, data, config.constraints, config.seed, config.train)
    from optnas.studies._augment_kinds import make_augment_objective

    objective: Callable[[optuna.Trial], float] = make_augment_objective(config, data)
    return objective


def target_trials(config: StudyConfig, sampler: optuna.samplers.BaseSampler) -> int:
    """Finished trials the study aims for: the file's ``n_trials``, else the sampler's plan."""
    if config.n_trials is not None:
        return config.n_trials
    planned = getattr(sampler, "n_planned", None)
    if planned is None:
        planned = getattr(sampler, "default_n_trials", None)
    return int(planned) if planned else 32


def open_study(
    config: StudyConfig, storage: RDBStorage, study_name: str, sampler: optuna.samplers.BaseSampler
) -> optuna.Study:
    """Create the study or resume it (always with the right sampler).

    Raises:
        ConfigError: the name exists with another study kind, direction or search space.
    """
    summary = _summary(storage, study_name)
    if summary is None:
        try:
            study = optuna.create_study(
                study_name=study_name, storage=storage, sampler=sampler, pruner=_pruner(config), direction="maximize"
            )
        except optuna.exceptions.DuplicatedStudyError:
            summary = _summary(storage, study_name)  # another worker created it at the same moment
        else:
            name_objective(study)  # "val_accuracy" in optuna-dashboard, not "Objective 0"
            study.set_user_attr(CONFIG_ATTR, config.summary())
            study.set_user_attr(SPACE_ATTR, config.space.to_dict())
            study.set_user_attr(KIND_ATTR, config.kind)  # last: a worker that sees the kind sees the rest
            return study
    # A study another worker has just created may not have its kind yet: give it a moment.
    deadline = time.monotonic() + 30.0
    while summary is not None and KIND_ATTR not in summary.user_attrs:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
        summary = _summary(storage, study_name)
    if summary is None:
        raise ConfigError("--study-name", study_name, "was deleted while opening it")
    kind = summary.user_attrs.get(KIND_ATTR)
    if kind != config.kind:
        raise ConfigError("--study-name", study_name, f"exists with kind {kind!r}, not {config.kind!r}")
    if summary.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ConfigError("--study-name", study_name, f"exists with direction {summary.direction.name.lower()}")
    stored_space = summary.user_attrs.get(SPACE_ATTR)
    if stored_space is not None and stored_space != config.space.to_dict():
        raise ConfigError("--study-name", study_name, "exists with a different search space")
    return optuna.load_study(study_name=study_name, storage=storage, sampler=sampler, pruner=_pruner(config))


def _summary(storage: RDBStorage, study_name: str) -> optuna.study.StudySummary | None:
    for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
        if s.study_name == study_name:
            return s
    return None


def _pruner(config: StudyConfig) -> optuna.pruners.BasePruner:
    """JointNAS/AutoTrain rank candidates with FBNetV3's own early-stopping budget, so no pruner;
    the augmentation kinds use a median pruner over epochs (``train.prune = false`` disables it)."""
    if config.kind in ("jointnas", "autotrain") or not config.train.get("prune", True):
        return optuna.pruners.NopPruner()
    return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)


def best_feasible(study: optuna.Study, k: int = 5) -> list[optuna.trial.FrozenTrial]:
    """The ``k`` best completed trials that satisfy every constraint."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and all(v <= 0 for v in t.constraints.values()) and t.user_attrs.get("trained", True)
    ]
    return sorted(done, key=lambda t: (-(t.value or 0.0), t.number))[:k]


def _counts(study: optuna.Study) -> tuple[int, int, int]:
    """(finished, running, waiting). A failed trial counts as finished unless it was retried."""
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get("failed_trial") for t in trials} | {
        n for t in trials for n in t.system_attrs.get("retry_history", [])
    }
    # A waiting retry that a blocked JointNAS worker adopted (evaluated in its own trial) is no result either.
    finished = sum(
        1
        for t in trials
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        or (t.state == TrialState.FAIL and t.number not in retried and "jointnas:adopted_by" not in t.system_attrs)
    )
    running = sum(1 for t in trials if t.state == TrialState.RUNNING)
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    return finished, running, waiting


def _log_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, stream: Any) -> None:
    ua = trial.user_attrs
    where = f"{ua.get('stage', '-')}/b{ua.get('batch', '-')}" if "stage" in ua else "-"
    value = "pruned" if trial.state == TrialState.PRUNED else f"{trial.value:.4f}" if trial.value is not None else "-"
    macs = ua.get("macs")
    cost = f" {macs / 1e6:.2f}M MACs" if isinstance(macs, int) else ""
    pred = ua.get("predicted_accuracy")
    pred_s = f" pred={pred:.3f}" if isinstance(pred, float) else ""
    secs = ua.get("train_seconds")
    secs_s = f" {secs:.1f}s" if isinstance(secs, float) else ""
    print(
        f"trial {trial.number:4d} [{where}] {trial.state.name.lower():8s} value={value}{cost}{pred_s}{secs_s}",
        file=stream,
    )


def run_study(
    config: StudyConfig,
    *,
    storage_url: str | None = None,
    study_name: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    heartbeat_interval: int | None = None,
    stream: Any = None,
    baselines: bool = False,
) -> optuna.Study:
    """Validate everything, then create or resume the study and run trials until it has its target.

    Nothing is written to storage before the study file, the dataset and the sampler settings
    (constraints included) have been validated.
    """
    stream = stream if stream is not None else sys.stdout
    if n_trials is not None and (isinstance(n_trials, bool) or n_trials < 1):
        raise ConfigError("--n-trials", n_trials, "must be a positive integer")
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ConfigError("--timeout", timeout, "must be a positive number of seconds")
    if baselines and config.kind not in ("autoaugment", "randaugment"):
        raise ConfigError("--baselines", config.kind, "baselines exist for autoaugment/randaugment studies")
    if n_trials is not None:
        config = dataclasses.replace(config, n_trials=n_trials)
    url = storage_url or config.storage or DEFAULT_STORAGE
    name = study_name or config.name
    data = load_data(config)
    objective = make_objective(config, data)  # validates objective options (e.g. train.augment)
    from optuna.artifacts import FileSystemArtifactStore

    adir = artifact_dir(config, url)
    # Validates sampler options and constraints; the store only touches its folder when used.
    sampler = make_sampler(config, data.num_classes, FileSystemArtifactStore(str(adir)))
    storage = open_storage(url, heartbeat_interval=heartbeat_interval)
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # optnas prints one line per trial itself
    adir.mkdir(parents=True, exist_ok=True)
    study = open_study(config, storage, name, sampler)
    study.set_user_attr(ARTIFACT_ATTR, str(adir.resolve()))
    target = target_trials(config, sampler)
    print(
        f"optnas: study {name!r} ({config.kind}) in {url}: target {target} finished trials; "
        f"dashboard: optuna-dashboard {url}",
        file=stream,
    )
    start = time.monotonic()
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    while True:
        if timeout is not None and time.monotonic() - start > timeout:
            print("optnas: timeout reached", file=stream)
            break
        finished, running, waiting = _counts(study)
        if finished >= target and waiting == 0:  # enqueued trials (optnas evolve --enqueue) are always run
            break
        if finished + running >= target and waiting == 0:
            # The last trials run elsewhere; stay to pick up a retry if one of them dies.
            optuna.storages.fail_stale_trials(study)
            time.sleep(1.0)
            continue
        study.optimize(objective, n_trials=1, gc_after_trial=False)
        new = [t for t in study.get_trials(deepcopy=False) if t.number not in seen and t.state.is_finished()]
        for t in sorted(new, key=lambda x: x.number):
            seen.add(t.number)
            _log_trial(study, t, stream)
    if baselines:
        from optnas.studies._augment_kinds import evaluate_baselines

        for name, result in evaluate_baselines(config, data, study=study).items():
            print(f"baseline {name}: {result}", file=stream)
    _print_summary(study, stream)
    return study


def _print_summary(study: optuna.Study, stream: Any) -> None:
    best = best_feasible(study)
    if not best:
        print("optnas: no feasible completed trial yet", file=stream)
        return
    print("\nbest feasible trials", file=stream)
    print(f"{'trial':>5}  {'stage':<7} {'accuracy':>8}  {'MMACs':>7}  {'Mparams':>7}  arch", file=stream)
    for t in best:
        ua = t.user_attrs
        macs = ua.get("macs", 0) / 1e6
        params = ua.get("params", 0) / 1e6
        print(
            f"{t.number:5d}  {ua.get('stage', '-'):<7} {t.value:8.4f}  {macs:7.2f}  {params:7.3f}  "
            f"{ua.get('arch', '')}",
            file=stream,
        )
