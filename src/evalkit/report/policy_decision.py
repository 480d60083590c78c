"""The top of the policy page: the exit decision first, then the verdict counts.

:func:`decision_html` answers the leader's question before anything else (DESIGN.md, "Two
verdicts"): whether the county meets the exit standard by the official rule (each
indicator's plain sample ratio against its line), which indicators fail it, and how sure the
sample is about each (the statistical verdict, read from the interval the card draws,
:func:`evalkit.survey.decision.decide`). :func:`summary_chips` counts the verdicts in the
same order: official first. Every name and figure comes from the run's indicator table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from evalkit.report import i18n
from evalkit.report.html_parts import escape_html, interval_text
from evalkit.report.i18n import format_count, format_line, format_percent
from evalkit.report.verdicts import (
    HEADLINE_KEYS,
    STATUS_COLOURS,
    STATUS_TINTS,
    number_or_none,
    status_key,
)

if TYPE_CHECKING:
    from evalkit.report.policy_sections import PageContext


def official_failures(page: PageContext) -> list[str]:
    """The headline indicators whose official plain ratio misses its line, in page order."""
    return [k for k in HEADLINE_KEYS
            if status_key(page.row(k).get("official_decision")) == "fail"]


def interval_side(status: str, direction: str) -> str:
    """Which side of the line a decided interval lies on: ``"above"`` or ``"below"``."""
    failing_side = "above" if direction == "below" else "below"
    passing_side = "below" if direction == "below" else "above"
    return failing_side if status == "fail" else passing_side


def how_sure_text(page: PageContext, key: str) -> str:
    """One indicator's official figure and how sure the sample is about it (its statistical
    verdict, read from the interval the card draws)."""
    row = page.row(key)
    threshold = number_or_none(row.get("threshold"))
    direction = str(row.get("direction") or "below")
    official_status = status_key(row.get("official_decision"))
    status = status_key(row.get("decision"))
    low, high = number_or_none(row.get("ci_low")), number_or_none(row.get("ci_high"))
    line = (page.t(f"card.line.{direction}", threshold=format_line(threshold))
            if threshold is not None else page.t("card.line.none"))
    if status == "none" or low is None or high is None:
        sure = page.t("decision.sure.none")
    else:
        agrees = "agree" if status == official_status else "differ"
        key_text = ("decision.sure.cannot_tell" if status == "cannot_tell"
                    else f"decision.sure.{agrees}")
        sure = page.t(key_text, level=page.level_text,
                      interval=interval_text(low, high, threshold),
                      side=page.t(f"decision.side.{interval_side(status, direction)}"))
    official = number_or_none(row.get("official"))
    verdict = (page.t(f"official.{official_status}") if official_status in ("pass", "fail")
               else page.t("verdict.none"))
    return page.t("decision.item", name=i18n.indicator_label(key, page.lang),
                  figure=format_percent(official if official is not None else math.nan,
                                        versus=threshold),
                  verdict=verdict, line=line, sure=sure)


def decision_html(page: PageContext) -> str:
    """The answer first: whether the county meets the exit standard by the official rule,
    which indicators fail it, and how sure the sample is about each (``id="decision"``).

    The official rule applies each line to the plain sample ratio (DESIGN.md, "Two
    verdicts"); the statistical verdict follows from the interval drawn on the card. With
    no failure, the indicators the sample is not sure of are listed instead. Every name and
    figure comes from the indicator table.
    """
    judged = [k for k in HEADLINE_KEYS
              if status_key(page.row(k).get("official_decision")) in ("pass", "fail")]
    unjudged = [k for k in HEADLINE_KEYS if k not in judged]
    failing = official_failures(page)
    names = [i18n.indicator_label(k, page.lang, in_sentence=True) for k in failing]
    if not judged:
        outcome, lead, listed = "none", page.t("decision.no_lines"), []
    elif failing:
        outcome = "fail"
        lead = page.t("decision.fail", indicators=i18n.join_names(names, page.lang))
        listed = failing
    else:
        outcome = "pass" if not unjudged else "none"
        lead = page.t("decision.pass", count=format_count(len(judged), page.lang))
        if unjudged:
            lead = page.t("decision.partial", indicators=i18n.join_names(
                [i18n.indicator_label(k, page.lang, in_sentence=True) for k in unjudged],
                page.lang))
        listed = [k for k in judged if status_key(page.row(k).get("decision")) != "pass"]
        if not listed:
            lead = page.join([lead, page.t("decision.all_sure", level=page.level_text)])
    items = "".join(
        f'<li data-indicator="{escape_html(k)}" '
        f'data-official="{status_key(page.row(k).get("official_decision"))}" '
        f'data-status="{status_key(page.row(k).get("decision"))}">'
        f"{escape_html(how_sure_text(page, k))}</li>" for k in listed)
    colour = STATUS_COLOURS["fail" if outcome == "fail" else
                           "pass" if outcome == "pass" else "none"]
    return (f'<section id="decision" class="ek-decision" data-official="{outcome}" '
            f'style="border-left-color:{colour}">'
            f'<h2 class="ek-decision-title">{escape_html(page.t("decision.title"))}</h2>'
            f'<p class="ek-decision-lead">{escape_html(lead)}</p>'
            + (f'<ul class="ek-decision-items">{items}</ul>' if items else "")
            + "</section>")


def summary_chips(page: PageContext, column: str, statuses: Sequence[str]) -> str:
    """One row of count chips for ``column`` (``official_decision`` or ``decision``)."""
    found = [status_key(page.row(k).get(column)) for k in HEADLINE_KEYS]
    chips = []
    for status in statuses:
        count = found.count(status)
        if count == 0 and status == "none":
            continue
        label = page.t(f"status.{status}")
        # A count of 0 is no news: grey, never the verdict's alarm colour (a red "fails: 0
        # of 4" reads as a failure at a glance).
        shade = status if count else "none"
        chips.append(
            f'<span class="ek-chip" data-status="{status}" data-count="{count}" style="color:'
            f'{STATUS_COLOURS[shade]};background:{STATUS_TINTS[shade]}">'
            f'{escape_html(label)}: '
            f'{escape_html(page.t("summary.count", count=count, total=len(found)))}</span>')
    title = page.t("summary.official" if column == "official_decision" else "summary.statistical")
    return (f'<div class="ek-chips" data-verdicts="{escape_html(column)}">'
            f'<span class="ek-chips-title">{escape_html(title)}</span>{"".join(chips)}</div>')
