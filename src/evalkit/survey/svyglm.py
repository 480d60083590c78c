"""Survey-weighted logistic regression (R's ``svyglm``), and what a fitted model implies.

The model is R's ``svyglm(formula, design, family = quasibinomial())`` (Lumley 2010, ch. 5):

* Coefficients solve the weighted score equations ``sum_i w_i x_i (y_i - p_i) = 0`` with
  ``p_i = expit(x_i' beta)``. They are found by iteratively reweighted least squares exactly
  as R's ``glm.fit`` does (same starting values ``mu = (w y + 1/2) / (w + 1)``, same
  stopping rule ``|dev - dev_old| / (|dev| + 0.1) < 1e-8``, same clamping of the logit link
  at ``|eta| > 30``), with prior weights ``w / mean(w)`` as ``svyglm`` rescales them.
* The covariance is the linearization (sandwich) estimator of Binder (1983)::

      V = A^{-1} Var_design( sum_i w_i x_i r_i ) A^{-1},   A = sum_i w_i m_i x_i x_i'

  computed as R's ``survey:::svy.varcoef``: the influence values ``h_i = A^{-1} x_i w_i
  m_i r_i`` (``estfun %*% Ainv`` with ``r_i`` the working residual ``(y_i - p_i) / m_i`` and
  ``m_i = p_i (1 - p_i)``) go through :meth:`SurveyDesign.variance_of_totals` (R's
  ``svyrecvar``). As in R, ``A`` and the working weights ``w_i m_i`` come from the last IRLS
  step, i.e. evaluated at the iterate *before* the final coefficients; this moves standard
  errors by up to ~1e-5 relative when IRLS stopped early and is reproduced so results agree
  with R within 1e-6. The IRLS itself is :mod:`evalkit.survey.glm`; the ordinal model is
  :mod:`evalkit.survey.svyolr`; the assessment's named scenarios are in
  :mod:`evalkit.assessment.satisfaction`.
* Degrees of freedom: ``df`` is R's ``df.residual = degf(design) + 1 - p`` (design df plus
  one minus the number of coefficients). ``confint.svyglm`` (Wald), the t values and p values
  of ``summary.svyglm`` all use it, and so does :meth:`LogitResult.conf_int`. The design's
  own df (PSUs minus strata) is ``design_df``; the linearized quantities derived from the
  model (marginal effects, scenario rates) use it, as ``svymean``/``svyciprop`` would.

Derived quantities are linearized through the same design (Binder 1983; Deville 1999):
an estimator ``theta = sum_i w_i v_i(beta) / sum_i w_i`` over a domain ``D`` has influence
values::

    z_i = 1{i in D} w_i (v_i - theta) / W_D  +  g' h_i,    g = sum_{i in D} w_i dv_i/dbeta / W_D

(the first term is the sampling variability of the households averaged over, the second
the uncertainty of the coefficients), and ``Var(theta) = variance_of_totals(z)``. This is
the "unconditional" variance of Stata's ``margins, vce(unconditional)`` (Korn and
Graubard 1999, sec. 3.6), used for average marginal effects and counterfactual scenarios.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import special, stats

from evalkit.contract.errors import EvalkitError
from evalkit.contract.formula import parse_formula
from evalkit.survey.estimate import t_quantile
from evalkit.survey.intervals import logit_interval

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign
from evalkit.survey.glm import aliased_columns, glm_fit_logit, logit_mu_eta


# --------------------------------------------------------------------------------------
# Design matrices from formulas
# --------------------------------------------------------------------------------------
def split_formula(formula: str, columns: Iterable[str] | None = None,
                   role: str = "logit") -> tuple[str, str]:
    """Response and right-hand side of ``formula``, after evalkit's grammar accepted it.

    The grammar (:mod:`evalkit.contract.formula`) refuses anything formulaic would evaluate as
    Python, so only column names and formula operators ever reach formulaic.

    Examples
    --------
    >>> split_formula("recognizes ~ nonpoor * water_at_door")
    ('recognizes', 'nonpoor * water_at_door')
    """
    parsed = parse_formula(formula, columns=columns, role=role)
    return parsed.response, parsed.rhs


def _model_matrices(formula: str, data: pd.DataFrame, role: str
                    ) -> tuple[pd.Series, pd.DataFrame, Any]:
    """Response, design matrix (rows with missing values dropped) and the rhs ModelSpec."""
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    lhs, rhs = split_formula(formula, data.columns, role)
    try:
        matrices = model_matrix(f"{lhs} ~ {rhs}", data, na_action="drop")
    except (FormulaicError, NameError, KeyError, SyntaxError, TypeError, ValueError) as exc:
        raise EvalkitError(
            f"{role}: formula {formula!r} cannot be built from the data ({exc}); expected "
            "column names of the survey and formula syntax such as 'a * b + C(c)'"
        ) from exc
    response = matrices.lhs
    if response.shape[1] != 1:
        raise EvalkitError(
            f"{role}: response {lhs!r} gives {response.shape[1]} columns; expected one "
            "numeric 0/1 column (use the derived 0/1 columns such as 'recognizes')"
        )
    return response.iloc[:, 0], matrices.rhs, matrices.rhs.model_spec


def check_columns(data: pd.DataFrame, columns: Iterable[str], role: str) -> None:
    """Stop when any of ``columns`` is not in ``data``, naming them all on one line.

    Parameters
    ----------
    data
        The design's data.
    columns
        The columns a formula or scenario needs.
    role
        Who needs them, for the message.

    Examples
    --------
    >>> import pandas as pd
    >>> check_columns(pd.DataFrame({"y": [1]}), ["y", "x"], "logit")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: logit: column(s) 'x' are not in the data; ...
    """
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise EvalkitError(
            f"{role}: column(s) {', '.join(map(repr, missing))} are not in the data; "
            "expected the survey's columns (see evalkit.contract.schema)"
        )


Scenario = Callable[[pd.DataFrame], pd.DataFrame]


# --------------------------------------------------------------------------------------
# The fitted model
# --------------------------------------------------------------------------------------
@dataclass
class LogitResult:
    """A survey-weighted logistic regression (R's ``svyglm`` with ``quasibinomial``).

    ``params`` and ``bse`` are Series by term (intercept ``Intercept``); ``cov`` the
    design-based covariance; ``df`` the residual degrees of freedom used by
    :meth:`conf_int` (R's ``df.residual``); ``design_df`` the design's PSUs minus strata.
    ``influence`` holds the weighted influence values of the coefficients (one row per
    row of ``design.data``, zero outside the analysis domain): ``cov`` is their
    :meth:`SurveyDesign.variance_of_totals`.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> rng = np.random.default_rng(7)
    >>> data = pd.DataFrame({"village": np.repeat(np.arange(12), 25), "weight": 40.0,
    ...                      "x": rng.normal(size=300)})
    >>> data["y"] = (rng.random(300) < 1 / (1 + np.exp(-0.5 - data["x"]))).astype(int)
    >>> design = SurveyDesign(data, psu="village", weights="weight")
    >>> fit = design.logit("y ~ x")
    >>> fit.df
    10
    >>> fit.summary_frame()[["coef", "se", "odds_ratio"]].round(3)
                coef     se  odds_ratio
    term
    Intercept  0.543  0.110       1.722
    x          1.323  0.189       3.756

    The examples of the properties and methods below continue from this fit.
    """

    formula: str
    design: SurveyDesign
    params: pd.Series
    bse: pd.Series
    cov: pd.DataFrame
    naive_cov: pd.DataFrame
    df: int
    design_df: int
    n_obs: int
    n_dropped: int
    iterations: int
    converged: bool
    deviance: float
    influence: np.ndarray = field(repr=False)
    fitted: np.ndarray = field(repr=False)  # probabilities on analysis rows (full length)
    response: np.ndarray = field(repr=False)
    _X: np.ndarray = field(repr=False)
    _spec: Any = field(repr=False)
    _rows: np.ndarray = field(repr=False)  # analysis rows (positions in design.data)
    #: Terms left out because they are constant or collinear in this sample (R's NA
    #: coefficients), and the kept columns of the formula's model matrix.
    aliased: tuple[str, ...] = ()
    _keep: np.ndarray | None = field(default=None, repr=False)

    @property
    def model_matrix(self) -> np.ndarray:
        """The model matrix of the analysis rows (kept columns only).

        Examples
        --------
        >>> fit.model_matrix.shape
        (300, 2)
        """
        return self._X

    @property
    def analysis_rows(self) -> np.ndarray:
        """Positions in ``design.data`` of the rows the model was fitted on.

        Examples
        --------
        >>> fit.analysis_rows[:3].tolist(), len(fit.analysis_rows)
        ([0, 1, 2], 300)
        """
        return self._rows

    # --- coefficient tables -----------------------------------------------------------
    @property
    def tvalues(self) -> pd.Series:
        """Coefficients over their standard errors (``summary.svyglm``'s t values).

        Examples
        --------
        >>> fit.tvalues.round(2).tolist()
        [4.94, 6.99]
        """
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p values from t with ``df`` degrees of freedom (``summary.svyglm``).

        Examples
        --------
        >>> (fit.pvalues < 0.001).tolist()
        [True, True]
        """
        if self.df <= 0:
            return pd.Series(np.nan, index=self.params.index)
        return pd.Series(2 * stats.t.sf(np.abs(self.tvalues.to_numpy()), self.df),
                         index=self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals ``beta +/- t_{df} se`` (R's ``confint.svyglm``, method Wald).

        Examples
        --------
        >>> fit.conf_int().round(3)
                   ci_low  ci_high
        Intercept   0.298    0.789
        x           0.901    1.746
        >>> fit.odds_ratios().round(3)
                   odds_ratio  ci_low  ci_high
        Intercept       1.722   1.347    2.200
        x               3.756   2.463    5.729
        """
        t = t_quantile(level, self.df)
        return pd.DataFrame({"ci_low": self.params - t * self.bse,
                             "ci_high": self.params + t * self.bse})

    def odds_ratios(self, level: float = 0.95) -> pd.DataFrame:
        """``exp(beta)`` with the exponentiated Wald interval.

        Examples
        --------
        >>> fit.odds_ratios().round(3)
                   odds_ratio  ci_low  ci_high
        Intercept       1.722   1.347    2.200
        x               3.756   2.463    5.729
        """
        ci = self.conf_int(level)
        return pd.DataFrame({"odds_ratio": np.exp(self.params),
                             "ci_low": np.exp(ci["ci_low"]),
                             "ci_high": np.exp(ci["ci_high"])})

    def summary_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: coef, se, t, p, interval, odds ratio and its interval.

        Examples
        --------
        >>> list(fit.summary_frame().columns)[:5]
        ['coef', 'se', 't', 'p_value', 'ci_low']
        """
        ci = self.conf_int(level)
        odds = self.odds_ratios(level)
        table = pd.DataFrame({
            "coef": self.params, "se": self.bse, "t": self.tvalues, "p_value": self.pvalues,
            "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
            "odds_ratio": odds["odds_ratio"], "or_low": odds["ci_low"],
            "or_high": odds["ci_high"],
        })
        table = table.rename_axis("term")
        if self.aliased:
            table["note"] = ""
            missing = pd.DataFrame(np.nan, index=pd.Index(self.aliased, name="term"),
                                   columns=table.columns[:-1])
            missing["note"] = "not estimable: constant or collinear in this sample"
            table = pd.concat([table, missing])
            table = table.rename_axis("term")
        return table

    # --- prediction -------------------------------------------------------------------
    def model_matrix_for(self, data: pd.DataFrame) -> np.ndarray:
        """The model matrix of new rows ``data``, in the fitted model's (kept) columns.

        R: ``model.matrix(delete.response(terms(fit)), newdata)``. Predictions, scenarios
        and marginal effects are ``model_matrix_for(data) @ params``. ``data`` needs the
        model's columns and only category levels seen in the fit; else a one-line error.

        Examples
        --------
        >>> fit.model_matrix_for(pd.DataFrame({"x": [0.0, 2.0]})).tolist()
        [[1.0, 0.0], [1.0, 2.0]]
        """
        try:
            matrix = self._spec.get_model_matrix(data, na_action="ignore")
        except Exception as exc:  # formulaic raises many types for unusable new data
            raise EvalkitError(
                f"predict: the model's terms cannot be built from the new data ({exc}); "
                "expected the columns and category levels the model was fitted on"
            ) from exc
        values = np.asarray(matrix, dtype=float)
        return values if self._keep is None else values[:, self._keep]

    def predict(self, data: pd.DataFrame | None = None, linear: bool = False) -> pd.Series:
        """Predicted probabilities (``linear=True``: the linear predictor) for ``data``.

        Without ``data``, predictions for every row of the design's data (NaN where a model
        variable is missing).

        Examples
        --------
        >>> fit.predict(pd.DataFrame({"x": [-1.0, 0.0, 1.0]})).round(3).tolist()
        [0.314, 0.633, 0.866]
        """
        if data is None:
            data = self.design.data
        eta = self.model_matrix_for(data) @ self.params.to_numpy()
        values = eta if linear else special.expit(eta)
        return pd.Series(values, index=data.index, name="linear" if linear else "probability")

    def analysis_data(self) -> pd.DataFrame:
        """The rows of the design's data the model was fitted on (the domain, complete cases).

        Examples
        --------
        >>> len(fit.analysis_data()), list(fit.analysis_data().columns)
        (300, ['village', 'weight', 'x', 'y'])
        """
        return self.design.data.iloc[self._rows]

    def _full(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros((len(self.design.data),) + values.shape[1:])
        out[self._rows] = values
        return out

    # --- linearization helpers ----------------------------------------------------------
    def _domain_mask(self, mask: np.ndarray | None) -> np.ndarray:
        """Analysis rows (positions in analysis data) in a domain."""
        if mask is None:
            return np.ones(self._rows.size, dtype=bool)
        return np.asarray(mask, dtype=bool)

    def _linearized_mean(self, values: np.ndarray, jacobian: np.ndarray | None,
                         mask: np.ndarray) -> tuple[float, np.ndarray]:
        """Weighted domain mean of ``values`` (analysis rows) and its influence values.

        ``jacobian`` is ``d values / d beta`` per analysis row, ``(m, p)``, or None when the
        values do not depend on the coefficients. Influence values follow the module
        docstring: ``1{D} w (v - theta) / W_D + g' h``.
        """
        w = self.design.weight_values[self._rows] * mask
        total_w = float(w.sum())
        if total_w <= 0:
            raise EvalkitError("logit: the domain has no households with positive weight")
        estimate = float(np.sum(w * values) / total_w)
        influence = self._full(w * (values - estimate) / total_w)
        if jacobian is not None:
            gradient = (w[:, None] * jacobian).sum(axis=0) / total_w
            influence = influence + self.influence @ gradient
        return estimate, influence

    def _group_masks(self, by: str | None) -> list[tuple[Any, np.ndarray]]:
        if by is None:
            return [("all", np.ones(self._rows.size, dtype=bool))]
        data = self.analysis_data()
        check_columns(data, [by], "logit")
        groups = data[by]
        levels = sorted(pd.unique(groups.dropna()), key=str)
        return [(level, (groups == level).to_numpy()) for level in levels]

    # --- average marginal effects -------------------------------------------------------
    def marginal_effects(self, variables: Sequence[str] | None = None, by: str | None = None,
                         level: float = 0.95, per: Mapping[str, float] | None = None
                         ) -> pd.DataFrame:
        """Average marginal effects (AME) of covariates on the recognition probability.

        For a 0/1 variable ``v`` the effect of household i is the discrete change
        ``d_i = F(x_i[v=1]' beta) - F(x_i[v=0]' beta)``; for a continuous one the
        derivative ``d_i = f(x_i' beta) (dx_i/dv)' beta`` (``F`` the logistic cdf, ``f`` its
        density; ``dx_i/dv`` by central differences of the model matrix, exact for terms
        linear or quadratic in ``v`` such as interactions). Interactions are therefore
        handled through the model matrix: with ``nonpoor * water_at_door`` the effect of
        water among non-poor households (``by="nonpoor"``) includes the interaction.

        ``AME = sum_D w_i d_i / W_D`` over each group of ``by`` (all analysis rows when
        None), with the delta-method/linearization variance of the module docstring,
        ``dd_i/dbeta = f(x1'b) x1 - f(x0'b) x0`` (discrete) or
        ``f(x'b) dx + f(x'b)(1 - 2F(x'b)) (dx'b) x`` (continuous); t intervals with the
        design df. ``per`` rescales a continuous effect to a change of that size, e.g.
        ``{"reimbursement_gap": 0.1}`` for 10 percentage points (linear approximation).

        Examples
        --------
        >>> fit.marginal_effects(per={"x": 0.1})[["variable", "estimate", "se"]].round(4)
          variable  estimate      se
        0        x    0.0251  0.0024
        """
        data = self.analysis_data()
        explicit = variables is not None
        if variables is None:
            variables = self._numeric_variables()
        per = dict(per or {})
        beta = self.params.to_numpy()
        X = self._X
        masks = self._group_masks(by)
        rows: list[dict[str, Any]] = []
        influences: list[np.ndarray] = []
        for variable in variables:  # loop over covariates, not households
            check_columns(data, [variable], "marginal_effects")
            values = pd.to_numeric(data[variable], errors="coerce")
            if values.isna().any():
                raise EvalkitError(
                    f"marginal_effects: variable {variable!r} is not numeric (or has missing "
                    "values); expected a numeric model variable (categorical C(...) terms "
                    "are not supported)"
                )
            binary = bool(np.isin(values.unique(), [0, 1]).all())
            if binary:
                X1 = self.model_matrix_for(data.assign(**{variable: 1}))
                X0 = self.model_matrix_for(data.assign(**{variable: 0}))
                moves = np.any(X1 != X0, axis=1)
                p1 = special.expit(X1 @ beta)
                p0 = special.expit(X0 @ beta)
                effect = p1 - p0
                jacobian = (p1 * (1 - p1))[:, None] * X1 - (p0 * (1 - p0))[:, None] * X0
                kind = "discrete change 0 -> 1"
                step_size = 1.0
            else:
                scale = float(np.std(values)) or 1.0
                h = 1e-4 * scale
                dX = (self.model_matrix_for(data.assign(**{variable: values + h}))
                      - self.model_matrix_for(data.assign(**{variable: values - h}))) / (2 * h)
                moves = np.any(np.abs(dX) > 1e-9, axis=1)
                step_size = float(per.get(variable, 1.0))
                p = special.expit(X @ beta)
                slope = dX @ beta
                density = p * (1 - p)
                effect = density * slope * step_size
                jacobian = step_size * (density[:, None] * dX
                                        + (density * (1 - 2 * p) * slope)[:, None] * X)
                kind = "derivative" if step_size == 1.0 else f"change of {step_size:g}"
            if not np.any(moves) and explicit:
                raise EvalkitError(
                    f"marginal_effects: variable {variable!r} does not enter the model "
                    f"{self.formula!r}; expected one of " + ", ".join(self._numeric_variables())
                )
            for group, mask in masks:
                # A structural zero (the variable has no term for this group, e.g. the
                # reimbursement gap among poor households when the formula has only
                # nonpoor:reimbursement_gap) is "not in the model", not an effect of 0 [0, 0].
                if not np.any(moves[mask]):
                    note = ("not in the model" if not np.any(moves) or variable in self.aliased
                            else "not in the model for this group")
                    rows.append({"variable": variable, "group": group, "effect": kind,
                                 "estimate": np.nan, "n": int(mask.sum()), "note": note})
                    influences.append(np.zeros(len(self.design.data)))
                    continue
                estimate, influence = self._linearized_mean(effect, jacobian, mask)
                rows.append({"variable": variable, "group": group, "effect": kind,
                             "estimate": estimate, "n": int(mask.sum()), "note": ""})
                influences.append(influence)
        table = pd.DataFrame(rows)
        if by is not None:
            table = table.rename(columns={"group": by})
        else:
            table = table.drop(columns="group")
        table = self._with_intervals(table, np.column_stack(influences), level)
        table.loc[table["estimate"].isna(), ["se", "ci_low", "ci_high"]] = np.nan
        return table

    def _numeric_variables(self) -> list[str]:
        """Numeric data columns used by the model's terms, in order of the formula."""
        data = self.design.data
        _, rhs = split_formula(self.formula)
        names = [str(v) for v in self._spec.required_variables if str(v) in data.columns]
        names.sort(key=lambda name: (_first_position(rhs, name), name))
        return [v for v in names if pd.api.types.is_numeric_dtype(data[v])]

    def _with_intervals(self, table: pd.DataFrame, influence: np.ndarray, level: float,
                        estimate: str = "estimate", prefix: str = "") -> pd.DataFrame:
        variance = np.diag(self.design.variance_of_totals(influence))
        se = np.sqrt(np.maximum(variance, 0.0))
        t = t_quantile(level, self.design_df)
        table[f"{prefix}se"] = se
        table[f"{prefix}ci_low"] = table[estimate] - t * se
        table[f"{prefix}ci_high"] = table[estimate] + t * se
        return table

    # --- counterfactual scenarios --------------------------------------------------------
    def scenarios(self, scenarios: Sequence[tuple[str, Scenario]], level: float = 0.95,
                  by: str | None = None) -> pd.DataFrame:
        """Predicted recognition rate under counterfactual scenarios, beside the observed.

        For scenario ``s`` the covariates are changed by its function and the rate is
        the weighted mean of predicted probabilities ``R_s = sum w p_i^s / sum w``; the
        observed rate is ``sum w y / sum w``. Influence values ``w (p^s - R_s)/W + g_s' h``
        with ``g_s = sum w p^s (1 - p^s) x^s / W``, so the interval reflects both the
        sampling of households and the estimated coefficients (module docstring). The
        change is ``R_s - R_0`` with ``R_0`` the same mean of predictions at the observed
        covariates, so an unchanged scenario changes nothing; ``R_0`` equals the observed
        rate over the whole sample and over groups the model has a term for (the score
        equations), and differs from it only by model misfit in other groups. Its
        influence values are the difference of the two. Rates get the logit
        interval of ``svyciprop`` (``expit(logit R +/- t se / (R (1 - R)))``), changes a
        Wald interval; t quantiles with the design df. ``by`` gives the rates per group.

        Examples
        --------
        The rate if every household had ``x`` one unit higher, beside the observed rate:

        >>> table = fit.scenarios([("x + 1", lambda d: d.assign(x=d["x"] + 1))])
        >>> list(table.columns)[:3]
        ['scenario', 'estimate', 'se']
        >>> table.iloc[:, 1:3].round(3)
           estimate     se
        0     0.573  0.017
        1     0.792  0.020
        """
        data = self.analysis_data()
        beta = self.params.to_numpy()
        y = self.response[self._rows]
        named = list(scenarios)
        for item in named:
            if not (isinstance(item, tuple) and len(item) == 2 and callable(item[1])):
                raise EvalkitError(
                    f"scenarios: {item!r} is not a (name, function) pair; named scenarios "
                    "of the assessment are in evalkit.assessment.satisfaction")
        t = t_quantile(level, self.design_df)
        rows: list[dict[str, Any]] = []
        X = self._X
        fitted = special.expit(X @ beta)
        fitted_jacobian = (fitted * (1 - fitted))[:, None] * X
        predictions = []  # per scenario, built once whatever the number of groups
        for name, spec in named:  # loop over a few scenarios
            Xs = self.model_matrix_for(spec(data))
            ps = special.expit(Xs @ beta)
            predictions.append((name, ps, (ps * (1 - ps))[:, None] * Xs))
        for group, mask in self._group_masks(by):
            observed, observed_influence = self._linearized_mean(y, None, mask)
            baseline, baseline_influence = self._linearized_mean(fitted, fitted_jacobian,
                                                                 mask)
            rate_rows = [("observed", observed, observed_influence)]
            for name, ps, jacobian in predictions:
                rate, influence = self._linearized_mean(ps, jacobian, mask)
                rate_rows.append((name, rate, influence))
            stacked = np.column_stack(
                [r[2] for r in rate_rows] + [r[2] - baseline_influence for r in rate_rows[1:]]
            )
            variance = np.diag(self.design.variance_of_totals(stacked))
            se = np.sqrt(np.maximum(variance, 0.0))
            k = len(rate_rows)
            for j, (name, rate, _) in enumerate(rate_rows):
                low, high = logit_interval(rate, se[j], t)
                row: dict[str, Any] = {
                    "scenario": name, "estimate": rate, "se": se[j],
                    "ci_low": low, "ci_high": high,
                }
                if j == 0:
                    row.update(change=0.0, change_se=0.0, change_low=np.nan,
                               change_high=np.nan)
                else:
                    change = rate - baseline
                    change_se = se[k + j - 1]
                    row.update(change=change, change_se=change_se,
                               change_low=change - t * change_se,
                               change_high=change + t * change_se)
                if by is not None:
                    row = {by: group, **row}
                rows.append(row)
        return pd.DataFrame(rows)

    # --- diagnostics ---------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"LogitResult({self.formula!r}, n={self.n_obs}, df={self.df}, "
            f"converged={self.converged})\n" + self.summary_frame().round(4).to_string()
        )


def _first_position(text: str, name: str) -> int:
    """Where ``name`` first occurs in ``text`` as a whole word (len(text) if never)."""
    import re

    match = re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", text)
    return match.start() if match else len(text)


def _scatter(values: np.ndarray, rows: np.ndarray, n_rows: int, fill: float) -> np.ndarray:
    """Values of the analysis rows placed at their positions among all rows."""
    if rows.size == n_rows:  # rows are sorted unique positions: all rows, in order
        return values
    out = np.full((n_rows,) + values.shape[1:], fill)
    out[rows] = values
    return out


def logit(design: SurveyDesign, formula: str, *, epsilon: float = 1e-8,
          max_iterations: int = 25) -> LogitResult:
    """Fit ``formula`` by survey-weighted logistic regression on ``design``.

    Equivalent to R's ``svyglm(formula, design, family = quasibinomial())``: see the module
    docstring for the estimating equations, the variance and the degrees of freedom.
    ``formula`` uses formulaic syntax (Wilkinson-Rogers as in R/patsy): ``a * b`` (main
    effects and interaction), ``a:b`` (interaction only), ``C(x)`` (categorical),
    ``I(x > 1)``. The response must be numeric in [0, 1] (a 0/1 column such as
    ``recognizes``). Rows with a missing model variable are dropped as R's ``na.omit``
    does: they stay in the design with zero weight (a domain), so the degrees of freedom
    count the PSUs that still hold data.

    Examples
    --------
    R: ``svyglm(y ~ x, svydesign(id = ~village, weights = ~weight, data = data), family =
    quasibinomial())``:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> rng = np.random.default_rng(7)
    >>> data = pd.DataFrame({"village": np.repeat(np.arange(12), 25), "weight": 40.0,
    ...                      "x": rng.normal(size=300)})
    >>> data["y"] = (rng.random(300) < 1 / (1 + np.exp(-0.5 - data["x"]))).astype(int)
    >>> fit = logit(SurveyDesign(data, psu="village", weights="weight"), "y ~ x")
    >>> fit.params.round(4).tolist(), fit.bse.round(4).tolist()
    ([0.5434, 1.3235], [0.1101, 0.1894])
    >>> fit.marginal_effects()[["variable", "estimate", "se"]].round(4)
      variable  estimate      se
    0        x    0.2505  0.0237
    """
    data = design.data.reset_index(drop=True)
    domain_rows = np.flatnonzero(design.domain)
    response, matrix, spec = _model_matrices(formula, data.iloc[domain_rows], "logit")
    rows = matrix.index.to_numpy().astype(np.int64)
    n_dropped = int(domain_rows.size - rows.size)
    if rows.size == 0:
        raise EvalkitError(f"logit: no rows with all model variables present for {formula!r}")
    domain_weights = design.weight_values[domain_rows]
    if n_dropped:
        keep = np.zeros(len(data), dtype=bool)
        keep[rows] = True
        design = design.subset(keep)
    names = [str(c) for c in matrix.columns]
    X = np.ascontiguousarray(matrix.to_numpy(dtype=float))
    y = pd.to_numeric(response, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~((y >= 0) & (y <= 1))
    if np.any(bad):
        row = int(rows[np.flatnonzero(bad)[0]])
        raise EvalkitError(
            f"logit: response {response.name!r} row {row + 1} is "
            f"{y[np.flatnonzero(bad)[0]]!r}; expected a number between 0 and 1 (a 0/1 column)"
        )
    # svyglm rescales the weights to mean 1 over the rows of its (subsetted) design, NA rows
    # included; the scale changes glm.fit's starting values and so its last iterates.
    scale = float(domain_weights.mean())
    prior = design.weight_values[rows] / scale
    positive = prior > 0
    if not np.all(positive):
        rows, X, y, prior = rows[positive], X[positive], y[positive], prior[positive]
    from evalkit.contract.errors import NotEstimableError

    answers = np.unique(y)
    if answers.size == 1:
        raise NotEstimableError(
            f"logit: every one of the {y.size} households in the fit has "
            f"{response.name} = {answers[0]:g}; with one answer there is nothing to explain, "
            "so the model is not estimable",
            "one_answer", households=int(y.size))
    # Terms constant or collinear in this sample are left out, as R's glm reports them
    # NA: the others are still estimable (e.g. dibao when every household is on dibao).
    aliased_positions = aliased_columns((X * prior[:, None]).T @ X)
    keep: np.ndarray | None = None
    aliased: tuple[str, ...] = ()
    if aliased_positions:
        aliased = tuple(names[j] for j in aliased_positions)
        if "Intercept" in aliased or len(aliased) == len(names):
            raise NotEstimableError(
                f"logit: term(s) {', '.join(aliased)} leave no estimable model",
                "terms_dropped", terms=", ".join(aliased))
        keep = np.array([j not in aliased_positions for j in range(len(names))])
        X = np.ascontiguousarray(X[:, keep])
        names = [n for n, k in zip(names, keep, strict=True) if k]
    fit = glm_fit_logit(X, y, prior, names, epsilon=epsilon, max_iterations=max_iterations)
    residual = (y - fit.mu) / logit_mu_eta(fit.eta, fit.mu)
    estfun = X * (residual * fit.working_weights)[:, None]
    n_rows = len(data)
    influence = _scatter(estfun @ fit.a_inverse, rows, n_rows, 0.0)
    cov = design.variance_of_totals(influence)
    # R's naive covariance uses the rescaled weights; the quasi-binomial dispersion is
    # not applied (summary.glm's cov.unscaled).
    naive = fit.a_inverse
    design_df = design.df
    p = len(names)
    fitted = _scatter(fit.mu, rows, n_rows, np.nan)
    y_full = _scatter(y, rows, n_rows, np.nan)
    return LogitResult(
        formula=formula,
        design=design,
        params=pd.Series(fit.beta, index=names, name="coef"),
        bse=pd.Series(np.sqrt(np.diag(cov)), index=names, name="se"),
        cov=pd.DataFrame(cov, index=names, columns=names),
        naive_cov=pd.DataFrame(naive, index=names, columns=names),
        df=design_df + 1 - p,
        design_df=design_df,
        n_obs=int(rows.size),
        n_dropped=n_dropped,
        iterations=fit.iterations,
        converged=fit.converged,
        deviance=fit.deviance,
        influence=influence,
        fitted=fitted,
        response=y_full,
        _X=X,
        _spec=spec,
        _rows=rows,
        aliased=aliased,
        _keep=keep,
    )

