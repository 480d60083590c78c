"""Survey-weighted logistic regression against R survey 4.1-1, and its derived quantities.

Reference values: tests/data/r_models_reference.json, made by tests/data/r_models_reference.R
(svyglm quasibinomial and svyolr on the API samples and on a simulated stratified two-stage
sample with fpc at both stages, tests/data/two_stage_sample.csv). Tests never run R.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from evalkit import SurveyDesign
from evalkit.assessment.fragility import model_notes
from evalkit.assessment.satisfaction import (
    RECOGNITION_ORDER,
    SCENARIOS,
    scenario_data,
    scenario_table,
    sensitivity_table,
)
from evalkit.contract.errors import EvalkitError
from evalkit.survey.robust import cluster_robust
from evalkit.survey.svyglm import logit
from evalkit.survey.svyolr import ordinal_logit

DATA = Path(__file__).parent / "data"
REFERENCE = json.loads((DATA / "r_models_reference.json").read_text())
RTOL = 1e-6
FACTORS = ("stype", "region")


def _api(name: str) -> pd.DataFrame:
    frame = pd.read_csv(DATA / name)
    frame["hi"] = (frame["api00"] > 700).astype(int)
    return frame


def _two_stage() -> pd.DataFrame:
    return pd.read_csv(DATA / "two_stage_sample.csv")


def _two_stage_design(frame: pd.DataFrame | None = None) -> SurveyDesign:
    return SurveyDesign(_two_stage() if frame is None else frame,
                        psu=["village", "household_id"], strata="stratum",
                        fpc=["villages_in_stratum", "households_in_village"])


def _missing_frame() -> pd.DataFrame:
    frame = _two_stage()
    frame.loc[[4, 49, 99], "log_income"] = np.nan
    frame.loc[frame["village"] == "s2_v3", "log_income"] = np.nan
    return frame


CASES = {
    "strat_main": (lambda: SurveyDesign(_api("apistrat.csv"), strata="stype", weights="pw",
                                        fpc="fpc"), "hi ~ ell + meals + mobility"),
    "clus1_fpc_main": (lambda: SurveyDesign(_api("apiclus1.csv"), psu="dnum", weights="pw",
                                            fpc="fpc"), "hi ~ ell + meals + mobility"),
    "clus1_nofpc_main": (lambda: SurveyDesign(_api("apiclus1.csv"), psu="dnum", weights="pw"),
                         "hi ~ ell + meals + mobility"),
    "strat_factor_interaction": (
        lambda: SurveyDesign(_api("apistrat.csv"), strata="stype", weights="pw", fpc="fpc"),
        "hi ~ stype * ell + meals"),
    "clus1_factor_interaction": (
        lambda: SurveyDesign(_api("apiclus1.csv"), psu="dnum", weights="pw", fpc="fpc"),
        "hi ~ C(stype) + ell * meals"),
    "two_stage_full": (
        _two_stage_design,
        "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"
        " + log_income + region"),
    "two_stage_missing": (
        lambda: _two_stage_design(_missing_frame()),
        "recognizes ~ nonpoor * water_at_door + dibao + log_income"),
    "two_stage_domain": (
        lambda: _two_stage_design().subset((_two_stage()["stratum"] != "s1").to_numpy()),
        "recognizes ~ nonpoor * water_at_door + dibao"),
}


def _python_name(r_name: str) -> str:
    """R's coefficient names in formulaic's spelling (factor levels as [T.level])."""
    if r_name == "(Intercept)":
        return "Intercept"
    parts = []
    for part in r_name.split(":"):
        for factor in FACTORS:
            match = re.fullmatch(rf"{factor}(\w+)", part)
            if match:
                part = f"{factor}[T.{match.group(1)}]"
        parts.append(part)
    return ":".join(parts)


def _fit(name: str):
    make_design, formula = CASES[name]
    result = logit(make_design(), formula)
    reference = REFERENCE[name]
    names = [_python_name(n) for n in reference["terms"]]
    # C(stype) in formulaic is named C(stype)[T.H]
    names = [n if n in result.params.index else n.replace("stype[", "C(stype)[")
             for n in names]
    return result, reference, names


@pytest.mark.parametrize("name", sorted(CASES))
def test_coefficients_and_covariance_match_r(name):
    result, reference, names = _fit(name)
    assert sorted(result.params.index) == sorted(names)
    np.testing.assert_allclose(result.params[names], reference["coef"], rtol=RTOL)
    np.testing.assert_allclose(result.bse[names], reference["se"], rtol=RTOL)
    cov = result.cov.loc[names, names].to_numpy()
    np.testing.assert_allclose(cov, np.array(reference["vcov"]), rtol=RTOL,
                               atol=RTOL * np.abs(cov).max())
    naive = result.naive_cov.loc[names, names].to_numpy()
    np.testing.assert_allclose(naive, np.array(reference["naive_cov"]), rtol=RTOL,
                               atol=RTOL * np.abs(naive).max())
    assert result.df == reference["df_residual"]
    assert result.design_df == reference["degf"]
    assert result.iterations == reference["iterations"]
    assert result.converged


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("level", [0.95, 0.90])
def test_wald_intervals_match_r_confint(name, level):
    result, reference, names = _fit(name)
    expected = np.array(reference["ci95" if level == 0.95 else "ci90"])
    ci = result.conf_int(level).loc[names]
    np.testing.assert_allclose(ci["ci_low"], expected[:, 0], rtol=RTOL)
    np.testing.assert_allclose(ci["ci_high"], expected[:, 1], rtol=RTOL)


def test_missing_values_are_dropped_as_a_domain():
    result, reference, _ = _fit("two_stage_missing")
    assert result.n_dropped == 3 + 12
    assert result.n_obs == len(_two_stage()) - 15
    assert result.design_df == reference["degf"] == 14


def test_design_method_delegates():
    design = CASES["strat_main"][0]()
    direct = logit(design, "hi ~ ell + meals + mobility")
    via = design.logit("hi ~ ell + meals + mobility")
    pd.testing.assert_series_equal(direct.params, via.params)
    pd.testing.assert_series_equal(direct.bse, via.bse)


def test_tables_are_consistent():
    result, _, _ = _fit("two_stage_full")
    table = result.summary_frame(0.9)
    assert list(table.columns) == ["coef", "se", "t", "p_value", "ci_low", "ci_high",
                                   "odds_ratio", "or_low", "or_high"]
    np.testing.assert_allclose(table["odds_ratio"], np.exp(result.params))
    np.testing.assert_allclose(table["or_low"], np.exp(result.conf_int(0.9)["ci_low"]))
    assert (table["p_value"] > 0).all() and (table["p_value"] < 1).all()
    assert table.index[0] == "Intercept"
    with pytest.raises(EvalkitError):
        result.conf_int(1.5)


def test_predict_reproduces_fitted_values():
    result, _, _ = _fit("two_stage_full")
    predicted = result.predict()
    np.testing.assert_allclose(predicted.to_numpy(), result.fitted, rtol=1e-9)
    linear = result.predict(_two_stage().head(3), linear=True)
    np.testing.assert_allclose(special.expit(linear), predicted.head(3), rtol=1e-12)
    with pytest.raises(EvalkitError):
        result.predict(_two_stage().drop(columns="dibao"))


def test_bad_input_raises_one_line_errors():
    design = _two_stage_design()
    with pytest.raises(EvalkitError, match="exactly one '~'"):
        logit(design, "recognizes nonpoor")
    with pytest.raises(EvalkitError, match="'no_such_column' is not in the data"):
        logit(design, "recognizes ~ no_such_column")
    with pytest.raises(EvalkitError, match="expected a number between 0 and 1"):
        logit(design, "log_income ~ nonpoor")



def test_a_collinear_term_is_left_out_and_marked_not_estimable_as_r_does():
    """R's glm reports an aliased coefficient as NA and estimates the others (issue 10)."""
    frame = _two_stage().assign(nonpoor_copy=lambda d: d["nonpoor"])
    result = logit(_two_stage_design(frame), "recognizes ~ nonpoor + nonpoor_copy")
    reference = logit(_two_stage_design(), "recognizes ~ nonpoor")
    assert result.aliased == ("nonpoor_copy",)
    pd.testing.assert_series_equal(result.params, reference.params)
    pd.testing.assert_series_equal(result.bse, reference.bse)
    table = result.summary_frame()
    assert np.isnan(table.loc["nonpoor_copy", "coef"])
    assert table.loc["nonpoor_copy", "note"].startswith("not estimable")
    np.testing.assert_allclose(result.predict(frame), reference.predict(frame))


def test_one_answer_is_not_estimable_with_the_reason():
    from evalkit.contract.errors import NotEstimableError

    frame = _two_stage().assign(recognizes=1)
    with pytest.raises(NotEstimableError, match="one answer") as info:
        logit(_two_stage_design(frame), "recognizes ~ nonpoor")
    assert info.value.key == "one_answer" and "\n" not in str(info.value)


# --- ordinal model --------------------------------------------------------------------
def test_ordinal_model_matches_r_svyolr():
    reference = REFERENCE["two_stage_ordinal"]
    result = ordinal_logit(_two_stage_design(), "recognition ~ nonpoor * water_at_door + dibao",
                           levels=RECOGNITION_ORDER)
    expected = np.concatenate([reference["beta"], reference["zeta"]])
    assert list(result.params.index) == reference["terms"]
    # R maximizes by BFGS (reltol 1e-15 here) and differentiates numerically: ~1e-6.
    np.testing.assert_allclose(result.params, expected, rtol=1e-5)
    np.testing.assert_allclose(result.bse, reference["se"], rtol=1e-5)
    np.testing.assert_allclose(result.cov.to_numpy(), np.array(reference["vcov"]), rtol=1e-4,
                               atol=1e-8)
    assert result.df == reference["df_residual"]
    assert result.converged
    assert list(result.odds_ratios().index) == reference["terms"][:4]


def test_ordinal_model_rejects_unknown_levels():
    frame = _two_stage()
    frame.loc[3, "recognition"] = "very_happy"
    with pytest.raises(EvalkitError, match="pass levels"):
        ordinal_logit(_two_stage_design(frame), "recognition ~ nonpoor")
    levels = ["dissatisfied", "basically_satisfied", "satisfied"]
    with pytest.raises(EvalkitError, match="row 4"):
        ordinal_logit(_two_stage_design(frame), "recognition ~ nonpoor", levels=levels)


def test_ordinal_model_takes_the_order_of_an_ordered_categorical():
    frame = _two_stage()
    explicit = ordinal_logit(_two_stage_design(frame), "recognition ~ nonpoor",
                             levels=RECOGNITION_ORDER)
    frame["recognition"] = pd.Categorical(frame["recognition"], categories=RECOGNITION_ORDER,
                                          ordered=True)
    implicit = ordinal_logit(_two_stage_design(frame), "recognition ~ nonpoor")
    pd.testing.assert_series_equal(implicit.params, explicit.params)


# --- cluster-robust cross-check -------------------------------------------------------
def test_cluster_robust_differs_from_design_by_the_small_sample_factor():
    frame = _two_stage()
    design = SurveyDesign(frame, psu="village", weights="weight")  # no strata, no fpc
    result = logit(design, "recognizes ~ nonpoor * water_at_door + dibao")
    table = cluster_robust(result)
    np.testing.assert_allclose(table["coef_statsmodels"], table["coef"], rtol=1e-8)
    n, k = result.n_obs, len(result.params)
    np.testing.assert_allclose(table["ratio"], np.sqrt((n - 1) / (n - k)), rtol=1e-5)
    ordinal = ordinal_logit(design, "recognition ~ nonpoor * water_at_door + dibao",
                            levels=RECOGNITION_ORDER)
    both = sensitivity_table(result, ordinal)
    assert np.isnan(both.loc["Intercept", "coef_ordinal"])
    assert both.loc["nonpoor", "coef_ordinal"] == ordinal.params["nonpoor"]


# --- marginal effects and scenarios: exact identities --------------------------------
def _domain_mean_influence(design: SurveyDesign, y: np.ndarray, mask: np.ndarray
                           ) -> np.ndarray:
    w = design.weight_values * mask
    return w * (y - np.sum(w * y) / w.sum()) / w.sum()


def test_marginal_effect_of_binary_variable_in_saturated_model_is_difference_of_means():
    design = _two_stage_design()
    frame = design.data
    result = logit(design, "recognizes ~ nonpoor")
    ame = result.marginal_effects(["nonpoor"])
    y = frame["recognizes"].to_numpy(float)
    group = frame["nonpoor"].to_numpy() == 1
    w = design.weight_values
    difference = (np.sum(w * y * group) / np.sum(w * group)
                  - np.sum(w * y * ~group) / np.sum(w * ~group))
    influence = (_domain_mean_influence(design, y, group)
                 - _domain_mean_influence(design, y, ~group))
    se = np.sqrt(design.variance_of_totals(influence)[0, 0])
    assert ame.loc[0, "estimate"] == pytest.approx(difference, rel=1e-10)
    assert ame.loc[0, "se"] == pytest.approx(se, rel=1e-6)
    assert ame.loc[0, "ci_low"] < difference < ame.loc[0, "ci_high"]


def test_scenario_in_saturated_model_is_a_domain_mean():
    design = _two_stage_design()
    frame = design.data
    result = logit(design, "recognizes ~ water_at_door")
    table = result.scenarios([("no_door_water", lambda d: d.assign(water_at_door=0))])
    y = frame["recognizes"].to_numpy(float)
    group = frame["water_at_door"].to_numpy() == 0
    estimate = design.subset(group).mean("recognizes")
    row = table.set_index("scenario").loc["no_door_water"]
    assert row["estimate"] == pytest.approx(estimate.estimate, rel=1e-10)
    assert row["se"] == pytest.approx(estimate.se, rel=1e-6)
    observed = table.set_index("scenario").loc["observed"]
    proportion = design.proportion("recognizes", method="logit")
    assert observed["estimate"] == pytest.approx(proportion.estimate, rel=1e-12)
    assert observed["se"] == pytest.approx(proportion.se, rel=1e-12)
    assert observed["ci_low"] == pytest.approx(proportion.ci[0], rel=1e-10)
    np.testing.assert_allclose(
        row["change_se"],
        np.sqrt(design.variance_of_totals(
            _domain_mean_influence(design, y, group)
            - _domain_mean_influence(design, y, np.ones_like(group)))[0, 0]),
        rtol=1e-6)


def test_unchanged_scenario_has_zero_change():
    result = logit(_two_stage_design(),
                   "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao")
    table = result.scenarios([("nothing", lambda d: d)]).set_index("scenario")
    assert table.loc["nothing", "change"] == pytest.approx(0, abs=1e-12)
    assert table.loc["nothing", "change_se"] < 1e-6
    assert table.loc["nothing", "se"] == pytest.approx(table.loc["observed", "se"], rel=1e-5)


def test_marginal_effect_gradient_matches_finite_differences():
    """The delta-method gradient: perturb beta and recompute the AME by hand."""
    design = _two_stage_design()
    formula = "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + log_income"
    result = logit(design, formula)
    frame = design.data
    w = design.weight_values
    beta = result.params.to_numpy()
    gap = frame["reimbursement_gap"].to_numpy()
    nonpoor = frame["nonpoor"].to_numpy()
    names = list(result.params.index)
    X = result.model_matrix

    def ame_gap(b: np.ndarray) -> float:
        p = special.expit(X @ b)
        slope = b[names.index("nonpoor:reimbursement_gap")] * nonpoor
        return float(np.sum(w * p * (1 - p) * slope) / w.sum())

    eps = 1e-6
    gradient = np.array([(ame_gap(beta + eps * e) - ame_gap(beta - eps * e)) / (2 * eps)
                         for e in np.eye(beta.size)])
    ame = result.marginal_effects(["reimbursement_gap"])
    assert ame.loc[0, "estimate"] == pytest.approx(ame_gap(beta), rel=1e-8)
    p = special.expit(X @ beta)
    slope = beta[names.index("nonpoor:reimbursement_gap")] * nonpoor
    d = p * (1 - p) * slope
    influence = (w * (d - ame_gap(beta)) / w.sum() + result.influence @ gradient)
    se = np.sqrt(design.variance_of_totals(influence)[0, 0])
    assert ame.loc[0, "se"] == pytest.approx(se, rel=1e-5)
    del gap


def test_marginal_effects_by_group_and_per_unit_scaling():
    result = logit(_two_stage_design(),
                   "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao")
    table = result.marginal_effects(["water_at_door", "reimbursement_gap"], by="nonpoor",
                                    per={"reimbursement_gap": 0.1})
    assert list(table.columns[:3]) == ["variable", "nonpoor", "effect"]
    gap = table[table["variable"] == "reimbursement_gap"].set_index("nonpoor")
    # The gap enters only through nonpoor:reimbursement_gap: a structural zero among the
    # poor, marked "not in the model" instead of an effect of 0 [0, 0] (issue 10).
    assert gap.loc[0, ["estimate", "se", "ci_low", "ci_high"]].isna().all()
    assert gap.loc[0, "note"] == "not in the model for this group"
    assert gap.loc[1, "note"] == ""
    assert gap.loc[1, "estimate"] < 0
    whole = result.marginal_effects(["reimbursement_gap"])
    assert gap.loc[1, "estimate"] == pytest.approx(
        whole.loc[0, "estimate"] * 0.1 * result.design.weight_values.sum()
        / result.design.weight_values[result.design.data["nonpoor"].to_numpy() == 1].sum(),
        rel=1e-9)
    with pytest.raises(EvalkitError, match="does not enter"):
        result.marginal_effects(["log_income"])


def _village_sample(n_villages: int, per_village: int, seed: int,
                    beta: dict[str, float]) -> pd.DataFrame:
    """A clustered sample with known coefficients (for recovery and jackknife checks)."""
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    village = np.repeat(np.arange(n_villages), per_village)
    nonpoor = rng.binomial(1, 0.5, n)
    water = np.where(nonpoor == 1, rng.binomial(1, 0.7, n), rng.binomial(1, 0.1, n))
    stay = rng.binomial(1, 0.35, n)
    share = np.where(nonpoor == 1, rng.uniform(0.5, 0.95, n), rng.uniform(0.85, 1, n))
    gap = np.where(stay == 1, np.maximum(0, 0.9 - share), 0.0)
    dibao = rng.binomial(1, np.where(nonpoor == 1, 0.05, 0.4))
    weight = np.repeat(rng.uniform(20, 60, n_villages), per_village)
    eta = (beta["Intercept"] + beta["nonpoor"] * nonpoor + beta["water_at_door"] * water
           + beta["nonpoor:water_at_door"] * nonpoor * water
           + beta["nonpoor:reimbursement_gap"] * nonpoor * gap + beta["dibao"] * dibao)
    y = rng.binomial(1, special.expit(eta))
    return pd.DataFrame({"village": village, "weight": weight, "nonpoor": nonpoor,
                         "water_at_door": water, "reimbursement_gap": gap, "dibao": dibao,
                         "recognizes": y})


TRUE_BETA = {"Intercept": 3.0, "nonpoor": -0.5, "water_at_door": 0.0,
             "nonpoor:water_at_door": -1.2, "nonpoor:reimbursement_gap": -5.0, "dibao": 0.4}
FORMULA = "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"


def test_recovers_true_coefficients_on_simulated_data():
    frame = _village_sample(300, 30, seed=11, beta=TRUE_BETA)
    result = logit(SurveyDesign(frame, psu="village", weights="weight"), FORMULA)
    truth = pd.Series(TRUE_BETA)[result.params.index]
    z = (result.params - truth) / result.bse
    assert (z.abs() < 3.5).all(), z


def test_scenario_variance_agrees_with_a_delete_one_village_jackknife():
    """Linearization against refitting: the jackknife is an independent variance estimate."""
    from evalkit.survey.glm import batch_logit

    frame = _village_sample(60, 25, seed=5, beta=TRUE_BETA)
    design = SurveyDesign(frame, psu="village", weights="weight")
    result = logit(design, FORMULA)
    table = scenario_table(result, ["both"]).set_index("scenario")
    X = result.model_matrix
    Xs = result.model_matrix_for(scenario_data(frame, "both"))
    y = frame["recognizes"].to_numpy(float)
    w = frame["weight"].to_numpy()
    village = frame["village"].to_numpy()
    n_villages = village.max() + 1
    replicate = np.repeat(w[:, None], n_villages, axis=1) * n_villages / (n_villages - 1)
    replicate[np.arange(len(frame)), village] = 0.0  # JK1: drop one village per replicate
    betas = batch_logit(X, y, replicate, result.params.to_numpy())
    rates = (replicate * special.expit(Xs @ betas.T)).sum(0) / replicate.sum(0)
    changes = rates - (replicate * y[:, None]).sum(0) / replicate.sum(0)
    jack_se = np.sqrt((n_villages - 1) / n_villages * np.sum((rates - rates.mean()) ** 2))
    jack_change = np.sqrt((n_villages - 1) / n_villages
                          * np.sum((changes - changes.mean()) ** 2))
    assert table.loc["both", "se"] == pytest.approx(jack_se, rel=0.1)
    assert table.loc["both", "change_se"] == pytest.approx(jack_change, rel=0.1)


def test_named_scenarios_change_only_non_poor_households():
    frame = _two_stage().assign(reimbursement_share=0.6)
    frame["water_access"] = np.where(frame["water_at_door"] == 1, "at_door", "in_home")
    for name in SCENARIOS:
        changed = scenario_data(frame, name)
        poor = frame["nonpoor"] == 0
        pd.testing.assert_frame_equal(changed[poor], frame[poor])
    piped = scenario_data(frame, "pipe_water")
    assert (piped.loc[frame["nonpoor"] == 1, "water_at_door"] == 0).all()
    assert (piped.loc[frame["nonpoor"] == 1, "water_access"] == "in_home").all()
    raised = scenario_data(frame, "raise_reimbursement")
    assert (raised.loc[frame["nonpoor"] == 1, "reimbursement_gap"] == 0).all()
    assert (raised.loc[frame["nonpoor"] == 1, "reimbursement_share"] == 0.9).all()
    with pytest.raises(EvalkitError, match="unknown"):
        scenario_data(frame, "free_money")
    with pytest.raises(EvalkitError, match="nonpoor"):
        scenario_data(frame.drop(columns="nonpoor"), "pipe_water")


def test_scenarios_raise_recognition_when_disparities_hurt():
    frame = _village_sample(100, 30, seed=3, beta=TRUE_BETA)
    result = logit(SurveyDesign(frame, psu="village", weights="weight"), FORMULA)
    table = scenario_table(result).set_index("scenario")
    assert list(table.index) == ["observed", "pipe_water", "raise_reimbursement", "both"]
    assert (table.loc[["pipe_water", "raise_reimbursement", "both"], "change"] > 0).all()
    assert table.loc["both", "change"] > table.loc["pipe_water", "change"]
    assert (table["ci_low"] < table["estimate"]).all()
    assert (table["estimate"] < table["ci_high"]).all()
    by_group = scenario_table(result, ["both"], by="nonpoor")
    poor = by_group[(by_group["nonpoor"] == 0) & (by_group["scenario"] == "both")]
    assert poor["change"].iloc[0] == pytest.approx(0, abs=1e-12)


# --- fragility --------------------------------------------------------------------------
def test_fragility_notes_separation_and_small_cells():
    frame = _village_sample(40, 20, seed=9, beta=TRUE_BETA)
    frame["rare"] = 0
    frame.loc[frame.index[:6], "rare"] = 1
    frame.loc[frame.index[:6], "recognizes"] = 1  # all recognize where rare == 1
    result = logit(SurveyDesign(frame, psu="village", weights="weight"),
                   "recognizes ~ nonpoor + rare")
    notes = model_notes(result)
    assert any("'rare'" in note and "separation" in note for note in notes)
    assert any("within 1e-6 of 0 or 1" in note for note in notes)
    clean = logit(SurveyDesign(_village_sample(200, 30, seed=2, beta=TRUE_BETA),
                               psu="village", weights="weight"), "recognizes ~ nonpoor")
    assert model_notes(clean) == []
    rare_cell = _village_sample(200, 30, seed=2, beta=TRUE_BETA)
    poor_water = (rare_cell["nonpoor"] == 0) & (rare_cell["water_at_door"] == 1)
    rare_cell.loc[poor_water, "recognizes"] = 1
    rare_cell.loc[rare_cell.index[poor_water][:3], "recognizes"] = 0
    cells = model_notes(logit(SurveyDesign(rare_cell, psu="village", weights="weight"),
                              "recognizes ~ nonpoor * water_at_door"))
    assert any(note.startswith("cell nonpoor=0, water_at_door=1: 3 of") for note in cells)
    small_df = logit(CASES["two_stage_domain"][0](), FORMULA)
    assert any("residual degrees of freedom" in note for note in model_notes(small_df))


# --- the packaged synthetic county ----------------------------------------------------
SYNTHETIC = json.loads((DATA / "r_models_synthetic.json").read_text())
DEFAULT_FORMULA = ("recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"
                   " + log_income")


def _county_design() -> SurveyDesign:
    return SurveyDesign(pd.read_csv(DATA / "synthetic_county_model.csv"), psu="village",
                        weights="weight")


def test_synthetic_county_matches_r():
    reference = SYNTHETIC["default_formula"]
    result = logit(_county_design(), DEFAULT_FORMULA)
    names = [_python_name(n) for n in reference["terms"]]
    np.testing.assert_allclose(result.params[names], reference["coef"], rtol=RTOL)
    np.testing.assert_allclose(result.bse[names], reference["se"], rtol=RTOL)
    np.testing.assert_allclose(result.conf_int().loc[names].to_numpy(),
                               np.array(reference["ci95"]), rtol=RTOL)
    assert result.df == reference["df_residual"]
    ordinal = ordinal_logit(_county_design(),
                            DEFAULT_FORMULA.replace("recognizes", "recognition", 1),
                            levels=RECOGNITION_ORDER)
    assert list(ordinal.params.index) == SYNTHETIC["ordinal"]["terms"]
    np.testing.assert_allclose(ordinal.params, SYNTHETIC["ordinal"]["coef"], rtol=1e-5)
    np.testing.assert_allclose(ordinal.bse, SYNTHETIC["ordinal"]["se"], rtol=1e-5)


def test_recovery_table_and_sentence(tmp_path):
    from evalkit.assessment.satisfaction import load_truth, recovery_sentence, recovery_table

    result = logit(_county_design(), DEFAULT_FORMULA)
    ci = result.conf_int()
    inside = ((ci["ci_low"] + ci["ci_high"]) / 2).to_dict()
    outside = dict(inside, nonpoor=float(ci.loc["nonpoor", "ci_high"]) + 1.0)
    truth = {"recognition_model": {"coefficients_census": inside,
                                   "coefficients_conditional": outside}}
    table = recovery_table(result, truth)
    assert table["covered_census"].all()
    assert not table.loc["nonpoor", "covered_conditional"]
    assert table["population_averaged"].isna().all()
    sentence = recovery_sentence(table)
    assert sentence.startswith("The 95% intervals cover 7 of 7 census coefficients")
    assert "6 of 7 generating coefficients" in sentence and "`nonpoor`" in sentence
    packaged = load_truth({"survey": "packaged:survey.csv"})
    assert packaged is not None and "coefficients_census" in packaged["recognition_model"]
    (tmp_path / "survey.csv").write_text("x\n1\n")
    assert load_truth({"survey": "survey.csv"}, str(tmp_path)) is None


def test_figures_and_formula_helpers():
    import matplotlib.pyplot as plt

    from evalkit.assessment.satisfaction import ordinal_formula
    from evalkit.report.plots import odds_ratio_plot, scenario_plot

    assert ordinal_formula(DEFAULT_FORMULA) == DEFAULT_FORMULA.replace(
        "recognizes", "recognition", 1)
    result = logit(_county_design(), DEFAULT_FORMULA)
    figure = scenario_plot(scenario_table(result), threshold=0.9)
    assert len(figure.axes[0].get_yticklabels()) == 4
    plt.close(figure)
    figure = odds_ratio_plot(result)
    assert len(figure.axes[0].get_yticklabels()) == len(result.params) - 1
    plt.close(figure)


def test_sensitivity_notes_and_scenario_sentences():
    from evalkit.assessment.satisfaction import scenario_sentences, sensitivity

    result = logit(_county_design(), DEFAULT_FORMULA)
    checks = sensitivity(result)
    assert checks.ordinal is not None
    assert "sqrt((N-1)/(N-K))" in checks.notes[0]
    assert checks.notes[1].startswith("The ordinal model of the three-level answer")
    np.testing.assert_allclose(checks.table["cluster_to_design"],
                               np.sqrt((result.n_obs - 1) / (result.n_obs - 7)), rtol=1e-4)
    missing = sensitivity(logit(_two_stage_design(), "recognizes ~ nonpoor"),
                          response="no_such_column")
    assert "skipped" in missing.notes[0] and "strata" in missing.notes[1]
    sentences = scenario_sentences(scenario_table(result), threshold=0.9)
    assert len(sentences) == 5 and sentences[0].startswith("Observed recognition: ")
    assert "associated with" in sentences[1] and "only if the association is causal" in (
        sentences[1])
    assert all("percentage points" in s and "if the association were causal" in s
               for s in sentences[2:])
    assert not any("Fragile" in s for s in sentences)  # no caveat columns: nothing to say


def test_every_scenario_sentence_carries_the_fragility_of_its_terms():
    from evalkit.assessment.fragility import fragile_terms
    from evalkit.assessment.satisfaction import (
        scenario_sentences,
        scenario_terms,
        sign_conflicts,
        with_caveats,
    )

    result = logit(_county_design(), DEFAULT_FORMULA)
    assert scenario_terms(result, "pipe_water") == ("water_at_door", "nonpoor:water_at_door")
    assert scenario_terms(result, "raise_reimbursement") == ("nonpoor:reimbursement_gap",)
    sens = pd.DataFrame({"coef": [0.3, 1.3, -3.1], "coef_ordinal": [-0.7, -1.2, -0.05]},
                        index=["nonpoor", "water_at_door", "nonpoor:water_at_door"])
    assert sign_conflicts(sens) == ("nonpoor", "water_at_door")
    assert sign_conflicts(sens.drop(columns="coef_ordinal")) == ()
    table = with_caveats(scenario_table(result), result,
                         ["nonpoor", "water_at_door", "nonpoor:water_at_door"],
                         ["nonpoor", "water_at_door"])
    rows = table.set_index("scenario")
    assert rows.loc["pipe_water", "rests_on_few"] == "water_at_door;nonpoor:water_at_door"
    assert rows.loc["pipe_water", "sign_differs"] == "water_at_door"
    assert rows.loc["raise_reimbursement", "rests_on_few"] == ""
    sentences = dict(zip(["observed", "assumption", "pipe_water", "raise_reimbursement",
                          "both"], scenario_sentences(table, 0.9), strict=True))
    assert "few households (`water_at_door`, `nonpoor:water_at_door`)" in sentences["pipe_water"]
    assert "opposite sign for `water_at_door`" in sentences["both"]
    assert "Fragile" not in sentences["raise_reimbursement"]
    # The packaged county: the cell of poor households with water at the door holds one
    # dissatisfied household, so the water terms are fragile.
    assert {"water_at_door", "nonpoor:water_at_door"} <= set(fragile_terms(result))


def test_recovery_sentence_counts_wrong_signs_not_only_coverage():
    from evalkit.assessment.satisfaction import recovery_sentence

    table = pd.DataFrame({
        "estimate": [0.27, 1.3, 0.76], "ci_low": [-0.78, -0.93, 0.33],
        "ci_high": [1.31, 3.53, 1.19], "census": [-0.31, -0.34, 0.53],
        "covered_census": [True, True, True], "population_averaged": np.nan,
        "covered_population_averaged": pd.NA, "conditional": np.nan,
        "covered_conditional": pd.NA}, index=["nonpoor", "water_at_door", "log_income"])
    text = recovery_sentence(table)
    assert "cover 3 of 3 census coefficients" in text
    assert ("opposite to the truth for 2 of 3 census coefficients (`nonpoor`, "
            "`water_at_door`)") in text
    assert "establish a direction: 1 of 3 census coefficients" in text
    table.loc["water_at_door", "estimate"] = -0.2
    assert "for 1 of 3 census coefficients (`nonpoor`)" in recovery_sentence(table)


def test_default_marginal_effects_follow_the_formula_order():
    result = logit(_county_design(), DEFAULT_FORMULA)
    table = result.marginal_effects()
    assert list(table["variable"]) == ["nonpoor", "water_at_door", "reimbursement_gap",
                                       "dibao", "log_income"]


@pytest.mark.parametrize("design_name,case", [("clus1_fpc", "clus1_fpc_main"),
                                              ("clus1_nofpc", "clus1_nofpc_main"),
                                              ("strat_fpc", "strat_main")])
def test_matches_the_design_briefs_reference_file(design_name, case):
    """tests/data/r_survey_reference.json (R survey 4.1-1, shipped with the design brief)."""
    reference = json.loads((DATA / "r_survey_reference.json").read_text())[design_name]
    expected = reference["logit_hi_on_ell_meals_mobility"]
    make_design, formula = CASES[case]
    result = make_design().logit(formula)
    names = [_python_name(n) for n in expected["terms"]]
    np.testing.assert_allclose(result.params[names], expected["coef"], rtol=RTOL)
    np.testing.assert_allclose(result.bse[names], expected["se"], rtol=RTOL)


def test_summary_frame_leaves_the_fit_unchanged() -> None:
    """summary_frame names its index 'term' on its own copy: the fit's params keep theirs
    (it once renamed the shared index, so a later conf_int printed a 'term' header)."""
    import numpy as np
    import pandas as pd

    from evalkit.survey.design import SurveyDesign
    from evalkit.survey.svyolr import ordinal_logit

    rng = np.random.default_rng(3)
    data = pd.DataFrame({"village": np.repeat(np.arange(10), 20), "weight": 5.0,
                         "x": rng.normal(size=200)})
    data["y"] = (rng.random(200) < 0.5).astype(int)
    data["answer"] = pd.Series(rng.integers(0, 3, 200)).map({0: "low", 1: "mid", 2: "high"})
    design = SurveyDesign(data, psu="village", weights="weight")
    fit = design.logit("y ~ x")
    assert fit.summary_frame().index.name == "term"
    assert fit.params.index.name is None and fit.conf_int().index.name is None
    ordinal = ordinal_logit(design, "answer ~ x", levels=["low", "mid", "high"])
    assert ordinal.summary_frame().index.name == "term"
    assert ordinal.params.index.name is None
