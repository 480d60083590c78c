"""Indicators: people-level rates, incidence, decisions, disaggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit import SurveyDesign
from evalkit.assessment.indicators import (
    CANNOT_TELL,
    FAIL,
    PASS,
    SPECS,
    assess,
    disaggregate,
    estimate_indicator,
    incidence,
    indicator_table,
    people_design,
)
from evalkit.survey.decision import decide


def make_survey(seed: int = 7, n_villages: int = 24, per_village: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    village = np.repeat(np.arange(n_villages), per_village)
    n = village.size
    kind = rng.choice(["exited", "not_exited", "nonregistered"], n, p=[0.4, 0.1, 0.5])
    size = rng.integers(1, 7, n)
    village_rate = rng.beta(2, 60, n_villages)[village]
    wrong = np.where(kind == "exited", rng.binomial(size, village_rate), 0)
    missed = np.where(kind == "nonregistered", rng.binomial(size, village_rate / 2), 0)
    return pd.DataFrame({
        "township": np.where(village < 12, "T1", "T2"),
        "village": village,
        "household_type": kind,
        "household_size": size,
        "people_wrongly_exited": wrong,
        "people_missed": missed,
        "exited": (kind == "exited").astype(int),
        "not_exited": (kind == "not_exited").astype(int),
        "registered": (kind != "nonregistered").astype(int),
        "nonpoor": (kind == "nonregistered").astype(int),
        "recognizes": (rng.random(n) < 0.93).astype(int),
        "industry_support": (rng.random(n) < 0.5).astype(int),
        "microcredit": np.zeros(n, dtype=int),
        "public_welfare_job": (rng.random(n) < 0.05).astype(int),
        "dibao": (rng.random(n) < 0.8).astype(int),
        "weight": rng.uniform(20, 60, n),
    })


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return make_survey()


@pytest.fixture(scope="module")
def design(survey) -> SurveyDesign:
    return SurveyDesign(survey, psu="village", weights="weight")


FRAME = pd.DataFrame({"people_exited": [5586], "people_not_exited": [3085],
                      "people_nonregistered": [240_000]})


def test_people_level_rate_equals_the_ratio_estimator(design):
    exited = design.subset("exited")
    ratio = exited.ratio("people_wrongly_exited", "household_size")
    persons = people_design(exited, "people_wrongly_exited", "household_size")
    wald = persons.proportion("affected", method="mean")
    assert wald.estimate == pytest.approx(ratio.estimate, rel=1e-12)
    assert wald.se == pytest.approx(ratio.se, rel=1e-10)
    assert wald.ci == pytest.approx(ratio.ci, rel=1e-10)
    assert wald.df == ratio.df


def test_people_design_counts_people(survey, design):
    persons = people_design(design, "people_wrongly_exited", "household_size")
    assert len(persons.data) == survey["household_size"].sum()
    assert persons.data["affected"].sum() == survey["people_wrongly_exited"].sum()
    assert persons.df == design.df


def test_official_rate_is_the_plain_sample_ratio(survey, design):
    result = estimate_indicator(design, SPECS["wrong_exit"], threshold=0.02)
    exited = survey[survey["exited"] == 1]
    assert result.official == pytest.approx(
        exited["people_wrongly_exited"].sum() / exited["household_size"].sum(), rel=1e-12)
    assert result.n_households == len(exited)
    assert result.estimate.ci[0] < result.estimate.estimate < result.estimate.ci[1]
    # the decision follows from the interval shown: 2.9% with an interval across 2% is
    # "cannot tell", wholly above it "fail"
    low, high = result.estimate.ci
    assert result.decision == ("fail" if low > 0.02 else "pass" if high < 0.02
                               else "cannot tell")


def test_recognition_is_a_household_proportion(survey, design):
    result = estimate_indicator(design, SPECS["recognition"], threshold=0.9)
    expected = design.proportion("recognizes")
    assert result.estimate.estimate == pytest.approx(expected.estimate)
    assert result.estimate.ci == pytest.approx(expected.ci)
    assert result.official == pytest.approx(survey["recognizes"].mean())


@pytest.mark.parametrize(
    ("bounds", "threshold", "direction", "expected"),
    [
        ((0.010, 0.018), 0.02, "below", PASS),
        ((0.021, 0.035), 0.02, "below", FAIL),
        ((0.015, 0.035), 0.02, "below", CANNOT_TELL),
        ((0.91, 0.95), 0.90, "at_least", PASS),
        ((0.85, 0.89), 0.90, "at_least", FAIL),
        ((0.88, 0.93), 0.90, "at_least", CANNOT_TELL),
    ],
)
def test_decisions(bounds, threshold, direction, expected):
    assert decide(bounds, threshold, direction) == expected


def test_incidence_variance_includes_the_covariance_of_the_two_ratios(design):
    result = incidence(design, FRAME, threshold=0.02)
    wrong = estimate_indicator(design, SPECS["wrong_exit"]).estimate.estimate
    missed = estimate_indicator(design, SPECS["missed"]).estimate.estimate
    expected = (3085 + missed * 240_000 + wrong * 5586) / (5586 + 3085 + 240_000)
    assert result.estimate.estimate == pytest.approx(expected, rel=1e-12)
    # the variance of a combination of two ratios: build it from the two ratio variances
    # and their covariance through the same design and compare
    w = design.weight_values
    data = design.data
    z = []
    for count, mask in (("people_missed", "nonpoor"), ("people_wrongly_exited", "exited")):
        m = data[mask].to_numpy() == 1
        y = np.where(m, data[count], 0.0)
        x = np.where(m, data["household_size"], 0.0)
        r = (w * y).sum() / (w * x).sum()
        z.append((y - r * x) / (w * x).sum())
    cov = design.variance_of_totals(w[:, None] * np.column_stack(z))
    a = np.array([240_000, 5586]) / (5586 + 3085 + 240_000)
    assert result.estimate.se == pytest.approx(float(np.sqrt(a @ cov @ a)), rel=1e-10)
    assert 0 < result.estimate.ci[0] < result.estimate.estimate < result.estimate.ci[1]


def test_assess_table_has_every_indicator(design):
    thresholds = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.9, "incidence": 0.02}
    table = indicator_table(assess(design, FRAME, thresholds))
    assert list(table["indicator"][:4]) == ["wrong_exit", "missed", "incidence", "recognition"]
    assert set(table["indicator"]) >= {"microcredit", "dibao_not_exited"}
    microcredit = table.set_index("indicator").loc["microcredit"]
    assert microcredit["estimate"] == 0
    assert microcredit["ci_high"] > 0  # zero events: an honest, non-degenerate interval
    assert table["decision"].iloc[:4].isin([PASS, FAIL, CANNOT_TELL]).all()


def test_disaggregation_suppresses_small_cells(design):
    thresholds = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.9}
    table = disaggregate(design, "township", thresholds, min_cell_size=200)
    small = table[table["n_households"] < 200]
    assert len(small) > 0
    assert small["suppressed"].all() and small["estimate"].isna().all()
    big = table[table["n_households"] >= 200]
    assert (~big["suppressed"]).all() and big["estimate"].notna().all()


def test_design_effect_sentences(design):
    thresholds = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.9, "incidence": 0.02}
    from evalkit.assessment.indicators import explain_design_effects

    results = assess(design, FRAME, thresholds, secondary=False)
    sentences = explain_design_effects(results)
    assert len(sentences) == 4
    assert "no design effect of its own" in sentences[2]  # incidence combines rates
    recognition = next(r for r in results if r.spec.key == "recognition")
    assert f"{recognition.estimate.deff:.2f}" in sentences[-1]


def test_significant_rounding():
    from evalkit.report.formatting import percent, rounded, significant

    assert significant(0.0290412345) == 0.02904
    assert significant(1234.5678) == 1235
    assert np.isnan(significant(float("nan")))
    table = rounded(pd.DataFrame({"a": [0.123456, 98765.4], "b": ["x", "y"]}))
    assert table["a"].tolist() == [0.1235, 98770.0]
    assert percent(0.02904) == "2.9%" and percent(float("nan")) == "\u2013"


def test_disaggregation_suppresses_cells_with_too_few_villages(survey):
    few = survey.assign(group=np.where(survey["village"] < 2, "tiny", "rest"))
    design = SurveyDesign(few, psu="village", weights="weight")
    table = disaggregate(design, "group", {}, min_cell_size=10, min_villages=3)
    tiny = table[table["group"] == "tiny"]
    assert tiny["suppressed"].all()
    assert (tiny["reason"] == "fewer than 3 villages").all()
    assert (tiny["n_villages"] == 2).all()


def test_people_counts_must_be_whole_numbers() -> None:
    """2.5 people affected used to be truncated to 2 without a word."""
    from evalkit.contract.errors import EvalkitError
    from evalkit.survey.people import integer_column, people_design

    assert integer_column(pd.DataFrame({"size": [3.0, 4.0]}), "size").tolist() == [3, 4]
    households = SurveyDesign(pd.DataFrame({"count": [1, 2.5], "size": [3, 4],
                                            "weight": [10.0, 10.0]}), weights="weight")
    with pytest.raises(EvalkitError, match=r"column 'count' row 3 is 2.5; expected a whole"):
        people_design(households, "count", "size")
