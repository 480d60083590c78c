"""The estimators of :class:`evalkit.survey.design.SurveyDesign`: totals, means, ratios,
proportions, and the calibration, regression and change entry points.

They are methods of the design (R's ``svytotal``, ``svymean``, ``svyratio``, ``svyciprop``,
``svyglm``, ``postStratify``/``rake``/``calibrate``, ``svycontrast``) defined here, apart
from the design's construction and variance engine, and reach the design only through its
public structure: :attr:`~SurveyDesign.weight_values`, :attr:`~SurveyDesign.domain`,
:meth:`~SurveyDesign.variance_of_totals`, :meth:`~SurveyDesign.subset`,
:attr:`~SurveyDesign.df`. Linearization throughout (Binder 1983; Lumley 2010, ch. 2-3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.survey.columns import numeric_column, safe_ratio
from evalkit.survey.estimate import Estimate, check_level, t_quantile
from evalkit.survey.variance import ratio_influence, srs_variance_of_total

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign


class DesignEstimators:
    """Estimator methods mixed into :class:`~evalkit.survey.design.SurveyDesign`."""

    def poststratify(self, column: str | Sequence[str], counts) -> SurveyDesign:
        """A new design post-stratified to population ``counts`` ``{level: count}`` of
        ``column``, as R's ``postStratify``; see :func:`evalkit.survey.calibration.poststratify`."""
        from evalkit.survey.calibration import poststratify

        return poststratify(self, column, counts)

    def rake(self, margins, **options) -> SurveyDesign:
        """A new design raked to ``margins`` ``{column: {level: count}}``, as R's ``rake``;
        see :func:`evalkit.survey.calibration.rake`."""
        from evalkit.survey.calibration import rake

        return rake(self, margins, **options)

    def calibrate(self, formula: str | Sequence[str], totals, calfun: str = "linear",
                  **options) -> SurveyDesign:
        """A new design calibrated to model-matrix ``totals`` (``Intercept`` for the
        population size), ``calfun`` ``"linear"`` or ``"raking"``, as R's ``calibrate``;
        see :func:`evalkit.survey.calibration.calibrate`."""
        from evalkit.survey.calibration import calibrate

        return calibrate(self, formula, totals, calfun, **options)  # type: ignore[arg-type]

    # --- estimators ---------------------------------------------------------------------
    def total(self, column: str, by: str | None = None, level: float = 0.95,
              na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Horvitz-Thompson total ``sum_i w_i y_i`` with its linearization SE.

        Design effect as R's ``svytotal(deff=TRUE)``: ``V / (s^2 N^2 (N - n)/(N n))`` with
        ``s^2`` the weighted population variance estimate (``svyvar``).
        """
        if by is not None:
            return self._by(by, lambda d: d.total(column, level=level, na_rm=na_rm))
        design, y = self.analysis_values(column, na_rm)
        w = design.weight_values
        estimate = float(np.sum(w * y))
        variance = float(design.variance_of_totals(w * y)[0, 0])
        se = float(np.sqrt(variance))
        n_obs = int(np.count_nonzero(w))
        deff = safe_ratio(variance, srs_variance_of_total(y, w))
        return design._wald(estimate, se, level, deff, n_obs)

    def mean(self, column: str, by: str | None = None, level: float = 0.95,
             na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Weighted mean (Hajek) ``sum w y / sum w``, linearized (Lumley 2010, sec. 2.2).

        Influence values ``(y_i - ybar) / sum w``; deff as R's ``svymean(deff=TRUE)``.
        """
        if by is not None:
            return self._by(by, lambda d: d.mean(column, level=level, na_rm=na_rm))
        design, y = self.analysis_values(column, na_rm)
        estimate, se, deff, n_obs = design._mean_parts(y)
        return design._wald(estimate, se, level, deff, n_obs)

    def ratio(self, numerator: str, denominator: str, by: str | None = None,
              level: float = 0.95, na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Ratio of totals ``R = sum w y / sum w x`` by linearization.

        Influence values ``(y_i - R x_i) / sum w x`` (Cochran 1977, sec. 6.4; Binder 1983),
        as R's ``svyratio``, from :func:`evalkit.survey.variance.ratio_influence`.
        This is how people-level rates are estimated from a household
        sample: ``y`` = people with the condition, ``x`` = household size. The design effect
        compares with simple random sampling of the same number of households.
        """
        if by is not None:
            return self._by(
                by, lambda d: d.ratio(numerator, denominator, level=level, na_rm=na_rm)
            )
        design, y = self.analysis_values(numerator, na_rm, also=denominator)
        w = design.weight_values
        ratio, scores, denominator_total = ratio_influence(
            y, design.column_values(denominator), design.domain, w)
        if denominator_total == 0:
            raise EvalkitError(
                f"SurveyDesign.ratio: the weighted total of {denominator!r} is zero in this "
                "domain; expected a positive denominator"
            )
        estimate = float(ratio)
        variance = float(design.variance_of_totals(w * scores)[0, 0])
        se = float(np.sqrt(variance))
        n_obs = int(np.count_nonzero(w))
        deff = safe_ratio(variance, srs_variance_of_total(scores, w))
        return design._wald(estimate, se, level, deff, n_obs)

    def proportion(self, column: str, method: str = "logit", level: float = 0.95,
                   by: str | None = None, na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Proportion of a 0/1 column with a confidence interval by ``method``.

        Design-based methods as R's ``svyciprop``: ``logit``, ``likelihood``, ``asin``,
        ``beta`` (Korn and Graubard 1998), ``mean`` (Wald), ``xlogit``. For simple random
        samples also ``wilson``, ``clopper-pearson``, ``jeffreys``, ``agresti-coull``.
        See :mod:`evalkit.survey.intervals` for each formula and for zero or all events.
        """
        from evalkit.survey.intervals import proportion_interval

        if by is not None:
            return self._by(
                by, lambda d: d.proportion(column, method=method, level=level, na_rm=na_rm)
            )
        design, y = self.analysis_values(column, na_rm)
        values = y[design.domain]
        if not np.all((values == 0) | (values == 1)):
            bad = np.flatnonzero(design.domain & ~((y == 0) | (y == 1)))[0]
            raise EvalkitError(
                f"SurveyDesign.proportion: column {column!r} row {bad + 1} is {y[bad]!r}; "
                "expected 0 or 1"
            )
        estimate, se, deff, n_obs = design._mean_parts(y)
        return proportion_interval(design, y, estimate, se, deff, n_obs, method, level)

    def logit(self, formula: str, **options):
        """Survey-weighted logistic regression, as R's ``svyglm(family=quasibinomial())``.

        Coefficients solve the weighted score equations; standard errors are the
        linearization (sandwich) estimator of Binder (1983). See
        :func:`evalkit.survey.svyglm.logit`.
        """
        from evalkit.survey.svyglm import logit

        return logit(self, formula, **options)

    def difference(self, variable: str, by: str, levels: Sequence[object],
                   denominator: str | None = None, level: float = 0.95) -> Estimate:
        """Change ``levels[1]`` minus ``levels[0]`` of a mean (or a ratio with
        ``denominator``) on a design stacking two rounds, as R's ``svyby(..., covmat=TRUE)``
        then ``svycontrast``. A PSU in both rounds carries their covariance. See
        :func:`evalkit.survey.change.difference`.
        """
        from evalkit.survey.change import difference

        return difference(self, variable, by, levels, denominator=denominator, level=level)

    # --- internals ----------------------------------------------------------------------
    def column_values(self, column: str) -> np.ndarray:
        """Column ``column`` of every row as floats, NaN where it is empty.

        >>> import pandas as pd
        >>> SurveyDesign(pd.DataFrame({"y": [1, None]})).column_values("y")
        array([ 1., nan])
        """
        return numeric_column(self.data, column, "column", allow_nan=True)

    def analysis_values(self, column: str, na_rm: bool = False, also: str | None = None
                        ) -> tuple[SurveyDesign, np.ndarray]:
        """The design an estimator of ``column`` runs on, and the column's values.

        Rows of the domain where ``column`` (or ``also``, a denominator) is empty are an
        error, or with ``na_rm`` leave the domain (R's ``na.rm=TRUE``: a domain, so the
        variance keeps the full design). Values are zero outside the domain.

        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"y": [1.0, None, 3.0]}))
        >>> sub, y = design.analysis_values("y", na_rm=True)
        >>> y.tolist(), int(sub.domain.sum())
        ([1.0, 0.0, 3.0], 2)
        """
        y = self.column_values(column)
        missing = np.isnan(y)
        if also is not None:
            missing = missing | np.isnan(self.column_values(also))
        missing &= self.domain
        design = self
        if np.any(missing):
            if not na_rm:
                row = int(np.flatnonzero(missing)[0])
                raise EvalkitError(
                    f"SurveyDesign: column {column!r} has {int(missing.sum())} missing values "
                    f"(first at row {row + 1}); pass na_rm=True to estimate over the rows "
                    "where it is present"
                )
            design = self.subset(~missing)
        y = np.where(design.domain, np.nan_to_num(y), 0.0)
        if not np.any(design.domain):
            raise EvalkitError(f"SurveyDesign: no rows in the domain for {column!r}")
        return design, y

    def _mean_parts(self, y: np.ndarray) -> tuple[float, float, float, int]:
        # The Hajek mean is the ratio with x = 1 (evalkit.survey.variance.ratio_influence).
        w = self.weight_values
        ratio, scores, total = ratio_influence(y, np.ones_like(y), self.domain, w)
        population = float(total)
        estimate = float(ratio)
        variance = float(self.variance_of_totals(w * scores)[0, 0])
        n_obs = int(np.count_nonzero(w))
        deff = safe_ratio(variance, srs_variance_of_total(y, w) / population**2)
        return estimate, float(np.sqrt(variance)), deff, n_obs

    def _wald(self, estimate: float, se: float, level: float, deff: float,
              n_obs: int) -> Estimate:
        check_level(level)
        df = self.df
        quantile = t_quantile(level, df)
        return Estimate(
            estimate=estimate,
            se=se,
            ci=(estimate - quantile * se, estimate + quantile * se),
            deff=deff,
            df=df,
            n=n_obs,
            level=level,
            method="linearization",
        )

    def _by(self, by: str, estimator) -> pd.DataFrame:
        if by not in self.data.columns:
            raise EvalkitError(f"SurveyDesign: by column {by!r} is not in the data")
        groups = self.data[by]
        levels = pd.unique(groups[self.domain & groups.notna().to_numpy()])
        rows = []
        for level_value in sorted(levels, key=str):  # loop over domains, not households
            sub = self.subset((groups == level_value).to_numpy())
            result = estimator(sub)
            rows.append({by: level_value, **result.to_dict()})
        return pd.DataFrame(rows)
