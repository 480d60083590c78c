"""Power of the exit decisions for a planned two-stage sample.

The assessment declares a rate "above 2%" when the lower confidence bound of the
design-based estimate lies above 2%, and recognition "below 90%" when the upper bound lies
below 90%: a one-sided test at level ``alpha``. :mod:`evalkit.survey.decision` decides on the
two-sided interval shown at ``level``, so its one-sided tests are at
``alpha = (1 - level) / 2``: with the run's ``level: 0.95``, pass ``alpha = 0.025`` ("the 95%
two-sided interval lies above"). Power is the probability of
that declaration for a true rate, a number of villages (PSUs), households per village in
the indicator's domain and an intraclass correlation between households of a village.

Model (both the analytic approximation and the simulation use it): village rates
``p_v ~ Beta`` with mean ``p`` and ``ICC = 1 / (a + b + 1)``; households judged
independently given ``p_v``; for people-level rates the whole household is judged (all its
people count as wrongly exited or none do), household sizes independent of the judgement.
The estimator is the ratio ``sum y / sum x`` over the sample (self-weighting design) with
the with-replacement linearization variance of R's survey package (villages as PSUs,
``df = n_villages - 1``), and the interval is svyciprop's ``logit`` method or the Wald
(``mean``) interval, as in :mod:`evalkit.survey.design`.

Under that model the variance of the estimate is (Cochran 1977, eq. 6.9 with the
cluster variance of Kish 1965, sec. 5.4)::

    V(p_hat) = p (1 - p) / (n m) * [ (1 + CV^2) + (m - 1) ICC ]

with ``n`` villages, ``m`` households per village and ``CV`` the coefficient of variation
of household size (0 for household-level indicators such as recognition).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from evalkit.contract.errors import EvalkitError
from evalkit.survey.village_rates import rate_intervals, ratio_from_village_totals

__all__ = [
    "PowerSimulation",
    "bound_method",
    "plot_power_curve",
    "design_se",
    "power_analytic",
    "power_curve",
    "power_simulated",
    "rate_grid",
    "seed_sample_power",
    "villages_for_power",
]

Alternative = Literal["greater", "less"]
Method = Literal["logit", "mean"]
HouseholdSizes = float | Sequence[float] | np.ndarray | None

# Elements per simulated (reps x villages x households) block: bounds memory at ~100 MB.
_BLOCK = 4_000_000
# Resolution of the numerical integration in power_analytic.
_N_CHI = 200
_N_GRID = 1500


def _check(name: str, value: float, lo: float, hi: float, lo_open: bool = True,
           hi_open: bool = True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise EvalkitError(f"{name}={value!r}; expected a number") from None
    ok = math.isfinite(x) and (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi)
    if not ok:
        a = "(" if lo_open else "["
        b = ")" if hi_open else "]"
        raise EvalkitError(f"{name}={value!r}; expected a value in {a}{lo:g}, {hi:g}{b}")
    return x


def _rates(name: str, values: float | Sequence[float] | np.ndarray) -> np.ndarray:
    p = np.asarray(values, dtype=float)
    if p.size == 0 or not np.all(np.isfinite(p)) or np.any((p <= 0) | (p >= 1)):
        raise EvalkitError(f"{name}={values!r}; expected rates strictly between 0 and 1")
    return p


def _design_args(n_villages: int, households_per_village: float, icc: float,
                 alternative: str, alpha: float, method: str) -> tuple[int, float, float, float]:
    if isinstance(n_villages, bool) or int(n_villages) != n_villages or n_villages < 2:
        raise EvalkitError(f"n_villages={n_villages!r}; expected a whole number >= 2")
    m = _check("households_per_village", households_per_village, 1.0, math.inf,
               lo_open=False)
    rho = _check("icc", icc, 0.0, 1.0, lo_open=False)
    a = _check("alpha", alpha, 0.0, 0.5)
    if alternative not in ("greater", "less"):
        raise EvalkitError(f"alternative={alternative!r}; expected 'greater' or 'less'")
    if method not in ("logit", "mean"):
        raise EvalkitError(f"method={method!r}; expected 'logit' or 'mean'")
    return int(n_villages), m, rho, a


def _size_cv2(household_sizes: HouseholdSizes) -> float:
    """Squared CV of household size: 0 for household-level indicators; for a mean size
    ``mu`` the shifted Poisson ``1 + Poisson(mu - 1)`` (variance ``mu - 1``); or the
    empirical CV of a list of sizes."""
    if household_sizes is None:
        return 0.0
    sizes = np.asarray(household_sizes, dtype=float)
    if sizes.ndim == 0:
        mu = _check("household_sizes", float(sizes), 1.0, math.inf, lo_open=False)
        return (mu - 1.0) / (mu * mu)
    if sizes.size == 0 or np.any(~np.isfinite(sizes)) or np.any(sizes < 1):
        raise EvalkitError("household_sizes: expected household sizes >= 1")
    return float(sizes.var() / sizes.mean() ** 2)


def design_se(true_rate: float | Sequence[float] | np.ndarray, n_villages: int,
              households_per_village: float, icc: float,
              household_sizes: HouseholdSizes = None) -> np.ndarray | float:
    """Standard error of the estimated rate under the module's model:
    ``sqrt(p (1-p) / (n m) * [(1 + CV^2) + (m - 1) ICC])``.

    Examples
    --------
    >>> round(design_se(0.029, n_villages=30, households_per_village=35, icc=0.05), 5)
    0.00851
    """
    p = _rates("true_rate", true_rate)
    n, m, rho, _ = _design_args(n_villages, households_per_village, icc, "greater", 0.05,
                                "mean")
    cv2 = _size_cv2(household_sizes)
    se = np.sqrt(p * (1 - p) / (n * m) * ((1 + cv2) + (m - 1) * rho))
    return float(se) if se.ndim == 0 else se


def _bound_margin(grid: np.ndarray, a: np.ndarray, p0: float, method: str) -> np.ndarray:
    """``g(lower bound) - g(p0)`` at estimate ``grid`` when the estimated SE is
    ``a * sqrt(grid (1 - grid))`` (t quantile folded into ``a``)."""
    q = grid * (1.0 - grid)
    if method == "logit":
        return np.log(grid / (1.0 - grid)) - a / np.sqrt(q) - math.log(p0 / (1.0 - p0))
    return grid - a * np.sqrt(q) - p0


def power_analytic(
    true_rate: float | Sequence[float] | np.ndarray,
    threshold: float,
    n_villages: int,
    households_per_village: float,
    icc: float,
    *,
    alternative: Alternative = "greater",
    alpha: float = 0.05,
    method: Method = "logit",
    household_sizes: HouseholdSizes = None,
) -> np.ndarray | float:
    """Approximate power of the one-sided design-based test, by numerical integration.

    Normal approximation with the design-effect variance: ``p_hat ~ N(p, SE(p)^2)`` with
    ``SE`` from :func:`design_se`, and the estimated standard error
    ``se_hat = c * SE(p_hat)``, where ``c^2 ~ chi^2_df / df`` independently,
    ``df = n_villages - 1`` (the t reference distribution's own assumption). Writing
    ``SE(p_hat)`` at the estimate rather than at the truth keeps the mean-variance link of a
    proportion, which is what makes the Wald bound conservative for rare events. The
    declaration "above" is ``lower bound > p0`` with the logit bound
    ``expit(logit p_hat - t se_hat / (p_hat (1 - p_hat)))`` or the Wald bound
    ``p_hat - t se_hat``; its probability is integrated over 200 quantiles of ``c`` and a
    fine grid of ``p_hat`` (about four correct decimals). "below" (``alternative="less"``)
    is the mirror image (``p -> 1 - p``; both bounds are symmetric).

    It ignores the skewness of ``p_hat`` for rare events: at 2-3% with ~650 households it
    is within about 0.02 of :func:`power_simulated`; for common rates it agrees within
    Monte Carlo error.

    Examples
    --------
    Power to show that a true 2.9% exceeds the 2% line, 30 villages of 35 households:

    >>> round(power_analytic(0.029, 0.02, n_villages=30, households_per_village=35,
    ...                      icc=0.05), 3)
    0.361
    >>> round(power_analytic(0.029, 0.02, n_villages=120, households_per_village=35,
    ...                      icc=0.05), 3)
    0.767
    """
    p = _rates("true_rate", true_rate)
    p0 = _check("threshold", threshold, 0.0, 1.0)
    n, m, rho, a = _design_args(n_villages, households_per_village, icc, alternative, alpha,
                                method)
    if alternative == "less":
        p, p0 = 1.0 - p, 1.0 - p0
    cv2 = _size_cv2(household_sizes)
    df = n - 1
    k = math.sqrt(((1.0 + cv2) + (m - 1.0) * rho) / (n * m))
    t_crit = float(stats.t.ppf(1.0 - a, df))
    c = np.sqrt(stats.chi2.ppf((np.arange(_N_CHI) + 0.5) / _N_CHI, df) / df)[:, None]
    flat = np.atleast_1d(p).ravel()
    power = np.empty(len(flat))
    # A loop over the handful of true rates; each is one (chi quantile x grid) array.
    for i, rate in enumerate(flat):
        se = math.sqrt(rate * (1.0 - rate)) * k
        grid = np.linspace(max(rate - 9 * se, 1e-12), min(rate + 9 * se, 1 - 1e-12), _N_GRID)
        mass = np.diff(stats.norm.cdf((grid - rate) / se))
        g = _bound_margin(grid, t_crit * k * c, p0, method)
        left, right = g[:, :-1], g[:, 1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            # Share of each grid cell where the bound clears p0 (linear between nodes).
            share = np.where(
                (left > 0) & (right > 0), 1.0,
                np.where((left <= 0) & (right <= 0), 0.0,
                         np.where(right > 0, right / (right - left), left / (left - right))))
        power[i] = float((share * mass).sum(axis=1).mean())
    out = power.reshape(np.shape(p))
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class PowerSimulation:
    """Simulated power per true rate, with its Monte Carlo standard error.

    Examples
    --------
    >>> sim = power_simulated([0.02, 0.04], 0.02, n_villages=30, households_per_village=35,
    ...                       icc=0.05, reps=200, seed=1)
    >>> sim.power.round(2).tolist(), sim.mc_se.round(3).tolist()
    ([0.04, 0.8], [0.013, 0.028])
    """

    true_rate: np.ndarray
    power: np.ndarray
    reps: int

    @property
    def mc_se(self) -> np.ndarray:
        """Monte Carlo standard error of each simulated power, ``sqrt(p (1 - p) / reps)`` (with
        ``p (1 - p)`` floored at ``1 / reps`` so a power of 0 or 1 still shows its uncertainty).

        Examples
        --------
        >>> PowerSimulation(true_rate=np.array([0.03]), power=np.array([0.8]), reps=400).mc_se
        array([0.02])
        """
        return np.sqrt(np.clip(self.power * (1 - self.power), 1.0 / self.reps, None)
                       / self.reps)


def _draw_sizes(household_sizes: HouseholdSizes, shape: tuple[int, ...],
                gen: np.random.Generator) -> np.ndarray:
    sizes = np.asarray(household_sizes, dtype=float)
    if sizes.ndim == 0:
        return 1.0 + gen.poisson(float(sizes) - 1.0, size=shape)
    return gen.choice(sizes, size=shape, replace=True)


def declared(y: np.ndarray, x: np.ndarray, p0: float, df: int, alpha: float,
             alternative: str, method: str) -> np.ndarray:
    """Whether each simulated survey declares the rate past ``p0``: the decision rule of
    :func:`power_simulated`, vectorized over replicates.

    ``y`` and ``x`` hold village totals (numerator, denominator), one row per replicate and
    one column per village (one stratum, every village sampled). The rate is the ratio
    estimate with its with-replacement linearization SE (Cochran 1977, sec. 6.4); the
    decision is its one-sided bound at ``alpha`` (the two-sided interval at
    ``1 - 2 alpha`` by ``method``), as :func:`evalkit.sampling.plan.simulate_design` and
    :mod:`evalkit.assessment.indicators` decide: ``alternative="less"`` declares when the
    upper bound is below ``p0``, ``"greater"`` when the lower bound is above it. A bound
    equal to ``p0`` declares nothing. Returns one boolean per replicate.
    """
    n = y.shape[1]
    r, se = ratio_from_village_totals(y, x, np.ones((1, n), dtype=bool),
                                       np.zeros(n, dtype=np.int64), 1)
    low, high = rate_intervals(r, se, df, 1.0 - 2.0 * alpha, method)
    return low > p0 if alternative == "greater" else high < p0


def power_simulated(
    true_rate: float | Sequence[float] | np.ndarray,
    threshold: float,
    n_villages: int,
    households_per_village: int,
    icc: float,
    *,
    reps: int = 2000,
    seed: int,
    alternative: Alternative = "greater",
    alpha: float = 0.05,
    method: Method = "logit",
    household_sizes: HouseholdSizes = None,
) -> PowerSimulation:
    """Power by simulating ``reps`` samples per true rate, all at once as arrays.

    Village rates from the beta model; household-level indicators as beta-binomial village
    counts; people-level rates with household sizes drawn from ``household_sizes`` (a mean,
    as ``1 + Poisson(mean - 1)``, or a list resampled) and whole households judged. Each
    replicate is estimated and tested exactly as the assessment would
    (ratio, linearization SE, t with ``n_villages - 1`` df, logit or Wald bound).

    Examples
    --------
    >>> sim = power_simulated(0.04, 0.02, n_villages=30, households_per_village=35, icc=0.05,
    ...                       reps=200, seed=1)
    >>> sim.reps, sim.power.round(2).tolist()
    (200, [0.8])
    """
    p = np.atleast_1d(_rates("true_rate", true_rate))
    p0 = _check("threshold", threshold, 0.0, 1.0)
    n, m_float, rho, a = _design_args(n_villages, households_per_village, icc, alternative,
                                      alpha, method)
    if m_float != int(m_float):
        raise EvalkitError(
            f"households_per_village={households_per_village!r}; the simulation needs a "
            "whole number")
    m = int(m_float)
    if isinstance(reps, bool) or int(reps) != reps or reps < 1:
        raise EvalkitError(f"reps={reps!r}; expected a whole number >= 1")
    reps = int(reps)
    if seed is None:
        raise EvalkitError("seed: expected an integer seed (simulations must be reproducible)")
    _size_cv2(household_sizes)  # validates
    gen = np.random.default_rng(seed)
    power = np.empty(len(p))
    per_rep = n * m if household_sizes is not None else n
    block = max(1, _BLOCK // per_rep)
    # A loop over the handful of true rates and memory-sized blocks of replicates; each
    # block is one array computation.
    for i, rate in enumerate(p):
        hits = 0
        done = 0
        while done < reps:
            b = min(block, reps - done)
            if rho > 0:
                s = (1 - rho) / rho
                pv = gen.beta(rate * s, (1 - rate) * s, size=(b, n))
            else:
                pv = np.full((b, n), rate)
            if household_sizes is None:
                y = gen.binomial(m, pv).astype(float)
                x = np.full((b, n), float(m))
            else:
                sizes = _draw_sizes(household_sizes, (b, n, m), gen)
                judged = gen.random((b, n, m)) < pv[:, :, None]
                y = (sizes * judged).sum(axis=2)
                x = sizes.sum(axis=2)
            hits += int(declared(y, x, p0, n - 1, a, alternative, method).sum())
            done += b
        power[i] = hits / reps
    return PowerSimulation(true_rate=p, power=power, reps=reps)


def power_curve(
    true_rates: Sequence[float] | np.ndarray,
    threshold: float,
    n_villages: int,
    households_per_village: int,
    icc: float,
    *,
    reps: int = 0,
    seed: int | None = None,
    alternative: Alternative = "greater",
    alpha: float = 0.05,
    method: Method = "logit",
    household_sizes: HouseholdSizes = None,
) -> pd.DataFrame:
    """Power over a grid of true rates: columns true_rate, analytic and, when ``reps > 0``,
    simulated and mc_se (the simulation with households per village rounded to whole
    households).

    Examples
    --------
    >>> power_curve([0.02, 0.03, 0.04], 0.02, n_villages=30, households_per_village=35,
    ...             icc=0.05).round(3)
       true_rate  analytic
    0       0.02     0.048
    1       0.03     0.407
    2       0.04     0.784
    """
    analytic = power_analytic(true_rates, threshold, n_villages, households_per_village, icc,
                              alternative=alternative, alpha=alpha, method=method,
                              household_sizes=household_sizes)
    out = pd.DataFrame({"true_rate": np.asarray(true_rates, dtype=float),
                        "analytic": np.atleast_1d(analytic)})
    if reps:
        if seed is None:
            raise EvalkitError("seed: expected an integer seed when reps > 0")
        sim = power_simulated(true_rates, threshold, n_villages,
                              max(1, round(households_per_village)), icc,
                              reps=reps, seed=seed, alternative=alternative, alpha=alpha,
                              method=method, household_sizes=household_sizes)
        out["simulated"] = sim.power
        out["mc_se"] = sim.mc_se
    return out


def villages_for_power(
    true_rate: float,
    threshold: float,
    households_per_village: float,
    icc: float,
    *,
    power: float = 0.8,
    alternative: Alternative = "greater",
    alpha: float = 0.05,
    method: Method = "logit",
    household_sizes: HouseholdSizes = None,
    max_villages: int = 100_000,
) -> int:
    """Smallest number of villages whose analytic power reaches ``power`` (bisection;
    power increases with villages). Raises when even ``max_villages`` fall short, e.g.
    when the true rate is on the wrong side of the threshold.

    Examples
    --------
    >>> villages_for_power(0.029, 0.02, households_per_village=35, icc=0.05)
    134
    """
    target = _check("power", power, 0.0, 1.0)

    def pw(n: int) -> float:
        return float(power_analytic(true_rate, threshold, n, households_per_village, icc,
                                    alternative=alternative, alpha=alpha, method=method,
                                    household_sizes=household_sizes))

    if pw(max_villages) < target:
        raise EvalkitError(
            f"power={power!r} is not reached with {max_villages} villages for "
            f"true_rate={true_rate!r} against threshold={threshold!r}")
    if pw(2) >= target:
        return 2
    # Bracket around the normal-theory answer n = (z_a + z_b)^2 V1 / (p - p0)^2 (V1 the
    # variance of one village's mean), then bisect: a handful of evaluations, not 17.
    p = float(true_rate)
    v1 = float(design_se(p, 2, households_per_village, icc, household_sizes)) ** 2 * 2
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(target)
    guess = int(min(max(2, math.ceil(z * z * v1 / (p - float(threshold)) ** 2)), max_villages))
    lo, hi = max(2, int(guess * 0.8)), min(max_villages, int(guess * 1.25) + 2)
    while lo > 2 and pw(lo) >= target:
        lo = max(2, lo // 2)
    while hi < max_villages and pw(hi) < target:
        hi = min(max_villages, hi * 2)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if pw(mid) >= target:
            hi = mid
        else:
            lo = mid
    return hi


# The seed county's registered poor: 8,671 people, 3,085 not yet exited (design brief).
SEED_EXITED_SHARE = (8671 - 3085) / 8671


def seed_sample_power(
    true_rate: float = 0.029,
    threshold: float = 0.02,
    *,
    n_households: int = 2000,
    n_villages: int = 29,
    registered_share: float = 0.5,
    exited_share: float = SEED_EXITED_SHARE,
    icc: float = 0.05,
    household_sizes: HouseholdSizes = None,
    alpha: float = 0.05,
    method: Method = "logit",
    reps: int = 0,
    seed: int | None = None,
    exited_per_village: float | None = None,
) -> float:
    """Power of the seed county's sample to declare the wrong-exit rate above ``threshold``
    when the true rate is ``true_rate``.

    The rate is people-level among exited households, so the sample that matters is the
    exited households: ``m = n_households / n_villages * registered_share * exited_share``
    per village (``exited_share`` among registered households defaults to the seed county's
    people share, 5,586 / 8,671), or ``exited_per_village`` when given (e.g. from
    :func:`evalkit.sampling.plan.expected_sample` on the county's frame, which knows that
    villages hold fewer registered households than the quota). Analytic
    (:func:`power_analytic`) unless ``reps > 0``, then simulated with ``m`` rounded to whole
    households.

    Examples
    --------
    >>> round(seed_sample_power(), 3)
    0.32
    """
    _check("registered_share", registered_share, 0.0, 1.0, hi_open=False)
    _check("exited_share", exited_share, 0.0, 1.0, hi_open=False)
    if int(n_households) != n_households or n_households < n_villages:
        raise EvalkitError(
            f"n_households={n_households!r}; expected a whole number >= n_villages")
    m = (n_households / n_villages * registered_share * exited_share
         if exited_per_village is None
         else _check("exited_per_village", exited_per_village, 0.0, math.inf))
    if m < 1:
        raise EvalkitError(
            f"n_households={n_households!r} leaves {m:.2g} exited households per village; "
            "expected at least 1")
    if reps:
        if seed is None:
            raise EvalkitError("seed: expected an integer seed when reps > 0")
        sim = power_simulated(true_rate, threshold, n_villages, round(m), icc, reps=reps,
                              seed=seed, alpha=alpha, method=method,
                              household_sizes=household_sizes)
        return float(sim.power[0])
    return float(power_analytic(true_rate, threshold, n_villages, m, icc, alpha=alpha,
                                method=method, household_sizes=household_sizes))


def bound_method(ci_method: str) -> Method:
    """The bound the power model uses for a project ``ci_method``: ``mean`` (Wald) stays
    Wald; the other svyciprop methods (logit, likelihood, asin, beta, xlogit) are modelled
    by the logit bound, which, like them, is asymmetric and respects [0, 1]. An
    approximation for methods other than logit and mean.

    Examples
    --------
    >>> bound_method("mean"), bound_method("beta")
    ('mean', 'logit')
    """
    return "mean" if ci_method == "mean" else "logit"


def plot_power_curve(curve: pd.DataFrame, threshold: float, *, title: str, xlabel: str,
                     mark: float | None = None, target: float = 0.8):
    """Power against the true rate: the analytic curve, simulated points with 2 Monte Carlo
    SEs, the threshold, a marked true rate and the target power. Returns the figure.

    Examples
    --------
    >>> curve = power_curve([0.02, 0.03, 0.04], 0.02, n_villages=30, households_per_village=35,
    ...                     icc=0.05)
    >>> figure = plot_power_curve(curve, 0.02, title="Wrong exits", xlabel="true rate")
    >>> type(figure).__name__
    'Figure'
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import PercentFormatter

    # A bare Figure, not pyplot: nothing is registered for automatic display in notebooks.
    fig = Figure(figsize=(7, 3.6), dpi=100)
    ax = fig.subplots()
    ax.plot(curve["true_rate"], curve["analytic"], color="#1f77b4", label="analytic")
    if "simulated" in curve:
        ax.errorbar(curve["true_rate"], curve["simulated"], yerr=2 * curve["mc_se"], fmt="o",
                    color="#d62728", markersize=4, capsize=2, label="simulated (±2 MC SE)")
    ax.axvline(threshold, color="grey", linestyle=":", label=f"threshold {threshold:.1%}")
    if mark is not None:
        ax.axvline(mark, color="black", linestyle="--", linewidth=1,
                   label=f"true rate {mark:.2%}")
    ax.axhline(target, color="#2ca02c", linestyle="--", linewidth=1,
               label=f"{target:.0%} power")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability of the declaration")
    ax.set_ylim(-0.02, 1.02)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def rate_grid(threshold: float, alternative: Alternative = "greater", points: int = 11
              ) -> np.ndarray:
    """True rates for a power curve: from a little on the safe side of the threshold to
    well past it, ``span = min(2 min(p0, 1 - p0), 0.15)``; for "greater"
    ``[p0 - span/4, p0 + span]``, for "less" the mirror image. Rounded to 4 decimals.

    Examples
    --------
    >>> rate_grid(0.02, points=5).round(4).tolist()
    [0.01, 0.0225, 0.035, 0.0475, 0.06]
    """
    p0 = _check("threshold", threshold, 0.0, 1.0)
    if alternative not in ("greater", "less"):
        raise EvalkitError(f"alternative={alternative!r}; expected 'greater' or 'less'")
    span = min(2 * min(p0, 1 - p0), 0.15)
    lo, hi = (p0 - span / 4, p0 + span) if alternative == "greater" else (p0 - span,
                                                                          p0 + span / 4)
    grid = np.round(np.linspace(lo, hi, points), 4)
    return grid[(grid > 0) & (grid < 1)]
