"""The one ratio linearization (evalkit.survey.variance.ratio_influence) and its users."""

import numpy as np
import pandas as pd
import pytest

from evalkit.survey.design import SurveyDesign
from evalkit.survey.variance import ratio_influence
from evalkit.survey.village_rates import ratio_from_village_totals


def test_ratio_influence_by_hand():
    # X = 1*2 + 2*2 + 1*4 = 10 (row 3 outside the domain), Y = 1 + 4 + 3 = 8, R = 0.8.
    y = np.array([1.0, 2.0, 5.0, 3.0])
    x = np.array([2.0, 2.0, 1.0, 4.0])
    w = np.array([1.0, 2.0, 1.0, 1.0])
    domain = np.array([True, True, False, True])
    ratio, z, total = ratio_influence(y, x, domain, w)
    assert float(total) == 10.0
    assert float(ratio) == pytest.approx(0.8)
    np.testing.assert_allclose(z, [-0.06, 0.04, 0.0, -0.02], atol=1e-15)
    assert float(np.sum(w * z)) == pytest.approx(0.0, abs=1e-15)  # influence values centre


def test_ratio_influence_columns_are_domains():
    rng = np.random.default_rng(7)
    n = 200
    y = rng.poisson(1.0, n).astype(float)
    x = y + rng.poisson(3.0, n)
    w = rng.uniform(1, 5, n)
    domains = rng.random((n, 3)) < 0.5
    ratio, z, total = ratio_influence(y, x, domains, w)
    for j in range(3):
        r_j, z_j, t_j = ratio_influence(y, x, domains[:, j], w)
        assert ratio[j] == pytest.approx(float(r_j), rel=1e-13)
        assert total[j] == pytest.approx(float(t_j), rel=1e-13)
        np.testing.assert_allclose(z[:, j], z_j, rtol=1e-12, atol=1e-18)
        assert np.all(z[~domains[:, j], j] == 0)


def test_design_ratio_and_mean_use_the_influence_values():
    rng = np.random.default_rng(3)
    n = 300
    data = pd.DataFrame({"village": rng.integers(0, 20, n), "w": rng.uniform(1, 4, n),
                         "size": rng.integers(1, 7, n)})
    data["y"] = rng.binomial(data["size"], 0.1)
    design = SurveyDesign(data, psu="village", weights="w")
    w, y, x = data["w"].to_numpy(), data["y"].to_numpy(float), data["size"].to_numpy(float)
    everyone = np.ones(n, dtype=bool)
    ratio, z, _ = ratio_influence(y, x, everyone, w)
    est = design.ratio("y", "size")
    assert est.estimate == float(ratio)
    assert est.se == pytest.approx(np.sqrt(design.variance_of_totals(w * z)[0, 0]), rel=1e-14)
    mean, z_mean, population = ratio_influence(y, np.ones(n), everyone, w)
    assert float(population) == pytest.approx(w.sum())
    m = design.mean("y")
    assert m.estimate == float(mean)
    assert m.se == pytest.approx(np.sqrt(design.variance_of_totals(w * z_mean)[0, 0]),
                                 rel=1e-14)


def test_village_totals_are_the_same_ratio():
    rng = np.random.default_rng(11)
    yw = rng.poisson(3, (4, 12)).astype(float)
    xw = yw + rng.poisson(20, (4, 12))
    selected = rng.random((4, 12)) < 0.7
    r, _ = ratio_from_village_totals(yw, xw, selected, np.zeros(12, dtype=int), 1)
    for rep in range(4):
        expected, _, _ = ratio_influence(yw[rep], xw[rep], selected[rep])
        assert r[rep] == pytest.approx(float(expected), rel=1e-14)


def test_zero_denominator_is_a_one_line_error():
    data = pd.DataFrame({"village": [1, 1, 2, 2], "y": [0, 0, 0, 0], "x": [0, 0, 0, 0]})
    with pytest.raises(Exception, match="weighted total of 'x' is zero"):
        SurveyDesign(data, psu="village").ratio("y", "x")
