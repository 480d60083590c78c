"""Calibration of survey weights to known population totals, as R's survey package.

Three ways to make the weights of a :class:`~evalkit.survey.design.SurveyDesign` reproduce totals
the registration system knows exactly (Lumley 2010, ch. 7; Deville and Saerndal 1992):

* :func:`poststratify` (R's ``postStratify``): within each cell ``c`` of one column (or the
  cross-classification of several) the weights are multiplied by ``N_c / sum_{i in c} w_i``.
* :func:`rake` (R's ``rake``): iterative proportional fitting, post-stratifying on each
  margin in turn until the cross-table of the margins moves by less than ``epsilon``
  (R's defaults: at most 10 passes, ``epsilon = 1`` unit).
* :func:`calibrate` (R's ``calibrate``): weights ``w_i g_i`` with ``sum_i w_i g_i x_i = T``
  for the model-matrix rows ``x_i`` of a formula. ``calfun="linear"`` is the GREG estimator,
  ``g_i = 1 + x_i' (X'WX)^{-1} (T - sum_i w_i x_i)``; ``calfun="raking"`` is
  ``g_i = exp(x_i' eta)`` solved by Newton's method exactly as R's ``survey:::grake``
  (start ``eta = 0``, Moore-Penrose steps, stop when ``|misfit| / (1 + |T|) < 1e-7``, R's
  rescaling of the weights when every ``T / sum w x`` exceeds 20).

Each returns a new design; the old one is unchanged. Its variance estimates use the
calibration residuals, exactly as R's ``svyrecvar`` does with ``design$postStrata``: before
the per-PSU totals are formed, the weighted influence values ``x_i`` of any estimator are
replaced by

* post-stratification: ``x_i - w_i * sum_{j in c} (x_j o_j / w_j) / sum_{j in c} o_j``
  (``o`` the weights before post-stratifying, ``w`` after);
* raking: ten passes of ``x_i <- x_i - w_i^(m) * mean_{j in c_m(i)} (x_j / w_j^(m))`` over
  the margins ``m`` (``w^(m)`` the weights after the last post-stratification on ``m``);
* calibration: the residual of the regression of ``x_i / (g_i sqrt(d_i))`` on
  ``x_i sqrt(d_i)`` (``d`` the weights before calibrating), times ``g_i sqrt(d_i)``:
  R's ``qr.resid(qr(X * sqrt(d)), x / (g sqrt(d))) * g sqrt(d)``.

Because every estimator (totals, means, ratios, proportion intervals, ``logit`` and the
quantities derived from it) passes its weighted influence values through
:meth:`SurveyDesign.variance_of_totals`, the residualisation sits there once
(:func:`residualise`) and every estimator picks it up. Calibration is applied to the full
sample; domains are taken afterwards (``subset``/``by=``) and keep the full-sample
residualisation, as R's ``subset`` of a calibrated design does.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.survey.calibration_cells import (
    count_table,
    cross_classify,
    interaction_columns,
    level_texts,
)

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign

CalFun = Literal["linear", "raking"]
INTERCEPT = "Intercept"


# --- residualisation steps (what svyrecvar does with design$postStrata) ----------------
@dataclass(frozen=True)
class PostStratumStep:
    """R's ordinary post-stratification entry: cell codes, weights after and before.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"type": ["a", "a", "b", "b"], "weight": 10.0})
    >>> done = SurveyDesign(data, weights="weight").poststratify("type", {"a": 30, "b": 10})
    >>> done.calibration_steps
    ('poststratify on type',)

    The example of :meth:`residualise` continues from this one.
    """

    cells: np.ndarray
    weights: np.ndarray
    old_weights: np.ndarray
    label: str = "poststratify"

    def residualise(self, x: np.ndarray) -> np.ndarray:
        """Weighted influence values ``x`` (``(n, k)``) after this post-stratification: within each
        cell ``c``, ``x_i - w_i * sum_c(x_j w0_j / w_j) / sum_c w0_j`` with ``w`` the weights after
        and ``w0`` before, as ``survey:::svyrecvar`` does with ``design$postStrata`` (Lumley 2010,
        sec. 7.4; Valliant 1993). Variation between cells is removed: a post-stratified total
        of the cells has variance 0.

        Examples
        --------
        A total the calibration fixed has influence values 0 after it (no variance):

        >>> scores = (done.data["type"] == "a").to_numpy(float) * done.weight_values
        >>> (residualise(done, scores[:, None]).round(8) + 0.0).ravel().tolist()
        [0.0, 0.0, 0.0, 0.0]
        """
        n_cells = int(self.cells.max()) + 1
        ratio = x * (self.old_weights / self.weights)[:, None]
        sums = _group_sums(self.cells, ratio, n_cells)
        old_totals = np.bincount(self.cells, weights=self.old_weights, minlength=n_cells)
        means = sums / old_totals[:, None]
        return x - means[self.cells] * self.weights[:, None]


@dataclass(frozen=True)
class RakingStep:
    """R's ``raking`` entry: one (cells, weights) pair per margin, ten backfitting passes.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"type": ["a", "a", "b", "b"], "area": ["n", "s", "n", "s"],
    ...                      "weight": 10.0})
    >>> done = SurveyDesign(data, weights="weight").rake(
    ...     {"type": {"a": 30, "b": 10}, "area": {"n": 20, "s": 20}})
    >>> done.calibration_steps
    ('rake on type, area',)

    The example of :meth:`residualise` continues from this one.
    """

    margins: tuple[tuple[np.ndarray, np.ndarray], ...]
    label: str = "rake"
    passes: int = 10  # fixed in R's svyrecvar

    def residualise(self, x: np.ndarray) -> np.ndarray:
        """Weighted influence values ``x`` after raking: each margin's cell means of ``x / w``
        removed in turn, ``passes`` times (backfitting, as R's ``survey`` approximates the raking
        projection; Lumley 2010, sec. 7.4).

        Examples
        --------
        A total the calibration fixed has influence values 0 after it (no variance):

        >>> scores = (done.data["area"] == "n").to_numpy(float) * done.weight_values
        >>> (residualise(done, scores[:, None]).round(8) + 0.0).ravel().tolist()
        [0.0, 0.0, 0.0, 0.0]
        """
        for _ in range(self.passes):
            for cells, weights in self.margins:
                n_cells = int(cells.max()) + 1
                counts = np.bincount(cells, minlength=n_cells).astype(float)
                means = _group_sums(cells, x / weights[:, None], n_cells) / counts[:, None]
                x = x - weights[:, None] * means[cells]
        return x


@dataclass(frozen=True)
class RegressionStep:
    """R's ``greg_calibration`` at stage 0: an orthonormal basis of the column space of
    ``X sqrt(d)`` and the scale ``g sqrt(d)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"x": [1.0, 2.0, 3.0, 5.0], "weight": 10.0})
    >>> done = SurveyDesign(data, weights="weight").calibrate(["x"], {"Intercept": 40, "x": 100})
    >>> done.calibration_steps
    ('calibrate (linear) on x',)

    The example of :meth:`residualise` continues from this one.
    """

    basis: np.ndarray
    scale: np.ndarray
    label: str = "calibrate"

    def residualise(self, x: np.ndarray) -> np.ndarray:
        """Weighted influence values ``x`` after linear (GREG) calibration: the residual of the
        projection of ``x / scale`` on the calibration variables' orthonormal basis, times
        ``scale`` (Deville and Särndal 1992; R's ``survey:::svyrecvar`` with a
        ``greg_calibration`` entry).

        Examples
        --------
        A total the calibration fixed has influence values 0 after it (no variance):

        >>> scores = done.data["x"].to_numpy() * done.weight_values
        >>> (residualise(done, scores[:, None]).round(8) + 0.0).ravel().tolist()
        [0.0, 0.0, 0.0, 0.0]
        """
        z = x / self.scale[:, None]
        z = z - self.basis @ (self.basis.T @ z)
        return z * self.scale[:, None]


CalibrationStep = PostStratumStep | RakingStep | RegressionStep


def residualise(design: SurveyDesign, weighted_scores: np.ndarray) -> np.ndarray:
    """Weighted influence values of ``design`` after its calibration steps, in order.

    ``weighted_scores`` is ``(n, k)``. A design built from another one row per person
    (:func:`carry`) first sums the scores of each original row, residualises there and puts
    the result on the first row of each original row's group (the PSU totals that follow are
    the same wherever inside the household it sits).

    Examples
    --------
    After post-stratification the influence values of a cell indicator sum to zero within
    the cell: the post-stratified total of a cell has no variance.

    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"type": ["a", "a", "b"], "weight": 10.0}),
    ...                       weights="weight")
    >>> post = design.poststratify("type", {"a": 30, "b": 10})
    >>> indicator = (post.data["type"] == "a").to_numpy(float) * post.weight_values
    >>> residualise(post, indicator[:, None]).round(10).ravel().tolist()
    [0.0, 0.0, 0.0]
    """
    steps = design.calibration_chain
    if not steps:
        return weighted_scores
    x = weighted_scores
    rows = design.calibration_rows
    if rows is not None:
        n_base = steps_size(steps)
        x = _group_sums(rows, x, n_base)
    for step in steps:
        x = step.residualise(x)
    if rows is not None:
        out = np.zeros_like(weighted_scores)
        first = np.full(n_base, -1, dtype=np.int64)
        first[rows[::-1]] = np.arange(rows.size)[::-1]
        present = first >= 0
        out[first[present]] = x[present]
        return out
    return x


def steps_size(steps: Sequence[CalibrationStep]) -> int:
    """The number of rows the calibration ``steps`` were fitted on (the design's rows when
    they were fitted; a design re-based on people has more).

    Examples
    --------
    >>> import numpy as np
    >>> steps_size([PostStratumStep(cells=np.array([0, 1, 1]), weights=np.ones(3),
    ...                             old_weights=np.ones(3))])
    3
    """
    step = steps[0]
    if isinstance(step, PostStratumStep):
        return int(step.cells.size)
    if isinstance(step, RakingStep):
        return int(step.margins[0][0].size)
    return int(step.scale.size)


# --- public operations ----------------------------------------------------------------
def poststratify(design: SurveyDesign, column: str | Sequence[str],
                 counts: Mapping | pd.Series | pd.DataFrame) -> SurveyDesign:
    """Post-stratify ``design`` on ``column`` to population ``counts``, as R's
    ``postStratify(design, ~column, population)``.

    ``counts`` maps each level of ``column`` (or, for a list of columns, each tuple of
    levels) to its population count; a pandas Series, or a DataFrame with the columns and
    one count column, also work. Levels are matched as text (``1`` and ``"1"`` agree).
    Every sampled cell needs a count; a cell with a positive count and no sampled row is
    an error (R: "Some strata absent from sample").

    Examples
    --------
    Households of two types, sampled with equal weights; the population has 600 of type a
    and 400 of type b (R: ``postStratify(design, ~type, data.frame(type=c("a","b"),
    Freq=c(600,400)))``):

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3, 4, 4], "weight": 100.0,
    ...                      "type": ["a", "b", "a", "a", "b", "a", "b", "b"],
    ...                      "poor": [1, 0, 1, 0, 0, 1, 0, 0]})
    >>> design = SurveyDesign(data, psu="village", weights="weight")
    >>> post = poststratify(design, "type", {"a": 600, "b": 400})
    >>> post.weight_values.tolist()
    [150.0, 100.0, 150.0, 150.0, 100.0, 150.0, 100.0, 100.0]
    >>> round(post.mean("poor").estimate, 4), post.calibration_steps
    (0.45, ('poststratify on type',))
    """
    check_full(design, "poststratify")
    columns = _as_columns(design, column, "poststratify")
    table = count_table(counts, columns, "poststratify")
    cells, labels = cross_classify(design.data, columns)
    weights = design.full_weights
    new_weights, _ = _poststratify_weights(weights, cells, labels, table, columns,
                                           "poststratify")
    step = PostStratumStep(cells=cells, weights=new_weights, old_weights=weights,
                           label=f"poststratify on {' x '.join(columns)}")
    return _with_step(design, new_weights, step)


def rake(design: SurveyDesign, margins: Mapping[Any, Mapping | pd.Series], *,
         max_iterations: int = 10, epsilon: float = 1.0) -> SurveyDesign:
    """Rake ``design`` to the population counts of several margins, as R's ``rake``.

    ``margins`` is ``{column: {level: count}}``; a margin keyed by a tuple of columns is
    their cross-classification, ``{("village", "type"): {("V1", "a"): count, ...}}``, as
    R's ``rake(design, list(~village + type, ...), ...)``. Each pass post-stratifies on
    every margin in turn; raking stops when no cell of the cross-table of all margin
    columns moves by ``epsilon`` or more (an absolute count; below 1 it is a fraction of
    the total weight, as R), or after ``max_iterations`` passes (R's defaults 10 and 1; a
    warning then).

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3, 4, 4], "weight": 100.0,
    ...                      "type": ["a", "b", "a", "a", "b", "a", "b", "b"],
    ...                      "area": ["n", "n", "n", "s", "s", "s", "s", "n"]})
    >>> raked = rake(SurveyDesign(data, psu="village", weights="weight"),
    ...              {"type": {"a": 600, "b": 400}, "area": {"n": 500, "s": 500}})
    >>> sums = pd.Series(raked.weight_values)
    >>> sums.groupby(data["type"]).sum().round(1).tolist()
    [600.0, 400.0]
    >>> sums.groupby(data["area"]).sum().round(1).tolist()
    [500.0, 500.0]
    """
    check_full(design, "rake")
    if not isinstance(margins, Mapping) or not margins:
        raise EvalkitError("rake: margins must be a mapping {column: {level: count}}")
    margin_columns = [_as_columns(design, key, "rake") for key in margins]
    tables = [count_table(margins[key], columns, "rake")
              for key, columns in zip(margins, margin_columns, strict=True)]
    cell_codes = [cross_classify(design.data, columns) for columns in margin_columns]
    every = list(dict.fromkeys(c for columns in margin_columns for c in columns))
    joint, _ = cross_classify(design.data, every)
    n_joint = int(joint.max()) + 1
    weights = design.full_weights.copy()
    if epsilon < 1:
        epsilon = epsilon * float(weights.sum())
    old_table = np.bincount(joint, weights=weights, minlength=n_joint)
    converged = False
    last: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(max_iterations):
        last = []
        for columns, table, (cells, labels) in zip(margin_columns, tables, cell_codes,
                                                   strict=True):
            weights, _ = _poststratify_weights(weights, cells, labels, table, columns, "rake")
            last.append((cells, weights))
        new_table = np.bincount(joint, weights=weights, minlength=n_joint)
        delta = float(np.max(np.abs(old_table - new_table)))
        if delta < epsilon:
            converged = True
            break
        old_table = new_table
    if not converged:
        warnings.warn(f"rake: raking did not converge after {max_iterations} iterations",
                      RuntimeWarning, stacklevel=2)
    label = ", ".join(" x ".join(columns) for columns in margin_columns)
    step = RakingStep(margins=tuple(last), label=f"rake on {label}")
    return _with_step(design, weights, step)


def calibrate(design: SurveyDesign, formula: str | Sequence[str],
              totals: Mapping[str, float] | pd.Series, calfun: CalFun = "linear", *,
              max_iterations: int = 50, epsilon: float = 1e-7) -> SurveyDesign:
    """Calibrate ``design`` to population ``totals`` of a model matrix, as R's
    ``calibrate(design, ~formula, population, calfun=)``.

    ``formula`` is a list of column names or ``"a + b"`` (an intercept is always included,
    as R's default). Numeric columns enter as they are; other columns are factors with
    treatment contrasts, the first level (sorted as text) absorbed in the intercept, and
    model-matrix columns named as R names them: ``stypeH`` for level ``H`` of ``stype``.
    ``totals`` is keyed by those names, ``Intercept`` (or R's ``(Intercept)``) for the
    population size. ``calfun="linear"`` is R's ``regcalibrate`` (GREG, closed form);
    ``"raking"`` is R's ``grake`` with ``cal.raking`` (``max_iterations`` and ``epsilon``
    as R's ``maxit`` and ``epsilon``).

    Examples
    --------
    Linear (GREG) calibration to the population size and the total of an auxiliary ``x`` (R:
    ``calibrate(design, ~x, c(`(Intercept)` = 1000, x = 2500))``):

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"village": [1, 1, 2, 2, 3, 3], "weight": 150.0,
    ...                      "x": [1.0, 2.0, 3.0, 2.0, 4.0, 3.0],
    ...                      "y": [2.0, 4.0, 7.0, 4.0, 9.0, 6.0]})
    >>> calibrated = calibrate(SurveyDesign(data, psu="village", weights="weight"), ["x"],
    ...                        {"Intercept": 1000, "x": 2500})
    >>> round(calibrated.total("x").estimate, 6), round(float(calibrated.weight_values.sum()), 6)
    (2500.0, 1000.0)
    >>> round(calibrated.mean("y").estimate, 4)
    5.3333
    """
    check_full(design, "calibrate")
    if calfun not in ("linear", "raking"):
        raise EvalkitError(f"calibrate: calfun={calfun!r}; expected 'linear' or 'raking'")
    columns = _formula_columns(design, formula)
    matrix, names = model_matrix(design.data, columns)
    population = _totals_vector(totals, names)
    return calibrate_matrix(design, matrix, names, population, calfun,
                             f"calibrate ({calfun}) on {' + '.join(columns)}",
                             max_iterations=max_iterations, epsilon=epsilon)


def calibrate_matrix(design: SurveyDesign, matrix: np.ndarray, names: list[str],
                      population: np.ndarray, calfun: str, label: str, *,
                      max_iterations: int = 50, epsilon: float = 1e-7) -> SurveyDesign:
    """R's regcalibrate (linear) or grake (raking) on a model matrix; see :func:`calibrate`.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"x": [1.0, 2.0, 3.0], "weight": 10.0}),
    ...                       weights="weight")
    >>> matrix = np.column_stack([np.ones(3), [1.0, 2.0, 3.0]])
    >>> out = calibrate_matrix(design, matrix, ["Intercept", "x"], np.array([30.0, 66.0]),
    ...                        "linear", "calibrate on x")
    >>> out.weight_values.round(4).tolist()
    [7.0, 10.0, 13.0]
    """
    weights = design.full_weights
    sample_total = weights @ matrix
    empty = np.flatnonzero(np.all(matrix == 0, axis=0))
    if empty.size:
        raise EvalkitError(
            f"calibrate: model-matrix column {names[int(empty[0])]!r} is zero on every "
            "sampled row; no weights can reach its total"
        )
    root = np.sqrt(weights)
    scaled = matrix * root[:, None]
    if calfun == "linear":
        cross = scaled.T @ scaled
        try:
            coefficients = np.linalg.solve(cross, population - sample_total)
        except np.linalg.LinAlgError as exc:
            raise EvalkitError(
                "calibrate: the calibration variables are collinear in the sample "
                f"({', '.join(names)}); drop one"
            ) from exc
        g = 1.0 + matrix @ coefficients
    else:
        g = _grake(matrix, weights, population, max_iterations, epsilon)
    if np.any(g <= 0):
        row = int(np.flatnonzero(g <= 0)[0])
        raise EvalkitError(
            f"calibrate: linear calibration gives row {row + 1} a weight of "
            f"{weights[row] * g[row]:.4g}; expected positive weights (use calfun='raking')"
        )
    step = RegressionStep(basis=_column_basis(scaled), scale=g * root, label=label)
    return _with_step(design, weights * g, step)


def carry(source: SurveyDesign, target: SurveyDesign, rows: np.ndarray) -> SurveyDesign:
    """Give ``target`` (built from ``source``'s rows ``rows``, e.g. one row per person of
    each household) ``source``'s calibrated weights and calibration residualisation.

    Examples
    --------
    A household design post-stratified, then one row per person carrying its household's
    calibrated weight:

    >>> import numpy as np
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> households = SurveyDesign(pd.DataFrame({"type": ["a", "b"], "weight": [10.0, 10.0]}),
    ...                           weights="weight")
    >>> post = households.poststratify("type", {"a": 30, "b": 10})
    >>> rows = np.array([0, 0, 0, 1])
    >>> people = SurveyDesign(households.data.iloc[rows].reset_index(drop=True), weights="weight")
    >>> carry(post, people, rows).weight_values.tolist()
    [30.0, 30.0, 30.0, 10.0]
    """
    steps = source.calibration_chain
    if not steps:
        return target
    rows = np.asarray(rows, dtype=np.int64)
    base = source.calibration_rows
    mapped = rows if base is None else base[rows]
    # distinct rows counted in linear time (np.unique sorts a row per person)
    if np.count_nonzero(np.bincount(mapped, minlength=steps_size(steps))) != steps_size(steps):
        raise EvalkitError(
            "a design built from a calibrated one needs at least one row for each of its "
            "rows (a household of size 0?)"
        )
    return target.reweighted(source.full_weights[rows], calibration_chain=steps,
                             calibration_rows=mapped)


def model_matrix(data: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Intercept, numeric columns as they are, factors with treatment contrasts (R's
    ``model.matrix`` with the default ``contr.treatment``); names as R gives them.

    Examples
    --------
    >>> import pandas as pd
    >>> data = pd.DataFrame({"type": ["a", "b", "c"], "x": [1.0, 2.0, 5.0]})
    >>> matrix, names = model_matrix(data, ["type", "x"])
    >>> names
    ['Intercept', 'typeb', 'typec', 'x']
    >>> matrix[:, 1:3].tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    """
    blocks = [np.ones((len(data), 1))]
    names = [INTERCEPT]
    order = {}
    for term in columns:
        for name in term.split(":"):
            order.setdefault(name, len(order))
    for column in columns:
        if ":" in column:
            block, block_names = interaction_columns(data, column, set(columns), order)
            blocks.append(block)
            names.extend(block_names)
            continue
        series = data[column]
        if series.isna().any():
            row = int(np.flatnonzero(series.isna().to_numpy())[0])
            raise EvalkitError(
                f"calibrate: column {column!r} row {row + 1} is empty; calibration needs a "
                "value on every row"
            )
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            blocks.append(series.to_numpy(dtype=float)[:, None])
            names.append(column)
            continue
        labels = level_texts(series)
        levels = sorted(pd.unique(labels))
        codes = pd.Index(levels).get_indexer(labels)
        dummies = np.zeros((len(data), len(levels) - 1))
        nonref = codes > 0
        dummies[np.flatnonzero(nonref), codes[nonref] - 1] = 1.0
        blocks.append(dummies)
        names.extend(f"{column}{level}" for level in levels[1:])
    return np.hstack(blocks), names


def describe(design: SurveyDesign) -> list[str]:
    """The calibration steps applied to ``design``, in order (for notes and reports).

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"type": ["a", "b"], "weight": [10.0, 10.0]}),
    ...                       weights="weight")
    >>> describe(design.poststratify("type", {"a": 30, "b": 10}))
    ['poststratify on type']
    """
    return list(design.calibration_steps)


# --- internals ------------------------------------------------------------------------
def _with_step(design: SurveyDesign, weights: np.ndarray, step: CalibrationStep
               ) -> SurveyDesign:
    return design.reweighted(weights, calibration_chain=(*design.calibration_chain, step))


def check_full(design: SurveyDesign, what: str) -> None:
    """Stop unless ``design`` is a full household design: calibrating a domain or a design
    derived one row per person would calibrate the wrong rows (calibrate first, then take
    domains, as R's ``survey`` requires for ``subset`` after ``calibrate``).

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"type": ["a", "b"], "weight": [10.0, 10.0]}),
    ...                       weights="weight")
    >>> check_full(design.subset(design.data["type"] == "a"), "poststratify")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: poststratify: the design is restricted to a ...
    """
    if not bool(np.all(design.domain)):
        raise EvalkitError(
            f"{what}: the design is restricted to a domain; calibrate the full sample, "
            "then take the domain (subset or by=)"
        )
    if design.calibration_rows is not None:
        raise EvalkitError(f"{what}: calibrate the household design, not a derived one")


def _as_columns(design: SurveyDesign, column: str | Sequence[str], what: str) -> list[str]:
    columns = [column] if isinstance(column, str) else list(column)
    if not columns:
        raise EvalkitError(f"{what}: no column given")
    for name in columns:
        if name not in design.data.columns:
            raise EvalkitError(
                f"{what}: column {name!r} is not in the data; columns are "
                + ", ".join(map(str, design.data.columns[:20]))
            )
        if design.data[name].isna().any():
            row = int(np.flatnonzero(design.data[name].isna().to_numpy())[0])
            raise EvalkitError(
                f"{what}: column {name!r} row {row + 1} is empty; every sampled row needs "
                "a level"
            )
    return columns


def _formula_columns(design: SurveyDesign, formula: str | Sequence[str]) -> list[str]:
    """Column names from ``"a + b"`` (optionally with a leading ``~``) or a list."""
    if isinstance(formula, str):
        text = formula.strip()
        if text.startswith("~"):
            text = text[1:]
        parts = [part.strip() for part in text.split("+")]
        if any(not part for part in parts):
            raise EvalkitError(
                f"calibrate: formula {formula!r}; expected column names joined by '+'"
            )
    else:
        parts = [str(part) for part in formula]
    known = set(map(str, design.data.columns))
    for part in parts:
        names = [name.strip() for name in part.split(":")]
        if len(names) > 2 or any(name not in known for name in names):
            raise EvalkitError(
                f"calibrate: {part!r} in formula {formula!r} is not a column of the data; "
                "expected column names (or a numeric:factor pair) joined by '+' "
                "(no expressions)"
            )
    parts = [":".join(name.strip() for name in part.split(":")) for part in parts]
    if len(set(parts)) != len(parts):
        raise EvalkitError(f"calibrate: formula {formula!r} names a column twice")
    return parts


def _poststratify_weights(weights: np.ndarray, cells: np.ndarray, labels: list[tuple],
                          table: dict[tuple, float], columns: Sequence[str], what: str
                          ) -> tuple[np.ndarray, np.ndarray]:
    """R's postStratify: ``w * N_c / sum_{i in c} w_i`` (returns new weights, factors)."""
    sample = np.bincount(cells, weights=weights, minlength=len(labels))
    population = np.empty(len(labels))
    name = " x ".join(columns)
    for code, label in enumerate(labels):
        if label not in table:
            shown = label[0] if len(label) == 1 else label
            raise EvalkitError(
                f"{what}: level {shown!r} of {name} is in the sample but has no population "
                "count"
            )
        population[code] = table[label]
    missing = sorted(set(table) - set(labels), key=str)
    missing = [m for m in missing if table[m] > 0]
    if missing:
        shown = missing[0][0] if len(missing[0]) == 1 else missing[0]
        raise EvalkitError(
            f"{what}: level {shown!r} of {name} has a population count of "
            f"{table[missing[0]]:g} but no sampled row; merge it with a neighbouring level"
        )
    if np.any(population == 0):
        code = int(np.flatnonzero(population == 0)[0])
        raise EvalkitError(
            f"{what}: level {labels[code]!r} of {name} has sampled rows but a population "
            "count of 0"
        )
    factor = population / sample
    return weights * factor[cells], factor


def _totals_vector(totals: Mapping[str, float] | pd.Series, names: list[str]) -> np.ndarray:
    if not isinstance(totals, Mapping | pd.Series):
        raise EvalkitError("calibrate: totals must be a mapping {model-matrix column: total}")
    given = {("Intercept" if str(k) == "(Intercept)" else str(k)): v
             for k, v in totals.items()}
    missing = [name for name in names if name not in given]
    extra = [name for name in given if name not in names]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(missing))
        if extra:
            parts.append("unknown " + ", ".join(map(str, extra)))
        raise EvalkitError(
            f"calibrate: totals {'; '.join(parts)}; expected exactly the model-matrix "
            f"columns {', '.join(names)}"
        )
    out = np.empty(len(names))
    for index, name in enumerate(names):
        try:
            out[index] = float(given[name])
        except (TypeError, ValueError):
            out[index] = float("nan")
        if not np.isfinite(out[index]):
            raise EvalkitError(
                f"calibrate: total for {name!r} is {given[name]!r}; expected a number"
            )
    return out


def _grake(matrix: np.ndarray, weights: np.ndarray, population: np.ndarray,
           max_iterations: int, epsilon: float) -> np.ndarray:
    """R's ``survey:::grake`` with ``cal.raking`` and no bounds: ``g = exp(X eta)``."""
    ww = weights.copy()
    sample_total = ww @ matrix
    with np.errstate(divide="ignore"):
        scales = population / sample_total
    scale = None
    if np.min(scales) > 20:
        scale = float(np.mean(scales))
        ww = ww * scale
        sample_total = sample_total * scale
    eta = np.zeros(matrix.shape[1])
    xeta = matrix @ eta
    g = np.exp(xeta)
    iteration = 1
    while True:
        deriv = np.exp(xeta)
        tmat = (matrix * (ww * deriv)[:, None]).T @ matrix
        misfit = population - sample_total - ww @ (matrix * (np.exp(xeta) - 1)[:, None])
        step = np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + step
        xeta = matrix @ eta
        with np.errstate(over="ignore"):
            g = np.exp(xeta)
        while iteration < max_iterations and not np.all(np.isfinite(g)):
            iteration += 1
            step = step / 2
            eta = eta - step
            xeta = matrix @ eta
            g = np.exp(xeta)
        misfit = population - sample_total - ww @ (matrix * (g - 1)[:, None])
        if np.all(np.abs(misfit) / (1 + np.abs(population)) < epsilon):
            break
        iteration += 1
        if iteration > max_iterations:
            achieved = float(np.max(np.abs(misfit) / (1 + np.abs(population))))
            raise EvalkitError(
                f"calibrate: raking calibration did not converge in {max_iterations} "
                f"iterations (relative misfit {achieved:.3g}); the totals may be "
                "unreachable with positive weights"
            )
    if scale is not None:
        g = g * scale
    return g


def _column_basis(matrix: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the column space (rank-revealing, for ``qr.resid``)."""
    u, s, _ = np.linalg.svd(matrix, full_matrices=False)
    rank = int(np.sum(s > s[0] * 1e-10)) if s.size and s[0] > 0 else 0
    return u[:, :rank]


def _group_sums(groups: np.ndarray, x: np.ndarray, n_groups: int) -> np.ndarray:
    out = np.empty((n_groups, x.shape[1]))
    for j in range(x.shape[1]):  # j runs over statistics, not households
        out[:, j] = np.bincount(groups, weights=x[:, j], minlength=n_groups)
    return out

