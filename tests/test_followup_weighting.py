"""The re-check round is weighted as the main run: non-response, calibration, stacking.

R reference: tests/data/r/make_recheck_calibration_reference.R (the packaged assessment and
re-check stacked, post-stratified or linearly calibrated with the round crossed into the
calibration; each round's estimate and the change by svytotal + svycontrast, cross-checked
with svyby). R is not needed here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.assessment import followup
from evalkit.assessment.county_totals import frame_calibration
from evalkit.assessment.indicators import assess
from evalkit.assessment.inputs import build_design, load_inputs
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.run.params import DEFAULTS, load_params
from evalkit.survey.change import difference, round_scores

PACKAGED = package_data_dir()
REPO = Path(__file__).resolve().parents[1]
R_DIR = Path(__file__).parent / "data" / "r"
REF = json.loads((R_DIR / "recheck_calibration_reference.json").read_text())
FOLLOWUP = {"survey": "packaged:recheck_survey.csv", "frame": None, "label": "re-check"}
LEVELS = (followup.BEFORE, followup.AFTER)
#: R name -> (numerator, denominator, domain: exited households only)
QUANTITIES = {"recognition": ("recognizes", None, False),
              "wrong_exit": ("people_wrongly_exited", "household_size", True)}
LINEAR = {"method": "linear", "totals": ["hh_exited", "hh_not_exited", "hh_nonregistered",
                                         "people_exited", "people_not_exited",
                                         "people_nonregistered"]}


#: The design and calibration the R reference values of this file were computed with
#: (villages with replacement, post-stratified on household type): the run's default before
#: the design as drawn (#25). The stacked design as drawn (three-stage PPS, linear) is checked
#: against R in tests/test_recheck_asdrawn.py.
REFERENCE_DESIGN = {"psu": "village", "strata": None, "weights": "weight", "fpc": None,
                    "pps": None, "lonely_psu": "fail"}
REFERENCE_CALIBRATION = {"method": "poststratify",
                         "totals": ["hh_registered", "hh_exited", "hh_not_exited",
                                    "hh_nonregistered"]}


@pytest.fixture(scope="module")
def recheck_params():
    values = load_params(REPO / "params" / "recheck_zh.yaml").values
    return {**values, "design": REFERENCE_DESIGN, "calibration": REFERENCE_CALIBRATION}


@pytest.fixture(scope="module")
def inputs(recheck_params) -> followup.FollowupInputs:
    v = recheck_params
    return followup.load_followup(v["data"], v["design"], v["followup"], REPO / "params",
                                  calibration=v["calibration"], nonresponse=v["nonresponse"])


def _headline(design, frame, thresholds, method):
    return [(r.spec.key, r.estimate.estimate, r.estimate.se)
            for r in assess(design, frame, dict(thresholds), method=method, secondary=False)]


# --- the before round is notebook 02's design ---------------------------------------------
def test_before_round_estimates_equal_notebook_02(inputs, recheck_params):
    v = recheck_params
    assert v["calibration"]["method"] == "poststratify"  # as REFERENCE_CALIBRATION
    main = load_inputs(v["data"], v["design"], REPO / "params", v["calibration"],
                       v["nonresponse"])  # what notebook 02 does
    assert main.design.is_calibrated and inputs.before_design.is_calibrated
    ours = _headline(inputs.before_design, inputs.before.frame, v["thresholds"], v["ci_method"])
    theirs = _headline(main.design, main.frame, v["thresholds"], v["ci_method"])
    assert [k for k, *_ in ours] == ["wrong_exit", "missed", "incidence", "recognition"]
    for (key, est, se), (_, est02, se02) in zip(ours, theirs, strict=True):
        assert abs(est - est02) <= 1e-12, key
        assert abs(se - se02) <= 1e-12, key
    table = followup.change_table(inputs, v["thresholds"], v["targets"], method=v["ci_method"])
    before = table.set_index("indicator")["before"]
    for key, est02, _ in theirs:
        assert abs(before[key] - est02) <= 1e-12, key
    # 02's recognition (R's postStratify on household type, svymean)
    r_est, r_se = REF["before_alone"]["recognition"]
    rec = dict((k, (e, s)) for k, e, s in ours)["recognition"]
    assert rec[0] == pytest.approx(r_est, rel=1e-10) and rec[1] == pytest.approx(r_se, rel=1e-10)


def test_the_uncalibrated_before_round_would_differ(inputs, recheck_params):
    """The test above can fail: without the params' blocks the before round is not 02's."""
    v = recheck_params
    plain = followup.load_followup(v["data"], v["design"], v["followup"], REPO / "params")
    ours = dict((k, (e, s)) for k, e, s in _headline(
        plain.before_design, plain.before.frame, v["thresholds"], v["ci_method"]))
    calibrated = dict((k, (e, s)) for k, e, s in _headline(
        inputs.before_design, inputs.before.frame, v["thresholds"], v["ci_method"]))
    assert abs(ours["recognition"][0] - calibrated["recognition"][0]) > 1e-6
    assert not plain.stacked.is_calibrated


def test_weighting_is_said(inputs):
    before, after, stacked = inputs.weighting
    assert "poststratify" in before and "notebook 02" in before
    assert "assessment's frame" in after and "poststratify" in after
    assert "crossed with the round" in stacked


# --- the stacked design: each round's own calibrated weights --------------------------------
def test_stacked_rows_carry_each_rounds_calibrated_weights(inputs):
    stacked = inputs.stacked
    n_before = len(inputs.before_design.data)
    np.testing.assert_allclose(stacked.weight_values[:n_before],
                               inputs.before_design.weight_values, rtol=1e-12)
    np.testing.assert_allclose(stacked.weight_values[n_before:],
                               inputs.after_design.weight_values, rtol=1e-12)
    frame = inputs.before.frame
    for name in ("before", "after"):
        rows = (stacked.data["round"] == name).to_numpy()
        types = stacked.data.loc[rows, "household_type"]
        w = stacked.weight_values[rows]
        for household_type in ("exited", "not_exited", "nonregistered"):
            assert w[(types == household_type).to_numpy()].sum() == pytest.approx(
                frame[f"hh_{household_type}"].sum(), rel=1e-12)


def _stacked(inputs, calibration):
    rows = pd.concat([inputs.before_design.data, inputs.after_design.data], ignore_index=True)
    return followup.stacked_design(rows, REFERENCE_DESIGN,
                                   {"before": inputs.before.frame, "after": inputs.after_frame},
                                   calibration)


@pytest.mark.parametrize("kind", ["uncalibrated", "poststratify", "linear"])
@pytest.mark.parametrize("quantity", list(QUANTITIES))
def test_change_equals_r(inputs, kind, quantity):
    calibration = {"uncalibrated": None, "poststratify": REFERENCE_CALIBRATION,
                   "linear": LINEAR}[kind]
    design = inputs.stacked if kind == "poststratify" else _stacked(inputs, calibration)
    ref = REF[kind][quantity]
    numerator, denominator, exited = QUANTITIES[quantity]
    if exited:
        design = design.subset((design.data["household_type"] == "exited").to_numpy())
    rounds = round_scores(design, numerator, "round", LEVELS, denominator)
    np.testing.assert_allclose(rounds.estimates, ref["estimates"], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(rounds.covariance)), ref["ses"], rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(rounds.covariance)), ref["svyby_ses"],
                               rtol=1e-10)
    np.testing.assert_allclose(rounds.covariance, ref["covariance"], rtol=1e-9, atol=1e-18)
    change = difference(design, numerator, "round", LEVELS, denominator=denominator)
    assert change.estimate == pytest.approx(ref["change"], rel=1e-10)
    assert change.se == pytest.approx(ref["se"], rel=1e-10)
    assert change.df == ref["df"]


def test_change_table_uses_the_calibrated_stack(inputs, recheck_params):
    v = recheck_params
    rows = followup.change_table(inputs, v["thresholds"], v["targets"],
                                 method=v["ci_method"]).set_index("indicator")
    for key in QUANTITIES:
        assert rows.loc[key, "change"] == pytest.approx(REF["poststratify"][key]["change"],
                                                        rel=1e-10)
        assert rows.loc[key, "se"] == pytest.approx(REF["poststratify"][key]["se"], rel=1e-10)
    # recognition's SE of the change moves with calibration (it is over all households)
    assert abs(REF["poststratify"]["recognition"]["se"]
               - REF["uncalibrated"]["recognition"]["se"]) > 1e-7


def test_stacked_calibration_equals_calibrating_each_round_alone(inputs):
    """Linear calibration with people totals: crossed with the round, each row's weight is
    that of calibrating its round alone."""
    stacked = _stacked(inputs, LINEAR)
    n_before = len(inputs.before_design.data)
    for sl, name in ((slice(0, n_before), "before"), (slice(n_before, None), "after")):
        rows = stacked.data.iloc[sl].reset_index(drop=True)
        alone = frame_calibration(build_design(rows, DEFAULTS["design"]),
                                  inputs.before.frame, "linear", LINEAR["totals"])
        np.testing.assert_allclose(stacked.weight_values[sl], alone.weight_values,
                                   rtol=1e-10, err_msg=name)


# --- the after round: its own non-response and its own frame --------------------------------
def _with_nonresponse(source: Path, out: Path, share: float, seed: int) -> Path:
    raw = pd.read_csv(source, dtype=str)
    rng = np.random.default_rng(seed)
    raw["responded"] = np.where(rng.random(len(raw)) < share, "0", "1")
    raw.to_csv(out, index=False)
    return out


@pytest.fixture(scope="module")
def nonresponse_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recheck_nr")
    shutil.copy(PACKAGED / "frame.csv", folder / "frame.csv")
    files = {
        "frame": folder / "frame.csv",
        "survey": _with_nonresponse(PACKAGED / "survey.csv", folder / "survey.csv", 0.12, 1),
        "recheck": _with_nonresponse(PACKAGED / "recheck_survey.csv", folder / "recheck.csv",
                                     0.18, 2),
    }
    # a re-check frame: the registration moved households between types since the assessment
    frame = pd.read_csv(folder / "frame.csv")
    moved = (frame["hh_exited"] >= 3).astype(int)  # one household of one person
    for kind, sign in (("exited", -1), ("not_exited", 1)):
        frame[f"hh_{kind}"] += sign * moved
        frame[f"people_{kind}"] += sign * moved
    frame.to_csv(folder / "frame_recheck.csv", index=False)
    files["recheck_frame"] = folder / "frame_recheck.csv"
    return files


def test_after_round_is_weighted_as_if_it_were_the_main_survey(nonresponse_files):
    data = {"frame": str(nonresponse_files["frame"]), "survey": str(nonresponse_files["survey"])}
    design, calibration = DEFAULTS["design"], DEFAULTS["calibration"]
    nonresponse = DEFAULTS["nonresponse"]
    both = followup.load_followup(data, design, {"survey": str(nonresponse_files["recheck"])},
                                  calibration=calibration, nonresponse=nonresponse)
    main = load_inputs(data, design, None, calibration, nonresponse)
    alone = load_inputs({"frame": data["frame"], "survey": str(nonresponse_files["recheck"])},
                        design, None, calibration, nonresponse)
    assert both.before.nonresponse.informed and both.after_nonresponse.informed
    np.testing.assert_allclose(both.before_design.weight_values, main.design.weight_values,
                               rtol=1e-12)
    np.testing.assert_allclose(both.after_design.weight_values, alone.design.weight_values,
                               rtol=1e-12)
    assert len(both.after_survey) == len(alone.survey) < len(
        pd.read_csv(nonresponse_files["recheck"]))
    assert both.after_nonresponse.note == alone.nonresponse.note
    assert "responded" in both.weighting[1] and "adjusted for non-response" in both.weighting[1]
    n_before = len(both.before_design.data)
    np.testing.assert_allclose(both.stacked.weight_values,
                               np.r_[main.design.weight_values, alone.design.weight_values],
                               rtol=1e-12)
    assert both.stacked.weight_values.shape[0] == n_before + len(alone.survey)


def test_after_round_calibrates_to_the_followup_frame(nonresponse_files):
    data = {"frame": str(nonresponse_files["frame"]), "survey": str(nonresponse_files["survey"])}
    spec = {"survey": str(nonresponse_files["recheck"]),
            "frame": str(nonresponse_files["recheck_frame"])}
    both = followup.load_followup(data, DEFAULTS["design"], spec,
                                  calibration=DEFAULTS["calibration"],
                                  nonresponse=DEFAULTS["nonresponse"])
    old = pd.read_csv(nonresponse_files["frame"])
    new = pd.read_csv(nonresponse_files["recheck_frame"])
    assert new["hh_exited"].sum() < old["hh_exited"].sum()
    stacked = both.stacked
    for name, frame, design in (("before", old, both.before_design),
                                ("after", new, both.after_design)):
        rows = (stacked.data["round"] == name).to_numpy()
        exited = (stacked.data["household_type"] == "exited").to_numpy()
        target = frame["hh_exited"].sum()
        # raking (the default) reaches its totals to its tolerance, not exactly
        assert stacked.weight_values[rows & exited].sum() == pytest.approx(target, rel=1e-8)
        own = (design.data["household_type"] == "exited").to_numpy()
        assert design.weight_values[own].sum() == pytest.approx(target, rel=1e-8)
    assert "re-check's frame" in both.weighting[1]


def test_bad_calibration_method_is_one_line():
    with pytest.raises(EvalkitError, match="calibration: method"):
        followup.load_followup(DEFAULTS["data"], DEFAULTS["design"], FOLLOWUP,
                               calibration={"method": "magic"})
