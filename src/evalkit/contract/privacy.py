"""The one rule for identifying numbers in messages: mask anything that looks like a phone or
an ID number before it is shown.

Identifying columns are dropped when a file is read (:mod:`evalkit.contract.data`); this is the
second
guard, for a phone or ID number typed into another column and echoed by a validation message,
or a value quoted by any other error. A *number-like run* is a stretch of digits that may hold
spaces, hyphens, brackets and a leading ``+`` (``+86 139-0000-0010``,
``(+86)139 0000 0011``, ``0086-13900000012``); a run with 11 or more digits is masked.
That covers mobile numbers (11 digits, with or without the country code), the 18-character
resident ID (17 digits and a check digit that may be ``X``) and the old 15-digit ID. No
value the assessment needs has 11 digits: household sizes, counts, shares, incomes and dates
stay readable.
"""

from __future__ import annotations

import re

__all__ = ["MASK", "mask_identifiers"]

MASK = "<masked>"
#: Digits are counted over a run like this; separators inside runs are single characters.
_NUMBER_RUN = re.compile(r"[+(]*\d(?:[\d()]|[ \-](?=[\d(+]))*[\dXx]?")
_MIN_DIGITS = 11


def _mask_run(match: re.Match[str]) -> str:
    text = match.group(0)
    return MASK if sum(ch.isdigit() for ch in text) >= _MIN_DIGITS else text


def mask_identifiers(text: str) -> str:
    """``text`` with every number-like run of 11 or more digits replaced by ``<masked>``."""
    return _NUMBER_RUN.sub(_mask_run, text)
