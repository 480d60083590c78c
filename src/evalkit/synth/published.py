"""The county's published figures (DESIGN.md) and the counts a sample must reproduce them with.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

import pandas as pd

from evalkit.contract import locale


# --------------------------------------------------------------------------------------
# published figures
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PublishedFigure(locale.Labelled):
    """A figure from the county's published summary and how the sample reproduces it.

    Its displayed name is the ``published.<key>.name`` entry of the locale catalogues, read
    by :meth:`label` (``label_en`` and ``label_zh`` are the columns of
    :func:`reproduce_published`; :class:`evalkit.contract.locale.Labelled`).
    """

    label_prefix: ClassVar[str] = "published"

    key: str
    published: str      # as printed, e.g. "2.9%"; "0" means exactly zero
    numerator: str      # plain-language definition on the sample
    denominator: str

    def window(self) -> tuple[Fraction, Fraction]:
        """Rates that print as ``published`` (half-up rounding): ``[lo, hi)``; zero is exact."""
        text = self.published.rstrip("%")
        value = Fraction(Decimal(text))
        if self.published.endswith("%"):
            value /= 100
            decimals = len(text.split(".")[1]) if "." in text else 0
            half = Fraction(1, 2 * 10 ** decimals) / 100
        else:
            return value, value
        return value - half, value + half

    def target_value(self) -> Fraction:
        text = self.published.rstrip("%")
        return Fraction(Decimal(text)) / (100 if self.published.endswith("%") else 1)

    def format(self, rate: float) -> str:
        if not self.published.endswith("%"):
            return f"{rate:g}"
        text = self.published.rstrip("%")
        decimals = len(text.split(".")[1]) if "." in text else 0
        q = Decimal(repr(rate * 100)).quantize(Decimal(1).scaleb(-decimals),
                                                rounding="ROUND_HALF_UP")
        return f"{q}%"


PUBLISHED_FIGURES: tuple[PublishedFigure, ...] = (
    PublishedFigure("wrong_exit_rate", "2.9%",
                    "people_wrongly_exited in exited households",
                    "people (household_size) in exited households"),
    PublishedFigure("recognition_rate", "94.86%",
                    "households answering satisfied or basically_satisfied",
                    "all sampled households"),
    PublishedFigure("industry_support_coverage", "56%",
                    "registered households with industry_support = 1",
                    "registered households (exited + not_exited)"),
    PublishedFigure("microcredit_takeup", "0",
                    "registered households with microcredit = 1",
                    "registered households (exited + not_exited)"),
    PublishedFigure("public_welfare_job_rate", "5%",
                    "registered households with public_welfare_job = 1",
                    "registered households (exited + not_exited)"),
    PublishedFigure("dibao_not_exited", "88.6%", "not_exited households with dibao = 1",
                    "not_exited households"),
)


FIGURES_BY_KEY = {f.key: f for f in PUBLISHED_FIGURES}


def figure_counts(survey: pd.DataFrame) -> dict[str, tuple[int, int]]:
    """Numerator and denominator of each published figure, as plain sample counts.

    ``survey`` is a coded survey (:func:`evalkit.contract.data.load_survey`, or a sample from this
    module). These are the official plain ratios, not design-based estimates.
    """
    htype = survey["household_type"]
    exited, registered = htype == "exited", htype.isin(["exited", "not_exited"])
    not_exited = htype == "not_exited"
    recognizes = survey["recognition"].isin(["satisfied", "basically_satisfied"])
    return {
        "wrong_exit_rate": (int(survey.loc[exited, "people_wrongly_exited"].sum()),
                            int(survey.loc[exited, "household_size"].sum())),
        "recognition_rate": (int(recognizes.sum()), len(survey)),
        "industry_support_coverage": (int(survey.loc[registered, "industry_support"].sum()),
                                      int(registered.sum())),
        "microcredit_takeup": (int(survey.loc[registered, "microcredit"].sum()),
                               int(registered.sum())),
        "public_welfare_job_rate": (int(survey.loc[registered, "public_welfare_job"].sum()),
                                    int(registered.sum())),
        "dibao_not_exited": (int(survey.loc[not_exited, "dibao"].sum()), int(not_exited.sum())),
    }


def reproduce_published(survey: pd.DataFrame) -> pd.DataFrame:
    """Each published figure beside the plain rate in ``survey``, rounded as published."""
    counts = figure_counts(survey)
    rows = []
    for f in PUBLISHED_FIGURES:
        num, den = counts[f.key]
        rate = num / den if den else float("nan")
        lo, hi = f.window()
        match = den > 0 and (lo <= Fraction(num, den) < hi if lo != hi
                             else Fraction(num, den) == lo)
        rows.append({"figure": f.key, "label_en": f.label_en, "label_zh": f.label_zh,
                     "published": f.published, "reproduced": f.format(rate) if den else "",
                     "numerator": num, "denominator": den, "rate": rate,
                     "matches": bool(match)})
    return pd.DataFrame(rows)


def target_count(figure: PublishedFigure, denominator: int) -> int | None:
    """The integer count closest to the published value that prints as published."""
    lo, hi = figure.window()
    if lo == hi:
        k = lo * denominator
        return int(k) if k.denominator == 1 else None
    best = round(figure.target_value() * denominator)
    for k in sorted(range(best - 2, best + 3), key=lambda j: abs(j - best)):
        if 0 <= k <= denominator and lo <= Fraction(k, denominator) < hi:
            return k
    return None
