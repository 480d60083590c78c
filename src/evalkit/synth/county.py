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
  :func:`evalkit.sampling.pps.pps_systematic`), then within each village simple random samples
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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.data import prepare_survey
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.sampling.pps import pps_systematic
from evalkit.synth.population import (
    STREAM_NAMES,
    build_population,
    build_villages,
    calibrate_intercept,
    calibrate_people_intercept,
    frame_from_population,
    logit_of,
    random_streams,
    truth_design_matrix,
)
from evalkit.synth.published import FIGURES_BY_KEY, target_count
from evalkit.synth.settings import (
    DEFAULT_SEED,
    DIBAO_OTHER_INTERCEPTS,
    DIBAO_SLOPES,
    INCOME,
    INDUSTRY_SLOPES,
    JOB_SLOPES,
    MICROCREDIT_SLOPES,
    MISSED_SLOPES,
    RECOGNITION_TERMS,
    REIMBURSEMENT_BETA,
    SEED_SETTINGS,
    SIZE_MEASURES,
    STAY_PROB,
    WATER_PROBS,
    WRONG_EXIT_SLOPES,
    Allocation,
    CountySettings,
    SyntheticCounty,
)
from evalkit.synth.truth import county_truth, sample_file


def _feasible_shift(figure_key: str, size: int, lists: str) -> int:
    """The smallest change ``d`` (0, +1, -1, ... up to 6) of a sample size ``size`` such
    that some count out of ``size + d`` prints as the published figure."""
    figure = FIGURES_BY_KEY[figure_key]
    for d in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6):
        if target_count(figure, size + d) is not None:
            return d
    raise EvalkitError(f"allocation: no {lists}sample size near the design fits "
                       f"{figure.published}")


def village_sizes(s: CountySettings, frame: pd.DataFrame) -> np.ndarray:
    """The first-stage size measure of every frame village (``s.village_size_measure``)."""
    if s.village_size_measure not in SIZE_MEASURES:
        raise EvalkitError(f"village_size_measure={s.village_size_measure!r}; expected one of "
                           + ", ".join(map(repr, SIZE_MEASURES)))
    sizes = frame[list(SIZE_MEASURES[s.village_size_measure])].sum(axis=1).to_numpy(float)
    if (sizes <= 0).any():
        # A village of size 0 could never be drawn, nor could any of its households: the
        # weights would no longer represent the county.
        r = int(np.flatnonzero(sizes <= 0)[0])
        raise EvalkitError(f"frame row {r + 1}, village {frame['village'].iloc[r]!r}: size "
                           f"measure {s.village_size_measure!r} is 0; expected > 0")
    return sizes


def _allocate(s: CountySettings, frame: pd.DataFrame, rng: np.random.Generator) -> Allocation:
    pps = pps_systematic(village_sizes(s, frame), s.n_sample_villages, rng, order="given")
    return allocate_households(s, frame, pps.index, pps.pi)


def allocate_households(s: CountySettings, frame: pd.DataFrame, idx: np.ndarray,
                         village_pi: np.ndarray) -> Allocation:
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
                               f"{FIGURES_BY_KEY['dibao_not_exited'].published} is attainable")
    if "recognition_rate" in targets:
        d = _feasible_shift("recognition_rate", int((e + ne + nr).sum()), "")
        if d:
            room = NR - nr if d > 0 else nr - 1
            nudge(nr, room, d)
            adjustments.append(f"non-registered allocation {d:+d} so that "
                               f"{FIGURES_BY_KEY['recognition_rate'].published} is attainable")
    return Allocation(idx, village_pi, {"exited": e, "not_exited": ne, "nonregistered": nr},
                       adjustments)


def select_sample(pop: pd.DataFrame, frame: pd.DataFrame, alloc: Allocation,
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
    med = pop["household_type"].map({t: v[0] for t, v in INCOME.items()}).to_numpy(float)
    sdl = pop["household_type"].map({t: v[1] for t, v in INCOME.items()}).to_numpy(float)
    log_inc = np.log(med) + village_income - 0.15 * poor_v + sdl * rng.standard_normal(n)
    pop["income_per_head"] = np.round(np.exp(log_inc)).astype(float)
    u = rng.random(n)
    probs = np.where(registered[:, None], WATER_PROBS["registered"],
                     WATER_PROBS["nonregistered"])
    cum = np.cumsum(probs, axis=1)
    pop["water_access"] = np.array(["in_home", "at_door", "none"])[
        (u[:, None] > cum[:, :2]).sum(axis=1)]
    stay = rng.random(n) < np.where(registered, STAY_PROB["registered"],
                                    STAY_PROB["nonregistered"])
    beta_reg, beta_nonreg = REIMBURSEMENT_BETA["registered"], REIMBURSEMENT_BETA["nonregistered"]
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
    rs = random_streams(int(seed), STREAM_NAMES)
    villages = build_villages(s, rs["villages"])
    pop = build_population(s, villages, rs["households"])
    frame = frame_from_population(villages, pop)
    alloc = _allocate(s, frame, rs["sample"])
    selected = select_sample(pop, frame, alloc, rs["sample"])
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
    logistic_draw = {k: logit_of(ro.random(len(pop))) for k in
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
            fig = FIGURES_BY_KEY[figure]
            k = target_count(fig, denominator)
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
                      lambda k: calibrate_intercept(crit[sel], k), default)
        return _outcome(crit, group, a)

    # dibao: calibrated among not-exited; fixed models for the other two lists.
    xb_dibao = DIBAO_SLOPES["log_income_centred"] * (log_inc - math.log(5000))
    dibao = binary("dibao", "dibao_not_exited", not_exited, xb_dibao,
                   s.dibao_not_exited_intercept)
    a_other = np.where(exited, DIBAO_OTHER_INTERCEPTS["exited"],
                       DIBAO_OTHER_INTERCEPTS["nonregistered"])
    dibao = np.where(not_exited, dibao,
                     (logistic_draw["dibao"] - xb_dibao < a_other).astype(np.int64))
    pop["dibao"] = dibao
    pop["industry_support"] = binary(
        "industry", "industry_support_coverage", registered,
        INDUSTRY_SLOPES["poor_village"] * pop["poor_village"].to_numpy()
        + INDUSTRY_SLOPES["exited"] * exited, s.industry_intercept)
    pop["microcredit"] = binary("microcredit", "microcredit_takeup", registered,
                                MICROCREDIT_SLOPES["exited"] * exited, s.microcredit_intercept)
    pop["public_welfare_job"] = binary("job", "public_welfare_job_rate", registered,
                                       JOB_SLOPES["not_exited"] * not_exited, s.job_intercept)
    # Wrong exits (people-weighted): whole households judged wrongly exited.
    xb = (WRONG_EXIT_SLOPES["log_income_centred"] * (log_inc - math.log(7000))
          + WRONG_EXIT_SLOPES["water_none"] * water_none)
    crit = logistic_draw["wrong_exit"] - xb
    wrong = np.zeros(len(pop), dtype=np.int64)
    grp = np.flatnonzero(exited & in_sample)

    def calibrate_people(k: int) -> float:
        # The prefix sums of people may jump over k: switch the most marginal household.
        a, switched = calibrate_people_intercept(crit[grp], size[grp], k)
        wrong[grp[switched]] = 1
        adjusted["wrong_exit"] = len(switched)
        return a

    a = intercept("wrong_exit", "wrong_exit_rate", int(size[grp].sum()), calibrate_people,
                  s.wrong_exit_intercept, unit="people")
    wrong |= _outcome(crit, exited, a)
    pop["people_wrongly_exited"] = wrong * size
    missed = _outcome(logistic_draw["missed"]
                      - MISSED_SLOPES["log_income_centred"] * (log_inc - math.log(9000)),
                      nonreg, s.missed_intercept)
    intercepts["missed"] = s.missed_intercept
    pop["people_missed"] = missed * size

    # Recognition: random-intercept logistic latent variable, three ordered answers.
    pop["recognition"] = "satisfied"  # placeholder so prepare_survey can run
    prepared = prepare_survey(pop)
    X = truth_design_matrix(prepared)
    slopes = np.array([0.0] + [s.recognition_slopes[t] for t in RECOGNITION_TERMS[1:]])
    rr = rs["recognition"]
    u_village = rr.normal(0.0, s.random_effect_sd, len(villages))
    u = u_village[pop["v"].to_numpy()]
    crit = logit_of(rr.random(len(pop))) - X @ slopes - u
    a = intercept("recognition", "recognition_rate", int(in_sample.sum()),
                  lambda k: calibrate_intercept(crit[in_sample], k), s.recognition_intercept)
    latent = a - crit
    pop["recognition"] = np.select([latent <= 0.0, latent <= s.satisfied_cut],
                                   ["dissatisfied", "basically_satisfied"], "satisfied")
    population = prepare_survey(pop)

    sample = sample_file(population, selected, rs["identity"])
    coefficients = dict(zip(RECOGNITION_TERMS, [a, *slopes[1:]], strict=True))
    truth = county_truth(seed, s, frame, population, sample, alloc, intercepts, calibrated,
                         adjusted, coefficients, u_village)
    population = population.drop(columns=["v", "poor_village"])
    return SyntheticCounty(int(seed), s, frame, population.reset_index(drop=True),
                           sample, truth)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    path.write_text(df.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def write_json(obj: Any, path: Path) -> None:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_county(county: SyntheticCounty, out_dir: str | Path) -> dict[str, Path]:
    """Write ``frame.csv``, ``survey.csv`` and ``truth.json`` for one county."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"frame": out / "frame.csv", "survey": out / "survey.csv",
             "truth": out / "truth.json"}
    write_csv(county.frame, paths["frame"])
    write_csv(county.sample, paths["survey"])
    write_json(county.truth, paths["truth"])
    return paths


def write_default_data(out_dir: str | Path | None = None) -> dict[str, Path]:
    """Regenerate the packaged default data (byte for byte) into ``out_dir``.

    Default ``out_dir``: the package's own ``evalkit/data/`` directory, which is what
    ``evalkit synth`` rewrites.
    """
    return write_county(generate_county(DEFAULT_SEED), out_dir or package_data_dir())
