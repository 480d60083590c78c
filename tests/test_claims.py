"""Issue 25: design effects explained by their numbers, zero events with a design-based
effective size and the interval method per row, and no full-response claim without evidence.

Each sentence is tested as the pages are: change a number in its input and see the sentence
change, or assert a qualifier when its condition holds and its absence otherwise.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evalkit.assessment import indicators
from evalkit.assessment import nonresponse as nr
from evalkit.assessment.inputs import load_inputs
from evalkit.survey.design import SurveyDesign
from evalkit.survey.intervals import zero_event_interval

DATA = {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"}
DESIGN = {"psu": "village", "weights": "weight"}
CALIBRATION = {"method": "poststratify",
               "totals": ["hh_registered", "hh_exited", "hh_not_exited", "hh_nonregistered"]}
THRESHOLDS = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.9, "incidence": 0.02}
PLAN = {"n_villages": 29, "households_per_village": 70}


@pytest.fixture(scope="module")
def inputs():
    return load_inputs(DATA, DESIGN, calibration=CALIBRATION)


@pytest.fixture(scope="module")
def table(inputs):
    return indicators.indicator_table(indicators.assess(inputs.design, inputs.frame,
                                                        THRESHOLDS))


def _row(**values):
    base = {"indicator": "rate", "label": "Rate", "deff": 1.44, "deff_weighting": 1.2,
            "deff_rest": 1.2, "n_effective": 1406.0, "effective_unit": "households",
            "n_households": 2025, "se": 0.01, "ci_method": "logit", "note": ""}
    base.update(values)
    return pd.DataFrame([base])


def _sentence(design=None, uncalibrated=None, **values):
    return indicators.explain_design_effects(_row(**values), design, uncalibrated)[0]


def _design(**options):
    data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3, 4, 4], "weight": 10.0,
                         "N": 0.2, "stratum": [1, 1, 1, 1, 2, 2, 2, 2]})
    return SurveyDesign(data, psu="village", weights="weight", **options)


# --- design effects -----------------------------------------------------------------------
def test_split_columns_multiply_to_the_deff_and_kish_is_the_weights_cv(inputs, table):
    rows = table.set_index("indicator")
    finite = rows["deff"].notna()
    assert np.allclose(rows.loc[finite, "deff_weighting"] * rows.loc[finite, "deff_rest"],
                       rows.loc[finite, "deff"])
    registered = (inputs.design.data["registered"] == 1).to_numpy()
    w = inputs.design.weight_values[registered]
    assert rows.loc["industry_support", "deff_weighting"] == pytest.approx(
        1 + np.var(w) / np.mean(w) ** 2)
    # a people rate's weighting effect counts people: each household's weight size times
    exited = (inputs.design.data["exited"] == 1).to_numpy()
    w, size = inputs.design.weight_values[exited], inputs.design.data["household_size"][exited]
    people = np.repeat(w, size.to_numpy())
    assert rows.loc["wrong_exit", "deff_weighting"] == pytest.approx(
        1 + np.var(people) / np.mean(people) ** 2)
    assert rows.loc["wrong_exit", "effective_unit"] == "people"
    assert rows.loc["wrong_exit", "n_effective"] == pytest.approx(
        size.sum() / rows.loc["wrong_exit", "deff"])
    assert (rows["deff_weighting"].dropna() >= 1).all()


def test_deff_sentence_follows_its_numbers():
    first = _sentence(deff=1.44, deff_rest=1.2)
    changed = _sentence(deff=1.60, deff_rest=1.33, n_effective=1266.0)
    assert "deff 1.44" in first and "deff 1.60" in changed and "1.44" not in changed
    assert "about 1,406 households" in first and "about 1,266 households" in changed
    assert "factor 1.20" in first
    assert "Effective sample size" not in _sentence(n_effective=float("nan"))


def test_a_deff_below_one_is_never_put_down_to_the_weights():
    for features in (None, _design(), _design(fpc="N"), _design(strata="stratum")):
        text = _sentence(features, deff=0.94, deff_weighting=1.07, deff_rest=0.88)
        assert "below 1" in text
        assert "Unequal weights alone would add variance" in text
        assert not re.search(r"weight\w*[^.;]*(more precise|reduce|help|improve)", text)
        assert "resemble" not in text and "answer alike" not in text
    # with neither strata, fpc nor calibration, the rest below 1 is not given a cause
    plain = _sentence(_design(), deff=0.94, deff_weighting=1.07, deff_rest=0.88)
    assert "the numbers do not say which" in plain and "calibration" not in plain


def test_the_rest_names_only_what_the_design_has():
    clustered = _sentence(_design(), deff=1.44, deff_weighting=1.2, deff_rest=1.2)
    assert "comes from clustering: households in the same village answer alike" in clustered
    assert "finite population correction" not in clustered
    with_fpc = _sentence(_design(fpc="N", pps="brewer"), deff=1.44, deff_weighting=1.2,
                         deff_rest=1.2)
    assert ("adds more variance than the finite population correction (PPS without "
            "replacement) removes") in with_fpc
    stratified = _sentence(_design(strata="stratum"), deff=1.44, deff_rest=1.2)
    assert "than strata removes" in stratified
    people = _sentence(_design(), effective_unit="people")
    assert "people in the same household and village" in people


def test_calibration_is_quoted_and_named_only_where_it_lowered_the_variance(inputs):
    calibrated = inputs.design
    assert calibrated.is_calibrated
    before = _row(se=0.01)
    same = _sentence(calibrated, before, se=0.01, deff=0.94, deff_weighting=1.07,
                     deff_rest=0.88)
    assert "calibration alone multiplied the variance by 1.00" in same
    assert "calibration removes" not in same  # it did not lower the variance
    lower = _sentence(calibrated, before, se=0.009, deff=0.94, deff_weighting=1.07,
                      deff_rest=0.88)
    assert "multiplied the variance by 0.81" in lower
    assert "calibration removes more variance than clustering adds" in lower


def test_incidence_and_zero_event_rows_say_why_they_have_no_deff(table, inputs):
    sentences = indicators.explain_design_effects(table, inputs.design)
    assert sum("no design effect of its own" in s for s in sentences) == 1
    micro = next(s for s in sentences if s.startswith("Microcredit"))
    row = table.set_index("indicator").loc["microcredit"]
    assert f"design effect of {668 / row['n_effective']:.2f}" in micro
    assert f"about {row['n_effective']:,.0f} of the 668 households" in micro


# --- zero events --------------------------------------------------------------------------
def test_microcredit_borrows_the_largest_design_effect_of_its_domain(inputs, table):
    rows = table.set_index("indicator")
    micro = rows.loc["microcredit"]
    assert micro["estimate"] == 0 and micro["ci_method"] == indicators.ZERO_EVENT_METHOD
    siblings = rows.loc[["industry_support", "public_welfare_job"], "deff"]
    assumed = max(siblings.max(), micro["deff_weighting"])
    assert assumed > 1.3  # not the deff of 1 the old rule assumed
    assert micro["n_effective"] == pytest.approx(668 / assumed)
    assert micro["ci_high"] == pytest.approx(
        zero_event_interval(0.0, 668, 0.95, inputs.design.df, design_effect=assumed)[1])
    assert micro["ci_high"] > zero_event_interval(0.0, 668, 0.95, inputs.design.df)[1]
    assert "Industry-support coverage" in micro["note"] and f"{668 / assumed:,.0f}" in \
        micro["note"]
    # every other row keeps the requested method
    assert set(rows.drop(index="microcredit")["ci_method"]) == {"logit"}


def test_zero_event_design_effect_choice():
    assert indicators.zero_event_design_effect(1.07, {"a": 1.41, "b": 0.94})[0] == 1.41
    value, source = indicators.zero_event_design_effect(1.2, {"a": 0.9})
    assert value == 1.2 and "weighting effect" in source  # a sibling's gain is not borrowed
    assert indicators.zero_event_design_effect(1.07)[0] == 1.07


def test_interval_methods_are_named_per_row_from_the_table(table):
    text = indicators.interval_methods(table)
    assert re.search(r"Korn-Graubard with a design-based effective sample size .* for "
                     r"Microcredit take-up", text)
    assert "logit (svyciprop method logit) for Wrong-exit rate" in text
    changed = table.assign(ci_method=table["ci_method"].where(
        table["indicator"] != "recognition", "beta"))
    assert "Korn-Graubard (svyciprop beta) for Recognition rate" in \
        indicators.interval_methods(changed)


def test_ci_method_follows_the_requested_method(inputs):
    results = indicators.assess(inputs.design, inputs.frame, THRESHOLDS, method="beta")
    methods = {r.spec.key: r.ci_method for r in results}
    assert methods["recognition"] == "beta" and methods["wrong_exit"] == "beta"
    assert methods["microcredit"] == indicators.ZERO_EVENT_METHOD


# --- non-response the data shows ------------------------------------------------------------
def test_no_full_response_claim_and_the_shortfall_per_village(inputs):
    lines = nr.response_sentences(inputs.nonresponse, PLAN, inputs.survey, inputs.frame,
                                  CALIBRATION)
    text = " ".join(lines)
    assert "responded" not in text.replace("responded or replaces", "")
    assert "2,025 households were interviewed against the 2,030 the plan sets" in text
    assert "29 villages x 70 households" in text
    assert "5 villages hold fewer than 70: V003 (69), V043 (69), V088 (69), V133 (69), " \
           "V145 (69)" in text
    # the survey's own probabilities were computed for the 69: the data cannot tell why
    assert "computed for the 345 households interviewed" in text
    assert "weights as given are used" in text
    assert ("spreads any shortfall in the weighted totals across each household type it names "
            "(registered, exited, not_exited, nonregistered)") in text
    people = " ".join(nr.response_sentences(inputs.nonresponse, PLAN, inputs.survey,
                                            inputs.frame, {"method": "linear", "totals": [
                                                "hh_exited", "people_exited"]}))
    assert "(hh_exited, people_exited) then spreads" in people and "names (exited)" in people


def test_plan_sentence_follows_the_plan_and_the_data(inputs):
    more = nr.response_sentences(inputs.nonresponse, {**PLAN, "n_villages": 30},
                                 inputs.survey, inputs.frame, None)
    text = " ".join(more)
    # a plan for 30 villages is a plan for another sample: no shortfall of a village claimed
    assert "does not describe this sample (29 villages" in text
    assert "against the 2,100" not in text
    calibrated_away = nr.response_sentences(inputs.nonresponse, PLAN, inputs.survey,
                                            inputs.frame, None)
    assert "without calibration nothing makes up" in " ".join(calibrated_away)
    smaller = nr.response_sentences(inputs.nonresponse, {**PLAN, "households_per_village": 60},
                                    inputs.survey, inputs.frame, None)
    assert "does not describe this sample" in " ".join(smaller)
    assert "No sampling plan" in " ".join(nr.response_sentences(inputs.nonresponse, None))


def test_probabilities_that_imply_more_drawn_show_unmarked_nonresponse(inputs):
    survey = inputs.survey
    dropped = survey.drop(survey.index[survey["village"] == "V007"][:2])
    report = nr.adjust_sample(dropped, dropped, "weight")[1]
    text = " ".join(nr.response_sentences(report, PLAN, dropped, inputs.frame, None))
    assert "V007 (68)" in text and "6 villages hold fewer than 70" in text
    assert "2 more than were interviewed: non-response the survey does not mark" in text


def test_a_survey_at_the_plan_says_so_without_claiming_response():
    survey = pd.DataFrame({"village": ["V1"] * 3 + ["V2"] * 3, "weight": 10.0})
    report = nr.adjust_sample(survey, survey, "weight")[1]
    lines = nr.response_sentences(report, {"n_villages": 2, "households_per_village": 3})
    assert lines[-1] == ("The sample holds the 6 households the plan sets (params sampling: "
                         "2 villages x 3 households).")
    assert not any("all sampled" in line.lower() for line in lines)


def test_a_marked_survey_counts_the_listed_households_against_the_plan():
    sample = pd.DataFrame({"village": ["V1"] * 3 + ["V2"] * 2, "household_id": list("abcde"),
                           "household_type": "exited", "weight": 10.0,
                           "responded": [1, 1, 0, 1, 1]})
    survey = sample[sample["responded"] == 1]
    report = nr.adjust_sample(survey, sample, "weight",
                              {"cells": ["village"], "min_cell_respondents": 1})[1]
    assert report.villages["listed"].tolist() == [3, 2]
    assert report.villages["interviewed"].tolist() == [2, 2]
    lines = nr.response_sentences(report, {"n_villages": 2, "households_per_village": 3})
    assert "4 of 5 sampled households responded" in lines[0]
    assert "5 households were listed as sampled against the 6 the plan sets" in lines[-1]
    assert "V2 (2)" in lines[-1]
