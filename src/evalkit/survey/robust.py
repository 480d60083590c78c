"""Cluster-robust standard errors of a survey logit from statsmodels, as an independent check
of the design-based ones (Cameron and Miller 2015; Lumley 2010, sec. 5.2)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.survey.svyglm import LogitResult, check_columns


# --------------------------------------------------------------------------------------
# Sensitivity: cluster-robust errors by village
# --------------------------------------------------------------------------------------
def cluster_robust(result: LogitResult, cluster: str | None = None) -> pd.DataFrame:
    """Cluster-robust (sandwich) standard errors by village from statsmodels, as a check.

    ``statsmodels.GLM(Binomial, var_weights=w).fit(cov_type="cluster")`` solves the same
    weighted score equations, so coefficients agree; its covariance is
    ``G/(G-1) (N-1)/(N-K) A^{-1} (sum_g U_g U_g') A^{-1}`` over clusters ``g``. The
    design-based covariance differs by (i) no ``(N-1)/(N-K)`` factor, (ii) centring cluster
    totals within strata and ``n_h/(n_h-1)`` per stratum instead of ``G/(G-1)``, (iii) the
    finite population correction, and (iv) R's working weights from the previous IRLS
    iterate. With one stratum and no fpc, ``se_cluster / se_design`` is
    ``sqrt((N-1)/(N-K))`` up to (iv). ``cluster`` defaults to the design's first-stage PSU.

    Examples
    --------
    Recognition by poverty status in the packaged synthetic county:

    >>> from evalkit.contract.data import load_survey
    >>> from evalkit.contract.paths import resolve_data_path
    >>> from evalkit.survey.design import SurveyDesign
    >>> survey = load_survey(resolve_data_path("packaged:survey.csv", "."))
    >>> fit = SurveyDesign(survey, psu="village", weights="weight").logit("recognizes ~ nonpoor")
    >>> check = cluster_robust(fit)
    >>> list(check.columns)
    ['coef', 'coef_statsmodels', 'se_design', 'se_cluster', 'ratio']
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import SpecificationWarning

    design = result.design
    if cluster is None:
        psu = design.psu
        cluster = psu if isinstance(psu, str) else (list(psu)[0] if psu else None)
    if cluster is None:
        raise EvalkitError(
            "cluster_robust: the design has no PSU column; pass cluster='village'"
        )
    data = result.analysis_data()
    check_columns(data, [cluster], "cluster_robust")
    groups = pd.factorize(data[cluster])[0]
    weights = design.weight_values[result.analysis_rows]
    y = result.response[result.analysis_rows]
    model = sm.GLM(y, result.model_matrix, family=sm.families.Binomial(), var_weights=weights)
    with warnings.catch_warnings():
        # statsmodels warns that cluster covariances with var_weights are "not fully
        # supported"; for the binomial score they are the sandwich above (tested).
        warnings.simplefilter("ignore", category=SpecificationWarning)
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups},
                        start_params=result.params.to_numpy(), tol=1e-12)
    index = result.params.index
    se_cluster = pd.Series(np.asarray(fit.bse), index=index)
    return pd.DataFrame({
        "coef": result.params,
        "coef_statsmodels": pd.Series(np.asarray(fit.params), index=index),
        "se_design": result.bse,
        "se_cluster": se_cluster,
        "ratio": se_cluster / result.bse,
    }).rename_axis("term")
