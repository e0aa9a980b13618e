"""Exceptions that carry a user-facing, one-line message naming the bad field and value."""

from __future__ import annotations

__all__ = ["ConfigError", "Interrupted", "OptnasError", "TrialsFailed"]


class OptnasError(Exception):
    """Base class for errors optnas reports to users.

    The CLI prints ``str(error)`` on one line (no traceback) and exits with :attr:`exit_code`.
    """

    #: Exit status of the ``optnas`` command for this error (2: bad input).
    exit_code = 2


class ConfigError(OptnasError, ValueError):
    """Invalid user input: the message names the field and the offending value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")


class TrialsFailed(OptnasError):
    """The run stopped because candidate after candidate failed for good (not bad input: exit 1)."""

    exit_code = 1


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says what became of the interrupted trial.

    A ``KeyboardInterrupt``, so Python callers of :func:`optnas.studies.run_study` see the
    exception they expect; the CLI prints ``optnas: interrupted: <message>`` and exits 130.
    """
