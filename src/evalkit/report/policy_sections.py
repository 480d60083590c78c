"""The policy page's sections, each a function of one :class:`PageContext`.

:class:`PageContext` is the one home of what the page shows: the run's tables and the
settings that describe it. :class:`evalkit.report.policy.PolicyReport` is a
:class:`PageContext` that checks its tables and gives the page; the ranked priorities and
the indicators at risk are computed once per report (cached on first use) and read by the
functions here, one per section, in the page's order (:func:`page_sections`). Every number
shown comes from the context's tables; every word from ``resources/locale``
(:mod:`evalkit.report.i18n`).

HTML uses inline CSS only, no script and no URL: it opens offline, reflows on a phone
(flex-wrap cards, scrolling tables) and prints on A4 (``@media print``, no card split across
pages). The drivers chart is PNG bytes (:func:`evalkit.report.plots.drivers_figure`),
embedded as a base64 ``data:`` URI in the standalone page and displayed as an image output
in the notebook (nbval does not compare image bytes). Household rows never reach this
module: only aggregate estimates are shown, so no name, ID number or phone can appear.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from evalkit.report import i18n
from evalkit.report.cautions import caution_text
from evalkit.report.charts import line_scale, number_line_svg
from evalkit.report.html_parts import escape_html, interval_text, percent_or_dash, table_html
from evalkit.report.i18n import format_count, format_line, format_percent, format_points
from evalkit.report.plots import drivers_figure, figure_png
from evalkit.report.policy_claims import hotspot_sentences, scenario_caveats, settle_text
from evalkit.report.policy_decision import decision_html, summary_chips
from evalkit.report.policy_style import CSS
from evalkit.report.verdicts import (
    HEADLINE_KEYS,
    STATUS_COLOURS,
    number_or_none,
    rank_priorities,
    scenario_label,
    sentence,
    status_key,
)

if TYPE_CHECKING:
    from evalkit.assessment.summary import AtRisk

#: A piece of the page: ``("html", text)`` or ``("png", bytes)``.
Piece = tuple[str, str | bytes]


@dataclass(frozen=True)
class PageContext:
    """What every section of the policy page reads: a run's tables and its page settings.

    ``indicators``: :func:`evalkit.assessment.indicators.indicator_table` of the run.
    ``scenarios``: the satisfaction model's scenario table, or None when the run has none.
    ``households`` and ``villages`` describe the sample (for the one-line description),
    ``weighted`` and ``clustered`` its design; ``method`` and ``run_name`` the run;
    ``county``, ``period`` and ``assessor`` who and what the page is about (params,
    optional). A new page setting is one new field here.

    Derived once per context, on first use: :attr:`ranked` (the scenarios' priorities) and
    :attr:`at_risk` (the headline indicators at risk, with their next steps).
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
    #: The frame's count of villages, to flag a sample that would settle a verdict only
    #: with more villages than the county has (None: not known).
    frame_villages: int | None = None

    @cached_property
    def ranked(self) -> pd.DataFrame | None:
        """:func:`evalkit.report.verdicts.rank_priorities` of the scenarios against the
        recognition line (None without scenarios)."""
        if self.scenarios is None or len(self.scenarios) == 0:
            return None
        row = self.row("recognition")
        return rank_priorities(self.scenarios, number_or_none(row.get("threshold")),
                               now=number_or_none(row.get("estimate")))

    @cached_property
    def at_risk(self) -> tuple[AtRisk, ...]:
        """:func:`evalkit.assessment.summary.at_risk`: the headline indicators at risk,
        ranked, with their next steps (no sample size to settle a verdict without
        ``villages``)."""
        from evalkit.assessment.summary import at_risk

        return tuple(at_risk(self.indicators, self.level, int(self.villages or 0),
                             self.by_township, households=self.households,
                             frame_villages=self.frame_villages, method=self.method))

    def t(self, key: str, **values: object) -> str:
        """The page's words for ``key`` in its language (:func:`evalkit.report.i18n.text`)."""
        return i18n.text(key, self.lang, **values)

    def join(self, sentences: Sequence[str]) -> str:
        """Sentences run together: no space between Chinese sentences, one in English."""
        return ("" if self.lang == "zh" else " ").join(sentences)

    def row(self, key: str) -> dict[str, Any]:
        """The indicator table's row for ``key``."""
        rows = self.indicators.loc[self.indicators["indicator"] == key]
        return rows.iloc[0].to_dict()

    @property
    def level_text(self) -> str:
        """The confidence level as the page writes it (``95%``)."""
        return format_line(self.level)

    @property
    def design_text(self) -> str:
        """How the estimates use the design: weighted or not, clustered or not."""
        return self.t("design.description",
                      weights=self.t("design.weighted" if self.weighted
                                     else "design.unweighted"),
                      clusters=self.t("design.clustered" if self.clustered
                                      else "design.unclustered"))

    @property
    def recognition_line(self) -> float | None:
        """The recognition rate's line (None when the table gives none)."""
        return number_or_none(self.row("recognition").get("threshold"))

    @property
    def title(self) -> str:
        """The page heading (also the browser tab's title and the run index's link)."""
        return page_title(self.lang, self.county)


def page_title(lang: str, county: str | None = None) -> str:
    """The page heading (also the browser tab's title and the run index's link)."""
    if county:
        return i18n.text("report.title_county", lang, county=county)
    return i18n.text("report.title", lang)


# --------------------------------------------------------------------------------------
# header and headline cards
# --------------------------------------------------------------------------------------
def identity_html(page: PageContext) -> str:
    """Survey period and assessing body, when the params give them."""
    parts = []
    if page.period:
        parts.append(page.t("report.period", period=page.period))
    if page.assessor:
        parts.append(page.t("report.assessor", assessor=page.assessor))
    if not parts:
        return ""
    return '<p class="ek-muted ek-identity">' + " · ".join(map(escape_html, parts)) + "</p>"


def header_html(page: PageContext) -> str:
    """Style sheet, title, the exit decision (:func:`decision_html`), the verdict counts
    (official first, then how sure the sample is), what the page shows and the sample.

    The font is embedded by :func:`document_html` and by
    :func:`evalkit.report.render.render_notebook` for the policy page.
    """
    parts = [f"<style>{CSS}</style>", '<div class="ek-report" lang="'
             f'{"zh-CN" if page.lang == "zh" else "en"}">',
             f"<h1>{escape_html(page.title)}</h1>", identity_html(page),
             decision_html(page),
             f'<p class="ek-muted" style="margin-bottom:0">'
             f'{escape_html(page.t("report.summary_title"))}</p>',
             summary_chips(page, "official_decision", ("fail", "pass", "none")),
             summary_chips(page, "decision", ("fail", "cannot_tell", "pass", "none")),
             f"<p>{escape_html(page.t('report.intro', level=page.level_text))}</p>"]
    if page.households is not None and page.villages is not None:
        parts.append('<p class="ek-muted">' + escape_html(page.t(
            "report.sample", households=format_count(page.households, page.lang),
            villages=format_count(page.villages, page.lang), level=page.level_text,
            design=page.design_text))
            + "</p>")
    parts.append("</div>")
    return "\n".join(parts)


def card_scale(page: PageContext, direction: str) -> tuple[float, float]:
    """One number-line scale for all headline cards judged in ``direction``."""
    values: list[float | None] = []
    for key in HEADLINE_KEYS:
        row = page.row(key)
        if str(row.get("direction") or "below") == direction:
            values += [number_or_none(row.get(c)) for c in
                       ("estimate", "ci_low", "ci_high", "threshold")]
    return line_scale(values, direction)


def official_text(page: PageContext, row: Mapping[str, Any]) -> str:
    """The official plain figure of a card, with its verdict when the rule gives one."""
    threshold = number_or_none(row.get("threshold"))
    official = number_or_none(row.get("official"))
    text = format_percent(official if official is not None else math.nan, versus=threshold)
    official_status = status_key(row.get("official_decision"))
    if official_status in ("pass", "fail"):
        text = page.t("card.official_verdict", figure=text,
                      verdict=page.t(f"official.{official_status}"))
    return text


def card_html(page: PageContext, key: str) -> str:
    """One traffic-light card: the official verdict's badge and then the statistical one,
    estimate, interval, official figure, number line (the interval that decides), sentence."""
    row = page.row(key)
    status = status_key(row.get("decision"))
    colour = STATUS_COLOURS[status]
    threshold = number_or_none(row.get("threshold"))
    direction = str(row.get("direction") or "below")
    est = float(row["estimate"])
    low, high = number_or_none(row.get("ci_low")), number_or_none(row.get("ci_high"))
    interval = interval_text(low, high, threshold)
    line_text = (page.t(f"card.line.{direction}", threshold=format_line(threshold))
                 if threshold is not None else page.t("card.line.none"))
    name = i18n.indicator_label(key, page.lang)
    text = sentence(row, page.lang, page.level)
    svg = number_line_svg(est, low, high, threshold, direction, status, aria=text,
                          scale=card_scale(page, direction))
    official_status = status_key(row.get("official_decision"))
    official_badge = (
        f'<span class="ek-badge" data-verdict="official_decision" '
        f'style="background:{STATUS_COLOURS[official_status]}">'
        + escape_html(page.t("card.badge.official",
                             verdict=page.t(f"status.{official_status}"))) + "</span>"
        if official_status in ("pass", "fail") else "")
    households = number_or_none(row.get("n_households"))
    meta = [f"<span>{escape_html(line_text)}</span>"]
    if households is not None:
        meta.append("<span>" + escape_html(page.t(
            "card.households", households=format_count(int(households), page.lang)))
            + "</span>")
    return (
        f'<div class="ek-card" data-indicator="{escape_html(key)}" data-status="{status}" '
        f'style="border-left-color:{colour}">'
        f'<div class="ek-card-head"><span class="ek-card-name">{escape_html(name)}</span>'
        f'<span class="ek-badges">{official_badge}'
        f'<span class="ek-badge" data-verdict="decision" style="background:{colour}">'
        f'{escape_html(page.t("card.badge.statistical", verdict=page.t(f"status.{status}")))}'
        "</span></span></div>"
        '<div class="ek-figures">'
        f'<div><span class="ek-figure-label">{escape_html(page.t("card.estimate"))}</span>'
        f'<span class="ek-big" style="color:{colour}">'
        f'{escape_html(format_percent(est, versus=threshold))}</span></div>'
        f'<div><span class="ek-figure-label">'
        f'{escape_html(page.t("card.interval", level=page.level_text))}</span>'
        f'<span class="ek-mid">{escape_html(interval)}</span></div>'
        f'<div><span class="ek-figure-label">{escape_html(page.t("card.official"))}</span>'
        f'<span class="ek-mid">{escape_html(official_text(page, row))}</span></div>'
        "</div>"
        f"{svg}"
        f'<p class="ek-sentence">{escape_html(text)}</p>'
        f"{decides_html(page, row)}"
        f'<div class="ek-meta">{"".join(meta)}</div>'
        f'<p class="ek-what">{escape_html(page.t(f"indicator.{key}.what"))}</p>'
        "</div>"
    )


def decides_html(page: PageContext, row: Mapping[str, Any]) -> str:
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
    t = page.t
    figure = format_percent(official, versus=threshold)
    parts = [t("decides.rule", figure=figure, verdict=t(f"official.{official_status}"))]
    if status == official_status:
        parts.append(t("decides.agree"))
    elif status == "cannot_tell":
        parts.append(t("decides.cannot_tell", level=page.level_text))
    else:
        parts.append(t("decides.disagree", verdict=t(f"verdict.{status}"),
                       level=page.level_text))
    if status != official_status:
        deff = number_or_none(row.get("deff"))
        if deff is not None and deff > 1:
            parts.append(t("decides.why_deff", deff=f"{deff:.1f}",
                           wider=f"{math.sqrt(deff):.1f}"))
        else:
            parts.append(t("decides.why"))
    settle = next((r.settle for r in page.at_risk
                   if r.indicator == str(row["indicator"]) and r.settle is not None), None)
    if settle is not None:
        parts.append(settle_text(page, settle))
    return f'<p class="ek-decides">{escape_html(page.join(parts))}</p>'


def cards_html(page: PageContext) -> str:
    """The four headline cards under their section title."""
    cards = "\n".join(card_html(page, k) for k in HEADLINE_KEYS)
    return (f'<div class="ek-report"><h2>{escape_html(page.t("section.headline"))}</h2>'
            f'<div class="ek-cards">\n{cards}\n</div></div>')


# --------------------------------------------------------------------------------------
# cautions and secondary indicators
# --------------------------------------------------------------------------------------
def cautions_html(page: PageContext) -> str:
    """What to read with care: one sentence per caution ("" when there is none)."""
    if not page.cautions:
        return ""
    items = "".join(f"<li>{escape_html(caution_text(c, page.lang))}</li>"
                    for c in page.cautions)
    return (f'<div class="ek-report ek-keep ek-cautions">'
            f'<h2>{escape_html(page.t("section.cautions"))}</h2>'
            f'<p class="ek-muted">{escape_html(page.t("section.cautions_intro"))}</p>'
            f"<ul>{items}</ul></div>")


def secondary_html(page: PageContext) -> str:
    """The other indicators in one compact table ("" when there are none).

    The line and verdict columns appear only when some secondary indicator has a line
    (the assessment sets none by default).
    """
    rows = page.indicators.loc[~page.indicators["indicator"].isin(HEADLINE_KEYS)]
    if rows.empty:
        return ""
    with_lines = rows["threshold"].map(number_or_none).notna().any()
    columns = [(page.t("col.indicator"), "wide"), (page.t("col.estimate"), "num"),
               (page.t("col.interval", level=page.level_text), "num"),
               (page.t("col.official"), "num")]
    if with_lines:
        columns += [(page.t("col.threshold"), "num"), (page.t("col.status"), "status")]
    columns.append((page.t("col.households"), "num"))
    body = []
    for rec in rows.to_dict("records"):
        threshold = number_or_none(rec.get("threshold"))
        status = status_key(rec.get("decision"))
        cells = [
            i18n.indicator_label(str(rec["indicator"]), page.lang),
            format_percent(float(rec["estimate"]), versus=threshold),
            interval_text(rec.get("ci_low"), rec.get("ci_high"), threshold),
            percent_or_dash(number_or_none(rec.get("official")), threshold),
        ]
        if with_lines:
            cells += [
                "\u2013" if threshold is None else
                f"{page.t('direction.' + str(rec['direction']))} {format_line(threshold)}",
                page.t(f"status.{status}"),
            ]
        cells.append(format_count(int(rec["n_households"]), page.lang))
        body.append((cells, status))
    return ('<div class="ek-report ek-keep">'
            f'<h2>{escape_html(page.t("section.secondary"))}</h2><p class="ek-muted">'
            f'{escape_html(page.t("section.secondary_intro", level=page.level_text))}</p>'
            f"{table_html(columns, body)}</div>")


# --------------------------------------------------------------------------------------
# what drives dissatisfaction
# --------------------------------------------------------------------------------------
def drivers_intro_html(page: PageContext, chart: bytes | None = None) -> str:
    """Section title, what the model estimates (from its numbers), chart and table.

    The sentence names the scenario with the largest estimated gain and quotes its
    numbers (recognition now from the indicator table); nothing is said about why
    households answered as they did beyond what the scenario table estimates. With
    ``chart`` (PNG bytes) the chart is embedded in the section as a data: URI, so that
    print keeps title and chart together; the notebook shows it as its own output.
    """
    ranked = page.ranked
    title = f'<h2>{escape_html(page.t("section.drivers"))}</h2>'
    if ranked is None:
        return (f'<div class="ek-report ek-keep ek-drivers">{title}'
                f'<p>{escape_html(page.t("section.drivers_missing"))}</p></div>')
    threshold = page.recognition_line
    top = ranked.iloc[0].to_dict()
    intro = page.t("section.drivers_intro", level=page.level_text,
                   action=scenario_label(str(top["scenario"]), page.lang),
                   before=format_percent(top["before"], versus=threshold),
                   after=format_percent(top["estimate"], versus=threshold),
                   gain=format_points(top["change"]),
                   gain_low=format_points(top["change_low"]),
                   gain_high=format_points(top["change_high"]))
    figure = ""
    if chart is not None:
        data = base64.b64encode(chart).decode("ascii")
        alt = escape_html(page.t("chart.drivers.title"))
        figure = (f'<div class="ek-chart"><img alt="{alt}"'
                  f' src="data:image/png;base64,{data}"></div>')
    intro = page.join([intro, *scenario_caveats(page, list(ranked["scenario"]))])
    return (f'<div class="ek-report ek-keep ek-drivers">{title}'
            f'<p>{escape_html(intro)}</p>{figure}</div>')


def drivers_png(page: PageContext) -> bytes | None:
    """The drivers chart as PNG bytes (None without scenarios)."""
    if page.ranked is None:
        return None
    fig = drivers_figure(page.ranked, page.lang, page.level, page.recognition_line)
    return figure_png(fig, dpi=150)


def scenarios_html(page: PageContext) -> str:
    """The table of numbers behind the chart ("" without scenarios)."""
    ranked = page.ranked
    if ranked is None:
        return ""
    threshold = page.recognition_line
    reach_head = (page.t("col.reaches", threshold=format_line(threshold))
                  if threshold is not None else page.t("reaches.none"))
    columns = [(page.t("col.rank"), "num"), (page.t("col.action"), "wide"),
               (page.t("col.before"), "num"),
               (page.t("col.after_with_interval", level=page.level_text), "num"),
               (page.t("col.gain_with_interval", level=page.level_text), "num"),
               (reach_head, "status")]
    body: list[tuple[Sequence[str | tuple[str, str]], str]] = []
    for rec in ranked.to_dict("records"):
        reach = status_key(rec["reaches"])
        body.append(([
            str(rec["rank"]), scenario_label(rec["scenario"], page.lang),
            format_percent(rec["before"], versus=threshold),
            (format_percent(rec["estimate"], versus=threshold),
             interval_text(rec["ci_low"], rec["ci_high"], threshold)),
            (format_points(rec["change"]),
             f"{format_points(rec['change_low'])} \u2013 {format_points(rec['change_high'])}"),
            page.t(f"reaches.{reach}"),
        ], reach))
    return f'<div class="ek-report ek-keep">{table_html(columns, body)}</div>'


# --------------------------------------------------------------------------------------
# rectification priorities and notes
# --------------------------------------------------------------------------------------
def risk_text(page: PageContext, item: AtRisk) -> str:
    """One at-risk indicator: its verdicts, then what the run's tables support doing."""
    t = page.t
    key = item.indicator
    row = page.row(key)
    parts = [t("priority.head", indicator=i18n.indicator_label(key, page.lang),
               verdict=t(f"verdict.{item.decision}"),
               official=t(f"official.{item.official_decision}")
               if item.official_decision in ("pass", "fail") else t("verdict.none"))]
    parts.extend(hotspot_sentences(page, item, row))
    ranked = page.ranked if key == "recognition" else None
    if ranked is not None and len(ranked):
        top = ranked.iloc[0].to_dict()
        parts.append(t("priority.recognition_model",
                       action=scenario_label(str(top["scenario"]), page.lang),
                       gain=format_points(top["change"]),
                       gain_low=format_points(top["change_low"]),
                       gain_high=format_points(top["change_high"]), level=page.level_text))
        parts.extend(scenario_caveats(page, [str(top["scenario"])]))
    else:
        parts.append(t(f"priority.action.{key}"))
    if item.settle is not None:
        parts.append(t("priority.settle",
                       needed=format_count(item.settle.households_needed, page.lang),
                       sample=format_count(item.settle.sample_needed
                                           or item.settle.households_needed, page.lang),
                       power=format_line(item.settle.power),
                       villages=format_count(item.settle.villages_needed, page.lang)))
        if item.settle.beyond_frame:
            parts.append(t("settle.beyond_frame", frame=format_count(
                item.settle.frame_villages or 0, page.lang)))
    return page.join(parts)


def priorities_html(page: PageContext) -> str:
    """Every indicator at risk, ranked, each with the next steps the run supports."""
    title = f'<h2>{escape_html(page.t("section.priorities"))}</h2>'
    if not page.at_risk:
        return (f'<div class="ek-report ek-keep">{title}'
                f'<p>{escape_html(page.t("priority.none"))}</p></div>')
    items = "".join(f"<li>{escape_html(risk_text(page, item))}</li>" for item in page.at_risk)
    return (f'<div class="ek-report ek-keep">{title}'
            f'<p class="ek-muted">{escape_html(page.t("section.priorities_intro"))}</p>'
            f'<ol class="ek-priorities">{items}</ol></div>')


def _method_name(page: PageContext, method: str) -> str:
    key = f"method.{method.replace('_', '-').replace(' ', '-')}"
    return page.t(key) if i18n.has_text(key, page.lang) else method


def _other_methods(page: PageContext) -> str:
    """The rows whose interval is not the run's method (``ci_method`` in indicators.csv:
    the zero-event rule), named, so the note never claims one method for every row."""
    table = page.indicators
    if "ci_method" not in table:
        return ""
    label = "label_zh" if page.lang == "zh" and "label_zh" in table else "label"
    other = table[table["ci_method"].astype(str) != page.method]
    parts = [page.t("notes.method_rows", method=_method_name(page, method),
                    rows=page.t("list.sep").join(group[label].astype(str)))
             for method, group in other.groupby("ci_method", sort=False)]
    return "".join(f" {part}" for part in parts)


def notes_html(page: PageContext) -> str:
    """How to read the page; method, privacy and provenance."""
    notes = [page.t("notes.official", design=page.design_text),
             page.t("notes.verdict", level=page.level_text),
             page.t("notes.method", method=_method_name(page, page.method))
             + _other_methods(page), page.t("notes.privacy"),
             page.t("notes.source", run=page.run_name or "\u2013")]
    return (f'<div class="ek-report ek-notes"><h2>{escape_html(page.t("section.notes"))}</h2>'
            + "".join(f"<p>{escape_html(n)}</p>" for n in notes) + "</div>")


# --------------------------------------------------------------------------------------
# the whole page
# --------------------------------------------------------------------------------------
def page_sections(page: PageContext, embed_figures: bool = False) -> list[Piece]:
    """The page in order, as ``("html", text)`` and ``("png", bytes)`` pieces.

    ``embed_figures`` puts the chart inside its section's HTML instead of a PNG piece.
    """
    pieces: list[Piece] = [("html", header_html(page)), ("html", cards_html(page))]
    cautions = cautions_html(page)
    if cautions:
        pieces.append(("html", cautions))
    pieces.append(("html", priorities_html(page)))
    png = drivers_png(page)
    if embed_figures:
        pieces.append(("html", drivers_intro_html(page, png)))
    else:
        pieces.append(("html", drivers_intro_html(page)))
        if png is not None:
            pieces.append(("png", png))
    scenario_table = scenarios_html(page)
    if scenario_table:
        pieces.append(("html", scenario_table))
    secondary = secondary_html(page)
    if secondary:
        pieces.append(("html", secondary))
    pieces.append(("html", notes_html(page)))
    return pieces


def document_html(page: PageContext) -> str:
    """The whole page as one self-contained HTML document (figures as data: URIs)."""
    from evalkit.report.webfont import font_face_css

    body = [str(piece) for _, piece in page_sections(page, embed_figures=True)]
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{"zh-CN" if page.lang == "zh" else "en"}">\n<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape_html(page.title)}</title>\n"
        f"<style>{font_face_css(''.join(body))}\n"
        "body { margin: 0; padding: 1rem; background: #fff; }</style>\n"
        "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )
