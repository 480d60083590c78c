"""The policy report: one page a county leader reads, in Chinese or English, offline.

Everything on the page is generated from this run's results: the indicator table of
:func:`evalkit.assessment.indicators.indicator_table` and the satisfaction model's scenario table
(columns ``scenario, estimate, ci_low, ci_high, change, change_low, change_high``; proportions,
``change`` = predicted county recognition under the scenario minus recognition now). No number
is typed in.

The page has, in order:

* a title and a one-line description of the sample;
* a traffic-light card for each of the three rates and one degree (wrong exits, missed
  assessments, comprehensive incidence, recognition): the design-based estimate and its
  interval, the official plain figure beside it, a number line showing the interval against
  the exit line, and a sentence generated from the numbers;
* the secondary indicators in a compact table;
* what drives dissatisfaction: the recognition each scenario would recover, as a chart with
  intervals;
* rectification priorities ranked by the recognition they recover, with the numbers;
* how to read the page.

Verdicts are :mod:`evalkit.assessment.indicators`' one-sided decisions at the run's confidence
level. The
sentence quotes the two-sided interval; when that interval still touches the line but the
one-sided bound clears it, the sentence says so with the one-sided bound, so the words never
contradict the numbers beside them.

HTML uses inline CSS only, no script and no URL: it opens offline, reflows on a phone
(flex-wrap cards, scrolling tables) and prints on A4 (``@media print``, no card split across
pages). Figures are PNG bytes, embedded as base64 ``data:`` URIs in the standalone page, and
displayed as image outputs in the notebook (nbval does not compare image bytes). Household
rows never reach this module's output: only aggregate estimates are shown, so no name, ID
number or phone can appear.
"""

from __future__ import annotations

import base64
import html
import math
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import xlsx
from evalkit.contract.errors import EvalkitError
from evalkit.report import i18n
from evalkit.report.i18n import format_count, format_line, format_percent, format_points
from evalkit.report.plots import figure_png

HEADLINE_KEYS: tuple[str, ...] = ("wrong_exit", "missed", "incidence", "recognition")
INDICATOR_COLUMNS: tuple[str, ...] = (
    "indicator", "official", "estimate", "ci_low", "ci_high", "threshold", "direction",
    "one_sided_low", "one_sided_high", "decision", "official_decision", "n_households",
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


def _number(value: object) -> float | None:
    if value is None:
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _check_columns(table: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise EvalkitError(f"{what}: missing column(s) {', '.join(missing)}; expected "
                           f"{', '.join(needed)}")


def sentence(row: Mapping[str, Any], lang: str, level: float) -> str:
    """The plain sentence of one indicator, from its numbers.

    "The wrong-exit rate is 2.9%; we are 95% confident it lies between 2.1% and 3.9%, so it
    is above the 2% line." The verdict is the row's ``decision`` (one-sided tests at
    ``level``); figures are rounded so that none looks equal to the line it is judged against.
    """
    key = str(row["indicator"])
    threshold = _number(row.get("threshold"))
    estimate = float(row["estimate"])
    low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
    level_text = format_line(level)
    core = i18n.text(
        "sentence.core", lang,
        indicator=i18n.indicator_label(key, lang, in_sentence=True),
        estimate=format_percent(estimate, versus=threshold),
        level=level_text,
        low=format_percent(low if low is not None else math.nan, versus=threshold),
        high=format_percent(high if high is not None else math.nan, versus=threshold),
    )
    status = status_key(row.get("decision"))
    direction = str(row.get("direction") or "below")
    if threshold is None or status == "none":
        return core + i18n.text("sentence.none", lang)
    line = format_line(threshold)
    if status == "cannot_tell":
        return core + i18n.text(f"sentence.{direction}.cannot_tell", lang, threshold=line)
    # Does the two-sided interval alone support the verdict?
    if direction == "below":
        plain = (high is not None and high < threshold) if status == "pass" else (
            low is not None and low > threshold)
        bound = row.get("one_sided_high") if status == "pass" else row.get("one_sided_low")
    else:
        plain = (low is not None and low >= threshold) if status == "pass" else (
            high is not None and high < threshold)
        bound = row.get("one_sided_low") if status == "pass" else row.get("one_sided_high")
    if plain or _number(bound) is None:
        return core + i18n.text(f"sentence.{direction}.{status}", lang, threshold=line)
    return core + i18n.text(
        f"sentence.{direction}.{status}.one_sided", lang, threshold=line, level=level_text,
        bound=format_percent(float(bound), versus=threshold),  # type: ignore[arg-type]
    )


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
    _check_columns(scenarios, SCENARIO_COLUMNS, "scenarios")
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
        table["reaches"] = np.where(
            table["ci_low"] >= threshold, "pass",
            np.where(table["ci_high"] < threshold, "fail", "cannot tell"))
    table = table.sort_values("change", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------
def _wrap(label: str, lang: str, width_en: int = 26, width_zh: int = 13) -> str:
    if lang == "zh":
        return "\n".join(label[i:i + width_zh] for i in range(0, len(label), width_zh))
    return "\n".join(textwrap.wrap(label, width_en)) or label


def drivers_figure(priorities: pd.DataFrame, lang: str, level: float,
                   threshold: float | None = None):  # -> matplotlib.figure.Figure
    """Horizontal bars: recognition each scenario recovers, in points, with intervals.

    ``priorities`` is :func:`rank_priorities`' table, drawn in its order (largest gain on
    top). Each action's name sits above its bar, so the bars use the full width and the
    chart stays legible when a phone shrinks it. When recognition now is below the line, a
    dashed line marks the gain needed to reach it. Draws with the shipped CJK font.
    """
    from matplotlib.figure import Figure

    from evalkit.report import fonts

    n = len(priorities)
    gains = priorities["change"].to_numpy(dtype=float) * 100
    lows = priorities["change_low"].to_numpy(dtype=float) * 100
    highs = priorities["change_high"].to_numpy(dtype=float) * 100
    labels = [_wrap(scenario_label(s, lang), lang, width_en=34, width_zh=16)
              for s in priorities["scenario"]]
    lines = [label.count("\n") + 1 for label in labels]
    # Rows from the top: each takes its label's lines plus the bar.
    heights = [0.42 * k + 0.75 for k in lines]
    tops = np.concatenate([[0.0], np.cumsum(heights)[:-1]])
    y = -(tops + np.array([0.42 * k for k in lines]) + 0.3)
    before = float(priorities["before"].iloc[0]) if n else math.nan
    need = ((threshold - before) * 100 if threshold is not None and math.isfinite(before)
            and before < threshold else None)
    right = max([0.0, *highs, *([need] if need is not None else [])])
    left = min([0.0, *lows])
    span = (right - left) or 1.0
    with fonts.context():
        fig = Figure(figsize=(4.2, 1.5 + 0.55 * sum(heights)), dpi=150, layout="constrained")
        ax = fig.add_subplot()
        ax.barh(y, gains, height=0.45, color="#4c78a8",
                label=i18n.text("chart.estimate", lang))
        ax.errorbar(gains, y, xerr=np.vstack([gains - lows, highs - gains]), fmt="none",
                    ecolor="#1f2328", elinewidth=1.8, capsize=5,
                    label=i18n.text("chart.interval", lang, level=format_line(level)))
        x_left = left - 0.02 * span
        for yi, g, hi, label in zip(y, gains, highs, labels, strict=True):
            ax.text(x_left, yi + 0.3, label, ha="left", va="bottom", fontsize=12.5,
                    color="#1f2328", linespacing=1.25)
            ax.annotate(format_points(g / 100), (max(hi, g, 0.0), yi), xytext=(5, 0),
                        textcoords="offset points", va="center", fontsize=12,
                        color="#1f2328")
        ax.axvline(0, color="#57606a", linewidth=0.9)
        if need is not None:
            ax.axvline(need, color=STATUS_COLOURS["fail"], linestyle="--", linewidth=1.4,
                       label=i18n.text("chart.needed", lang,
                                       threshold=format_line(threshold)))
        ax.set_yticks([])
        ax.set_xlim(x_left, right + 0.16 * span)
        ax.set_ylim(-sum(heights) - 0.05, 0.1)
        ax.tick_params(axis="x", labelsize=11.5)
        ax.set_xlabel(i18n.text("chart.drivers.xlabel", lang), fontsize=11.5)
        ax.set_title(i18n.text("chart.drivers.title", lang), fontsize=13.5, loc="left")
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncols=2, fontsize=11.5, frameon=False)
    return fig


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------
CSS = """
.ek-report { font-family: "Evalkit Sans SC", system-ui, -apple-system, "Segoe UI",
  "Noto Sans CJK SC", "Noto Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif;
  font-synthesis: none; color: #1f2328; line-height: 1.55;
  max-width: 60rem; margin: 0 auto; font-size: 1rem; text-align: left; }
.ek-report * { box-sizing: border-box; }
.ek-report h1 { font-size: 1.7rem; font-weight: 700; line-height: 1.25;
  margin: 0.2rem 0 0.6rem; }
.ek-report h2 { font-size: 1.3rem; font-weight: 700; line-height: 1.3;
  margin: 1.6rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 2px solid #d0d7de; }
.ek-report p { margin: 0.4rem 0; }
.ek-report .ek-muted { color: #57606a; font-size: 0.92rem; }
.ek-report .ek-chips { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.6rem 0; }
.ek-report .ek-chip { border-radius: 1rem; padding: 0.15rem 0.75rem; font-weight: 600;
  border: 1px solid currentColor; white-space: nowrap; }
.ek-report .ek-cards { display: flex; flex-wrap: wrap; gap: 0.8rem; }
.ek-report .ek-card { flex: 1 1 18rem; max-width: 100%; background: #fff;
  border: 1px solid #d0d7de; border-left-width: 0.45rem; border-radius: 0.5rem;
  padding: 0.7rem 0.9rem; }
.ek-report .ek-card-head { display: flex; flex-wrap: wrap; justify-content: space-between;
  align-items: baseline; gap: 0.4rem; }
.ek-report .ek-card-name { font-weight: 700; font-size: 1.08rem; }
.ek-report .ek-badge { color: #fff; border-radius: 1rem; padding: 0.05rem 0.65rem;
  font-size: 0.85rem; font-weight: 600; white-space: nowrap; }
.ek-report .ek-figures { display: flex; flex-wrap: wrap; gap: 0.3rem 1.4rem;
  margin: 0.35rem 0 0.1rem; align-items: flex-end; }
.ek-report .ek-figure-label { display: block; font-size: 0.8rem; color: #57606a; }
.ek-report .ek-big { font-size: 2rem; font-weight: 700; line-height: 1.1;
  font-variant-numeric: tabular-nums; }
.ek-report .ek-mid { font-size: 1.15rem; font-weight: 600;
  font-variant-numeric: tabular-nums; }
.ek-report .ek-line { display: block; width: 100%; height: auto; max-height: 5.4rem;
  margin: 0.3rem 0; }
.ek-report .ek-sentence { font-size: 0.98rem; }
.ek-report .ek-meta { display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; font-size: 0.85rem;
  color: #57606a; }
.ek-report .ek-what { font-size: 0.82rem; color: #57606a; margin-top: 0.3rem; }
.ek-report .ek-decides { font-size: 0.92rem; color: #1f2328; background: #f6f8fa;
  border-radius: 0.3rem; padding: 0.3rem 0.5rem; }
.ek-report .ek-table-wrap { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.ek-report table.ek-table { border-collapse: collapse; width: 100%; font-size: 0.9rem;
  margin: 0.4rem 0; table-layout: auto; }
.ek-report table.ek-table th, .ek-report table.ek-table td { text-align: left;
  padding: 0.35rem 0.5rem; border: none; border-bottom: 1px solid #d0d7de;
  vertical-align: top; background: transparent; }
.ek-report table.ek-table th { background: #f6f8fa; font-weight: 600; }
.ek-report table.ek-table th { white-space: normal; vertical-align: bottom; }
.ek-report table.ek-table td.ek-num, .ek-report table.ek-table th.ek-num {
  text-align: right; font-variant-numeric: tabular-nums; }
.ek-report table.ek-table td.ek-num { white-space: nowrap; }
.ek-report table.ek-table .ek-sub { display: block; font-size: 0.82em; color: #57606a; }
.ek-report table.ek-table td.ek-status { font-weight: 600; white-space: nowrap; }
.ek-report table.ek-table td.ek-wide { min-width: 8rem; }
.ek-report .ek-chart { margin: 0.6rem 0; }
.ek-report .ek-chart img { display: block; width: 100%; max-width: 34rem; height: auto;
  margin: 0 auto; }
.ek-report ol.ek-priorities { padding-left: 1.4rem; margin: 0.4rem 0; }
.ek-report ol.ek-priorities li { margin: 0.3rem 0; }
.ek-report .ek-notes { font-size: 0.88rem; color: #57606a; }
@media screen and (max-width: 36rem) {
  .ek-report h1 { font-size: 1.4rem; }
  .ek-report .ek-big { font-size: 1.7rem; }
  .ek-report .ek-card { padding: 0.6rem 0.7rem; }
  .ek-report table.ek-table, .ek-report table.ek-table tbody,
  .ek-report table.ek-table tr, .ek-report table.ek-table td { display: block; width: 100%; }
  .ek-report table.ek-table thead { display: none; }
  .ek-report table.ek-table tr { border: 1px solid #d0d7de; border-radius: 0.4rem;
    margin: 0 0 0.6rem; padding: 0.2rem 0.6rem; }
  .ek-report table.ek-table td, .ek-report table.ek-table td.ek-num,
  .ek-report table.ek-table td.ek-status { display: flex; justify-content: space-between;
    gap: 0.8rem; text-align: right; white-space: normal; border-bottom: 1px solid #eaeef2;
    padding: 0.3rem 0; min-width: 0; }
  .ek-report table.ek-table td:last-child { border-bottom: none; }
  .ek-report table.ek-table td::before { content: attr(data-label); color: #57606a;
    font-weight: 400; text-align: left; flex-shrink: 0; max-width: 55%; }
  .ek-report table.ek-table td:first-child { font-weight: 700; }
}
@media print {
  @page { size: A4; margin: 11mm 11mm; }
  /* Every size on the page is in rem: one root size scales the whole page for paper. */
  html { font-size: 11.5px; }
  .ek-report { max-width: none; font-size: 1rem; line-height: 1.38; }
  .ek-report * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .ek-report h1 { font-size: 1.55rem; margin: 0 0 0.2rem; }
  .ek-report h2 { font-size: 1.2rem; margin: 0.5rem 0 0.25rem; padding-bottom: 0.1rem;
    break-after: avoid; page-break-after: avoid; }
  .ek-report p { margin: 0.15rem 0; }
  .ek-report .ek-cards { gap: 0.35rem; }
  .ek-report .ek-card { flex: 1 1 45%; padding: 0.3rem 0.55rem; break-inside: avoid;
    page-break-inside: avoid; }
  .ek-report .ek-big { font-size: 1.7rem; }
  .ek-report .ek-mid { font-size: 1.05rem; }
  .ek-report .ek-figures { margin: 0.1rem 0 0; }
  .ek-report .ek-line { max-height: 3.6rem; margin: 0.1rem 0; }
  .ek-report .ek-what { display: none; }
  .ek-report .ek-chips { margin: 0.2rem 0; }
  .ek-report .ek-chart { margin: 0.2rem 0; }
  .ek-report .ek-chart img { max-width: 9.5cm; }
  .ek-report table.ek-table tr, .ek-report ol.ek-priorities li {
    break-inside: avoid; page-break-inside: avoid; }
  .ek-report .ek-table-wrap { overflow: visible; }
  .ek-report table.ek-table { font-size: 0.92rem; margin: 0.2rem 0; }
  .ek-report table.ek-table th, .ek-report table.ek-table td { padding: 0.12rem 0.35rem; }
  .ek-report ol.ek-priorities li { margin: 0.1rem 0; }
  /* JupyterLab's print CSS keeps each output on one page; the cards output is taller than
     a page, so that rule would leave page 1 empty. Only outputs holding this report. */
  .jp-OutputArea-child:has(.ek-report) { break-inside: auto; }
  .jp-OutputArea-child:has(.ek-drivers) { break-after: avoid; page-break-after: avoid; }
  .jp-RenderedImage img { max-width: 9.5cm !important; height: auto !important; }
  .jp-Notebook, .jp-Cell, .jp-OutputArea-output { padding: 0 !important; margin: 0 !important; }
  body.jp-Notebook { padding: 0 !important; }
}
"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class PolicyReport:
    """This run's results, ready to be shown as the policy page.

    ``indicators``: :func:`evalkit.assessment.indicators.indicator_table` of this run.
    ``scenarios``: the satisfaction model's scenario table, or None when the run has none.
    ``households`` and ``villages`` describe the sample (for the one-line description).
    """

    indicators: pd.DataFrame
    scenarios: pd.DataFrame | None = None
    lang: str = "en"
    level: float = 0.95
    method: str = "logit"
    run_name: str = ""
    households: int | None = None
    villages: int | None = None
    weighted: bool = True
    clustered: bool = True
    #: Plain-language caveats of this sample (:mod:`evalkit.assessment.fragility`), shown in
    #: their own section when there are any.
    cautions: tuple[Any, ...] = ()
    #: Notebook 02's township table (``indicators_by_township.csv``), to name townships
    #: on the wrong side of a line among the next steps.
    by_township: pd.DataFrame | None = None
    #: Who and what the report is about (params ``county``, ``period``, ``assessor``).
    county: str | None = None
    period: str | None = None
    assessor: str | None = None

    def __post_init__(self) -> None:
        i18n.check_lang(self.lang)
        _check_columns(self.indicators, INDICATOR_COLUMNS, "indicator table")
        if not 0 < self.level < 1:
            raise EvalkitError(f"report level {self.level!r}: expected a number between 0 "
                               "and 1")
        missing = [k for k in HEADLINE_KEYS if k not in set(self.indicators["indicator"])]
        if missing:
            raise EvalkitError(f"indicator table: no row for {', '.join(missing)}; expected "
                               "the four headline indicators")

    # -- helpers -----------------------------------------------------------------------
    def t(self, key: str, **values: object) -> str:
        return i18n.text(key, self.lang, **values)

    @property
    def design_text(self) -> str:
        """How the estimates use the design: weighted or not, clustered or not."""
        return self.t("design.description",
                      weights=self.t("design.weighted" if self.weighted
                                     else "design.unweighted"),
                      clusters=self.t("design.clustered" if self.clustered
                                      else "design.unclustered"))

    @property
    def level_text(self) -> str:
        return format_line(self.level)

    def row(self, key: str) -> dict[str, Any]:
        rows = self.indicators.loc[self.indicators["indicator"] == key]
        return rows.iloc[0].to_dict()

    @property
    def recognition_line(self) -> float | None:
        return _number(self.row("recognition").get("threshold"))

    @property
    def at_risk(self) -> list[Any]:
        """Indicators at risk, ranked, with their next steps
        (:func:`evalkit.assessment.summary.at_risk`;
        no sample size to settle a verdict without ``villages``)."""
        from evalkit.assessment.summary import at_risk

        return at_risk(self.indicators, self.level, int(self.villages or 0), self.by_township)

    def priorities(self) -> pd.DataFrame | None:
        """:func:`rank_priorities` of this run's scenarios (None without scenarios)."""
        if self.scenarios is None or len(self.scenarios) == 0:
            return None
        return rank_priorities(self.scenarios, self.recognition_line,
                               now=_number(self.row("recognition").get("estimate")))

    # -- sections ----------------------------------------------------------------------
    def join(self, sentences: Sequence[str]) -> str:
        """Sentences run together: no space between Chinese sentences, one in English."""
        return ("" if self.lang == "zh" else " ").join(sentences)

    def css(self) -> str:
        """The page's style sheet (the font is embedded by :meth:`html` and by
        :func:`evalkit.report.render.render_notebook` for the policy page)."""
        return CSS

    @property
    def title(self) -> str:
        """The page heading (also the browser tab's title and the run index's link)."""
        if self.county:
            return self.t("report.title_county", county=self.county)
        return self.t("report.title")

    def identity_html(self) -> str:
        """Survey period and assessing body, when the params give them."""
        parts = []
        if self.period:
            parts.append(self.t("report.period", period=self.period))
        if self.assessor:
            parts.append(self.t("report.assessor", assessor=self.assessor))
        if not parts:
            return ""
        return '<p class="ek-muted ek-identity">' + " · ".join(map(_esc, parts)) + "</p>"

    def header_html(self) -> str:
        """Style sheet, title, what the page shows, the sample, and the verdict counts."""
        parts = [f"<style>{self.css()}</style>", '<div class="ek-report" lang="'
                 f'{"zh-CN" if self.lang == "zh" else "en"}">',
                 f"<h1>{_esc(self.title)}</h1>", self.identity_html(),
                 f"<p>{_esc(self.t('report.intro', level=self.level_text))}</p>"]
        if self.households is not None and self.villages is not None:
            parts.append('<p class="ek-muted">' + _esc(self.t(
                "report.sample", households=format_count(self.households, self.lang),
                villages=format_count(self.villages, self.lang), level=self.level_text,
                design=self.design_text))
                + "</p>")
        statuses = [status_key(self.row(k).get("decision")) for k in HEADLINE_KEYS]
        chips = []
        for status in ("pass", "fail", "cannot_tell", "none"):
            count = statuses.count(status)
            if count == 0 and status == "none":
                continue
            chips.append(
                f'<span class="ek-chip" style="color:{STATUS_COLOURS[status]};'
                f'background:{STATUS_TINTS[status]}">{_esc(self.t(f"status.{status}"))}: '
                f'{_esc(self.t("summary.count", count=count, total=len(statuses)))}</span>')
        parts.append(f'<p class="ek-muted" style="margin-bottom:0">'
                     f'{_esc(self.t("report.summary_title"))}</p>')
        parts.append('<div class="ek-chips">' + "".join(chips) + "</div>")
        parts.append("</div>")
        return "\n".join(parts)

    def card_html(self, key: str) -> str:
        """One traffic-light card."""
        row = self.row(key)
        status = status_key(row.get("decision"))
        colour = STATUS_COLOURS[status]
        threshold = _number(row.get("threshold"))
        direction = str(row.get("direction") or "below")
        est = float(row["estimate"])
        low, high = _number(row.get("ci_low")), _number(row.get("ci_high"))
        official = _number(row.get("official"))
        interval = _interval_text(low, high, threshold)
        line_text = (self.t(f"card.line.{direction}", threshold=format_line(threshold))
                     if threshold is not None else self.t("card.line.none"))
        official_text = format_percent(official if official is not None else math.nan,
                                       versus=threshold)
        official_status = status_key(row.get("official_decision"))
        if official_status in ("pass", "fail"):
            official_text = self.t("card.official_verdict", figure=official_text,
                                   verdict=self.t(f"official.{official_status}"))
        name = i18n.indicator_label(key, self.lang)
        text = sentence(row, self.lang, self.level)
        svg = number_line_svg(est, low, high, threshold, direction, status, aria=text,
                              scale=self.scale(direction))
        households = _number(row.get("n_households"))
        meta = [f"<span>{_esc(line_text)}</span>"]
        if households is not None:
            meta.append("<span>" + _esc(self.t(
                "card.households", households=format_count(int(households), self.lang)))
                + "</span>")
        return (
            f'<div class="ek-card" data-indicator="{_esc(key)}" data-status="{status}" '
            f'style="border-left-color:{colour}">'
            f'<div class="ek-card-head"><span class="ek-card-name">{_esc(name)}</span>'
            f'<span class="ek-badge" style="background:{colour}">'
            f'{_esc(self.t(f"status.{status}"))}</span></div>'
            '<div class="ek-figures">'
            f'<div><span class="ek-figure-label">{_esc(self.t("card.estimate"))}</span>'
            f'<span class="ek-big" style="color:{colour}">'
            f'{_esc(format_percent(est, versus=threshold))}</span></div>'
            f'<div><span class="ek-figure-label">'
            f'{_esc(self.t("card.interval", level=self.level_text))}</span>'
            f'<span class="ek-mid">{_esc(interval)}</span></div>'
            f'<div><span class="ek-figure-label">{_esc(self.t("card.official"))}</span>'
            f'<span class="ek-mid">{_esc(official_text)}</span></div>'
            "</div>"
            f"{svg}"
            f'<p class="ek-sentence">{_esc(text)}</p>'
            f"{self.decides_html(row)}"
            f'<div class="ek-meta">{"".join(meta)}</div>'
            f'<p class="ek-what">{_esc(self.t(f"indicator.{key}.what"))}</p>'
            "</div>"
        )

    def decides_html(self, row: Mapping[str, Any]) -> str:
        """Which verdict the exit decision uses, what the other says, and why they differ.

        The assessment's rule judges the official plain ratio against the line; the
        design-based verdict says whether the sample is large enough to be sure of the
        county's true rate. Every figure comes from the indicator table (official ratio and
        its verdict, design-based verdict, design effect); "" without a line.
        """
        threshold = _number(row.get("threshold"))
        status = status_key(row.get("decision"))
        official_status = status_key(row.get("official_decision"))
        official = _number(row.get("official"))
        if threshold is None or official is None or official_status not in ("pass", "fail"):
            return ""
        t = self.t
        figure = format_percent(official, versus=threshold)
        parts = [t("decides.rule", figure=figure, verdict=t(f"official.{official_status}"))]
        if status == official_status:
            parts.append(t("decides.agree"))
        elif status == "cannot_tell":
            parts.append(t("decides.cannot_tell", level=self.level_text))
        else:
            parts.append(t("decides.disagree", verdict=t(f"verdict.{status}"),
                           level=self.level_text))
        if status != official_status:
            deff = _number(row.get("deff"))
            if deff is not None and deff > 1:
                parts.append(t("decides.why_deff", deff=f"{deff:.1f}",
                               wider=f"{math.sqrt(deff):.1f}"))
            else:
                parts.append(t("decides.why"))
        settle = next((r.settle for r in self.at_risk
                       if r.indicator == str(row["indicator"]) and r.settle is not None), None)
        if settle is not None:
            parts.append(self.settle_text(settle))
        return f'<p class="ek-decides">{_esc(self.join(parts))}</p>'

    def settle_text(self, settle: Any) -> str:
        """The sample that would settle a "cannot tell" verdict, as a sentence."""
        estimate = _number(self.row(settle.indicator).get("estimate"))
        threshold = _number(self.row(settle.indicator).get("threshold"))
        return self.t(
            "settle.sentence", estimate=format_percent(estimate or math.nan, versus=threshold),
            needed=format_count(settle.households_needed, self.lang),
            now=format_count(settle.households_now, self.lang),
            villages=format_count(settle.villages_needed, self.lang),
            villages_now=format_count(settle.villages_now, self.lang),
            level=self.level_text, verdict=self.t(f"official.{settle.verdict}"))

    def scale(self, direction: str) -> tuple[float, float]:
        """One number-line scale for all headline cards judged in ``direction``."""
        values: list[float | None] = []
        for key in HEADLINE_KEYS:
            row = self.row(key)
            if str(row.get("direction") or "below") == direction:
                values += [_number(row.get(c)) for c in
                           ("estimate", "ci_low", "ci_high", "threshold")]
        return line_scale(values, direction)

    def cards_html(self) -> str:
        """The four headline cards under their section title."""
        cards = "\n".join(self.card_html(k) for k in HEADLINE_KEYS)
        return (f'<div class="ek-report"><h2>{_esc(self.t("section.headline"))}</h2>'
                f'<div class="ek-cards">\n{cards}\n</div></div>')

    def cautions_html(self) -> str:
        """What to read with care: one sentence per caution ("" when there is none)."""
        if not self.cautions:
            return ""
        items = "".join(f"<li>{_esc(c.text(self.lang))}</li>" for c in self.cautions)
        return (f'<div class="ek-report ek-keep ek-cautions">'
                f'<h2>{_esc(self.t("section.cautions"))}</h2>'
                f'<p class="ek-muted">{_esc(self.t("section.cautions_intro"))}</p>'
                f"<ul>{items}</ul></div>")

    def secondary_html(self) -> str:
        """The other indicators in one compact table ("" when there are none).

        The line and verdict columns appear only when some secondary indicator has a line
        (the assessment sets none by default).
        """
        rows = self.indicators.loc[~self.indicators["indicator"].isin(HEADLINE_KEYS)]
        if rows.empty:
            return ""
        with_lines = rows["threshold"].map(_number).notna().any()
        columns = [(self.t("col.indicator"), "wide"), (self.t("col.estimate"), "num"),
                   (self.t("col.interval", level=self.level_text), "num"),
                   (self.t("col.official"), "num")]
        if with_lines:
            columns += [(self.t("col.threshold"), "num"), (self.t("col.status"), "status")]
        columns.append((self.t("col.households"), "num"))
        body = []
        for rec in rows.to_dict("records"):
            threshold = _number(rec.get("threshold"))
            status = status_key(rec.get("decision"))
            cells = [
                i18n.indicator_label(str(rec["indicator"]), self.lang),
                format_percent(float(rec["estimate"]), versus=threshold),
                _interval_text(rec.get("ci_low"), rec.get("ci_high"), threshold),
                _percent_or_dash(_number(rec.get("official")), threshold),
            ]
            if with_lines:
                cells += [
                    "\u2013" if threshold is None else
                    f"{self.t('direction.' + str(rec['direction']))} {format_line(threshold)}",
                    self.t(f"status.{status}"),
                ]
            cells.append(format_count(int(rec["n_households"]), self.lang))
            body.append((cells, status))
        return ('<div class="ek-report ek-keep">'
                f'<h2>{_esc(self.t("section.secondary"))}</h2><p class="ek-muted">'
                f'{_esc(self.t("section.secondary_intro", level=self.level_text))}</p>'
                f"{_table_html(columns, body)}</div>")

    def drivers_intro_html(self, chart: bytes | None = None) -> str:
        """Section title, what the model estimates (from its numbers), chart and table.

        The sentence names the scenario with the largest estimated gain and quotes its
        numbers (recognition now from the indicator table); nothing is said about why
        households answered as they did beyond what the scenario table estimates. With
        ``chart`` (PNG bytes) the chart is embedded in the section as a data: URI, so that
        print keeps title and chart together; the notebook shows it as its own output.
        """
        ranked = self.priorities()
        title = f'<h2>{_esc(self.t("section.drivers"))}</h2>'
        if ranked is None:
            return (f'<div class="ek-report ek-keep ek-drivers">{title}'
                    f'<p>{_esc(self.t("section.drivers_missing"))}</p></div>')
        threshold = self.recognition_line
        top = ranked.iloc[0].to_dict()
        intro = self.t("section.drivers_intro", level=self.level_text,
                       action=scenario_label(str(top["scenario"]), self.lang),
                       before=format_percent(top["before"], versus=threshold),
                       after=format_percent(top["estimate"], versus=threshold),
                       gain=format_points(top["change"]),
                       gain_low=format_points(top["change_low"]),
                       gain_high=format_points(top["change_high"]))
        figure = ""
        if chart is not None:
            data = base64.b64encode(chart).decode("ascii")
            figure = (f'<div class="ek-chart"><img alt="{_esc(self.t("chart.drivers.title"))}"'
                      f' src="data:image/png;base64,{data}"></div>')
        return (f'<div class="ek-report ek-keep ek-drivers">{title}'
                f'<p>{_esc(intro)}</p>{figure}</div>')

    def drivers_png(self) -> bytes | None:
        """The drivers chart as PNG bytes (None without scenarios)."""
        ranked = self.priorities()
        if ranked is None:
            return None
        fig = drivers_figure(ranked, self.lang, self.level, self.recognition_line)
        return figure_png(fig, dpi=150)

    def scenarios_html(self) -> str:
        """The table of numbers behind the chart ("" without scenarios)."""
        ranked = self.priorities()
        if ranked is None:
            return ""
        threshold = self.recognition_line
        reach_head = (self.t("col.reaches", threshold=format_line(threshold))
                      if threshold is not None else self.t("reaches.none"))
        columns = [(self.t("col.rank"), "num"), (self.t("col.action"), "wide"),
                   (self.t("col.before"), "num"),
                   (self.t("col.after_with_interval", level=self.level_text), "num"),
                   (self.t("col.gain_with_interval", level=self.level_text), "num"),
                   (reach_head, "status")]
        body: list[tuple[Sequence[str | tuple[str, str]], str]] = []
        for rec in ranked.to_dict("records"):
            reach = status_key(rec["reaches"])
            body.append(([
                str(rec["rank"]), scenario_label(rec["scenario"], self.lang),
                format_percent(rec["before"], versus=threshold),
                (format_percent(rec["estimate"], versus=threshold),
                 _interval_text(rec["ci_low"], rec["ci_high"], threshold)),
                (format_points(rec["change"]),
                 f"{format_points(rec['change_low'])} \u2013 {format_points(rec['change_high'])}"),
                self.t(f"reaches.{reach}"),
            ], reach))
        return f'<div class="ek-report ek-keep">{_table_html(columns, body)}</div>'

    def risk_text(self, item: Any) -> str:
        """One at-risk indicator: its verdicts, then what the run's tables support doing."""
        t = self.t
        key = item.indicator
        row = self.row(key)
        threshold = _number(row.get("threshold"))
        parts = [t("priority.head", indicator=i18n.indicator_label(key, self.lang),
                   verdict=t(f"verdict.{item.decision}"),
                   official=t(f"official.{item.official_decision}")
                   if item.official_decision in ("pass", "fail") else t("verdict.none"))]
        if item.hotspots:
            places = t("priority.list_sep").join(
                t("priority.place", township=h.township,
                  estimate=format_percent(h.estimate, versus=threshold),
                  households=format_count(h.households, self.lang)) for h in item.hotspots)
            parts.append(t(f"priority.hotspots.{row.get('direction') or 'below'}",
                           indicator=i18n.indicator_label(key, self.lang, in_sentence=True),
                           places=places))
        ranked = self.priorities() if key == "recognition" else None
        if ranked is not None and len(ranked):
            top = ranked.iloc[0].to_dict()
            parts.append(t("priority.recognition_model",
                           action=scenario_label(str(top["scenario"]), self.lang),
                           gain=format_points(top["change"]),
                           gain_low=format_points(top["change_low"]),
                           gain_high=format_points(top["change_high"]), level=self.level_text))
        else:
            parts.append(t(f"priority.action.{key}"))
        if item.settle is not None:
            parts.append(t("priority.settle",
                           needed=format_count(item.settle.households_needed, self.lang),
                           villages=format_count(item.settle.villages_needed, self.lang)))
        return self.join(parts)

    def priorities_html(self) -> str:
        """Every indicator at risk, ranked, each with the next steps the run supports."""
        title = f'<h2>{_esc(self.t("section.priorities"))}</h2>'
        if not self.at_risk:
            return (f'<div class="ek-report ek-keep">{title}'
                    f'<p>{_esc(self.t("priority.none"))}</p></div>')
        items = "".join(f"<li>{_esc(self.risk_text(item))}</li>" for item in self.at_risk)
        return (f'<div class="ek-report ek-keep">{title}'
                f'<p class="ek-muted">{_esc(self.t("section.priorities_intro"))}</p>'
                f'<ol class="ek-priorities">{items}</ol></div>')

    def notes_html(self) -> str:
        """How to read the page; method, privacy and provenance."""
        key = f"method.{self.method.replace('_', '-')}"
        method = self.t(key) if i18n.has_text(key, self.lang) else self.method
        notes = [self.t("notes.official", design=self.design_text),
                 self.t("notes.verdict", level=self.level_text),
                 self.t("notes.method", method=method), self.t("notes.privacy"),
                 self.t("notes.source", run=self.run_name or "\u2013")]
        return (f'<div class="ek-report ek-notes"><h2>{_esc(self.t("section.notes"))}</h2>'
                + "".join(f"<p>{_esc(n)}</p>" for n in notes) + "</div>")

    def sections(self, embed_figures: bool = False) -> list[tuple[str, str | bytes]]:
        """The page in order, as ``("html", text)`` and ``("png", bytes)`` pieces.

        ``embed_figures`` puts the chart inside its section's HTML instead of a PNG piece.
        """
        pieces: list[tuple[str, str | bytes]] = [
            ("html", self.header_html()), ("html", self.cards_html())]
        cautions = self.cautions_html()
        if cautions:
            pieces.append(("html", cautions))
        pieces.append(("html", self.priorities_html()))
        png = self.drivers_png()
        if embed_figures:
            pieces.append(("html", self.drivers_intro_html(png)))
        else:
            pieces.append(("html", self.drivers_intro_html()))
            if png is not None:
                pieces.append(("png", png))
        scenario_table = self.scenarios_html()
        if scenario_table:
            pieces.append(("html", scenario_table))
        secondary = self.secondary_html()
        if secondary:
            pieces.append(("html", secondary))
        pieces.append(("html", self.notes_html()))
        return pieces

    def html(self) -> str:
        """The whole page as one self-contained HTML document (figures as data: URIs)."""
        from evalkit.report.webfont import font_face_css

        body = [str(piece) for _, piece in self.sections(embed_figures=True)]
        return (
            "<!DOCTYPE html>\n"
            f'<html lang="{"zh-CN" if self.lang == "zh" else "en"}">\n<head>\n'
            '<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_esc(self.title)}</title>\n"
            f"<style>{font_face_css(''.join(body))}\n"
            "body { margin: 0; padding: 1rem; background: #fff; }</style>\n"
            "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
        )

    def show(self) -> None:
        """Display the page in a notebook: HTML pieces and the chart as an image output."""
        from IPython.display import HTML, Image, display

        for kind, piece in self.sections():
            if kind == "png":
                # Shown at 3/4 of its pixel width (sharp on high-density screens), never
                # wider than the page (the notebook CSS caps images at 100%).
                width = int.from_bytes(piece[16:20], "big")  # type: ignore[index]
                display(Image(data=piece, format="png", width=width * 3 // 4,
                              metadata={"alt": self.t("chart.drivers.title")}))
            else:
                display(HTML(piece))

    # -- Excel -------------------------------------------------------------------------
    def indicator_sheet(self) -> pd.DataFrame:
        """The indicator table with translated headers and labels, numbers unrounded."""
        t = self.t
        rows = []
        for rec in self.indicators.to_dict("records"):
            direction = str(rec.get("direction") or "")
            rows.append({
                t("col.indicator"): i18n.indicator_label(str(rec["indicator"]), self.lang),
                t("col.estimate"): _number(rec["estimate"]),
                t("col.ci_low"): _number(rec.get("ci_low")),
                t("col.ci_high"): _number(rec.get("ci_high")),
                t("col.official"): _number(rec.get("official")),
                t("col.threshold"): _number(rec.get("threshold")),
                t("col.direction"): t(f"direction.{direction}") if direction else None,
                t("col.status"): t(f"status.{status_key(rec.get('decision'))}"),
                t("col.official_status"):
                    t(f"status.{status_key(rec.get('official_decision'))}"),
                t("col.households"): int(rec["n_households"]),
                t("col.se"): _number(rec.get("se")),
                t("col.deff"): _number(rec.get("deff")),
                t("col.df"): _number(rec.get("df")),
                t("col.method"): rec.get("method"),
            })
        return pd.DataFrame(rows)

    def priority_sheet(self) -> pd.DataFrame | None:
        """Ranked scenarios with translated headers (changes in percentage points)."""
        ranked = self.priorities()
        if ranked is None:
            return None
        t = self.t
        threshold = self.recognition_line
        return pd.DataFrame({
            t("col.rank"): ranked["rank"].astype(int),
            t("col.action"): [scenario_label(s, self.lang) for s in ranked["scenario"]],
            t("col.before"): ranked["before"],
            t("col.after"): ranked["estimate"],
            t("col.after_low"): ranked["ci_low"],
            t("col.after_high"): ranked["ci_high"],
            t("col.gain"): ranked["change"] * 100,
            t("col.gain_low"): ranked["change_low"] * 100,
            t("col.gain_high"): ranked["change_high"] * 100,
            (t("col.reaches", threshold=format_line(threshold)) if threshold is not None
             else t("reaches.none")): [t(f"reaches.{status_key(r)}") for r in ranked["reaches"]],
        })

    def to_xlsx(self, path: str | Path) -> Path:
        """Write the key tables to an Excel workbook for staff who work in Excel.

        Sheets: indicators, priorities (when the run has scenarios) and about (run, level,
        method, sample). Proportions are stored as numbers formatted as percentages, so they
        stay computable. The file is byte-for-byte reproducible (fixed timestamps).
        """
        from openpyxl import Workbook
        from openpyxl.styles import Alignment, Font, PatternFill

        t = self.t
        sheets: list[tuple[str, pd.DataFrame, set[str], set[str]]] = []
        ind = self.indicator_sheet()
        pct = {t("col.estimate"), t("col.ci_low"), t("col.ci_high"), t("col.official"),
               t("col.threshold"), t("col.se")}
        sheets.append((t("sheet.indicators"), ind, pct, {t("col.deff")}))
        pri = self.priority_sheet()
        if pri is not None:
            sheets.append((t("sheet.priorities"), pri,
                           {t("col.before"), t("col.after"), t("col.after_low"),
                            t("col.after_high")},
                           {t("col.gain"), t("col.gain_low"), t("col.gain_high")}))
        about = pd.DataFrame({t("about.key"): [t("about.run"), t("about.level"),
                                               t("about.method"), t("about.households"),
                                               t("about.villages")],
                              t("about.value"): [self.run_name, self.level_text, self.method,
                                                 self.households, self.villages]})
        sheets.append((t("sheet.about"), about, set(), set()))

        wb = Workbook()
        wb.remove(wb.active)
        wb.properties.creator = "evalkit"  # save times are fixed by evalkit.contract.xlsx
        header_font = Font(bold=True)
        header_fill = PatternFill("solid", fgColor="F6F8FA")
        for name, frame, percent_cols, decimal_cols in sheets:
            ws = wb.create_sheet(name[:31])
            ws.append(list(frame.columns))
            for cell in ws[1]:
                cell.font = header_font
                cell.fill = header_fill
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            for values in frame.itertuples(index=False):
                ws.append([_excel_value(v) for v in values])
            for j, column in enumerate(frame.columns, start=1):
                letter = ws.cell(row=1, column=j).column_letter
                fmt = ("0.00%" if column in percent_cols else
                       "0.00" if column in decimal_cols else None)
                if fmt:
                    for i in range(2, len(frame) + 2):
                        ws.cell(row=i, column=j).number_format = fmt
                width = max([_display_width(str(column))]
                            + [_display_width(str(v)) for v in frame[column]
                               if v is not None]) + 2
                ws.column_dimensions[letter].width = min(max(width, 8), 48)
            ws.freeze_panes = "B2"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return xlsx.save_workbook(wb, path)


_CELL_CLASS = {"num": ' class="ek-num"', "wide": ' class="ek-wide"', "text": "",
               "status": ' class="ek-status"'}


def _table_html(columns: Sequence[tuple[str, str]],
                rows: Sequence[tuple[Sequence[str | tuple[str, str]], str]]) -> str:
    """A scrolling table; ``columns`` are (header, kind) with kind num/text/wide/status.

    A cell is a string, or a (value, interval) pair shown as the value with the interval in
    small print under it (five columns fit a phone or an A4 page where eight would not). A
    status cell takes the traffic-light colour of its row's status key. Each cell carries
    its header in ``data-label``: on a phone the rows stack as cards, each value beside its
    header (CSS only).
    """
    head = "".join(f"<th{_CELL_CLASS[kind]}>{_esc(h)}</th>" for h, kind in columns)
    body = []
    for cells, status in rows:
        tds = []
        for cell, (header, kind) in zip(cells, columns, strict=True):
            style = f' style="color:{STATUS_COLOURS[status]}"' if kind == "status" else ""
            if isinstance(cell, tuple):
                content = (f'<span class="ek-val">{_esc(cell[0])}'
                           f'<span class="ek-sub">{_esc(cell[1])}</span></span>')
            else:
                content = _esc(cell)
            tds.append(f'<td{_CELL_CLASS[kind]}{style} data-label="{_esc(header)}">'
                       f"{content}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return ('<div class="ek-table-wrap"><table class="ek-table"><thead><tr>'
            f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _interval_text(low: object, high: object, threshold: float | None) -> str:
    lo, hi = _number(low), _number(high)
    return (f"{format_percent(lo if lo is not None else math.nan, versus=threshold)} \u2013 "
            f"{format_percent(hi if hi is not None else math.nan, versus=threshold)}")


def _percent_or_dash(value: float | None, threshold: float | None) -> str:
    return "\u2013" if value is None else format_percent(value, versus=threshold)


def _excel_value(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def _display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default font.
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (times a power of ten) >= ``value``."""
    exponent = math.floor(math.log10(value))
    for step in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        candidate = round(step * 10.0**exponent, 12)
        if candidate >= value:
            return min(candidate, 1.0)
    return min(10.0 ** (exponent + 1), 1.0)


def line_scale(values: Sequence[float | None], direction: str) -> tuple[float, float]:
    """The (bottom, top) of a number line showing ``values`` (estimates, bounds, lines).

    Cards compared side by side get one scale: pass every value of every card.
    """
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    if direction == "at_least":
        return (max(0.0, 1.0 - _nice_ceiling(1.6 * (1.0 - min(finite)))), 1.0)
    return (0.0, _nice_ceiling(max(finite) * 1.25) if max(finite) > 0 else 0.01)


def number_line_svg(estimate: float, low: float | None, high: float | None,
                    threshold: float | None, direction: str, status: str,
                    aria: str = "", scale: tuple[float, float] | None = None) -> str:
    """An inline SVG number line: the interval as a bar, the estimate as a dot, the line.

    The side of the line that passes is tinted green, the other red. Only digits and ``%``
    appear as text, 13 units high in a 300-unit-wide box: at least 11 px wherever the line
    is drawn 254 px wide or more (a card on a 390 px phone, half an A4 page). ``scale``
    (bottom, top) puts several cards on one scale (:func:`line_scale`).
    """
    bottom, top = scale or line_scale([estimate, low, high, threshold], direction)
    span = top - bottom or 1.0
    x0, x1 = 10.0, 290.0

    def x(v: float) -> float:
        return round(x0 + (min(max(v, bottom), top) - bottom) / span * (x1 - x0), 1)

    parts = [f'<svg class="ek-line" viewBox="0 0 300 64" role="img" '
             f'aria-label="{_esc(aria)}">']
    if threshold is not None:
        good_left = direction != "at_least"
        xt = x(threshold)
        parts.append(f'<rect x="{x0}" y="20" width="{round(xt - x0, 1)}" height="16" '
                     f'fill="{STATUS_TINTS["pass" if good_left else "fail"]}"/>')
        parts.append(f'<rect x="{xt}" y="20" width="{round(x1 - xt, 1)}" height="16" '
                     f'fill="{STATUS_TINTS["fail" if good_left else "pass"]}"/>')
    parts.append(f'<line x1="{x0}" y1="36" x2="{x1}" y2="36" stroke="#8c959f" '
                 'stroke-width="1"/>')
    if low is not None and high is not None:
        parts.append(f'<line x1="{x(low)}" y1="28" x2="{x(high)}" y2="28" '
                     f'stroke="{STATUS_COLOURS[status]}" stroke-width="5" '
                     'stroke-linecap="round"/>')
    parts.append(f'<circle cx="{x(estimate)}" cy="28" r="5" fill="#fff" '
                 f'stroke="{STATUS_COLOURS[status]}" stroke-width="2.5"/>')
    if threshold is not None:
        xt = x(threshold)
        anchor = "start" if xt < x0 + 20 else "end" if xt > x1 - 20 else "middle"
        parts.append(f'<line x1="{xt}" y1="16" x2="{xt}" y2="40" stroke="#1f2328" '
                     'stroke-width="1.5" stroke-dasharray="3 2"/>')
        parts.append(f'<text x="{xt}" y="13" font-size="13" text-anchor="{anchor}" '
                     f'fill="#1f2328">{_esc(format_line(threshold))}</text>')
    parts.append(f'<text x="{x0}" y="56" font-size="13" fill="#57606a">'
                 f'{_esc(format_line(round(bottom, 4)))}</text>')
    parts.append(f'<text x="{x1}" y="56" font-size="13" text-anchor="end" fill="#57606a">'
                 f'{_esc(format_line(round(top, 4)))}</text>')
    parts.append("</svg>")
    return "".join(parts)


# --------------------------------------------------------------------------------------
# from a run's params to the report
# --------------------------------------------------------------------------------------
def build_report(indicators: pd.DataFrame, scenarios: pd.DataFrame | None = None, *,
                 lang: str = "en", level: float = 0.95, method: str = "logit",
                 run_name: str = "", households: int | None = None,
                 villages: int | None = None, weighted: bool = True,
                 clustered: bool = True, cautions: Sequence[Any] = ()) -> PolicyReport:
    """A :class:`PolicyReport` from an indicator table and a scenario table.

    ``weighted`` and ``clustered`` say whether the design had weights (or probabilities)
    and clusters, so the page never claims survey weights for an unweighted estimate.
    ``cautions`` (:mod:`evalkit.assessment.fragility`) get their own section.
    """
    return PolicyReport(indicators=indicators, scenarios=scenarios, lang=lang, level=level,
                        method=method, run_name=run_name, households=households,
                        villages=villages, weighted=weighted, clustered=clustered,
                        cautions=tuple(cautions))


def report_from_params(*, data: Mapping[str, str], design: Mapping[str, Any],
                       thresholds: Mapping[str, float], level: float, ci_method: str,
                       lang: str, run_name: str, params_dir: str | Path,
                       satisfaction: Mapping[str, Any], seed: int = 0) -> PolicyReport:
    """Everything notebook 04 shows, computed from the run's parameters.

    Loads the frame and survey and builds the design (:func:`evalkit.assessment.inputs.load_inputs`,
    as the other notebooks do), estimates the indicators
    (:func:`evalkit.assessment.indicators.assess`),
    fits the satisfaction model (``satisfaction.formula``, :func:`evalkit.survey.svyglm.logit`) and
    predicts its scenarios (``satisfaction.scenarios``). Nothing is read from the other
    notebooks' outputs, so the report does not depend on the order they ran in.

    The cautions of notebooks 02 and 03 (:mod:`evalkit.assessment.fragility`: zero events, analyses
    not estimable, fragile model cells, bootstrap replicates left out) are recomputed the
    same way (the decomposition with the run's ``seed``) and shown in their own section.
    """
    from evalkit.assessment.fragility import (
        indicator_cautions,
        nonresponse_cautions,
        satisfaction_analysis,
    )
    from evalkit.assessment.indicators import assess, indicator_table
    from evalkit.assessment.inputs import load_inputs

    i18n.check_lang(lang)
    inputs = load_inputs(dict(data), dict(design), params_dir)
    results = assess(inputs.design, inputs.frame, dict(thresholds), method=ci_method,
                     level=level)
    table = indicator_table(results)
    names = list(satisfaction.get("scenarios") or [])
    scenarios = None
    cautions = indicator_cautions(table)
    cautions += nonresponse_cautions(inputs.nonresponse.table)
    if satisfaction.get("formula"):
        analysis = satisfaction_analysis(
            inputs.design, str(satisfaction["formula"]), names,
            replicates=int(satisfaction.get("bootstrap_replicates") or 200), seed=seed,
            level=level, steps=("model", "scenarios", "decomposition"))
        scenarios = analysis.scenarios
        cautions += analysis.cautions
    return build_report(table, scenarios, lang=lang, level=level,
                        method=ci_method, run_name=run_name,
                        households=len(inputs.survey), villages=inputs.design.n_psu,
                        weighted=inputs.design.weights is not None
                        or inputs.design.probs is not None,
                        clustered=inputs.design.psu is not None,
                        cautions=cautions)


# Public names of the two HTML helpers other modules' report sections use.
escape_html = _esc
table_html = _table_html


def report_from_tables(tables_dir: str | Path, *, lang: str, level: float, ci_method: str,
                       run_name: str, households: int | None = None,
                       villages: int | None = None, weighted: bool = True,
                       clustered: bool = True, county: str | None = None,
                       period: str | None = None, assessor: str | None = None) -> PolicyReport:
    """The policy page from the tables notebooks 02 and 03 wrote
    (:mod:`evalkit.assessment.summary`).

    ``households`` and ``villages`` describe the sample, ``weighted`` and ``clustered`` its
    design; ``county``, ``period`` and ``assessor`` identify the report (params, optional).
    The cautions are notebook 02's (:func:`evalkit.assessment.fragility.indicator_cautions` of
    ``indicators.csv``) and notebook 03's (``cautions.csv``), and a low response rate in
    a weighting cell of notebook 02's ``nonresponse.csv``.
    """
    from evalkit.assessment.fragility import indicator_cautions, nonresponse_cautions
    from evalkit.assessment.summary import read_cautions, read_table

    indicators = read_table(tables_dir, "indicators.csv")
    scenarios = read_table(tables_dir, "scenarios.csv", required=False)
    by_township = read_table(tables_dir, "indicators_by_township.csv", required=False)
    assert indicators is not None
    return PolicyReport(indicators=indicators, scenarios=scenarios, lang=lang, level=level,
                        method=ci_method, run_name=run_name, households=households,
                        villages=villages, by_township=by_township, county=county,
                        period=period, assessor=assessor, weighted=weighted,
                        clustered=clustered,
                        cautions=(*indicator_cautions(indicators),
                                  *read_cautions(tables_dir),
                                  *nonresponse_cautions(read_table(
                                      tables_dir, "nonresponse.csv", required=False))))
