"""A run's non-response: the survey's ``responded`` and ``replaces`` columns, the params'
``nonresponse`` block and its defaults, and the report of what was done.

The weighting-class adjustment itself is the engine's
(:func:`evalkit.survey.nonresponse.adjust_for_nonresponse`); this module knows the
assessment's survey: households of a field list (``household_id``), reserve households that
replace non-respondents, and the threshold of a caution on the policy page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evalkit.assessment.defaults import LOW_RESPONSE_RATE, NONRESPONSE_DEFAULTS
from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import WEIGHTING_CELL_COLUMNS, has_response_information
from evalkit.survey.nonresponse import adjust_for_nonresponse

__all__ = ["CELL_COLUMNS", "LOW_RESPONSE_RATE", "NONRESPONSE_DEFAULTS", "NO_INFORMATION",
           "TABLE_COLUMNS", "RunNonresponse", "adjust_sample"]

#: Survey columns a weighting cell may be formed from (``nonresponse.cells``).
CELL_COLUMNS = WEIGHTING_CELL_COLUMNS
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
