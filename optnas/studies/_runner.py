"""Create or resume a study from a :class:`StudyConfig` and run trials, alone or with other workers.

Storage is Optuna's RDB storage (SQLite by default, PostgreSQL or MariaDB for many machines) with
heartbeats: a worker that dies mid-trial is detected by the others, its trial marked failed and
retried with the same parameters (:class:`~optnas.studies._retry.RetryStaleTrial`, Optuna's
``RetryHeartbeatStaleTrialCallback`` convention). A trial whose objective raises (or returns a
non-finite value) is retried the same way, up to ``max_retry`` times, and then failed for good with
a log line; a trial interrupted by Ctrl-C is queued again and runs first when the command is
rerun (:mod:`optnas.studies._retry`). Failed trials never count towards the target. Several
``optnas run`` processes with the same study file and storage run one study together; each stops
when the study has its target number of finished (complete or pruned) trials.
"""

from __future__ import annotations

import dataclasses
import math
import os
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage, RDBStorage
from optuna.trial import FrozenTrial, TrialState

from optnas import _validate as validate
from optnas._errors import ConfigError, Interrupted, OptnasError, TrialsFailed
from optnas._keys import ARTIFACT_ATTR, CONFIG_ATTR, KIND_ATTR, SPACE_ATTR, WORKER_ATTR
from optnas.studies._kinds import REGISTRY
from optnas.studies._metric import name_objective
from optnas.studies._retry import ERROR_ATTR, RetryStaleTrial, failure_count, is_retried, requeue, short_error
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
#: Failures (exceptions, non-finite values, dead workers) after which a candidate is failed for good.
MAX_RETRY = 3
#: The run stops when this many candidates in a row failed for good (a systematic error).
FAILED_IN_A_ROW = 3
#: The longest heartbeat interval accepted: longer is a typo (and overflows the heartbeat thread's sleep).
MAX_HEARTBEAT_INTERVAL = 86400


def open_storage(
    url: str | None, *, heartbeat_interval: int | None = None, grace_period: int | None = None, max_retry: int = 3
) -> BaseStorage:
    """Open an RDB storage with heartbeats and stale-trial retries, or Optuna's Redis journal.

    SQLite gets a 60 s lock timeout so that a second local worker waits instead of failing with
    "database is locked" (SQLite serializes writers; for more than a couple of workers use
    PostgreSQL or MariaDB, ``mysql+pymysql://user@host/db``).

    ``redis://host:port[/db][?prefix=KEY]`` opens ``JournalStorage(JournalRedisBackend(...))``
    with its keys under ``KEY`` (default: none, Optuna's layout). A journal has no heartbeat:
    :func:`run_study` fails and retries the trial of a dead worker *on the same host* instead
    (it records each trial's host and process id).
    """
    url = url or DEFAULT_STORAGE
    if url.startswith(("redis://", "rediss://", "unix://")):
        return _open_journal(url)
    if heartbeat_interval is None:
        heartbeat_interval = int(os.environ.get("OPTNAS_HEARTBEAT_INTERVAL", "30"))
    check_heartbeat_interval("heartbeat_interval", heartbeat_interval)
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
                    heartbeat_stale_trial_callback=RetryStaleTrial(max_retry=max_retry),
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


def check_heartbeat_interval(field: str, value: object) -> None:
    """A heartbeat interval is a whole number of seconds from 1 to :data:`MAX_HEARTBEAT_INTERVAL`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, value, "must be an integer >= 1 second")
    if value > MAX_HEARTBEAT_INTERVAL:
        raise ConfigError(field, value, f"must be at most {MAX_HEARTBEAT_INTERVAL} seconds (a day)")


def _open_journal(url: str) -> BaseStorage:
    """Optuna's Redis journal storage (see :func:`open_storage`)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalRedisBackend

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    prefix = query.pop("prefix", "")
    plain = urlunsplit(parts._replace(query=urlencode(query)))
    try:
        with warnings.catch_warnings():  # "experimental" in Optuna: not the user's concern
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            backend = JournalRedisBackend(plain, prefix=prefix)
        backend._redis.ping()
        return JournalStorage(backend)
    except Exception as exc:  # redis raises many types; the user needs one line
        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        raise ConfigError("storage", url, f"cannot open the storage: {first}") from None


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
    try:
        return load(d["name"], **kwargs)
    except ConfigError as exc:  # name the study-file key: dataset.root, and `download = true`, not download=True
        if exc.field.startswith("dataset."):
            raise
        field = f"dataset.{exc.field}" if exc.field in (*kwargs, "name") else exc.field
        reason = exc.reason.replace("pass download=True", "set download = true in [dataset]")
        raise ConfigError(field, exc.value, reason) from None


def make_sampler(
    config: StudyConfig, num_classes: int | None, artifact_store: Any = None
) -> optuna.samplers.BaseSampler:
    """The sampler of the study's kind (``StudyKind.make_sampler``), configured by its ``[sampler]`` section.

    Raises:
        ConfigError: naming ``sampler.<key>`` for an option the sampler rejects.
    """
    try:
        return config.study_kind.make_sampler(config, num_classes, artifact_store)
    except ConfigError as exc:  # a constraint the sampler rejects (unsatisfiable): its study-file key path
        if exc.field in {c.name for c in config.constraints}:
            raise ConfigError(f"constraints.{exc.field}", exc.value, exc.reason) from None
        raise


def make_objective(config: StudyConfig, data: Any) -> Callable[[optuna.Trial], float]:
    """The objective of the study's kind (``StudyKind.make_objective``)."""
    return config.study_kind.make_objective(config, data)


def target_trials(config: StudyConfig, sampler: optuna.samplers.BaseSampler) -> int:
    """Finished trials the study aims for: the file's ``n_trials``, else the kind's plan for its sampler."""
    if config.n_trials is not None:
        return config.n_trials
    return config.study_kind.planned_trials(sampler)


def open_study(
    config: StudyConfig, storage: BaseStorage, study_name: str, sampler: optuna.samplers.BaseSampler
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


def _summary(storage: BaseStorage, study_name: str) -> optuna.study.StudySummary | None:
    for s in optuna.get_all_study_summaries(storage, include_best_trial=False):
        if s.study_name == study_name:
            return s
    return None


def _pruner(config: StudyConfig) -> optuna.pruners.BasePruner:
    """The pruner of the study's kind (``StudyKind.make_pruner``)."""
    return config.study_kind.make_pruner(config)


def best_feasible(study: optuna.Study, k: int = 5) -> list[optuna.trial.FrozenTrial]:
    """The ``k`` best completed trials that satisfy every constraint."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.value is not None and all(v <= 0 for v in t.constraints.values()) and t.user_attrs.get("trained", True)
    ]
    return sorted(done, key=lambda t: (-(t.value or 0.0), t.number))[:k]


def _counts(study: optuna.Study) -> tuple[int, int, int]:
    """(finished, running, waiting). A failed trial is never a finished one (DESIGN.md, "Nothing lost")."""
    trials = study.get_trials(deepcopy=False)
    finished = sum(1 for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED))
    running = sum(1 for t in trials if t.state == TrialState.RUNNING)
    waiting = sum(1 for t in trials if t.state == TrialState.WAITING)
    return finished, running, waiting


def _log_trial(study: optuna.Study, trial: optuna.trial.FrozenTrial, stream: Any) -> None:
    ua = trial.user_attrs
    where = _where(trial)
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
    max_retry: int = MAX_RETRY,
) -> optuna.Study:
    """Validate everything, then create or resume the study and run trials until it has its target.

    Nothing is written to storage before the study file, the dataset and the sampler settings
    (constraints included) have been validated.

    A trial whose objective raises, or returns a non-finite value, is queued again with the same
    candidate up to ``max_retry`` times, then failed for good (one log line each); a failed trial
    never counts towards the target. On Ctrl-C the running trial is failed and queued again, so
    the same call later evaluates it first.

    Raises:
        ConfigError: bad input (nothing written).
        Interrupted: Ctrl-C; its message says what became of the running trial.
        TrialsFailed: ``FAILED_IN_A_ROW`` candidates in a row failed for good.
    """
    stream = stream if stream is not None else sys.stdout
    _check_n_trials("--n-trials", n_trials)
    _check_n_trials("study.n_trials", config.n_trials)
    for flag, value in (("--study-name", study_name), ("--storage", storage_url)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(flag, value, "must be a non-empty string")
    validate.non_negative_int("max_retry", max_retry)
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ConfigError("--timeout", timeout, "must be a positive number of seconds")
    kind = config.study_kind
    if baselines and kind.baselines is None:
        with_baselines = [k.name for k in REGISTRY.values() if k.baselines is not None]
        raise ConfigError("--baselines", config.kind, f"baselines exist for {'/'.join(with_baselines)} studies")
    if n_trials is not None:
        config = dataclasses.replace(config, n_trials=n_trials)
    url = storage_url or config.storage or DEFAULT_STORAGE
    name = study_name or config.name
    _check_device(config)
    data = load_data(config)
    objective = make_objective(config, data)  # validates objective options (e.g. train.augment)
    from optuna.artifacts import FileSystemArtifactStore

    adir = artifact_dir(config, url)
    _check_writable_dir("study.artifacts" if config.artifacts else "storage", adir)
    # Validates sampler options and constraints; the store only touches its folder when used.
    sampler = make_sampler(config, data.num_classes, FileSystemArtifactStore(str(adir)))
    _check_sqlite_file(url)
    storage = open_storage(url, heartbeat_interval=heartbeat_interval, max_retry=max_retry)
    # optnas prints one line per trial itself, failures included (Optuna would log each with a traceback).
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        study = open_study(config, storage, name, sampler)
        study.set_user_attr(ARTIFACT_ATTR, str(adir.resolve()))  # a read-only storage fails here, first
        adir.mkdir(parents=True, exist_ok=True)
        target = target_trials(config, sampler)
        print(
            f"optnas: study {name!r} ({config.kind}) in {url}: target {target} finished trials; "
            f"dashboard: optuna-dashboard {url}",
            file=stream,
        )
        tracker = _Tracker()
        try:
            _optimize(study, objective, sampler, target, timeout, max_retry, stream, tracker, kind.exhausted)
        except KeyboardInterrupt:
            raise Interrupted(_interrupted(study, tracker)) from None
    except optuna.exceptions.StorageInternalError as exc:
        cause = exc.__cause__ or exc
        lines = str(cause).strip().splitlines()
        first = lines[0] if lines else type(cause).__name__
        raise ConfigError("storage", url, f"cannot write to the storage: {first}") from None
    if baselines and kind.baselines is not None:
        for name, result in kind.baselines(config, data, study).items():
            print(f"baseline {name}: {result}", file=stream)
    _print_summary(study, stream)
    return study


class _Tracker:
    """Which trial this worker runs, and how its objective ended (set from inside ``optimize``)."""

    def __init__(self) -> None:
        self.trial_id: int | None = None
        self.number: int | None = None
        self.error: BaseException | None = None
        self.value: Any = None

    def start(self, trial: FrozenTrial) -> None:
        self.trial_id, self.number, self.error, self.value = trial._trial_id, trial.number, None, None


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _track(sampler: optuna.samplers.BaseSampler, tracker: _Tracker) -> None:
    """Record each trial this worker starts, before its sampler sees it.

    ``before_trial`` is the first code that runs for a new trial, so a Ctrl-C while the sampler
    is still planning (a JointNAS pick, a predictor fit) still knows which trial to queue again.
    The trial also gets its worker's ``host:pid`` (:data:`WORKER_ATTR`).
    """
    original = sampler.before_trial

    def before_trial(study_: optuna.Study, trial: FrozenTrial) -> None:
        tracker.start(trial)
        study_._storage.set_trial_system_attr(trial._trial_id, WORKER_ATTR, _worker())
        original(study_, trial)

    setattr(sampler, "before_trial", before_trial)  # noqa: B010 (an instance attribute, for this run only)


def _guard(objective: Callable[[optuna.Trial], float], tracker: _Tracker) -> Callable[[optuna.Trial], float]:
    """The objective, recording its exception or its value in ``tracker``."""

    def guarded(trial: optuna.Trial) -> float:
        try:
            value = objective(trial)
        except optuna.TrialPruned:
            raise
        except Exception as exc:
            tracker.error = exc
            trial.set_user_attr(ERROR_ATTR, short_error(exc))
            raise
        tracker.value = value
        if not (isinstance(value, int | float) and math.isfinite(value)):
            trial.set_user_attr(ERROR_ATTR, short_error(None, value))
        return value

    return guarded


def _optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], float],
    sampler: optuna.samplers.BaseSampler,
    target: int,
    timeout: float | None,
    max_retry: int,
    stream: Any,
    tracker: _Tracker,
    exhausted: Callable[[optuna.Study, optuna.samplers.BaseSampler], bool],
) -> None:
    """Run trials one at a time until the study has ``target`` finished trials (or ``exhausted`` says
    the sampler has nothing left to propose)."""
    _track(sampler, tracker)
    guarded = _guard(objective, tracker)
    start = time.monotonic()
    seen = {t.number for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    failed_in_a_row = 0
    while True:
        if timeout is not None and time.monotonic() - start > timeout:
            print("optnas: timeout reached", file=stream)
            break
        finished, running, waiting = _counts(study)
        if finished >= target and waiting == 0:  # enqueued trials (optnas evolve --enqueue) are always run
            break
        if waiting == 0 and running == 0 and exhausted(study, sampler):  # a grid: every point tried
            print(
                f"optnas: every grid point has been tried; {finished} finished, the rest failed for good", file=stream
            )
            break
        if finished + running >= target and waiting == 0:
            # The last trials run elsewhere; stay to pick up a retry if one of them dies.
            optuna.storages.fail_stale_trials(study)
            time.sleep(1.0)
            continue
        # A dead worker of this host is known at once (its pid is gone), heartbeat or not: its trial
        # is queued again *before* this worker asks for a new one, so a resumed single-worker run
        # evaluates it first and plans the next batch exactly as an uninterrupted run would.
        _fail_dead_local_trials(study, max_retry, stream)
        tracker.trial_id = tracker.number = None
        study.optimize(guarded, n_trials=1, catch=(Exception,), gc_after_trial=False)
        mine = _after_trial(study, tracker, max_retry, stream)
        if mine is not None:
            seen.add(mine.number)
            if mine.state == TrialState.FAIL and isinstance(tracker.error, OptnasError):
                raise tracker.error  # bad input found only in a trial (its retry waits, uncounted)
            if mine.state == TrialState.FAIL and not is_retried(study.get_trials(deepcopy=False), mine.number):
                failed_in_a_row += 1
                if failed_in_a_row >= FAILED_IN_A_ROW:
                    raise TrialsFailed(
                        f"{failed_in_a_row} candidates in a row failed for good, the last with "
                        f"{mine.user_attrs.get(ERROR_ATTR, 'an error')}; fix the cause and rerun"
                    )
            elif mine.state != TrialState.FAIL:
                failed_in_a_row = 0
        new = [t for t in study.get_trials(deepcopy=False) if t.number not in seen and t.state.is_finished()]
        for t in sorted(new, key=lambda x: x.number):
            seen.add(t.number)
            _log_trial(study, t, stream)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fail_dead_local_trials(study: optuna.Study, max_retry: int, stream: Any) -> None:
    """Fail and retry the running trials of dead workers on this host (no heartbeat grace needed)."""
    from optuna.exceptions import UpdateFinishedTrialError

    host = socket.gethostname()
    storage = study._storage
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = t.system_attrs.get(WORKER_ATTR)
        if not isinstance(worker, str):
            continue
        h, _, pid = worker.rpartition(":")
        if h != host or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        try:
            if not storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL):
                continue
        except UpdateFinishedTrialError:
            continue
        again = requeue(study, storage.get_trial(t._trial_id), max_retry=max_retry)
        retried = f"queued again as trial {again}" if again is not None else "its retries are spent"
        print(f"trial {t.number:4d} [{_where(t)}] failed: its worker (pid {pid}) is gone; {retried}", file=stream)


def _after_trial(study: optuna.Study, tracker: _Tracker, max_retry: int, stream: Any) -> FrozenTrial | None:
    """Log this worker's trial; queue a failed one again (or say it failed for good)."""
    if tracker.trial_id is None:
        return None
    trial = study._storage.get_trial(tracker.trial_id)
    if trial.state != TrialState.FAIL:
        _log_trial(study, trial, stream)
        return trial
    reason = trial.user_attrs.get(ERROR_ATTR) or short_error(tracker.error, tracker.value)
    where = _where(trial)
    if isinstance(tracker.error, OptnasError):
        requeue(study, trial, interrupted=True, max_retry=max_retry)
        return trial
    again = requeue(study, trial, max_retry=max_retry)
    if again is not None:
        n = failure_count(trial) + 1
        print(
            f"trial {trial.number:4d} [{where}] failed: {reason}; queued again as trial {again} "
            f"(retry {n} of {max_retry})",
            file=stream,
        )
    else:
        chain = [*trial.system_attrs.get("retry_history", []), trial.number]
        print(
            f"trial {trial.number:4d} [{where}] failed for good: {reason}; its candidate failed "
            f"{len(chain)} times (trials {', '.join(map(str, chain))}) and is dropped; it does not count "
            "towards the target",
            file=stream,
        )
    return trial


def _interrupted(study: optuna.Study, tracker: _Tracker) -> str:
    """After Ctrl-C: fail this worker's running trial and queue it again; what to tell the user."""
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None  # a second Ctrl-C waits
    try:
        if tracker.trial_id is None:
            return "no trial was running; run the same command again to continue the study"
        trial = study._storage.get_trial(tracker.trial_id)
        if trial.state == TrialState.RUNNING:  # stopped before or after its objective ran
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            trial = study._storage.get_trial(tracker.trial_id)
        if trial.state != TrialState.FAIL:
            return f"trial {trial.number} had finished; run the same command again to continue the study"
        again = requeue(study, trial, interrupted=True)
        if again is None:
            return f"trial {trial.number} was stopped; run the same command again to continue the study"
        return (
            f"trial {trial.number} was stopped and is queued again as trial {again}: its candidate runs first "
            "when the same command is run again"
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _where(trial: FrozenTrial) -> str:
    ua = trial.user_attrs
    return f"{ua.get('stage', '-')}/b{ua.get('batch', '-')}" if "stage" in ua else "-"


#: The largest ``n_trials`` accepted: more is a typo, not a plan.
MAX_N_TRIALS = 10**9


def _check_n_trials(field: str, value: object) -> None:
    if value is None:
        return
    if validate.positive_int(field, value) > MAX_N_TRIALS:
        raise ConfigError(field, value, f"must be at most {MAX_N_TRIALS:,}")


def _check_device(config: StudyConfig) -> None:
    """``train.device`` must exist on this machine before the study is touched."""
    device = config.train.device
    if device is None:
        return
    if not isinstance(device, str):
        raise ConfigError("train.device", device, "must be a string such as 'cpu' or 'cuda'")
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError("train.device", device, f"not a torch device: {str(exc).splitlines()[0]}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device", device, "CUDA is not available on this machine")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ConfigError("train.device", device, f"this machine has {torch.cuda.device_count()} CUDA device(s)")
    if dev.type not in ("cpu", "cuda", "mps"):
        raise ConfigError("train.device", device, "optnas trains on 'cpu', 'cuda' or 'mps'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("train.device", device, "MPS is not available on this machine")


def _check_sqlite_file(url: str) -> None:
    """An existing file named by a SQLite URL must be a SQLite database (SQLite silently takes over a
    non-empty file shorter than its header, and the user's file is lost)."""
    if not url.startswith("sqlite:///"):
        return
    path = Path(url[len("sqlite:///") :].split("?", 1)[0].removeprefix("file:"))
    if path.is_file() and path.stat().st_size > 0:
        with path.open("rb") as f:
            header = f.read(16)
        if header != b"SQLite format 3\x00":
            raise ConfigError("storage", url, f"{str(path)!r} exists and is not a SQLite database")


def _check_writable_dir(field: str, path: Path) -> None:
    """``path`` is a writable directory or can be created: tried now, and what was created removed again."""
    missing = []
    existing = path
    while not existing.exists() and existing != existing.parent:
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(field, str(path), f"artifact directory: {str(existing)!r} is not a directory")
    if not os.access(existing, os.W_OK):
        raise ConfigError(field, str(path), f"artifact directory: {str(existing)!r} is not writable")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(field, str(path), f"cannot create the artifact directory: {exc.strerror}") from None
    for p in missing:  # deepest first: nothing is left behind before the study is opened
        p.rmdir()


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
