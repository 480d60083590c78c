"""Checking a design by repeated draws from a synthetic population with a known truth.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.sampling.checks import (
    finite_number,
    open_unit,
    positive_int,
)
from evalkit.sampling.draw import (
    Listing,
    cell_quotas,
    draw_households,
    first_stage_plan,
    frame_codes,
    prepare_listing,
    select_villages,
)
from evalkit.sampling.frame import (
    FRAME_HOUSEHOLDS,
    FRAME_PEOPLE,
    HOUSEHOLD_GROUPS,
    check_frame,
    household_groups,
    require_columns,
)
from evalkit.sampling.pps import (
    PPS_EPS,
    as_generator,
    pps_inclusion_probabilities,
    systematic_hits,
)
from evalkit.survey.village_rates import rate_intervals, ratio_from_village_totals


# --- synthetic listings for checking a design ----------------------------------------------
def household_listing(frame: pd.DataFrame, seed: int | np.random.Generator) -> pd.DataFrame:
    """A household listing consistent with the frame's counts (for planning and checks).

    One row per household (township, village, household_id, household_type,
    household_size); in each village and type, the frame's people are spread over its
    households as evenly as possible (sizes differ by at most one, which ones are larger
    is random), so people totals match the frame exactly when people >= households.

    Examples
    --------
    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> listing = household_listing(frame, seed=1)
    >>> households = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].to_numpy().sum()
    >>> len(listing) == int(households)
    True
    >>> list(listing.columns)
    ['township', 'village', 'household_id', 'household_type', 'household_size']
    """
    check_frame(frame)
    gen = as_generator(seed)
    require_columns(frame, list(FRAME_HOUSEHOLDS.values()) + list(FRAME_PEOPLE.values()), "frame")
    parts = []
    for t, col in FRAME_HOUSEHOLDS.items():
        h = frame[col].to_numpy().astype(np.int64)
        p = frame[FRAME_PEOPLE[t]].to_numpy().astype(np.int64)
        if (h < 0).any() or (p < 0).any():
            r = int(np.flatnonzero((h < 0) | (p < 0))[0])
            raise EvalkitError(f"frame row {r + 1}: negative count for {t!r}; expected >= 0")
        vil = np.repeat(np.arange(len(frame)), h)
        start = np.repeat(np.cumsum(h) - h, h)
        within = np.arange(len(vil)) - start
        base = np.where(h > 0, p // np.maximum(h, 1), 0)
        extra = p - base * h
        # Which households in the cell get one more person: the smallest random keys.
        key = gen.random(len(vil))
        order = np.lexsort((key, vil))
        rank = np.empty(len(vil), dtype=np.int64)
        rank[order] = np.arange(len(vil)) - start[order]
        size = np.maximum(base[vil] + (rank < extra[vil]), 1)
        parts.append(pd.DataFrame({
            "village_pos": vil, "type_order": list(FRAME_HOUSEHOLDS).index(t),
            "within": within, "household_type": t, "household_size": size}))
    allh = pd.concat(parts, ignore_index=True).sort_values(
        ["village_pos", "type_order", "within"], kind="stable")
    village = frame["village"].astype(str).to_numpy()
    vpos = allh["village_pos"].to_numpy()
    seq = allh.groupby("village_pos").cumcount().to_numpy() + 1
    ids = pd.Series(village[vpos]) + "-" + pd.Series(seq).astype(str).str.zfill(4)
    return pd.DataFrame({
        "township": frame["township"].to_numpy()[vpos],
        "village": frame["village"].to_numpy()[vpos],
        "household_id": ids.to_numpy(),
        "household_type": allh["household_type"].to_numpy(),
        "household_size": allh["household_size"].to_numpy(),
    })


def _beta_rates(mean: float, icc: float, size: int, gen: np.random.Generator) -> np.ndarray:
    """Village-level rates with the given mean and intraclass correlation (beta model:
    ``ICC = 1 / (a + b + 1)``)."""
    if icc <= 0:
        return np.full(size, mean)
    s = (1.0 - icc) / icc
    return gen.beta(mean * s, (1.0 - mean) * s, size=size)


def synthetic_population(
    frame: pd.DataFrame,
    seed: int | np.random.Generator,
    *,
    wrong_exit_rate: float = 0.029,
    recognition_rate: float = 0.9486,
    icc: float = 0.05,
) -> pd.DataFrame:
    """A full household listing with known outcomes, to check a design by simulation.

    :func:`household_listing` plus ``people_wrongly_exited`` (exited households judged
    wrongly exited as a whole) and ``recognizes`` (0/1). Village rates ``p_v`` are drawn from
    a beta distribution with the given mean and intraclass correlation ``icc``; the affected
    households are then chosen as the smallest ``u_i / p_v`` (``u_i`` uniform), i.e.
    Bernoulli(``c p_v``) selection conditioned on its total, with the total set so that the
    population rate equals the nominal one: the people-level wrong-exit rate to within one
    household, the recognition rate to within one household (non-recognition is drawn
    this way with ``1 - p_v``).

    Examples
    --------
    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> population = synthetic_population(frame, seed=1)
    >>> len(population), sorted(population.columns)[:4]
    (67460, ['household_id', 'household_size', 'household_type', 'people_wrongly_exited'])
    """
    gen = as_generator(seed)
    for name, value in (("wrong_exit_rate", wrong_exit_rate),
                        ("recognition_rate", recognition_rate)):
        open_unit(name, value)
    rho = finite_number("icc", icc)
    if not 0.0 <= rho < 1.0:
        raise EvalkitError(f"icc={icc!r}; expected a value in [0, 1)")
    pop = household_listing(frame, gen)
    v = pd.Index(frame["village"]).get_indexer(pop["village"])
    wrong_v = _beta_rates(wrong_exit_rate, rho, len(frame), gen)
    refuse_v = _beta_rates(1.0 - recognition_rate, rho, len(frame), gen)
    u = gen.random((2, len(pop)))
    size = pop["household_size"].to_numpy()
    exited = np.flatnonzero((pop["household_type"] == "exited").to_numpy())
    with np.errstate(divide="ignore"):
        order = exited[np.argsort(u[0, exited] / wrong_v[v[exited]], kind="stable")]
    people = np.cumsum(size[order])
    target = wrong_exit_rate * size[exited].sum()
    # The prefix whose people come closest to the target.
    n_wrong = int(np.argmin(np.abs(np.concatenate([[0], people]) - target)))
    wrong = np.zeros(len(pop), dtype=bool)
    wrong[order[:n_wrong]] = True
    pop["people_wrongly_exited"] = np.where(wrong, size, 0)
    with np.errstate(divide="ignore"):
        order = np.argsort(u[1] / refuse_v[v], kind="stable")
    n_refuse = int(round((1.0 - recognition_rate) * len(pop)))
    recognizes = np.ones(len(pop), dtype=np.int64)
    recognizes[order[:n_refuse]] = 0
    pop["recognizes"] = recognizes
    return pop


# --- checking the design by repeated draws --------------------------------------------------
@dataclass(frozen=True)
class DrawSimulation:
    """Repeated draws of one design from a known population.

    ``draws`` holds one row per replicate (estimate, se, ci_low, ci_high, covered and, with
    a threshold, declared).

    Examples
    --------
    >>> import pandas as pd
    >>> draws = pd.DataFrame({"estimate": [0.1, 0.3], "se": [0.1, 0.1], "ci_low": [0.0, 0.1],
    ...                       "ci_high": [0.3, 0.5], "covered": [True, False]})
    >>> sim = DrawSimulation(draws=draws, truth=0.25, level=0.95)
    >>> sim.reps, round(sim.bias, 4), sim.coverage
    (2, -0.05, 0.5)

    Three replicates, each tested against a threshold (``declared``); the examples of the
    properties and methods below continue from these:

    >>> draws = pd.DataFrame({"estimate": [0.1, 0.3, 0.2], "se": [0.1, 0.1, 0.1],
    ...                       "ci_low": [0.0, 0.1, 0.0], "ci_high": [0.3, 0.5, 0.4],
    ...                       "covered": [True, False, True], "declared": [False, True, False]})
    >>> sim = DrawSimulation(draws=draws, truth=0.25, level=0.95)
    """

    draws: pd.DataFrame
    truth: float
    level: float

    @property
    def reps(self) -> int:
        """Number of replicate draws.

        Examples
        --------
        >>> sim.reps
        3
        """
        return len(self.draws)

    @property
    def mean_estimate(self) -> float:
        """Mean of the replicate estimates (the Monte Carlo expectation of the estimator).

        Examples
        --------
        >>> round(sim.mean_estimate, 4)
        0.2
        """
        return float(self.draws["estimate"].mean())

    @property
    def bias(self) -> float:
        """``mean_estimate - truth``: the estimator's bias, up to :attr:`bias_mc_se`.

        Examples
        --------
        >>> round(sim.bias, 4)
        -0.05
        """
        return self.mean_estimate - self.truth

    @property
    def bias_mc_se(self) -> float:
        """Monte Carlo standard error of the bias.

        Examples
        --------
        >>> round(sim.bias_mc_se, 4)
        0.0577
        """
        return float(self.draws["estimate"].std(ddof=1) / math.sqrt(self.reps))

    @property
    def coverage(self) -> float:
        """Share of replicates whose interval covers the truth (nominal: ``level``).

        Examples
        --------
        >>> sim.coverage
        0.6666666666666666
        """
        return float(self.draws["covered"].mean())

    @property
    def coverage_mc_se(self) -> float:
        """Monte Carlo standard error of :attr:`coverage` at the nominal level,
        ``sqrt(level (1 - level) / reps)``.

        Examples
        --------
        >>> round(sim.coverage_mc_se, 4)
        0.1258
        """
        return math.sqrt(self.level * (1.0 - self.level) / self.reps)

    @property
    def power(self) -> float:
        """Share of replicates declaring against the threshold (NaN without one).

        Examples
        --------
        >>> sim.power
        0.3333333333333333
        """
        if "declared" not in self.draws:
            return math.nan
        return float(self.draws["declared"].mean())

    def summary(self) -> pd.DataFrame:
        """One row: truth, mean estimate, bias (and its MC SE), empirical SD of the estimate,
        mean estimated SE, bias over SD (a ratio estimator's bias is of order 1/n; below 0.1
        it is negligible, Cochran 1977, sec. 1.8), coverage (and its MC SE at the nominal
        level) and, with a threshold, the share of replicates declaring.

        Examples
        --------
        >>> sim.summary()[["reps", "bias", "coverage"]].round(4)
           reps  bias  coverage
        0     3 -0.05    0.6667
        """
        d = self.draws
        return pd.DataFrame([{
            "reps": self.reps, "truth": self.truth, "mean_estimate": self.mean_estimate,
            "bias": self.bias, "bias_mc_se": self.bias_mc_se,
            "sd_estimate": float(d["estimate"].std(ddof=1)), "mean_se": float(d["se"].mean()),
            "bias_ratio": self.bias / float(d["estimate"].std(ddof=1)),
            "coverage": self.coverage, "nominal": self.level,
            "coverage_mc_se": self.coverage_mc_se, "declared": self.power,
        }])


@dataclass(frozen=True)
class _SimulationSetup:
    """Checked arguments and the population prepared once, shared by
    :func:`simulate_draws` and :func:`simulate_design` so the two cannot drift apart."""

    reps: int
    level: float
    threshold: float | None
    gen: np.random.Generator
    quota: dict[str, int]
    frame: pd.DataFrame
    listing: Listing
    in_domain: np.ndarray  # households of the estimation domain, in listing order
    y: np.ndarray  # outcome per listed household
    x: np.ndarray  # denominator per listed household (1 for a household proportion)
    truth: float


def _simulation_setup(population: pd.DataFrame, frame: pd.DataFrame,
                      per_village: Mapping[str, int], *, reps: int, seed: int, outcome: str,
                      denominator: str | None, domain: str | None, level: float,
                      threshold: float | None, alternative: str) -> _SimulationSetup:
    """Validate the simulation arguments, seed the generator and list the population.

    The truth is the population ratio ``sum_d y / sum_d x`` over the domain's households
    in the groups the design samples."""
    reps = positive_int("reps", reps)
    level = open_unit("level", level)
    if level <= 0.5:
        raise EvalkitError(f"level={level!r}; expected a confidence level above 0.5")
    if threshold is not None:
        threshold = open_unit("threshold", threshold)
    if alternative not in ("greater", "less"):
        raise EvalkitError(f"alternative={alternative!r}; expected 'greater' or 'less'")
    if domain is not None and domain not in HOUSEHOLD_GROUPS:
        raise EvalkitError(f"domain={domain!r}; expected one of " + ", ".join(HOUSEHOLD_GROUPS))
    gen = as_generator(seed)
    quota = household_groups(per_village)
    frame = frame.reset_index(drop=True)
    check_frame(frame)
    listing = prepare_listing(population, frame, quota)
    data = listing.data
    require_columns(data, [outcome] + ([denominator] if denominator else []), "population")
    in_domain = (np.ones(len(data), dtype=bool) if domain is None
                 else data["household_type"].isin(HOUSEHOLD_GROUPS[domain]).to_numpy())
    y = data[outcome].to_numpy(dtype=float)
    x = np.ones(len(data)) if denominator is None else data[denominator].to_numpy(dtype=float)
    truth = float(y[in_domain].sum() / x[in_domain].sum())
    return _SimulationSetup(reps=reps, level=level, threshold=threshold, gen=gen, quota=quota,
                            frame=frame, listing=listing, in_domain=in_domain, y=y, x=x,
                            truth=truth)


def simulate_draws(
    population: pd.DataFrame,
    frame: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int],
    *,
    reps: int,
    seed: int,
    outcome: str,
    denominator: str | None = None,
    domain: str | None = None,
    level: float = 0.95,
    method: str = "logit",
    size_column: str | Sequence[str] | None = None,
    strata: str | None = None,
    fill: bool = False,
    threshold: float | None = None,
    alternative: Literal["greater", "less"] = "greater",
    variance: Literal["brewer", "with_replacement"] = "with_replacement",
) -> DrawSimulation:
    """Draw the design ``reps`` times from ``population`` and estimate each time.

    The slow reference for :func:`simulate_design` (tests compare the two; not exported):
    one sample table and one ``SurveyDesign`` per replicate.

    Each replicate is :func:`draw_two_stage` followed by
    ``evalkit.SurveyDesign(sample, psu='village', strata=..., weights='weight')``, then
    ``.proportion(outcome, method, level)`` (0/1 outcome) or, with ``denominator``, the
    people-level rate ``sum w outcome / sum w denominator`` with the same svyciprop interval
    the indicators use (``evalkit.assessment.indicators.people_rate``: ``outcome`` counts people, at
    most ``denominator``). ``domain`` (a household group, e.g. ``'exited'``) restricts the
    estimate to that domain with the full design kept. With ``threshold``, each replicate
    also records whether the assessment would declare the rate above it
    (``alternative="greater"``: the whole interval above) or below it (``"less"``: the
    whole interval below), the rule :func:`evalkit.survey.decision.decide` applies to the
    interval shown; the share of replicates declaring is the
    power of the real design (PPS, unequal villages).
    The truth is the population value over the households the design covers.
    ``variance="brewer"`` analyses each sample as drawn (see :func:`simulate_design`):
    ``SurveyDesign(psu=["village", "group", "household"], fpc=["village_prob", 1,
    "household_prob"], pps="brewer")``.

    Examples
    --------
    20 repeated draws of 30 villages of 35 + 35 households from a synthetic county whose
    true recognition rate is known:

    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> population = synthetic_population(frame, seed=1)
    >>> sim = simulate_draws(population, frame, 30, {"registered": 35, "nonregistered": 35},
    ...                      reps=20, seed=2, outcome="recognizes")
    >>> sim.reps, round(sim.truth, 4), round(sim.coverage, 2)
    (20, 0.9486, 0.9)
    """
    from evalkit.survey.design import SurveyDesign
    from evalkit.survey.people import people_design

    setup = _simulation_setup(population, frame, per_village, reps=reps, seed=seed,
                              outcome=outcome, denominator=denominator, domain=domain,
                              level=level, threshold=threshold, alternative=alternative)
    reps, level, threshold = setup.reps, setup.level, setup.threshold
    gen, quota, frame, truth = setup.gen, setup.quota, setup.frame, setup.truth
    data = setup.listing.data
    # Only what the estimate needs, with villages as integer codes: the same design, and
    # no string handling in every replicate.
    lean = pd.DataFrame({"village": setup.listing.village_code, "_domain": setup.in_domain,
                         outcome: data[outcome].to_numpy(),
                         "_group": setup.listing.group_code, "_household": np.arange(len(data))})
    if denominator is not None:
        lean[denominator] = data[denominator].to_numpy()
    listing = replace(setup.listing, data=lean)
    rows = []
    for _ in range(reps):
        villages = select_villages(frame, n_villages, gen, size_column, strata=strata,
                                   groups=tuple(quota))
        codes = frame_codes(frame, villages)
        sample = draw_households(listing, villages, codes, quota, gen, fill)
        if variance == "brewer":
            design = SurveyDesign(sample, psu=["village", "_group", "_household"],
                                  strata="stratum" if strata else None, weights="weight",
                                  fpc=["village_prob", 1.0, "household_prob"], pps="brewer")
        else:
            design = SurveyDesign(sample, psu="village", strata="stratum" if strata else None,
                                  weights="weight")
        if domain is not None:
            design = design.subset(sample["_domain"].to_numpy())
        if denominator is not None and method in ("logit", "mean"):
            # The person-level proportion's estimate and linearized SE equal the household
            # ratio's (evalkit.assessment.indicators), so the logit and Wald intervals follow
            # from the ratio without expanding households into people.
            est = design.ratio(outcome, denominator, level=level)
            r, se = np.array([est.estimate]), np.array([est.se])
            ci = tuple(float(b[0]) for b in rate_intervals(r, se, est.df, level, method))
        else:
            if denominator is not None:
                design = people_design(design, outcome, denominator, flag="_affected")
            column = outcome if denominator is None else "_affected"
            est = design.proportion(column, method=method, level=level)
            ci = est.ci
        row = [est.estimate, est.se, ci[0], ci[1]]
        if threshold is not None:
            # The verdict rule (evalkit.survey.decision.decide) on the interval shown.
            row.append(ci[0] > threshold if alternative == "greater" else ci[1] < threshold)
        rows.append(row)
    columns = ["estimate", "se", "ci_low", "ci_high"]
    draws = pd.DataFrame(rows, columns=columns + (["declared"] if threshold is not None else []))
    draws["covered"] = (draws["ci_low"] <= truth) & (truth <= draws["ci_high"])
    return DrawSimulation(draws=draws, truth=truth, level=level)


def simulate_design(
    population: pd.DataFrame,
    frame: pd.DataFrame,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int],
    *,
    reps: int,
    seed: int,
    outcome: str,
    denominator: str | None = None,
    domain: str | None = None,
    level: float = 0.95,
    method: Literal["logit", "mean"] = "logit",
    size_column: str | Sequence[str] | None = None,
    strata: str | None = None,
    fill: bool = False,
    threshold: float | None = None,
    alternative: Literal["greater", "less"] = "greater",
    variance: Literal["brewer", "with_replacement"] = "with_replacement",
    analysis_strata: str | None = None,
) -> DrawSimulation:
    """:func:`simulate_draws` for many replicates at once, as arrays.

    The same design and estimator, without building a sample table per replicate: the
    first stage is systematic PPS for all replicates at once (one random start each); the
    second stage draws, for every village and household group, the sampled households'
    outcome categories from the multivariate hypergeometric distribution (exactly SRS
    without replacement, summarized by category), for all replicates at once; the rate and
    its linearization SE come from the weighted village totals
    (:func:`~evalkit.survey.village_rates.ratio_from_village_totals`, equal to ``SurveyDesign``'s),
    the interval by the ``logit`` or ``mean`` method. Loops run over strata and over the
    frame's villages, never over households or replicates. ``outcome`` and ``denominator``
    must take few distinct values (counts, sizes, 0/1).

    ``variance`` says how each replicate is analysed. ``"brewer"`` analyses it as drawn:
    villages by PPS without replacement, Brewer's approximation with each village's
    ``1 - pi_v``, plus the second stage (households by SRS without replacement within each
    village and group, with its fpc), as ``SurveyDesign(psu=["village", "group",
    "household_id"], fpc=["village_prob", 1, "household_prob"], pps="brewer")`` (R's
    two-stage ``svydesign(..., pps = "brewer")``; the certainty middle stage makes the
    groups second-stage strata). ``"with_replacement"`` (default):
    ``SurveyDesign(psu="village")``, villages as if drawn with replacement, the
    ultimate-cluster estimator. ``analysis_strata``: a frame column (e.g. ``"township"``,
    when the frame is sorted by it and the systematic draw stratifies implicitly) whose
    values are analysed as strata; a stratum that holds one selected village in a replicate
    is centred at zero (``lonely_psu="adjust"``).
    Degrees of freedom are villages minus strata (the analysis strata's count when given).

    Examples
    --------
    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> population = synthetic_population(frame, seed=1)
    >>> sim = simulate_design(population, frame, 30, {"registered": 35, "nonregistered": 35},
    ...                       reps=20, seed=2, outcome="recognizes")
    >>> sim.summary()[["reps", "truth", "coverage"]].round(3)
       reps  truth  coverage
    0    20  0.949       1.0
    """
    if variance not in ("brewer", "with_replacement"):
        raise EvalkitError(f"variance={variance!r}; expected 'brewer' or 'with_replacement'")
    if method not in ("logit", "mean"):
        raise EvalkitError(f"method={method!r}; expected 'logit' or 'mean'")
    setup = _simulation_setup(population, frame, per_village, reps=reps, seed=seed,
                              outcome=outcome, denominator=denominator, domain=domain,
                              level=level, threshold=threshold, alternative=alternative)
    reps, level, threshold = setup.reps, setup.level, setup.threshold
    gen, quota, frame, listing = setup.gen, setup.quota, setup.frame, setup.listing
    d, y, x, truth = setup.in_domain, setup.y, setup.x, setup.truth
    V, G = len(frame), len(quota)

    # First stage for all replicates: inclusion probabilities once, one start per replicate.
    xs, labels, want = first_stage_plan(frame, n_villages, size_column, strata, tuple(quota))
    strata_names = list(want)
    stratum = (np.zeros(V, dtype=np.int64) if labels is None
               else pd.Index(strata_names).get_indexer(labels))
    pi = np.zeros(V)
    selected = np.zeros((reps, V), dtype=bool)
    for h, key in enumerate(strata_names):
        idx = np.flatnonzero(stratum == h)
        pi_h = pps_inclusion_probabilities(xs[idx], want[key])
        pi[idx] = pi_h
        certain = pi_h >= 1.0 - PPS_EPS
        selected[:, idx[certain]] = True
        chain = idx[(pi_h > PPS_EPS) & ~certain]
        n_rest = want[key] - int(certain.sum())
        if n_rest > 0:
            selected[:, chain] = systematic_hits(pi[chain], n_rest, gen.random((reps, 1)))

    listed = np.bincount(listing.village_code, minlength=V)
    missing = (pi > 0) & (listed == 0)
    if missing.any():
        raise EvalkitError(
            f"households: village {frame['village'].iloc[int(np.flatnonzero(missing)[0])]!r} "
            f"can be selected but has no households of the groups {', '.join(quota)} in the "
            "listing")
    # Second stage: cell sizes, quotas and weights per (village, group).
    N = np.zeros((V, G))
    N[listing.village_code, listing.group_code] = listing.cell_size
    k = cell_quotas(N, np.array(list(quota.values()), dtype=float), fill)
    taken = np.minimum(k, N)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_cell = np.where(taken > 0, N / np.where(taken > 0, taken, 1.0), 0.0)
        w_cell = w_cell / np.where(pi > 0, pi, np.inf)[:, None]
    # Households summarized by (village, group, outcome category); domain only matters
    # for the totals, so other households form one zero category.
    cat = pd.DataFrame({"v": listing.village_code, "g": listing.group_code,
                        "y": np.where(d, y, 0.0), "x": np.where(d, x, 0.0)})
    counts = cat.groupby(["v", "g", "y", "x"], sort=True).size().reset_index(name="n")
    cv = counts["v"].to_numpy()
    cg = counts["g"].to_numpy()
    cy = counts["y"].to_numpy()
    cx = counts["x"].to_numpy()
    cn = counts["n"].to_numpy().astype(np.int64)
    full = taken[cv, cg] >= N[cv, cg]
    Y = np.zeros((reps, V))
    X = np.zeros((reps, V))
    # Second-stage variance of the weighted influence values (y - R x) / Xhat, gathered as
    # the three within-cell sums of squares whose combination with R gives it.
    within = np.zeros((3, reps))
    # Cells taken whole: deterministic totals.
    wy = w_cell[cv, cg] * cy * cn
    wx = w_cell[cv, cg] * cx * cn
    Y += np.bincount(cv[full], weights=wy[full], minlength=V)[None, :]
    X += np.bincount(cv[full], weights=wx[full], minlength=V)[None, :]
    # Cells sampled: multivariate hypergeometric counts per category, all replicates at once.
    cell_id = cv * G + cg
    starts = np.flatnonzero(np.concatenate([[True], cell_id[1:] != cell_id[:-1]]))
    ends = np.concatenate([starts[1:], [len(cell_id)]])
    for a, b in zip(starts, ends, strict=True):
        if full[a] or pi[cv[a]] == 0:
            continue
        v, g = cv[a], cg[a]
        if b - a == 1:
            drawn = np.full((reps, 1), int(taken[v, g]))
        else:
            drawn = gen.multivariate_hypergeometric(cn[a:b], int(taken[v, g]), size=reps)
        sum_y, sum_x = drawn @ cy[a:b], drawn @ cx[a:b]
        Y[:, v] += w_cell[v, g] * sum_y
        X[:, v] += w_cell[v, g] * sum_x
        n_cell = taken[v, g]
        if variance == "brewer" and n_cell > 1:
            # pi_v (1 - f) n / (n - 1) w^2 times the cell's centred sums of squares.
            factor = (pi[v] * (1.0 - n_cell / N[v, g]) * n_cell / (n_cell - 1)
                      * w_cell[v, g] ** 2) * selected[:, v]
            within[0] += factor * (drawn @ cy[a:b] ** 2 - sum_y ** 2 / n_cell)
            within[1] += factor * (drawn @ (cy[a:b] * cx[a:b]) - sum_x * sum_y / n_cell)
            within[2] += factor * (drawn @ cx[a:b] ** 2 - sum_x ** 2 / n_cell)

    if analysis_strata is not None:
        require_columns(frame, [analysis_strata], "frame")
        groups, analysis_names = pd.factorize(
            pd.Series(list(zip(stratum, frame[analysis_strata].astype(str), strict=True))))
        analysis_stratum, n_analysis = groups.astype(np.int64), len(analysis_names)
    else:
        analysis_stratum, n_analysis = stratum, len(strata_names)
    village_fpc = 1.0 - pi if variance == "brewer" else None
    r, se = ratio_from_village_totals(Y, X, selected, analysis_stratum, n_analysis,
                                      village_fpc)
    if variance == "brewer":
        x_total = (X * selected).sum(axis=1)
        second = (within[0] - 2 * r * within[1] + r ** 2 * within[2]) / x_total ** 2
        se = np.sqrt(se ** 2 + np.maximum(second, 0.0))
    df = int(sum(want.values())) - n_analysis
    low, high = rate_intervals(r, se, df, level, method)
    draws = pd.DataFrame({"estimate": r, "se": se, "ci_low": low, "ci_high": high,
                          "numerator_total": (Y * selected).sum(axis=1),
                          "denominator_total": (X * selected).sum(axis=1)})
    if threshold is not None:
        # The verdict rule (evalkit.survey.decision.decide) on the interval shown.
        draws["declared"] = low > threshold if alternative == "greater" else high < threshold
    draws["covered"] = (draws["ci_low"] <= truth) & (truth <= draws["ci_high"])
    return DrawSimulation(draws=draws, truth=truth, level=level)
