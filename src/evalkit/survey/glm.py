"""R's glm.fit for the logit link, iterate for iterate (IRLS with R's eta clamp, aliasing and
step-halving), and a batched version for bootstrap replicates (R Core Team,
src/library/stats/R/glm.R).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import linalg, special

from evalkit.contract.errors import EvalkitError

if TYPE_CHECKING:
    pass


# R's logit link (src/library/stats/src/family.c): eta beyond +-30 is clamped.
_THRESH = 30.0


_EPS = np.finfo(float).eps


_INV_EPS = 1.0 / _EPS


# Columns whose weighted residual norm after projecting on earlier columns is below this
# share of their own norm are aliased (R's glm.fit uses a QR tolerance of 1e-11 on the
# norms; the normal equations square it, and cannot resolve more than ~1e-6 here).
_ALIAS_TOLERANCE = 1e-12


# --------------------------------------------------------------------------------------
# IRLS, iterate for iterate as R's glm.fit
# --------------------------------------------------------------------------------------
def _in_range(eta: np.ndarray) -> bool:
    return bool(eta.max() <= _THRESH and eta.min() >= -_THRESH)


def _linkinv(eta: np.ndarray) -> np.ndarray:
    if _in_range(eta):
        return special.expit(eta)
    tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, _INV_EPS, np.exp(
        np.clip(eta, -_THRESH, _THRESH))))
    return tmp / (1.0 + tmp)


def logit_mu_eta(eta: np.ndarray, mu: np.ndarray | None = None) -> np.ndarray:
    """d mu / d eta; ``mu (1 - mu)`` inside the clamp (equal up to rounding, one pass).

    Examples
    --------
    >>> import numpy as np
    >>> logit_mu_eta(np.array([0.0, 2.0])).round(4)
    array([0.25 , 0.105])
    """
    if mu is not None and _in_range(eta):
        return mu * (1.0 - mu)
    clipped = np.clip(eta, -_THRESH, _THRESH)
    opexp = 1.0 + np.exp(clipped)
    return np.where(np.abs(eta) > _THRESH, _EPS, np.exp(clipped) / (opexp * opexp))


def _deviance(y: np.ndarray, mu: np.ndarray, w: np.ndarray,
              events: np.ndarray | None = None) -> float:
    """Binomial deviance ``2 sum w (y log(y/mu) + (1-y) log((1-y)/(1-mu)))`` (R's C code).

    ``events``: the boolean ``y == 1`` when every ``y`` is 0 or 1 (then one log per row).
    """
    if events is not None:
        return float(-2.0 * np.dot(w, np.log(np.where(events, mu, 1.0 - mu))))
    return float(np.sum(2.0 * w * (special.xlogy(y, y / mu)
                                   + special.xlogy(1.0 - y, (1.0 - y) / (1.0 - mu)))))


def _solve_normal(gram: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``gram b = rhs`` by Cholesky after equilibration (better conditioned)."""
    scale = 1.0 / np.sqrt(np.diag(gram))
    scaled = gram * scale[:, None] * scale[None, :]
    factor = linalg.cho_factor(scaled, lower=False, check_finite=False)
    return scale * linalg.cho_solve(factor, rhs * scale, check_finite=False)


def _inverse(gram: np.ndarray) -> np.ndarray:
    scale = 1.0 / np.sqrt(np.diag(gram))
    scaled = gram * scale[:, None] * scale[None, :]
    factor = linalg.cho_factor(scaled, lower=False, check_finite=False)
    inverse = linalg.cho_solve(factor, np.eye(gram.shape[0]), check_finite=False)
    return inverse * scale[:, None] * scale[None, :]


def aliased_columns(gram: np.ndarray) -> list[int]:
    """Columns that are (numerically) linear combinations of earlier ones.

    Sequential Gram-Schmidt on the weighted Gram matrix: R's pivoting QR likewise keeps the
    first of a set of collinear columns and declares the later ones aliased.

    Examples
    --------
    The third column is the sum of the first two:

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0], [1.0, 0.0, 1.0]])
    >>> aliased_columns(X.T @ X)
    [2]
    """
    diag = np.diag(gram).copy()
    aliased: list[int] = []
    kept: list[int] = []
    for j in range(gram.shape[0]):  # loop over the few model columns
        if diag[j] <= 0:
            aliased.append(j)
            continue
        if kept:
            sub = gram[np.ix_(kept, kept)]
            cross = gram[kept, j]
            residual = diag[j] - cross @ np.linalg.lstsq(sub, cross, rcond=None)[0]
        else:
            residual = diag[j]
        if residual <= _ALIAS_TOLERANCE * diag[j]:
            aliased.append(j)
        else:
            kept.append(j)
    return aliased


@dataclass
class GlmFit:
    """A logistic IRLS fit (:func:`glm_fit_logit`), with what R's ``glm.fit`` keeps of its
    last step: the coefficients ``beta``, fitted ``mu`` and linear predictor ``eta``, the
    working weights ``w m`` and ``(X' W X)^-1`` of the last IRLS step (evaluated at the
    previous iterate, as in R), the iterations, whether it converged, and the deviance.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    >>> fit = glm_fit_logit(X, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0]), np.ones(6), ["1", "x"])
    >>> fit.converged, fit.beta.round(4).tolist()
    (True, [-3.0351, 1.214])
    """

    beta: np.ndarray
    mu: np.ndarray  # final fitted values
    eta: np.ndarray
    working_weights: np.ndarray  # w m from the last IRLS step (previous iterate)
    a_inverse: np.ndarray  # (X' W X)^-1 from the last IRLS step
    iterations: int
    converged: bool
    deviance: float


def glm_fit_logit(X: np.ndarray, y: np.ndarray, prior: np.ndarray, names: Sequence[str],
                   epsilon: float = 1e-8, max_iterations: int = 25) -> GlmFit:
    """Logistic IRLS as R's ``glm.fit`` (rows with zero prior weight must be removed).

    Examples
    --------
    As R's ``glm(y ~ x, family = binomial)`` on six points:

    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    >>> fit = glm_fit_logit(X, np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0]), np.ones(6), ["1", "x"])
    >>> fit.beta.round(4).tolist(), round(fit.deviance, 4)
    ([-3.0351, 1.214], 4.956)
    """
    events = (y == 1) if np.all((y == 0) | (y == 1)) else None
    mu = (prior * y + 0.5) / (prior + 1.0)
    eta = special.logit(mu)
    dev_old = _deviance(y, mu, prior, events)
    beta_old: np.ndarray | None = None
    converged = False
    iteration = 0
    gram = np.eye(X.shape[1])
    working = prior
    beta = np.zeros(X.shape[1])
    dev = dev_old
    for iteration in range(1, max_iterations + 1):  # iterations, not households
        mu_eta = logit_mu_eta(eta, mu)
        z = eta + (y - mu) / mu_eta
        working = prior * (mu_eta**2 / (mu * (1.0 - mu)))
        weighted_x = X * working[:, None]
        gram = weighted_x.T @ X
        if iteration == 1:
            aliased = aliased_columns(gram)
            if aliased:
                raise EvalkitError(
                    "logit: term(s) " + ", ".join(repr(names[j]) for j in aliased)
                    + " are collinear with earlier terms (or constant zero) in the data; "
                    "expected linearly independent columns: drop or merge them"
                )
        beta = _solve_normal(gram, weighted_x.T @ z)
        eta = X @ beta
        mu = _linkinv(eta)
        dev = _deviance(y, mu, prior, events)
        halvings = 0
        while not np.isfinite(dev):
            # R's step halving when the deviance is not finite.
            if beta_old is None or halvings > max_iterations:
                raise EvalkitError(
                    "logit: IRLS produced a non-finite deviance; expected a model the data "
                    "can identify (check for separation)"
                )
            beta = (beta + beta_old) / 2.0
            eta = X @ beta
            mu = _linkinv(eta)
            dev = _deviance(y, mu, prior, events)
            halvings += 1
        if abs(dev - dev_old) / (abs(dev) + 0.1) < epsilon:
            converged = True
            break
        dev_old = dev
        beta_old = beta
    return GlmFit(beta=beta, mu=mu, eta=eta, working_weights=working,
                   a_inverse=_inverse(gram), iterations=iteration, converged=converged,
                   deviance=dev)


def batch_logit(X: np.ndarray, y: np.ndarray, weights: np.ndarray, start: np.ndarray,
                 tolerance: float = 1e-10, max_iterations: int = 50) -> np.ndarray:
    """Weighted logistic fits for many weight vectors at once (replicate designs).

    ``weights`` is ``(n, B)``; returns ``(B, p)`` coefficients. Newton-Raphson from
    ``start`` (the full-sample estimate), vectorized over replicates: each step forms the
    ``B`` weighted Gram matrices with one ``einsum`` and solves them together.

    A replicate whose fit does not exist is returned as a row of NaN, never an error: its
    Gram matrix is singular (a drawn set of villages leaves a covariate without variation,
    e.g. no dibao household among the dissatisfied ones), its Newton steps do not settle
    (separation: coefficients run off to infinity) or its coefficients are not finite.
    Callers drop such replicates and say how many (:func:`evalkit.survey.decomposition.fairlie`).

    Examples
    --------
    Two weight vectors at once; equal weights give the ordinary fit:

    >>> import numpy as np
    >>> X = np.column_stack([np.ones(6), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
    >>> y = np.array([0.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    >>> weights = np.column_stack([np.ones(6), [1.0, 2.0, 1.0, 1.0, 2.0, 1.0]])
    >>> batch_logit(X, y, weights, np.zeros(2)).round(4)
    array([[-3.0351,  1.214 ],
           [-3.7668,  1.5067]])
    """
    n_rep = weights.shape[1]
    n_par = X.shape[1]
    beta = np.tile(start, (n_rep, 1)).astype(float)
    failed = np.zeros(n_rep, dtype=bool)
    settled = np.zeros(n_rep, dtype=bool)
    for _ in range(max_iterations):
        active = ~(failed | settled)
        if not np.any(active):
            break
        eta = X @ beta[active].T  # (n, B_active)
        mu = special.expit(eta)
        w_active = weights[:, active]
        working = w_active * mu * (1.0 - mu)
        gram = np.einsum("nb,nj,nk->bjk", working, X, X, optimize=True)
        score = (X.T @ (w_active * (y[:, None] - mu))).T  # (B, p)
        # Equilibrate, then treat a reciprocal condition number below 1e-12 as singular.
        diag = np.einsum("bjj->bj", gram)
        positive = np.all(diag > 0, axis=1)
        scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
        scaled = gram * scale[:, :, None] * scale[:, None, :]
        eigen = np.linalg.eigvalsh(scaled)
        singular = ~positive | (eigen[:, 0] <= 1e-12 * np.maximum(eigen[:, -1], 1e-300))
        safe = np.where(singular[:, None, None], np.eye(n_par), scaled)
        step = scale * np.linalg.solve(safe, (score * scale)[:, :, None])[:, :, 0]
        step[singular] = 0.0
        index = np.flatnonzero(active)
        beta[index] = beta[index] + step
        bad = singular | ~np.all(np.isfinite(beta[index]), axis=1)
        failed[index[bad]] = True
        small = np.max(np.abs(step), axis=1) < tolerance * (
            1.0 + np.max(np.abs(beta[index]), axis=1))
        settled[index[small & ~bad]] = True
    failed |= ~settled
    beta[failed] = np.nan
    return beta
