"""What every notebook does first: load the run's data and make the survey design once.

Kept here, not in the notebooks, so the four notebooks read the same files the same way and
build the same design object from the ``data`` and ``design`` params.
"""

from __future__ import annotations

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
        built = checked_design(tables.survey, design, tables.frame, survey_path.name)
        calibrated, note = calibrate_design(built, tables.frame, calibration)
        return RunInputs(tables.frame, tables.survey, calibrated, frame_path, survey_path,
                         built, note, tables.nonresponse)
    frame = load_frame(frame_path)
    survey, sample = load_sample(survey_path, frame=frame)
    if "village_type" not in survey.columns:
        # Disaggregation by village type needs the frame's classification of each village.
        village_type = frame.set_index("village")["village_type"]
        survey = survey.assign(village_type=survey["village"].astype(str).map(village_type))
        sample = sample.assign(village_type=sample["village"].astype(str).map(village_type))
    survey, response = adjust_sample(survey, sample, design.get("weights"),
                                     nonresponse, survey_path.name)
    built = checked_design(survey, design, frame, survey_path.name)
    calibrated, note = calibrate_design(built, frame, calibration)
    return RunInputs(frame, survey, calibrated, frame_path, survey_path, built, note, response)


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
    """
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
    from evalkit.assessment.county_totals import DEFAULT_FRAME_TOTALS, frame_calibration
    from evalkit.survey.calibration import describe

    if not calibration or calibration.get("method", "none") == "none":
        return design, "The weights are the design weights (no calibration)."
    method = calibration["method"]
    totals = calibration.get("totals") or list(DEFAULT_FRAME_TOTALS)
    calibrated = frame_calibration(design, frame, method, totals)
    return calibrated, (f"The weights are calibrated to the frame's county totals "
                        f"({', '.join(totals)}) by {method}: {'; '.join(describe(calibrated))}.")


def build_design(survey: pd.DataFrame, design: dict[str, Any]) -> SurveyDesign:
    """The survey design from the ``design`` params block.

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
    options = {k: v for k, v in design.items() if v is not None}
    return SurveyDesign(survey, **options)
