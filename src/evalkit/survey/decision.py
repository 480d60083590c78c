"""The one threshold rule: pass, fail or cannot tell, from the interval that is shown.

A verdict follows from the two-sided confidence interval printed and drawn beside it, so a
reader can check it with a ruler:

* a rate that must stay **below** its line (wrong exits, missed assessments, incidence)
  passes when the whole interval is below the line (``high < line``), fails when the whole
  interval is above it (``low > line``);
* a rate that must reach **at least** its line (recognition) passes when the whole interval
  is at or above the line (``low >= line``), fails when the whole interval is below it
  (``high < line``);
* otherwise the interval straddles the line and this sample cannot tell. Bounds that are
  not finite (not estimable) decide nothing (``None``).

As a test this is two one-sided tests, one on each side of the line, each at half the
error rate of the interval: with a 95% interval, "fail" rejects "the rate is at or below
the line" at the 2.5% level, and "pass" rejects "the rate is at or above the line" at the
2.5% level (Lumley 2010, sec. 2.3: the ends of a two-sided ``level`` interval are the
one-sided bounds at ``(1 + level) / 2``; Casella and Berger 2002, sec. 9.3). At most one of
the two can be declared, so the chance of a wrong verdict is at most ``(1 - level) / 2``
whichever side the truth is on.

The official verdict (:func:`official_decision`) compares the plain sample ratio with the
line, as the assessment published it.

Example:

>>> decide((0.019, 0.058), 0.02, "below")   # straddles the 2% line
'cannot tell'
>>> decide((0.021, 0.058), 0.02, "below")   # wholly above it
'fail'
>>> decide((0.91, 0.97), 0.90, "at_least")
'pass'
>>> official_decision(0.029, 0.02, "below")
'fail'
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["CANNOT_TELL", "FAIL", "PASS", "Direction", "decide", "decide_many",
           "official_decision"]

PASS, FAIL, CANNOT_TELL = "pass", "fail", "cannot tell"
Direction = Literal["below", "at_least"]


def decide(interval: tuple[float, float], threshold: float | None, direction: str
           ) -> str | None:
    """:data:`PASS`, :data:`FAIL` or :data:`CANNOT_TELL` from the shown ``interval``.

    Parameters
    ----------
    interval:
        ``(ci_low, ci_high)``, the two-sided confidence interval that is printed and drawn.
    threshold:
        The line; ``None`` decides nothing.
    direction:
        ``"below"`` (the rate must stay below the line) or ``"at_least"`` (anything but
        ``"below"`` reads as at least).

    Returns
    -------
    ``"pass"`` when the whole interval is on the passing side of the line, ``"fail"`` when
    it is wholly on the failing side, ``"cannot tell"`` when it straddles the line; ``None``
    without a threshold or with bounds that are not finite.

    >>> decide((0.010, 0.018), 0.02, "below")
    'pass'
    """
    if threshold is None or not np.all(np.isfinite(interval)):
        return None
    low, high = interval
    if direction == "below":
        if high < threshold:
            return PASS
        if low > threshold:
            return FAIL
        return CANNOT_TELL
    if low >= threshold:
        return PASS
    if high < threshold:
        return FAIL
    return CANNOT_TELL


def decide_many(low: np.ndarray, high: np.ndarray, threshold: float, direction: str
                ) -> np.ndarray:
    """:func:`decide` for arrays of intervals (e.g. many replicates or counties), vectorized.

    Returns an object array of ``"pass"``, ``"fail"``, ``"cannot tell"`` or ``None`` (a bound
    not finite), element by element equal to :func:`decide`.

    >>> decide_many(np.array([0.01, 0.019, 0.021]), np.array([0.018, 0.03, 0.04]), 0.02,
    ...             "below").tolist()
    ['pass', 'cannot tell', 'fail']
    """
    low, high = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    if direction == "below":
        passing, failing = high < threshold, low > threshold
    else:
        passing, failing = low >= threshold, high < threshold
    out = np.where(passing, PASS, np.where(failing, FAIL, CANNOT_TELL)).astype(object)
    out[~(np.isfinite(low) & np.isfinite(high))] = None
    return out


def official_decision(value: float, threshold: float | None, direction: str) -> str | None:
    """The published verdict: the plain sample ratio against the line (no uncertainty).

    >>> official_decision(0.9486, 0.90, "at_least")
    'pass'
    """
    if threshold is None:
        return None
    if direction == "below":
        return PASS if value < threshold else FAIL
    return PASS if value >= threshold else FAIL
