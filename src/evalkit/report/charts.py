"""The policy page's charts: the number line of each card (SVG, one scale wherever cards are
compared) and the drivers figure.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.report import i18n
from evalkit.report.html_parts import escape_html
from evalkit.report.i18n import format_line, format_points
from evalkit.report.verdicts import (
    STATUS_COLOURS,
    STATUS_TINTS,
    scenario_label,
)


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------
def wrap_label(label: str, lang: str, width_en: int = 26, width_zh: int = 13) -> str:
    if lang == "zh":
        return "\n".join(label[i:i + width_zh] for i in range(0, len(label), width_zh))
    return "\n".join(textwrap.wrap(label, width_en)) or label


def drivers_figure(priorities: pd.DataFrame, lang: str, level: float,
                   threshold: float | None = None):  # -> matplotlib.figure.Figure
    """Horizontal bars: recognition each scenario recovers, in points, with intervals.

    ``priorities`` is :func:`rank_priorities`' table, drawn in its order (largest gain on
    top). Each action's name sits above its bar, so the bars use the full width and the
    chart stays legible when a phone shrinks it. When recognition now is below the line, a
    dashed line marks the gain needed to reach it. Draws with the shipped CJK font.
    """
    from matplotlib.figure import Figure

    from evalkit.report import fonts

    n = len(priorities)
    gains = priorities["change"].to_numpy(dtype=float) * 100
    lows = priorities["change_low"].to_numpy(dtype=float) * 100
    highs = priorities["change_high"].to_numpy(dtype=float) * 100
    labels = [wrap_label(scenario_label(s, lang), lang, width_en=34, width_zh=16)
              for s in priorities["scenario"]]
    lines = [label.count("\n") + 1 for label in labels]
    # Rows from the top: each takes its label's lines plus the bar.
    heights = [0.42 * k + 0.75 for k in lines]
    tops = np.concatenate([[0.0], np.cumsum(heights)[:-1]])
    y = -(tops + np.array([0.42 * k for k in lines]) + 0.3)
    before = float(priorities["before"].iloc[0]) if n else math.nan
    need = ((threshold - before) * 100 if threshold is not None and math.isfinite(before)
            and before < threshold else None)
    right = max([0.0, *highs, *([need] if need is not None else [])])
    left = min([0.0, *lows])
    span = (right - left) or 1.0
    with fonts.context():
        fig = Figure(figsize=(4.2, 1.5 + 0.55 * sum(heights)), dpi=150, layout="constrained")
        ax = fig.add_subplot()
        ax.barh(y, gains, height=0.45, color="#4c78a8",
                label=i18n.text("chart.estimate", lang))
        ax.errorbar(gains, y, xerr=np.vstack([gains - lows, highs - gains]), fmt="none",
                    ecolor="#1f2328", elinewidth=1.8, capsize=5,
                    label=i18n.text("chart.interval", lang, level=format_line(level)))
        x_left = left - 0.02 * span
        for yi, g, hi, label in zip(y, gains, highs, labels, strict=True):
            ax.text(x_left, yi + 0.3, label, ha="left", va="bottom", fontsize=12.5,
                    color="#1f2328", linespacing=1.25)
            ax.annotate(format_points(g / 100), (max(hi, g, 0.0), yi), xytext=(5, 0),
                        textcoords="offset points", va="center", fontsize=12,
                        color="#1f2328")
        ax.axvline(0, color="#57606a", linewidth=0.9)
        if need is not None:
            ax.axvline(need, color=STATUS_COLOURS["fail"], linestyle="--", linewidth=1.4,
                       label=i18n.text("chart.needed", lang,
                                       threshold=format_line(threshold)))
        ax.set_yticks([])
        ax.set_xlim(x_left, right + 0.16 * span)
        ax.set_ylim(-sum(heights) - 0.05, 0.1)
        ax.tick_params(axis="x", labelsize=11.5)
        ax.set_xlabel(i18n.text("chart.drivers.xlabel", lang), fontsize=11.5)
        ax.set_title(i18n.text("chart.drivers.title", lang), fontsize=13.5, loc="left")
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.grid(axis="x", color="#d0d7de", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.legend(loc="outside lower center", ncols=2, fontsize=11.5, frameon=False)
    return fig


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
