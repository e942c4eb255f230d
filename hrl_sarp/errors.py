"""Errors that carry a one-line, actionable message.

The CLI prints ``error: <message>`` for any :class:`HrlSarpError` and exits with its ``exit_code`` (1: the command
ran and failed; 2 is kept for usage errors, which the argument parser reports), without a traceback.
"""

from __future__ import annotations


class HrlSarpError(Exception):
    """Base class: the message is the whole story, one line, no traceback needed."""

    exit_code = 1


class ConfigError(HrlSarpError):
    """A configuration file or override is invalid; the message names the key and the problem."""


class InputError(HrlSarpError):
    """Input data is unusable; the message names file, column, row and reason."""

    def __init__(self, reason: str, *, file: str | None = None, column: str | None = None, row: int | None = None):
        self.file, self.column, self.row, self.reason = file, column, row, reason
        super().__init__(format_location(file, row, column, reason))


class NoValidDataError(HrlSarpError):
    """A run found nothing valid to load."""


class WarehouseLockedError(HrlSarpError):
    """Another process holds the DuckDB warehouse for writing."""


class SourceUnavailableError(HrlSarpError):
    """A data source could not be reached (network, remote service): worth retrying later."""


class WarehouseStateError(HrlSarpError):
    """The warehouse lacks what a stage needs (e.g. features before ingestion)."""


def format_location(file: str | None, row: int | None, column: str | None, reason: str) -> str:
    """``file:row: column 'c': reason`` with the parts that are known."""
    where = file or "<input>"
    if row is not None:
        where += f":{row}"
    col = f" column '{column}':" if column else ""
    return f"{where}:{col} {reason}"


def is_transient(exc: BaseException | None) -> bool:
    """Whether a retry may fix ``exc``: an unreachable source or an unexpected (service, I/O) error, but never bad
    input, bad config, a locked warehouse or another :class:`HrlSarpError` that names a problem to fix first."""
    if exc is None:
        return False
    if isinstance(exc, SourceUnavailableError):
        return True
    return not isinstance(exc, HrlSarpError)
