"""What a survey design is, in a few lines: R's ``print``/``summary(svydesign)``, Stata's
``svydescribe``.

``repr(design)`` is a short description (a few lines whatever the sample's size) and
``design.summary()`` adds the table by stratum that ``svydescribe`` prints: PSUs,
observations, observations per PSU (min/mean/max), weight sum and the sampling fraction. Both
show the design (type, strata, PSUs, weights, fpc, lonely-PSU rule, calibration and
non-response steps), never a row of the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from evalkit.survey.columns import as_list

if TYPE_CHECKING:
    from evalkit.survey.design import SurveyDesign

# Column that evalkit.survey.nonresponse.adjust_sample keeps the design weights in when it
# replaces them with non-response-adjusted ones: its presence says the step was applied.
BEFORE_NONRESPONSE = "{weights}_before_nonresponse"
# Strata listed one per line in the summary's text; beyond, the first and last ones.
STRATA_SHOWN = 20


@dataclass(frozen=True)
class DesignSummary:
    """A design described, as R's ``summary(svydesign)`` and Stata's ``svydescribe``.

    Attributes
    ----------
    design_type
        In words: stratified or not, clustered in how many stages, with or without
        replacement at the first stage (R's first line of ``print(design)``).
    variables
        The design's columns by role: ``psu``, ``strata``, ``weights``/``probs``, ``fpc``.
    rows, domain_rows
        Observations (rows) in the sample and in the current domain (equal outside a domain).
    n_strata, n_psu
        First-stage strata and PSUs.
    psu_per_stratum
        (min, mean, max) PSUs per stratum.
    rows_per_psu
        (min, mean, max) observations per PSU (Stata's "#Obs per Unit").
    weights
        (min, max, sum) of the weights of the domain's observations.
    fpc
        How the first stage's finite population correction is taken, in words.
    lonely_psu
        The rule for a stratum with one PSU (R's ``options(survey.lonely.psu)``).
    calibration
        The calibration steps applied, in order (empty when none).
    nonresponse
        The non-response adjustment applied (empty when none), in words.
    by_stratum
        One row per stratum: ``PSUs``, ``obs`` (observations), ``obs_per_psu_min``,
        ``obs_per_psu_mean``, ``obs_per_psu_max``, ``weight_sum`` and, with fpc,
        ``fraction``, the first-stage sampling fraction.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> design = SurveyDesign(pd.DataFrame({"village": [1, 1, 2, 3], "weight": 5.0}),
    ...                       psu="village", weights="weight")
    >>> summary = design.summary()
    >>> summary.n_psu, summary.rows_per_psu, summary.weights
    (3, (1, 1.3333333333333333, 2), (5.0, 5.0, 20.0))
    >>> summary.lines()[0]
    'SurveyDesign: 1-stage cluster sample, first stage with replacement (no fpc)'
    """

    design_type: str
    variables: dict[str, str]
    rows: int
    domain_rows: int
    n_strata: int
    n_psu: int
    psu_per_stratum: tuple[int, float, int]
    rows_per_psu: tuple[int, float, int]
    weights: tuple[float, float, float]
    fpc: str
    lonely_psu: str
    calibration: tuple[str, ...]
    nonresponse: str
    by_stratum: pd.DataFrame

    def lines(self) -> list[str]:
        """The short description (``repr(design)``), one line per item.

        Examples
        --------
        >>> import pandas as pd
        >>> from evalkit.survey.design import SurveyDesign
        >>> data = pd.DataFrame({"village": [1, 1, 2], "weight": 5.0})
        >>> design = SurveyDesign(data, psu="village", weights="weight")
        >>> design.summary().lines()[2]
        '  3 observations in 2 PSUs'
        """
        low, mean, high = self.psu_per_stratum
        w_min, w_max, w_sum = self.weights
        roles = ", ".join(f"{role}={column}" for role, column in self.variables.items())
        out = [f"SurveyDesign: {self.design_type}",
               f"  {roles}" if roles else "  no design columns (equal weights)",
               f"  {self.rows:,} observations in {self.n_psu:,} PSUs"
               + (f" within {self.n_strata:,} strata (PSUs per stratum: min {low:,}, "
                  f"mean {mean:,.1f}, max {high:,})" if self.n_strata > 1 else "")]
        if self.domain_rows != self.rows:
            out.append(f"  domain: {self.domain_rows:,} of {self.rows:,} observations")
        out += [f"  weights: {w_min:,.4g} to {w_max:,.4g}, sum {w_sum:,.6g}",
                f"  fpc: {self.fpc}",
                f"  lonely PSU: {self.lonely_psu}",
                "  calibration: " + ("; ".join(self.calibration) if self.calibration
                                     else "none"),
                f"  non-response: {self.nonresponse or 'none'}"]
        return out

    def __str__(self) -> str:
        low, mean, high = self.rows_per_psu
        # Printed to what matters (the table itself keeps full precision).
        table = self.by_stratum.round({"obs_per_psu_mean": 1, "weight_sum": 1, "fraction": 4})
        if len(table) > STRATA_SHOWN:
            half = STRATA_SHOWN // 2
            shown = table.iloc[:half].to_string() + "\n...\n" + table.iloc[-half:].to_string(
                header=False)
        else:
            shown = table.to_string()
        return "\n".join([*self.lines(),
                          f"  observations per PSU: min {low:,}, mean {mean:,.1f}, max {high:,}",
                          "", "By stratum:", shown])

    def __repr__(self) -> str:
        return str(self)


def design_type(design: SurveyDesign) -> str:
    """The design in words, as R's first line of ``print(design)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"stratum": [1, 1, 2, 2], "village": [1, 2, 3, 4],
    ...                      "weight": [10.0, 10.0, 20.0, 20.0]})
    >>> design_type(SurveyDesign(data, psu="village", strata="stratum", weights="weight"))
    'stratified 1-stage cluster sample, first stage with replacement (no fpc)'
    """
    stages = len(as_list(design.psu))
    kind = ("independent sampling (no clusters)" if stages == 0
            else f"{stages}-stage cluster sample")
    if design.strata is not None:
        kind = f"stratified {kind}"
    if design.fpc is None:
        return f"{kind}, first stage with replacement (no fpc)"
    if design.pps is not None:
        return f"{kind}, PPS without replacement ({design.pps.capitalize()}'s approximation)"
    return f"{kind}, without replacement (fpc)"


def summarize(design: SurveyDesign) -> DesignSummary:
    """Describe ``design`` without showing its data (``SurveyDesign.summary``).

    Parameters
    ----------
    design
        Any survey design, calibrated or not, restricted to a domain or not.

    Returns
    -------
    DesignSummary
        Counts, ranges and the table by stratum; ``str()`` of it is the printed summary.

    Examples
    --------
    >>> import pandas as pd
    >>> from evalkit.survey.design import SurveyDesign
    >>> data = pd.DataFrame({"stratum": [1, 1, 1, 2, 2], "village": [1, 1, 2, 3, 4],
    ...                      "weight": [10.0, 10.0, 12.0, 20.0, 20.0], "N": [8, 8, 8, 5, 5]})
    >>> summary = summarize(SurveyDesign(data, psu="village", strata="stratum",
    ...                                  weights="weight", fpc="N"))
    >>> summary.psu_per_stratum, summary.weights
    ((2, 2.0, 2), (10.0, 20.0, 72.0))
    >>> print(summary)
    SurveyDesign: stratified 1-stage cluster sample, without replacement (fpc)
      psu=village, strata=stratum, weights=weight, fpc=N
      5 observations in 4 PSUs within 2 strata (PSUs per stratum: min 2, mean 2.0, max 2)
      weights: 10 to 20, sum 72
      fpc: first-stage sampling fraction 0.25 to 0.4
      lonely PSU: fail
      calibration: none
      non-response: none
      observations per PSU: min 1, mean 1.2, max 2
    <BLANKLINE>
    By stratum:
    ...
    >>> summary.by_stratum[["PSUs", "obs", "obs_per_psu_mean", "weight_sum", "fraction"]]
             PSUs  obs  obs_per_psu_mean  weight_sum  fraction
    stratum
    1           2    3               1.5        32.0      0.25
    2           2    2               1.0        40.0      0.40
    """
    data = design.data
    domain = np.asarray(design.domain, dtype=bool)
    psu = design.psu_codes
    psu_stratum = design.psu_strata
    psu_rows = np.bincount(psu, minlength=design.n_psu)
    psu_counts = design.stratum_psu_counts.astype(np.int64)
    n_strata = len(psu_counts)
    stratum_rows = np.bincount(psu_stratum, weights=psu_rows, minlength=n_strata)
    weights = design.weight_values
    stratum_weight = np.bincount(psu_stratum[psu], weights=weights, minlength=n_strata)
    row_min = np.full(n_strata, np.iinfo(np.int64).max)
    np.minimum.at(row_min, psu_stratum, psu_rows)
    row_max = np.zeros(n_strata, dtype=np.int64)
    np.maximum.at(row_max, psu_stratum, psu_rows)
    fraction = 1.0 - design.stratum_fpc_factor if design.fpc is not None else np.full(
        n_strata, np.nan)
    labels = (pd.Index(pd.unique(data[design.strata])).sort_values()
              if design.strata is not None else pd.Index(["(all)"]))
    by_stratum = pd.DataFrame({
        "PSUs": psu_counts, "obs": stratum_rows.astype(np.int64),
        "obs_per_psu_min": row_min, "obs_per_psu_mean": stratum_rows / psu_counts,
        "obs_per_psu_max": row_max, "weight_sum": stratum_weight, "fraction": fraction,
    }, index=pd.Index(labels, name=design.strata or "stratum"))
    if design.fpc is None or design.pps is not None:
        # No one sampling fraction per stratum to show: drawn with replacement, or each PSU
        # has its own inclusion probability (the fpc line gives their range).
        by_stratum = by_stratum.drop(columns="fraction")

    in_domain = weights[domain]
    variables = {"psu": " > ".join(as_list(design.psu)), "strata": design.strata or "",
                 "weights": design.weights or "", "probs": design.probs or "",
                 "fpc": " > ".join(map(str, as_list(design.fpc) if not isinstance(
                     design.fpc, int | float) else [design.fpc]))}
    return DesignSummary(
        design_type=design_type(design),
        variables={role: column for role, column in variables.items() if column},
        rows=len(data), domain_rows=int(domain.sum()),
        n_strata=n_strata, n_psu=design.n_psu,
        psu_per_stratum=(int(psu_counts.min()), float(psu_counts.mean()),
                         int(psu_counts.max())),
        rows_per_psu=(int(psu_rows.min()), float(psu_rows.mean()), int(psu_rows.max())),
        weights=(float(in_domain.min()), float(in_domain.max()), float(in_domain.sum())),
        fpc=_fpc_words(design, fraction),
        lonely_psu=design.lonely_psu,
        calibration=design.calibration_steps,
        nonresponse=_nonresponse_words(design),
        by_stratum=by_stratum,
    )


def _fpc_words(design: SurveyDesign, fraction: np.ndarray) -> str:
    if design.fpc is None:
        return "none (first stage treated as drawn with replacement)"
    if design.pps is not None:
        column = design.fpc if isinstance(design.fpc, str) else list(design.fpc)[0]
        pi = pd.to_numeric(design.data[column], errors="coerce").to_numpy(dtype=float)
        return (f"PSU inclusion probabilities from {column!r}, {np.nanmin(pi):.4g} to "
                f"{np.nanmax(pi):.4g} (each PSU's term weighted by 1 - pi)")
    stages = len(as_list(design.fpc)) if not isinstance(design.fpc, int | float) else 1
    later = f"; given for {stages} stages" if stages > 1 else ""
    return (f"first-stage sampling fraction {np.nanmin(fraction):.4g} to "
            f"{np.nanmax(fraction):.4g}{later}")


def _nonresponse_words(design: SurveyDesign) -> str:
    if design.weights is None:
        return ""
    before = BEFORE_NONRESPONSE.format(weights=design.weights)
    if before not in design.data.columns:
        return ""
    original = pd.to_numeric(design.data[before], errors="coerce").to_numpy(dtype=float)
    adjusted = pd.to_numeric(design.data[design.weights], errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = adjusted / original
    factor = factor[np.isfinite(factor) & (factor > 0)]
    if factor.size == 0:
        return f"weights adjusted (design weights in {before!r})"
    return (f"weighting-class adjustment, factors {factor.min():.3g} to {factor.max():.3g} "
            f"(design weights in {before!r})")
