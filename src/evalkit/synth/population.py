"""The synthetic population: villages, households and their members from seeded streams,
with intercepts calibrated to hit target counts.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.errors import EvalkitError
from evalkit.synth.settings import (
    RECOGNITION_TERMS,
    SIZE_PROBS,
    CountySettings,
)

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
#: The generator's independent random streams, in spawn order.
STREAM_NAMES: tuple[str, ...] = ("villages", "households", "sample", "attributes", "outcomes",
                                 "recognition", "identity")


def random_streams(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """Independent generators per component, so changing one part leaves the others."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}


def logit_of(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def sizes_with_total(probs: tuple[float, ...], total: int, rng: np.random.Generator
                      ) -> np.ndarray:
    """Household sizes from ``probs`` (sizes 1, 2, ...) summing exactly to ``total``."""
    p = np.asarray(probs) / np.sum(probs)
    top = len(p) + 1
    mean = float(np.dot(np.arange(1, len(p) + 1), p))
    n = max(1, round(total / mean))
    sizes = rng.choice(np.arange(1, len(p) + 1), size=n, p=p)
    while (diff := total - int(sizes.sum())) != 0:
        step = 1 if diff > 0 else -1
        room = np.flatnonzero(sizes < top) if step > 0 else np.flatnonzero(sizes > 1)
        if room.size == 0:
            raise EvalkitError(f"cannot make households of sizes 1..{top} hold {total} people")
        pick = rng.choice(room, size=min(abs(diff), room.size), replace=False)
        sizes[pick] += step
    return sizes.astype(np.int64)


def calibrate_intercept(crit: np.ndarray, k: int) -> float:
    """An intercept ``a`` with exactly ``k`` of ``crit`` below it (midway between neighbours)."""
    s = np.sort(crit)
    if k == 0:
        return float(s[0] - 1.0)
    if k == len(s):
        return float(s[-1] + 1.0)
    return float((s[k - 1] + s[k]) / 2.0)


def calibrate_people_intercept(crit: np.ndarray, sizes: np.ndarray, k: int
                      ) -> tuple[float, np.ndarray]:
    """Intercept such that the households below it hold ``k`` people.

    Households enter in order of ``crit``; if the running total of people jumps over ``k``,
    the intercept stops below the jump and the first later household whose size is exactly
    the gap is switched on. Returns the intercept and the positions switched on.
    """
    order = np.argsort(crit, kind="stable")
    cum = np.cumsum(sizes[order])
    j = int(np.searchsorted(cum, k, side="left"))
    if j < len(cum) and cum[j] == k:
        return calibrate_intercept(crit, j + 1), np.empty(0, dtype=np.int64)
    a = calibrate_intercept(crit, j)
    gap = k - (int(cum[j - 1]) if j > 0 else 0)
    later = order[j:]
    fit = later[sizes[later] == gap]
    if fit.size == 0:
        raise EvalkitError(f"calibration: no household of size {gap} left to reach {k} people")
    return a, fit[:1]


def independent_logistic_fit(X: np.ndarray, y: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson (y may be fractional).

    Deliberately not :func:`evalkit.survey.glm.glm_fit_logit`: the truth the survey must
    recover is computed by independent code, so a bug in the engine cannot hide itself.
    """
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        eta = X @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        w = mu * (1.0 - mu)
        step = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (y - mu))
        beta += step
        if np.max(np.abs(step)) < tol:
            return beta
    raise EvalkitError("logistic fit did not converge")


def truth_design_matrix(df: pd.DataFrame) -> np.ndarray:
    cols = {
        "Intercept": np.ones(len(df)),
        "nonpoor": df["nonpoor"].to_numpy(float),
        "water_at_door": df["water_at_door"].to_numpy(float),
        "nonpoor:water_at_door": (df["nonpoor"] * df["water_at_door"]).to_numpy(float),
        "nonpoor:reimbursement_gap": (df["nonpoor"] * df["reimbursement_gap"]).to_numpy(float),
        "dibao": df["dibao"].to_numpy(float),
        "log_income": df["log_income"].to_numpy(float),
    }
    return np.column_stack([cols[t] for t in RECOGNITION_TERMS])


def round6(x: float) -> float:
    return float(round(float(x), 6))


# --------------------------------------------------------------------------------------
# the county
# --------------------------------------------------------------------------------------
def build_villages(s: CountySettings, rng: np.random.Generator) -> pd.DataFrame:
    per_township = rng.multinomial(s.n_villages - 6 * s.n_townships,
                                   np.full(s.n_townships, 1.0 / s.n_townships)) + 6
    township = np.repeat([f"T{t + 1:02d}" for t in range(s.n_townships)], per_township)
    size = np.exp(rng.normal(math.log(s.village_households_median),
                             s.village_households_sdlog, s.n_villages))
    size = np.clip(np.round(size), s.village_households_min, s.village_households_max)
    # Poor villages (贫困村) are designated where poverty is deepest; here the larger,
    # merged mountain villages are more likely to be poor.
    poor_idx = rng.choice(s.n_villages, size=s.n_poor_villages, replace=False,
                          p=size / size.sum())
    poor = np.zeros(s.n_villages, dtype=bool)
    poor[poor_idx] = True
    return pd.DataFrame({
        "township": township,
        "village": [f"V{i + 1:03d}" for i in range(s.n_villages)],
        "village_type": np.where(poor, "poor", "nonpoor"),
        "size_hint": size.astype(np.int64),
    })


def build_population(s: CountySettings, villages: pd.DataFrame, rng: np.random.Generator
                      ) -> pd.DataFrame:
    """Every household: village, type and size (attributes come later)."""
    v = len(villages)
    poor = (villages["village_type"] == "poor").to_numpy()
    w = villages["size_hint"].to_numpy(float) * np.where(poor, s.poor_village_registered_ratio,
                                                         1.0)
    w /= w.sum()
    parts = []
    exited_people = s.registered_people - s.not_exited_people
    for kind, people, floor in (("exited", exited_people, 1),
                                ("not_exited", s.not_exited_people, 0)):
        sizes = sizes_with_total(SIZE_PROBS[kind], people, rng)
        counts = rng.multinomial(len(sizes) - floor * v, w) + floor
        parts.append(pd.DataFrame({"v": np.repeat(np.arange(v), counts),
                                   "household_type": kind, "household_size": sizes}))
    registered = np.bincount(np.concatenate([p["v"].to_numpy() for p in parts]), minlength=v)
    nonreg = np.maximum(villages["size_hint"].to_numpy() - registered,
                        s.households_per_village + 30)
    p = np.asarray(SIZE_PROBS["nonregistered"])
    sizes = rng.choice(np.arange(1, len(p) + 1), size=int(nonreg.sum()), p=p / p.sum())
    parts.append(pd.DataFrame({"v": np.repeat(np.arange(v), nonreg),
                               "household_type": "nonregistered", "household_size": sizes}))
    pop = pd.concat(parts, ignore_index=True)
    # Household numbers within a village in random order, so numbers reveal no type.
    pop = pop.iloc[np.lexsort((rng.random(len(pop)), pop["v"].to_numpy()))]
    pop = pop.reset_index(drop=True)
    seq = pop.groupby("v").cumcount().to_numpy() + 1
    pop["township"] = villages["township"].to_numpy()[pop["v"]]
    pop["village"] = villages["village"].to_numpy()[pop["v"]]
    pop["household_id"] = (pop["village"].astype(str) + "-"
                           + pd.Series(seq, index=pop.index).astype(str).str.zfill(4))
    pop["household_size"] = pop["household_size"].astype(np.int64)
    return pop


def frame_from_population(villages: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    v = len(villages)
    frame = villages[["township", "village", "village_type"]].copy()
    for kind in ("exited", "not_exited", "nonregistered"):
        sel = pop["household_type"] == kind
        frame[f"hh_{kind}"] = np.bincount(pop.loc[sel, "v"], minlength=v).astype(np.int64)
        frame[f"people_{kind}"] = np.bincount(pop.loc[sel, "v"],
                                              weights=pop.loc[sel, "household_size"],
                                              minlength=v).astype(np.int64)
    return frame[list(schema.FRAME_COLUMNS)]
