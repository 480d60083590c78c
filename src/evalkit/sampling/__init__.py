"""Sampling design for the exit assessment: sample size, allocation and the two-stage draw.

The assessment samples villages (PSUs) with probability proportional to size, then
households within each selected village by simple random sampling within household groups
(in practice half registered, half non-registered). This package sizes that sample
(Cochran 1977), allocates it to strata and household groups, draws it reproducibly, and
checks that the design weights do what they should. Power for the exit decisions lives in
:mod:`evalkit.sampling.power`.

References: Cochran (1977) *Sampling Techniques*, 3rd ed., secs. 4.4, 5.5, 6.4, 9.4, 11.9;
Kish (1965) *Survey Sampling*, sec. 5.4; Tillé (2006) *Sampling Algorithms*, sec. 2.10 and 7.2
(R package ``sampling``: ``inclusionprobabilities``, ``UPsystematic``); Lumley (2010)
*Complex Surveys*.

Modules: ``size``, ``allocation``, ``pps``, ``frame``, ``draw``, ``plan``, ``power``,
``simulation`` (and ``checks``). Imports ``contract`` and ``survey`` only.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.sampling import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "size": (
        "SampleSize", "sample_size_proportion", "household_factor", "sample_size_ratio",
        "sample_size_grid",
    ),
    "allocation": (
        "allocate", "allocate_household_types",
    ),
    "pps": (
        "PPS_EPS", "pps_inclusion_probabilities", "PPSSample", "as_generator",
        "pps_systematic", "systematic_hits",
    ),
    "frame": (
        "HOUSEHOLD_GROUPS", "FRAME_HOUSEHOLDS", "FRAME_PEOPLE", "FIELD_LIST_COLUMNS",
        "require_columns", "household_groups", "check_disjoint", "size_measure",
        "check_frame", "frame_profile",
    ),
    "draw": (
        "select_villages", "first_stage_plan", "village_probabilities", "Listing",
        "prepare_listing", "cell_quotas", "draw_households", "select_households",
        "frame_codes", "draw_two_stage", "weight_totals", "expected_sample",
        "village_summary",
    ),
    "plan": (
        "SamplePlan", "plan_sample", "design_options", "FIELD_LIST_HEADERS_ZH", "field_list",
    ),
    "simulation": (
        "household_listing", "synthetic_population", "DrawSimulation", "simulate_draws",
        "simulate_design",
    ),
    "power": (
        "Alternative", "Method", "HouseholdSizes", "design_se", "power_analytic",
        "PowerSimulation", "power_simulated", "power_curve", "villages_for_power",
        "SEED_EXITED_SHARE", "seed_sample_power", "bound_method", "plot_power_curve",
        "rate_grid",
    ),
    "checks": ("ceil_tolerant",),
})
