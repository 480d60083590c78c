"""Every matplotlib figure of evalkit: the notebooks' technical figures and the policy page's
drivers chart (:func:`drivers_figure`). The policy cards' number lines are SVG text, drawn
without matplotlib in :mod:`evalkit.report.charts`.

Figures are returned, never shown implicitly, so notebooks control when they display and
nbval never compares a ``<Figure size ...>`` repr.
"""

from __future__ import annotations

import io
import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evalkit.report import i18n
from evalkit.report.i18n import format_line, format_points
from evalkit.report.verdicts import STATUS_COLOURS, scenario_label


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """PNG bytes of ``fig``, closed afterwards; no timestamp or software tag in the file.

    Notebooks display these bytes rather than the figure, so no ``<Figure size ...>`` text
    (whose format changes across matplotlib-inline versions) reaches the outputs nbval
    compares, and reruns give identical files. Drawn with evalkit's CJK font available so
    Chinese labels render.
    """
    from evalkit.report import fonts

    buffer = io.BytesIO()
    with fonts.context():
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight",
                    metadata={"Software": None}, facecolor="white")
    plt.close(fig)
    return buffer.getvalue()


def as_image(fig: Figure, dpi: int = 110):
    """``fig`` as an IPython ``Image`` to ``display`` (see :func:`figure_png`)."""
    from IPython.display import Image

    return Image(data=figure_png(fig, dpi=dpi), format="png")


def _arms(estimate: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Error-bar arm lengths of many rows, a ``2 x n`` array (see :func:`_xerr`)."""
    below = np.where(np.isfinite(low), estimate - low, 0.0)
    above = np.where(np.isfinite(high), high - estimate, 0.0)
    return np.clip(np.vstack([below, above]), 0.0, None)


def _xerr(estimate: float, low: float, high: float) -> list[list[float]]:
    """Error-bar lengths ``[[estimate - low], [high - estimate]]``, never negative.

    An interval not estimable (NaN bounds) draws no bar, only the point; a bound equal to
    the estimate up to rounding (a one-sided zero-event interval) draws a zero-length arm.
    """
    return _arms(np.array([estimate], dtype=float), np.array([low], dtype=float),
                 np.array([high], dtype=float)).tolist()


def forest_plot(table: pd.DataFrame, title: str = "Indicators against their thresholds",
                label_column: str = "label") -> Figure:
    """Estimate, interval, official plain ratio and threshold, one panel per indicator.

    ``table`` is :func:`evalkit.assessment.indicators.indicator_table` (or a subset of its rows).
    Rates are drawn in percent. Each panel has its own scale: a 2% line and a 90% line
    on one axis would squeeze the small rates into a point.
    """
    rows = table.reset_index(drop=True)
    fig, axes = plt.subplots(len(rows), 1, figsize=(7.5, 0.95 * len(rows) + 0.9),
                             squeeze=False)
    palette = {"pass": "#1a7f37", "fail": "#cf222e", "cannot tell": "#bf8700"}
    for ax, (_, row) in zip(axes[:, 0], rows.iterrows(), strict=True):
        colour = palette.get(row["decision"], "#57606a")
        e, lo, hi = (row["estimate"] * 100, row["ci_low"] * 100, row["ci_high"] * 100)
        official = row["official"] * 100
        threshold = float(row["threshold"]) * 100 if pd.notna(row["threshold"]) else None
        ax.errorbar([e], [0], xerr=_xerr(e, lo, hi), fmt="o", color=colour,
                    elinewidth=3, capsize=5, markersize=7, label="design-based estimate")
        ax.plot([official], [0], marker="x", color="black", markersize=8, linestyle="none",
                label="official plain ratio")
        span = [v for v in (e, lo, hi, official) if np.isfinite(v)] + (
            [threshold] if threshold is not None else [])
        if threshold is not None:
            ax.axvline(threshold, color="#0969da", linestyle="--", linewidth=1.5,
                       label="threshold")
        pad = max((max(span) - min(span)) * 0.15, 0.2)
        ax.set_xlim(max(min(span) - pad, 0), min(max(span) + pad, 100))
        ax.set_yticks([])
        ax.set_ylabel(row[label_column], rotation=0, ha="right", va="center")
        ax.text(1.01, 0.5, f"{row['decision'] or ''}", transform=ax.transAxes, va="center",
                color=colour, fontweight="bold")
        ax.grid(axis="x", alpha=0.3)
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}%")
    axes[0, 0].set_title(title)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 0.92, 1))
    return fig


def interval_plot(labels, estimate, low, high, *, title: str,
                  reference: float | None = None, reference_label: str = "threshold",
                  percent: bool = True, log_scale: bool = False,
                  colours: list[str] | None = None, row_height: float = 0.5) -> Figure:
    """Point estimates with intervals, one row per label (top to bottom), and an optional
    vertical reference line (a threshold, or 1 for odds ratios).

    ``percent`` draws proportions as percentages; ``log_scale`` suits ratios; ``row_height``
    is each row's height in inches.
    """
    scale = 100.0 if percent else 1.0
    estimate = np.asarray(estimate, dtype=float) * scale
    low = np.asarray(low, dtype=float) * scale
    high = np.asarray(high, dtype=float) * scale
    colours = np.asarray(colours or ["#0969da"] * len(estimate), dtype=object)
    if colours.shape != estimate.shape:
        raise ValueError(f"interval_plot: {colours.size} colours for {estimate.size} rows")
    fig, ax = plt.subplots(figsize=(7.5, row_height * len(estimate) + 1.3))
    y = np.arange(len(estimate))[::-1]
    arms = _arms(estimate, low, high)
    # One errorbar call per colour, not per row: a province's forest plot has hundreds of rows
    # and each call builds its own artists (the per-row loop took 3x as long at 100 rows).
    for colour in dict.fromkeys(colours.tolist()):
        rows = colours == colour
        ax.errorbar(estimate[rows], y[rows], xerr=arms[:, rows], fmt="o", color=colour,
                    elinewidth=3, capsize=5)
    if reference is not None:
        ax.axvline(reference * scale, color="#cf222e", linestyle="--", linewidth=1.5,
                   label=reference_label)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    if log_scale:
        ax.set_xscale("log")
    ax.set_yticks(y, list(labels))
    if percent:
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}%")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def interval_comparison_plot(table: pd.DataFrame, threshold: float | None,
                             title: str) -> Figure:
    """Intervals from several methods for one indicator (``compare_methods`` output)."""
    return interval_plot(table["method"], table["estimate"], table["ci_low"],
                         table["ci_high"], title=title, reference=threshold)


def scenario_plot(table: pd.DataFrame, threshold: float | None = None,
                  title: str = "Recognition rate by scenario") -> Figure:
    """Rates with intervals per scenario (``LogitResult.scenarios``), observed in grey."""
    colours = ["#57606a" if s == "observed" else "#0969da" for s in table["scenario"]]
    label = f"threshold {threshold:.0%}" if threshold is not None else "threshold"
    return interval_plot(table["scenario"], table["estimate"], table["ci_low"],
                         table["ci_high"], title=title, reference=threshold,
                         reference_label=label, colours=colours)


def odds_ratio_plot(result, level: float = 0.95,
                    title: str = "Odds ratios of recognition") -> Figure:
    """Odds ratios of a ``LogitResult`` with intervals on a log scale, intercept left out."""
    table = result.odds_ratios(level).drop(index="Intercept", errors="ignore")
    return interval_plot(table.index, table["odds_ratio"], table["ci_low"],
                         table["ci_high"], title=f"{title} ({level:.0%} intervals)",
                         reference=1.0, reference_label="no effect", percent=False,
                         log_scale=True)


# --------------------------------------------------------------------------------------
# the policy page's figure
# --------------------------------------------------------------------------------------
def wrap_label(label: str, lang: str, width_en: int = 26, width_zh: int = 13) -> str:
    """``label`` broken into lines: Chinese every ``width_zh`` characters (it has no spaces
    to break at), other languages between words at most ``width_en`` characters apart."""
    if lang == "zh":
        return "\n".join(label[i:i + width_zh] for i in range(0, len(label), width_zh))
    return "\n".join(textwrap.wrap(label, width_en)) or label


def drivers_figure(priorities: pd.DataFrame, lang: str, level: float,
                   threshold: float | None = None) -> Figure:
    """Horizontal bars: recognition each scenario recovers, in points, with intervals.

    ``priorities`` is :func:`evalkit.report.verdicts.rank_priorities`' table, drawn in its
    order (largest gain on top). Each action's name sits above its bar, so the bars use the
    full width and the chart stays legible when a phone shrinks it. When recognition now is
    below the line, a dashed line marks the gain needed to reach it. Draws with the shipped
    CJK font.
    """
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
