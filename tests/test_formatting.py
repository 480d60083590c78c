"""What the technical reports show: no bare NaN, reasons where a number is missing,
percentages where they are meant, wide tables narrowed."""

from __future__ import annotations

import math

import pandas as pd

from evalkit.report import formatting


def test_shown_says_why_or_leaves_out_and_keeps_numbers():
    table = pd.DataFrame({"step": ["n0", "population N"], "value": [1308.123456, math.nan],
                          "other_col": [math.nan, 2.0]})
    out = formatting.shown(table, why={"value": "none (no finite-population correction)"})
    assert out["value"].tolist() == [1308.0, "none (no finite-population correction)"]
    assert out["other_\u200bcol"].tolist() == ["", 2.0]  # left out; name may break at _
    assert "NaN" not in out.to_string() and "NaN" not in out.to_html()
    assert table["value"].isna().sum() == 1  # the input is not changed


def test_indicators_shown_names_why_a_design_effect_is_missing():
    table = pd.DataFrame({
        "indicator": ["wrong_exit", "incidence", "microcredit", "missed"],
        "label": ["Wrong-exit rate", "Incidence", "Microcredit", "Missed"],
        "estimate": [0.0295, 0.0216, 0.0, 0.01], "deff": [2.953, math.nan, math.nan, math.nan],
    })
    out = formatting.indicators_shown(table, ["label", "estimate", "deff"])
    assert out["deff"].tolist() == [2.953, formatting.DEFF_NOT_DEFINED["combined"],
                                    formatting.DEFF_NOT_DEFINED["no_cases"],
                                    formatting.DEFF_NOT_DEFINED["no_interval"]]
    assert out.index.tolist() == table["label"].tolist()


def test_published_figures_are_percentages():
    published = pd.DataFrame({
        "label_en": ["wrong-exit rate", "microcredit take-up"], "published": ["2.9%", "0"],
        "reproduced": ["1.6%", "0.0216749"], "numerator": [33, 22], "denominator": [2074, 1015],
        "rate": [33 / 2074, 22 / 1015], "matches": [False, False]})
    out = formatting.published_shown(published)
    assert out["published"].tolist() == ["2.9%", "0%"]
    assert out["reproduced"].tolist() == ["1.6%", "2.2%"]


def test_only_the_county_calibrated_to_published_figures_reproduces_them():
    assert formatting.calibrated_to_published(
        {"generator": {"settings": {"targets": ["wrong_exit_rate"]}}})
    assert not formatting.calibrated_to_published({"generator": {"settings": {"targets": None}}})
    assert not formatting.calibrated_to_published(None)


def test_recovery_shown_is_narrow_and_marks_coverage():
    recovery = pd.DataFrame({
        "estimate": [1.303, -3.152], "ci_low": [-0.9275, -5.425], "ci_high": [3.533, -0.8786],
        "census": [-0.3432, -0.9781], "covered_census": [True, True],
        "conditional": [-0.7, math.nan], "covered_conditional": pd.array([True, pd.NA]),
    }, index=pd.Index(["water_at_door", "nonpoor:water_at_door"], name="term"))
    out = formatting.recovery_shown(recovery)
    assert list(out.columns) == ["estimate", "interval", "census", "conditional"]
    assert out.loc["water_at_door", "interval"] == "-0.9275 … 3.533"
    assert out.loc["water_at_door", "conditional"] == "-0.7 ✓"
    assert out.loc["nonpoor:water_at_door", "conditional"] == ""


def test_negative_zero_is_shown_as_zero() -> None:
    """-0.0 (rounding noise such as round(-1e-17, 10)) prints as 0, not -0.000 (nbval)."""
    assert math.copysign(1.0, formatting.significant(-0.0)) == 1.0
    assert formatting.significant(0) == 0 and isinstance(formatting.significant(0), int)
    table = formatting.rounded(pd.DataFrame({"se_change": [round(-1e-17, 10), 0.25]}))
    assert table.to_string().count("-") == 0
