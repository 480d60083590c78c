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
respondents or its factor exceeds ``max_factor``; the thin cells' rows are pooled by
dropping the last cell column (village x type -> type within the whole sample by default:
``cells=("household_type", "village")`` drops the village first), and so on until a level
with no columns, the whole sample. Only thin cells are pooled, so every household's factor
comes from the finest cell that is not thin. Each pooling is reported in ``notes``.

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

DEFAULT_CELLS: tuple[str, ...] = ("household_type", "village")


@dataclass(frozen=True)
class NonresponseAdjustment:
    """Adjusted weights and how they were made.

    ``weights`` has one value per sampled row (0 for non-respondents); ``table`` one row per
    final cell with the sampled and responding households, the weighted response rate, the
    factor and the level the cell was formed at (``"household_type x village"``, ...);
    ``notes`` one sentence per pooling.
    """

    weights: np.ndarray
    responded: np.ndarray
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def respondents(self, data: pd.DataFrame, column: str = "weight") -> pd.DataFrame:
        """The responding rows of ``data`` with ``column`` set to the adjusted weight."""
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
    final_level = np.full(len(data), -1, dtype=np.int64)
    pending = np.ones(len(data), dtype=bool)
    rows: list[dict] = []
    notes: list[str] = []
    for depth in range(len(cells), -1, -1):  # levels of pooling, not households
        columns = cells[:depth]
        level_name = " x ".join(columns) if columns else "whole sample"
        index = np.flatnonzero(pending)
        if columns:
            keys = data.iloc[index][columns].astype(str).agg(" / ".join, axis=1)
            codes, labels = pd.factorize(keys, sort=True)
        else:
            codes, labels = np.zeros(index.size, dtype=np.int64), pd.Index(["(all)"])
        n_cells = len(labels)
        sampled_w = np.bincount(codes, weights=w[index], minlength=n_cells)
        answered_w = np.bincount(codes, weights=w[index] * answered[index], minlength=n_cells)
        sampled_n = np.bincount(codes, minlength=n_cells)
        answered_n = np.bincount(codes, weights=answered[index], minlength=n_cells)
        with np.errstate(divide="ignore", invalid="ignore"):
            cell_factor = sampled_w / answered_w
        ok = (answered_n >= min_respondents) & (cell_factor <= max_factor)
        if not columns:
            ok = answered_n > 0
        thin = ~ok
        if np.any(thin) and depth > 0:
            notes.append(
                f"{int(thin.sum())} of {n_cells} {level_name} cells had fewer than "
                f"{min_respondents} respondents or a factor above {max_factor:g}; their "
                f"{int(sampled_n[thin].sum())} households were pooled into "
                + (" x ".join(cells[:depth - 1]) if depth > 1 else "the whole sample")
                + " cells"
            )
        accept = ok[codes]
        rows_now = index[accept]
        factor[rows_now] = cell_factor[codes[accept]]
        final_level[rows_now] = depth
        pending[rows_now] = False
        for code in np.flatnonzero(ok):  # loop over cells, not households
            rows.append({
                "level": level_name,
                "cell": str(labels[code]),
                "sampled": int(sampled_n[code]),
                "responded": int(answered_n[code]),
                "response_rate": float(answered_w[code] / sampled_w[code]),
                "factor": float(cell_factor[code]),
            })
        if not np.any(pending):
            break
    adjusted = np.where(answered, w * factor, 0.0)
    if np.any(pending):
        # The last pooled rows had no respondent at all: spread their weight over every
        # respondent so the sample total is still reproduced.
        lost = float(w[pending].sum())
        adjusted *= 1 + lost / float(adjusted.sum())
        notes.append(
            f"{int(pending.sum())} households left after pooling had no respondent; their "
            "weight was spread over all respondents"
        )
    table = pd.DataFrame(rows, columns=["level", "cell", "sampled", "responded",
                                        "response_rate", "factor"])
    return NonresponseAdjustment(weights=adjusted, responded=answered, table=table,
                                 notes=notes)
