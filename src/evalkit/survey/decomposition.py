"""Nonlinear Oaxaca-Blinder (Fairlie) decomposition of the gap in a 0/1 outcome between two
groups.

How much of the gap between two groups' rates is "explained" by their different covariates,
and how much remains (Fairlie 1999, 2005; Bauer and Sinning 2008)? The assessment asks it of
the recognition rates of poor (group 0) and non-poor (group 1) households, with water access
and medical reimbursement as the factors (:mod:`evalkit.assessment.defaults`); the engine
takes the outcome, the group, the factors and the controls as arguments.

Choices, stated so results can be reproduced elsewhere:

* **Pooled coefficients with a group indicator** (Neumark 1988; Fortin 2008; Jann 2008):
  one survey-weighted logit over both groups, ``logit P(y=1) = a + c g + x' b`` with ``g``
  the group indicator (1 = non-poor). The explained part evaluates both groups at the
  same coefficients *without* the group shift (``g`` set to 0, i.e. at the poor households'
  intercept), so ``c`` belongs to the unexplained part::

      gap         = Ybar_A - Ybar_B                              (A: g = 0, B: g = 1)
      explained   = mean_A F(a + x'b) - mean_B F(a + x'b)        (weighted means)
      unexplained = gap - explained

  Because A's predictions are its own fitted values, ``mean_A F(a + x'b) = Ybar_A`` (score
  equations) and ``unexplained = mean_B F(a + x'b) - Ybar_B``: what non-poor recognition
  would be at the poor households' intercept, minus what it is.
* **Detailed contributions by Yun (2004) weights** instead of Fairlie's sequential
  replacement of matched households (which depends on the order of the variables and on
  a random matching)::

      contribution_k = explained * D_k / D,   D_k = sum_{j in set k} (xbar_Aj - xbar_Bj) b_j,
      D = sum_k D_k

  path independent and adding up to the explained part exactly. When ``D`` is near zero
  (group differences that cancel) the weights are unstable and the contributions are
  reported as NaN with a note.
* **Intervals**: with ``method="linearization"`` every row gets the linearized t interval;
  with ``method="bootstrap"`` (default) the rates, gap, explained and unexplained parts
  keep the linearized interval (smooth functions of totals and coefficients) and only the
  detailed contributions (ratios ``D_k / D``) get bootstrap percentiles; the table's
  ``interval`` column names the one each row reports. The two methods:

  - ``bootstrap``: the Rao-Wu rescaling bootstrap (Rao and Wu 1988; Rao, Wu and Yue 1992;
    R's ``as.svrepdesign(type = "subbootstrap")``): in each stratum ``n_h - 1`` PSUs are
    drawn with replacement and weights multiplied by ``1 - l_h + l_h n_h/(n_h - 1) r_hi``
    with ``r_hi`` the times PSU i was drawn and ``l_h = sqrt(1 - f_h)`` (``f_h`` the
    first-stage sampling fraction, 0 without fpc; each PSU's ``pi_i`` under ``pps``). Every
    replicate refits the pooled model (Newton, vectorized over replicates). Intervals are
    the bootstrap percentiles and ``se`` is the replicates' interquartile range / 1.349, not
    their standard deviation: the detailed contributions are ratios ``D_k / D`` whose
    replicate distribution has a few wild values whenever ``D`` comes near zero in a
    replicate, which inflate a standard deviation but not quantiles. Strata with one PSU do
    not vary; later-stage fpc terms are not reproduced (as in R's replicate designs).
  - ``linearization``: the components are a smooth function ``phi(T, b)`` of weighted
    totals ``T = sum_i w_i t_i`` (group sizes, outcome, prediction and covariate totals
    per group) and the pooled coefficients. Influence values
    ``z_i = dphi/dT . w_i t_i + (dphi/db + dphi/dT dT/db)' h_i``, with ``h_i`` the
    coefficients' influence values of :func:`evalkit.survey.svyglm.logit`, go through
    :meth:`SurveyDesign.variance_of_totals` (Binder 1983). Derivatives of ``phi`` are taken
    by complex-step differentiation (exact to rounding, Squire and Trapp 1998).

  Linearization gives Wald intervals ``estimate +/- t se`` with the design degrees of
  freedom; when the Yun weights are unstable (``D`` small against its standard error) the
  linearized errors of the detailed contributions are optimistic, and the bootstrap
  percentiles are the safer reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
from scipy import special

from evalkit.contract.errors import EvalkitError, NotEstimableError
from evalkit.survey.estimate import t_quantile

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign

__all__ = ["Decomposition", "controls_from_formula", "fairlie", "rao_wu_weights"]

# Below this |D| / max_k |D_k| the Yun weights are treated as undefined.
_CANCELLATION = 1e-8
# Replicates are processed in chunks so memory stays near this many doubles.
_CHUNK_CELLS = 20_000_000
# Interquartile range of the standard normal distribution.
_IQR_TO_SD = 1.3489795003921634


def controls_from_formula(formula: str, group: str,
                          factors: Mapping[str, Sequence[str]]) -> list[str]:
    """The formula's other data variables (not the group, not a factor), in formula order.

    So the decomposition controls for what a regression model controls for. Interactions
    are not carried over: the pooled model has one coefficient per variable.

    Examples
    --------
    >>> controls_from_formula("recognizes ~ nonpoor * water_at_door + dibao + log_income",
    ...                       group="nonpoor", factors={"water": ["water_at_door"]})
    ['dibao', 'log_income']
    """
    from formulaic import Formula

    from evalkit.contract.formula import parse_formula

    rhs = parse_formula(formula, role="decomposition").rhs
    excluded = {group, *(v for columns in factors.values() for v in columns)}
    wanted = Formula(rhs).required_variables
    ordered: list[str] = []
    for term in Formula(rhs):  # terms of one formula
        for factor in term.factors:
            for name in sorted(str(v) for v in wanted if str(v) in str(factor)):
                if name not in excluded and name not in ordered:
                    ordered.append(name)
    return ordered


def rao_wu_weights(design: SurveyDesign, replicates: int, seed: int) -> np.ndarray:
    """Rao-Wu rescaling bootstrap replicate weights, ``(n_rows, replicates)``.

    See the module docstring. Rows outside the design's domain get weight 0 in every
    replicate. Randomness comes only from ``numpy.random.default_rng(seed)``.

    Examples
    --------
    Two strata of three villages of equal weight: each replicate resamples n_h - 1 = 2
    villages per stratum with replacement and rescales by n_h / (n_h - 1), so here every
    replicate's stratum total stays 30 (Rao and Wu 1988; Rao, Wu and Yue 1992).

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"stratum": [1, 1, 1, 2, 2, 2], "village": [1, 2, 3, 4, 5, 6],
    ...                      "weight": 10.0})
    >>> design = SurveyDesign(data, psu="village", strata="stratum", weights="weight")
    >>> replicates = rao_wu_weights(design, replicates=3, seed=1)
    >>> replicates.shape, replicates[:3].sum(axis=0).tolist()
    ((6, 3), [30.0, 30.0, 30.0])
    """
    if replicates < 2:
        raise EvalkitError(f"bootstrap: replicates={replicates}; expected at least 2")
    multipliers = _rao_wu_multipliers(design, replicates, np.random.default_rng(seed))
    return design.weight_values[:, None] * multipliers[:, design.psu_codes].T


def _rao_wu_multipliers(design: SurveyDesign, replicates: int,
                        rng: np.random.Generator) -> np.ndarray:
    """Weight multipliers per replicate and first-stage PSU, ``(replicates, n_psu)``."""
    psu_stratum = design.psu_strata
    n_psu = psu_stratum.size
    n_h = design.stratum_psu_counts.astype(np.int64)
    m_h = np.maximum(n_h - 1, 0)
    # PSUs listed stratum by stratum, so a draw is an offset plus a position.
    order = np.argsort(psu_stratum, kind="stable")
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    slot_stratum = np.repeat(np.arange(n_h.size), m_h)
    u = rng.random((replicates, slot_stratum.size))
    position = np.minimum((u * n_h[slot_stratum]).astype(np.int64), n_h[slot_stratum] - 1)
    drawn = order[start[slot_stratum] + position]  # (B, slots)
    flat = (np.arange(replicates)[:, None] * n_psu + drawn).ravel()
    counts = np.bincount(flat, minlength=replicates * n_psu).reshape(replicates, n_psu)
    # Each PSU's own finite population correction: the stratum's, or 1 - pi_i under PPS.
    fpc = design.psu_fpc_factor
    n_psu_h, m_psu_h = n_h[psu_stratum], m_h[psu_stratum]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam_psu = np.sqrt(np.where(n_psu_h > 1, m_psu_h * fpc / np.maximum(n_psu_h - 1, 1),
                                   0.0))
        scale = np.where(m_h > 0, n_h / np.maximum(m_h, 1), 0.0)
    return 1.0 - lam_psu + lam_psu * scale[psu_stratum] * counts


@dataclass
class Decomposition:
    """Result of :func:`fairlie`: the table, the pooled model and the bootstrap draws.

    Examples
    --------
    Its pooled logit, one coefficient per variable:

    >>> from evalkit.contract.data import load_survey
    >>> from evalkit.contract.paths import resolve_data_path
    >>> from evalkit.survey.design import SurveyDesign
    >>> survey = load_survey(resolve_data_path("packaged:survey.csv", "."))
    >>> result = fairlie(SurveyDesign(survey, psu="village", weights="weight"),
    ...                  outcome="recognizes", group="nonpoor",
    ...                  factors={"water": ["water_at_door"]}, controls=("dibao",),
    ...                  method="linearization")
    >>> result.coefficients.index.tolist()
    ['Intercept', 'nonpoor', 'water_at_door', 'dibao']

    The example of :meth:`explanations` continues from this one.
    """

    table: pd.DataFrame
    coefficients: pd.Series
    yun_weights: pd.Series
    method: str
    level: float
    df: int
    formula: str
    replicates: np.ndarray | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    failed_replicates: int = 0  # bootstrap replicates whose model could not be fitted

    def explanations(self) -> list[str]:
        """What a referee needs to read the table, computed from it: the method's name
        (Yun's weights, not Fairlie's sequential replacement), why a weight lies above 1
        or below 0, which interval each row reports and whether the explained part is
        distinguishable from zero, and how many replicates lie beyond each percentile
        shown (Efron and Tibshirani 1993, sec. 19.3: about 1,000 for 95% percentiles).

        >>> result.explanations()[0][:40]
        'Method: a nonlinear Oaxaca-Blinder decom'
        """
        out = [
            "Method: a nonlinear Oaxaca-Blinder decomposition with pooled coefficients "
            "(Fairlie's 2005 aggregate split); the detailed split between factors uses Yun's "
            "(2004) weights D_k / D, not Fairlie's sequential replacement of matched "
            "households, so it does not depend on the order of the variables."]
        weights = self.yun_weights.dropna()
        above, below = weights[weights > 1], weights[weights < 0]
        if len(above) or len(below):
            text = ("The weights add up to 1 and are shares of the explained part, not of "
                    "the gap, so they are not bounded by 0 and 1:")
            if len(above):
                text += (" " + ", ".join(f"{k} ({v:.2f})" for k, v in above.items())
                         + " alone would explain more than the whole explained part, because "
                         "other factors push the other way;")
            if len(below):
                text += (" " + ", ".join(f"{k} ({v:.2f})" for k, v in below.items())
                         + " works against the gap: in those covariates the group with the "
                         "lower recognition is the better placed, which offsets part of the "
                         "rest.")
            out.append(text.rstrip(";") + ("" if text.endswith(".") else "."))
        rows = self.table.set_index("component")
        if "explained" in rows.index:
            row = rows.loc["explained"]
            low, high = float(row["ci_low"]), float(row["ci_high"])
            where = ("distinguishable from zero" if low > 0 or high < 0
                     else "not distinguishable from zero")
            out.append(
                f"Intervals: the rates, the gap and the explained and unexplained parts are "
                f"smooth functions of weighted totals and the pooled coefficients, so they get "
                f"the linearized (design-based) {self.level:.0%} t interval with "
                f"{self.df} degrees of freedom; the explained part, {row['estimate']:+.4f} "
                f"({low:+.4f} to {high:+.4f}), is {where}."
                + (" The detailed contributions are ratios whose replicate distribution is "
                   "heavy-tailed, so they get the bootstrap percentiles."
                   if self.method == "bootstrap" else ""))
        if self.method == "bootstrap" and self.replicates is not None:
            used = int(self.replicates.shape[0])
            tail = used * (1 - self.level) / 2
            text = (f"{used} bootstrap replicates: each {self.level:.0%} percentile bound "
                    f"has about {tail:.0f} replicates beyond it")
            out.append(text + (": too few for a stable bound; at least 1,000 are advised."
                               if used < 1000 else "."))
        return out


def _phi(totals: np.ndarray, slopes: np.ndarray, n_vars: int, sets: list[np.ndarray]
         ) -> np.ndarray:
    """Components from totals and decomposition-variable slopes (complex-safe).

    ``totals`` (..., 6 + 2m): W_A, W_B, Y_A, Y_B, P_A, P_B, X_A (m), X_B (m).
    Returns (..., 5 + K): rate_A, rate_B, gap, contribution per set (K), explained,
    unexplained.
    """
    W_A, W_B, Y_A, Y_B, P_A, P_B = (totals[..., j] for j in range(6))
    xbar_a = totals[..., 6:6 + n_vars] / W_A[..., None]
    xbar_b = totals[..., 6 + n_vars:6 + 2 * n_vars] / W_B[..., None]
    rate_a, rate_b = Y_A / W_A, Y_B / W_B
    gap = rate_a - rate_b
    explained = P_A / W_A - P_B / W_B
    delta = (xbar_a - xbar_b) * slopes
    d_total = delta.sum(axis=-1)
    parts = [explained * delta[..., idx].sum(axis=-1) / d_total for idx in sets]
    return np.stack([rate_a, rate_b, gap, *parts, explained, gap - explained], axis=-1)


def _row_totals(g: np.ndarray, y: np.ndarray, p: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Per-row contributions ``t_i`` to the totals of :func:`_phi` (unweighted)."""
    a = 1.0 - g
    return np.column_stack([a, g, a * y, g * y, a * p, g * p, a[:, None] * V, g[:, None] * V])


def fairlie(design: SurveyDesign, outcome: str, group: str,
            factors: Mapping[str, Sequence[str]],
            controls: Sequence[str] = (),
            method: Literal["bootstrap", "linearization"] = "bootstrap",
            replicates: int = 1000, seed: int = 0, level: float = 0.95,
            rate_labels: Sequence[str] | None = None) -> Decomposition:
    """Decompose the gap in the 0/1 ``outcome`` between ``group == 0`` and ``group == 1``.

    ``factors`` maps a name to the columns whose group differences it stands for;
    ``controls`` are the other covariates, reported together as ``other``. See the module
    docstring for the estimator, the Yun weights and both interval methods.

    The table has one row per component: the two groups' rates (``rate_labels``, default
    ``rate_<group>_0`` and ``rate_<group>_1``), ``gap`` (group 0 minus group 1), one row per
    factor, ``other``, ``explained`` and ``unexplained``, with ``estimate, se, ci_low,
    ci_high`` and ``share_of_gap``.

    Examples
    --------
    The packaged synthetic county: how much of the gap in recognition between non-poor and
    poor households do water at the door and the reimbursement gap account for?

    >>> from evalkit.contract.data import load_survey
    >>> from evalkit.contract.paths import resolve_data_path
    >>> from evalkit.survey.design import SurveyDesign
    >>> survey = load_survey(resolve_data_path("packaged:survey.csv", "."))
    >>> design = SurveyDesign(survey, psu="village", weights="weight")
    >>> result = fairlie(design, outcome="recognizes", group="nonpoor",
    ...                  factors={"water": ["water_at_door"],
    ...                           "reimbursement": ["reimbursement_gap"]},
    ...                  controls=("dibao", "log_income"), method="linearization",
    ...                  rate_labels=("rate_poor", "rate_nonpoor"))
    >>> result.method, result.df
    ('linearization', 28)
    >>> result.table[["component", "estimate"]].round(3)
           component  estimate
    0      rate_poor     0.977
    1   rate_nonpoor     0.936
    2            gap     0.041
    3          water     0.029
    4  reimbursement     0.005
    5          other    -0.010
    6      explained     0.024
    7    unexplained     0.017
    """
    from evalkit.survey.glm import batch_logit
    from evalkit.survey.svyglm import logit

    factors = dict(factors)
    labels = ([f"rate_{group}_0", f"rate_{group}_1"] if rate_labels is None
              else list(rate_labels))
    if len(labels) != 2:
        raise EvalkitError(f"fairlie: rate_labels={labels!r}; expected two labels")
    controls = list(controls)
    if method not in ("bootstrap", "linearization"):
        raise EvalkitError(
            f"fairlie: method {method!r}; expected 'bootstrap' or 'linearization'"
        )
    variables = [v for columns in factors.values() for v in columns] + controls
    if len(set(variables)) != len(variables) or group in variables:
        raise EvalkitError(
            "fairlie: each covariate must appear once, in one factor set or the controls, "
            "and not be the group variable"
        )
    data = design.data
    for column in [outcome, group, *variables]:
        if column not in data.columns:
            raise EvalkitError(
                f"fairlie: column {column!r} is not in the data; expected survey columns"
            )
    g_values = pd.to_numeric(data[group], errors="coerce")
    in_domain = design.domain & g_values.notna().to_numpy()
    if not np.isin(g_values[in_domain], [0, 1]).all():
        raise EvalkitError(f"fairlie: group column {group!r} must be 0 or 1")
    g_present = np.unique(g_values[in_domain])
    if g_present.size < 2:
        raise NotEstimableError(
            f"fairlie: the sampled households do not include both values of {group!r}: "
            "there is no gap between two groups to decompose",
            "one_group", group=group)
    formula = f"{outcome} ~ {' + '.join([group, *variables])}"
    pooled = logit(design, formula)
    notes: list[str] = []
    if pooled.aliased:
        # A control constant or collinear in this sample carries no group difference:
        # it is left out (and said so); a constant factor or group makes the split
        # not estimable.
        essential = [name for name in pooled.aliased if name not in controls]
        if essential:
            raise NotEstimableError(
                f"fairlie: {', '.join(essential)} is constant or collinear in this sample, "
                "so its part of the gap is not estimable",
                "terms_dropped", terms=", ".join(essential))
        controls = [c for c in controls if c not in pooled.aliased]
        variables = [v for columns in factors.values() for v in columns] + controls
        notes.append(f"left out of the pooled model, constant or collinear in this sample: "
                     f"{', '.join(pooled.aliased)}")
        formula = f"{outcome} ~ {' + '.join([group, *variables])}"
        pooled = logit(design, formula)
    names = list(pooled.params.index)
    if names != ["Intercept", group, *variables]:
        raise EvalkitError(
            f"fairlie: covariates must be numeric columns; the pooled model has terms {names}"
        )
    rows = pooled.analysis_rows
    X = pooled.model_matrix
    y = pooled.response[rows]
    g = X[:, 1]
    V = X[:, 2:]
    n_vars = len(variables)
    sets: list[np.ndarray] = []
    set_names: list[str] = []
    position = 0
    for name, columns in factors.items():
        sets.append(np.arange(position, position + len(columns)))
        set_names.append(name)
        position += len(columns)
    if controls:
        sets.append(np.arange(position, n_vars))
        set_names.append("other")
    if not (np.any(g == 0) and np.any(g == 1)):
        raise EvalkitError(f"fairlie: both values of {group!r} must occur in the sample")
    beta = pooled.params.to_numpy()
    X_no_group = X.copy()
    X_no_group[:, 1] = 0.0

    def components(weights: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """Components for weight columns (n, B) and coefficients (B, p)."""
        p = special.expit(X_no_group @ betas.T)  # (n, B)
        totals = np.stack([
            weights.T @ (1 - g), weights.T @ g, weights.T @ ((1 - g) * y),
            weights.T @ (g * y), np.sum(weights * p * (1 - g)[:, None], axis=0),
            np.sum(weights * p * g[:, None], axis=0),
        ], axis=-1)
        x_a = weights.T @ ((1 - g)[:, None] * V)
        x_b = weights.T @ (g[:, None] * V)
        return _phi(np.concatenate([totals, x_a, x_b], axis=1), betas[:, 2:], n_vars, sets)

    w = design.weight_values[rows]
    estimate = components(w[:, None], beta[None, :])[0]
    delta_shares = _yun_weights(w, g, V, beta[2:], sets)
    if not np.all(np.isfinite(delta_shares)):
        notes.append("group differences in the covariates cancel out (D near 0): Yun weights "
                     "and the detailed contributions are undefined")
    draws: np.ndarray | None = None
    failed_replicates = 0
    # The linearized SE is cheap (one variance_of_totals call) and is reported beside the
    # bootstrap one as a check, so it is computed whatever the method.
    se_linearized = _linearized_se(design, pooled, w, g, y, V, X_no_group, beta, n_vars,
                                   sets)
    df = design.df
    if method == "bootstrap":
        rng = np.random.default_rng(seed)
        multipliers = _rao_wu_multipliers(design, replicates, rng)
        unit = design.psu_codes[rows]
        chunk = max(1, _CHUNK_CELLS // max(rows.size, 1))
        pieces = []
        for first in range(0, replicates, chunk):  # chunks of replicates, for memory
            block = w[:, None] * multipliers[first:first + chunk][:, unit].T
            betas = batch_logit(X, y, block, beta)
            pieces.append(components(block, betas))
        draws = np.concatenate(pieces, axis=0)
        # A replicate whose pooled model cannot be fitted (singular or separated: see
        # models.batch_logit) is dropped and counted, never fatal.
        fitted = np.isfinite(draws[:, -2])  # the explained part needs the coefficients
        failed_replicates = int(replicates - fitted.sum())
        draws = draws[fitted]
        if failed_replicates:
            notes.append(
                f"{failed_replicates} of {replicates} bootstrap replicates could not refit the "
                "pooled model (the drawn villages left a covariate without variation or "
                "separated the answers) and were dropped; the intervals rest on the other "
                f"{replicates - failed_replicates}"
            )
        if draws.shape[0] < max(20, replicates // 2):
            notes.append(
                f"only {draws.shape[0]} of {replicates} bootstrap replicates could be fitted: "
                "the bootstrap intervals are not estimable; linearized intervals are shown"
            )
            method = "linearization"
    t = t_quantile(level, df)
    se = se_linearized.copy()
    low, high = estimate - t * se, estimate + t * se
    component_names = [*labels, "gap", *set_names, "explained", "unexplained"]
    interval = np.array(["linearized"] * len(component_names), dtype=object)
    if method == "bootstrap":
        assert draws is not None
        # One interval per row. The rates, the gap and the explained and unexplained parts
        # are smooth functions of weighted totals and the coefficients: their linearized
        # (Binder 1983) t intervals are the design-based standard and need no tail
        # replicates. The detailed contributions are ratios D_k / D whose replicate
        # distribution is heavy-tailed: bootstrap percentiles, with an IQR-based se.
        detailed = np.arange(3, 3 + len(set_names))
        quartiles = np.nanpercentile(draws[:, detailed], [25, 75], axis=0)
        se[detailed] = (quartiles[1] - quartiles[0]) / _IQR_TO_SD
        bounds = np.nanpercentile(draws[:, detailed], [50 * (1 - level), 50 * (1 + level)],
                                  axis=0)
        low[detailed], high[detailed] = bounds[0], bounds[1]
        interval[detailed] = "bootstrap percentile"
    table = pd.DataFrame({
        "component": component_names,
        "estimate": estimate,
        "se": se,
        "ci_low": low,
        "ci_high": high,
        "interval": interval,
        "se_linearized": se_linearized,
    })
    gap = estimate[2]
    table["share_of_gap"] = np.where(np.arange(len(table)) >= 3, estimate / gap, np.nan)
    return Decomposition(
        table=table,
        coefficients=pooled.params,
        yun_weights=pd.Series(delta_shares, index=set_names, name="weight"),
        method=method,
        level=level,
        df=df,
        formula=formula,
        replicates=draws,
        notes=notes,
        failed_replicates=failed_replicates,
    )


def _yun_weights(w: np.ndarray, g: np.ndarray, V: np.ndarray, slopes: np.ndarray,
                 sets: list[np.ndarray]) -> np.ndarray:
    xbar_a = (w * (1 - g)) @ V / np.sum(w * (1 - g))
    xbar_b = (w * g) @ V / np.sum(w * g)
    delta = (xbar_a - xbar_b) * slopes
    total = delta.sum()
    if abs(total) <= _CANCELLATION * max(np.abs(delta).max(), 1e-300):
        return np.full(len(sets), np.nan)
    return np.array([delta[idx].sum() / total for idx in sets])


def _linearized_se(design: SurveyDesign, pooled, w: np.ndarray, g: np.ndarray,
                   y: np.ndarray, V: np.ndarray, X_no_group: np.ndarray, beta: np.ndarray,
                   n_vars: int, sets: list[np.ndarray]) -> np.ndarray:
    """Standard errors of the components by linearization (module docstring)."""
    p = special.expit(X_no_group @ beta)
    t_rows = _row_totals(g, y, p, V)  # (m, t)
    totals = w @ t_rows
    slopes = beta[2:]
    n_totals = totals.size
    n_slopes = slopes.size
    h = 1e-30
    point = np.concatenate([totals, slopes]).astype(complex)
    k = _phi(totals, slopes, n_vars, sets).size
    jac = np.empty((k, n_totals + n_slopes))
    for j in range(n_totals + n_slopes):  # complex step per argument (a few dozen)
        shifted = point.copy()
        shifted[j] += 1j * h * max(abs(point[j].real), 1.0)
        value = _phi(shifted[:n_totals], shifted[n_totals:], n_vars, sets)
        jac[:, j] = value.imag / (h * max(abs(point[j].real), 1.0))
    d_totals = jac[:, :n_totals]  # (k, t)
    d_slopes = np.zeros((k, beta.size))
    d_slopes[:, 2:] = jac[:, n_totals:]
    # Totals that depend on the coefficients: the prediction totals P_A and P_B.
    density = p * (1 - p)
    d_p_total = np.zeros((n_totals, beta.size))
    d_p_total[4] = (w * (1 - g) * density) @ X_no_group
    d_p_total[5] = (w * g * density) @ X_no_group
    d_beta = d_slopes + d_totals @ d_p_total  # (k, p)
    influence_rows = (w[:, None] * t_rows) @ d_totals.T  # (m, k)
    influence = np.zeros((len(design.data), k))
    influence[pooled.analysis_rows] = influence_rows
    influence += pooled.influence @ d_beta.T
    variance = np.diag(design.variance_of_totals(influence))
    return np.sqrt(np.maximum(variance, 0.0))
