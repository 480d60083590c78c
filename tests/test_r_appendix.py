"""The appendix for referees: R code rebuilding the run's design and headline estimates."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from evalkit import SurveyDesign
from evalkit.assessment import indicators
from evalkit.assessment.inputs import load_inputs
from evalkit.report import r_appendix
from evalkit.report.formatting import rounded
from evalkit.run.params import DEFAULTS

FORMULA = DEFAULTS["satisfaction"]["formula"]


def _inputs(calibration=None):
    return load_inputs(DEFAULTS["data"], DEFAULTS["design"], None,
                       calibration if calibration is not None else DEFAULTS["calibration"],
                       DEFAULTS["nonresponse"])


def test_the_svydesign_call_follows_the_design_not_a_fixed_string():
    data = pd.DataFrame({"village": list("aabbccdd"), "stratum": list("xxxxyyyy"),
                         "pi": [0.5, 0.5, 0.3, 0.3, 0.2, 0.2, 0.4, 0.4],
                         "weight": [20.0] * 8, "household_type": "exited",
                         "household_size": 3, "recognizes": [1, 0] * 4})
    frame = pd.DataFrame({"hh_exited": [10], "hh_not_exited": [5], "hh_nonregistered": [50]})
    pps = SurveyDesign(data, "village", strata="stratum", weights="weight", fpc="pi",
                       pps="brewer")
    script = r_appendix.r_script(pps, frame, calibration=None, level=0.9,
                                 ci_method="logit", formula=None)
    assert ('svydesign(ids = ~village, strata = ~stratum, weights = ~weight, fpc = ~pi, '
            'pps = "brewer", data = households)') in script
    assert "postStratify" not in script and "svyglm" not in script
    assert "level = 0.9" in script
    plain = SurveyDesign(data, "village", weights="weight", lonely_psu="adjust")
    script = r_appendix.r_script(plain, frame, calibration={"method": "poststratify"},
                                 level=0.95, ci_method="beta", formula="recognizes ~ nonpoor")
    assert "svydesign(ids = ~village, weights = ~weight, data = households)" in script
    assert 'options(survey.lonely.psu = "adjust")' in script
    assert 'Freq = c(10, 5, 50)' in script and "postStratify(des, ~household_type" in script
    assert 'method = "beta"' in script
    assert "svyglm(recognizes ~ nonpoor, design = des, family = quasibinomial())" in script
    frame = frame.assign(people_exited=[31])
    linear = r_appendix.r_script(plain, frame, calibration={
        "method": "raking", "totals": ["hh_exited", "people_exited"]}, level=0.95,
        ci_method="logit", formula=None)
    assert ('cal_people_exited = as.numeric(household_type == "exited") * household_size'
            in linear)
    assert "population = c(cal_hh_exited = 10, cal_people_exited = 31), calfun = cal.raking" in (
        linear)


def test_appendix_files_weights_and_incidence_line(tmp_path):
    inputs = _inputs()
    paths = r_appendix.write_r_appendix(inputs.uncalibrated, inputs.frame, tmp_path,
                                        calibration=DEFAULTS["calibration"], level=0.95,
                                        ci_method="logit", formula=FORMULA,
                                        final=inputs.design)
    assert [p.name for p in paths] == list(r_appendix.APPENDIX_FILES)
    data = pd.read_csv(paths[1])
    assert {"village", "weight", "household_type", "recognizes", "log_income"} <= set(data)
    assert not {"name", "id_number", "phone", "household_id"} & set(data)
    weights = pd.read_csv(paths[2]).set_index("household_type")
    # Calibrated: the final weights of each type add up to the frame's households.
    for kind in ("exited", "not_exited", "nonregistered"):
        assert weights.loc[kind, "sum"] == pytest.approx(inputs.frame[f"hh_{kind}"].sum())
    assert "central provinces' line (2%)" in r_appendix.incidence_line_sentence(0.02)
    assert "western provinces' line (3%)" in r_appendix.incidence_line_sentence(0.03)
    assert "neither" in r_appendix.incidence_line_sentence(0.025)
    lines = r_appendix.appendix_lines(inputs.uncalibrated, {"incidence": 0.03})
    # The default design as drawn: three stages, the household's stage by row (no ids).
    assert ('svydesign(ids = ~village + household_type + household_row, weights = ~weight, '
            'fpc = ~village_prob + fpc_stage2 + household_prob, pps = "brewer", '
            'data = households)') in lines[0]
    assert "household_row" in data and data["household_row"].is_unique
    assert "western" in lines[-1]


def _has_r_survey() -> bool:
    if shutil.which("Rscript") is None:
        return False
    probe = subprocess.run(["Rscript", "-e", "library(survey)"], capture_output=True,
                           timeout=120, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _has_r_survey(), reason="R with the survey package is not installed")
def test_the_generated_script_reproduces_the_runs_numbers_in_r(tmp_path):
    inputs = _inputs()
    results = indicators.assess(inputs.design, inputs.frame, DEFAULTS["thresholds"],
                                method="logit", level=0.95)
    rounded(indicators.indicator_table(results), 10).to_csv(tmp_path / "indicators.csv",
                                                            index=False)
    fit = inputs.design.logit(FORMULA)
    rounded(fit.summary_frame(0.95).reset_index(), 10).to_csv(tmp_path / "coefficients.csv",
                                                              index=False)
    r_appendix.write_r_appendix(inputs.uncalibrated, inputs.frame, tmp_path,
                                calibration=DEFAULTS["calibration"], level=0.95,
                                ci_method="logit", formula=FORMULA, final=inputs.design)
    done = subprocess.run(["Rscript", "r_appendix.R"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    worst = float(done.stdout.split("largest relative difference: ")[1].split()[0])
    assert worst < 1e-6
    assert done.stdout.count("relative difference") >= 8 + 2 * len(fit.params)
    # A changed number in the run's table makes the script fail: it compares, not prints.
    table = pd.read_csv(tmp_path / "indicators.csv")
    table.loc[table["indicator"] == "recognition", "estimate"] += 0.001
    table.to_csv(tmp_path / "indicators.csv", index=False)
    failed = subprocess.run(["Rscript", "r_appendix.R"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300, check=False)
    assert failed.returncode != 0 and "differ by more than 1e-6" in failed.stderr
    assert np.isfinite(worst)
