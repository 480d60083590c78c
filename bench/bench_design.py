"""Benchmark: design-based proportion on 1,000,000 households, 10,000 villages, 50 strata.

Goals (issue 4): design built in under 0.5 s; a proportion with a design interval in under
0.1 s once the design exists; peak memory under 1 GB. Prints the measurements and exits
non-zero when a goal is missed, so `make bench` shows regressions.
"""

from __future__ import annotations

import resource
import sys

import numpy as np
import pandas as pd
from timing import best_of

from evalkit import SurveyDesign

N_HOUSEHOLDS = 1_000_000
N_VILLAGES = 10_000
N_STRATA = 50


def make_sample(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    village = rng.integers(0, N_VILLAGES, N_HOUSEHOLDS)
    village_rate = rng.beta(2, 60, N_VILLAGES)
    return pd.DataFrame({
        "stratum": village % N_STRATA,
        "village": village,
        "weight": rng.uniform(50, 150, N_HOUSEHOLDS),
        "wrong": (rng.random(N_HOUSEHOLDS) < village_rate[village]).astype(np.int8),
    })


def main() -> int:
    data = make_sample()
    build, design = best_of(3, lambda: SurveyDesign(data, psu="village", strata="stratum",
                                                    weights="weight"))
    results = {}
    for method in ("logit", "beta", "likelihood"):
        results[method] = best_of(5, lambda m=method: design.proportion("wrong", method=m))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"design build          {build * 1000:8.1f} ms   (goal < 500 ms)")
    ok = build < 0.5
    for method, (seconds, estimate) in results.items():
        goal = 100
        print(f"proportion {method:<10} {seconds * 1000:8.1f} ms   (goal < {goal} ms)  "
              f"p={estimate.estimate:.5f} ci=({estimate.ci[0]:.5f}, {estimate.ci[1]:.5f})")
        ok &= seconds * 1000 < goal
    print(f"peak memory           {peak_mb:8.0f} MB   (goal < 1024 MB)")
    ok &= peak_mb < 1024
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
