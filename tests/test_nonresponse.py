"""Non-response adjustment within weighting cells (evalkit.survey.nonresponse)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit import SurveyDesign
from evalkit.contract.errors import EvalkitError
from evalkit.survey.nonresponse import adjust_for_nonresponse

# The cells a run uses by default (evalkit.assessment.defaults).
CELLS = ("household_type", "village")


def _sample(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    villages = np.repeat([f"v{i}" for i in range(6)], 40)
    types = rng.choice(["exited", "not_exited", "nonregistered"], villages.size,
                       p=[0.5, 0.1, 0.4])
    weight = np.repeat(rng.uniform(20, 60, 6), 40)
    responded = (rng.uniform(size=villages.size) < 0.85).astype(int)
    return pd.DataFrame({"village": villages, "household_type": types, "weight": weight,
                         "responded": responded, "y": rng.normal(size=villages.size)})


def test_weights_move_to_respondents_of_the_same_cell():
    data = _sample()
    result = adjust_for_nonresponse(data, cells=CELLS, min_respondents=1, max_factor=100)
    assert result.notes == []
    assert np.all(result.weights[data["responded"] == 0] == 0)
    keys = [data["household_type"], data["village"]]
    before = data["weight"].groupby(keys).sum()
    after = pd.Series(result.weights).groupby(keys).sum()
    pd.testing.assert_series_equal(after, before, check_names=False, rtol=1e-12)
    # within a cell every respondent gets the same factor: sampled / responded weight
    row = result.table.iloc[0]
    assert row["factor"] == pytest.approx(row["sampled"] / row["responded"])  # equal w
    assert result.table["level"].unique().tolist() == ["household_type x village"]


def test_thin_cells_are_pooled_and_reported():
    data = _sample()
    result = adjust_for_nonresponse(data, cells=CELLS, min_respondents=5)
    assert result.weights.sum() == pytest.approx(data["weight"].sum(), rel=1e-12)
    assert "not_exited" in " ".join(result.table["cell"])
    levels = set(result.table["level"])
    # thin cells (fewer than 5 respondents, some non-response) pool upwards; cells where
    # everyone responded keep factor 1 at the finest level
    assert "household_type x village" in levels and len(levels) > 1
    assert "pooled into household_type cells" in result.notes[0]
    # factors come from cells with enough respondents and a factor <= 2, or cells where
    # every household responded (factor 1, nothing to estimate)
    table = result.table
    own = ~table["level"].str.endswith("(spread)")
    assert ((table["responded"] >= 5) | (table["responded"] == table["sampled"]))[own].all()
    assert (result.table["factor"] <= 2).all()
    # the respondents' file feeds a design whose weights sum to the sampled total
    respondents = result.respondents(data)
    design = SurveyDesign(respondents, psu="village", weights="weight")
    assert design.weight_values.sum() == pytest.approx(data["weight"].sum())
    assert len(respondents) == int(data["responded"].sum())


def test_cells_without_any_respondent_keep_the_total():
    data = _sample()
    data.loc[data["household_type"] == "not_exited", "responded"] = 0
    result = adjust_for_nonresponse(data, cells=["household_type"], min_respondents=1)
    assert result.weights.sum() == pytest.approx(data["weight"].sum(), rel=1e-12)
    assert "had no respondent" in result.notes[-1]


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.drop(columns="responded"), "column 'responded' is not in the sample"),
    (lambda d: d.assign(responded=d["responded"].replace(1, 2)), "expected 0 or 1"),
    (lambda d: d.assign(weight=-1.0), "row 2 is -1.0; expected a positive weight"),
    (lambda d: d.assign(responded=0), "no household responded"),
])
def test_bad_input(change, message):
    with pytest.raises(EvalkitError, match=message) as info:
        adjust_for_nonresponse(change(_sample()), cells=CELLS)
    assert "\n" not in str(info.value)
