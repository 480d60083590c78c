"""Calibration of the run's design to the frame's county totals (params calibration block)."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.assessment import county_totals as calibration
from evalkit.assessment import inputs as assessment
from evalkit.contract.errors import EvalkitError
from evalkit.run import params

DATA = {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"}
DESIGN = {"psu": "village", "weights": "weight"}
THRESHOLDS = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.9, "incidence": 0.02}


@pytest.fixture(scope="module")
def inputs():
    return assessment.load_inputs(DATA, DESIGN, ".", params.DEFAULTS["calibration"])


def test_params_and_module_agree_on_the_vocabulary():
    # The methods are one tuple (contract.schema); the totals the module can compute must be
    # exactly the names params accepts.
    assert tuple(calibration.FRAME_TOTALS) == params.FRAME_TOTAL_NAMES
    assert tuple(params.DEFAULTS["calibration"]["totals"]) == calibration.DEFAULT_FRAME_TOTALS


def test_default_run_hits_the_frame_household_totals_exactly(inputs):
    check = calibration.frame_total_check(inputs.design, inputs.frame).set_index("total")
    households = check.loc[list(calibration.DEFAULT_FRAME_TOTALS)]
    np.testing.assert_allclose(households["weighted_survey"], households["frame"], rtol=1e-12)
    before = calibration.frame_total_check(inputs.uncalibrated, inputs.frame).set_index("total")
    assert not np.allclose(before.loc["hh_exited", "weighted_survey"],
                           before.loc["hh_exited", "frame"], rtol=1e-3)
    assert "poststratify on household_type" in inputs.calibration_note
    assert inputs.design.is_calibrated and not inputs.uncalibrated.is_calibrated


@pytest.mark.parametrize(("method", "totals"), [
    ("linear", list(calibration.FRAME_TOTALS)),
    ("raking", list(calibration.FRAME_TOTALS)),
    ("poststratify", ["hh_registered", "hh_nonregistered"]),
])
def test_other_methods_reach_their_totals(inputs, method, totals):
    design = calibration.frame_calibration(inputs.uncalibrated, inputs.frame, method, totals)
    check = calibration.frame_total_check(design, inputs.frame).set_index("total")
    np.testing.assert_allclose(check.loc[totals, "weighted_survey"], check.loc[totals, "frame"],
                               rtol=1e-7)


def test_people_totals_equal_calibrate_on_type_indicators(inputs):
    """frame_calibration's matrix is calibrate()'s: no intercept, type x size columns."""
    d = inputs.uncalibrated
    data = d.data
    via_frame = calibration.frame_calibration(d, inputs.frame, "linear",
                                              ["hh_exited", "people_exited"])
    x = np.column_stack([(data["household_type"] == "exited").to_numpy(float),
                         (data["household_type"] == "exited").to_numpy(float)
                         * data["household_size"].to_numpy(float)])
    g = via_frame.weight_values / d.weight_values
    # GREG: g = 1 + x' lambda, so g is constant outside exited households
    assert np.allclose(g[data["household_type"] != "exited"], 1.0)
    coef, *_ = np.linalg.lstsq(x[data["household_type"] == "exited"],
                               g[data["household_type"] == "exited"] - 1, rcond=None)
    np.testing.assert_allclose(x @ coef + 1, g, rtol=1e-10, atol=1e-12)


def test_compare_shows_both_and_the_se_change(inputs):
    table = calibration.compare_indicators(inputs.uncalibrated, inputs.design, inputs.frame,
                                           THRESHOLDS)
    assert table["indicator"].tolist() == ["wrong_exit", "missed", "incidence", "recognition"]
    np.testing.assert_allclose(table["se_change"],
                               table["se_calibrated"] / table["se_uncalibrated"] - 1,
                               atol=1e-10)
    # post-stratifying on household type leaves within-type ratios unchanged
    wrong = table.set_index("indicator").loc["wrong_exit"]
    assert wrong["estimate_calibrated"] == pytest.approx(wrong["estimate_uncalibrated"],
                                                         rel=1e-12)


def test_none_keeps_the_design(inputs):
    design, note = assessment.calibrate_design(inputs.uncalibrated, inputs.frame,
                                               {"method": "none", "totals": []})
    assert design is inputs.uncalibrated and "no calibration" in note


@pytest.mark.parametrize(("method", "totals", "message"), [
    ("poststratify", ["people_exited"], "poststratify reaches household totals only"),
    ("poststratify", ["hh_exited"], "needs the totals of a partition of households"),
    ("linear", ["hh_everything"], "expected frame totals among"),
    ("magic", ["hh_exited"], "method 'magic'"),
])
def test_bad_calibration(inputs, method, totals, message):
    with pytest.raises(EvalkitError, match=message):
        calibration.frame_calibration(inputs.uncalibrated, inputs.frame, method, totals)


def test_params_reject_unknown_totals(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("calibration:\n  totals: [hh_exited, people_everywhere]\n")
    with pytest.raises(EvalkitError, match="calibration.totals: 'people_everywhere' is not a "
                                           "frame total"):
        params.load_params(path)


def test_total_check_with_the_design_before(inputs):
    table = calibration.frame_total_check(inputs.design, inputs.frame,
                                          before=inputs.uncalibrated)
    assert list(table.columns) == ["total", "label", "frame", "weighted_uncalibrated",
                                   "weighted_survey"]
    assert table["weighted_uncalibrated"].sum() != pytest.approx(table["weighted_survey"].sum())


def test_the_default_run_weights_people_as_the_frame_counts_them():
    """The default calibration (households and people by type, linear) makes the weighted
    people in not-yet-exited and exited households the frame's 3,085 and 5,586 (with
    household counts only they are 3,250.8 and 5,481.1), on the design as drawn."""
    from evalkit.assessment.county_totals import frame_total_check
    from evalkit.assessment.inputs import load_inputs
    from evalkit.run.params import DEFAULTS

    inputs = load_inputs(DEFAULTS["data"], DEFAULTS["design"], None, DEFAULTS["calibration"])
    assert inputs.design.pps == "brewer"
    check = frame_total_check(inputs.design, inputs.frame).set_index("total")
    assert check.loc["people_not_exited", "frame"] == 3085
    assert check.loc["people_exited", "frame"] == 5586
    for total in ("people_exited", "people_not_exited", "people_nonregistered", "hh_exited",
                  "hh_not_exited", "hh_nonregistered"):
        assert check.loc[total, "weighted_survey"] == pytest.approx(check.loc[total, "frame"],
                                                                    rel=1e-9)
    households = load_inputs(DEFAULTS["data"], DEFAULTS["design"], None,
                             {"method": "poststratify", "totals": ["hh_exited", "hh_not_exited",
                                                                   "hh_nonregistered"]})
    before = frame_total_check(households.design, households.frame).set_index("total")
    assert before.loc["people_not_exited", "weighted_survey"] == pytest.approx(3250.8, abs=0.1)
