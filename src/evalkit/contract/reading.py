"""Reading a CSV, Excel, Parquet, Stata (.dta) or SPSS (.sav) table as text cells, with NUL
bytes, encodings and oversized fields reported by row, and the codebook's column aliases
applied. Every format then meets the same checks and messages (file, row as a spreadsheet
counts them: header = row 1, so a Stata or SPSS observation n is row n + 1; column).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.cells import FLAG_VALUES
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


STATA_SUFFIXES = (".dta",)
SPSS_SUFFIXES = (".sav", ".zsav")

# The codebook's coded columns. A Stata or SPSS value label replaces the stored code only when
# the codebook accepts it for that column (1 labelled 已脱贫 in household_type reads as 已脱贫,
# then as exited); elsewhere only a yes/no label (是/否) does, for the 0/1 columns. Any other
# label is ignored and the stored value is checked as a CSV cell would be.
CODED_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "household_type": schema.HOUSEHOLD_TYPES, "recognition": schema.RECOGNITION_LEVELS,
    "water_access": schema.WATER_ACCESS, "village_type": schema.VILLAGE_TYPES,
}


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
                                "CSV, XLSX, Parquet, Stata .dta or SPSS .sav (save the old "
                                ".xls workbook as .xlsx)"))
        return None
    if suffix in STATA_SUFFIXES + SPSS_SUFFIXES:
        return _read_labelled(path, suffix, label, problems)
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


def _read_labelled(path: Path, suffix: str, label: str, problems: list[Problem]
                   ) -> tuple[list[list[str]], list[str]] | None:
    """A Stata or SPSS file as text cells: the stored values, with the value labels the
    codebook accepts (:data:`CODED_COLUMNS`) in place of their codes; identifying columns
    dropped before any of their cells is read into text."""
    stata = suffix in STATA_SUFFIXES
    try:
        if stata:
            table = pd.read_stata(path, convert_categoricals=False, convert_dates=False)
            labels = _stata_labels(path, table)
        else:
            import pyreadstat

            table, meta = pyreadstat.read_sav(path, apply_value_formats=False,
                                              user_missing=False, dates_as_pandas_datetime=False)
            labels = dict(meta.variable_value_labels)
    except Exception as exc:  # the readers raise ValueError, OSError, their own errors
        what = "Stata .dta" if stata else "SPSS .sav"
        problems.append(Problem(label, None, None, None,
                                f"a readable {what} file ({type(exc).__name__})"))
        return None
    header = [str(c) for c in table.columns]
    drop = [i for i, c in enumerate(header) if c.strip().lower() in IDENTIFYING]
    keep = [i for i in range(len(header)) if i not in drop]
    columns = []
    for i in keep:
        cells = [cell_text(x) for x in table.iloc[:, i].tolist()]
        codes = labels.get(header[i])
        if codes:
            name = COLUMN_ALIAS_LOOKUP.get(header[i].strip(), header[i].strip().lower())
            accepted = _accepted_labels(name)
            texts = {cell_text(code): str(text).strip() for code, text in codes.items()}
            cells = [texts[c] if _normal_label(texts.get(c, "")) in accepted else c
                     for c in cells]
        columns.append(cells)
    body = [list(row) for row in zip(*columns, strict=True)] if columns else []
    return [[header[i] for i in keep], *body], [header[i].strip() for i in drop]


def _stata_labels(path: Path, codes: pd.DataFrame) -> dict[str, dict[Any, str]]:
    """Each labelled column's ``{stored value: label}``, from a second read with the labels
    applied (pandas offers no public variable -> label-set table). A file whose label sets
    repeat a label (which pandas refuses to apply) is read without labels."""
    try:
        labelled = pd.read_stata(path, convert_categoricals=True, convert_dates=False)
    except ValueError:
        return {}
    out: dict[str, dict[Any, str]] = {}
    for column in labelled.columns:
        if isinstance(labelled[column].dtype, pd.CategoricalDtype):
            pairs = pd.DataFrame({"code": codes[column], "text": labelled[column].astype(object)})
            pairs = pairs.dropna().drop_duplicates("code")
            out[str(column)] = {code: str(text) for code, text in
                                zip(pairs["code"], pairs["text"], strict=True)
                                if cell_text(code) != cell_text(text)}
    return out


def _normal_label(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text.lower())


def _accepted_labels(column: str) -> frozenset[str]:
    """The value labels the codebook accepts for ``column`` (:func:`_normal_label` form)."""
    codes = CODED_COLUMNS.get(column)
    if codes is None:
        return frozenset(FLAG_VALUES)
    return frozenset(_normal_label(key) for code, names in codes.items()
                     for key in (code, *names))


@dataclass
class Table:
    """A file's cells as text, identifying columns already gone."""

    data: pd.DataFrame  # all cells str, stripped; index = spreadsheet row number
    dropped: list[str]
    #: A column's header as written in the file, where it is not the codebook name (a
    #: Chinese header, other capitals): messages name it as the user sees it.
    headers: dict[str, str] = field(default_factory=dict)


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
    written = {names[i]: header[i].strip() for i in keep
               if names[i] and header[i].strip() != names[i]}
    return Table(frame.loc[~blank], dropped, written)
