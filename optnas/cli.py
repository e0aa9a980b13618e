"""The ``optnas`` command line.

Each subcommand lives in its own module, which exposes ``configure(parser)`` and
``run(args) -> int``; this file only wires them together. Errors derived from
:class:`optnas.OptnasError` are printed on one line (``optnas: error: ...``) and exit with
status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from optnas._errors import OptnasError

__all__ = ["main"]

# subcommand -> (module, help). Modules are imported only when the subcommand runs.
_COMMANDS: dict[str, tuple[str, str]] = {
    "cost": ("optnas.cost._cli", "exact MACs and parameter count of an architecture"),
    "run": ("optnas.studies._cli_run", "create or resume a study from a study file"),
    "export": ("optnas.studies._cli_export", "export the best result of a study"),
    "report": ("optnas.studies._cli_report", "plotly report of a study"),
    "evolve": ("optnas.evolution._cli", "reuse a study's predictor for new constraints"),
    "augment": ("optnas.augment._cli", "augmentation policy tools (show)"),
}


def _parser(commands: dict[str, tuple[str, str]], selected: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="optnas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_) in commands.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == selected:
            importlib.import_module(module).configure(p)
        else:
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``optnas`` console script."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    args_list = list(sys.argv[1:] if argv is None else argv)
    commands = _COMMANDS
    selected = next((a for a in args_list if not a.startswith("-")), None)
    parser = _parser(commands, selected if selected in commands else None)
    args = parser.parse_args(args_list)
    module = importlib.import_module(commands[args.command][0])
    try:
        return int(module.run(args))
    except OptnasError as exc:
        print(f"optnas: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("optnas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
