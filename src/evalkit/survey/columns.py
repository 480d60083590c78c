"""Reading a design's columns: present, numeric, coded, labelled, with one-line errors that
name the column and the row.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError


# --- module helpers ---------------------------------------------------------------------
def as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def checked_column(data: pd.DataFrame, column: str, role: str) -> pd.Series:
    if column not in data.columns:
        close = difflib.get_close_matches(str(column), [str(c) for c in data.columns], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise EvalkitError(
            f"SurveyDesign: {role} column {column!r} is not in the data{hint}; columns are "
            + ", ".join(map(str, data.columns[:20]))
        )
    return data[column]


def column_codes(data: pd.DataFrame, column: str, role: str) -> np.ndarray:
    series = checked_column(data, column, role)
    if series.isna().any():
        row = int(np.flatnonzero(series.isna().to_numpy())[0])
        raise EvalkitError(
            f"SurveyDesign: {role} column {column!r} row {row + 1} is empty; "
            "expected a value on every row"
        )
    codes, _ = pd.factorize(series, sort=True)
    return codes.astype(np.int64)


def numeric_column(data: pd.DataFrame, column: str, role: str, allow_nan: bool = False
                   ) -> np.ndarray:
    series = checked_column(data, column, role)
    try:
        values = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        converted = pd.to_numeric(series, errors="coerce")
        bad = np.flatnonzero(converted.isna().to_numpy() & series.notna().to_numpy())
        row = int(bad[0]) if bad.size else 0
        raise EvalkitError(
            f"SurveyDesign: {role} column {column!r} row {row + 1} is {series.iloc[row]!r}; "
            "expected a number"
        ) from exc
    if not allow_nan and np.any(np.isnan(values)):
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise EvalkitError(
            f"SurveyDesign: {role} column {column!r} row {row + 1} is empty; expected a number"
        )
    return values


def group_labels(data: pd.DataFrame, column: str | None, codes: np.ndarray,
            which: np.ndarray) -> str:
    if column is None:
        return "(whole sample)"
    series = data[column].to_numpy()
    first_rows = [int(np.flatnonzero(codes == c)[0]) for c in which[:5]]
    return ", ".join(repr(series[r]) for r in first_rows)


def safe_ratio(a: float, b: float) -> float:
    if not np.isfinite(b) or b <= 0:
        return float("nan")
    return float(a / b)
