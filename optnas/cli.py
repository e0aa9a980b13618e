"""The ``optnas`` command line.

Each subcommand lives in its own module, which exposes ``configure(parser)`` and
``run(args) -> int``; this file only wires them together. Errors derived from
:class:`optnas.OptnasError` are printed on one line (``optnas: error: <field>=<value>: <reason>``)
and exit with status 2 (bad input), without a traceback; so are usage errors (a missing or
malformed argument) and files that cannot be written. Ctrl-C prints one line saying what became of
the running trial and exits with status 130.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from optnas._errors import ConfigError, OptnasError

__all__ = ["main"]

# subcommand -> (module, help). Modules are imported only when the subcommand runs.
_COMMANDS: dict[str, tuple[str, str]] = {
    "cost": ("optnas.cost._cli", "exact MACs and parameter count of an architecture"),
    "run": ("optnas.studies._cli_run", "create or resume a study from a study file"),
    "export": ("optnas.studies._cli_export", "export the best result of a study"),
    "report": ("optnas.studies._cli_report", "plotly report of a study"),
    "evolve": ("optnas.studies._cli_evolve", "reuse a study's predictor for new constraints"),
    "augment": ("optnas.augment._cli", "augmentation policy tools (show)"),
}

_INVALID = re.compile(r"argument (?P<field>[^:]+): invalid (?P<type>\w+) value: (?P<value>.*)")
_CHOICE = re.compile(r"argument (?P<field>[^:]+): invalid choice: (?P<value>'[^']*'|\S+) \(choose from (?P<c>.*)\)")
_EXPECTED = re.compile(r"argument (?P<field>[^:]+): (?P<reason>expected .*)")
_TYPES = {"int": "must be an integer", "float": "must be a number"}


class _Parser(argparse.ArgumentParser):
    """``ArgumentParser`` whose usage errors are one-line :class:`ConfigError` s (``--help`` unchanged)."""

    def error(self, message: str) -> NoReturn:
        raise _usage_error(self.prog, message)


def _field(text: str) -> str:
    """``--n-trials`` from argparse's ``-n/--n-trials``; the first long name of an aliased option."""
    parts = [p.strip() for p in text.split("/")]
    longs = [p for p in parts if p.startswith("--")]
    return longs[0] if longs else parts[-1]


def _usage_error(prog: str, message: str) -> ConfigError:
    """The argparse message as ``<field>=<value>: <reason>``."""
    see = f"see {prog} --help"
    if m := _CHOICE.fullmatch(message):
        choices = ", ".join(c.strip(" '") for c in m["c"].split(","))
        return ConfigError(_field(m["field"]), m["value"].strip("'"), f"invalid choice; expected one of {choices}")
    if m := _INVALID.fullmatch(message):
        reason = _TYPES.get(m["type"], f"invalid {m['type']} value")
        return ConfigError(_field(m["field"]), m["value"].strip("'"), reason)
    if m := _EXPECTED.fullmatch(message):
        return ConfigError(_field(m["field"]), None, f"{m['reason']} ({see})")
    if message.startswith("the following arguments are required: "):
        missing = [_field(a) for a in message.split(": ", 1)[1].split(", ")]
        also = f" (also {', '.join(missing[1:])})" if len(missing) > 1 else ""
        return ConfigError(missing[0], None, f"is required{also}; {see}")
    if message.startswith("unrecognized arguments: "):
        rest = message.split(": ", 1)[1]
        return ConfigError("argument", rest.split()[0], f"unrecognized ({see})")
    return ConfigError(prog.split()[-1], None, f"{message} ({see})")


def _parser(commands: dict[str, tuple[str, str]], selected: str | None) -> argparse.ArgumentParser:
    parser = _Parser(prog="optnas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_) in commands.items():
        p = sub.add_parser(name, help=help_, description=help_)
        if name == selected:
            importlib.import_module(module).configure(p)
        else:
            p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _reject_empty(argv: Sequence[str]) -> None:
    """An empty argument (``--study-name ""``) is an error, never a silent fall-back to a default."""
    for i, arg in enumerate(argv):
        if arg.startswith("--") and arg.endswith("=") and "=" not in arg[:-1]:
            raise ConfigError(arg[:-1], "", "must not be empty")
        if not arg.strip():
            field = argv[i - 1] if i > 0 and argv[i - 1].startswith("-") else "argument"
            raise ConfigError(field, arg, "must not be empty")


#: Commands that read an existing study: a SQLite URL must name an existing file (never create one).
_READERS = ("export", "report", "evolve")


def _check_existing_storage(args: argparse.Namespace) -> None:
    url = getattr(args, "storage", None)
    if args.command not in _READERS or not isinstance(url, str) or not url.startswith("sqlite:///"):
        return
    path = url[len("sqlite:///") :].split("?", 1)[0].removeprefix("file:")
    if path and path != ":memory:" and not Path(path).is_file():
        raise ConfigError("--storage", url, "no such SQLite file" if not Path(path).exists() else "not a file")


def _os_error(exc: OSError, args: argparse.Namespace | None) -> ConfigError:
    """A file that cannot be read or written, named by the flag that gave it."""
    name = exc.filename if exc.filename is not None else exc.filename2
    reason = exc.strerror or type(exc).__name__
    if name is not None and args is not None:
        target = Path(os.fsdecode(name))
        for key, value in vars(args).items():
            if isinstance(value, str | Path) and value and (Path(value) == target or Path(value) in target.parents):
                flag = key if key in ("study_file", "policy") else "--" + key.replace("_", "-")
                return ConfigError(flag, str(value), f"cannot use {os.fsdecode(name)!r}: {reason}")
    return ConfigError("file", os.fsdecode(name) if name is not None else None, reason)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``optnas`` console script."""
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    args_list = list(sys.argv[1:] if argv is None else argv)
    commands = _COMMANDS
    selected = next((a for a in args_list if not a.startswith("-")), None)
    args: Any = None
    try:
        _reject_empty(args_list)
        parser = _parser(commands, selected if selected in commands else None)
        args = parser.parse_args(args_list)
        _check_existing_storage(args)
        module = importlib.import_module(commands[args.command][0])
        return int(module.run(args))
    except OptnasError as exc:
        print(f"optnas: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:
        print(f"optnas: error: {_os_error(exc, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        detail = str(exc)
        print(f"optnas: interrupted: {detail}" if detail else "optnas: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
