"""Benchmark: the two-stage draw and the power computations at province scale.

Measures (best of a few runs): a two-stage draw from a 1,000,000-household listing in
10,000 villages (300 villages, 35 + 35 households each); the same with the listing
prepared once (what repeated-draw simulations do); a 12-point analytic power curve; and a
simulated power curve of 12 rates x 2,000 replicates of 29 villages x 22 exited households
with household sizes. Goals: draw under 1 s, analytic curve under 0.5 s, simulated curve
under 5 s. Prints the measurements and exits non-zero when a goal is missed.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from timing import best_of

from evalkit.sampling.plan import (
    _draw_households,
    _prepare_listing,
    _village_codes,
    draw_two_stage,
    household_listing,
    select_villages,
)
from evalkit.sampling.power import power_analytic, power_simulated

N_VILLAGES = 10_000
QUOTA = {"registered": 35, "nonregistered": 35}


def make_frame(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hh_exited = rng.integers(5, 40, N_VILLAGES)
    hh_not = rng.integers(0, 15, N_VILLAGES)
    hh_non = rng.integers(20, 110, N_VILLAGES)
    return pd.DataFrame({
        "township": [f"T{i // 20:03d}" for i in range(N_VILLAGES)],
        "village": [f"V{i:05d}" for i in range(N_VILLAGES)],
        "village_type": "poor",
        "hh_exited": hh_exited, "people_exited": hh_exited * 3,
        "hh_not_exited": hh_not, "people_not_exited": hh_not * 3,
        "hh_nonregistered": hh_non, "people_nonregistered": hh_non * 3,
    })


def main() -> int:
    frame = make_frame()
    listing = household_listing(frame, 1)
    failures = []

    t_draw, sample = best_of(3, lambda: draw_two_stage(frame, listing, 300, QUOTA, seed=7))
    print(f"two-stage draw, {len(listing):,} households listed, {len(sample):,} drawn: "
          f"{t_draw:.3f} s (goal < 1 s)")
    if t_draw > 1.0:
        failures.append("draw")

    prepared = _prepare_listing(listing, frame, QUOTA)
    gen = np.random.default_rng(3)

    def redraw() -> pd.DataFrame:
        villages = select_villages(frame, 300, gen)
        return _draw_households(prepared, villages, _village_codes(frame, villages), QUOTA, gen)

    t_redraw, _ = best_of(5, redraw)
    print(f"repeated draw with the listing prepared once: {t_redraw:.3f} s")

    rates = np.linspace(0.02, 0.06, 12)
    t_analytic, _ = best_of(3, lambda: power_analytic(rates, 0.02, 29, 22, 0.05,
                                                      household_sizes=3.3))
    print(f"analytic power curve, 12 rates: {t_analytic:.3f} s (goal < 0.5 s)")
    if t_analytic > 0.5:
        failures.append("analytic power")

    t_sim, _ = best_of(1, lambda: power_simulated(rates, 0.02, 29, 22, 0.05, reps=2000,
                                                  seed=1, household_sizes=3.3))
    print(f"simulated power curve, 12 rates x 2,000 reps, people-level: {t_sim:.3f} s "
          "(goal < 5 s)")
    if t_sim > 5.0:
        failures.append("simulated power")

    if failures:
        print("MISSED: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
