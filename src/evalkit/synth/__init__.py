"""Synthetic counties and provinces with a known truth, to test and try evalkit.
Imports ``contract``, ``survey`` and ``sampling``.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.synth import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "county": (
        "PublishedFigure", "figure_counts", "reproduce_published", "CountySettings",
        "SyntheticCounty", "generate_county", "fake_identities", "write_county",
        "write_default_data", "SyntheticProvince", "province_settings", "generate_province",
        "write_province_data", "DEFAULT_SEED", "GENERATOR_VERSION", "RECOGNITION_FORMULA",
        "SEED_SETTINGS", "HALF_REGISTERED", "RECOGNITION_TERMS", "SURVEY_FILE_COLUMNS",
        "PUBLISHED_FIGURES", "SEED_RECOGNITION_SLOPES", "STREAM_NAMES",
    ),
})
