"""Sample sizes for a proportion or a ratio under a clustered design (Cochran 1977, ch. 3-4 and 9;
Kish 1965 for the design effect).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.contract.errors import EvalkitError
from evalkit.sampling.checks import (
    ceil_tolerant,
    finite_number,
    open_unit,
    positive_int,
)


# --- sample size --------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleSize:
    """A sample size with every step of Cochran's calculation.

    ``n0`` is the simple-random-sample size, ``n1 = n0 * deff``, ``n2`` applies the finite
    population correction, ``n_final = ceil(n2 / response_rate)``. ``int(result)`` is
    ``n_final``. ``unit_factor`` is 1 for a household proportion; for a people-level ratio it
    is the factor turning the people-level ``z^2 p (1-p) / e^2`` into households (see
    :func:`sample_size_ratio`), already included in ``n0``.

    Examples
    --------
    >>> size = sample_size_proportion(0.029, 0.01, deff=2.0, response_rate=0.9)
    >>> round(size.n0, 1), round(size.n1, 1), size.n_final
    (1081.7, 2163.4, 2404)
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

    @property
    def n0_srs(self) -> float:
        """``z^2 p (1-p) / e^2``: the simple random sample, before the household-size
        factor (``n0 / unit_factor``).

        >>> round(sample_size_proportion(0.029, 0.01).n0_srs, 1)
        1081.7
        """
        return self.n0 / self.unit_factor

    def steps(self) -> pd.DataFrame:
        """The calculation as a two-column table (step, value) for reports: the simple
        random sample ``z^2 p(1-p)/e^2`` first, then the household-size factor (1 for a
        household proportion) that turns it into households, so the simple-random-sample
        row carries no weighting effect.

        Examples
        --------
        >>> sample_size_proportion(0.029, 0.01).steps().head(3)
                            step  value
        0  expected proportion p  0.029
        1      absolute margin e  0.010
        2       confidence level  0.950
        """
        rows = [
            ("expected proportion p", self.p),
            ("absolute margin e", self.margin),
            ("confidence level", self.level),
            ("z (two-sided)", self.z),
            ("z^2 p(1-p)/e^2 (simple random sample)", self.n0_srs),
            ("household-size factor 1 + CV^2 (unequal sizes)", self.unit_factor),
            ("n0 = z^2 p(1-p)/e^2 * factor (households)", self.n0),
            ("design effect", self.deff),
            ("n1 = n0 * deff", self.n1),
            ("population N", np.nan if self.population is None else float(self.population)),
            ("n2 = n1 / (1 + (n1 - 1) / N)", self.n2),
            ("response rate", self.response_rate),
            ("n = ceil(n2 / response rate)", float(self.n_final)),
        ]
        return pd.DataFrame(rows, columns=["step", "value"])


def _design_effect(deff: float, icc: float | None, cluster_size: float | None) -> float:
    if (icc is None) != (cluster_size is None):
        raise EvalkitError(
            "icc and cluster_size: give both (deff = 1 + (cluster_size - 1) * icc) or neither"
        )
    d = finite_number("deff", deff)
    if d <= 0:
        raise EvalkitError(f"deff={deff!r}; expected a design effect > 0")
    if icc is None:
        return d
    if d != 1.0:
        raise EvalkitError(
            f"deff={deff!r} together with icc and cluster_size; give the design effect one way"
        )
    rho = finite_number("icc", icc)
    if not 0.0 <= rho <= 1.0:
        raise EvalkitError(f"icc={icc!r}; expected an intraclass correlation in [0, 1]")
    m = finite_number("cluster_size", cluster_size)
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
    n_final = ceil_tolerant(n2 / response_rate)
    return SampleSize(p=p, margin=e, level=level, z=z, n0=n0, deff=deff, n1=n1,
                      population=population, n2=n2, response_rate=response_rate,
                      n_final=n_final, unit_factor=unit_factor)


def _common_size_args(p: float, margin: float, level: float, population: int | None,
                      response_rate: float, relative: bool
                      ) -> tuple[float, float, float, int | None, float, float]:
    p = open_unit("p", p)
    margin_value = finite_number("margin", margin)
    if margin_value <= 0:
        raise EvalkitError(f"margin={margin!r}; expected a margin of error > 0")
    e = margin_value * p if relative else margin_value
    if not relative and e >= 1:
        raise EvalkitError(f"margin={margin!r}; expected an absolute margin below 1 "
                           "(use relative=True for a margin relative to p)")
    level = open_unit("level", level)
    if population is not None:
        population = positive_int("population", population)
    rr = finite_number("response_rate", response_rate)
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

    Examples
    --------
    Cochran (1977) eq. 4.2: n0 = z^2 p (1 - p) / e^2; times a design effect of 2, divided by
    a 90% response rate:

    >>> size = sample_size_proportion(0.029, 0.01, deff=2.0, response_rate=0.9)
    >>> round(size.n0, 1), size.n_final
    (1081.7, 2404)
    >>> sample_size_proportion(0.029, 0.01, population=5000).n_final
    890
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

    Examples
    --------
    >>> household_factor(4.0), round(household_factor(4.0, cv_household_size=0.3), 3)
    (1.0, 1.09)
    >>> household_factor(4.0, household_icc=0.0)
    0.25
    """
    m = finite_number("mean_household_size", mean_household_size)
    if m < 1:
        raise EvalkitError(
            f"mean_household_size={mean_household_size!r}; expected people per household >= 1")
    cv = finite_number("cv_household_size", cv_household_size)
    if cv < 0:
        raise EvalkitError(f"cv_household_size={cv_household_size!r}; expected a value >= 0")
    rho = finite_number("household_icc", household_icc)
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

    Examples
    --------
    Households needed for a people-level rate of 2.9% +/- 1 point with 4 people per
    household (every member shares the household's outcome):

    >>> sample_size_ratio(0.029, 0.01, mean_household_size=4.0).n_final
    1082
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
    """Households needed for each (margin, ICC) pair: a long table margin, icc, deff, n,
    with ``deff = 1 + (m - 1) ICC`` for ``m = cluster_size`` households per village (Kish
    1965, sec. 5.4) and ``n`` from :func:`sample_size_proportion` (Cochran 1977, eq. 4.2).

    Examples
    --------
    >>> sample_size_grid(0.029, [0.01, 0.02], [0.0, 0.05], cluster_size=35)
       margin   icc  deff  households
    0    0.01  0.00   1.0        1082
    1    0.01  0.05   2.7        2921
    2    0.02  0.00   1.0         271
    3    0.02  0.05   2.7         731
    """
    rows = []
    for e in margins:
        for rho in iccs:
            s = sample_size_proportion(p, e, level=level, population=population,
                                       response_rate=response_rate, icc=rho,
                                       cluster_size=cluster_size)
            rows.append((float(e), float(rho), s.deff, s.n_final))
    return pd.DataFrame(rows, columns=["margin", "icc", "deff", "households"])
