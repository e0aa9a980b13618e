"""The bad-input table (DESIGN.md "Clear errors", issue 14): every case is data.

Each case is one bad input to a study file, a command of the ``optnas`` CLI or a Python entry
point. For every case:

* the CLI exits with status 2 (a Python entry point raises an :class:`optnas.OptnasError` whose
  exit status is 2);
* stderr is exactly one line ``optnas: error: <field>=<value>: <reason>`` that contains the
  expected field and value (stdout is empty), with no traceback;
* nothing is created or changed: no storage, artifact or output file (every file in the case's
  folder is compared before and after, the existing study database included).

The CLI cases run ``optnas.cli.main`` in-process (the argument list is exactly what the console
script passes it) so that the table stays fast; :func:`test_console_script` runs one case of
every command through the real ``optnas`` executable in a subprocess. The table grows with
every new option: add a row.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from optnas import OptnasError
from optnas.cli import main

BASE = """
[study]
kind = "jointnas"
name = "s"
seed = 0

[dataset]
name = "digits"
subset = 100

[space]
preset = "digits"

[constraints]
max_macs = 1.0e6

[sampler]
batch_size = 2
n_batches = 1
final_batch_size = 0
pool_size = 16

[train]
epochs = 1
"""

RANDAUGMENT = """
[study]
kind = "randaugment"
name = "ra"
seed = 0

[dataset]
name = "digits"
subset = 100

[space]
preset = "digits"

[augment]
n = [1]
m = [5]
prune = false

[train]
epochs = 1
"""

AUTOAUGMENT = RANDAUGMENT.replace('kind = "randaugment"', 'kind = "autoaugment"').replace("n = [1]\nm = [5]\n", "")


def sub(old: str, new: str, base: str = BASE) -> str:
    """``base`` with its first ``old`` replaced (``old`` must occur)."""
    assert old in base, old
    return base.replace(old, new, 1)


@dataclass(frozen=True)
class Case:
    """One bad input.

    Args:
        id: the test id.
        argv: ``optnas`` arguments (``{tmp}`` is the case's folder, also the working directory);
            empty for a Python case.
        expect: text the one-line error must contain (the field and the value).
        files: input files written before the run (name -> text).
        python: for a Python entry point: called with the case's folder.
        without_cuda: the input is bad only where CUDA is not available (skipped elsewhere).
    """

    id: str
    argv: tuple[str, ...]
    expect: str
    files: dict[str, str] = field(default_factory=dict)
    python: Callable[[Path], Any] | None = None
    without_cuda: bool = False  # bad only on a machine without CUDA (skipped where CUDA is available)


def run_file(name: str, text: str, expect: str, *extra: str) -> Case:
    """``optnas run bad.toml`` with a fresh SQLite URL: the study file ``text`` is bad."""
    return Case(name, ("run", "bad.toml", "--storage", "sqlite:///new.db", *extra), expect, {"bad.toml": text})


STUDY_FILE_CASES = [
    run_file("kind-unknown", sub('kind = "jointnas"', 'kind = "nas"'), "study.kind='nas'"),
    run_file("kind-number", sub('kind = "jointnas"', "kind = 3"), "study.kind=3"),
    run_file("kind-missing", sub('kind = "jointnas"\n', ""), "study.kind=None"),
    run_file("seed-negative", sub("seed = 0", "seed = -1"), "study.seed=-1"),
    run_file("seed-string", sub("seed = 0", 'seed = "zero"'), "study.seed='zero'"),
    run_file("n-trials-zero", sub("seed = 0", "seed = 0\nn_trials = 0"), "study.n_trials=0"),
    run_file("n-trials-absurd", sub("seed = 0", "seed = 0\nn_trials = 10000000000"), "study.n_trials=10000000000"),
    run_file("n-trials-string", sub("seed = 0", 'seed = 0\nn_trials = "5"'), "study.n_trials='5'"),
    run_file("study-unknown-key", sub("seed = 0", "seed = 0\ncolour = 1"), "study.colour=1"),
    run_file("unknown-section", BASE + "\n[bogus]\nx = 1\n", "section='bogus'"),
    run_file("toml-syntax", BASE + "\n[train\n", "study file="),
    run_file("dataset-unknown", sub('name = "digits"', 'name = "mnist2"'), "dataset.name='mnist2'"),
    run_file("dataset-subset-string", sub("subset = 100", 'subset = "abc"'), "dataset.subset='abc'"),
    run_file("dataset-subset-zero", sub("subset = 100", "subset = 0"), "dataset.subset=0"),
    run_file("dataset-unknown-key", sub("subset = 100", "subset = 100\ncolour = 1"), "dataset.colour=1"),
    run_file(
        "cifar10-without-data",
        sub('name = "digits"', 'name = "cifar10"\nroot = "nocifar"'),
        "download = true",
    ),
    run_file(
        "imagefolder-missing-root",
        sub('name = "digits"', 'name = "imagefolder"\nroot = "/nonexistent/optnas"'),
        "dataset.root='/nonexistent/optnas'",
    ),
    run_file("preset-unknown", sub('preset = "digits"', 'preset = "huge"'), "'huge'"),
    run_file("override-min-gt-max", BASE + "\n[space.overrides]\ng1_c = [32, 16]\n", "space.overrides.g1_c=[32, 16]"),
    run_file("override-unknown-dim", BASE + "\n[space.overrides]\nnope = [1, 2]\n", "space.overrides.nope="),
    run_file("constraint-unknown-metric", sub("max_macs = 1.0e6", "max_flops = 1.0e6"), "constraints.max_flops="),
    run_file("constraint-string", sub("max_macs = 1.0e6", 'max_macs = "1e6"'), "constraints.max_macs='1e6'"),
    run_file("constraint-negative", sub("max_macs = 1.0e6", "max_macs = -1"), "max_macs=-1"),
    run_file(
        "constraint-unsatisfiable", sub("max_macs = 1.0e6", "max_macs = 10"), "constraints.max_macs=10: no candidate"
    ),
    run_file("sampler-unknown-key", sub("pool_size = 16", "pool_size = 16\nbogus = 3"), "sampler.bogus=3: unknown key"),
    run_file("sampler-seed", sub("pool_size = 16", "pool_size = 16\nseed = 3"), "sampler.seed=3"),
    run_file("sampler-batch-zero", sub("batch_size = 2", "batch_size = 0"), "sampler.batch_size=0"),
    run_file("sampler-batch-string", sub("batch_size = 2", 'batch_size = "2"'), "sampler.batch_size='2'"),
    run_file("sampler-n-batches-negative", sub("n_batches = 1", "n_batches = -1"), "sampler.n_batches=-1"),
    run_file("sampler-pool-too-small", sub("pool_size = 16", "pool_size = 1"), "pool_size=1"),
    run_file("sampler-predictor-unknown", BASE + "\n[sampler.predictor]\nhiddn = 3\n", "sampler.predictor.hiddn=3"),
    run_file(
        "sampler-predictor-free-data",
        BASE + '\n[sampler.predictor]\nfree_data = "naswot"\n',
        "predictor.free_data='naswot': expected one of",
    ),
    run_file("sampler-ga-population", BASE + "\n[sampler.ga]\npopulation = 0\n", "sampler.ga.population=0"),
    run_file("sampler-ga-unknown", BASE + "\n[sampler.ga]\npopulaton = 8\n", "sampler.ga.populaton=8"),
    run_file("train-epochs-zero", sub("epochs = 1", "epochs = 0"), "train.epochs=0"),
    run_file("train-epochs-string", sub("epochs = 1", 'epochs = "1"'), "train.epochs='1'"),
    Case(
        "train-device-cuda-without-cuda",
        ("run", "bad.toml", "--storage", "sqlite:///new.db"),
        "train.device='cuda': CUDA is not available",
        {"bad.toml": sub("epochs = 1", 'epochs = 1\ndevice = "cuda"')},
        without_cuda=True,
    ),
    run_file("train-device-tpu", sub("epochs = 1", 'epochs = 1\ndevice = "tpu"'), "train.device='tpu'"),
    run_file("train-device-cuda9", sub("epochs = 1", 'epochs = 1\ndevice = "cuda:9"'), "train.device='cuda:9'"),
    run_file("train-device-garbage", sub("epochs = 1", 'epochs = 1\ndevice = "cpux"'), "train.device='cpux'"),
    run_file("train-augment-unknown", sub("epochs = 1", 'epochs = 1\naugment = "nope"'), "train.augment='nope'"),
    run_file("train-threads-zero", sub("epochs = 1", "epochs = 1\nnum_threads = 0"), "train.num_threads=0"),
    run_file("train-unknown-key", sub("epochs = 1", "epochs = 1\nepoch = 2"), "train.epoch=2"),
    run_file("artifacts-under-proc", sub("seed = 0", 'seed = 0\nartifacts = "/proc/optnas-x"'), "'/proc/optnas-x'"),
    Case(
        "file-storage-unreachable",
        ("run", "bad.toml"),
        "storage='postgresql+psycopg2://nobody@127.0.0.1:1/none'",
        {"bad.toml": sub("seed = 0", 'seed = 0\nstorage = "postgresql+psycopg2://nobody@127.0.0.1:1/none"')},
    ),
    Case(
        "file-storage-bad-scheme",
        ("run", "bad.toml"),
        "storage='nosuchdb://x'",
        {"bad.toml": sub("seed = 0", 'seed = 0\nstorage = "nosuchdb://x"')},
    ),
    run_file("randaugment-empty-n", sub("n = [1]", "n = []", RANDAUGMENT), "augment.n=[]"),
    run_file("randaugment-m-too-large", sub("m = [5]", "m = [99]", RANDAUGMENT), "augment.m[0]=99"),
    run_file("randaugment-sampler-key", RANDAUGMENT + "\n[sampler]\nbatch_size = 3\n", "sampler.batch_size=3"),
    run_file("randaugment-constraints", RANDAUGMENT + "\n[constraints]\nmax_macs = 1\n", "constraints"),
    run_file("autoaugment-lr-string", AUTOAUGMENT + '\n[sampler]\nlearning_rate = "x"\n', "sampler.learning_rate='x'"),
    run_file("autoaugment-unknown-key", AUTOAUGMENT + "\n[sampler]\nlr = 0.1\n", "sampler.lr=0.1"),
]

RUN = ("run", "study.toml")
CLI_CASES = [
    Case("no-command", (), "COMMAND=None: is required"),
    Case("unknown-command", ("frobnicate",), "COMMAND='frobnicate': invalid choice"),
    Case("run-missing-file-arg", ("run",), "STUDY.toml=None: is required"),
    Case("run-missing-file", ("run", "nope.toml"), "'nope.toml'"),
    Case("run-directory", ("run", "adir"), "STUDY.toml='adir': is a directory"),
    Case("run-empty-file-arg", ("run", ""), "argument='': must not be empty"),
    Case("run-n-trials-abc", (*RUN, "--n-trials", "abc"), "--n-trials='abc': must be an integer"),
    Case("run-n-trials-zero", (*RUN, "--n-trials", "0"), "--n-trials=0"),
    Case("run-n-trials-absurd", (*RUN, "--n-trials", "2000000000"), "--n-trials=2000000000: must be at most"),
    Case("run-timeout-abc", (*RUN, "--timeout", "soon"), "--timeout='soon': must be a number"),
    Case("run-timeout-negative", (*RUN, "--timeout", "-1"), "--timeout=-1.0"),
    Case(
        "run-heartbeat-zero",
        (*RUN, "--heartbeat-interval", "0", "--storage", "sqlite:///n.db"),
        "--heartbeat-interval=0: must be an integer >= 1",
    ),
    Case(
        "run-heartbeat-absurd",  # overflowed the heartbeat thread's sleep: a traceback, and the run went on
        (*RUN, "--heartbeat-interval", "100000000000", "--storage", "sqlite:///n.db"),
        "--heartbeat-interval=100000000000: must be at most 86400",
    ),
    Case(
        "run-device-flag-tpu",
        (*RUN, "--device", "tpu", "--storage", "sqlite:///n.db"),
        "--device='tpu': not a torch device",
    ),
    Case(
        "run-device-flag-cuda-without-cuda",
        (*RUN, "--device", "cuda", "--storage", "sqlite:///n.db"),
        "--device='cuda': CUDA is not available",
        without_cuda=True,
    ),
    Case("run-study-name-empty", (*RUN, "--study-name", ""), "--study-name='': must not be empty"),
    Case("run-study-name-equals-empty", (*RUN, "--study-name="), "--study-name='': must not be empty"),
    Case("run-storage-empty", (*RUN, "--storage", ""), "--storage='': must not be empty"),
    Case("run-storage-missing-value", (*RUN, "--storage"), "--storage=None: expected one argument"),
    Case("run-storage-bad-scheme", (*RUN, "--storage", "nosuchdb://x"), "storage='nosuchdb://x'"),
    Case("run-storage-no-dir", (*RUN, "--storage", "sqlite:///nodir/x.db"), "storage='sqlite:///nodir/x.db'"),
    Case(
        "run-storage-not-sqlite",  # a 1-byte file was taken over by SQLite (the user's file lost)
        (*RUN, "--storage", "sqlite:///notes.txt"),
        "storage='sqlite:///notes.txt': 'notes.txt' exists and is not a SQLite database",
        {"notes.txt": "x"},
    ),
    Case("run-unknown-flag", (*RUN, "--bogus"), "argument='--bogus': unrecognized"),
    Case("run-baselines-jointnas", (*RUN, "--baselines", "--storage", "sqlite:///n.db"), "--baselines='jointnas'"),
    Case(
        "run-read-only-db",
        (*RUN, "--storage", "sqlite:///file:study.db?mode=ro&uri=true", "--n-trials", "5"),
        "cannot write to the storage",
    ),
    Case(
        "run-existing-other-kind",
        ("run", "ra.toml", "--storage", "sqlite:///study.db", "--study-name", "s"),
        "--study-name='s': exists with kind 'jointnas', not 'randaugment'",
    ),
    Case("export-missing-args", ("export",), "--storage=None: is required"),
    Case("export-missing-out", ("export", "--storage", "sqlite:///study.db", "--study-name", "s"), "--out=None"),
    Case(
        "export-no-such-file",
        ("export", "--storage", "sqlite:///no/such.db", "--study-name", "s", "--out", "o"),
        "--storage='sqlite:///no/such.db': no such SQLite file",
    ),
    Case(
        "export-unknown-study",
        ("export", "--storage", "sqlite:///study.db", "--study-name", "nope", "--out", "o"),
        "--study-name='nope'",
    ),
    Case(
        "export-out-proc",
        ("export", "--storage", "sqlite:///study.db", "--study-name", "s", "--out", "/proc/optnas-x"),
        "--out='/proc/optnas-x'",
    ),
    Case(
        "export-top-abc",
        ("export", "--storage", "sqlite:///study.db", "--study-name", "s", "--out", "o", "--top", "abc"),
        "--top='abc': must be an integer",
    ),
    Case(
        "export-study-name-empty",
        ("export", "--storage", "sqlite:///study.db", "--study-name", "", "--out", "o"),
        "--study-name='': must not be empty",
    ),
    Case(
        "report-no-such-file",
        ("report", "--storage", "sqlite:///none.db", "--study-name", "s", "--out", "o"),
        "--storage='sqlite:///none.db': no such SQLite file",
    ),
    Case(
        "report-storage-empty",
        ("report", "--storage", "", "--study-name", "s", "--out", "o"),
        "--storage='': must not be empty",
    ),
    Case(
        "report-unknown-study",
        ("report", "--storage", "sqlite:///study.db", "--study-name", "nope", "--out", "o"),
        "--study-name='nope'",
    ),
    Case(
        "report-top-abc",
        ("report", "--storage", "sqlite:///study.db", "--study-name", "s", "--out", "o", "--top", "x"),
        "--top='x': must be an integer",
    ),
    Case(
        "evolve-no-such-file",
        ("evolve", "--storage", "sqlite:///no/such.db", "--study-name", "s", "--max-mmacs", "1"),
        "--storage='sqlite:///no/such.db': no such SQLite file",
    ),
    Case(
        "evolve-missing-db-here",
        ("evolve", "--storage", "sqlite:///nosuch.db", "--study-name", "s", "--max-mmacs", "1"),
        "--storage='sqlite:///nosuch.db': no such SQLite file",
    ),
    Case(
        "evolve-storage-empty",
        ("evolve", "--storage", "", "--study-name", "s", "--max-mmacs", "1"),
        "--storage='': must not be empty",
    ),
    Case(
        "evolve-unknown-study",
        ("evolve", "--storage", "sqlite:///study.db", "--study-name", "nope", "--max-mmacs", "1"),
        "--study-name='nope'",
    ),
    Case(
        "evolve-budget-abc",
        ("evolve", "--storage", "sqlite:///study.db", "--study-name", "s", "--max-mmacs", "lots"),
        "--max-mmacs='lots': must be a number",  # the option's name, not its old alias
    ),
    Case(
        "evolve-top-k-abc",
        ("evolve", "--storage", "sqlite:///study.db", "--study-name", "s", "--max-mmacs", "1", "--top-k", "a"),
        "--top-k='a': must be an integer",
    ),
    *[
        Case(f"evolve-{name}", ("evolve", "--storage", "sqlite:///study.db", "--study-name", study, *extra), expect)
        for name, study, extra, expect in [
            # a budget no candidate meets: named by its flag, before the predictor is refitted (one line)
            ("budget-unsatisfiable", "s", ("--max-mmacs", "0.001"), "--max-mmacs=0.001: no candidate of the space"),
            ("mparams-unsatisfiable", "s", ("--max-mparams", "1e-7"), "--max-mparams=1e-07: no candidate"),
            ("seed-negative", "s", ("--max-mmacs", "1", "--seed", "-1"), "--seed=-1: must be an integer from 0"),
            ("top-k-absurd", "s", ("--max-mmacs", "1", "--top-k", "100000000"), "--top-k=100000000: must be"),
            ("latency-device-tpu", "s", ("--max-latency-ms", "1", "--latency-device", "tpu"), "--latency-device='tpu'"),
            ("latency-table-missing", "s", ("--max-mmacs", "1", "--latency-table", "no.json"), "'no.json': no such"),
            ("artifacts-missing", "s", ("--max-mmacs", "1", "--artifacts", "noart"), "--artifacts='noart': no such"),
            ("sweep-count-absurd", "s", ("--sweep", "max_mmacs=0.5:1:100000"), "COUNT must be from 1 to 100"),
            ("sweep-stop-lt-start", "s", ("--sweep", "max_mmacs=2:1:3"), "=2:1:3': STOP must be >= START"),
            ("sweep-out-proc", "s", ("--sweep", "max_mmacs=1:2:2", "--out", "/proc/optnas-x"), "'/proc/optnas-x'"),
            ("not-an-optnas-study", "bare", ("--max-mmacs", "1"), "--study-name='bare': is not an optnas"),
        ]
    ],
    Case("augment-no-action", ("augment",), "ACTION=None: is required"),
    Case("augment-show-missing", ("augment", "show"), "POLICY=None: is required"),
    Case(
        "augment-show-unknown-policy",
        ("augment", "show", "nope", "--image", "img.png", "--out", "g.png"),
        "POLICY='nope'",
    ),
    Case(
        "augment-show-bad-randaugment",
        ("augment", "show", "randaugment:x,y", "--image", "img.png", "--out", "g.png"),
        "POLICY='randaugment:x,y'",
    ),
    Case(
        "augment-show-absurd-rows",
        ("augment", "show", "cifar10", "--image", "img.png", "--out", "g.png", "--rows", "100000", "--cols", "100000"),
        "--rows=100000: must be <= 64",
    ),
    Case(
        "augment-show-zero-cols",
        ("augment", "show", "cifar10", "--image", "img.png", "--out", "g.png", "--cols", "0"),
        "--cols=0",
    ),
    Case(
        "augment-show-huge-grid",
        ("augment", "show", "cifar10", "--image", "big.png", "--out", "g.png", "--rows", "64", "--cols", "64"),
        "--rows=64: a 64x64 grid",
    ),
    Case(
        "augment-show-missing-image",
        ("augment", "show", "cifar10", "--image", "none.png", "--out", "g.png"),
        "--image='none.png'",
    ),
    Case(
        "augment-show-not-an-image",
        ("augment", "show", "cifar10", "--image", "study.toml", "--out", "g.png"),
        "--image='study.toml'",
    ),
    Case(
        "augment-show-policy-list",
        ("augment", "show", "list.json", "--image", "img.png", "--out", "g.png"),
        'expected a JSON object {"format": ..., "subpolicies"',
    ),
    Case(
        "augment-show-out-proc",
        ("augment", "show", "cifar10", "--image", "img.png", "--out", "/proc/optnas-x/g.png"),
        "--out='/proc/optnas-x/g.png'",
    ),
    Case("cost-missing-arch", ("cost",), "ARCH=None: is required"),
    Case("cost-bad-arch", ("cost", "not an arch"), "'not an arch'"),
    Case("cost-resolution-zero", ("cost", "mobilenet_v2", "--resolution", "0"), "--resolution=0"),
    Case("cost-num-classes-abc", ("cost", "mobilenet_v2", "--num-classes", "ten"), "--num-classes='ten'"),
]


def _config(tmp: Path, text: str = BASE) -> Any:
    import tomllib

    from optnas.studies import parse_study

    return parse_study(tomllib.loads(text))


def _run_study(tmp: Path, **kwargs: Any) -> Any:
    from optnas.studies import run_study

    return run_study(_config(tmp), stream=io.StringIO(), **{"storage_url": "sqlite:///py.db", **kwargs})


def _sampler(**kwargs: Any) -> Any:
    from optnas.samplers import JointNASSampler
    from optnas.space import preset

    return JointNASSampler(**{"space": preset("digits"), "num_classes": 10, **kwargs})


def _objective(**kwargs: Any) -> Any:
    from optnas.data import load
    from optnas.space import preset
    from optnas.studies import JointNASObjective

    return JointNASObjective(preset("digits"), load("digits", subset=100), **kwargs)


def _parse(text: str) -> Any:
    import tomllib

    from optnas.studies import parse_study

    return parse_study(tomllib.loads(text))


def _load_study_file(path: str) -> Any:
    from optnas.studies import load_study_file

    return load_study_file(path)


def _data(name: str, **kwargs: Any) -> Any:
    from optnas.data import load

    return load(name, **kwargs)


def _open_storage(url: str, **kwargs: Any) -> Any:
    from optnas.studies import open_storage

    return open_storage(url, **kwargs)


def py(name: str, call: Callable[[Path], Any], expect: str) -> Case:
    """A Python entry point called in the case's folder."""
    return Case(name, (), expect, python=call)


PYTHON_CASES = [
    py("py-run-n-trials-zero", lambda t: _run_study(t, n_trials=0), "--n-trials=0"),
    py("py-run-n-trials-absurd", lambda t: _run_study(t, n_trials=10**10), "--n-trials=10000000000"),
    py("py-run-n-trials-float", lambda t: _run_study(t, n_trials=2.5), "--n-trials=2.5"),
    py("py-run-study-name-empty", lambda t: _run_study(t, study_name=""), "--study-name=''"),
    py("py-run-storage-blank", lambda t: _run_study(t, storage_url="  "), "--storage='  '"),
    py("py-run-timeout-nan", lambda t: _run_study(t, timeout=float("nan")), "--timeout=nan"),
    py("py-run-max-retry-negative", lambda t: _run_study(t, max_retry=-1), "max_retry=-1"),
    py("py-run-heartbeat-zero", lambda t: _run_study(t, heartbeat_interval=0), "heartbeat_interval=0"),
    py("py-parse-kind", lambda t: _parse(sub('kind = "jointnas"', 'kind = "x"')), "study.kind='x'"),
    py("py-parse-sampler-key", lambda t: _parse(BASE + "\n[sampler.ga]\nfoo = 1\n"), "sampler.ga.foo=1"),
    py("py-load-study-file-missing", lambda t: _load_study_file("none.toml"), "'none.toml'"),
    py("py-load-study-file-directory", lambda t: _load_study_file(str(t)), "is a directory, not a study file"),
    py("py-sampler-num-classes", lambda t: _sampler(num_classes=0), "num_classes=0"),
    py("py-sampler-batch-size", lambda t: _sampler(batch_size=0), "batch_size=0"),
    py("py-sampler-seed", lambda t: _sampler(seed=-3), "seed=-3"),
    py("py-objective-augment", lambda t: _objective(train={"augment": 3}), "train.augment=3"),
    py("py-data-unknown", lambda t: _data("mnist2"), "'mnist2'"),
    py("py-data-subset", lambda t: _data("digits", subset=-5), "subset=-5"),
    py(
        "py-open-storage-heartbeat-absurd",
        lambda t: _open_storage("sqlite:///h.db", heartbeat_interval=10**11),
        "heartbeat_interval=100000000000: must be at most",
    ),
    py("py-open-storage-scheme", lambda t: _open_storage("nosuchdb://x"), "storage='nosuchdb://x'"),
]

CASES = STUDY_FILE_CASES + CLI_CASES + PYTHON_CASES


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)
    commands = {c.argv[0] for c in CASES if c.argv}
    assert commands >= {"run", "export", "report", "evolve", "augment", "cost"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs every case may use: study files, images, a policy list, a folder, and a study database
    with one finished JointNAS study ``s`` (and its artifacts)."""
    import optuna
    from PIL import Image

    from optnas.studies import run_study

    root = tmp_path_factory.mktemp("world")
    (root / "study.toml").write_text(BASE)
    (root / "ra.toml").write_text(RANDAUGMENT)
    (root / "list.json").write_text('[[{"op": "Rotate", "prob": 1.0, "magnitude": 3}]]')
    (root / "adir").mkdir()
    Image.new("RGB", (16, 16), (120, 30, 200)).save(root / "img.png")
    Image.new("RGB", (1024, 1024), (10, 30, 200)).save(root / "big.png")
    cwd = Path.cwd()
    os.chdir(root)
    try:
        run_study(_config(root), storage_url="sqlite:///study.db", stream=io.StringIO())
        optuna.create_study(study_name="bare", storage="sqlite:///study.db")  # not made by optnas
    finally:
        os.chdir(cwd)
    return root


def _snapshot(root: Path) -> dict[str, tuple[int, str]]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        out[rel] = (-1, "dir") if p.is_dir() else (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def _prepare(case: Case, world: Path, tmp_path: Path) -> Path:
    root = tmp_path / "case"
    shutil.copytree(world, root)
    for name, text in case.files.items():
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Case, world: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if case.without_cuda:
        import torch

        if torch.cuda.is_available():
            pytest.skip("CUDA is available here: the input is not bad")
    root = _prepare(case, world, tmp_path)
    monkeypatch.chdir(root)
    before = _snapshot(root)
    if case.python is not None:
        with pytest.raises(OptnasError) as info:
            case.python(root)
        message = str(info.value)
        assert info.value.exit_code == 2
        assert "\n" not in message and case.expect in message, message
    else:
        assert main(list(case.argv)) == 2
        out, err = capfd.readouterr()
        assert out == "", out
        assert err.startswith("optnas: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err
        assert case.expect in err, err
    assert _snapshot(root) == before, "the case wrote or changed files"
    assert not Path("/proc/optnas-x").exists()


# One case per command through the real console script: exit status, one stderr line, nothing written.
SUBPROCESS_IDS = [
    "kind-unknown",
    "run-n-trials-abc",
    "export-out-proc",
    "report-no-such-file",
    "evolve-missing-db-here",
    "evolve-budget-unsatisfiable",
    "augment-show-absurd-rows",
    "cost-resolution-zero",
    "no-command",
]


@pytest.mark.parametrize("case_id", SUBPROCESS_IDS)
def test_console_script(case_id: str, world: Path, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.id == case_id)
    root = _prepare(case, world, tmp_path)
    before = _snapshot(root)
    optnas = str(Path(sys.executable).with_name("optnas"))
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [optnas, *case.argv], cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("optnas: error: ") and case.expect in proc.stderr, proc.stderr
    assert _snapshot(root) == before


def test_read_only_database_file(world: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """``chattr +i optnas.db`` (immutable even for root), where the file system supports it."""
    root = _prepare(Case("x", (), ""), world, tmp_path)
    db = root / "study.db"
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)], check=False).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        before = _snapshot(root)
        assert main(["run", str(root / "study.toml"), "--storage", f"sqlite:///{db}", "--n-trials", "5"]) == 2
        _, err = capfd.readouterr()
        assert err.count("\n") == 1 and f"storage='sqlite:///{db}': cannot write to the storage" in err, err
        assert _snapshot(root) == before
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=False)
