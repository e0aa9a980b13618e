"""Exceptions that carry a user-facing, one-line message naming the bad field and value."""

from __future__ import annotations

__all__ = ["ConfigError", "OptnasError"]


class OptnasError(Exception):
    """Base class for errors optnas reports to users.

    The CLI prints ``str(error)`` on one line (no traceback) and exits with status 2.
    """


class ConfigError(OptnasError, ValueError):
    """Invalid user input: the message names the field and the offending value."""

    def __init__(self, field: str, value: object, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"{field}={value!r}: {reason}")
