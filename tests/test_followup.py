"""The re-check round: synthetic re-check, params, loading checks, the change table.

The synthetic re-check (``evalkit synth --followup``, shipped as ``packaged:recheck_*``)
documents its true changes in ``recheck_truth.json``; the table's intervals must cover them.
"""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.assessment import followup, recheck
from evalkit.assessment.indicators import SPECS
from evalkit.contract.data import load_frame, load_survey
from evalkit.contract.errors import EvalkitError, ProblemsError
from evalkit.contract.paths import package_data_dir
from evalkit.report import followup as followup_report
from evalkit.report.i18n import format_points
from evalkit.run import cli
from evalkit.run.params import DEFAULTS, TARGET_COUNTS, TARGET_RATES, load_params, validate
from evalkit.run.pipeline import ALL_NOTEBOOKS, PLAN, plan_for

PACKAGED = package_data_dir()
TRUTH = json.loads((PACKAGED / "recheck_truth.json").read_text(encoding="utf-8"))
FOLLOWUP = {"survey": "packaged:recheck_survey.csv", "frame": None, "label": "re-check"}
TARGETS = {"public_welfare_job": 0.5, "microcredit_households": 859}


@pytest.fixture(scope="module")
def inputs() -> followup.FollowupInputs:
    return followup.load_followup(DEFAULTS["data"], DEFAULTS["design"], FOLLOWUP,
                                  calibration=DEFAULTS["calibration"],
                                  nonresponse=DEFAULTS["nonresponse"])


@pytest.fixture(scope="module")
def table(inputs) -> pd.DataFrame:
    return followup.change_table(inputs, DEFAULTS["thresholds"], TARGETS)


# --- the synthetic re-check ---------------------------------------------------------------
def test_packaged_recheck_regenerates_byte_for_byte(tmp_path):
    written = recheck.write_packaged_recheck(tmp_path)
    for path in written.values():
        assert path.read_bytes() == (PACKAGED / path.name).read_bytes(), path.name


def test_synth_followup_writes_survey_and_truth(tmp_path, capsys):
    assert cli.main(["synth", "--followup", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "survey.csv").read_bytes() == (
        PACKAGED / "recheck_survey.csv").read_bytes()
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth == TRUTH


def test_recheck_design_and_true_changes():
    design = TRUTH["design"]
    assert design["sampled_villages"] == 29
    assert design["revisited_villages"] == 19  # about two thirds
    change = TRUTH["change"]
    assert change["recognition"] > 0.02
    assert change["wrong_exit"] < -0.01
    assert change["water_in_home_nonpoor"] > 0.3
    assert change["public_welfare_job"] > 0.2
    assert change["missed"] == 0 and change["industry_support"] == 0
    explained = TRUTH["recognition_explained"]
    assert 0 < explained["water_and_reimbursement"] < explained["total_change"]


def test_recheck_keeps_the_contract_and_identities():
    frame = load_frame(PACKAGED / "frame.csv")
    after = load_survey(PACKAGED / "recheck_survey.csv", frame=frame)
    before = load_survey(PACKAGED / "survey.csv", frame=frame)
    assert {"name", "id_number", "phone"}.isdisjoint(after.columns)
    shared = set(before["village"]) & set(after["village"])
    assert len(shared) == TRUTH["design"]["revisited_villages"]
    both = before.merge(after, on="household_id", suffixes=("_1", "_2"))
    assert len(both) == TRUTH["design"]["households_in_both_rounds"] > 0
    assert (both["household_size_1"] == both["household_size_2"]).all()
    raw1 = pd.read_csv(PACKAGED / "survey.csv", dtype=str).set_index("household_id")
    raw2 = pd.read_csv(PACKAGED / "recheck_survey.csv", dtype=str).set_index("household_id")
    ids = both["household_id"]
    assert (raw1.loc[ids, "id_number"].to_numpy() == raw2.loc[ids, "id_number"].to_numpy()).all()


# --- the change table ---------------------------------------------------------------------
def test_table_columns_and_rows(table):
    assert list(table.columns[:8]) == list(followup.TABLE_COLUMNS)
    assert list(table["indicator"]) == [
        "wrong_exit", "missed", "incidence", "recognition", "industry_support", "microcredit",
        "public_welfare_job", "dibao_not_exited", "water_in_home_nonpoor",
        "microcredit_households"]
    assert (table["change"] == table["after"] - table["before"]).all() or np.allclose(
        table["change"], table["after"] - table["before"])
    assert (table["ci_low"] < table["change"]).all() and (table["change"] < table["ci_high"]).all()
    assert (table["df"] == 38).all()  # 39 villages in the stacked design, one stratum


def test_true_changes_fall_within_the_intervals(table):
    """The acceptance test of the re-check: every documented true change is covered."""
    rows = table.set_index("indicator")
    for key, true_change in TRUTH["change"].items():
        low, high = rows.loc[key, "ci_low"], rows.loc[key, "ci_high"]
        assert low <= true_change <= high, (key, true_change, low, high)
    assert rows.loc["recognition", "distinguishable"]
    assert rows.loc["wrong_exit", "distinguishable"]
    assert not rows.loc["missed", "distinguishable"]


def test_verdicts_and_targets(table):
    rows = table.set_index("indicator")
    assert rows.loc["wrong_exit", "decision_before"] == "cannot tell"
    assert rows.loc["wrong_exit", "decision_after"] == "pass"
    assert rows.loc["public_welfare_job", "target_status"] == followup.NOT_REACHED
    assert rows.loc["microcredit_households", "target_status"] == followup.NOT_REACHED
    assert rows.loc["microcredit_households", "before"] == 0
    assert rows.loc["recognition", "target_status"] == ""


def test_target_status_rule():
    assert followup.target_status(0.55, 0.6, 0.5, "at_least") == followup.REACHED
    assert followup.target_status(0.3, 0.4, 0.5, "at_least") == followup.NOT_REACHED
    assert followup.target_status(0.45, 0.55, 0.5, "at_least") == followup.CANNOT_TELL
    assert followup.target_status(0.005, 0.015, 0.02, "below") == followup.REACHED


def test_shared_villages_are_one_psu(inputs):
    """The stacked design has 29 + 10 PSUs, and the rounds' estimates are correlated."""
    from evalkit.survey.change import round_estimates

    assert inputs.stacked.n_psu == 39
    rounds = round_estimates(inputs.stacked, "recognizes", "round", ("before", "after"))
    assert rounds.covariance[0, 1] > 0


def test_incidence_change_is_the_change_of_the_rounds_incidence(table, inputs):
    from evalkit.assessment.indicators import incidence

    before = incidence(inputs.before_design, inputs.before.frame).estimate.estimate
    after = incidence(inputs.after_design, inputs.after_frame).estimate.estimate
    row = table.set_index("indicator").loc["incidence"]
    assert row["change"] == pytest.approx(after - before, rel=1e-10)


def test_recognition_explained(inputs, table):
    explained = followup.recognition_explained(inputs, DEFAULTS["satisfaction"]["formula"])
    rows = explained.set_index("component")
    change = table.set_index("indicator").loc["recognition", "change"]
    assert rows.loc["change", "estimate"] == pytest.approx(change, rel=1e-6)
    assert rows.loc["explained", "estimate"] + rows.loc["unexplained", "estimate"] == (
        pytest.approx(change))
    water_reimb = rows.loc[["water", "reimbursement"], "estimate"].sum()
    truth = TRUTH["recognition_explained"]["water_and_reimbursement"]
    assert 0 < water_reimb < change
    assert abs(water_reimb - truth) < 0.01  # within a point of the generating model's share
    lines = followup_report.summary_lines(table, explained)
    assert len(lines) == len(table) + 1
    assert "a model attribution, not a measurement" in lines[-1]


def test_shared_villages_shrink_the_change_se_against_independent_rounds(table, inputs):
    from evalkit.survey.change import round_estimates

    rows = table.set_index("indicator")
    rounds = round_estimates(inputs.stacked, "recognizes", "round", ("before", "after"))
    v = rounds.covariance
    assert rows.loc["recognition", "se_independent"] == pytest.approx(
        np.sqrt(v[0, 0] + v[1, 1]), rel=1e-10)
    assert rows.loc["recognition", "se"] == pytest.approx(
        np.sqrt(v[0, 0] + v[1, 1] - 2 * v[0, 1]), rel=1e-10)
    assert rows.loc["recognition", "correlation"] == pytest.approx(rounds.correlation)
    # Positive covariance from the 10 shared villages: a smaller SE than independent rounds.
    assert rows.loc["recognition", "se"] < rows.loc["recognition", "se_independent"]
    assert table["se_independent"].notna().all()


def test_recheck_sentences_follow_the_change_table(table, inputs):
    counts = followup.sample_counts(inputs)

    def html(changed: pd.DataFrame, lang: str = "en") -> str:
        return unescape(followup_report.section_html(changed, None, lang=lang, level=0.95,
                                                     label="re-check", **counts))

    text = html(table)
    missed = table.set_index("indicator").loc["missed"]
    assert not missed["distinguishable"]
    assert ("Not distinguishable from zero: the interval allows anything from "
            f"{format_points(missed['ci_low'])} to {format_points(missed['ci_high'])} points"
            ) in text
    assert "within sampling error" not in text and "在抽样误差之内" not in html(table, "zh")
    assert "与零无法区分：区间允许从" in html(table, "zh")
    found = int(table["distinguishable"].sum())
    assert (f"{len(table)} changes are tested here, each at 5%: if nothing had changed, about "
            f"{len(table) * 0.05:.1f} would look distinguishable from zero by chance alone; "
            f"{found} do.") in text
    assert f"{len(table) - 1} changes are tested" in html(table.iloc[1:])
    changed = table.copy()
    changed.loc[changed["indicator"] == "recognition", ["se", "se_independent"]] = [0.0123,
                                                                                  0.0456]
    assert "Recognition rate 1.23 against 4.56 points" in html(changed)
    assert f"the {counts['shared']} villages visited in both rounds" in text


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_section(table, inputs, lang):
    explained = followup.recognition_explained(inputs, DEFAULTS["satisfaction"]["formula"])
    html = followup_report.section_html(table, explained, lang=lang, level=0.95, label="re-check",
                                 **followup.sample_counts(inputs))
    title = "What changed since the assessment" if lang == "en" else "评估以来的变化"
    assert title in html and "re-check" in html
    assert ("not reached" if lang == "en" else "未达到") in html
    assert "V0" not in html  # no village or household identifiers


# --- bad re-check data ----------------------------------------------------------------------
def _bad_copy(tmp_path: Path, edit) -> Path:
    data = pd.read_csv(PACKAGED / "recheck_survey.csv", dtype=str, keep_default_na=False)
    data = edit(data)
    path = tmp_path / "recheck.csv"
    data.to_csv(path, index=False)
    return path


def _followup_error(path: Path) -> str:
    with pytest.raises(EvalkitError) as info:
        followup.load_followup(DEFAULTS["data"], DEFAULTS["design"], {"survey": str(path)})
    return str(info.value)


def _main_error(path: Path) -> str:
    with pytest.raises(EvalkitError) as info:
        load_survey(path, frame=PACKAGED / "frame.csv")
    return str(info.value)


def test_unknown_village_gives_the_main_survey_error(tmp_path):
    def edit(d):
        d.loc[4, "village"] = "V999"
        return d
    path = _bad_copy(tmp_path, edit)
    message = _followup_error(path)
    assert message == _main_error(path)
    assert "recheck.csv, row 6, column village" in message


def test_different_codebook_gives_the_main_survey_error(tmp_path):
    def renamed(d):
        return d.rename(columns={"water_access": "water"})
    path = _bad_copy(tmp_path, renamed)
    message = _followup_error(path)
    assert message == _main_error(path)
    assert "column water_access: expected a column named water_access" in message

    def recoded(d):
        d.loc[2, "recognition"] = "happy"
        return d
    path = _bad_copy(tmp_path, recoded)
    message = _followup_error(path)
    assert message == _main_error(path)
    assert "recheck.csv, row 4, column recognition: value 'happy'" in message


def test_overlapping_household_with_a_different_size(tmp_path):
    before = pd.read_csv(PACKAGED / "survey.csv", dtype=str).set_index("household_id")
    after = pd.read_csv(PACKAGED / "recheck_survey.csv", dtype=str)
    row = int(np.flatnonzero(after["household_id"].isin(before.index))[0])
    hid = after.loc[row, "household_id"]
    size = int(before.loc[hid, "household_size"])

    def edit(d):
        d.loc[row, "household_size"] = str(size + 1)
        return d
    path = _bad_copy(tmp_path, edit)
    with pytest.raises(ProblemsError) as info:
        followup.load_followup(DEFAULTS["data"], DEFAULTS["design"], {"survey": str(path)})
    lines = str(info.value).splitlines()
    assert lines[0] == "recheck.csv: 1 problem"
    assert lines[1] == (f"  recheck.csv, row {row + 2}, column household_size: value "
                        f"'{size + 1}': expected {size}, the size of household {hid} in "
                        "survey.csv (a household in both rounds keeps its size)")


def test_bad_recheck_stops_the_run(tmp_path, capsys):
    def edit(d):
        d.loc[4, "village"] = "V999"
        return d
    path = _bad_copy(tmp_path, edit)
    params = tmp_path / "p.yaml"
    params.write_text(f"followup:\n  survey: {path.name}\n", encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", str(params), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "evalkit: error: the run's data files have problems; nothing was run"
    assert any("recheck.csv, row 6, column village" in line for line in err[1:])
    assert not out.exists()


# --- params and plan ------------------------------------------------------------------------
def test_params_followup_and_targets(tmp_path):
    (tmp_path / "r.csv").write_text("x\n", encoding="utf-8")
    values = validate({"followup": {"survey": "r.csv"}, "targets": {"recognition": 0.95}},
                      tmp_path / "p.yaml").values
    assert values["followup"] == {"survey": "r.csv", "frame": None, "label": "re-check"}
    assert values["targets"] == {"recognition": 0.95}
    plain = validate({}, tmp_path / "p.yaml").values
    assert "followup" not in plain and "targets" not in plain
    assert plan_for(load_params(Path(__file__).parents[1] / "params" / "default.yaml")) == PLAN


@pytest.mark.parametrize(("raw", "message"), [
    ({"followup": {"frame": "f.csv"}}, "followup.survey: missing"),
    ({"followup": {"survey": "r.csv", "surveys": 1}}, "unknown key 'followup.surveys'"),
    ({"followup": "r.csv"}, "followup: expected a section"),
    ({"followup": {"survey": "missing.csv"}}, "followup.survey: data path 'missing.csv'"),
    ({"targets": {"jobs": 0.5}}, "unknown key 'targets.jobs'"),
    ({"targets": {"public_welfare_job": 1.5}}, "targets.public_welfare_job: 1.5 is out of range"),
    ({"targets": {"microcredit_households": -1}}, "out of range, expected a count"),
])
def test_params_errors_are_one_line(tmp_path, raw, message):
    (tmp_path / "r.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(EvalkitError) as info:
        validate(raw, tmp_path / "p.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_target_keys_are_indicators():
    assert set(TARGET_RATES) == set(SPECS) | {followup.WATER.key}
    assert set(TARGET_COUNTS) == set(followup.COUNT_TARGETS)


def test_plan_with_followup_runs_05_beside_01_to_03():
    names = [s.name for s in ALL_NOTEBOOKS]
    assert names == ["01_sampling", "02_indicators", "03_satisfaction", "05_followup",
                     "04_summary"]
    assert not ALL_NOTEBOOKS[3].final and ALL_NOTEBOOKS[-1].final


@pytest.mark.slow
def test_run_with_followup_writes_05_the_table_and_the_section(tmp_path):
    from evalkit.run.pipeline import run

    result = run(Path(__file__).parents[1] / "params" / "recheck_zh.yaml", tmp_path,
                 progress=None)
    run_dir = result.run_dir
    assert (run_dir / "05_followup.html").is_file()
    csv = pd.read_csv(run_dir / "tables" / "followup.csv").set_index("indicator")
    for key, true_change in TRUTH["change"].items():
        assert csv.loc[key, "ci_low"] <= true_change <= csv.loc[key, "ci_high"], key
    summary = (run_dir / "04_summary.html").read_text(encoding="utf-8")
    assert "评估以来的变化" in summary and "整改后复查" in summary


def test_policy_section_reads_the_tables_notebook_05_wrote(table, inputs, tmp_path):
    """The section of notebook 04 recomputes nothing: a number changed in a table changes it."""
    from evalkit.assessment.summary import SOURCES
    from evalkit.report.formatting import rounded

    explained = followup.recognition_explained(inputs, DEFAULTS["satisfaction"]["formula"])
    rounded(table, 10).to_csv(tmp_path / "followup.csv", index=False)  # as notebook 05
    rounded(explained, 10).to_csv(tmp_path / "followup_recognition.csv", index=False)
    followup.sample_table(inputs).to_csv(tmp_path / "followup_sample.csv", index=False)
    assert {SOURCES[n][0] for n in ("followup.csv", "followup_recognition.csv",
                                    "followup_sample.csv")} == {"05_followup"}
    for lang in ("en", "zh"):
        direct = followup_report.section_html(table, explained, lang=lang, level=0.95,
                                       label="re-check", **followup.sample_counts(inputs))
        assert followup_report.section_from_tables(tmp_path, lang=lang, level=0.95) == direct
    counts = followup.sample_counts(inputs)
    assert f"{counts['households']:,} households in {counts['villages']} villages" in (
        followup_report.section_from_tables(tmp_path, lang="en", level=0.95))
    # Change numbers in the tables: the sentences follow.
    changed = pd.read_csv(tmp_path / "followup.csv")
    row = changed.index[changed["indicator"] == "public_welfare_job"][0]
    changed.loc[row, "after"] = 0.4321
    changed.to_csv(tmp_path / "followup.csv", index=False)
    sample = pd.read_csv(tmp_path / "followup_sample.csv").assign(households=1234)
    sample.to_csv(tmp_path / "followup_sample.csv", index=False)
    html = followup_report.section_from_tables(tmp_path, lang="en", level=0.95)
    assert "re-check estimate 43.2%" in html
    assert "1,234 households in" in html
    (tmp_path / "followup_sample.csv").unlink()
    with pytest.raises(EvalkitError, match=r"followup_sample.csv: not found; notebook "
                                           r"05_followup writes it"):
        followup_report.section_from_tables(tmp_path, lang="en", level=0.95)


def test_policy_section_cautions_a_low_re_check_response(table, inputs, tmp_path):
    """A re-check weighting cell that responded poorly is said in the section, in both
    languages, from the table notebook 05 wrote; a good response adds nothing."""
    from evalkit.report.formatting import rounded

    explained = followup.recognition_explained(inputs, DEFAULTS["satisfaction"]["formula"])
    rounded(table, 10).to_csv(tmp_path / "followup.csv", index=False)
    rounded(explained, 10).to_csv(tmp_path / "followup_recognition.csv", index=False)
    followup.sample_table(inputs).to_csv(tmp_path / "followup_sample.csv", index=False)
    quiet = followup_report.section_from_tables(tmp_path, lang="en", level=0.95)
    assert "Re-check non-response" not in quiet
    pd.DataFrame({"cell": ["exited / V1", "not_exited / V2", "exited / V3"],
                  "response_rate": [0.95, 0.55, 0.7]}).to_csv(
        tmp_path / "followup_nonresponse.csv", index=False)
    english = followup_report.section_from_tables(tmp_path, lang="en", level=0.95)
    assert "Re-check non-response: in 2 of 3 weighting cells" in english
    assert "lowest 55%, not_exited / V2" in english and "notebook 05" in english
    chinese = followup_report.section_from_tables(tmp_path, lang="zh", level=0.95)
    assert "复查无应答" in chinese and "55%" in chinese
    pd.DataFrame({"cell": ["exited / V1"], "response_rate": [0.97]}).to_csv(
        tmp_path / "followup_nonresponse.csv", index=False)
    assert followup_report.section_from_tables(tmp_path, lang="en", level=0.95) == quiet


def test_synth_followup_writes_a_new_county_and_its_re_check_ready_to_run(tmp_path, capsys):
    """`evalkit synth --followup --seed N --out DIR`: a county other than the default one,
    its re-check and a params file that validates (the round can be rerun on new data)."""
    out = tmp_path / "county"
    assert cli.main(["synth", "--followup", "--seed", "777", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"frame.csv", "survey.csv", "truth.json", "recheck_survey.csv",
                     "recheck_truth.json", "params.yaml"}
    truth = json.loads((out / "recheck_truth.json").read_text(encoding="utf-8"))
    assert truth["generator"]["county_seed"] == 777
    assert truth["generator"]["seed"] == recheck.FOLLOWUP_SEED
    county = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    default = json.loads((package_data_dir() / "truth.json").read_text(encoding="utf-8"))
    assert county != default  # not the default county under another name
    params = load_params(out / "params.yaml")
    assert params.data_paths["followup.survey"] == (out / "recheck_survey.csv").resolve()
    inputs = followup.load_followup(
        {"frame": str(out / "frame.csv"), "survey": str(out / "survey.csv")},
        params.values["design"], params.values["followup"], out)
    assert len(inputs.after_design.data) > 0
    # the same seed gives the same bytes
    again = tmp_path / "again"
    assert cli.main(["synth", "--followup", "--seed", "777", "--out", str(again)]) == 0
    for name in names:
        assert (again / name).read_bytes() == (out / name).read_bytes(), name
    capsys.readouterr()
    assert cli.main(["synth", "--followup", "--seed", "777"]) != 0
    assert "needs --out DIR" in capsys.readouterr().err
