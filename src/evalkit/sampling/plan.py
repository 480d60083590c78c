"""Sampling design for the exit assessment: sample size, allocation and the two-stage draw.

The assessment samples villages (PSUs) with probability proportional to size, then
households within each selected village by simple random sampling within household groups
(in practice half registered, half non-registered). This module sizes that sample
(Cochran 1977), allocates it to strata and household groups, draws it reproducibly, and
checks that the design weights do what they should. Power for the exit decisions lives in
:mod:`evalkit.sampling.power`.

References: Cochran (1977) *Sampling Techniques*, 3rd ed., secs. 4.4, 5.5, 6.4, 9.4, 11.9;
Kish (1965) *Survey Sampling*, sec. 5.4; Tillé (2006) *Sampling Algorithms*, sec. 2.10 and 7.2
(R package ``sampling``: ``inclusionprobabilities``, ``UPsystematic``); Lumley (2010)
*Complex Surveys*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import HOUSEHOLD_TYPES, IDENTIFYING_COLUMNS
from evalkit.contract.xlsx import write_table
from evalkit.survey.estimate import one_sided_level
from evalkit.survey.village_rates import rate_intervals, ratio_from_village_totals

__all__ = [
    "FIELD_LIST_COLUMNS",
    "HOUSEHOLD_GROUPS",
    "DrawSimulation",
    "PPSSample",
    "SamplePlan",
    "SampleSize",
    "allocate",
    "allocate_household_types",
    "design_options",
    "draw_two_stage",
    "expected_sample",
    "field_list",
    "frame_profile",
    "household_factor",
    "household_listing",
    "plan_sample",
    "pps_inclusion_probabilities",
    "pps_systematic",
    "sample_size_grid",
    "sample_size_proportion",
    "sample_size_ratio",
    "select_households",
    "select_villages",
    "simulate_design",
    "synthetic_population",
    "village_probabilities",
    "village_summary",
    "weight_totals",
]

# Sampling groups for the second stage: each maps to the household types it covers.
HOUSEHOLD_GROUPS: dict[str, tuple[str, ...]] = {
    "registered": ("exited", "not_exited"),
    "exited": ("exited",),
    "not_exited": ("not_exited",),
    "nonregistered": ("nonregistered",),
}
# Frame columns that count households and people of each household type.
_FRAME_HOUSEHOLDS: dict[str, str] = {
    "exited": "hh_exited",
    "not_exited": "hh_not_exited",
    "nonregistered": "hh_nonregistered",
}
_FRAME_PEOPLE: dict[str, str] = {
    "exited": "people_exited",
    "not_exited": "people_not_exited",
    "nonregistered": "people_nonregistered",
}
# What a field team needs to find a household, and nothing more.
FIELD_LIST_COLUMNS: tuple[str, ...] = ("township", "village", "household_id", "household_type")

# Relative slack before rounding up: Cochran sizes such as 100.00000000000001 come from
# floating error, not from a real need for one more household.
_CEIL_TOLERANCE = 1e-12
# R's UPsystematic: probabilities within this of 1 are certainty units, within it of 0 never.
PPS_EPS = 1e-6


# --- sample size --------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleSize:
    """A sample size with every step of Cochran's calculation.

    ``n0`` is the simple-random-sample size, ``n1 = n0 * deff``, ``n2`` applies the finite
    population correction, ``n_final = ceil(n2 / response_rate)``. ``int(result)`` is
    ``n_final``. ``unit_factor`` is 1 for a household proportion; for a people-level ratio it
    is the factor turning the people-level ``z^2 p (1-p) / e^2`` into households (see
    :func:`sample_size_ratio`), already included in ``n0``.
    """

    p: float
    margin: float
    level: float
    z: float
    n0: float
    deff: float
    n1: float
    population: int | None
    n2: float
    response_rate: float
    n_final: int
    unit_factor: float = 1.0

    def __int__(self) -> int:
        return self.n_final

    def __index__(self) -> int:
        return self.n_final

    def steps(self) -> pd.DataFrame:
        """The calculation as a two-column table (step, value) for reports."""
        rows = [
            ("expected proportion p", self.p),
            ("absolute margin e", self.margin),
            ("confidence level", self.level),
            ("z (two-sided)", self.z),
            ("households per unit of z^2 p(1-p)/e^2", self.unit_factor),
            ("n0 (simple random sample)", self.n0),
            ("design effect", self.deff),
            ("n1 = n0 * deff", self.n1),
            ("population N", np.nan if self.population is None else float(self.population)),
            ("n2 = n1 / (1 + (n1 - 1) / N)", self.n2),
            ("response rate", self.response_rate),
            ("n = ceil(n2 / response rate)", float(self.n_final)),
        ]
        return pd.DataFrame(rows, columns=["step", "value"])


def _significant(x: float, digits: int = 4) -> float:
    if not math.isfinite(x) or x == 0:
        return x
    return round(float(x), digits - 1 - math.floor(math.log10(abs(x))))


def _ceil(x: float) -> int:
    return int(math.ceil(x - _CEIL_TOLERANCE * max(1.0, abs(x))))


def _finite(name: str, value: object) -> float:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EvalkitError(f"{name}={value!r}; expected a number") from None
    if not math.isfinite(x):
        raise EvalkitError(f"{name}={value!r}; expected a finite number")
    return x


def _open_unit(name: str, value: object) -> float:
    x = _finite(name, value)
    if not 0.0 < x < 1.0:
        raise EvalkitError(f"{name}={value!r}; expected a value strictly between 0 and 1")
    return x


def _positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise EvalkitError(f"{name}={value!r}; expected a whole number >= {minimum}")
    if int(value) < minimum:
        raise EvalkitError(f"{name}={value!r}; expected a whole number >= {minimum}")
    return int(value)


def _design_effect(deff: float, icc: float | None, cluster_size: float | None) -> float:
    if (icc is None) != (cluster_size is None):
        raise EvalkitError(
            "icc and cluster_size: give both (deff = 1 + (cluster_size - 1) * icc) or neither"
        )
    d = _finite("deff", deff)
    if d <= 0:
        raise EvalkitError(f"deff={deff!r}; expected a design effect > 0")
    if icc is None:
        return d
    if d != 1.0:
        raise EvalkitError(
            f"deff={deff!r} together with icc and cluster_size; give the design effect one way"
        )
    rho = _finite("icc", icc)
    if not 0.0 <= rho <= 1.0:
        raise EvalkitError(f"icc={icc!r}; expected an intraclass correlation in [0, 1]")
    m = _finite("cluster_size", cluster_size)
    if m < 1:
        raise EvalkitError(f"cluster_size={cluster_size!r}; expected households per village >= 1")
    return 1.0 + (m - 1.0) * rho


def _finish_size(p: float, e: float, level: float, n0: float, deff: float,
                 population: int | None, response_rate: float, z: float,
                 unit_factor: float) -> SampleSize:
    n1 = n0 * deff
    if population is None:
        n2 = n1
    else:
        # Cochran (1977) eq. 4.2: the finite population correction on the design-adjusted n.
        n2 = n1 / (1.0 + (n1 - 1.0) / population)
    n_final = _ceil(n2 / response_rate)
    return SampleSize(p=p, margin=e, level=level, z=z, n0=n0, deff=deff, n1=n1,
                      population=population, n2=n2, response_rate=response_rate,
                      n_final=n_final, unit_factor=unit_factor)


def _common_size_args(p: float, margin: float, level: float, population: int | None,
                      response_rate: float, relative: bool
                      ) -> tuple[float, float, float, int | None, float, float]:
    p = _open_unit("p", p)
    margin_value = _finite("margin", margin)
    if margin_value <= 0:
        raise EvalkitError(f"margin={margin!r}; expected a margin of error > 0")
    e = margin_value * p if relative else margin_value
    if not relative and e >= 1:
        raise EvalkitError(f"margin={margin!r}; expected an absolute margin below 1 "
                           "(use relative=True for a margin relative to p)")
    level = _open_unit("level", level)
    if population is not None:
        population = _positive_int("population", population)
    rr = _finite("response_rate", response_rate)
    if not 0.0 < rr <= 1.0:
        raise EvalkitError(f"response_rate={response_rate!r}; expected a value in (0, 1]")
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    return p, e, level, population, rr, z


def sample_size_proportion(
    p: float,
    margin: float,
    level: float = 0.95,
    deff: float = 1.0,
    population: int | None = None,
    response_rate: float = 1.0,
    relative: bool = False,
    icc: float | None = None,
    cluster_size: float | None = None,
) -> SampleSize:
    """Households needed to estimate a household-level proportion within +/- ``margin``.

    Cochran (1977, eqs. 4.1-4.2) with a design effect (Kish 1965, sec. 5.4)::

        n0 = z^2 p (1 - p) / e^2              z = Phi^-1(1/2 + level/2), two-sided
        n1 = n0 * deff                        deff = 1 + (m - 1) * ICC when icc, cluster_size
        n2 = n1 / (1 + (n1 - 1) / N)          when population N is given
        n  = ceil(n2 / response_rate)

    ``margin`` is absolute (0.01 = one percentage point) unless ``relative=True``, when
    ``e = margin * p``. Rounding happens once, at the end. Example: p = 0.5, e = 0.05,
    95% gives n0 = 384.15, so 385 households.
    """
    p, e, level, population, rr, z = _common_size_args(
        p, margin, level, population, response_rate, relative)
    d = _design_effect(deff, icc, cluster_size)
    n0 = z * z * p * (1.0 - p) / (e * e)
    return _finish_size(p, e, level, n0, d, population, rr, z, 1.0)


def household_factor(mean_household_size: float, cv_household_size: float = 0.0,
                     household_icc: float = 1.0) -> float:
    """Households per unit of the people-level ``z^2 p (1-p) / e^2``.

    The people-level rate is the ratio estimator ``R = sum y_i / sum x_i`` over households
    ``i`` (``x_i`` people, ``y_i`` people with the condition). Its variance under simple
    random sampling of ``n`` households is (Cochran 1977, eq. 6.9)::

        V(R) = E[(y - R x)^2] / (n xbar^2)

    Treating the household as a cluster of people with intra-household correlation
    ``rho_h``, ``Var(y | x) = x p (1-p) (1 + (x - 1) rho_h)``, so
    ``E[(y - R x)^2] = p (1-p) (xbar + rho_h (E[x^2] - xbar))`` and, with
    ``E[x^2] = xbar^2 (1 + CV^2)``::

        n_households = z^2 p (1-p) / e^2 * [ (1 - rho_h) / xbar + rho_h (1 + CV^2) ]
                     = n0_people / xbar * [1 + (xbar - 1) rho_h + rho_h xbar CV^2]

    i.e. Kish's cluster design effect ``1 + (xbar - 1) rho_h`` on people, divided by the
    average household size, plus the size-variation term. The wrong-exit and missed
    judgements are made for whole households (``rho_h = 1``, the default): then the
    people-level rate needs ``1 + CV^2`` times the households of a household proportion,
    whatever the average size.
    """
    m = _finite("mean_household_size", mean_household_size)
    if m < 1:
        raise EvalkitError(
            f"mean_household_size={mean_household_size!r}; expected people per household >= 1")
    cv = _finite("cv_household_size", cv_household_size)
    if cv < 0:
        raise EvalkitError(f"cv_household_size={cv_household_size!r}; expected a value >= 0")
    rho = _finite("household_icc", household_icc)
    if not 0.0 <= rho <= 1.0:
        raise EvalkitError(f"household_icc={household_icc!r}; expected a value in [0, 1]")
    return (1.0 - rho) / m + rho * (1.0 + cv * cv)


def sample_size_ratio(
    p: float,
    margin: float,
    mean_household_size: float,
    level: float = 0.95,
    deff: float = 1.0,
    population: int | None = None,
    response_rate: float = 1.0,
    relative: bool = False,
    icc: float | None = None,
    cluster_size: float | None = None,
    cv_household_size: float = 0.0,
    household_icc: float = 1.0,
) -> SampleSize:
    """Households needed for a people-level rate (wrong-exit, missed) within +/- ``margin``.

    ``n0 = z^2 p (1-p) / e^2 * household_factor(...)`` in households (the formula and its
    derivation are in :func:`household_factor`), then the same design effect, finite
    population correction (``population`` = households in the domain, e.g. exited
    households) and response rate as :func:`sample_size_proportion`. The village design
    effect ``1 + (m - 1) ICC`` is applied to households as for a household proportion; with
    unequal household sizes the exact people-level village effect is
    ``1 + (m - 1) ICC / (1 + CV^2)``, so this is slightly conservative.
    """
    p, e, level, population, rr, z = _common_size_args(
        p, margin, level, population, response_rate, relative)
    d = _design_effect(deff, icc, cluster_size)
    factor = household_factor(mean_household_size, cv_household_size, household_icc)
    n0 = z * z * p * (1.0 - p) / (e * e) * factor
    return _finish_size(p, e, level, n0, d, population, rr, z, factor)


def sample_size_grid(p: float, margins: Sequence[float], iccs: Sequence[float],
                     cluster_size: float, level: float = 0.95, response_rate: float = 1.0,
                     population: int | None = None) -> pd.DataFrame:
    """Households needed for each (margin, ICC) pair: a long table margin, icc, deff, n."""
    rows = []
    for e in margins:
        for rho in iccs:
            s = sample_size_proportion(p, e, level=level, population=population,
                                       response_rate=response_rate, icc=rho,
                                       cluster_size=cluster_size)
            rows.append((float(e), float(rho), s.deff, s.n_final))
    return pd.DataFrame(rows, columns=["margin", "icc", "deff", "households"])


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
    """
    n = _positive_int("n", n)
    floor = _positive_int("floor", floor, minimum=0)
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
    """
    n = _positive_int("n", n)
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
    _check_disjoint(list(shares))
    a = s.to_numpy() * n
    counts = _largest_remainder(a, n, np.full(len(a), float(n)))
    return {str(k): int(v) for k, v in zip(s.index, counts, strict=True)}


# --- first stage: PPS -----------------------------------------------------------------------
def pps_inclusion_probabilities(sizes: Sequence[float] | np.ndarray | pd.Series,
                                n: int) -> np.ndarray:
    """First-stage inclusion probabilities proportional to size, as R's
    ``sampling::inclusionprobabilities(a, n)`` (Tillé 2006, sec. 2.10).

    ``pi_k = n x_k / sum x``; units with ``pi_k >= 1`` are certainty units (probability 1),
    and the rest are recomputed as ``(n - l) x_k / sum_rest x`` with ``l`` the number of
    certainty units, repeating until no new unit reaches 1. Zero sizes get probability 0.
    Unlike R, negative sizes are an error rather than silently set to zero.
    """
    x = np.asarray(sizes, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise EvalkitError("sizes: expected a non-empty one-dimensional list of sizes")
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise EvalkitError(f"sizes[{k}]={x[k]!r}; expected a size measure >= 0")
    n = _positive_int("n", n)
    positive = x > 0
    n_pos = int(positive.sum())
    if n > n_pos:
        raise EvalkitError(
            f"n={n} exceeds the {n_pos} units with a positive size measure")
    pik1 = n * x / x.sum()
    pik = pik1[positive]
    certain = pik >= 1
    n_certain = int(certain.sum())
    previous = 0
    while n_certain != previous:
        # Same operation order as R (x / sum(x), then times n - l) so that ties at exactly
        # 1 fall the same way.
        rest = pik[~certain]
        if len(rest):
            pik[~certain] = (n - n_certain) * (rest / rest.sum())
        pik[certain] = 1.0
        previous = n_certain
        certain = pik >= 1
        n_certain = int(certain.sum())
    pik1[positive] = pik
    return pik1


@dataclass(frozen=True)
class PPSSample:
    """Selected positions (ascending) and their first-stage inclusion probabilities."""

    index: np.ndarray
    pi: np.ndarray

    @property
    def certainty(self) -> np.ndarray:
        return self.pi >= 1.0 - PPS_EPS


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise EvalkitError("seed: expected an integer seed (draws must be reproducible)")
    return np.random.default_rng(_positive_int("seed", seed, minimum=0))


def _order(order: str | Sequence[int] | np.ndarray, x: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    if isinstance(order, str):
        if order == "given":
            return np.arange(len(x))
        if order == "size":
            return np.argsort(x, kind="stable")
        if order == "random":
            return rng.permutation(len(x))
        raise EvalkitError(f"order={order!r}; expected 'given', 'size', 'random' or a list")
    perm = np.asarray(order)
    if perm.shape != x.shape or not np.array_equal(np.sort(perm), np.arange(len(x))):
        raise EvalkitError("order: expected a permutation of 0..len(sizes)-1")
    return perm.astype(np.int64)


def pps_systematic(sizes: Sequence[float] | np.ndarray | pd.Series, n: int,
                   rng: int | np.random.Generator,
                   order: str | Sequence[int] | np.ndarray = "given") -> PPSSample:
    """Systematic PPS sample of ``n`` units (Madow 1949; R's ``sampling::UPsystematic``).

    Probabilities from :func:`pps_inclusion_probabilities`. Certainty units are always
    taken. The others, in ``order`` ("given" frame order, which stratifies implicitly when
    the frame is sorted by township; "size"; "random"; or an explicit permutation), are laid
    end to end on ``[0, n - l)`` by cumulative probability, and the points ``u, u + 1, ...``
    with one uniform random start ``u`` select them, so each is taken with probability
    exactly ``pi_k`` and the sample size is exactly ``n``.
    """
    x = np.asarray(sizes, dtype=float)
    pi = pps_inclusion_probabilities(x, n)
    gen = _rng(rng)
    perm = _order(order, x, gen)
    certain = pi >= 1.0 - PPS_EPS
    eligible = (pi > PPS_EPS) & ~certain
    chain = perm[eligible[perm]]
    n_rest = n - int(certain.sum())
    selected = certain.copy()
    if n_rest > 0:
        selected[chain[systematic_hits(pi[chain], n_rest, gen.random())]] = True
    index = np.flatnonzero(selected)
    return PPSSample(index=index, pi=pi[index])


def systematic_hits(pi_chain: np.ndarray, n_rest: int, u: float | np.ndarray) -> np.ndarray:
    """Units of a systematic PPS chain hit by the points ``u, u + 1, ...`` (Madow 1949).

    ``pi_chain`` are the non-certainty inclusion probabilities in chain order, summing to
    ``n_rest``; unit ``k`` covers ``[C_{k-1}, C_k)`` of the cumulative sums and is hit when
    ``floor(C_k - u) > floor(C_{k-1} - u)``. ``u`` is one start, or a column of starts
    (shape ``(reps, 1)``) giving one row of hits per replicate.
    """
    cum = np.cumsum(pi_chain)
    # The chain sums to n - l in exact arithmetic; pin it so float drift cannot drop a unit.
    cum *= n_rest / cum[-1]
    prev = np.concatenate([[0.0], cum[:-1]])
    return np.floor(cum - u) > np.floor(prev - u)


# --- frame and listing helpers -------------------------------------------------------------
def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for c in columns:
        if c not in df.columns:
            raise EvalkitError(f"{what}: missing column {c!r}")


def _groups(per_village: Mapping[str, int]) -> dict[str, int]:
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
        quota[key] = _positive_int(f"per_village[{key!r}]", k)
    _check_disjoint(list(quota))
    return quota


def _check_disjoint(groups: list[str]) -> None:
    seen: dict[str, str] = {}
    for g in groups:
        for t in HOUSEHOLD_GROUPS[g]:
            if t in seen:
                raise EvalkitError(
                    f"household groups {seen[t]!r} and {g!r} both contain {t!r}; "
                    "groups must not overlap")
            seen[t] = g


def _size_measure(frame: pd.DataFrame, size_column: str | Sequence[str] | None,
                  groups: Sequence[str]) -> np.ndarray:
    if size_column is None:
        # Households of the sampled groups: with equal quotas per village this makes the
        # sample of those households close to self-weighting.
        cols = [_FRAME_HOUSEHOLDS[t] for g in groups for t in HOUSEHOLD_GROUPS[g]]
    elif isinstance(size_column, str):
        cols = [size_column]
    else:
        cols = list(size_column)
    _require(frame, cols, "frame")
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


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame) or len(frame) == 0:
        raise EvalkitError("frame: expected a non-empty table of villages")
    _require(frame, ["township", "village"], "frame")
    dup = frame["village"].duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise EvalkitError(
            f"frame row {r + 1}, column 'village': {frame['village'].iloc[r]!r} appears "
            "twice; expected unique villages")


def select_villages(
    frame: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    rng: int | np.random.Generator,
    size_column: str | Sequence[str] | None = None,
    *,
    strata: str | None = None,
    order: str = "given",
    groups: Sequence[str] = ("registered", "nonregistered"),
) -> pd.DataFrame:
    """First stage: villages by systematic PPS within each stratum (or the whole county).

    ``size_column``: a frame column, a list of columns summed, or ``None`` for the
    households of ``groups``. With ``strata`` and an integer ``n_villages``, villages are
    allocated to strata proportionally to their total size with at least 2 per stratum
    (so each stratum yields a variance), never more than the villages it has. Returns the
    selected frame rows with ``village_prob`` (and ``stratum`` when stratified).
    """
    _check_frame(frame)
    gen = _rng(rng)
    frame = frame.reset_index(drop=True)
    x, labels, want = _first_stage_plan(frame, n_villages, size_column, strata, groups)
    if labels is None:
        s = pps_systematic(x, want[""], gen, order=order)
        out = frame.iloc[s.index].copy()
        out["village_prob"] = s.pi
        return out.reset_index(drop=True)
    parts = []
    # A loop over the few strata; all work within a stratum is vectorized.
    for key in want:
        rows = np.flatnonzero(labels == key)
        s = pps_systematic(x[rows], want[key], gen, order=order)
        part = frame.iloc[rows[s.index]].copy()
        part["village_prob"] = s.pi
        part["stratum"] = key
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _first_stage_plan(frame: pd.DataFrame, n_villages: int | Mapping[str, int],
                      size_column: str | Sequence[str] | None, strata: str | None,
                      groups: Sequence[str]
                      ) -> tuple[np.ndarray, np.ndarray | None, dict[str, int]]:
    """Size measure, stratum labels (None when unstratified) and villages per stratum."""
    x = _size_measure(frame, size_column, groups)
    if strata is None:
        n = _positive_int("n_villages", n_villages)
        n_pos = int((x > 0).sum())
        if n > n_pos:
            raise EvalkitError(
                f"n_villages={n} exceeds the {n_pos} villages with a positive size in the frame")
        return x, None, {"": n}
    _require(frame, [strata], "frame")
    labels = frame[strata].astype(str).to_numpy()
    present = [str(v) for v in pd.unique(labels)]
    if isinstance(n_villages, Mapping):
        want = {str(k): _positive_int(f"n_villages[{k!r}]", v) for k, v in n_villages.items()}
        for key in want:
            if key not in present:
                raise EvalkitError(f"n_villages: stratum {key!r} has no villages in the frame")
        for key in present:
            if key not in want:
                raise EvalkitError(f"n_villages: no entry for stratum {key!r} of the frame")
    else:
        n_total = _positive_int("n_villages", n_villages)
        size_by = pd.Series(x).groupby(labels, sort=False).sum()
        villages_by = pd.Series(x > 0).groupby(labels, sort=False).sum()
        want = {str(k): int(v) for k, v in allocate(
            n_total, size_by, "proportional", floor=2, capacity=villages_by).items()}
    for key in present:
        n_pos = int((x[labels == key] > 0).sum())
        if n_pos == 0:
            raise EvalkitError(f"stratum {key!r} has no villages with a positive size")
        if want[key] > n_pos:
            raise EvalkitError(
                f"n_villages[{key!r}]={want[key]} exceeds the {n_pos} villages of the stratum")
    return x, labels, {key: want[key] for key in present}


def village_probabilities(frame: pd.DataFrame, n_villages: int | Mapping[str, int],
                          size_column: str | Sequence[str] | None = None, *,
                          strata: str | None = None,
                          groups: Sequence[str] = ("registered", "nonregistered")
                          ) -> np.ndarray:
    """First-stage inclusion probability of every frame village under the planned design
    (:func:`pps_inclusion_probabilities` within each stratum)."""
    _check_frame(frame)
    frame = frame.reset_index(drop=True)
    x, labels, want = _first_stage_plan(frame, n_villages, size_column, strata, groups)
    if labels is None:
        return pps_inclusion_probabilities(x, want[""])
    pi = np.zeros(len(x))
    for key, n in want.items():
        rows = labels == key
        pi[rows] = pps_inclusion_probabilities(x[rows], n)
    return pi


def _normalize_types(values: pd.Series) -> pd.Series:
    """Household types as English codes; Chinese labels accepted (schema.HOUSEHOLD_TYPES)."""
    mapping = {code: code for code in HOUSEHOLD_TYPES}
    for code, labels in HOUSEHOLD_TYPES.items():
        for label in labels:
            mapping[label] = code
    # Map the few distinct labels, not every row.
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    known = np.array([mapping.get(str(u).strip()) for u in uniques], dtype=object)
    out = pd.Series(known[codes], index=values.index, dtype=object)
    if out.isna().any():
        r = int(np.flatnonzero(out.isna().to_numpy())[0])
        raise EvalkitError(
            f"households row {r + 1}, column 'household_type': {values.iloc[r]!r}; expected "
            "one of " + ", ".join(mapping))
    return out


@dataclass(frozen=True)
class _Listing:
    """A household listing prepared once for repeated second-stage draws."""

    data: pd.DataFrame  # sorted by village code, group code, household_id
    village_code: np.ndarray  # position of the household's village in the frame
    group_code: np.ndarray
    cell_start: np.ndarray  # first row of each (village, group) cell, per row
    cell_size: np.ndarray  # N_vg, per row
    groups: tuple[str, ...]
    village_start: np.ndarray  # first row of each frame village (rows are sorted by village)
    village_count: np.ndarray  # rows of each frame village


def _prepare_listing(households: pd.DataFrame, frame: pd.DataFrame,
                     per_village: Mapping[str, int]) -> _Listing:
    if not isinstance(households, pd.DataFrame) or len(households) == 0:
        raise EvalkitError("households: expected a non-empty household listing")
    _require(households, ["village", "household_id", "household_type"], "households")
    quota = _groups(per_village)
    dup = households["household_id"].duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise EvalkitError(
            f"households row {r + 1}, column 'household_id': "
            f"{households['household_id'].iloc[r]!r} appears twice; expected unique ids")
    drop = [c for c in households.columns if c in IDENTIFYING_COLUMNS]
    hh = households.drop(columns=drop + (["township"] if "township" in households else []))
    hh = hh.reset_index(drop=True)
    hh["household_type"] = _normalize_types(hh["household_type"])
    vcode = pd.Index(frame["village"]).get_indexer(hh["village"])
    if (vcode < 0).any():
        r = int(np.flatnonzero(vcode < 0)[0])
        raise EvalkitError(
            f"households row {r + 1}, column 'village': {hh['village'].iloc[r]!r} is not in "
            "the frame")
    type_group = {t: i for i, g in enumerate(quota) for t in HOUSEHOLD_GROUPS[g]}
    gcode = np.array([type_group.get(t, -1) for t in HOUSEHOLD_TYPES])[
        pd.Index(list(HOUSEHOLD_TYPES)).get_indexer(hh["household_type"])]
    keep = gcode >= 0
    hh = hh.loc[keep]
    v = vcode[keep].astype(np.int64)
    g = gcode[keep].astype(np.int64)
    ids = hh["household_id"].astype(str).to_numpy()
    sort = np.lexsort((ids, g, v))
    hh = hh.iloc[sort].reset_index(drop=True)
    v, g = v[sort], g[sort]
    cell = v * len(quota) + g
    new_cell = np.concatenate([[True], cell[1:] != cell[:-1]])
    starts = np.flatnonzero(new_cell)
    sizes = np.diff(np.concatenate([starts, [len(cell)]]))
    cell_id = np.cumsum(new_cell) - 1
    township = frame["township"].to_numpy()[v]
    hh.insert(0, "township", township)
    village_count = np.bincount(v, minlength=len(frame))
    village_start = np.cumsum(village_count) - village_count
    return _Listing(data=hh, village_code=v, group_code=g, cell_start=starts[cell_id],
                    cell_size=sizes[cell_id], groups=tuple(quota),
                    village_start=village_start, village_count=village_count)


def _cell_quotas(N: np.ndarray, base: np.ndarray, fill: bool) -> np.ndarray:
    """Households to take per (village, group) cell: the group quota, or with ``fill`` the
    quota plus the shortfall of the village's other groups, given to groups with households
    to spare in the order of ``per_village`` (so a village short of registered households
    still yields its full number of households). Deterministic given the counts, so the
    second-stage probabilities ``min(k, N) / N`` stay known."""
    k = np.broadcast_to(base, N.shape).astype(float).copy()
    if not fill:
        return k
    remaining = np.clip(k - N, 0, None).sum(axis=1)
    for g in range(N.shape[1]):
        extra = np.minimum(np.clip(N[:, g] - k[:, g], 0, None), remaining)
        k[:, g] += extra
        remaining -= extra
    return k


def _draw_households(listing: _Listing, villages: pd.DataFrame, village_codes: np.ndarray,
                     per_village: Mapping[str, int], rng: np.random.Generator,
                     fill: bool = False, reserves: int = 0) -> pd.DataFrame:
    quota = np.array([per_village[g] for g in listing.groups], dtype=float)
    count = listing.village_count[village_codes]
    if np.any(count == 0):
        name = villages["village"].iloc[int(np.flatnonzero(count == 0)[0])]
        raise EvalkitError(
            f"households: selected village {name!r} has no households of the groups "
            f"{', '.join(listing.groups)} in the listing")
    # The listing's rows of the selected villages, from their contiguous blocks.
    vpos = np.repeat(np.arange(len(village_codes)), count)
    rows = (np.repeat(listing.village_start[village_codes] - np.cumsum(count) + count, count)
            + np.arange(int(count.sum())))
    group = listing.group_code[rows]
    N = np.zeros((len(village_codes), len(quota)))
    N[vpos, group] = listing.cell_size[rows]
    k_cell = _cell_quotas(N, quota, fill)
    # SRS without replacement within each (village, group) cell: a uniform key per
    # household, keep the k smallest (the rows are already grouped by cell).
    key = rng.random(len(rows))
    cell_start = listing.cell_start[rows]
    # Sort by cell, then by key: one float sort is several times faster than lexsort.
    order = np.argsort(cell_start + key, kind="stable")
    rows, cell_start, vpos, group = rows[order], cell_start[order], vpos[order], group[order]
    first = np.concatenate([[True], cell_start[1:] != cell_start[:-1]])
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(rows)), 0))
    rank = np.arange(len(rows)) - run_start
    # With ``reserves``, the next households in the same random order of each cell are
    # kept as its reserve list (reserve_order 1, 2, ...; 0 = sampled): the sample itself
    # is the same as without reserves.
    take = rank < k_cell[vpos, group] + reserves
    keep = np.argsort(rows[take], kind="stable")
    reserve_order = np.maximum(rank[take] - k_cell[vpos, group][take] + 1, 0)[keep]
    rows, vpos, group = rows[take][keep], vpos[take][keep], group[take][keep]
    n_cell = listing.cell_size[rows]
    pi_household = np.minimum(k_cell[vpos, group], n_cell) / n_cell
    sample = listing.data.iloc[rows].reset_index(drop=True)
    village_prob = villages["village_prob"].to_numpy()[vpos]
    if "stratum" in villages.columns:
        sample.insert(1, "stratum", villages["stratum"].to_numpy()[vpos])
    sample["village_prob"] = village_prob
    sample["household_prob"] = pi_household
    sample["incl_prob"] = village_prob * pi_household
    sample["weight"] = 1.0 / sample["incl_prob"].to_numpy()
    if reserves:
        sample["reserve_order"] = reserve_order.astype(np.int64)
    return sample


def select_households(villages: pd.DataFrame, households: pd.DataFrame, frame: pd.DataFrame,
                      per_village: Mapping[str, int], rng: int | np.random.Generator,
                      fill: bool = False) -> pd.DataFrame:
    """Second stage: SRS of households within each selected village and household group.

    ``villages`` is the output of :func:`select_villages`; ``households`` the listing of
    (at least) those villages. ``per_village`` gives the quota per group (keys of
    :data:`HOUSEHOLD_GROUPS`); a cell with fewer households is taken whole, and with
    ``fill=True`` the shortfall is taken from the village's other groups (the practice of
    a fixed number of households per village, see :func:`_cell_quotas`).
    ``household_prob = min(k, N_vg) / N_vg``, ``incl_prob = village_prob * household_prob``,
    ``weight = 1 / incl_prob``.
    Identifying columns of the listing (names, ID numbers, phones) are dropped.
    """
    _check_frame(frame)
    gen = _rng(rng)
    listing = _prepare_listing(households, frame.reset_index(drop=True), per_village)
    codes = _village_codes(frame, villages)
    return _draw_households(listing, villages, codes, _groups(per_village), gen, fill)


def _village_codes(frame: pd.DataFrame, villages: pd.DataFrame) -> np.ndarray:
    codes = pd.Index(frame["village"]).get_indexer(villages["village"])
    if (codes < 0).any():
        raise EvalkitError(
            f"villages: {villages['village'].iloc[int(np.flatnonzero(codes < 0)[0])]!r} is "
            "not in the frame")
    return codes.astype(np.int64)


def draw_two_stage(
    frame: pd.DataFrame,
    households: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int],
    seed: int | np.random.Generator,
    size_column: str | Sequence[str] | None = None,
    *,
    strata: str | None = None,
    order: str = "given",
    fill: bool = False,
) -> pd.DataFrame:
    """The assessment's two-stage draw, reproducible from ``seed``.

    Stage 1: ``n_villages`` villages by systematic PPS on ``size_column``
    (:func:`select_villages`; certainty villages taken with probability 1). Stage 2: within
    each selected village, ``per_village[group]`` households of each group by SRS
    (:func:`select_households`), all of them when fewer exist (``fill=True``: topped up
    from the village's other groups).

    Returns one row per sampled household: township, village (stratum), household_id,
    household_type, the listing's other non-identifying columns, ``village_prob`` (first
    stage), ``household_prob`` (second stage, within village and group), ``incl_prob``
    (their product) and ``weight = 1 / incl_prob`` (schema names). Expected weight totals
    equal the frame's household counts (Horvitz and Thompson 1952); see
    :func:`weight_totals`.
    """
    gen = _rng(seed)
    quota = _groups(per_village)
    villages = select_villages(frame, n_villages, gen, size_column, strata=strata, order=order,
                               groups=tuple(quota))
    frame = frame.reset_index(drop=True)
    listing = _prepare_listing(households, frame, quota)
    return _draw_households(listing, villages, _village_codes(frame, villages), quota, gen,
                            fill)


def weight_totals(sample: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """Weighted household counts by household type beside the frame's counts.

    One draw's weighted total is an unbiased (Horvitz-Thompson) estimate of the frame
    total, so the two agree in expectation; with the default size measure (households of
    the sampled groups) their sum agrees exactly in every draw.
    """
    _require(sample, ["household_type", "weight"], "sample")
    types = [t for t in _FRAME_HOUSEHOLDS if t in set(sample["household_type"])]
    _require(frame, [_FRAME_HOUSEHOLDS[t] for t in types], "frame")
    est = sample.groupby("household_type")["weight"].sum().reindex(types)
    truth = pd.Series({t: float(frame[_FRAME_HOUSEHOLDS[t]].sum()) for t in types})
    out = pd.DataFrame({"household_type": types,
                        "frame_total": truth.to_numpy().astype(np.int64),
                        "weighted_total": est.to_numpy(), "sampled": sample[
                            "household_type"].value_counts().reindex(types).to_numpy()})
    total = pd.DataFrame({"household_type": ["all"],
                          "frame_total": [out["frame_total"].sum()],
                          "weighted_total": [out["weighted_total"].sum()],
                          "sampled": [out["sampled"].sum()]})
    out = pd.concat([out, total], ignore_index=True)
    out["relative_difference"] = out["weighted_total"] / out["frame_total"] - 1.0
    return out


def expected_sample(frame: pd.DataFrame, n_villages: int | Mapping[str, int],
                    per_village: Mapping[str, int],
                    size_column: str | Sequence[str] | None = None, *,
                    strata: str | None = None, fill: bool = False) -> pd.DataFrame:
    """Expected sampled households and people by household type under the planned design.

    Exact expectations from the frame's counts: a village enters with probability
    ``pi_v``; a group's quota ``k`` (topped up as in :func:`_cell_quotas` with ``fill``)
    gives ``min(k, N_vg)`` households, of which type ``t``
    is expected to be the share ``N_vt / N_vg``; people by the type's mean household size
    in the village. ``per_village_mean`` divides by the number of villages. When villages
    hold fewer registered households than the quota, this is how many exited households the
    wrong-exit rate will actually rest on.
    """
    quota = _groups(per_village)
    pi = village_probabilities(frame, n_villages, size_column, strata=strata,
                               groups=tuple(quota))
    n_total = sum(n_villages.values()) if isinstance(n_villages, Mapping) else n_villages
    counts = {}
    for g in quota:
        cols = [_FRAME_HOUSEHOLDS[t] for t in HOUSEHOLD_GROUPS[g]]
        _require(frame, cols, "frame")
        counts[g] = frame[cols].to_numpy(dtype=float).sum(axis=1)
    N = np.column_stack([counts[g] for g in quota])
    k_cell = _cell_quotas(N, np.array(list(quota.values()), dtype=float), fill)
    rows = []
    for j, g in enumerate(quota):
        types = HOUSEHOLD_GROUPS[g]
        N_g = N[:, j]
        taken = np.minimum(k_cell[:, j], N_g)
        for t in types:
            N_t = frame[_FRAME_HOUSEHOLDS[t]].to_numpy(dtype=float)
            share = np.divide(N_t, N_g, out=np.zeros_like(N_t), where=N_g > 0)
            households = pi * taken * share
            if _FRAME_PEOPLE[t] in frame.columns:
                size = np.divide(frame[_FRAME_PEOPLE[t]].to_numpy(dtype=float), N_t,
                                 out=np.zeros_like(N_t), where=N_t > 0)
                people = float((households * size).sum())
            else:
                people = np.nan
            rows.append((t, float(households.sum()), people))
    out = pd.DataFrame(rows, columns=["household_type", "households", "people"])
    total = pd.DataFrame([("all", out["households"].sum(), out["people"].sum())],
                         columns=out.columns)
    out = pd.concat([out, total], ignore_index=True)
    out["per_village_mean"] = out["households"] / n_total
    return out


def frame_profile(frame: pd.DataFrame) -> pd.DataFrame:
    """Villages, households, people and mean household size by household type."""
    _check_frame(frame)
    rows = []
    for t, col in _FRAME_HOUSEHOLDS.items():
        _require(frame, [col, _FRAME_PEOPLE[t]], "frame")
        h = frame[col].to_numpy(dtype=float)
        p = frame[_FRAME_PEOPLE[t]].to_numpy(dtype=float)
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


def village_summary(sample: pd.DataFrame) -> pd.DataFrame:
    """One row per sampled village: township, village, village_prob, sampled households by
    type and in all, and the range of the design weights."""
    _require(sample, ["township", "village", "household_type", "village_prob", "weight"],
              "sample")
    counts = pd.crosstab(sample["village"], sample["household_type"])
    counts = counts.reindex(columns=[t for t in _FRAME_HOUSEHOLDS if t in counts.columns])
    first = sample.groupby("village", sort=False)[["township", "village_prob"]].first()
    weights = sample.groupby("village", sort=False)["weight"].agg(["min", "max"])
    out = first.join(counts).join(weights.rename(columns={"min": "weight_min",
                                                          "max": "weight_max"}))
    out.insert(2 + counts.shape[1], "households", counts.sum(axis=1).reindex(out.index))
    return out.reset_index()


@dataclass(frozen=True)
class SamplePlan:
    """How many households the wrong-exit rate needs, next to what the plan delivers.

    ``household`` applies the design brief's formula to every sampled household (cluster
    size = households per village). The wrong-exit rate, however, rests only on exited
    households, so ``exited`` sizes the people-level rate (:func:`sample_size_ratio`) on
    the exited households expected per village under the plan (:func:`expected_sample`),
    and ``households_needed`` scales it up by the expected exited share of the sample.
    """

    household: SampleSize
    exited: SampleSize
    planned_villages: int
    planned_households: float
    planned_exited: float
    exited_per_village: float
    exited_fraction: float
    households_needed: int
    villages_needed: int

    def table(self) -> pd.DataFrame:
        """The plan as (quantity, value): counts as whole numbers, the rest to 4 significant
        digits, so reports and notebook comparisons show what matters."""
        rows = [
            ("n, household proportion (brief's formula)", float(self.household.n_final)),
            ("deff there (m = households per village)", self.household.deff),
            ("exited households per village (expected)", self.exited_per_village),
            ("deff for the wrong-exit rate", self.exited.deff),
            ("household-size factor 1 + CV^2", self.exited.unit_factor),
            ("exited households needed", float(self.exited.n_final)),
            ("exited share of the sample (expected)", self.exited_fraction),
            ("households needed for the wrong-exit margin", float(self.households_needed)),
            ("villages needed at this village size", float(self.villages_needed)),
            ("planned villages", float(self.planned_villages)),
            ("planned households (expected)", self.planned_households),
            ("planned exited households (expected)", self.planned_exited),
        ]
        counts = {0, 5, 7, 8, 9}
        values = [int(v) if i in counts else _significant(v) for i, (_, v) in enumerate(rows)]
        return pd.DataFrame({"quantity": [q for q, _ in rows],
                             "value": pd.Series(values, dtype=object)})


def plan_sample(
    frame: pd.DataFrame,
    *,
    expected_rate: float,
    margin: float,
    level: float,
    icc: float,
    households_per_village: int,
    response_rate: float,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int] | None = None,
    household_sizes: Sequence[float] | np.ndarray | None = None,
    size_column: str | Sequence[str] | None = None,
    strata: str | None = None,
    fill: bool = False,
) -> SamplePlan:
    """Sample size for the wrong-exit rate (Cochran) beside the planned two-stage sample.

    ``per_village`` defaults to :func:`allocate_household_types` of
    ``households_per_village`` (half registered, half not). ``household_sizes`` (e.g. the
    exited households' sizes in a previous survey) give the CV of household size; without
    them sizes are taken as equal. Villages needed are ``households_needed`` over the
    households per village actually expected (villages with fewer registered households
    than the quota deliver fewer).
    """
    quota = _groups(per_village or allocate_household_types(households_per_village))
    household = sample_size_proportion(expected_rate, margin, level=level,
                                       response_rate=response_rate, icc=icc,
                                       cluster_size=households_per_village)
    exp = expected_sample(frame, n_villages, quota, size_column, strata=strata,
                          fill=fill).set_index("household_type")
    if "exited" not in exp.index or exp.loc["exited", "households"] <= 0:
        raise EvalkitError("per_village: the plan samples no exited households; expected a "
                           "'registered' or 'exited' quota")
    n_total = sum(n_villages.values()) if isinstance(n_villages, Mapping) else n_villages
    m_exited = float(exp.loc["exited", "per_village_mean"])
    if household_sizes is None:
        prof = frame_profile(frame).set_index("household_type")
        mean_size, cv = float(prof.loc["exited", "mean_size"]), 0.0
    else:
        sizes = np.asarray(household_sizes, dtype=float)
        if sizes.size == 0 or np.any(~np.isfinite(sizes)) or np.any(sizes < 1):
            raise EvalkitError("household_sizes: expected household sizes >= 1")
        mean_size, cv = float(sizes.mean()), float(sizes.std() / sizes.mean())
    exited = sample_size_ratio(expected_rate, margin, mean_size, level=level,
                               response_rate=response_rate, icc=icc,
                               cluster_size=max(m_exited, 1.0), cv_household_size=cv)
    fraction = float(exp.loc["exited", "households"] / exp.loc["all", "households"])
    needed = _ceil(exited.n_final / fraction)
    per_village_all = float(exp.loc["all", "per_village_mean"])
    return SamplePlan(
        household=household, exited=exited, planned_villages=int(n_total),
        planned_households=float(exp.loc["all", "households"]),
        planned_exited=float(exp.loc["exited", "households"]),
        exited_per_village=m_exited, exited_fraction=fraction, households_needed=needed,
        villages_needed=_ceil(needed / per_village_all))


def design_options(
    frame: pd.DataFrame,
    households_per_village: Sequence[int],
    *,
    n_villages: int,
    true_rate: float,
    threshold: float,
    icc: float,
    alpha: float = 0.05,
    method: str = "logit",
    household_sizes: Sequence[float] | np.ndarray | None = None,
    target_power: float = 0.8,
    fill: bool = True,
) -> pd.DataFrame:
    """For each households-per-village option (half registered, half not, topped up with
    ``fill``): exited households expected per village on this frame, the analytic power of
    declaring the wrong-exit rate above ``threshold`` at ``true_rate`` with ``n_villages``,
    and the villages (and households) needed for ``target_power``
    (:func:`evalkit.sampling.power.power_analytic`,
    :func:`evalkit.sampling.power.villages_for_power`).
    Villages needed beyond the frame's are reported as they are: the design cannot reach
    the target in this county."""
    from evalkit.sampling.power import power_analytic, villages_for_power

    rows = []
    # A loop over the handful of options; each is array work.
    for k in households_per_village:
        quota = allocate_household_types(k)
        exp = expected_sample(frame, n_villages, quota, fill=fill).set_index("household_type")
        m = float(exp.loc["exited", "per_village_mean"])
        per_village = float(exp.loc["all", "per_village_mean"])
        pw = power_analytic(true_rate, threshold, n_villages, m, icc, alpha=alpha,
                            method=method, household_sizes=household_sizes)
        need = villages_for_power(true_rate, threshold, m, icc, power=target_power,
                                  alpha=alpha, method=method, household_sizes=household_sizes)
        rows.append((int(k), per_village, m, float(pw), need, need * per_village,
                     need <= len(frame)))
    return pd.DataFrame(rows, columns=[
        "households_per_village", "households_expected_per_village",
        "exited_per_village", f"power_with_{n_villages}_villages",
        f"villages_for_{target_power:.0%}_power".replace("%", "pct"),
        "households_for_target", "within_frame"])


FIELD_LIST_HEADERS_ZH: dict[str, str] = {
    "township": "乡镇", "village": "村", "household_id": "户编号", "household_type": "户类型",
}


def field_list(sample: pd.DataFrame, path: str | Path, lang: str = "en"
               ) -> tuple[Path, Path]:
    """Write the field team's list to ``path``.csv (UTF-8 with BOM, for Excel) and .xlsx.

    Only what is needed to find the household: township, village, household_id and
    household_type (Chinese labels when ``lang="zh"``, and Chinese headers in the
    workbook; the CSV keeps the column names), sorted by township, village, type and id.
    Names, ID numbers and phones never appear, whatever the sample holds.
    Returns the two paths.
    """
    _require(sample, FIELD_LIST_COLUMNS, "sample")
    if lang not in ("en", "zh"):
        raise EvalkitError(f"lang={lang!r}; expected 'en' or 'zh'")
    out = sample.loc[:, list(FIELD_LIST_COLUMNS)].copy()
    out = out.sort_values(list(FIELD_LIST_COLUMNS), kind="stable").reset_index(drop=True)
    if lang == "zh":
        labels = {code: names[0] for code, names in HOUSEHOLD_TYPES.items()}
        out["household_type"] = out["household_type"].map(labels).fillna(out["household_type"])
    base = Path(path)
    if base.suffix.lower() in (".csv", ".xlsx"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = base.with_suffix(".csv"), base.with_suffix(".xlsx")
    out.to_csv(csv_path, index=False, encoding="utf-8-sig")
    if lang == "zh":  # the workbook is for people: Chinese headers and sheet name
        write_table(out.rename(columns=FIELD_LIST_HEADERS_ZH), xlsx_path, sheet_name="抽样名单")
    else:
        write_table(out, xlsx_path, sheet_name="field_list")
    return csv_path, xlsx_path


# --- synthetic listings for checking a design ----------------------------------------------
def household_listing(frame: pd.DataFrame, seed: int | np.random.Generator) -> pd.DataFrame:
    """A household listing consistent with the frame's counts (for planning and checks).

    One row per household (township, village, household_id, household_type,
    household_size); in each village and type, the frame's people are spread over its
    households as evenly as possible (sizes differ by at most one, which ones are larger
    is random), so people totals match the frame exactly when people >= households.
    """
    _check_frame(frame)
    gen = _rng(seed)
    _require(frame, list(_FRAME_HOUSEHOLDS.values()) + list(_FRAME_PEOPLE.values()), "frame")
    parts = []
    for t, col in _FRAME_HOUSEHOLDS.items():
        h = frame[col].to_numpy().astype(np.int64)
        p = frame[_FRAME_PEOPLE[t]].to_numpy().astype(np.int64)
        if (h < 0).any() or (p < 0).any():
            r = int(np.flatnonzero((h < 0) | (p < 0))[0])
            raise EvalkitError(f"frame row {r + 1}: negative count for {t!r}; expected >= 0")
        vil = np.repeat(np.arange(len(frame)), h)
        start = np.repeat(np.cumsum(h) - h, h)
        within = np.arange(len(vil)) - start
        base = np.where(h > 0, p // np.maximum(h, 1), 0)
        extra = p - base * h
        # Which households in the cell get one more person: the smallest random keys.
        key = gen.random(len(vil))
        order = np.lexsort((key, vil))
        rank = np.empty(len(vil), dtype=np.int64)
        rank[order] = np.arange(len(vil)) - start[order]
        size = np.maximum(base[vil] + (rank < extra[vil]), 1)
        parts.append(pd.DataFrame({
            "village_pos": vil, "type_order": list(_FRAME_HOUSEHOLDS).index(t),
            "within": within, "household_type": t, "household_size": size}))
    allh = pd.concat(parts, ignore_index=True).sort_values(
        ["village_pos", "type_order", "within"], kind="stable")
    village = frame["village"].astype(str).to_numpy()
    vpos = allh["village_pos"].to_numpy()
    seq = allh.groupby("village_pos").cumcount().to_numpy() + 1
    ids = pd.Series(village[vpos]) + "-" + pd.Series(seq).astype(str).str.zfill(4)
    return pd.DataFrame({
        "township": frame["township"].to_numpy()[vpos],
        "village": frame["village"].to_numpy()[vpos],
        "household_id": ids.to_numpy(),
        "household_type": allh["household_type"].to_numpy(),
        "household_size": allh["household_size"].to_numpy(),
    })


def _beta_rates(mean: float, icc: float, size: int, gen: np.random.Generator) -> np.ndarray:
    """Village-level rates with the given mean and intraclass correlation (beta model:
    ``ICC = 1 / (a + b + 1)``)."""
    if icc <= 0:
        return np.full(size, mean)
    s = (1.0 - icc) / icc
    return gen.beta(mean * s, (1.0 - mean) * s, size=size)


def synthetic_population(
    frame: pd.DataFrame,
    seed: int | np.random.Generator,
    *,
    wrong_exit_rate: float = 0.029,
    recognition_rate: float = 0.9486,
    icc: float = 0.05,
) -> pd.DataFrame:
    """A full household listing with known outcomes, to check a design by simulation.

    :func:`household_listing` plus ``people_wrongly_exited`` (exited households judged
    wrongly exited as a whole) and ``recognizes`` (0/1). Village rates ``p_v`` are drawn from
    a beta distribution with the given mean and intraclass correlation ``icc``; the affected
    households are then chosen as the smallest ``u_i / p_v`` (``u_i`` uniform), i.e.
    Bernoulli(``c p_v``) selection conditioned on its total, with the total set so that the
    population rate equals the nominal one: the people-level wrong-exit rate to within one
    household, the recognition rate to within one household (non-recognition is drawn
    this way with ``1 - p_v``).
    """
    gen = _rng(seed)
    for name, value in (("wrong_exit_rate", wrong_exit_rate),
                        ("recognition_rate", recognition_rate)):
        _open_unit(name, value)
    rho = _finite("icc", icc)
    if not 0.0 <= rho < 1.0:
        raise EvalkitError(f"icc={icc!r}; expected a value in [0, 1)")
    pop = household_listing(frame, gen)
    v = pd.Index(frame["village"]).get_indexer(pop["village"])
    wrong_v = _beta_rates(wrong_exit_rate, rho, len(frame), gen)
    refuse_v = _beta_rates(1.0 - recognition_rate, rho, len(frame), gen)
    u = gen.random((2, len(pop)))
    size = pop["household_size"].to_numpy()
    exited = np.flatnonzero((pop["household_type"] == "exited").to_numpy())
    with np.errstate(divide="ignore"):
        order = exited[np.argsort(u[0, exited] / wrong_v[v[exited]], kind="stable")]
    people = np.cumsum(size[order])
    target = wrong_exit_rate * size[exited].sum()
    # The prefix whose people come closest to the target.
    n_wrong = int(np.argmin(np.abs(np.concatenate([[0], people]) - target)))
    wrong = np.zeros(len(pop), dtype=bool)
    wrong[order[:n_wrong]] = True
    pop["people_wrongly_exited"] = np.where(wrong, size, 0)
    with np.errstate(divide="ignore"):
        order = np.argsort(u[1] / refuse_v[v], kind="stable")
    n_refuse = int(round((1.0 - recognition_rate) * len(pop)))
    recognizes = np.ones(len(pop), dtype=np.int64)
    recognizes[order[:n_refuse]] = 0
    pop["recognizes"] = recognizes
    return pop


# --- checking the design by repeated draws --------------------------------------------------
@dataclass(frozen=True)
class DrawSimulation:
    """Repeated draws of one design from a known population.

    ``draws`` holds one row per replicate (estimate, se, ci_low, ci_high, covered and, with
    a threshold, declared).
    """

    draws: pd.DataFrame
    truth: float
    level: float

    @property
    def reps(self) -> int:
        return len(self.draws)

    @property
    def mean_estimate(self) -> float:
        return float(self.draws["estimate"].mean())

    @property
    def bias(self) -> float:
        return self.mean_estimate - self.truth

    @property
    def bias_mc_se(self) -> float:
        """Monte Carlo standard error of the bias."""
        return float(self.draws["estimate"].std(ddof=1) / math.sqrt(self.reps))

    @property
    def coverage(self) -> float:
        return float(self.draws["covered"].mean())

    @property
    def coverage_mc_se(self) -> float:
        return math.sqrt(self.level * (1.0 - self.level) / self.reps)

    @property
    def power(self) -> float:
        """Share of replicates declaring against the threshold (NaN without one)."""
        if "declared" not in self.draws:
            return math.nan
        return float(self.draws["declared"].mean())

    def summary(self) -> pd.DataFrame:
        """One row: truth, mean estimate, bias (and its MC SE), empirical SD of the estimate,
        mean estimated SE, bias over SD (a ratio estimator's bias is of order 1/n; below 0.1
        it is negligible, Cochran 1977, sec. 1.8), coverage (and its MC SE at the nominal
        level) and, with a threshold, the share of replicates declaring."""
        d = self.draws
        return pd.DataFrame([{
            "reps": self.reps, "truth": self.truth, "mean_estimate": self.mean_estimate,
            "bias": self.bias, "bias_mc_se": self.bias_mc_se,
            "sd_estimate": float(d["estimate"].std(ddof=1)), "mean_se": float(d["se"].mean()),
            "bias_ratio": self.bias / float(d["estimate"].std(ddof=1)),
            "coverage": self.coverage, "nominal": self.level,
            "coverage_mc_se": self.coverage_mc_se, "declared": self.power,
        }])


@dataclass(frozen=True)
class _SimulationSetup:
    """Checked arguments and the population prepared once, shared by
    :func:`simulate_draws` and :func:`simulate_design` so the two cannot drift apart."""

    reps: int
    level: float
    threshold: float | None
    gen: np.random.Generator
    quota: dict[str, int]
    frame: pd.DataFrame
    listing: _Listing
    in_domain: np.ndarray  # households of the estimation domain, in listing order
    y: np.ndarray  # outcome per listed household
    x: np.ndarray  # denominator per listed household (1 for a household proportion)
    truth: float


def _simulation_setup(population: pd.DataFrame, frame: pd.DataFrame,
                      per_village: Mapping[str, int], *, reps: int, seed: int, outcome: str,
                      denominator: str | None, domain: str | None, level: float,
                      threshold: float | None, alternative: str) -> _SimulationSetup:
    """Validate the simulation arguments, seed the generator and list the population.

    The truth is the population ratio ``sum_d y / sum_d x`` over the domain's households
    in the groups the design samples."""
    reps = _positive_int("reps", reps)
    level = _open_unit("level", level)
    if level <= 0.5:
        raise EvalkitError(f"level={level!r}; expected a confidence level above 0.5")
    if threshold is not None:
        threshold = _open_unit("threshold", threshold)
    if alternative not in ("greater", "less"):
        raise EvalkitError(f"alternative={alternative!r}; expected 'greater' or 'less'")
    if domain is not None and domain not in HOUSEHOLD_GROUPS:
        raise EvalkitError(f"domain={domain!r}; expected one of " + ", ".join(HOUSEHOLD_GROUPS))
    gen = _rng(seed)
    quota = _groups(per_village)
    frame = frame.reset_index(drop=True)
    _check_frame(frame)
    listing = _prepare_listing(population, frame, quota)
    data = listing.data
    _require(data, [outcome] + ([denominator] if denominator else []), "population")
    in_domain = (np.ones(len(data), dtype=bool) if domain is None
                 else data["household_type"].isin(HOUSEHOLD_GROUPS[domain]).to_numpy())
    y = data[outcome].to_numpy(dtype=float)
    x = np.ones(len(data)) if denominator is None else data[denominator].to_numpy(dtype=float)
    truth = float(y[in_domain].sum() / x[in_domain].sum())
    return _SimulationSetup(reps=reps, level=level, threshold=threshold, gen=gen, quota=quota,
                            frame=frame, listing=listing, in_domain=in_domain, y=y, x=x,
                            truth=truth)


def simulate_draws(
    population: pd.DataFrame,
    frame: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int],
    *,
    reps: int,
    seed: int,
    outcome: str,
    denominator: str | None = None,
    domain: str | None = None,
    level: float = 0.95,
    method: str = "logit",
    size_column: str | Sequence[str] | None = None,
    strata: str | None = None,
    fill: bool = False,
    threshold: float | None = None,
    alternative: Literal["greater", "less"] = "greater",
) -> DrawSimulation:
    """Draw the design ``reps`` times from ``population`` and estimate each time.

    The slow reference for :func:`simulate_design` (tests compare the two; not exported):
    one sample table and one ``SurveyDesign`` per replicate.

    Each replicate is :func:`draw_two_stage` followed by
    ``evalkit.SurveyDesign(sample, psu='village', strata=..., weights='weight')``, then
    ``.proportion(outcome, method, level)`` (0/1 outcome) or, with ``denominator``, the
    people-level rate ``sum w outcome / sum w denominator`` with the same svyciprop interval
    the indicators use (``evalkit.assessment.indicators.people_rate``: ``outcome`` counts people, at
    most ``denominator``). ``domain`` (a household group, e.g. ``'exited'``) restricts the
    estimate to that domain with the full design kept. With ``threshold``, each replicate
    also records whether the assessment would declare the rate above it
    (``alternative="greater"``: lower one-sided bound above) or below it (``"less"``), by
    one-sided tests at ``alpha = 1 - level`` as
    :mod:`evalkit.assessment.indicators` decides; the share of replicates declaring is the
    power of the real design (PPS, unequal villages).
    The truth is the population value over the households the design covers.
    """
    from evalkit.assessment.indicators import people_design
    from evalkit.survey.design import SurveyDesign

    setup = _simulation_setup(population, frame, per_village, reps=reps, seed=seed,
                              outcome=outcome, denominator=denominator, domain=domain,
                              level=level, threshold=threshold, alternative=alternative)
    reps, level, threshold = setup.reps, setup.level, setup.threshold
    gen, quota, frame, truth = setup.gen, setup.quota, setup.frame, setup.truth
    # One-sided decisions at alpha = 1 - level, as evalkit.assessment.indicators decides.
    one_sided = one_sided_level(level)
    data = setup.listing.data
    # Only what the estimate needs, with villages as integer codes: the same design, and
    # no string handling in every replicate.
    lean = pd.DataFrame({"village": setup.listing.village_code, "_domain": setup.in_domain,
                         outcome: data[outcome].to_numpy()})
    if denominator is not None:
        lean[denominator] = data[denominator].to_numpy()
    listing = replace(setup.listing, data=lean)
    rows = []
    for _ in range(reps):
        villages = select_villages(frame, n_villages, gen, size_column, strata=strata,
                                   groups=tuple(quota))
        codes = _village_codes(frame, villages)
        sample = _draw_households(listing, villages, codes, quota, gen, fill)
        design = SurveyDesign(sample, psu="village", strata="stratum" if strata else None,
                              weights="weight")
        if domain is not None:
            design = design.subset(sample["_domain"].to_numpy())
        if denominator is not None and method in ("logit", "mean"):
            # The person-level proportion's estimate and linearized SE equal the household
            # ratio's (evalkit.assessment.indicators), so the logit and Wald intervals follow
            # from the ratio without expanding households into people.
            est = design.ratio(outcome, denominator, level=level)
            r, se = np.array([est.estimate]), np.array([est.se])
            ci = tuple(float(b[0]) for b in rate_intervals(r, se, est.df, level, method))
            bounds = (tuple(float(b[0]) for b in
                            rate_intervals(r, se, est.df, one_sided, method))
                      if threshold is not None else ci)
        else:
            if denominator is not None:
                design = people_design(design, outcome, denominator, flag="_affected")
            column = outcome if denominator is None else "_affected"
            est = design.proportion(column, method=method, level=level)
            ci = est.ci
            bounds = (design.proportion(column, method=method, level=one_sided).ci
                      if threshold is not None else ci)
        row = [est.estimate, est.se, ci[0], ci[1]]
        if threshold is not None:
            row.append(bounds[0] > threshold if alternative == "greater"
                       else bounds[1] < threshold)
        rows.append(row)
    columns = ["estimate", "se", "ci_low", "ci_high"]
    draws = pd.DataFrame(rows, columns=columns + (["declared"] if threshold is not None else []))
    draws["covered"] = (draws["ci_low"] <= truth) & (truth <= draws["ci_high"])
    return DrawSimulation(draws=draws, truth=truth, level=level)


def simulate_design(
    population: pd.DataFrame,
    frame: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int],
    *,
    reps: int,
    seed: int,
    outcome: str,
    denominator: str | None = None,
    domain: str | None = None,
    level: float = 0.95,
    method: Literal["logit", "mean"] = "logit",
    size_column: str | Sequence[str] | None = None,
    strata: str | None = None,
    fill: bool = False,
    threshold: float | None = None,
    alternative: Literal["greater", "less"] = "greater",
) -> DrawSimulation:
    """:func:`simulate_draws` for many replicates at once, as arrays.

    The same design and estimator, without building a sample table per replicate: the
    first stage is systematic PPS for all replicates at once (one random start each); the
    second stage draws, for every village and household group, the sampled households'
    outcome categories from the multivariate hypergeometric distribution (exactly SRS
    without replacement, summarized by category), for all replicates at once; the rate and
    its linearization SE come from the weighted village totals
    (:func:`~evalkit.survey.village_rates.ratio_from_village_totals`, equal to ``SurveyDesign``'s),
    the interval by the ``logit`` or ``mean`` method. Loops run over strata and over the
    frame's villages, never over households or replicates. ``outcome`` and ``denominator``
    must take few distinct values (counts, sizes, 0/1).
    """
    if method not in ("logit", "mean"):
        raise EvalkitError(f"method={method!r}; expected 'logit' or 'mean'")
    setup = _simulation_setup(population, frame, per_village, reps=reps, seed=seed,
                              outcome=outcome, denominator=denominator, domain=domain,
                              level=level, threshold=threshold, alternative=alternative)
    reps, level, threshold = setup.reps, setup.level, setup.threshold
    gen, quota, frame, listing = setup.gen, setup.quota, setup.frame, setup.listing
    d, y, x, truth = setup.in_domain, setup.y, setup.x, setup.truth
    V, G = len(frame), len(quota)

    # First stage for all replicates: inclusion probabilities once, one start per replicate.
    xs, labels, want = _first_stage_plan(frame, n_villages, size_column, strata, tuple(quota))
    strata_names = list(want)
    stratum = (np.zeros(V, dtype=np.int64) if labels is None
               else pd.Index(strata_names).get_indexer(labels))
    pi = np.zeros(V)
    selected = np.zeros((reps, V), dtype=bool)
    for h, key in enumerate(strata_names):
        idx = np.flatnonzero(stratum == h)
        pi_h = pps_inclusion_probabilities(xs[idx], want[key])
        pi[idx] = pi_h
        certain = pi_h >= 1.0 - PPS_EPS
        selected[:, idx[certain]] = True
        chain = idx[(pi_h > PPS_EPS) & ~certain]
        n_rest = want[key] - int(certain.sum())
        if n_rest > 0:
            selected[:, chain] = systematic_hits(pi[chain], n_rest, gen.random((reps, 1)))

    listed = np.bincount(listing.village_code, minlength=V)
    missing = (pi > 0) & (listed == 0)
    if missing.any():
        raise EvalkitError(
            f"households: village {frame['village'].iloc[int(np.flatnonzero(missing)[0])]!r} "
            f"can be selected but has no households of the groups {', '.join(quota)} in the "
            "listing")
    # Second stage: cell sizes, quotas and weights per (village, group).
    N = np.zeros((V, G))
    N[listing.village_code, listing.group_code] = listing.cell_size
    k = _cell_quotas(N, np.array(list(quota.values()), dtype=float), fill)
    taken = np.minimum(k, N)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_cell = np.where(taken > 0, N / np.where(taken > 0, taken, 1.0), 0.0)
        w_cell = w_cell / np.where(pi > 0, pi, np.inf)[:, None]
    # Households summarized by (village, group, outcome category); domain only matters
    # for the totals, so other households form one zero category.
    cat = pd.DataFrame({"v": listing.village_code, "g": listing.group_code,
                        "y": np.where(d, y, 0.0), "x": np.where(d, x, 0.0)})
    counts = cat.groupby(["v", "g", "y", "x"], sort=True).size().reset_index(name="n")
    cv = counts["v"].to_numpy()
    cg = counts["g"].to_numpy()
    cy = counts["y"].to_numpy()
    cx = counts["x"].to_numpy()
    cn = counts["n"].to_numpy().astype(np.int64)
    full = taken[cv, cg] >= N[cv, cg]
    Y = np.zeros((reps, V))
    X = np.zeros((reps, V))
    # Cells taken whole: deterministic totals.
    wy = w_cell[cv, cg] * cy * cn
    wx = w_cell[cv, cg] * cx * cn
    Y += np.bincount(cv[full], weights=wy[full], minlength=V)[None, :]
    X += np.bincount(cv[full], weights=wx[full], minlength=V)[None, :]
    # Cells sampled: multivariate hypergeometric counts per category, all replicates at once.
    cell_id = cv * G + cg
    starts = np.flatnonzero(np.concatenate([[True], cell_id[1:] != cell_id[:-1]]))
    ends = np.concatenate([starts[1:], [len(cell_id)]])
    for a, b in zip(starts, ends, strict=True):
        if full[a] or pi[cv[a]] == 0:
            continue
        v, g = cv[a], cg[a]
        if b - a == 1:
            drawn = np.full((reps, 1), int(taken[v, g]))
        else:
            drawn = gen.multivariate_hypergeometric(cn[a:b], int(taken[v, g]), size=reps)
        Y[:, v] += w_cell[v, g] * (drawn @ cy[a:b])
        X[:, v] += w_cell[v, g] * (drawn @ cx[a:b])

    r, se = ratio_from_village_totals(Y, X, selected, stratum, len(strata_names))
    df = int(sum(want.values())) - len(strata_names)
    low, high = rate_intervals(r, se, df, level, method)
    draws = pd.DataFrame({"estimate": r, "se": se, "ci_low": low, "ci_high": high,
                          "numerator_total": (Y * selected).sum(axis=1),
                          "denominator_total": (X * selected).sum(axis=1)})
    if threshold is not None:
        lo1, hi1 = rate_intervals(r, se, df, one_sided_level(level), method)
        draws["declared"] = lo1 > threshold if alternative == "greater" else hi1 < threshold
    draws["covered"] = (draws["ci_low"] <= truth) & (truth <= draws["ci_high"])
    return DrawSimulation(draws=draws, truth=truth, level=level)
