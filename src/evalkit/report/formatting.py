"""Rounding for what notebooks show, so nbval compares what matters.

Numbers are shown to a few significant digits: enough for a reader and for nbval to fail
when a result changes, not so many that the last bits of floating point (which differ
between BLAS builds and machines) break the comparison.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def significant(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits (NaN and 0 unchanged)."""
    if value is None or not np.isfinite(value) or value == 0:
        return value
    return round(float(value), digits - 1 - math.floor(math.log10(abs(float(value)))))


def rounded(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A copy of ``table`` with every float column rounded to ``digits`` significant digits."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(lambda v: significant(v, digits))
    return out


def percent(value: float, decimals: int = 1) -> str:
    """``0.02904`` -> ``'2.9%'``; NaN -> a dash (:func:`evalkit.report.i18n.format_percent`)."""
    from evalkit.report.i18n import format_percent

    return format_percent(value, decimals)
