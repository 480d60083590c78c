"""Non-response weight adjustment within weighting cells, with thin cells collapsed.

After fieldwork some sampled households could not be interviewed. Their design weight is
moved to the respondents of the same weighting cell (Kalton and Flores-Cervantes 2003,
sec. 2; Lumley 2010, sec. 7.1)::

    w_i* = w_i * sum_{j in c} w_j / sum_{j in c, responded} w_j      (i in c, responded)

so that each cell's respondents carry the weight of everyone sampled in it: the adjusted
weights reproduce the design-weighted household count of every cell, and hence of the
sample, exactly. Non-respondents get weight 0 and leave the analysis file.

Cells are the cross-classification of ``cells`` (by default village x household type, since
response differs by both). A cell is *thin* when it has fewer than ``min_respondents``
respondents or its factor exceeds ``max_factor``, unless every household of it responded
(its factor is then exactly 1, whatever its size). The thin cells' rows are pooled by
dropping the last cell column (village x type -> type within the whole sample by default:
``cells=("household_type", "village")`` drops the village first), and so on until a level
with no columns, the whole sample. When the pool of thin cells within a coarser cell is
still thin but the coarser cell as a whole has ``min_respondents`` respondents, the pool's
respondents keep their weight and its non-respondents' weight goes to all respondents of
the coarser cell, in proportion to their adjusted weights. Each factor is ``sum w / sum w
over respondents`` of the set of rows it is applied to (times such a spread), so every
cell's weight at the level its factor comes from (and the sample's) is reproduced. Each
pooling is reported in ``notes``.

Variances of estimates from the adjusted weights treat the factors as fixed (the usual
practice and what R's survey package does when given adjusted weights); calibrating the
adjusted design to frame totals afterwards (:mod:`evalkit.survey.calibration`) restores the
known household totals and accounts for the adjustment on those margins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import WEIGHTING_CELL_COLUMNS, has_response_information

DEFAULT_CELLS: tuple[str, ...] = ("household_type", "village")


@dataclass(frozen=True)
class NonresponseAdjustment:
    """Adjusted weights and how they were made.

    ``weights`` has one value per sampled row (0 for non-respondents); ``table`` one row per
    final cell with the sampled and responding households, the weighted response rate, the
    factor and the level the cell was formed at (``"household_type x village"``, ...);
    ``notes`` one sentence per pooling.

    Examples
    --------
    >>> import pandas as pd
    >>> sample = pd.DataFrame({"household_type": ["a"] * 4 + ["b"] * 4, "weight": 10.0,
    ...                        "responded": [1, 1, 1, 0, 1, 1, 1, 1]})
    >>> adjusted = adjust_for_nonresponse(sample, cells=["household_type"], min_respondents=2)
    >>> adjusted.responded.tolist(), list(adjusted.table.columns)[:3]
    ([True, True, True, False, True, True, True, True], ['level', 'cell', 'sampled'])
    """

    weights: np.ndarray
    responded: np.ndarray
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    # Per sampled row: the cell its factor came from ("level: cell"; "" for rows whose
    # factor is the whole-sample spread of cells without any respondent).
    final_cell: np.ndarray | None = None

    def respondents(self, data: pd.DataFrame, column: str = "weight") -> pd.DataFrame:
        """The responding rows of ``data`` with ``column`` set to the adjusted weight.

        Examples
        --------
        >>> import pandas as pd
        >>> sample = pd.DataFrame({"household_type": ["a"] * 4, "weight": 10.0,
        ...                        "responded": [1, 1, 1, 0]})
        >>> adjusted = adjust_for_nonresponse(sample, cells=["household_type"], min_respondents=2)
        >>> adjusted.respondents(sample)["weight"].round(3).tolist()
        [13.333, 13.333, 13.333]
        """
        out = data.loc[self.responded].copy()
        out[column] = self.weights[self.responded]
        return out.reset_index(drop=True)


def adjust_for_nonresponse(data: pd.DataFrame, weights: str = "weight",
                           responded: str = "responded",
                           cells: Sequence[str] = DEFAULT_CELLS, *,
                           min_respondents: int = 5, max_factor: float = 2.0
                           ) -> NonresponseAdjustment:
    """Weighting-class adjustment of ``weights`` for non-response (module docstring).

    ``data`` holds every sampled household, respondents and not; ``responded`` is its 0/1
    column. Returns a :class:`NonresponseAdjustment`.

    Examples
    --------
    Eight sampled households in two cells; cell a: 3 of 4 responded, so each respondent
    carries 4/3 of its weight (Kalton and Flores-Cervantes 2003):

    >>> import pandas as pd
    >>> sample = pd.DataFrame({"household_type": ["a"] * 4 + ["b"] * 4, "weight": 10.0,
    ...                        "responded": [1, 1, 1, 0, 1, 1, 1, 1]})
    >>> adjusted = adjust_for_nonresponse(sample, cells=["household_type"], min_respondents=2)
    >>> adjusted.weights.round(3).tolist()
    [13.333, 13.333, 13.333, 0.0, 10.0, 10.0, 10.0, 10.0]
    """
    cells = list(cells)
    for column in [weights, responded, *cells]:
        if column not in data.columns:
            raise EvalkitError(
                f"non-response: column {column!r} is not in the sample; columns are "
                + ", ".join(map(str, data.columns[:20]))
            )
    if min_respondents < 1:
        raise EvalkitError(f"non-response: min_respondents={min_respondents}; expected >= 1")
    if not max_factor > 1:
        raise EvalkitError(f"non-response: max_factor={max_factor}; expected a number > 1")
    w = pd.to_numeric(data[weights], errors="coerce").to_numpy(dtype=float)
    bad = ~(w > 0)
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise EvalkitError(
            f"non-response: column {weights!r} row {row + 2} is {data[weights].iloc[row]}; "
            "expected a positive weight"
        )
    flag = pd.to_numeric(data[responded], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(flag, (0.0, 1.0))
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise EvalkitError(
            f"non-response: column {responded!r} row {row + 2} is "
            f"{data[responded].iloc[row]}; expected 0 or 1"
        )
    answered = flag == 1
    if not np.any(answered):
        raise EvalkitError("non-response: no household responded")
    for column in cells:
        if data[column].isna().any():
            row = int(np.flatnonzero(data[column].isna().to_numpy())[0])
            raise EvalkitError(
                f"non-response: column {column!r} row {row + 2} is empty; every sampled "
                "household needs a weighting cell"
            )

    factor = np.full(len(data), np.nan)
    final_cell = np.full(len(data), "", dtype=object)
    pending = np.ones(len(data), dtype=bool)
    notes: list[str] = []
    spreads: list[tuple[np.ndarray, float]] = []
    for depth in range(len(cells), -1, -1):  # levels of pooling, not households
        columns = cells[:depth]
        level_name = " x ".join(columns) if columns else "whole sample"
        if columns:
            keys = data[columns].astype(str).agg(" / ".join, axis=1)
            codes, labels = pd.factorize(keys, sort=True)
        else:
            codes, labels = np.zeros(len(data), dtype=np.int64), pd.Index(["(all)"])
        named = np.asarray([f"{level_name}: {label}" for label in labels], dtype=object)
        n_cells = len(labels)
        # the pool: the rows still without a factor, by cell of this level
        pool_w = np.bincount(codes, weights=w * pending, minlength=n_cells)
        pool_rw = np.bincount(codes, weights=w * answered * pending, minlength=n_cells)
        pool_n = np.bincount(codes, weights=pending * 1.0, minlength=n_cells)
        pool_rn = np.bincount(codes, weights=(answered & pending) * 1.0, minlength=n_cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            pool_factor = pool_w / pool_rw
        # a cell without non-response needs no factor but 1, however small it is
        ok = (((pool_rn >= min_respondents) & (pool_factor <= max_factor))
              | ((pool_rn == pool_n) & (pool_n > 0)))
        if not columns:
            ok = pool_rn > 0
        has_pending = pool_n > 0
        thin = has_pending & ~ok
        if 0 < depth < len(cells) and np.any(thin):
            # A pool of thin cells that is still thin: when the whole cell of this level
            # has enough respondents, the pool's non-respondents' weight goes to all its
            # respondents, in proportion to their adjusted weights (the pool's respondents
            # count with factor 1; applied after the loop), so the cell's weight is still
            # reproduced and the cell's other factors keep their relative sizes.
            cell_rn = np.bincount(codes, weights=answered * 1.0, minlength=n_cells)
            spread = thin & (cell_rn >= min_respondents)
            for code in np.flatnonzero(spread):  # loop over cells, not households
                in_cell = codes == code
                rows_now = pending & in_cell
                factor[rows_now] = 1.0
                lost = float(w[rows_now & ~answered].sum())
                spreads.append((in_cell & answered, lost))
                final_cell[rows_now] = f"{named[code]} (spread)"
                pending[rows_now] = False
            if np.any(spread):
                notes.append(
                    f"{int(spread.sum())} {level_name} cells ("
                    + ", ".join(map(str, labels[spread][:5]))
                    + (", ..." if spread.sum() > 5 else "")
                    + ") still had too few respondents after pooling their thin cells; the "
                    "weight of those cells' non-respondents went to all respondents of the "
                    f"{level_name} cell")
                thin &= ~spread
        if np.any(thin) and depth > 0:
            notes.append(
                f"{int(thin.sum())} of {n_cells} {level_name} cells had fewer than "
                f"{min_respondents} respondents or a factor above {max_factor:g}; their "
                f"{int(pool_n[thin].sum())} households were pooled into "
                + (" x ".join(cells[:depth - 1]) if depth > 1 else "the whole sample")
                + " cells"
            )
        rows_now = pending & ok[codes]
        factor[rows_now] = pool_factor[codes[rows_now]]
        final_cell[rows_now] = named[codes[rows_now]]
        pending[rows_now] = False
        if not np.any(pending):
            break
    adjusted = np.where(answered, w * factor, 0.0)
    for respondents, lost in spreads:  # finer cells first; few
        adjusted[respondents] *= 1 + lost / float(adjusted[respondents].sum())
    if np.any(pending):
        # The last pooled rows had no respondent at all: spread their weight over every
        # respondent so the sample total is still reproduced.
        lost = float(w[pending].sum())
        adjusted *= 1 + lost / float(adjusted.sum())
        notes.append(
            f"{int(pending.sum())} households left after pooling had no respondent; their "
            "weight was spread over all respondents"
        )
    # one row per final cell (a groupby over cells, not households)
    done = ~pending
    with np.errstate(divide="ignore", invalid="ignore"):
        applied = np.where(answered, adjusted / w, np.nan)
    parts = pd.DataFrame({"final": final_cell[done], "w": w[done], "rw": (w * answered)[done],
                          "n": 1, "rn": answered[done].astype(int),
                          "factor": applied[done]})
    grouped = parts.groupby("final", sort=False)
    summary = grouped.agg(sampled=("n", "sum"), responded=("rn", "sum"), w=("w", "sum"),
                          rw=("rw", "sum"), factor=("factor", "first")).reset_index()
    split = summary["final"].str.split(": ", n=1, expand=True)
    table = pd.DataFrame({
        "level": split[0], "cell": split[1],
        "sampled": summary["sampled"].astype(int), "responded": summary["responded"].astype(int),
        "response_rate": summary["rw"] / summary["w"], "factor": summary["factor"],
    })
    depth_of = {(" x ".join(cells[:d]) if d else "whole sample"): d
                for d in range(len(cells) + 1)}
    spread_rows = table["cell"].str.endswith(" (spread)")
    table["level"] = table["level"].where(~spread_rows, table["level"] + " (spread)")
    table["cell"] = table["cell"].str.removesuffix(" (spread)")
    depth = -table["level"].str.removesuffix(" (spread)").map(depth_of)
    table = table.assign(_depth=depth).sort_values(
        ["_depth", "cell"], kind="stable").drop(columns="_depth").reset_index(drop=True)
    return NonresponseAdjustment(weights=adjusted, responded=answered, table=table,
                                 notes=notes, final_cell=final_cell)


# --------------------------------------------------------------------------------------
# a run's survey: the ``responded`` and ``replaces`` columns, and the run's adjustment
# --------------------------------------------------------------------------------------
#: The params' ``nonresponse`` block when a params file leaves it out (params/default.yaml).
NONRESPONSE_DEFAULTS: dict[str, Any] = {
    "cells": list(DEFAULT_CELLS), "min_cell_respondents": 5, "max_factor": 2.0,
}
#: Survey columns a weighting cell may be formed from (``nonresponse.cells``).
CELL_COLUMNS = WEIGHTING_CELL_COLUMNS
#: A cell whose households responded less often than this gets a caution on the policy page.
LOW_RESPONSE_RATE = 0.8
@dataclass(frozen=True)
class RunNonresponse:
    """What a run did about non-response.

    ``table`` has one row per weighting cell at the finest level (``cells``): the sampled
    households of the field list, those that responded, those replaced by a reserve, those
    interviewed (respondents and reserves), the response rate (responded / sampled), the
    weight factor applied and the cell it was ``pooled_into`` when the cell was thin.
    ``note`` is one sentence for the reports, ``notes`` one per pooling or replacement.
    ``informed`` is False when the survey says nothing about non-response.

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"household_id": ["a", "b"], "weight": [10.0, 10.0]})
    >>> report = adjust_sample(survey, survey, "weight")[1]
    >>> report.informed, report.table.empty
    (False, True)
    """

    table: pd.DataFrame
    note: str
    notes: tuple[str, ...] = ()
    informed: bool = False

    def lowest_rate(self) -> float:
        """The lowest cell response rate (NaN without information).

        Examples
        --------
        >>> import pandas as pd
        >>> RunNonresponse(pd.DataFrame({"response_rate": [0.9, 0.75]}), "note").lowest_rate()
        0.75
        """
        if self.table.empty:
            return float("nan")
        return float(self.table["response_rate"].min())


NO_INFORMATION = ("All sampled households responded (no non-response information: the survey "
                  "has no responded or replaces column).")
TABLE_COLUMNS: tuple[str, ...] = ("cell", "sampled", "responded", "replaced", "interviewed",
                                  "response_rate", "factor", "pooled_into")


def adjust_sample(survey: pd.DataFrame, sample: pd.DataFrame, weights: str | None,
                  settings: Mapping[str, Any] | None = None, source: str = "survey"
                  ) -> tuple[pd.DataFrame, RunNonresponse]:
    """The respondents of ``survey`` with non-response-adjusted weights, and the report.

    ``sample`` is every sampled row (:func:`evalkit.contract.data.load_sample`: the design
    columns, ``responded`` and ``replaces``), ``survey`` its respondents with their answers
    (same ``household_id``). The units of the weighting-class adjustment (module docstring)
    are the households of the field list, a replaced one represented by its reserve with
    the same weight, so a fully replaced cell keeps factor 1 and its response rate still
    shows the replacements. ``settings`` is the params' ``nonresponse`` block. The adjusted
    weight replaces column ``weights``; the design weight is kept as
    ``<weights>_before_nonresponse``. Without information the survey is returned unchanged.

    Examples
    --------
    A survey without ``responded`` or ``replaces`` columns says nothing about non-response:
    it comes back unchanged, and the report says so.

    >>> import pandas as pd
    >>> survey = pd.DataFrame({"household_id": ["a", "b"], "weight": [10.0, 10.0]})
    >>> out, report = adjust_sample(survey, survey, "weight")
    >>> out.equals(survey), report.informed
    (True, False)
    """
    if not has_response_information(sample.columns):
        return survey, RunNonresponse(pd.DataFrame(columns=list(TABLE_COLUMNS)), NO_INFORMATION)
    options = {**NONRESPONSE_DEFAULTS, **dict(settings or {})}
    cells = list(options["cells"])
    for column in cells:
        if column not in sample.columns:
            raise EvalkitError(
                f"nonresponse.cells: column {column!r} is not in {source}; expected columns "
                f"of the survey among {', '.join(c for c in CELL_COLUMNS if c in sample)}")
    if weights is None:
        raise EvalkitError(f"{source}: the survey marks non-response (responded/replaces) but "
                           "the design has no weights (design.weights): the adjustment moves "
                           "design weights, so give them")
    ids = sample["household_id"].astype(str)
    replaces = (sample["replaces"].astype(str).str.strip() if "replaces" in sample
                else pd.Series("", index=sample.index))
    replaces = replaces.where(~replaces.isin(["", "nan", "None", "<NA>"]), "")
    reserve = (replaces != "").to_numpy()
    replaced = ids.isin(set(replaces[reserve])).to_numpy()
    responded = sample["responded"].to_numpy(dtype=float) == 1
    units = sample.loc[~replaced].reset_index(drop=True)
    adjustment = adjust_for_nonresponse(
        units, weights=weights, responded="responded", cells=cells,
        min_respondents=int(options["min_cell_respondents"]),
        max_factor=float(options["max_factor"]))
    new_weight = pd.Series(adjustment.weights, index=units["household_id"].astype(str))
    out = survey.copy()
    out[f"{weights}_before_nonresponse"] = out[weights]
    out[weights] = out["household_id"].astype(str).map(new_weight).to_numpy(dtype=float)

    # the report, one row per finest cell (a groupby over cells, not households)
    keys = sample[cells].astype(str).agg(" / ".join, axis=1)
    final = pd.Series(adjustment.final_cell, index=units["household_id"].astype(str))
    with np.errstate(divide="ignore", invalid="ignore"):
        applied = pd.Series(np.where(adjustment.responded,
                                     adjustment.weights / units[weights].to_numpy(dtype=float),
                                     np.nan), index=final.index)
    finest = " x ".join(cells)
    parts = pd.DataFrame({
        "cell": keys.to_numpy(),
        "sampled": (~reserve).astype(int),
        "responded": (~reserve & responded).astype(int),
        "replaced": replaced.astype(int),
        "interviewed": responded.astype(int),
        "final": ids.map(final).fillna("").to_numpy(),
        "factor": ids.map(applied).to_numpy(dtype=float),
    })
    grouped = parts.groupby("cell", sort=True)
    table = grouped[["sampled", "responded", "replaced", "interviewed"]].sum()
    table["response_rate"] = table["responded"] / table["sampled"]
    final_cell = grouped["final"].agg(lambda s: next((v for v in s if v), ""))
    table["factor"] = grouped["factor"].first()
    table["pooled_into"] = final_cell.where(~final_cell.str.startswith(f"{finest}: "), "")
    table.loc[final_cell == "", "pooled_into"] = "all respondents (no respondent after pooling)"
    table = table.reset_index()[list(TABLE_COLUMNS)]
    table.attrs["cells"] = finest

    notes = list(adjustment.notes)
    n_replaced = int(replaced.sum())
    if n_replaced:
        notes.append(f"{n_replaced} sampled households that did not respond were replaced by "
                     "reserve households of the same village and group, which take their "
                     "weight")
    sampled, answered = int((~reserve).sum()), int((~reserve & responded).sum())
    note = (f"{answered:,} of {sampled:,} sampled households responded "
            f"({answered / sampled:.1%}); "
            + (f"{n_replaced:,} were replaced by reserve households; " if n_replaced else "")
            + f"the weights of the {int(responded.sum()):,} interviewed households were "
            f"adjusted for non-response within {finest} cells (weighting-class adjustment, "
            "before calibration).")
    return out, RunNonresponse(table, note, tuple(notes), informed=True)
