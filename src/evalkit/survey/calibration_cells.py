"""Calibration cells: the cross-classification of a design's rows by the levels of some
columns, numbered in the order of the sorted tuples of levels, and population counts keyed by
the same tuples of level texts (:mod:`evalkit.survey.calibration`'s post-strata and raking
margins; Lumley 2010, chapter 7), and the model-matrix columns of a ``numeric:factor``
calibration term (:func:`interaction_columns`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError


def level_texts(series: pd.Series) -> np.ndarray:
    """Levels as text, integers without a trailing '.0' (so 1, 1.0 and '1' agree).

    Examples
    --------
    >>> import pandas as pd
    >>> level_texts(pd.Series([1.0, 2.0, 2.5])).tolist()
    ['1', '2', '2.5']
    """
    values = series.to_numpy()
    if pd.api.types.is_float_dtype(series):
        as_int = np.isfinite(values) & (values == np.round(values))
        return np.array([str(int(v)) if ok else str(v)
                         for v, ok in zip(values, as_int, strict=True)], dtype=object)
    return series.astype(str).to_numpy(dtype=object)


def level_text(value: object) -> str:
    """One level as text, as :func:`level_texts` writes it.

    Examples
    --------
    >>> level_text(1.0), level_text("1"), level_text(2.5)
    ('1', '1', '2.5')
    """
    if isinstance(value, float) and np.isfinite(value) and value == round(value):
        return str(int(value))
    return str(value)


def cross_classify(data: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Codes of the cross-classification of ``columns`` (sorted) and each code's levels.

    Each column is factorized on its distinct values and only those are turned into text
    (:func:`level_texts`), then the rows of per-column codes are numbered in lexicographic
    order: the order of the sorted tuples of levels, without a Python tuple per row.

    Examples
    --------
    >>> import pandas as pd
    >>> codes, labels = cross_classify(pd.DataFrame({"type": ["b", "a", "b"], "n": [1, 2, 1]}),
    ...                                ["type", "n"])
    >>> codes.tolist(), labels
    ([1, 0, 1], [('a', '2'), ('b', '1')])
    """
    codes_by_column, levels_by_column = [], []
    for name in columns:
        raw_codes, raw_uniques = pd.factorize(data[name], use_na_sentinel=False)
        texts = level_texts(pd.Series(raw_uniques, dtype=data[name].dtype)
                        if len(raw_uniques) else pd.Series([], dtype=object))
        label_codes, levels = pd.factorize(pd.Series(texts, dtype=object), sort=True)
        codes_by_column.append(label_codes[raw_codes])
        levels_by_column.append(list(levels))
    sizes = [max(1, len(levels)) for levels in levels_by_column]
    if math.prod(sizes) < 2**62 and all(codes.min(initial=0) >= 0
                                        for codes in codes_by_column):
        # One mixed-radix number per row orders the rows as their tuples of codes do, so
        # the cells are numbered as np.unique(axis=0) numbers them, without its row sort.
        key = np.zeros(len(data), dtype=np.int64)
        for codes, size in zip(codes_by_column, sizes, strict=True):
            key = key * size + codes
        if 0 < math.prod(sizes) <= 4 * len(key):  # dense: number the keys present
            present = np.bincount(key, minlength=math.prod(sizes)) > 0
            inverse = (np.cumsum(present) - 1)[key]
            cell_keys = np.flatnonzero(present)
        else:  # a sparse cross-classification: sort the row keys instead
            cell_keys, inverse = np.unique(key, return_inverse=True)
        rows = np.empty((cell_keys.size, len(sizes)), dtype=np.int64)
        rest = cell_keys.copy()
        for j in range(len(sizes) - 1, -1, -1):
            rows[:, j] = rest % sizes[j]
            rest //= sizes[j]
    else:
        rows, inverse = np.unique(np.column_stack(codes_by_column), axis=0,
                                  return_inverse=True)
    labels = [tuple(levels_by_column[j][code] for j, code in enumerate(row)) for row in rows]
    return np.asarray(inverse).reshape(-1).astype(np.int64), labels


def count_table(counts: Mapping | pd.Series | pd.DataFrame, columns: Sequence[str],
                 what: str) -> dict[tuple, float]:
    """Population counts keyed by tuples of level labels.

    Examples
    --------
    >>> count_table({"a": 600, "b": 400}, ["type"], "poststratify")
    {('a',): 600.0, ('b',): 400.0}
    >>> count_table({("a", 1): 5}, ["type", "n"], "rake")
    {('a', '1'): 5.0}
    """
    if isinstance(counts, pd.DataFrame):
        value_columns = [c for c in counts.columns if c not in columns]
        if len(value_columns) != 1 or any(c not in counts.columns for c in columns):
            raise EvalkitError(
                f"{what}: the counts table needs the columns {', '.join(columns)} and one "
                "count column"
            )
        items = [(tuple(row[:-1]), row[-1]) for row in
                 counts[[*columns, value_columns[0]]].itertuples(index=False, name=None)]
    elif isinstance(counts, pd.Series | Mapping):
        items = list(counts.items())
    else:
        raise EvalkitError(
            f"{what}: counts for {', '.join(columns)} must be a mapping {{level: count}}"
        )
    table: dict[tuple, float] = {}
    for key, value in items:
        parts = key if isinstance(key, tuple) else (key,)
        if len(parts) != len(columns):
            raise EvalkitError(
                f"{what}: count key {key!r} has {len(parts)} level(s); expected one per "
                f"column ({', '.join(columns)})"
            )
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not np.isfinite(number) or number < 0:
            raise EvalkitError(
                f"{what}: count for {key!r} is {value!r}; expected a number >= 0"
            )
        label = tuple(level_text(p) for p in parts)
        if label in table:
            raise EvalkitError(f"{what}: level {key!r} is given twice")
        table[label] = number
    return table


def interaction_columns(data: pd.DataFrame, term: str, terms: set[str], order: dict[str, int]
                 ) -> tuple[np.ndarray, list[str]]:
    """Columns of a ``numeric:factor`` term as R's ``model.matrix``: the numeric column
    times an indicator of each level of the factor (every level when the numeric column is
    not a main effect of the formula, else all but the first, R's contrast rule), named
    ``typeexited:size`` with the variables in their order of first appearance in the
    formula. ``household_size:household_type`` with ``household_type`` as a main effect
    calibrates to the people in each household type (Lumley 2010, sec. 7.4).

    Examples
    --------
    People per household type: ``household_size`` is not a main effect of the formula, so
    every type gets a column (the people of that type):

    >>> import pandas as pd
    >>> data = pd.DataFrame({"household_size": [3, 5, 4],
    ...                      "household_type": ["exited", "nonregistered", "exited"]})
    >>> columns, names = interaction_columns(data, "household_size:household_type",
    ...     {"household_type", "household_size:household_type"},
    ...     {"household_size": 0, "household_type": 1})
    >>> names
    ['household_size:household_typeexited', 'household_size:household_typenonregistered']
    >>> columns.tolist()
    [[3.0, 0.0], [0.0, 5.0], [4.0, 0.0]]
    """
    first, second = term.split(":")
    numeric = [name for name in (first, second) if is_numeric_column(data[name])]
    if len(numeric) != 1:
        raise EvalkitError(
            f"calibrate: term {term!r}; expected one numeric column and one factor (e.g. "
            "household_size:household_type)"
        )
    number = numeric[0]
    factor = second if number == first else first
    for name in (number, factor):
        if data[name].isna().any():
            row = int(np.flatnonzero(data[name].isna().to_numpy())[0])
            raise EvalkitError(
                f"calibrate: column {name!r} row {row + 1} is empty; calibration needs a "
                "value on every row"
            )
    labels = level_texts(data[factor])
    levels = sorted(pd.unique(labels))
    if number in terms:
        levels = levels[1:]
    values = data[number].to_numpy(dtype=float)
    block = np.column_stack([np.where(labels == level, values, 0.0) for level in levels])
    factor_first = order[factor] < order[number]
    names = [f"{factor}{level}:{number}" if factor_first else f"{number}:{factor}{level}"
             for level in levels]
    return block, names


def is_numeric_column(series: pd.Series) -> bool:
    """True for a numeric, non-boolean column (a calibration variable, not a factor).

    >>> is_numeric_column(pd.Series([1, 2])), is_numeric_column(pd.Series(["a", "b"]))
    (True, False)
    """
    return bool(pd.api.types.is_numeric_dtype(series)
                and not pd.api.types.is_bool_dtype(series))
