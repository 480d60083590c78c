"""What the policy page says, read from the tables this run's notebooks 02 and 03 wrote.

Notebook 04 does not re-estimate anything: it reads ``indicators.csv`` (notebook 02,
:func:`evalkit.assessment.indicators.indicator_table`), ``indicators_by_township.csv`` (02,
:func:`evalkit.assessment.indicators.disaggregate`) and ``scenarios.csv`` (03, the
satisfaction model's scenarios) from the run's tables folder, and with a re-check round the
``followup*.csv`` tables of notebook 05
(:func:`evalkit.report.followup.section_from_tables`), so every number and every
sentence on the page traces to a table of the run (:data:`SOURCES` names the notebook and
function behind each table; the run's ``manifest.json`` records that function as each
table's ``producer``, :func:`producer`).

Two derived quantities are computed here, from those tables only:

* :func:`settle_size`: how many households (and villages) a sample would need for a
  "cannot tell" verdict to become pass or fail if the true rate equals the current estimate;
* :func:`at_risk`: the indicators that fail or cannot tell (design-based), or fail by the
  official plain ratio, ranked, each with the actions the run's tables support.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.spreadsheet import read_csv, write_csv

#: Every table a run writes in ``tables/`` (the policy page reads some of them): file name
#: -> (notebook, dotted path of the function that produced it: the one whose result the
#: notebook writes, after at most rounding for display).
SOURCES: dict[str, tuple[str, str]] = {
    # 01_sampling
    "frame_profile.csv": ("01_sampling", "evalkit.sampling.frame.frame_profile"),
    "sample_size.csv": ("01_sampling", "evalkit.sampling.plan.SamplePlan.table"),
    "power_wrong_exit.csv": ("01_sampling", "evalkit.sampling.power.power_curve"),
    "power_recognition.csv": ("01_sampling", "evalkit.sampling.power.power_curve"),
    "design_options.csv": ("01_sampling", "evalkit.sampling.plan.design_options"),
    "selected_villages.csv": ("01_sampling", "evalkit.sampling.draw.village_summary"),
    "field_list.csv": ("01_sampling", "evalkit.sampling.plan.field_list"),
    "field_list.xlsx": ("01_sampling", "evalkit.sampling.plan.field_list"),
    "weight_check.csv": ("01_sampling", "evalkit.sampling.draw.weight_totals"),
    "design_check.csv": ("01_sampling", "evalkit.sampling.simulation.DrawSimulation.summary"),
    # 02_indicators
    "indicators.csv": ("02_indicators", "evalkit.assessment.indicators.indicator_table"),
    "nonresponse.csv": ("02_indicators", "evalkit.assessment.nonresponse.adjust_sample"),
    "calibration_totals.csv": ("02_indicators",
                               "evalkit.assessment.county_totals.frame_total_check"),
    "calibration_effect.csv": ("02_indicators",
                               "evalkit.assessment.county_totals.compare_indicators"),
    "published_vs_reproduced.csv": ("02_indicators",
                                    "evalkit.synth.published.reproduce_published"),
    "wrong_exit_by_method.csv": ("02_indicators", "evalkit.assessment.indicators.compare_methods"),
    "indicators_by_township.csv": ("02_indicators", "evalkit.assessment.indicators.disaggregate"),
    "indicators_by_village_type.csv": ("02_indicators",
                                       "evalkit.assessment.indicators.disaggregate"),
    # 03_satisfaction
    "coefficients.csv": ("03_satisfaction", "evalkit.survey.svyglm.LogitResult.summary_frame"),
    "marginal_effects.csv": ("03_satisfaction",
                             "evalkit.survey.svyglm.LogitResult.marginal_effects"),
    "scenarios.csv": ("03_satisfaction", "evalkit.assessment.satisfaction.scenario_table"),
    "decomposition.csv": ("03_satisfaction", "evalkit.survey.decomposition.fairlie"),
    "sensitivity.csv": ("03_satisfaction", "evalkit.assessment.satisfaction.sensitivity"),
    "cautions.csv": ("03_satisfaction", "evalkit.assessment.fragility.satisfaction_analysis"),
    # 04_summary: the policy page as a workbook.
    "policy_report.xlsx": ("04_summary", "evalkit.report.policy.PolicyReport.to_xlsx"),
    # With a ``followup`` block: the section "what changed since the assessment".
    "followup.csv": ("05_followup", "evalkit.assessment.followup.change_table"),
    "followup_recognition.csv": ("05_followup",
                                 "evalkit.assessment.followup.recognition_explained"),
    "followup_sample.csv": ("05_followup", "evalkit.assessment.followup.sample_table"),
    "followup_nonresponse.csv": ("05_followup", "evalkit.assessment.nonresponse.adjust_sample"),
}
HEADLINE_KEYS: tuple[str, ...] = ("wrong_exit", "missed", "incidence", "recognition")


def producer(table: str) -> str | None:
    """Dotted path of the function that produced ``table`` (a file name, or a path such as
    ``tables/indicators.csv``), from :data:`SOURCES`; None for a file evalkit does not
    know (a table a user's own notebook wrote)."""
    name = table.replace("\\", "/").rsplit("/", 1)[-1]
    return SOURCES[name][1] if name in SOURCES else None


def read_table(tables_dir: str | Path, name: str, *, required: bool = True
               ) -> pd.DataFrame | None:
    """One CSV table of the run; a missing required table is a one-line error naming it."""
    path = Path(tables_dir) / name
    if not path.is_file():
        if not required:
            return None
        notebook, _ = SOURCES.get(name, ("an earlier notebook", ""))
        raise EvalkitError(f"{path}: not found; notebook {notebook} writes it (run "
                           f"{notebook} before 04_summary, or use `evalkit run`)")
    try:
        return read_csv(path)  # a table's text as written (formula escapes undone)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"{path}: cannot be read as CSV ({exc})") from None


def _number(value: object) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class Settle:
    """The sample that would settle a "cannot tell" verdict at the current estimate.

    ``households_needed`` households in the indicator's domain (``households_now`` today),
    spread over ``villages_needed`` villages at today's households per village;
    ``verdict`` is what the verdict would be with that sample if the true rate were the
    estimate (``"pass"`` or ``"fail"``).
    """

    indicator: str
    households_now: int
    households_needed: int
    villages_now: int
    villages_needed: int
    verdict: str


def settle_size(row: Mapping[str, Any], level: float, villages: int) -> Settle | None:
    """Households (and villages) needed to settle a verdict at the current estimate.

    The verdict follows the two-sided ``level`` interval (:func:`evalkit.survey.decision.decide`):
    it is settled when ``z * SE`` is below the distance ``e = |estimate - line|``. The
    design-based standard error of the run scales as ``1 / sqrt(n)`` when households are
    added in new villages at today's households per village (same design effect), so the
    sample needed is Cochran's size for margin ``e``
    (:func:`evalkit.sampling.size.sample_size_proportion` at two-sided ``level``) with the
    design effect measured by this run::

        deff = n * SE^2 / (p (1 - p)),   n_needed = z^2 p (1 - p) / e^2 * deff = n (z SE / e)^2

    ``villages_needed = ceil(villages * n_needed / n)``. None when the row has no interval,
    no line, or an estimate exactly on the line (no sample settles it). z is the normal
    quantile (the t quantile with more villages tends to it).
    """
    from evalkit.sampling.size import sample_size_proportion

    p, se = _number(row.get("estimate")), _number(row.get("se"))
    line, n = _number(row.get("threshold")), _number(row.get("n_households"))
    if p is None or se is None or line is None or not n or se <= 0 or not 0 < p < 1:
        return None
    margin = abs(p - line)
    if margin <= 0 or margin >= 1:
        return None
    deff = n * se * se / (p * (1 - p))
    size = sample_size_proportion(p, margin, level=level, deff=deff)
    needed = max(int(size), int(n))
    direction = str(row.get("direction") or "below")
    good = p < line if direction == "below" else p >= line
    return Settle(indicator=str(row["indicator"]), households_now=int(n),
                  households_needed=needed, villages_now=int(villages),
                  villages_needed=max(int(villages), math.ceil(villages * needed / n)),
                  verdict="pass" if good else "fail")


@dataclass(frozen=True)
class Hotspot:
    """A township whose rate is above (or, for recognition, below) the line in the sample."""

    township: str
    estimate: float
    households: int


@dataclass(frozen=True)
class AtRisk:
    """An indicator at risk, with what the run's tables support doing about it."""

    indicator: str
    decision: str
    official_decision: str
    settle: Settle | None
    hotspots: tuple[Hotspot, ...]


def _status(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    return str(value).replace(" ", "_")


def hotspots(by_township: pd.DataFrame | None, indicator: str, threshold: float | None,
             direction: str, limit: int = 2) -> tuple[Hotspot, ...]:
    """Up to ``limit`` townships on the wrong side of the line, worst first.

    Read from ``indicators_by_township.csv``; suppressed cells (too few households or
    villages) are never named.
    """
    if by_township is None or threshold is None or by_township.empty:
        return ()
    need = {"township", "indicator", "estimate", "n_households"}
    if not need <= set(by_township.columns):
        return ()
    cells = by_township.loc[by_township["indicator"] == indicator].copy()
    cells["estimate"] = pd.to_numeric(cells["estimate"], errors="coerce")
    if "suppressed" in cells.columns:
        cells = cells.loc[~cells["suppressed"].astype(str).str.lower().isin(("true", "1"))]
    cells = cells.dropna(subset=["estimate"])
    if direction == "below":
        cells = cells.loc[cells["estimate"] > threshold].sort_values("estimate",
                                                                    ascending=False)
    else:
        cells = cells.loc[cells["estimate"] < threshold].sort_values("estimate")
    return tuple(Hotspot(str(r["township"]), float(r["estimate"]), int(r["n_households"]))
                 for r in cells.head(limit).to_dict("records"))


_RANK = {("fail", "fail"): 0, ("fail", "pass"): 1, ("fail", "none"): 1,
         ("cannot_tell", "fail"): 2, ("cannot_tell", "pass"): 3, ("cannot_tell", "none"): 3,
         ("pass", "fail"): 4}


def at_risk(indicators: pd.DataFrame, level: float, villages: int,
            by_township: pd.DataFrame | None = None) -> list[AtRisk]:
    """Every headline indicator that fails or cannot tell, or fails by the official ratio.

    Ranked: design-based fail (with the official ratio failing too) first, then fail, then
    "cannot tell" where the official ratio fails, then other "cannot tell", then a pass by
    the design-based verdict that the official ratio fails; ties keep the page's order.
    """
    items = []
    for order, key in enumerate(HEADLINE_KEYS):
        rows = indicators.loc[indicators["indicator"] == key]
        if rows.empty:
            continue
        row = rows.iloc[0].to_dict()
        pair = (_status(row.get("decision")), _status(row.get("official_decision")))
        if pair not in _RANK:
            continue
        direction = str(row.get("direction") or "below")
        settle = (settle_size(row, level, villages)
                  if pair[0] == "cannot_tell" and villages > 0 else None)
        spots = hotspots(by_township, key, _number(row.get("threshold")), direction)
        items.append((_RANK[pair], order, AtRisk(key, pair[0], pair[1], settle, spots)))
    return [item for _, _, item in sorted(items, key=lambda t: (t[0], t[1]))]


def write_cautions(cautions: Sequence[Any], path: str | Path) -> Path:
    """Write :class:`evalkit.assessment.fragility.Caution` s as a table: ``key`` and ``values``
    (JSON).

    Notebook 03 writes its cautions so that the policy page shows them without refitting.
    """
    rows = [{"key": c.key, "values": json.dumps(dict(c.values), ensure_ascii=False,
                                                  sort_keys=True, default=str)}
            for c in cautions]
    path = Path(path)
    write_csv(pd.DataFrame(rows, columns=["key", "values"]), path)
    return path


def read_cautions(tables_dir: str | Path, name: str = "cautions.csv") -> list[Any]:
    """The cautions a table of :func:`write_cautions` holds ([] when there is none)."""
    from evalkit.assessment.fragility import caution

    table = read_table(tables_dir, name, required=False)
    if table is None or table.empty:
        return []
    out = []
    for row, rec in enumerate(table.to_dict("records"), start=2):
        try:
            values = json.loads(str(rec["values"]))
        except (KeyError, json.JSONDecodeError):
            raise EvalkitError(f"{Path(tables_dir) / name}: row {row}, column values: "
                               "expected the JSON that notebook 03 writes") from None
        out.append(caution(str(rec["key"]), **values))
    return out
