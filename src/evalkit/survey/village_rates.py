"""Rates from weighted village totals, batched over many replicate samples at once.

The simulations of :mod:`evalkit.sampling` and the power calculations of
:mod:`evalkit.sampling.power` estimate the same people-level rate on thousands of replicate samples.
Building a :class:`~evalkit.survey.design.SurveyDesign` per replicate would cost a Python loop over
replicates, so this module holds the batched form of the two calculations: the ratio and its
linearization SE from village totals (equal to ``SurveyDesign.ratio`` on one replicate, which
``tests/test_sampling.py`` checks) and the logit or Wald interval of many rates at once
(equal to :func:`evalkit.survey.intervals.logit_interval` element by element).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from evalkit.survey.variance import ratio_influence

__all__ = ["rate_intervals", "ratio_from_village_totals"]


def rate_intervals(r: np.ndarray, se: np.ndarray, df: int, level: float, method: str
                   ) -> tuple[np.ndarray, np.ndarray]:
    """svyciprop's ``logit`` (``expit(logit R +/- t se / (R (1 - R)))``) or ``mean`` (Wald)
    interval for rates ``r`` (one per replicate) from their linearized SEs, ``t`` with
    ``df`` degrees of freedom at two-sided ``level`` (Lumley 2010, sec. 2.3.1). A rate of
    exactly 0 or 1, or a zero SE, gives the degenerate interval at that value, as
    :mod:`evalkit.assessment.indicators` does for the logit. The one vectorized form of
    :func:`evalkit.survey.intervals.logit_interval` (scalar), used by the simulations here and in
    :mod:`evalkit.sampling.power`.

    Examples
    --------
    >>> import numpy as np
    >>> low, high = rate_intervals(np.array([0.1, 0.3]), np.array([0.02, 0.05]), 28, 0.95,
    ...                            "logit")
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0658, 0.2083], [0.1491, 0.4111])
    """
    t = float(stats.t.ppf(0.5 + level / 2.0, df))
    if method == "mean":
        return r - t * se, r + t * se
    inside = (r > 0) & (r < 1) & (se > 0)
    safe = np.where(inside, r, 0.5)
    eta = np.log(safe / (1 - safe))
    half = t * se / (safe * (1 - safe))
    low = np.where(inside, 1 / (1 + np.exp(-(eta - half))), r)
    high = np.where(inside, 1 / (1 + np.exp(-(eta + half))), r)
    return low, high


def ratio_from_village_totals(yw: np.ndarray, xw: np.ndarray, selected: np.ndarray,
                              stratum: np.ndarray, n_strata: int,
                              village_fpc: np.ndarray | None = None,
                              ) -> tuple[np.ndarray, np.ndarray]:
    """Ratio estimate and linearization SE per replicate (rows) from weighted village
    totals (columns), as ``SurveyDesign(psu=village, strata=..., weights=...).ratio``
    (Binder 1983; R's svyratio): village scores ``z_v = (Yw_v - R Xw_v) / Xhat``
    (:func:`evalkit.survey.variance.ratio_influence`),
    ``V = sum_h n_h / (n_h - 1) sum_v f_v (z_v - zbar_h)^2`` with ``f_v = 1`` (villages
    drawn with replacement) or ``village_fpc``, each village's ``1 - pi_v`` (PPS without
    replacement, Brewer's approximation: ``SurveyDesign(..., fpc=pi, pps="brewer")``).
    A stratum with one selected village in a replicate is centred at zero, as
    ``lonely_psu="adjust"``. Unselected villages have ``selected`` False and contribute
    nothing.

    Examples
    --------
    One replicate, four villages in one stratum, all selected; weighted totals of people
    with the condition (``yw``) and of people (``xw``):

    >>> import numpy as np
    >>> ratio, se = ratio_from_village_totals(np.array([[2.0, 0.0, 1.0, 1.0]]),
    ...                                       np.array([[10.0, 10.0, 10.0, 10.0]]),
    ...                                       np.ones((1, 4), dtype=bool),
    ...                                       np.zeros(4, dtype=int), 1)
    >>> ratio.tolist(), se.round(4).tolist()
    ([0.1], [0.0408])
    """
    sel = selected.astype(float)
    # Villages run along axis 0 of ratio_influence, so the replicates are its domains.
    R, z_t, _ = ratio_influence(yw.T, xw.T, selected.T)
    z = z_t.T
    var = np.zeros(len(R))
    # A loop over the few strata; each is one array computation over replicates.
    factor = np.ones(z.shape[1]) if village_fpc is None else np.asarray(village_fpc, float)
    for h in range(n_strata):
        in_h = stratum == h
        n_h = sel[:, in_h].sum(axis=1)
        lonely = n_h == 1
        zbar = np.where(lonely, 0.0, z[:, in_h].sum(axis=1) / np.maximum(n_h, 1))
        dev = (z[:, in_h] - zbar[:, None]) * sel[:, in_h]
        inflation = np.where(n_h > 1, n_h / np.maximum(n_h - 1, 1), np.where(lonely, 1.0, 0.0))
        var += inflation * (dev * dev * factor[in_h]).sum(axis=1)
    return R, np.sqrt(var)
