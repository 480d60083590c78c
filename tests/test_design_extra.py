"""SurveyDesign on designs beyond the brief's references, against R survey 4.1-1.

tests/data/r/make_extra_reference.R made the data and the values (R is not needed here):
a stratified two-stage sample with fpc at both stages, domains (svyby), lonely PSUs.
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

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "r" / "extra_reference.json").read_text())
RTOL = 1e-6
METHODS = ["logit", "likelihood", "asin", "beta", "mean", "xlogit"]


@pytest.fixture(scope="module")
def twostage() -> pd.DataFrame:
    return pd.read_csv(DATA / "r" / "twostage.csv")


def test_two_stage_with_fpc_at_both_stages(twostage):
    ref = REF["twostage_fpc"]
    design = SurveyDesign(twostage, psu=["village", "household"], strata="stratum",
                          fpc=["fpc1", "fpc2"])
    assert design.df == ref["degf"]
    assert design.weight_values.sum() == pytest.approx(ref["weights_sum"], rel=1e-12)
    mean = design.mean("income")
    assert mean.estimate == pytest.approx(ref["mean_income"]["estimate"], rel=RTOL)
    assert mean.se == pytest.approx(ref["mean_income"]["se"], rel=RTOL)
    total = design.total("wrong")
    assert total.estimate == pytest.approx(ref["total_wrong"]["estimate"], rel=RTOL)
    assert total.se == pytest.approx(ref["total_wrong"]["se"], rel=RTOL)
    ratio = design.ratio("wrong", "size")
    assert ratio.estimate == pytest.approx(ref["ratio_wrong_size"]["estimate"], rel=RTOL)
    assert ratio.se == pytest.approx(ref["ratio_wrong_size"]["se"], rel=RTOL)
    for method in METHODS:
        result = design.proportion("rec", method=method)
        expected = ref["prop_rec"][method]
        assert result.estimate == pytest.approx(expected["estimate"], rel=RTOL)
        assert result.ci == pytest.approx(tuple(expected["ci"]), rel=RTOL), method


def test_second_stage_fpc_adds_within_village_variance(twostage):
    """With-replacement first stage ignores later stages; R gives a different SE."""
    ref = REF["twostage_wr"]
    staged = SurveyDesign(twostage, psu=["village", "household"], strata="stratum",
                          fpc=["fpc1", "fpc2"])
    twostage = twostage.assign(w=staged.weight_values)
    design = SurveyDesign(twostage, psu="village", strata="stratum", weights="w")
    assert design.df == ref["degf"]
    assert design.mean("income").se == pytest.approx(ref["mean_income"]["se"], rel=RTOL)
    ratio = design.ratio("wrong", "size")
    assert ratio.se == pytest.approx(ref["ratio_wrong_size"]["se"], rel=RTOL)
    for method in METHODS:
        result = design.proportion("rec", method=method)
        assert result.ci == pytest.approx(tuple(ref["prop_rec"][method]["ci"]), rel=RTOL)


def test_domains_use_the_full_design():
    ref = REF["clus1_by_stype"]
    api = pd.read_csv(DATA / "apiclus1.csv")
    api["hi"] = (api["api00"] > 700).astype(int)
    design = SurveyDesign(api, psu="dnum", weights="pw", fpc="fpc")
    means = design.mean("api00", by="stype").set_index("stype").loc[ref["levels"]]
    np.testing.assert_allclose(means["estimate"], ref["mean"], rtol=RTOL)
    np.testing.assert_allclose(means["se"], ref["mean_se"], rtol=RTOL)
    ratios = design.ratio("api00", "api99", by="stype").set_index("stype").loc[ref["levels"]]
    np.testing.assert_allclose(ratios["estimate"], ref["ratio"], rtol=RTOL)
    np.testing.assert_allclose(ratios["se"], ref["ratio_se"], rtol=RTOL)
    props = design.proportion("hi", by="stype").set_index("stype").loc[ref["levels"]]
    np.testing.assert_allclose(props["estimate"], ref["prop"], rtol=RTOL)
    np.testing.assert_allclose(props["se"], ref["prop_se"], rtol=RTOL)
    np.testing.assert_allclose(props["ci_low"], ref["prop_ci_low"], rtol=RTOL)
    np.testing.assert_allclose(props["ci_high"], ref["prop_ci_high"], rtol=RTOL)
    total = design.total("enroll")
    assert total.estimate == pytest.approx(ref["total_enroll"]["estimate"], rel=RTOL)
    assert total.se == pytest.approx(ref["total_enroll"]["se"], rel=RTOL)


def test_subsetting_rows_would_give_a_different_answer():
    """Guard against computing domain variances on a subset of rows (a common bug)."""
    api = pd.read_csv(DATA / "apiclus1.csv")
    design = SurveyDesign(api, psu="dnum", weights="pw", fpc="fpc")
    domain = design.mean("api00", by="stype").set_index("stype")
    rows = api[api["stype"] == "H"]
    naive = SurveyDesign(rows, psu="dnum", weights="pw", fpc="fpc").mean("api00")
    assert domain.loc["H", "estimate"] == pytest.approx(naive.estimate)
    assert abs(domain.loc["H", "se"] / naive.se - 1) > 1e-3


@pytest.mark.parametrize("option", ["adjust", "certainty", "remove", "average"])
def test_lonely_psu_options(option):
    lone = pd.read_csv(DATA / "r" / "apistrat_lonely.csv")
    design = SurveyDesign(lone, strata="stype", weights="pw", lonely_psu=option)
    expected = REF["lonely"][option]
    mean = design.mean("api00")
    assert mean.se == pytest.approx(expected["mean_api00"]["se"], rel=RTOL)
    total = design.total("enroll")
    assert total.estimate == pytest.approx(expected["total_enroll"]["estimate"], rel=RTOL)
    assert total.se == pytest.approx(expected["total_enroll"]["se"], rel=RTOL)


def test_lonely_psu_fails_by_default_naming_the_stratum():
    lone = pd.read_csv(DATA / "r" / "apistrat_lonely.csv")
    with pytest.raises(EvalkitError, match="stratum 'H' has only one PSU"):
        SurveyDesign(lone, strata="stype", weights="pw")


@pytest.mark.parametrize("method", METHODS)
def test_zero_events_give_an_honest_interval(twostage, method):
    design = SurveyDesign(twostage, psu="village", strata="stratum", fpc="fpc1")
    result = design.proportion("zero", method=method)
    assert result.estimate == 0
    assert result.ci[0] == 0
    # Korn-Graubard with n* = n: about 3.7/n for 95% (the "rule of three", df-adjusted)
    n = len(twostage)
    assert 3.0 / n < result.ci[1] < 10.0 / n
    assert "no events" in result.note


def test_all_events_mirror_zero_events(twostage):
    design = SurveyDesign(twostage.assign(one=1), psu="village", strata="stratum")
    zero = design.proportion("zero", method="beta")
    one = design.proportion("one", method="beta")
    assert one.ci[1] == 1
    assert one.ci[0] == pytest.approx(1 - zero.ci[1], rel=1e-12)


def test_simple_random_sample_methods():
    from statsmodels.stats.proportion import proportion_confint

    frame = pd.DataFrame({"y": [1] * 7 + [0] * 93})
    design = SurveyDesign(frame)
    wilson = design.proportion("y", method="wilson")
    low, high = proportion_confint(7, 100, alpha=0.05, method="wilson")
    assert wilson.ci == pytest.approx((low, high), rel=1e-12)
    # Clopper-Pearson exact bounds for 7/100 (Clopper and Pearson 1934)
    cp = design.proportion("y", method="clopper-pearson")
    exact = (stats.beta.ppf(0.025, 7, 94), stats.beta.ppf(0.975, 8, 93))
    assert cp.ci == pytest.approx(exact, rel=1e-9)
    older = design.proportion("y", method="clopper_pearson")  # the params' old spelling
    assert older.ci == cp.ci
    assert older.method == cp.method == "clopper-pearson"  # one spelling in every table
    assert design.proportion("y", method="agresti_coull").method == "agresti-coull"
    for method in ("jeffreys", "agresti-coull"):
        result = design.proportion("y", method=method)
        assert result.ci[0] < 0.07 < result.ci[1]


def test_srs_methods_refuse_clustered_designs(twostage):
    design = SurveyDesign(twostage, psu="village", strata="stratum", fpc="fpc1")
    with pytest.raises(EvalkitError, match="simple random sample"):
        design.proportion("rec", method="wilson")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"psu": "nope"}, "psu column 'nope' is not in the data"),
        ({"psu": "village", "weights": "bad_w"}, "weight of row 2 is -1"),
        ({"psu": "village", "strata": "stratum", "fpc": "tiny"}, "population of 2 units"),
        ({"psu": "village", "lonely_psu": "maybe"}, "lonely_psu='maybe'"),
        ({"psu": ["village", "household"], "strata": "stratum", "fpc": "fpc1"},
         "fpc has 1 stage"),
    ],
)
def test_bad_design_settings_raise_one_line_errors(twostage, kwargs, message):
    data = twostage.assign(bad_w=np.r_[1.0, -1.0, np.ones(len(twostage) - 2)], tiny=2)
    with pytest.raises(EvalkitError, match=message) as info:
        SurveyDesign(data, **kwargs)
    assert "\n" not in str(info.value)


def test_missing_values_need_na_rm(twostage):
    data = twostage.assign(share=np.where(np.arange(len(twostage)) % 3 == 0, np.nan, 0.8))
    design = SurveyDesign(data, psu="village", strata="stratum")
    with pytest.raises(EvalkitError, match="missing values"):
        design.mean("share")
    assert design.mean("share", na_rm=True).estimate == pytest.approx(0.8)


@pytest.mark.parametrize("method", ["beta", "likelihood", "asin"])
def test_domain_intervals_follow_r_subsetting(method):
    """R drops rows outside a domain (keeping PSU counts): n and weight scaling follow."""
    ref = REF["clus1_by_stype"]
    api = pd.read_csv(DATA / "apiclus1.csv")
    api["hi"] = (api["api00"] > 700).astype(int)
    design = SurveyDesign(api, psu="dnum", weights="pw", fpc="fpc")
    props = design.proportion("hi", by="stype", method=method).set_index("stype")
    props = props.loc[ref["levels"]]
    np.testing.assert_allclose(props["ci_low"], ref[f"prop_{method}_low"], rtol=RTOL)
    np.testing.assert_allclose(props["ci_high"], ref[f"prop_{method}_high"], rtol=RTOL)


def test_design_effects_of_ratio_and_total_match_r():
    # R 4.1-1: attr(svyratio(~api00, ~api99, d, deff=TRUE), "deff") and
    # deff(svytotal(~enroll, d, deff=TRUE)) on apiclus1 with psu=dnum, weights=pw, fpc=fpc
    api = pd.read_csv(DATA / "apiclus1.csv")
    design = SurveyDesign(api, psu="dnum", weights="pw", fpc="fpc")
    assert design.ratio("api00", "api99").deff == pytest.approx(2.49151297463795, rel=1e-9)
    assert design.total("enroll").deff == pytest.approx(31.3106560943494, rel=1e-9)


def test_equivalent_design_specifications_agree_with_r():
    """fpc as sampling fractions, probs instead of weights, weights from fpc: as svydesign."""
    ref = json.loads((DATA / "r_survey_reference.json").read_text())["strat_fpc"]["mean_api00"]
    api = pd.read_csv(DATA / "apistrat.csv")
    sampled = api.groupby("stype")["stype"].transform("size")
    api = api.assign(fraction=sampled / api["fpc"], prob=1 / api["pw"])
    for design in (SurveyDesign(api, strata="stype", weights="pw", fpc="fraction"),
                   SurveyDesign(api, strata="stype", probs="prob", fpc="fpc")):
        assert design.mean("api00").se == pytest.approx(ref["se"], rel=1e-12)
    # pw in the file is N_h / n_h rounded to float32; weights from fpc are exact
    from_fpc = SurveyDesign(api, strata="stype", fpc="fpc")
    assert from_fpc.weight_values == pytest.approx(api["pw"].to_numpy(), rel=1e-6)
    assert from_fpc.mean("api00").se == pytest.approx(ref["se"], rel=1e-6)
