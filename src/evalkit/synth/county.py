"""A synthetic county calibrated to the seed county, and a synthetic province.

The generator builds, from one seed, (1) a county frame of townships and villages,
(2) every household in the county, (3) a two-stage sample as the third-party team drew
it, and (4) a ``truth`` record of every setting and every true coefficient. The default
data shipped in ``evalkit/data/`` is ``generate_county(DEFAULT_SEED)`` written by
:func:`write_default_data`; a test regenerates it and compares bytes.

Calibration to the seed county (``/work/shared/DESIGN.md``; the county's published
summary):

* Frame: 148 villages, all with registered households; 8,671 registered people, 3,085 of
  them not yet exited (so 5,586 exited). Household sizes are drawn, then nudged one person
  at a time in randomly chosen households until the totals are exact. Registered
  households are spread over villages in proportion to size, three times as densely in
  the 45 poor villages (``poor_village_registered_ratio``).
* Sample: systematic PPS of 29 villages, size = households (Madow 1949;
  :func:`evalkit.sampling.plan.pps_systematic`), then within each village simple random samples
  from the lists of exited, not-yet-exited and non-registered households, 70 households a
  village. Registered households are allocated by water-filling towards half the sample,
  at most 50 a village, and at least one from every non-empty list (so every household has
  a positive inclusion probability). Weight = 1 / (pi_village * m_g / N_g), so the weights
  of a village sum to N_village / pi_village = N / 29 and the weights of the sample sum to
  the county's household total exactly.

  The seed county's ~20 registered households a village cannot supply half of 2,000
  households from 29 villages drawn by size: the default sample is a third registered
  (668 of 2,025). :data:`HALF_REGISTERED` is the variant that reaches half (50.1%): PPS on
  *registered* households, at most 60 a village, registered households four times as dense
  in poor villages (two thirds of them there). Its registered weights sum to the frame's
  registered households exactly, all weights only in expectation (relative SD about 10%);
  the wrong-exit estimate is more precise (SD 0.45-0.48 points against 0.75-0.8 over
  repeated draws), recognition less (about 1.0 against 0.7). It is not the default because
  on its sample the satisfaction model's intervals miss two of the seven true coefficients
  (``dibao``, ``nonpoor:reimbursement_gap``) and the county's true wrong-exit rate falls to
  1.9%, below the line the seed county failed. ``evalkit synth --half-registered --out DIR``
  writes it.
* Published plain rates (wrong-exit 2.9%, recognition 94.86%, industry support 56%,
  microcredit 0, public-welfare jobs 5%, dibao among not-yet-exited 88.6%) are hit by
  calibrating intercepts, not by editing answers. Each binary outcome is drawn as
  ``y = 1{logit(U) - x'b - u < a}`` with fixed uniforms ``U``; the count in the sample is a
  step function of the intercept ``a``, so ``a`` is set between two consecutive "critical"
  values so that the sample count is the target, and the *same* ``a`` generates every
  household in the county. For the people-weighted wrong-exit rate the prefix sums may
  jump over the target; then at most one household (the most marginal one of the right
  size) is switched, and ``truth.json`` records how many were. Sample sizes are nudged
  by a household or two (recorded) so that each published figure is attainable at all
  (e.g. 94.86% to two decimals needs a sample size n with an integer k, k/n in
  [0.94855, 0.94865)).

Recognition mechanism (real in the data): a latent ``y* = a + x'b + u_village + e`` with
logistic ``e`` and normal village effects ``u`` (SD 0.3); ``dissatisfied`` if ``y* <= 0``,
``basically_satisfied`` if ``0 < y* <= cut``, ``satisfied`` above, so ``recognizes`` follows
a random-intercept logistic model with the terms of the default formula
``recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao + log_income``.
``truth.json`` gives the conditional coefficients (given ``u``), the population-averaged
ones (logistic projection of the marginal probabilities, integrated over ``u`` by
Gauss-Hermite quadrature, on the whole county) and the census ones (the logistic
regression fitted to the realized answers of every household in the county, which is
what a design-based ``svyglm`` estimates; Binder 1983, Lumley 2010 sec. 5.2).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.data import prepare_survey
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.sampling.plan import pps_systematic

DEFAULT_SEED = 20190815
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
# published figures
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedFigure:
    """A figure from the county's published summary and how the sample reproduces it."""

    key: str
    label_en: str
    label_zh: str
    published: str      # as printed, e.g. "2.9%"; "0" means exactly zero
    numerator: str      # plain-language definition on the sample
    denominator: str

    def window(self) -> tuple[Fraction, Fraction]:
        """Rates that print as ``published`` (half-up rounding): ``[lo, hi)``; zero is exact."""
        text = self.published.rstrip("%")
        value = Fraction(Decimal(text))
        if self.published.endswith("%"):
            value /= 100
            decimals = len(text.split(".")[1]) if "." in text else 0
            half = Fraction(1, 2 * 10 ** decimals) / 100
        else:
            return value, value
        return value - half, value + half

    def target_value(self) -> Fraction:
        text = self.published.rstrip("%")
        return Fraction(Decimal(text)) / (100 if self.published.endswith("%") else 1)

    def format(self, rate: float) -> str:
        if not self.published.endswith("%"):
            return f"{rate:g}"
        text = self.published.rstrip("%")
        decimals = len(text.split(".")[1]) if "." in text else 0
        q = Decimal(repr(rate * 100)).quantize(Decimal(1).scaleb(-decimals),
                                                rounding="ROUND_HALF_UP")
        return f"{q}%"


PUBLISHED_FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure("wrong_exit_rate", "wrong-exit rate", "脱贫人口错退率", "2.9%",
                    "people_wrongly_exited in exited households",
                    "people (household_size) in exited households"),
    PublishedFigure("recognition_rate", "recognition rate", "群众认可度", "94.86%",
                    "households answering satisfied or basically_satisfied",
                    "all sampled households"),
    PublishedFigure("industry_support_coverage", "industry-support coverage", "产业扶持覆盖率",
                    "56%", "registered households with industry_support = 1",
                    "registered households (exited + not_exited)"),
    PublishedFigure("microcredit_takeup", "microcredit take-up", "小额信贷获贷率", "0",
                    "registered households with microcredit = 1",
                    "registered households (exited + not_exited)"),
    PublishedFigure("public_welfare_job_rate", "public-welfare job rate", "公益岗位安置率", "5%",
                    "registered households with public_welfare_job = 1",
                    "registered households (exited + not_exited)"),
    PublishedFigure("dibao_not_exited", "dibao among not-yet-exited", "未脱贫户低保覆盖率",
                    "88.6%", "not_exited households with dibao = 1",
                    "not_exited households"),
)
_FIGURES = {f.key: f for f in PUBLISHED_FIGURES}


def figure_counts(survey: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Numerator and denominator of each published figure, as plain sample counts.

    ``survey`` is a coded survey (:func:`evalkit.contract.data.load_survey`, or a sample from this
    module). These are the official plain ratios, not design-based estimates.
    """
    htype = survey["household_type"]
    exited, registered = htype == "exited", htype.isin(["exited", "not_exited"])
    not_exited = htype == "not_exited"
    recognizes = survey["recognition"].isin(["satisfied", "basically_satisfied"])
    return {
        "wrong_exit_rate": (int(survey.loc[exited, "people_wrongly_exited"].sum()),
                            int(survey.loc[exited, "household_size"].sum())),
        "recognition_rate": (int(recognizes.sum()), len(survey)),
        "industry_support_coverage": (int(survey.loc[registered, "industry_support"].sum()),
                                      int(registered.sum())),
        "microcredit_takeup": (int(survey.loc[registered, "microcredit"].sum()),
                               int(registered.sum())),
        "public_welfare_job_rate": (int(survey.loc[registered, "public_welfare_job"].sum()),
                                    int(registered.sum())),
        "dibao_not_exited": (int(survey.loc[not_exited, "dibao"].sum()), int(not_exited.sum())),
    }


def reproduce_published(survey: pd.DataFrame) -> pd.DataFrame:
    """Each published figure beside the plain rate in ``survey``, rounded as published."""
    counts = figure_counts(survey)
    rows = []
    for f in PUBLISHED_FIGURES:
        num, den = counts[f.key]
        rate = num / den if den else float("nan")
        lo, hi = f.window()
        match = den > 0 and (lo <= Fraction(num, den) < hi if lo != hi
                             else Fraction(num, den) == lo)
        rows.append({"figure": f.key, "label_en": f.label_en, "label_zh": f.label_zh,
                     "published": f.published, "reproduced": f.format(rate) if den else "",
                     "numerator": num, "denominator": den, "rate": rate,
                     "matches": bool(match)})
    return pd.DataFrame(rows)


def _target_count(figure: PublishedFigure, denominator: int) -> int | None:
    """The integer count closest to the published value that prints as published."""
    lo, hi = figure.window()
    if lo == hi:
        k = lo * denominator
        return int(k) if k.denominator == 1 else None
    best = round(figure.target_value() * denominator)
    for k in sorted(range(best - 2, best + 3), key=lambda j: abs(j - best)):
        if 0 <= k <= denominator and lo <= Fraction(k, denominator) < hi:
            return k
    return None


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
_WRONG_EXIT_SLOPES = {"log_income_centred": -2.0, "water_none": 0.8}   # centre ln(7000)
_MISSED_SLOPES = {"log_income_centred": -2.0}                          # centre ln(9000)
_DIBAO_SLOPES = {"log_income_centred": -1.0}                           # centre ln(5000)
_DIBAO_OTHER_INTERCEPTS = {"exited": -1.7, "nonregistered": -3.6}
_INDUSTRY_SLOPES = {"poor_village": 0.4, "exited": 0.3}
_JOB_SLOPES = {"not_exited": 0.6}
_MICROCREDIT_SLOPES = {"exited": 0.5}
_SIZE_PROBS = {
    "not_exited": (0.24, 0.30, 0.19, 0.14, 0.09, 0.04),
    "exited": (0.12, 0.26, 0.24, 0.20, 0.12, 0.05, 0.01),
    "nonregistered": (0.08, 0.18, 0.20, 0.22, 0.16, 0.09, 0.05, 0.02),
}
_INCOME = {  # median yuan per head, sdlog
    "exited": (7800.0, 0.35), "not_exited": (5200.0, 0.30), "nonregistered": (11500.0, 0.50),
}
_WATER_PROBS = {  # in_home, at_door, none
    "registered": (0.85, 0.13, 0.02), "nonregistered": (0.42, 0.55, 0.03),
}
_STAY_PROB = {"registered": 0.40, "nonregistered": 0.22}
_REIMBURSEMENT_BETA = {"registered": (36.0, 2.4), "nonregistered": (14.0, 6.0)}



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


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
#: The generator's independent random streams, in spawn order.
STREAM_NAMES: tuple[str, ...] = ("villages", "households", "sample", "attributes", "outcomes",
                                 "recognition", "identity")


def _streams(seed: int, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """Independent generators per component, so changing one part leaves the others."""
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(c) for n, c in zip(names, children, strict=True)}


def _logit(p: np.ndarray) -> np.ndarray:
    return np.log(p) - np.log1p(-p)


def _sizes_with_total(probs: tuple[float, ...], total: int, rng: np.random.Generator
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


def _calibrate_intercept(crit: np.ndarray, k: int) -> float:
    """An intercept ``a`` with exactly ``k`` of ``crit`` below it (midway between neighbours)."""
    s = np.sort(crit)
    if k == 0:
        return float(s[0] - 1.0)
    if k == len(s):
        return float(s[-1] + 1.0)
    return float((s[k - 1] + s[k]) / 2.0)


def _calibrate_people(crit: np.ndarray, sizes: np.ndarray, k: int
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
        return _calibrate_intercept(crit, j + 1), np.empty(0, dtype=np.int64)
    a = _calibrate_intercept(crit, j)
    gap = k - (int(cum[j - 1]) if j > 0 else 0)
    later = order[j:]
    fit = later[sizes[later] == gap]
    if fit.size == 0:
        raise EvalkitError(f"calibration: no household of size {gap} left to reach {k} people")
    return a, fit[:1]


def _logistic_fit(X: np.ndarray, y: np.ndarray, tol: float = 1e-12) -> np.ndarray:
    """Maximum-likelihood logistic regression by Newton-Raphson (y may be fractional)."""
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


def _design_matrix(df: pd.DataFrame) -> np.ndarray:
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


def _r6(x: float) -> float:
    return float(round(float(x), 6))


# --------------------------------------------------------------------------------------
# the county
# --------------------------------------------------------------------------------------
def _build_villages(s: CountySettings, rng: np.random.Generator) -> pd.DataFrame:
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


def _build_population(s: CountySettings, villages: pd.DataFrame, rng: np.random.Generator
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
        sizes = _sizes_with_total(_SIZE_PROBS[kind], people, rng)
        counts = rng.multinomial(len(sizes) - floor * v, w) + floor
        parts.append(pd.DataFrame({"v": np.repeat(np.arange(v), counts),
                                   "household_type": kind, "household_size": sizes}))
    registered = np.bincount(np.concatenate([p["v"].to_numpy() for p in parts]), minlength=v)
    nonreg = np.maximum(villages["size_hint"].to_numpy() - registered,
                        s.households_per_village + 30)
    p = np.asarray(_SIZE_PROBS["nonregistered"])
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


def _frame_from_population(villages: pd.DataFrame, pop: pd.DataFrame) -> pd.DataFrame:
    v = len(villages)
    frame = villages[["township", "village", "village_type"]].copy()
    for kind in ("exited", "not_exited", "nonregistered"):
        sel = pop["household_type"] == kind
        frame[f"hh_{kind}"] = np.bincount(pop.loc[sel, "v"], minlength=v).astype(np.int64)
        frame[f"people_{kind}"] = np.bincount(pop.loc[sel, "v"],
                                              weights=pop.loc[sel, "household_size"],
                                              minlength=v).astype(np.int64)
    return frame[list(schema.FRAME_COLUMNS)]


@dataclass
class _Allocation:
    villages: np.ndarray            # positions of sampled villages
    pi: np.ndarray                  # their first-stage inclusion probabilities
    m: dict[str, np.ndarray]        # households to draw, by type, per sampled village
    adjustments: list[str]


def _feasible_shift(figure_key: str, size: int, lists: str) -> int:
    """The smallest change ``d`` (0, +1, -1, ... up to 6) of a sample size ``size`` such
    that some count out of ``size + d`` prints as the published figure."""
    figure = _FIGURES[figure_key]
    for d in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6):
        if _target_count(figure, size + d) is not None:
            return d
    raise EvalkitError(f"allocation: no {lists}sample size near the design fits "
                       f"{figure.published}")


_SIZE_MEASURES: dict[str, tuple[str, ...]] = {
    "registered": ("hh_exited", "hh_not_exited"),
    "households": ("hh_exited", "hh_not_exited", "hh_nonregistered"),
}
_SIZE_MEASURE_LABELS = {"registered": "registered households",
                        "households": "all households"}


def _village_sizes(s: CountySettings, frame: pd.DataFrame) -> np.ndarray:
    """The first-stage size measure of every frame village (``s.village_size_measure``)."""
    if s.village_size_measure not in _SIZE_MEASURES:
        raise EvalkitError(f"village_size_measure={s.village_size_measure!r}; expected one of "
                           + ", ".join(map(repr, _SIZE_MEASURES)))
    sizes = frame[list(_SIZE_MEASURES[s.village_size_measure])].sum(axis=1).to_numpy(float)
    if (sizes <= 0).any():
        # A village of size 0 could never be drawn, nor could any of its households: the
        # weights would no longer represent the county.
        r = int(np.flatnonzero(sizes <= 0)[0])
        raise EvalkitError(f"frame row {r + 1}, village {frame['village'].iloc[r]!r}: size "
                           f"measure {s.village_size_measure!r} is 0; expected > 0")
    return sizes


def _allocate(s: CountySettings, frame: pd.DataFrame, rng: np.random.Generator) -> _Allocation:
    pps = pps_systematic(_village_sizes(s, frame), s.n_sample_villages, rng, order="given")
    return _allocate_households(s, frame, pps.index, pps.pi)


def _allocate_households(s: CountySettings, frame: pd.DataFrame, idx: np.ndarray,
                         village_pi: np.ndarray) -> _Allocation:
    """Households to draw from each list of the sampled villages ``idx`` (frame positions
    with first-stage inclusion probabilities ``village_pi``)."""
    E = frame["hh_exited"].to_numpy()[idx]
    NE = frame["hh_not_exited"].to_numpy()[idx]
    NR = frame["hh_nonregistered"].to_numpy()[idx]
    R = E + NE
    per = s.households_per_village
    cap = np.minimum(R, min(s.registered_cap, per - 1))
    target = (per * len(idx)) // 2
    # Water-filling: raise a common level until the registered allocation reaches half.
    level = 0
    while np.minimum(cap, level).sum() < target and level < cap.max():
        level += 1
    r = np.minimum(cap, level)
    excess = int(r.sum()) - target
    if excess > 0:  # trim the villages at the level, last ones first
        at_level = np.flatnonzero(r == level)[::-1][:excess]
        r[at_level] -= 1
    r = np.maximum(r, np.minimum(R, 2))  # room for one household from each list
    # Split between the exited and not-exited lists in proportion to their sizes, with at
    # least one household from every non-empty list (else its households could never be
    # drawn and the weights would not represent them).
    lower = np.maximum(np.minimum(NE, 1), r - E)
    upper = np.minimum(NE, r - np.minimum(E, 1))
    ne = np.clip(np.round(r * NE / np.maximum(R, 1)).astype(int), lower, upper)
    e = r - ne
    nr = per - r
    adjustments: list[str] = []
    targets = set(s.targets or ())

    def nudge(values: np.ndarray, room: np.ndarray, steps: int) -> list[int]:
        """Move ``steps`` (+/-) units across villages with room, one per village."""
        order = np.argsort(-room, kind="stable")
        changed = [int(i) for i in order[:abs(steps)] if room[i] > 0]
        if len(changed) < abs(steps):
            raise EvalkitError("allocation: not enough villages to adjust sample sizes")
        values[changed] += int(np.sign(steps))
        return changed

    if "dibao_not_exited" in targets:
        d = _feasible_shift("dibao_not_exited", int(ne.sum()), "not-exited ")
        if d:
            step = int(np.sign(d))
            room = NE - ne if d > 0 else ne - np.minimum(NE, 1)
            partners = {"exited": 0, "non-registered": 0}
            # The slot comes from (or goes back to) the exited list where that list allows,
            # else the non-registered list; each village keeps its total.
            for i in nudge(ne, room, d):
                if (e[i] > min(E[i], 1)) if d > 0 else (e[i] < E[i]):
                    e[i] -= step
                    partners["exited"] -= step
                else:
                    nr[i] -= step
                    partners["non-registered"] -= step
            moved = ", ".join(f"{k} {v:+d}" for k, v in partners.items() if v)
            adjustments.append(f"not-exited allocation {d:+d} ({moved}) so that "
                               f"{_FIGURES['dibao_not_exited'].published} is attainable")
    if "recognition_rate" in targets:
        d = _feasible_shift("recognition_rate", int((e + ne + nr).sum()), "")
        if d:
            room = NR - nr if d > 0 else nr - 1
            nudge(nr, room, d)
            adjustments.append(f"non-registered allocation {d:+d} so that "
                               f"{_FIGURES['recognition_rate'].published} is attainable")
    return _Allocation(idx, village_pi, {"exited": e, "not_exited": ne, "nonregistered": nr},
                       adjustments)


def _select(pop: pd.DataFrame, frame: pd.DataFrame, alloc: _Allocation,
            rng: np.random.Generator) -> pd.DataFrame:
    """SRS within each (village, list): rank households by a random key, keep the first m."""
    v = len(frame)
    types = ("exited", "not_exited", "nonregistered")
    m = np.zeros((v, 3), dtype=np.int64)
    pi = np.zeros(v)
    for j, t in enumerate(types):
        m[alloc.villages, j] = alloc.m[t]
    pi[alloc.villages] = alloc.pi
    counts = frame[[f"hh_{t}" for t in types]].to_numpy()
    code = pop["household_type"].map({t: j for j, t in enumerate(types)}).to_numpy()
    key = rng.random(len(pop))
    order = np.lexsort((key, code, pop["v"].to_numpy()))
    rank = np.empty(len(pop), dtype=np.int64)
    ranked = pop.iloc[order]
    rank[order] = ranked.groupby(["v", "household_type"], sort=False).cumcount().to_numpy()
    vv = pop["v"].to_numpy()
    take = rank < m[vv, code]
    sample = pd.DataFrame(index=pop.index[take])
    sv, sc = vv[take], code[take]
    sample["village_prob"] = pi[sv]
    sample["incl_prob"] = pi[sv] * m[sv, sc] / counts[sv, sc]
    # Weight per village and list: N_g / (pi m_g), so a village's weights sum to N_v / pi.
    sample["weight"] = counts[sv, sc] / (pi[sv] * m[sv, sc])
    return sample


def _attributes(pop: pd.DataFrame, villages: pd.DataFrame, rng: np.random.Generator
                ) -> pd.DataFrame:
    """Income, water, hospital stays: the covariates, rounded as the file stores them."""
    n = len(pop)
    htype = pop["household_type"].to_numpy()
    registered = htype != "nonregistered"
    poor_v = (villages["village_type"] == "poor").to_numpy()[pop["v"]]
    village_income = rng.normal(0.0, 0.15, len(villages))[pop["v"]]
    med = pop["household_type"].map({t: v[0] for t, v in _INCOME.items()}).to_numpy(float)
    sdl = pop["household_type"].map({t: v[1] for t, v in _INCOME.items()}).to_numpy(float)
    log_inc = np.log(med) + village_income - 0.15 * poor_v + sdl * rng.standard_normal(n)
    pop["income_per_head"] = np.round(np.exp(log_inc)).astype(float)
    u = rng.random(n)
    probs = np.where(registered[:, None], _WATER_PROBS["registered"],
                     _WATER_PROBS["nonregistered"])
    cum = np.cumsum(probs, axis=1)
    pop["water_access"] = np.array(["in_home", "at_door", "none"])[
        (u[:, None] > cum[:, :2]).sum(axis=1)]
    stay = rng.random(n) < np.where(registered, _STAY_PROB["registered"],
                                    _STAY_PROB["nonregistered"])
    beta_reg, beta_nonreg = _REIMBURSEMENT_BETA["registered"], _REIMBURSEMENT_BETA["nonregistered"]
    a = np.where(registered, beta_reg[0], beta_nonreg[0])
    b = np.where(registered, beta_reg[1], beta_nonreg[1])
    share = np.round(rng.beta(a, b), 3)
    pop["reimbursement_share"] = np.where(stay, share, np.nan)
    pop["poor_village"] = poor_v.astype(np.int64)
    return pop


def _outcome(crit: np.ndarray, group: np.ndarray, a: float) -> np.ndarray:
    return (group & (crit < a)).astype(np.int64)


def generate_county(seed: int = DEFAULT_SEED, settings: CountySettings | None = None
                    ) -> SyntheticCounty:
    """Generate a synthetic county: frame, every household, the two-stage sample, the truth.

    Deterministic in ``seed`` and ``settings`` (default: calibrated to the seed county).
    """
    s = settings or SEED_SETTINGS
    rs = _streams(int(seed), STREAM_NAMES)
    villages = _build_villages(s, rs["villages"])
    pop = _build_population(s, villages, rs["households"])
    frame = _frame_from_population(villages, pop)
    alloc = _allocate(s, frame, rs["sample"])
    selected = _select(pop, frame, alloc, rs["sample"])
    in_sample = pop.index.isin(selected.index)
    pop = _attributes(pop, villages, rs["attributes"])
    targets = set(s.targets or ())
    htype = pop["household_type"].to_numpy()
    exited, not_exited = htype == "exited", htype == "not_exited"
    nonreg = htype == "nonregistered"
    registered = ~nonreg
    size = pop["household_size"].to_numpy()
    log_inc = np.log1p(pop["income_per_head"].to_numpy())
    water_none = (pop["water_access"] == "none").to_numpy().astype(float)
    ro = rs["outcomes"]
    logistic_draw = {k: _logit(ro.random(len(pop))) for k in
                     ("dibao", "industry", "job", "microcredit", "wrong_exit", "missed")}
    intercepts: dict[str, float] = {}
    calibrated: list[str] = []
    adjusted: dict[str, int] = {}

    def intercept(key: str, figure: str | None, denominator: int,
                  calibrate: Callable[[int], float], default: float,
                  unit: str = "households") -> float:
        """``default``, or, when ``figure`` is a target, the intercept ``calibrate(k)``
        that puts the sample count at ``k``, the count that prints as published."""
        if figure in targets:
            fig = _FIGURES[figure]
            k = _target_count(fig, denominator)
            if k is None:
                raise EvalkitError(f"calibration: {fig.label_en} cannot print as "
                                   f"{fig.published} with {denominator} {unit}")
            a = calibrate(k)
            calibrated.append(key)
        else:
            a = default
        intercepts[key] = a
        return a

    def binary(key: str, figure: str, group: np.ndarray, xb: np.ndarray,
               default: float) -> np.ndarray:
        crit = logistic_draw[key] - xb
        sel = group & in_sample
        a = intercept(key, figure, int(sel.sum()),
                      lambda k: _calibrate_intercept(crit[sel], k), default)
        return _outcome(crit, group, a)

    # dibao: calibrated among not-exited; fixed models for the other two lists.
    xb_dibao = _DIBAO_SLOPES["log_income_centred"] * (log_inc - math.log(5000))
    dibao = binary("dibao", "dibao_not_exited", not_exited, xb_dibao,
                   s.dibao_not_exited_intercept)
    a_other = np.where(exited, _DIBAO_OTHER_INTERCEPTS["exited"],
                       _DIBAO_OTHER_INTERCEPTS["nonregistered"])
    dibao = np.where(not_exited, dibao,
                     (logistic_draw["dibao"] - xb_dibao < a_other).astype(np.int64))
    pop["dibao"] = dibao
    pop["industry_support"] = binary(
        "industry", "industry_support_coverage", registered,
        _INDUSTRY_SLOPES["poor_village"] * pop["poor_village"].to_numpy()
        + _INDUSTRY_SLOPES["exited"] * exited, s.industry_intercept)
    pop["microcredit"] = binary("microcredit", "microcredit_takeup", registered,
                                _MICROCREDIT_SLOPES["exited"] * exited, s.microcredit_intercept)
    pop["public_welfare_job"] = binary("job", "public_welfare_job_rate", registered,
                                       _JOB_SLOPES["not_exited"] * not_exited, s.job_intercept)
    # Wrong exits (people-weighted): whole households judged wrongly exited.
    xb = (_WRONG_EXIT_SLOPES["log_income_centred"] * (log_inc - math.log(7000))
          + _WRONG_EXIT_SLOPES["water_none"] * water_none)
    crit = logistic_draw["wrong_exit"] - xb
    wrong = np.zeros(len(pop), dtype=np.int64)
    grp = np.flatnonzero(exited & in_sample)

    def calibrate_people(k: int) -> float:
        # The prefix sums of people may jump over k: switch the most marginal household.
        a, switched = _calibrate_people(crit[grp], size[grp], k)
        wrong[grp[switched]] = 1
        adjusted["wrong_exit"] = len(switched)
        return a

    a = intercept("wrong_exit", "wrong_exit_rate", int(size[grp].sum()), calibrate_people,
                  s.wrong_exit_intercept, unit="people")
    wrong |= _outcome(crit, exited, a)
    pop["people_wrongly_exited"] = wrong * size
    missed = _outcome(logistic_draw["missed"]
                      - _MISSED_SLOPES["log_income_centred"] * (log_inc - math.log(9000)),
                      nonreg, s.missed_intercept)
    intercepts["missed"] = s.missed_intercept
    pop["people_missed"] = missed * size

    # Recognition: random-intercept logistic latent variable, three ordered answers.
    pop["recognition"] = "satisfied"  # placeholder so prepare_survey can run
    prepared = prepare_survey(pop)
    X = _design_matrix(prepared)
    slopes = np.array([0.0] + [s.recognition_slopes[t] for t in RECOGNITION_TERMS[1:]])
    rr = rs["recognition"]
    u_village = rr.normal(0.0, s.random_effect_sd, len(villages))
    u = u_village[pop["v"].to_numpy()]
    crit = _logit(rr.random(len(pop))) - X @ slopes - u
    a = intercept("recognition", "recognition_rate", int(in_sample.sum()),
                  lambda k: _calibrate_intercept(crit[in_sample], k), s.recognition_intercept)
    latent = a - crit
    pop["recognition"] = np.select([latent <= 0.0, latent <= s.satisfied_cut],
                                   ["dissatisfied", "basically_satisfied"], "satisfied")
    population = prepare_survey(pop)

    sample = _sample_file(population, selected, rs["identity"])
    coefficients = dict(zip(RECOGNITION_TERMS, [a, *slopes[1:]], strict=True))
    truth = _truth(seed, s, frame, population, sample, alloc, intercepts, calibrated, adjusted,
                   coefficients, u_village)
    population = population.drop(columns=["v", "poor_village"])
    return SyntheticCounty(int(seed), s, frame, population.reset_index(drop=True),
                           sample, truth)


# --------------------------------------------------------------------------------------
# the sample file, identities, truth
# --------------------------------------------------------------------------------------
_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                  "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江")
_GIVEN = tuple("建国华明伟芳秀英军平丽强勇艳杰娟涛超霞刚桂兰玉梅志红春海林文德福荣珍云凤成兵辉敏")
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ID_CHECK = np.array(list("10X98765432"))


def fake_identities(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Fake household heads: Chinese names, 18-digit ID numbers and 11-digit phones.

    ID numbers follow the GB 11643 pattern (6-digit region, 8-digit birth date, 3-digit
    sequence, ISO 7064 MOD 11-2 check character) but use region codes starting 99, which no
    province has; phones start 100, which no mobile network uses. They exist only so the
    privacy rule (identifying columns dropped at load) is exercised.
    """
    two = rng.random(n) < 0.6
    names = (np.asarray(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)].astype(object)
             + np.asarray(_GIVEN)[rng.integers(0, len(_GIVEN), n)].astype(object)
             + np.where(two, np.asarray(_GIVEN)[rng.integers(0, len(_GIVEN), n)], "")
             .astype(object))
    region = 990000 + rng.integers(0, 10000, n)
    year = rng.integers(1935, 1999, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    seq = rng.integers(0, 1000, n)
    # The 17 digits as one integer (region 6, date 8, sequence 3), then its digits by
    # place value, for the MOD 11-2 check character.
    number = ((region * 10 ** 4 + year) * 10 ** 4 + month * 100 + day) * 1000 + seq
    digits = (number[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)) % 10
    check = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]
    ids = pd.Series(number).astype(str).str.zfill(17) + pd.Series(check, dtype=object)
    phones = "100" + pd.Series(rng.integers(0, 10 ** 8, n)).astype(str).str.zfill(8)
    return pd.DataFrame({"name": list(names), "id_number": ids.tolist(),
                         "phone": phones.tolist()})


def _sample_file(population: pd.DataFrame, selected: pd.DataFrame, rng: np.random.Generator
                 ) -> pd.DataFrame:
    sample = population.loc[selected.index].join(selected)
    sample = sample.sort_values(["v", "household_id"], kind="stable").reset_index(drop=True)
    sample = pd.concat([sample, fake_identities(len(sample), rng)], axis=1)
    sample["income_per_head"] = sample["income_per_head"].astype(np.int64)
    sample["village_prob"] = sample["village_prob"].round(8)
    sample["incl_prob"] = sample["incl_prob"].round(10)
    sample["weight"] = sample["weight"].round(6)
    return sample[list(SURVEY_FILE_COLUMNS)]


def _population_averaged(X: np.ndarray, beta: np.ndarray, sd: float) -> np.ndarray:
    """Logistic projection of the marginal probabilities E_u[expit(x'b + u)], u ~ N(0, sd^2).

    The integral uses 40-point Gauss-Hermite quadrature (probabilists' weights); the
    projection is the logistic regression of those probabilities on X over the whole
    county (Zeger, Liang & Albert 1988 give sd-dependent attenuation close to
    1/sqrt(1 + 0.346 sd^2) for this link).
    """
    z, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    eta = X @ beta
    p = (1.0 / (1.0 + np.exp(-(eta[:, None] + sd * z[None, :])))) @ w
    return _logistic_fit(X, p)


def _rates(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (num, den) in figure_counts(df).items():
        out[key] = {"numerator": num, "denominator": den, "rate": _r6(num / den) if den else None}
    nonreg = df["household_type"] == "nonregistered"
    missed, people_nonreg = int(df["people_missed"].sum()), int(df.loc[nonreg, "household_size"]
                                                                .sum())
    out["missed_rate"] = {"numerator": missed, "denominator": people_nonreg,
                          "rate": _r6(missed / people_nonreg)}
    return out


def _truth(seed: int, s: CountySettings, frame: pd.DataFrame, population: pd.DataFrame,
           sample: pd.DataFrame, alloc: _Allocation, intercepts: dict[str, float],
           calibrated: list[str], adjusted: dict[str, int], coefficients: dict[str, float],
           u_village: np.ndarray) -> dict[str, Any]:
    X = _design_matrix(population)
    beta = np.array([coefficients[t] for t in RECOGNITION_TERMS])
    pa = _population_averaged(X, beta, s.random_effect_sd)
    census = _logistic_fit(X, population["recognizes"].to_numpy(float))
    registered = sample["household_type"] != "nonregistered"
    frame_hh = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum(axis=1)
    people = frame[["people_exited", "people_not_exited", "people_nonregistered"]].sum(axis=1)
    wrongly = int(population["people_wrongly_exited"].sum())
    missed = int(population["people_missed"].sum())
    remaining = int(frame["people_not_exited"].sum())
    settings = asdict(s)
    settings["targets"] = list(s.targets) if s.targets else None
    published = reproduce_published(sample)
    return {
        "generator": {"module": "evalkit.synth", "function": "generate_county",
                      "version": GENERATOR_VERSION, "seed": int(seed), "settings": settings},
        "frame": {
            "townships": int(frame["township"].nunique()),
            "villages": len(frame),
            "poor_villages": int((frame["village_type"] == "poor").sum()),
            "villages_with_registered_households": int(
                ((frame["hh_exited"] + frame["hh_not_exited"]) > 0).sum()),
            "households": int(frame_hh.sum()),
            "registered_households": int((frame["hh_exited"] + frame["hh_not_exited"]).sum()),
            "registered_people": int((frame["people_exited"] + frame["people_not_exited"]).sum()),
            "not_exited_people": remaining,
            "exited_people": int(frame["people_exited"].sum()),
            "nonregistered_households": int(frame["hh_nonregistered"].sum()),
            "rural_population": int(people.sum()),
        },
        "design": {
            "description": (f"systematic PPS of villages (size = "
                            f"{_SIZE_MEASURE_LABELS[s.village_size_measure]}, frame order), "
                            "then SRS within each village from the exited, not-exited and "
                            "non-registered lists; weight = 1 / (village_prob * m_list / "
                            "N_list)"),
            "village_size_measure": s.village_size_measure,
            "certainty_villages": int((alloc.pi >= 1.0).sum()),
            "sampled_villages": len(alloc.villages),
            "households_per_village": s.households_per_village,
            "registered_cap_per_village": s.registered_cap,
            "sample_households": len(sample),
            "by_household_type": {t: int((sample["household_type"] == t).sum())
                                  for t in ("exited", "not_exited", "nonregistered")},
            "registered_share": _r6(registered.mean()),
            "allocation_adjustments": alloc.adjustments,
            "weight_sum": _r6(sample["weight"].sum()),
            "weight_sum_registered": _r6(sample.loc[registered, "weight"].sum()),
            "frame_households": int(frame_hh.sum()),
            "frame_registered_households": int((frame["hh_exited"]
                                                + frame["hh_not_exited"]).sum()),
        },
        "published_figures": [
            {"figure": r.figure, "published": r.published, "reproduced": r.reproduced,
             "numerator": int(r.numerator), "denominator": int(r.denominator),
             "rate": _r6(r.rate), "matches": bool(r.matches)}
            for r in published.itertuples()
        ],
        "recognition_model": {
            "formula": RECOGNITION_FORMULA,
            "latent": ("y* = x'b + u_village + e, e ~ logistic; dissatisfied if y* <= 0, "
                       "basically_satisfied if 0 < y* <= satisfied_cut, satisfied above; "
                       "recognizes = 1{y* > 0}"),
            "random_effect_sd": s.random_effect_sd,
            "random_effect_realized_sd": _r6(np.std(u_village, ddof=1)),
            "satisfied_cut": s.satisfied_cut,
            "derived_columns": {k: schema.DERIVED_COLUMNS[k]
                                for k in ("reimbursement_gap", "log_income")},
            "coefficients_conditional": {k: _r6(v) for k, v in coefficients.items()},
            "coefficients_population_averaged": dict(zip(RECOGNITION_TERMS,
                                                          map(_r6, pa), strict=True)),
            "coefficients_census": dict(zip(RECOGNITION_TERMS, map(_r6, census), strict=True)),
            "note": ("conditional = the generating coefficients, given the village effect; "
                     "population_averaged = logistic projection of the marginal "
                     "probabilities over the whole county (what a model without village "
                     "effects estimates in expectation); census = logistic regression on "
                     "every household's realized answer (the finite-population target of "
                     "svyglm)"),
        },
        "other_models": {
            "form": "P(y = 1) = expit(intercept + slopes . x); log_income_centred = "
                    "ln(income_per_head + 1) - ln(centre)",
            "dibao": {"not_exited_intercept": _r6(intercepts["dibao"]),
                      "exited_intercept": _DIBAO_OTHER_INTERCEPTS["exited"],
                      "nonregistered_intercept": _DIBAO_OTHER_INTERCEPTS["nonregistered"],
                      "slopes": _DIBAO_SLOPES, "centre": 5000},
            "industry_support": {"group": "registered", "intercept": _r6(intercepts["industry"]),
                                 "slopes": _INDUSTRY_SLOPES},
            "public_welfare_job": {"group": "registered", "intercept": _r6(intercepts["job"]),
                                   "slopes": _JOB_SLOPES},
            "microcredit": {"group": "registered",
                            "intercept": _r6(intercepts["microcredit"]),
                            "slopes": _MICROCREDIT_SLOPES},
            "wrong_exit": {"group": "exited (whole household)",
                           "intercept": _r6(intercepts["wrong_exit"]),
                           "slopes": _WRONG_EXIT_SLOPES, "centre": 7000},
            "missed": {"group": "nonregistered (whole household)",
                       "intercept": _r6(intercepts["missed"]), "slopes": _MISSED_SLOPES,
                       "centre": 9000},
        },
        "calibration": {
            "calibrated_intercepts": calibrated,
            "adjusted_draws": adjusted,
            "method": ("intercept set midway between the two critical values that bracket "
                       "the target count in the sample; the same intercept generates every "
                       "household in the county"),
        },
        "population": {
            **_rates(population),
            "comprehensive_incidence": {
                "numerator": remaining + wrongly + missed, "denominator": int(people.sum()),
                "rate": _r6((remaining + wrongly + missed) / people.sum())},
        },
    }


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    path.write_text(df.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def _write_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_county(county: SyntheticCounty, out_dir: str | Path) -> dict[str, Path]:
    """Write ``frame.csv``, ``survey.csv`` and ``truth.json`` for one county."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"frame": out / "frame.csv", "survey": out / "survey.csv",
             "truth": out / "truth.json"}
    _write_csv(county.frame, paths["frame"])
    _write_csv(county.sample, paths["survey"])
    _write_json(county.truth, paths["truth"])
    return paths


def write_default_data(out_dir: str | Path | None = None) -> dict[str, Path]:
    """Regenerate the packaged default data (byte for byte) into ``out_dir``.

    Default ``out_dir``: the package's own ``evalkit/data/`` directory, which is what
    ``evalkit synth`` rewrites.
    """
    return write_county(generate_county(DEFAULT_SEED), out_dir or package_data_dir())


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
    _write_csv(province.summary(), out / "province.csv")
    return written
