"""A stop signal that cannot be lost.

The command line turns SIGTERM and Ctrl-C into an exception raised in the main thread. Python
runs a signal handler between any two bytecodes, also inside a callback whose exceptions
are "ignored" (a weak reference's callback, a ``__del__``): the exception then vanishes and
the run goes on as if nothing happened (seen: a province run stopped while the LocalCluster
started, which then finished). So the handler also records the signal (:func:`request`), and
long operations call :func:`check` at their natural points (a county finished, the cluster
started, before publishing), which raises again if a stop was requested.
"""

from __future__ import annotations

import signal

_requested: list[int] = []


class TerminatedError(KeyboardInterrupt):
    """SIGTERM (or SIGHUP: the terminal closed), handled as Ctrl-C is: running work stopped,
    temporary files removed. ``signum`` says which."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


def request(signum: int) -> None:
    """Record a stop signal (called by the command line's signal handlers)."""
    _requested.append(signum)


def reset() -> None:
    """Forget earlier stop requests (a new command in the same process)."""
    _requested.clear()


def quiet_unraisable(unraisable: object) -> None:
    """A ``sys.unraisablehook`` that drops the stop swallowed inside a callback (Python
    would print its traceback; :func:`check` raises it again) and reports anything else as
    Python does."""
    import sys

    if isinstance(getattr(unraisable, "exc_value", None), KeyboardInterrupt):
        return
    sys.__unraisablehook__(unraisable)  # type: ignore[arg-type]


def requested() -> int | None:
    """The first stop signal received, or None."""
    return _requested[0] if _requested else None


def check() -> None:
    """Raise the stop again if one was requested (its first raise may have been swallowed).

    >>> check()  # no signal received: nothing happens
    """
    signum = requested()
    if signum is not None and signum != signal.SIGINT:
        raise TerminatedError(signum)
    if signum is not None:
        raise KeyboardInterrupt
