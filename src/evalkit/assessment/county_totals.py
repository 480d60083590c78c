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

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

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
DEFAULT_FRAME_TOTALS: tuple[str, ...] = ("hh_registered", "hh_exited", "hh_not_exited",
                                         "hh_nonregistered")
_TYPE_OF = {"exited": "exited", "not_exited": "not_exited", "nonregistered": "nonregistered"}


def frame_calibration(design: SurveyDesign, frame: pd.DataFrame, method: str = "poststratify",
                      totals: Sequence[str] = DEFAULT_FRAME_TOTALS) -> SurveyDesign:
    """``design`` calibrated to the sampling frame's county totals ``totals``.

    ``method``: ``"none"`` (the design unchanged), ``"poststratify"`` (household totals
    only: cells are the household types, or registered / non-registered when only those
    totals are named), ``"linear"`` or ``"raking"`` (:func:`calibrate` without an
    intercept, on one column per total: the household-type indicator for ``hh_*``, the
    household size within the type for ``people_*``). ``hh_registered`` is implied by
    ``hh_exited`` and ``hh_not_exited`` together and then adds no constraint. The frame
    covers every village of the county, so its sums are the population totals.
    """
    if method not in CALIBRATION_METHODS:
        raise EvalkitError(f"calibration: method {method!r}; expected one of "
                           + ", ".join(CALIBRATION_METHODS))
    if method == "none":
        return design
    check_full(design, "calibration")
    names = list(dict.fromkeys(totals))
    unknown = [n for n in names if n not in FRAME_TOTALS]
    if unknown or not names:
        raise EvalkitError(
            f"calibration: totals {', '.join(unknown) or '(none)'}; expected frame totals "
            "among " + ", ".join(FRAME_TOTALS)
        )
    county = _frame_sums(frame)
    for needed in ("household_type", "household_size"):
        if needed not in design.data.columns:
            raise EvalkitError(f"calibration: the survey has no {needed!r} column")
    if {"hh_exited", "hh_not_exited"} <= set(names) and "hh_registered" in names:
        names.remove("hh_registered")
    types = design.data["household_type"].astype(str)
    if method == "poststratify":
        if any(n.startswith("people_") for n in names):
            raise EvalkitError(
                "calibration: poststratify reaches household totals only; use method "
                "linear or raking for people totals"
            )
        if set(names) == {"hh_exited", "hh_not_exited", "hh_nonregistered"}:
            counts = {t: county[f"hh_{t}"] for t in _TYPE_OF}
            return poststratify(design, "household_type", counts)
        if set(names) == {"hh_registered", "hh_nonregistered"}:
            registered = types.isin(["exited", "not_exited"]).map({True: "registered",
                                                                  False: "nonregistered"})
            data = design.data.assign(_registered=registered.to_numpy())
            counts = {"registered": county["hh_registered"],
                      "nonregistered": county["hh_nonregistered"]}
            step_design = copy.copy(design)
            object.__setattr__(step_design, "data", data)
            out = poststratify(step_design, "_registered", counts)
            object.__setattr__(out, "data", design.data)
            return out
        raise EvalkitError(
            "calibration: poststratify needs the totals of a partition of households: "
            "hh_exited, hh_not_exited and hh_nonregistered, or hh_registered and "
            "hh_nonregistered"
        )
    size = pd.to_numeric(design.data["household_size"], errors="coerce").to_numpy(float)
    columns = []
    for name in names:
        kind, what = name.split("_", 1)
        member = (types.isin(["exited", "not_exited"]) if what == "registered"
                  else types == what).to_numpy(dtype=float)
        columns.append(member if kind == "hh" else member * size)
    matrix = np.column_stack(columns)
    population = np.array([county[n] for n in names])
    return calibrate_matrix(design, matrix, names, population, method,
                             f"calibrate ({method}) to frame totals {', '.join(names)}")


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


def compare_indicators(uncalibrated: SurveyDesign, calibrated: SurveyDesign,
                       frame: pd.DataFrame, thresholds: Mapping[str, float],
                       method: str = "logit", level: float = 0.95) -> pd.DataFrame:
    """The headline indicators from both designs, side by side, with the change in SE
    (``se_change`` = calibrated SE / uncalibrated SE - 1) and both decisions."""
    from evalkit.assessment.indicators import assess

    before = assess(uncalibrated, frame, dict(thresholds), method=method, level=level,
                    secondary=False)
    after = assess(calibrated, frame, dict(thresholds), method=method, level=level,
                   secondary=False)
    rows = []
    for old, new in zip(before, after, strict=True):  # a handful of indicators
        rows.append({
            "indicator": old.spec.key,
            "label": old.spec.label_en,
            "estimate_uncalibrated": old.estimate.estimate,
            "se_uncalibrated": old.estimate.se,
            "estimate_calibrated": new.estimate.estimate,
            "se_calibrated": new.estimate.se,
            "ci_low_calibrated": new.estimate.ci[0],
            "ci_high_calibrated": new.estimate.ci[1],
            # rounded so that an SE calibration leaves unchanged shows 0, not 1e-15
            "se_change": (round(new.estimate.se / old.estimate.se - 1, 10)
                          if old.estimate.se > 0 else float("nan")),
            "decision_uncalibrated": old.decision,
            "decision_calibrated": new.decision,
        })
    return pd.DataFrame(rows)
