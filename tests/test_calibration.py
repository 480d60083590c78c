"""Calibration (post-stratification, raking, GREG and raking calibration) against R.

Reference values: tests/data/r/calibration_reference.json, written by
tests/data/r/make_calibration_reference.R with R's survey 4.1-1 on three designs: apistrat
(strata + fpc), apiclus1 (clusters + fpc) and a stratified two-stage sample with fpc at both
stages. Every estimate, SE, interval bound, svyglm coefficient and SE must agree within 1e-6
relative (SEs that R gives as zero up to rounding, because the variable is a calibration
variable, within 1e-6 of the estimate).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import SurveyDesign
from evalkit.assessment.indicators import people_design
from evalkit.contract.errors import EvalkitError
from evalkit.survey.calibration import describe
from evalkit.survey.svyglm import logit

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "r" / "calibration_reference.json").read_text())
RTOL = 1e-6
METHODS = ["logit", "likelihood", "asin", "beta", "mean", "xlogit"]
KINDS = ["uncalibrated", "poststratify", "rake", "calibrate_linear", "calibrate_raking"]


def _api(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name, dtype={"cds": str})
    frame["hi"] = (frame["api00"] > 700).astype(int)
    frame["mealcat"] = np.where(frame["meals"] > 50, "high", "low")
    return frame


def _two() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "r" / "twostage.csv")
    frame["big"] = np.where(frame["size"] >= 4, "big", "small")
    return frame


DESIGNS = {
    "strat": lambda: SurveyDesign(_api("apistrat.csv"), strata="stype", weights="pw",
                                  fpc="fpc"),
    "clus1": lambda: SurveyDesign(_api("apiclus1.csv"), psu="dnum", weights="pw", fpc="fpc"),
    "twostage": lambda: SurveyDesign(_two(), psu=["village", "household"], strata="stratum",
                                     fpc=["fpc1", "fpc2"]),
}
VARIABLES = {
    "strat": dict(y="api00", total="enroll", num="api00", den="api99", prop="hi",
                  glm="hi ~ ell + meals", by="stype"),
    "clus1": dict(y="api00", total="enroll", num="api00", den="api99", prop="hi",
                  glm="hi ~ ell + meals", by="stype"),
    "twostage": dict(y="income", total="wrong", num="wrong", den="size", prop="rec",
                     glm="rec ~ income + size", by="stratum"),
}


def _calibrated(name: str, kind: str) -> SurveyDesign:
    design = DESIGNS[name]()
    ref = REFERENCE[name]
    if kind == "uncalibrated":
        return design
    if kind == "poststratify":
        column = ref["poststratify_column"]
        return design.poststratify(column, ref["counts"][column])
    if kind == "rake":
        return design.rake({c: ref["counts"][c] for c in ref["rake_columns"]})
    if kind == "calibrate_linear":
        return design.calibrate(ref["linear_formula"], ref["linear_totals"])
    return design.calibrate(ref["raking_formula"], ref["raking_totals"], calfun="raking")


@pytest.fixture(scope="module", params=[(n, k) for n in DESIGNS for k in KINDS],
                ids=lambda p: f"{p[0]}-{p[1]}")
def case(request):
    name, kind = request.param
    return _calibrated(name, kind), REFERENCE[name][kind], VARIABLES[name]


def _close(value: float, ref: float, scale: float | None = None) -> None:
    """Relative 1e-6; an SE R gives as rounding noise is compared with the estimate."""
    if scale is not None and abs(ref) < 1e-9 * abs(scale):
        assert abs(value) < RTOL * abs(scale)
    else:
        assert value == pytest.approx(ref, rel=RTOL)


def test_weights_and_df(case):
    design, ref, _ = case
    np.testing.assert_allclose(design.weight_values, ref["weights"], rtol=RTOL)
    assert design.df == ref["degf"]


def test_mean_total_ratio(case):
    design, ref, v = case
    mean = design.mean(v["y"])
    _close(mean.estimate, ref["mean"]["estimate"])
    _close(mean.se, ref["mean"]["se"], mean.estimate)
    total = design.total(v["total"])
    _close(total.estimate, ref["total"]["estimate"])
    _close(total.se, ref["total"]["se"], total.estimate)
    ratio = design.ratio(v["num"], v["den"])
    _close(ratio.estimate, ref["ratio"]["estimate"])
    _close(ratio.se, ref["ratio"]["se"], ratio.estimate)


@pytest.mark.parametrize("method", METHODS)
def test_proportion_intervals(case, method):
    design, ref, v = case
    result = design.proportion(v["prop"], method=method)
    _close(result.estimate, ref["prop"][method]["estimate"])
    _close(result.ci[0], ref["prop"][method]["ci"][0])
    _close(result.ci[1], ref["prop"][method]["ci"][1])


def test_svyglm(case):
    design, ref, v = case
    fit = logit(design, v["glm"])
    np.testing.assert_allclose(np.asarray(fit.params), ref["glm"]["coef"], rtol=RTOL)
    np.testing.assert_allclose(np.asarray(fit.bse), ref["glm"]["se"], rtol=RTOL)


def test_domains_keep_the_full_sample_residuals(case):
    design, ref, v = case
    by = design.mean(v["y"], by=v["by"])
    assert [str(x) for x in by[v["by"]]] == ref["by"]["levels"]
    np.testing.assert_allclose(by["estimate"], ref["by"]["estimate"], rtol=RTOL)
    np.testing.assert_allclose(by["se"], ref["by"]["se"], rtol=RTOL)
    sub = design.subset((design.data[v["by"]].astype(str) == ref["subset_level"]).to_numpy())
    mean = sub.mean(v["y"])
    _close(mean.estimate, ref["subset_mean"]["estimate"])
    _close(mean.se, ref["subset_mean"]["se"])
    prop = sub.proportion(v["prop"], method="logit")
    _close(prop.ci[0], ref["subset_prop_logit"]["ci"][0])
    _close(prop.ci[1], ref["subset_prop_logit"]["ci"][1])


def test_calibrated_weights_hit_the_totals_exactly():
    ref = REFERENCE["clus1"]
    design = DESIGNS["clus1"]()
    post = design.poststratify("stype", ref["counts"]["stype"])
    sums = pd.Series(post.weight_values).groupby(post.data["stype"].to_numpy()).sum()
    assert sums.to_dict() == pytest.approx(ref["counts"]["stype"], rel=1e-12)
    linear = design.calibrate(["stype", "api99"], ref["linear_totals"])
    assert linear.weight_values.sum() == pytest.approx(ref["linear_totals"]["Intercept"],
                                                      rel=1e-12)
    api99 = linear.total("api99")
    assert api99.estimate == pytest.approx(ref["linear_totals"]["api99"], rel=1e-12)
    assert api99.se < 1e-6 * api99.estimate
    raked = design.rake({c: ref["counts"][c] for c in ref["rake_columns"]})
    for column in ref["rake_columns"]:
        sums = pd.Series(raked.weight_values).groupby(raked.data[column].to_numpy()).sum()
        assert sums.to_dict() == pytest.approx(ref["counts"][column], abs=1.0)
    # the original design is untouched and the steps are recorded in order
    assert not design.is_calibrated
    assert np.allclose(design.weight_values, design.data["pw"])
    twice = post.calibrate("api99 + stype", ref["linear_totals"])
    assert describe(twice) == ["poststratify on stype",
                               "calibrate (linear) on api99 + stype"]


def test_people_design_carries_the_calibration():
    frame = _two()
    frame["affected"] = np.minimum(frame["wrong"], frame["size"])
    design = SurveyDesign(frame, psu=["village", "household"], strata="stratum",
                          fpc=["fpc1", "fpc2"])
    cal = design.calibrate("big + income", REFERENCE["twostage"]["linear_totals"])
    people = people_design(cal, "affected", "size", flag="hit")
    household_rate = cal.ratio("affected", "size")
    person_rate = people.mean("hit")
    assert person_rate.estimate == pytest.approx(household_rate.estimate, rel=1e-12)
    assert person_rate.se == pytest.approx(household_rate.se, rel=1e-10)
    assert person_rate.se != pytest.approx(design.ratio("affected", "size").se, rel=1e-3)


def test_levels_match_as_text():
    frame = _api("apiclus1.csv")
    frame["code"] = frame["stype"].map({"E": 1, "H": 2, "M": 3})
    design = SurveyDesign(frame, psu="dnum", weights="pw", fpc="fpc")
    counts = REFERENCE["clus1"]["counts"]["stype"]
    by_text = design.poststratify("stype", counts)
    by_number = design.poststratify("code", {"1": counts["E"], 2: counts["H"],
                                             3.0: counts["M"]})
    np.testing.assert_allclose(by_text.weight_values, by_number.weight_values)
    table = pd.DataFrame({"stype": list(counts), "Freq": list(counts.values())})
    np.testing.assert_allclose(design.poststratify("stype", table).weight_values,
                               by_text.weight_values)
    cells = pd.MultiIndex.from_product([["E", "H", "M"], ["high", "low"]])
    counts = pd.Series([1000.0, 3000.0, 500.0, 255.0, 600.0, 418.0], index=cells)
    crossed = design.poststratify(["stype", "mealcat"], counts)
    sums = pd.Series(crossed.weight_values).groupby(
        [design.data["stype"].to_numpy(), design.data["mealcat"].to_numpy()]).sum()
    assert sums.to_dict() == pytest.approx(counts.to_dict(), rel=1e-12)


@pytest.mark.parametrize(("call", "message"), [
    (lambda d: d.poststratify("stype", {"E": 4421, "H": 755}),
     "level 'M' of stype is in the sample but has no population count"),
    (lambda d: d.poststratify("stype", {"E": 4421, "H": 755, "M": 1018, "X": 5}),
     "level 'X' of stype has a population count of 5 but no sampled row"),
    (lambda d: d.poststratify("stype", {"E": 4421, "H": -1, "M": 1018}),
     "count for 'H' is -1; expected a number >= 0"),
    (lambda d: d.poststratify("nope", {"E": 1}), "column 'nope' is not in the data"),
    (lambda d: d.rake({"stype": {"E": 4421, "H": 755, "M": 1018}, "mealcat": {"low": 1}}),
     "level 'high' of mealcat is in the sample but has no population count"),
    (lambda d: d.calibrate("stype + log(api99)", {"Intercept": 1}),
     "'log(api99)' in formula 'stype + log(api99)' is not a column of the data"),
    (lambda d: d.calibrate("stype", {"Intercept": 6194, "stypeH": 755}),
     "calibrate: totals missing stypeM; expected exactly the model-matrix columns "
     "Intercept, stypeH, stypeM"),
    (lambda d: d.calibrate("stype", {"Intercept": 6194, "stypeH": 755, "stypeM": 1, "x": 1}),
     "unknown x"),
    (lambda d: d.calibrate("stype", {"Intercept": 6194, "stypeH": 755, "stypeM": 1018},
                           calfun="logit"),
     "calfun='logit'; expected 'linear' or 'raking'"),
    (lambda d: d.subset(d.data["stype"] == "E").poststratify("mealcat", {"high": 1, "low": 1}),
     "calibrate the full sample, then take the domain"),
    (lambda d: d.calibrate("api99", {"Intercept": 6194, "api99": -1e9}),
     "expected positive weights"),
])
def test_bad_input_is_one_line(call, message):
    design = DESIGNS["clus1"]()
    with pytest.raises(EvalkitError) as info:
        call(design)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_rake_warns_when_it_does_not_converge():
    ref = REFERENCE["clus1"]
    with pytest.warns(RuntimeWarning, match="did not converge after 1 iterations"):
        DESIGNS["clus1"]().rake({c: ref["counts"][c] for c in ref["rake_columns"]},
                                max_iterations=1, epsilon=1e-9)


# --- design effects of calibrated designs and raking on an interaction margin -----------
# tests/data/r/make_nonresponse_reference.R: svymean / svytotal(deff=TRUE) on the designs
# above. R divides the design variance by the SRS variance computed with the calibrated
# weights (svyvar on the calibrated design, N = sum of calibrated weights): evalkit does
# the same.
NR_REFERENCE = json.loads((DATA / "r" / "nonresponse_reference.json").read_text())


@pytest.mark.parametrize(("name", "kind"), [(n, k) for n in DESIGNS for k in KINDS],
                         ids=lambda p: str(p))
def test_deff_of_calibrated_designs_equals_r(name, kind):
    design, v = _calibrated(name, kind), VARIABLES[name]
    ref = NR_REFERENCE["deff"][name][kind]
    for value, expected in ((design.mean(v["y"]).deff, ref["mean"]),
                            (design.total(v["total"]).deff, ref["total"]),
                            (design.mean(v["prop"]).deff, ref["prop"])):
        if abs(expected) < 1e-12:  # a calibration variable: both are rounding noise
            assert abs(value) < 1e-12
        else:
            assert value == pytest.approx(expected, rel=RTOL)


def test_rake_on_an_interaction_margin_equals_r():
    ref = NR_REFERENCE["rake_interaction"]
    joint = {(s, b): c for s, b, c in zip(ref["joint"]["stratum"], ref["joint"]["big"],
                                          ref["joint"]["count"], strict=True)}
    rec = dict(zip(ref["rec"]["level"], ref["rec"]["count"], strict=True))
    raked = DESIGNS["twostage"]().rake({("stratum", "big"): joint, "rec": rec})
    np.testing.assert_allclose(raked.weight_values, ref["weights"], rtol=RTOL)
    mean, total = raked.mean("income"), raked.total("wrong")
    assert mean.estimate == pytest.approx(ref["mean"]["estimate"], rel=RTOL)
    assert mean.se == pytest.approx(np.ravel(ref["mean"]["se"])[0], rel=RTOL)
    assert total.estimate == pytest.approx(ref["total"]["estimate"], rel=RTOL)
    assert total.se == pytest.approx(np.ravel(ref["total"]["se"])[0], rel=RTOL)
    # the cross-classified margin is hit up to R's stopping rule (no cell moves by 1)
    sums = pd.Series(raked.weight_values).groupby(
        [raked.data["stratum"].to_numpy(), raked.data["big"].to_numpy()]).sum()
    for key, count in joint.items():
        assert abs(sums.loc[key] - count) < 1
    assert "stratum x big" in " ".join(describe(raked))
