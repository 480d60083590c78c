"""Calibration of a run's design to the sampling frame's county totals.

The registration system knows exactly how many households are exited, not yet exited and
non-registered in the county (and how many people they hold): the frame's ``hh_*`` and
``people_*`` columns, summed over its villages. The params' ``calibration`` block names the
method and the totals; :func:`frame_calibration` builds the cells or the model matrix from
the survey's ``household_type`` and ``household_size`` and calls the generic engine in
:mod:`evalkit.survey.calibration` (R's ``postStratify`` / ``calibrate``). Kept apart from the
engine, which knows nothing of the assessment's columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import CALIBRATION_METHODS
from evalkit.survey.calibration import calibrate_matrix, check_full, poststratify

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign


#: Frame totals a run may calibrate to, and the survey quantity each one totals.
FRAME_TOTALS: dict[str, str] = {
    "hh_registered": "registered households (exited + not exited)",
    "hh_exited": "exited households",
    "hh_not_exited": "households not yet exited",
    "hh_nonregistered": "non-registered households",
    "people_exited": "people in exited households",
    "people_not_exited": "people in households not yet exited",
    "people_nonregistered": "people in non-registered households",
}
#: The totals a run calibrates to when its params name none: households and people of each
#: type (R: ``calibrate(~household_type + household_size:household_type)``).
DEFAULT_FRAME_TOTALS: tuple[str, ...] = ("hh_exited", "hh_not_exited", "hh_nonregistered",
                                         "people_exited", "people_not_exited",
                                         "people_nonregistered")
#: Post-stratification reaches household counts only: its default partition.
POSTSTRATIFY_FRAME_TOTALS: tuple[str, ...] = ("hh_registered", "hh_exited", "hh_not_exited",
                                              "hh_nonregistered")
_TYPE_OF = {"exited": "exited", "not_exited": "not_exited", "nonregistered": "nonregistered"}


def default_totals(method: str) -> tuple[str, ...]:
    """The frame totals ``method`` calibrates to when the params name none.

    Examples
    --------
    >>> default_totals("poststratify")
    ('hh_registered', 'hh_exited', 'hh_not_exited', 'hh_nonregistered')
    >>> default_totals("raking")[-1]
    'people_nonregistered'
    """
    return POSTSTRATIFY_FRAME_TOTALS if method == "poststratify" else DEFAULT_FRAME_TOTALS


def calibrate_reaching_what_it_can(design: SurveyDesign, frame: pd.DataFrame, method: str,
                                   totals: Sequence[str] | None = None, by: str | None = None
                                   ) -> tuple[SurveyDesign, str | None]:
    """:func:`frame_calibration`, falling back to household counts when the people totals
    cannot be reached; returns the design and, after a fallback, the reason in a sentence.

    People totals are reached by moving weight between large and small households; a small
    or uneven sample may not allow it with positive weights (linear calibration then gives
    negative weights, raking does not converge: Deville and Sarndal 1992). The run must still
    give a county its estimates, so it post-stratifies on the household types instead and
    says so; any other calibration error is raised as it is.

    Examples
    --------
    >>> from evalkit.assessment.inputs import load_inputs
    >>> inputs = load_inputs({"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
    ...                      {"psu": "village", "weights": "weight"})
    >>> calibrated, fallback = calibrate_reaching_what_it_can(inputs.design, inputs.frame,
    ...                                                      "raking")
    >>> calibrated.is_calibrated, fallback
    (True, None)
    """
    names = list(totals if totals is not None else default_totals(method))
    try:
        return frame_calibration(design, frame, method, names, by=by), None
    except EvalkitError as error:
        households = [t for t in names if not t.startswith("people_")]
        # only the solver's "cannot reach these totals" (calibrate: ...); a wrong method,
        # total or frame (calibration: ...) is the user's to fix
        if (method == "poststratify" or len(households) == len(names)
                or not str(error).startswith("calibrate:")):
            raise
        partition = [t for t in households if t != "hh_registered"] or list(
            POSTSTRATIFY_FRAME_TOTALS)
        try:
            fallback = frame_calibration(design, frame, "poststratify", partition, by=by)
        except EvalkitError:
            raise error from None
        reason = str(error).removeprefix("calibrate: ").rstrip(".")
        return fallback, (
            f"The frame's people totals cannot be reached with this sample ({reason}): the "
            f"weights are post-stratified on household counts only ({', '.join(partition)}), "
            "so the weighted people need not equal the frame's.")


def frame_calibration(design: SurveyDesign, frame: pd.DataFrame, method: str = "raking",
                      totals: Sequence[str] | None = None, by: str | None = None
                      ) -> SurveyDesign:
    """``design`` calibrated to the sampling frame's county totals ``totals``.

    ``method``: ``"none"`` (the design unchanged), ``"poststratify"`` (household totals
    only: cells are the household types, or registered / non-registered when only those
    totals are named), ``"linear"`` or ``"raking"`` (:func:`calibrate` without an
    intercept, on one column per total: the household-type indicator for ``hh_*``, the
    household size within the type for ``people_*``). ``hh_registered`` is implied by
    ``hh_exited`` and ``hh_not_exited`` together and then adds no constraint. The frame
    covers every village of the county, so its sums are the population totals.

    ``by`` names a column of both the survey and the frame (the county, in a province's
    stacked design): each of its groups is calibrated to its own frame's totals. The cells
    are crossed with the groups (post-stratification) or every model column is multiplied
    by each group's indicator (linear, raking): the calibration equations of the groups
    are then separate, so the weights are those of calibrating each group alone, and the
    residuals of the linearization (Deville and Sarndal 1992; Lumley 2010, sec. 7.4) are
    each group's own.
    """
    if method not in CALIBRATION_METHODS:
        raise EvalkitError(f"calibration: method {method!r}; expected one of "
                           + ", ".join(CALIBRATION_METHODS))
    if method == "none":
        return design
    check_full(design, "calibration")
    names = list(dict.fromkeys(totals if totals is not None else default_totals(method)))
    unknown = [n for n in names if n not in FRAME_TOTALS]
    if unknown or not names:
        raise EvalkitError(
            f"calibration: totals {', '.join(unknown) or '(none)'}; expected frame totals "
            "among " + ", ".join(FRAME_TOTALS)
        )
    for needed in ("household_type", "household_size"):
        if needed not in design.data.columns:
            raise EvalkitError(f"calibration: the survey has no {needed!r} column")
    if by is None:
        group = np.zeros(len(design.data), dtype=int)
        sums = [_frame_sums(frame)]
        labels: list[str] = []
    else:
        if by not in design.data.columns or by not in frame.columns:
            raise EvalkitError(f"calibration: by={by!r} must be a column of the survey and "
                               "of the frame")
        labels = sorted(frame[by].astype(str).unique())
        group = pd.Categorical(design.data[by].astype(str), categories=labels).codes
        if np.any(group < 0):
            raise EvalkitError(f"calibration: a survey row's {by} is not in the frame")
        groups = frame[by].astype(str)
        sums = [_frame_sums(part) for _, part in frame.groupby(groups, sort=True)]
    if {"hh_exited", "hh_not_exited"} <= set(names) and "hh_registered" in names:
        names.remove("hh_registered")
    types = design.data["household_type"].astype(str)
    if method == "poststratify":
        return _poststratify_types(design, names, types, sums, by, labels)
    size = pd.to_numeric(design.data["household_size"], errors="coerce").to_numpy(float)
    columns, population, column_names = [], [], []
    for name in names:
        kind, what = name.split("_", 1)
        member = (types.isin(["exited", "not_exited"]) if what == "registered"
                  else types == what).to_numpy(dtype=float)
        value = member if kind == "hh" else member * size
        for k, county in enumerate(sums):
            columns.append(value * (group == k))
            population.append(county[name])
            column_names.append(name if by is None else f"{labels[k]}:{name}")
    return calibrate_matrix(design, np.column_stack(columns), column_names,
                            np.array(population), method,
                            f"calibrate ({method}) to frame totals {', '.join(names)}"
                            + ("" if by is None else f" within each {by}"))


def _poststratify_types(design: SurveyDesign, names: list[str], types: pd.Series,
                        sums: list[dict[str, float]], by: str | None, labels: list[str]
                        ) -> SurveyDesign:
    """The post-stratification branch of :func:`frame_calibration`."""
    if any(n.startswith("people_") for n in names):
        raise EvalkitError(
            "calibration: poststratify reaches household totals only; use method "
            "linear or raking for people totals"
        )
    keys = [None] if by is None else labels

    def cell(key: str | None, level: str) -> Any:
        return level if key is None else (key, level)

    if set(names) == {"hh_exited", "hh_not_exited", "hh_nonregistered"}:
        counts = {cell(key, t): county[f"hh_{t}"]
                  for key, county in zip(keys, sums, strict=True) for t in _TYPE_OF}
        return poststratify(design, "household_type" if by is None else [by, "household_type"],
                            counts)
    if set(names) == {"hh_registered", "hh_nonregistered"}:
        registered = types.isin(["exited", "not_exited"]).map({True: "registered",
                                                              False: "nonregistered"})
        data = design.data.assign(_registered=registered.to_numpy())
        counts = {cell(key, level): county[f"hh_{level}"]
                  for key, county in zip(keys, sums, strict=True)
                  for level in ("registered", "nonregistered")}
        out = poststratify(design.rebased(data),
                           "_registered" if by is None else [by, "_registered"], counts)
        return out.rebased(design.data)
    raise EvalkitError(
        "calibration: poststratify needs the totals of a partition of households: "
        "hh_exited, hh_not_exited and hh_nonregistered, or hh_registered and "
        "hh_nonregistered"
    )


def frame_total_check(design: SurveyDesign, frame: pd.DataFrame,
                      before: SurveyDesign | None = None) -> pd.DataFrame:
    """Weighted survey totals of every :data:`FRAME_TOTALS` quantity beside the frame's
    (``weighted_survey``), and with ``before`` (the uncalibrated design) its totals too
    (``weighted_uncalibrated``)."""
    county = _frame_sums(frame)
    types = design.data["household_type"].astype(str)
    size = pd.to_numeric(design.data["household_size"], errors="coerce").to_numpy(float)
    w = design.weight_values
    w_before = None if before is None else before.weight_values
    rows = []
    for name, label in FRAME_TOTALS.items():
        kind, what = name.split("_", 1)
        member = (types.isin(["exited", "not_exited"]) if what == "registered"
                  else types == what).to_numpy(dtype=float)
        value = member if kind == "hh" else member * size
        row = {"total": name, "label": label, "frame": county[name]}
        if w_before is not None:
            row["weighted_uncalibrated"] = float(w_before @ value)
        row["weighted_survey"] = float(w @ value)
        rows.append(row)
    return pd.DataFrame(rows)


def _frame_sums(frame: pd.DataFrame) -> dict[str, float]:
    needed = ["hh_exited", "hh_not_exited", "hh_nonregistered", "people_exited",
              "people_not_exited", "people_nonregistered"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise EvalkitError("calibration: the frame has no column " + ", ".join(missing))
    sums = {c: float(pd.to_numeric(frame[c]).sum()) for c in needed}
    sums["hh_registered"] = sums["hh_exited"] + sums["hh_not_exited"]
    return sums


def households_only(uncalibrated: SurveyDesign, frame: pd.DataFrame,
                    calibration: Mapping[str, Any] | None) -> SurveyDesign | None:
    """The design post-stratified on household counts only, when the run's ``calibration``
    block also reaches people totals: beside the run's design it shows what the people
    margins themselves change (:func:`compare_indicators`' ``households``). None when the
    block names no people total (or calibrates nothing).

    Examples
    --------
    >>> from evalkit.assessment.inputs import load_inputs
    >>> inputs = load_inputs({"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
    ...                      {"psu": "village", "weights": "weight"})
    >>> households_only(inputs.design, inputs.frame, {"method": "raking"}).is_calibrated
    True
    >>> households_only(inputs.design, inputs.frame, {"method": "poststratify"}) is None
    True
    """
    if not calibration or calibration.get("method", "none") == "none":
        return None
    method = str(calibration["method"])
    totals = calibration.get("totals") or default_totals(method)
    if not any(str(t).startswith("people_") for t in totals):
        return None
    return frame_calibration(uncalibrated, frame, "poststratify",
                             ["hh_exited", "hh_not_exited", "hh_nonregistered"])


def compare_indicators(uncalibrated: SurveyDesign, calibrated: SurveyDesign,
                       frame: pd.DataFrame, thresholds: Mapping[str, float],
                       method: str = "logit", level: float = 0.95,
                       households: SurveyDesign | None = None) -> pd.DataFrame:
    """The headline indicators from both designs, side by side, with the change in SE
    (``se_change`` = calibrated SE / uncalibrated SE - 1) and both decisions.

    ``households``: the design calibrated to household counts only (when the run's
    calibration adds people totals), whose estimate and SE are added as
    ``estimate_households_only`` and ``se_households_only``, so the people margins' own
    effect shows.
    """
    from evalkit.assessment.indicators import assess

    before = assess(uncalibrated, frame, dict(thresholds), method=method, level=level,
                    secondary=False)
    after = assess(calibrated, frame, dict(thresholds), method=method, level=level,
                   secondary=False)
    middle = (None if households is None else
              assess(households, frame, dict(thresholds), method=method, level=level,
                     secondary=False))
    rows = []
    for k, (old, new) in enumerate(zip(before, after, strict=True)):  # a handful
        extra = {} if middle is None else {
            "estimate_households_only": middle[k].estimate.estimate,
            "se_households_only": middle[k].estimate.se}
        rows.append({
            "indicator": old.spec.key,
            "label": old.spec.label_en,
            "estimate_uncalibrated": old.estimate.estimate,
            "se_uncalibrated": old.estimate.se,
            **extra,
            "estimate_calibrated": new.estimate.estimate,
            "se_calibrated": new.estimate.se,
            "ci_low_calibrated": new.estimate.ci[0],
            "ci_high_calibrated": new.estimate.ci[1],
            # rounded so that an SE calibration leaves unchanged shows 0, not 1e-15; + 0.0
            # turns the -0.0 that rounding -1e-17 gives into 0.0 (its sign is float noise)
            "se_change": (round(new.estimate.se / old.estimate.se - 1, 10) + 0.0
                          if old.estimate.se > 0 else float("nan")),
            "decision_uncalibrated": old.decision,
            "decision_calibrated": new.decision,
        })
    return pd.DataFrame(rows)
