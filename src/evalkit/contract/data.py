"""The data contract: load, validate and prepare the sampling frame and the household survey.

Two tables (documented column by column in ``docs/codebook.md``; names and codes live in
:mod:`evalkit.contract.schema`):

* the **frame**, one row per village: township, village, village type and the numbers of
  households and people by household type (exited, not yet exited, non-registered);
* the **survey**, one row per sampled household.

Files may be CSV (UTF-8 with or without BOM, or GBK/GB18030 as Excel writes it in China),
XLSX or Parquet. Validation reports every problem at once; each names the file, the row as a
spreadsheet user sees it (the header is row 1, the first household row 2), the column, the
value and what was expected. No row is ever dropped silently: a row with a problem stops the
load, it is never skipped.

Privacy rule: columns that identify people (:data:`evalkit.contract.schema.IDENTIFYING_COLUMNS`:
names, ID numbers, phones) are dropped as soon as the header is read, before any value is
looked at, so their values can appear in no message, table or report. As a second guard,
any value that looks like an ID number or a phone number (:mod:`evalkit.contract.privacy`, the one
rule) is masked whenever a message would echo it.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.errors import EvalkitError, ProblemsError
from evalkit.contract.privacy import mask_identifiers

#: Reimbursement share that registered poor households get (the county reports "above 90%").
#: ``reimbursement_gap = max(0, REIMBURSEMENT_REFERENCE - reimbursement_share)``.
REIMBURSEMENT_REFERENCE = 0.9

#: Cells read as "no value" (for reimbursement_share this means "no hospital stay").
EMPTY_MARKERS: frozenset[str] = frozenset(
    {"", "na", "n/a", "nan", "none", "null", "-", "无", "空"}
)

FLAG_VALUES: dict[str, int] = {
    "0": 0, "1": 1, "no": 0, "yes": 1, "n": 0, "y": 1, "false": 0, "true": 1,
    "否": 0, "是": 1, "无": 0, "有": 1,
}

#: Larger households are almost surely typing errors (an ID or phone in the wrong column).
MAX_HOUSEHOLD_SIZE = 30

FLAG_COLUMNS: tuple[str, ...] = ("dibao", "industry_support", "microcredit", "public_welfare_job")
COUNT_COLUMNS: tuple[str, ...] = (
    "hh_exited", "people_exited", "hh_not_exited", "people_not_exited",
    "hh_nonregistered", "people_nonregistered",
)

_IDENTIFYING = frozenset(c.strip().lower() for c in schema.IDENTIFYING_COLUMNS)
_ALIASES: dict[str, str] = {alias: column for column, aliases in schema.COLUMN_ALIASES.items()
                            for alias in aliases}
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_PARQUET_SUFFIXES = (".parquet", ".pq")


# --------------------------------------------------------------------------------------
# problems and reports
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the spreadsheet row (header = row 1, first data row = 2), or ``None`` for a
    problem with the whole file; ``column`` is ``None`` for a problem with a whole row or
    file; ``value`` is the offending cell as text (masked if it looks like an ID number or
    a phone number), or ``None``.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        text = ", ".join(where)
        if self.value is not None:
            text += f": value {self.value!r}"
        return f"{text}: expected {self.expected}"


@dataclass
class ValidationReport:
    """All problems found in one file (and in the frame it was checked against)."""

    file: str
    kind: str | None
    n_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    dropped_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """First line: ``FILE: N problems`` (or ``FILE: OK ...``); then one line per problem."""
        if self.ok:
            line = f"{self.file}: OK ({self.kind}, {self.n_rows} rows"
            if self.dropped_columns:
                line += f"; identifying columns dropped: {', '.join(self.dropped_columns)}"
            return line + ")"
        n = len(self.problems)
        head = f"{self.file}: {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


def _by_row(problems: list[Problem]) -> list[Problem]:
    """File-level problems first, then row by row (stable: column order within a row)."""
    return sorted(problems, key=lambda p: 0 if p.row is None else p.row)


def _raise_if_problems(report: ValidationReport) -> None:
    if not report.ok:
        err = ProblemsError(report.summary())
        err.report = report  # type: ignore[attr-defined]
        raise err


def _shown(value: Any) -> str:
    """The cell as a message may show it: ID- and phone-like digits masked, long text cut."""
    text = "" if value is None else str(value)
    text = mask_identifiers(text)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------
# reading files
# --------------------------------------------------------------------------------------
def _cell_text(x: Any) -> str:
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


def _decode(raw: bytes) -> str | None:
    """UTF-8 (BOM optional) first; GB18030, a superset of GBK, is what Excel in China writes."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _read_csv_rows(path: Path, label: str, problems: list[Problem]) -> list[list[str]] | None:
    text = _decode(path.read_bytes())
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


def _read_rows(path: Path, label: str, problems: list[Problem]
               ) -> tuple[list[list[str]], list[str]] | None:
    """The file as a list of rows of text cells, header first, and the names of identifying
    columns already dropped while reading; None after a problem."""
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
    if suffix in _EXCEL_SUFFIXES:
        try:
            table = pd.read_excel(path, sheet_name=0, header=None, dtype=object,
                                  engine="openpyxl")
        except Exception as exc:  # openpyxl raises many types for damaged workbooks
            problems.append(Problem(label, None, None, None,
                                    f"a readable XLSX workbook ({type(exc).__name__})"))
            return None
        return [[_cell_text(x) for x in row] for row in table.itertuples(index=False)], []
    if suffix in _PARQUET_SUFFIXES:
        try:
            table = pd.read_parquet(path, engine="pyarrow")
        except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
            problems.append(Problem(label, None, None, None,
                                    f"a readable Parquet file ({type(exc).__name__})"))
            return None
        # Identifying columns go before any of their cells is turned into text; their
        # names are reported as dropped, as for CSV and XLSX.
        header = [str(c) for c in table.columns]
        drop = [i for i, c in enumerate(header) if c.strip().lower() in _IDENTIFYING]
        keep = [i for i in range(len(header)) if i not in drop]
        body = [[_cell_text(row[i]) for i in keep]
                for row in table.itertuples(index=False, name=None)]
        return [[header[i] for i in keep], *body], [header[i].strip() for i in drop]
    rows = _read_csv_rows(path, label, problems)
    return None if rows is None else (rows, [])


@dataclass
class _Table:
    """A file's cells as text, identifying columns already gone."""

    data: pd.DataFrame  # all cells str, stripped; index = spreadsheet row number
    dropped: list[str]


def _read_table(path: Path, label: str, problems: list[Problem]) -> _Table | None:
    read = _read_rows(path, label, problems)
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
    names = [_ALIASES.get(h, h.lower()) for h in header]
    dropped = dropped_at_read + [header[i] for i, n in enumerate(names) if n in _IDENTIFYING]
    keep = [i for i, n in enumerate(names) if n not in _IDENTIFYING]
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
    return _Table(frame.loc[~blank], dropped)


# --------------------------------------------------------------------------------------
# column parsers: vectorized over a column, returning values and a mask of bad cells
# --------------------------------------------------------------------------------------
def _by_unique(values: pd.Series, compute: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``compute(values)``, evaluated once per distinct cell text and spread back.

    The same result as ``compute(values)`` for an element-wise ``compute``, at a fraction
    of the cost: a survey column holds a few distinct texts (codes, flags, sizes) among
    thousands of cells, and pandas' string methods loop over every cell in Python.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    if len(uniques) == len(values) or (codes < 0).any():
        return compute(values)
    result = compute(pd.Series(uniques, dtype=object))
    return pd.Series(result.to_numpy()[codes], index=values.index, name=values.name)


def _is_empty(text: pd.Series) -> pd.Series:
    return _by_unique(text, lambda s: s.str.lower().isin(EMPTY_MARKERS))


def _numbers(text: pd.Series, percent: bool = False) -> pd.Series:
    return _by_unique(text, lambda s: _numbers_each(s, percent))


def _numbers_each(text: pd.Series, percent: bool) -> pd.Series:
    try:
        joined = "".join(text.tolist())
    except TypeError:  # not all text: take the general path
        joined = ",，％"
    cleaned = text
    if any(mark in joined for mark in (",", "，", "％")):  # else the replaces change nothing
        cleaned = (text.str.replace(",", "", regex=False).str.replace("，", "", regex=False)
                   .str.replace("％", "%", regex=False))
    if percent:
        is_pct = cleaned.str.endswith("%")
        values = pd.to_numeric(cleaned.str.rstrip("%"), errors="coerce").astype(float)
        return values.where(~is_pct, values / 100.0)
    return pd.to_numeric(cleaned, errors="coerce").astype(float)


def _normal_code(text: pd.Series) -> pd.Series:
    return text.str.lower().str.replace(r"[\s_\-]", "", regex=True)


def _code_lookup(codes: dict[str, tuple[str, ...]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, labels in codes.items():
        for key in (code, *labels):
            lookup[re.sub(r"[\s_\-]", "", key.lower())] = code
    return lookup


def _describe_codes(codes: dict[str, tuple[str, ...]]) -> str:
    return "one of " + ", ".join(f"{c} ({'/'.join(labels)})" for c, labels in codes.items())


class _Checker:
    """Collects problems for one table, column by column."""

    def __init__(self, label: str, data: pd.DataFrame, problems: list[Problem]) -> None:
        self.label = label
        self.data = data
        self.problems = problems
        self.out: dict[str, pd.Series] = {}

    def report(self, column: str, mask: pd.Series, expected: str,
               values: pd.Series | None = None) -> None:
        source = self.data[column] if values is None else values
        for row in mask.index[mask.to_numpy(dtype=bool)]:
            self.problems.append(Problem(self.label, int(row), column,
                                         _shown(source.loc[row]), expected))

    def text(self, column: str) -> None:
        values = self.data[column]
        self.report(column, _is_empty(values), "a value (this cell is empty)")
        self.out[column] = _by_unique(values, lambda s: s.astype("string").astype(object))

    def code(self, column: str, codes: dict[str, tuple[str, ...]]) -> None:
        values = self.data[column]
        lookup = _code_lookup(codes)
        mapped = _by_unique(values, lambda s: _normal_code(s).map(lookup))
        self.report(column, mapped.isna(), _describe_codes(codes))
        self.out[column] = mapped

    def integer(self, column: str, minimum: int, maximum: int | None = None) -> None:
        values = self.data[column]
        number = _numbers(values)
        bad = number.isna() | (number != np.floor(number)) | (number < minimum)
        if maximum is None:
            self.report(column, bad, f"a whole number >= {minimum}")
        else:
            bad |= number > maximum
            self.report(column, bad, f"a whole number from {minimum} to {maximum}")
        self.out[column] = number.where(~bad)

    def number(self, column: str, *, minimum: float, strict: bool = False,
               maximum: float | None = None, optional: bool = False,
               percent: bool = False, expected: str | None = None) -> None:
        values = self.data[column]
        empty = _is_empty(values)
        number = _numbers(values, percent=percent)
        bad = number.isna() | ~np.isfinite(number.fillna(0.0))
        bad |= (number <= minimum) if strict else (number < minimum)
        if maximum is not None:
            bad |= number > maximum
        if optional:
            bad &= ~empty
        if expected is None:
            expected = f"a number {'>' if strict else '>='} {minimum:g}"
            if maximum is not None:
                expected += f" and <= {maximum:g}"
        self.report(column, bad, expected)
        self.out[column] = number.where(~bad & ~empty)

    def flag(self, column: str) -> None:
        values = self.data[column]
        mapped = _by_unique(values, _flag_each)
        self.report(column, mapped.isna(), "0 or 1 (否/是)")
        self.out[column] = mapped


def _flag_each(values: pd.Series) -> pd.Series:
    """A flag cell's 0/1 (否/是, yes/no, 0/1, 1.0), NaN when it is none of them."""
    mapped = values.str.lower().map(FLAG_VALUES)
    numeric = _numbers_each(values, False)
    return mapped.fillna(numeric.where(numeric.isin([0.0, 1.0])))


def _missing_columns(label: str, columns: pd.Index, required: dict[str, str],
                     problems: list[Problem]) -> bool:
    missing = [c for c in required if c not in columns]
    unknown = [str(c) for c in columns if c not in required]
    for c in missing:
        close = difflib.get_close_matches(c, unknown, n=1, cutoff=0.75)
        hint = f" (found '{close[0]}': did you mean {c}?)" if close else ""
        problems.append(Problem(label, 1, c, None,
                                f"a column named {c} ({required[c]}) in the header row{hint}"))
    return bool(missing)


# --------------------------------------------------------------------------------------
# the frame
# --------------------------------------------------------------------------------------
def _check_frame(table: _Table, label: str, problems: list[Problem]) -> pd.DataFrame | None:
    data = table.data
    if _missing_columns(label, data.columns, schema.FRAME_COLUMNS, problems):
        return None
    n_before = len(problems)
    ck = _Checker(label, data, problems)
    ck.text("township")
    ck.text("village")
    ck.code("village_type", schema.VILLAGE_TYPES)
    for c in COUNT_COLUMNS:
        ck.integer(c, 0)
    out = ck.out
    village = out["village"]
    dup = village.duplicated(keep="first") & ~_is_empty(data["village"])
    first = village.reset_index().drop_duplicates("village").set_index("village")["index"]
    for row in dup.index[dup.to_numpy()]:
        problems.append(Problem(label, int(row), "village", _shown(village.loc[row]),
                                f"each village once (also in row {first[village.loc[row]]})"))
    for kind in ("exited", "not_exited", "nonregistered"):
        hh, people = out[f"hh_{kind}"], out[f"people_{kind}"]
        ck.report(f"people_{kind}", people < hh,
                  f"at least hh_{kind} people (one person or more per household)")
        ck.report(f"people_{kind}", (hh == 0) & (people > 0),
                  f"0 people when hh_{kind} is 0")
    total = sum(out[f"hh_{k}"] for k in ("exited", "not_exited", "nonregistered"))
    ck.report("hh_nonregistered", total == 0,
              "at least one household in the village (all household counts are 0)")
    if len(problems) > n_before:
        return None
    frame = pd.DataFrame({c: out[c] for c in schema.FRAME_COLUMNS})
    for c in COUNT_COLUMNS:
        frame[c] = frame[c].astype("int64")
    for c in ("township", "village", "village_type"):
        frame[c] = frame[c].astype(str)
    frame["hh_registered"] = frame["hh_exited"] + frame["hh_not_exited"]
    frame["people_registered"] = frame["people_exited"] + frame["people_not_exited"]
    frame["hh_total"] = frame["hh_registered"] + frame["hh_nonregistered"]
    frame["people_total"] = frame["people_registered"] + frame["people_nonregistered"]
    extras = [c for c in data.columns if c not in frame.columns]
    for c in extras:
        frame[c] = data[c]
    return frame.reset_index(drop=True)


def _read(path: Path) -> tuple[_Table | None, list[Problem]]:
    """A file's table (None after a problem) and the problems found reading it."""
    problems: list[Problem] = []
    return _read_table(path, path.name, problems), problems


def _frame_report(path: Path, read: tuple[_Table | None, list[Problem]] | None = None
                  ) -> tuple[ValidationReport, pd.DataFrame | None]:
    """Validate a frame file; ``read`` is the file as :func:`_read` already gave it."""
    label = path.name
    table, problems = read if read is not None else _read(path)
    frame = _check_frame(table, label, problems) if table is not None else None
    report = ValidationReport(label, "frame", 0 if table is None else len(table.data),
                              _by_row(problems), [] if table is None else table.dropped)
    if frame is not None:
        frame.attrs["source"] = label
    return report, frame


def load_frame(path: str | Path) -> pd.DataFrame:
    """Load and validate a sampling frame (one row per village).

    Returns the frame with codes in English (``village_type`` poor/nonpoor), counts as
    int64, and the totals of :data:`evalkit.contract.schema.FRAME_DERIVED` added. Raises
    :class:`EvalkitError` listing every problem (first line ``frame.csv: N problems``).
    """
    report, frame = _frame_report(Path(path))
    _raise_if_problems(report)
    assert frame is not None
    return frame


# --------------------------------------------------------------------------------------
# the survey
# --------------------------------------------------------------------------------------
def prepare_survey(survey: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns of :data:`evalkit.contract.schema.DERIVED_COLUMNS` to a coded survey.

    ``reimbursement_gap = max(0, 0.9 - reimbursement_share)``, 0 when the household had no
    hospital stay (the shortfall from the 90% that registered poor households get; a
    household without a stay had nothing to be short of). ``log_income = ln(income_per_head
    + 1)`` (the +1 keeps zero incomes finite).
    """
    out = survey.copy()
    htype = out["household_type"]
    out["registered"] = htype.isin(["exited", "not_exited"]).astype("int64")
    out["nonpoor"] = (htype == "nonregistered").astype("int64")
    out["exited"] = (htype == "exited").astype("int64")
    out["recognizes"] = out["recognition"].isin(
        ["satisfied", "basically_satisfied"]).astype("int64")
    out["water_at_door"] = (out["water_access"] == "at_door").astype("int64")
    out["water_none"] = (out["water_access"] == "none").astype("int64")
    share = out["reimbursement_share"].astype(float)
    out["has_hospital_stay"] = share.notna().astype("int64")
    out["reimbursement_gap"] = (REIMBURSEMENT_REFERENCE - share).clip(lower=0.0).fillna(0.0)
    out["log_income"] = np.log1p(out["income_per_head"].astype(float))
    return out


def _response_prepass(data: pd.DataFrame, label: str, problems: list) -> pd.DataFrame:
    """Check ``responded`` and ``replaces`` of a raw survey table and ready it for the checks.

    ``data`` is the survey as read (text cells, index = spreadsheet row). ``responded`` is a
    0/1 flag (1 = interviewed). ``replaces`` names, in a reserve household's row, the
    ``household_id`` of the sampled household it replaced: that household must be a row of
    the same file, of the same village and household type, not responded (its ``responded``
    is 0, or 0 is implied when the file has no ``responded`` column), and replaced once.
    A reserve row may leave its weight and probabilities empty: it takes those of the
    household it replaced (same village and group, same inclusion probability).
    Non-respondents' answer cells are not checked (they are usually empty). Problems are
    appended to ``problems`` one per cell; returns the table the usual checks then read,
    with a ``responded`` column of "0"/"1".
    """
    out = data.copy()
    ids = out["household_id"].astype(str).str.strip()
    row_of = pd.Series(out.index, index=ids.to_numpy())
    row_of = row_of[~row_of.index.duplicated(keep="first")]
    if "responded" in out.columns:
        raw = out["responded"].astype(str).str.strip()
        flag = raw.str.lower().map(FLAG_VALUES)
        numeric = _numbers(raw)
        flag = flag.fillna(numeric.where(numeric.isin([0.0, 1.0])))
        for row in flag.index[flag.isna().to_numpy()]:
            problems.append(Problem(
                label, int(row), "responded", _shown(raw.loc[row]),
                "0 or 1 (否/是): 1 if the household was interviewed, 0 if it was sampled "
                "but not interviewed"))
    else:
        flag = pd.Series(1.0, index=out.index)
    if "replaces" in out.columns:
        target = out["replaces"].astype(str).str.strip()
        named = ~_is_empty(target)
        given_flag = "responded" in out.columns
        replaced_rows = target[named].map(row_of)
        seen: dict[str, int] = {}
        htype = _normal_code(out["household_type"].astype(str)).map(
            _code_lookup(schema.HOUSEHOLD_TYPES))
        for row, value in target[named].items():  # reserve rows: a few per village
            other = replaced_rows.loc[row]
            shown = _shown(value)
            if pd.isna(other):
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    "the household_id of a sampled household in this file that this reserve "
                    "household replaced (add that household's row with responded 0)"))
                continue
            other = int(other)
            if value in seen:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"each sampled household replaced once (also in row {seen[value]})"))
                continue
            seen[value] = int(row)
            if other == row:
                problems.append(Problem(label, int(row), "replaces", shown,
                                                 "the id of another household"))
                continue
            if given_flag and flag.loc[other] == 1:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"a household that did not respond (row {other} has responded 1)"))
            if given_flag and flag.loc[row] == 0:
                problems.append(Problem(
                    label, int(row), "responded", _shown(out.at[row, "responded"]),
                    "1 for a reserve household (record only the reserve that was interviewed)"))
            same = (str(out.at[row, "village"]).strip() == str(out.at[other, "village"]).strip()
                    and htype.loc[row] == htype.loc[other])
            if not same:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"a household of the same village and household type (row {other} is "
                    f"{_shown(out.at[other, 'village'])}, "
                    f"{_shown(out.at[other, 'household_type'])})"))
            for column in schema.DESIGN_COLUMNS:
                if column in out.columns and not str(out.at[row, column]).strip():
                    out.at[row, column] = out.at[other, column]
            if not given_flag:
                flag.loc[other] = 0.0
    silent = (flag == 0).to_numpy()
    for column, stand_in in schema.PLACEHOLDERS.items():
        if column in out.columns:
            out.loc[silent, column] = stand_in
    out["responded"] = flag.map({0.0: "0", 1.0: "1"}).fillna("0")
    return out


def _check_survey(table: _Table, label: str, problems: list[Problem],
                  frame: pd.DataFrame | None) -> pd.DataFrame | None:
    data = table.data
    if _missing_columns(label, data.columns, schema.SURVEY_REQUIRED, problems):
        return None
    n_before = len(problems)
    if schema.has_response_information(data.columns):
        # responded / replaces: checked first; non-respondents' answers are not checked
        data = _response_prepass(data, label, problems)
    ck = _Checker(label, data, problems)
    for c in ("township", "village", "household_id"):
        ck.text(c)
    ck.code("household_type", schema.HOUSEHOLD_TYPES)
    if "responded" in data.columns:
        ck.flag("responded")
    ck.integer("household_size", 1, MAX_HOUSEHOLD_SIZE)
    ck.integer("people_wrongly_exited", 0)
    ck.integer("people_missed", 0)
    ck.code("recognition", schema.RECOGNITION_LEVELS)
    ck.code("water_access", schema.WATER_ACCESS)
    ck.number("reimbursement_share", minimum=0.0, maximum=1.0, optional=True, percent=True,
              expected="a share between 0 and 1 (0.7 or 70%, not 70), or empty if no stay")
    for c in FLAG_COLUMNS:
        ck.flag(c)
    ck.number("income_per_head", minimum=0.0, expected="a number of yuan >= 0")
    if "weight" in data.columns:
        ck.number("weight", minimum=0.0, strict=True, expected="a design weight > 0")
    for c in ("village_prob", "incl_prob"):
        if c in data.columns:
            ck.number(c, minimum=0.0, strict=True, maximum=1.0,
                      expected="a probability > 0 and <= 1")
    if "stratum" in data.columns:
        ck.text("stratum")
    out = ck.out

    size, htype = out["household_size"], out["household_type"]
    for c, kind, name in (("people_wrongly_exited", "exited", "exited"),
                          ("people_missed", "nonregistered", "non-registered")):
        over = out[c] > size
        for row in over.index[over.to_numpy()]:
            problems.append(Problem(label, int(row), c, _shown(data.at[row, c]),
                                    f"at most household_size ({int(size.loc[row])}) people"))
        wrong_type = (out[c] > 0) & htype.notna() & (htype != kind)
        ck.report(c, wrong_type, f"0 for households that are not {name}")

    hid = out["household_id"]
    dup = hid.duplicated(keep="first") & ~_is_empty(data["household_id"])
    if dup.any():
        first_row = pd.Series(hid.index, index=hid.index).groupby(hid.to_numpy()).transform("min")
        for row in dup.index[dup.to_numpy()]:
            problems.append(Problem(label, int(row), "household_id", _shown(hid.loc[row]),
                                    f"a household id used once (also in row "
                                    f"{int(first_row.loc[row])})"))

    if frame is not None:
        source = frame.attrs.get("source", "the frame")
        township_of = pd.Series(frame["township"].to_numpy(), index=frame["village"].to_numpy())
        known = out["village"].isin(township_of.index)
        unknown = ~known & ~_is_empty(data["village"])
        ck.report("village", unknown, f"a village listed in the frame ({source})")
        frame_township = out["village"].map(township_of)
        mismatch = known & (frame_township != out["township"]) & ~_is_empty(data["township"])
        for row in mismatch.index[mismatch.to_numpy()]:
            problems.append(Problem(label, int(row), "township", _shown(data.at[row, "township"]),
                                    f"{_shown(frame_township.loc[row])}, the township of "
                                    f"village {_shown(out['village'].loc[row])} in {source}"))

    if len(problems) > n_before:
        return None
    columns = [*schema.SURVEY_REQUIRED, *(c for c in schema.SURVEY_OPTIONAL if c in out)]
    survey = pd.DataFrame({c: out[c] for c in columns})
    for c in ("township", "village", "household_id", "household_type", "recognition",
              "water_access", *(["stratum"] if "stratum" in survey else [])):
        survey[c] = survey[c].astype(str)
    for c in ("household_size", "people_wrongly_exited", "people_missed", *FLAG_COLUMNS,
              *(["responded"] if "responded" in survey else [])):
        survey[c] = survey[c].astype("int64")
    for c in ("reimbursement_share", "income_per_head", "weight", "village_prob", "incl_prob"):
        if c in survey:
            survey[c] = survey[c].astype(float)
    derived = set(schema.DERIVED_COLUMNS)
    for c in data.columns:
        if c not in survey.columns and c not in derived:
            survey[c] = data[c]  # the user's own extra columns travel along, as text
    return prepare_survey(survey.reset_index(drop=True))


def _survey_report(path: Path, frame: pd.DataFrame | None,
                   read: tuple[_Table | None, list[Problem]] | None = None
                   ) -> tuple[ValidationReport, pd.DataFrame | None]:
    """Validate a survey file; ``read`` is the file as :func:`_read` already gave it."""
    label = path.name
    table, problems = read if read is not None else _read(path)
    survey = _check_survey(table, label, problems, frame) if table is not None else None
    report = ValidationReport(label, "survey", 0 if table is None else len(table.data),
                              _by_row(problems), [] if table is None else table.dropped)
    if survey is not None:
        survey.attrs["source"] = label
    return report, survey


def load_survey(path: str | Path, frame: pd.DataFrame | str | Path | None = None
                ) -> pd.DataFrame:
    """Load and validate a household survey file.

    Identifying columns are dropped before anything else; Chinese labels are mapped to the
    English codes of :mod:`evalkit.contract.schema`; the derived columns of
    :data:`evalkit.contract.schema.DERIVED_COLUMNS` are added (:func:`prepare_survey`). With a
    ``frame`` (a DataFrame from :func:`load_frame`, or a path to one) every village must be
    in the frame, in the same township. Raises :class:`EvalkitError` listing every problem.
    """
    return load_sample(path, frame)[0]


def load_sample(path: str | Path, frame: pd.DataFrame | str | Path | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The survey's respondents (as :func:`load_survey`) and its whole sample.

    The sample has one row per sampled household, respondents or not, and only the
    sample and design columns (:data:`evalkit.contract.schema.SAMPLE_COLUMNS`, weight,
    probabilities, stratum) with ``responded`` and ``replaces`` when the file has them
    (the optional columns of the codebook that mark non-response). A non-respondent's
    answers are never loaded: :func:`load_survey` returns the respondents only.
    """
    if frame is not None and not isinstance(frame, pd.DataFrame):
        frame = load_frame(frame)
    report, survey = _survey_report(Path(path), frame)
    _raise_if_problems(report)
    assert survey is not None
    keep = [c for c in (*schema.SAMPLE_COLUMNS, "weight", "stratum", "village_prob",
                        "incl_prob", "household_prob", "responded", "replaces")
            if c in survey.columns]
    sample = survey.loc[:, keep].copy()
    sample.attrs["source"] = survey.attrs.get("source", Path(path).name)
    if "responded" in survey.columns:
        survey = survey.loc[survey["responded"] == 1].reset_index(drop=True)
        survey.attrs["source"] = sample.attrs["source"]
    return survey, sample


# --------------------------------------------------------------------------------------
# validate a file of either kind
# --------------------------------------------------------------------------------------
_SURVEY_MARKERS = frozenset({"household_id", "household_type", "recognition", "household_size"})
_FRAME_MARKERS = frozenset({"village_type", "hh_exited", "hh_not_exited", "hh_nonregistered"})


def validate_file(path: str | Path, kind: str | None = None,
                  frame_path: str | Path | None = None) -> ValidationReport:
    """Check a frame or survey file and return every problem found.

    ``kind`` is ``"frame"`` or ``"survey"``; when None it is guessed from the header. With
    ``frame_path`` a survey's villages are checked against that frame, and the frame's own
    problems are included in the report.
    """
    path = Path(path)
    if kind not in (None, "frame", "survey"):
        raise EvalkitError(f"validate: kind {kind!r}: expected 'frame' or 'survey'")
    read: tuple[_Table | None, list[Problem]] | None = None
    if kind is None:
        # The header tells the kind; the table read for it is the one checked below.
        read = _read(path)
        table, probe = read
        if table is None:
            return ValidationReport(path.name, None, 0, probe)
        columns = set(table.data.columns)
        if columns & _SURVEY_MARKERS:
            kind = "survey"
        elif columns & _FRAME_MARKERS:
            kind = "frame"
        else:
            return ValidationReport(path.name, None, len(table.data), [Problem(
                path.name, 1, None, None,
                "the header of a frame (village_type, hh_exited, ...) or of a survey "
                "(household_id, household_type, ...)")], table.dropped)
    if kind == "frame":
        return _frame_report(path, read)[0]
    frame = None
    frame_problems: list[Problem] = []
    if frame_path is not None:
        frame_report, frame = _frame_report(Path(frame_path))
        frame_problems = frame_report.problems
    report = _survey_report(path, frame, read)[0]
    report.problems = frame_problems + report.problems
    return report


