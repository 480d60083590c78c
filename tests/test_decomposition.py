"""Fairlie decomposition of the recognition gap and the Rao-Wu bootstrap."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from evalkit import SurveyDesign
from evalkit.assessment.defaults import (
    DECOMPOSITION_FACTORS,
    DECOMPOSITION_GROUP,
    DECOMPOSITION_OUTCOME,
    DECOMPOSITION_RATE_LABELS,
)
from evalkit.contract.errors import EvalkitError
from evalkit.survey.decomposition import controls_from_formula, fairlie, rao_wu_weights

# The assessment's recognition gap (evalkit.assessment.defaults), the engine's arguments.
RECOGNITION_GAP = {"outcome": DECOMPOSITION_OUTCOME, "group": DECOMPOSITION_GROUP,
                   "factors": DECOMPOSITION_FACTORS, "controls": ("dibao", "log_income"),
                   "rate_labels": DECOMPOSITION_RATE_LABELS}


def _fairlie(design, **options):
    return fairlie(design, **{**RECOGNITION_GAP, **options})

DATA = Path(__file__).parent / "data"


def _sample(n_villages: int = 40, per_village: int = 40, seed: int = 4,
            group_shift: float = -0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    village = np.repeat(np.arange(n_villages), per_village)
    nonpoor = rng.binomial(1, 0.5, n)
    water = np.where(nonpoor == 1, rng.binomial(1, 0.7, n), rng.binomial(1, 0.1, n))
    gap = np.where(rng.random(n) < 0.35,
                   np.maximum(0, 0.9 - np.where(nonpoor == 1, rng.uniform(0.5, 0.95, n),
                                                rng.uniform(0.85, 1, n))), 0.0)
    dibao = rng.binomial(1, np.where(nonpoor == 1, 0.05, 0.4))
    log_income = rng.normal(9 + 0.3 * nonpoor, 0.5)
    eta = (2.8 + group_shift * nonpoor - 1.2 * water - 4.0 * gap + 0.4 * dibao
           + 0.1 * (log_income - 9))
    return pd.DataFrame({
        "stratum": village % 4, "village": village,
        "weight": np.repeat(rng.uniform(20, 60, n_villages), per_village),
        "nonpoor": nonpoor, "water_at_door": water, "reimbursement_gap": gap,
        "dibao": dibao, "log_income": log_income,
        "recognizes": rng.binomial(1, special.expit(eta)),
    })


def _design(frame: pd.DataFrame | None = None) -> SurveyDesign:
    return SurveyDesign(_sample() if frame is None else frame, psu="village",
                        strata="stratum", weights="weight")


@pytest.fixture(scope="module")
def linearized():
    return _fairlie(_design(), method="linearization")


def test_components_add_up(linearized):
    table = linearized.table.set_index("component")["estimate"]
    assert list(table.index) == ["rate_poor", "rate_nonpoor", "gap", "water", "reimbursement",
                                 "other", "explained", "unexplained"]
    assert table["gap"] == pytest.approx(table["rate_poor"] - table["rate_nonpoor"], rel=1e-12)
    assert table[["water", "reimbursement", "other"]].sum() == pytest.approx(
        table["explained"], rel=1e-12)
    assert table["explained"] + table["unexplained"] == pytest.approx(table["gap"], rel=1e-12)
    assert linearized.yun_weights.sum() == pytest.approx(1.0, rel=1e-12)
    shares = linearized.table.set_index("component")["share_of_gap"]
    assert shares["explained"] + shares["unexplained"] == pytest.approx(1.0, rel=1e-12)


def test_rates_and_their_errors_are_the_design_domain_means(linearized):
    design = _design()
    table = linearized.table.set_index("component")
    for component, value in (("rate_poor", 0), ("rate_nonpoor", 1)):
        domain = design.subset((design.data["nonpoor"] == value).to_numpy())
        expected = domain.mean("recognizes")
        assert table.loc[component, "estimate"] == pytest.approx(expected.estimate, rel=1e-12)
        assert table.loc[component, "se"] == pytest.approx(expected.se, rel=1e-8)


def test_unexplained_is_nonpoor_prediction_at_poor_intercept_minus_observed(linearized):
    design = _design()
    frame = design.data
    beta = linearized.coefficients
    X = np.column_stack([np.ones(len(frame)),
                         frame[["water_at_door", "reimbursement_gap", "dibao",
                                "log_income"]].to_numpy()])
    slopes = beta[["Intercept", "water_at_door", "reimbursement_gap", "dibao", "log_income"]]
    prediction = special.expit(X @ slopes.to_numpy())
    nonpoor = frame["nonpoor"].to_numpy() == 1
    w = frame["weight"].to_numpy()
    expected = (np.sum(w * prediction * nonpoor) / np.sum(w * nonpoor)
                - np.sum(w * frame["recognizes"] * nonpoor) / np.sum(w * nonpoor))
    table = linearized.table.set_index("component")
    # equal up to the IRLS stopping rule (score equations hold to ~1e-8)
    assert table.loc["unexplained", "estimate"] == pytest.approx(expected, rel=1e-6)


def test_single_factor_takes_the_whole_explained_part():
    result = _fairlie(_design(), factors={"water": ["water_at_door"]}, controls=(),
                     method="linearization")
    table = result.table.set_index("component")
    assert list(table.index)[3:] == ["water", "explained", "unexplained"]
    assert table.loc["water", "estimate"] == pytest.approx(table.loc["explained", "estimate"])
    assert table.loc["water", "se"] == pytest.approx(table.loc["explained", "se"], rel=1e-8)


def test_bootstrap_agrees_with_linearization_and_is_seeded(linearized):
    boot = _fairlie(_design(), method="bootstrap", replicates=400, seed=7)
    again = _fairlie(_design(), method="bootstrap", replicates=400, seed=7)
    other = _fairlie(_design(), method="bootstrap", replicates=400, seed=8)
    pd.testing.assert_frame_equal(boot.table, again.table)
    assert not np.allclose(boot.table["se"], other.table["se"])
    np.testing.assert_allclose(boot.table["estimate"], linearized.table["estimate"])
    ratio = boot.table["se"] / linearized.table["se"]
    assert ratio.between(0.8, 1.25).all(), ratio
    assert boot.replicates.shape == (400, len(boot.table))
    assert (boot.table["ci_low"] <= boot.table["estimate"]).all()
    assert (boot.table["estimate"] <= boot.table["ci_high"]).all()


def test_disparities_explain_the_gap_when_there_is_no_group_effect():
    frame = _sample(n_villages=120, per_village=40, seed=12, group_shift=0.0)
    result = _fairlie(_design(frame), method="linearization")
    table = result.table.set_index("component")
    assert table.loc["unexplained", "ci_low"] < 0 < table.loc["unexplained", "ci_high"]
    assert table.loc["water", "ci_low"] > 0
    assert table.loc["reimbursement", "ci_low"] > 0


def test_cancelling_differences_give_a_note_not_a_number():
    base = _sample(n_villages=20, per_village=20, seed=3)
    poor = base.assign(nonpoor=0)
    nonpoor = base.assign(nonpoor=1, village=base["village"] + 100,
                          recognizes=np.random.default_rng(0).binomial(1, 0.7, len(base)))
    result = _fairlie(_design(pd.concat([poor, nonpoor], ignore_index=True)),
                     method="linearization")
    assert result.notes and "cancel" in result.notes[0]
    assert result.yun_weights.isna().all()


def test_bad_input_raises():
    design = _design()
    with pytest.raises(EvalkitError, match="not in the data"):
        _fairlie(design, controls=("no_such_column",))
    with pytest.raises(EvalkitError, match="once"):
        _fairlie(design, controls=("water_at_door",))
    with pytest.raises(EvalkitError, match="method"):
        _fairlie(design, method="jackknife")
    frame = _sample().assign(nonpoor=lambda d: d["nonpoor"] * 2)
    with pytest.raises(EvalkitError, match="0 or 1"):
        _fairlie(_design(frame))


# --- Rao-Wu bootstrap ---------------------------------------------------------------------
def test_rao_wu_multipliers_keep_stratum_totals_and_lonely_strata_fixed():
    frame = _sample(n_villages=21, per_village=5)
    frame["stratum"] = np.where(frame["village"] == 20, 9, frame["village"] % 4)
    design = SurveyDesign(frame, psu="village", strata="stratum", weights="weight",
                          lonely_psu="certainty")
    weights = rao_wu_weights(design, replicates=50, seed=1)
    ratio = weights / frame["weight"].to_numpy()[:, None]
    per_village = pd.DataFrame(ratio).groupby(frame["village"].to_numpy()).first()
    strata = frame.groupby("village")["stratum"].first()
    sums = per_village.groupby(strata.to_numpy()).sum()
    sizes = strata.value_counts().sort_index()
    np.testing.assert_allclose(sums.to_numpy(), np.repeat(sizes.to_numpy()[:, None], 50, 1))
    assert np.all(per_village.loc[20] == 1.0)  # the lonely stratum never varies
    assert np.all(ratio >= 0)


def test_rao_wu_variance_of_a_total_matches_the_design_variance_with_fpc():
    frame = pd.read_csv(DATA / "apistrat.csv")
    design = SurveyDesign(frame, strata="stype", weights="pw", fpc="fpc")
    weights = rao_wu_weights(design, replicates=4000, seed=3)
    totals = weights.T @ frame["api00"].to_numpy()
    boot_variance = np.var(totals, ddof=1)
    design_variance = design.variance_of_totals(design.weight_values * frame["api00"])[0, 0]
    assert boot_variance == pytest.approx(design_variance, rel=0.08)
    with pytest.raises(EvalkitError):
        rao_wu_weights(design, replicates=1, seed=0)


def test_controls_come_from_the_satisfaction_formula():
    formula = ("recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"
               " + log_income")
    assert controls_from_formula(formula, "nonpoor", DECOMPOSITION_FACTORS) == [
        "dibao", "log_income"]
    assert controls_from_formula("recognizes ~ nonpoor + water_at_door", "nonpoor",
                                 DECOMPOSITION_FACTORS) == []
    assert controls_from_formula("y ~ nonpoor + dibao", "nonpoor", factors={"aid": ["dibao"]}) == []


def test_one_interval_per_row_named_and_justified(linearized):
    boot = _fairlie(_design(), method="bootstrap", replicates=300, seed=7)
    table = boot.table.set_index("component")
    smooth = ["rate_poor", "rate_nonpoor", "gap", "explained", "unexplained"]
    assert (table.loc[smooth, "interval"] == "linearized").all()
    assert (table.loc[["water", "reimbursement", "other"], "interval"]
            == "bootstrap percentile").all()
    # The explained part reports the linearized interval, the same as the linearized method.
    lin = linearized.table.set_index("component")
    np.testing.assert_allclose(table.loc[smooth, ["ci_low", "ci_high"]],
                               lin.loc[smooth, ["ci_low", "ci_high"]])
    text = " ".join(boot.explanations())
    assert "Yun's (2004) weights" in text and "not Fairlie's sequential replacement" in text
    assert "300 bootstrap replicates" in text and "about 8 replicates beyond it" in text
    assert "at least 1,000 are advised" in text
    low, high = table.loc["explained", ["ci_low", "ci_high"]]
    assert ("not distinguishable from zero" in text) == (low <= 0 <= high)


def test_weights_outside_0_1_are_explained():
    result = _fairlie(_design(), method="linearization")
    text = " ".join(result.explanations())
    weights = result.yun_weights
    assert ("alone would explain more than the whole explained part" in text) == bool(
        (weights > 1).any())
    assert ("works against the gap" in text) == bool((weights < 0).any())
    forced = dataclasses.replace(result, yun_weights=pd.Series(
        [1.2, 0.2, -0.4], index=["water", "reimbursement", "other"]))
    text = " ".join(forced.explanations())
    assert "water (1.20) alone would explain more" in text
    assert "other (-0.40) works against the gap" in text
    assert "replicates" not in text  # linearization: no replicate count to report
