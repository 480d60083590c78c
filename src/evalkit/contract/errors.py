"""One exception type for every user-facing error.

The command line prints ``str(error)`` on one line and exits non-zero, with no traceback,
so the message must name what is wrong and where (file, row, column, key) and what was
expected.
"""

from __future__ import annotations


class EvalkitError(ValueError):
    """A problem with the user's input or settings, explained in one line."""


class ProblemsError(EvalkitError):
    """Several problems at once (a data validation report): a summary line, then one
    problem per line. The command line prints each on its own line."""


class NotEstimableError(EvalkitError):
    """An analysis this sample cannot support (one answer only, a constant term, ...).

    Not a user error: callers report the analysis as "not estimable" with ``str(error)`` as
    the reason and go on. ``key`` and ``values`` name the reason for translated reports
    (``caution.<key>`` in ``evalkit/locale``).
    """

    def __init__(self, message: str, key: str = "not_estimable", **values: object) -> None:
        super().__init__(message)
        self.key = key
        self.values = values


def one_line(exc: BaseException) -> str:
    """``exc`` as one line: its message with whitespace collapsed, prefixed by its type unless
    it is an :class:`EvalkitError` (whose messages are written for the user already)."""
    text = " ".join(str(exc).split())
    if isinstance(exc, EvalkitError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
