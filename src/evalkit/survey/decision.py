"""The one threshold rule: pass, fail or cannot tell, from the bounds that decide.

An exit line is met with confidence ``level`` when the one-sided ``level`` bound lies on the
right side of it (Lumley 2010, sec. 2.3: a one-sided test at ``1 - level`` is the end of the
two-sided ``2 * level - 1`` interval, :func:`evalkit.survey.estimate.one_sided_level`):

* a rate that must stay **below** its line (wrong exits, missed assessments, incidence)
  passes when the upper bound is below the line, fails when the lower bound is above it;
* a rate that must reach **at least** its line (recognition) passes when the lower bound is
  at or above the line, fails when the upper bound is below it;
* otherwise this sample cannot tell. Bounds that are not finite (not estimable) decide
  nothing (``None``).

The official verdict (:func:`official_decision`) compares the plain sample ratio with the
line, as the assessment published it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["CANNOT_TELL", "FAIL", "PASS", "Direction", "decide", "official_decision"]

PASS, FAIL, CANNOT_TELL = "pass", "fail", "cannot tell"
Direction = Literal["below", "at_least"]


def decide(bounds: tuple[float, float], threshold: float | None, direction: str
           ) -> str | None:
    """:data:`PASS`, :data:`FAIL` or :data:`CANNOT_TELL` from the deciding ``bounds``
    (``(low, high)``, the one-sided bounds at the verdict's level); ``None`` without a
    threshold or with bounds that are not finite. ``direction`` is ``"below"`` or
    ``"at_least"`` (anything but ``"below"`` reads as at least)."""
    if threshold is None or not np.all(np.isfinite(bounds)):
        return None
    low, high = bounds
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


def official_decision(value: float, threshold: float | None, direction: str) -> str | None:
    """The published verdict: the plain sample ratio against the line (no uncertainty)."""
    if threshold is None:
        return None
    if direction == "below":
        return PASS if value < threshold else FAIL
    return PASS if value >= threshold else FAIL
