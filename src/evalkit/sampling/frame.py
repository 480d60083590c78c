"""The frame's household groups and the checks every draw makes on a frame or listing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.sampling.checks import (
    positive_int,
)

# Sampling groups for the second stage: each maps to the household types it covers.
HOUSEHOLD_GROUPS: dict[str, tuple[str, ...]] = {
    "registered": ("exited", "not_exited"),
    "exited": ("exited",),
    "not_exited": ("not_exited",),
    "nonregistered": ("nonregistered",),
}


# Frame columns that count households and people of each household type.
FRAME_HOUSEHOLDS: dict[str, str] = {
    "exited": "hh_exited",
    "not_exited": "hh_not_exited",
    "nonregistered": "hh_nonregistered",
}


FRAME_PEOPLE: dict[str, str] = {
    "exited": "people_exited",
    "not_exited": "people_not_exited",
    "nonregistered": "people_nonregistered",
}


# What a field team needs to find a household, and nothing more.
FIELD_LIST_COLUMNS: tuple[str, ...] = ("township", "village", "household_id", "household_type")


# --- frame and listing helpers -------------------------------------------------------------
def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Stop with ``"{what}: missing column 'c'"`` at the first of ``columns`` not in ``df``.

    Parameters
    ----------
    df
        The table to check.
    columns
        The columns it must have.
    what
        The table's name in the message ("frame", "households").

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"village": ["V1"]}), ["village", "township"], "frame")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: frame: missing column 'township'
    """
    for c in columns:
        if c not in df.columns:
            raise EvalkitError(f"{what}: missing column {c!r}")


def household_groups(per_village: Mapping[str, int]) -> dict[str, int]:
    """The second stage's quota, checked: households per village for each household group.

    Parameters
    ----------
    per_village
        ``{group: households}`` with groups from :data:`HOUSEHOLD_GROUPS` (``registered``,
        ``exited``, ``not_exited``, ``nonregistered``) that share no household type.

    Returns
    -------
    dict
        The same quota with whole-number counts.

    Raises
    ------
    EvalkitError
        On an empty quota, an unknown group, a count below 1, or overlapping groups.

    Examples
    --------
    >>> household_groups({"registered": 35, "nonregistered": 35.0})
    {'registered': 35, 'nonregistered': 35}
    """
    if not isinstance(per_village, Mapping) or len(per_village) == 0:
        raise EvalkitError(
            "per_village: expected households per village by group, e.g. "
            "{'registered': 35, 'nonregistered': 35}")
    quota: dict[str, int] = {}
    for key, k in per_village.items():
        if key not in HOUSEHOLD_GROUPS:
            raise EvalkitError(
                f"per_village: unknown household group {key!r}; expected one of "
                + ", ".join(HOUSEHOLD_GROUPS))
        quota[key] = positive_int(f"per_village[{key!r}]", k)
    check_disjoint(list(quota))
    return quota


def check_disjoint(groups: list[str]) -> None:
    """Stop when two household groups cover the same household type (``registered`` and
    ``exited`` would sample exited households twice).

    Examples
    --------
    >>> check_disjoint(["registered", "exited"])
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: household groups 'registered' and 'exited' both ...
    """
    seen: dict[str, str] = {}
    for g in groups:
        for t in HOUSEHOLD_GROUPS[g]:
            if t in seen:
                raise EvalkitError(
                    f"household groups {seen[t]!r} and {g!r} both contain {t!r}; "
                    "groups must not overlap")
            seen[t] = g


def size_measure(frame: pd.DataFrame, size_column: str | Sequence[str] | None,
                  groups: Sequence[str]) -> np.ndarray:
    """The first stage's measure of size per village: the sum of ``size_column`` (one column
    or several), or by default the village's households of the sampled ``groups`` (so that equal
    quotas per village give a nearly self-weighting sample of those households; Kish 1965,
    sec. 7.5).

    Parameters
    ----------
    frame
        One row per village.
    size_column
        A column, several columns (summed), or None for the groups' household counts
        (:data:`FRAME_HOUSEHOLDS`).
    groups
        The sampled household groups.

    Returns
    -------
    numpy.ndarray of float
        One size per village, each ``>= 0``.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"hh_exited": [10, 0], "hh_not_exited": [2, 5],
    ...                       "hh_nonregistered": [100, 80]})
    >>> size_measure(frame, None, ["registered"])
    array([12.,  5.])
    """
    if size_column is None:
        # Households of the sampled groups: with equal quotas per village this makes the
        # sample of those households close to self-weighting.
        cols = [FRAME_HOUSEHOLDS[t] for g in groups for t in HOUSEHOLD_GROUPS[g]]
    elif isinstance(size_column, str):
        cols = [size_column]
    else:
        cols = list(size_column)
    require_columns(frame, cols, "frame")
    values = np.column_stack([
        frame[c].to_numpy(dtype=float) if pd.api.types.is_numeric_dtype(frame[c])
        else pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float) for c in cols])
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise EvalkitError(
            f"frame row {r + 1}, column {cols[c]!r}: {frame[cols[c]].iloc[r]!r}; "
            "expected a count >= 0")
    return values.sum(axis=1)


def check_frame(frame: pd.DataFrame) -> None:
    """Stop unless ``frame`` is a non-empty table with ``township`` and ``village`` columns and
    no village listed twice.

    Examples
    --------
    >>> import pandas as pd
    >>> check_frame(pd.DataFrame({"township": ["T", "T"], "village": ["V1", "V1"]}))
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: frame row 2, column 'village': 'V1' appears twice; ...
    """
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise EvalkitError("frame: expected a non-empty table of villages")
    require_columns(frame, ["township", "village"], "frame")
    dup = frame["village"].duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise EvalkitError(
            f"frame row {r + 1}, column 'village': {frame['village'].iloc[r]!r} appears "
            "twice; expected unique villages")


def frame_profile(frame: pd.DataFrame) -> pd.DataFrame:
    """Villages, households, people and mean household size by household type.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"township": ["T1", "T2"], "village": ["V1", "V2"],
    ...     "hh_exited": [10, 20], "people_exited": [35, 60], "hh_not_exited": [2, 0],
    ...     "people_not_exited": [9, 0], "hh_nonregistered": [100, 150],
    ...     "people_nonregistered": [380, 540]})
    >>> frame_profile(frame)[["household_type", "villages", "households", "people"]]
      household_type  villages  households  people
    0         exited         2          30      95
    1     not_exited         1           2       9
    2  nonregistered         2         250     920
    3     registered         2          32     104
    4            all         2         282    1024
    """
    check_frame(frame)
    rows = []
    for t, col in FRAME_HOUSEHOLDS.items():
        require_columns(frame, [col, FRAME_PEOPLE[t]], "frame")
        h = frame[col].to_numpy(dtype=float)
        p = frame[FRAME_PEOPLE[t]].to_numpy(dtype=float)
        rows.append((t, int((h > 0).sum()), h.sum(), p.sum()))
    out = pd.DataFrame(rows, columns=["household_type", "villages", "households", "people"])
    reg = out[out["household_type"].isin(HOUSEHOLD_GROUPS["registered"])]
    registered_villages = int((frame[["hh_exited", "hh_not_exited"]].sum(axis=1) > 0).sum())
    extra = pd.DataFrame([
        ("registered", registered_villages, reg["households"].sum(), reg["people"].sum()),
        ("all", len(frame), out["households"].sum(), out["people"].sum()),
    ], columns=out.columns)
    out = pd.concat([out, extra], ignore_index=True)
    out["households"] = out["households"].astype(np.int64)
    out["people"] = out["people"].astype(np.int64)
    out["mean_size"] = out["people"] / out["households"]
    return out
