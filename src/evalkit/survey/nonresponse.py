"""Non-response weight adjustment within weighting cells, with thin cells collapsed.

After fieldwork some sampled households could not be interviewed. Their design weight is
moved to the respondents of the same weighting cell (Kalton and Flores-Cervantes 2003,
sec. 2; Lumley 2010, sec. 7.1)::

    w_i* = w_i * sum_{j in c} w_j / sum_{j in c, responded} w_j      (i in c, responded)

so that each cell's respondents carry the weight of everyone sampled in it: the adjusted
weights reproduce the design-weighted household count of every cell, and hence of the
sample, exactly. Non-respondents get weight 0 and leave the analysis file.

Cells are the cross-classification of ``cells`` (a run uses village x household type, since
response differs by both: :mod:`evalkit.assessment.nonresponse`). A cell is *thin* when it
has fewer than ``min_respondents`` respondents or its factor exceeds ``max_factor``, unless
every household of it responded (its factor is then exactly 1, whatever its size). The thin
cells' rows are pooled by dropping the last cell column (village x type -> type within the
whole sample: ``cells=("household_type", "village")`` drops the village first), and so on
until a level with no columns, the whole sample. When the pool of thin cells within a
coarser cell is still thin but the coarser cell as a whole has ``min_respondents``
respondents, the pool's respondents keep their weight and its non-respondents' weight goes
to all respondents of the coarser cell, in proportion to their adjusted weights. Each factor
is ``sum w / sum w over respondents`` of the set of rows it is applied to (times such a
spread), so every cell's weight at the level its factor comes from (and the sample's) is
reproduced. Each pooling is reported in ``notes``.

Variances of estimates from the adjusted weights treat the factors as fixed (the usual
practice and what R's survey package does when given adjusted weights); calibrating the
adjusted design to frame totals afterwards (:mod:`evalkit.survey.calibration`) restores the
known household totals and accounts for the adjustment on those margins.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError


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
                           cells: Sequence[str] = (), *,
                           min_respondents: int = 5, max_factor: float = 2.0
                           ) -> NonresponseAdjustment:
    """Weighting-class adjustment of ``weights`` for non-response (module docstring).

    ``data`` holds every sampled household, respondents and not; ``responded`` is its 0/1
    column; ``cells`` the columns whose cross-classification forms the weighting cells,
    coarsest first (``()``: one cell, the whole sample). Returns a
    :class:`NonresponseAdjustment`.

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
