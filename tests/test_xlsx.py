"""Excel outputs are byte-for-byte reproducible."""

from __future__ import annotations

import zipfile

import pandas as pd

from evalkit.contract import xlsx


def test_written_workbooks_carry_no_time_of_writing(tmp_path):
    table = pd.DataFrame({"village": ["V001", "V002"], "household_id": ["a", "b"]})
    path = xlsx.write_table(table, tmp_path / "list.xlsx", sheet_name="field_list")
    with zipfile.ZipFile(path) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert "2000-01-01T00:00:00Z" in core
    assert pd.read_excel(path, sheet_name="field_list").equals(table)
    again = xlsx.write_table(table, tmp_path / "again.xlsx", sheet_name="field_list")
    assert again.read_bytes() == path.read_bytes()
