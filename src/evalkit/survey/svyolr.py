"""Proportional-odds regression with design-based standard errors, as R's svyolr
(Lumley 2010, sec. 6.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from evalkit.contract.errors import EvalkitError
from evalkit.survey.estimate import t_quantile

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign
from evalkit.survey.glm import glm_fit_logit
from evalkit.survey.svyglm import split_formula

# Largest change of any ordinal-model parameter in one Newton step.
_MAX_NEWTON_STEP = 5.0


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

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> rng = np.random.default_rng(3)
    >>> data = pd.DataFrame({"village": np.repeat(np.arange(10), 30), "x": rng.normal(size=300)})
    >>> latent = data["x"] + rng.logistic(size=300)
    >>> data["answer"] = np.where(latent > 1, "high", np.where(latent > -1, "mid", "low"))
    >>> design = SurveyDesign(data, psu="village")
    >>> fit = ordinal_logit(design, "answer ~ x", levels=["low", "mid", "high"])
    >>> fit.summary_frame()[["coef", "se"]].round(3)
               coef     se
    term
    x         1.155  0.095
    low|mid  -0.790  0.124
    mid|high  0.999  0.136

    The examples of the properties and methods below continue from this fit.
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
        """Wald intervals with t quantiles on ``df``.

        Examples
        --------
        >>> fit.conf_int().round(3)
                  ci_low  ci_high
        x          0.936    1.375
        low|mid   -1.075   -0.505
        mid|high   0.684    1.313
        """
        t = t_quantile(level, self.df)
        return pd.DataFrame({"ci_low": self.params - t * self.bse,
                             "ci_high": self.params + t * self.bse})

    def odds_ratios(self, level: float = 0.95) -> pd.DataFrame:
        """Cumulative odds ratios ``exp(beta)`` of the slopes, with intervals.

        Examples
        --------
        >>> fit.odds_ratios().round(3).loc["x"].tolist()
        [3.174, 2.549, 3.954]
        """
        ci = self.conf_int(level).iloc[: self.n_slopes]
        return pd.DataFrame({"odds_ratio": np.exp(self.params.iloc[: self.n_slopes]),
                             "ci_low": np.exp(ci["ci_low"]),
                             "ci_high": np.exp(ci["ci_high"])})

    def summary_frame(self, level: float = 0.95) -> pd.DataFrame:
        """Coefficient table: coef, se, t and the Wald interval at ``level`` (``conf_int``),
        one row per term (slopes, then the cut points), as R's ``summary(svyolr)``.

        Examples
        --------
        >>> fit.summary_frame().round(3).loc["x"].tolist()
        [1.155, 0.095, 12.136, 0.936, 1.375]
        """
        ci = self.conf_int(level)
        table = pd.DataFrame({"coef": self.params, "se": self.bse,
                              "t": self.params / self.bse,
                              "ci_low": ci["ci_low"], "ci_high": ci["ci_high"]})
        table = table.rename_axis("term")
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

    ``formula`` is ``"response ~ terms"`` with the response a column of ordered
    categories; ``levels`` lists them from lowest to highest (default: the categories of
    an ordered categorical column). The intercept is absorbed by the thresholds.

    Examples
    --------
    R: ``svyolr(answer ~ x, svydesign(id = ~village, data = data))`` with ``answer`` an
    ordered factor low < mid < high:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> rng = np.random.default_rng(3)
    >>> data = pd.DataFrame({"village": np.repeat(np.arange(10), 30), "x": rng.normal(size=300)})
    >>> latent = data["x"] + rng.logistic(size=300)
    >>> data["answer"] = np.where(latent > 1, "high", np.where(latent > -1, "mid", "low"))
    >>> fit = ordinal_logit(SurveyDesign(data, psu="village"), "answer ~ x",
    ...                     levels=["low", "mid", "high"])
    >>> fit.params.round(3).to_dict()
    {'x': 1.155, 'low|mid': -0.79, 'mid|high': 0.999}
    """
    data = design.data.reset_index(drop=True)
    lhs, rhs = split_formula(formula, data.columns, "ordinal_logit")
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
        if isinstance(response.dtype, pd.CategoricalDtype) and response.cat.ordered:
            levels = tuple(str(c) for c in response.cat.categories)
        else:
            present = set(response.dropna().astype(str))
            raise EvalkitError(
                f"ordinal_logit: response {lhs!r} has values {sorted(present)[:5]}; pass "
                "levels=[lowest, ..., highest] to order them (or make it an ordered "
                "categorical)"
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
    start_fit = glm_fit_logit(np.column_stack([np.ones(rows.size), X]),
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
