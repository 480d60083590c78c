"""The re-check round in words: the policy page's "what changed since the assessment" section,
read from the tables notebook 05 wrote, and one plain sentence per indicator.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalkit.assessment.followup import COUNT_TARGETS, WATER
from evalkit.report import i18n


# --------------------------------------------------------------------------------------
# the policy report's section
# --------------------------------------------------------------------------------------
def _label(key: str, lang: str) -> str:
    if key == WATER.key:
        return WATER.label(lang)
    if key in COUNT_TARGETS:
        return i18n.text(f"followup.count.{key}", lang)
    return i18n.indicator_label(key, lang)


def _value_text(key: str, value: float, lang: str) -> str:
    if key in COUNT_TARGETS:
        return i18n.format_count(round(value), lang)
    return i18n.format_percent(value)


def section_html(table: pd.DataFrame, explained: pd.DataFrame | None, *, lang: str,
                 level: float, label: str, households: int, villages: int, shared: int,
                 nonresponse: pd.DataFrame | None = None) -> str:
    """"What changed since the assessment": the change table, targets, recognition, and a
    caution when a weighting cell of the re-check (``nonresponse``, notebook 05's
    ``followup_nonresponse.csv``) responded less often than
    :data:`evalkit.assessment.defaults.LOW_RESPONSE_RATE`."""
    from evalkit.assessment.fragility import caution, nonresponse_cautions
    from evalkit.report.cautions import caution_text
    from evalkit.report.html_parts import escape_html, table_html
    from evalkit.report.verdicts import status_key

    def t(key: str, **values: object) -> str:
        return i18n.text(key, lang, **values)

    level_text = i18n.format_line(level)
    columns = [(t("followup.col_indicator"), "wide"), (t("followup.col_before"), "num"),
               (t("followup.col_after"), "num"),
               (t("followup.col_change", level=level_text), "num"),
               (t("followup.col_real"), "text"), (t("followup.col_verdict"), "status")]
    body = []
    rates = table.loc[~table["indicator"].isin(list(COUNT_TARGETS))]
    for rec in rates.to_dict("records"):
        after = status_key(rec["decision_after"] or None)
        before = status_key(rec["decision_before"] or None)
        verdict = (t(f"status.{before}") + " \u2192 " + t(f"status.{after}")
                   if after != "none" else "\u2013")
        body.append(([
            _label(str(rec["indicator"]), lang),
            i18n.format_percent(float(rec["before"])),
            i18n.format_percent(float(rec["after"])),
            (i18n.format_points(float(rec["change"])),
             f"{i18n.format_points(float(rec['ci_low']))} \u2026 "
             f"{i18n.format_points(float(rec['ci_high']))}"),
            t("followup.yes") if rec["distinguishable"] else t(
                "followup.no", low=i18n.format_points(float(rec["ci_low"])),
                high=i18n.format_points(float(rec["ci_high"]))),
            verdict,
        ], after))
    parts = [f'<div class="ek-report ek-keep"><h2>{escape_html(t("followup.title"))}</h2>',
             '<p class="ek-muted">' + escape_html(t(
                 "followup.intro", label=label, households=i18n.format_count(households, lang),
                 villages=villages, shared=shared, level=level_text)) + "</p>",
             table_html(columns, body)]
    for sentence in change_notes(table, lang=lang, level=level, shared=shared):
        parts.append('<p class="ek-sentence">' + escape_html(sentence) + "</p>")
    for low in nonresponse_cautions(nonresponse):  # the re-check's own weighting cells
        parts.append('<p class="ek-sentence">' + escape_html(caution_text(
            caution("followup_low_response", **dict(low.values)), lang)) + "</p>")
    with_target = table.loc[table["target"].notna()]
    if len(with_target):
        items = []
        for rec in with_target.to_dict("records"):
            key = str(rec["indicator"])
            items.append("<li>" + escape_html(t(
                "followup.target_line", indicator=_label(key, lang),
                target=_value_text(key, float(rec["target"]), lang),
                value=_value_text(key, float(rec["after"]), lang),
                status=t("followup.target." + str(rec["target_status"]).replace(" ", "_")),
            )) + "</li>")
        parts.append(f"<h3>{escape_html(t('followup.targets'))}</h3><ul>{''.join(items)}</ul>")
    if explained is not None:
        rows = explained.set_index("component")
        change, part = rows.loc["change"], rows.loc[["water", "reimbursement"]]
        points = float(part["estimate"].sum())
        share = points / float(change["estimate"]) if change["estimate"] else float("nan")
        parts.append('<p class="ek-sentence">' + escape_html(t(
            "followup.explained",
            change=i18n.format_points(float(change["estimate"])),
            low=i18n.format_points(float(change["ci_low"])),
            high=i18n.format_points(float(change["ci_high"])),
            explained=i18n.format_points(points, signed=False),
            share=i18n.format_percent(share, 0),
        )) + "</p>")
    parts.append("</div>")
    return "".join(parts)


def change_notes(table: pd.DataFrame, *, lang: str, level: float, shared: int) -> list[str]:
    """Two sentences on the change table, from its numbers: each rate's change SE with the
    shared villages' covariance beside ``sqrt(V1 + V2)`` (columns ``se`` and
    ``se_independent`` of :func:`evalkit.assessment.followup.change_table`), and the
    multiplicity of the changes tested: ``k`` two-sided tests at ``1 - level`` each expect
    ``k (1 - level)`` changes distinguishable from zero by chance when nothing changed
    (a Bonferroni count, valid whatever the tests' dependence)."""
    def t(key: str, **values: object) -> str:
        return i18n.text(key, lang, **values)

    out: list[str] = []
    if {"se", "se_independent"} <= set(table.columns):
        rates = table.loc[~table["indicator"].isin(list(COUNT_TARGETS))]
        rates = rates.loc[pd.to_numeric(rates["se_independent"], errors="coerce").notna()]
        items = [t("followup.covariance_item", indicator=_label(str(r["indicator"]), lang),
                   se=i18n.format_points(float(r["se"]), 2, signed=False),
                   se_independent=i18n.format_points(float(r["se_independent"]), 2,
                                                     signed=False))
                 for r in rates.to_dict("records")]
        if items:
            out.append(t("followup.covariance", shared=shared,
                         items=t("priority.list_sep").join(items)))
    tests = len(table)
    if tests:
        alpha = 1.0 - level
        out.append(t("followup.chance", tests=tests, alpha=i18n.format_line(alpha),
                     chance=f"{tests * alpha:.1f}",
                     found=int(table["distinguishable"].astype(bool).sum())))
    return out


def _cleared(table: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """``columns`` with the empty cells a CSV round trip turns into NaN back to ``""``."""
    out = table.copy()
    for column in columns:
        if column in out.columns:
            out[column] = out[column].astype(object).where(out[column].notna(), "")
    return out


def section_from_tables(tables_dir: str | Path, *, lang: str, level: float) -> str:
    """The policy report's section, read from the tables notebook 05 wrote.

    ``followup.csv`` (:func:`change_table`), ``followup_recognition.csv``
    (:func:`recognition_explained`), ``followup_sample.csv`` (:func:`sample_table`) and,
    when the re-check recorded non-response, ``followup_nonresponse.csv``: the
    page recomputes nothing, so each of its numbers traces to one of these tables
    (:data:`evalkit.assessment.summary.SOURCES`). A missing table is a one-line error naming
    the notebook that writes it.
    """
    from evalkit.assessment.summary import read_table
    from evalkit.contract.errors import EvalkitError

    folder = Path(tables_dir)
    table = read_table(folder, "followup.csv")
    explained = read_table(folder, "followup_recognition.csv")
    sample = read_table(folder, "followup_sample.csv")
    assert table is not None and explained is not None and sample is not None
    if sample.empty:
        raise EvalkitError(f"{folder / 'followup_sample.csv'}: no row; expected one")
    table = _cleared(table, ("decision_before", "decision_after", "target_status"))
    table["distinguishable"] = table["distinguishable"].astype(str).str.lower().isin(
        ("true", "1"))
    first = sample.iloc[0]
    return section_html(table, explained, lang=lang, level=level, label=str(first["label"]),
                        households=int(first["households"]), villages=int(first["villages"]),
                        shared=int(first["shared"]),
                        nonresponse=read_table(folder, "followup_nonresponse.csv",
                                               required=False))


def summary_lines(table: pd.DataFrame, explained: pd.DataFrame | None = None,
                  lang: str = "en") -> list[str]:
    """One sentence per indicator of the change table (and one on recognition)."""
    lines = []
    for rec in table.to_dict("records"):
        key = str(rec["indicator"])
        if key in COUNT_TARGETS:
            change = (f"{float(rec['change']):+,.0f} ({float(rec['ci_low']):+,.0f} to "
                      f"{float(rec['ci_high']):+,.0f})")
        else:
            change = (f"{i18n.format_points(float(rec['change']))} points "
                      f"({i18n.format_points(float(rec['ci_low']))} to "
                      f"{i18n.format_points(float(rec['ci_high']))})")
        real = ("distinguishable from zero" if rec["distinguishable"]
                else "not distinguishable from zero (the interval allows any change in it)")
        line = (f"{_label(key, lang)}: {_value_text(key, float(rec['before']), lang)} -> "
                f"{_value_text(key, float(rec['after']), lang)}, change {change}, {real}")
        if rec["decision_after"]:
            line += f"; verdict {rec['decision_before']} -> {rec['decision_after']}"
        if rec["target_status"]:
            line += (f"; target {_value_text(key, float(rec['target']), lang)} "
                     f"{rec['target_status']}")
        lines.append(line + ".")
    if explained is not None:
        rows = explained.set_index("component")
        points = float(rows.loc[["water", "reimbursement"], "estimate"].sum())
        total = float(rows.loc["change", "estimate"])
        lines.append(
            "By the satisfaction model (a model attribution, not a measurement; an effect "
            "only if the association is causal), the changes in water access and "
            f"reimbursement are associated with {i18n.format_points(points)} of the "
            f"{i18n.format_points(total)} points change in recognition "
            f"({i18n.format_percent(points / total, 0) if total else '-'}); water "
            f"{i18n.format_points(float(rows.loc['water', 'estimate']))} "
            f"({i18n.format_points(float(rows.loc['water', 'ci_low']))} to "
            f"{i18n.format_points(float(rows.loc['water', 'ci_high']))}), reimbursement "
            f"{i18n.format_points(float(rows.loc['reimbursement', 'estimate']))} "
            f"({i18n.format_points(float(rows.loc['reimbursement', 'ci_low']))} to "
            f"{i18n.format_points(float(rows.loc['reimbursement', 'ci_high']))}).")
    return lines
