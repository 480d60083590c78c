"""SurveyDesign's public copies: reweighted (new weights, calibration steps) and rebased
(other columns, same rows), which replaced other modules writing its private state."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evalkit.contract.errors import EvalkitError
from evalkit.survey.design import SurveyDesign


def _design() -> SurveyDesign:
    sample = pd.DataFrame({"stratum": [1, 1, 1, 1, 2, 2, 2, 2],
                           "village": ["a", "a", "b", "b", "c", "c", "d", "d"],
                           "w": [10.0, 14, 12, 9, 8, 11, 9, 13],
                           "y": [1.0, 0, 1, 1, 0, 0, 1, 0],
                           "kind": ["p", "q", "p", "q", "p", "q", "p", "q"]})
    return SurveyDesign(sample, psu="village", strata="stratum", weights="w")


def test_reweighted_equals_a_design_built_with_those_weights() -> None:
    design = _design()
    new = np.array([5.0, 6, 7, 8, 9, 10, 11, 12])
    built = SurveyDesign(design.data.assign(w=new), psu="village", strata="stratum",
                         weights="w")
    copy = design.reweighted(new)
    assert copy.mean("y").estimate == pytest.approx(built.mean("y").estimate, rel=1e-14)
    assert copy.mean("y").se == pytest.approx(built.mean("y").se, rel=1e-14)
    # the original is untouched, and the weights cannot be changed in place
    assert design.full_weights.tolist() == [10.0, 14, 12, 9, 8, 11, 9, 13]
    with pytest.raises(ValueError):
        design.full_weights[0] = 1.0


def test_reweighted_keeps_or_replaces_the_calibration_steps() -> None:
    calibrated = _design().poststratify("kind", {"p": 50, "q": 30})
    assert len(calibrated.calibration_chain) == 1
    kept = calibrated.reweighted(calibrated.full_weights)
    assert kept.calibration_chain == calibrated.calibration_chain
    assert kept.mean("y").se == pytest.approx(calibrated.mean("y").se, rel=1e-14)
    dropped = calibrated.reweighted(calibrated.full_weights, calibration_chain=())
    assert not dropped.is_calibrated
    assert dropped.mean("y").se != pytest.approx(calibrated.mean("y").se, rel=1e-6)


@pytest.mark.parametrize("weights", [[1.0] * 7, [1.0] * 7 + [np.nan], [1.0] * 7 + [-1.0]])
def test_reweighted_refuses_wrong_weights(weights: list[float]) -> None:
    with pytest.raises(EvalkitError, match="reweighted"):
        _design().reweighted(weights)


def test_rebased_adds_a_column_and_keeps_everything_else() -> None:
    calibrated = _design().poststratify("kind", {"p": 50, "q": 30})
    with_z = calibrated.rebased(calibrated.data.assign(z=calibrated.data["y"] * 2))
    assert with_z.mean("z").estimate == pytest.approx(2 * calibrated.mean("y").estimate)
    assert with_z.mean("z").se == pytest.approx(2 * calibrated.mean("y").se)
    assert "z" not in calibrated.data
    back = with_z.rebased(calibrated.data)
    assert back.data is calibrated.data
    assert back.calibration_chain == calibrated.calibration_chain


@pytest.mark.parametrize("change", [lambda d: d.iloc[:-1], lambda d: d.drop(columns="village"),
                                    lambda d: d.assign(w=d["w"] * 2)])
def test_rebased_refuses_other_rows_or_changed_design_columns(change) -> None:
    design = _design()
    with pytest.raises(EvalkitError, match="rebased"):
        design.rebased(change(design.data))
