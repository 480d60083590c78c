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
    """One indicator: the official plain ratio, the design-based estimate and the verdict.

    Beside the estimate: ``unit`` and ``n_units``, what its design effect compares with (a
    simple random sample of that many households, or of people for a people-level rate);
    ``weighting_effect``, Kish's ``1 + CV^2`` of their weights
    (:func:`kish_weighting_effect`); ``ci_method``, the method of the interval this row
    shows (:data:`ZERO_EVENT_METHOD` where the zero-event rule replaced the requested one);
    ``zero_event_deff``, the design effect that rule assumed, and where it came from.
    """

    spec: IndicatorSpec
    official: float
    estimate: Estimate
    threshold: float | None
    decision: str | None
    official_decision: str | None
    n_households: int
    unit: str = "households"
    n_units: int = 0
    weighting_effect: float = float("nan")
    ci_method: str = ""
    zero_event_deff: float = float("nan")
    zero_event_source: str = ""

    @property
    def effective_size(self) -> float:
        """Effective sample size in ``unit``: ``n_units / deff`` where the design effect is
        defined; for a zero-event interval the ``n*`` it used (households); else NaN.

        Examples
        --------
        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"village": [1, 1, 2, 2, 3, 3],
        ...     "weight": 10.0, "exited": 1, "household_size": 2,
        ...     "people_wrongly_exited": [0, 0, 0, 0, 0, 0]}), psu="village",
        ...     weights="weight")
        >>> result = estimate_indicator(design, SPECS["wrong_exit"])
        >>> result.ci_method, result.effective_size
        ('zero-event korn-graubard', 6.0)
        """
        if np.isfinite(self.zero_event_deff):
            return self.n_households / self.zero_event_deff
        deff = self.estimate.deff
        if np.isfinite(deff) and deff > 0 and self.n_units > 0:
            return self.n_units / deff
        return float("nan")

    def row(self) -> dict[str, object]:
        deff = self.estimate.deff
        rest = (deff / self.weighting_effect
                if np.isfinite(deff) and deff > 0 and np.isfinite(self.weighting_effect)
                else float("nan"))
        return {
            "indicator": self.spec.key,
            "label": self.spec.label_en,
            "label_zh": self.spec.label_zh,
            "official": self.official,
            "estimate": self.estimate.estimate,
            "se": self.estimate.se,
            "ci_low": self.estimate.ci[0],
            "ci_high": self.estimate.ci[1],
            "deff": deff,
            "deff_weighting": self.weighting_effect,
            "deff_rest": rest,
            "n_effective": self.effective_size,
            "effective_unit": ("households" if np.isfinite(self.zero_event_deff)
                               else self.unit),
            "df": self.estimate.df,
            "n_households": self.n_households,
            "threshold": self.threshold,
            "direction": self.spec.direction,
            "decision": self.decision,
            "official_decision": self.official_decision,
            "method": self.estimate.method,
            "ci_method": self.ci_method,
            "note": self.estimate.note,
        }


#: ``ci_method`` of a row whose rate has no event (or only events) in its domain: the
#: zero-event rule (:func:`zero_event_design_effect`).
ZERO_EVENT_METHOD = "zero-event korn-graubard"


def kish_weighting_effect(weights: np.ndarray, sizes: np.ndarray | None = None) -> float:
    """Kish's design effect of unequal weighting, ``1 + CV^2 = n sum w^2 / (sum w)^2``.

    ``weights`` of the sampled units with a non-zero weight (zeros are left out: rows
    outside a domain), each counted ``sizes`` times when given (the people of a household
    carry its weight). ``CV`` is the coefficient of variation of the weights with divisor
    ``n`` (Kish 1965, sec. 11.7; Kish 1992, "Weighting for unequal P_i", J. Official
    Statistics 8). It is at least 1: unequal weights alone only add variance. It is the
    weighting part of a design effect; :func:`explain_design_effects` calls the ratio
    ``deff / (1 + CV^2)`` the rest (clustering, strata, fpc, calibration). The product
    is Kish's approximation (Gabler, Haeder and Lahiri 1999 give its model basis), so
    the rest is defined as that ratio, not measured on its own. NaN without weights.

    Examples
    --------
    >>> import numpy as np
    >>> kish_weighting_effect(np.array([10.0, 10.0, 10.0]))
    1.0
    >>> round(kish_weighting_effect(np.array([10.0, 20.0, 0.0])), 4)
    1.1111
    >>> round(kish_weighting_effect(np.array([10.0, 20.0]), np.array([3, 1])), 4)
    1.12
    """
    w = np.asarray(weights, dtype=float)
    f = np.ones_like(w) if sizes is None else np.asarray(sizes, dtype=float)
    keep = (w != 0) & (f > 0)
    w, f = w[keep], f[keep]
    total = float(np.sum(f * w))
    if total <= 0:
        return float("nan")
    return float(np.sum(f) * np.sum(f * w**2) / total**2)


def zero_event_design_effect(weighting_effect: float,
                             siblings: dict[str, float] | None = None
                             ) -> tuple[float, str]:
    """The design effect the zero-event interval assumes, and where it comes from.

    With no event (or only events) in its domain a rate has no design variance, so its
    design effect cannot be estimated, and Korn and Graubard's (1998) effective size
    ``n* = p(1-p)/var`` is 0/0. The substitute: ``n* = n / d`` with ``d`` the largest of

    * Kish's weighting effect ``1 + CV^2`` of the domain's weights
      (:func:`kish_weighting_effect`), the part of any design effect that does not depend
      on the outcome, so it holds for this rate too; and
    * the design effects estimated for the other rates of the same domain in the run
      (``siblings``: label -> deff), standing in for the clustering this rate's outcome
      may have (a rate's intra-village correlation is unknown without events; rates of
      the same households, villages and weights are the nearest evidence).

    The largest, because a zero-event bound states what the sample cannot rule out: it
    is never narrower than the one with the units taken as independent (``d >= 1``) and
    never narrower than a sibling's design would give. A sibling deff below the weighting
    effect (a gain from the fpc or calibration) is not borrowed: its gain rests on the
    sibling's own outcome.

    Examples
    --------
    >>> value, source = zero_event_design_effect(1.07, {"Industry-support coverage": 1.41,
    ...                                                 "Public-welfare job rate": 0.94})
    >>> value, source.endswith("(Industry-support coverage)")
    (1.41, True)
    >>> zero_event_design_effect(1.07)
    (1.07, "the weighting effect 1 + CV^2 of the domain's weights")
    """
    finite = {label: d for label, d in (siblings or {}).items() if np.isfinite(d) and d > 0}
    if finite:
        label, largest = max(finite.items(), key=lambda item: item[1])
        if largest > weighting_effect:
            return float(largest), ("the largest design effect among the other rates of the "
                                    f"same households ({label})")
    if not np.isfinite(weighting_effect) or weighting_effect < 1:
        return 1.0, "1 (no weights to measure a weighting effect)"
    return float(weighting_effect), "the weighting effect 1 + CV^2 of the domain's weights"


def people_rate(design: SurveyDesign, count: str, size: str, method: str = "logit",
                level: float = 0.95) -> Estimate:
    """People-level rate ``sum w count / sum w size`` with a ``svyciprop`` interval."""
    return people_design(design, count, size).proportion("affected", method=method,
                                                         level=level)


def estimate_indicator(design: SurveyDesign, spec: IndicatorSpec, method: str = "logit",
                       level: float = 0.95, threshold: float | None = None, *,
                       siblings: dict[str, float] | None = None) -> IndicatorResult:
    """Official ratio, design-based estimate, its interval and the decision for one spec.

    The decision is :func:`evalkit.survey.decision.decide` on the estimate's interval
    (``estimate.ci``), the one the tables print and the pages draw.

    A rate with no event (or only events) among its domain's households gets the
    zero-event interval (:func:`evalkit.survey.intervals.zero_event_interval`) on the
    households, with the design effect of :func:`zero_event_design_effect` (``siblings``:
    the design effects of the other rates of the same domain, label -> deff, as
    :func:`assess` passes them); its ``ci_method`` is :data:`ZERO_EVENT_METHOD`.
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
    n_households = int(domain_mask.sum())
    household_effect = kish_weighting_effect(sub.weight_values)
    if spec.kind == "people":
        sizes = integer_column(data, spec.denominator)[domain_mask]
        official = float(numerator.sum() / sizes.sum())
        persons = people_design(sub, spec.numerator, spec.denominator)
        estimate = persons.proportion("affected", method=method, level=level)
        unit, n_units = "people", int(np.count_nonzero(persons.weight_values))
        weighting = kish_weighting_effect(persons.weight_values)
    else:
        official = float(numerator.mean())
        estimate = sub.proportion(spec.numerator, method=method, level=level)
        unit, n_units, weighting = "households", n_households, household_effect
    ci_method = estimate.method if np.all(np.isfinite(estimate.ci)) else "none"
    zero_deff, zero_source = float("nan"), ""
    if _zero_events(estimate) and method not in SRS_METHODS:
        zero_deff, zero_source = zero_event_design_effect(household_effect, siblings)
        n_star = n_households / zero_deff
        # Whole households are judged: n* counts households, not persons.
        estimate = replace(
            estimate, ci=zero_event_interval(estimate.estimate, n_households, level,
                                             estimate.df, design_effect=zero_deff),
            note=(f"{'no' if estimate.estimate <= 0 else 'all'} events: Korn-Graubard "
                  f"interval with an effective sample size of {n_star:,.0f} households "
                  f"({n_households:,} / {zero_deff:.2f}, {zero_source})"
                  + ("; whole households are judged, so persons are not independent"
                     if spec.kind == "people" else "")))
        ci_method = ZERO_EVENT_METHOD
    estimate = _with_household_n(estimate, n_households)
    return IndicatorResult(
        spec=spec,
        official=official,
        estimate=estimate,
        threshold=threshold,
        decision=decide(estimate.ci, threshold, spec.direction),
        official_decision=official_decision(official, threshold, spec.direction),
        n_households=n_households,
        unit=unit,
        n_units=n_units,
        weighting_effect=weighting,
        ci_method=ci_method,
        zero_event_deff=zero_deff,
        zero_event_source=zero_source,
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
    (:func:`evalkit.survey.intervals.zero_event_interval`, with the weighting effect of
    the domain's households as design effect, :func:`zero_event_design_effect`: no other
    rate shares that domain here): the upper end gains
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
        (totals[people], int(np.count_nonzero(w[mask])), label,
         zero_event_design_effect(kish_weighting_effect(w[mask]))[0])
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
        for people, n_domain, _, effect in zero_parts:
            high += people * zero_event_interval(0.0, max(n_domain, 1), at, df,
                                                 design_effect=effect)[1] / rural
        return low, high

    ci = interval(level)
    if zero_parts:
        notes.append("no " + " and no ".join(p[2] for p in zero_parts) + " in the sample: "
                     "upper end from the zero-event rule on the households")
    estimate = Estimate(estimate=float(value), se=se, ci=ci, deff=float("nan"), df=df,
                        n=n_households, level=level, method=used, note="; ".join(notes))
    ci_method = (used if se > 0 and df > 0 else "") + (
        f" + {ZERO_EVENT_METHOD}" if zero_parts else "")
    return IndicatorResult(
        spec=INCIDENCE, official=float(official), estimate=estimate, threshold=threshold,
        decision=decide(ci, threshold, "below"),
        official_decision=official_decision(float(official), threshold, "below"),
        n_households=int(np.count_nonzero(w)), n_units=int(np.count_nonzero(w)),
        ci_method=ci_method.strip(" +") or "none",
    )


def assess(design: SurveyDesign, frame: pd.DataFrame, thresholds: dict[str, float],
           method: str = "logit", level: float = 0.95, secondary: bool = True
           ) -> list[IndicatorResult]:
    """All headline indicators (and the secondary rates) for one county.

    A rate with no event is estimated again with the design effects of the other rates of
    its domain and kind (``siblings`` of :func:`estimate_indicator`), so its zero-event
    interval borrows their clustering (:func:`zero_event_design_effect`).
    """
    specs = (*HEADLINE, *SECONDARY) if secondary else HEADLINE
    results = [
        estimate_indicator(design, spec, method=method, level=level,
                           threshold=thresholds.get(spec.key))
        for spec in specs
    ]
    for i, result in enumerate(results):
        if result.ci_method != ZERO_EVENT_METHOD:
            continue
        siblings = {other.spec.label_en: other.estimate.deff for other in results
                    if other is not result and other.spec.domain == result.spec.domain
                    and other.spec.kind == result.spec.kind
                    and other.ci_method != ZERO_EVENT_METHOD}
        if siblings:
            results[i] = estimate_indicator(design, result.spec, method=method, level=level,
                                            threshold=result.threshold, siblings=siblings)
    results.insert(2, incidence(design, frame, level=level,
                                threshold=thresholds.get("incidence"), method=method))
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


#: The one definition of the design effect the notebooks print (R's ``deff = TRUE``).
DESIGN_EFFECT_DEFINITION = (
    "Design effect (deff): the variance of an estimate under the design as drawn and "
    "analysed, divided by the variance a simple random sample of the same number of units "
    "(drawn without replacement) would give (Kish 1965; R survey's deff = TRUE). Below it "
    "splits into Kish's weighting effect 1 + CV\u00b2 of the weights (unequal weights alone "
    "only add variance: at least 1) and the rest, deff / (1 + CV\u00b2): clustering, which "
    "adds variance, net of what strata, the finite population correction and calibration "
    "remove. The effective sample size is the number of units divided by the deff.")


def design_features(design: SurveyDesign | None) -> dict[str, object]:
    """What a design has besides weights, as :func:`explain_design_effects` names it:
    ``cluster`` (the PSU column or None), ``strata``, ``fpc`` and ``calibrated`` (bools),
    ``pps`` (the PPS variance approximation or None). None: nothing is known.

    Examples
    --------
    >>> import pandas as pd
    >>> design = SurveyDesign(pd.DataFrame({"village": [1, 1, 2, 2], "weight": 5.0}),
    ...                       psu="village", weights="weight")
    >>> design_features(design)
    {'cluster': 'village', 'strata': False, 'fpc': False, 'pps': None, 'calibrated': False}
    """
    if design is None:
        return {}
    psu = design.psu
    cluster = (psu if isinstance(psu, str) or psu is None else str(list(psu)[0]))
    return {"cluster": cluster, "strata": design.strata is not None,
            "fpc": design.fpc is not None, "pps": design.pps,
            "calibrated": bool(design.is_calibrated)}


def explain_design_effects(results: list[IndicatorResult] | pd.DataFrame,
                           design: SurveyDesign | None = None,
                           uncalibrated: list[IndicatorResult] | pd.DataFrame | None = None
                           ) -> list[str]:
    """One sentence per indicator with a design effect, saying only what its numbers show.

    From the indicator table (:func:`indicator_table`, or the results it is made of):
    ``deff`` (:data:`DESIGN_EFFECT_DEFINITION`), ``deff_weighting`` (Kish's ``1 + CV^2``,
    :func:`kish_weighting_effect`), ``deff_rest = deff / deff_weighting`` and
    ``n_effective`` (units / deff). ``design`` names what the rest can be made of
    (:func:`design_features`): clustering in its PSUs adds variance; strata and the fpc
    (PPS without replacement) remove some, and so may calibration. ``uncalibrated``, the
    same table on the design before calibration, measures calibration's part: the ratio
    of the two variances (``(se / se_uncalibrated)^2``), quoted; calibration is then named
    among what removes variance only where it did.

    What each sentence may say: the rest above 1: clustering adds more variance than the
    other features remove; below 1: those features (the ones the design has and, with
    ``uncalibrated``, calibration only where it lowered the variance) remove more than
    clustering adds, or, with none, the units of a PSU differ more than random ones or
    Kish's weighting effect (an approximation assuming the answers do not vary with the
    weights) overstates this estimate's variance: the numbers do not say which. A deff
    below 1 is never put down to the weights, which only add variance. A zero-event row
    says the design effect its interval assumed; incidence, a combination of rates, has
    none of its own.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame([{"label": "Rate", "deff": 0.94, "deff_weighting": 1.08,
    ...                        "deff_rest": 0.87, "n_effective": 711.0,
    ...                        "effective_unit": "households", "n_households": 668,
    ...                        "ci_method": "logit", "note": ""}])
    >>> print(explain_design_effects(table)[0])  # doctest: +NORMALIZE_WHITESPACE
    Rate: deff 0.94, below 1: the estimate is more precise than a simple random sample of
    the same size. Unequal weights alone would add variance (1 + CV² = 1.08); the rest,
    0.87, is below 1: strata, finite population correction or calibration (if the design
    has them) remove more variance than clustering adds, or the units of a cluster differ
    more than random ones would: the numbers do not say which. Effective sample size about
    711 households (668 / 0.94).
    """
    table = indicator_table(results) if isinstance(results, list) else results
    before = (indicator_table(uncalibrated) if isinstance(uncalibrated, list)
              else uncalibrated)
    se_before = ({} if before is None else
                 dict(zip(before["indicator"].astype(str), before["se"].map(_float),
                          strict=True)))
    features = design_features(design)
    sentences = []
    for rec in table.to_dict("records"):
        factor = float("nan")
        old = se_before.get(str(rec.get("indicator")), float("nan"))
        se = _float(rec.get("se"))
        if features.get("calibrated", True) and np.isfinite(old) and old > 0 and se > 0:
            factor = (se / old) ** 2
        sentence = _design_effect_sentence(rec, features, factor)
        if sentence:
            sentences.append(sentence)
    return sentences


def _design_effect_sentence(rec: dict[str, object], features: dict[str, object],
                            calibration: float) -> str:
    label = str(rec.get("label"))
    deff = _float(rec.get("deff"))
    weighting = _float(rec.get("deff_weighting"))
    rest = _float(rec.get("deff_rest"))
    unit = str(rec.get("effective_unit") or "households")
    n_effective = _float(rec.get("n_effective"))
    if str(rec.get("ci_method")) == ZERO_EVENT_METHOD:
        n = int(_float(rec.get("n_households")))
        assumed = n / n_effective if n_effective > 0 else float("nan")
        return (f"{label}: no design effect: with no case (or only cases) in the sample its "
                f"variance is zero and cannot show the design's effect; its interval assumes "
                f"a design effect of {assumed:.2f} (effective sample size about "
                f"{n_effective:,.0f} of the {n:,} households; see its note).")
    if not (np.isfinite(deff) and deff > 0):
        return (f"{label}: no design effect of its own (it combines several rates with "
                "the frame's counts).") if str(rec.get("indicator")) == "incidence" else ""
    text = f"{label}: deff {deff:.2f}"
    if deff < 0.995:
        text += (", below 1: the estimate is more precise than a simple random sample of "
                 "the same size.")
    elif deff > 1.005:
        text += f": its variance is {deff:.2f} times a simple random sample's."
    else:
        text += ": about the variance of a simple random sample of the same size."
    if np.isfinite(weighting) and np.isfinite(rest):
        if weighting < 1.005:
            text += f" The weights are nearly equal (1 + CV\u00b2 = {weighting:.2f})"
        elif deff < 0.995:
            text += f" Unequal weights alone would add variance (1 + CV\u00b2 = {weighting:.2f})"
        else:
            text += f" Unequal weights account for a factor {weighting:.2f} (1 + CV\u00b2)"
        text += f"; the rest, {rest:.2f}, " + _rest_words(rest, features, unit == "people",
                                                          calibration) + "."
    if np.isfinite(n_effective):
        n_units = n_effective * deff
        text += (f" Effective sample size about {n_effective:,.0f} {unit} "
                 f"({n_units:,.0f} / {deff:.2f}).")
    return text


def _rest_words(rest: float, features: dict[str, object], people: bool,
                calibration: float) -> str:
    """What the rest ``deff / (1 + CV^2)`` shows, naming only what the design has."""
    units = "people" if people else "households"
    if not features:
        where = "of a cluster"
        reducers = ["strata, finite population correction or calibration (if the design "
                    "has them)"]
    else:
        cluster = features.get("cluster")
        where = (("in the same household and " if people else "in the same ")
                 + str(cluster or "household")) if (cluster or people) else ""
        reducers = [name for key, name in (
            ("strata", "strata"),
            ("fpc", "the finite population correction"
                    + (" (PPS without replacement)" if features.get("pps") else ""))
        ) if features.get(key)]
        if features.get("calibrated") and (not np.isfinite(calibration)
                                           or calibration < 0.995):
            reducers.append("calibration")
    said = ""
    if np.isfinite(calibration):
        said = (f" (calibration alone multiplied the variance by {calibration:.2f})")
    if not where:
        if rest > 1.005:
            return ("is above 1 without clustering in the design: Kish's weighting effect "
                    "understates this estimate's variance" + said)
        if rest < 0.995 and reducers:
            return f"is below 1: {' and '.join(reducers)} remove variance{said}"
        return "is about 1" + said
    joined = " and ".join(reducers)
    verb = "remove" if len(reducers) > 1 or not features else "removes"
    if rest > 1.005:
        if reducers:
            return (f"is above 1: clustering ({units} {where} answer alike) adds more variance "
                    f"than {joined} {verb}{said}")
        return f"comes from clustering: {units} {where} answer alike{said}"
    if rest < 0.995:
        differ = (f"the {units} {where} differ more than random ones would"
                  if features else "the units of a cluster differ more than random ones would")
        if reducers:
            return (f"is below 1: {joined} {verb} more variance than clustering adds, or "
                    f"{differ}: the numbers do not say which{said}")
        return (f"is below 1{said}: either {differ}, or Kish's weighting effect, an "
                "approximation that assumes the answers do not vary with the weights, "
                "overstates this estimate's: the numbers do not say which")
    if reducers:
        return f"is about 1: clustering and {joined} about cancel{said}"
    return f"is about 1: {units} {where} are about as alike as {units} drawn at random{said}"


#: How :func:`interval_methods` names each ``ci_method`` of the indicator table.
METHOD_NAMES: dict[str, str] = {
    "logit": "logit (svyciprop method logit)",
    "xlogit": "logit on the mean (svyciprop xlogit)",
    "likelihood": "scaled profile likelihood (svyciprop likelihood)",
    "asin": "arcsine (svyciprop asin)",
    "beta": "Korn-Graubard (svyciprop beta)",
    "mean": "Wald (svyciprop mean)",
    ZERO_EVENT_METHOD: ("Korn-Graubard with a design-based effective sample size (no case "
                        "in the sample: the zero-event rule, see the row's note)"),
    "none": "none (no degrees of freedom)",
}


def interval_methods(table: pd.DataFrame) -> str:
    """One sentence naming the interval method of every row, from its ``ci_method``.

    Rows sharing a method are listed together, methods in order of first appearance.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"label": ["A", "B", "C"],
    ...                       "ci_method": ["logit", ZERO_EVENT_METHOD, "logit"]})
    >>> print(interval_methods(table))  # doctest: +NORMALIZE_WHITESPACE
    Intervals by row: logit (svyciprop method logit) for A and C; Korn-Graubard with a
    design-based effective sample size (no case in the sample: the zero-event rule, see the
    row's note) for B.
    """
    groups: dict[str, list[str]] = {}
    for label, method in zip(table["label"].astype(str), table["ci_method"].astype(str),
                             strict=True):
        groups.setdefault(method, []).append(label)
    parts = []
    for method, labels in groups.items():
        first, _, added = (m.strip() for m in method.partition("+"))
        named = METHOD_NAMES.get(first, first) + (
            ", its upper end raised by the zero-event rule for the rates with no case"
            if added == ZERO_EVENT_METHOD else f" + {added}" if added else "")
        listed = (", ".join(labels[:-1]) + " and " + labels[-1]) if len(labels) > 1 \
            else labels[0]
        parts.append(f"{named} for {listed}")
    return "Intervals by row: " + "; ".join(parts) + "."


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


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
