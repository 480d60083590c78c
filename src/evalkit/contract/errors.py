"""One exception type for every user-facing error.

The command line prints ``str(error)`` on one line and exits non-zero, with no traceback,
so the message must name what is wrong and where (file, row, column, key) and what was
expected.
"""

from __future__ import annotations

import re


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


#: Characters a terminal may act on (C0 and C1 controls, DEL), except tab and line feed.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters shown as escapes: a folder named ``x\\x1b[31m``
    reaches the terminal as written, never as a colour change or a cursor move.

    >>> printable("county\\x1b[31m")
    'county\\\\x1b[31m'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
