"""What a synthetic county is made of: its settings (the seed county's by default), the
slopes and shares of its population model, and the result type.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.schema import DEFAULT_SEED  # noqa: F401 (offered here too)
from evalkit.synth.published import PUBLISHED_FIGURES

GENERATOR_VERSION = 1


#: Term names exactly as patsy names the columns of the default satisfaction formula.
RECOGNITION_TERMS: tuple[str, ...] = (
    "Intercept", "nonpoor", "water_at_door", "nonpoor:water_at_door",
    "nonpoor:reimbursement_gap", "dibao", "log_income",
)


RECOGNITION_FORMULA = (
    "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao + log_income"
)


SURVEY_FILE_COLUMNS: tuple[str, ...] = (
    "township", "village", "household_id", "name", "id_number", "phone",
    "household_type", "household_size", "people_wrongly_exited", "people_missed",
    "recognition", "water_access", "reimbursement_share", "dibao", "industry_support",
    "microcredit", "public_welfare_job", "income_per_head", "village_prob", "incl_prob",
    "weight",
)


# --------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------
SEED_RECOGNITION_SLOPES: dict[str, float] = {
    "nonpoor": -0.4,
    "water_at_door": -0.7,
    "nonpoor:water_at_door": -0.6,
    "nonpoor:reimbursement_gap": -4.5,
    "dibao": 0.5,
    "log_income": 0.5,
}


@dataclass(frozen=True)
class CountySettings:
    """Everything that shapes a synthetic county besides the seed.

    With ``targets`` (keys of :data:`PUBLISHED_FIGURES`), the intercepts of those outcomes
    are calibrated so that the sample reproduces them; otherwise the ``*_intercept`` values
    are used as they are (province mode).
    """

    name: str = "seed county"
    n_townships: int = 12
    n_villages: int = 148
    n_poor_villages: int = 45
    registered_people: int = 8671
    not_exited_people: int = 3085
    village_households_median: float = 400.0
    village_households_sdlog: float = 0.45
    village_households_min: int = 160
    village_households_max: int = 1500
    # Registered households per household, poor vs non-poor villages (poor villages were
    # designated where registered households are concentrated; 4 puts about two thirds of
    # them in the 45 poor villages).
    poor_village_registered_ratio: float = 3.0
    n_sample_villages: int = 29
    # First-stage size measure: "households" (all households, the default) or "registered"
    # (registered households: the HALF_REGISTERED variant, see the module docstring).
    village_size_measure: str = "households"
    households_per_village: int = 70
    registered_cap: int = 50
    random_effect_sd: float = 0.3
    satisfied_cut: float = 2.0
    recognition_slopes: dict[str, float] = field(
        default_factory=lambda: dict(SEED_RECOGNITION_SLOPES))
    # Intercepts used when an outcome is not calibrated: near the seed county's calibrated
    # values (truth.json), so province counties scatter around the seed county.
    recognition_intercept: float = -0.55
    wrong_exit_intercept: float = -4.1
    missed_intercept: float = -5.0
    dibao_not_exited_intercept: float = 1.9
    industry_intercept: float = -0.15
    job_intercept: float = -3.1
    microcredit_intercept: float = -7.0
    targets: tuple[str, ...] | None = tuple(f.key for f in PUBLISHED_FIGURES)


SEED_SETTINGS = CountySettings()


# Slopes of the other outcome models (fixed; documented in truth.json).
WRONG_EXIT_SLOPES = {"log_income_centred": -2.0, "water_none": 0.8}   # centre ln(7000)


MISSED_SLOPES = {"log_income_centred": -2.0}                          # centre ln(9000)


DIBAO_SLOPES = {"log_income_centred": -1.0}                           # centre ln(5000)


DIBAO_OTHER_INTERCEPTS = {"exited": -1.7, "nonregistered": -3.6}


INDUSTRY_SLOPES = {"poor_village": 0.4, "exited": 0.3}


JOB_SLOPES = {"not_exited": 0.6}


MICROCREDIT_SLOPES = {"exited": 0.5}


SIZE_PROBS = {
    "not_exited": (0.24, 0.30, 0.19, 0.14, 0.09, 0.04),
    "exited": (0.12, 0.26, 0.24, 0.20, 0.12, 0.05, 0.01),
    "nonregistered": (0.08, 0.18, 0.20, 0.22, 0.16, 0.09, 0.05, 0.02),
}


INCOME = {  # median yuan per head, sdlog
    "exited": (7800.0, 0.35), "not_exited": (5200.0, 0.30), "nonregistered": (11500.0, 0.50),
}


WATER_PROBS = {  # in_home, at_door, none
    "registered": (0.85, 0.13, 0.02), "nonregistered": (0.42, 0.55, 0.03),
}


STAY_PROB = {"registered": 0.40, "nonregistered": 0.22}


REIMBURSEMENT_BETA = {"registered": (36.0, 2.4), "nonregistered": (14.0, 6.0)}


#: The half-registered variant of the default county (see the module docstring).
HALF_REGISTERED = CountySettings(village_size_measure="registered", registered_cap=60,
                                 poor_village_registered_ratio=4.0)


@dataclass
class SyntheticCounty:
    """One synthetic county: its frame, every household, the sample, and the truth."""

    seed: int
    settings: CountySettings
    frame: pd.DataFrame        # the frame file's columns, English codes
    population: pd.DataFrame   # every household: survey columns (no identifiers) + derived
    sample: pd.DataFrame       # the survey file as shipped, identifying columns included
    truth: dict[str, Any]


@dataclass
class Allocation:
    villages: np.ndarray            # positions of sampled villages
    pi: np.ndarray                  # their first-stage inclusion probabilities
    m: dict[str, np.ndarray]        # households to draw, by type, per sampled village
    adjustments: list[str]


SIZE_MEASURES: dict[str, tuple[str, ...]] = {
    "registered": ("hh_exited", "hh_not_exited"),
    "households": ("hh_exited", "hh_not_exited", "hh_nonregistered"),
}
SIZE_MEASURE_LABELS = {"registered": "registered households",
                        "households": "all households"}
