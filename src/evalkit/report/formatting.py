"""Rounding for what notebooks show, so nbval compares what matters.

Numbers are shown to a few significant digits: enough for a reader and for nbval to fail
when a result changes, not so many that the last bits of floating point (which differ
between BLAS builds and machines) break the comparison.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from evalkit.sampling.checks import significant_digits

#: ``value`` rounded to ``digits`` significant digits (None, NaN and 0 unchanged): the one
#: rounding of the package, :func:`evalkit.sampling.checks.significant_digits`, under the
#: name notebooks and reports have used.
significant = significant_digits


def rounded(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """A copy of ``table`` with every float column rounded to ``digits`` significant digits."""
    out = table.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].map(lambda v: significant(v, digits))
    return out


def percent(value: float, decimals: int = 1) -> str:
    """``0.02904`` -> ``'2.9%'``; NaN -> a dash (:func:`evalkit.report.i18n.format_percent`)."""
    from evalkit.report.i18n import format_percent

    return format_percent(value, decimals)


# --- what the technical reports show: no bare NaN, percentages where they are meant ----------

#: Why an indicator has no design effect (notebook 02's tables).
DEFF_NOT_DEFINED = {
    "combined": "n/a: combines several rates",
    "no_cases": "n/a: no cases (p = 0 or 1)",
    "no_interval": "n/a: no standard error",
}


def shown(table: pd.DataFrame, digits: int = 4, *,
          why: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``table`` as a notebook shows it: :func:`rounded`, and no cell printed as ``NaN``.

    A missing number in a column named in ``why`` reads as that reason; elsewhere it is left
    out (an empty cell), for cells whose row already says why (a ``note`` or ``reason``
    column, a baseline row, a part of a sum that has no share). Column names may break after
    their underscores (:func:`breakable`). The CSV tables keep their numbers and names: this
    is only for display.
    """
    out = rounded(table, digits)
    why = dict(why or {})
    shown_names = {c: breakable(c) for c in out.columns if isinstance(c, str)}
    for column in out.columns:
        values = out[column]
        missing = values.isna()
        if not missing.any():
            continue
        out[column] = values.astype(object).where(~missing, why.get(str(column), ""))
    return out.rename(columns=shown_names)


def breakable(name: str) -> str:
    """A column name that a narrow page may break after each underscore (a zero-width space
    follows it), so a table of long snake_case headers fits the page instead of being cut
    off."""
    return name.replace("_", "_\u200b")


def indicators_shown(table: pd.DataFrame, columns: Sequence[str], digits: int = 4
                     ) -> pd.DataFrame:
    """Rows of notebook 02's indicator table
    (:func:`evalkit.assessment.indicators.indicator_table`), with a missing design effect
    saying why (:data:`DEFF_NOT_DEFINED`).

    The design effect ``deff = Var_design / Var_SRS`` (Kish 1965) is not defined for the
    comprehensive incidence (a combination of two ratios and frame counts, no single
    simple-random-sampling variance), nor for a rate of 0 or 1 (``p (1 - p) = 0``), nor
    without a standard error (too few villages).
    """
    view = table[list(columns)]
    out = shown(view, digits)
    if "label" in view.columns:  # the indicator's name heads its row (no 0, 1, 2 ...)
        out = out.set_index("label")
    if "deff" in view.columns:
        reasons = []
        for rec in table.to_dict("records"):
            if np.isfinite(_float(rec.get("deff"))):
                reasons.append(None)
            elif rec.get("indicator") == "incidence":
                reasons.append(DEFF_NOT_DEFINED["combined"])
            elif _float(rec.get("estimate")) in (0.0, 1.0):
                reasons.append(DEFF_NOT_DEFINED["no_cases"])
            else:
                reasons.append(DEFF_NOT_DEFINED["no_interval"])
        name = breakable("deff")
        out[name] = [r if r is not None else v
                     for r, v in zip(reasons, out[name].astype(object), strict=True)]
    return out


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def published_shown(published: pd.DataFrame) -> pd.DataFrame:
    """Notebook 02's published-figures table (:func:`evalkit.synth.county.reproduce_published`) with
    every figure a percentage: a figure published as a plain number (microcredit take-up
    "0") is shown as ``0%`` and its reproduced rate as a percentage with one decimal, never
    as a bare proportion (0.0216749)."""
    out = published[["label_en", "published", "reproduced", "numerator", "denominator",
                      "matches"]].copy()
    plain = ~out["published"].astype(str).str.endswith("%")
    out.loc[plain, "published"] = [percent(_float(v), 0) for v in out.loc[plain, "published"]]
    out.loc[plain, "reproduced"] = [percent(_float(v), 1) if str(v) != "" else ""
                                    for v in published.loc[plain, "rate"]]
    return out


def recovery_shown(recovery: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """Notebook 03's recovery table (:func:`evalkit.assessment.satisfaction.recovery_table`)
    narrow enough to read: the interval in one column, and each true coefficient with whether
    the interval covers it (``✓`` inside, ``✗`` outside) instead of a second column per kind.
    """
    out = pd.DataFrame(index=recovery.index)
    out["estimate"] = recovery["estimate"].map(lambda v: significant(v, digits))
    out["interval"] = [f"{significant(a, digits):g} … {significant(b, digits):g}"
                       for a, b in zip(recovery["ci_low"], recovery["ci_high"], strict=True)]
    for column in recovery.columns:
        covered = f"covered_{column}"
        if covered not in recovery.columns:
            continue
        out[column.replace("_", " ")] = [
            "" if not np.isfinite(_float(v)) else
            f"{significant(v, digits):g} {'✓' if bool(c) else '✗'}"
            for v, c in zip(recovery[column], recovery[covered], strict=True)]
    return out


def calibrated_to_published(truth: Mapping[str, object] | None) -> bool:
    """Whether a synthetic county's ``truth.json`` says its sample was calibrated to the
    published figures (``generator.settings.targets``: evalkit's packaged seed county).

    Other synthetic counties (``evalkit synth --province``) and a user's own data have no
    published figures to reproduce, so notebook 02 leaves the comparison out for them.
    """
    if not truth:
        return False
    generator = truth.get("generator")
    settings = generator.get("settings") if isinstance(generator, Mapping) else None
    return bool(settings.get("targets")) if isinstance(settings, Mapping) else False
