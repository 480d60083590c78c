"""Small HTML pieces shared by the report pages: escaping, tables, intervals and widths.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np

from evalkit.report.i18n import format_percent
from evalkit.report.verdicts import (
    STATUS_COLOURS,
    number_or_none,
)


def escape_html(value: object) -> str:
    return html.escape(str(value), quote=True)


CELL_CLASS = {"num": ' class="ek-num"', "wide": ' class="ek-wide"', "text": "",
               "status": ' class="ek-status"'}


def table_html(columns: Sequence[tuple[str, str]],
                rows: Sequence[tuple[Sequence[str | tuple[str, str]], str]]) -> str:
    """A scrolling table; ``columns`` are (header, kind) with kind num/text/wide/status.

    A cell is a string, or a (value, interval) pair shown as the value with the interval in
    small print under it (five columns fit a phone or an A4 page where eight would not). A
    status cell takes the traffic-light colour of its row's status key. Each cell carries
    its header in ``data-label``: on a phone the rows stack as cards, each value beside its
    header (CSS only).
    """
    head = "".join(f"<th{CELL_CLASS[kind]}>{escape_html(h)}</th>" for h, kind in columns)
    body = []
    for cells, status in rows:
        tds = []
        for cell, (header, kind) in zip(cells, columns, strict=True):
            style = f' style="color:{STATUS_COLOURS[status]}"' if kind == "status" else ""
            if isinstance(cell, tuple):
                content = (f'<span class="ek-val">{escape_html(cell[0])}'
                           f'<span class="ek-sub">{escape_html(cell[1])}</span></span>')
            else:
                content = escape_html(cell)
            tds.append(f'<td{CELL_CLASS[kind]}{style} data-label="{escape_html(header)}">'
                       f"{content}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return ('<div class="ek-table-wrap"><table class="ek-table"><thead><tr>'
            f'{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def interval_text(low: object, high: object, threshold: float | None) -> str:
    lo, hi = number_or_none(low), number_or_none(high)
    return (f"{format_percent(lo if lo is not None else math.nan, versus=threshold)} \u2013 "
            f"{format_percent(hi if hi is not None else math.nan, versus=threshold)}")


def percent_or_dash(value: float | None, threshold: float | None) -> str:
    return "\u2013" if value is None else format_percent(value, versus=threshold)


def excel_value(value: object) -> object:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    return value


def display_width(text: str) -> int:
    # CJK characters take two columns in Excel's default font.
    return sum(2 if ord(c) > 0x2E80 else 1 for c in text)
