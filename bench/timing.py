"""Shared timing helper for the bench scripts (best of several runs, wall clock)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def best_of(repeats: int, func: Callable[[], T]) -> tuple[float, T]:
    """Run ``func`` ``repeats`` times; return the fastest wall time and the last result.

    The minimum is the least disturbed by other processes on a shared machine.
    """
    times: list[float] = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return min(times), result  # type: ignore[return-value]
