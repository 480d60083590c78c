"""The survey design object and its linearization variance estimators.

A :class:`SurveyDesign` is made once from the sample (strata, PSUs, weights, fpc) and every
estimator is a method on it, as in R's survey package (Lumley 2010, ch. 2-3). Semantics follow
``survey::svydesign`` / ``svyrecvar`` (survey 4.1-1):

* ``fpc`` is the population count of PSUs in the stratum, or, when every value is below 1, the
  sampling fraction. Without fpc the first stage is treated as drawn with replacement.
* ``pps="brewer"`` with ``fpc`` the column of each PSU's inclusion probability ``pi_i``: PSUs
  drawn with probability proportional to size without replacement, variance by Brewer's
  approximation, each PSU's term weighted by ``1 - pi_i`` instead of the stratum's
  ``(N_h - n_h) / N_h`` (R's ``svydesign(fpc = ~pi, pps = "brewer")``; Brewer 2002, sec. 9.6).
* Variance of an estimated total with stage-1 PSU totals ``t_hi`` of the weighted influence
  values (Binder 1983; Lumley 2010, eq. 2.2)::

      V = sum_h (1 - f_h) * n_h / (n_h - 1) * sum_i (t_hi - tbar_h)^2

  plus, when fpc is given for later stages, the within-PSU terms of the later stages weighted
  by the earlier sampling fractions (the multistage formula of ``survey:::multistage``).
* Degrees of freedom are the number of PSUs minus the number of strata; intervals use
  t quantiles with those degrees of freedom.
* Domains (``by=`` or :meth:`SurveyDesign.subset`) keep the full design: influence values are
  set to zero outside the domain rather than dropping rows, so PSUs and strata with no
  domain members still count (Lumley 2010, sec. 2.3).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import LONELY_PSU_OPTIONS, PPS_METHODS
from evalkit.survey.columns import as_list, column_codes, group_labels, numeric_column, safe_ratio
from evalkit.survey.estimate import Estimate, check_level, t_quantile
from evalkit.survey.fpc import stratum_fpc, unit_pps_fpc
from evalkit.survey.variance import (
    CERTAINTY_TOLERANCE,
    Stage,
    combine_codes,
    degrees_of_freedom,
    group_values,
    ratio_influence,
    srs_variance_of_total,
    stage_variance,
)

LonelyPSU = Literal["fail", "adjust", "certainty", "remove", "average"]
PPSVariance = Literal["brewer"]


@dataclass(frozen=True)
class SurveyDesign:
    """A complex survey design: strata, clusters (PSUs and later stages), weights and fpc.

    Parameters
    ----------
    data:
        The sample, one row per observation (household).
    psu:
        Column of the primary sampling unit (village), or a list of columns for a multistage
        design (``["village", "household_id"]``). ``None``: every row is its own PSU.
    strata:
        Column of the first-stage strata, or ``None``.
    weights:
        Column of sampling weights (inverse inclusion probabilities). When ``None``,
        ``probs`` gives them, else they follow from ``fpc`` (``N_h / n_h`` per stage), else 1.
    probs:
        Column of inclusion probabilities, used when ``weights`` is ``None``.
    fpc:
        Finite population correction per stage: a column (or list, one per stage) holding the
        population count of units in the stratum, or sampling fractions below 1.
        ``None``: sampling with replacement at the first stage (no later-stage terms).
    lonely_psu:
        What to do with a stratum holding a single PSU, as R's ``survey.lonely.psu``:
        ``"fail"`` (default, error), ``"adjust"`` (centre it at zero, i.e. the population
        mean of the influence values), ``"certainty"`` and ``"remove"`` (no contribution),
        ``"average"`` (the average variance of the other strata).
    pps:
        ``"brewer"``: units drawn with probability proportional to size without
        replacement; ``fpc`` holds each unit's inclusion probability. Brewer's
        approximation ``V = sum_h n_h / (n_h - 1) sum_i (1 - pi_i) (t_hi - t_h.)^2``, as
        R's ``svydesign(fpc = ~pi, pps = "brewer")`` (Brewer 2002, sec. 9.6; Lumley 2010,
        sec. 3.2). ``None`` (default): fpc, if any, is one per stratum.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"stratum": ["A"] * 4 + ["B"] * 4, "village": list("aabbccdd"),
    ...                      "weight": [10.0] * 4 + [20.0] * 4, "poor": [1, 0, 1, 1, 0, 0, 1, 0]})
    >>> design = SurveyDesign(data, psu="village", strata="stratum", weights="weight")
    >>> mean = design.mean("poor")  # R: svymean(~poor, svydesign(id=~village, ...))
    >>> round(mean.estimate, 4), round(mean.se, 4), mean.df
    (0.4167, 0.1863, 2)

    Villages drawn with probability ``pi`` proportional to size, without replacement:

    >>> sample = pd.DataFrame({"village": list("aabbcc"), "y": [1, 0, 1, 1, 0, 0],
    ...     "pi": [0.5, 0.5, 0.3, 0.3, 0.2, 0.2], "weight": [20, 20, 30, 30, 50, 50]})
    >>> design = SurveyDesign(sample, "village", weights="weight", fpc="pi", pps="brewer")
    >>> round(design.mean("y").se, 4)
    0.2869

    Four villages in two strata of 20 and 10 villages (``N``, the finite population
    correction); the examples of the properties and methods below start from this design
    where they do not build their own:

    >>> data = pd.DataFrame({"stratum": [1, 1, 1, 2, 2], "village": [1, 1, 2, 3, 4],
    ...                      "weight": 10.0, "N": [20, 20, 20, 10, 10]})
    >>> design = SurveyDesign(data, psu="village", strata="stratum", weights="weight", fpc="N")
    """

    data: pd.DataFrame
    psu: str | Sequence[str] | None = None
    strata: str | None = None
    weights: str | None = None
    probs: str | None = None
    fpc: str | Sequence[str] | float | None = None
    lonely_psu: LonelyPSU = "fail"
    pps: PPSVariance | None = None
    domain: np.ndarray | None = field(default=None, repr=False)
    _w: np.ndarray = field(init=False, repr=False)
    _stages: tuple[Stage, ...] = field(init=False, repr=False)
    _stratum: np.ndarray = field(init=False, repr=False)
    _n_strata: int = field(init=False, repr=False)
    _n_psu: int = field(init=False, repr=False)
    # Calibration steps (evalkit.survey.calibration) applied to the influence values before the
    # per-PSU totals, as R's design$postStrata; and, for a design built from a calibrated
    # one row per person, the calibrated row each row belongs to.
    _calibration: tuple = field(init=False, repr=False, default=())
    _calibration_rows: np.ndarray | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        data = self.data
        if not isinstance(data, pd.DataFrame):
            raise EvalkitError("SurveyDesign: data must be a pandas DataFrame")
        if len(data) == 0:
            raise EvalkitError("SurveyDesign: the sample has no rows")
        if self.lonely_psu not in LONELY_PSU_OPTIONS:
            raise EvalkitError(
                f"SurveyDesign: lonely_psu={self.lonely_psu!r}; expected one of "
                + ", ".join(LONELY_PSU_OPTIONS)
            )
        if self.pps is not None and self.pps not in PPS_METHODS:
            raise EvalkitError(
                f"SurveyDesign: pps={self.pps!r}; expected None or one of "
                + ", ".join(PPS_METHODS)
            )
        if self.pps is not None and self.fpc is None:
            raise EvalkitError(
                f"SurveyDesign: pps={self.pps!r} needs fpc, the column of each PSU's "
                "inclusion probability"
            )
        n = len(data)
        psu_cols = as_list(self.psu)
        if self.strata is not None:
            stratum = column_codes(data, self.strata, "strata")
        else:
            stratum = np.zeros(n, dtype=np.int64)
        n_strata = int(stratum.max()) + 1

        # Cluster codes per stage, each nested in everything before it (R's nest=TRUE).
        stage_cols: list[str | None] = list(psu_cols) if psu_cols else [None]
        fpc_specs = self._fpc_specs(len(stage_cols))
        parent = stratum
        stages: list[Stage] = []
        # Product of the earlier stages' sampling fractions n/N: it weights later-stage
        # variance terms and, without weights or probs, is the inclusion probability.
        sampled_fraction = np.ones(n)
        for stage_index, col in enumerate(stage_cols):
            raw_unit = np.arange(n) if col is None else column_codes(data, col, "psu")
            unit = combine_codes(parent, raw_unit)
            n_units = int(unit.max()) + 1
            unit_parent = np.zeros(n_units, dtype=np.int64)
            unit_parent[unit] = parent
            n_groups = int(parent.max()) + 1
            group_size = np.bincount(unit_parent, minlength=n_groups).astype(float)
            if self.pps is not None and fpc_specs[stage_index] is not None:
                unit_fpc, population = unit_pps_fpc(
                    data, fpc_specs[stage_index], unit, unit_parent, group_size, stage_index,
                    self.pps)
                group_fpc = np.zeros(n_groups)
                np.maximum.at(group_fpc, unit_parent, unit_fpc)
            else:
                group_fpc, group_population = stratum_fpc(
                    data, fpc_specs[stage_index], parent, group_size, stage_index)
                unit_fpc = None
                population = (None if group_population is None
                              else group_population[unit_parent])
            if stage_index == 0:
                group_parent = np.zeros(n_groups, dtype=np.int64)
            else:
                # R's multistage calls onestage separately inside each earlier cluster.
                group_parent = np.arange(n_groups, dtype=np.int64)
            stages.append(
                Stage(
                    unit=unit,
                    unit_group=unit_parent,
                    group_size=group_size,
                    group_fpc=group_fpc,
                    group_weight=group_values(sampled_fraction, parent, n_groups),
                    group_parent=group_parent,
                    unit_fpc=unit_fpc,
                )
            )
            if population is not None:
                # n / N of each unit (its inclusion probability under PPS).
                fraction = group_size[unit_parent] / population
                sampled_fraction = sampled_fraction * fraction[unit]
            parent = unit
            if fpc_specs[stage_index] is None:
                # R computes later-stage terms only when fpc is given for them.
                break

        weights = self._resolve_weights(sampled_fraction,
                                        any(s is not None for s in fpc_specs))
        stage1 = stages[0]
        lonely = stage1.group_size == 1
        certain = stage1.group_fpc < CERTAINTY_TOLERANCE
        if self.lonely_psu == "fail" and np.any(lonely & ~certain):
            names = group_labels(data, self.strata, stratum, np.flatnonzero(lonely & ~certain))
            raise EvalkitError(
                f"SurveyDesign: stratum {names} has only one PSU; choose "
                "lonely_psu='adjust', 'certainty', 'remove' or 'average'"
            )
        object.__setattr__(self, "_w", weights)
        object.__setattr__(self, "_stages", tuple(stages))
        object.__setattr__(self, "_stratum", stratum)
        object.__setattr__(self, "_n_strata", n_strata)
        object.__setattr__(self, "_n_psu", int(stage1.unit.max()) + 1)
        if self.domain is None:
            object.__setattr__(self, "domain", np.ones(n, dtype=bool))

    # --- construction helpers -------------------------------------------------------
    def _fpc_specs(self, n_stages: int) -> list[str | float | None]:
        if self.fpc is None:
            return [None] * n_stages
        if isinstance(self.fpc, str | int | float):
            specs: list[str | float | None] = [self.fpc]
        else:
            specs = list(self.fpc)
        if len(specs) != n_stages:
            # As R's svydesign (which stops on "non-conformable arrays"): without the later
            # stages' population counts neither the weights nor the variance are known.
            raise EvalkitError(
                f"SurveyDesign: fpc has {len(specs)} stage(s) but psu has {n_stages}; give "
                "an fpc column for every stage, or pass weights and only the first-stage "
                "psu and fpc"
            )
        return specs

    def _resolve_weights(self, probs_from_fpc: np.ndarray, has_fpc: bool) -> np.ndarray:
        if self.weights is not None:
            w = numeric_column(self.data, self.weights, "weights")
        elif self.probs is not None:
            p = numeric_column(self.data, self.probs, "probs")
            if np.any((p <= 0) | (p > 1)):
                row = int(np.flatnonzero((p <= 0) | (p > 1))[0])
                raise EvalkitError(
                    f"SurveyDesign: probs column {self.probs!r} row {row + 1} is {p[row]}; "
                    "expected an inclusion probability in (0, 1]"
                )
            w = 1.0 / p
        elif has_fpc:
            w = 1.0 / probs_from_fpc
        else:
            w = np.ones(len(self.data))
        if np.any(~(w > 0)):
            row = int(np.flatnonzero(~(w > 0))[0])
            raise EvalkitError(
                f"SurveyDesign: weight of row {row + 1} is {w[row]}; expected a positive number"
            )
        return w

    # --- structure --------------------------------------------------------------------
    @property
    def weight_values(self) -> np.ndarray:
        """Sampling weights, zero outside the current domain (as R's weights()).

        Examples
        --------
        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"weight": [2.0, 3.0, 4.0], "a": [1, 0, 1]}),
        ...                       weights="weight")
        >>> design.subset(design.data["a"] == 1).weight_values.tolist()
        [2.0, 0.0, 4.0]
        """
        return np.where(self.domain, self._w, 0.0)

    @property
    def df(self) -> int:
        """Design degrees of freedom: PSUs minus strata that hold domain members.

        Examples
        --------
        >>> design.df
        2
        """
        return degrees_of_freedom(self._stages[0].unit, self._stratum, self.domain)

    @property
    def psu_codes(self) -> np.ndarray:
        """First-stage PSU of each row as a dense integer code (nested in strata).

        Examples
        --------
        >>> design.psu_codes.tolist()
        [0, 0, 1, 2, 3]
        """
        return self._stages[0].unit

    @property
    def psu_strata(self) -> np.ndarray:
        """Stratum code of each first-stage PSU (indexed by :attr:`psu_codes`).

        Examples
        --------
        >>> design.psu_strata.tolist()
        [0, 0, 1, 1]
        """
        return self._stages[0].unit_group

    @property
    def stratum_psu_counts(self) -> np.ndarray:
        """Number of sampled PSUs ``n_h`` in each stratum.

        Examples
        --------
        >>> design.stratum_psu_counts.tolist()
        [2.0, 2.0]
        """
        return self._stages[0].group_size

    @property
    def stratum_fpc_factor(self) -> np.ndarray:
        """First-stage ``(N_h - n_h) / N_h`` per stratum (1 without fpc); under ``pps`` the
        largest PSU factor of the stratum (see :attr:`psu_fpc_factor`).

        Examples
        --------
        >>> design.stratum_fpc_factor.tolist()
        [0.9, 0.8]
        """
        return self._stages[0].group_fpc

    @property
    def psu_fpc_factor(self) -> np.ndarray:
        """First-stage finite population correction of each PSU (indexed by
        :attr:`psu_codes`): the stratum's ``(N_h - n_h) / N_h``, or ``1 - pi_i`` under
        ``pps="brewer"``; 1 without fpc.

        Examples
        --------
        >>> design.psu_fpc_factor.tolist()
        [0.9, 0.9, 0.8, 0.8]
        """
        return self._stages[0].unit_factor

    @property
    def n_psu(self) -> int:
        """Number of first-stage sampling units (PSUs) in the sample (every row its own PSU when
        the design has no ``ids``), counting all rows, inside and outside the domain.

        Examples
        --------
        >>> design.n_psu
        4
        """
        return self._n_psu

    @property
    def n_strata(self) -> int:
        """Number of first-stage strata (1 for an unstratified design).

        Examples
        --------
        >>> design.n_strata
        2
        """
        return self._n_strata

    @property
    def is_simple_random_sample(self) -> bool:
        """True for one-stage, unclustered, unstratified designs with equal weights.

        Examples
        --------
        >>> design.is_simple_random_sample
        False
        """
        stage1 = self._stages[0]
        return (
            len(self._stages) == 1
            and self._n_strata == 1
            and self._n_psu == len(self.data)
            and stage1.group_size.size == 1
            and bool(np.allclose(self._w, self._w[0]))
        )

    def subset(self, mask: np.ndarray | pd.Series | str) -> SurveyDesign:
        """The design restricted to a domain, keeping the full design for variances.

        ``mask`` is a boolean array/Series or the name of a 0/1 column. As R's
        ``subset.survey.design``, rows outside the domain keep their PSU and stratum and
        contribute zero to every total (Lumley 2010, sec. 2.3).

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3], "weight": 10.0,
        ...                      "exited": [1, 0, 1, 1, 0, 1], "wrong": [1, 0, 0, 0, 0, 0]})
        >>> design = SurveyDesign(data, psu="village", weights="weight")
        >>> exited = design.subset(design.data["exited"] == 1)
        >>> round(exited.mean("wrong").estimate, 4), exited.n_psu, exited.df
        (0.25, 3, 2)
        """
        if isinstance(mask, str):
            mask_values = numeric_column(self.data, mask, "subset") != 0
        else:
            mask_values = np.asarray(mask, dtype=bool)
        if mask_values.shape != (len(self.data),):
            raise EvalkitError(
                f"SurveyDesign.subset: mask has {mask_values.size} values; "
                f"expected {len(self.data)}"
            )
        # The design structure is shared, not rebuilt: only the domain changes.
        sub = copy.copy(self)
        object.__setattr__(sub, "domain", self.domain & mask_values)
        return sub

    # --- calibration (evalkit.survey.calibration) -------------------------------------------
    @property
    def is_calibrated(self) -> bool:
        """True when the weights were post-stratified, raked or calibrated.

        Examples
        --------
        >>> design.is_calibrated
        False
        >>> design.poststratify("stratum", {1: 60, 2: 20}).is_calibrated
        True
        """
        return bool(self._calibration)

    @property
    def calibration_steps(self) -> tuple[str, ...]:
        """The post-stratification, raking and calibration steps applied, in order, each in
        words (``"raking on household_type, village_type"``); empty when none.

        Examples
        --------
        >>> design.calibration_steps
        ()
        >>> design.poststratify("stratum", {1: 60, 2: 20}).calibration_steps
        ('poststratify on stratum',)
        """
        return tuple(step.label for step in self._calibration)

    # --- description (evalkit.survey.describe) -----------------------------------------
    def __repr__(self) -> str:
        """A few lines whatever the sample's size, as R's ``print(svydesign)``. No data."""
        from evalkit.survey.describe import summarize

        return "\n".join(summarize(self).lines())

    def summary(self):
        """The design described, as R's ``summary(svydesign)`` and Stata's ``svydescribe``:
        what ``repr`` shows, observations per PSU and a table by stratum
        (:func:`evalkit.survey.describe.summarize`; ``print()`` it). Never a row of data.

        >>> import pandas as pd
        >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3], "weight": [5.0] * 5})
        >>> SurveyDesign(data, psu="village", weights="weight").summary().rows_per_psu
        (1, 1.666..., 2)
        """
        from evalkit.survey.describe import summarize

        return summarize(self)

    @property
    def full_weights(self) -> np.ndarray:
        """Sampling weights of every row, the domain ignored (read-only).

        :attr:`weight_values` is the same with rows outside the domain set to zero. After
        calibration these are the calibrated weights (R's ``weights(design)`` on the full
        design).

        >>> import pandas as pd
        >>> SurveyDesign(pd.DataFrame({"w": [2.0, 3.0]}), weights="w").full_weights
        array([2., 3.])
        """
        weights = self._w.view()
        weights.flags.writeable = False
        return weights

    @property
    def calibration_chain(self) -> tuple:
        """The calibration step objects applied so far, in order (R's ``design$postStrata``;
        :attr:`calibration_steps` gives their labels).

        Each step (:mod:`evalkit.survey.calibration`) residualises the weighted influence
        values before the PSU totals of :meth:`variance_of_totals`. Empty when uncalibrated.

        Examples
        --------
        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"type": ["a", "a", "b"], "weight": 10.0}),
        ...                       weights="weight")
        >>> design.calibration_chain
        ()
        >>> [type(step).__name__ for step in design.poststratify(
        ...     "type", {"a": 30, "b": 10}).calibration_chain]
        ['PostStratumStep']
        """
        return self._calibration

    @property
    def calibration_rows(self) -> np.ndarray | None:
        """For a design built from a calibrated one (e.g. one row per person of each
        household), the row of the calibrated design each row belongs to; else ``None``.

        Examples
        --------
        Two households post-stratified, then one row per person (3 and 1 people): each person's
        row points at its household's row of the calibrated design.

        >>> import numpy as np
        >>> import pandas as pd
        >>> from evalkit.survey.calibration import carry
        >>> households = SurveyDesign(pd.DataFrame({"type": ["a", "b"], "weight": [10.0, 10.0]}),
        ...                           weights="weight")
        >>> post = households.poststratify("type", {"a": 30, "b": 10})
        >>> rows = np.array([0, 0, 0, 1])
        >>> people = SurveyDesign(households.data.iloc[rows].reset_index(drop=True),
        ...                       weights="weight")
        >>> post.calibration_rows, carry(post, people, rows).calibration_rows.tolist()
        (None, [0, 0, 0, 1])
        """
        return self._calibration_rows

    def reweighted(self, weights: np.ndarray, calibration_chain: tuple | None = None,
                   calibration_rows: np.ndarray | None = None) -> SurveyDesign:
        """A copy with new full-sample ``weights`` (one finite value >= 0 per row).

        The strata, PSUs, fpc and domain are kept. ``calibration_chain`` replaces the steps
        the variance residualises on (``None`` keeps them), ``calibration_rows`` sets
        :attr:`calibration_rows` (only with ``calibration_chain``). This is how
        :mod:`evalkit.survey.calibration` returns a calibrated design: new weights ``g_i d_i``
        and one more step (Deville and Saerndal 1992; Lumley 2010, ch. 7).

        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"y": [1.0, 3.0], "w": [1.0, 1.0]}),
        ...                       weights="w")
        >>> design.reweighted([3.0, 1.0]).mean("y").estimate
        1.5
        """
        values = np.array(weights, dtype=float)
        if values.shape != (len(self.data),) or not np.all(np.isfinite(values) & (values >= 0)):
            raise EvalkitError(
                f"SurveyDesign.reweighted: expected {len(self.data)} weights >= 0, one "
                f"per row; got shape {values.shape}"
            )
        out = copy.copy(self)
        object.__setattr__(out, "_w", values)
        if calibration_chain is not None:
            rows = None if calibration_rows is None else np.asarray(calibration_rows,
                                                                    dtype=np.int64)
            if rows is not None and rows.shape != (len(self.data),):
                raise EvalkitError("SurveyDesign.reweighted: calibration_rows needs one "
                                   "value per row")
            object.__setattr__(out, "_calibration", tuple(calibration_chain))
            object.__setattr__(out, "_calibration_rows", rows)
        elif calibration_rows is not None:
            raise EvalkitError("SurveyDesign.reweighted: calibration_rows needs "
                               "calibration_chain")
        return out

    def rebased(self, data: pd.DataFrame) -> SurveyDesign:
        """A copy whose data is ``data``: the same rows in the same order, other columns.

        Everything else is kept as it is (strata, PSUs, fpc, weights, calibration, domain),
        so a column can be added for one step (say a cell to post-stratify on) and the
        result re-based on the original data. The design's own columns must be present
        and unchanged.

        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"y": [1.0, 3.0]}))
        >>> design.rebased(design.data.assign(z=[0.0, 1.0])).mean("z").estimate
        0.5
        """
        if not isinstance(data, pd.DataFrame) or len(data) != len(self.data):
            raise EvalkitError(
                f"SurveyDesign.rebased: expected a DataFrame of {len(self.data)} rows, the "
                "design's rows in the same order"
            )
        for column in self._design_columns():
            if column not in data.columns or not data[column].reset_index(drop=True).equals(
                    self.data[column].reset_index(drop=True)):
                raise EvalkitError(
                    f"SurveyDesign.rebased: design column {column!r} is missing or changed; "
                    "a re-based design keeps its strata, PSUs, weights and fpc"
                )
        out = copy.copy(self)
        object.__setattr__(out, "data", data)
        return out

    def _design_columns(self) -> list[str]:
        named = [*as_list(self.psu), self.strata, self.weights, self.probs]
        if isinstance(self.fpc, str):
            named.append(self.fpc)
        elif self.fpc is not None and not isinstance(self.fpc, int | float):
            named.extend(c for c in self.fpc if isinstance(c, str))
        return [c for c in named if c is not None]

    def poststratify(self, column: str | Sequence[str], counts) -> SurveyDesign:
        """A new design post-stratified to population ``counts`` ``{level: count}`` of
        ``column``, as R's ``postStratify``; see :func:`evalkit.survey.calibration.poststratify`.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"type": ["a", "a", "b"], "weight": 10.0, "y": [1.0, 0.0, 1.0]})
        >>> post = SurveyDesign(data, weights="weight").poststratify("type", {"a": 30, "b": 70})
        >>> post.weight_values.tolist(), post.mean("y").estimate
        ([15.0, 15.0, 70.0], 0.85)
        """
        from evalkit.survey.calibration import poststratify

        return poststratify(self, column, counts)

    def rake(self, margins, **options) -> SurveyDesign:
        """A new design raked to ``margins`` ``{column: {level: count}}``, as R's ``rake``;
        see :func:`evalkit.survey.calibration.rake`.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"type": ["a", "a", "b", "b"], "area": ["n", "s", "n", "s"],
        ...                      "weight": 10.0})
        >>> raked = SurveyDesign(data, weights="weight").rake(
        ...     {"type": {"a": 30, "b": 10}, "area": {"n": 20, "s": 20}})
        >>> raked.weight_values.round(2).tolist()
        [15.0, 15.0, 5.0, 5.0]
        """
        from evalkit.survey.calibration import rake

        return rake(self, margins, **options)

    def calibrate(self, formula: str | Sequence[str], totals, calfun: str = "linear",
                  **options) -> SurveyDesign:
        """A new design calibrated to model-matrix ``totals`` (``Intercept`` for the
        population size), ``calfun`` ``"linear"`` or ``"raking"``, as R's ``calibrate``;
        see :func:`evalkit.survey.calibration.calibrate`.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"x": [1.0, 2.0, 3.0], "weight": 10.0})
        >>> calibrated = SurveyDesign(data, weights="weight").calibrate(
        ...     ["x"], {"Intercept": 30, "x": 66})
        >>> calibrated.weight_values.round(4).tolist()
        [7.0, 10.0, 13.0]
        """
        from evalkit.survey.calibration import calibrate

        return calibrate(self, formula, totals, calfun, **options)  # type: ignore[arg-type]

    # --- variance engine ------------------------------------------------------------
    def variance_of_totals(self, weighted_scores: np.ndarray) -> np.ndarray:
        """Covariance matrix of the totals of ``weighted_scores`` under the design.

        ``weighted_scores`` is ``(n,)`` or ``(n, k)``: influence values already multiplied by
        the sampling weights (R's ``svyrecvar(x / prob, ...)``). Rows outside the domain must
        already be zero. Returns a ``(k, k)`` array.

        Examples
        --------
        The variance of a total from its weighted values, as R's ``svyrecvar``; two PSUs of one
        stratum: ``n/(n-1) sum (t_i - tbar)^2 = 2 (25 + 25) = 100``:

        >>> import numpy as np
        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"village": [1, 1, 2]}), psu="village")
        >>> design.variance_of_totals(np.array([4.0, 6.0, 0.0]))
        array([[100.]])
        """
        x = np.asarray(weighted_scores, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if self._calibration:
            from evalkit.survey.calibration import residualise

            x = residualise(self, x)
        k = x.shape[1]
        total = np.zeros((k, k))
        for stage in self._stages:
            total += stage_variance(stage, x, self.lonely_psu)
        return total

    # --- estimators ---------------------------------------------------------------------
    def total(self, column: str, by: str | None = None, level: float = 0.95,
              na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Horvitz-Thompson total ``sum_i w_i y_i`` with its linearization SE.

        Design effect as R's ``svytotal(deff=TRUE)``: ``V / (s^2 N^2 (N - n)/(N n))`` with
        ``s^2`` the weighted population variance estimate (``svyvar``).

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3], "weight": 10.0,
        ...                      "people": [3, 5, 4, 6, 8, 2]})
        >>> total = SurveyDesign(data, psu="village", weights="weight").total("people")
        >>> total.estimate, round(total.se, 3)
        (280.0, 20.0)
        """
        if by is not None:
            return self._by(by, lambda d: d.total(column, level=level, na_rm=na_rm))
        design, y = self.analysis_values(column, na_rm)
        w = design.weight_values
        estimate = float(np.sum(w * y))
        variance = float(design.variance_of_totals(w * y)[0, 0])
        se = float(np.sqrt(variance))
        n_obs = int(np.count_nonzero(w))
        deff = safe_ratio(variance, srs_variance_of_total(y, w))
        return design._wald(estimate, se, level, deff, n_obs)

    def mean(self, column: str, by: str | None = None, level: float = 0.95,
             na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Weighted mean (Hajek) ``sum w y / sum w``, linearized (Lumley 2010, sec. 2.2).

        Influence values ``(y_i - ybar) / sum w``; deff as R's ``svymean(deff=TRUE)``.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3],
        ...                      "income": [3.0, 5.0, 4.0, 6.0, 8.0, 2.0],
        ...                      "weight": [10.0, 10.0, 20.0, 20.0, 30.0, 30.0]})
        >>> mean = SurveyDesign(data, psu="village", weights="weight").mean("income")
        >>> round(mean.estimate, 4), round(mean.se, 4), [round(b, 3) for b in mean.ci]
        (4.8333, 0.2097, [3.931, 5.736])
        """
        if by is not None:
            return self._by(by, lambda d: d.mean(column, level=level, na_rm=na_rm))
        design, y = self.analysis_values(column, na_rm)
        estimate, se, deff, n_obs = design._mean_parts(y)
        return design._wald(estimate, se, level, deff, n_obs)

    def ratio(self, numerator: str, denominator: str, by: str | None = None,
              level: float = 0.95, na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Ratio of totals ``R = sum w y / sum w x`` by linearization.

        Influence values ``(y_i - R x_i) / sum w x`` (Cochran 1977, sec. 6.4; Binder 1983),
        as R's ``svyratio``, from :func:`evalkit.survey.variance.ratio_influence`.
        This is how people-level rates are estimated from a household
        sample: ``y`` = people with the condition, ``x`` = household size. The design effect
        compares with simple random sampling of the same number of households.

        Examples
        --------
        People wrongly marked as exited per person:

        >>> import pandas as pd
        >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3], "weight": 10.0,
        ...                      "wrong": [1, 0, 0, 0, 2, 0], "size": [3, 5, 4, 6, 8, 2]})
        >>> rate = SurveyDesign(data, psu="village", weights="weight").ratio("wrong", "size")
        >>> round(rate.estimate, 4), round(rate.se, 4)
        (0.1071, 0.0623)
        """
        if by is not None:
            return self._by(
                by, lambda d: d.ratio(numerator, denominator, level=level, na_rm=na_rm)
            )
        design, y = self.analysis_values(numerator, na_rm, also=denominator)
        w = design.weight_values
        ratio, scores, denominator_total = ratio_influence(
            y, design.column_values(denominator), design.domain, w)
        if denominator_total == 0:
            raise EvalkitError(
                f"SurveyDesign.ratio: the weighted total of {denominator!r} is zero in this "
                "domain; expected a positive denominator"
            )
        estimate = float(ratio)
        variance = float(design.variance_of_totals(w * scores)[0, 0])
        se = float(np.sqrt(variance))
        n_obs = int(np.count_nonzero(w))
        deff = safe_ratio(variance, srs_variance_of_total(scores, w))
        return design._wald(estimate, se, level, deff, n_obs)

    def proportion(self, column: str, method: str = "logit", level: float = 0.95,
                   by: str | None = None, na_rm: bool = False) -> Estimate | pd.DataFrame:
        """Proportion of a 0/1 column with a confidence interval by ``method``.

        Design-based methods as R's ``svyciprop``: ``logit``, ``likelihood``, ``asin``,
        ``beta`` (Korn and Graubard 1998), ``mean`` (Wald), ``xlogit``. For simple random
        samples also ``wilson``, ``clopper-pearson``, ``jeffreys``, ``agresti-coull``.
        See :mod:`evalkit.survey.intervals` for each formula and for zero or all events.

        Examples
        --------
        >>> import pandas as pd
        >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3, 4, 4], "weight": 10.0,
        ...                      "satisfied": [1, 1, 0, 1, 1, 1, 1, 0]})
        >>> design = SurveyDesign(data, psu="village", weights="weight")
        >>> for method in ("logit", "beta", "mean"):
        ...     share = design.proportion("satisfied", method=method)
        ...     print(method, share.estimate, [round(bound, 3) for bound in share.ci])
        logit 0.75 [0.206, 0.972]
        beta 0.75 [0.244, 0.988]
        mean 0.75 [0.291, 1.209]
        """
        from evalkit.survey.intervals import proportion_interval

        if by is not None:
            return self._by(
                by, lambda d: d.proportion(column, method=method, level=level, na_rm=na_rm)
            )
        design, y = self.analysis_values(column, na_rm)
        values = y[design.domain]
        if not np.all((values == 0) | (values == 1)):
            bad = np.flatnonzero(design.domain & ~((y == 0) | (y == 1)))[0]
            raise EvalkitError(
                f"SurveyDesign.proportion: column {column!r} row {bad + 1} is {y[bad]!r}; "
                "expected 0 or 1"
            )
        estimate, se, deff, n_obs = design._mean_parts(y)
        return proportion_interval(design, y, estimate, se, deff, n_obs, method, level)

    def logit(self, formula: str, **options):
        """Survey-weighted logistic regression, as R's ``svyglm(family=quasibinomial())``.

        Coefficients solve the weighted score equations; standard errors are the
        linearization (sandwich) estimator of Binder (1983). See
        :func:`evalkit.survey.svyglm.logit`.

        Examples
        --------
        >>> import numpy as np
        >>> import pandas as pd
        >>> rng = np.random.default_rng(7)
        >>> data = pd.DataFrame({"village": np.repeat(np.arange(12), 25), "weight": 40.0,
        ...                      "x": rng.normal(size=300)})
        >>> data["y"] = (rng.random(300) < 1 / (1 + np.exp(-0.5 - data["x"]))).astype(int)
        >>> SurveyDesign(data, psu="village", weights="weight").logit("y ~ x").params.round(3)
        Intercept    0.543
        x            1.323
        Name: coef, dtype: float64
        """
        from evalkit.survey.svyglm import logit

        return logit(self, formula, **options)

    def difference(self, variable: str, by: str, levels: Sequence[object],
                   denominator: str | None = None, level: float = 0.95) -> Estimate:
        """Change ``levels[1]`` minus ``levels[0]`` of a mean (or a ratio with
        ``denominator``) on a design stacking two rounds, as R's ``svyby(..., covmat=TRUE)``
        then ``svycontrast``. A PSU in both rounds carries their covariance. See
        :func:`evalkit.survey.change.difference`.

        Examples
        --------
        >>> import pandas as pd
        >>> stacked = SurveyDesign(pd.DataFrame({
        ...     "round": [1, 1, 1, 1, 2, 2, 2, 2], "village": [1, 1, 2, 2, 2, 2, 3, 3],
        ...     "weight": 10.0, "satisfied": [1, 0, 0, 1, 1, 1, 0, 1]}),
        ...     psu="village", weights="weight")
        >>> change = stacked.difference("satisfied", by="round", levels=(1, 2))
        >>> change.estimate, round(change.se, 4)
        (0.25, 0.2165)
        """
        from evalkit.survey.change import difference

        return difference(self, variable, by, levels, denominator=denominator, level=level)

    # --- internals ----------------------------------------------------------------------
    def column_values(self, column: str) -> np.ndarray:
        """Column ``column`` of every row as floats, NaN where it is empty.

        >>> import pandas as pd
        >>> SurveyDesign(pd.DataFrame({"y": [1, None]})).column_values("y")
        array([ 1., nan])
        """
        return numeric_column(self.data, column, "column", allow_nan=True)

    def analysis_values(self, column: str, na_rm: bool = False, also: str | None = None
                        ) -> tuple[SurveyDesign, np.ndarray]:
        """The design an estimator of ``column`` runs on, and the column's values.

        Rows of the domain where ``column`` (or ``also``, a denominator) is empty are an
        error, or with ``na_rm`` leave the domain (R's ``na.rm=TRUE``: a domain, so the
        variance keeps the full design). Values are zero outside the domain.

        >>> import pandas as pd
        >>> design = SurveyDesign(pd.DataFrame({"y": [1.0, None, 3.0]}))
        >>> sub, y = design.analysis_values("y", na_rm=True)
        >>> y.tolist(), int(sub.domain.sum())
        ([1.0, 0.0, 3.0], 2)
        """
        y = self.column_values(column)
        missing = np.isnan(y)
        if also is not None:
            missing = missing | np.isnan(self.column_values(also))
        missing &= self.domain
        design = self
        if np.any(missing):
            if not na_rm:
                row = int(np.flatnonzero(missing)[0])
                raise EvalkitError(
                    f"SurveyDesign: column {column!r} has {int(missing.sum())} missing values "
                    f"(first at row {row + 1}); pass na_rm=True to estimate over the rows "
                    "where it is present"
                )
            design = self.subset(~missing)
        y = np.where(design.domain, np.nan_to_num(y), 0.0)
        if not np.any(design.domain):
            raise EvalkitError(f"SurveyDesign: no rows in the domain for {column!r}")
        return design, y

    def _mean_parts(self, y: np.ndarray) -> tuple[float, float, float, int]:
        # The Hajek mean is the ratio with x = 1 (evalkit.survey.variance.ratio_influence).
        w = self.weight_values
        ratio, scores, total = ratio_influence(y, np.ones_like(y), self.domain, w)
        population = float(total)
        estimate = float(ratio)
        variance = float(self.variance_of_totals(w * scores)[0, 0])
        n_obs = int(np.count_nonzero(w))
        deff = safe_ratio(variance, srs_variance_of_total(y, w) / population**2)
        return estimate, float(np.sqrt(variance)), deff, n_obs

    def _wald(self, estimate: float, se: float, level: float, deff: float,
              n_obs: int) -> Estimate:
        check_level(level)
        df = self.df
        quantile = t_quantile(level, df)
        return Estimate(
            estimate=estimate,
            se=se,
            ci=(estimate - quantile * se, estimate + quantile * se),
            deff=deff,
            df=df,
            n=n_obs,
            level=level,
            method="linearization",
        )

    def _by(self, by: str, estimator) -> pd.DataFrame:
        if by not in self.data.columns:
            raise EvalkitError(f"SurveyDesign: by column {by!r} is not in the data")
        groups = self.data[by]
        levels = pd.unique(groups[self.domain & groups.notna().to_numpy()])
        rows = []
        for level_value in sorted(levels, key=str):  # loop over domains, not households
            sub = self.subset((groups == level_value).to_numpy())
            result = estimator(sub)
            rows.append({by: level_value, **result.to_dict()})
        return pd.DataFrame(rows)
