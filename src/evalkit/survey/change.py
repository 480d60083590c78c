"""Change between two rounds of a survey stacked in one design (assessment vs re-check).

Both rounds' households are stacked in one :class:`~evalkit.survey.design.SurveyDesign`; a column
(``by``) says which round each row belongs to. A village visited in both rounds is *one* PSU
of the stacked design, so the covariance between the two rounds' estimates is counted;
villages visited once are PSUs holding one round's households only. With no shared
village the covariance is zero and the variance is ``V1 + V2``: exactly so when the rounds
are strata of the stacked design; in one stratum each ``V_r`` carries the stacked design's
``n / (n - 1)`` (all PSUs) in place of the round's own (its PSUs only).

Each round is a domain of the stacked design (Lumley 2010, sec. 2.3). For round ``d`` with
indicator ``1_d`` the linearized influence values are

* mean (Hajek): ``z_id = 1_d (y_i - ybar_d) / N_d`` with ``N_d = sum_i w_i 1_d``;
* ratio: ``z_id = 1_d (y_i - R_d x_i) / X_d`` with ``X_d = sum_i w_i 1_d x_i``
  (Binder 1983; R's ``svyratio``); both from :func:`evalkit.survey.variance.ratio_influence`
  (the mean with ``x = 1``), with one column per round.

The two columns ``w_i z_id`` are summed per PSU and their 2 x 2 covariance comes from the
design's variance engine (:meth:`SurveyDesign.variance_of_totals`), exactly as R's
``svyby(~y, ~round, design, svymean, covmat = TRUE)`` (or ``svyratio``). The change
``theta_2 - theta_1`` then has variance ``V11 + V22 - 2 V12`` (R's ``svycontrast`` with
contrast ``(-1, 1)``). Degrees of freedom are those of the stacked design restricted to the
two rounds (PSUs minus strata holding members), and the interval uses t quantiles.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from evalkit.survey.estimate import Estimate, t_quantile
from evalkit.survey.variance import ratio_influence

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign
from evalkit.contract.errors import EvalkitError

__all__ = ["RoundEstimates", "difference", "round_estimates", "round_scores"]


@dataclass(frozen=True)
class RoundEstimates:
    """Estimates of the same quantity in two rounds, their covariance and influence values.

    ``scores`` are the weighted influence values ``w_i z_id`` (one column per round, zero
    outside the round's domain), so linear combinations of several quantities can be
    formed before the variance is taken.

    Examples
    --------
    Two rounds of a survey stacked in one design; village 2 is visited in both rounds.

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> stacked = SurveyDesign(pd.DataFrame({
    ...     "round": [1, 1, 1, 1, 2, 2, 2, 2], "village": [1, 1, 2, 2, 2, 2, 3, 3],
    ...     "weight": 10.0, "satisfied": [1, 0, 1, 1, 1, 1, 0, 1]}),
    ...     psu="village", weights="weight")
    >>> rounds = round_estimates(stacked, "satisfied", "round", (1, 2))
    >>> rounds.estimates.tolist(), rounds.covariance.round(5).tolist(), rounds.df
    ([0.75, 0.75], [[0.04687, 0.02344], [0.02344, 0.04687]], 2)

    The example of :attr:`correlation` continues from this one.
    """

    levels: tuple[Hashable, Hashable]
    estimates: np.ndarray  # (2,)
    covariance: np.ndarray  # (2, 2)
    df: int
    n: tuple[int, int]
    scores: np.ndarray = field(repr=False)  # (n_rows, 2)

    @property
    def correlation(self) -> float:
        """Correlation of the two rounds' estimates (0 without shared PSUs).

        Examples
        --------
        Village 2 is in both rounds, so the rounds' estimates are correlated:

        >>> round(rounds.correlation, 4)
        0.5
        """
        v = self.covariance
        denom = float(np.sqrt(v[0, 0] * v[1, 1]))
        return float(v[0, 1] / denom) if denom > 0 else float("nan")


def round_scores(design: SurveyDesign, variable: str, by: str, levels: Sequence[Hashable],
                 denominator: str | None = None,
                 statistic: Literal["mean", "total"] = "mean") -> RoundEstimates:
    """Means (ratios with ``denominator``, or totals) in the two rounds and their covariance.

    Equivalent to R's ``svyby(~variable, ~by, design, svymean, covmat = TRUE)`` (``svyratio``
    with ``denominator = ~denominator``; ``svytotal``) restricted to ``levels``. The total's
    influence values are ``1_d y_i``.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> stacked = SurveyDesign(pd.DataFrame({
    ...     "round": [1, 1, 2, 2], "village": [1, 2, 1, 2], "weight": 10.0,
    ...     "people": [3.0, 5.0, 4.0, 2.0]}), psu="village", weights="weight")
    >>> round_scores(stacked, "people", "round", (1, 2), statistic="total").estimates.tolist()
    [80.0, 60.0]
    """
    if len(levels) != 2:
        raise EvalkitError(f"difference: levels must be two values (first, second); got "
                           f"{list(levels)!r}")
    if by not in design.data.columns:
        raise EvalkitError(f"difference: by column {by!r} is not in the data")
    groups = design.data[by].to_numpy()
    members = np.column_stack([groups == lv for lv in levels])  # (n, 2)
    in_rounds = design.subset(members.any(axis=1))
    sub, y = in_rounds.analysis_values(variable, na_rm=False, also=denominator)
    members &= sub.domain[:, None]
    for j, lv in enumerate(levels):
        if not members[:, j].any():
            raise EvalkitError(f"difference: no rows with {by} == {lv!r} in the domain")
    w = sub.weight_values[:, None] * members  # (n, 2): weights of each round's domain
    if statistic == "total":
        estimates = w.T @ y
        scores = w * y[:, None]
    else:
        if denominator is None:
            x = np.ones_like(y)
        else:
            x = np.nan_to_num(sub.column_values(denominator))
        estimates, z, base = ratio_influence(y, x, members, sub.weight_values)  # base: N_d, X_d
        if np.any(base == 0):
            raise EvalkitError(f"difference: the weighted total of "
                               f"{denominator or 'weights'!r} is zero in a round; expected a "
                               "positive denominator")
        scores = sub.weight_values[:, None] * z
    covariance = sub.variance_of_totals(scores)
    counts = np.count_nonzero(w, axis=0)
    return RoundEstimates(levels=(levels[0], levels[1]), estimates=estimates,
                          covariance=covariance, df=sub.df,
                          n=(int(counts[0]), int(counts[1])), scores=scores)


def round_estimates(design: SurveyDesign, variable: str, by: str,
                    levels: Sequence[Hashable], denominator: str | None = None
                    ) -> RoundEstimates:
    """Means (or ratios with ``denominator``) in the two rounds and their covariance.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> stacked = SurveyDesign(pd.DataFrame({
    ...     "round": [1, 1, 2, 2], "village": [1, 2, 1, 2], "weight": 10.0,
    ...     "wrong": [1.0, 0.0, 0.0, 0.0], "size": [4.0, 4.0, 3.0, 5.0]}), psu="village",
    ...     weights="weight")
    >>> round_estimates(stacked, "wrong", "round", (1, 2), denominator="size").estimates.tolist()
    [0.125, 0.0]
    """
    return round_scores(design, variable, by, levels, denominator)


def difference(design: SurveyDesign, variable: str, by: str,
               levels: Sequence[Hashable], denominator: str | None = None,
               level: float = 0.95) -> Estimate:
    """Second level minus first, with its linearization SE and a t interval.

    As R's ``svycontrast(svyby(..., covmat = TRUE), c(-1, 1))``; see the module docstring
    for the formula. ``deff`` is not defined for a contrast and is NaN.

    Examples
    --------
    The change in a share between two rounds, as R's ``svycontrast(svyby(~satisfied, ~round,
    design, svymean, covmat = TRUE), c(-1, 1))``:

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> stacked = SurveyDesign(pd.DataFrame({
    ...     "round": [1, 1, 1, 1, 2, 2, 2, 2], "village": [1, 1, 2, 2, 2, 2, 3, 3],
    ...     "weight": 10.0, "satisfied": [1, 0, 1, 1, 1, 1, 0, 1]}),
    ...     psu="village", weights="weight")
    >>> change = difference(stacked, "satisfied", "round", (1, 2))
    >>> change.estimate, round(change.se, 4), change.df
    (0.0, 0.2165, 2)
    """
    rounds = round_estimates(design, variable, by, levels, denominator)
    contrast = np.array([-1.0, 1.0])
    estimate = float(contrast @ rounds.estimates)
    variance = float(contrast @ rounds.covariance @ contrast)
    se = float(np.sqrt(max(variance, 0.0)))
    quantile = t_quantile(level, rounds.df)
    return Estimate(
        estimate=estimate, se=se, ci=(estimate - quantile * se, estimate + quantile * se),
        deff=float("nan"), df=rounds.df, n=sum(rounds.n), level=level,
        method="linearization (difference)",
        note=f"{levels[1]!s} minus {levels[0]!s}; correlation {rounds.correlation:.3f}",
    )
