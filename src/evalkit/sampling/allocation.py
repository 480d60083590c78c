"""Allocating a sample across strata or household types (proportional, bounded, largest remainder).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.sampling.checks import (
    positive_int,
)
from evalkit.sampling.frame import (
    HOUSEHOLD_GROUPS,
    check_disjoint,
)


# --- allocation ---------------------------------------------------------------------------
def _as_series(name: str, values: Mapping[str, float] | pd.Series) -> pd.Series:
    s = pd.Series(values, dtype="float64") if not isinstance(values, pd.Series) else values
    s = s.astype("float64")
    if len(s) == 0:
        raise EvalkitError(f"{name} is empty; expected one entry per stratum")
    if s.index.has_duplicates:
        dup = s.index[s.index.duplicated()][0]
        raise EvalkitError(f"{name} names stratum {dup!r} twice")
    bad = ~np.isfinite(s.to_numpy()) | (s.to_numpy() < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise EvalkitError(
            f"{name}[{s.index[k]!r}]={s.iloc[k]!r}; expected a finite number >= 0")
    return s


def _solve_bounded(n: float, w: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Continuous allocation ``a = clip(lam * w, lo, hi)`` with ``sum a = n``.

    ``f(lam) = sum clip(lam w, lo, hi)`` is piecewise linear and non-decreasing; find the
    piece holding ``n`` from the breakpoints and solve it exactly.
    """
    if n <= lo.sum():
        return lo.astype(float)
    pos = w > 0
    bps = np.unique(np.concatenate([lo[pos] / w[pos], hi[pos] / w[pos]]))
    f = np.clip(bps[:, None] * w[None, :], lo, hi).sum(axis=1)
    k = int(np.searchsorted(f, n, side="left"))
    if k >= len(bps):
        raise EvalkitError(
            f"allocation: cannot place {n:g} units; strata with positive weight hold only "
            f"{f[-1]:g} (check sds and capacity)")
    left = 0.0 if k == 0 else bps[k - 1]
    f_left = lo.sum() if k == 0 else f[k - 1]
    mid = 0.5 * (left + bps[k])
    free = (lo < mid * w) & (mid * w < hi)
    lam = left + (n - f_left) / w[free].sum()
    return np.clip(lam * w, lo, hi)


def _largest_remainder(a: np.ndarray, n: int, hi: np.ndarray) -> np.ndarray:
    """Round ``a`` (sum n, a <= hi with hi integer) to integers summing to n (Hamilton).

    Ties go to the earlier stratum, so the result is deterministic.
    """
    base = np.floor(a + 1e-9).astype(np.int64)
    base = np.minimum(base, hi.astype(np.int64))
    short = int(n - base.sum())
    if short > 0:
        frac = np.where(base < hi, a - base, -np.inf)
        order = np.argsort(-frac, kind="stable")[:short]
        base[order] += 1
    return base


def allocate(
    n: int,
    sizes: Mapping[str, float] | pd.Series,
    method: Literal["proportional", "neyman", "equal"] = "proportional",
    *,
    sds: Mapping[str, float] | pd.Series | None = None,
    floor: int = 0,
    capacity: Mapping[str, float] | pd.Series | None = None,
) -> pd.Series:
    """Allocate ``n`` units to strata; integers that sum exactly to ``n``.

    Methods (Cochran 1977, secs. 5.5 and 5.9): ``proportional`` ``n_h ∝ N_h``; ``neyman``
    ``n_h ∝ N_h S_h`` (``sds`` gives ``S_h``; for a proportion ``S_h = sqrt(p_h (1-p_h))``);
    ``equal`` ``n_h = n / H``. Every stratum gets at least ``floor`` (or all its units when
    it has fewer) and never more than ``capacity`` (default ``sizes``: a stratum cannot give
    more units than it holds). The bounded continuous allocation ``clip(lam * w_h, lo_h,
    hi_h)`` is solved exactly and rounded by largest remainder.

    Returns a Series of ints indexed by stratum, named ``n``.

    Examples
    --------
    >>> allocate(100, {"north": 600, "centre": 300, "south": 100}).to_dict()
    {'north': 60, 'centre': 30, 'south': 10}
    >>> allocate(100, {"north": 600, "centre": 300, "south": 100}, "neyman",
    ...          sds={"north": 0.1, "centre": 0.3, "south": 0.5}).to_dict()
    {'north': 30, 'centre': 45, 'south': 25}
    """
    n = positive_int("n", n)
    floor = positive_int("floor", floor, minimum=0)
    N = _as_series("sizes", sizes)
    cap = N if capacity is None else _as_series("capacity", capacity).reindex(N.index)
    if cap.isna().any():
        missing = cap.index[cap.isna()][0]
        raise EvalkitError(f"capacity has no entry for stratum {missing!r}")
    cap_units = np.floor(cap.to_numpy() + 1e-9)
    empty = cap_units < 1
    if empty.any():
        stratum = N.index[int(np.flatnonzero(empty)[0])]
        raise EvalkitError(
            f"stratum {stratum!r} has no units to sample (capacity 0); drop it or fix the frame")
    if n > cap_units.sum():
        raise EvalkitError(
            f"n={n} exceeds the {int(cap_units.sum())} units available in the strata")
    lo = np.minimum(float(floor), cap_units)
    if lo.sum() > n:
        raise EvalkitError(
            f"floor={floor} per stratum needs {int(lo.sum())} units, more than n={n}")
    if method == "proportional":
        w = N.to_numpy()
    elif method == "neyman":
        if sds is None:
            raise EvalkitError("sds: Neyman allocation needs the standard deviation per stratum")
        S = _as_series("sds", sds).reindex(N.index)
        if S.isna().any():
            raise EvalkitError(f"sds has no entry for stratum {S.index[S.isna()][0]!r}")
        w = N.to_numpy() * S.to_numpy()
    elif method == "equal":
        w = np.ones(len(N))
    else:
        raise EvalkitError(
            f"method={method!r}; expected 'proportional', 'neyman' or 'equal'")
    if not np.any(w > 0):
        raise EvalkitError(f"allocation weights are all zero for method={method!r}")
    a = _solve_bounded(float(n), w.astype(float), lo, cap_units)
    return pd.Series(_largest_remainder(a, n, cap_units), index=N.index, name="n")


def allocate_household_types(n: int, shares: Mapping[str, float] | None = None
                             ) -> dict[str, int]:
    """Split ``n`` households between household groups by ``shares`` (largest remainder).

    Default: the assessment practice of half registered (exited or not yet exited), half
    non-registered. Group names are keys of :data:`HOUSEHOLD_GROUPS`. Used per village it
    gives the ``per_village`` quota of :func:`draw_two_stage`, e.g. 70 -> 35 and 35.

    Examples
    --------
    >>> allocate_household_types(70)
    {'registered': 35, 'nonregistered': 35}
    """
    n = positive_int("n", n)
    shares = {"registered": 0.5, "nonregistered": 0.5} if shares is None else dict(shares)
    for key in shares:
        if key not in HOUSEHOLD_GROUPS:
            raise EvalkitError(
                f"shares: unknown household group {key!r}; expected one of "
                + ", ".join(HOUSEHOLD_GROUPS))
    s = _as_series("shares", shares)
    total = float(s.sum())
    if abs(total - 1.0) > 1e-9:
        raise EvalkitError(f"shares sum to {total:g}; expected 1")
    check_disjoint(list(shares))
    a = s.to_numpy() * n
    counts = _largest_remainder(a, n, np.full(len(a), float(n)))
    return {str(k): int(v) for k, v in zip(s.index, counts, strict=True)}
