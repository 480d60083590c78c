"""Survey-weighted logistic regression of recognition, and what it implies.

The model is R's ``svyglm(formula, design, family = quasibinomial())`` (Lumley 2010, ch. 5):

* Coefficients solve the weighted score equations ``sum_i w_i x_i (y_i - p_i) = 0`` with
  ``p_i = expit(x_i' beta)``. They are found by iteratively reweighted least squares exactly
  as R's ``glm.fit`` does (same starting values ``mu = (w y + 1/2) / (w + 1)``, same
  stopping rule ``|dev - dev_old| / (|dev| + 0.1) < 1e-8``, same clamping of the logit link
  at |eta| > 30), with prior weights ``w / mean(w)`` as ``svyglm`` rescales them.
* The covariance is the linearization (sandwich) estimator of Binder (1983)::

      V = A^{-1} Var_design( sum_i w_i x_i r_i ) A^{-1},   A = sum_i w_i m_i x_i x_i'

  computed as R's ``survey:::svy.varcoef``: the influence values ``h_i = A^{-1} x_i w_i
  m_i r_i`` (``estfun %*% Ainv`` with ``r_i`` the working residual ``(y_i - p_i) / m_i`` and
  ``m_i = p_i (1 - p_i)``) go through :meth:`SurveyDesign.variance_of_totals` (R's
  ``svyrecvar``). As in R, ``A`` and the working weights ``w_i m_i`` come from the last IRLS
  step, i.e. evaluated at the iterate *before* the final coefficients; this moves standard
  errors by up to ~1e-5 relative when IRLS stopped early and is reproduced so results agree
  with R within 1e-6.
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

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from evalkit.contract.errors import EvalkitError
from evalkit.contract.formula import parse_formula
from evalkit.contract.schema import RECOGNITION_LEVELS
from evalkit.survey.estimate import t_quantile
from evalkit.survey.intervals import logit_interval

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign

__all__ = [
    "SCENARIOS",
    "SCENARIO_DESCRIPTIONS",
    "LogitResult",
    "OrdinalResult",
    "cluster_robust",
    "load_truth",
    "logit",
    "ordinal_formula",
    "ordinal_logit",
    "recovery_sentence",
    "recovery_table",
    "scenario_data",
    "scenario_sentences",
    "sensitivity",
    "sensitivity_table",
]

# R's logit link (src/library/stats/src/family.c): eta beyond +-30 is clamped.
_THRESH = 30.0
_EPS = np.finfo(float).eps
_INV_EPS = 1.0 / _EPS
# Columns whose weighted residual norm after projecting on earlier columns is below this
# share of their own norm are aliased (R's glm.fit uses a QR tolerance of 1e-11 on the
# norms; the normal equations square it, and cannot resolve more than ~1e-6 here).
_ALIAS_TOLERANCE = 1e-12
# Largest change of any ordinal-model parameter in one Newton step.
_MAX_NEWTON_STEP = 5.0


# --------------------------------------------------------------------------------------
# IRLS, iterate for iterate as R's glm.fit
# --------------------------------------------------------------------------------------
def _in_range(eta: np.ndarray) -> bool:
    return bool(eta.max() <= _THRESH and eta.min() >= -_THRESH)


def _linkinv(eta: np.ndarray) -> np.ndarray:
    if _in_range(eta):
        return special.expit(eta)
    tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, _INV_EPS, np.exp(
        np.clip(eta, -_THRESH, _THRESH))))
    return tmp / (1.0 + tmp)


def _mu_eta(eta: np.ndarray, mu: np.ndarray | None = None) -> np.ndarray:
    """d mu / d eta; ``mu (1 - mu)`` inside the clamp (equal up to rounding, one pass)."""
    if mu is not None and _in_range(eta):
        return mu * (1.0 - mu)
    clipped = np.clip(eta, -_THRESH, _THRESH)
    opexp = 1.0 + np.exp(clipped)
    return np.where(np.abs(eta) > _THRESH, _EPS, np.exp(clipped) / (opexp * opexp))


def _deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray,
              events: np.ndarray | None = None) -> float:
    """Binomial deviance ``2 sum w (y log(y/mu) + (1-y) log((1-y)/(1-mu)))`` (R's C code).

    ``events``: the boolean ``y == 1`` when every ``y`` is 0 or 1 (then one log per row).
    """
    if events is not None:
        return float(-2.0 * np.dot(w, np.log(np.where(events, mu, 1.0 - mu))))
    return float(np.sum(2.0 * w * (special.xlogy(y, y / mu)
                                   + special.xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))))


def _solve_normal(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``gram b = rhs`` by Cholesky after equilibration (better conditioned)."""
    scale = 1.0 / np.sqrt(np.diag(gram))
    scaled = gram * scale[:, None] * scale[None, :]
    factor = linalg.cho_factor(scaled, lower=False, check_finite=False)
    return scale * linalg.cho_solve(factor, rhs * scale, check_finite=False)


def _inverse(gram: np.ndarray) -> np.ndarray:
    scale = 1.0 / np.sqrt(np.diag(gram))
    scaled = gram * scale[:, None] * scale[None, :]
    factor = linalg.cho_factor(scaled, lower=False, check_finite=False)
    inverse = linalg.cho_solve(factor, np.eye(gram.shape[0]), check_finite=False)
    return inverse * scale[:, None] * scale[None, :]


def _aliased_columns(gram: np.ndarray) -> list[int]:
    """Columns that are (numerically) linear combinations of earlier ones.

    Sequential Gram-Schmidt on the weighted Gram matrix: R's pivoting QR likewise keeps the
    first of a set of collinear columns and declares the later ones aliased.
    """
    diag = np.diag(gram).copy()
    aliased: list[int] = []
    kept: list[int] = []
    for j in range(gram.shape[0]):  # loop over the few model columns
        if diag[j] <= 0:
            aliased.append(j)
            continue
        if kept:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, j]
            residual = diag[j] - cross @ np.linalg.lstsq(sub, cross, rcond=None)[0]
        else:
            residual = diag[j]
        if residual <= _ALIAS_TOLERANCE * diag[j]:
            aliased.append(j)
        else:
            kept.append(j)
    return aliased


@dataclass
class _GlmFit:
    beta: np.ndarray
    mu: np.ndarray  # final fitted values
    eta: np.ndarray
    working_weights: np.ndarray  # w m from the last IRLS step (previous iterate)
    a_inverse: np.ndarray  # (X' W X)^-1 from the last IRLS step
    iterations: int
    converged: bool
    deviance: float


def _glm_fit_logit(X: np.ndarray, y: np.ndarray, prior: np.ndarray, names: Sequence[str],
                   epsilon: float = 1e-8, max_iterations: int = 25) -> _GlmFit:
    """Logistic IRLS as R's ``glm.fit`` (rows with zero prior weight must be removed)."""
    events = (y == 1) if np.all((y == 0) | (y == 1)) else None
    mu = (prior * y + 0.5) / (prior + 1.0)
    eta = special.logit(mu)
    dev_old = _deviance(y, mu, prior, events)
    beta_old: np.ndarray | None = None
    converged = False
    iteration = 0
    gram = np.eye(X.shape[1])
    working = prior
    beta = np.zeros(X.shape[1])
    dev = dev_old
    for iteration in range(1, max_iterations + 1):  # iterations, not households
        mu_eta = _mu_eta(eta, mu)
        z = eta + (y - mu) / mu_eta
        working = prior * (mu_eta**2 / (mu * (1.0 - mu)))
        weighted_x = X * working[:, None]
        gram = weighted_x.T @ X
        if iteration == 1:
            aliased = _aliased_columns(gram)
            if aliased:
                raise EvalkitError(
                    "logit: term(s) " + ", ".join(repr(names[j]) for j in aliased)
                    + " are collinear with earlier terms (or constant zero) in the data; "
                    "expected linearly independent columns: drop or merge them"
                )
        beta = _solve_normal(gram, weighted_x.T @ z)
        eta = X @ beta
        mu = _linkinv(eta)
        dev = _deviance(y, mu, prior, events)
        halvings = 0
        while not np.isfinite(dev):
            # R's step halving when the deviance is not finite.
            if beta_old is None or halvings > max_iterations:
                raise EvalkitError(
                    "logit: IRLS produced a non-finite deviance; expected a model the data "
                    "can identify (check for separation)"
                )
            beta = (beta + beta_old) / 2.0
            eta = X @ beta
            mu = _linkinv(eta)
            dev = _deviance(y, mu, prior, events)
            halvings += 1
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
        beta_old = beta
    return _GlmFit(beta=beta, mu=mu, eta=eta, working_weights=working,
                   a_inverse=_inverse(gram), iterations=iteration, converged=converged,
                   deviance=dev)


def batch_logit(X: np.ndarray, y: np.ndarray, weights: np.ndarray, start: np.ndarray,
                 tolerance: float = 1e-10, max_iterations: int = 50) -> np.ndarray:
    """Weighted logistic fits for many weight vectors at once (replicate designs).

    ``weights`` is ``(n, B)``; returns ``(B, p)`` coefficients. Newton-Raphson from
    ``start`` (the full-sample estimate), vectorized over replicates: each step forms the
    ``B`` weighted Gram matrices with one ``einsum`` and solves them together.

    A replicate whose fit does not exist is returned as a row of NaN, never an error: its
    Gram matrix is singular (a drawn set of villages leaves a covariate without variation,
    e.g. no dibao household among the dissatisfied ones), its Newton steps do not settle
    (separation: coefficients run off to infinity) or its coefficients are not finite.
    Callers drop such replicates and say how many (:func:`evalkit.survey.decomposition.fairlie`).
    """
    n_rep = weights.shape[1]
    n_par = X.shape[1]
    beta = np.tile(start, (n_rep, 1)).astype(float)
    failed = np.zeros(n_rep, dtype=bool)
    settled = np.zeros(n_rep, dtype=bool)
    for _ in range(max_iterations):
        active = ~(failed | settled)
        if not np.any(active):
            break
        eta = X @ beta[active].T  # (n, B_active)
        mu = special.expit(eta)
        w_active = weights[:, active]
        working = w_active * mu * (1.0 - mu)
        gram = np.einsum("nb,nj,nk->bjk", working, X, X, optimize=True)
        score = (X.T @ (w_active * (y[:, None] - mu))).T  # (B, p)
        # Equilibrate, then treat a reciprocal condition number below 1e-12 as singular.
        diag = np.einsum("bjj->bj", gram)
        positive = np.all(diag > 0, axis=1)
        scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
        scaled = gram * scale[:, :, None] * scale[:, None, :]
        eigen = np.linalg.eigvalsh(scaled)
        singular = ~positive | (eigen[:, 0] <= 1e-12 * np.maximum(eigen[:, -1], 1e-300))
        safe = np.where(singular[:, None, None], np.eye(n_par), scaled)
        step = scale * np.linalg.solve(safe, (score * scale)[:, :, None])[:, :, 0]
        step[singular] = 0.0
        index = np.flatnonzero(active)
        beta[index] = beta[index] + step
        bad = singular | ~np.all(np.isfinite(beta[index]), axis=1)
        failed[index[bad]] = True
        small = np.max(np.abs(step), axis=1) < tolerance * (
            1.0 + np.max(np.abs(beta[index]), axis=1))
        settled[index[small & ~bad]] = True
    failed |= ~settled
    beta[failed] = np.nan
    return beta


# --------------------------------------------------------------------------------------
# Design matrices from formulas
# --------------------------------------------------------------------------------------
def _split_formula(formula: str, columns: Iterable[str] | None = None,
                   role: str = "logit") -> tuple[str, str]:
    """Response and right-hand side of ``formula``, after evalkit's grammar accepted it.

    The grammar (:mod:`evalkit.contract.formula`) refuses anything formulaic would evaluate as
    Python, so only column names and formula operators ever reach formulaic.
    """
    parsed = parse_formula(formula, columns=columns, role=role)
    return parsed.response, parsed.rhs


def _model_matrices(formula: str, data: pd.DataFrame, role: str
                    ) -> tuple[pd.Series, pd.DataFrame, Any]:
    """Response, design matrix (rows with missing values dropped) and the rhs ModelSpec."""
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    lhs, rhs = _split_formula(formula, data.columns, role)
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


def _check_columns(data: pd.DataFrame, columns: Iterable[str], role: str) -> None:
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise EvalkitError(
            f"{role}: column(s) {', '.join(map(repr, missing))} are not in the data; "
            "expected the survey's columns (see evalkit.contract.schema)"
        )


# --------------------------------------------------------------------------------------
# Counterfactual scenarios
# --------------------------------------------------------------------------------------
def _pipe_water(data: pd.DataFrame) -> pd.DataFrame:
    """Water piped into the home of non-poor households that now have it at the door."""
    _check_columns(data, ["nonpoor", "water_at_door"], "scenario 'pipe_water'")
    out = data.copy()
    rows = (out["nonpoor"] == 1) & (out["water_at_door"] == 1)
    out.loc[rows, "water_at_door"] = 0
    if "water_access" in out.columns:
        out.loc[rows, "water_access"] = "in_home"
    return out


def _raise_reimbursement(data: pd.DataFrame) -> pd.DataFrame:
    """Non-poor reimbursement raised to the poor households' level (gap to 90% closed)."""
    _check_columns(data, ["nonpoor", "reimbursement_gap"], "scenario 'raise_reimbursement'")
    out = data.copy()
    rows = out["nonpoor"] == 1
    out.loc[rows, "reimbursement_gap"] = 0.0
    if "reimbursement_share" in out.columns:
        share = out["reimbursement_share"]
        out.loc[rows & share.notna(), "reimbursement_share"] = np.maximum(
            share[rows & share.notna()], 0.9)
    return out


def _both(data: pd.DataFrame) -> pd.DataFrame:
    """Both disparities removed."""
    return _raise_reimbursement(_pipe_water(data))


Scenario = Callable[[pd.DataFrame], pd.DataFrame]

#: Named counterfactual scenarios (the ``satisfaction.scenarios`` params refer to these).
SCENARIOS: dict[str, Scenario] = {
    "pipe_water": _pipe_water,
    "raise_reimbursement": _raise_reimbursement,
    "both": _both,
}

SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "observed": "as surveyed",
    "pipe_water": "water piped into non-poor homes that have it at the door",
    "raise_reimbursement": "non-poor reimbursement raised to 90% (the poor households' level)",
    "both": "both disparities removed",
}


def scenario_data(data: pd.DataFrame, scenario: str | Scenario) -> pd.DataFrame:
    """A copy of ``data`` with the covariates a named (or callable) scenario changes."""
    if callable(scenario):
        return scenario(data)
    if scenario not in SCENARIOS:
        raise EvalkitError(
            f"scenario {scenario!r} is unknown; expected one of " + ", ".join(SCENARIOS)
        )
    return SCENARIOS[scenario](data)


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

    # --- coefficient tables -----------------------------------------------------------
    @property
    def tvalues(self) -> pd.Series:
        return self.params / self.bse

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p values from t with ``df`` degrees of freedom (``summary.svyglm``)."""
        if self.df <= 0:
            return pd.Series(np.nan, index=self.params.index)
        return pd.Series(2 * stats.t.sf(np.abs(self.tvalues.to_numpy()), self.df),
                         index=self.params.index)

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals ``beta +/- t_{df} se`` (R's ``confint.svyglm``, method Wald)."""
        t = t_quantile(level, self.df)
        return pd.DataFrame({"ci_low": self.params - t * self.bse,
                             "ci_high": self.params + t * self.bse})

    def odds_ratios(self, level: float = 0.95) -> pd.DataFrame:
        """``exp(beta)`` with the exponentiated Wald interval."""
        ci = self.conf_int(level)
        return pd.DataFrame({"odds_ratio": np.exp(self.params),
                             "ci_low": np.exp(ci["ci_low"]),
                             "ci_high": np.exp(ci["ci_high"])})

    def summary_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: coef, se, t, p, interval, odds ratio and its interval."""
        ci = self.conf_int(level)
        odds = self.odds_ratios(level)
        table = pd.DataFrame({
            "coef": self.params, "se": self.bse, "t": self.tvalues, "p_value": self.pvalues,
            "ci_low": ci["ci_low"], "ci_high": ci["ci_high"],
            "odds_ratio": odds["odds_ratio"], "or_low": odds["ci_low"],
            "or_high": odds["ci_high"],
        })
        table.index.name = "term"
        if self.aliased:
            table["note"] = ""
            missing = pd.DataFrame(np.nan, index=pd.Index(self.aliased, name="term"),
                                   columns=table.columns[:-1])
            missing["note"] = "not estimable: constant or collinear in this sample"
            table = pd.concat([table, missing])
            table.index.name = "term"
        return table

    # --- prediction -------------------------------------------------------------------
    def _matrix(self, data: pd.DataFrame) -> np.ndarray:
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
        """
        if data is None:
            data = self.design.data
        eta = self._matrix(data) @ self.params.to_numpy()
        values = eta if linear else special.expit(eta)
        return pd.Series(values, index=data.index, name="linear" if linear else "probability")

    def _analysis_data(self) -> pd.DataFrame:
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
        data = self._analysis_data()
        _check_columns(data, [by], "logit")
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
        """
        data = self._analysis_data()
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
            _check_columns(data, [variable], "marginal_effects")
            values = pd.to_numeric(data[variable], errors="coerce")
            if values.isna().any():
                raise EvalkitError(
                    f"marginal_effects: variable {variable!r} is not numeric (or has missing "
                    "values); expected a numeric model variable (categorical C(...) terms "
                    "are not supported)"
                )
            binary = bool(np.isin(values.unique(), [0, 1]).all())
            if binary:
                X1 = self._matrix(data.assign(**{variable: 1}))
                X0 = self._matrix(data.assign(**{variable: 0}))
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
                dX = (self._matrix(data.assign(**{variable: values + h}))
                      - self._matrix(data.assign(**{variable: values - h}))) / (2 * h)
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
        _, rhs = _split_formula(self.formula)
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
    def scenarios(self, scenarios: Sequence[str | tuple[str, Scenario]] = (
            "pipe_water", "raise_reimbursement", "both"),
            level: float = 0.95, by: str | None = None) -> pd.DataFrame:
        """Predicted recognition rate under counterfactual scenarios, beside the observed.

        For scenario ``s`` the covariates are changed (:data:`SCENARIOS`) and the rate is
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
        """
        data = self._analysis_data()
        beta = self.params.to_numpy()
        y = self.response[self._rows]
        named: list[tuple[str, Scenario | str]] = []
        for item in scenarios:
            if isinstance(item, tuple):
                named.append(item)
            else:
                if item not in SCENARIOS:
                    raise EvalkitError(
                        f"scenarios: {item!r} is unknown; expected one of "
                        + ", ".join(SCENARIOS)
                    )
                named.append((item, item))
        t = t_quantile(level, self.design_df)
        rows: list[dict[str, Any]] = []
        X = self._X
        fitted = special.expit(X @ beta)
        fitted_jacobian = (fitted * (1 - fitted))[:, None] * X
        predictions = []  # per scenario, built once whatever the number of groups
        for name, spec in named:  # loop over a few scenarios
            Xs = self._matrix(scenario_data(data, spec))
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
    def fragility(self, min_events: int = 10) -> list[str]:
        """Plain-language notes when the fit is fragile; an empty list when it is not.

        Flags: IRLS not converged; fitted probabilities within 1e-6 of 0 or 1 (a sign of
        (quasi-)separation; R warns only below 10 machine epsilons, which IRLS stopping at
        a relative deviance change of 1e-8 rarely reaches); 0/1 model columns (dummies,
        interaction cells) with fewer than ``min_events`` sampled households with or
        without recognition among rows where the column is 1, or none at all
        (quasi-complete separation: the coefficient and its standard error are not
        estimable); cells of interacted 0/1 variables (``a * b``: the four (a, b) cells)
        with fewer than ``min_events`` of either answer; fewer than 10 events per
        coefficient (Peduzzi et al. 1996); residual degrees of freedom below 10 (t
        quantiles with few df make intervals wide and variance estimates unstable).
        """
        notes: list[str] = []
        X = self._X
        y = self.response[self._rows]
        names = list(self.params.index)
        if not self.converged:
            notes.append(f"the fit did not converge in {self.iterations} iterations")
        mu = self.fitted[self._rows]
        if np.any((mu > 1 - 1e-6) | (mu < 1e-6)):
            notes.append("fitted probabilities within 1e-6 of 0 or 1 occurred: the model "
                         "separates some households (quasi-separation)")
        for j, name in enumerate(names):  # loop over model columns
            column = X[:, j]
            if name == "Intercept" or not np.isin(column, [0.0, 1.0]).all():
                continue
            cell = column == 1
            events = int(np.sum(y[cell] == 1))
            non_events = int(np.sum(y[cell] == 0))
            if min(events, non_events) == 0:
                notes.append(
                    f"term {name!r}: among the {int(cell.sum())} households where it is 1, "
                    f"{'none' if events == 0 else 'all'} recognize: quasi-complete "
                    "separation, the coefficient is not estimable"
                )
            elif min(events, non_events) < min_events:
                notes.append(
                    f"term {name!r}: only {min(events, non_events)} sampled households "
                    f"{'recognize' if events < non_events else 'do not recognize'} where it "
                    f"is 1 (fewer than {min_events}): its coefficient rests on few events"
                )
        notes.extend(self._interaction_cells(min_events))
        events_total = int(min(np.sum(y == 1), np.sum(y == 0)))
        if events_total < 10 * len(names):
            notes.append(
                f"{events_total} events for {len(names)} coefficients: fewer than 10 per "
                "coefficient"
            )
        if self.df < 10:
            notes.append(
                f"only {self.df} residual degrees of freedom ({self.design_df} design df minus "
                f"{len(names) - 1} slopes): intervals are wide and the covariance unstable"
            )
        return notes

    def _interaction_cells(self, min_events: int) -> list[str]:
        """Cells of interacted 0/1 variables with few households giving either answer.

        With ``a * b`` the coefficients of ``a``, ``b`` and ``a:b`` are contrasts of the
        four cells of (a, b); a cell with few events (e.g. poor households with water at
        the door) makes its contrast rest on those few households.
        """
        names = list(self.params.index)
        X = self._X
        y = self.response[self._rows]
        binary = {name: X[:, j] for j, name in enumerate(names)
                  if name != "Intercept" and np.isin(X[:, j], [0.0, 1.0]).all()}
        notes: list[str] = []
        seen: set[tuple[str, ...]] = set()
        for name in names:
            parts = tuple(name.split(":"))
            if len(parts) < 2 or not all(part in binary for part in parts) or parts in seen:
                continue
            seen.add(parts)
            values = np.column_stack([binary[part] for part in parts])
            codes = values @ (2 ** np.arange(len(parts)))
            n_cells = 2 ** len(parts)
            events = np.bincount(codes.astype(int), weights=(y == 1), minlength=n_cells)
            totals = np.bincount(codes.astype(int), minlength=n_cells)
            for cell in range(n_cells):  # the 2^k cells of one interaction
                smaller = int(min(events[cell], totals[cell] - events[cell]))
                if smaller < min_events:
                    label = ", ".join(f"{part}={(cell >> k) & 1}" for k, part in
                                      enumerate(parts))
                    answer = ("recognize" if events[cell] <= totals[cell] - events[cell]
                              else "do not recognize")
                    notes.append(
                        f"cell {label}: {smaller} of {int(totals[cell])} sampled households "
                        f"{answer} (fewer than {min_events}): the coefficients of "
                        f"{', '.join(parts)} and {name} rest on few events"
                    )
        return notes

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
    aliased_columns = _aliased_columns((X * prior[:, None]).T @ X)
    keep: np.ndarray | None = None
    aliased: tuple[str, ...] = ()
    if aliased_columns:
        aliased = tuple(names[j] for j in aliased_columns)
        if "Intercept" in aliased or len(aliased) == len(names):
            raise NotEstimableError(
                f"logit: term(s) {', '.join(aliased)} leave no estimable model",
                "terms_dropped", terms=", ".join(aliased))
        keep = np.array([j not in aliased_columns for j in range(len(names))])
        X = np.ascontiguousarray(X[:, keep])
        names = [n for n, k in zip(names, keep, strict=True) if k]
    fit = _glm_fit_logit(X, y, prior, names, epsilon=epsilon, max_iterations=max_iterations)
    residual = (y - fit.mu) / _mu_eta(fit.eta, fit.mu)
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


# --------------------------------------------------------------------------------------
# Sensitivity: the three-level answer as an ordinal (proportional-odds) model
# --------------------------------------------------------------------------------------
@dataclass
class OrdinalResult:
    """A survey-weighted proportional-odds model (R's ``svyolr``).

    ``logit P(Y <= j) = zeta_j - x' beta``: a positive ``beta`` moves households towards the
    higher (more satisfied) answers, as in the binary model of recognition. ``params``
    holds the slopes then the thresholds (named ``"low|high"`` as R does); ``df`` is
    ``svyolr``'s ``degf(design) - number of slopes``.
    """

    formula: str
    levels: tuple[str, ...]
    params: pd.Series
    bse: pd.Series
    cov: pd.DataFrame
    df: int
    n_obs: int
    iterations: int
    converged: bool
    n_slopes: int

    def conf_int(self, level: float = 0.95) -> pd.DataFrame:
        """Wald intervals with t quantiles on ``df``."""
        t = t_quantile(level, self.df)
        return pd.DataFrame({"ci_low": self.params - t * self.bse,
                             "ci_high": self.params + t * self.bse})

    def odds_ratios(self, level: float = 0.95) -> pd.DataFrame:
        """Cumulative odds ratios ``exp(beta)`` of the slopes, with intervals."""
        ci = self.conf_int(level).iloc[: self.n_slopes]
        return pd.DataFrame({"odds_ratio": np.exp(self.params.iloc[: self.n_slopes]),
                             "ci_low": np.exp(ci["ci_low"]),
                             "ci_high": np.exp(ci["ci_high"])})

    def summary_frame(self, level: float = 0.95) -> pd.DataFrame:
        ci = self.conf_int(level)
        table = pd.DataFrame({"coef": self.params, "se": self.bse,
                              "t": self.params / self.bse,
                              "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]})
        table.index.name = "term"
        return table


def _ordinal_pieces(X: np.ndarray, upper: np.ndarray, lower: np.ndarray, theta: np.ndarray,
                    n_slopes: int, q: int, w: np.ndarray, hessian: bool = True
                    ) -> tuple[float, np.ndarray, np.ndarray | None, np.ndarray]:
    """Weighted log-likelihood, gradient, Hessian and per-row scores of the cumulative logit.

    ``upper``/``lower`` are threshold indexes of each row's category (``-1`` for +/-
    infinity). For a row with ``a = zeta_y - eta`` and ``b = zeta_{y-1} - eta``:
    ``l = log(F(a) - F(b))``, ``dl/da = f(a)/pr``, ``dl/db = -f(b)/pr``,
    ``d2l/da2 = f'(a)/pr - (f(a)/pr)^2``, ``d2l/db2 = -f'(b)/pr - (f(b)/pr)^2``,
    ``d2l/dadb = f(a) f(b)/pr^2`` with ``f' = f (1 - 2F)``; ``da/dtheta = (-x, e_y)``.
    Computed on the log scale with ``r = F(b)/F(a)``: ``log pr = log F(a) + log(1 - r)``,
    ``f(a)/pr = (1 - F(a))/(1 - r)``, ``f(b)/pr = (1 - F(b)) r/(1 - r)``, so that rows far
    in a tail (large |eta| while Newton explores) neither underflow nor give NaN.
    """
    beta, zeta = theta[:n_slopes], theta[n_slopes:]
    eta = X @ beta
    has_upper = upper >= 0
    has_lower = lower >= 0
    a = np.where(has_upper, zeta[np.maximum(upper, 0)] - eta, np.inf)
    b = np.where(has_lower, zeta[np.maximum(lower, 0)] - eta, -np.inf)
    log_fa = np.where(has_upper, special.log_expit(a), 0.0)
    log_fb = np.where(has_lower, special.log_expit(b), -np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_r = log_fb - log_fa
        one_minus_r = -np.expm1(log_r)
        r = np.exp(log_r)
    if np.any(one_minus_r <= 0) or not np.all(np.isfinite(zeta)):
        return -np.inf, np.zeros(theta.size), None, np.zeros((X.shape[0], theta.size))
    loglik = float(np.sum(w * (log_fa + np.log(one_minus_r))))
    Fa = np.where(has_upper, special.expit(a), 1.0)
    Fb = np.where(has_lower, special.expit(b), 0.0)
    ga = np.where(has_upper, special.expit(-a) / one_minus_r, 0.0)  # f(a)/pr
    gb = np.where(has_lower, special.expit(-b) * r / one_minus_r, 0.0)  # f(b)/pr
    n = X.shape[0]
    Da = np.zeros((n, n_slopes + q))
    Db = np.zeros((n, n_slopes + q))
    Da[:, :n_slopes] = -X
    Db[:, :n_slopes] = -X
    rows = np.arange(n)
    Da[rows[has_upper], n_slopes + upper[has_upper]] = 1.0
    Db[rows[has_lower], n_slopes + lower[has_lower]] = 1.0
    scores = Da * (w * ga)[:, None] - Db * (w * gb)[:, None]
    gradient = scores.sum(axis=0)
    if not hessian:
        return loglik, gradient, None, scores
    laa = ga * (1 - 2 * Fa) - ga**2
    lbb = -gb * (1 - 2 * Fb) - gb**2
    lab = ga * gb
    cross = Da.T @ (Db * (w * lab)[:, None])
    H = (Da.T @ (Da * (w * laa)[:, None]) + Db.T @ (Db * (w * lbb)[:, None])
         + cross + cross.T)
    return loglik, gradient, H, scores


def ordinal_logit(design: SurveyDesign, formula: str, levels: Sequence[str] | None = None,
                  *, tolerance: float = 1e-10, max_iterations: int = 100) -> OrdinalResult:
    """Proportional-odds logistic regression with design-based standard errors.

    As R's ``svyolr`` (Lumley 2010, sec. 6.3): the weighted log-likelihood
    ``sum w_i log(F(zeta_{y_i} - x_i'b) - F(zeta_{y_i - 1} - x_i'b))`` is maximized (here by
    Newton-Raphson with step halving from R's starting values; the log-likelihood is
    concave, Pratt 1981), and the covariance is the sandwich ``H^{-1} Var_design(sum U_i)
    H^{-1}`` with ``U_i`` the weighted score rows, through
    :meth:`SurveyDesign.variance_of_totals`. R maximizes with BFGS and a finite-difference
    Hessian, so agreement with R is ~1e-6 only when R is run with a tight ``reltol``.

    ``formula`` is ``"recognition ~ terms"`` with the response a column of ordered
    categories; ``levels`` lists them from lowest to highest (default for the recognition
    codes: dissatisfied < basically_satisfied < satisfied). The intercept is absorbed by
    the thresholds.
    """
    data = design.data.reset_index(drop=True)
    lhs, rhs = _split_formula(formula, data.columns, "ordinal_logit")
    domain_rows = np.flatnonzero(design.domain)
    sub = data.iloc[domain_rows]
    from formulaic import model_matrix
    from formulaic.errors import FormulaicError

    try:
        matrix = model_matrix(rhs, sub, na_action="drop")
    except (FormulaicError, NameError, KeyError, SyntaxError, TypeError, ValueError) as exc:
        raise EvalkitError(
            f"ordinal_logit: formula {formula!r} cannot be built from the data ({exc})"
        ) from exc
    response = sub.loc[matrix.index, lhs]
    if levels is None:
        present = set(response.dropna().astype(str))
        default = ("dissatisfied", "basically_satisfied", "satisfied")
        if present <= set(RECOGNITION_LEVELS):
            levels = default
        else:
            raise EvalkitError(
                f"ordinal_logit: response {lhs!r} has values {sorted(present)[:5]}; pass "
                "levels=[lowest, ..., highest] to order them"
            )
    levels = tuple(levels)
    if len(levels) < 3:
        raise EvalkitError(
            f"ordinal_logit: {len(levels)} response levels; expected 3 or more "
            "(use logit for a binary response)"
        )
    present_rows = response.notna().to_numpy()
    lookup = {level: code for code, level in enumerate(levels)}
    codes = response.astype(str).map(lookup).fillna(-1).to_numpy(dtype=np.int64)
    if np.any(present_rows & (codes < 0)):
        row = int(matrix.index[np.flatnonzero(present_rows & (codes < 0))[0]])
        raise EvalkitError(
            f"ordinal_logit: response {lhs!r} row {row + 1} is {data[lhs].iloc[row]!r}; "
            "expected one of " + ", ".join(levels)
        )
    rows = matrix.index.to_numpy().astype(np.int64)[present_rows]
    codes = codes[present_rows].astype(np.int64)
    keep = np.zeros(len(data), dtype=bool)
    keep[rows] = True
    if rows.size < domain_rows.size:
        design = design.subset(keep)
    names = [str(c) for c in matrix.columns]
    X_all = np.asarray(matrix, dtype=float)[present_rows]
    slopes = [j for j, name in enumerate(names) if name != "Intercept"]
    X = X_all[:, slopes]
    slope_names = [names[j] for j in slopes]
    n_slopes = len(slopes)
    q = len(levels) - 1
    w = design.weight_values[rows]
    w = w / w.mean()

    # R's starting values: a binary logit of y > q1, thresholds spaced on the logit scale.
    q1 = len(levels) // 2
    start_fit = _glm_fit_logit(np.column_stack([np.ones(rows.size), X]),
                               (codes >= q1).astype(float), w, ["Intercept", *slope_names])
    spacing = special.logit(np.arange(1, q + 1) / (q + 1))
    zeta = -start_fit.beta[0] + spacing - spacing[q1 - 1]
    theta = np.concatenate([start_fit.beta[1:], zeta])
    upper = np.where(codes < q, codes, -1)
    lower = np.where(codes > 0, codes - 1, -1)
    loglik, gradient, H, _ = _ordinal_pieces(X, upper, lower, theta, n_slopes, q, w)
    converged = False
    iteration = 0
    while iteration < max_iterations:  # Newton iterations
        iteration += 1
        step = np.linalg.solve(-H, gradient)
        # A flat direction (a nearly empty cell) can ask for a huge step; cap it so the
        # search stays where the likelihood is informative (halving does the rest).
        size = min(1.0, _MAX_NEWTON_STEP / max(float(np.max(np.abs(step))), 1e-300))
        improved = False
        while size > 1e-12:  # step halving keeps thresholds ordered and the likelihood rising
            candidate = theta + size * step
            ordered = np.all(np.diff(candidate[n_slopes:]) > 0)
            new = _ordinal_pieces(X, upper, lower, candidate, n_slopes, q, w) if ordered \
                else (-np.inf, None, None, None)
            if new[0] >= loglik - 1e-12 * abs(loglik):
                improved = True
                break
            size /= 2
        if not improved:
            # No ascent left in Newton's direction: at the optimum up to rounding, or stuck.
            scale = np.abs(np.sqrt(np.abs(np.diag(H))))
            converged = bool(np.all(np.abs(gradient) <= 1e-6 * (1 + scale)))
            break
        theta = candidate
        loglik, gradient, H, _ = new
        if np.max(np.abs(size * step)) < tolerance * (1 + np.max(np.abs(theta))):
            converged = True
            break
    _, _, H, scores = _ordinal_pieces(X, upper, lower, theta, n_slopes, q, w)
    if not converged:
        raise EvalkitError(
            f"ordinal_logit: no maximum found in {iteration} Newton steps for {formula!r}; "
            "expected a model the data identify (check for separation: a term whose "
            "households all give the same answer)"
        )
    influence_rows = scores @ np.linalg.inv(-H)
    influence = np.zeros((len(data), theta.size))
    influence[rows] = influence_rows
    cov = design.variance_of_totals(influence)
    threshold_names = [f"{levels[j]}|{levels[j + 1]}" for j in range(q)]
    all_names = slope_names + threshold_names
    return OrdinalResult(
        formula=formula,
        levels=levels,
        params=pd.Series(theta, index=all_names, name="coef"),
        bse=pd.Series(np.sqrt(np.diag(cov)), index=all_names, name="se"),
        cov=pd.DataFrame(cov, index=all_names, columns=all_names),
        df=design.df - n_slopes,
        n_obs=int(rows.size),
        iterations=iteration,
        converged=converged,
        n_slopes=n_slopes,
    )


# --------------------------------------------------------------------------------------
# Sensitivity: cluster-robust errors by village
# --------------------------------------------------------------------------------------
def cluster_robust(result: LogitResult, cluster: str | None = None) -> pd.DataFrame:
    """Cluster-robust (sandwich) standard errors by village from statsmodels, as a check.

    ``statsmodels.GLM(Binomial, var_weights=w).fit(cov_type="cluster")`` solves the same
    weighted score equations, so coefficients agree; its covariance is
    ``G/(G-1) (N-1)/(N-K) A^{-1} (sum_g U_g U_g') A^{-1}`` over clusters ``g``. The
    design-based covariance differs by (i) no ``(N-1)/(N-K)`` factor, (ii) centring cluster
    totals within strata and ``n_h/(n_h-1)`` per stratum instead of ``G/(G-1)``, (iii) the
    finite population correction, and (iv) R's working weights from the previous IRLS
    iterate. With one stratum and no fpc, ``se_cluster / se_design`` is
    ``sqrt((N-1)/(N-K))`` up to (iv). ``cluster`` defaults to the design's first-stage PSU.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import SpecificationWarning

    design = result.design
    if cluster is None:
        psu = design.psu
        cluster = psu if isinstance(psu, str) else (list(psu)[0] if psu else None)
    if cluster is None:
        raise EvalkitError(
            "cluster_robust: the design has no PSU column; pass cluster='village'"
        )
    data = result._analysis_data()
    _check_columns(data, [cluster], "cluster_robust")
    groups = pd.factorize(data[cluster])[0]
    weights = design.weight_values[result._rows]
    y = result.response[result._rows]
    model = sm.GLM(y, result._X, family=sm.families.Binomial(), var_weights=weights)
    with warnings.catch_warnings():
        # statsmodels warns that cluster covariances with var_weights are "not fully
        # supported"; for the binomial score they are the sandwich above (tested).
        warnings.simplefilter("ignore", category=SpecificationWarning)
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups},
                        start_params=result.params.to_numpy(), tol=1e-12)
    index = result.params.index
    se_cluster = pd.Series(np.asarray(fit.bse), index=index)
    return pd.DataFrame({
        "coef": result.params,
        "coef_statsmodels": pd.Series(np.asarray(fit.params), index=index),
        "se_design": result.bse,
        "se_cluster": se_cluster,
        "ratio": se_cluster / result.bse,
    }).rename_axis("term")


def sensitivity_table(result: LogitResult, ordinal: OrdinalResult | None = None,
                      cluster: str | None = None) -> pd.DataFrame:
    """Binary design-based fit beside cluster-robust errors and the ordinal model.

    Under proportional odds the binary logit of "recognizes" (basically satisfied or
    satisfied vs dissatisfied) and the ordinal model estimate the same slopes, so close
    ``coef`` and ``coef_ordinal`` support the binary summary of the three-level answer.
    """
    table = cluster_robust(result, cluster)[["coef", "se_design", "se_cluster", "ratio"]]
    table = table.rename(columns={"ratio": "cluster_to_design"})
    if ordinal is not None:
        table["coef_ordinal"] = ordinal.params.reindex(table.index)
        table["se_ordinal"] = ordinal.bse.reindex(table.index)
    return table


@dataclass
class Sensitivity:
    """The sensitivity checks of one fit: table, ordinal model and computed sentences."""

    table: pd.DataFrame
    ordinal: OrdinalResult | None
    notes: list[str]


def sensitivity(result: LogitResult, response: str = "recognition",
                cluster: str | None = None) -> Sensitivity:
    """Cluster-robust errors and the ordinal model of ``response``, with plain sentences.

    The ordinal model uses the binary model's terms (:func:`ordinal_formula`). When it
    cannot be fitted (e.g. separation in the three-level answer) the table is left without
    its columns and a note says why, rather than stopping the report.
    """
    notes: list[str] = []
    ordinal: OrdinalResult | None = None
    if response in result.design.data.columns:
        try:
            ordinal = ordinal_logit(result.design, ordinal_formula(result.formula, response))
        except EvalkitError as exc:
            notes.append(f"the ordinal model could not be fitted: {exc}")
    else:
        notes.append(f"no column {response!r}: the ordinal check is skipped")
    table = sensitivity_table(result, ordinal, cluster)
    ratio = table["cluster_to_design"]
    design = result.design
    text = (f"Cluster-robust standard errors by village (statsmodels) are {ratio.min():.3f} "
            f"to {ratio.max():.3f} times the design-based ones.")
    if design.strata is None and design.fpc is None:
        expected = float(np.sqrt((result.n_obs - 1) / (result.n_obs - len(result.params))))
        text += (f" With villages as the only design feature the two differ only by "
                 f"statsmodels' small-sample factor sqrt((N-1)/(N-K)) = {expected:.4f} (and "
                 "R's use of the previous IRLS iterate's weights).")
    else:
        text += (" The design-based errors also centre village totals within strata and "
                 "apply the finite population correction, which the cluster-robust ones "
                 "ignore.")
    notes.append(text)
    if ordinal is not None:
        slopes = table.drop(index="Intercept", errors="ignore")
        same = np.sign(slopes["coef"]) == np.sign(slopes["coef_ordinal"])
        differ = list(slopes.index[~same])
        text = (f"The ordinal model of the three-level answer gives slopes of the same sign "
                f"as the binary model for {int(same.sum())} of {len(slopes)} terms")
        text += ("." if not differ else
                 "; they differ for " + ", ".join(f"`{d}`" for d in differ) + ".")
        notes.append(text)
    return Sensitivity(table=table, ordinal=ordinal, notes=notes)


def scenario_sentences(table: pd.DataFrame, threshold: float | None = None,
                       level: float = 0.95) -> list[str]:
    """One plain sentence per scenario of :meth:`LogitResult.scenarios` (one group)."""
    rows = table.set_index("scenario")
    observed = rows.loc["observed"]
    sentences = [
        f"Observed recognition: {observed['estimate']:.1%} ({level:.0%} interval "
        f"{observed['ci_low']:.1%} to {observed['ci_high']:.1%})."
    ]
    for name, row in rows.drop(index="observed").iterrows():
        description = SCENARIO_DESCRIPTIONS.get(str(name), str(name))
        sentence = (
            f"{description.capitalize()}: {row['estimate']:.1%} ({row['ci_low']:.1%} to "
            f"{row['ci_high']:.1%}), a change of {row['change'] * 100:+.1f} percentage "
            f"points ({row['change_low'] * 100:+.1f} to {row['change_high'] * 100:+.1f})"
        )
        if threshold is not None:
            if row["ci_low"] >= threshold:
                sentence += f"; the whole interval is at or above the {threshold:.0%} line"
            elif row["ci_high"] < threshold:
                sentence += f"; the whole interval is below the {threshold:.0%} line"
            else:
                sentence += f"; the interval straddles the {threshold:.0%} line"
        sentences.append(sentence + ".")
    return sentences


# --------------------------------------------------------------------------------------
# Synthetic data: does the sample recover the generator's coefficients?
# --------------------------------------------------------------------------------------
TRUTH_KINDS: dict[str, str] = {
    "census": "census coefficients (the model fitted to every household of the county: "
              "what svyglm estimates)",
    "population_averaged": "population-averaged coefficients (village effects integrated "
                           "out)",
    "conditional": "generating coefficients (given the village effect)",
}


def load_truth(data: Mapping[str, str], params_dir: str | None = None) -> dict | None:
    """The generator's ``truth.json`` beside the run's survey file, or None.

    The packaged synthetic county (``packaged:survey.csv``) ships one, and so does every
    county written by :func:`evalkit.synth.county.write_county`. A user's own survey has none.
    """
    import json
    from pathlib import Path

    from evalkit.contract.paths import resolve_data_path

    survey = resolve_data_path(data["survey"], Path(params_dir) if params_dir else Path.cwd())
    candidate = survey.parent / "truth.json"
    if not candidate.is_file():
        return None
    truth = json.loads(candidate.read_text(encoding="utf-8"))
    return truth if "recognition_model" in truth else None


def recovery_table(result: LogitResult, truth: Mapping[str, Any], level: float = 0.95
                   ) -> pd.DataFrame:
    """The fitted coefficients beside the generator's, and whether each interval covers them.

    ``truth`` is a synthetic county's ``truth.json``; its ``recognition_model`` gives three
    sets of true coefficients (:data:`TRUTH_KINDS`). The design-based ``svyglm`` targets the
    census fit (Binder 1983: the finite-population parameter), which differs from the
    generating coefficients by the village effects' attenuation and their realized values.
    """
    model = truth["recognition_model"]
    ci = result.conf_int(level)
    table = pd.DataFrame({"estimate": result.params, "ci_low": ci["ci_low"],
                          "ci_high": ci["ci_high"]})
    for kind in TRUTH_KINDS:
        values = pd.Series(model.get(f"coefficients_{kind}", {}), dtype=float)
        table[kind] = values.reindex(table.index)
        covered = (table["ci_low"] <= table[kind]) & (table[kind] <= table["ci_high"])
        table[f"covered_{kind}"] = covered.astype("boolean").mask(table[kind].isna())
    table.index.name = "term"
    return table


def recovery_sentence(table: pd.DataFrame, level: float = 0.95) -> str:
    """One computed sentence on how many true coefficients the intervals cover."""
    parts = []
    for kind, label in TRUTH_KINDS.items():
        known = table[kind].notna()
        if not known.any():
            continue
        covered = int(table.loc[known, f"covered_{kind}"].astype(bool).sum())
        missed = list(table.index[known & ~table[f"covered_{kind}"].fillna(True).astype(bool)])
        text = f"{covered} of {int(known.sum())} {label}"
        if missed:
            text += " (outside: " + ", ".join(f"`{m}`" for m in missed) + ")"
        parts.append(text)
    if not parts:
        return "The data carry no true coefficients to compare with."
    return (f"The {level:.0%} intervals cover " + "; ".join(parts) + ".")


def ordinal_formula(formula: str, response: str = "recognition") -> str:
    """The binary model's formula with the three-level answer as the response."""
    _, rhs = _split_formula(formula)
    return f"{response} ~ {rhs}"


_batch_logit = batch_logit  # the former private name, for code not yet moved over
