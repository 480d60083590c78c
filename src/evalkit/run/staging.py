"""Where a province's county inputs live while a task runs: private, short-lived, and free of
the columns that identify people.

* :func:`without_identifiers`: the client removes the identifying columns (names, ID numbers,
  phones: :data:`evalkit.contract.schema.IDENTIFYING_COLUMNS`, Chinese headers included)
  from a survey file before it is shipped, so no worker ever receives them. The reader
  drops them anyway; a file without them is shipped byte for byte.
* :func:`staging_root`: a private folder of the client (``tempfile.mkdtemp``: mode 0700,
  an unpredictable name, created without following a link) that an embedded LocalCluster's
  tasks stage in, removed when the run ends however it ends (success, failure, Ctrl-C,
  SIGTERM), after the workers are stopped.
* :func:`task_folder`: a task's own private folder (``mkdtemp`` again) in the staging root
  when the task runs on the client's machine, else in the Dask worker's local directory
  (which the worker removes when it closes), removed when the task ends.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from evalkit.contract.errors import EvalkitError

STAGING_PREFIX = "evalkit-province-"
TASK_PREFIX = "evalkit-county-"


def _identifying(header: list[str]) -> list[int]:
    """Positions of the header's identifying columns, as the survey reader names them."""
    from evalkit.contract.reading import COLUMN_ALIAS_LOOKUP, IDENTIFYING

    names = [str(h).replace("\ufeff", "").strip() for h in header]
    return [i for i, h in enumerate(names)
            if COLUMN_ALIAS_LOOKUP.get(h, h.lower()) in IDENTIFYING]


def without_identifiers(name: str, data: bytes) -> tuple[bytes, list[str]]:
    """``data`` (a CSV, XLSX or Parquet file called ``name``) without its identifying columns,
    and the names of the columns removed; unchanged bytes when there are none.

    A CSV keeps its encoding (UTF-8 with or without BOM, GB18030), delimiter and line
    ending; an XLSX keeps its first sheet only (the one evalkit reads), as values; a Parquet
    file keeps its other columns. A file that cannot be read raises :class:`EvalkitError`
    (one line): it is not shipped.

    >>> without_identifiers("survey.csv", "village,name,phone\\nV1,Li,100\\n".encode())
    (b'village\\nV1\\n', ['name', 'phone'])
    """
    from evalkit.contract.reading import EXCEL_SUFFIXES, PARQUET_SUFFIXES

    suffix = Path(name).suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _xlsx_without(name, data)
    if suffix in PARQUET_SUFFIXES:
        return _parquet_without(name, data)
    return _csv_without(name, data)


def _csv_without(name: str, data: bytes) -> tuple[bytes, list[str]]:
    bom = data.startswith(b"\xef\xbb\xbf")
    for encoding in ("utf-8-sig", "gb18030"):  # as evalkit.contract.reading.decode_bytes
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise EvalkitError(f"{name}: expected text encoded as UTF-8 or GBK/GB18030")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    ending = "\r\n" if first_line.endswith("\r") else "\n"
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise EvalkitError(f"{name}: expected a well-formed CSV file ({exc})") from None
    drop = set(_identifying(rows[0])) if rows else set()
    if not drop:
        return data, []
    removed = [rows[0][i].replace("\ufeff", "").strip() for i in sorted(drop)]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=ending)
    writer.writerows([c for i, c in enumerate(row) if i not in drop] for row in rows)
    out = buffer.getvalue()
    if encoding == "utf-8-sig":
        return (b"\xef\xbb\xbf" if bom else b"") + out.encode(), removed
    return out.encode(encoding), removed


def _xlsx_without(name: str, data: bytes) -> tuple[bytes, list[str]]:
    import openpyxl

    try:
        # Values, not formulas: openpyxl keeps no cached result of a formula it saves.
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for damaged files
        raise EvalkitError(f"{name}: expected a readable XLSX workbook "
                           f"({type(exc).__name__})") from None
    sheet = workbook.worksheets[0]
    header = [c.value for c in next(sheet.iter_rows(min_row=sheet.min_row,
                                                    max_row=sheet.min_row))]
    drop = _identifying(["" if h is None else str(h) for h in header])
    others = workbook.worksheets[1:]
    if not drop and not others:
        return data, []
    removed = [str(header[i]).strip() for i in drop]
    for other in others:  # evalkit reads the first sheet only: the others are not shipped
        workbook.remove(other)
    for i in sorted(drop, reverse=True):
        sheet.delete_cols(sheet.min_column + i)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), removed


def _parquet_without(name: str, data: bytes) -> tuple[bytes, list[str]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise EvalkitError(f"{name}: expected a readable Parquet file "
                           f"({type(exc).__name__})") from None
    drop = _identifying([str(c) for c in table.column_names])
    if not drop:
        return data, []
    removed = [table.column_names[i] for i in drop]
    buffer = io.BytesIO()
    pq.write_table(table.drop_columns(removed), buffer)
    return buffer.getvalue(), removed


@contextlib.contextmanager
def staging_root() -> Iterator[Path]:
    """A private folder (mode 0700, unpredictable name) removed when the block ends, on
    success, error, Ctrl-C or SIGTERM alike; stop signals wait while it is removed."""
    root = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
    try:
        yield root
    except BaseException:  # a stop or a failure: a task may still be writing
        remove_until_gone(root)
        raise
    remove_quietly(root)


#: How long :func:`remove_until_gone` watches a removed folder for a late writer.
GONE_GRACE_SECONDS = 3.0


def remove_until_gone(folder: Path, grace: float = GONE_GRACE_SECONDS) -> None:
    """:func:`remove_quietly`, then again whenever ``folder`` reappears within ``grace``
    seconds. A worker the cluster could not stop in time under load (its task still
    running after a stop signal) can recreate a removed task folder by writing its outputs
    with ``mkdir(parents=True)``; it dies with this process, but what it wrote must not
    outlive the run. Seen once in four full test runs on a loaded machine."""
    import time

    remove_quietly(folder)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if os.path.lexists(folder):
            remove_quietly(folder)


def remove_quietly(folder: Path) -> None:
    """Remove ``folder`` with SIGINT and SIGTERM held back (a second Ctrl-C must not leave
    half a folder of microdata behind); a folder already gone is fine."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    except (AttributeError, ValueError, OSError):  # not on this platform
        previous = None
    try:
        shutil.rmtree(folder, ignore_errors=True)
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _private_folder(path: str | None) -> Path | None:
    """``path`` when it is a real folder (not a link) of this user, readable by nobody else."""
    if not path:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
            or info.st_mode & 0o077):
        return None
    return Path(path)


def _worker_directory() -> str | None:
    with contextlib.suppress(Exception):  # not running in a Dask worker
        from distributed import get_worker

        return str(get_worker().local_directory)
    return None


@contextlib.contextmanager
def task_folder(root: str | None) -> Iterator[Path]:
    """A task's private folder (``mkdtemp``, 0700): in ``root`` (the client's staging root)
    when the task runs on the client's machine, else in the Dask worker's local directory
    (removed by the worker when it closes), else in the system's temporary folder. Removed
    when the block ends."""
    parent = _private_folder(root) or _worker_directory()
    folder = Path(tempfile.mkdtemp(prefix=TASK_PREFIX, dir=parent))
    try:
        yield folder
    finally:
        remove_quietly(folder)


def carry_over(source: Path, target: Path) -> None:
    """Put the files of a finished county folder ``source`` at ``target`` as hard links (a
    copy where links cannot be made), never following a symbolic link: a rerun's new
    province folder holds its unchanged counties without copying them."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst, follow_symlinks=False)
        except OSError:
            shutil.copy2(src, dst, follow_symlinks=False)

    def links(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if os.path.islink(os.path.join(folder, n))]

    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, target, ignore=links, copy_function=link)
