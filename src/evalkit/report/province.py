"""The province's tables and its policy page, from the counties' indicator tables.

* ``tables/province_indicators.csv``: every county's four headline indicators (estimate,
  standard error, interval, verdict), read from each county's ``tables/indicators.csv``.
* ``tables/province_ranking.csv``: one row per county and indicator with ``county,
  indicator, estimate, ci_low, ci_high, decision, rank, rank_low, rank_high`` (rank 1 = the
  largest value; ``rank_low..rank_high`` the marginal 95% confidence set for the rank) and
  ``rank_low_simultaneous, rank_high_simultaneous`` (the simultaneous sets), by
  :func:`evalkit.survey.ranking.rank_confidence_sets` with the counties' standard errors
  (independent samples: diagonal covariance) and the params' seed and level.
* ``tables/province_rates.csv``: the province-wide rates, with the counties as strata of one
  design (:class:`evalkit.survey.design.SurveyDesign`; each county's own strata, if any, nested
  inside), and the frame counts summed over the counties for the incidence.
* ``tables/province_status.csv``: each county's status (done, unchanged, failed) and error.
* ``index.html``: the province page (zh or en by ``lang``), self-contained.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.spreadsheet import read_csv
from evalkit.report.province_reasons import reason_text

COUNTIES_SUBDIR = "counties"
STATUS_FAILED = "failed"
RANKING_COLUMNS = ("county", "indicator", "estimate", "ci_low", "ci_high", "decision", "rank",
                   "rank_low", "rank_high", "rank_low_simultaneous", "rank_high_simultaneous",
                   "worst_tau", "may_be_worst")
HEADLINE = ("wrong_exit", "missed", "incidence", "recognition")
WORST = 5  # "which counties are surely among the five worst"


def read_county_indicators(counties_dir: Path, names: Sequence[str]) -> pd.DataFrame:
    """The headline rows of each county's ``tables/indicators.csv``, one table."""
    texts = [(counties_dir / name / "tables" / "indicators.csv").read_text(encoding="utf-8")
             for name in names]
    if not texts:
        return pd.DataFrame(columns=["county", "indicator"])
    out = _one_csv(texts, names)
    if out is None:
        out = pd.concat([pd.read_csv(io.StringIO(text)).assign(county=name)
                         for text, name in zip(texts, names, strict=True)], ignore_index=True)
    out = out[out["indicator"].isin(HEADLINE)].reset_index(drop=True)
    columns = ["county", "indicator", "label", "label_zh", "official", "estimate", "se",
               "ci_low", "ci_high", "threshold", "direction", "decision", "official_decision",
               "n_households"]
    return out[[c for c in columns if c in out.columns]]


def _one_csv(texts: Sequence[str], names: Sequence[str]) -> pd.DataFrame | None:
    """The county tables parsed as one CSV (one parse instead of hundreds), when they share
    their header and have no blank lines; else None. Each table's rows are counted by the
    csv module (a note in quotes may hold a comma or a line break)."""
    header = texts[0].split("\n", 1)[0]
    bodies, rows = [], []
    for text in texts:
        if not text.endswith("\n"):
            text += "\n"
        first, _, body = text.partition("\n")
        if first != header or "\r" in text or "\n\n" in text:
            return None
        bodies.append(body)
        rows.append(sum(1 for row in csv.reader(io.StringIO(body)) if row))
    out = pd.read_csv(io.StringIO(header + "\n" + "".join(bodies)))
    return out.assign(county=np.repeat(np.asarray(names, dtype=object), rows))


def ranked_rows(indicators: pd.DataFrame, key: str) -> pd.DataFrame:
    """One indicator's rows that can be ranked: a finite estimate and standard error."""
    part = indicators[indicators["indicator"] == key].reset_index(drop=True)
    ok = np.isfinite(part["estimate"].to_numpy(float)) & np.isfinite(
        part["se"].to_numpy(float))
    return part[ok].reset_index(drop=True)


def ranking_se(part: pd.DataFrame, level: float = 0.95) -> np.ndarray:
    """The standard errors the rank sets use: each county's ``se``, except where it is 0
    while the county's interval has width (a county with no events: the linearized SE of
    a zero proportion is 0, but its Korn-Graubard interval, e.g. [0, 0.6%], says the rate
    may well be above 0). There the SE is the interval's longer arm over the normal quantile
    of ``level``, ``max(ci_high - estimate, estimate - ci_low) / z``, so a county that saw no
    wrong exit is not ranked as surely below every county whose interval its own overlaps."""
    from scipy.special import ndtri

    se = part["se"].to_numpy(float)
    estimate = part["estimate"].to_numpy(float)
    arm = np.fmax(part["ci_high"].to_numpy(float) - estimate,
                  estimate - part["ci_low"].to_numpy(float))
    degenerate = (se == 0) & np.isfinite(arm) & (arm > 0)
    z = float(ndtri(1.0 - (1.0 - level) / 2.0))
    return np.where(degenerate, arm / z, se)


def rank_indicator(part: pd.DataFrame, key: str, level: float = 0.95, seed: int = 0,
                   worst: int = WORST) -> pd.DataFrame:
    """One indicator's rows of :func:`ranking_table` from its :func:`ranked_rows` (standard
    errors by :func:`ranking_se`).

    ``may_be_worst`` is the re-inspection list: the counties that may be among the ``worst``
    (``worst_tau``) worst on ``key`` at confidence ``level``, by
    :func:`evalkit.survey.ranking.top_set` in the indicator's direction (the highest rates
    that must stay below their lines, the lowest recognition). With ``worst`` counties or
    fewer, every county.
    """
    from evalkit.assessment.indicators import SPECS
    from evalkit.survey.ranking import rank_confidence_sets, top_set

    if part.empty:
        return pd.DataFrame(columns=list(RANKING_COLUMNS))
    se = ranking_se(part, level)
    marginal = rank_confidence_sets(part["estimate"], se, level=level,
                                    simultaneous=False, seed=seed)
    joint = rank_confidence_sets(part["estimate"], se, level=level,
                                 simultaneous=True, seed=seed)
    return pd.DataFrame({
        "county": part["county"], "indicator": key, "estimate": part["estimate"],
        "ci_low": part["ci_low"], "ci_high": part["ci_high"],
        "decision": part["decision"], "rank": marginal["rank"],
        "rank_low": marginal["rank_low"], "rank_high": marginal["rank_high"],
        "rank_low_simultaneous": joint["rank_low"],
        "rank_high_simultaneous": joint["rank_high"],
        "worst_tau": worst,
        "may_be_worst": (top_set(part["estimate"], se, min(worst, len(part)), level=level,
                                 worst=SPECS[key].direction != "below", seed=seed)
                         if len(part) > worst else np.ones(len(part), dtype=bool)),
    })[list(RANKING_COLUMNS)]


def join_rankings(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The per-indicator rankings (:func:`rank_indicator`, in :data:`HEADLINE` order) as one
    table."""
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=list(RANKING_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(RANKING_COLUMNS)]


def ranking_table(indicators: pd.DataFrame, level: float = 0.95, seed: int = 0,
                  worst: int = WORST) -> pd.DataFrame:
    """Rank the counties on each indicator with marginal and simultaneous rank sets, and
    mark those that may be among the ``worst`` worst (:func:`rank_indicator`).

    Counties without a finite estimate and standard error are left out of that indicator's
    ranking. Rank 1 is the largest value (for the wrong-exit rate: the worst county; for
    recognition: the best).
    """
    return join_rankings([rank_indicator(ranked_rows(indicators, key), key, level, seed,
                                         worst) for key in HEADLINE])


def surely_worst(ranking: pd.DataFrame, key: str, direction: str, k: int = WORST) -> list[str]:
    """Counties whose simultaneous rank set lies wholly among the ``k`` worst.

    The worst are the largest values for an indicator that must stay below its line (rank
    1..k) and the smallest for one that must reach it (ranks p-k+1..p).
    """
    part = ranking[ranking["indicator"] == key]
    p = len(part)
    if direction == "below":
        hit = part["rank_high_simultaneous"] <= k
    else:
        hit = part["rank_low_simultaneous"] >= p - k + 1
    return part.loc[hit, "county"].tolist()


def stacked_design(inspections: Sequence[Any], design: dict[str, Any]) -> tuple[Any, Any]:
    """One design for the province: counties as strata (their own strata nested inside).

    ``inspections`` carry each county's survey columns and frame counts (validated by the
    county's task). PSU codes are nested in the strata, as R's ``svydesign(nest = TRUE)``.
    """
    from evalkit.survey.design import SurveyDesign

    surveys, frames = [], []
    for item in inspections:
        surveys.append(item.rates_data.assign(_county=item.name))
        frames.append(item.frame_totals.assign(_county=item.name))
    data = pd.concat(surveys, ignore_index=True)
    strata = design.get("strata")
    if strata:
        data["_stratum"] = data["_county"].astype(str) + "/" + data[strata].astype(str)
    else:
        data["_stratum"] = data["_county"]
    options = {k: v for k, v in design.items() if v is not None and k != "strata"}
    return SurveyDesign(data, strata="_stratum", **options), pd.concat(frames,
                                                                        ignore_index=True)


def province_rates(inspections: Sequence[Any], values: dict[str, Any]) -> pd.DataFrame:
    """The headline rates of the whole province, with verdicts against the thresholds.

    One design over the counties (:func:`stacked_design`) with the weights each county's
    own run uses: adjusted for non-response already (the inspections carry the adjusted
    sample), then, when the params calibrate, each county calibrated to its own frame's
    totals (:func:`evalkit.assessment.county_totals.frame_calibration` with
    ``by="_county"``).
    """
    from evalkit.assessment import indicators
    from evalkit.assessment.county_totals import DEFAULT_FRAME_TOTALS, frame_calibration

    design, frame = stacked_design(inspections, values["design"])
    calibration = values.get("calibration") or {}
    if calibration.get("method", "none") != "none":
        # Each county calibrated to its own frame, as its own run does (notebook 02).
        design = frame_calibration(design, frame, calibration["method"],
                                   calibration.get("totals") or DEFAULT_FRAME_TOTALS,
                                   by="_county")
    results = indicators.assess(design, frame, values["thresholds"], method=values["ci_method"],
                                level=values["level"], secondary=False)
    table = indicators.indicator_table(results)
    table.insert(0, "counties", len(inspections))
    return table


# --- the page ------------------------------------------------------------------------------

def _t(lang: str, key: str, **values: Any) -> str:
    """The province page's text ``province.<key>`` from ``locale/<lang>.json``
    (:mod:`evalkit.report.i18n`, the county pages' catalogue)."""
    from evalkit.report import i18n

    return i18n.text(f"province.{key}", lang, **values)


def _level(level: float) -> str:
    from evalkit.report.i18n import format_line

    return format_line(level)


def _verdict(decision: object, lang: str) -> str:
    """A verdict label in the county pages' words (``status.*``: 达标, 未达标, 无法判断)."""
    from evalkit.report import i18n

    key = str(decision).replace(" ", "_")
    return i18n.text(f"status.{key}", lang) if key in ("pass", "fail", "cannot_tell") else "–"


#: ``status`` of a county (:mod:`evalkit.province`) -> its ``province.status.*`` key.
_STATUS_KEYS = {"done": "done", "unchanged (skipped)": "unchanged", "failed": "failed"}


def _status(status: str, lang: str) -> str:
    key = _STATUS_KEYS.get(status)
    return _t(lang, f"status.{key}") if key else status


def rank_order_text(key: str, counties: int, lang: str, k: int = WORST) -> str:
    """Which end of the ranks is the worst for ``key``: rank 1 is always the largest value,
    the worst for a rate that must stay below its line, the best for one that must reach
    it (recognition), whose ``k`` worst are the lowest ranks ``counties-k+1..counties``."""
    from evalkit.assessment.indicators import SPECS
    from evalkit.report import i18n

    direction = SPECS[key].direction
    return _t(lang, f"rank_order.{direction}",
              indicator=i18n.indicator_label(key, lang, in_sentence=True), k=k,
              first=max(1, counties - k + 1), last=counties)


def worst_text(ranking: pd.DataFrame, key: str, lang: str, k: int = WORST) -> str:
    """"Surely among the ``k`` worst" for ``key``, in the indicator's direction: the
    highest rates of wrong exits, missed assessments and incidence, the lowest recognition
    (:func:`surely_worst` on the simultaneous sets). With ``k`` counties or fewer every
    county is among the ``k`` worst, and the sentence says so instead of naming them all."""
    from evalkit.assessment.indicators import SPECS
    from evalkit.report import i18n

    counties = int((ranking["indicator"] == key).sum())
    if counties <= k:
        return _t(lang, "worst.too_few", n=counties, k=k)
    direction = SPECS[key].direction
    names = surely_worst(ranking, key, direction, k)
    return _t(lang, f"worst.{direction}",
              indicator=i18n.indicator_label(key, lang, in_sentence=True), k=k,
              names=_t(lang, "list_sep").join(names) or _t(lang, "none"))


def may_be_worst_text(ranking: pd.DataFrame, key: str, lang: str, level: float = 0.95
                      ) -> str:
    """The re-inspection list of ``key`` in plain words: the counties that may be among the
    ``worst_tau`` worst (the ranking's ``may_be_worst``), or that the data cannot single
    any out (every county may be)."""
    from evalkit.assessment.indicators import SPECS
    from evalkit.report import i18n

    part = ranking[ranking["indicator"] == key]
    if part.empty or "may_be_worst" not in part:
        return ""
    k = int(part["worst_tau"].iloc[0])
    flagged = part[part["may_be_worst"].astype(str).isin(["True", "1", "1.0"])]
    label = i18n.indicator_label(key, lang, in_sentence=True)
    if len(flagged) == len(part):
        return _t(lang, "may_be_worst.all", k=k, n=len(part), indicator=label)
    names = flagged.sort_values(["rank", "county"],
                                ascending=[SPECS[key].direction == "below", True])["county"]
    return _t(lang, f"may_be_worst.{SPECS[key].direction}", k=k, n=len(flagged),
              indicator=label, level=_level(level),
              names=_t(lang, "list_sep").join(map(str, names)))


def _pct(value: Any, digits: int = 1) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "–"
    return f"{v * 100:.{digits}f}%" if np.isfinite(v) else "–"


def _label(key: str, lang: str) -> str:
    from evalkit.assessment.indicators import SPECS

    return SPECS[key].label(lang if lang == "zh" else "en")


def forest_figure(part: pd.DataFrame, key: str, lang: str, level: float,
                  threshold: float | None) -> Any:
    """A sorted forest plot of one indicator over the counties, with the threshold line.

    ``part`` holds one indicator's rows of the ranking table (county, estimate, ci_low,
    ci_high, decision); colours follow the verdicts.
    """
    from evalkit.report import fonts, plots
    from evalkit.report.verdicts import STATUS_COLOURS, status_key

    part = part.sort_values("estimate", ascending=False, kind="stable")
    # the verdict colours of the page's SVG plots (forest_svg) and of the policy pages
    colours = [STATUS_COLOURS[status_key(d)] for d in part["decision"]]
    with fonts.context():  # Chinese titles and county names need the shipped CJK font
        return plots.interval_plot(
            part["county"].tolist(), part["estimate"], part["ci_low"], part["ci_high"],
            title=_t(lang, "forest", label=_label(key, lang), level=_level(level)),
            reference=threshold, reference_label=_t(lang, "threshold"), colours=colours,
            # a province of many counties gets tighter rows: still one label per row, and
            # a plot of 100 counties stays about 30 inches tall instead of 50
            row_height=0.5 if len(part) <= 30 else 0.3)


def forest_svg(part: pd.DataFrame, key: str, lang: str, level: float,
               threshold: float | None, narrow: bool = False) -> str:
    """The page's forest plot of one indicator (:func:`evalkit.report.charts.forest_svg`):
    the counties sorted by estimate, largest first, as :func:`forest_figure` draws them;
    ``narrow`` for a phone's width."""
    from evalkit.assessment.indicators import SPECS
    from evalkit.report.charts import forest_svg as draw
    from evalkit.report.verdicts import status_key

    part = part.sort_values("estimate", ascending=False, kind="stable")
    return draw([str(c) for c in part["county"]], part["estimate"].tolist(),
                part["ci_low"].tolist(), part["ci_high"].tolist(),
                [status_key(d) for d in part["decision"]], threshold=threshold,
                direction=SPECS[key].direction,
                aria=_t(lang, "forest", label=_label(key, lang), level=_level(level)),
                threshold_label=_t(lang, "threshold"), narrow=narrow)


def _verdict_span(decision: object, words: dict[str, str], indicator: str, kind: str) -> str:
    """A verdict in the page's words, coloured by it, tagged for tests
    (``data-indicator``, ``data-official`` or ``data-decision``: pass, fail, cannot_tell)."""
    key = str(decision) if decision in ("pass", "fail", "cannot tell") else "none"
    return (f'<span class="{key.replace(" ", "-")}" data-indicator="{html.escape(indicator)}" '
            f'data-{"official" if kind == "official" else "decision"}="{key.replace(" ", "_")}"'
            f'>{html.escape(words.get(key, "–"))}</span>')


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table whose cells carry their header (``data-label``): on a phone each row stacks
    as a card, every value under its header, so nothing is cut off (CSS only)."""
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f'<td data-label="{esc(h)}">{c}</td>'
                                      for h, c in zip(headers, row, strict=True)) + "</tr>"
                     for row in rows)
    # A table wider than a phone scrolls inside its own box, not the whole page.
    return (f"<div class=\"table-wrap\"><table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
            f"{body}\n</tbody>\n</table></div>")


def province_page(*, name: str, lang: str, level: float, thresholds: dict[str, float],
                  statuses: Sequence[Any], indicators: pd.DataFrame, ranking: pd.DataFrame,
                  rates: pd.DataFrame | None, tables: Sequence[str], county_links: bool,
                  technical_href: str | None, tables_only: bool = False) -> str:
    """The province page: verdicts, forest plots, province-wide rates, rank sets, failures.

    ``tables_only`` says plainly that the page was rewritten from the tables alone.
    Self-contained and offline: the forest plots are inline SVG (:func:`forest_svg`) and the
    text's font is the shipped one, cut to the page's characters
    (:func:`evalkit.report.webfont.font_face_css`), as on the county policy pages.
    """
    esc = html.escape
    verdict = {k: _verdict(k, lang) for k in ("pass", "fail", "cannot tell")}
    failed = [s for s in statuses if s.status == "failed"]
    parts = [f"<h1>{esc(_t(lang, 'title'))}: {esc(name)}</h1>",
             f"<p>{esc(_t(lang, 'summary', n=len(statuses), ok=len(statuses) - len(failed), failed=len(failed)))}</p>"]  # noqa: E501
    if tables_only:
        parts.append(f"<p class=\"note\">{esc(_t(lang, 'tables_only_note'))}</p>")
    if failed:
        parts.append(f"<h2 class=\"bad\">{esc(_t(lang, 'failed_head'))}</h2>")
        parts.append(_table([_t(lang, "county"), _t(lang, "error")],
                            [[f"<b>{esc(s.name)}</b>", esc(reason_text(s.error or "", lang))]
                             for s in failed]))
    if rates is not None and not rates.empty:
        # The official verdict first (the plain ratio against the line decides exit), then
        # how sure the sample is (the interval shown against the line), as on each county's
        # page and in the county table below.
        parts.append(f"<h2>{esc(_t(lang, 'province_wide'))}</h2>")
        parts.append(f"<p>{esc(_t(lang, 'province_wide_note', level=_level(level)))}</p>")
        parts.append(_table(
            ["", _t(lang, "threshold"), _t(lang, "official_ratio"),
             _t(lang, "official_verdict"), _t(lang, "estimate"),
             _t(lang, "interval", level=_level(level)), _t(lang, "sample_verdict")],
            [[esc(_label(r.indicator, lang)), _pct(r.threshold, 0),
              _pct(getattr(r, "official", None), 2),
              _verdict_span(getattr(r, "official_decision", None), verdict, r.indicator,
                            "official"),
              _pct(r.estimate, 2), f"{_pct(r.ci_low, 2)} – {_pct(r.ci_high, 2)}",
              _verdict_span(r.decision, verdict, r.indicator, "decision")]
             for r in rates.itertuples()]))
    parts.append(f"<h2>{esc(_t(lang, 'by_county'))}</h2>")
    headers = [_t(lang, "county")] + [_label(k, lang) for k in HEADLINE] + [_t(lang, "status")]
    rows = []
    # One pass over the table, not one filter per county and indicator (a province of
    # hundreds of counties made this loop the page's slowest part).
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for record in indicators.to_dict("records"):
        first.setdefault((str(record["county"]), str(record["indicator"])), record)
    for s in statuses:
        cells = [f"<a href=\"counties/{esc(s.name)}/index.html\">{esc(s.name)}</a>"
                 if county_links and s.status != "failed" else esc(s.name)]
        for key in HEADLINE:
            r = first.get((str(s.name), key))
            if r is None:
                cells.append("–")
                continue
            d = str(r["decision"])
            o = str(r.get("official_decision"))
            cells.append(
                f"{_pct(r['estimate'])} <span class=\"ci\">[{_pct(r['ci_low'])}, "
                f"{_pct(r['ci_high'])}]</span><br>"
                f"<span class=\"verdicts\" data-indicator=\"{key}\" data-official=\""
                f"{esc(o.replace(' ', '_'))}\" data-decision=\"{esc(d.replace(' ', '_'))}\">"
                f"{esc(_t(lang, 'official'))}: <span class=\"{esc(o.replace(' ', '-'))}\">"
                f"{esc(verdict.get(o, '–'))}</span><br>{esc(_t(lang, 'sample'))}: "
                f"<span class=\"{esc(d.replace(' ', '-'))}\">{esc(verdict.get(d, '–'))}</span>"
                "</span>")
        cells.append(f"<span class=\"bad\">{esc(_status('failed', lang))}</span>"
                     if s.status == "failed" else esc(_status(s.status, lang)))
        rows.append(cells)
    parts.append(f"<p>{esc(_t(lang, 'verdicts_note', level=_level(level)))}</p>")
    parts.append(_table(headers, rows))
    parts.append(f"<h2>{esc(_t(lang, 'ranking'))}</h2>")
    parts.append(f"<p>{esc(_t(lang, 'ranking_note', level=_level(level), k=WORST))}</p>")
    for key in HEADLINE:
        part = ranking[ranking["indicator"] == key]
        if part.empty:
            continue
        parts.append(f"<h3>{esc(_label(key, lang))}</h3>")
        parts.append(f"<figure>{forest_svg(part, key, lang, level, thresholds.get(key))}"
                     f"{forest_svg(part, key, lang, level, thresholds.get(key), narrow=True)}"
                     "</figure>")
        parts.append(f"<p>{esc(rank_order_text(key, len(part), lang))} "
                     f"{esc(worst_text(ranking, key, lang))}</p>")
        reinspect = may_be_worst_text(ranking, key, lang, level)
        parts.append(f"<p class=\"reinspect\">{esc(reinspect)}</p>")
        part = part.sort_values(["rank", "county"])
        parts.append(_table(
            [_t(lang, "county"), _t(lang, "estimate"), _t(lang, "rank"), _t(lang, "marginal"),
             _t(lang, "simultaneous")],
            [[esc(r.county), _pct(r.estimate, 2), str(r.rank),
              f"{r.rank_low}–{r.rank_high}",
              f"{r.rank_low_simultaneous}–{r.rank_high_simultaneous}"]
             for r in part.itertuples()]))
    links = []
    if technical_href:
        links.append(f"<li><a href=\"{esc(technical_href)}\">{esc(_t(lang, 'technical'))}</a>"
                     "</li>")
    links += [f"<li><a href=\"{esc(t)}\">{esc(t)}</a></li>" for t in tables]
    parts.append(f"<h2>{esc(_t(lang, 'tables'))}</h2>\n<ul>\n" + "\n".join(links) + "\n</ul>")
    body = "\n".join(parts)
    from evalkit.report.fonts import FAMILY
    from evalkit.report.webfont import font_face_css

    font = font_face_css(body + _t(lang, "title") + name)
    return f"""<!DOCTYPE html>
<html lang="{'zh' if lang == 'zh' else 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{esc(_t(lang, 'title'))}: {esc(name)}</title>
<style>
{font}
body {{ font-family: "{FAMILY}", system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC",
  "PingFang SC", "Microsoft YaHei", sans-serif; max-width: 60rem; margin: 2rem auto;
  padding: 0 1rem; font-synthesis: none; line-height: 1.5; color: #222; }}
table {{ border-collapse: collapse; margin: 0.5rem 0 1.5rem; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: left;
  vertical-align: top; }}
.ci {{ color: #666; font-size: 0.85em; }} .pass {{ color: #1a7f37; }}
.fail, .bad {{ color: #cf222e; font-weight: bold; }} .cannot-tell {{ color: #9a6700; }}
figure {{ margin: 0.5rem 0 1rem; max-width: 48rem; }}
svg.ek-forest {{ width: 100%; height: auto; display: block; font-family: inherit; }}
svg.ek-forest-narrow {{ display: none; }}
.table-wrap {{ overflow-x: auto; max-width: 100%; }}
.verdicts {{ font-size: 0.9em; }}
@media screen and (max-width: 36rem) {{
  body {{ margin: 1rem auto; }}
  svg.ek-forest {{ display: none; }} svg.ek-forest.ek-forest-narrow {{ display: block; }}
  .table-wrap table, .table-wrap tbody, .table-wrap tr, .table-wrap td {{ display: block;
    width: 100%; box-sizing: border-box; }}
  .table-wrap thead {{ display: none; }}
  .table-wrap tr {{ border: 1px solid #ddd; border-radius: 0.4rem; margin: 0 0 0.6rem;
    padding: 0.2rem 0.6rem; }}
  .table-wrap td {{ padding: 0.3rem 0; overflow-wrap: anywhere; border-bottom: 1px solid #eee; }}
  .table-wrap td::before {{ content: attr(data-label); display: block; color: #666;
    font-size: 0.85em; }}
  .table-wrap td:last-child {{ border-bottom: none; }}
}}
</style>
</head>
<body>
{body}
</body>
</html>
"""


# --- a finished province run, for notebook 06 ----------------------------------------------------


@dataclass
class ProvinceRun:
    """The tables of a province run (or of the in-memory example province)."""

    name: str
    lang: str
    level: float
    thresholds: dict[str, float]
    status: pd.DataFrame
    indicators: pd.DataFrame
    ranking: pd.DataFrame
    rates: pd.DataFrame | None

    def worst(self, key: str, k: int = WORST) -> list[str]:
        """Counties surely among the ``k`` worst on ``key`` (simultaneous sets)."""
        from evalkit.assessment.indicators import SPECS

        return surely_worst(self.ranking, key, SPECS[key].direction, k)

    def worst_sentence(self, key: str, k: int = WORST) -> str:
        """Which end of the ranks is worst on ``key``, and who is surely among the ``k``
        worst, in the run's language (:func:`rank_order_text`, :func:`worst_text`)."""
        counties = int((self.ranking["indicator"] == key).sum())
        return (f"{rank_order_text(key, counties, self.lang, k)} "
                f"{worst_text(self.ranking, key, self.lang, k)}")

    def rank_sets(self, key: str) -> pd.DataFrame:
        """One indicator's ranking, best rank first, sets written ``low-high``."""
        part = self.ranking[self.ranking["indicator"] == key].sort_values(["rank", "county"])
        return pd.DataFrame({
            "county": part["county"].to_numpy(), "estimate": part["estimate"].to_numpy(),
            "decision": part["decision"].to_numpy(), "rank": part["rank"].to_numpy(),
            "marginal_set": [f"{a}-{b}" for a, b in zip(part["rank_low"],
                                                         part["rank_high"], strict=True)],
            "simultaneous_set": [f"{a}-{b}" for a, b in zip(
                part["rank_low_simultaneous"], part["rank_high_simultaneous"], strict=True)],
        })

    def figure(self, key: str) -> Any:
        part = self.ranking[self.ranking["indicator"] == key]
        return forest_figure(part, key, self.lang, self.level, self.thresholds.get(key))


def load_run(province_dir: str | Path) -> ProvinceRun:
    """Read a province run folder written by ``evalkit province``."""
    folder = Path(province_dir)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalkitError(f"{folder}: not a province run folder ({exc})") from None
    values = manifest["params"]
    tables = folder / "tables"
    rates_path = tables / "province_rates.csv"
    return ProvinceRun(
        name=manifest["province"], lang=values["lang"], level=values["level"],
        thresholds=values["thresholds"],
        # County names and errors as written: the tables' formula escapes undone.
        status=read_csv(tables / "province_status.csv", keep_default_na=False),
        indicators=read_csv(tables / "province_indicators.csv"),
        ranking=read_csv(tables / "province_ranking.csv"),
        rates=read_csv(rates_path) if rates_path.is_file() else None)


# --- atomic writes on the client -------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
