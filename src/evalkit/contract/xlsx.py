"""Excel files that are safe to open and byte-for-byte reproducible.

Safe: every text cell is a string cell, never a formula, whatever it starts with (a household
id ``=V005_0139`` or a name ``=HYPERLINK(...)`` stays text; see
:mod:`evalkit.contract.spreadsheet`): :func:`set_cell` writes one value, :func:`append_row`
a row, :func:`write_table` a whole table.

Reproducible: an .xlsx file is a zip archive; openpyxl stamps each entry with the current
time and writes the save time into ``docProps/core.xml``. Both are fixed here so that the
same run gives the same bytes (the manifest's SHA-256 of every output then means something).

Printable: :func:`write_table` sizes the columns to their content, freezes the header row,
adds a filter, and prints A4 landscape, one page wide, the header row on every page and,
with ``page_break_by``, a new page where that column's value changes (a village per page of
the field list).
"""

from __future__ import annotations

import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.spreadsheet import needs_escape, write_replacing

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")
MIN_WIDTH, MAX_WIDTH = 6, 60
# openpyxl refuses these in a cell (XML 1.0 does not allow them): shown as U+FFFD.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def reproducible(data: bytes) -> bytes:
    """The same workbook with fixed zip entry times and document save times."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_TIMES.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, content)
    return out.getvalue()


def save_workbook(workbook: Any, path: str | Path) -> Path:
    """Save an openpyxl ``Workbook`` reproducibly."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = Path(path)
    write_replacing(path, reproducible(buffer.getvalue()))
    return path


def cell_value(value: Any) -> Any:
    """A pandas or numpy value as openpyxl stores it: numbers as numbers, missing as empty."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, int | str):
        return value
    return str(value)


def set_cell(cell: Any, value: Any) -> Any:
    """Put ``value`` in an openpyxl ``cell``; text is always a string cell, never a formula.

    A text that a spreadsheet would read as a formula also gets Excel's "quote prefix"
    style, so that editing the cell and pressing Enter keeps it text.

    >>> from openpyxl import Workbook
    >>> cell = set_cell(Workbook().active["A1"], "=1+1")
    >>> cell.value, cell.data_type
    ('=1+1', 's')
    """
    value = cell_value(value)
    if isinstance(value, str):
        value = _ILLEGAL.sub("\ufffd", value)
        cell.value = value
        cell.data_type = "s"  # openpyxl makes any text starting with "=" a formula
        if needs_escape(value):
            cell.quotePrefix = True
    else:
        cell.value = value
    return cell


def append_row(sheet: Any, values: Iterable[Any]) -> None:
    """Append one row to an openpyxl worksheet, each value through :func:`set_cell`."""
    row = sheet.max_row + 1 if sheet.max_row > 1 or sheet.cell(1, 1).value is not None else 1
    for column, value in enumerate(values, start=1):
        set_cell(sheet.cell(row=row, column=column), value)


def text_width(text: str) -> int:
    """Columns ``text`` takes in Excel's default font (East Asian wide characters: two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def write_table(table: pd.DataFrame, path: str | Path, sheet_name: str = "Sheet1", *,
                page_break_by: str | None = None) -> Path:
    """Write one DataFrame as a printable workbook, reproducibly; returns the path.

    Text cells are string cells (:func:`set_cell`); columns are as wide as their longest
    text (6 to 60 characters); the header row is frozen, filtered and printed on every page
    of an A4 landscape printout one page wide; ``page_break_by`` (a column of ``table``)
    starts a new printed page where its value changes.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> t = pd.DataFrame({"village": ["V1", "V2"], "household_id": ["=A1", "b"]})
    >>> write_table(t, folder / "x.xlsx").name
    'x.xlsx'
    """
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.pagebreak import Break

    wb = Workbook()
    ws = wb.active
    ws.title = sheet_name[:31]
    wb.properties.creator = "evalkit"
    header = [str(c) for c in table.columns]
    append_row(ws, header)
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    widths = [text_width(h) for h in header]
    for values in table.itertuples(index=False, name=None):
        append_row(ws, values)
        for j, value in enumerate(values):
            shown = cell_value(value)
            if shown is not None:
                widths[j] = max(widths[j], text_width(str(shown)))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, MIN_WIDTH),
                                                               MAX_WIDTH)
    last = f"{get_column_letter(max(1, len(header)))}{len(table) + 1}"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{last}"
    ws.print_title_rows = "1:1"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if page_break_by is not None and len(table):
        groups = table[page_break_by].astype(str).to_numpy()
        for row in np.flatnonzero(groups[1:] != groups[:-1]):
            # A break after sheet row (header = 1) of the group's last household.
            ws.row_breaks.append(Break(id=int(row) + 2))
    path = Path(path)
    return save_workbook(wb, path)
