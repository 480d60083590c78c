"""Technical figures for the notebooks (the policy report's charts live in evalkit.report).

Figures are returned, never shown implicitly, so notebooks control when they display and
nbval never compares a ``<Figure size ...>`` repr.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def as_image(fig: Figure, dpi: int = 110):
    """Close ``fig`` and return it as an embeddable PNG (an IPython ``Image``).

    Displaying this instead of the figure keeps ``<Figure size ...>`` text, whose format
    changes across matplotlib-inline versions, out of the outputs nbval compares.
    """
    from IPython.display import Image

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="png")


def forest_plot(table: pd.DataFrame, title: str = "Indicators against their thresholds",
                label_column: str = "label") -> Figure:
    """Estimates with intervals, the official plain ratio and the threshold, one row each.

    ``table`` is :func:`evalkit.indicators.indicator_table` (or a subset of its rows).
    Rates are drawn in percent; each row gets its own threshold tick.
    """
    rows = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    estimate = rows["estimate"].to_numpy() * 100
    low = rows["ci_low"].to_numpy() * 100
    high = rows["ci_high"].to_numpy() * 100
    colours = rows["decision"].map({"pass": "#1a7f37", "fail": "#cf222e",
                                    "cannot tell": "#bf8700"}).fillna("#57606a")
    for yi, e, lo, hi, colour in zip(y, estimate, low, high, colours, strict=True):
        ax.errorbar([e], [yi], xerr=[[e - lo], [hi - e]], fmt="none", ecolor=colour,
                    elinewidth=2.5, capsize=4)
    ax.scatter(estimate, y, color=list(colours), zorder=3, label="design-based estimate")
    ax.scatter(rows["official"].to_numpy() * 100, y, marker="x", color="black", zorder=4,
               label="official plain ratio")
    thresholds = rows["threshold"].to_numpy(dtype=float) * 100
    for yi, threshold in zip(y, thresholds, strict=True):
        if np.isfinite(threshold):
            ax.plot([threshold, threshold], [yi - 0.35, yi + 0.35], color="#0969da",
                    linestyle="--", linewidth=1.5)
    ax.plot([], [], color="#0969da", linestyle="--", label="threshold")
    ax.set_yticks(y, rows[label_column])
    ax.set_xlabel("percent")
    ax.set_title(title)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.5 - 0.04 * len(rows)), ncol=3,
              frameon=False)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def interval_comparison_plot(table: pd.DataFrame, threshold: float | None,
                             title: str) -> Figure:
    """Intervals from several methods for one indicator (``compare_methods`` output)."""
    fig, ax = plt.subplots(figsize=(6.5, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    estimate = table["estimate"].to_numpy() * 100
    ax.errorbar(estimate, y, xerr=[estimate - table["ci_low"] * 100,
                                   table["ci_high"] * 100 - estimate],
                fmt="o", color="#24292f", capsize=4)
    if threshold is not None:
        ax.axvline(threshold * 100, color="#cf222e", linestyle="--", label="threshold")
        ax.legend(frameon=False)
    ax.set_yticks(y, table["method"])
    ax.set_xlabel("percent")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
