"""Synthetic provinces: several counties from one seed, each with its own settings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.synth.county import generate_county, write_county, write_csv
from evalkit.synth.settings import (
    SEED_SETTINGS,
    CountySettings,
    SyntheticCounty,
)


# --------------------------------------------------------------------------------------
# province mode
# --------------------------------------------------------------------------------------
@dataclass
class SyntheticProvince:
    """Several synthetic counties with different true rates, each in the same contract."""

    seed: int
    counties: list[SyntheticCounty]

    def summary(self) -> pd.DataFrame:
        """One row per county: size, true (whole-county) rates and plain sample rates."""
        rows = []
        for c in self.counties:
            pop = c.truth["population"]
            row: dict[str, Any] = {"county": c.settings.name, "seed": c.seed,
                                   "villages": c.truth["frame"]["villages"],
                                   "registered_people": c.truth["frame"]["registered_people"],
                                   "sample_households": len(c.sample)}
            for key in ("wrong_exit_rate", "missed_rate", "recognition_rate",
                        "comprehensive_incidence"):
                row[f"true_{key}"] = pop[key]["rate"]
            for f in c.truth["published_figures"]:
                if f["figure"] in ("wrong_exit_rate", "recognition_rate"):
                    row[f"sample_{f['figure']}"] = f["rate"]
            rows.append(row)
        return pd.DataFrame(rows)


def province_settings(seed: int, n_counties: int,
                      base: CountySettings | None = None) -> list[CountySettings]:
    """County settings for a province: sizes and true intercepts vary from county to county.

    Nothing is calibrated to published figures (``targets=None``): each county's rates are
    whatever its own intercepts produce, so counties differ in their true rates.
    """
    if n_counties < 1:
        raise EvalkitError(f"n_counties={n_counties}: expected at least 1 county")
    base = base or SEED_SETTINGS
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
    out = []
    for k in range(n_counties):
        n_villages = int(rng.integers(100, 221))
        registered = int(rng.integers(6000, 20001))
        out.append(replace(
            base,
            name=f"county {k + 1:02d}",
            n_villages=n_villages,
            n_townships=max(6, n_villages // 12),
            n_poor_villages=int(round(n_villages * rng.uniform(0.2, 0.4))),
            registered_people=registered,
            not_exited_people=int(round(registered * rng.uniform(0.1, 0.45))),
            recognition_intercept=base.recognition_intercept + float(rng.normal(0, 0.6)),
            wrong_exit_intercept=base.wrong_exit_intercept + float(rng.normal(0, 0.6)),
            missed_intercept=base.missed_intercept + float(rng.normal(0, 0.5)),
            dibao_not_exited_intercept=base.dibao_not_exited_intercept
            + float(rng.normal(0, 0.5)),
            industry_intercept=base.industry_intercept + float(rng.normal(0, 0.5)),
            job_intercept=base.job_intercept + float(rng.normal(0, 0.5)),
            microcredit_intercept=base.microcredit_intercept + float(rng.uniform(0, 4)),
            targets=None,
        ))
    return out


def generate_province(seed: int, n_counties: int = 6, base: CountySettings | None = None
                      ) -> SyntheticProvince:
    """Generate ``n_counties`` synthetic counties (deterministic in ``seed``)."""
    settings = province_settings(seed, n_counties, base)
    seeds = np.random.SeedSequence([int(seed), 2]).generate_state(n_counties)
    counties = [generate_county(int(sd), st) for sd, st in zip(seeds, settings, strict=True)]
    return SyntheticProvince(int(seed), counties)


def write_province_data(out_dir: str | Path, seed: int, n_counties: int = 6
                        ) -> dict[str, dict[str, Path]]:
    """Write each county of a province to ``out_dir/county_NN/`` plus ``province.csv``."""
    province = generate_province(seed, n_counties)
    out = Path(out_dir)
    written = {c.settings.name: write_county(c, out / f"county_{k + 1:02d}")
               for k, c in enumerate(province.counties)}
    out.mkdir(parents=True, exist_ok=True)
    write_csv(province.summary(), out / "province.csv")
    return written
