"""Fragile samples: every analysis gives an explained result, and its caveats reach the report.

A new county's sample can defeat an analysis: every household gives the same answer, a
covariate does not vary (every household on dibao), a bootstrap draw of villages separates
the answers, a rate has no event at all, or a domain has too few villages for an interval.
The rule (issue 10, DESIGN.md "Fragility"):

* the estimate where it is estimable, "not estimable" with the reason where it is not, never
  a crash and never a zero-width interval presented as certain;
* a plain-language caution for each such case, in English or Chinese
  (``caution.<key>`` in ``evalkit/locale``), shown in the technical notebook 03 and carried
  into the policy report (notebook 04).

:func:`satisfaction_analysis` runs notebook 03's analyses step by step: the model, its
marginal effects, the scenarios, the Fairlie decomposition and the sensitivity checks; a
step the sample cannot support (:class:`evalkit.contract.errors.NotEstimableError`, or another
one-line
:class:`evalkit.contract.errors.EvalkitError`, or a singular matrix) is recorded with its reason and
the other steps go on. :func:`indicator_cautions` reads the indicator table of notebook 02.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evalkit.assessment.defaults import (
    DECOMPOSITION_FACTORS,
    DECOMPOSITION_GROUP,
    DECOMPOSITION_OUTCOME,
    DECOMPOSITION_RATE_LABELS,
    LOW_RESPONSE_RATE,
)
from evalkit.assessment.satisfaction import (
    scenario_table,
    sensitivity,
    sign_conflicts,
    with_caveats,
)
from evalkit.contract.errors import EvalkitError, NotEstimableError

if TYPE_CHECKING:
    from evalkit.assessment.satisfaction import Sensitivity
    from evalkit.survey.decomposition import Decomposition
    from evalkit.survey.design import SurveyDesign
    from evalkit.survey.svyglm import LogitResult

#: Steps of the satisfaction analysis, in the order notebook 03 shows them.
STEPS: tuple[str, ...] = ("model", "effects", "scenarios", "decomposition", "sensitivity")


@dataclass(frozen=True)
class Caution:
    """One plain-language caveat: a locale key (``caution.<key>``) and its values.

    The words are the report's (:func:`evalkit.report.cautions.caution_text`); values that
    are indicator keys (``indicator``) or analysis steps (``analysis``) are translated then.
    """

    key: str
    values: tuple[tuple[str, Any], ...] = ()


def _percent(value: float) -> str:
    """``0.0095 -> "0.9%"``: a rate as the cautions quote it (one decimal; the report's words
    are put around it later, in :mod:`evalkit.report.cautions`)."""
    return f"{value * 100:.1f}%"


def caution(key: str, **values: Any) -> Caution:
    """A :class:`Caution` from keyword values."""
    return Caution(key, tuple(sorted(values.items())))


# --------------------------------------------------------------------------------------
# indicators (notebook 02)
# --------------------------------------------------------------------------------------
def indicator_cautions(table: pd.DataFrame) -> list[Caution]:
    """Cautions for the indicator table of :func:`evalkit.assessment.indicators.indicator_table`.

    * a rate with no event (or only events) among its sampled households: the interval is
      the zero-event rule's, whose far end is what the sample cannot rule out;
    * incidence built on such a rate;
    * an indicator without an interval (the design has no degrees of freedom in its
      domain): no verdict.
    """
    cautions: list[Caution] = []
    for rec in table.to_dict("records"):
        key = str(rec["indicator"])
        note = str(rec.get("note") or "")
        low, high = rec.get("ci_low"), rec.get("ci_high")
        households = int(rec["n_households"])
        if not (np.isfinite(float(low)) and np.isfinite(float(high))):
            cautions.append(caution("no_interval", indicator=key))
        elif note.startswith("no events"):
            cautions.append(caution("zero_events", indicator=key, households=households,
                                    high=_percent(float(high))))
        elif note.startswith("all events"):
            cautions.append(caution("all_events", indicator=key, households=households,
                                    low=_percent(float(low))))
        elif key == "incidence" and "zero-event rule" in note:
            cautions.append(caution("incidence_zero_events", indicator=key,
                                    high=_percent(float(high))))
    return cautions


# --------------------------------------------------------------------------------------
# satisfaction model (notebook 03)
# --------------------------------------------------------------------------------------
@dataclass
class SatisfactionAnalysis:
    """Notebook 03's results; a step that is not estimable is None with its reason."""

    formula: str
    fit: LogitResult | None = None
    coefficients: pd.DataFrame | None = None
    effects: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    decomposition: Decomposition | None = None
    sensitivity: Sensitivity | None = None
    flags: list[str] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    cautions: list[Caution] = field(default_factory=list)

    def not_estimable(self, step: str) -> str:
        """One line for a step that is not estimable (markdown)."""
        return f"**Not estimable** for this sample: {self.reasons.get(step, 'not computed')}."



def _attempt(analysis: SatisfactionAnalysis, step: str, compute: Any) -> Any:
    """Run one step; on a sample that cannot support it record why and return None."""
    try:
        return compute()
    except NotEstimableError as error:
        analysis.reasons[step] = _reason(error)
        analysis.cautions.append(caution(error.key, analysis=step, **error.values))
    except (EvalkitError, np.linalg.LinAlgError) as error:
        analysis.reasons[step] = _reason(error)
        analysis.cautions.append(caution("not_estimable", analysis=step))
    return None


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text.split(": ", 1)[1] if text.startswith(("logit: ", "fairlie: ")) else text


def satisfaction_analysis(design: SurveyDesign, formula: str,
                          scenarios: Sequence[str] = ("pipe_water", "raise_reimbursement",
                                                      "both"),
                          *, replicates: int = 1000, seed: int = 0, level: float = 0.95,
                          steps: Sequence[str] = STEPS) -> SatisfactionAnalysis:
    """Fit the satisfaction model and run ``steps`` of notebook 03, each one guarded.

    Steps after ``model`` need the fit and are marked not estimable without it, except the
    decomposition, which fits its own pooled model. Cautions: every not-estimable step,
    terms left out of the model, the fragility flags of
    :meth:`evalkit.survey.svyglm.LogitResult.fragility` (their number), and bootstrap replicates
    that could not be refitted.
    """
    from evalkit.survey import decomposition as decomposition_module

    analysis = SatisfactionAnalysis(formula=formula)
    fit = _attempt(analysis, "model", lambda: design.logit(formula))
    analysis.fit = fit
    if fit is not None:
        analysis.coefficients = fit.summary_frame(level)
        if fit.aliased:
            analysis.cautions.append(caution("terms_dropped", analysis="model",
                                             terms=", ".join(fit.aliased)))
        analysis.flags = model_notes(fit)
        if analysis.flags:
            analysis.cautions.append(caution("model_fragile", count=len(analysis.flags)))
        if "effects" in steps:
            analysis.effects = _attempt(analysis, "effects", lambda: fit.marginal_effects(
                by="nonpoor", level=level, per={"reimbursement_gap": 0.1}))
        if "scenarios" in steps and scenarios:
            analysis.scenarios = _attempt(analysis, "scenarios", lambda: scenario_table(
                fit, list(scenarios), level=level))
        if "sensitivity" in steps:
            analysis.sensitivity = _attempt(analysis, "sensitivity", lambda: sensitivity(fit))
        if analysis.scenarios is not None:
            # Every scenario sentence, here and on the policy page, carries the fragility
            # of the terms it changes: its table says which they are.
            conflicts = (sign_conflicts(analysis.sensitivity.table)
                         if analysis.sensitivity is not None else ())
            analysis.scenarios = with_caveats(analysis.scenarios, fit,
                                              fragile_terms(fit), conflicts)
    else:
        for step in ("effects", "scenarios", "sensitivity"):
            if step in steps:
                analysis.reasons[step] = "the satisfaction model is not estimable"
    if "decomposition" in steps:
        def decompose() -> Decomposition:
            controls = decomposition_module.controls_from_formula(
                formula, group=DECOMPOSITION_GROUP, factors=DECOMPOSITION_FACTORS)
            return decomposition_module.fairlie(
                design, outcome=DECOMPOSITION_OUTCOME, group=DECOMPOSITION_GROUP,
                factors=DECOMPOSITION_FACTORS, controls=controls, replicates=replicates,
                seed=seed, level=level, rate_labels=DECOMPOSITION_RATE_LABELS)

        result = _attempt(analysis, "decomposition", decompose)
        analysis.decomposition = result
        if result is not None and result.failed_replicates:
            analysis.cautions.append(caution("bootstrap_dropped",
                                             failed=result.failed_replicates,
                                             total=replicates))
    return analysis


# --------------------------------------------------------------------------------------
# the satisfaction model's own fragility
# --------------------------------------------------------------------------------------
def model_notes(result: LogitResult, min_events: int = 10) -> list[str]:
    """Plain-language notes when the fit is fragile; an empty list when it is not
    (the notes of :func:`model_fragility`)."""
    return [note for note, _ in model_fragility(result, min_events)]


def fragile_terms(result: LogitResult, min_events: int = 10) -> tuple[str, ...]:
    """The model terms whose coefficients rest on few events (or none), in the model's
    order: the terms named by :func:`model_fragility`."""
    named = {term for _, terms in model_fragility(result, min_events) for term in terms}
    return tuple(name for name in result.params.index if name in named)


def model_fragility(result: LogitResult, min_events: int = 10
                    ) -> list[tuple[str, tuple[str, ...]]]:
    """Plain-language notes when the fit is fragile, each with the terms it concerns
    (empty for a note on the whole model); an empty list when the fit is not fragile.

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
    notes: list[tuple[str, tuple[str, ...]]] = []
    X = result.model_matrix
    y = result.response[result.analysis_rows]
    names = list(result.params.index)
    if not result.converged:
        notes.append((f"the fit did not converge in {result.iterations} iterations", ()))
    mu = result.fitted[result.analysis_rows]
    if np.any((mu > 1 - 1e-6) | (mu < 1e-6)):
        notes.append(("fitted probabilities within 1e-6 of 0 or 1 occurred: the model "
                      "separates some households (quasi-separation)", ()))
    for j, name in enumerate(names):  # loop over model columns
        column = X[:, j]
        if name == "Intercept" or not np.isin(column, [0.0, 1.0]).all():
            continue
        cell = column == 1
        events = int(np.sum(y[cell] == 1))
        non_events = int(np.sum(y[cell] == 0))
        if min(events, non_events) == 0:
            notes.append((
                f"term {name!r}: among the {int(cell.sum())} households where it is 1, "
                f"{'none' if events == 0 else 'all'} recognize: quasi-complete "
                "separation, the coefficient is not estimable", (name,)))
        elif min(events, non_events) < min_events:
            notes.append((
                f"term {name!r}: only {min(events, non_events)} sampled households "
                f"{'recognize' if events < non_events else 'do not recognize'} where it "
                f"is 1 (fewer than {min_events}): its coefficient rests on few events",
                (name,)))
    notes.extend(_interaction_cells(result, min_events))
    events_total = int(min(np.sum(y == 1), np.sum(y == 0)))
    if events_total < 10 * len(names):
        notes.append((
            f"{events_total} events for {len(names)} coefficients: fewer than 10 per "
            "coefficient", ()))
    if result.df < 10:
        notes.append((
            f"only {result.df} residual degrees of freedom ({result.design_df} design df minus "
            f"{len(names) - 1} slopes): intervals are wide and the covariance unstable", ()))
    return notes


def _interaction_cells(result: LogitResult, min_events: int
                       ) -> list[tuple[str, tuple[str, ...]]]:
    """Cells of interacted 0/1 variables with few households giving either answer.

    With ``a * b`` the coefficients of ``a``, ``b`` and ``a:b`` are contrasts of the
    four cells of (a, b); a cell with few events (e.g. poor households with water at
    the door) makes its contrast rest on those few households.
    """
    names = list(result.params.index)
    X = result.model_matrix
    y = result.response[result.analysis_rows]
    binary = {name: X[:, j] for j, name in enumerate(names)
              if name != "Intercept" and np.isin(X[:, j], [0.0, 1.0]).all()}
    notes: list[tuple[str, tuple[str, ...]]] = []
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
                notes.append((
                    f"cell {label}: {smaller} of {int(totals[cell])} sampled households "
                    f"{answer} (fewer than {min_events}): the coefficients of "
                    f"{', '.join(parts)} and {name} rest on few events", (*parts, name)))
    return notes


# --------------------------------------------------------------------------------------
# non-response (notebook 02's nonresponse.csv)
# --------------------------------------------------------------------------------------
def nonresponse_cautions(table: pd.DataFrame | None,
                         threshold: float = LOW_RESPONSE_RATE) -> list[Caution]:
    """A caution when a weighting cell of ``nonresponse.csv``
    (:func:`evalkit.assessment.nonresponse.adjust_sample`) responded less often than
    ``threshold``; [] without such a cell or without the table."""
    if table is None or table.empty or "response_rate" not in table:
        return []
    rates = pd.to_numeric(table["response_rate"], errors="coerce")
    low = rates < threshold
    if not low.any():
        return []
    worst = int(rates.idxmin())
    return [caution("low_response", cells=int(low.sum()), total=len(table),
                    threshold=f"{threshold:.0%}", lowest=f"{rates.loc[worst]:.0%}",
                    cell=str(table.loc[worst, "cell"]))]
