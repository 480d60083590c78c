"""The re-check round on the design as drawn, against R.

R reference: tests/data/r/make_recheck_asdrawn_reference.R (the packaged assessment and
re-check stacked in one design: villages by PPS without replacement, Brewer's approximation
with village_prob; each round's household-type lists taken whole; households by SRS with
household_prob = incl_prob / village_prob; linear calibration to household and people
totals by type, crossed with the round; each round's estimate and the change by svytotal +
svycontrast, each round's SE cross-checked with svyby). ``round_lists`` is the run's design
(the round crossed into the lists, so each round's households are their own SRS);
``as_run`` the lists pooled over the rounds, the stacked design before that. R is not
needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.assessment import followup
from evalkit.assessment.county_totals import frame_calibration
from evalkit.assessment.inputs import build_design
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.run.params import load_params
from evalkit.survey.change import difference, round_scores

REPO = Path(__file__).resolve().parents[1]
REF = json.loads((Path(__file__).parent / "data" / "r"
                  / "recheck_asdrawn_reference.json").read_text())
LEVELS = (followup.BEFORE, followup.AFTER)
#: R name -> (numerator, denominator, domain: exited households only)
QUANTITIES = {"recognition": ("recognizes", None, False),
              "wrong_exit": ("people_wrongly_exited", "household_size", True)}
RTOL = 1e-6


@pytest.fixture(scope="module")
def params():
    values = load_params(REPO / "params" / "recheck_zh.yaml").values
    # the run's default design and totals; the R reference calibrates them linearly (the
    # run's default rakes: the engine's raking is checked against R in test_calibration)
    assert values["design"]["pps"] == "brewer"
    assert values["design"]["psu"] == ["village", "household_type", "household_id"]
    assert values["design"]["fpc"] == ["village_prob", 1, "household_prob"]
    assert len(values["calibration"]["totals"]) == 6
    return {**values, "calibration": {**values["calibration"], "method": "linear"}}


@pytest.fixture(scope="module")
def inputs(params) -> followup.FollowupInputs:
    v = params
    return followup.load_followup(v["data"], v["design"], v["followup"], REPO / "params",
                                  calibration=v["calibration"], nonresponse=v["nonresponse"])


def _rows(inputs) -> pd.DataFrame:
    return pd.concat([inputs.before_design.data, inputs.after_design.data], ignore_index=True)


def _frames(inputs):
    return {followup.BEFORE: inputs.before.frame, followup.AFTER: inputs.after_frame}


def _check(design, ref) -> float:
    """Assert evalkit's rounds and change equal R's ``ref`` entry; the largest relative gap."""
    gaps = []
    for quantity, (numerator, denominator, exited) in QUANTITIES.items():
        r = ref[quantity]
        d = design
        if exited:
            d = d.subset((d.data["household_type"] == "exited").to_numpy())
        rounds = round_scores(d, numerator, followup.ROUND, LEVELS, denominator)
        ses = np.sqrt(np.diag(rounds.covariance))
        change = difference(d, numerator, followup.ROUND, LEVELS, denominator=denominator)
        np.testing.assert_allclose(rounds.estimates, r["estimates"], rtol=RTOL, err_msg=quantity)
        np.testing.assert_allclose(ses, r["ses"], rtol=RTOL, err_msg=quantity)
        np.testing.assert_allclose(ses, r["svyby_ses"], rtol=RTOL, err_msg=quantity)
        np.testing.assert_allclose(rounds.covariance, r["covariance"], rtol=RTOL, atol=1e-16,
                                   err_msg=quantity)
        assert change.estimate == pytest.approx(r["change"], rel=RTOL), quantity
        assert change.se == pytest.approx(r["se"], rel=RTOL), quantity
        assert change.df == r["df"], quantity
        pairs = [(rounds.estimates, r["estimates"]), (ses, r["ses"]),
                 (change.estimate, r["change"]), (change.se, r["se"])]
        gaps += [float(np.max(np.abs(np.asarray(a) - b) / np.abs(b))) for a, b in pairs]
    return max(gaps)


def test_the_run_stacks_the_design_as_drawn(inputs):
    stacked = inputs.stacked
    assert stacked.pps == "brewer"
    assert stacked.psu == ["village", followup.ROUND, "household_type", "_round_unit"]
    assert stacked.fpc == ["village_prob", 1, 1, "household_prob"]
    assert stacked.is_calibrated
    assert stacked.n_psu == REF["villages"] == 39  # a village in both rounds is one PSU
    counts = stacked.data[followup.ROUND].value_counts()
    assert counts[followup.BEFORE] == REF["rows"]["before"]
    assert counts[followup.AFTER] == REF["rows"]["after"]
    # a household in both rounds is two last-stage units
    assert not stacked.data.duplicated([followup.ROUND, "household_id"]).any()
    assert stacked.data["_round_unit"].is_unique
    shared = set(inputs.before.survey["household_id"]) & set(inputs.after_survey["household_id"])
    assert len(shared) > 100


@pytest.mark.parametrize("kind", ["uncalibrated", "linear"])
def test_stacked_as_drawn_equals_r(inputs, params, kind):
    calibration = params["calibration"] if kind == "linear" else None
    design = followup.stacked_design(_rows(inputs), params["design"], _frames(inputs),
                                     calibration)
    if kind == "linear":
        np.testing.assert_array_equal(design.weight_values, inputs.stacked.weight_values)
        for r, total in zip(LEVELS, REF["round_lists"]["linear"]["weight_sums"], strict=True):
            rows = (design.data[followup.ROUND] == r).to_numpy()
            assert design.weight_values[rows].sum() == pytest.approx(total, rel=1e-12)
    assert _check(design, REF["round_lists"][kind]) < RTOL


def test_change_table_equals_r(inputs, params):
    table = followup.change_table(inputs, params["thresholds"], params["targets"],
                                  method=params["ci_method"]).set_index("indicator")
    ref = REF["round_lists"]["linear"]
    for key in QUANTITIES:
        assert table.loc[key, "change"] == pytest.approx(ref[key]["change"], rel=RTOL)
        assert table.loc[key, "se"] == pytest.approx(ref[key]["se"], rel=RTOL)
        assert table.loc[key, "se_independent"] == pytest.approx(
            float(np.sqrt(sum(s * s for s in ref[key]["ses"]))), rel=RTOL)


def test_pooled_lists_are_r_s_pooled_design_and_differ(inputs, params):
    """The tests above can fail: the lists pooled over the rounds (one SRS of both rounds'
    households, centred on the pooled mean) is R's ``as_run``, a different variance."""
    rows = _rows(inputs)
    rows = rows.assign(_round_unit=rows[followup.ROUND] + "/" + rows["household_id"])
    pooled = build_design(rows, {**params["design"],
                                 "psu": ["village", "household_type", "_round_unit"]})
    frame = pd.concat([f.assign(**{followup.ROUND: r}) for r, f in _frames(inputs).items()],
                      ignore_index=True)
    pooled = frame_calibration(pooled, frame, "linear", params["calibration"]["totals"],
                               by=followup.ROUND)
    assert _check(pooled, REF["as_run"]["linear"]) < RTOL
    for key in QUANTITIES:
        ours, theirs = REF["as_run"]["linear"][key]["ses"], REF["round_lists"]["linear"][key]["ses"]
        assert np.max(np.abs(np.subtract(ours, theirs)) / np.asarray(theirs)) > 10 * RTOL


def test_a_village_with_another_probability_in_the_recheck_is_refused(params, tmp_path):
    recheck = pd.read_csv(package_data_dir() / "recheck_survey.csv", dtype=str)
    before = set(pd.read_csv(package_data_dir() / "survey.csv", usecols=["village"])["village"])
    row = int(np.flatnonzero(recheck["village"].isin(before).to_numpy())[0])
    recheck.loc[recheck["village"] == recheck["village"].iloc[row], "village_prob"] = "0.5"
    path = tmp_path / "recheck.csv"
    recheck.to_csv(path, index=False)
    v = params
    with pytest.raises(EvalkitError) as raised:
        followup.load_followup(v["data"], v["design"], {"survey": str(path)}, REPO / "params",
                               calibration=v["calibration"], nonresponse=v["nonresponse"])
    message = str(raised.value)
    assert "\n" not in message
    assert f"row {row + 2}, column village_prob" in message and "one PSU" in message


def test_the_stacked_design_is_said_in_one_sentence(inputs):
    sentence = inputs.weighting[2].split(": ", 1)[1].split(". ")[0]
    assert "PPS without replacement" in sentence and "village_prob" in sentence
    assert "household_prob" in sentence and "one PSU" in sentence
