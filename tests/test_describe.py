"""repr(SurveyDesign) and SurveyDesign.summary(): R's print/summary(svydesign), Stata's
svydescribe, never the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.survey.design import SurveyDesign
from evalkit.survey.nonresponse import adjust_for_nonresponse

DATA = Path(__file__).parent / "data"


def api(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / name)


def test_stratified_design_is_described_as_r_summary_does() -> None:
    """R: summary(svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc))
    prints stratum sizes E 100, H 50, M 50 (obs, design.PSU) and population stratum sizes
    4421, 755, 1018; sum(weights(dstrat)) is 6194."""
    design = SurveyDesign(api("apistrat.csv"), strata="stype", weights="pw", fpc="fpc")
    summary = design.summary()
    table = summary.by_stratum
    assert list(table.index) == ["E", "H", "M"]
    assert table["PSUs"].tolist() == [100, 50, 50]
    assert table["obs"].tolist() == [100, 50, 50]
    np.testing.assert_allclose(table["PSUs"] / table["fraction"], [4421, 755, 1018])
    np.testing.assert_allclose(table["weight_sum"], [4421, 755, 1018], rtol=1e-6)
    assert summary.n_strata == 3 and summary.n_psu == 200 and summary.rows == 200
    assert summary.psu_per_stratum == (50, pytest.approx(200 / 3), 100)
    assert summary.weights[2] == pytest.approx(6194, rel=1e-6)
    assert summary.design_type.startswith("stratified independent sampling")
    assert "without replacement (fpc)" in summary.design_type


def test_cluster_design_counts_observations_per_psu() -> None:
    """apiclus1: 15 districts sampled, 183 schools; Stata's svydescribe #Obs per unit."""
    data = api("apiclus1.csv")
    design = SurveyDesign(data, psu="dnum", weights="pw", fpc="fpc")
    summary = design.summary()
    per_district = data.groupby("dnum").size()
    assert summary.n_psu == 15 and summary.n_strata == 1
    assert summary.rows_per_psu == (per_district.min(), pytest.approx(183 / 15),
                                    per_district.max())
    assert summary.design_type == "1-stage cluster sample, without replacement (fpc)"
    text = repr(design)
    assert "183 observations in 15 PSUs" in text
    assert "psu=dnum, weights=pw, fpc=fpc" in text
    without_fpc = SurveyDesign(data, psu="dnum", weights="pw")
    assert "with replacement (no fpc)" in repr(without_fpc)
    assert "fraction" not in without_fpc.summary().by_stratum
    assert "NaN" not in str(without_fpc.summary())


def test_calibration_domain_and_lonely_rule_are_shown() -> None:
    design = SurveyDesign(api("apistrat.csv"), strata="stype", weights="pw", fpc="fpc",
                          lonely_psu="adjust")
    raked = design.rake({"stype": {"E": 4421, "H": 755, "M": 1018}})
    text = repr(raked.subset(raked.data["stype"] == "E"))
    assert "calibration: rake on stype" in text
    assert "domain: 100 of 200 observations" in text
    assert "lonely PSU: adjust" in text
    assert "calibration: none" in repr(design)
    assert raked.calibration_steps == ("rake on stype",)


def test_nonresponse_adjustment_is_shown() -> None:
    data = api("apistrat.csv")
    data["responded"] = (np.arange(len(data)) % 5 != 0).astype(int)
    adjustment = adjust_for_nonresponse(data, weights="pw", responded="responded",
                                        cells=["stype"])
    data["pw_before_nonresponse"] = data["pw"]
    data["pw"] = adjustment.weights
    respondents = data[data["responded"] == 1].reset_index(drop=True)
    text = repr(SurveyDesign(respondents, strata="stype", weights="pw"))
    sampled = data.groupby("stype").size()
    answered = respondents.groupby("stype").size()
    factors = sampled / answered  # each stratum's weight moved onto its respondents
    assert (f"non-response: weighting-class adjustment, factors {factors.min():.3g} to "
            f"{factors.max():.3g} (design weights in 'pw_before_nonresponse')") in text
    assert factors.min() < factors.max()


def test_repr_of_a_million_households_is_short_and_shows_no_data() -> None:
    rng = np.random.default_rng(5)
    n = 1_000_000
    village = np.repeat(np.arange(2_000), n // 2_000)
    data = pd.DataFrame({
        "county": village // 200, "village": village,
        "weight": rng.uniform(10, 300, n),
        "head_name": np.array(["Zhang San", "Li Si"])[rng.integers(0, 2, n)],
        "id_number": rng.integers(10**17, 10**18, n).astype(str),
    })
    design = SurveyDesign(data, psu="village", strata="county", weights="weight")
    text = repr(design)
    assert len(text) < 1_000, len(text)
    assert "1,000,000 observations in 2,000 PSUs within 10 strata" in text
    assert "min 200, mean 200.0, max 200" in text
    summary = str(design.summary())
    for shown in (text, summary):
        assert "Zhang" not in shown and "Li Si" not in shown
        assert data["id_number"].iloc[0] not in shown
    assert len(summary) < 3_000


def test_summary_of_many_strata_stays_short() -> None:
    data = pd.DataFrame({"stratum": np.repeat(np.arange(500), 4),
                         "psu": np.arange(2_000), "weight": 3.0})
    summary = SurveyDesign(data, psu="psu", strata="stratum", weights="weight").summary()
    assert len(summary.by_stratum) == 500
    assert str(summary).count("\n") < 40
    assert "..." in str(summary)


def test_pps_design_is_described_with_its_inclusion_probabilities() -> None:
    sample = pd.DataFrame({"village": list("aabbcc"), "y": [1, 0, 1, 1, 0, 0],
                           "pi": [0.5, 0.5, 0.3, 0.3, 0.2, 0.2],
                           "weight": [20, 20, 30, 30, 50, 50]})
    design = SurveyDesign(sample, "village", weights="weight", fpc="pi", pps="brewer")
    text = repr(design)
    assert "1-stage cluster sample, PPS without replacement (Brewer's approximation)" in text
    assert "fpc: PSU inclusion probabilities from 'pi', 0.2 to 0.5" in text
    assert "fraction" not in design.summary().by_stratum
