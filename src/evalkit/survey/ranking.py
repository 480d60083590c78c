"""Confidence sets for ranks (Mogstad, Romano, Shaikh and Wilhelm 2023).

Counties are ranked by an estimated rate; "ranked low in the province" is only news when the
data can tell the counties apart. Following Mogstad, Romano, Shaikh and Wilhelm (2023),
"Inference for Ranks with Applications to Mobility across Neighbourhoods and Academic
Achievement across Countries", *Review of Economic Studies* (R package ``csranks``):

Let ``theta_1..theta_p`` be the true values, ``theta_hat`` their estimates with covariance
``Sigma`` (diagonal for counties sampled independently) and ``s_jk`` the standard error of
the difference ``theta_hat_k - theta_hat_j``, ``s_jk^2 = Sigma_jj + Sigma_kk - 2 Sigma_jk``.
Rank 1 is the largest value: ``r_j = 1 + #{k != j: theta_k > theta_j}``.

* Simultaneous bounds on the differences ``Delta_jk = theta_k - theta_j``:
  ``Delta_hat_jk -/+ c s_jk`` with ``c`` the ``level`` quantile of
  ``max |Z_k - Z_j| / s_jk`` over the pairs considered, ``Z ~ N(0, Sigma)`` drawn by
  simulation (seeded).
* From them, for county ``j``: ``N-_j = #{k: Delta_hat_jk - c s_jk > 0}`` counties surely
  above it and ``N+_j = #{k: Delta_hat_jk + c s_jk < 0}`` surely below it; the set of ranks
  it may hold is ``{N-_j + 1, ..., p - N+_j}``.
* Marginal set (``simultaneous=False``, "where does my county stand"): the maximum runs
  over the ``p - 1`` pairs involving ``j`` only, one critical value per county; the set
  covers ``r_j`` with probability at least ``level``.
* Simultaneous sets (``simultaneous=True``, "which counties are surely in the bottom
  five"): the maximum runs over all pairs; all ``p`` sets cover their ranks at once with
  probability at least ``level``.
* Step-down (``stepdown=True``, the paper's Algorithm 3.1, Romano and Wolf 2005): each
  bound is a one-sided test of ``theta_k <= theta_j``; hypotheses rejected in one step are
  dropped and the critical value is recomputed over those left, until nothing new is
  rejected. The sets are never wider than the single-step ones, with the same coverage.

Draws are processed in blocks, so memory stays ``O(block * p^2)`` whatever ``draws``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError

DEFAULT_DRAWS = 2000
_BLOCK_ELEMENTS = 4_000_000  # draws * p * p per block


def _covariance(se: np.ndarray, p: int) -> np.ndarray:
    if se.ndim == 1:
        if se.shape[0] != p:
            raise EvalkitError(f"rank_confidence_sets: {se.shape[0]} standard errors for {p} "
                               "estimates; expected one each")
        if not np.all(np.isfinite(se)) or np.any(se < 0):
            raise EvalkitError("rank_confidence_sets: standard errors must be finite and >= 0")
        return np.diag(se**2)
    if se.shape != (p, p):
        raise EvalkitError(f"rank_confidence_sets: covariance of shape {se.shape} for {p} "
                           "estimates; expected a vector of standard errors or a p x p matrix")
    if not np.all(np.isfinite(se)) or not np.allclose(se, se.T):
        raise EvalkitError("rank_confidence_sets: the covariance must be finite and symmetric")
    return se


def _factor(cov: np.ndarray) -> np.ndarray:
    """A matrix ``L`` with ``L L' = cov`` (eigen-decomposition: allows singular ``cov``)."""
    if np.count_nonzero(cov - np.diag(np.diag(cov))) == 0:
        return np.diag(np.sqrt(np.diag(cov)))
    values, vectors = np.linalg.eigh(cov)
    if values.min() < -1e-10 * max(1.0, abs(values.max())):
        raise EvalkitError("rank_confidence_sets: the covariance is not positive semi-definite")
    return vectors * np.sqrt(np.clip(values, 0.0, None))


def _pair_se(cov: np.ndarray) -> np.ndarray:
    d = np.diag(cov)
    var = d[:, None] + d[None, :] - 2.0 * cov
    return np.sqrt(np.clip(var, 0.0, None))


def _scaled(diff: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``diff / s`` where a zero ``s`` means an exact difference: +-inf, or 0 when equal."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = diff / s
    return np.where(np.isnan(t), 0.0, t)


def _pair_statistics(zb: np.ndarray, s: np.ndarray, out: np.ndarray, exact_pairs: bool
                     ) -> np.ndarray:
    """``t[r, j, k] = (Z_k - Z_j) / s_jk`` for the draws ``zb``, in place in ``out`` (the
    ``0 / 0 = 0`` of :func:`_scaled` only where an off-diagonal ``s_jk`` is 0)."""
    t = out[:zb.shape[0]]
    np.subtract(zb[:, None, :], zb[:, :, None], out=t)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.divide(t, s, out=t)
    if exact_pairs:
        np.copyto(t, 0.0, where=np.isnan(t))
    return t


class _Maxima:
    """Simulated maxima of the pair statistics over the hypotheses still under test, kept
    up to date through the step-down.

    ``t[r, j, k] = (Z_k - Z_j) / s_jk``. With ``down`` None (the simultaneous family) the
    maximum of draw ``r`` runs over the pairs with ``up[j, k]``; otherwise family ``j``'s
    runs over ``t[r, j, k]`` where ``up[j, k]`` and ``-t[r, j, k]`` where ``down[j, k]``
    (``t[r, k, j] = -t[r, j, k]``). ``up`` and ``down`` never hold the diagonal.

    Each maximum is kept with the pair that attains it. A step-down only removes pairs, so a
    maximum whose pair is still under test is still the maximum, and :meth:`update`
    recomputes only the others: the values are those of a full recomputation (the same
    floating-point expressions, and a maximum is exact), at the cost of the first pass plus
    the draws whose maximising pair was rejected. Draws are processed in blocks, so memory
    stays ``O(block * p^2)``.
    """

    def __init__(self, z: np.ndarray, s: np.ndarray, up: np.ndarray,
                 down: np.ndarray | None) -> None:
        self.z, self.s = z, s
        draws, p = z.shape
        self.p = p
        self.exact_pairs = bool(np.any((s == 0) & ~np.eye(p, dtype=bool)))
        self.block = max(1, _BLOCK_ELEMENTS // max(1, p * p))
        self.simultaneous = down is None
        buffer = np.empty((min(self.block, draws), p, p))
        if down is None:
            self.value = np.empty(draws)
            self.pair = np.empty(draws, dtype=np.intp)  # flat index j * p + k
            not_up = ~up
            for start in range(0, draws, self.block):
                t = _pair_statistics(z[start:start + self.block], s, buffer, self.exact_pairs)
                np.copyto(t, -np.inf, where=not_up)
                flat = t.reshape(t.shape[0], -1)
                pair = flat.argmax(axis=1)
                self.pair[start:start + t.shape[0]] = pair
                self.value[start:start + t.shape[0]] = flat[np.arange(t.shape[0]), pair]
            return
        self.up_value, self.up_pair = np.empty((draws, p)), np.empty((draws, p), dtype=np.intp)
        self.down_value = np.empty((draws, p))
        self.down_pair = np.empty((draws, p), dtype=np.intp)
        negated = np.empty_like(buffer)
        not_up, not_down = ~up, ~down
        for start in range(0, draws, self.block):
            t = _pair_statistics(z[start:start + self.block], s, buffer, self.exact_pairs)
            rows = slice(start, start + t.shape[0])
            minus = np.negative(t, out=negated[:t.shape[0]])
            np.copyto(minus, -np.inf, where=not_down)
            np.copyto(t, -np.inf, where=not_up)
            for values, pairs, stats in ((self.up_value, self.up_pair, t),
                                         (self.down_value, self.down_pair, minus)):
                pairs[rows] = stats.argmax(axis=2)
                values[rows] = np.take_along_axis(stats, pairs[rows][:, :, None],
                                                  axis=2)[:, :, 0]

    def maxima(self) -> np.ndarray:
        """One maximum per draw (simultaneous) or per draw and family (marginal)."""
        if self.simultaneous:
            return self.value
        return np.maximum(self.up_value, self.down_value)

    def update(self, up: np.ndarray, down: np.ndarray | None = None) -> None:
        """Recompute the maxima whose pair left ``up`` (or ``down``)."""
        if down is None:
            stale = np.flatnonzero((self.value > -np.inf) & ~up.ravel()[self.pair])
            if stale.size == 0:
                return
            buffer = np.empty((min(self.block, stale.size), self.p, self.p))
            not_up = ~up
            for start in range(0, stale.size, self.block):
                draws = stale[start:start + self.block]
                t = _pair_statistics(self.z[draws], self.s, buffer, self.exact_pairs)
                np.copyto(t, -np.inf, where=not_up)
                flat = t.reshape(t.shape[0], -1)
                pair = flat.argmax(axis=1)
                self.pair[draws] = pair
                self.value[draws] = flat[np.arange(draws.size), pair]
            return
        families = np.arange(self.p)
        for values, pairs, under_test, sign in ((self.up_value, self.up_pair, up, 1.0),
                                                (self.down_value, self.down_pair, down, -1.0)):
            stale_r, stale_j = np.nonzero((values > -np.inf)
                                          & ~under_test[families[None, :], pairs])
            step = max(1, _BLOCK_ELEMENTS // self.p)
            for start in range(0, stale_r.size, step):
                r, j = stale_r[start:start + step], stale_j[start:start + step]
                with np.errstate(divide="ignore", invalid="ignore"):
                    stats = (self.z[r] - self.z[r, j][:, None]) / self.s[j]
                if self.exact_pairs:
                    np.copyto(stats, 0.0, where=np.isnan(stats))
                if sign < 0:
                    np.negative(stats, out=stats)
                np.copyto(stats, -np.inf, where=~under_test[j])
                best = stats.argmax(axis=1)
                pairs[r, j] = best
                values[r, j] = stats[np.arange(r.size), best]


def _quantile(values: np.ndarray, level: float) -> np.ndarray:
    """``level`` quantile along axis 0 (the higher order statistic: conservative)."""
    finite = np.where(np.isfinite(values), values, -np.inf)
    return np.quantile(finite, level, axis=0, method="higher")


def rank_confidence_sets(
    estimates: Sequence[float] | np.ndarray | pd.Series,
    se: Sequence[float] | np.ndarray | pd.Series,
    level: float = 0.95,
    simultaneous: bool = True,
    seed: int = 0,
    *,
    stepdown: bool = True,
    draws: int = DEFAULT_DRAWS,
) -> pd.DataFrame:
    """Confidence sets for the ranks of ``estimates`` (rank 1 = the largest value).

    ``se`` is a vector of standard errors (independent estimates: diagonal covariance) or
    a full covariance matrix. Returns, in input order, ``estimate``, ``rank`` (the rank of
    the estimate, ties sharing the best rank), ``rank_low`` and ``rank_high`` (the set of
    ranks is every integer between them), and ``surely_above`` / ``surely_below`` (the
    counts ``N-`` and ``N+`` of the module docstring). Method: see the module docstring
    (Mogstad, Romano, Shaikh and Wilhelm 2023). ``seed`` fixes the simulation draws;
    ``draws`` is their number.

    Examples
    --------
    Three counties' rates with standard errors: the first two cannot be told apart, so each
    may rank 1 or 2; the third is surely last (rank 1 = largest):

    >>> sets = rank_confidence_sets([0.30, 0.29, 0.10], [0.01, 0.01, 0.01])
    >>> sets[["rank", "rank_low", "rank_high"]]
       rank  rank_low  rank_high
    0     1         1          2
    1     2         1          2
    2     3         3          3
    """
    theta = np.asarray(estimates, dtype=float).ravel()
    p = theta.size
    if p == 0:
        raise EvalkitError("rank_confidence_sets: no estimates to rank")
    if not np.all(np.isfinite(theta)):
        raise EvalkitError("rank_confidence_sets: estimates must be finite (drop the counties "
                           "that could not be estimated before ranking)")
    if not 0 < level < 1:
        raise EvalkitError(f"rank_confidence_sets: level={level}; expected 0 < level < 1")
    if draws < 1:
        raise EvalkitError(f"rank_confidence_sets: draws={draws}; expected at least 1")
    cov = _covariance(np.asarray(se, dtype=float), p)
    factor = _factor(cov)
    s = _pair_se(cov)
    t_obs = _scaled(theta[None, :] - theta[:, None], s)  # (theta_k - theta_j) / s_jk
    off_diagonal = ~np.eye(p, dtype=bool)
    z = np.random.default_rng(seed).standard_normal((draws, p)) @ factor.T
    if simultaneous:
        # One family: every ordered pair (j, k), hypothesis theta_k <= theta_j.
        active = off_diagonal.copy()
        rejected = np.zeros((p, p), dtype=bool)  # rejected[j, k]: surely theta_k > theta_j
        maxima = _Maxima(z, s, active, None)
        while True:
            crit = _quantile(maxima.maxima(), level)
            new = active & (t_obs > crit)
            rejected |= new
            active &= ~new
            if not stepdown or not new.any():
                break
            maxima.update(active)
        above = rejected.sum(axis=1)
        below = rejected.sum(axis=0)
    else:
        # Family j: the pairs involving county j, in both directions.
        up = off_diagonal.copy()    # up[j, k]: "theta_k <= theta_j" still under test
        down = off_diagonal.copy()  # down[j, k]: "theta_k >= theta_j" still under test
        surely_up = np.zeros((p, p), dtype=bool)
        surely_down = np.zeros((p, p), dtype=bool)
        maxima = _Maxima(z, s, up, down)
        while True:
            crit = _quantile(maxima.maxima(), level)[:, None]
            new_up = up & (t_obs > crit)
            new_down = down & (-t_obs > crit)
            surely_up |= new_up
            surely_down |= new_down
            up &= ~new_up
            down &= ~new_down
            if not stepdown or not (new_up.any() or new_down.any()):
                break
            maxima.update(up, down)
        above = surely_up.sum(axis=1)
        below = surely_down.sum(axis=1)
    point = p - _ascending_rank_max(theta) + 1
    return pd.DataFrame({
        "estimate": theta,
        "rank": point.astype(int),
        "rank_low": (above + 1).astype(int),
        "rank_high": (p - below).astype(int),
        "surely_above": above.astype(int),
        "surely_below": below.astype(int),
    })


def _ascending_rank_max(values: np.ndarray) -> np.ndarray:
    """Rank in ascending order with ties given the highest rank (so descending min-rank)."""
    order = np.sort(values)
    return np.searchsorted(order, values, side="right")


def top_set(
    estimates: Sequence[float] | np.ndarray | pd.Series,
    se: Sequence[float] | np.ndarray | pd.Series,
    tau: int,
    level: float = 0.95,
    worst: bool = False,
    seed: int = 0,
    draws: int | None = None,
) -> np.ndarray:
    """Which units may be among the ``tau`` best (largest), or with ``worst=True`` the ``tau``
    worst (smallest): a confidence set for the identities of the tau-best.

    Returns a boolean array in input order; the units marked True contain all ``tau`` best
    (worst) with probability at least ``level``. This is csranks' ``cstaubest`` /
    ``cstauworst`` (Mogstad, Romano, Shaikh and Wilhelm 2024, sec. 4.2: the projection
    confidence set for the tau-best): with the simultaneous one-sided rank bounds of the
    module docstring (all ordered pairs, step-down), unit ``j`` is in the set for the best
    when ``N-_j + 1 <= tau`` (fewer than ``tau`` units are surely above it), and in the set
    for the worst when ``p - N+_j >= p - tau + 1`` (fewer than ``tau`` surely below). With
    tiny standard errors the set is exactly the ``tau`` best (worst); with huge ones, every
    unit. ``se`` is a vector of standard errors (independent estimates) or a covariance
    matrix; ``seed`` and ``draws`` (default :data:`DEFAULT_DRAWS`) fix the simulation.

    >>> top_set([0.10, 0.30, 0.20, 0.05], [1e-4] * 4, tau=2).tolist()
    [False, True, True, False]
    >>> top_set([0.10, 0.30, 0.20, 0.05], [1e-4] * 4, tau=1, worst=True).tolist()
    [False, False, False, True]
    >>> top_set([0.10, 0.30, 0.20, 0.05], [1.0] * 4, tau=1).tolist()
    [True, True, True, True]
    """
    theta = np.asarray(estimates, dtype=float).ravel()
    p = theta.size
    if isinstance(tau, bool) or not isinstance(tau, int | np.integer) or not 1 <= tau <= p:
        raise EvalkitError(f"top_set: tau={tau!r}; expected a whole number from 1 to the "
                           f"number of estimates ({p})")
    sets = rank_confidence_sets(theta, se, level=level, simultaneous=True, seed=seed,
                                stepdown=True,
                                draws=DEFAULT_DRAWS if draws is None else draws)
    if worst:
        return (sets["rank_high"] >= p - tau + 1).to_numpy()
    return (sets["rank_low"] <= tau).to_numpy()
