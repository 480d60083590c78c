"""Presentation: tables in, HTML/PNG/XLSX out (policy page, province page, figures,
words in ``resources/locale``, the embedded font). Imports the layers before it.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.report import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "policy": (
        "PolicyReport", "build_report", "report_from_params", "report_from_tables",
    ),
    "verdicts": (
        "HEADLINE_KEYS", "INDICATOR_COLUMNS", "SCENARIO_COLUMNS", "BASELINE_SCENARIOS",
        "STATUS_COLOURS", "STATUS_TINTS", "status_key", "number_or_none",
        "require_table_columns", "sentence", "scenario_label", "rank_priorities",
    ),
    "charts": (
        "nice_ceiling", "line_scale", "number_line_svg",
    ),
    "plots": (
        "wrap_label", "drivers_figure",
    ),
    "html_parts": (
        "escape_html", "CELL_CLASS", "table_html", "interval_text", "percent_or_dash",
        "excel_value", "display_width",
    ),
    "policy_style": (
        "CSS",
    ),
})
