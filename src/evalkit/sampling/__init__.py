"""Planning and drawing the sample: sizes (Cochran), allocation, PPS selection, the
two-stage draw, power and design simulations. Imports ``contract`` and ``survey``.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.sampling import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "plan": (
        "SampleSize", "sample_size_proportion", "household_factor", "sample_size_ratio",
        "sample_size_grid", "allocate", "allocate_household_types",
        "pps_inclusion_probabilities", "PPSSample", "pps_systematic", "systematic_hits",
        "select_villages", "village_probabilities", "select_households", "draw_two_stage",
        "weight_totals", "expected_sample", "frame_profile", "village_summary", "SamplePlan",
        "plan_sample", "design_options", "field_list", "household_listing",
        "synthetic_population", "DrawSimulation", "simulate_draws", "simulate_design",
        "PPS_EPS", "HOUSEHOLD_GROUPS", "FIELD_LIST_COLUMNS", "FIELD_LIST_HEADERS_ZH",
    ),
    "power": (
        "design_se", "power_analytic", "PowerSimulation", "power_simulated", "power_curve",
        "villages_for_power", "seed_sample_power", "bound_method", "plot_power_curve",
        "rate_grid", "Alternative", "Method", "HouseholdSizes", "SEED_EXITED_SHARE",
    ),
})
