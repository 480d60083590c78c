"""Finite population corrections of a design's stages, read from its ``fpc`` columns.

As R's ``survey:::as.fpc``: an fpc value is a population count (every value above 1) or a
sampling fraction (every value at most 1), one per stratum (and per earlier cluster at later
stages); with ``pps="brewer"`` it is each unit's inclusion probability ``pi_i`` and the unit's
factor is ``1 - pi_i`` (Brewer's approximation; Brewer 2002, sec. 9.6; Lumley 2010, sec. 3.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.survey.columns import numeric_column

__all__ = ["stratum_fpc", "unit_pps_fpc"]


def stratum_fpc(
    data: pd.DataFrame,
    spec: str | float | None,
    group: np.ndarray,
    group_size: np.ndarray,
    stage_index: int,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return (N - n)/N per group and the population count N (None without fpc).

    Examples
    --------
    Two strata with 3 and 1 sampled PSUs out of 30 and 10 (R's ``as.fpc``):

    >>> import numpy as np
    >>> import pandas as pd
    >>> data = pd.DataFrame({"N": [30, 30, 30, 10]})
    >>> factor, population = stratum_fpc(data, "N", np.array([0, 0, 0, 1]),
    ...                                  np.array([3.0, 1.0]), 0)
    >>> factor.tolist(), population.tolist()
    ([0.9, 0.9], [30.0, 10.0])
    """
    if spec is None:
        return np.ones_like(group_size), None
    if isinstance(spec, str):
        values = numeric_column(data, spec, "fpc")
    else:
        values = np.full(len(group), float(spec))
    if np.any(values <= 0):
        row = int(np.flatnonzero(values <= 0)[0])
        raise EvalkitError(
            f"SurveyDesign: fpc column {spec!r} row {row + 1} is {values[row]}; "
            "expected a population count >= 1 or a sampling fraction in (0, 1]"
        )
    n_groups = len(group_size)
    first = np.full(n_groups, np.nan)
    first[group[::-1]] = values[::-1]
    if not np.allclose(values, first[group], rtol=1e-12, atol=0):
        row = int(np.flatnonzero(~np.isclose(values, first[group], rtol=1e-12, atol=0))[0])
        raise EvalkitError(
            f"SurveyDesign: fpc column {spec!r} row {row + 1} differs from other rows of "
            "its stratum; expected one value per stratum"
        )
    if np.all(values <= 1):
        # Sampling fractions, as R's as.fpc: population = sample size / fraction.
        population = group_size / first
    else:
        population = first
    if np.any(population < group_size - 1e-9):
        g = int(np.flatnonzero(population < group_size - 1e-9)[0])
        raise EvalkitError(
            f"SurveyDesign: fpc column {spec!r} at stage {stage_index + 1} gives a "
            f"population of {population[g]:g} units but {int(group_size[g])} were "
            "sampled; expected population >= sample"
        )
    return (population - group_size) / population, population

def unit_pps_fpc(
    data: pd.DataFrame,
    spec: str | float,
    unit: np.ndarray,
    unit_group: np.ndarray,
    group_size: np.ndarray,
    stage_index: int,
    pps: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``1 - pi_i`` per unit and the population ``n_h / pi_i`` R's ``as.fpc``
    derives from an inclusion probability ``pi_i`` (fpc as a sampling fraction).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> data = pd.DataFrame({"pi": [0.5, 0.5, 0.2]})
    >>> factor, population = unit_pps_fpc(data, "pi", np.array([0, 0, 1]), np.array([0, 0]),
    ...                                   np.array([2.0]), 0, "brewer")
    >>> factor.tolist(), population.tolist()
    ([0.5, 0.8], [4.0, 10.0])
    """
    if isinstance(spec, str):
        values = numeric_column(data, spec, "fpc")
    else:
        values = np.full(len(data), float(spec))
    bad = ~((values > 0) & (values <= 1))
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise EvalkitError(
            f"SurveyDesign: fpc column {spec!r} row {row + 1} is {values[row]}; "
            f"pps={pps!r} expects each PSU's inclusion probability in (0, 1]"
        )
    n_units = unit_group.size
    first = np.full(n_units, np.nan)
    first[unit[::-1]] = values[::-1]
    differs = ~np.isclose(values, first[unit], rtol=1e-12, atol=0)
    if np.any(differs):
        row = int(np.flatnonzero(differs)[0])
        raise EvalkitError(
            f"SurveyDesign: fpc column {spec!r} row {row + 1} differs from other rows of "
            f"its stage-{stage_index + 1} unit; expected one inclusion probability per unit"
        )
    population = group_size[unit_group] / first
    return (population - group_size[unit_group]) / population, population
