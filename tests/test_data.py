"""The data contract: loading, validation messages, encodings, formats, privacy."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.contract import schema
from evalkit.contract.data import (
    load_frame,
    load_survey,
    prepare_survey,
    validate_file,
)
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import resolve_data_path
from evalkit.contract.problems import Problem

HERE = Path(__file__).parent / "data" / "data_contract"
FRAME = HERE / "frame_small.csv"
SURVEY = HERE / "survey_small.csv"
BAD = HERE / "survey_bad.csv"

# Identifying values in the fixtures; none may ever appear in a loaded table or a message.
PII = ("王建国", "李秀英", "张伟", "刘芳", "陈明", "杨丽", "黄勇", "赵军", "吴平", "周娟",
       "990101195001011237", "99010319690909668X", "10012345678", "10090123456")


def _problems(report) -> list[tuple[int | None, str | None, str | None]]:
    return [(p.row, p.column, p.value) for p in report.problems]


def _no_pii(text: str) -> None:
    for value in PII:
        assert value not in text, f"identifying value {value!r} leaked"


# --- the frame ------------------------------------------------------------------------
def test_load_frame_maps_labels_and_adds_totals():
    f = load_frame(FRAME)
    assert list(f.columns[:9]) == list(schema.FRAME_COLUMNS)
    assert list(f["village_type"]) == ["poor", "nonpoor", "nonpoor", "poor"]
    assert list(f["hh_total"]) == [330, 427, 261, 401]
    assert list(f["people_registered"]) == [86, 19, 29, 57]
    assert f["people_total"].sum() == 86 + 1050 + 19 + 1500 + 29 + 900 + 57 + 1320
    assert f["hh_exited"].dtype == np.int64


def test_frame_problems_each_named(tmp_path):
    bad = tmp_path / "frame.csv"
    bad.write_text(
        "township,village,village_type,hh_exited,people_exited,hh_not_exited,"
        "people_not_exited,hh_nonregistered,people_nonregistered\n"
        "T1,V1,贫困村,3,2,0,0,10,30\n"          # fewer people than households
        "T1,V1,poor,1,1,0,0,10,30\n"            # village twice
        "T1,V3,rich,1,1,0,0,10,30\n"            # unknown village type
        "T1,V4,poor,1,1,0,4,10,30\n"            # people but no households
        "T1,V5,poor,-1,1,0,0,10,30\n"           # negative count
        "T1,V6,poor,0,0,0,0,0,0\n",             # empty village
        encoding="utf-8")
    report = validate_file(bad)
    assert report.kind == "frame"
    assert _problems(report) == [
        (2, "people_exited", "2"),
        (3, "village", "V1"),
        (4, "village_type", "rich"),
        (5, "people_not_exited", "4"),
        (6, "hh_exited", "-1"),
        (7, "hh_nonregistered", "0"),
    ]
    assert str(report.problems[1]) == (
        "frame.csv, row 3, column village: value 'V1': expected each village once "
        "(also in row 2)")
    with pytest.raises(EvalkitError) as err:
        load_frame(bad)
    assert str(err.value).splitlines()[0] == "frame.csv: 6 problems"


# --- the survey: happy path -----------------------------------------------------------
def test_load_survey_labels_privacy_and_derived():
    s = load_survey(SURVEY, frame=FRAME)
    assert len(s) == 10  # no row dropped
    for c in schema.IDENTIFYING_COLUMNS:
        assert c not in s.columns
    _no_pii(s.to_csv())
    assert list(s["household_type"]) == [
        "exited", "exited", "not_exited", "nonregistered", "nonregistered",
        "nonregistered", "not_exited", "exited", "nonregistered", "not_exited"]
    assert list(s["recognition"]) == [
        "satisfied", "basically_satisfied", "satisfied", "dissatisfied", "dissatisfied",
        "basically_satisfied", "satisfied", "basically_satisfied", "satisfied",
        "basically_satisfied"]
    assert list(s["water_access"]) == [
        "in_home", "in_home", "in_home", "at_door", "at_door", "none", "in_home", "in_home",
        "at_door", "in_home"]
    assert s.loc[2, "reimbursement_share"] == pytest.approx(0.95)   # "95%"
    assert s.loc[6, "dibao"] == 1 and s.loc[6, "industry_support"] == 0  # 是 / 否
    assert s.loc[8, "income_per_head"] == 13500.0                     # "13,500"
    assert s["note"].tolist()[1] == "wrongly exited"                   # user's extra column
    for c in schema.DERIVED_COLUMNS:
        assert c in s.columns
    assert list(s["recognizes"]) == [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]
    assert list(s["nonpoor"]) == [0, 0, 0, 1, 1, 1, 0, 0, 1, 0]
    assert list(s["has_hospital_stay"]) == [1, 0, 1, 1, 1, 0, 1, 0, 1, 1]
    # gap = max(0, 0.9 - share), 0 without a stay
    np.testing.assert_allclose(s["reimbursement_gap"],
                               [0, 0, 0, 0.2, 0.25, 0, 0, 0, 0.18, 0], atol=1e-12)
    np.testing.assert_allclose(s["log_income"], np.log(s["income_per_head"] + 1.0))


def test_prepare_survey_is_what_load_adds():
    s = load_survey(SURVEY)
    base = s[[c for c in s.columns if c not in schema.DERIVED_COLUMNS]]
    pd.testing.assert_frame_equal(prepare_survey(base), s)


def test_validate_ok_summary_mentions_dropped_columns_not_values():
    report = validate_file(SURVEY, frame_path=FRAME)
    assert report.ok and report.kind == "survey" and report.n_rows == 10
    assert report.summary() == ("survey_small.csv: OK (survey, 10 rows; identifying columns "
                                "dropped: 姓名, 身份证号, phone)")


# --- the survey: every kind of problem ------------------------------------------------
def test_every_problem_reported_with_file_row_column_value():
    report = validate_file(BAD, frame_path=FRAME)
    assert not report.ok
    assert _problems(report) == [
        (3, "household_size", "three"),
        (4, "household_type", "returned"),
        (5, "household_id", "H01"),
        (6, "people_wrongly_exited", "4"),
        (7, "weight", "0"),
        (8, "reimbursement_share", "70"),
        (8, "weight", "-9"),
        (9, "village", "V009"),
        (10, "dibao", "2"),
        (10, "township", "东山镇"),
    ]
    assert all(p.file == "survey_bad.csv" for p in report.problems)
    lines = report.summary().splitlines()
    assert lines[0] == "survey_bad.csv: 10 problems"
    assert lines[1] == ("  survey_bad.csv, row 3, column household_size: value 'three': "
                        "expected a whole number from 1 to 30")
    assert lines[3] == ("  survey_bad.csv, row 5, column household_id: value 'H01': "
                        "expected a household id used once (also in row 2)")
    assert lines[4] == ("  survey_bad.csv, row 6, column people_wrongly_exited: value '4': "
                        "expected at most household_size (3) people")
    assert lines[8] == ("  survey_bad.csv, row 9, column village: value 'V009': expected a "
                        "village listed in the frame (frame_small.csv)")
    assert lines[10] == ("  survey_bad.csv, row 10, column township: value '东山镇': "
                         "expected 西河乡, the township of village V004 in frame_small.csv")
    _no_pii(report.summary())


def test_load_survey_raises_with_the_whole_report():
    with pytest.raises(EvalkitError) as err:
        load_survey(BAD, frame=load_frame(FRAME))
    text = str(err.value)
    assert text.splitlines()[0] == "survey_bad.csv: 10 problems"
    assert len(text.splitlines()) == 11
    assert err.value.report.problems[0] == Problem(
        "survey_bad.csv", 3, "household_size", "three", "a whole number from 1 to 30")
    _no_pii(text)


def test_without_frame_village_is_not_checked():
    report = validate_file(BAD)
    assert "village" not in [p.column for p in report.problems]
    assert len(report.problems) == 8


def _write(tmp_path: Path, header: str, *rows: str, name: str = "survey.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


HEADER = ",".join(schema.SURVEY_REQUIRED)
GOOD_ROW = "T1,V1,H1,exited,3,0,0,satisfied,in_home,0.9,0,1,0,0,5000"


def test_missing_columns_each_reported(tmp_path):
    header = HEADER.replace(",recognition", "").replace(",dibao", "")
    row = GOOD_ROW.replace(",satisfied", "").replace("0.9,0,", "0.9,")
    path = _write(tmp_path, header, row)
    report = validate_file(path, kind="survey")
    assert _problems(report) == [(1, "recognition", None), (1, "dibao", None)]
    assert str(report.problems[0]).startswith(
        "survey.csv, row 1, column recognition: expected a column named recognition")


def test_wrong_types_and_ranges(tmp_path):
    rows = [
        GOOD_ROW,
        "T1,V1,H2,exited,0,0,0,satisfied,in_home,,0,1,0,0,5000",         # size 0
        "T1,V1,H3,exited,2.5,0,0,satisfied,in_home,,0,1,0,0,5000",       # size not whole
        "T1,V1,H4,exited,2,0,0,satisfied,in_home,1.2,0,1,0,0,5000",      # share > 1
        "T1,V1,H5,exited,2,0,0,satisfied,in_home,-0.1,0,1,0,0,5000",     # share < 0
        "T1,V1,H6,exited,2,0,0,satisfied,in_home,,yes,maybe,0,0,5000",   # flag unknown
        "T1,V1,H7,exited,2,0,0,satisfied,in_home,,0,0,0,0,-1",           # income < 0
        "T1,V1,H8,exited,2,0,0,satisfied,in_home,,0,0,0,0,abc",          # income text
        ",V1,H9,exited,2,0,0,satisfied,in_home,,0,0,0,0,100",            # empty township
        "T1,V1,H10,exited,2,0,0,happy,tap,,0,0,0,0,100",                 # unknown codes
        "T1,V1,H11,nonregistered,2,1,0,satisfied,in_home,,0,0,0,0,100",  # wrong exit, not exited
        "T1,V1,H12,exited,2,0,2,satisfied,in_home,,0,0,0,0,100",         # missed, registered
    ]
    report = validate_file(_write(tmp_path, HEADER, *rows))
    assert _problems(report) == [
        (3, "household_size", "0"),
        (4, "household_size", "2.5"),
        (5, "reimbursement_share", "1.2"),
        (6, "reimbursement_share", "-0.1"),
        (7, "industry_support", "maybe"),
        (8, "income_per_head", "-1"),
        (9, "income_per_head", "abc"),
        (10, "township", ""),
        (11, "recognition", "happy"),
        (11, "water_access", "tap"),
        (12, "people_wrongly_exited", "1"),
        (13, "people_missed", "2"),
    ]
    assert report.problems[7].expected == "a value (this cell is empty)"
    assert report.problems[10].expected == "0 for households that are not exited"


def test_people_missed_above_household_size(tmp_path):
    row = "T1,V1,H1,nonregistered,2,0,3,satisfied,in_home,,0,0,0,0,100"
    report = validate_file(_write(tmp_path, HEADER, row))
    assert _problems(report) == [(2, "people_missed", "3")]
    assert report.problems[0].expected == "at most household_size (2) people"


def test_empty_files(tmp_path):
    empty = tmp_path / "survey.csv"
    empty.write_bytes(b"")
    report = validate_file(empty, kind="survey")
    assert _problems(report) == [(None, None, None)]
    assert str(report.problems[0]) == (
        "survey.csv: expected a header row and at least one data row (the file is empty)")
    header_only = _write(tmp_path, HEADER, name="header.csv")
    report = validate_file(header_only, kind="survey")
    assert str(report.problems[0]) == (
        "header.csv: expected at least one data row below the header (found none)")
    with pytest.raises(EvalkitError, match=r"^survey.csv: 1 problem\n"):
        load_survey(empty)


def test_blank_and_ragged_rows_are_reported_not_dropped(tmp_path):
    path = _write(tmp_path, HEADER, GOOD_ROW, ",,,,,,,,,,,,,,", GOOD_ROW.replace("H1", "H2")
                  + ",extra", GOOD_ROW.replace("H1", "H3"), "", "")
    report = validate_file(path)
    assert _problems(report) == [(3, None, None), (4, None, None)]
    assert "this row is empty" in report.problems[0].expected
    assert report.problems[1].expected == (
        "at most 15 values, as many as header columns (found 16)")


def test_duplicate_column_names(tmp_path):
    path = _write(tmp_path, HEADER + ",weight,Weight", GOOD_ROW + ",1,2")
    report = validate_file(path)
    assert _problems(report) == [(1, "Weight", None)]


def test_identifying_values_are_masked_even_in_other_columns(tmp_path):
    row = GOOD_ROW.replace("T1,V1,H1", "T1,V1,990101195001011237").replace(",5000", ",x")
    path = _write(tmp_path, HEADER + ",phone", row + ",10012345678",
                  row.replace("990101195001011237", "10090123456") + ",10012345678")
    report = validate_file(path)
    _no_pii(report.summary())
    assert [p.value for p in report.problems] == ["x", "x"]
    row2 = GOOD_ROW.replace(",3,", ",990101195001011237,")
    report = validate_file(_write(tmp_path, HEADER, row2, name="s2.csv"))
    assert report.problems[0].value == "<masked>"


def test_unknown_kind(tmp_path):
    path = _write(tmp_path, "a,b", "1,2")
    report = validate_file(path)
    assert not report.ok and report.kind is None
    assert report.problems[0].row == 1
    with pytest.raises(EvalkitError, match="expected 'frame' or 'survey'"):
        validate_file(path, kind="table")


def test_missing_file(tmp_path):
    report = validate_file(tmp_path / "nope.csv", kind="survey")
    assert report.problems[0].expected.startswith("an existing file")


# --- encodings and formats --------------------------------------------------------------
def test_gbk_and_bom_csv_load_like_utf8(tmp_path):
    reference = load_survey(SURVEY, frame=FRAME)
    text = SURVEY.read_text(encoding="utf-8")
    frame_text = FRAME.read_text(encoding="utf-8")
    for encoding in ("gbk", "gb18030", "utf-8-sig"):
        survey = tmp_path / f"survey_{encoding}.csv"
        frame = tmp_path / f"frame_{encoding}.csv"
        survey.write_bytes(text.encode(encoding))
        frame.write_bytes(frame_text.encode(encoding))
        if encoding == "gbk":
            with pytest.raises(UnicodeDecodeError):
                survey.read_bytes().decode("utf-8")
        loaded = load_survey(survey, frame=frame)
        pd.testing.assert_frame_equal(loaded, reference)
        assert load_frame(frame)["township"].tolist() == ["东山镇", "东山镇", "西河乡", "西河乡"]


def test_xlsx_round_trip(tmp_path):
    raw = pd.read_csv(SURVEY, dtype=str, keep_default_na=False)
    raw_typed = raw.copy()
    for c in ("household_size", "people_wrongly_exited", "people_missed"):
        raw_typed[c] = raw_typed[c].astype(int)          # numbers as Excel stores them
    raw_typed["weight"] = raw_typed["weight"].astype(float)
    path = tmp_path / "survey.xlsx"
    raw_typed.to_excel(path, index=False)
    reference = load_survey(SURVEY, frame=FRAME)
    loaded = load_survey(path, frame=FRAME)
    pd.testing.assert_frame_equal(loaded, reference)
    # Problems name the spreadsheet row in the workbook too.
    raw_typed.loc[4, "household_size"] = 0
    raw_typed.to_excel(path, index=False)
    assert _problems(validate_file(path)) == [(6, "household_size", "0")]


def test_parquet_round_trip(tmp_path):
    reference = load_survey(SURVEY, frame=FRAME)
    raw = pd.read_csv(SURVEY, dtype=str, keep_default_na=False)
    for c in ("household_size", "people_wrongly_exited", "people_missed"):
        raw[c] = raw[c].astype("int64")
    raw["weight"] = raw["weight"].astype(float)
    path = tmp_path / "survey.parquet"
    raw.to_parquet(path, index=False)
    pd.testing.assert_frame_equal(load_survey(path, frame=FRAME), reference)
    # The identifying columns are reported as dropped, as for the CSV.
    assert validate_file(path, frame_path=FRAME).dropped_columns == ["姓名", "身份证号", "phone"]
    assert validate_file(SURVEY, frame_path=FRAME).dropped_columns == ["姓名", "身份证号", "phone"]
    frame_path = tmp_path / "frame.parquet"
    pd.read_csv(FRAME).to_parquet(frame_path, index=False)
    pd.testing.assert_frame_equal(load_frame(frame_path), load_frame(FRAME))


def test_damaged_workbook_is_a_problem(tmp_path):
    path = tmp_path / "survey.xlsx"
    path.write_bytes(b"not a zip file")
    report = validate_file(path, kind="survey")
    assert report.problems[0].expected.startswith("a readable XLSX workbook")
    old = tmp_path / "survey.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    assert "save the old .xls" in validate_file(old, kind="survey").problems[0].expected


# --- paths ------------------------------------------------------------------------------
def test_resolve_data_path(tmp_path):
    packaged = resolve_data_path("packaged:frame.csv", tmp_path)
    assert packaged.is_file() and packaged.name == "frame.csv"
    assert packaged.parent.name == "data" and packaged.parent.parent.name == "resources"
    shutil.copy(FRAME, tmp_path / "mine.csv")
    assert resolve_data_path("mine.csv", tmp_path) == tmp_path / "mine.csv"
    assert resolve_data_path(str(tmp_path / "mine.csv"), Path("/")) == tmp_path / "mine.csv"
    with pytest.raises(EvalkitError, match="packaged:survey.csv"):
        resolve_data_path("packaged:nothing.csv", tmp_path)
    with pytest.raises(EvalkitError, match=r"expected an existing file"):
        resolve_data_path("missing.csv", tmp_path)


def test_packaged_files_load():
    frame = load_frame(resolve_data_path("packaged:frame.csv", Path(".")))
    survey = load_survey(resolve_data_path("packaged:survey.csv", Path(".")), frame=frame)
    assert len(frame) == 148
    assert math.isclose(survey["weight"].sum(), frame["hh_total"].sum(), abs_tol=0.01)


def test_cell_parsers_remembered_across_columns_give_what_pandas_gives() -> None:
    """The parsers remember results by cell text (a worker checks many counties); a column
    parsed partly from memory must equal the column parsed afresh, values and dtype."""
    import numpy as np
    import pandas as pd

    from evalkit.contract import cells

    first = pd.Series(["1", "0", "是", "", "2.5", "1,200", "n/a", "1"], dtype=object)
    second = pd.Series(["0", "否", "3", "x", "", "1", "1,200", "7%"], dtype=object,
                       index=pd.RangeIndex(2, 10), name="col")
    for column in (first, second):  # the second reuses the first's texts
        fresh = {
            "empty": column.str.lower().isin(cells.EMPTY_MARKERS),
            "number": cells.parse_numbers_each(column, False),
            "percent": cells.parse_numbers_each(column, True),
            "flag": cells.flag_each(column),
        }
        remembered = {
            "empty": cells.is_empty(column),
            "number": cells.parse_numbers(column),
            "percent": cells.parse_numbers(column, percent=True),
            "flag": cells.by_unique(column, cells.flag_each, memo="flag"),
        }
        for name, expected in fresh.items():
            got = remembered[name]
            assert got.dtype == expected.dtype, name
            assert got.index.equals(column.index) and got.name == column.name
            assert np.array_equal(got.to_numpy(), expected.to_numpy(), equal_nan=True), name


def test_the_per_process_memo_keeps_a_dtype_that_holds_every_value_seen() -> None:
    """A province worker checks many counties in one process: a flag once read as invalid
    (NaN, float) and later a new valid text (int) must not crash the next county's check
    ("cannot convert float NaN to integer" once did)."""
    import pandas as pd

    from evalkit.contract.cells import by_unique, flag_each

    memo = "flag-memo-test"
    bad = by_unique(pd.Series(["2", "2", "0"], dtype=object), flag_each, memo=memo)
    assert bad.isna().tolist() == [True, True, False]
    later = by_unique(pd.Series(["2", "1", "1", "0"], dtype=object), flag_each, memo=memo)
    assert later.tolist()[1:] == [1, 1, 0] and pd.isna(later.iloc[0])
