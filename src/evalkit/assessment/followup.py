"""The re-check round (回头看) against the assessment: what changed, and is it real?

Used by ``notebooks/05_followup.ipynb`` and the "what changed since the assessment" section
of the policy report, when a params file has a ``followup`` block.

* Loading: the re-check survey is read and validated exactly as the main survey (same
  codebook, villages checked against the frame: ``followup.frame`` or the run's frame), and
  a household in both rounds must keep its household size. Both rounds are stacked in one
  design (the params' ``design`` block) with a ``round`` column; a village visited twice is
  one PSU, so the covariance between the rounds is counted (:mod:`evalkit.survey.change`).
* Weighting: each round is weighted as notebook 02 weights the assessment (see
  :func:`load_followup`): non-response adjusted within its own sample's weighting cells
  (:func:`evalkit.assessment.nonresponse.adjust_sample`), then calibrated to its frame's county
  totals (:func:`evalkit.assessment.county_totals.frame_calibration`). The before round *is*
  notebook 02's design, so its estimates are 02's. The stacked design calibrates with the
  round crossed into the calibration cells (``by="round"``), which gives every row its own
  round's calibrated weight and each round's own calibration residuals in the
  linearization (Deville and Sarndal 1992; Lumley 2010, sec. 7.4).
* Each round's indicators and verdicts are those of notebook 02
  (:func:`evalkit.assessment.indicators.assess` on the round's own design). The change and its
  interval
  come from the stacked design (:func:`evalkit.survey.change.difference`): people-level rates are
  ratios of household totals in their domain, household rates are means; the comprehensive
  incidence ``(P_ne + R_missed P_nr + R_wrong P_ex) / P`` changes by the same combination of
  the two ratios' changes (frame counts known), its variance from the combined influence
  values. A change is *distinguishable from zero* when its interval excludes 0.
* Targets: a rate target is judged on the re-check round as the verdicts are (the
  interval shown, :func:`evalkit.survey.decision.decide`): reached, not reached, or cannot
  tell. ``microcredit_households`` is judged on the estimated number of registered
  households with microcredit (a total).
* Recognition: the change is decomposed as in notebook 03's decomposition (a nonlinear
  Oaxaca-Blinder, :func:`evalkit.survey.decomposition.fairlie`, linearized on the stacked design)
  with the round as the group, the satisfaction formula's covariates, and water access and
  reimbursement as the factors: how many points of the change their measured changes
  explain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.assessment.county_totals import DEFAULT_FRAME_TOTALS, frame_calibration
from evalkit.assessment.indicators import (
    HEADLINE,
    INCIDENCE,
    IndicatorSpec,
    assess,
    domain_rows,
    estimate_indicator,
    frame_totals,
)
from evalkit.assessment.inputs import (
    RunInputs,
    build_design,
    calibrate_design,
    checked_design,
    design_columns,
    load_inputs,
    resolve_design,
)
from evalkit.assessment.nonresponse import RunNonresponse, adjust_sample
from evalkit.contract import locale
from evalkit.contract.data import load_frame, load_sample
from evalkit.contract.errors import EvalkitError, ProblemsError
from evalkit.contract.paths import resolve_data_path
from evalkit.contract.problems import Problem, ValidationReport
from evalkit.survey.change import difference, round_scores
from evalkit.survey.decision import decide
from evalkit.survey.design import SurveyDesign, t_quantile

ROUND = "round"
BEFORE, AFTER = "before", "after"
#: Targets that are not rates of :data:`evalkit.assessment.indicators.SPECS`.
COUNT_TARGETS: dict[str, str] = {"microcredit_households": "microcredit"}
WATER = IndicatorSpec("water_in_home_nonpoor", "households", "water_in_home", None, "nonpoor",
                      "at_least")
TABLE_COLUMNS = ("indicator", "before", "after", "change", "ci_low", "ci_high",
                 "decision_before", "decision_after")
REACHED, NOT_REACHED, CANNOT_TELL = "reached", "not reached", "cannot tell"


@dataclass(frozen=True)
class FollowupInputs:
    """Both rounds: the assessment's inputs, the re-check survey and the stacked design.

    ``before_design`` is notebook 02's design (non-response adjusted and calibrated as the
    params say) with the round columns added; ``after_design`` the re-check's, weighted the
    same way within its own sample and frame; ``stacked`` both rounds' rows with those final
    weights, calibrated with the round crossed into the cells. ``after_nonresponse`` is the
    re-check's non-response report; ``weighting`` one sentence per round and one for the
    stacked design (what notebook 05 says about its weights).
    """

    before: RunInputs
    before_design: SurveyDesign
    after_survey: pd.DataFrame
    after_frame: pd.DataFrame
    after_design: SurveyDesign
    stacked: SurveyDesign
    label: str
    after_nonresponse: RunNonresponse
    weighting: tuple[str, ...] = ()


def _with_round_columns(survey: pd.DataFrame, round_name: str) -> pd.DataFrame:
    return survey.assign(**{
        ROUND: round_name,
        "after": int(round_name == AFTER),
        "water_in_home": (survey["water_access"] == "in_home").astype("int64"),
    })


def check_overlap(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """A household in both rounds must keep its household size (one problem a line)."""
    sizes = before.drop_duplicates("household_id").set_index("household_id")["household_size"]
    known = after["household_id"].isin(sizes.index).to_numpy()
    earlier = sizes.reindex(after["household_id"]).to_numpy()
    bad = np.flatnonzero(known & (after["household_size"].to_numpy() != earlier))
    if bad.size == 0:
        return
    label = str(after.attrs.get("source", "re-check survey"))
    main = str(before.attrs.get("source", "the survey"))
    problems = [
        Problem(label, int(i) + 2, "household_size", str(after["household_size"].iloc[i]),
                f"{int(earlier[i])}, the size of household {after['household_id'].iloc[i]} "
                f"in {main} (a household in both rounds keeps its size)")
        for i in bad
    ]
    report = ValidationReport(label, "survey", len(after), problems)
    raise ProblemsError(report.summary())


def check_shared_villages(before: pd.DataFrame, after: pd.DataFrame,
                          design: Mapping[str, Any]) -> None:
    """A village in both rounds must have one first-stage inclusion probability (fpc).

    The stacked design makes such a village one PSU (:func:`stacked_design`), with one
    ``pi_i`` in Brewer's approximation (one fpc value); a re-check drawn with other village
    probabilities (another measure of size or number of villages) is not one PPS sample
    with the assessment, and the run stops with a one-line error naming the first such
    row.

    Examples
    --------
    >>> import pandas as pd
    >>> block = {"psu": ["village", "household_id"], "fpc": ["village_prob", "household_prob"]}
    >>> before = pd.DataFrame({"village": ["V1", "V2"], "village_prob": [0.2, 0.3]})
    >>> check_shared_villages(before, before.assign(village_prob=[0.2, 0.3]), block)
    >>> check_shared_villages(before, before.assign(village_prob=[0.2, 0.4]), block)
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: re-check survey row 3, column village_prob: 0.4 ...
    """
    fpc = design.get("fpc")
    first = fpc[0] if isinstance(fpc, list | tuple) and fpc else fpc
    psu = design.get("psu")
    village = psu[0] if isinstance(psu, list | tuple) and psu else psu
    if (not isinstance(first, str) or not isinstance(village, str)
            or not all(c in t.columns for c in (first, village) for t in (before, after))):
        return
    earlier = (before.drop_duplicates(village).set_index(village)[first]
               .pipe(pd.to_numeric, errors="coerce"))
    known = after[village].isin(earlier.index).to_numpy()
    was = earlier.reindex(after[village]).to_numpy(dtype=float)
    now = pd.to_numeric(after[first], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(known & ~np.isclose(now, was, rtol=1e-9, atol=0))
    if bad.size == 0:
        return
    i = int(bad[0])
    label = str(after.attrs.get("source", "re-check survey"))
    raise EvalkitError(
        f"{label} row {i + 2}, column {first}: {now[i]:.10g} for village "
        f"{after[village].iloc[i]}, which has {was[i]:.10g} in the assessment; a village in "
        "both rounds is one PSU of the stacked design and needs one inclusion probability "
        "(draw the re-check with the assessment's village probabilities, or analyse the "
        "rounds with psu: village and no fpc)")


def load_followup(data: Mapping[str, str], design: Mapping[str, Any],
                  followup: Mapping[str, Any], params_dir: str | Path | None = None,
                  calibration: Mapping[str, Any] | None = None,
                  nonresponse: Mapping[str, Any] | None = None,
                  prepared: str | Path | None = None) -> FollowupInputs:
    """Load both rounds (validated as the main survey), weight each, and stack them.

    ``calibration`` and ``nonresponse`` are the params' blocks, as for
    :func:`evalkit.assessment.inputs.load_inputs`, so both rounds carry the weights of the
    main run:

    * **before**: exactly notebook 02's design (``load_inputs(data, design, params_dir,
      calibration, nonresponse)``): weights ``w_i* = w_i sum_c w / sum_{c, resp} w`` within
      the non-response cells ``c``, then calibrated (``w_i g_i``, with ``sum_i w_i g_i x_i =
      t_x`` the frame's totals; Deville and Sarndal 1992);
    * **after**: the same two steps within the re-check's own sample (its ``responded`` /
      ``replaces`` columns, when it has them) and to the totals of ``followup.frame``. Without
      one, to the main frame's totals: the re-check samples the same county's households, and
      its villages and design weights come from that frame (the same registration
      population), so its weights expand to that frame's totals; calibrating both rounds to
      the same known totals also keeps a chance difference in the estimated mix of household
      types out of the change. A re-check drawn from an updated registration (households
      that exited or were added since) should name its frame in ``followup.frame``, whose
      totals are then the re-check's population;
    * **stacked**: both rounds' rows with their non-response adjusted weights, calibrated
      with ``by="round"`` (:func:`evalkit.assessment.county_totals.frame_calibration`): the
      calibration cells (or model columns) are crossed with the round, so each row's weight
      is its own round's calibrated weight and the linearization residualises each round's
      influence values on its own calibration variables, as R's ``postStratify(design,
      ~round + household_type, ...)`` on the stacked data (Lumley 2010, sec. 7.4).
    """
    base = Path(params_dir) if params_dir else Path.cwd()
    design = dict(design)
    calibration = None if calibration is None else dict(calibration)
    # ``prepared``: the run's inputs read once (load_inputs' argument), for the first round.
    before = load_inputs(dict(data), design, params_dir, calibration=calibration,
                         nonresponse=None if nonresponse is None else dict(nonresponse),
                         prepared=prepared)
    frame_spec = followup.get("frame") or data["frame"]
    after_frame = load_frame(resolve_data_path(frame_spec, base))
    after_path = resolve_data_path(followup["survey"], base)
    if after_path.read_bytes() == before.survey_path.read_bytes():
        # Every change would be exactly 0 with a zero-width interval: no re-check at all.
        raise EvalkitError(
            f"followup.survey: {after_path.name} is the same file as data.survey "
            f"({before.survey_path.name}); a re-check is a new round of interviews, so give "
            "the re-check sample's own file")
    after, after_sample = load_sample(after_path, frame=after_frame)
    check_overlap(before.survey, after)
    check_shared_villages(before.survey, after, design)
    if "village_type" not in after.columns:
        village_type = after_frame.set_index("village")["village_type"]
        after = after.assign(village_type=after["village"].astype(str).map(village_type))
        after_sample = after_sample.assign(
            village_type=after_sample["village"].astype(str).map(village_type))
    after, after_response = adjust_sample(after, after_sample, design.get("weights"),
                                          nonresponse, after_path.name)
    before_rows = _with_round_columns(before.survey, BEFORE)
    after_rows = _with_round_columns(after, AFTER)
    before_design, _ = calibrate_design(
        checked_design(before_rows, design, before.frame, before.survey_path.name),
        before.frame, calibration)
    after_design, after_note = calibrate_design(
        checked_design(after_rows, design, after_frame, after_path.name), after_frame,
        calibration)
    both = pd.concat([before_rows, after_rows], ignore_index=True)
    stacked = stacked_design(both, design, {BEFORE: before.frame, AFTER: after_frame},
                             calibration)
    drawn = resolve_design(design_columns(both, design), design)[1]
    if isinstance(design.get("psu"), list) and len(design["psu"]) > 1:
        drawn = drawn[:-1] + ("; a village in both rounds is one PSU and each round's "
                              "households are their own sample within it (a household in "
                              "both rounds is two units).")
    frame_text = ("the re-check's frame (followup.frame)" if followup.get("frame")
                  else "the assessment's frame (no followup.frame: the same county)")
    calibrated = bool(calibration) and calibration.get("method", "none") != "none"
    weighting = (
        f"Assessment round (notebook 02's design): {before.nonresponse.note} "
        f"{before.calibration_note}",
        "Re-check round, weighted within its own sample"
        + (f" and calibrated to {frame_text}" if calibrated else "")
        + f": {after_response.note} {after_note}",
        f"Stacked design (the changes): {drawn} Each row keeps its round's final weight; "
        + ("the calibration cells are crossed with the round, so each round is calibrated "
           "to its own frame's totals and its linearization uses its own calibration "
           "residuals." if stacked.is_calibrated else "no calibration."),
    )
    return FollowupInputs(
        before=before, before_design=before_design,
        after_survey=after_rows, after_frame=after_frame,
        after_design=after_design, stacked=stacked,
        label=str(followup.get("label") or "re-check"),
        after_nonresponse=after_response, weighting=weighting,
    )


def stacked_design(rows: pd.DataFrame, design: Mapping[str, Any],
                   frames: Mapping[str, pd.DataFrame],
                   calibration: Mapping[str, Any] | None) -> SurveyDesign:
    """The design of both rounds' ``rows`` (column :data:`ROUND`), each round calibrated to
    its own frame ``frames[round]`` as the params' ``calibration`` block says.

    Calibrating each round separately is calibrating the stack with the round as a domain
    of the calibration: :func:`evalkit.assessment.county_totals.frame_calibration` with
    ``by=ROUND`` crosses the cells with the round (post-stratification) or multiplies each
    model column by the round's indicator (linear, raking). The calibration equations of the
    rounds are then separate, so ``g_i`` is that of the row's round alone, and the residuals
    ``e_i = z_i - x_i' B_r`` used for the variance regress each round's influence values on
    its own variables (Deville and Sarndal 1992; Lumley 2010, sec. 7.4), as R's
    ``postStratify`` / ``calibrate`` on the stacked data with the round in the formula.

    A multistage design (``psu`` a list) keeps the village as the shared first stage and
    makes each round's draw below it its own: a household in both rounds is two last-stage
    units, and, when ``fpc`` names every stage, the round is inserted as a second stage taken
    whole (fpc 1), so for the design as drawn the stages are village (PPS, Brewer), round,
    household-type list (fpc 1), household (SRS, ``household_prob``): R's
    ``svydesign(ids = ~village + list + hh, fpc = ~village_prob + 1 + household_prob,
    pps = "brewer")`` with ``list`` the round crossed with the household type
    (``tests/data/r/make_recheck_asdrawn_reference.R``).
    """
    design = dict(design)
    psu, fpc = design.get("psu"), design.get("fpc")
    if isinstance(psu, list) and len(psu) > 1 and psu[-1] in rows.columns:
        # A household interviewed in both rounds is two last-stage units (each round drew
        # it with its own probability); villages stay shared, so their covariance counts.
        rows = rows.assign(_round_unit=rows[ROUND].astype(str) + "/"
                           + rows[psu[-1]].astype(str))
        design["psu"] = [*psu[:-1], "_round_unit"]
        if isinstance(fpc, list) and len(fpc) == len(psu):
            # Below the village each round drew its own sample (a fresh SRS of households
            # from each list): the round is a stage taken whole (fpc 1) inside the village,
            # so each round's households are centred on their own round's list mean.
            design["psu"] = [psu[0], ROUND, *design["psu"][1:]]
            design["fpc"] = [fpc[0], 1, *fpc[1:]]
    built = build_design(rows, design)
    if not calibration or calibration.get("method", "none") == "none":
        return built
    totals = list(calibration.get("totals") or DEFAULT_FRAME_TOTALS)
    frame = pd.concat([frame.assign(**{ROUND: name}) for name, frame in frames.items()],
                      ignore_index=True)
    return frame_calibration(built, frame, str(calibration["method"]), totals, by=ROUND)


def _change(stacked: SurveyDesign, spec: IndicatorSpec, level: float) -> dict[str, float]:
    sub = stacked
    if spec.domain is not None:
        sub = stacked.subset(domain_rows(stacked.data, spec.domain))
    denominator = spec.denominator if spec.kind == "people" else None
    est = difference(sub, spec.numerator, ROUND, (BEFORE, AFTER), denominator=denominator,
                     level=level)
    rounds = round_scores(sub, spec.numerator, ROUND, (BEFORE, AFTER), denominator)
    return {"change": est.estimate, "se": est.se, "ci_low": est.ci[0],
            "ci_high": est.ci[1], "df": est.df, **_independent(rounds.covariance)}


def _independent(covariance: np.ndarray) -> dict[str, float]:
    """``se_independent = sqrt(V1 + V2)``, the change's SE if the rounds shared no village,
    and the rounds' correlation (the covariance the shared villages add)."""
    v1, v2 = float(covariance[0, 0]), float(covariance[1, 1])
    denom = float(np.sqrt(v1 * v2))
    return {"se_independent": float(np.sqrt(max(v1 + v2, 0.0))),
            "correlation": float(covariance[0, 1]) / denom if denom > 0 else float("nan")}


def _incidence_change(stacked: SurveyDesign, frames: tuple[pd.DataFrame, pd.DataFrame],
                      level: float) -> dict[str, float]:
    """Change of ``(P_ne + R_m P_nr + R_w P_ex) / P`` between the rounds (frames per round)."""
    data = stacked.data
    missed = round_scores(stacked.subset(domain_rows(data, "nonpoor")), "people_missed",
                          ROUND, (BEFORE, AFTER), "household_size")
    wrong = round_scores(stacked.subset(domain_rows(data, "exited")), "people_wrongly_exited",
                         ROUND, (BEFORE, AFTER), "household_size")
    values, per_round = [], np.zeros((len(data), 2))
    for j, frame in enumerate(frames):
        t = frame_totals(frame)
        rural = t["people_total"]
        values.append((t["people_not_exited"] + missed.estimates[j] * t["people_nonregistered"]
                       + wrong.estimates[j] * t["people_exited"]) / rural)
        per_round[:, j] = (t["people_nonregistered"] * missed.scores[:, j]
                           + t["people_exited"] * wrong.scores[:, j]) / rural
    change = values[1] - values[0]
    covariance = stacked.variance_of_totals(per_round)
    contrast = np.array([-1.0, 1.0])
    se = float(np.sqrt(max(float(contrast @ covariance @ contrast), 0.0)))
    df = stacked.df
    q = t_quantile(level, df)
    return {"change": change, "se": se, "ci_low": change - q * se, "ci_high": change + q * se,
            "df": df, **_independent(covariance)}


def target_status(low: float, high: float, target: float, direction: str) -> str:
    """Whether a target is reached, by the one decision rule (``survey.decision.decide``).

    ``low``/``high`` are the interval shown for the re-check round's estimate; ``direction``
    is ``below`` or ``at_least``. A pass is :data:`REACHED`, a fail :data:`NOT_REACHED`,
    anything else :data:`CANNOT_TELL` (the words of the ``target_status`` column).
    """
    decision = decide((low, high), target, direction)
    return {"pass": REACHED, "fail": NOT_REACHED}.get(str(decision), CANNOT_TELL)


def change_table(inputs: FollowupInputs, thresholds: Mapping[str, float],
                 targets: Mapping[str, float] | None = None, method: str = "logit",
                 level: float = 0.95) -> pd.DataFrame:
    """One row per indicator: each round's estimate and verdict, the change and its interval,
    whether the change is distinguishable from zero, and the target's status.

    ``se`` is the change's standard error with the covariance the shared villages add
    (``V1 + V2 - 2 V12``), ``se_independent`` the one the rounds would have without it
    (``sqrt(V1 + V2)``), ``correlation`` the rounds' correlation."""
    targets = dict(targets or {})
    rounds = {
        BEFORE: assess(inputs.before_design, inputs.before.frame, dict(thresholds),
                       method=method, level=level),
        AFTER: assess(inputs.after_design, inputs.after_frame, dict(thresholds),
                      method=method, level=level),
    }
    specs = [r.spec for r in rounds[BEFORE]] + [WATER]
    for name, design in ((BEFORE, inputs.before_design), (AFTER, inputs.after_design)):
        rounds[name].append(estimate_indicator(design, WATER, method=method, level=level))
    rows = []
    for i, spec in enumerate(specs):
        before, after = rounds[BEFORE][i], rounds[AFTER][i]
        if spec.key == INCIDENCE.key:
            change = _incidence_change(inputs.stacked, (inputs.before.frame,
                                                        inputs.after_frame), level)
        else:
            change = _change(inputs.stacked, spec, level)
        target = targets.get(spec.key)
        status = ""
        if target is not None:
            status = target_status(*after.estimate.ci, target, spec.direction)
        rows.append({
            "indicator": spec.key, "label": spec.label_en, "label_zh": spec.label_zh,
            "kind": "headline" if spec in (*HEADLINE, INCIDENCE) else "secondary",
            "before": before.estimate.estimate, "after": after.estimate.estimate,
            **change,
            "distinguishable": bool(change["ci_low"] > 0 or change["ci_high"] < 0),
            "decision_before": before.decision or "",
            "decision_after": after.decision or "",
            "threshold": before.threshold,
            "target": target, "target_status": status,
        })
    for key, column in COUNT_TARGETS.items():
        if key in targets:
            rows.append(_count_row(inputs, key, column, float(targets[key]), level))
    table = pd.DataFrame(rows)
    order = [*TABLE_COLUMNS, *(c for c in table.columns if c not in TABLE_COLUMNS)]
    return table[order]


def _count_row(inputs: FollowupInputs, key: str, column: str, target: float,
               level: float) -> dict[str, Any]:
    """Registered households with ``column`` = 1 in each round (totals) and the change."""
    stacked = inputs.stacked.subset(domain_rows(inputs.stacked.data, "registered"))
    totals = round_scores(stacked, column, ROUND, (BEFORE, AFTER), statistic="total")
    contrast = np.array([-1.0, 1.0])
    change = float(contrast @ totals.estimates)
    se = float(np.sqrt(contrast @ totals.covariance @ contrast))
    q = t_quantile(level, totals.df)
    after = inputs.after_design.subset(domain_rows(inputs.after_design.data, "registered"))
    estimate = after.total(column, level=level)
    return {
        "indicator": key, "label": locale.text(f"followup.count.{key}", "en"),
        "label_zh": locale.text(f"followup.count.{key}", "zh"),
        "kind": "target", "before": float(totals.estimates[0]),
        "after": float(totals.estimates[1]), "change": change, "se": se,
        "ci_low": change - q * se, "ci_high": change + q * se, "df": totals.df,
        **_independent(totals.covariance),
        "distinguishable": bool(change - q * se > 0 or change + q * se < 0),
        "decision_before": "", "decision_after": "", "threshold": None, "target": target,
        "target_status": target_status(estimate.ci[0], estimate.ci[1], target, "at_least"),
    }


def recognition_explained(inputs: FollowupInputs, formula: str, level: float = 0.95
                          ) -> pd.DataFrame:
    """How many points of the change in recognition the measured changes explain.

    :func:`evalkit.survey.decomposition.fairlie` on the stacked design with the round as the group
    (linearized), water access and reimbursement as the factors and the satisfaction
    formula's other covariates as controls. Signs are turned so that each row is a part of
    the change ``after - before``; ``share_of_change`` is its share of the total change.
    """
    from evalkit.assessment.defaults import DECOMPOSITION_FACTORS, DECOMPOSITION_OUTCOME
    from evalkit.survey.decomposition import controls_from_formula, fairlie

    controls = controls_from_formula(formula, group="after", factors=DECOMPOSITION_FACTORS)
    result = fairlie(inputs.stacked, outcome=DECOMPOSITION_OUTCOME, group="after",
                     factors=DECOMPOSITION_FACTORS, controls=controls,
                     method="linearization", level=level)
    table = result.table.copy()
    gap = table["component"] == "gap"
    out = pd.DataFrame({
        "component": np.where(gap, "change", table["component"]),
        "estimate": -table["estimate"],
        "se": table["se"],
        "ci_low": -table["ci_high"],
        "ci_high": -table["ci_low"],
        "share_of_change": table["share_of_gap"],
    })
    rates = out["component"].str.startswith("rate_")
    out.loc[rates, ["estimate", "ci_low", "ci_high"]] *= -1
    out.loc[rates, ["ci_low", "ci_high"]] = out.loc[rates, ["ci_high", "ci_low"]].to_numpy()
    out.loc[rates, "component"] = np.where(out.loc[rates, "component"].str.endswith("_0"),
                                           "rate_before", "rate_after")
    return out.reset_index(drop=True)


def sample_table(inputs: FollowupInputs) -> pd.DataFrame:
    """One row: the re-check's label, households, villages, and villages in both rounds.

    Notebook 05 writes it as ``followup_sample.csv`` for the policy page's section.
    """
    return pd.DataFrame([{"label": inputs.label, **sample_counts(inputs)}])


def sample_counts(inputs: FollowupInputs) -> dict[str, int]:
    """Households and villages of the re-check, and villages visited in both rounds."""
    before = set(inputs.before.survey["village"].astype(str))
    after = set(inputs.after_survey["village"].astype(str))
    return {"households": len(inputs.after_survey), "villages": len(after),
            "shared": len(before & after)}
