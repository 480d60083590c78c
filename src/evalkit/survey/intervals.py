"""Confidence intervals for proportions under a complex design (R's ``svyciprop``).

All design-based methods start from the weighted proportion ``p``, its linearization
standard error ``se`` and the design degrees of freedom ``df``; ``t`` is the two-sided
t quantile with ``df`` degrees of freedom:

* ``mean`` (Wald): ``p +/- t se``.
* ``logit`` / ``xlogit``: ``expit(logit p +/- t se / (p (1 - p)))``. ``logit`` is the Wald
  interval of an intercept-only ``svyglm(quasibinomial)``, ``xlogit`` the delta method on
  ``svymean``; for an intercept-only model the two coincide exactly.
* ``asin``: ``sin^2(asin sqrt p +/- t se / (2 sqrt(p (1 - p))))``, bounds clipped to [0, 1]
  (R does not clip, and for a lower bound below zero returns a spurious positive value).
* ``beta`` (Korn and Graubard 1998): Clopper-Pearson with the effective sample size
  ``n* = p (1 - p) / se^2 * (t_{n-1} / t_df)^2``, ``n`` the rows in the domain (see
  *Domains of a calibrated design* below).
* ``likelihood``: the Rao-Scott scaled profile likelihood of ``svyglm``: the binomial
  deviance with weights rescaled to mean 1, divided by the dispersion (``svyvar`` of the
  unweighted Pearson residuals ``(y - p) / sqrt(p (1 - p))``), is inverted at
  ``t^2 * lambda`` where ``lambda`` is the ratio of the design-based to the model-based
  variance of ``logit p`` (Lumley 2010, sec. 3.2; ``survey:::confint.svyglm``). The
  profile is traced on R's grid and inverted through the same FMM cubic spline and
  linear interpolation R uses, so bounds agree with R to rounding.

For simple random samples the classical binomial intervals are also offered (``wilson``,
``clopper-pearson``, ``jeffreys``, ``agresti-coull``), from statsmodels' well-kept
``proportion_confint`` with ``n`` the number of sampled units.

Zero or all events (``p`` = 0 or 1): the design variance is zero, so every design method
above collapses to a zero-width interval (R returns NaN or a point). evalkit instead gives
the Korn-Graubard interval with ``n* = n`` (deff taken as 1 because it cannot be estimated),
df-adjusted as above: for ``p = 0`` the interval is ``[0, 1 - (alpha/2)^(1/n*)]``. The
``note`` of the result says so.

Domains of a calibrated design: R's ``subset`` drops the rows outside a domain of an
uncalibrated design, but keeps them at weight 0 in a calibrated (post-stratified, raked,
calibrated) one, and its ``beta`` (``nrow(design) - 1``) and ``likelihood`` (weights
rescaled to mean 1 over the rows, ``n`` their number) intervals then count every row, in the
domain or not. evalkit counts the domain's rows in both cases, as R does before
calibration; on a calibrated design these two methods' domain intervals therefore differ
from R's, on purpose. Estimates, standard errors and the other methods agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import special

from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import (
    CI_METHODS,
    DESIGN_CI_METHODS,
    SRS_CI_METHODS,
    canonical_ci_method,
)
from evalkit.survey.estimate import Estimate, check_level, t_ppf, weighted_variance

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign

# The method names and their one spelling live in the data contract.
DESIGN_METHODS: tuple[str, ...] = DESIGN_CI_METHODS
SRS_METHODS: tuple[str, ...] = SRS_CI_METHODS
METHODS: tuple[str, ...] = CI_METHODS

_STATSMODELS_NAMES = {
    "wilson": "wilson",
    "clopper-pearson": "beta",
    "jeffreys": "jeffreys",
    "agresti-coull": "agresti_coull",
}


def proportion_interval(
    design: SurveyDesign,
    y: np.ndarray,
    p: float,
    se: float,
    deff: float,
    n_obs: int,
    method: str,
    level: float,
) -> Estimate:
    """Interval for a proportion already estimated on ``design`` (see module docstring).

    Examples
    --------
    Usually reached through :meth:`SurveyDesign.proportion
    <evalkit.survey.design.SurveyDesign.proportion>`; a sample with no event gets the Korn-
    Graubard interval with n* = n (module docstring) and a note:

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"village": [1, 1, 2, 2, 3, 3], "weight": 10.0,
    ...                                     "wrong": 0}), psu="village", weights="weight")
    >>> none = design.proportion("wrong", method="logit")
    >>> none.estimate, round(none.ci[1], 4), none.note.split(":")[0]
    (0.0, 0.8214, 'no events')
    """
    check_level(level)
    method = canonical_ci_method(method)  # clopper_pearson (older spelling) -> clopper-pearson
    if method not in METHODS:
        raise EvalkitError(
            f"proportion: method {method!r} is unknown; expected one of " + ", ".join(METHODS)
        )
    df = design.df
    alpha = 1 - level
    note = ""
    if method in SRS_METHODS:
        if not design.is_simple_random_sample:
            raise EvalkitError(
                f"proportion: method {method!r} assumes a simple random sample, but this "
                "design has clusters, strata or unequal weights; use logit, likelihood, "
                "asin, beta, mean or xlogit"
            )
        from statsmodels.stats.proportion import proportion_confint

        count = round(p * n_obs)
        low, high = proportion_confint(
            count, n_obs, alpha=alpha, method=_STATSMODELS_NAMES[method]
        )
        ci = (float(low), float(high))
    elif p <= 0 or p >= 1 or se == 0:
        ci = _korn_graubard(p, float(n_obs), alpha, n_obs, df)
        note = (
            f"{'no' if p <= 0 else 'all'} events: Korn-Graubard interval with effective "
            "sample size n (the design variance is zero)"
        )
    elif df <= 0:
        ci = (float("nan"), float("nan"))
        note = "design has no degrees of freedom in this domain: no interval"
    elif method == "likelihood":
        ci = _likelihood_interval(design, y, p, se, level, df)
    else:
        ci = interval_from_se(p, se, method, level, df, n_obs)
    return Estimate(
        estimate=p, se=se, ci=ci, deff=deff, df=df, n=n_obs, level=level,
        method=method, note=note,
    )


def interval_from_se(p: float, se: float, method: str, level: float, df: int, n_rows: int
                     ) -> tuple[float, float]:
    """Interval of a proportion-like estimate from ``p``, ``se`` and ``df`` alone.

    The design methods that need no data beyond these (module docstring): ``mean``,
    ``logit``/``xlogit``, ``asin`` and ``beta`` (``n_rows`` sets Korn-Graubard's df
    adjustment). Requires ``0 < p < 1``, ``se > 0`` and ``df > 0``.

    Examples
    --------
    >>> [round(bound, 4) for bound in interval_from_se(0.1, 0.02, "logit", 0.95, 28, 400)]
    [0.0658, 0.1491]
    >>> [round(bound, 4) for bound in interval_from_se(0.1, 0.02, "beta", 0.95, 28, 400)]
    [0.0628, 0.1492]
    """
    alpha = 1 - level
    t = float(t_ppf(1 - alpha / 2, df))
    if method == "mean":
        return p - t * se, p + t * se
    if method in ("logit", "xlogit"):
        return logit_interval(p, se, t)
    if method == "asin":
        centre = np.arcsin(np.sqrt(p))
        half = t * se / (2 * np.sqrt(p * (1 - p)))
        low_angle = max(centre - half, 0.0)
        high_angle = min(centre + half, np.pi / 2)
        return float(np.sin(low_angle) ** 2), float(np.sin(high_angle) ** 2)
    if method == "beta":
        return _korn_graubard(p, p * (1 - p) / se**2, alpha, n_rows, df)
    raise EvalkitError(f"interval_from_se: method {method!r} needs the data; expected mean, "
                       "logit, xlogit, asin or beta")


def zero_event_interval(p: float, n_units: int, level: float, df: int,
                        design_effect: float = 1.0) -> tuple[float, float]:
    """The zero-event rule: Korn-Graubard (Clopper-Pearson) with ``n* = n_units / design_effect``.

    When no (or every) sampled unit has the event the design variance is zero and every
    design method collapses to a point; Korn and Graubard's ``n* = p(1-p)/var`` (1998) is
    0/0 there. The interval then takes ``n_units / design_effect`` as the effective sample
    size, ``design_effect`` a substitute for the design effect the sample cannot estimate
    (1 by default: the units as if independent; the caller documents its choice, e.g.
    :func:`evalkit.assessment.indicators.zero_event_design_effect`), df-adjusted: for
    ``p = 0`` it is ``[0, 1 - (alpha/2)^(1/n*)]`` with
    ``n* = n_units / design_effect * (t_{n-1} / t_df)^2``, ``n = n_units``. For people-level
    rates ``n_units`` counts households, not persons: whole households are judged, so their
    members are not independent.

    Examples
    --------
    No wrong exit among 60 households, design df 28: the upper bound is about 1 -
    0.025^(1/n*); with a design effect of 1.5 the effective size is 40 households and the
    bound higher.

    >>> low, high = zero_event_interval(0.0, 60, 0.95, 28)
    >>> low, round(high, 4)
    (0.0, 0.0624)
    >>> round(zero_event_interval(0.0, 60, 0.95, 28, design_effect=1.5)[1], 4)
    0.0921
    """
    if not np.isfinite(design_effect) or design_effect <= 0:
        raise EvalkitError(f"zero_event_interval: design_effect must be positive, got "
                           f"{design_effect!r}")
    return _korn_graubard(p, n_units / design_effect, 1 - level, n_units, df)


def logit_interval(p: float, se: float, t: float) -> tuple[float, float]:
    """Wald interval on the logit scale: ``expit(logit p +/- t se / (p (1 - p)))``.

    The delta method gives ``se(logit p) = se / (p (1 - p))`` (``svyciprop`` methods logit
    and xlogit); the bounds stay inside (0, 1). NaN when ``p`` is 0 or 1 or ``se`` unknown.

    Examples
    --------
    >>> [round(bound, 4) for bound in logit_interval(0.1, 0.02, 2.048)]
    [0.0658, 0.149]
    """
    if not 0 < p < 1 or not np.isfinite(se) or not np.isfinite(t):
        return float("nan"), float("nan")
    centre = special.logit(p)
    half = t * se / (p * (1 - p))
    return float(special.expit(centre - half)), float(special.expit(centre + half))


def _korn_graubard(p: float, n_eff: float, alpha: float, n_rows: int, df: int
                   ) -> tuple[float, float]:
    """Clopper-Pearson at effective size ``n_eff * (t_{n-1} / t_df)^2`` (K&G 1998)."""
    from scipy import stats  # only this method and the likelihood one need it

    if df > 0:
        n_eff = n_eff * (t_ppf(alpha / 2, n_rows - 1) / t_ppf(alpha / 2, df)) ** 2
    successes = n_eff * p
    failures = n_eff * (1 - p)
    low = 0.0 if p <= 0 else float(stats.beta.ppf(alpha / 2, successes, failures + 1))
    high = 1.0 if p >= 1 else float(stats.beta.ppf(1 - alpha / 2, successes + 1, failures))
    return low, high


def _likelihood_interval(design: SurveyDesign, y: np.ndarray, p: float, se: float,
                         level: float, df: int) -> tuple[float, float]:
    """Scaled profile-likelihood interval, following ``survey:::confint.svyglm``."""
    from scipy import stats

    # Domain rows only: weights rescaled to mean 1 over them, n = their number (svyglm).
    # That is R's result for an uncalibrated design, whose subset drops the rows outside the
    # domain (keeping the PSU counts); a calibrated design's subset keeps them at weight 0
    # and R then counts them too. evalkit counts domain rows in both (module docstring).
    w_design = design.weight_values
    n_rows = int(np.count_nonzero(w_design))
    w = w_design / (w_design.sum() / n_rows)
    w_total = float(w.sum())
    fit = glm_logit_intercept(y, w)
    beta_hat = fit.beta
    p_fit = float(special.expit(beta_hat))
    # glm.fit's final working weights come from the iterate before the last one; R's
    # naive covariance (and so lambda) uses them, which moves bounds by ~1e-4 when the
    # IRLS stopped early. Reproduced so results agree with R to 1e-6.
    naive_var = 1.0 / float(np.sum(fit.working_weights))
    scores = (y - fit.mu) * fit.working_weights / (fit.mu * (1 - fit.mu)) * naive_var
    var_beta = float(design.variance_of_totals(scores)[0, 0])
    se_beta = float(np.sqrt(var_beta))
    lam = var_beta / naive_var
    pearson = (y - p_fit) / np.sqrt(p_fit * (1 - p_fit))
    dispersion = weighted_variance(pearson, w_design)
    deviance_hat = _binomial_deviance(p_fit, w_total, p)

    def signed_root(beta: np.ndarray) -> np.ndarray:
        deviance = _binomial_deviance(special.expit(beta), w_total, p)
        change = (deviance - deviance_hat) / dispersion
        return np.sign(beta - beta_hat) * np.sqrt(np.maximum(change, 0.0))

    alpha = stats.norm.cdf(t_ppf((1 - level) / 2, df) * np.sqrt(lam)) / 2
    # R's MASS-style grid: steps of del * se around the estimate until |z| reaches zmax.
    zmax = float(np.sqrt(stats.f.isf(alpha, 1, n_rows - 1)))
    step_size = zmax / 5 * se_beta
    grid = [beta_hat]
    for sign in (-1.0, 1.0):
        z = 0.0
        step = 1
        while step < 10 and abs(z) < zmax:
            b = beta_hat + sign * step * step_size
            z = float(signed_root(np.array([b]))[0])
            grid.append(b)
            step += 1
    par = np.array(grid)
    z_values = signed_root(par)
    z_values[0] = 0.0  # R records exactly 0 at the estimate
    order = np.argsort(z_values, kind="stable")
    par, z_values = par[order], z_values[order]
    x_out = np.linspace(par.min(), par.max(), 3 * par.size)
    # R's spline(x = par, y = z) sorts by x; z is increasing in par, so same order.
    spline_z = _fmm_spline(par, z_values, x_out)
    cutoff = stats.norm.ppf(2 * alpha)
    sort_z = np.argsort(spline_z, kind="stable")
    bounds = np.interp([cutoff, -cutoff], spline_z[sort_z], x_out[sort_z],
                       left=np.nan, right=np.nan)
    return float(special.expit(bounds[0])), float(special.expit(bounds[1]))


def _fmm_spline(x: np.ndarray, y: np.ndarray, x_out: np.ndarray) -> np.ndarray:
    """Cubic spline with Forsythe, Malcolm and Moler end conditions (R's ``spline()``).

    scipy has no FMM end condition; R's likelihood intervals depend on it, so it is ported
    from R's ``splines.c`` (a loop over the ~20 profile points, not over data).
    """
    n = x.size
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 3:
        slope = (y[1] - y[0]) / (x[1] - x[0])
        return y[0] + slope * (x_out - x[0])
    nm1 = n - 1
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[n - 2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
        c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] = b[i] - t * d[i - 1]
        c[i] = c[i] - t * c[i - 1]
    c[nm1] = c[nm1] / b[nm1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[nm1] = 3.0 * c[nm1]
    d[nm1] = d[n - 2]
    idx = np.clip(np.searchsorted(x, x_out, side="right") - 1, 0, nm1)
    dx = x_out - x[idx]
    return y[idx] + dx * (b[idx] + dx * (c[idx] + dx * d[idx]))


@dataclass(frozen=True)
class _LogitFit:
    """Result of :func:`glm_logit_intercept` (the pieces of R's glm object we need)."""

    beta: float
    mu: np.ndarray
    working_weights: np.ndarray


def glm_logit_intercept(y: np.ndarray, prior_weights: np.ndarray, epsilon: float = 1e-8,
                        max_iterations: int = 25) -> _LogitFit:
    """Intercept-only binomial GLM by R's ``glm.fit`` IRLS, iterate for iterate.

    The one IRLS of evalkit (:func:`evalkit.survey.glm.glm_fit_logit`) on a column of ones
    over the rows of positive weight; rows of weight 0 get working weight 0, as in R.
    Returns the final coefficient, the fitted probability per row and the working weights
    ``w mu (1 - mu)`` of the last iteration's fit (evaluated at the previous iterate).

    Examples
    --------
    >>> import numpy as np
    >>> fit = glm_logit_intercept(np.array([1.0, 0.0, 0.0, 1.0]), np.array([1.0, 1.0, 1.0, 3.0]))
    >>> round(float(fit.beta), 6)
    0.693147
    """
    from evalkit.survey.glm import glm_fit_logit  # loads scipy.linalg: on first use

    good = prior_weights > 0
    fit = glm_fit_logit(np.ones((int(good.sum()), 1)), y[good], prior_weights[good],
                        ["Intercept"], epsilon=epsilon, max_iterations=max_iterations)
    working = np.zeros(y.shape)
    working[good] = fit.working_weights
    beta = float(fit.beta[0])
    return _LogitFit(beta, np.full(y.shape, float(special.expit(beta))), working)




def _binomial_deviance(mu: float | np.ndarray, w_total: float, p: float
                       ) -> np.ndarray | float:
    """Deviance of a constant fit ``mu`` to 0/1 data with weighted mean ``p``."""
    return -2 * w_total * (special.xlogy(p, mu) + special.xlogy(1 - p, 1 - mu))
