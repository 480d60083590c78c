"""Messages for a Chinese spreadsheet: suggestions across both alphabets, headers as the user
wrote them with the codebook name beside them, every value problem in the same report, and
`validate --frame packaged:frame.csv`."""

from __future__ import annotations

import csv
from pathlib import Path

from evalkit.contract import data, schema
from evalkit.contract.cells import closest_header
from evalkit.run import cli

FIXTURES = Path(__file__).parent / "data" / "data_contract"


def chinese_survey(tmp_path: Path, rename: dict[str, str] | None = None,
                   cells: dict[tuple[int, str], str] | None = None) -> Path:
    """The small survey fixture with its headers in Chinese (the codebook's first alias),
    ``rename`` applied to headers as written, ``cells`` (spreadsheet row, English column)
    replaced."""
    with (FIXTURES / "survey_small.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    for (row, column), value in (cells or {}).items():
        rows[row - 1][header.index(column)] = value
    written = [schema.COLUMN_ALIASES.get(h, (h,))[0] for h in header]
    written = [(rename or {}).get(h, h) for h in written]
    path = tmp_path / "survey.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([written, *rows[1:]])
    return path


def test_did_you_mean_across_both_alphabets():
    assert closest_header("industry_support", ["产业扶助", "备注"]) == ("产业扶助", "产业扶持")
    assert closest_header("household_size", ["houshold_size"]) == ("houshold_size",
                                                                   "household_size")
    assert closest_header("industry_support", ["备注", "weight"]) is None


def test_misspelt_chinese_header_gets_a_suggestion_and_values_are_still_checked(tmp_path):
    path = chinese_survey(tmp_path, rename={"产业扶持": "产业扶助"},
                          cells={(3, "household_size"): "三口",
                                 (2, "reimbursement_share"): "1.7"})
    report = data.validate_file(path, kind="survey")
    lines = [str(p) for p in report.problems]
    header = [s for s in lines if "industry_support" in s]
    assert len(header) == 1
    assert "found '产业扶助': did you mean 产业扶持 (industry_support)?" in header[0]
    # The same report lists the value problems of the columns it recognised, each column
    # named as the file writes it, with the codebook name beside it.
    assert any(s.startswith("survey.csv, row 3, column 家庭人口数 (household_size): "
                            "value '三口'") for s in lines), lines
    assert any("row 2, column 报销比例 (reimbursement_share)" in s for s in lines), lines
    assert len(lines) == 3


def test_english_headers_are_named_as_they_are(tmp_path):
    path = chinese_survey(tmp_path, cells={(3, "household_size"): "three"})
    text = path.read_text(encoding="utf-8").replace("家庭人口数", "household_size", 1)
    path.write_text(text, encoding="utf-8")
    lines = [str(p) for p in data.validate_file(path, kind="survey").problems]
    assert lines == ["survey.csv, row 3, column household_size: value 'three': expected a "
                     "whole number from 1 to 30"]


def test_frame_header_problem_does_not_hide_value_problems(tmp_path):
    with (FIXTURES / "frame_small.csv").open(encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    rows[1][header.index("hh_exited")] = "-3"
    header[header.index("village_type")] = "village_kind"
    path = tmp_path / "frame.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    lines = [str(p) for p in data.validate_file(path, kind="frame").problems]
    assert any("column village_type" in s for s in lines)
    assert any("row 2, column hh_exited: value '-3'" in s for s in lines), lines


def test_validate_accepts_packaged_files(capsys):
    code = cli.main(["validate", "packaged:survey.csv", "--frame", "packaged:frame.csv"])
    assert code == 0
    assert "survey.csv: OK" in capsys.readouterr().out


def test_synth_province_writes_its_params_file_and_says_how_to_run_it(tmp_path, capsys):
    from evalkit.run.province_params import counties, load_province

    out = tmp_path / "prov"
    assert cli.main(["synth", "--province", "2", "--seed", "4242", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    params = out / "province.yaml"
    assert str(params) in captured.out.splitlines()
    assert f"to run it: evalkit province {params}" in captured.err
    spec = load_province(params)
    assert [c.name for c in spec.counties] == ["county_01", "county_02"]
    assert all(c.problem is None for c in spec.counties)
    assert (counties(1), counties(2)) == ("1 county", "2 counties")


def test_failed_county_reason_is_in_the_page_language():
    import pandas as pd

    from evalkit.report.province import province_page
    from evalkit.run.province import CountyStatus

    error = ("the run's data files have problems; nothing was run; survey.csv: 2 problems; "
             "survey.csv, row 1, column household_size: expected a column named "
             "household_size (size of the household, integer >= 1) in the header row "
             "(found 'houshold_size': did you mean household_size?); survey.csv, row 7, "
             "column 权重 (weight): value '0': expected a design weight > 0")
    pages = {lang: province_page(
        name="某省", lang=lang, level=0.95, thresholds={}, tables=[], rates=None,
        statuses=[CountyStatus("甲县", "failed", error=error)],
        indicators=pd.DataFrame(columns=["county", "indicator"]),
        ranking=pd.DataFrame(columns=["county", "indicator"]), county_links=False,
        technical_href=None) for lang in ("zh", "en")}
    zh = pages["zh"]
    assert "survey.csv，第1行，household_size列：应为表头中名为household_size的列" in zh
    assert "survey.csv，第7行，权重 (weight)列：值&#x27;0&#x27;：应为大于0的设计权重" in zh
    assert "本次运行的数据文件有问题" in zh
    assert "expected" not in zh and "row 7" not in zh
    assert "survey.csv, row 7, column 权重 (weight): value &#x27;0&#x27;: expected" in pages["en"]
