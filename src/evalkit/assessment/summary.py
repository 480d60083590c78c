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

* :func:`settle_size`: how many villages (and households) a sample would need for 80% power
  that a "cannot tell" verdict becomes pass or fail if the true rate equals the current
  estimate;
* :func:`hotspots` and :func:`township_tests`: townships on the wrong side of a line, ranked
  by their interval, and how many would be there by chance;
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
    # The appendix for referees: the headline estimates rerun in R's survey package.
    "r_appendix.R": ("02_indicators", "evalkit.report.r_appendix.write_r_appendix"),
    "r_appendix_data.csv": ("02_indicators", "evalkit.report.r_appendix.write_r_appendix"),
    "weights_by_type.csv": ("02_indicators", "evalkit.report.r_appendix.weight_distribution"),
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


#: The power a "sample that would settle it" is sized for, as notebook 01 sizes the design
#: (:func:`evalkit.sampling.power.villages_for_power`).
SETTLE_POWER = 0.8

#: The households an indicator's rate is computed over (its domain in
#: :data:`evalkit.assessment.indicators.SPECS`); "all" for the whole sample.
DOMAIN_OF = {"wrong_exit": "exited", "missed": "nonregistered", "incidence": "all",
             "recognition": "all"}


@dataclass(frozen=True)
class Settle:
    """The sample that would settle a "cannot tell" verdict, by a power calculation.

    If the true rate equalled today's estimate, a sample of ``villages_needed`` villages at
    today's households per village would give the verdict ``verdict`` (``"pass"`` or
    ``"fail"``) with probability ``power``. ``households_needed`` counts the households of
    the indicator's ``domain`` (``"exited"``, ``"nonregistered"`` or ``"all"``; today
    ``households_now``), ``sample_needed`` the whole sample (today ``sample_now``).
    ``frame_villages`` is the frame's count of villages (None when unknown); when
    ``beyond_frame`` the county does not have that many villages: the design cannot settle
    the verdict by adding villages.
    """

    indicator: str
    households_now: int
    households_needed: int
    villages_now: int
    villages_needed: int
    verdict: str
    domain: str = "all"
    sample_now: int | None = None
    sample_needed: int | None = None
    power: float = SETTLE_POWER
    frame_villages: int | None = None

    @property
    def beyond_frame(self) -> bool:
        """True when more villages are needed than the frame holds."""
        return self.frame_villages is not None and self.villages_needed > self.frame_villages


def settle_size(row: Mapping[str, Any], level: float, villages: int, *,
                households: int | None = None, frame_villages: int | None = None,
                method: str = "logit", power: float = SETTLE_POWER) -> Settle | None:
    """Villages (and households) for ``power`` of settling a verdict at the current estimate.

    The verdict follows the two-sided ``level`` interval, i.e. a one-sided test on each
    side of the line at ``alpha = (1 - level) / 2``. If the true rate ``p`` were today's
    estimate, the verdict on its side of the line is reached with probability ``power`` by
    the number of villages :func:`evalkit.sampling.power.villages_for_power` finds (the
    calculation notebook 01 sizes the design with: normal approximation, the t reference,
    the interval's ``method``), at today's households per village of the indicator's domain
    ``m = n / villages``, with the intraclass correlation that reproduces this run's
    standard error (Kish 1965, sec. 5.4)::

        deff = n SE^2 / (p (1 - p)) = 1 + (m - 1) ICC,   ICC = (deff - 1) / (m - 1)

    (clipped to [0, 1]: a design effect below 1 is taken as 1, which asks for more, not
    fewer, households). ``n (z SE / e)^2``, the size whose expected bound sits on the line,
    has only about 50% power; this has ``power``.

    ``households_needed = ceil(villages_needed * m)`` counts the domain's households
    (``n_households`` of the row); with ``households`` (today's whole sample)
    ``sample_needed`` scales the whole sample the same way. None when the row has no
    interval, no line, an estimate on the line, or when no feasible number of villages
    reaches ``power``.

    >>> row = {"indicator": "wrong_exit", "estimate": 0.029, "se": 0.007, "threshold": 0.02,
    ...        "n_households": 350, "direction": "below"}
    >>> s = settle_size(row, 0.95, villages=29, households=2030, frame_villages=148)
    >>> s.verdict, s.domain, s.villages_needed > 148, s.beyond_frame
    ('fail', 'exited', True, True)
    """
    from evalkit.sampling.power import bound_method, villages_for_power

    p, se = _number(row.get("estimate")), _number(row.get("se"))
    line, n = _number(row.get("threshold")), _number(row.get("n_households"))
    if (p is None or se is None or line is None or not n or se <= 0 or not 0 < p < 1
            or villages <= 0 or not 0 < line < 1 or p == line):
        return None
    m = n / villages
    deff = n * se * se / (p * (1 - p))
    icc = min(1.0, max(0.0, (deff - 1.0) / (m - 1.0))) if m > 1 else 0.0
    try:
        needed_villages = villages_for_power(
            p, line, m, icc, power=power, alternative="greater" if p > line else "less",
            alpha=(1.0 - level) / 2.0, method=bound_method(method))
    except EvalkitError:
        return None
    needed_villages = max(int(villages), int(needed_villages))
    direction = str(row.get("direction") or "below")
    good = p < line if direction == "below" else p >= line
    key = str(row["indicator"])
    return Settle(indicator=key, households_now=int(n),
                  households_needed=max(int(n), math.ceil(needed_villages * m - 1e-9)),
                  villages_now=int(villages), villages_needed=needed_villages,
                  verdict="pass" if good else "fail", domain=DOMAIN_OF.get(key, "all"),
                  sample_now=None if households is None else int(households),
                  sample_needed=None if households is None else max(
                      int(households), math.ceil(needed_villages * households / villages - 1e-9)),
                  power=power, frame_villages=frame_villages)


@dataclass(frozen=True)
class Hotspot:
    """A township whose rate is on the wrong side of the line in the sample.

    ``bound`` is the end of its interval nearer the passing side (the lower end for a rate
    that must stay below its line, the upper end for one that must reach it): the evidence
    it ranks by. ``beyond`` is true when the whole interval is on the wrong side (the
    township's own verdict is fail).
    """

    township: str
    estimate: float
    households: int
    bound: float = math.nan
    beyond: bool = False


@dataclass(frozen=True)
class TownshipTests:
    """How many townships were tested against an indicator's line, and what chance gives.

    ``tests`` townships with an estimate (suppressed cells are not tested); at
    ``alpha_side`` per test (one side of the printed interval), ``expected_by_chance =
    tests * alpha_side`` would show an interval wholly beyond the line if every township
    sat exactly on it; ``beyond`` townships did. ``all_tests`` counts every township test
    of the run (all indicators).
    """

    tests: int
    all_tests: int
    alpha_side: float
    beyond: int

    @property
    def expected_by_chance(self) -> float:
        """``tests * alpha_side``: the townships expected beyond the line by chance alone."""
        return self.tests * self.alpha_side


@dataclass(frozen=True)
class AtRisk:
    """An indicator at risk, with what the run's tables support doing about it."""

    indicator: str
    decision: str
    official_decision: str
    settle: Settle | None
    hotspots: tuple[Hotspot, ...]
    township_tests: TownshipTests | None = None


def _status(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "none"
    return str(value).replace(" ", "_")


def _tested_cells(by_township: pd.DataFrame | None) -> pd.DataFrame:
    """The township table's cells that carry an estimate (suppressed cells are not tests)."""
    need = {"township", "indicator", "estimate", "n_households"}
    if by_township is None or by_township.empty or not need <= set(by_township.columns):
        return pd.DataFrame(columns=sorted(need))
    cells = by_township.copy()
    cells["estimate"] = pd.to_numeric(cells["estimate"], errors="coerce")
    if "suppressed" in cells.columns:
        cells = cells.loc[~cells["suppressed"].astype(str).str.lower().isin(("true", "1"))]
    return cells.dropna(subset=["estimate"])


def hotspots(by_township: pd.DataFrame | None, indicator: str, threshold: float | None,
             direction: str, limit: int | None = None) -> tuple[Hotspot, ...]:
    """Every township on the wrong side of the line, ranked by the evidence, not the point
    estimate.

    Read from ``indicators_by_township.csv``: a township qualifies when its estimate is on
    the wrong side of the line; townships are ranked by the end of their interval nearer
    the passing side (``ci_low`` descending for a rate that must stay below the line,
    ``ci_high`` ascending for one that must reach it; the estimate breaks ties and stands
    in when the table has no interval), so a township whose whole interval is beyond the
    line comes before one with a larger estimate but a wider interval. Suppressed cells
    (too few households or villages) are never named. ``limit`` keeps the first ``limit``
    (None: all of them).
    """
    if threshold is None:
        return ()
    cells = _tested_cells(by_township)
    cells = cells.loc[cells["indicator"] == indicator]
    below = direction == "below"
    column = "ci_low" if below else "ci_high"
    bound = (pd.to_numeric(cells[column], errors="coerce") if column in cells.columns
             else pd.Series(math.nan, index=cells.index))
    cells = cells.assign(bound=bound.fillna(cells["estimate"]))
    if below:
        cells = cells.loc[cells["estimate"] > threshold]
        cells = cells.sort_values(["bound", "estimate"], ascending=False, kind="stable")
        beyond = cells["bound"] > threshold
    else:
        cells = cells.loc[cells["estimate"] < threshold]
        cells = cells.sort_values(["bound", "estimate"], kind="stable")
        beyond = cells["bound"] < threshold
    has_bound = bound.reindex(cells.index).notna()
    spots = tuple(Hotspot(str(r["township"]), float(r["estimate"]), int(r["n_households"]),
                          float(r["bound"]) if ok else math.nan, bool(b and ok))
                  for r, b, ok in zip(cells.to_dict("records"), beyond, has_bound,
                                      strict=True))
    return spots if limit is None else spots[:limit]


def township_tests(by_township: pd.DataFrame | None, indicator: str, threshold: float | None,
                   direction: str, level: float) -> TownshipTests | None:
    """The multiplicity behind :func:`hotspots`: how many townships were tested and how many
    would be beyond the line by chance.

    Each township's verdict follows its two-sided ``level`` interval, a one-sided test at
    ``alpha_side = (1 - level) / 2`` on each side; with ``k`` townships at the line,
    ``k * alpha_side`` is the expected number declared beyond it by chance (a Bonferroni
    count: it does not need the tests to be independent). None without a line or a
    township table.
    """
    if threshold is None:
        return None
    cells = _tested_cells(by_township)
    if cells.empty:
        return None
    mine = cells.loc[cells["indicator"] == indicator]
    beyond = sum(h.beyond for h in hotspots(by_township, indicator, threshold, direction))
    return TownshipTests(tests=len(mine), all_tests=len(cells),
                         alpha_side=(1.0 - level) / 2.0, beyond=int(beyond))


_RANK = {("fail", "fail"): 0, ("fail", "pass"): 1, ("fail", "none"): 1,
         ("cannot_tell", "fail"): 2, ("cannot_tell", "pass"): 3, ("cannot_tell", "none"): 3,
         ("pass", "fail"): 4}


def at_risk(indicators: pd.DataFrame, level: float, villages: int,
            by_township: pd.DataFrame | None = None, *, households: int | None = None,
            frame_villages: int | None = None, method: str = "logit") -> list[AtRisk]:
    """Every headline indicator that fails or cannot tell, or fails by the official ratio.

    Ranked: design-based fail (with the official ratio failing too) first, then fail, then
    "cannot tell" where the official ratio fails, then other "cannot tell", then a pass by
    the design-based verdict that the official ratio fails; ties keep the page's order.
    A "cannot tell" carries :func:`settle_size` (``households``: today's whole sample,
    ``frame_villages``: the frame's villages, ``method``: the interval method); each item
    its townships on the wrong side (:func:`hotspots`) and their multiplicity
    (:func:`township_tests`).
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
        settle = (settle_size(row, level, villages, households=households,
                              frame_villages=frame_villages, method=method)
                  if pair[0] == "cannot_tell" and villages > 0 else None)
        line = _number(row.get("threshold"))
        spots = hotspots(by_township, key, line, direction)
        tests = township_tests(by_township, key, line, direction, level) if spots else None
        items.append((_RANK[pair], order,
                      AtRisk(key, pair[0], pair[1], settle, spots, tests)))
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
