"""Excel files that are byte-for-byte reproducible.

An .xlsx file is a zip archive: openpyxl stamps each entry with the current time and writes
the save time into ``docProps/core.xml``. Both are fixed here so that the same run gives the
same bytes (the manifest's SHA-256 of every output then means something).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd

_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_CORE_TIMES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


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


def save_workbook(workbook, path: str | Path) -> Path:
    """Save an openpyxl ``Workbook`` reproducibly."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    path = Path(path)
    path.write_bytes(reproducible(buffer.getvalue()))
    return path


def write_table(table: pd.DataFrame, path: str | Path, sheet_name: str = "Sheet1") -> Path:
    """Write one DataFrame as a workbook, reproducibly."""
    buffer = io.BytesIO()
    table.to_excel(buffer, index=False, sheet_name=sheet_name[:31])
    path = Path(path)
    path.write_bytes(reproducible(buffer.getvalue()))
    return path
