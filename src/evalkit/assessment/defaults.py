"""The assessment's defaults that the generic engine (:mod:`evalkit.survey`) must not know.

The engine's functions take these as arguments; the assessment (and a params file's
missing keys, :data:`evalkit.run.params.DEFAULTS`) fill them in from here. No heavy import:
the command line reads this module before any notebook starts.

>>> NONRESPONSE_DEFAULTS["cells"]
['household_type', 'village']
"""

from __future__ import annotations

from typing import Any

#: The params' ``nonresponse`` block when a params file leaves it out (params/default.yaml):
#: cells of village x household type, since response differs by both; a cell with fewer
#: than 5 respondents or a factor above 2 is pooled.
NONRESPONSE_DEFAULTS: dict[str, Any] = {
    "cells": ["household_type", "village"], "min_cell_respondents": 5, "max_factor": 2.0,
}
#: A weighting cell whose households responded less often than this gets a caution on the
#: policy page (and in the re-check report).
LOW_RESPONSE_RATE = 0.8

#: The recognition-gap decomposition (notebook 03): outcome, the group compared (1 =
#: non-poor households), the factor sets of the seed county's disparities (data contract
#: names) and the table's labels of the two groups' rates (group 0, group 1).
DECOMPOSITION_OUTCOME = "recognizes"
DECOMPOSITION_GROUP = "nonpoor"
DECOMPOSITION_FACTORS: dict[str, list[str]] = {
    "water": ["water_at_door"],
    "reimbursement": ["reimbursement_gap"],
}
DECOMPOSITION_RATE_LABELS: tuple[str, str] = ("rate_poor", "rate_nonpoor")
