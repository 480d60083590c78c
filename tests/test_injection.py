"""Spreadsheet formula injection: no text evalkit writes becomes a live formula.

Issue 21: a listing cell starting with ``=``, ``+``, ``-`` or ``@`` became a formula in
``field_list.xlsx`` and stayed raw in the CSV lists. Every CSV cell is now neutralised
(OWASP: a leading ``'``), every XLSX text cell is a string cell, and ids read back exactly.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from evalkit.contract import data, spreadsheet, xlsx
from evalkit.contract.paths import resolve_data_path
from evalkit.run import cli

HOSTILE = ['=HYPERLINK("http://x","y")', "=V005_0139", "+86 139-0000-0010", "-2+3",
           "@SUM(A1:A2)", "\t=1+1", "\r=1+1", "=", "-", "+", "@"]
HARMLESS = ["V005", "-3", "-0.05", "+3", "-1e-05", "-inf", "a=b", "县一", "", "'plain", "'"]


@pytest.mark.parametrize("text", HOSTILE + HARMLESS)
def test_neutralise_is_reversible_idempotent_and_only_touches_formulas(text):
    safe = spreadsheet.neutralise_cell(text)
    assert spreadsheet.restore_cell(safe) == text
    assert spreadsheet.neutralise_cell(safe) == safe  # a second writer escapes nothing more
    if text in HOSTILE:
        assert safe == "'" + text
    else:
        assert safe == text


def test_csv_files_of_other_writers_are_neutralised_only_when_needed(tmp_path):
    tables = tmp_path / "tables"
    tables.mkdir()
    plain = pd.DataFrame({"village": ["V1", "V2"], "change": [-0.05, 1e-7],
                          "note": ['with "quotes", commas', "line\nbreak"]})
    plain.to_csv(tables / "plain.csv", index=False)
    before = (tables / "plain.csv").read_bytes()
    hostile = plain.assign(village=["=cmd|' /C calc'!A0", "@V2"])
    hostile.to_csv(tables / "hostile.csv", index=False)
    assert spreadsheet.neutralise_csv_files(tmp_path, "tables") == [
        "tables/hostile.csv", "tables/plain.csv"]
    assert (tables / "plain.csv").read_bytes() == before
    cells = list(csv.reader(io.StringIO((tables / "hostile.csv").read_text())))
    assert [row[0] for row in cells[1:]] == ["'=cmd|' /C calc'!A0", "'@V2"]
    assert [row[1] for row in cells[1:]] == ["-0.05", "1e-07"]  # numbers stay numbers
    back = spreadsheet.read_csv(tables / "hostile.csv")
    pd.testing.assert_frame_equal(back, hostile)


def test_xlsx_text_cells_are_strings_never_formulas(tmp_path):
    table = pd.DataFrame({"text": HOSTILE, "n": range(len(HOSTILE))})
    path = xlsx.write_table(table, tmp_path / "t.xlsx")
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "<f " not in sheet
    ws = openpyxl.load_workbook(path).active
    # XML reads a carriage return as a line feed
    assert [c.value for c in ws["A"][1:]] == [t.replace("\r", "\n") for t in HOSTILE]
    assert {c.data_type for c in ws["A"]} == {"s"}
    assert {c.data_type for c in ws["B"][1:]} == {"n"}


@pytest.fixture(scope="module")
def hostile_draw(tmp_path_factory):
    """The synthetic listing with every id and head's name a formula, drawn in two phases."""
    root = tmp_path_factory.mktemp("hostile")
    assert cli.main(["synth", "--listing", "--out", str(root / "data")]) == 0
    path = root / "data" / "listing.csv"
    listing = pd.read_csv(path, dtype=str)
    listing["household_id"] = "=" + listing["household_id"]
    listing["head_name"] = '=HYPERLINK("http://x","' + listing["head_name"] + '")'
    listing["phone"] = "+86 " + listing["phone"]
    listing.to_csv(path, index=False)  # raw, as a hostile or careless export would be
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({
        "run_name": "drawn", "lang": "zh",
        "data": {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv",
                 "listing": "data/listing.csv"}}), encoding="utf-8")
    out = root / "draw"
    assert cli.main(["draw", str(params), "--stage", "villages", "--out", str(out)]) == 0
    assert cli.main(["draw", str(params), "--stage", "households", "--out", str(out)]) == 0
    return {"root": root, "out": out, "listing": listing}


@pytest.mark.parametrize("name", ["field_list", "reserve_list"])
def test_field_and_reserve_lists_hold_no_formula(hostile_draw, name):
    out = hostile_draw["out"]
    ws = openpyxl.load_workbook(out / f"{name}.xlsx").active
    header = [c.value for c in ws[1]]
    ids = [row[header.index("户编号 household_id")] for row in ws.iter_rows(min_row=2)]
    names = [row[header.index("户主姓名 head_name")] for row in ws.iter_rows(min_row=2)]
    assert ids and all(c.data_type == "s" and c.value.startswith("=V") for c in ids)
    assert all(c.data_type == "s" and c.value.startswith("=HYPERLINK") for c in names)
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)
    known = set(hostile_draw["listing"]["household_id"])
    assert {c.value for c in ids} <= known
    with open(out / f"{name}.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    column = rows[0].index("户编号 household_id")
    assert all(row[column].startswith("'=V") for row in rows[1:])
    assert all(row[rows[0].index("联系电话 phone")].startswith("'+86 ") for row in rows[1:])
    assert all(row[rows[0].index("户主姓名 head_name")].startswith("'=HYPERLINK")
               for row in rows[1:])


def test_ids_of_the_field_list_read_back_exactly_through_validate(hostile_draw, tmp_path,
                                                                  capsys):
    """The survey team copies the field list's cells into its survey file as they are."""
    out = hostile_draw["out"]
    with open(out / "field_list.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    copied = [row[rows[0].index("户编号 household_id")] for row in rows[1:3]]
    survey = pd.read_csv(resolve_data_path("packaged:survey.csv", Path.cwd()), dtype=str,
                         keep_default_na=False)
    survey.loc[:1, "household_id"] = copied
    path = tmp_path / "survey.csv"
    survey.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    frame = resolve_data_path("packaged:frame.csv", Path.cwd())
    assert cli.main(["validate", str(path), "--frame", str(frame)]) == 0
    capsys.readouterr()
    loaded = data.load_survey(path)
    assert loaded["household_id"].iloc[:2].tolist() == [c[1:] for c in copied]
    assert loaded["household_id"].iloc[0].startswith("=V")
    # design.csv, which the survey is merged with, holds the same ids, escaped the same way
    design = spreadsheet.read_csv(out / "design.csv", dtype=str)
    assert set(design["household_id"]) <= set(hostile_draw["listing"]["household_id"])


@pytest.mark.slow
def test_a_run_on_villages_named_as_formulas_writes_no_formula(tmp_path):
    """Every table of `evalkit run` (notebooks' tables included) and every workbook: text."""
    for name in ("frame.csv", "survey.csv"):
        table = pd.read_csv(resolve_data_path(f"packaged:{name}", Path.cwd()), dtype=str,
                            keep_default_na=False)
        table["village"] = '=HYPERLINK("http://x","' + table["village"] + '")'
        table["township"] = "@" + table["township"]
        table.to_csv(tmp_path / name, index=False)
    params = tmp_path / "params.yaml"
    params.write_text("run_name: hostile\ndata:\n  frame: frame.csv\n  survey: survey.csv\n",
                      encoding="utf-8")
    assert cli.main(["run", str(params), "--out", str(tmp_path / "out"), "-q"]) == 0
    tables = tmp_path / "out" / "hostile" / "tables"
    escaped = 0
    for path in sorted(tables.glob("*.csv")):
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for row in csv.reader(handle):
                assert not any(spreadsheet.needs_escape(cell) for cell in row), (path, row)
                escaped += sum(cell.startswith(("'=HYPERLINK", "'@T")) for cell in row)
    assert escaped > 29  # the selected villages at least
    villages = spreadsheet.read_csv(tables / "selected_villages.csv")
    assert villages["village"].str.startswith('=HYPERLINK("http://x","V').all()
    for path in sorted(tables.glob("*.xlsx")):
        workbook = openpyxl.load_workbook(path)
        assert not [c.coordinate for ws in workbook for row in ws.iter_rows() for c in row
                    if c.data_type == "f"], path


def test_control_characters_in_a_cell_do_not_stop_the_workbook(tmp_path):
    """XML 1.0 has no place for most control characters: openpyxl raised on them (a name
    with a stray BEL from a copied register stopped the field list)."""
    table = pd.DataFrame({"head_name": ["Li\x07 Wei", "Wang\x1bFang"]})
    path = xlsx.write_table(table, tmp_path / "ctl.xlsx")
    values = [c.value for c in openpyxl.load_workbook(path).active["A"][1:]]
    assert values == ["Li\ufffd Wei", "Wang\ufffdFang"]
