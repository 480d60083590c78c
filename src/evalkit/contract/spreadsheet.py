"""Text cells that a spreadsheet will never run as a formula (CSV injection).

A CSV or XLSX cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or a
carriage return, which some spreadsheets skip before looking for one) is read by Excel,
LibreOffice and WPS as a formula: a household id ``=V005_0139`` shows an error, and a name
``=HYPERLINK("http://x", "y")`` calls out to a network address when the file is opened.
Every CSV evalkit writes goes through :func:`neutralise_cell` (OWASP, "CSV Injection": a
leading ``'`` makes the cell text), and every XLSX text cell is stored as a string cell,
never a formula (:mod:`evalkit.contract.xlsx`).

The escape is undone on reading (:func:`restore_cell`, applied by evalkit's file reader to
every cell), so an id written to a field list reads back exactly through ``evalkit
validate``. Neutralising is idempotent (an escaped cell is text already, so a table that
passes two writers is escaped once); the price is that a text which itself starts with
``'=`` reads back as ``=``, which is what a spreadsheet user typing it meant. Plain
numbers (``-0.05``, ``+3``, ``-1e-05``, ``-inf``) are not formulas and stay as they are,
so the tables' numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas is imported by the functions that need it: `evalkit run --check`
    import pandas as pd  # never loads it

#: The characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)",
                     re.IGNORECASE)


def needs_escape(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula (a plain number is not one).

    >>> needs_escape("=1+2"), needs_escape("-0.05"), needs_escape("V005")
    (True, False, False)
    """
    return text.startswith(FORMULA_STARTS) and _NUMBER.fullmatch(text) is None


def neutralise_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a leading ``'`` before a formula.

    Only text is changed; numbers and missing values are returned as they are.

    >>> neutralise_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> neutralise_cell("-3"), neutralise_cell(-3.5), neutralise_cell("a-b")
    ('-3', -3.5, 'a-b')
    """
    if isinstance(value, str) and needs_escape(value):
        return ESCAPE + value
    return value


def restore_cell(text: str) -> str:
    """Undo :func:`neutralise_cell` (text it did not escape is returned unchanged).

    >>> restore_cell("'=V005_0139"), restore_cell("'quoted"), restore_cell("V1")
    ('=V005_0139', "'quoted", 'V1')
    """
    if text.startswith(ESCAPE) and needs_escape(text[1:]):
        return text[1:]
    return text


def neutralise_frame(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with every text cell and column name neutralised (numbers kept).

    >>> import pandas as pd
    >>> neutralise_frame(pd.DataFrame({"id": ["=A1", "B"], "x": [-1.0, 2.0]}))["id"].tolist()
    ["'=A1", 'B']
    """
    import pandas as pd

    out = table.copy()
    out.columns = [neutralise_cell(c) for c in out.columns]
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out.iloc[:, position] = column.map(neutralise_cell)
    return out


def restore_frame(table: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`neutralise_frame` on a table read back from a CSV evalkit wrote."""
    import pandas as pd

    out = table.copy()
    out.columns = [restore_cell(c) if isinstance(c, str) else c for c in out.columns]
    for position in range(out.shape[1]):
        column = out.iloc[:, position]
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            out.iloc[:, position] = column.map(
                lambda v: restore_cell(v) if isinstance(v, str) else v)
    return out


def write_replacing(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a new file renamed over it: a symbolic link at
    ``path`` (planted in a shared folder) is replaced, never written through, and a reader
    never sees half a file."""
    import os
    import tempfile

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would make it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def csv_text(table: pd.DataFrame, **to_csv: Any) -> str:
    """``table.to_csv(index=False, lineterminator="\\n", **to_csv)`` with text neutralised."""
    options = {"index": False, "lineterminator": "\n", **to_csv}
    return neutralise_frame(table).to_csv(**options)


def write_csv(table: pd.DataFrame, path: str | Path, encoding: str = "utf-8",
              **to_csv: Any) -> Path:
    """Write ``table`` as CSV at ``path`` with every text cell neutralised; returns the path.

    ``encoding="utf-8-sig"`` writes the byte-order mark Excel needs to read UTF-8.

    >>> import tempfile
    >>> import pandas as pd
    >>> p = write_csv(pd.DataFrame({"id": ["=1+1"]}), Path(tempfile.mkdtemp()) / "t.csv")
    >>> p.read_text()
    "id\\n'=1+1\\n"
    """
    path = Path(path)
    write_replacing(path, csv_text(table, **to_csv).encode(encoding))
    return path


def read_csv(path: str | Path | io.IOBase, **read_csv_options: Any) -> pd.DataFrame:
    """``pandas.read_csv`` of a CSV evalkit wrote, with the escapes undone."""
    import pandas as pd

    return restore_frame(pd.read_csv(path, **read_csv_options))


def neutralise_rows(rows: Iterable[list[str]]) -> tuple[list[list[str]], bool]:
    """Rows of text cells neutralised, and whether any cell changed."""
    changed = False
    out = []
    for row in rows:
        safe = [neutralise_cell(cell) for cell in row]
        changed = changed or safe != row
        out.append(safe)
    return out, changed


def neutralise_csv_file(path: str | Path) -> bool:
    """Neutralise a CSV file written by other code (a notebook's ``to_csv``) in place.

    The file is parsed and written back with Python's ``csv`` module, as pandas writes it
    (comma, ``"`` quotes when needed, the file's own line ending); a file with nothing to
    escape is left byte for byte as it was. Returns whether the file changed.
    """
    path = Path(path)
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    ending = "\r\n" if "\r\n" in text.split("\n", 1)[0] + "\n" else "\n"
    rows, changed = neutralise_rows(csv.reader(io.StringIO(text, newline="")))
    if not changed:
        return False
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator=ending).writerows(rows)
    write_replacing(path, (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode())
    return True


def neutralise_csv_files(folder: str | Path, subfolder: str) -> list[str]:
    """Every file under ``folder/subfolder``, its CSV files neutralised in place
    (:func:`neutralise_csv_file`); returns their paths relative to ``folder``, sorted."""
    root = Path(folder)
    files = sorted(p for p in (root / subfolder).rglob("*") if p.is_file())
    for path in files:
        if path.suffix.lower() == ".csv":
            neutralise_csv_file(path)
    return sorted(p.relative_to(root).as_posix() for p in files)
