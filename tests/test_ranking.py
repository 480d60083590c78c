"""Confidence sets for ranks (evalkit.survey.ranking): coverage by simulation and the limits."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.contract.errors import EvalkitError
from evalkit.survey.ranking import rank_confidence_sets


def _true_ranks(theta: np.ndarray) -> np.ndarray:
    return 1 + (theta[None, :] > theta[:, None]).sum(axis=1)


def test_point_rank_is_one_for_the_largest_and_in_input_order() -> None:
    out = rank_confidence_sets([0.1, 0.5, 0.3, 0.5], [0.01] * 4)
    assert out["rank"].tolist() == [4, 1, 3, 1]
    assert out["estimate"].tolist() == [0.1, 0.5, 0.3, 0.5]


def test_tiny_standard_errors_give_point_sets() -> None:
    theta = np.array([0.03, 0.01, 0.05, 0.02, 0.04])
    for simultaneous in (True, False):
        out = rank_confidence_sets(theta, np.full(5, 1e-6), simultaneous=simultaneous)
        assert out["rank"].tolist() == [3, 5, 1, 4, 2]
        assert (out["rank_low"] == out["rank"]).all()
        assert (out["rank_high"] == out["rank"]).all()


def test_huge_standard_errors_span_every_rank() -> None:
    theta = np.array([0.03, 0.01, 0.05, 0.02, 0.04])
    for simultaneous in (True, False):
        out = rank_confidence_sets(theta, np.full(5, 10.0), simultaneous=simultaneous)
        assert (out["rank_low"] == 1).all()
        assert (out["rank_high"] == 5).all()


def test_zero_standard_errors_are_exact() -> None:
    out = rank_confidence_sets([2.0, 1.0, 2.0], [0.0, 0.0, 0.0])
    assert out["rank_low"].tolist() == [1, 3, 1]
    assert out["rank_high"].tolist() == [2, 3, 2]


def test_seeded_and_marginal_sets_are_no_wider_than_simultaneous() -> None:
    rng = np.random.default_rng(3)
    theta = rng.normal(0, 1, 30)
    se = rng.uniform(0.2, 0.6, 30)
    a = rank_confidence_sets(theta, se, seed=7)
    b = rank_confidence_sets(theta, se, seed=7)
    assert a.equals(b)
    marginal = rank_confidence_sets(theta, se, simultaneous=False, seed=7)
    assert (marginal["rank_low"] >= a["rank_low"]).all()
    assert (marginal["rank_high"] <= a["rank_high"]).all()
    single = rank_confidence_sets(theta, se, seed=7, stepdown=False)
    assert (a["rank_low"] >= single["rank_low"]).all()
    assert (a["rank_high"] <= single["rank_high"]).all()
    assert (a["rank_low"] <= a["rank"]).all() and (a["rank"] <= a["rank_high"]).all()


def test_diagonal_covariance_matrix_equals_standard_errors() -> None:
    theta = np.array([0.3, 0.1, 0.2, 0.25])
    se = np.array([0.02, 0.05, 0.01, 0.03])
    a = rank_confidence_sets(theta, se, seed=1)
    b = rank_confidence_sets(theta, np.diag(se**2), seed=1)
    assert a[["rank_low", "rank_high"]].equals(b[["rank_low", "rank_high"]])


@pytest.mark.parametrize("simultaneous", [True, False])
def test_coverage_by_simulation_at_least_nominal(simultaneous: bool) -> None:
    # Ten counties whose true values are close relative to their standard errors, so the
    # sets are neither points nor everything: coverage is then a real test.
    rng = np.random.default_rng(20231)
    theta = np.array([0.0, 0.05, 0.1, 0.1, 0.3, 0.35, 0.6, 0.62, 0.9, 1.2])
    se = np.array([0.08, 0.1, 0.05, 0.12, 0.1, 0.07, 0.1, 0.06, 0.15, 0.1])
    truth = _true_ranks(theta)
    reps = 200
    joint = np.empty(reps, dtype=bool)
    each = np.empty((reps, theta.size), dtype=bool)
    widths = np.empty(reps)
    for r in range(reps):
        est = theta + se * rng.standard_normal(theta.size)
        out = rank_confidence_sets(est, se, level=0.9, simultaneous=simultaneous, seed=r,
                                   draws=500)
        hit = (out["rank_low"].to_numpy() <= truth) & (truth <= out["rank_high"].to_numpy())
        each[r] = hit
        joint[r] = hit.all()
        widths[r] = (out["rank_high"] - out["rank_low"]).mean()
    if simultaneous:
        assert joint.mean() >= 0.9
    else:
        assert each.mean(axis=0).min() >= 0.9
    # Informative: on average far from "every rank" (width 9) and from points.
    assert 0.5 < widths.mean() < 6


def test_bad_input_is_one_line() -> None:
    with pytest.raises(EvalkitError, match="finite"):
        rank_confidence_sets([0.1, float("nan")], [0.1, 0.1])
    with pytest.raises(EvalkitError, match="standard errors"):
        rank_confidence_sets([0.1, 0.2], [0.1])
    with pytest.raises(EvalkitError, match="level"):
        rank_confidence_sets([0.1, 0.2], [0.1, 0.1], level=1.5)


def test_large_province_is_vectorized_and_fast() -> None:
    import time

    rng = np.random.default_rng(0)
    theta = rng.normal(0.02, 0.01, 200)
    se = rng.uniform(0.001, 0.003, 200)
    t0 = time.perf_counter()
    out = rank_confidence_sets(theta, se, draws=500)
    assert time.perf_counter() - t0 < 30
    assert 0 < (out["rank_high"] - out["rank_low"]).mean() < 199
    assert (out["rank_low"] <= out["rank"]).all() and (out["rank"] <= out["rank_high"]).all()


def _step_down_by_the_definition(theta: np.ndarray, se: np.ndarray, simultaneous: bool,
                                 seed: int, draws: int, level: float = 0.95
                                 ) -> tuple[np.ndarray, np.ndarray]:
    """The step-down written straight from the paper: every step recomputes every draw's
    maximum over the hypotheses still under test (no reuse of the previous step)."""
    p = theta.size
    s = np.sqrt(se[:, None] ** 2 + se[None, :] ** 2)
    t_obs = (theta[None, :] - theta[:, None]) / s
    z = np.random.default_rng(seed).standard_normal((draws, p)) @ np.diag(se)
    stats = (z[:, None, :] - z[:, :, None]) / s  # stats[r, j, k] = (Z_k - Z_j) / s_jk
    off = ~np.eye(p, dtype=bool)
    up, down = off.copy(), off.copy()
    surely_up, surely_down = np.zeros((p, p), bool), np.zeros((p, p), bool)
    while True:
        up_max = np.where(up, stats, -np.inf).max(axis=2)
        down_max = np.where(down, -stats, -np.inf).max(axis=2)
        if simultaneous:
            crit = np.quantile(up_max.max(axis=1), level, method="higher")
            new_up, new_down = up & (t_obs > crit), np.zeros_like(up)
        else:
            both = np.maximum(up_max, down_max)
            crit = np.quantile(np.where(np.isfinite(both), both, -np.inf), level, axis=0,
                               method="higher")[:, None]
            new_up, new_down = up & (t_obs > crit), down & (-t_obs > crit)
        surely_up |= new_up
        surely_down |= new_down
        up &= ~new_up
        down &= ~new_down
        if not (new_up.any() or new_down.any()):
            break
    if simultaneous:
        return surely_up.sum(axis=1) + 1, p - surely_up.sum(axis=0)
    return surely_up.sum(axis=1) + 1, p - surely_down.sum(axis=1)


@pytest.mark.parametrize("simultaneous", [True, False])
@pytest.mark.parametrize("seed", [0, 11, 2024])
def test_step_down_reusing_maxima_equals_the_definition(simultaneous: bool, seed: int) -> None:
    """The step-down keeps each simulated maximum with its pair and recomputes only those
    whose pair was rejected; the sets must be those of recomputing everything each step."""
    rng = np.random.default_rng(seed)
    p = 14
    theta = np.sort(rng.uniform(0.0, 0.06, p))
    se = rng.uniform(0.002, 0.008, p)
    out = rank_confidence_sets(theta, se, simultaneous=simultaneous, seed=seed, draws=800)
    low, high = _step_down_by_the_definition(theta, se, simultaneous, seed, 800)
    assert out["rank_low"].tolist() == low.tolist()
    assert out["rank_high"].tolist() == high.tolist()
    # the case exercises the step-down: sets strictly inside 1..p, more than one step
    assert (out["rank_high"] - out["rank_low"] < p - 1).any()
