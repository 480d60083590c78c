"""SurveyDesign against R survey 4.1-1 on the reference designs of the design brief.

Reference values (tests/data/r_survey_reference.json) were computed by R; every estimate,
standard error and interval bound must agree within 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import SurveyDesign

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "r_survey_reference.json").read_text())
RTOL = 1e-6
METHODS = ["logit", "likelihood", "asin", "beta", "mean", "xlogit"]


def _api(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name)
    frame["hi"] = (frame["api00"] > 700).astype(int)
    frame["lo"] = (frame["api00"] < 500).astype(int)
    return frame


DESIGNS = {
    "clus1_fpc": lambda: SurveyDesign(_api("apiclus1.csv"), psu="dnum", weights="pw",
                                      fpc="fpc"),
    "clus1_nofpc": lambda: SurveyDesign(_api("apiclus1.csv"), psu="dnum", weights="pw"),
    "strat_fpc": lambda: SurveyDesign(_api("apistrat.csv"), strata="stype", weights="pw",
                                      fpc="fpc"),
}


@pytest.fixture(scope="module", params=sorted(DESIGNS))
def case(request):
    return DESIGNS[request.param](), REFERENCE[request.param]


def test_degrees_of_freedom(case):
    design, ref = case
    assert design.df == ref["degf"]


def test_mean(case):
    design, ref = case
    result = design.mean("api00")
    assert result.estimate == pytest.approx(ref["mean_api00"]["estimate"], rel=RTOL)
    assert result.se == pytest.approx(ref["mean_api00"]["se"], rel=RTOL)


def test_ratio(case):
    design, ref = case
    result = design.ratio("api00", "api99")
    assert result.estimate == pytest.approx(ref["ratio_api00_over_api99"]["estimate"], rel=RTOL)
    assert result.se == pytest.approx(ref["ratio_api00_over_api99"]["se"], rel=RTOL)


@pytest.mark.parametrize("variable", ["hi", "lo"])
def test_proportion_se_and_deff(case, variable):
    design, ref = case
    expected = ref[f"prop_{variable}"]
    result = design.proportion(variable)
    assert result.se == pytest.approx(expected["se"], rel=RTOL)
    assert result.deff == pytest.approx(expected["deff"], rel=RTOL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("variable", ["hi", "lo"])
def test_proportion_interval(case, variable, method):
    design, ref = case
    expected = ref[f"prop_{variable}"][method]
    result = design.proportion(variable, method=method, level=0.95)
    assert result.estimate == pytest.approx(expected["estimate"], rel=RTOL)
    assert result.ci[0] == pytest.approx(expected["ci"][0], rel=RTOL)
    assert result.ci[1] == pytest.approx(expected["ci"][1], rel=RTOL)
    assert result.df == ref["degf"]


def test_interval_contains_estimate(case):
    design, _ = case
    for method in METHODS:
        result = design.proportion("hi", method=method)
        assert result.ci[0] < result.estimate < result.ci[1]
        assert np.isfinite(result.se)
