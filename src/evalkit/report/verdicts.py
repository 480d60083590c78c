"""The policy page's verdict words: the status key of a decision, one plain sentence per
indicator, the scenario labels, and the ranking of priorities (all from the run's tables).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.report import i18n
from evalkit.report.i18n import format_line, format_percent
from evalkit.survey.decision import decide

HEADLINE_KEYS: tuple[str, ...] = ("wrong_exit", "missed", "incidence", "recognition")
INDICATOR_COLUMNS: tuple[str, ...] = (
    "indicator", "official", "estimate", "ci_low", "ci_high", "threshold", "direction",
    "decision", "official_decision", "n_households",
)
SCENARIO_COLUMNS: tuple[str, ...] = (
    "scenario", "estimate", "ci_low", "ci_high", "change", "change_low", "change_high",
)
# Rows of a scenario table that describe the present, not an action.
BASELINE_SCENARIOS: tuple[str, ...] = ("observed", "baseline", "current", "status_quo")

# Traffic-light colours (text on white / badge background), chosen for contrast >= 4.5:1.
STATUS_COLOURS: dict[str, str] = {
    "pass": "#1a7f37",
    "fail": "#b42318",
    "cannot_tell": "#9a6700",
    "none": "#57606a",
}
STATUS_TINTS: dict[str, str] = {
    "pass": "#eaf6ee",
    "fail": "#fdecea",
    "cannot_tell": "#fff5d6",
    "none": "#f3f4f6",
}


# --------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------
def status_key(decision: object) -> str:
    """``'pass' | 'fail' | 'cannot_tell' | 'none'`` from an indicator decision."""
    if decision is None or (isinstance(decision, float) and math.isnan(decision)):
        return "none"
    key = str(decision).replace(" ", "_")
    if key not in STATUS_COLOURS:
        raise EvalkitError(f"indicator decision {decision!r}: expected pass, fail, "
                           "cannot tell or empty")
    return key


def number_or_none(value: object) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def require_table_columns(table: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise EvalkitError(f"{what}: missing column(s) {', '.join(missing)}; expected "
                           f"{', '.join(needed)}")


def sentence(row: Mapping[str, Any], lang: str, level: float) -> str:
    """The plain sentence of one indicator, from its numbers.

    "The wrong-exit rate is 2.9%; we are 95% confident it lies between 2.1% and 3.9%, so it
    is above the 2% line." The verdict is the row's ``decision``, which follows from the
    interval quoted (:func:`evalkit.survey.decision.decide`), so the words never contradict
    the numbers beside them; figures are rounded so that none looks equal to the line it
    is judged against.
    """
    key = str(row["indicator"])
    threshold = number_or_none(row.get("threshold"))
    estimate = float(row["estimate"])
    low, high = number_or_none(row.get("ci_low")), number_or_none(row.get("ci_high"))
    core = i18n.text(
        "sentence.core", lang,
        indicator=i18n.indicator_label(key, lang, in_sentence=True),
        estimate=format_percent(estimate, versus=threshold),
        level=format_line(level),
        low=format_percent(low if low is not None else math.nan, versus=threshold),
        high=format_percent(high if high is not None else math.nan, versus=threshold),
    )
    status = status_key(row.get("decision"))
    direction = str(row.get("direction") or "below")
    if threshold is None or status == "none":
        return core + i18n.text("sentence.none", lang)
    return core + i18n.text(f"sentence.{direction}.{status}", lang,
                            threshold=format_line(threshold))


def scenario_label(name: str, lang: str) -> str:
    """A scenario's translated name; a user's own scenario keeps the name it was given."""
    key = f"scenario.{name}"
    return i18n.text(key, lang) if i18n.has_text(key, lang) else str(name)


def rank_priorities(scenarios: pd.DataFrame, threshold: float | None = None,
                    now: float | None = None) -> pd.DataFrame:
    """Scenarios ranked by the recognition they recover, with the numbers behind the rank.

    ``before`` is recognition now, ``estimate - change`` (for a logistic model with an
    intercept the weighted mean of fitted probabilities equals the weighted sample
    proportion, so this is the county's recognition estimate); with ``now`` (the
    recognition estimate of the indicator table, what the page shows) ``before`` is that
    number. ``reaches`` compares the
    scenario's interval with the recognition line: ``pass`` when its lower end is at or above
    the line, ``fail`` when its upper end is below, else ``cannot tell``.
    """
    require_table_columns(scenarios, SCENARIO_COLUMNS, "scenarios")
    table = scenarios.loc[~scenarios["scenario"].astype(str).isin(BASELINE_SCENARIOS),
                          list(SCENARIO_COLUMNS)].copy()
    table["scenario"] = table["scenario"].astype(str)
    for c in SCENARIO_COLUMNS[1:]:
        table[c] = pd.to_numeric(table[c], errors="coerce")
    if table[list(SCENARIO_COLUMNS[1:])].isna().to_numpy().any():
        bad = table.loc[table[list(SCENARIO_COLUMNS[1:])].isna().any(axis=1), "scenario"]
        raise EvalkitError(f"scenarios: row {bad.iloc[0]!r} has an empty or non-numeric "
                           "estimate; expected numbers in every column")
    table["before"] = table["estimate"] - table["change"] if now is None else now
    if threshold is None:
        table["reaches"] = None
    else:
        # Whether a scenario reaches the line is the one threshold rule on its interval
        # (a handful of scenarios, not households).
        table["reaches"] = [decide((low, high), threshold, "at_least") for low, high in
                            zip(table["ci_low"], table["ci_high"], strict=True)]
    table = table.sort_values("change", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table
