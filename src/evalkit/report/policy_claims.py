"""The policy page's sentences on what the numbers support (issue 25): the sample that would
settle a verdict, townships on the wrong side of a line with their multiplicity, and the
fragility each satisfaction scenario carries. Each takes the page's context
(:class:`evalkit.report.policy_sections.PageContext`) and reads only the run's tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evalkit.report import i18n
from evalkit.report.i18n import format_count, format_line, format_percent
from evalkit.report.verdicts import number_or_none, scenario_label

if TYPE_CHECKING:
    from evalkit.assessment.summary import AtRisk, Settle

__all__ = ["hotspot_sentences", "scenario_caveats", "settle_text"]


def settle_text(page: Any, settle: Settle) -> str:
    """The sample that would settle a "cannot tell" verdict (a power calculation,
    :func:`evalkit.assessment.summary.settle_size`), as a sentence: which households it
    counts, and a flag when it needs more villages than the frame holds."""
    estimate = number_or_none(page.row(settle.indicator).get("estimate"))
    threshold = number_or_none(page.row(settle.indicator).get("threshold"))
    dash = "\u2013"
    text = page.t(
        "settle.sentence", estimate=format_percent(estimate or math.nan, versus=threshold),
        needed=format_count(settle.households_needed, page.lang),
        now=format_count(settle.households_now, page.lang),
        domain=page.t(f"settle.domain.{settle.domain}"),
        sample=(format_count(settle.sample_needed, page.lang)
                if settle.sample_needed is not None else dash),
        sample_now=(format_count(settle.sample_now, page.lang)
                    if settle.sample_now is not None else dash),
        villages=format_count(settle.villages_needed, page.lang),
        villages_now=format_count(settle.villages_now, page.lang),
        power=format_line(settle.power),
        level=page.level_text, verdict=page.t(f"official.{settle.verdict}"))
    if settle.beyond_frame:
        text = page.join([text, page.t("settle.beyond_frame", frame=format_count(
            settle.frame_villages or 0, page.lang))])
    return text


def scenario_caveats(page: Any, names: Sequence[str]) -> list[str]:
    """The fragility each named scenario carries, as the page's sentences: the terms it
    changes that rest on few households and those whose sign the ordinal model contradicts
    (columns ``rests_on_few`` and ``sign_differs`` of notebook 03's ``scenarios.csv``,
    :func:`evalkit.assessment.satisfaction.with_caveats`); [] when there is none."""
    scenarios = page.scenarios
    if scenarios is None or "scenario" not in scenarios.columns:
        return []
    sentences: list[str] = []
    rows = {str(r["scenario"]): r for r in scenarios.to_dict("records")}
    for name in names:
        row = rows.get(str(name), {})
        action = scenario_label(str(name), page.lang)
        for column, key in (("rests_on_few", "drivers.rests_on_few"),
                            ("sign_differs", "drivers.sign_differs")):
            value = row.get(column)
            terms = [t for t in str(value).split(";") if t] if isinstance(value, str) else []
            if terms:
                sentences.append(page.t(key, action=action,
                                        terms=page.t("priority.list_sep").join(terms)))
    return sentences


def hotspot_sentences(page: Any, item: AtRisk, row: Mapping[str, Any]) -> list[str]:
    """Townships on the wrong side of the line, ranked by the evidence, and how many would
    be there by chance (:func:`evalkit.assessment.summary.hotspots`,
    :func:`evalkit.assessment.summary.township_tests`); [] without any."""
    t = page.t
    key = item.indicator
    threshold = number_or_none(row.get("threshold"))
    if not item.hotspots:
        return []
    parts: list[str] = []
    direction = "below" if (row.get("direction") or "below") == "below" else "at_least"
    places = t("priority.list_sep").join(
        t("priority.place", township=h.township,
          estimate=format_percent(h.estimate, versus=threshold),
          bound_side=t(f"priority.bound.{direction}"),
          bound=format_percent(h.bound, versus=threshold) if math.isfinite(h.bound)
          else "\u2013",
          households=format_count(h.households, page.lang)) for h in item.hotspots)
    parts.append(t(f"priority.hotspots.{direction}",
                   indicator=i18n.indicator_label(key, page.lang, in_sentence=True),
                   places=places, level=page.level_text))
    tests = item.township_tests
    if tests is not None:
        parts.append(t(f"priority.chance.{direction}", beyond=tests.beyond,
                       tests=tests.tests, all=tests.all_tests,
                       alpha=format_line(tests.alpha_side),
                       chance=f"{tests.expected_by_chance:.1f}", level=page.level_text))
    return parts


