"""The three rates and one degree (三率一度), official and design-based, with decisions.

Definitions follow the national exit assessment (see docs/codebook.md):

* wrong-exit rate: people judged wrongly exited / people in sampled exited households;
* missed-assessment rate: people judged missed / people in sampled non-registered households;
* recognition rate: households that recognize the work (满意 or 基本满意) / all households;
* comprehensive poverty incidence: (registered poor not yet exited + estimated missed people
  + estimated wrongly exited people) / rural population, the counts of the frame.

The *official* figure is the plain (unweighted) sample ratio the assessment published. The
design-based estimate uses the survey design (weights, villages as PSUs, strata, fpc). The
people-level rates are ratios of household totals (Cochran 1977, sec. 6.4); their intervals
are computed on the equivalent person-level proportion, where each person is an observation
clustered in its household's PSU, so every ``svyciprop`` method applies. The linearized
variance of that proportion equals the ratio's exactly, because the person-level influence
values summed within a household are the household's ratio influence value.

Decision against a threshold (:func:`evalkit.survey.decision.decide`), from the interval
in the table (``ci_low``, ``ci_high``), so every verdict can be checked by eye:

* an indicator that must stay below a line passes when the whole interval is below it and
  fails when the whole interval is above it; otherwise "cannot tell at this sample size";
* an indicator that must reach a line (recognition >= 90%) mirrors this.

That is a one-sided test on each side of the line at half the interval's error rate
(2.5% each with a 95% interval).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import pandas as pd

from evalkit.contract import locale
from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import HOUSEHOLD_TYPES
from evalkit.survey.decision import CANNOT_TELL, FAIL, PASS, decide, official_decision  # noqa: F401
from evalkit.survey.design import SurveyDesign
from evalkit.survey.estimate import Estimate
from evalkit.survey.intervals import SRS_METHODS, interval_from_se, zero_event_interval
from evalkit.survey.people import integer_column, people_design
from evalkit.survey.variance import ratio_influence


@dataclass(frozen=True)
class IndicatorSpec(locale.Labelled):
    """What an indicator measures and the line it is judged against.

    Its displayed name is not held here: it is the ``indicator.<key>.name`` entry of the
    locale catalogues, read by :meth:`label` (:class:`evalkit.contract.locale.Labelled`;
    ``label_en`` is the ``label`` column of the indicator tables, ``label_zh`` their
    ``label_zh`` column).
    """

    label_prefix: ClassVar[str] = "indicator"

    key: str
    kind: str  # "people" (ratio of people counts) or "households" (proportion)
    numerator: str
    denominator: str | None
    domain: str | None  # 0/1 column selecting the households it is computed on
    direction: str  # "below" or "at_least"


HEADLINE: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("wrong_exit", "people", "people_wrongly_exited", "household_size", "exited",
                  "below"),
    IndicatorSpec("missed", "people", "people_missed", "household_size", "nonpoor", "below"),
    IndicatorSpec("recognition", "households", "recognizes", None, None, "at_least"),
)
SECONDARY: tuple[IndicatorSpec, ...] = (
    IndicatorSpec("industry_support", "households", "industry_support", None, "registered",
                  "at_least"),
    IndicatorSpec("microcredit", "households", "microcredit", None, "registered", "at_least"),
    IndicatorSpec("public_welfare_job", "households", "public_welfare_job", None, "registered",
                  "at_least"),
    IndicatorSpec("dibao_not_exited", "households", "dibao", None, "not_exited", "at_least"),
)
INCIDENCE = IndicatorSpec("incidence", "people", "", None, None, "below")
SPECS: dict[str, IndicatorSpec] = {
    s.key: s for s in (*HEADLINE, INCIDENCE, *SECONDARY)
}


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator: the official plain ratio, the design-based estimate and the verdict."""

    spec: IndicatorSpec
    official: float
    estimate: Estimate
    threshold: float | None
    decision: str | None
    official_decision: str | None
    n_households: int

    def row(self) -> dict[str, object]:
        return {
            "indicator": self.spec.key,
            "label": self.spec.label_en,
            "label_zh": self.spec.label_zh,
            "official": self.official,
            "estimate": self.estimate.estimate,
            "se": self.estimate.se,
            "ci_low": self.estimate.ci[0],
            "ci_high": self.estimate.ci[1],
            "deff": self.estimate.deff,
            "df": self.estimate.df,
            "n_households": self.n_households,
            "threshold": self.threshold,
            "direction": self.spec.direction,
            "decision": self.decision,
            "official_decision": self.official_decision,
            "method": self.estimate.method,
            "note": self.estimate.note,
        }


def people_rate(design: SurveyDesign, count: str, size: str, method: str = "logit",
                level: float = 0.95) -> Estimate:
    """People-level rate ``sum w count / sum w size`` with a ``svyciprop`` interval."""
    return people_design(design, count, size).proportion("affected", method=method,
                                                         level=level)


def estimate_indicator(design: SurveyDesign, spec: IndicatorSpec, method: str = "logit",
                       level: float = 0.95, threshold: float | None = None
                       ) -> IndicatorResult:
    """Official ratio, design-based estimate, its interval and the decision for one spec.

    The decision is :func:`evalkit.survey.decision.decide` on the estimate's interval
    (``estimate.ci``), the one the tables print and the pages draw.
    """
    data = design.data
    domain_mask = design.domain.copy()
    if spec.domain is not None:
        domain_mask &= domain_rows(data, spec.domain)
    if not np.any(domain_mask):
        raise EvalkitError(
            f"indicator {spec.key}: no sampled households in its domain ({spec.domain})"
        )
    sub = design.subset(domain_mask)
    numerator = integer_column(data, spec.numerator)[domain_mask]
    if spec.kind == "people":
        sizes = integer_column(data, spec.denominator)[domain_mask]
        official = float(numerator.sum() / sizes.sum())
        persons = people_design(sub, spec.numerator, spec.denominator)
        estimate = persons.proportion("affected", method=method, level=level)
        if _zero_events(estimate) and method not in SRS_METHODS:
            # Whole households are judged: n* counts households, not persons.
            n_households = int(domain_mask.sum())
            estimate = replace(
                estimate, ci=zero_event_interval(estimate.estimate, n_households, level,
                                                 estimate.df),
                note=(f"{'no' if estimate.estimate <= 0 else 'all'} events: Korn-Graubard "
                      f"interval with the {n_households} households as effective sample "
                      "size (whole households are judged, so persons are not independent)"))
    else:
        official = float(numerator.mean())
        estimate = sub.proportion(spec.numerator, method=method, level=level)
    estimate = _with_household_n(estimate, int(domain_mask.sum()))
    return IndicatorResult(
        spec=spec,
        official=official,
        estimate=estimate,
        threshold=threshold,
        decision=decide(estimate.ci, threshold, spec.direction),
        official_decision=official_decision(official, threshold, spec.direction),
        n_households=int(domain_mask.sum()),
    )


def incidence(design: SurveyDesign, frame: pd.DataFrame, level: float = 0.95,
              threshold: float | None = None, method: str = "logit") -> IndicatorResult:
    """Comprehensive poverty incidence with its linearized interval.

    ``I = (P_not_exited + R_missed * P_nonregistered + R_wrong * P_exited) / P_rural`` where
    the ``P`` are frame population counts (known, no variance) and the ``R`` are the
    people-level ratio estimates (wrong-exit among exited households, missed among
    non-registered). The ratios share villages, so their covariance enters through the
    combined influence values ``(P_nonreg z_missed + P_exited z_wrong) / P_rural`` (Binder
    1983), each ``z`` from :func:`evalkit.survey.variance.ratio_influence`.
    The interval follows ``method`` (:func:`evalkit.survey.intervals.interval_from_se`:
    ``mean``, ``logit``/``xlogit``, ``asin``, ``beta``, with the design's t quantile);
    ``likelihood`` and the simple-random-sample methods need a 0/1 variable, which a
    combination of ratios is not, so they fall back to ``logit`` (said in ``note``).

    Zero events: a rate with no wrong exit (or no missed person) among the sampled
    households has no design variance, yet it is not known to be 0. Its share of the
    interval is the zero-event rule's upper bound ``U`` on the households of its domain
    (:func:`evalkit.survey.intervals.zero_event_interval`): the upper end gains
    ``P_k U_k / P_rural``. The lower end stays at the estimate when both rates are 0
    (rates cannot be negative), so the interval is never of zero width.
    """
    totals = frame_totals(frame)
    data = design.data
    exited = (integer_column(data, "exited") == 1) & design.domain
    nonpoor = (integer_column(data, "nonpoor") == 1) & design.domain
    size = integer_column(data, "household_size").astype(float)
    wrong = integer_column(data, "people_wrongly_exited").astype(float)
    missed = integer_column(data, "people_missed").astype(float)
    w = design.weight_values
    r_wrong, z_wrong, _ = ratio_influence(wrong, size, exited, w)
    r_missed, z_missed, _ = ratio_influence(missed, size, nonpoor, w)
    rural = totals["people_total"]
    value = (totals["people_not_exited"] + r_missed * totals["people_nonregistered"]
             + r_wrong * totals["people_exited"]) / rural
    scores = (totals["people_nonregistered"] * z_missed + totals["people_exited"] * z_wrong)
    se = float(np.sqrt(design.variance_of_totals(w * scores / rural)[0, 0]))
    df = design.df
    official_wrong = wrong[exited].sum() / size[exited].sum()
    official_missed = missed[nonpoor].sum() / size[nonpoor].sum()
    official = (totals["people_not_exited"] + official_missed * totals["people_nonregistered"]
                + official_wrong * totals["people_exited"]) / rural
    n_households = int(np.count_nonzero(w))
    used = method if method in ("mean", "logit", "xlogit", "asin", "beta") else "logit"
    notes = ["linearized; frame counts treated as known"]
    if used != method:
        notes.append(f"{method} needs a 0/1 variable: logit interval")
    zero_parts = [
        (totals[people], int(np.count_nonzero(w[mask])), label)
        for people, mask, numerator, label in (
            ("people_exited", exited, wrong, "wrong exits"),
            ("people_nonregistered", nonpoor, missed, "missed people"))
        if float(np.sum(w[mask] * numerator[mask])) == 0.0
    ]

    def interval(at: float) -> tuple[float, float]:
        if se > 0 and df > 0:
            low, high = interval_from_se(float(value), se, used, at, df, n_households)
        else:
            low, high = float(value), float(value)
        for people, n_domain, _ in zero_parts:
            high += people * zero_event_interval(0.0, max(n_domain, 1), at, df)[1] / rural
        return low, high

    ci = interval(level)
    if zero_parts:
        notes.append("no " + " and no ".join(p[2] for p in zero_parts) + " in the sample: "
                     "upper end from the zero-event rule on the households")
    estimate = Estimate(estimate=float(value), se=se, ci=ci, deff=float("nan"), df=df,
                        n=n_households, level=level, method=used, note="; ".join(notes))
    return IndicatorResult(
        spec=INCIDENCE, official=float(official), estimate=estimate, threshold=threshold,
        decision=decide(ci, threshold, "below"),
        official_decision=official_decision(float(official), threshold, "below"),
        n_households=int(np.count_nonzero(w)),
    )


def assess(design: SurveyDesign, frame: pd.DataFrame, thresholds: dict[str, float],
           method: str = "logit", level: float = 0.95, secondary: bool = True
           ) -> list[IndicatorResult]:
    """All headline indicators (and the secondary rates) for one county."""
    results = [
        estimate_indicator(design, spec, method=method, level=level,
                           threshold=thresholds.get(spec.key))
        for spec in HEADLINE
    ]
    results.insert(2, incidence(design, frame, level=level,
                                threshold=thresholds.get("incidence"), method=method))
    if secondary:
        results += [
            estimate_indicator(design, spec, method=method, level=level,
                               threshold=thresholds.get(spec.key))
            for spec in SECONDARY
        ]
    return results


def indicator_table(results: list[IndicatorResult]) -> pd.DataFrame:
    """One row per indicator: official ratio, estimate, interval, threshold, decision."""
    return pd.DataFrame([r.row() for r in results])


def compare_methods(design: SurveyDesign, spec_key: str = "wrong_exit",
                    methods: tuple[str, ...] = ("mean", "logit", "likelihood", "asin", "beta",
                                                "xlogit"),
                    level: float = 0.95, threshold: float | None = None) -> pd.DataFrame:
    """The same indicator under every interval method, with each method's decision (from
    that method's ``ci_low``/``ci_high``)."""
    spec = SPECS[spec_key]
    rows = []
    for method in methods:
        result = estimate_indicator(design, spec, method=method, level=level,
                                    threshold=threshold)
        rows.append({"method": method, **{k: v for k, v in result.row().items()
                                          if k in ("estimate", "ci_low", "ci_high",
                                                   "decision")}})
    return pd.DataFrame(rows)


def disaggregate(design: SurveyDesign, by: str, thresholds: dict[str, float],
                 min_cell_size: int = 30, method: str = "logit", level: float = 0.95,
                 min_villages: int = 3) -> pd.DataFrame:
    """Headline indicators by a grouping column, suppressing small cells.

    Each cell is a domain of the full design (variances are not computed on a subset of
    rows). A cell is suppressed (numbers blank, ``suppressed`` true, ``reason`` given) when
    its indicator rests on fewer than ``min_cell_size`` sampled households, or on fewer
    than ``min_villages`` PSUs: with one or two villages the design has 0 or 1 degrees of
    freedom and the t interval spans almost [0, 1], which informs no one.

    Each decision follows from the cell's ``ci_low``/``ci_high`` (:func:`estimate_indicator`),
    so every verdict can be checked against the table.
    """
    data = design.data
    if by not in data.columns:
        raise EvalkitError(f"disaggregate: column {by!r} is not in the survey data")
    psu_codes = design.psu_codes
    rows = []
    for group in sorted(pd.unique(data.loc[design.domain, by]), key=str):
        sub = design.subset((data[by] == group).to_numpy())
        for spec in HEADLINE:
            cell = design.domain & (data[by] == group).to_numpy()
            if spec.domain is not None:
                cell &= domain_rows(data, spec.domain)
            n_cell = int(cell.sum())
            n_psu = int(np.unique(psu_codes[cell]).size)
            row: dict[str, object] = {by: group, "indicator": spec.key,
                                      "n_households": n_cell, "n_villages": n_psu}
            reason = ""
            if n_cell < min_cell_size:
                reason = f"fewer than {min_cell_size} households"
            elif n_psu < min_villages:
                reason = f"fewer than {min_villages} villages"
            if reason:
                row.update(estimate=np.nan, ci_low=np.nan, ci_high=np.nan, decision=None,
                           suppressed=True, reason=reason)
            else:
                result = estimate_indicator(sub, spec, method=method, level=level,
                                            threshold=thresholds.get(spec.key))
                row.update(estimate=result.estimate.estimate, ci_low=result.estimate.ci[0],
                           ci_high=result.estimate.ci[1], decision=result.decision,
                           suppressed=False, reason="")
            rows.append(row)
    return pd.DataFrame(rows)


def explain_design_effects(results: list[IndicatorResult]) -> list[str]:
    """One plain sentence per indicator on what its design effect means.

    The design effect (Kish 1965) is the variance under the actual design divided by the
    variance a simple random sample of the same size would give; the effective sample size
    is the sample size divided by it.
    """
    sentences = []
    for result in results:
        deff = result.estimate.deff
        if not np.isfinite(deff) or deff <= 0:
            continue
        unit = "people" if result.spec.kind == "people" else "households"
        n = result.estimate.n if result.spec.kind == "households" else None
        base = (f"{result.spec.label_en}: design effect {deff:.2f}")
        if deff >= 1:
            why = ("because households in the same village resemble each other, the sample "
                   f"carries the information of a simple random sample {deff:.2f} times "
                   "smaller")
        else:
            why = ("the weighting and spread across villages make the sample more precise "
                   "than a simple random sample of the same size")
        effective = (f" (about {n / deff:,.0f} {unit} instead of {n:,})"
                     if n is not None and deff >= 1 else "")
        sentences.append(f"{base}: {why}{effective}.")
    return sentences


def frame_totals(frame: pd.DataFrame) -> dict[str, float]:
    """County population counts from the sampling frame."""
    needed = ("people_exited", "people_not_exited", "people_nonregistered")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise EvalkitError(
            "frame: missing column(s) " + ", ".join(missing) + "; expected the codebook's frame"
        )
    totals = {c: float(frame[c].sum()) for c in needed}
    totals["people_registered"] = totals["people_exited"] + totals["people_not_exited"]
    totals["people_total"] = totals["people_registered"] + totals["people_nonregistered"]
    return totals


# --- helpers ------------------------------------------------------------------------------
def domain_rows(data: pd.DataFrame, domain: str) -> np.ndarray:
    """Rows of a domain: a 0/1 column of that name, or households of that household type."""
    if domain in data.columns:
        return integer_column(data, domain) == 1
    if domain in HOUSEHOLD_TYPES and "household_type" in data.columns:
        return (data["household_type"] == domain).to_numpy()
    raise EvalkitError(f"survey data: column {domain!r} is missing; see docs/codebook.md")



def _with_household_n(estimate: Estimate, n_households: int) -> Estimate:
    return replace(estimate, n=n_households)


def _zero_events(estimate: Estimate) -> bool:
    """No (or every) sampled unit has the event, or the design variance is zero."""
    p = estimate.estimate
    return bool(p <= 0 or p >= 1 or estimate.se == 0)
