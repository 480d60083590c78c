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
    """A column argument as a list: ``None`` -> ``[]``, a string -> ``[string]``, else
    ``list(value)``.

    Parameters
    ----------
    value
        A column name, a sequence of them, or None.

    Returns
    -------
    list of str

    Examples
    --------
    >>> as_list("stratum"), as_list(None), as_list(("a", "b"))
    (['stratum'], [], ['a', 'b'])
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def checked_column(data: pd.DataFrame, column: str, role: str) -> pd.Series:
    """The column ``column`` of ``data``, or a one-line error naming the role and a close match.

    Parameters
    ----------
    data
        The design's data.
    column
        The column asked for.
    role
        What the column is for, as the message should say it ("strata", "weights", ...).

    Returns
    -------
    pandas.Series

    Raises
    ------
    EvalkitError
        When the column is absent (``did you mean`` the closest name, by difflib).

    Examples
    --------
    >>> import pandas as pd
    >>> checked_column(pd.DataFrame({"weight": [1.0]}), "wieght", "weights")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: SurveyDesign: ... (did you mean 'weight'?)...
    """
    if column not in data.columns:
        close = difflib.get_close_matches(str(column), [str(c) for c in data.columns], n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise EvalkitError(
            f"SurveyDesign: {role} column {column!r} is not in the data{hint}; columns are "
            + ", ".join(map(str, data.columns[:20]))
        )
    return data[column]


def column_codes(data: pd.DataFrame, column: str, role: str) -> np.ndarray:
    """Dense integer codes ``0..k-1`` of ``column`` in sorted order of its values (pandas
    ``factorize(sort=True)``), as R's ``survey`` numbers strata and PSUs.

    Parameters
    ----------
    data, column, role
        As :func:`checked_column`.

    Returns
    -------
    numpy.ndarray of int64
        One code per row.

    Raises
    ------
    EvalkitError
        When a row is empty (the message names its row, counting from 1).

    Examples
    --------
    >>> import pandas as pd
    >>> column_codes(pd.DataFrame({"psu": ["b", "a", "b"]}), "psu", "PSU")
    array([1, 0, 1])
    """
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
    """``column`` of ``data`` as floats, with a one-line error for text or (unless
    ``allow_nan``) empty cells.

    Parameters
    ----------
    data, column, role
        As :func:`checked_column`.
    allow_nan
        Let empty cells through as NaN (variables of interest may have missing values; weights
        and fpc may not).

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    >>> import pandas as pd
    >>> numeric_column(pd.DataFrame({"w": ["2", "3.5"]}), "w", "weights")
    array([2. , 3.5])
    """
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
    """The values of ``column`` for up to five group codes ``which``, for an error message
    ("strata 'A', 'C' have one PSU"); ``"(whole sample)"`` without a column.

    Parameters
    ----------
    data
        The design's data.
    column
        The grouping column, or None for an ungrouped design.
    codes
        The dense code of each row (:func:`column_codes`).
    which
        The codes to name.

    Returns
    -------
    str

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> data = pd.DataFrame({"stratum": ["A", "B", "C"]})
    >>> group_labels(data, "stratum", np.array([0, 1, 2]), np.array([0, 2]))
    "'A', 'C'"
    """
    if column is None:
        return "(whole sample)"
    series = data[column].to_numpy()
    first_rows = [int(np.flatnonzero(codes == c)[0]) for c in which[:5]]
    return ", ".join(repr(series[r]) for r in first_rows)


def safe_ratio(a: float, b: float) -> float:
    """``a / b``, or NaN when ``b`` is not a positive finite number (a design effect without a
    variance to compare with).

    Examples
    --------
    >>> safe_ratio(3.0, 2.0), safe_ratio(1.0, 0.0)
    (1.5, nan)
    """
    if not np.isfinite(b) or b <= 0:
        return float("nan")
    return float(a / b)
