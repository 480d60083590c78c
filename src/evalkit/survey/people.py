"""From a design over households to a design over their members.

A household rate of people (wrongly exited people per person in exited households) is a
ratio of totals; expanding each household into its members, who keep the household's
weight, stratum and PSU, turns it into a proportion with the same estimate and the same
linearization SE (Lumley 2010, sec. 2.4 on ratios; the household stays the cluster).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.survey.calibration import carry
from evalkit.survey.design import SurveyDesign


def integer_column(data: pd.DataFrame, column: str) -> np.ndarray:
    """A column of whole numbers as int64; a missing column or a non-number is a one-line
    error naming the column and the file row (header = row 1).

    Examples
    --------
    >>> import pandas as pd
    >>> integer_column(pd.DataFrame({"size": [3.0, 4.0]}), "size")
    array([3, 4])
    >>> integer_column(pd.DataFrame({"size": [3.5]}), "size")
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: survey data: column 'size' row 2 is 3.5; ...
    """
    if column not in data.columns:
        raise EvalkitError(f"survey data: column {column!r} is missing; see docs/codebook.md")
    values = pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float)
    if np.any(np.isnan(values)):
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise EvalkitError(
            f"survey data: column {column!r} row {row + 2} is empty or not a number; "
            "expected a whole number"
        )
    fractional = values != np.round(values)
    if np.any(fractional):
        row = int(np.flatnonzero(fractional)[0])
        raise EvalkitError(
            f"survey data: column {column!r} row {row + 2} is {values[row]:g}; "
            "expected a whole number"
        )
    return values.astype(np.int64)


def people_design(design: SurveyDesign, count: str, size: str, flag: str = "affected"
                  ) -> SurveyDesign:
    """Person-level version of a household design: one row per person.

    The first ``count`` people of each household get ``flag = 1``. Persons keep their
    household's weight, stratum, PSU and fpc; when the household design has no PSU the
    household becomes the PSU, since its members are not independent.

    Examples
    --------
    Two households of 3 and 2 people, one person affected in the first: five rows, the
    household the PSU, the rate per person 1/5 (the same as ``design.ratio("count",
    "size")``).

    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> households = SurveyDesign(pd.DataFrame({"count": [1, 0], "size": [3, 2],
    ...                                         "weight": [10.0, 10.0]}), weights="weight")
    >>> people = people_design(households, "count", "size")
    >>> len(people.data), people.mean("affected").estimate
    (5, 0.2)
    """
    data = design.data
    sizes = integer_column(data, size)
    counts = integer_column(data, count)
    if np.any(counts > sizes):
        row = int(np.flatnonzero(counts > sizes)[0])
        raise EvalkitError(
            f"{count!r} row {row + 1} is {counts[row]} but {size!r} is {sizes[row]}; "
            "expected a count no larger than the household"
        )
    household = np.repeat(np.arange(len(data)), sizes)
    rank = np.arange(household.size) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    persons = data.iloc[household].reset_index(drop=True)
    persons[flag] = (rank < counts[household]).astype(np.int8)
    psu = design.psu
    if psu is None:
        persons["_household_row"] = household
        psu = "_household_row"
    people = SurveyDesign(
        persons, psu=psu, strata=design.strata, weights=design.weights,
        probs=design.probs, fpc=design.fpc, lonely_psu=design.lonely_psu, pps=design.pps,
        domain=design.domain[household],
    )
    # A calibrated household design passes on its weights and calibration residuals.
    return carry(design, people, household)
