"""The policy pages' charts as inline SVG: the number lines, one per card, on one scale
wherever cards are compared (:func:`line_scale`), and the province page's forest plots.
Drawn as text, with no plotting library; every matplotlib figure, the policy page's drivers
chart included, lives in :mod:`evalkit.report.plots`.
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


def axis_ticks(bottom: float, top: float, target: int = 5) -> list[float]:
    """Tick values from ``bottom`` to ``top`` at a step of 1, 2, 2.5 or 5 times a power of ten,
    about ``target`` intervals apart."""
    span = top - bottom
    if not (span > 0 and math.isfinite(span)):
        return [bottom]
    raw = span / target
    exponent = math.floor(math.log10(raw))
    step = 10.0 ** (exponent + 1)
    for multiple in (1.0, 2.0, 2.5, 5.0):
        if multiple * 10.0**exponent >= raw:
            step = multiple * 10.0**exponent
            break
    first = math.ceil(round(bottom / step, 9))
    last = math.floor(round(top / step, 9))
    return [round(k * step, 12) for k in range(first, last + 1)]


def _shortened(label: str, room: float, size: float) -> str:
    """``label`` cut with an ellipsis to fit ``room`` units at font ``size`` (a CJK character
    is about one ``size`` wide, other characters about 0.55 of it)."""
    def width(text: str) -> float:
        return sum(size if ord(c) > 0x2E7F else 0.55 * size for c in text)

    if width(label) <= room:
        return label
    while label and width(label + "…") > room:
        label = label[:-1]
    return label + "…"


def forest_svg(labels: Sequence[str], estimates: Sequence[float], lows: Sequence[float],
               highs: Sequence[float], statuses: Sequence[str], *, threshold: float | None,
               direction: str, aria: str, threshold_label: str, narrow: bool = False) -> str:
    """An inline SVG forest plot: one row per unit (in the order given), its interval as a
    bar and its estimate as a dot coloured by ``statuses`` (keys of :data:`STATUS_COLOURS`),
    with the threshold as a dashed line and a percentage axis above and below.

    Text, not an image: a reader finds a county with the browser's search, each row's
    tooltip gives its figures, and it stays sharp when zoomed or printed. The scale is the
    number lines' (:func:`line_scale`) over every value shown.

    ``narrow`` draws it 380 units wide instead of 720, for a phone: shown 358 px wide (a
    390 px screen less the page's margins) its 12-unit text is 11.3 px, where the wide
    plot's would be 6 px.
    """
    n = len(labels)
    bottom, top = line_scale([*estimates, *lows, *highs, threshold], direction)
    span = top - bottom or 1.0
    width, x0, x1, size = (380.0, 120.0, 366.0, 12.0) if narrow else (720.0, 190.0, 700.0,
                                                                      12.0)
    row = 24.0 if n <= 30 else 18.0
    head = 46.0
    height = head + n * row + 30.0

    def x(v: float) -> float:
        return round(x0 + (min(max(v, bottom), top) - bottom) / span * (x1 - x0), 1)

    def finite(v: float | None) -> bool:
        return v is not None and math.isfinite(float(v))

    ticks = axis_ticks(bottom, top)
    kind = "ek-forest ek-forest-narrow" if narrow else "ek-forest"
    parts = [f'<svg class="{kind}" viewBox="0 0 {width:g} {height:g}" role="img" '
             f'aria-label="{escape_html(aria)}"><title>{escape_html(aria)}</title>']
    for tick in ticks:
        xt = x(tick)
        shown = escape_html(format_line(tick))
        parts.append(f'<line x1="{xt}" y1="{head - 6:g}" x2="{xt}" y2="{head + n * row:g}" '
                     'stroke="#d0d7de" stroke-width="1"/>'
                     f'<text x="{xt}" y="{head - 10:g}" font-size="{size:g}" '
                     f'text-anchor="middle" fill="#57606a">{shown}</text>'
                     f'<text x="{xt}" y="{head + n * row + 18:g}" font-size="{size:g}" '
                     f'text-anchor="middle" fill="#57606a">{shown}</text>')
    if finite(threshold):
        assert threshold is not None
        xt = x(threshold)
        anchor = "start" if xt < x0 + 60 else "end" if xt > x1 - 60 else "middle"
        parts.append(f'<line x1="{xt}" y1="{head - 4:g}" x2="{xt}" y2="{head + n * row:g}" '
                     'stroke="#1f2328" stroke-width="1.5" stroke-dasharray="4 3"/>'
                     f'<text x="{xt}" y="14" font-size="{size:g}" text-anchor="{anchor}" '
                     f'fill="#1f2328">{escape_html(threshold_label)} '
                     f'{escape_html(format_line(threshold))}</text>')
    for k, (label, estimate, low, high, status) in enumerate(
            zip(labels, estimates, lows, highs, statuses, strict=True)):
        y = round(head + (k + 0.5) * row, 1)
        colour = STATUS_COLOURS.get(status, STATUS_COLOURS["none"])
        bounds = (f"{format_line(round(float(low), 4))} – {format_line(round(float(high), 4))}"
                  if finite(low) and finite(high) else "–")
        shown = format_line(round(float(estimate), 4)) if finite(estimate) else "–"
        parts.append(f'<g><title>{escape_html(f"{label}: {shown} ({bounds})")}</title>'
                     f'<text x="{x0 - 8:g}" y="{y + 4:g}" font-size="{size:g}" '
                     f'text-anchor="end" fill="#1f2328">'
                     f'{escape_html(_shortened(str(label), x0 - 14, size))}</text>')
        if finite(low) and finite(high):
            parts.append(f'<line x1="{x(float(low))}" y1="{y:g}" x2="{x(float(high))}" '
                         f'y2="{y:g}" stroke="{colour}" stroke-width="3" '
                         'stroke-linecap="round"/>')
        if finite(estimate):
            parts.append(f'<circle cx="{x(float(estimate))}" cy="{y:g}" r="4" fill="#fff" '
                         f'stroke="{colour}" stroke-width="2"/>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
