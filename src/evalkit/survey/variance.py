"""The variance machinery of a design: its sampling stages, one stage's contribution to the
covariance of totals (R's ``svyrecvar``), degrees of freedom and the SRS variance a design
effect compares with (Lumley 2010, ch. 2), and the linearization of a ratio (or mean) of
totals, :func:`ratio_influence`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from evalkit.survey.estimate import weighted_variance

# R's onestrat treats a stratum whose finite population correction is below this as a
# certainty (self-representing) stratum contributing no variance.
CERTAINTY_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Stage:
    """One sampling stage: units nested in groups (stratum x earlier clusters).

    Examples
    --------
    A stage as :class:`~evalkit.survey.design.SurveyDesign` builds it: four PSUs in one
    stratum, without fpc (factor 1), first stage (weight 1):

    >>> import numpy as np
    >>> stage = Stage(unit=np.array([0, 0, 1, 2, 3]), unit_group=np.zeros(4, dtype=int),
    ...               group_size=np.array([4.0]), group_fpc=np.array([1.0]),
    ...               group_weight=np.array([1.0]), group_parent=np.array([0]))
    >>> stage_variance(stage, np.array([[1.0], [1.0], [4.0], [0.0], [2.0]]), "fail")
    array([[10.66666667]])
    """

    unit: np.ndarray  # code of the sampled unit of each row, 0..n_units-1
    unit_group: np.ndarray  # group code of each unit
    group_size: np.ndarray  # number of sampled units in each group (n_h)
    group_fpc: np.ndarray  # (N_h - n_h) / N_h, or 1 without fpc; under PPS the largest
    # unit factor of the group (below CERTAINTY_TOLERANCE only when every unit is certain)
    group_weight: np.ndarray  # product of earlier sampling fractions n/N (1 at stage 1)
    group_parent: np.ndarray  # parent code of each group (all 0 at stage 1)
    # (N - n) / N of each unit: the group's factor, or under PPS without replacement
    # (Brewer's approximation) the unit's own 1 - pi_i
    unit_fpc: np.ndarray | None = None

    @property
    def unit_factor(self) -> np.ndarray:
        """Finite population correction factor of each unit.

        Examples
        --------
        >>> import numpy as np
        >>> Stage(unit=np.array([0, 1]), unit_group=np.array([0, 0]), group_size=np.array([2.0]),
        ...       group_fpc=np.array([0.8]), group_weight=np.array([1.0]),
        ...       group_parent=np.array([0])).unit_factor.tolist()
        [0.8, 0.8]
        """
        if self.unit_fpc is None:
            return self.group_fpc[self.unit_group]
        return self.unit_fpc


def combine_codes(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """Codes of (parent, child) pairs, so clusters are nested in strata / earlier stages.

    Examples
    --------
    >>> import numpy as np
    >>> combine_codes(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]))
    array([0, 1, 2, 3])
    """
    key = parent.astype(np.int64) * (int(child.max()) + 1) + child
    codes, _ = pd.factorize(key, sort=True)
    return codes.astype(np.int64)


def group_values(row_values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Scatter ``row_values`` (one per row) onto ``n_groups`` groups by ``group``; a group
    with no row keeps 1 (a sampled fraction of 1: no finite population correction).

    Examples
    --------
    >>> import numpy as np
    >>> group_values(np.array([0.5, 0.5, 0.2]), np.array([0, 0, 2]), 3).tolist()
    [0.5, 1.0, 0.2]
    """
    out = np.ones(n_groups)
    out[group] = row_values
    return out


def degrees_of_freedom(psu: np.ndarray, stratum: np.ndarray, domain: np.ndarray) -> int:
    """R's degf: PSUs minus strata among rows with nonzero weight (codes are dense).

    Examples
    --------
    Four PSUs in two strata: 4 - 2 = 2; a domain found in one stratum's two PSUs: 2 - 1 = 1.

    >>> import numpy as np
    >>> psu, stratum = np.array([0, 1, 2, 3]), np.array([0, 0, 1, 1])
    >>> degrees_of_freedom(psu, stratum, np.ones(4, dtype=bool))
    2
    >>> degrees_of_freedom(psu, stratum, np.array([True, True, False, False]))
    1
    """
    psu_present = np.bincount(psu, weights=domain, minlength=1) > 0
    strata_present = np.bincount(stratum, weights=domain, minlength=1) > 0
    return int(psu_present.sum() - strata_present.sum())


def srs_variance_of_total(y: np.ndarray, w: np.ndarray) -> float:
    """Variance of the estimated total of ``y`` under simple random sampling without
    replacement of the same number of units: ``s^2 N^2 (N - n) / (N n)`` with ``N = sum w``
    and ``s^2`` from :func:`~evalkit.survey.estimate.weighted_variance` (the denominator of R's
    ``deff=TRUE``).
    NaN when the weights do not describe a population larger than the sample (R: NA).

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([1.0, 0.0, 0.0, 1.0])
    >>> float(srs_variance_of_total(y, np.full(4, 25.0)))
    800.0
    """
    n = np.count_nonzero(w)
    population = float(np.sum(w))
    if population < n:
        return float("nan")
    return weighted_variance(y, w) * population**2 * (population - n) / (population * n)


def stage_variance(stage: Stage, x: np.ndarray, lonely_psu: str) -> np.ndarray:
    """One stage's contribution to the covariance of the totals of ``x`` (R's ``onestage``).

    With unit totals ``t_hi`` in group ``h`` (``n_h`` units, finite population correction
    ``f_hi``), ``V_h = n_h / (n_h - 1) sum_i f_hi (t_hi - t_h.)(t_hi - t_h.)'``, multiplied
    by the product of earlier sampling fractions (the multistage recursion of R's
    ``svyrecvar``, Lumley 2010 sec. 2.2; Sarndal, Swensson and Wretman 1992 sec. 4.3).
    ``f_hi = (N_h - n_h) / N_h`` for simple random sampling of units; for units drawn with
    probability proportional to size without replacement ``f_hi = 1 - pi_i``, Brewer's
    approximation (Brewer 2002, sec. 9.6; Berger 2004), as R's ``svydesign(fpc = ~pi,
    pps = "brewer")``. Lonely units follow ``lonely_psu`` as R's ``survey.lonely.psu``;
    groups whose every ``f_hi`` is below :data:`CERTAINTY_TOLERANCE` are certainty groups
    (no variance).

    Examples
    --------
    Four PSUs of one stratum with totals 2, 4, 0, 2: ``4/3 (0 + 4 + 4 + 0) = 10.67``:

    >>> import numpy as np
    >>> stage = Stage(unit=np.array([0, 0, 1, 2, 3]), unit_group=np.zeros(4, dtype=int),
    ...               group_size=np.array([4.0]), group_fpc=np.array([1.0]),
    ...               group_weight=np.array([1.0]), group_parent=np.array([0]))
    >>> stage_variance(stage, np.array([[1.0], [1.0], [4.0], [0.0], [2.0]]), "fail").round(4)
    array([[10.6667]])
    """
    n_units = stage.unit_group.size
    n_groups = stage.group_size.size
    k = x.shape[1]
    unit_totals = np.empty((n_units, k))
    for j in range(k):  # k is the number of statistics, not households
        unit_totals[:, j] = np.bincount(stage.unit, weights=x[:, j], minlength=n_units)
    group_sums = np.empty((n_groups, k))
    for j in range(k):
        group_sums[:, j] = np.bincount(
            stage.unit_group, weights=unit_totals[:, j], minlength=n_groups
        )
    group_means = group_sums / stage.group_size[:, None]
    lonely = stage.group_size == 1
    centred = unit_totals - group_means[stage.unit_group]
    if lonely_psu == "adjust":
        # R centres a lonely PSU at zero, the population mean of influence values.
        lonely_units = lonely[stage.unit_group]
        centred[lonely_units] = unit_totals[lonely_units]
    with np.errstate(divide="ignore", invalid="ignore"):
        inflation = np.where(lonely, 1.0, stage.group_size / (stage.group_size - 1))
    group_scale = np.where(stage.group_fpc < CERTAINTY_TOLERANCE, 0.0, inflation)
    group_scale = group_scale * stage.group_weight
    if lonely_psu == "average" and np.any(lonely):
        # R drops lonely strata and rescales by strata / strata-with-a-variance.
        group_scale = np.where(lonely, 0.0, group_scale)
        groups_all = np.bincount(stage.group_parent)
        groups_ok = np.bincount(stage.group_parent, weights=(~lonely).astype(float),
                                minlength=groups_all.size)
        with np.errstate(divide="ignore", invalid="ignore"):
            inflate = groups_all / groups_ok
        group_scale = group_scale * np.nan_to_num(inflate, nan=0.0,
                                                  posinf=0.0)[stage.group_parent]
    unit_scale = group_scale[stage.unit_group] * stage.unit_factor
    scaled = centred * np.sqrt(unit_scale)[:, None]
    return scaled.T @ scaled


class RatioInfluence(NamedTuple):
    """A ratio of weighted domain totals, its influence values and its denominator total.

    Examples
    --------
    >>> import numpy as np
    >>> ratio, influence, total = ratio_influence(np.array([1.0, 3.0]), np.array([2.0, 2.0]),
    ...                                           np.array([True, True]))
    >>> float(ratio), influence, float(total)
    (1.0, array([-0.25,  0.25]), 4.0)
    """

    ratio: np.ndarray  # R_d: 0-d for one domain, (k,) for k domains
    influence: np.ndarray  # z_id, the shape of the domain mask; zero outside the domain
    denominator_total: np.ndarray  # X_d; the caller refuses a zero total (R is then NaN)


def ratio_influence(y: np.ndarray, x: np.ndarray, domain: np.ndarray,
                    weights: np.ndarray | None = None) -> RatioInfluence:
    """Ratio of weighted domain totals and its linearized influence values: the one home of
    the ratio (and mean) linearization of :class:`~evalkit.survey.design.SurveyDesign`,
    :mod:`evalkit.survey.change`, :mod:`evalkit.survey.village_rates` and the incidence of
    :mod:`evalkit.assessment.indicators`.

    With domain indicator ``1_d(i)``, ``X_d = sum_i w_i 1_d(i) x_i`` and
    ``R_d = sum_i w_i 1_d(i) y_i / X_d``, the influence values are
    ``z_id = 1_d(i) (y_i - R_d x_i) / X_d`` (Binder 1983; Woodruff 1971; Lumley 2010,
    sec. 2.3-2.4; R's ``svyratio``), zero outside the domain so the full design is kept. The
    variance of ``R_d`` is that of the total of ``w_i z_id``
    (:meth:`~evalkit.survey.design.SurveyDesign.variance_of_totals`). A (Hajek) mean is the
    ratio with ``x = 1``.

    Units run along axis 0. ``domain`` is ``(n,)`` for one domain or ``(n, k)`` for ``k``
    domains (or replicate samples) at once; ``y``, ``x`` and ``weights`` are ``(n,)`` or
    the domain's shape. ``weights`` None means the values are already weighted (``w = 1``).

    Examples
    --------
    People with a condition over people, two households of weight 10 and one of weight 20;
    the third household is outside the domain:

    >>> import numpy as np
    >>> y, x = np.array([1.0, 0.0, 2.0]), np.array([4.0, 2.0, 5.0])
    >>> result = ratio_influence(y, x, np.array([True, True, False]), np.array([10.0, 10.0, 20.0]))
    >>> float(result.ratio), result.influence.round(4), float(result.denominator_total)
    (0.16666666666666666, array([ 0.0056, -0.0056,  0.    ]), 60.0)
    """
    domain = np.asarray(domain, dtype=bool)
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    w = 1.0 if weights is None else np.asarray(weights, dtype=float)
    if domain.ndim == 2:
        y, x = (v[:, None] if v.ndim == 1 else v for v in (y, x))
        if not isinstance(w, float) and w.ndim == 1:
            w = w[:, None]
    y = np.where(domain, y, 0.0)
    x = np.where(domain, x, 0.0)
    denominator_total = np.sum(w * x, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sum(w * y, axis=0) / denominator_total
        influence = (y - ratio * x) / denominator_total
    return RatioInfluence(ratio, influence, denominator_total)
