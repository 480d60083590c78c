"""Argument checks and rounding shared by the sampling modules.
"""

from __future__ import annotations

import math

import numpy as np

from evalkit.contract.errors import EvalkitError

# Relative slack before rounding up: Cochran sizes such as 100.00000000000001 come from
# floating error, not from a real need for one more household.
CEIL_TOLERANCE = 1e-12


def significant_digits(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits: ``round(x, digits - 1 -
    floor(log10 |x|))``, so ``0.0290412345 -> 0.02904`` and ``1234.5678 -> 1235.0``.

    None, NaN and infinities come back unchanged, and 0 too except that a float -0.0 comes
    back as 0.0 (its sign is rounding noise and would print as ``-0.000``); anything else
    comes back as a float.
    The one significant-digit rounding of the package: the sampling plan's table
    (:mod:`evalkit.sampling.plan`) and what notebooks and reports show
    (:func:`evalkit.report.formatting.significant`, the same function) use it.

    Examples
    --------
    >>> significant_digits(0.0290412345), significant_digits(1234.5678), significant_digits(0.0)
    (0.02904, 1235.0, 0.0)
    """
    if x is None or not math.isfinite(x):
        return x
    if x == 0:
        return x + 0.0 if isinstance(x, float) else x
    return round(float(x), digits - 1 - math.floor(math.log10(abs(x))))


def ceil_tolerant(x: float) -> int:
    """``ceil(x)``, ignoring a relative excess of up to ``1e-12`` that floating error leaves
    (Cochran's ``n = 100.00000000000001`` needs 100 households, not 101).

    Parameters
    ----------
    x
        A sample size computed in floating point.

    Returns
    -------
    int

    Examples
    --------
    >>> ceil_tolerant(100.00000000000001), ceil_tolerant(100.2)
    (100, 101)
    """
    return int(math.ceil(x - CEIL_TOLERANCE * max(1.0, abs(x))))


def finite_number(name: str, value: object) -> float:
    """``value`` as a finite float, or a one-line error naming the argument.

    Parameters
    ----------
    name
        The argument's name, for the message.
    value
        What the caller passed.

    Returns
    -------
    float

    Examples
    --------
    >>> finite_number("margin", "0.05")
    0.05
    >>> finite_number("margin", float("inf"))
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: margin=inf; expected a finite number
    """
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise EvalkitError(f"{name}={value!r}; expected a number") from None
    if not math.isfinite(x):
        raise EvalkitError(f"{name}={value!r}; expected a finite number")
    return x


def open_unit(name: str, value: object) -> float:
    """``value`` as a float strictly between 0 and 1 (a proportion, a confidence level), or a
    one-line error naming the argument.

    Examples
    --------
    >>> open_unit("level", 0.95)
    0.95
    >>> open_unit("level", 95)
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: level=95; expected a value strictly between 0 and 1
    """
    x = finite_number(name, value)
    if not 0.0 < x < 1.0:
        raise EvalkitError(f"{name}={value!r}; expected a value strictly between 0 and 1")
    return x


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum`` (a whole float such as ``35.0`` is accepted;
    booleans are not), or a one-line error naming the argument.

    Parameters
    ----------
    name
        The argument's name, for the message.
    value
        What the caller passed.
    minimum
        The smallest accepted value.

    Returns
    -------
    int

    Examples
    --------
    >>> positive_int("n_villages", 20.0)
    20
    >>> positive_int("n_villages", 0)
    Traceback (most recent call last):
    ...
    evalkit.contract.errors.EvalkitError: n_villages=0; expected a whole number >= 1
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise EvalkitError(f"{name}={value!r}; expected a whole number >= {minimum}")
    if int(value) < minimum:
        raise EvalkitError(f"{name}={value!r}; expected a whole number >= {minimum}")
    return int(value)
