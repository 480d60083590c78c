"""Synthetic counties and provinces with a known truth, to test and try evalkit.
Imports ``contract``, ``survey`` and ``sampling``.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.synth import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "settings": (
        "DEFAULT_SEED", "GENERATOR_VERSION", "RECOGNITION_TERMS", "RECOGNITION_FORMULA",
        "SURVEY_FILE_COLUMNS", "SEED_RECOGNITION_SLOPES", "CountySettings", "SEED_SETTINGS",
        "WRONG_EXIT_SLOPES", "MISSED_SLOPES", "DIBAO_SLOPES", "DIBAO_OTHER_INTERCEPTS",
        "INDUSTRY_SLOPES", "JOB_SLOPES", "MICROCREDIT_SLOPES", "SIZE_PROBS", "INCOME",
        "WATER_PROBS", "STAY_PROB", "REIMBURSEMENT_BETA", "HALF_REGISTERED",
        "SyntheticCounty", "Allocation", "SIZE_MEASURES", "SIZE_MEASURE_LABELS",
    ),
    "published": (
        "PublishedFigure", "PUBLISHED_FIGURES", "FIGURES_BY_KEY", "figure_counts",
        "reproduce_published", "target_count",
    ),
    "population": (
        "STREAM_NAMES", "random_streams", "logit_of", "sizes_with_total",
        "calibrate_intercept", "calibrate_people_intercept", "independent_logistic_fit",
        "truth_design_matrix", "round6", "build_villages", "build_population",
        "frame_from_population",
    ),
    "truth": (
        "fake_identities", "sample_file", "population_averaged", "population_rates",
        "county_truth",
    ),
    "county": (
        "village_sizes", "allocate_households", "select_sample",
        "generate_county", "write_csv", "write_json", "write_county", "write_default_data",
    ),
    "province": (
        "SyntheticProvince", "province_settings", "generate_province", "write_province_data",
    ),
})
