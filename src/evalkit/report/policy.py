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
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.contract import xlsx
from evalkit.contract.errors import EvalkitError
from evalkit.report import i18n
from evalkit.report.cautions import caution_text
from evalkit.report.charts import line_scale, number_line_svg
from evalkit.report.html_parts import (
    display_width,
    escape_html,
    excel_value,
    interval_text,
    percent_or_dash,
    table_html,
)
from evalkit.report.i18n import format_count, format_line, format_percent, format_points
from evalkit.report.plots import drivers_figure, figure_png
from evalkit.report.policy_style import CSS
from evalkit.report.verdicts import (
    HEADLINE_KEYS,
    INDICATOR_COLUMNS,
    STATUS_COLOURS,
    STATUS_TINTS,
    number_or_none,
    rank_priorities,
    require_table_columns,
    scenario_label,
    sentence,
    status_key,
)


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
        require_table_columns(self.indicators, INDICATOR_COLUMNS, "indicator table")
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
        return number_or_none(self.row("recognition").get("threshold"))

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
                               now=number_or_none(self.row("recognition").get("estimate")))

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
        return '<p class="ek-muted ek-identity">' + " · ".join(map(escape_html, parts)) + "</p>"

    def header_html(self) -> str:
        """Style sheet, title, what the page shows, the sample, and the verdict counts."""
        parts = [f"<style>{self.css()}</style>", '<div class="ek-report" lang="'
                 f'{"zh-CN" if self.lang == "zh" else "en"}">',
                 f"<h1>{escape_html(self.title)}</h1>", self.identity_html(),
                 f"<p>{escape_html(self.t('report.intro', level=self.level_text))}</p>"]
        if self.households is not None and self.villages is not None:
            parts.append('<p class="ek-muted">' + escape_html(self.t(
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
                f'background:{STATUS_TINTS[status]}">{escape_html(self.t(f"status.{status}"))}: '
                f'{escape_html(self.t("summary.count", count=count, total=len(statuses)))}</span>')
        parts.append(f'<p class="ek-muted" style="margin-bottom:0">'
                     f'{escape_html(self.t("report.summary_title"))}</p>')
        parts.append('<div class="ek-chips">' + "".join(chips) + "</div>")
        parts.append("</div>")
        return "\n".join(parts)

    def card_html(self, key: str) -> str:
        """One traffic-light card."""
        row = self.row(key)
        status = status_key(row.get("decision"))
        colour = STATUS_COLOURS[status]
        threshold = number_or_none(row.get("threshold"))
        direction = str(row.get("direction") or "below")
        est = float(row["estimate"])
        low, high = number_or_none(row.get("ci_low")), number_or_none(row.get("ci_high"))
        official = number_or_none(row.get("official"))
        interval = interval_text(low, high, threshold)
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
        households = number_or_none(row.get("n_households"))
        meta = [f"<span>{escape_html(line_text)}</span>"]
        if households is not None:
            meta.append("<span>" + escape_html(self.t(
                "card.households", households=format_count(int(households), self.lang)))
                + "</span>")
        return (
            f'<div class="ek-card" data-indicator="{escape_html(key)}" data-status="{status}" '
            f'style="border-left-color:{colour}">'
            f'<div class="ek-card-head"><span class="ek-card-name">{escape_html(name)}</span>'
            f'<span class="ek-badge" style="background:{colour}">'
            f'{escape_html(self.t(f"status.{status}"))}</span></div>'
            '<div class="ek-figures">'
            f'<div><span class="ek-figure-label">{escape_html(self.t("card.estimate"))}</span>'
            f'<span class="ek-big" style="color:{colour}">'
            f'{escape_html(format_percent(est, versus=threshold))}</span></div>'
            f'<div><span class="ek-figure-label">'
            f'{escape_html(self.t("card.interval", level=self.level_text))}</span>'
            f'<span class="ek-mid">{escape_html(interval)}</span></div>'
            f'<div><span class="ek-figure-label">{escape_html(self.t("card.official"))}</span>'
            f'<span class="ek-mid">{escape_html(official_text)}</span></div>'
            "</div>"
            f"{svg}"
            f'<p class="ek-sentence">{escape_html(text)}</p>'
            f"{self.decides_html(row)}"
            f'<div class="ek-meta">{"".join(meta)}</div>'
            f'<p class="ek-what">{escape_html(self.t(f"indicator.{key}.what"))}</p>'
            "</div>"
        )

    def decides_html(self, row: Mapping[str, Any]) -> str:
        """Which verdict the exit decision uses, what the other says, and why they differ.

        The assessment's rule judges the official plain ratio against the line; the
        design-based verdict says whether the sample is large enough to be sure of the
        county's true rate. Every figure comes from the indicator table (official ratio and
        its verdict, design-based verdict, design effect); "" without a line.
        """
        threshold = number_or_none(row.get("threshold"))
        status = status_key(row.get("decision"))
        official_status = status_key(row.get("official_decision"))
        official = number_or_none(row.get("official"))
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
            deff = number_or_none(row.get("deff"))
            if deff is not None and deff > 1:
                parts.append(t("decides.why_deff", deff=f"{deff:.1f}",
                               wider=f"{math.sqrt(deff):.1f}"))
            else:
                parts.append(t("decides.why"))
        settle = next((r.settle for r in self.at_risk
                       if r.indicator == str(row["indicator"]) and r.settle is not None), None)
        if settle is not None:
            parts.append(self.settle_text(settle))
        return f'<p class="ek-decides">{escape_html(self.join(parts))}</p>'

    def settle_text(self, settle: Any) -> str:
        """The sample that would settle a "cannot tell" verdict, as a sentence."""
        estimate = number_or_none(self.row(settle.indicator).get("estimate"))
        threshold = number_or_none(self.row(settle.indicator).get("threshold"))
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
                values += [number_or_none(row.get(c)) for c in
                           ("estimate", "ci_low", "ci_high", "threshold")]
        return line_scale(values, direction)

    def cards_html(self) -> str:
        """The four headline cards under their section title."""
        cards = "\n".join(self.card_html(k) for k in HEADLINE_KEYS)
        return (f'<div class="ek-report"><h2>{escape_html(self.t("section.headline"))}</h2>'
                f'<div class="ek-cards">\n{cards}\n</div></div>')

    def cautions_html(self) -> str:
        """What to read with care: one sentence per caution ("" when there is none)."""
        if not self.cautions:
            return ""
        items = "".join(f"<li>{escape_html(caution_text(c, self.lang))}</li>"
                        for c in self.cautions)
        return (f'<div class="ek-report ek-keep ek-cautions">'
                f'<h2>{escape_html(self.t("section.cautions"))}</h2>'
                f'<p class="ek-muted">{escape_html(self.t("section.cautions_intro"))}</p>'
                f"<ul>{items}</ul></div>")

    def secondary_html(self) -> str:
        """The other indicators in one compact table ("" when there are none).

        The line and verdict columns appear only when some secondary indicator has a line
        (the assessment sets none by default).
        """
        rows = self.indicators.loc[~self.indicators["indicator"].isin(HEADLINE_KEYS)]
        if rows.empty:
            return ""
        with_lines = rows["threshold"].map(number_or_none).notna().any()
        columns = [(self.t("col.indicator"), "wide"), (self.t("col.estimate"), "num"),
                   (self.t("col.interval", level=self.level_text), "num"),
                   (self.t("col.official"), "num")]
        if with_lines:
            columns += [(self.t("col.threshold"), "num"), (self.t("col.status"), "status")]
        columns.append((self.t("col.households"), "num"))
        body = []
        for rec in rows.to_dict("records"):
            threshold = number_or_none(rec.get("threshold"))
            status = status_key(rec.get("decision"))
            cells = [
                i18n.indicator_label(str(rec["indicator"]), self.lang),
                format_percent(float(rec["estimate"]), versus=threshold),
                interval_text(rec.get("ci_low"), rec.get("ci_high"), threshold),
                percent_or_dash(number_or_none(rec.get("official")), threshold),
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
                f'<h2>{escape_html(self.t("section.secondary"))}</h2><p class="ek-muted">'
                f'{escape_html(self.t("section.secondary_intro", level=self.level_text))}</p>'
                f"{table_html(columns, body)}</div>")

    def drivers_intro_html(self, chart: bytes | None = None) -> str:
        """Section title, what the model estimates (from its numbers), chart and table.

        The sentence names the scenario with the largest estimated gain and quotes its
        numbers (recognition now from the indicator table); nothing is said about why
        households answered as they did beyond what the scenario table estimates. With
        ``chart`` (PNG bytes) the chart is embedded in the section as a data: URI, so that
        print keeps title and chart together; the notebook shows it as its own output.
        """
        ranked = self.priorities()
        title = f'<h2>{escape_html(self.t("section.drivers"))}</h2>'
        if ranked is None:
            return (f'<div class="ek-report ek-keep ek-drivers">{title}'
                    f'<p>{escape_html(self.t("section.drivers_missing"))}</p></div>')
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
            alt = escape_html(self.t("chart.drivers.title"))
            figure = (f'<div class="ek-chart"><img alt="{alt}"'
                      f' src="data:image/png;base64,{data}"></div>')
        return (f'<div class="ek-report ek-keep ek-drivers">{title}'
                f'<p>{escape_html(intro)}</p>{figure}</div>')

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
                 interval_text(rec["ci_low"], rec["ci_high"], threshold)),
                (format_points(rec["change"]),
                 f"{format_points(rec['change_low'])} \u2013 {format_points(rec['change_high'])}"),
                self.t(f"reaches.{reach}"),
            ], reach))
        return f'<div class="ek-report ek-keep">{table_html(columns, body)}</div>'

    def risk_text(self, item: Any) -> str:
        """One at-risk indicator: its verdicts, then what the run's tables support doing."""
        t = self.t
        key = item.indicator
        row = self.row(key)
        threshold = number_or_none(row.get("threshold"))
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
        title = f'<h2>{escape_html(self.t("section.priorities"))}</h2>'
        if not self.at_risk:
            return (f'<div class="ek-report ek-keep">{title}'
                    f'<p>{escape_html(self.t("priority.none"))}</p></div>')
        items = "".join(f"<li>{escape_html(self.risk_text(item))}</li>" for item in self.at_risk)
        return (f'<div class="ek-report ek-keep">{title}'
                f'<p class="ek-muted">{escape_html(self.t("section.priorities_intro"))}</p>'
                f'<ol class="ek-priorities">{items}</ol></div>')

    def notes_html(self) -> str:
        """How to read the page; method, privacy and provenance."""
        key = f"method.{self.method.replace('_', '-')}"
        method = self.t(key) if i18n.has_text(key, self.lang) else self.method
        notes = [self.t("notes.official", design=self.design_text),
                 self.t("notes.verdict", level=self.level_text),
                 self.t("notes.method", method=method), self.t("notes.privacy"),
                 self.t("notes.source", run=self.run_name or "\u2013")]
        return (f'<div class="ek-report ek-notes"><h2>{escape_html(self.t("section.notes"))}</h2>'
                + "".join(f"<p>{escape_html(n)}</p>" for n in notes) + "</div>")

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
            f"<title>{escape_html(self.title)}</title>\n"
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
                t("col.estimate"): number_or_none(rec["estimate"]),
                t("col.ci_low"): number_or_none(rec.get("ci_low")),
                t("col.ci_high"): number_or_none(rec.get("ci_high")),
                t("col.official"): number_or_none(rec.get("official")),
                t("col.threshold"): number_or_none(rec.get("threshold")),
                t("col.direction"): t(f"direction.{direction}") if direction else None,
                t("col.status"): t(f"status.{status_key(rec.get('decision'))}"),
                t("col.official_status"):
                    t(f"status.{status_key(rec.get('official_decision'))}"),
                t("col.households"): int(rec["n_households"]),
                t("col.se"): number_or_none(rec.get("se")),
                t("col.deff"): number_or_none(rec.get("deff")),
                t("col.df"): number_or_none(rec.get("df")),
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
                ws.append([excel_value(v) for v in values])
            for j, column in enumerate(frame.columns, start=1):
                letter = ws.cell(row=1, column=j).column_letter
                fmt = ("0.00%" if column in percent_cols else
                       "0.00" if column in decimal_cols else None)
                if fmt:
                    for i in range(2, len(frame) + 2):
                        ws.cell(row=i, column=j).number_format = fmt
                width = max([display_width(str(column))]
                            + [display_width(str(v)) for v in frame[column]
                               if v is not None]) + 2
                ws.column_dimensions[letter].width = min(max(width, 8), 48)
            ws.freeze_panes = "B2"
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return xlsx.save_workbook(wb, path)


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
