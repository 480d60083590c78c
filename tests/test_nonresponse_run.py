"""Non-response end to end: the survey's responded / replaces columns, the params'
nonresponse block, the run's adjusted design, its table and its caution.

R reference: tests/data/r/make_nonresponse_reference.R (weighting-class adjustment, then
svydesign on the adjusted weights: svymean with deff, svytotal, proportion).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evalkit import SurveyDesign
from evalkit.assessment import inputs as assessment
from evalkit.assessment.fragility import nonresponse_cautions
from evalkit.assessment.nonresponse import NO_INFORMATION, adjust_sample
from evalkit.contract.data import load_sample, load_survey, validate_file
from evalkit.contract.errors import EvalkitError, ProblemsError
from evalkit.contract.paths import package_data_dir
from evalkit.report.cautions import caution_text
from evalkit.run.params import DEFAULTS, validate
from evalkit.survey.nonresponse import adjust_for_nonresponse

# The cells a run uses by default (evalkit.assessment.defaults).
CELLS = ("household_type", "village")

R_DIR = Path(__file__).parent / "data" / "r"
REFERENCE = json.loads((R_DIR / "nonresponse_reference.json").read_text())
ANSWERS = ["people_wrongly_exited", "people_missed", "recognition", "water_access",
           "reimbursement_share", "dibao", "industry_support", "microcredit",
           "public_welfare_job", "income_per_head"]


def _first(value) -> float:
    return float(np.ravel(value)[0])


# --- against R ------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "cells"), [("type_village", ["household_type", "village"]),
                                            ("type", ["household_type"])])
def test_adjusted_estimates_equal_r(key, cells):
    sample = pd.read_csv(R_DIR / "nonresponse_sample.csv")
    ref = REFERENCE["nonresponse"][key]
    result = adjust_for_nonresponse(sample, cells=cells, min_respondents=1, max_factor=1e9)
    assert result.notes == []
    respondents = result.respondents(sample)
    assert list(respondents["household_id"]) == ref["household_id"]
    np.testing.assert_allclose(respondents["weight"], ref["weights"], rtol=1e-10)
    design = SurveyDesign(respondents, psu="village", weights="weight")
    mean, total, prop = design.mean("y"), design.total("y"), design.mean("rec")
    assert mean.estimate == pytest.approx(ref["mean"]["estimate"], rel=1e-10)
    assert mean.se == pytest.approx(_first(ref["mean"]["se"]), rel=1e-10)
    assert mean.deff == pytest.approx(_first(ref["mean"]["deff"]), rel=1e-10)
    assert total.estimate == pytest.approx(ref["total"]["estimate"], rel=1e-10)
    assert total.se == pytest.approx(_first(ref["total"]["se"]), rel=1e-10)
    assert prop.estimate == pytest.approx(ref["prop"]["estimate"], rel=1e-10)
    assert prop.se == pytest.approx(_first(ref["prop"]["se"]), rel=1e-10)
    # the adjustment moved weight: the unadjusted respondents' mean differs from R's
    plain = SurveyDesign(sample.loc[sample["responded"] == 1], psu="village",
                         weights="weight").mean("y")
    assert abs(plain.estimate - ref["mean"]["estimate"]) > 1e-6


def test_all_responded_is_a_no_op():
    sample = pd.read_csv(R_DIR / "nonresponse_sample.csv").assign(responded=1)
    result = adjust_for_nonresponse(sample, cells=CELLS)
    np.testing.assert_allclose(result.weights, sample["weight"], rtol=1e-15)
    assert (result.table["factor"] == 1).all() and result.notes == []


def test_a_cell_without_respondents_is_pooled_with_a_note():
    sample = pd.read_csv(R_DIR / "nonresponse_sample.csv")
    cell = (sample["village"] == "V01") & (sample["household_type"] == "exited")
    sample.loc[cell, "responded"] = 0
    result = adjust_for_nonresponse(sample, cells=CELLS, min_respondents=1, max_factor=1e9)
    assert result.weights.sum() == pytest.approx(sample["weight"].sum(), rel=1e-12)
    assert "pooled into household_type cells" in result.notes[0]
    assert "went to all respondents of the household_type cell" in result.notes[1]
    assert set(result.final_cell[cell.to_numpy()]) == {"household_type: exited (spread)"}
    # the other cells of the type keep their own factor, raised by the same spread
    other = (sample["household_type"] == "exited") & ~cell & (sample["responded"] == 1)
    ratio = result.weights[other.to_numpy()] / sample.loc[other, "weight"]
    assert ratio.nunique() > 1
    # weights are preserved within the pooled cell (the household type)
    kept = pd.Series(result.weights).groupby(sample["household_type"]).sum()
    assert kept["exited"] == pytest.approx(
        sample.loc[sample["household_type"] == "exited", "weight"].sum(), rel=1e-12)


# --- the survey file ------------------------------------------------------------------
@pytest.fixture
def county(tmp_path) -> Path:
    """The packaged county with ~15% of households marked as not responded (answers
    emptied), frame beside it."""
    folder = tmp_path / "county"
    folder.mkdir()
    shutil.copy(package_data_dir() / "frame.csv", folder / "frame.csv")
    survey = pd.read_csv(package_data_dir() / "survey.csv", dtype=str, keep_default_na=False)
    rng = np.random.default_rng(7)
    responded = (rng.uniform(size=len(survey)) > 0.15).astype(int)
    survey["responded"] = responded
    survey.loc[responded == 0, ANSWERS] = ""
    survey.to_csv(folder / "survey.csv", index=False)
    return folder


def _rewrite(folder: Path, change) -> Path:
    survey = pd.read_csv(folder / "survey.csv", dtype=str, keep_default_na=False)
    survey = change(survey)
    survey.to_csv(folder / "survey.csv", index=False)
    return folder / "survey.csv"


def test_non_respondents_need_no_answers_and_leave_the_analysis_file(county):
    survey, sample = load_sample(county / "survey.csv", frame=county / "frame.csv")
    assert len(sample) == 2025 and set(sample["responded"]) == {0, 1}
    assert len(survey) == int(sample["responded"].sum())
    assert (survey["responded"] == 1).all()
    assert not set(sample.columns) & set(ANSWERS)  # no answer of a non-respondent is kept
    assert len(load_survey(county / "survey.csv")) == len(survey)


def test_run_inputs_carry_the_adjusted_weights(county):
    inputs = assessment.load_inputs({"frame": str(county / "frame.csv"),
                                     "survey": str(county / "survey.csv")},
                                    dict(DEFAULTS["design"]), None,
                                    dict(DEFAULTS["calibration"]),
                                    dict(DEFAULTS["nonresponse"]))
    result = inputs.nonresponse
    assert result.informed
    sampled = pd.read_csv(county / "survey.csv")
    # the adjusted design weights add up to the sampled households' design weights
    assert inputs.uncalibrated.weight_values.sum() == pytest.approx(
        sampled["weight"].sum(), rel=1e-9)
    table = result.table
    assert list(table.columns) == ["cell", "sampled", "responded", "replaced", "interviewed",
                                   "response_rate", "factor", "pooled_into"]
    assert table["sampled"].sum() == 2025
    assert table["responded"].sum() == len(inputs.survey)
    assert 0.8 < table["responded"].sum() / table["sampled"].sum() < 0.9
    assert (table["pooled_into"] != "").any()  # thin cells of the sample were pooled
    assert any("pooled into household_type" in n for n in result.notes)
    # within a cell that was not pooled the factor is the inverse weighted response rate
    # (equal weights within a village and type)
    own = table.loc[table["pooled_into"] == ""].iloc[0]
    assert own["factor"] == pytest.approx(own["sampled"] / own["responded"], rel=1e-9)
    assert "responded" in result.note and "before calibration" in result.note
    # calibration still hits the frame's totals on top of the adjustment
    assert inputs.design.weight_values.sum() == pytest.approx(
        inputs.frame["hh_total"].sum(), rel=1e-9)


def test_without_information_nothing_is_invented():
    inputs = assessment.load_inputs({"frame": "packaged:frame.csv",
                                     "survey": "packaged:survey.csv"},
                                    dict(DEFAULTS["design"]), None)
    assert not inputs.nonresponse.informed
    assert inputs.nonresponse.table.empty
    assert inputs.nonresponse.note == NO_INFORMATION
    assert "weight_before_nonresponse" not in inputs.survey


def test_chinese_header_and_flags(county):
    path = _rewrite(county, lambda s: s.rename(columns={"responded": "是否应答"}).assign(
        是否应答=lambda d: d["是否应答"].map({"1": "是", "0": "否"})))
    survey, sample = load_sample(path)
    assert set(sample["responded"]) == {0, 1} and (survey["responded"] == 1).all()


def test_a_bad_responded_value_is_one_line(county):
    _rewrite(county, lambda s: s.assign(responded=s["responded"].where(
        s.index != 4, "maybe")))
    report = validate_file(county / "survey.csv")
    lines = [str(p) for p in report.problems]
    assert lines == ["survey.csv, row 6, column responded: value 'maybe': expected 0 or 1 "
                     "(否/是): 1 if the household was interviewed, 0 if it was sampled but "
                     "not interviewed"]
    with pytest.raises(ProblemsError):
        load_survey(county / "survey.csv")


def test_a_respondent_still_needs_its_answers(county):
    def change(s):
        row = s.index[s["responded"] == "1"][0]
        s.loc[row, "recognition"] = ""
        return s
    _rewrite(county, change)
    report = validate_file(county / "survey.csv")
    assert len(report.problems) == 1 and report.problems[0].column == "recognition"


# --- reserves ---------------------------------------------------------------------------
def _with_reserves(folder: Path, n: int = 20) -> tuple[Path, list[str]]:
    """Mark n non-respondents as replaced: a reserve row of the same village and type
    (copied answers, empty weight) names them in ``replaces``."""
    survey = pd.read_csv(folder / "survey.csv", dtype=str, keep_default_na=False)
    full = pd.read_csv(package_data_dir() / "survey.csv", dtype=str, keep_default_na=False)
    silent = survey.index[survey["responded"] == "0"][:n]
    reserves = full.loc[silent].copy()
    reserves["household_id"] = reserves["household_id"] + "-R1"
    reserves["replaces"] = survey.loc[silent, "household_id"].to_numpy()
    reserves["responded"] = "1"
    reserves["weight"] = ""
    survey["replaces"] = ""
    out = pd.concat([survey, reserves], ignore_index=True)
    out.to_csv(folder / "survey.csv", index=False)
    return folder / "survey.csv", list(reserves["replaces"])


def test_reserves_take_the_weight_of_the_household_they_replaced(county):
    path, replaced = _with_reserves(county)
    survey, sample = load_sample(path, frame=county / "frame.csv")
    reserve = survey.loc[survey["replaces"].astype(str).isin(replaced)]
    assert len(reserve) == 20
    weight_of = sample.set_index("household_id")["weight"]
    np.testing.assert_allclose(reserve["weight"], weight_of.loc[reserve["replaces"]])
    adjusted, result = adjust_sample(survey, sample, "weight",
                                     {"cells": ["household_type", "village"],
                                      "min_cell_respondents": 1, "max_factor": 10.0})
    table = result.table
    assert table["replaced"].sum() == 20
    assert table["sampled"].sum() == 2025  # reserves are not sampled households
    assert table["interviewed"].sum() == len(survey)
    assert adjusted["weight"].sum() == pytest.approx(sample.loc[
        sample["replaces"].astype(str).isin(["", "nan"]), "weight"].sum(), rel=1e-9)
    # a cell whose every non-respondent was replaced keeps factor 1
    full = table.loc[(table["interviewed"] == table["sampled"])
                     & (table["responded"] < table["sampled"])]
    assert len(full) and (full["factor"] == 1).all()
    assert any("replaced by reserve households" in n for n in result.notes)


def test_replaces_without_a_responded_column_marks_the_replaced(county):
    path, replaced = _with_reserves(county)
    _rewrite(county, lambda s: s.loc[(s["responded"] == "1")
                                     | s["household_id"].isin(replaced)]
             .drop(columns="responded"))
    survey, sample = load_sample(path)
    assert set(sample.loc[sample["household_id"].isin(replaced), "responded"]) == {0}
    assert (sample.loc[~sample["household_id"].isin(replaced), "responded"] == 1).all()


@pytest.mark.parametrize(("change", "expected"), [
    (lambda s: s.assign(replaces=s["replaces"].where(s["replaces"] == "", "NOPE")),
     "expected the household_id of a sampled household in this file"),
    (lambda s: s.assign(responded=s["responded"].where(
        ~s["household_id"].isin(s["replaces"]), "1")), "expected a household that did not "
     "respond"),
    (lambda s: s.assign(village=s["village"].where(s["replaces"] == "", "V001")),
     "expected a household of the same village and household type"),
])
def test_bad_replacements_are_one_line_each(county, change, expected):
    _with_reserves(county, n=1)
    _rewrite(county, change)
    report = validate_file(county / "survey.csv", frame_path=county / "frame.csv")
    assert report.problems, report.summary()
    assert any(expected in str(p) for p in report.problems), report.summary()
    assert all("\n" not in str(p) for p in report.problems)


# --- params and cautions -----------------------------------------------------------------
@pytest.mark.parametrize(("block", "message"), [
    ({"min_cell_respondents": -1}, "nonresponse.min_cell_respondents: -1 is out of range"),
    ({"cells": ["household_type", "income"]},
     "nonresponse.cells: 'income' is not a weighting-cell column"),
    ({"max_factor": 1}, "nonresponse.max_factor: 1 is out of range"),
    ({"cellz": ["village"]}, "unknown key 'nonresponse.cellz'"),
])
def test_bad_nonresponse_params_are_one_line(block, message):
    with pytest.raises(EvalkitError, match=message) as info:
        validate({"nonresponse": block}, "p.yaml", check_files=False)
    assert "\n" not in str(info.value)


def test_a_cell_column_missing_from_the_survey_is_one_line(county):
    survey, sample = load_sample(county / "survey.csv")
    with pytest.raises(EvalkitError, match="nonresponse.cells: column 'stratum' is not in "
                       "survey.csv") as info:
        adjust_sample(survey, sample, "weight", {"cells": ["stratum"]}, "survey.csv")
    assert "\n" not in str(info.value)


def test_low_response_gets_a_caution_in_both_languages():
    table = pd.DataFrame({"cell": ["exited / V1", "not_exited / V1"],
                          "response_rate": [0.95, 0.62]})
    (caution,) = nonresponse_cautions(table)
    english = caution_text(caution, "en")
    assert "1 of 2 weighting cells" in english and "62%" in english
    assert "无应答" in caution_text(caution, "zh") and "62%" in caution_text(caution, "zh")
    assert nonresponse_cautions(table.assign(response_rate=0.9)) == []
    assert nonresponse_cautions(pd.DataFrame(columns=["cell", "response_rate"])) == []


# --- the whole run ----------------------------------------------------------------------
@pytest.mark.slow
def test_a_run_with_non_response_reaches_every_report(county, tmp_path):
    from evalkit.run.pipeline import run

    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({
        "run_name": "nonresponse", "data": {"frame": str(county / "frame.csv"),
                                            "survey": str(county / "survey.csv")}}))
    run(params, tmp_path / "out", progress=None)
    folder = tmp_path / "out" / "nonresponse"
    tables = folder / "tables"
    table = pd.read_csv(tables / "nonresponse.csv")
    assert table["sampled"].sum() == 2025
    rate = table["responded"].sum() / table["sampled"].sum()
    assert 0.8 < rate < 0.9
    assert (table["response_rate"] < 0.8).any()
    html = "".join(p.read_text(encoding="utf-8") for p in folder.rglob("*.html"))
    assert "Non-response: in " in html  # the policy page's caution
    assert "sampled households responded" in html  # notebook 02's section
