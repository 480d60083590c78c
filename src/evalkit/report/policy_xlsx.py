"""The policy page's key tables as an Excel workbook, for staff who work in Excel.

Sheets: indicators, priorities (when the run has scenarios) and about (run, level, method,
sample), each read from one :class:`evalkit.report.policy_sections.PageContext`
(:func:`workbook_sheets`), then written with headers, number formats and column widths
(:func:`write_workbook`). Proportions are stored as numbers formatted as percentages, so
they stay computable; the file is byte-for-byte reproducible (fixed timestamps,
:func:`evalkit.contract.xlsx.save_workbook`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evalkit.contract import xlsx
from evalkit.report import i18n
from evalkit.report.html_parts import display_width, excel_value
from evalkit.report.i18n import format_line
from evalkit.report.policy_sections import PageContext
from evalkit.report.verdicts import number_or_none, scenario_label, status_key


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its name, its table, and which columns are percentages or decimals."""

    name: str
    frame: pd.DataFrame
    percent_columns: frozenset[str] = field(default_factory=frozenset)
    decimal_columns: frozenset[str] = field(default_factory=frozenset)


def indicator_sheet(page: PageContext) -> pd.DataFrame:
    """The indicator table with translated headers and labels, numbers unrounded."""
    t = page.t
    rows = []
    for rec in page.indicators.to_dict("records"):
        direction = str(rec.get("direction") or "")
        rows.append({
            t("col.indicator"): i18n.indicator_label(str(rec["indicator"]), page.lang),
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


def priority_sheet(page: PageContext) -> pd.DataFrame | None:
    """Ranked scenarios with translated headers (changes in percentage points)."""
    ranked = page.ranked
    if ranked is None:
        return None
    t = page.t
    threshold = page.recognition_line
    return pd.DataFrame({
        t("col.rank"): ranked["rank"].astype(int),
        t("col.action"): [scenario_label(s, page.lang) for s in ranked["scenario"]],
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


def about_sheet(page: PageContext) -> pd.DataFrame:
    """The run, its confidence level, interval method and sample, as key and value."""
    t = page.t
    return pd.DataFrame({t("about.key"): [t("about.run"), t("about.level"),
                                          t("about.method"), t("about.households"),
                                          t("about.villages")],
                         t("about.value"): [page.run_name, page.level_text, page.method,
                                            page.households, page.villages]})


def workbook_sheets(page: PageContext) -> list[Sheet]:
    """The workbook's sheets in order: indicators, priorities (with scenarios), about."""
    t = page.t
    sheets = [Sheet(t("sheet.indicators"), indicator_sheet(page),
                    frozenset({t("col.estimate"), t("col.ci_low"), t("col.ci_high"),
                               t("col.official"), t("col.threshold"), t("col.se")}),
                    frozenset({t("col.deff")}))]
    priorities = priority_sheet(page)
    if priorities is not None:
        sheets.append(Sheet(t("sheet.priorities"), priorities,
                            frozenset({t("col.before"), t("col.after"), t("col.after_low"),
                                       t("col.after_high")}),
                            frozenset({t("col.gain"), t("col.gain_low"),
                                       t("col.gain_high")})))
    sheets.append(Sheet(t("sheet.about"), about_sheet(page)))
    return sheets


def write_workbook(sheets: Sequence[Sheet], path: str | Path) -> Path:
    """Write ``sheets`` to ``path``: bold shaded headers, percentages as ``0.00%`` and
    decimals as ``0.00`` (numbers stay numbers), columns as wide as their text (8 to 48
    characters, Chinese counted double), the header row and first column frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "evalkit"  # save times are fixed by evalkit.contract.xlsx
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="F6F8FA")
    for sheet in sheets:
        frame = sheet.frame
        ws = wb.create_sheet(sheet.name[:31])
        xlsx.append_row(ws, frame.columns)
        for cell in ws[1]:
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for values in frame.itertuples(index=False):
            # Text (a run name, a scenario label) is a string cell, never a formula.
            xlsx.append_row(ws, [excel_value(v) for v in values])
        for j, column in enumerate(frame.columns, start=1):
            letter = ws.cell(row=1, column=j).column_letter
            fmt = ("0.00%" if column in sheet.percent_columns else
                   "0.00" if column in sheet.decimal_columns else None)
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


def policy_workbook(page: PageContext, path: str | Path) -> Path:
    """Write the page's key tables to an Excel workbook at ``path`` (see the module)."""
    return write_workbook(workbook_sheets(page), path)
