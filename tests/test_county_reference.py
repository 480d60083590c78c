"""The headline rates on the synthetic county, against R survey 4.1-1.

tests/data/r/make_county_reference.R computed them on county_survey.csv (a copy of the
packaged survey): people-level wrong-exit rate on the exited households (a domain) with
every svyciprop method, recognition over all households, and recognition by township.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evalkit.assessment import indicators
from evalkit.assessment import inputs as assessment

HERE = Path(__file__).parent / "data" / "r"
REF = json.loads((HERE / "county_reference.json").read_text())
METHODS = ["logit", "likelihood", "asin", "beta", "mean", "xlogit"]


@pytest.fixture(scope="module")
def inputs():
    return assessment.load_inputs(
        {"frame": "packaged:frame.csv", "survey": "county_survey.csv"},
        {"psu": "village", "weights": "weight"}, HERE)


def test_degrees_of_freedom(inputs):
    assert inputs.design.df == REF["degf"]


@pytest.mark.parametrize("method", METHODS)
def test_wrong_exit_rate(inputs, method):
    result = indicators.estimate_indicator(inputs.design, indicators.SPECS["wrong_exit"],
                                           method=method)
    expected = REF["wrong_exit"][method]
    assert result.estimate.estimate == pytest.approx(expected["estimate"], rel=1e-6)
    assert result.estimate.ci == pytest.approx(tuple(expected["ci"]), rel=1e-6)


def test_wrong_exit_ratio_se(inputs):
    ratio = inputs.design.subset("exited").ratio("people_wrongly_exited", "household_size")
    assert ratio.estimate == pytest.approx(REF["wrong_exit_ratio"]["estimate"], rel=1e-6)
    assert ratio.se == pytest.approx(REF["wrong_exit_ratio"]["se"], rel=1e-6)


@pytest.mark.parametrize("method", METHODS)
def test_recognition_rate(inputs, method):
    result = inputs.design.proportion("recognizes", method=method)
    expected = REF["recognition"][method]
    assert result.ci == pytest.approx(tuple(expected["ci"]), rel=1e-6)


def test_recognition_by_township(inputs):
    table = inputs.design.mean("recognizes", by="township").set_index("township")
    table = table.loc[REF["recognition_by_township"]["township"]]
    np.testing.assert_allclose(table["estimate"], REF["recognition_by_township"]["estimate"],
                               rtol=1e-6)
    np.testing.assert_allclose(table["se"], REF["recognition_by_township"]["se"], rtol=1e-6)
