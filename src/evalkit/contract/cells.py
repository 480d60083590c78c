"""Checking a table's cells against the codebook, vectorized over the distinct cell texts: empty
markers, numbers, codes, flags and missing columns.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.problems import (
    Problem,
    shown_value,
)

#: What a flag cell must hold, as messages say it (the codebook's 0/1 with its Chinese labels).
FLAG_EXPECTED = "0 or 1 (否/是)"

EMPTY_MARKERS: frozenset[str] = frozenset(
    {"", "na", "n/a", "nan", "none", "null", "-", "无", "空"}
)

FLAG_VALUES: dict[str, int] = {
    "0": 0, "1": 1, "no": 0, "yes": 1, "n": 0, "y": 1, "false": 0, "true": 1,
    "否": 0, "是": 1, "无": 0, "有": 1,
}



# --------------------------------------------------------------------------------------
# column parsers: vectorized over a column, returning values and a mask of bad cells
# --------------------------------------------------------------------------------------
# Results of the element-wise parsers by cell text, per parser, kept for the life of the
# process: the same few texts ("0", "1", "是", household sizes) recur in every column and
# every county a worker checks, and pandas' string methods cost about a millisecond per call
# however few the values. Bounded: a parser's table is emptied past _MEMO_LIMIT texts.
_MEMO: dict[object, tuple[np.dtype, dict[str, object]]] = {}
_MEMO_LIMIT = 200_000


def by_unique(values: pd.Series, compute: Callable[[pd.Series], pd.Series],
              memo: object = None) -> pd.Series:
    """``compute(values)``, evaluated once per distinct cell text and spread back.

    The same result as ``compute(values)`` for an element-wise ``compute``, at a fraction
    of the cost: a survey column holds a few distinct texts (codes, flags, sizes) among
    thousands of cells, and pandas' string methods loop over every cell in Python. With a
    hashable ``memo`` naming ``compute`` (the same name must always mean the same
    function), texts already seen in this process are not computed again.
    """
    codes, uniques = pd.factorize(values.to_numpy(dtype=object), use_na_sentinel=True)
    if len(uniques) == len(values) or (codes < 0).any():
        return compute(values)
    if memo is None or not all(type(u) is str for u in uniques):
        result = compute(pd.Series(uniques, dtype=object)).to_numpy()
    else:
        dtype, known = _MEMO.get(memo, (None, {}))
        new = [u for u in uniques if u not in known]
        if new:
            computed = compute(pd.Series(new, dtype=object)).to_numpy()
            if len(known) + len(new) > _MEMO_LIMIT:
                known = {}
            # the memo's dtype must hold every value it keeps: a flag text once computed to
            # NaN (float), a new one later to 0/1 (int), must leave the memo float
            dtype = (computed.dtype if dtype is None or not known
                     else np.result_type(dtype, computed.dtype))
            known.update(zip(new, computed.tolist(), strict=True))
            _MEMO[memo] = (dtype, known)
        result = np.array([known[u] for u in uniques], dtype=dtype)
    return pd.Series(result[codes], index=values.index, name=values.name)


def is_empty(text: pd.Series) -> pd.Series:
    return by_unique(text, lambda s: s.str.lower().isin(EMPTY_MARKERS), memo="empty")


def parse_numbers(text: pd.Series, percent: bool = False) -> pd.Series:
    return by_unique(text, lambda s: parse_numbers_each(s, percent), memo=("number", percent))


def parse_numbers_each(text: pd.Series, percent: bool) -> pd.Series:
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


def normal_code(text: pd.Series) -> pd.Series:
    return text.str.lower().str.replace(r"[\s_\-]", "", regex=True)


def code_lookup(codes: dict[str, tuple[str, ...]]) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for code, labels in codes.items():
        for key in (code, *labels):
            lookup[re.sub(r"[\s_\-]", "", key.lower())] = code
    return lookup


def describe_codes(codes: dict[str, tuple[str, ...]]) -> str:
    return "one of " + ", ".join(f"{c} ({'/'.join(labels)})" for c, labels in codes.items())


class Checker:
    """Collects problems for one table, column by column."""

    def __init__(self, label: str, data: pd.DataFrame, problems: list[Problem],
                 headers: dict[str, str] | None = None) -> None:
        self.label = label
        self.data = data
        self.problems = problems
        self.out: dict[str, pd.Series] = {}
        #: headers as written in the file (:attr:`evalkit.contract.reading.Table.headers`)
        self.headers = dict(headers or {})

    def column_text(self, column: str) -> str:
        """The column as a message names it: the header as written in the user's file, with
        the codebook name beside it when they differ (``报销比例 (reimbursement_share)``)."""
        written = self.headers.get(column)
        return f"{written} ({column})" if written else column

    def report(self, column: str, mask: pd.Series, expected: str,
               values: pd.Series | None = None) -> None:
        source = self.data[column] if values is None else values
        shown = self.column_text(column)
        for row in mask.index[mask.to_numpy(dtype=bool)]:
            self.problems.append(Problem(self.label, int(row), shown,
                                         shown_value(source.loc[row]), expected))

    def text(self, column: str) -> None:
        values = self.data[column]
        self.report(column, is_empty(values), "a value (this cell is empty)")
        self.out[column] = by_unique(values, lambda s: s.astype("string").astype(object),
                                     memo="text")

    def code(self, column: str, codes: dict[str, tuple[str, ...]]) -> None:
        values = self.data[column]
        lookup = code_lookup(codes)
        mapped = by_unique(values, lambda s: normal_code(s).map(lookup),
                           memo=("code", tuple(lookup.items())))
        self.report(column, mapped.isna(), describe_codes(codes))
        self.out[column] = mapped

    def integer(self, column: str, minimum: int, maximum: int | None = None) -> None:
        values = self.data[column]
        number = parse_numbers(values)
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
        empty = is_empty(values)
        number = parse_numbers(values, percent=percent)
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
        mapped = by_unique(values, flag_each, memo="flag")
        self.report(column, mapped.isna(), FLAG_EXPECTED)
        self.out[column] = mapped


def flag_each(values: pd.Series) -> pd.Series:
    """A flag cell's 0/1 (否/是, yes/no, 0/1, 1.0), NaN when it is none of them."""
    mapped = values.str.lower().map(FLAG_VALUES)
    numeric = parse_numbers_each(values, False)
    return mapped.fillna(numeric.where(numeric.isin([0.0, 1.0])))


def closest_header(name: str, unknown: Sequence[str], cutoff: float = 0.75
                   ) -> tuple[str, str] | None:
    """The header among ``unknown`` most like the codebook column ``name`` or one of its
    Chinese headers (:data:`evalkit.contract.schema.COLUMN_ALIASES`), with the spelling it
    resembles: a misspelt 产业扶助 gives ``("产业扶助", "产业扶持")`` as a misspelt
    houshold_size gives ``("houshold_size", "household_size")``; None when none is at least
    ``cutoff`` alike (difflib's ratio).

    >>> closest_header("industry_support", ["产业扶助", "备注"])
    ('产业扶助', '产业扶持')
    """
    spellings = (name, *schema.COLUMN_ALIASES.get(name, ()))
    best: tuple[str, str] | None = None
    score = cutoff
    for header in unknown:
        for spelling in spellings:
            ratio = difflib.SequenceMatcher(None, header.lower(), spelling.lower()).ratio()
            if ratio >= score and (best is None or ratio > score):
                best, score = (header, spelling), ratio
    return best


def missing_columns(label: str, columns: pd.Index, required: dict[str, str],
                     problems: list[Problem]) -> bool:
    """Report each required column missing from ``columns``, with a did-you-mean in the
    alphabet of the header found (a Chinese header's suggestion is the codebook's Chinese
    header, with the codebook name beside it)."""
    missing = [c for c in required if c not in columns]
    unknown = [str(c) for c in columns if c not in required]
    for c in missing:
        close = closest_header(c, unknown)
        hint = ""
        if close is not None:
            found, spelling = close
            meant = c if spelling == c else f"{spelling} ({c})"
            hint = f" (found '{found}': did you mean {meant}?)"
        problems.append(Problem(label, 1, c, None,
                                f"a column named {c} ({required[c]}) in the header row{hint}"))
    return bool(missing)
