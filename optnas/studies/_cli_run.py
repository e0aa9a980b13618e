"""``optnas run STUDY.toml [--storage URL] [--study-name NAME] [--n-trials N] [--timeout S] [--device DEV]``."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from optnas._errors import ConfigError
from optnas.studies._runner import _check_device, check_heartbeat_interval, run_study
from optnas.studies._schema import load_study_file
from optnas.studies._sections import TrainSection

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the arguments."""
    parser.add_argument("study_file", metavar="STUDY.toml", help="study file (see studies/ and the README)")
    parser.add_argument("--storage", default=None, help="storage URL (default: the file's, else sqlite:///optnas.db)")
    parser.add_argument("--study-name", default=None, help="study name (default: the file's)")
    parser.add_argument("--n-trials", type=int, default=None, help="finished trials to reach (default: the plan)")
    parser.add_argument("--timeout", type=float, default=None, help="stop this worker after S seconds")
    parser.add_argument(
        "--device",
        default=None,
        help="torch device this worker trains on, e.g. cuda:1 (overrides [train] device)",
    )
    parser.add_argument(
        "--heartbeat-interval",
        type=int,
        default=None,
        help="seconds between heartbeats; a worker silent for 3 intervals is failed and its trial retried (default 30)",
    )
    parser.add_argument(
        "--baselines",
        action="store_true",
        help="augmentation studies: afterwards, train the child with the [augment] baselines "
        "(no augmentation, TrivialAugment, published policies) and store them with the study",
    )


def run(args: argparse.Namespace) -> int:
    """Create or resume the study and run it."""
    if Path(args.study_file).is_dir():
        raise ConfigError("STUDY.toml", args.study_file, "is a directory; give a study file (e.g. studies/*.toml)")
    config = load_study_file(args.study_file)
    if args.device is not None:
        try:
            train = TrainSection.parse({**dict(config.train), "device": args.device})
            config = dataclasses.replace(config, train=train)
            _check_device(config)
        except ConfigError as exc:  # the flag the user typed, not the study-file key it overrides
            raise ConfigError("--device", args.device, exc.reason) from None
    if args.heartbeat_interval is not None:
        check_heartbeat_interval("--heartbeat-interval", args.heartbeat_interval)
    run_study(
        config,
        storage_url=args.storage,
        study_name=args.study_name,
        n_trials=args.n_trials,
        timeout=args.timeout,
        heartbeat_interval=args.heartbeat_interval,
        baselines=args.baselines,
    )
    return 0
