"""Fragile samples give explained results, never a crash (issue 10).

Singular or separated bootstrap replicates, zero events, constant covariates, one-answer
outcomes: each gives the estimate where it exists, "not estimable" with a reason where it
does not, and a warning, and the run goes on.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import special

from evalkit import SurveyDesign, plots
from evalkit.decomposition import fairlie
from evalkit.models import _batch_logit

matplotlib.use("Agg")


def _sample(n_villages: int = 30, per_village: int = 30, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    village = np.repeat(np.arange(n_villages), per_village)
    nonpoor = rng.binomial(1, 0.5, n)
    water = np.where(nonpoor == 1, rng.binomial(1, 0.7, n), rng.binomial(1, 0.1, n))
    gap = np.where(rng.random(n) < 0.35, rng.uniform(0, 0.3, n), 0.0) * nonpoor
    dibao = rng.binomial(1, np.where(nonpoor == 1, 0.05, 0.4))
    log_income = rng.normal(9 + 0.3 * nonpoor, 0.5)
    eta = 1.5 - 0.4 * nonpoor - 1.0 * water - 3.0 * gap + 0.1 * (log_income - 9)
    recognizes = rng.binomial(1, special.expit(eta))
    return pd.DataFrame({
        "village": village, "weight": np.repeat(rng.uniform(20, 60, n_villages), per_village),
        "nonpoor": nonpoor, "water_at_door": water, "reimbursement_gap": gap, "dibao": dibao,
        "log_income": log_income, "recognizes": recognizes,
    })


def _one_dissatisfied_on_dibao(frame: pd.DataFrame) -> pd.DataFrame:
    """Every dibao household recognizes but one: most bootstrap draws separate dibao."""
    frame = frame.copy()
    on_dibao = np.flatnonzero(frame["dibao"].to_numpy() == 1)
    frame.loc[on_dibao, "recognizes"] = 1
    frame.loc[on_dibao[0], "recognizes"] = 0
    return frame


def test_batch_logit_marks_a_singular_replicate_as_nan_and_fits_the_others():
    frame = _sample()
    X = np.column_stack([np.ones(len(frame)), frame[["nonpoor", "dibao"]].to_numpy(float)])
    y = frame["recognizes"].to_numpy(float)
    w = frame["weight"].to_numpy(float)
    singular = np.where(frame["dibao"] == 1, 0.0, w)  # dibao is all 0: a zero column
    weights = np.column_stack([w, singular, w * 1.1])
    design = SurveyDesign(frame, psu="village", weights="weight")
    start = design.logit("recognizes ~ nonpoor + dibao").params.to_numpy()
    betas = _batch_logit(X, y, weights, start)
    assert np.all(np.isnan(betas[1]))
    assert np.all(np.isfinite(betas[[0, 2]]))
    # Scaling all weights does not move a weighted MLE.
    np.testing.assert_allclose(betas[0], betas[2], rtol=1e-8)
    np.testing.assert_allclose(betas[0], start, rtol=1e-6)


def test_batch_logit_marks_a_separated_replicate_as_nan():
    frame = _sample()
    X = np.column_stack([np.ones(len(frame)), frame["dibao"].to_numpy(float)])
    y = frame["recognizes"].to_numpy(float)
    y[frame["dibao"].to_numpy() == 1] = 1.0  # dibao households all recognize: separation
    w = frame["weight"].to_numpy(float)
    betas = _batch_logit(X, y, w[:, None], np.zeros(2))
    assert np.all(np.isnan(betas[0]))


def test_fairlie_bootstrap_drops_and_counts_replicates_that_cannot_be_fitted():
    frame = _one_dissatisfied_on_dibao(_sample())
    design = SurveyDesign(frame, psu="village", weights="weight")
    result = fairlie(design, controls=["dibao", "log_income"], replicates=60, seed=3)
    assert 0 < result.failed_replicates < 60
    assert result.replicates is not None
    assert result.replicates.shape[0] == 60 - result.failed_replicates
    assert any("could not refit" in note for note in result.notes)
    table = result.table.set_index("component")
    assert np.isfinite(table.loc["explained", ["estimate", "ci_low", "ci_high"]]).all()
    assert table.loc["explained", "ci_low"] < table.loc["explained", "ci_high"]


def test_fairlie_without_failures_reports_none():
    design = SurveyDesign(_sample(), psu="village", weights="weight")
    result = fairlie(design, controls=["dibao", "log_income"], replicates=30, seed=3)
    assert result.failed_replicates == 0
    assert not any("could not refit" in note for note in result.notes)


def test_forest_plot_draws_zero_width_and_missing_intervals():
    table = pd.DataFrame({
        "label": ["zero events", "not estimable", "rounding"],
        "estimate": [0.0, 0.01, 0.3],
        "ci_low": [0.0, np.nan, 0.3 + 1e-17],
        "ci_high": [0.009, np.nan, 0.3],
        "official": [0.0, 0.01, 0.3],
        "threshold": [0.02, 0.02, 0.02],
        "decision": ["pass", None, "fail"],
    })
    figure = plots.forest_plot(table)
    assert len(figure.axes) == 3
    plots.plt.close(figure)


@pytest.mark.parametrize("low, high", [(np.nan, np.nan), (0.5 + 1e-12, 0.5 - 1e-12)])
def test_xerr_is_never_negative(low, high):
    arms = plots._xerr(0.5, low, high)
    assert min(arms[0][0], arms[1][0]) >= 0
