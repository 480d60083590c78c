"""Tests for evalkit.sampling.power: analytic and simulated power of the exit decisions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from evalkit.contract.errors import EvalkitError
from evalkit.sampling.power import (
    SEED_EXITED_SHARE,
    design_se,
    power_analytic,
    power_curve,
    power_simulated,
    seed_sample_power,
    villages_for_power,
)


def test_design_se_formula() -> None:
    se = design_se(0.029, 29, 22, 0.05)
    assert se == pytest.approx(math.sqrt(0.029 * 0.971 / (29 * 22) * (1 + 21 * 0.05)))
    # household sizes: 1 + CV^2 on the household term; a mean of 3.2 means CV^2 = 2.2/3.2^2
    se = design_se(0.029, 29, 22, 0.05, household_sizes=3.2)
    cv2 = 2.2 / 3.2 ** 2
    assert se == pytest.approx(math.sqrt(0.029 * 0.971 / (29 * 22) * (1 + cv2 + 21 * 0.05)))
    sizes = np.array([1, 2, 3, 4, 5, 6])
    se = design_se(0.1, 10, 5, 0.0, household_sizes=sizes)
    cv2 = sizes.var() / sizes.mean() ** 2
    assert se == pytest.approx(math.sqrt(0.09 / 50 * (1 + cv2)))


def test_design_se_matches_simulated_spread() -> None:
    # The model's variance, checked against the spread of simulated ratio estimates.
    g = np.random.default_rng(5)
    reps, n, m, rho, p = 20000, 29, 22, 0.05, 0.03
    s = (1 - rho) / rho
    pv = g.beta(p * s, (1 - p) * s, size=(reps, n))
    sizes = 1 + g.poisson(2.3, size=(reps, n, m))
    judged = g.random((reps, n, m)) < pv[:, :, None]
    est = (sizes * judged).sum(axis=(1, 2)) / sizes.sum(axis=(1, 2))
    assert est.std() == pytest.approx(design_se(p, n, m, rho, household_sizes=3.3), rel=0.03)


def test_power_at_threshold_is_alpha() -> None:
    for method in ("logit", "mean"):
        a = power_analytic(0.3, 0.3, 40, 30, 0.02, method=method)
        assert a == pytest.approx(0.05, abs=0.004)
    a = power_analytic(0.5, 0.5, 40, 30, 0.02, alpha=0.025)
    assert a == pytest.approx(0.025, abs=0.003)


def test_power_monotone_in_true_rate() -> None:
    rates = np.linspace(0.021, 0.08, 25)
    p = power_analytic(rates, 0.02, 29, 22, 0.05)
    assert np.all(np.diff(p) > 0)
    sim = power_simulated([0.02, 0.03, 0.045, 0.07], 0.02, 29, 22, 0.05, reps=3000, seed=1)
    assert np.all(np.diff(sim.power) > 0)
    below = power_analytic(np.linspace(0.80, 0.89, 10), 0.9, 29, 69, 0.05, alternative="less")
    assert np.all(np.diff(below) < 0)


def test_power_monotone_in_sample_size() -> None:
    by_villages = [power_analytic(0.029, 0.02, n, 22, 0.05) for n in (10, 20, 29, 60, 120)]
    assert np.all(np.diff(by_villages) > 0)
    by_households = [power_analytic(0.029, 0.02, 29, m, 0.05) for m in (5, 10, 22, 50, 100)]
    assert np.all(np.diff(by_households) > 0)
    sims = [power_simulated(0.035, 0.02, n, 22, 0.05, reps=3000, seed=2).power[0]
            for n in (15, 29, 60)]
    assert np.all(np.diff(sims) > 0)
    # clustering costs power
    assert power_analytic(0.029, 0.02, 29, 22, 0.0) > power_analytic(0.029, 0.02, 29, 22, 0.1)


@pytest.mark.parametrize("method", ["logit", "mean"])
def test_analytic_agrees_with_simulation_for_common_rates(method: str) -> None:
    rates = [0.28, 0.30, 0.32]
    curve = power_curve(rates, 0.25, 40, 30, 0.02, reps=20000, seed=3, method=method)
    diff = (curve["analytic"] - curve["simulated"]).abs()
    assert np.all(diff <= 4 * curve["mc_se"] + 1e-3), curve


def test_analytic_close_to_simulation_for_rare_events() -> None:
    # The seed design: skewness of rare-event counts leaves a gap of about 0.02-0.03.
    rates = [0.025, 0.029, 0.035, 0.045]
    curve = power_curve(rates, 0.02, 29, 22, 0.05, reps=8000, seed=4)
    assert np.all((curve["analytic"] - curve["simulated"]).abs() < 0.04), curve
    curve = power_curve([0.85, 0.87], 0.9, 29, 69, 0.05, reps=8000, seed=4, alternative="less")
    assert np.all((curve["analytic"] - curve["simulated"]).abs() < 0.03), curve


def test_people_level_simulation_agrees() -> None:
    sizes = np.array([1, 2, 2, 3, 3, 3, 4, 4, 5, 6])
    curve = power_curve([0.3], 0.25, 30, 20, 0.02, reps=10000, seed=6,
                        household_sizes=sizes)
    assert abs(curve["analytic"].item() - curve["simulated"].item()) < 4 * curve[
        "mc_se"].item() + 2e-3
    # unequal sizes lose power against a household-level indicator of the same rate
    assert curve["analytic"].item() < power_analytic(0.3, 0.25, 30, 20, 0.02)


def test_less_is_the_mirror_of_greater() -> None:
    a = power_analytic([0.85, 0.87], 0.9, 29, 69, 0.05, alternative="less")
    b = power_analytic([0.15, 0.13], 0.1, 29, 69, 0.05, alternative="greater")
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_wald_bound_is_conservative_for_rare_events() -> None:
    sim_logit = power_simulated(0.029, 0.02, 29, 22, 0.05, reps=5000, seed=7)
    sim_wald = power_simulated(0.029, 0.02, 29, 22, 0.05, reps=5000, seed=7, method="mean")
    assert sim_wald.power[0] < sim_logit.power[0]
    at_threshold = power_simulated(0.02, 0.02, 29, 22, 0.05, reps=5000, seed=7, method="mean")
    assert at_threshold.power[0] < 0.05


def test_simulation_reproducible() -> None:
    a = power_simulated([0.03, 0.04], 0.02, 29, 22, 0.05, reps=500, seed=11,
                        household_sizes=3.3)
    b = power_simulated([0.03, 0.04], 0.02, 29, 22, 0.05, reps=500, seed=11,
                        household_sizes=3.3)
    np.testing.assert_array_equal(a.power, b.power)
    assert a.mc_se[0] == pytest.approx(math.sqrt(a.power[0] * (1 - a.power[0]) / 500))


def test_simulation_blocks_do_not_change_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    import evalkit.sampling.power as power

    big = power_simulated(0.03, 0.02, 29, 22, 0.05, reps=300, seed=2, household_sizes=3.3)
    monkeypatch.setattr(power, "_BLOCK", 29 * 22 * 7)  # forces blocks of 7 replicates
    small = power_simulated(0.03, 0.02, 29, 22, 0.05, reps=300, seed=2, household_sizes=3.3)
    # different block sizes consume the generator differently; both estimate the same power
    assert abs(big.power[0] - small.power[0]) < 4 * math.sqrt(0.2 * 0.8 / 300) * math.sqrt(2)


def test_seed_sample_power() -> None:
    power = seed_sample_power()
    m = 2000 / 29 * 0.5 * SEED_EXITED_SHARE
    assert power == pytest.approx(power_analytic(0.029, 0.02, 29, m, 0.05))
    assert 0.1 < power < 0.5  # the seed sample could not reliably tell 2.9% from 2%
    simulated = seed_sample_power(reps=4000, seed=1)
    assert abs(simulated - power) < 0.04
    assert seed_sample_power(n_households=8000) > power
    assert seed_sample_power(true_rate=0.05) > 0.8


def test_villages_for_power() -> None:
    n = villages_for_power(0.029, 0.02, 22, 0.05, power=0.8)
    assert power_analytic(0.029, 0.02, n, 22, 0.05) >= 0.8
    assert power_analytic(0.029, 0.02, n - 1, 22, 0.05) < 0.8
    with pytest.raises(EvalkitError, match="not reached"):
        villages_for_power(0.019, 0.02, 22, 0.05)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 0.7}, "alpha"),
        ({"n_villages": 1}, "n_villages"),
        ({"true_rate": 0.0}, "true_rate"),
        ({"threshold": 1.0}, "threshold"),
        ({"icc": -0.1}, "icc"),
        ({"households_per_village": 0}, "households_per_village"),
        ({"method": "wilson"}, "method"),
        ({"alternative": "two-sided"}, "alternative"),
        ({"household_sizes": 0.5}, "household_sizes"),
    ],
)
def test_bad_power_settings(kwargs: dict, name: str) -> None:
    args = {"true_rate": 0.029, "threshold": 0.02, "n_villages": 29,
            "households_per_village": 22, "icc": 0.05} | kwargs
    with pytest.raises(EvalkitError, match=name) as err:
        power_analytic(**args)
    assert "\n" not in str(err.value)


def test_simulation_needs_whole_households_and_seed() -> None:
    with pytest.raises(EvalkitError, match="whole number"):
        power_simulated(0.03, 0.02, 29, 22.5, 0.05, seed=1)
    with pytest.raises(EvalkitError, match="seed"):
        power_curve([0.03], 0.02, 29, 22, 0.05, reps=10)


def test_few_villages_t_reference() -> None:
    # With 5 villages the t quantile (df = 4) and the randomness of the estimated SE matter;
    # the analytic integration models both and agrees with the simulation, which applies
    # the assessment's t-based bound directly. A normal bound would claim far more power.
    curve = power_curve([0.30, 0.32], 0.25, 5, 200, 0.02, reps=20000, seed=8)
    diff = (curve["analytic"] - curve["simulated"]).abs()
    assert np.all(diff <= 4 * curve["mc_se"] + 1e-3), curve
    se = design_se(np.array([0.30, 0.32]), 5, 200, 0.02)
    normal = stats.norm.cdf((np.array([0.30, 0.32]) - 0.25) / se - stats.norm.ppf(0.95))
    assert np.all(normal - curve["simulated"].to_numpy() > 0.05)


def test_seed_power_with_frame_based_exited_count() -> None:
    assert seed_sample_power(exited_per_village=12.0) == pytest.approx(
        power_analytic(0.029, 0.02, 29, 12.0, 0.05))
    assert seed_sample_power(exited_per_village=12.0) < seed_sample_power()


def test_bound_method_and_figure() -> None:
    from evalkit.report.plots import figure_png
    from evalkit.sampling.power import bound_method, plot_power_curve

    assert bound_method("mean") == "mean"
    for m in ("logit", "beta", "likelihood", "asin", "xlogit"):
        assert bound_method(m) == "logit"
    curve = power_curve([0.02, 0.03, 0.04], 0.02, 29, 12, 0.05, reps=200, seed=1)
    fig = plot_power_curve(curve, 0.02, title="wrong-exit", xlabel="true rate", mark=0.029)
    ax = fig.axes[0]
    assert ax.get_title() == "wrong-exit"
    assert len(ax.lines) >= 4  # analytic curve, threshold, mark, target
    png = figure_png(fig)
    assert png.startswith(b"\x89PNG")


def test_rate_grid() -> None:
    from evalkit.sampling.power import rate_grid

    g = rate_grid(0.02)
    assert g[0] == pytest.approx(0.01) and g[-1] == pytest.approx(0.06)
    assert 0.02 in g
    g = rate_grid(0.9, "less")
    assert g.min() == pytest.approx(0.75) and g.max() == pytest.approx(0.9375)
    assert np.all((g > 0) & (g < 1))
    with pytest.raises(EvalkitError, match="alternative"):
        rate_grid(0.5, "both")


def test_zero_variance_replicate_at_threshold_is_not_declared() -> None:
    # Every village at exactly 9 of 10: estimate 0.9 with SE 0. The bound is the estimate
    # itself, so "below 0.9" and "above 0.9" are both false (logit rounding once made the
    # upper bound 0.8999999999999999 and declared it below).
    from evalkit.sampling.power import declared

    y = np.full((1, 8), 9.0)
    x = np.full((1, 8), 10.0)
    for alternative in ("less", "greater"):
        for method in ("logit", "mean"):
            assert not declared(y, x, 0.9, 7, 0.05, alternative, method)[0]
    assert declared(y, x, 0.95, 7, 0.05, "less", "logit")[0]
    assert declared(y, x, 0.85, 7, 0.05, "greater", "logit")[0]
