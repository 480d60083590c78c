"""First stage: probability-proportional-to-size selection (systematic PPS; Cochran 1977 sec. 9A.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.sampling.checks import (
    positive_int,
)

# R's UPsystematic: probabilities within this of 1 are certainty units, within it of 0 never.
PPS_EPS = 1e-6


# --- first stage: PPS -----------------------------------------------------------------------
def pps_inclusion_probabilities(sizes: Sequence[float] | np.ndarray | pd.Series,
                                n: int) -> np.ndarray:
    """First-stage inclusion probabilities proportional to size, as R's
    ``sampling::inclusionprobabilities(a, n)`` (Tillé 2006, sec. 2.10).

    ``pi_k = n x_k / sum x``; units with ``pi_k >= 1`` are certainty units (probability 1),
    and the rest are recomputed as ``(n - l) x_k / sum_rest x`` with ``l`` the number of
    certainty units, repeating until no new unit reaches 1. Zero sizes get probability 0.
    Unlike R, negative sizes are an error rather than silently set to zero.

    Examples
    --------
    Two draws among sizes 10, 20, 30 and 140: the largest would get 2 x 140/200 > 1, so it
    is taken with certainty and the other draw shared among the rest (Tillé 2006, sec.
    2.10):

    >>> pps_inclusion_probabilities([10, 20, 30, 140], 2).round(4).tolist()
    [0.1667, 0.3333, 0.5, 1.0]
    """
    x = np.asarray(sizes, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise EvalkitError("sizes: expected a non-empty one-dimensional list of sizes")
    bad = ~np.isfinite(x) | (x < 0)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise EvalkitError(f"sizes[{k}]={x[k]!r}; expected a size measure >= 0")
    n = positive_int("n", n)
    positive = x > 0
    n_pos = int(positive.sum())
    if n > n_pos:
        raise EvalkitError(
            f"n={n} exceeds the {n_pos} units with a positive size measure")
    pik1 = n * x / x.sum()
    pik = pik1[positive]
    certain = pik >= 1
    n_certain = int(certain.sum())
    previous = 0
    while n_certain != previous:
        # Same operation order as R (x / sum(x), then times n - l) so that ties at exactly
        # 1 fall the same way.
        rest = pik[~certain]
        if len(rest):
            pik[~certain] = (n - n_certain) * (rest / rest.sum())
        pik[certain] = 1.0
        previous = n_certain
        certain = pik >= 1
        n_certain = int(certain.sum())
    pik1[positive] = pik
    return pik1


@dataclass(frozen=True)
class PPSSample:
    """Selected positions (ascending) and their first-stage inclusion probabilities.

    Examples
    --------
    >>> sample = pps_systematic([10, 20, 30, 140], 2, rng=3)
    >>> sample.index.tolist(), sample.pi.round(4).tolist(), sample.certainty.tolist()
    ([0, 3], [0.1667, 1.0], [False, True])
    """

    index: np.ndarray
    pi: np.ndarray

    @property
    def certainty(self) -> np.ndarray:
        """True for the units selected with certainty (inclusion probability 1 up to
        :data:`PPS_EPS`), which a PPS variance treats as their own strata.

        Examples
        --------
        >>> pps_systematic([10, 20, 30, 140], 2, rng=3).certainty.tolist()
        [False, True]
        """
        return self.pi >= 1.0 - PPS_EPS


def as_generator(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A NumPy generator from an integer seed (``default_rng(seed)``), or the generator itself.

    Parameters
    ----------
    seed
        A whole number ``>= 0`` or a ``numpy.random.Generator``; None is refused because draws
        must be reproducible.

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> float(as_generator(7).random()) == float(as_generator(7).random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise EvalkitError("seed: expected an integer seed (draws must be reproducible)")
    return np.random.default_rng(positive_int("seed", seed, minimum=0))


def _order(order: str | Sequence[int] | np.ndarray, x: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    if isinstance(order, str):
        if order == "given":
            return np.arange(len(x))
        if order == "size":
            return np.argsort(x, kind="stable")
        if order == "random":
            return rng.permutation(len(x))
        raise EvalkitError(f"order={order!r}; expected 'given', 'size', 'random' or a list")
    perm = np.asarray(order)
    if perm.shape != x.shape or not np.array_equal(np.sort(perm), np.arange(len(x))):
        raise EvalkitError("order: expected a permutation of 0..len(sizes)-1")
    return perm.astype(np.int64)


def pps_systematic(sizes: Sequence[float] | np.ndarray | pd.Series, n: int,
                   rng: int | np.random.Generator,
                   order: str | Sequence[int] | np.ndarray = "given") -> PPSSample:
    """Systematic PPS sample of ``n`` units (Madow 1949; R's ``sampling::UPsystematic``).

    Probabilities from :func:`pps_inclusion_probabilities`. Certainty units are always
    taken. The others, in ``order`` ("given" frame order, which stratifies implicitly when
    the frame is sorted by township; "size"; "random"; or an explicit permutation), are laid
    end to end on ``[0, n - l)`` by cumulative probability, and the points ``u, u + 1, ...``
    with one uniform random start ``u`` select them, so each is taken with probability
    exactly ``pi_k`` and the sample size is exactly ``n``.

    Examples
    --------
    >>> sample = pps_systematic([10, 20, 30, 140], 2, rng=3)
    >>> sample.index.tolist(), sample.pi.round(4).tolist()
    ([0, 3], [0.1667, 1.0])
    """
    x = np.asarray(sizes, dtype=float)
    pi = pps_inclusion_probabilities(x, n)
    gen = as_generator(rng)
    perm = _order(order, x, gen)
    certain = pi >= 1.0 - PPS_EPS
    eligible = (pi > PPS_EPS) & ~certain
    chain = perm[eligible[perm]]
    n_rest = n - int(certain.sum())
    selected = certain.copy()
    if n_rest > 0:
        selected[chain[systematic_hits(pi[chain], n_rest, gen.random())]] = True
    index = np.flatnonzero(selected)
    return PPSSample(index=index, pi=pi[index])


def systematic_hits(pi_chain: np.ndarray, n_rest: int, u: float | np.ndarray) -> np.ndarray:
    """Units of a systematic PPS chain hit by the points ``u, u + 1, ...`` (Madow 1949).

    ``pi_chain`` are the non-certainty inclusion probabilities in chain order, summing to
    ``n_rest``; unit ``k`` covers ``[C_{k-1}, C_k)`` of the cumulative sums and is hit when
    ``floor(C_k - u) > floor(C_{k-1} - u)``. ``u`` is one start, or a column of starts
    (shape ``(reps, 1)``) giving one row of hits per replicate.

    Examples
    --------
    >>> import numpy as np
    >>> systematic_hits(np.array([0.3, 0.5, 0.8, 0.4]), 2, 0.25).tolist()
    [True, False, True, False]
    """
    cum = np.cumsum(pi_chain)
    # The chain sums to n - l in exact arithmetic; pin it so float drift cannot drop a unit.
    cum *= n_rest / cum[-1]
    prev = np.concatenate([[0.0], cum[:-1]])
    return np.floor(cum - u) > np.floor(prev - u)
