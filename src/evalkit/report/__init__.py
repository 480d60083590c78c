"""Presentation: tables in, HTML/PNG/XLSX out (policy page, province page, figures,
words in ``resources/locale``, the embedded font). Imports the layers before it.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.report import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "policy": (
        "status_key", "sentence", "scenario_label", "rank_priorities", "drivers_figure",
        "PolicyReport", "line_scale", "number_line_svg", "build_report", "report_from_params",
        "report_from_tables", "CSS", "escape_html", "table_html", "HEADLINE_KEYS",
        "INDICATOR_COLUMNS", "SCENARIO_COLUMNS", "BASELINE_SCENARIOS", "STATUS_COLOURS",
        "STATUS_TINTS",
    ),
})
