"""SurveyDesign.difference (evalkit.survey.change) against R's svyby(covmat=TRUE) + svycontrast.

tests/data/r/make_change_reference.R made the data (change.csv) and the values; R is not
needed here. Three layouts: shared villages, shared villages with strata, independent samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit import SurveyDesign
from evalkit.contract.errors import EvalkitError
from evalkit.survey.change import round_estimates, round_scores

DATA = Path(__file__).parent / "data" / "r"
REF = json.loads((DATA / "change_reference.json").read_text())
RTOL = 1e-6
LAYOUTS = ["shared", "strata", "independent"]
# name in the reference -> (variable, denominator, domain of exited households only)
QUANTITIES = {
    "mean_rec": ("rec", None, False),
    "mean_size": ("size", None, False),
    "ratio_wrong": ("wrong", "size", False),
    "ratio_wrong_exited": ("wrong", "size", True),
    "mean_rec_exited": ("rec", None, True),
}


@pytest.fixture(scope="module")
def change_data() -> pd.DataFrame:
    return pd.read_csv(DATA / "change.csv")


def _design(data: pd.DataFrame, layout: str) -> SurveyDesign:
    rows = data[data["layout"] == layout].reset_index(drop=True)
    strata = "township" if layout == "strata" else None
    return SurveyDesign(rows, psu="village", strata=strata, weights="w")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("quantity", list(QUANTITIES))
def test_difference_equals_r(change_data, layout, quantity):
    ref = REF[layout][quantity]
    variable, denominator, exited_only = QUANTITIES[quantity]
    design = _design(change_data, layout)
    if exited_only:
        design = design.subset(design.data["exited"].to_numpy() == 1)
    rounds = round_estimates(design, variable, "round", (1, 2), denominator)
    np.testing.assert_allclose(rounds.estimates, ref["estimates"], rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(rounds.covariance, ref["covariance"], rtol=RTOL, atol=1e-14)
    result = design.difference(variable, by="round", levels=(1, 2), denominator=denominator)
    assert result.estimate == pytest.approx(ref["estimate"], rel=RTOL, abs=1e-12)
    assert result.se == pytest.approx(ref["se"], rel=RTOL)
    assert result.df == ref["df"]
    q = stats.t.ppf(0.975, ref["df"])
    assert result.ci == pytest.approx((ref["estimate"] - q * ref["se"],
                                       ref["estimate"] + q * ref["se"]), rel=RTOL, abs=1e-12)


def test_shared_villages_carry_a_covariance(change_data):
    for layout in ("shared", "strata"):
        rounds = round_estimates(_design(change_data, layout), "rec", "round", (1, 2))
        assert rounds.covariance[0, 1] > 0
        assert 0 < rounds.correlation < 1


def test_independent_samples_reduce_to_sum_of_variances(change_data):
    """No shared village: the covariance is zero. Each round's PSU totals are those of its
    own design, so V = V11 + V22 with the stacked design's n/(n-1) factor (24 PSUs) in place
    of each round's (12 PSUs); with the rounds as strata it is exactly V1 + V2."""
    ref = REF["independent"]
    design = _design(change_data, "independent")
    rounds = round_estimates(design, "rec", "round", (1, 2))
    assert rounds.covariance[0, 1] == pytest.approx(0.0, abs=1e-15)
    assert rounds.estimates[0] == pytest.approx(ref["round1_mean_rec"]["estimate"], rel=RTOL)
    assert rounds.estimates[1] == pytest.approx(ref["round2_mean_rec"]["estimate"], rel=RTOL)
    v1, v2 = ref["round1_mean_rec"]["se"] ** 2, ref["round2_mean_rec"]["se"] ** 2
    result = design.difference("rec", by="round", levels=(1, 2))
    assert result.se ** 2 == pytest.approx((24 / 23) * (11 / 12) * (v1 + v2), rel=RTOL)
    by_round = SurveyDesign(design.data, psu="village", strata="round", weights="w")
    exact = by_round.difference("rec", by="round", levels=(1, 2))
    assert exact.se == pytest.approx(np.sqrt(v1 + v2), rel=RTOL)
    assert exact.df == 22


def test_reversed_levels_flip_the_sign(change_data):
    design = _design(change_data, "shared")
    forward = design.difference("rec", by="round", levels=(1, 2))
    backward = design.difference("rec", by="round", levels=(2, 1))
    assert backward.estimate == pytest.approx(-forward.estimate)
    assert backward.se == pytest.approx(forward.se)


def test_difference_errors_are_one_line(change_data):
    design = _design(change_data, "shared")
    with pytest.raises(EvalkitError, match="levels must be two values"):
        design.difference("rec", by="round", levels=(1, 2, 3))
    with pytest.raises(EvalkitError, match="no rows with round == 3"):
        design.difference("rec", by="round", levels=(1, 3))
    with pytest.raises(EvalkitError, match="by column 'wave'"):
        design.difference("rec", by="wave", levels=(1, 2))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_totals_by_round_equal_r(change_data, layout):
    """svyby(~rec, ~round, subset(design, exited == 1), svytotal, covmat = TRUE)."""
    ref = REF[layout]["total_rec_exited"]
    design = _design(change_data, layout)
    design = design.subset(design.data["exited"].to_numpy() == 1)
    totals = round_scores(design, "rec", "round", (1, 2), statistic="total")
    np.testing.assert_allclose(totals.estimates, ref["estimates"], rtol=RTOL)
    np.testing.assert_allclose(totals.covariance, ref["covariance"], rtol=RTOL)
    contrast = np.array([-1.0, 1.0])
    assert float(contrast @ totals.estimates) == pytest.approx(ref["estimate"], rel=RTOL)
    assert np.sqrt(contrast @ totals.covariance @ contrast) == pytest.approx(ref["se"], rel=RTOL)
    assert totals.df == ref["df"]
