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
