"""What every estimator returns: an estimate with its standard error, interval and design
degrees of freedom, and the few helpers every interval shares.

The lowest layer of the design-based engine: it imports nothing from evalkit but the error
type, so :mod:`evalkit.survey.design`, :mod:`evalkit.survey.intervals`,
:mod:`evalkit.survey.svyglm` and the
rest can all build on it without import cycles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evalkit.contract.errors import EvalkitError

__all__ = ["Estimate", "check_level", "t_quantile", "weighted_variance"]


@dataclass(frozen=True)
class Estimate:
    """A design-based estimate with its standard error and confidence interval.

    ``deff`` is the design effect against simple random sampling without replacement of the
    same number of units (Kish 1965; ``deff=TRUE`` in R's survey package).

    Examples
    --------
    >>> estimate = Estimate(estimate=0.1, se=0.02, ci=(0.06, 0.14), deff=1.5, df=28, n=400,
    ...                     level=0.95)
    >>> estimate.ci_low, estimate.ci_high
    (0.06, 0.14)
    >>> estimate.to_dict()["method"]
    'linearization'
    """

    estimate: float
    se: float
    ci: tuple[float, float]
    deff: float
    df: int
    n: int
    level: float
    method: str = "linearization"
    note: str = ""

    @property
    def ci_low(self) -> float:
        """Lower end of the confidence interval (``ci[0]``).

        Examples
        --------
        >>> Estimate(0.1, 0.02, (0.06, 0.14), 1.5, 28, 400, 0.95).ci_low
        0.06
        """
        return self.ci[0]

    @property
    def ci_high(self) -> float:
        """Upper end of the confidence interval (``ci[1]``).

        Examples
        --------
        >>> Estimate(0.1, 0.02, (0.06, 0.14), 1.5, 28, 400, 0.95).ci_high
        0.14
        """
        return self.ci[1]

    def to_dict(self) -> dict[str, float | int | str]:
        """The estimate as a flat dict (estimate, se, ci_low, ci_high, deff, df, n, ...), one row of
        a results table.

        Examples
        --------
        >>> Estimate(0.1, 0.02, (0.06, 0.14), 1.5, 28, 400, 0.95).to_dict()["ci_low"]
        0.06
        """
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci_low": self.ci[0],
            "ci_high": self.ci[1],
            "deff": self.deff,
            "df": self.df,
            "n": self.n,
            "level": self.level,
            "method": self.method,
            "note": self.note,
        }

    def __repr__(self) -> str:
        return (
            f"Estimate(estimate={self.estimate:.6g}, se={self.se:.6g}, "
            f"ci=({self.ci[0]:.6g}, {self.ci[1]:.6g}), deff={self.deff:.4g}, "
            f"df={self.df}, n={self.n}, method={self.method!r})"
        )


def weighted_variance(y: np.ndarray, w: np.ndarray) -> float:
    """R's ``svyvar``: sum w (y - ybar)^2 / sum w * n / (n - 1), n = nonzero weights.

    Examples
    --------
    Weights 1 give the ordinary sample variance (``n - 1`` denominator):

    >>> import numpy as np
    >>> weighted_variance(np.array([1.0, 2.0, 3.0, 4.0]), np.ones(4))
    1.6666666666666667
    >>> weighted_variance(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 1.0, 1.0, 3.0]))
    1.7777777777777777
    """
    n = np.count_nonzero(w)
    if n < 2:
        return float("nan")
    total_w = np.sum(w)
    ybar = np.sum(w * y) / total_w
    return float(np.sum(w * (y - ybar) ** 2) / total_w * n / (n - 1))



def check_level(level: float) -> None:
    """Stop unless ``0 < level < 1`` (a confidence level such as 0.95, not 95).

    Examples
    --------
    >>> check_level(95)
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: confidence level 95; expected a number between 0 and 1
    """
    if not (0 < level < 1):
        raise EvalkitError(f"confidence level {level!r}; expected a number between 0 and 1")


def t_ppf(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` degrees of freedom (NaN for ``df <= 0``).

    ``scipy.special.stdtrit`` is what ``scipy.stats.t.ppf`` calls, so the values are the
    same; importing ``scipy.special`` instead of ``scipy.stats`` takes a fraction of the time,
    and the first interval of a fresh process pays it (imported on first use: building a
    design does not need it).
    """
    from scipy import special

    return float(special.stdtrit(df, q))


def t_quantile(level: float, df: int) -> float:
    """Two-sided t quantile with the design's degrees of freedom (normal when df is huge).

    Examples
    --------
    >>> round(t_quantile(0.95, 28), 4), round(t_quantile(0.95, 10**9), 4)
    (2.0484, 1.96)
    """
    check_level(level)
    if df <= 0:
        return float("nan")
    return t_ppf(1 - (1 - level) / 2, df)
