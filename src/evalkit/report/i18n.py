"""Every word the policy report shows, in English and Chinese, and how numbers are written.

The text lives in ``evalkit/resources/locale/<lang>.json`` and is read by
:mod:`evalkit.contract.locale` (one flat ``key -> template`` mapping per language, the same
keys in each; ``tests/test_i18n.py`` keeps them in step, placeholders included). Indicator
names are the ``indicator.<key>.name`` entries, read through
:data:`evalkit.assessment.indicators.SPECS`, which says which indicators exist.

Verdict words come in two forms: ``status.<verdict>`` is a label (a card's badge, a table
cell), capitalised in English ("Cannot tell"); ``verdict.<verdict>`` is the same verdict
inside a sentence ("... cannot tell by the survey design"). Chinese has no case, so both
forms are the same words.

Numbers are written the same way in both languages (``2.9%``, ``+1.3``), which is how
Chinese official documents write percentages.
"""

from __future__ import annotations

import math

# The catalogue reader lives in the contract layer, so that tables written below the report
# layer read the same words (see evalkit.contract.locale); it is re-exported here.
from evalkit.contract.locale import (  # noqa: F401
    LANGUAGES,
    catalog,
    check_lang,
    has_text,
    placeholders,
    text,
)


def indicator_label(key: str, lang: str, *, in_sentence: bool = False) -> str:
    """The indicator's name from :data:`evalkit.assessment.indicators.SPECS`.

    ``in_sentence`` lower-cases the first letter of the English name ("The wrong-exit rate
    is ..."); Chinese has no case.
    """
    from evalkit.assessment.indicators import SPECS

    check_lang(lang)
    spec = SPECS.get(key)
    if spec is None:
        return key
    label = spec.label(lang)
    return label[:1].lower() + label[1:] if in_sentence and lang == "en" else label


def _decimals_to_separate(value: float, other: float | None, decimals: int, scale: float,
                          max_decimals: int) -> int:
    """Smallest number of decimals >= ``decimals`` at which ``value`` and ``other`` differ.

    Rounding must never make a figure look equal to the line it is judged against (2.04%
    shown as "2.0%" beside a 2% line reads as "on the line").
    """
    if other is None or not math.isfinite(other) or value == other:
        return decimals
    d = decimals
    while d < max_decimals and round(value * scale, d) == round(other * scale, d):
        d += 1
    return d


def format_percent(value: float, decimals: int = 1, *, versus: float | None = None,
                   max_decimals: int = 3) -> str:
    """A proportion as a percentage: ``0.029 -> "2.9%"``.

    With ``versus`` (a threshold) more decimals are shown, up to ``max_decimals``, until the
    two no longer look equal. Not-a-number prints as an en dash.
    """
    if value is None or not math.isfinite(value):
        return "\u2013"
    d = _decimals_to_separate(value, versus, decimals, 100.0, max_decimals)
    return f"{value * 100:.{d}f}%"


def format_line(value: float) -> str:
    """A threshold or level as a short percentage: ``0.02 -> "2%"``, ``0.975 -> "97.5%"``."""
    text_ = f"{value * 100:.4f}".rstrip("0").rstrip(".")
    return f"{text_}%"


def format_points(value: float, decimals: int = 1, *, signed: bool = True) -> str:
    """A difference of proportions in percentage points: ``0.0132 -> "+1.3"``."""
    if value is None or not math.isfinite(value):
        return "\u2013"
    shown = round(value * 100, decimals)
    if shown == 0:
        shown = 0.0  # no "-0.0"
    return f"{shown:+.{decimals}f}" if signed else f"{shown:.{decimals}f}"


def format_count(value: int, lang: str) -> str:
    """A whole number with thousands separators in English (``2,076``), plain in Chinese."""
    check_lang(lang)
    return f"{int(value):,}" if lang == "en" else f"{int(value)}"


def join_names(names: list[str], lang: str) -> str:
    """Names as a list in a sentence: ``a``, ``a and b``, ``a, b and c`` (Chinese:
    ``a和b``, ``a、b和c``), the joining words from the catalogue (``list.comma``,
    ``list.and``).

    >>> join_names(["wrong-exit rate", "incidence"], "en")
    'wrong-exit rate and incidence'
    """
    if len(names) <= 1:
        return "".join(names)
    space = " " if lang == "en" else ""
    comma = text("list.comma", lang) + space
    return comma.join(names[:-1]) + space + text("list.and", lang) + space + names[-1]


def all_characters() -> set[str]:
    """Every character any translation (indicator names included) can show (for the font
    subset)."""
    chars: set[str] = set()
    for lang in LANGUAGES:
        for template in catalog(lang).values():
            chars.update(template)
    return chars
