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
           "TABLE_COLUMNS", "VILLAGE_COLUMNS", "RunNonresponse", "adjust_sample",
           "drawn_per_village", "response_sentences", "village_counts"]

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
    ``informed`` is False when the survey says nothing about non-response. ``villages``
    counts per village the sampled households the survey lists (``listed``: for a survey
    without ``responded``/``replaces`` columns, its rows) and those ``interviewed``
    (:func:`village_counts`), what :func:`response_sentences` compares with the plan.

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
    villages: pd.DataFrame | None = None

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


NO_INFORMATION = ("The survey has no responded or replaces column: it does not say which "
                  "sampled households were not interviewed, so the design weights get no "
                  "non-response adjustment.")
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
        return survey, RunNonresponse(pd.DataFrame(columns=list(TABLE_COLUMNS)), NO_INFORMATION,
                                      villages=village_counts(sample))
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
    return out, RunNonresponse(table, note, tuple(notes), informed=True,
                               villages=village_counts(sample))


#: Columns of :attr:`RunNonresponse.villages`.
VILLAGE_COLUMNS: tuple[str, ...] = ("village", "listed", "interviewed")


def village_counts(sample: pd.DataFrame) -> pd.DataFrame:
    """Per village: the sampled households ``sample`` lists (reserve households that
    replaced one, rows with a ``replaces`` entry, are not counted: they stand in for a
    listed one) and those interviewed (``responded`` 1, reserves included; every row
    without a ``responded`` column). Empty without a ``village`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> sample = pd.DataFrame({"village": ["V1", "V1", "V2"], "responded": [1, 0, 1]})
    >>> village_counts(sample).to_dict("list")
    {'village': ['V1', 'V2'], 'listed': [2, 1], 'interviewed': [1, 1]}
    """
    if "village" not in sample.columns:
        return pd.DataFrame(columns=list(VILLAGE_COLUMNS))
    replaces = (sample["replaces"].astype(str).str.strip() if "replaces" in sample
                else pd.Series("", index=sample.index))
    reserve = ~replaces.isin(["", "nan", "None", "<NA>"])
    interviewed = (sample["responded"].to_numpy(dtype=float) == 1
                   if "responded" in sample else np.ones(len(sample), dtype=bool))
    parts = pd.DataFrame({"village": sample["village"].astype(str).to_numpy(),
                          "listed": (~reserve).astype(int).to_numpy(),
                          "interviewed": interviewed.astype(int)})
    return parts.groupby("village", sort=True)[["listed", "interviewed"]].sum().reset_index()


def drawn_per_village(survey: pd.DataFrame, frame: pd.DataFrame | None) -> pd.Series | None:
    """Households drawn per village as the survey's own inclusion probabilities say.

    Within a sampled village, a household of type ``g`` was drawn with probability
    ``incl_prob / village_prob = m_g / N_g`` (the codebook's two-stage draw), so
    ``m_g = incl_prob / village_prob * N_g`` with ``N_g`` the frame's ``hh_<g>`` of the
    village; the village drew ``sum_g m_g`` (over the types present in the survey). None
    when a column is missing or the ``m_g`` are not whole numbers (another draw).

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"village": ["V1"], "hh_exited": [10], "hh_nonregistered": [90]})
    >>> survey = pd.DataFrame({"village": ["V1"] * 3, "household_type": ["exited",
    ...     "nonregistered", "nonregistered"], "village_prob": 0.5,
    ...     "incl_prob": [0.5 * 2 / 10, 0.5 * 3 / 90, 0.5 * 3 / 90]})
    >>> drawn_per_village(survey, frame).to_dict()
    {'V1': 5}
    """
    needed = ("village", "household_type", "village_prob", "incl_prob")
    if frame is None or any(c not in survey.columns for c in needed):
        return None
    types = survey["household_type"].astype(str)
    columns = "hh_" + types
    if not set(columns).issubset(frame.columns):
        return None
    counts = frame.assign(village=frame["village"].astype(str)).set_index("village")
    villages = survey["village"].astype(str)
    if not set(villages).issubset(counts.index):
        return None
    wanted = sorted(set(columns))
    sizes = counts[wanted].reindex(villages).to_numpy(dtype=float)[
        np.arange(len(survey)), pd.Index(wanted).get_indexer(columns)]
    with np.errstate(divide="ignore", invalid="ignore"):
        m = (survey["incl_prob"].to_numpy(dtype=float)
             / survey["village_prob"].to_numpy(dtype=float) * sizes)
    if not np.all(np.isfinite(m)) or np.max(np.abs(m - np.round(m))) > 0.01:
        return None
    cells = pd.DataFrame({"village": villages.to_numpy(), "type": types.to_numpy(),
                          "m": np.round(m)})
    per_cell = cells.groupby(["village", "type"], sort=True)["m"].agg(["min", "max"])
    if (per_cell["min"] != per_cell["max"]).any():
        return None
    return per_cell["min"].groupby(level="village").sum().astype(int)


def _listed(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def response_sentences(report: RunNonresponse, sampling: Mapping[str, Any] | None,
                       survey: pd.DataFrame | None = None, frame: pd.DataFrame | None = None,
                       calibration: Mapping[str, Any] | None = None) -> list[str]:
    """What the data show about response, each sentence built from the counts.

    ``report`` is what the run did (:func:`adjust_sample`): its note and notes come first.
    ``sampling`` is the params' sampling block: its ``n_villages`` x
    ``households_per_village`` is the plan. The sample is compared with it when the plan
    can describe it (as many villages, none holding more households than planned):
    the households listed (or, with no response columns, interviewed) against the plan, and
    the villages short of it, per village. A survey without ``responded``/``replaces``
    columns that is short of the plan: what its inclusion probabilities say was drawn
    there (:func:`drawn_per_village` with ``survey`` and ``frame``), and that the weights
    as given are used, with what the params' ``calibration`` block then does. Full response
    is never stated: no column in such a survey can show it.

    Examples
    --------
    >>> import pandas as pd
    >>> survey = pd.DataFrame({"village": ["V1"] * 3 + ["V2"] * 2, "weight": 10.0})
    >>> report = adjust_sample(survey, survey, "weight")[1]
    >>> for line in response_sentences(report, {"n_villages": 2,
    ...                                         "households_per_village": 3})[1:]:
    ...     print(line)  # doctest: +NORMALIZE_WHITESPACE
    5 households were interviewed against the 6 the plan sets (params sampling: 2 villages
    x 3 households); 1 village holds fewer than 3: V2 (2).
    The weights as given are used (no non-response adjustment); without calibration
    nothing makes up for any shortfall in the weighted totals.
    """
    sentences = [report.note, *report.notes]
    villages = report.villages
    if villages is None and survey is not None:
        villages = village_counts(survey)
    per = (sampling or {}).get("households_per_village")
    n_planned = (sampling or {}).get("n_villages")
    if villages is None or villages.empty or not per or not n_planned:
        if not report.informed:
            sentences.append("No sampling plan is given (params sampling), so the number of "
                             "households sampled is not known and nothing here shows whether "
                             "every sampled household was interviewed.")
        return sentences
    per, n_planned = int(per), int(n_planned)
    planned = per * n_planned
    listed = villages["listed"].to_numpy(dtype=int)
    interviewed = villages["interviewed"].to_numpy(dtype=int)
    n_villages = len(villages)
    plan = f"params sampling: {n_planned} villages x {per} households"
    # Another number of villages than the plan's is a plan for another sample (the params'
    # sampling block is the seed county's plan unless the params set it), not evidence that
    # whole villages were missed: no shortfall is claimed from it.
    if n_villages != n_planned or listed.max() > per:
        sentences.append(
            f"The params' sampling plan ({n_planned} villages x {per} households; the seed "
            "county's unless the params set it) does not describe this sample "
            f"({n_villages} villages, up to {listed.max():,} households in one): the number "
            "sampled is not known; set sampling.n_villages and sampling.households_per_village "
            "to the plan the sample was drawn by to compare.")
        return sentences
    short = villages[listed < per]
    what = "listed as sampled" if report.informed else "interviewed"
    count = int(listed.sum()) if report.informed else int(interviewed.sum())
    if count == planned:
        sentences.append(f"The sample holds the {planned:,} households the plan sets ({plan}).")
        return sentences
    text = f"{count:,} households were {what} against the {planned:,} the plan sets ({plan})"
    if len(short):
        names = [f"{v} ({n})" for v, n in zip(short["village"], short["listed"], strict=True)]
        text += (f"; {len(short)} village{'s hold' if len(short) > 1 else ' holds'} fewer "
                 f"than {per}: {_listed(names)}")
    sentences.append(text + ".")
    if report.informed:
        return sentences
    drawn = drawn_per_village(survey, frame) if survey is not None else None
    if drawn is not None and len(short):
        got = short.set_index("village")["interviewed"]
        implied = drawn.reindex(got.index)
        if implied.notna().all():
            extra = int((implied - got).clip(lower=0).sum())
            if extra == 0:
                sentences.append(
                    "In those villages the survey's inclusion probabilities (incl_prob / "
                    "village_prob x the frame's households of each type) were computed for "
                    f"the {int(got.sum()):,} households interviewed, so the data do not show "
                    "whether the missing households were never drawn or did not respond.")
            else:
                sentences.append(
                    "In those villages the survey's inclusion probabilities say "
                    f"{int(implied.sum()):,} households were drawn, {extra:,} more than were "
                    "interviewed: non-response the survey does not mark.")
    method = (calibration or {}).get("method", "none")
    if method and method != "none":
        totals = list((calibration or {}).get("totals") or [])
        where = f" ({', '.join(totals)})" if totals else ""
        groups = list(dict.fromkeys(t.split("_", 1)[1] for t in totals if "_" in t))
        across = (f"across each household type it names ({', '.join(groups)})" if groups
                  else "across the households each total counts")
        ending = (f": the calibration to the frame's totals{where} then spreads any shortfall "
                  f"in the weighted totals {across}.")
    else:
        ending = ("; without calibration nothing makes up for any shortfall in the weighted "
                  "totals.")
    sentences.append("The weights as given are used (no non-response adjustment)" + ending)
    return sentences
