"""The cautions of a run (:mod:`evalkit.assessment.fragility`) in the reader's language."""

from __future__ import annotations

from collections.abc import Iterable

from evalkit.assessment.fragility import Caution
from evalkit.report import i18n


def caution_text(caution: Caution, lang: str) -> str:
    """The caution as one plain sentence in ``lang`` (locale key ``caution.<key>``)."""
    values = dict(caution.values)
    if "indicator" in values:
        values["indicator"] = i18n.indicator_label(str(values["indicator"]), lang)
    if "analysis" in values:
        values["analysis"] = i18n.text(f"analysis.{values['analysis']}", lang)
    return i18n.text(f"caution.{caution.key}", lang, **values)


def caution_lines(cautions: Iterable[Caution], lang: str) -> list[str]:
    """Every caution as a plain sentence in ``lang``, in order."""
    return [caution_text(c, lang) for c in cautions]
