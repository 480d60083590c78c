"""Issue 21's cases outside the province: the draw, non-response reserves, the re-check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from evalkit.contract import data
from evalkit.contract.paths import resolve_data_path
from evalkit.run import cli

FRAME = resolve_data_path("packaged:frame.csv", Path.cwd())
SURVEY = resolve_data_path("packaged:survey.csv", Path.cwd())


def _survey() -> pd.DataFrame:
    return pd.read_csv(SURVEY, dtype=str, keep_default_na=False)


def test_two_reserves_replacing_each_other_are_refused_naming_the_rows(tmp_path, capsys):
    survey = _survey()
    first = survey.index[0]
    same = survey.index[(survey["village"] == survey.at[first, "village"])
                        & (survey["household_type"] == survey.at[first, "household_type"])]
    a, b = same[0], same[1]
    survey["replaces"] = ""
    survey.at[a, "replaces"] = survey.at[b, "household_id"]
    survey.at[b, "replaces"] = survey.at[a, "household_id"]
    path = tmp_path / "survey.csv"
    survey.to_csv(path, index=False)
    assert cli.main(["validate", str(path), "--frame", str(FRAME)]) == 1
    out = capsys.readouterr().out
    for row in (a + 2, b + 2):  # spreadsheet rows: header = 1
        assert f"row {row}, column replaces" in out and "replacement cycle" in out, out
    with pytest.raises(Exception, match="replacement cycle"):
        data.load_survey(path)


def test_a_replacement_chain_is_refused(tmp_path, capsys):
    survey = _survey()
    first = survey.index[0]
    same = survey.index[(survey["village"] == survey.at[first, "village"])
                        & (survey["household_type"] == survey.at[first, "household_type"])]
    a, b, c = same[0], same[1], same[2]
    survey["replaces"] = ""
    survey.at[a, "replaces"] = survey.at[b, "household_id"]  # a replaced b ...
    survey.at[c, "replaces"] = survey.at[a, "household_id"]  # ... and c replaced a
    path = tmp_path / "survey.csv"
    survey.to_csv(path, index=False)
    assert cli.main(["validate", str(path), "--frame", str(FRAME)]) == 1
    out = capsys.readouterr().out
    assert f"row {a + 2}, column replaces" in out and "replacement chain" in out, out


@pytest.fixture(scope="module")
def listing_params(tmp_path_factory):
    root = tmp_path_factory.mktemp("draw")
    assert cli.main(["synth", "--listing", "--out", str(root / "data")]) == 0
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({
        "run_name": "drawn", "lang": "zh",
        "data": {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv",
                 "listing": "data/listing.csv"}}), encoding="utf-8")
    return root, params


def test_draw_accepts_the_codebooks_chinese_headers(listing_params, tmp_path):
    root, params = listing_params
    listing = pd.read_csv(root / "data" / "listing.csv", dtype=str)
    chinese = root / "data" / "listing_zh.csv"
    listing.rename(columns={"township": "乡镇", "village": "行政村", "household_id": "户编号",
                            "household_type": "户类型", "household_size": "家庭人口数",
                            "head_name": "户主姓名", "phone": "联系电话"}).to_csv(
        chinese, index=False)
    zh_params = root / "params_zh.yaml"
    zh_params.write_text(params.read_text(encoding="utf-8").replace(
        "data/listing.csv", "data/listing_zh.csv"), encoding="utf-8")
    english, zh = tmp_path / "en", tmp_path / "zh"
    for p, out in ((params, english), (zh_params, zh)):
        assert cli.main(["draw", str(p), "--stage", "households", "--out", str(out)]) == 0
    field_en = pd.read_csv(english / "field_list.csv", dtype=str)
    field_zh = pd.read_csv(zh / "field_list.csv", dtype=str)
    pd.testing.assert_series_equal(field_en["户编号 household_id"],
                                   field_zh["户编号 household_id"])
    assert "户主姓名" in field_zh.columns and field_zh["户主姓名"].notna().all()


def test_draw_checks_everything_before_writing_anything(listing_params, tmp_path, capsys):
    root, params = listing_params
    bad = root / "data" / "listing_bad.csv"
    text = (root / "data" / "listing.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = text[5].split(",")
    row[header.index("household_size")] = "many"
    bad.write_text("\n".join([text[0], *text[1:5], ",".join(row), *text[6:]]) + "\n",
                   encoding="utf-8")
    bad_params = root / "params_bad.yaml"
    bad_params.write_text(params.read_text(encoding="utf-8").replace(
        "data/listing.csv", "data/listing_bad.csv"), encoding="utf-8")
    out = tmp_path / "draw"
    assert cli.main(["draw", str(bad_params), "--stage", "households", "--out",
                     str(out)]) == 2
    assert "household_size" in capsys.readouterr().err
    assert not out.exists()
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    assert cli.main(["draw", str(params), "--stage", "villages", "--out", str(afile)]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err


def test_papermills_unknown_parameter_warning_is_muted():
    """`Passed unknown parameter: followup` was printed three times even with --quiet."""
    import logging

    from evalkit.run.kernel import prepare_kernel_environment

    prepare_kernel_environment()
    assert not logging.getLogger("papermill").isEnabledFor(logging.WARNING)


def test_a_recheck_identical_to_the_survey_is_refused(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    copy = tmp_path / "recheck.csv"
    copy.write_bytes(SURVEY.read_bytes())
    params.write_text(yaml.safe_dump({
        "run_name": "same", "data": {"frame": str(FRAME), "survey": str(SURVEY)},
        "followup": {"survey": "recheck.csv"}}), encoding="utf-8")
    assert cli.main(["run", str(params), "--check"]) == 2
    err = capsys.readouterr().err
    assert "same file as data.survey" in err and "Traceback" not in err


def test_the_households_draw_reports_progress(listing_params, tmp_path, capsys):
    """A 2,000,000-row listing took 83 s without a line; now each step says where it is."""
    _, params = listing_params
    assert cli.main(["draw", str(params), "--stage", "households", "--out",
                     str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "reading the listing listing.csv" in err
    assert "listing checked:" in err and "households; drawing" in err
    assert "drawn: 2,030 households" in err
    assert cli.main(["draw", str(params), "--stage", "households", "--out",
                     str(tmp_path / "q"), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_the_draw_replaces_planted_links_instead_of_writing_through(listing_params, tmp_path,
                                                                   capsys):
    _, params = listing_params
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    out = tmp_path / "d"
    out.mkdir()
    for name in ("villages.csv", "field_list.csv", "field_list.xlsx", "design.csv"):
        (out / name).symlink_to(victim)
    assert cli.main(["draw", str(params), "--stage", "villages", "--out", str(out),
                     "-q"]) == 0
    (out / "villages.csv").unlink()
    assert cli.main(["draw", str(params), "--stage", "villages", "--out", str(out),
                     "-q"]) == 0
    assert cli.main(["draw", str(params), "--stage", "households", "--out", str(out),
                     "-q"]) == 0
    assert victim.read_text(encoding="utf-8") == "precious"
    assert not any(p.is_symlink() for p in out.iterdir())


def test_prepared_inputs_accept_their_files_named_relative_to_the_kernel(tmp_path,
                                                                        monkeypatch):
    """A province county's notebooks see params_dir relative to their working folder (no
    random temporary path in a report); the prepared inputs are the same files."""
    import shutil

    from evalkit.assessment.inputs import load_inputs
    from evalkit.assessment.prepared import write_prepared
    from evalkit.run.params import DEFAULTS

    base = tmp_path / "inputs"
    base.mkdir()
    shutil.copy(FRAME, base / "frame.csv")
    shutil.copy(SURVEY, base / "survey.csv")
    files = {"frame": "frame.csv", "survey": "survey.csv"}
    blocks = (DEFAULTS["design"], DEFAULTS["calibration"], DEFAULTS["nonresponse"])
    inputs = load_inputs(files, blocks[0], base, blocks[1], blocks[2])
    folder = write_prepared(inputs, tmp_path / "prepared", *blocks)
    kernel_cwd = tmp_path / "out" / ".county.partial-x"
    kernel_cwd.mkdir(parents=True)
    monkeypatch.chdir(kernel_cwd)
    again = load_inputs(files, blocks[0], "../../inputs", blocks[1], blocks[2],
                        prepared=folder)
    assert len(again.survey) == len(inputs.survey)
