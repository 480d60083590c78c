"""What every notebook does first: load the run's data and make the survey design once.

Kept here, not in the notebooks, so the four notebooks read the same files the same way and
build the same design object from the ``data`` and ``design`` params.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.assessment.nonresponse import adjust_sample
from evalkit.contract.data import load_frame, load_sample
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import resolve_data_path
from evalkit.survey.design import SurveyDesign

# The SurveyDesign arguments a params file's design block may set.
DESIGN_KEYS = tuple(f.name for f in fields(SurveyDesign) if f.init and f.name not in
                    ("data", "domain"))


@dataclass(frozen=True)
class RunInputs:
    """The validated frame and survey of a run, and the design made from them.

    Examples
    --------
    >>> inputs = load_inputs({"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
    ...                      {"psu": "village", "weights": "weight"})
    >>> inputs.frame_path.name, inputs.survey_path.name, inputs.uncalibrated is inputs.design
    ('frame.csv', 'survey.csv', True)
    """

    frame: pd.DataFrame
    survey: pd.DataFrame
    design: SurveyDesign
    frame_path: Path
    survey_path: Path
    # The design before calibration to the frame's totals (the same object as ``design``
    # when the params' calibration method is none), and a sentence saying what was done.
    uncalibrated: SurveyDesign | None = None
    calibration_note: str = ""
    # What was done about non-response (evalkit.assessment.nonresponse.RunNonresponse): the table of
    # weighting cells and a sentence; the design's weights are already adjusted.
    nonresponse: Any = None
    # Which design was analysed, in a sentence (:func:`resolve_design`): the design as drawn,
    # or the with-replacement fallback when the survey has no probability columns.
    design_note: str = ""


def load_inputs(data: dict[str, str], design: dict[str, Any],
                params_dir: str | Path | None = None,
                calibration: dict[str, Any] | None = None,
                nonresponse: dict[str, Any] | None = None,
                prepared: str | Path | None = None) -> RunInputs:
    """Load frame and survey named by the ``data`` params and build the design.

    ``params_dir`` is the folder of the params file (relative data paths start there);
    ``design`` holds the :class:`SurveyDesign` arguments (psu, strata, weights, fpc,
    lonely_psu). Identifying columns are dropped by the loaders before anything else.
    ``calibration`` is the params' calibration block (method, totals): the design is then
    calibrated to the frame's county totals
    (:func:`evalkit.assessment.county_totals.frame_calibration`)
    and ``uncalibrated`` keeps the design before it.
    Non-response (the survey's ``responded`` / ``replaces`` columns) is adjusted for first,
    within the weighting cells of the params' ``nonresponse`` block (its defaults when None:
    :func:`evalkit.assessment.nonresponse.adjust_sample`), so every notebook's design, calibrated or
    not, carries the adjusted weights; ``survey`` holds the respondents only.

    ``prepared`` is a folder where ``evalkit run`` wrote these inputs once for all its
    notebooks (:func:`evalkit.assessment.prepared.write_prepared`); they are then read from
    it, not from the data files (same numbers; an error if it was made from other files or
    blocks). ``None``, as in a notebook opened on its own: from ``data``.

    Examples
    --------
    The packaged synthetic county, its design from a params ``design`` block:

    >>> inputs = load_inputs({"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
    ...                      {"psu": "village", "weights": "weight"})
    >>> len(inputs.survey), inputs.design.n_psu, inputs.calibration_note
    (2025, 29, 'The weights are the design weights (no calibration).')
    """
    base = Path(params_dir) if params_dir else Path.cwd()
    frame_path = resolve_data_path(data["frame"], base)
    survey_path = resolve_data_path(data["survey"], base)
    if prepared is not None:
        from evalkit.assessment.prepared import read_prepared

        tables = read_prepared(prepared, frame_path, survey_path, design, calibration,
                               nonresponse)
        survey = design_columns(tables.survey, design)
        built = checked_design(survey, design, tables.frame, survey_path.name)
        calibrated, note = calibrate_design(built, tables.frame, calibration)
        return RunInputs(tables.frame, survey, calibrated, frame_path, survey_path,
                         built, note, tables.nonresponse, resolve_design(survey, design)[1])
    frame = load_frame(frame_path)
    survey, sample = load_sample(survey_path, frame=frame)
    if "village_type" not in survey.columns:
        # Disaggregation by village type needs the frame's classification of each village.
        village_type = frame.set_index("village")["village_type"]
        survey = survey.assign(village_type=survey["village"].astype(str).map(village_type))
        sample = sample.assign(village_type=sample["village"].astype(str).map(village_type))
    survey, response = adjust_sample(survey, sample, design.get("weights"),
                                     nonresponse, survey_path.name)
    survey = design_columns(survey, design)
    built = checked_design(survey, design, frame, survey_path.name)
    calibrated, note = calibrate_design(built, frame, calibration)
    return RunInputs(frame, survey, calibrated, frame_path, survey_path, built, note, response,
                     resolve_design(survey, design)[1])


def checked_design(survey: pd.DataFrame, design: dict[str, Any],
                   frame: pd.DataFrame | None, source: str) -> SurveyDesign:
    """The design of ``survey`` from the ``design`` block, with its weights checked.

    The one check shared by ``evalkit run`` (before any kernel starts) and
    ``evalkit validate``, so a file that validates is a file that runs.

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"village": ["V1", "V2"], "weight": [20.0, 30.0]})
    >>> checked_design(survey, {"psu": "village", "weights": "weight"}, None, "survey.csv").n_psu
    2
    >>> checked_design(survey, {"psu": "village", "weights": "w"}, None, "survey.csv")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: survey.csv, row 1 (header), column w: expected ...
    """
    for key in ("psu", "strata", "weights", "fpc"):
        named = design.get(key)
        for column in (named if isinstance(named, list | tuple) else [named]):
            # a missing probability column falls back to villages with replacement
            # (resolve_design), not an error
            if (isinstance(column, str) and column not in survey.columns
                    and column not in PROBABILITY_COLUMNS):
                close = difflib.get_close_matches(column, [str(c) for c in survey.columns],
                                                  n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise EvalkitError(
                    f"{source}, row 1 (header), column {column}: expected a column named "
                    f"{column}, which the params' design.{key} names; the file has none"
                    f"{hint} (add it, or name another column in design)")
    built = build_design(survey, design)
    check_weights(built, frame, source)
    return built


#: Weights summing to less than this share of the frame's households are not expansion
#: weights: a well-drawn sample's weights add up to about the county's households, while
#: weights normalised to the sample size (about 2,000 of a county's 50,000 or more
#: households) fall far below it.
MIN_WEIGHT_SHARE_OF_FRAME = 0.1


def check_weights(design: SurveyDesign, frame: pd.DataFrame | None, source: str) -> None:
    """Refuse weights that cannot be inverse inclusion probabilities.

    Inclusion probabilities given as weights (every value <= 1) or normalised weights (a sum
    far below the frame's households) leave proportions nearly unchanged only by luck and
    make totals wrong; both stop the run with the fix named.

    Examples
    --------
    Inclusion probabilities given where weights were expected:

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"weight": [0.02, 0.03]}), weights="weight")
    >>> check_weights(design, None, "survey.csv")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: survey.csv, ...: every weight is at most 1 ...
    """
    if design.weights is None:
        return
    weights = design.data[design.weights].to_numpy(dtype=float)
    where = f"{source}, column {design.weights} (design.weights)"
    if np.all(weights <= 1.0):
        raise EvalkitError(
            f"{where}: every weight is at most 1 (largest {weights.max():.3g}): these look "
            "like inclusion probabilities, not weights: add a column weight = 1 / probability "
            "and name it in design.weights")
    if frame is None:
        return
    households = float(frame["hh_total"].sum())
    total = float(weights.sum())
    if households > 0 and total < MIN_WEIGHT_SHARE_OF_FRAME * households:
        raise EvalkitError(
            f"{where}: the weights add up to {total:,.0f} households, less than a tenth of "
            f"the frame's {households:,.0f}: expected inverse inclusion probabilities "
            "(normalised or scaled weights give wrong totals): add a column weight = "
            "1 / inclusion probability and name it in design.weights")


def calibrate_design(design: SurveyDesign, frame: pd.DataFrame,
                     calibration: dict[str, Any] | None) -> tuple[SurveyDesign, str]:
    """The design calibrated as the params' calibration block says, and a sentence.

    Examples
    --------
    >>> inputs = load_inputs({"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
    ...                      {"psu": "village", "weights": "weight"})
    >>> calibrated, note = calibrate_design(inputs.design, inputs.frame, {"method": "none"})
    >>> calibrated is inputs.design, note
    (True, 'The weights are the design weights (no calibration).')
    """
    from evalkit.assessment.county_totals import calibrate_reaching_what_it_can, default_totals
    from evalkit.survey.calibration import describe

    if not calibration or calibration.get("method", "none") == "none":
        return design, "The weights are the design weights (no calibration)."
    method = calibration["method"]
    totals = calibration.get("totals") or list(default_totals(method))
    calibrated, fallback = calibrate_reaching_what_it_can(design, frame, method, totals)
    if fallback is not None:
        return calibrated, f"{fallback} {'; '.join(describe(calibrated))}."
    return calibrated, (f"The weights are calibrated to the frame's county totals "
                        f"({', '.join(totals)}) by {method}: {'; '.join(describe(calibrated))}.")


#: Probability columns a design block may name that the run fills in or falls back without:
#: ``household_prob`` is derived as ``incl_prob / village_prob`` when the survey has those
#: two (the packaged county and ``evalkit synth`` write them; ``evalkit draw``'s design.csv
#: has household_prob itself); without them the first stage is analysed with replacement.
PROBABILITY_COLUMNS: tuple[str, ...] = ("village_prob", "household_prob")
#: ``incl_prob / village_prob`` this close to 1 is 1 (a list taken whole; the quotient of the
#: file's rounded probabilities can exceed 1 by about 1e-8).
_WHOLE_LIST_TOLERANCE = 1e-6


def design_columns(survey: pd.DataFrame, design: dict[str, Any]) -> pd.DataFrame:
    """``survey`` with the second-stage probability the ``design`` block names, derived.

    ``household_prob`` (the household's inclusion probability within its village and the
    list it was drawn from, the codebook's optional column) is ``incl_prob / village_prob``
    when the block names it and the survey has both of those, in the rows where it is
    missing (all rows when the survey has no such column); a quotient within 1e-6 of 1 is 1
    (the whole list taken). Otherwise ``survey`` is returned unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"village_prob": [0.5, 0.25], "incl_prob": [0.05, 0.2500000001]})
    >>> design_columns(survey, {"fpc": ["village_prob", 1, "household_prob"]}
    ...                )["household_prob"].tolist()
    [0.1, 1.0]
    """
    fpc = design.get("fpc")
    named = fpc if isinstance(fpc, list | tuple) else [fpc]
    if ("household_prob" not in named
            or not {"incl_prob", "village_prob"} <= set(survey.columns)):
        return survey
    ratio = (pd.to_numeric(survey["incl_prob"], errors="coerce")
             / pd.to_numeric(survey["village_prob"], errors="coerce")).to_numpy(dtype=float)
    ratio = np.where(np.abs(ratio - 1.0) < _WHOLE_LIST_TOLERANCE, 1.0, ratio)
    if "household_prob" in survey.columns:
        # Rows stacked from a file that had the column keep it; the others get the quotient.
        given = pd.to_numeric(survey["household_prob"], errors="coerce").to_numpy(dtype=float)
        if not np.isnan(given).any():
            return survey
        ratio = np.where(np.isnan(given), ratio, given)
    return survey.assign(household_prob=ratio)


def resolve_design(survey: pd.DataFrame, design: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The design block the survey can carry, and a sentence saying which design it is.

    When the block names probability columns (:data:`PROBABILITY_COLUMNS`) the survey does
    not have (a user's own survey without ``village_prob``), the run falls back to the
    villages as drawn with replacement: ``psu`` the first stage, no fpc, no pps (R's
    ``svydesign(ids = ~village, weights = ~weight)``, which overstates the variance of a
    without-replacement draw); the sentence says so. Other missing columns are left to
    :class:`~evalkit.survey.design.SurveyDesign`'s error.

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"village": ["V1", "V2"], "weight": [20.0, 30.0]})
    >>> block, note = resolve_design(survey, {"psu": ["village", "household_id"],
    ...     "weights": "weight", "fpc": ["village_prob", "household_prob"], "pps": "brewer"})
    >>> block["psu"], block["fpc"], block["pps"]
    ('village', None, None)
    >>> note.split(":")[0]
    'The survey has no village_prob or household_prob column'
    """
    fpc = design.get("fpc")
    named = [c for c in (fpc if isinstance(fpc, list | tuple) else [fpc]) if isinstance(c, str)]
    missing = [c for c in named if c in PROBABILITY_COLUMNS and c not in survey.columns]
    if not missing:
        return dict(design), describe_design(design)
    psu = design.get("psu")
    first = psu[0] if isinstance(psu, list | tuple) and psu else psu
    fallback = {**design, "psu": first, "fpc": None, "pps": None}
    return fallback, (
        f"The survey has no {' or '.join(missing)} column: villages are analysed as drawn "
        "with replacement (no finite population correction), which overstates the variance "
        "of a draw without replacement.")


def describe_design(design: dict[str, Any]) -> str:
    """One sentence naming the design a ``design`` block gives.

    Examples
    --------
    >>> describe_design({"psu": "village", "weights": "weight"})
    'Villages are analysed as drawn with replacement (no finite population correction).'
    """
    psu, fpc, pps = design.get("psu"), design.get("fpc"), design.get("pps")
    stages = list(psu) if isinstance(psu, list | tuple) else [psu]
    if pps is not None:
        text = (f"Villages are analysed as drawn by PPS without replacement ({pps.title()}'s "
                f"approximation with their inclusion probabilities, {stages[0]} column "
                f"{(fpc[0] if isinstance(fpc, list | tuple) else fpc)})")
        if len(stages) > 1:
            text += (", households by simple random sampling without replacement within "
                     f"{' and '.join(stages[:-1])} (fraction "
                     f"{fpc[-1] if isinstance(fpc, list | tuple) else fpc})")
        return text + "."
    if fpc is None:
        return "Villages are analysed as drawn with replacement (no finite population correction)."
    return f"The design has a finite population correction at each stage ({fpc})."


def build_design(survey: pd.DataFrame, design: dict[str, Any]) -> SurveyDesign:
    """The survey design from the ``design`` params block.

    The probability columns are completed first (:func:`design_columns`), and a block naming
    probability columns the survey lacks falls back to the with-replacement design
    (:func:`resolve_design`).

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"village": ["V1", "V1", "V2"], "weight": [20.0, 20.0, 30.0]})
    >>> build_design(survey, {"psu": "village", "weights": "weight", "strata": None}).n_psu
    2
    >>> build_design(survey, {"cluster": "village"})
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: design: unknown key(s) cluster; expected psu, ...
    """
    unknown = sorted(set(design) - set(DESIGN_KEYS))
    if unknown:
        raise EvalkitError(
            f"design: unknown key(s) {', '.join(unknown)}; expected {', '.join(DESIGN_KEYS)}"
        )
    survey = design_columns(survey, design)
    design, _ = resolve_design(survey, design)
    options = {k: v for k, v in design.items() if v is not None}
    return SurveyDesign(survey, **options)
