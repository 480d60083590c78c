"""Tests for evalkit.sampling.plan: sample size, allocation, PPS, the two-stage draw, checks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evalkit.contract.errors import EvalkitError
from evalkit.sampling import (
    FIELD_LIST_COLUMNS,
    allocate,
    allocate_household_types,
    ceil_tolerant,
    draw_two_stage,
    expected_sample,
    field_list,
    frame_profile,
    household_factor,
    household_listing,
    plan_sample,
    pps_inclusion_probabilities,
    pps_systematic,
    sample_size_grid,
    sample_size_proportion,
    sample_size_ratio,
    select_households,
    select_villages,
    simulate_design,
    simulate_draws,
    synthetic_population,
    village_probabilities,
    village_summary,
    weight_totals,
)
from evalkit.survey.design import SurveyDesign
from evalkit.survey.village_rates import rate_intervals, ratio_from_village_totals

QUOTA = {"registered": 6, "nonregistered": 6}


def make_frame(n: int = 40, seed: int = 11) -> pd.DataFrame:
    g = np.random.default_rng(seed)
    ex = g.integers(3, 60, n)
    ne = g.integers(0, 20, n)
    nr = g.integers(20, 200, n)
    return pd.DataFrame({
        "township": [f"T{i % 4}" for i in range(n)],
        "village": [f"V{i:03d}" for i in range(n)],
        "village_type": np.where(ex > 30, "poor", "nonpoor"),
        "hh_exited": ex, "people_exited": ex * 3 + g.integers(0, 5, n),
        "hh_not_exited": ne, "people_not_exited": ne * 3,
        "hh_nonregistered": nr, "people_nonregistered": nr * 3 + 1,
    })


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_frame()


@pytest.fixture(scope="module")
def population(frame: pd.DataFrame) -> pd.DataFrame:
    pop = synthetic_population(frame, 5, wrong_exit_rate=0.1, recognition_rate=0.85, icc=0.05)
    # Identifiers a real listing may carry; they must never reach a sample or field list.
    pop["name"] = "Zhang San"
    pop["phone"] = "13800000000"
    pop["id_number"] = "110101199001011234"
    return pop


# --- sample size ------------------------------------------------------------------------
def test_cochran_worked_example() -> None:
    s = sample_size_proportion(0.5, 0.05)
    assert s.z == pytest.approx(1.959963984540054)
    assert s.n0 == pytest.approx(384.14588206941244)
    assert int(s) == 385
    assert s.n_final == 385
    assert range(s)[-1] == 384  # usable as an integer


def test_level_changes_z() -> None:
    s = sample_size_proportion(0.5, 0.05, level=0.90)
    assert s.z == pytest.approx(stats.norm.ppf(0.95))
    assert int(s) == math.ceil(stats.norm.ppf(0.95) ** 2 * 0.25 / 0.0025)  # 271
    assert int(s) == 271


def test_finite_population_and_deff() -> None:
    assert int(sample_size_proportion(0.5, 0.05, population=1000)) == 278
    s = sample_size_proportion(0.5, 0.05, deff=2.0)
    assert s.n1 == pytest.approx(2 * 384.14588206941244)
    assert int(s) == 769
    # deff from ICC and households per village, then population, then response rate
    s = sample_size_proportion(0.029, 0.01, icc=0.05, cluster_size=70, population=20000,
                               response_rate=0.95)
    assert s.deff == pytest.approx(1 + 69 * 0.05)
    n0 = 1.959963984540054 ** 2 * 0.029 * 0.971 / 0.01 ** 2
    n1 = n0 * 4.45
    n2 = n1 / (1 + (n1 - 1) / 20000)
    assert s.n0 == pytest.approx(n0)
    assert s.n2 == pytest.approx(n2)
    assert int(s) == math.ceil(n2 / 0.95)
    steps = s.steps()
    assert steps["value"].iloc[-1] == int(s)


def test_required_n_for_wrong_exit_plus_minus_one_point() -> None:
    # The default plan: 2.9% +/- 1 point, ICC 0.05, 70 households per village, 95% response.
    s = sample_size_proportion(0.029, 0.01, icc=0.05, cluster_size=70, response_rate=0.95)
    assert s.n0 == pytest.approx(1081.716, abs=1e-3)
    assert int(s) == 5067


def test_relative_margin() -> None:
    a = sample_size_proportion(0.2, 0.1, relative=True)
    b = sample_size_proportion(0.2, 0.02)
    assert a.margin == pytest.approx(0.02)
    assert a.n_final == b.n_final


def test_ceil_tolerates_floating_error() -> None:
    assert ceil_tolerant(100.00000000000001) == 100
    assert ceil_tolerant(100.0000001) == 101
    assert ceil_tolerant(384.146) == 385
    n0 = sample_size_proportion(0.5, 0.05).n0
    assert int(sample_size_proportion(0.5, 0.05, deff=100 / n0)) == 100


def test_people_level_ratio() -> None:
    base = sample_size_proportion(0.029, 0.01)
    # whole households judged, equal sizes: same households as a household proportion
    same = sample_size_ratio(0.029, 0.01, mean_household_size=3.2)
    assert same.n0 == pytest.approx(base.n0)
    # people judged independently: the people-level n0 spread over households of 4
    indep = sample_size_ratio(0.029, 0.01, mean_household_size=4, household_icc=0.0)
    assert indep.n0 == pytest.approx(base.n0 / 4)
    # Kish cluster effect on people divided by the mean size
    assert household_factor(4, 0.0, 0.3) == pytest.approx((1 + 3 * 0.3) / 4)
    # unequal sizes: 1 + CV^2
    assert household_factor(3.2, 0.5, 1.0) == pytest.approx(1.25)
    s = sample_size_ratio(0.029, 0.01, 3.2, cv_household_size=0.5, icc=0.05, cluster_size=20)
    assert s.n0 == pytest.approx(base.n0 * 1.25)
    assert s.deff == pytest.approx(1.95)
    assert s.unit_factor == pytest.approx(1.25)


def test_people_level_formula_by_simulation() -> None:
    # Var of sum(y)/sum(x) under SRS of households matches p(1-p)/n * household_factor.
    g = np.random.default_rng(3)
    n, reps, p = 200, 20000, 0.1
    x = 1 + g.poisson(2.3, size=(reps, n))
    b = g.random((reps, n)) < p
    r = (x * b).sum(1) / x.sum(1)
    cv = math.sqrt(2.3) / 3.3
    predicted = p * (1 - p) / n * household_factor(3.3, cv, 1.0)
    assert r.var() == pytest.approx(predicted, rel=0.05)


def test_sample_size_grid() -> None:
    g = sample_size_grid(0.029, [0.01, 0.02], [0.0, 0.05], cluster_size=70)
    assert list(g.columns) == ["margin", "icc", "deff", "households"]
    assert len(g) == 4
    assert g.loc[(g.margin == 0.01) & (g.icc == 0.0), "households"].item() == 1082
    assert g["households"].is_monotonic_decreasing is False  # varies both ways
    wide = g.loc[g.margin == 0.02, "households"].to_numpy()
    narrow = g.loc[g.margin == 0.01, "households"].to_numpy()
    assert np.all(narrow > wide)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"p": 0.5, "margin": 0}, "margin"),
        ({"p": 0.5, "margin": -0.01}, "margin"),
        ({"p": 0.5, "margin": 0.05, "level": 1.5}, "level"),
        ({"p": 0.5, "margin": 0.05, "level": 0}, "level"),
        ({"p": 0.5, "margin": 0.05, "response_rate": 0}, "response_rate"),
        ({"p": 0.5, "margin": 0.05, "population": 0}, "population"),
        ({"p": 0.0, "margin": 0.05}, "p"),
        ({"p": 0.5, "margin": 0.05, "icc": 0.05}, "icc"),
        ({"p": 0.5, "margin": 0.05, "icc": 1.5, "cluster_size": 10}, "icc"),
        ({"p": 0.5, "margin": 0.05, "deff": 0}, "deff"),
        ({"p": 0.5, "margin": float("nan")}, "margin"),
    ],
)
def test_bad_sample_size_settings(kwargs: dict, name: str) -> None:
    with pytest.raises(EvalkitError) as err:
        sample_size_proportion(**kwargs)
    message = str(err.value)
    assert name in message
    assert "\n" not in message


# --- allocation -------------------------------------------------------------------------
def test_proportional_allocation_exact() -> None:
    a = allocate(10, {"a": 100, "b": 50, "c": 5}, floor=2)
    assert a.to_dict() == {"a": 5, "b": 3, "c": 2}
    assert allocate(30, {"a": 100, "b": 100, "c": 100}).tolist() == [10, 10, 10]
    # ties go to the earlier stratum, deterministically
    assert allocate(4, {"a": 10, "b": 10, "c": 10}).tolist() == [2, 1, 1]


def test_neyman_and_equal_allocation() -> None:
    a = allocate(100, {"a": 100, "b": 50, "c": 5}, "neyman",
                 sds={"a": 0.1, "b": 0.5, "c": 0.5})
    # N*S = 10, 25, 2.5: b capped at its 50 units, c at its 5, a takes the rest
    assert a.to_dict() == {"a": 45, "b": 50, "c": 5}
    a = allocate(20, {"a": 1000, "b": 1000}, "neyman", sds={"a": 0.1, "b": 0.3})
    assert a.to_dict() == {"a": 5, "b": 15}
    assert allocate(9, {"a": 100, "b": 50, "c": 5}, "equal").to_dict() == {
        "a": 3, "b": 3, "c": 3}
    assert allocate(12, {"a": 100, "b": 50, "c": 2}, "equal").to_dict() == {
        "a": 5, "b": 5, "c": 2}


def test_allocation_invariants_random() -> None:
    g = np.random.default_rng(1)
    for _ in range(300):
        H = int(g.integers(1, 9))
        sizes = pd.Series(g.integers(1, 60, H).astype(float), index=[f"s{i}" for i in range(H)])
        floor = int(g.integers(0, 4))
        lo = np.minimum(floor, sizes.to_numpy())
        n = int(g.integers(max(1, int(lo.sum())), int(sizes.sum()) + 1))
        method = ["proportional", "neyman", "equal"][int(g.integers(0, 3))]
        sds = pd.Series(g.uniform(0.1, 1, H), index=sizes.index)
        a = allocate(n, sizes, method, sds=sds, floor=floor)
        assert a.sum() == n
        assert np.all(a.to_numpy() <= sizes.to_numpy())
        assert np.all(a.to_numpy() >= lo)


def test_allocation_capacity_separate_from_size() -> None:
    # villages allocated by households, capped by the villages each stratum has
    a = allocate(10, {"a": 5000, "b": 1000}, capacity={"a": 6, "b": 20}, floor=2)
    assert a.to_dict() == {"a": 6, "b": 4}


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: allocate(10, {"a": 10, "b": 0}), "'b'"),
        (lambda: allocate(100, {"a": 10, "b": 20}), "n=100"),
        (lambda: allocate(3, {"a": 10, "b": 20}, floor=2), "floor=2"),
        (lambda: allocate(3, {"a": 10, "b": 20}, "neyman"), "sds"),
        (lambda: allocate(3, {"a": 10, "b": 20}, "optimal"), "method"),
        (lambda: allocate(0, {"a": 10}), "n=0"),
        (lambda: allocate(3, {"a": -1, "b": 20}), "sizes"),
    ],
)
def test_bad_allocation(call, name: str) -> None:
    with pytest.raises(EvalkitError, match=name):
        call()


def test_household_types() -> None:
    assert allocate_household_types(70) == {"registered": 35, "nonregistered": 35}
    assert allocate_household_types(69) == {"registered": 35, "nonregistered": 34}
    assert allocate_household_types(10, {"exited": 0.3, "not_exited": 0.2,
                                          "nonregistered": 0.5}) == {
        "exited": 3, "not_exited": 2, "nonregistered": 5}
    with pytest.raises(EvalkitError, match="overlap"):
        allocate_household_types(10, {"registered": 0.5, "exited": 0.5})
    with pytest.raises(EvalkitError, match="sum"):
        allocate_household_types(10, {"registered": 0.5, "nonregistered": 0.4})


# --- PPS --------------------------------------------------------------------------------
def test_inclusion_probabilities_hand_example() -> None:
    # 3*x/160 gives 1.875 for 100 -> certain; 2*x/60 gives 1.667 for 50 -> certain;
    # the rest share 1: x/10.
    pi = pps_inclusion_probabilities([1, 2, 3, 4, 50, 100], 3)
    np.testing.assert_allclose(pi, [0.1, 0.2, 0.3, 0.4, 1.0, 1.0], rtol=0, atol=1e-15)


def test_inclusion_probabilities_r_example() -> None:
    # R: inclusionprobabilities(1:20, 12): 18, 19, 20 exceed 1; then 17 reaches exactly 1
    # (9 * 17 / 153); the rest are 8 * k / 136.
    pi = pps_inclusion_probabilities(np.arange(1, 21), 12)
    expected = np.concatenate([8 * np.arange(1, 17) / 136, np.ones(4)])
    np.testing.assert_allclose(pi, expected, rtol=1e-15)
    assert pi.sum() == pytest.approx(12)


def test_inclusion_probabilities_plain_and_zero() -> None:
    pi = pps_inclusion_probabilities([0, 10, 20, 30, 40], 2)
    np.testing.assert_allclose(pi, [0, 0.2, 0.4, 0.6, 0.8])
    np.testing.assert_allclose(pps_inclusion_probabilities([5, 5, 0], 2), [1, 1, 0])


def test_inclusion_probabilities_errors() -> None:
    with pytest.raises(EvalkitError, match=r"n=4 exceeds the 3 units"):
        pps_inclusion_probabilities([0, 1, 2, 3], 4)
    with pytest.raises(EvalkitError, match=r"sizes\[1\]"):
        pps_inclusion_probabilities([1, -2, 3], 1)


def test_pps_systematic_frequencies_match_pi() -> None:
    sizes = np.array([1, 2, 3, 4, 5, 8, 13, 21, 34, 80, 0], dtype=float)
    n, reps = 4, 20000
    pi = pps_inclusion_probabilities(sizes, n)
    gen = np.random.default_rng(7)
    counts = np.zeros(len(sizes))
    for _ in range(reps):
        s = pps_systematic(sizes, n, gen)
        assert len(s.index) == n
        counts[s.index] += 1
    freq = counts / reps
    tol = 4 * np.sqrt(pi * (1 - pi) / reps) + 1e-12
    assert np.all(np.abs(freq - pi) <= tol)
    assert counts[-1] == 0
    assert counts[9] == reps  # the certainty unit


def test_pps_systematic_reproducible_and_orders() -> None:
    sizes = np.arange(1, 31, dtype=float)
    a = pps_systematic(sizes, 7, 123)
    b = pps_systematic(sizes, 7, 123)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_allclose(a.pi, pps_inclusion_probabilities(sizes, 7)[a.index])
    for order in ("size", "random", np.arange(30)[::-1]):
        s = pps_systematic(sizes, 7, 5, order=order)
        assert len(s.index) == 7
        assert np.all(np.diff(s.index) > 0)
    with pytest.raises(EvalkitError, match="order"):
        pps_systematic(sizes, 7, 5, order="alphabetical")


# --- the two-stage draw -----------------------------------------------------------------
def test_listing_matches_frame(frame: pd.DataFrame) -> None:
    listing = household_listing(frame, 1)
    counts = listing.groupby(["village", "household_type"]).size().unstack(fill_value=0)
    counts = counts.reindex(frame["village"]).fillna(0)
    np.testing.assert_array_equal(counts["exited"].to_numpy(), frame["hh_exited"].to_numpy())
    np.testing.assert_array_equal(counts["nonregistered"].to_numpy(),
                                  frame["hh_nonregistered"].to_numpy())
    people = listing.groupby(["village", "household_type"])["household_size"].sum()
    people = people.unstack(fill_value=0).reindex(frame["village"]).fillna(0)
    np.testing.assert_array_equal(people["exited"].to_numpy(), frame["people_exited"].to_numpy())
    assert listing["household_id"].is_unique


def test_draw_structure(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    s = draw_two_stage(frame, population, 10, QUOTA, seed=1)
    assert s["village"].nunique() == 10
    for col in ("township", "village", "household_id", "household_type", "village_prob",
                "household_prob", "incl_prob", "weight"):
        assert col in s.columns
    for col in ("name", "phone", "id_number"):
        assert col not in s.columns
    # within each village and group: min(k, N) households, household_prob = min(k, N) / N
    pop = population.assign(group=np.where(population["household_type"] == "nonregistered",
                                           "nonregistered", "registered"))
    N = pop.groupby(["village", "group"]).size()
    s = s.assign(group=np.where(s["household_type"] == "nonregistered",
                                "nonregistered", "registered"))
    got = s.groupby(["village", "group"]).size()
    expected = np.minimum(6, N.reindex(got.index).to_numpy())
    np.testing.assert_array_equal(got.to_numpy(), expected)
    hp = s.groupby(["village", "group"])["household_prob"].first()
    np.testing.assert_allclose(hp.to_numpy(), expected / N.reindex(got.index).to_numpy())
    np.testing.assert_allclose(s["weight"], 1 / (s["village_prob"] * s["household_prob"]))
    # village probabilities are the PPS ones on total households
    size = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum(axis=1)
    pi = pd.Series(pps_inclusion_probabilities(size, 10), index=frame["village"])
    vp = s.groupby("village")["village_prob"].first()
    np.testing.assert_allclose(vp.to_numpy(), pi.reindex(vp.index).to_numpy())


def test_draw_reproducible(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    a = draw_two_stage(frame, population, 10, QUOTA, seed=42)
    b = draw_two_stage(frame, population.sample(frac=1.0, random_state=3), 10, QUOTA, seed=42)
    pd.testing.assert_frame_equal(a, b)  # the listing's row order does not matter
    c = draw_two_stage(frame, population, 10, QUOTA, seed=43)
    assert not a["household_id"].equals(c["household_id"])


def test_weights_sum_to_frame_total_each_draw(frame: pd.DataFrame,
                                              population: pd.DataFrame) -> None:
    total = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].to_numpy().sum()
    for seed in range(5):
        s = draw_two_stage(frame, population, 10, QUOTA, seed=seed)
        assert s["weight"].sum() == pytest.approx(total, rel=1e-12)
        table = weight_totals(s, frame)
        assert table.loc[table.household_type == "all", "relative_difference"].abs().item() < 1e-12


def test_weights_unbiased_by_type(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    # Horvitz-Thompson: E[sum of weights of type t] = households of type t in the frame.
    reps = 200
    gen = np.random.default_rng(9)
    totals = np.empty((reps, 3))
    for r in range(reps):
        s = draw_two_stage(frame, population, 10, QUOTA, seed=gen)
        w = s.groupby("household_type")["weight"].sum()
        totals[r] = w.reindex(["exited", "not_exited", "nonregistered"]).fillna(0).to_numpy()
    truth = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum().to_numpy()
    mc = totals.std(axis=0, ddof=1) / math.sqrt(reps)
    assert np.all(np.abs(totals.mean(axis=0) - truth) < 4 * mc)


def test_first_stage_frequencies(frame: pd.DataFrame) -> None:
    reps = 800
    gen = np.random.default_rng(2)
    counts = pd.Series(0.0, index=frame["village"])
    for _ in range(reps):
        v = select_villages(frame, 10, gen)
        counts[v["village"].to_numpy()] += 1
    size = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum(axis=1)
    pi = pps_inclusion_probabilities(size, 10)
    tol = 4 * np.sqrt(pi * (1 - pi) / reps) + 1e-12
    assert np.all(np.abs(counts.to_numpy() / reps - pi) <= tol)


def test_two_calls_equal_one(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    gen = np.random.default_rng(4)
    v = select_villages(frame, 8, gen)
    s = select_households(v, population, frame, QUOTA, gen)
    t = draw_two_stage(frame, population, 8, QUOTA, seed=np.random.default_rng(4))
    pd.testing.assert_frame_equal(s, t)


def test_stratified_draw(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    s = draw_two_stage(frame, population, {"T0": 3, "T1": 2, "T2": 2, "T3": 3}, QUOTA,
                       seed=3, strata="township")
    assert s.groupby("stratum")["village"].nunique().to_dict() == {
        "T0": 3, "T1": 2, "T2": 2, "T3": 3}
    assert (s["stratum"] == s["township"]).all()
    s = draw_two_stage(frame, population, 9, QUOTA, seed=3, strata="township")
    assert s["village"].nunique() == 9
    assert s.groupby("stratum")["village"].nunique().min() >= 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_villages": 41}, "n_villages=41 exceeds the 40 villages"),
        ({"n_villages": 0}, "n_villages"),
        ({"n_villages": {"T0": 2, "T9": 2, "T1": 2, "T2": 2, "T3": 2}, "strata": "township"},
         "stratum 'T9' has no villages"),
        ({"n_villages": {"T0": 2}, "strata": "township"}, "no entry for stratum"),
        ({"n_villages": {"T0": 11, "T1": 2, "T2": 2, "T3": 2}, "strata": "township"},
         r"n_villages\['T0'\]=11 exceeds"),
        ({"per_village": {"registered": 5, "poor": 5}}, "unknown household group 'poor'"),
        ({"per_village": {"registered": 5, "exited": 5}}, "overlap"),
        ({"per_village": {"registered": 0}}, "per_village"),
        ({"size_column": "no_such_column"}, "no_such_column"),
    ],
)
def test_bad_draw_settings(frame: pd.DataFrame, population: pd.DataFrame, kwargs: dict,
                           message: str) -> None:
    args = {"n_villages": 10, "per_village": QUOTA, "seed": 1} | kwargs
    with pytest.raises(EvalkitError, match=message) as err:
        draw_two_stage(frame, population, **args)
    assert "\n" not in str(err.value)


def test_listing_problems(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    bad = population.copy()
    bad.loc[3, "village"] = "Nowhere"
    with pytest.raises(EvalkitError, match=r"row 4, column 'village': 'Nowhere'"):
        draw_two_stage(frame, bad, 10, QUOTA, seed=1)
    bad = population.copy()
    bad.loc[5, "household_type"] = "rich"
    with pytest.raises(EvalkitError, match="household_type"):
        draw_two_stage(frame, bad, 10, QUOTA, seed=1)
    partial = population[population["village"] != "V010"]
    gen = np.random.default_rng(0)
    villages = select_villages(frame, 40, gen)
    with pytest.raises(EvalkitError, match="'V010' has no households"):
        select_households(villages, partial, frame, QUOTA, gen)
    zh = population.copy()
    zh["household_type"] = zh["household_type"].map(
        {"exited": "已脱贫", "not_exited": "未脱贫户", "nonregistered": "非建档立卡户"})
    a = draw_two_stage(frame, zh, 10, QUOTA, seed=8)
    b = draw_two_stage(frame, population, 10, QUOTA, seed=8)
    pd.testing.assert_frame_equal(a, b)


def test_field_list(tmp_path, frame: pd.DataFrame, population: pd.DataFrame) -> None:
    s = draw_two_stage(frame, population, 10, QUOTA, seed=1)
    s["name"] = "Li Si"  # even if someone adds it back
    csv_path, xlsx_path = field_list(s, tmp_path / "out" / "field_list.csv")
    assert csv_path.name == "field_list.csv" and xlsx_path.name == "field_list.xlsx"
    raw = csv_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so Excel reads UTF-8
    for needle in (b"Li Si", b"Zhang", b"1380000", b"110101"):
        assert needle not in raw
    back = pd.read_csv(csv_path, encoding="utf-8-sig")
    assert tuple(back.columns) == FIELD_LIST_COLUMNS
    assert len(back) == len(s)
    assert set(back["household_id"]) == set(s["household_id"])
    xl = pd.read_excel(xlsx_path)
    assert tuple(xl.columns) == FIELD_LIST_COLUMNS
    assert len(xl) == len(s)
    _, xlsx_zh = field_list(s, tmp_path / "zh", lang="zh")
    zh = pd.read_excel(xlsx_zh)
    assert list(zh.columns) == ["乡镇", "村", "户编号", "户类型"]  # all Chinese for people
    assert set(zh["户类型"]) <= {"已脱贫", "未脱贫", "非建档立卡"}


# --- checking the design by simulation --------------------------------------------------
def test_repeated_draws_unbiased_with_nominal_coverage(frame: pd.DataFrame,
                                                       population: pd.DataFrame) -> None:
    sim = simulate_draws(population, frame, 12, {"registered": 10, "nonregistered": 10},
                         reps=200, seed=2, outcome="recognizes")
    assert abs(sim.bias) < 4 * sim.bias_mc_se
    assert abs(sim.coverage - 0.95) < 4 * sim.coverage_mc_se
    # the estimated SE tracks the spread of the estimates
    summary = sim.summary()
    assert summary["mean_se"].item() == pytest.approx(summary["sd_estimate"].item(), rel=0.25)
    truth = population["recognizes"].mean()
    assert sim.truth == pytest.approx(truth)


def test_repeated_draws_people_level_ratio(frame: pd.DataFrame,
                                           population: pd.DataFrame) -> None:
    sim = simulate_draws(population, frame, 12, {"registered": 10, "nonregistered": 10},
                         reps=200, seed=3, outcome="people_wrongly_exited",
                         denominator="household_size", domain="exited")
    exited = population[population["household_type"] == "exited"]
    assert sim.truth == pytest.approx(exited["people_wrongly_exited"].sum()
                                      / exited["household_size"].sum())
    assert abs(sim.bias) < 4 * sim.bias_mc_se
    assert abs(sim.coverage - 0.95) < 4 * sim.coverage_mc_se
    again = simulate_draws(population, frame, 12, {"registered": 10, "nonregistered": 10},
                           reps=5, seed=3, outcome="people_wrongly_exited",
                           denominator="household_size", domain="exited")
    pd.testing.assert_frame_equal(again.draws, sim.draws.iloc[:5])


# --- fill, expectations, plan ---------------------------------------------------------------
def test_fill_tops_up_from_the_other_group(frame: pd.DataFrame,
                                           population: pd.DataFrame) -> None:
    quota = {"registered": 40, "nonregistered": 40}
    s = draw_two_stage(frame, population, 10, quota, seed=4, fill=True)
    per_village = s.groupby("village").size()
    assert (per_village == 80).all()  # every village here has more than 80 households
    reg = population["household_type"] != "nonregistered"
    n_reg = population[reg].groupby("village").size()
    got_reg = s[s["household_type"] != "nonregistered"].groupby("village").size()
    np.testing.assert_array_equal(got_reg.to_numpy(),
                                  np.minimum(40, n_reg.reindex(got_reg.index).to_numpy()))
    # the top-up is part of the known second-stage probability
    nonreg = s[s["household_type"] == "nonregistered"]
    n_non = population[~reg].groupby("village").size().reindex(nonreg["village"]).to_numpy()
    k = 80 - np.minimum(40, n_reg.reindex(nonreg["village"]).to_numpy())
    np.testing.assert_allclose(nonreg["household_prob"].to_numpy(), k / n_non)
    total = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].to_numpy().sum()
    assert s["weight"].sum() == pytest.approx(total, rel=0.3)


def test_expected_sample_matches_draws(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    quota = {"registered": 40, "nonregistered": 40}
    for fill in (False, True):
        exp = expected_sample(frame, 10, quota, fill=fill).set_index("household_type")
        reps = 150
        gen = np.random.default_rng(12)
        counts = np.zeros((reps, 3))
        for r in range(reps):
            s = draw_two_stage(frame, population, 10, quota, seed=gen, fill=fill)
            counts[r] = s["household_type"].value_counts().reindex(
                ["exited", "not_exited", "nonregistered"]).fillna(0).to_numpy()
        mean = counts.mean(axis=0)
        mc = counts.std(axis=0, ddof=1) / math.sqrt(reps)
        expected = exp.loc[["exited", "not_exited", "nonregistered"], "households"].to_numpy()
        assert np.all(np.abs(mean - expected) < 4 * mc + 1e-9), (fill, mean, expected)
    size = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum(axis=1).to_numpy()
    pi = pps_inclusion_probabilities(size, 10)
    assert exp.loc["all", "households"] == pytest.approx((pi * np.minimum(80, size)).sum())


def test_village_probabilities_and_profile(frame: pd.DataFrame) -> None:
    size = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum(axis=1)
    np.testing.assert_allclose(village_probabilities(frame, 10),
                               pps_inclusion_probabilities(size, 10))
    pi = village_probabilities(frame, {"T0": 3, "T1": 2, "T2": 2, "T3": 3}, strata="township")
    assert pi.sum() == pytest.approx(10)
    prof = frame_profile(frame).set_index("household_type")
    assert prof.loc["all", "households"] == size.sum()
    assert prof.loc["registered", "people"] == (frame["people_exited"].sum()
                                                + frame["people_not_exited"].sum())
    assert prof.loc["exited", "mean_size"] == pytest.approx(
        frame["people_exited"].sum() / frame["hh_exited"].sum())


def test_village_summary(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    s = draw_two_stage(frame, population, 10, QUOTA, seed=1)
    v = village_summary(s)
    assert len(v) == 10
    assert v["households"].sum() == len(s)
    assert (v[["exited", "not_exited", "nonregistered"]].sum(axis=1) == v["households"]).all()
    assert (v["weight_min"] <= v["weight_max"]).all()


def test_plan_sample(frame: pd.DataFrame) -> None:
    plan = plan_sample(frame, expected_rate=0.029, margin=0.01, level=0.95, icc=0.05,
                       households_per_village=70, response_rate=0.95, n_villages=10,
                       household_sizes=[1, 2, 3, 4, 5], fill=True)
    assert plan.household.n_final == 5067
    exp = expected_sample(frame, 10, {"registered": 35, "nonregistered": 35},
                          fill=True).set_index("household_type")
    assert plan.exited_per_village == pytest.approx(exp.loc["exited", "per_village_mean"])
    assert plan.exited.deff == pytest.approx(1 + (plan.exited_per_village - 1) * 0.05)
    assert plan.exited.unit_factor == pytest.approx(1 + 2 / 9)  # sizes 1..5: CV^2 = 2 / 9
    assert plan.households_needed == math.ceil(plan.exited.n_final / plan.exited_fraction)
    # villages deliver what they hold, so fewer than 70 households each on average
    per_village = exp.loc["all", "per_village_mean"]
    assert per_village < 70
    assert plan.villages_needed == math.ceil(plan.households_needed / per_village)
    table = plan.table()
    assert table["value"].notna().all()
    with pytest.raises(EvalkitError, match="no exited households"):
        plan_sample(frame, expected_rate=0.029, margin=0.01, level=0.95, icc=0.05,
                    households_per_village=70, response_rate=0.95, n_villages=10,
                    per_village={"nonregistered": 70})


def test_synthetic_population_hits_the_rates(frame: pd.DataFrame) -> None:
    pop = synthetic_population(frame, 3, wrong_exit_rate=0.029, recognition_rate=0.9486)
    exited = pop[pop["household_type"] == "exited"]
    rate = exited["people_wrongly_exited"].sum() / exited["household_size"].sum()
    assert abs(rate - 0.029) <= exited["household_size"].max() / exited["household_size"].sum()
    assert abs(pop["recognizes"].mean() - 0.9486) <= 1 / len(pop)
    assert (pop.loc[pop["household_type"] != "exited", "people_wrongly_exited"] == 0).all()
    wrong = exited["people_wrongly_exited"] > 0
    assert (exited.loc[wrong, "people_wrongly_exited"]
            == exited.loc[wrong, "household_size"]).all()


# --- the array simulation ---------------------------------------------------------------
def _village_totals(sample: pd.DataFrame, y: np.ndarray, x: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes, villages = pd.factorize(sample["village"], sort=True)
    w = sample["weight"].to_numpy()
    yw = np.bincount(codes, weights=w * y, minlength=len(villages))[None, :]
    xw = np.bincount(codes, weights=w * x, minlength=len(villages))[None, :]
    return yw, xw, villages


def test_array_estimator_equals_survey_design(frame: pd.DataFrame,
                                              population: pd.DataFrame) -> None:
    s = draw_two_stage(frame, population, 12, QUOTA, seed=6, fill=True)
    exited = (s["household_type"] == "exited").to_numpy()
    y = np.where(exited, s["people_wrongly_exited"], 0).astype(float)
    x = np.where(exited, s["household_size"], 0).astype(float)
    yw, xw, villages = _village_totals(s, y, x)
    sel = np.ones_like(yw, dtype=bool)
    r, se = ratio_from_village_totals(yw, xw, sel, np.zeros(len(villages), dtype=int), 1)
    est = SurveyDesign(s, psu="village", weights="weight").subset(exited).ratio(
        "people_wrongly_exited", "household_size")
    assert r[0] == pytest.approx(est.estimate, rel=1e-12)
    assert se[0] == pytest.approx(est.se, rel=1e-10)
    # household proportion with its logit interval
    rec = s["recognizes"].to_numpy(dtype=float)
    yw, xw, _ = _village_totals(s, rec, np.ones(len(s)))
    r, se = ratio_from_village_totals(yw, xw, sel, np.zeros(len(villages), dtype=int), 1)
    p = SurveyDesign(s, psu="village", weights="weight").proportion("recognizes",
                                                                   method="logit")
    assert r[0] == pytest.approx(p.estimate, rel=1e-12)
    assert se[0] == pytest.approx(p.se, rel=1e-10)
    low, high = rate_intervals(r, se, p.df, 0.95, "logit")
    assert (low[0], high[0]) == pytest.approx(p.ci, rel=1e-9)
    # stratified: variance pooled within strata as SurveyDesign does
    st = draw_two_stage(frame, population, {"T0": 3, "T1": 3, "T2": 3, "T3": 3}, QUOTA,
                        seed=6, strata="township")
    rec = st["recognizes"].to_numpy(dtype=float)
    yw, xw, villages = _village_totals(st, rec, np.ones(len(st)))
    stratum_of = st.groupby("village")["stratum"].first().reindex(villages)
    codes = pd.Index(["T0", "T1", "T2", "T3"]).get_indexer(stratum_of)
    r, se = ratio_from_village_totals(yw, xw, np.ones_like(yw, dtype=bool), codes, 4)
    p = SurveyDesign(st, psu="village", strata="stratum", weights="weight").mean("recognizes")
    assert r[0] == pytest.approx(p.estimate, rel=1e-12)
    assert se[0] == pytest.approx(p.se, rel=1e-10)


def test_array_simulation_unbiased_totals_and_coverage(frame: pd.DataFrame,
                                                       population: pd.DataFrame) -> None:
    sim = simulate_design(population, frame, 12, QUOTA, reps=4000, seed=7,
                          outcome="people_wrongly_exited", denominator="household_size",
                          domain="exited", fill=True, threshold=0.05)
    exited = population[population["household_type"] == "exited"]
    d = sim.draws
    for column, truth in (("numerator_total", exited["people_wrongly_exited"].sum()),
                          ("denominator_total", exited["household_size"].sum())):
        mc = d[column].std(ddof=1) / math.sqrt(len(d))
        assert abs(d[column].mean() - truth) < 4 * mc  # Horvitz-Thompson: exactly unbiased
    # the ratio's own bias is of order 1/n and small against its spread
    assert abs(sim.summary()["bias_ratio"].item()) < 0.1
    assert abs(sim.coverage - 0.95) < 0.03
    assert 0 < sim.power < 1
    again = simulate_design(population, frame, 12, QUOTA, reps=50, seed=7,
                            outcome="people_wrongly_exited", denominator="household_size",
                            domain="exited", fill=True, threshold=0.05)
    twice = simulate_design(population, frame, 12, QUOTA, reps=50, seed=7,
                            outcome="people_wrongly_exited", denominator="household_size",
                            domain="exited", fill=True, threshold=0.05)
    pd.testing.assert_frame_equal(again.draws, twice.draws)


def test_array_simulation_agrees_with_survey_design_loop(frame: pd.DataFrame,
                                                         population: pd.DataFrame) -> None:
    args = dict(outcome="recognizes", fill=True, threshold=0.9, alternative="less")
    fast = simulate_design(population, frame, 12, QUOTA, reps=3000, seed=1, **args)
    slow = simulate_draws(population, frame, 12, QUOTA, reps=300, seed=2, **args)
    assert fast.truth == pytest.approx(slow.truth)
    se = math.sqrt(fast.draws["estimate"].var() / 3000 + slow.draws["estimate"].var() / 300)
    assert abs(fast.mean_estimate - slow.mean_estimate) < 4 * se
    assert fast.draws["estimate"].std() == pytest.approx(slow.draws["estimate"].std(), rel=0.2)
    assert fast.draws["se"].mean() == pytest.approx(slow.draws["se"].mean(), rel=0.1)
    p = 0.5 * (fast.power + slow.power)
    assert abs(fast.power - slow.power) < 4 * math.sqrt(p * (1 - p) * (1 / 3000 + 1 / 300)) + 0.01


def test_array_simulation_stratified(frame: pd.DataFrame, population: pd.DataFrame) -> None:
    sim = simulate_design(population, frame, {"T0": 3, "T1": 3, "T2": 3, "T3": 3}, QUOTA,
                          reps=3000, seed=3, outcome="recognizes", strata="township")
    d = sim.draws
    assert abs(sim.bias) < 4 * sim.bias_mc_se + 1e-3
    assert abs(sim.coverage - 0.95) < 0.04
    assert d["denominator_total"].mean() == pytest.approx(len(population), rel=0.01)


def test_design_options(frame: pd.DataFrame) -> None:
    from evalkit.sampling.plan import design_options
    from evalkit.sampling.power import power_analytic, villages_for_power

    table = design_options(frame, [20, 60], n_villages=10, true_rate=0.1, threshold=0.05,
                           icc=0.05)
    assert list(table["households_per_village"]) == [20, 60]
    exp = expected_sample(frame, 10, {"registered": 30, "nonregistered": 30},
                          fill=True).set_index("household_type")
    row = table.iloc[1]
    assert row["exited_per_village"] == pytest.approx(exp.loc["exited", "per_village_mean"])
    assert row["power_with_10_villages"] == pytest.approx(
        power_analytic(0.1, 0.05, 10, row["exited_per_village"], 0.05))
    assert row["villages_for_80pct_power"] == villages_for_power(
        0.1, 0.05, row["exited_per_village"], 0.05)
    assert row["within_frame"] == (row["villages_for_80pct_power"] <= len(frame))
    # more households per village: more exited households, more power
    assert table["exited_per_village"].is_monotonic_increasing
    assert table["power_with_10_villages"].is_monotonic_increasing


@pytest.mark.parametrize("variance", ["brewer", "with_replacement"])
def test_array_simulation_analyses_the_draw_as_survey_design_does(
        frame: pd.DataFrame, population: pd.DataFrame, variance: str) -> None:
    """The batched SE (two-stage Brewer: villages 1 - pi_v, households with their fpc; or
    with replacement) has the mean of SurveyDesign's over draws (SurveyDesign(psu=[village,
    group, household], fpc=[village_prob, 1, household_prob], pps="brewer") for Brewer),
    and Brewer's is below the with-replacement SE."""
    args = dict(outcome="people_wrongly_exited", denominator="household_size",
                domain="exited", fill=True, variance=variance)
    fast = simulate_design(population, frame, 12, QUOTA, reps=3000, seed=1, **args)
    slow = simulate_draws(population, frame, 12, QUOTA, reps=300, seed=2, **args)
    assert fast.draws["se"].mean() == pytest.approx(slow.draws["se"].mean(), rel=0.05)
    if variance == "brewer":
        wr = simulate_design(population, frame, 12, QUOTA, reps=3000, seed=1,
                             **{**args, "variance": "with_replacement"})
        # the same draws (same seed); the fpc of both stages makes the SE smaller on average
        np.testing.assert_allclose(fast.draws["estimate"], wr.draws["estimate"])
        assert fast.draws["se"].mean() < wr.draws["se"].mean()


def test_array_simulation_with_analysis_strata_centres_lonely_strata(
        frame: pd.DataFrame, population: pd.DataFrame) -> None:
    sim = simulate_design(population, frame, 6, QUOTA, reps=400, seed=4, outcome="recognizes",
                          variance="brewer", analysis_strata="township")
    assert np.isfinite(sim.draws["se"]).all() and (sim.draws["se"] > 0).all()
    with pytest.raises(EvalkitError, match="variance='exact'; expected 'brewer' or"):
        simulate_design(population, frame, 6, QUOTA, reps=2, seed=4, outcome="recognizes",
                        variance="exact")
