"""The poverty-exit assessment itself: inputs and the design, the four indicators,
county totals, fragility, the re-check round, the registration listing, and the summary
the policy page reads. Imports the layers before it.
"""

from __future__ import annotations

from evalkit.lazy import exports

# The names this package has always offered (``from evalkit.assessment import ...``).
__getattr__, __dir__, __all__ = exports(__name__, {
    "inputs": (
        "RunInputs", "load_inputs", "checked_design", "check_weights", "calibrate_design",
        "build_design", "DESIGN_KEYS", "MIN_WEIGHT_SHARE_OF_FRAME",
    ),
})
