"""The policy page's number lines: one SVG per card, on one scale wherever cards are
compared (:func:`line_scale`). Drawn as text, with no plotting library; every matplotlib
figure, the policy page's drivers chart included, lives in :mod:`evalkit.report.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from evalkit.report.html_parts import escape_html
from evalkit.report.i18n import format_line
from evalkit.report.verdicts import STATUS_COLOURS, STATUS_TINTS


def nice_ceiling(value: float) -> float:
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
        return (max(0.0, 1.0 - nice_ceiling(1.6 * (1.0 - min(finite)))), 1.0)
    return (0.0, nice_ceiling(max(finite) * 1.25) if max(finite) > 0 else 0.01)


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
             f'aria-label="{escape_html(aria)}">']
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
                     f'fill="#1f2328">{escape_html(format_line(threshold))}</text>')
    parts.append(f'<text x="{x0}" y="56" font-size="13" fill="#57606a">'
                 f'{escape_html(format_line(round(bottom, 4)))}</text>')
    parts.append(f'<text x="{x1}" y="56" font-size="13" text-anchor="end" fill="#57606a">'
                 f'{escape_html(format_line(round(top, 4)))}</text>')
    parts.append("</svg>")
    return "".join(parts)
