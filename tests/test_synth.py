"""The synthetic county: calibration to the seed county, design, truth, province mode."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf

from evalkit import synth
from evalkit.contract import schema
from evalkit.contract.data import load_frame, load_survey, validate_file
from evalkit.contract.paths import package_data_dir
from evalkit.synth import (
    DEFAULT_SEED,
    PUBLISHED_FIGURES,
    RECOGNITION_FORMULA,
    RECOGNITION_TERMS,
    PublishedFigure,
    figure_counts,
    generate_county,
    generate_province,
    province_settings,
    reproduce_published,
    target_count,
    write_county,
    write_default_data,
)

PARAMS_FORMULA = ("recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"
                  " + log_income")


@pytest.fixture(scope="module")
def county():
    return generate_county(DEFAULT_SEED)


@pytest.fixture(scope="module")
def packaged():
    frame = load_frame(package_data_dir() / "frame.csv")
    survey = load_survey(package_data_dir() / "survey.csv", frame=frame)
    truth = json.loads((package_data_dir() / "truth.json").read_text(encoding="utf-8"))
    return frame, survey, truth


# --- regeneration -----------------------------------------------------------------------
def test_default_data_regenerates_byte_for_byte(tmp_path):
    written = write_default_data(tmp_path)
    assert set(written) == {"frame", "survey", "truth"}
    for path in written.values():
        shipped = package_data_dir() / path.name
        assert path.read_bytes() == shipped.read_bytes(), f"{path.name} differs from package"


def test_packaged_files_are_small():
    total = sum((package_data_dir() / n).stat().st_size
                for n in ("frame.csv", "survey.csv", "truth.json"))
    assert total < 1_000_000


def test_generation_is_deterministic_and_seeded(county):
    again = generate_county(DEFAULT_SEED)
    pd.testing.assert_frame_equal(again.sample, county.sample)
    assert again.truth == county.truth
    other = generate_county(DEFAULT_SEED + 1)
    assert not other.sample["household_id"].equals(county.sample["household_id"])


# --- the frame --------------------------------------------------------------------------
def test_frame_matches_seed_county(packaged):
    frame, _, truth = packaged
    assert len(frame) == 148
    assert (frame["hh_registered"] > 0).sum() == 148
    assert frame["people_registered"].sum() == 8671
    assert frame["people_not_exited"].sum() == 3085
    assert frame["people_exited"].sum() == 5586
    assert 200_000 <= frame["people_total"].sum() <= 300_000
    assert set(frame["village_type"]) == {"poor", "nonpoor"}
    assert truth["frame"]["registered_people"] == 8671
    assert truth["frame"]["rural_population"] == frame["people_total"].sum()


def test_frame_is_the_population_counted(county):
    pop = county.population
    counts = pop.groupby(["village", "household_type"]).agg(
        hh=("household_id", "size"), people=("household_size", "sum")).unstack(fill_value=0)
    frame = county.frame.set_index("village")
    for t in ("exited", "not_exited", "nonregistered"):
        assert (counts[("hh", t)].reindex(frame.index, fill_value=0)
                == frame[f"hh_{t}"]).all()
        assert (counts[("people", t)].reindex(frame.index, fill_value=0)
                == frame[f"people_{t}"]).all()


# --- the published figures ----------------------------------------------------------------
def _printed(rate: Fraction, published: str) -> str:
    if not published.endswith("%"):
        return str(rate)
    decimals = len(published.rstrip("%").partition(".")[2])
    q = Decimal(rate.numerator * 100) / Decimal(rate.denominator)
    return f"{q.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)}%"


def test_published_rates_reproduced_in_packaged_sample(packaged):
    _, survey, truth = packaged
    htype = survey["household_type"]
    exited, reg = htype == "exited", survey["registered"] == 1
    rates = {
        "wrong_exit_rate": Fraction(int(survey.loc[exited, "people_wrongly_exited"].sum()),
                                    int(survey.loc[exited, "household_size"].sum())),
        "recognition_rate": Fraction(int(survey["recognizes"].sum()), len(survey)),
        "industry_support_coverage": Fraction(int(survey.loc[reg, "industry_support"].sum()),
                                              int(reg.sum())),
        "microcredit_takeup": Fraction(int(survey.loc[reg, "microcredit"].sum()),
                                       int(reg.sum())),
        "public_welfare_job_rate": Fraction(int(survey.loc[reg, "public_welfare_job"].sum()),
                                            int(reg.sum())),
        "dibao_not_exited": Fraction(int(survey.loc[htype == "not_exited", "dibao"].sum()),
                                     int((htype == "not_exited").sum())),
    }
    expected = {"wrong_exit_rate": "2.9%", "recognition_rate": "94.86%",
                "industry_support_coverage": "56%", "microcredit_takeup": "0",
                "public_welfare_job_rate": "5%", "dibao_not_exited": "88.6%"}
    for key, published in expected.items():
        assert _printed(rates[key], published) == published, key
    assert rates["microcredit_takeup"] == 0
    table = reproduce_published(survey)
    assert table["matches"].all()
    assert list(table["reproduced"]) == list(expected.values())
    assert [f["reproduced"] for f in truth["published_figures"]] == list(expected.values())


def test_figure_windows_and_attainability():
    rec = next(f for f in PUBLISHED_FIGURES if f.key == "recognition_rate")
    assert rec.window() == (Fraction(94855, 100000), Fraction(94865, 100000))
    assert target_count(rec, 2000) is None          # 1897/2000 = 94.85%, 1898/2000 = 94.90%
    assert target_count(rec, 2025) == 1921
    zero = PublishedFigure("z", "0", "", "")
    assert zero.window() == (0, 0) and target_count(zero, 700) == 0


def test_sample_design(packaged, county):
    frame, survey, truth = packaged
    assert survey["village"].nunique() == 29
    assert 1950 <= len(survey) <= 2100
    per_village = survey.groupby("village").size()
    assert per_village.between(66, 72).all()
    assert truth["design"]["sample_households"] == len(survey)
    share = survey["registered"].mean()
    # The frame (8,671 people, ~20 registered households a village) cannot give half a
    # 2,000-household sample from 29 villages; the design takes as many as it allows.
    assert 0.3 <= share <= 0.5
    # First stage: PPS on households, no certainty villages here.
    f = frame.set_index("village")
    pi = 29 * f["hh_total"] / f["hh_total"].sum()
    got = survey.groupby("village")["village_prob"].first()
    np.testing.assert_allclose(got, pi.loc[got.index], rtol=1e-7)
    # Second stage: weight * pi * m = N for every village and list; every non-empty list
    # of a sampled village is represented (no zero inclusion probabilities).
    g = survey.groupby(["village", "household_type"])
    m = g.size()
    w = g["weight"].agg(["min", "max"])
    assert (w["max"] - w["min"]).max() < 1e-9
    n_list = pd.Series({(v, t): f.loc[v, f"hh_{t}"] for v, t in m.index})
    np.testing.assert_allclose(w["min"] * m * pi.loc[m.index.get_level_values(0)].to_numpy(),
                               n_list.loc[m.index], rtol=1e-6)
    for v in survey["village"].unique():
        for t in ("exited", "not_exited", "nonregistered"):
            if f.loc[v, f"hh_{t}"] > 0:
                assert (v, t) in m.index
    np.testing.assert_allclose(survey["weight"] * survey["incl_prob"], 1.0, rtol=1e-6)


def test_weights_sum_to_frame_totals(packaged):
    frame, survey, _ = packaged
    # All households: exact by construction (each village's weights sum to N / n).
    assert abs(survey["weight"].sum() - frame["hh_total"].sum()) < 0.01
    # Registered households: Horvitz-Thompson estimate; within 3 standard errors, using the
    # with-replacement PPS variance (1/n) sum p_i (R_i / p_i - R)^2 (Cochran 1977, 9A.4).
    p = frame["hh_total"] / frame["hh_total"].sum()
    total = frame["hh_registered"].sum()
    se = np.sqrt((p * (frame["hh_registered"] / p - total) ** 2).sum() / 29)
    est = survey.loc[survey["registered"] == 1, "weight"].sum()
    assert abs(est - total) < 3 * se
    assert se / total < 0.2


# --- privacy ----------------------------------------------------------------------------
def test_identifiers_present_in_file_dropped_at_load(packaged):
    raw = pd.read_csv(package_data_dir() / "survey.csv", dtype=str)
    for c in ("name", "id_number", "phone"):
        assert c in raw.columns and c in schema.IDENTIFYING_COLUMNS
    assert raw["id_number"].str.fullmatch(r"99\d{15}[\dX]").all()
    assert raw["phone"].str.fullmatch(r"100\d{8}").all()
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    for number in raw["id_number"].head(50):
        check = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], weights,
                                                             strict=True)) % 11]
        assert number[17] == check
    _, survey, _ = packaged
    assert not set(schema.IDENTIFYING_COLUMNS) & set(survey.columns)
    text = survey.to_csv()
    for value in raw["name"].head(200).tolist() + raw["id_number"].head(200).tolist():
        assert value not in text
    report = validate_file(package_data_dir() / "survey.csv",
                           frame_path=package_data_dir() / "frame.csv")
    assert report.ok, report.summary()
    assert report.dropped_columns == ["name", "id_number", "phone"]


# --- the mechanism and the truth ------------------------------------------------------------
def test_sample_is_drawn_from_the_population(county):
    pop = county.population.set_index("household_id")
    smp = county.sample.set_index("household_id")
    cols = ["household_type", "household_size", "people_wrongly_exited", "recognition",
            "water_access", "dibao", "income_per_head"]
    pd.testing.assert_frame_equal(smp[cols].astype(pop[cols].dtypes.to_dict()),
                                  pop.loc[smp.index, cols])


def test_disparities_in_the_data(county):
    pop = county.population
    reg = pop["registered"] == 1
    assert pop.loc[reg, "reimbursement_share"].mean() > 0.9
    assert 0.65 < pop.loc[~reg, "reimbursement_share"].mean() < 0.75
    assert (pop.loc[reg, "water_access"] == "in_home").mean() > 0.8
    assert (pop.loc[~reg, "water_access"] == "at_door").mean() > 0.5
    rec = pop.groupby(["nonpoor", "water_at_door"])["recognizes"].mean()
    assert rec.loc[(1, 1)] < rec.loc[(1, 0)] - 0.04
    assert rec.loc[(1, 1)] < rec.loc[(0, 0)] - 0.05


def test_truth_documents_the_formula_terms(packaged):
    _, _, truth = packaged
    model = truth["recognition_model"]
    assert model["formula"] == RECOGNITION_FORMULA == PARAMS_FORMULA
    params_file = Path(__file__).resolve().parents[1] / "params" / "default.yaml"
    if params_file.exists():  # the default run uses the same formula
        assert PARAMS_FORMULA in params_file.read_text(encoding="utf-8")
    for key in ("coefficients_conditional", "coefficients_population_averaged",
                "coefficients_census"):
        assert list(model[key]) == list(RECOGNITION_TERMS)
    assert model["random_effect_sd"] == 0.3
    names = smf.glm(PARAMS_FORMULA, pd.DataFrame({
        "recognizes": [0, 1, 0, 1], "nonpoor": [0, 1, 1, 0], "water_at_door": [1, 0, 1, 0],
        "reimbursement_gap": [0, 0.1, 0.2, 0], "dibao": [1, 0, 0, 1],
        "log_income": [8.0, 9.0, 8.5, 9.5]})).exog_names
    assert names == list(RECOGNITION_TERMS)
    cond, pa = model["coefficients_conditional"], model["coefficients_population_averaged"]
    for term in RECOGNITION_TERMS[1:]:  # SD 0.3: marginal and conditional slopes close
        assert abs(pa[term] - cond[term]) <= 0.03 * abs(cond[term]) + 0.01


def test_census_coefficients_are_the_population_fit(county):
    pop = county.population
    fit = smf.glm(PARAMS_FORMULA, pop, family=sm.families.Binomial()).fit()
    census = county.truth["recognition_model"]["coefficients_census"]
    np.testing.assert_allclose(fit.params[list(RECOGNITION_TERMS)],
                               [census[t] for t in RECOGNITION_TERMS], atol=2e-6)
    # The census fit is a draw around the population-averaged truth.
    pa = county.truth["recognition_model"]["coefficients_population_averaged"]
    z = (fit.params - pd.Series(pa)) / fit.bse
    assert (z.abs() < 3.5).all(), z


def test_sample_regression_recovers_true_coefficients(packaged):
    _, survey, truth = packaged
    fit = smf.glm(PARAMS_FORMULA, survey, family=sm.families.Binomial()).fit()
    pa = pd.Series(truth["recognition_model"]["coefficients_population_averaged"])
    z = (fit.params - pa) / fit.bse
    assert (z.abs() < 3.0).all(), z
    # The key disparity is found: non-poor households with water at the door recognize less.
    assert fit.params["nonpoor:reimbursement_gap"] < 0
    assert fit.params["nonpoor"] + fit.params["water_at_door"] + fit.params[
        "nonpoor:water_at_door"] < -0.8


def test_three_levels_follow_one_ordinal_latent(county):
    pop = county.population
    assert set(pop["recognition"]) == {"satisfied", "basically_satisfied", "dissatisfied"}
    pop = pop.assign(satisfied=(pop["recognition"] == "satisfied").astype(int))
    rec = smf.glm(PARAMS_FORMULA, pop, family=sm.families.Binomial()).fit()
    sat = smf.glm(PARAMS_FORMULA.replace("recognizes", "satisfied"), pop,
                  family=sm.families.Binomial()).fit()
    cut = county.truth["recognition_model"]["satisfied_cut"]
    # Proportional odds: same slopes, linear predictors one cut apart (compared on average
    # over the county, since the intercept alone is tied to the uncentred log_income).
    X = rec.model.exog
    gap = (X @ rec.params.to_numpy() - X @ sat.params.to_numpy()).mean()
    assert gap == pytest.approx(cut, abs=0.1)
    for term in ("nonpoor:reimbursement_gap", "log_income", "nonpoor"):
        assert abs(rec.params[term] - sat.params[term]) < 3 * np.hypot(rec.bse[term],
                                                                       sat.bse[term])


def test_truth_calibration_record(packaged):
    _, survey, truth = packaged
    assert set(truth["calibration"]["calibrated_intercepts"]) == {
        "dibao", "industry", "microcredit", "job", "wrong_exit", "recognition"}
    assert sum(truth["calibration"]["adjusted_draws"].values()) <= 1
    counts = figure_counts(survey)
    for f in truth["published_figures"]:
        assert (f["numerator"], f["denominator"]) == counts[f["figure"]]
    for text in truth["design"]["allocation_adjustments"]:
        assert re.search(r"[+-]\d", text)


# --- province mode --------------------------------------------------------------------------
def test_province_counties_differ_and_keep_the_contract(tmp_path):
    settings = province_settings(11, 3)
    assert settings == province_settings(11, 3)
    assert len({s.registered_people for s in settings}) == 3
    province = generate_province(11, 3)
    assert [c.settings.name for c in province.counties] == ["county 01", "county 02",
                                                            "county 03"]
    summary = province.summary()
    assert summary["true_wrong_exit_rate"].nunique() == 3
    assert summary["true_recognition_rate"].nunique() == 3
    for c in province.counties:
        assert c.truth["calibration"]["calibrated_intercepts"] == []
        paths = write_county(c, tmp_path / c.settings.name.replace(" ", "_"))
        survey = load_survey(paths["survey"], frame=paths["frame"])
        assert abs(survey["weight"].sum() - c.frame[["hh_exited", "hh_not_exited",
                                                     "hh_nonregistered"]].sum().sum()) < 0.01
        frame = load_frame(paths["frame"])
        assert frame["people_registered"].sum() == c.settings.registered_people


def test_half_registered_variant_reaches_half_and_keeps_the_published_figures():
    county = synth.generate_county(synth.DEFAULT_SEED, synth.HALF_REGISTERED)
    sample = county.sample
    registered = sample["household_type"] != "nonregistered"
    assert 0.45 <= registered.mean() <= 0.55
    assert synth.reproduce_published(sample)["matches"].all()
    # PPS on registered households: registered weights add up to the frame's exactly
    frame_registered = (county.frame["hh_exited"] + county.frame["hh_not_exited"]).sum()
    # (weights are stored to 6 decimals)
    assert sample.loc[registered, "weight"].sum() == pytest.approx(frame_registered, rel=1e-6)
    assert county.truth["design"]["village_size_measure"] == "registered"
