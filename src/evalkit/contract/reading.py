"""Reading a CSV, Excel or Parquet table as text cells, with NUL bytes, encodings and oversized
fields reported by row, and the codebook's column aliases applied.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.problems import (
    Problem,
)
from evalkit.contract.spreadsheet import ESCAPE, restore_cell

IDENTIFYING = frozenset(c.strip().lower() for c in schema.IDENTIFYING_COLUMNS)


COLUMN_ALIAS_LOOKUP: dict[str, str] = {
    alias: column for column, aliases in schema.COLUMN_ALIASES.items()
                            for alias in aliases}


EXCEL_SUFFIXES = (".xlsx", ".xlsm")


PARQUET_SUFFIXES = (".parquet", ".pq")


# --------------------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------------------
def cell_text(x: Any) -> str:
    """Render one Excel or Parquet cell as the text a CSV would hold."""
    if x is None:
        return ""
    if isinstance(x, bool | np.bool_):
        return "1" if x else "0"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if math.isnan(x):
            return ""
        return str(int(x)) if float(x).is_integer() else repr(float(x))
    try:
        if pd.isna(x):
            return ""
    except (TypeError, ValueError):
        pass
    return str(x).strip()


def decode_bytes(raw: bytes) -> str | None:
    """UTF-8 (BOM optional) first; GB18030, a superset of GBK, is what Excel in China writes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def read_csv_rows(path: Path, label: str, problems: list[Problem]) -> list[list[str]] | None:
    text = decode_bytes(path.read_bytes())
    if text is None:
        problems.append(Problem(label, None, None, None,
                                "text encoded as UTF-8 or GBK/GB18030"))
        return None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as exc:  # e.g. a field over csv's size limit: name the row it is in
        problems.append(Problem(label, reader.line_num, None, None,
                                f"a well-formed CSV row ({exc})"))
        return None
    return rows


def read_rows(path: Path, label: str, problems: list[Problem]
              ) -> tuple[list[list[str]], list[str]] | None:
    """The file as a list of rows of text cells, header first, and the names of identifying
    columns already dropped while reading; None after a problem.

    A cell that evalkit's writers escaped against formula injection (``'=V005``, see
    :mod:`evalkit.contract.spreadsheet`) reads back as it was written (``=V005``).
    """
    read = _read_rows(path, label, problems)
    if read is None:
        return None
    rows, dropped = read
    if any(cell.startswith(ESCAPE) for row in rows for cell in row):
        rows = [[restore_cell(cell) for cell in row] for row in rows]
    return rows, dropped


def _read_rows(path: Path, label: str, problems: list[Problem]
               ) -> tuple[list[list[str]], list[str]] | None:
    if not path.exists():
        problems.append(Problem(label, None, None, None, f"an existing file ({path})"))
        return None
    if path.is_dir():
        problems.append(Problem(label, None, None, None, "a file, not a directory"))
        return None
    if path.stat().st_size == 0:
        problems.append(Problem(label, None, None, None,
                                "a header row and at least one data row (the file is empty)"))
        return None
    suffix = path.suffix.lower()
    if suffix == ".xls":
        problems.append(Problem(label, None, None, None,
                                "CSV, XLSX or Parquet (save the old .xls workbook as .xlsx)"))
        return None
    if suffix in EXCEL_SUFFIXES:
        try:
            table = pd.read_excel(path, sheet_name=0, header=None, dtype=object,
                                  engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for damaged workbooks
            problems.append(Problem(label, None, None, None,
                                    f"a readable XLSX workbook ({type(exc).__name__})"))
            return None
        return [[cell_text(x) for x in row] for row in table.itertuples(index=False)], []
    if suffix in PARQUET_SUFFIXES:
        try:
            table = pd.read_parquet(path, engine="pyarrow")
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            problems.append(Problem(label, None, None, None,
                                    f"a readable Parquet file ({type(exc).__name__})"))
            return None
        # Identifying columns go before any of their cells is turned into text; their
        # names are reported as dropped, as for CSV and XLSX.
        header = [str(c) for c in table.columns]
        drop = [i for i, c in enumerate(header) if c.strip().lower() in IDENTIFYING]
        keep = [i for i in range(len(header)) if i not in drop]
        body = [[cell_text(row[i]) for i in keep]
                for row in table.itertuples(index=False, name=None)]
        return [[header[i] for i in keep], *body], [header[i].strip() for i in drop]
    rows = read_csv_rows(path, label, problems)
    return None if rows is None else (rows, [])


@dataclass
class Table:
    """A file's cells as text, identifying columns already gone."""

    data: pd.DataFrame  # all cells str, stripped; index = spreadsheet row number
    dropped: list[str]


def read_table(path: Path, label: str, problems: list[Problem]) -> Table | None:
    read = read_rows(path, label, problems)
    if read is None:
        return None
    rows, dropped_at_read = read
    while rows and all(not str(c).strip() for c in rows[-1]):
        rows.pop()  # trailing blank rows are spreadsheet leftovers, not households
    if not rows:
        problems.append(Problem(label, None, None, None,
                                "a header row and at least one data row (the file is empty)"))
        return None
    header = [str(c).replace("\ufeff", "").strip() for c in rows[0]]
    while header and not header[-1]:
        header.pop()  # trailing empty header cells: Excel's habit, dropped with their cells
    names = [COLUMN_ALIAS_LOOKUP.get(h, h.lower()) for h in header]
    dropped = dropped_at_read + [header[i] for i, n in enumerate(names) if n in IDENTIFYING]
    keep = [i for i, n in enumerate(names) if n not in IDENTIFYING]
    width = len(header)
    bad_header = False
    for i in keep:
        if not names[i]:
            problems.append(Problem(label, 1, f"#{i + 1}", "",
                                    "a column name in the header row"))
            bad_header = True
    seen: dict[str, int] = {}
    for i in keep:
        if names[i] and names[i] in seen:
            problems.append(Problem(label, 1, header[i], None,
                                    f"each column once (also column #{seen[names[i]] + 1})"))
            bad_header = True
        seen.setdefault(names[i], i)
    body: list[list[str]] = []
    for r, row in enumerate(rows[1:], start=2):
        cells = list(map(str.strip, map(str, row)))
        if len(cells) > width and any(cells[width:]):
            problems.append(Problem(label, r, None, None,
                                    f"at most {width} values, as many as header columns "
                                    f"(found {len(cells)})"))
        cells = (cells + [""] * width)[:width]
        body.append([cells[i] for i in keep])
    # The identifying cells are gone from here on.
    if not body:
        problems.append(Problem(label, None, None, None,
                                "at least one data row below the header (found none)"))
        return None
    if bad_header:
        return None
    frame = pd.DataFrame(body, columns=[names[i] for i in keep], dtype=object)
    frame.index = pd.RangeIndex(2, 2 + len(body))
    has_nul = any("\x00" in "".join(cells) for cells in body)
    for column in frame.columns if has_nul else ():
        nul = frame[column].str.contains("\x00", regex=False)
        for r in frame.index[nul.to_numpy(dtype=bool)]:
            problems.append(Problem(label, int(r), column, None,
                                    "text without NUL bytes (the file looks binary or damaged)"))
        frame.loc[nul, column] = ""
    blank = (frame == "").all(axis=1)
    for r in frame.index[blank]:
        problems.append(Problem(label, int(r), None, None,
                                "a filled-in row (this row is empty; delete it or fill it in)"))
    return Table(frame.loc[~blank], dropped)
