"""The policy page reads the run's tables: change a number in a table, the sentence changes."""

from __future__ import annotations

import math
import re
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from evalkit.assessment import summary
from evalkit.assessment.fragility import caution
from evalkit.contract.errors import EvalkitError
from evalkit.report import i18n
from evalkit.report import policy as report
from evalkit.report.cautions import caution_text

# The shape of notebook 02's indicators.csv (evalkit.assessment.indicators.indicator_table), with
# numbers like the packaged county's: wrong exits and incidence cannot tell (official ratio
# fails), missed and recognition pass.
ROWS = [
    # indicator, official, estimate, se, ci_low, ci_high, deff, n, threshold, direction,
    # decision, official_decision
    ("wrong_exit", 0.0286, 0.0295, 0.00708, 0.0180, 0.0481, 2.91, 422, 0.02, "below",
     "cannot tell", "fail"),
    ("missed", 0.0107, 0.0091, 0.00274, 0.0049, 0.0168, 4.41, 1357, 0.02, "below",
     "pass", "pass"),
    ("incidence", 0.0232, 0.0216, 0.0027, 0.0170, 0.0280, 2.2, 2025, 0.02, "below",
     "cannot tell", "fail"),
    ("recognition", 0.9486, 0.9378, 0.0064, 0.9234, 0.9496, 1.6, 2025, 0.90, "at_least",
     "pass", "pass"),
]
COLUMNS = ["indicator", "official", "estimate", "se", "ci_low", "ci_high", "deff",
           "n_households", "threshold", "direction",
           "decision", "official_decision"]
SCENARIOS = pd.DataFrame({
    "scenario": ["observed", "pipe_water", "raise_reimbursement", "both"],
    "estimate": [0.9378, 0.9817, 0.9457, 0.9844],
    "ci_low": [0.9234, 0.9697, 0.9296, 0.9728], "ci_high": [0.9496, 0.9890, 0.9583, 0.9911],
    "change": [0.0, 0.0439, 0.0079, 0.0466],
    "change_low": [math.nan, 0.0292, 0.0006, 0.0323],
    "change_high": [math.nan, 0.0587, 0.0152, 0.0610],
})
TOWNSHIPS = pd.DataFrame({
    "township": ["东镇", "西镇", "南镇"], "indicator": "wrong_exit",
    "n_households": [30, 65, 12], "n_villages": [3, 5, 1],
    "estimate": [0.094, 0.045, 0.30], "suppressed": [False, False, True],
})


def write_tables(folder: Path, indicators: pd.DataFrame | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (indicators if indicators is not None else pd.DataFrame(ROWS, columns=COLUMNS)).to_csv(
        folder / "indicators.csv", index=False)
    SCENARIOS.to_csv(folder / "scenarios.csv", index=False)
    TOWNSHIPS.to_csv(folder / "indicators_by_township.csv", index=False)
    return folder


def page_text(tables: Path, lang: str = "zh", **kw) -> str:
    page = report.report_from_tables(tables, lang=lang, level=0.95, ci_method="logit",
                                      run_name="t", households=2025, villages=29, **kw)
    html = page.html()
    body = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", body))


def test_a_number_changed_in_the_indicator_table_changes_the_sentences(tmp_path):
    before = page_text(write_tables(tmp_path / "a"))
    assert "退出评估按官方简单比率判定：2.9%，未达标。" in before
    assert "93.8%" in before  # recognition now, from the indicator table
    table = pd.DataFrame(ROWS, columns=COLUMNS)
    table.loc[3, ["estimate", "official"]] = [0.9512, 0.9613]
    table.loc[0, "official"] = 0.0312
    after = page_text(write_tables(tmp_path / "b", table))
    assert "退出评估按官方简单比率判定：3.1%，未达标。" in after
    assert "2.9%，未达标" not in after
    # Recognition now on the page and in the ranked actions is the indicator's 95.1%, not
    # the satisfaction model's baseline (93.8% in scenarios.csv).
    assert "全县认可度将从现在的95.1%变为98.4%" in after
    assert "93.8%" not in after


def test_which_verdict_decides_and_why_they_differ(tmp_path):
    text = page_text(write_tables(tmp_path), lang="en")
    assert "The exit assessment judges the official plain ratio: 2.9%, misses the line." in text
    assert "would show with 95% confidence that it misses the line." in text
    assert "this sample cannot tell with 95% confidence" in text
    # deff 2.91 from the table: the interval is sqrt(2.91) = 1.7 times as wide.
    assert "the design effect is 2.9, so the interval is about 1.7 times as wide" in text
    assert "The design-based verdict agrees." in text  # missed, recognition


def test_settle_size_is_cochran_with_the_runs_design_effect():
    row = dict(zip(COLUMNS, ROWS[0], strict=True))
    settle = summary.settle_size(row, 0.95, villages=29)
    assert settle is not None and settle.verdict == "fail"
    z = stats.norm.ppf(0.975)  # the verdict reads the two-sided 95% interval
    n = 422 * (z * 0.00708 / (0.0295 - 0.02)) ** 2
    assert settle.households_needed == math.ceil(n)
    assert settle.villages_needed == math.ceil(29 * settle.households_needed / 422)
    # A pass-side estimate would be settled as a pass.
    row.update(estimate=0.017)
    assert summary.settle_size(row, 0.95, 29).verdict == "pass"
    row.update(estimate=0.02)
    assert summary.settle_size(row, 0.95, 29) is None  # on the line: nothing settles it


def test_priorities_cover_every_indicator_at_risk_and_name_townships(tmp_path):
    table = pd.DataFrame(ROWS, columns=COLUMNS)
    risks = summary.at_risk(table, 0.95, 29, TOWNSHIPS)
    assert [r.indicator for r in risks] == ["wrong_exit", "incidence"]
    assert [h.township for h in risks[0].hotspots] == ["东镇", "西镇"]  # suppressed 南镇 not
    text = page_text(write_tables(tmp_path))
    assert "脱贫人口错退率：按抽样设计无法判断，按官方简单比率未达标。" in text
    assert "东镇（9.4%，样本30户）、西镇（4.5%，样本65户）" in text
    assert "南镇" not in text
    table.loc[3, ["decision", "official_decision"]] = ["fail", "fail"]
    risks = summary.at_risk(table, 0.95, 29, TOWNSHIPS)
    assert [r.indicator for r in risks] == ["recognition", "wrong_exit", "incidence"]
    text = page_text(write_tables(tmp_path / "fail", table))
    assert "按满意度模型，两项并举：自来水入户并提高报销比例估计效果最大" in text
    everything_passes = pd.DataFrame(ROWS, columns=COLUMNS).assign(
        decision="pass", official_decision="pass")
    assert summary.at_risk(everything_passes, 0.95, 29) == []
    assert i18n.text("priority.none", "zh") in page_text(
        write_tables(tmp_path / "pass", everything_passes))


def test_no_fixed_causal_claim(tmp_path):
    text = page_text(write_tables(tmp_path))
    assert "因与贫困户之间的待遇差距而不认可" not in text
    assert "这些是模型估计，不是实测结果" in text


def test_identity_names_the_page_and_its_tab(tmp_path):
    page = report.report_from_tables(write_tables(tmp_path), lang="zh", level=0.95,
                                      ci_method="logit", run_name="t", households=2025,
                                      villages=29, county="示例县", period="2019年8月",
                                      assessor="第三方评估组")
    html = page.html()
    assert "<title>示例县贫困县退出评估：本县现状</title>" in html
    assert "<h1>示例县贫困县退出评估：本县现状</h1>" in html
    assert "调查时段：2019年8月 · 评估机构：第三方评估组" in html


def test_cautions_travel_through_a_table(tmp_path):
    tables = write_tables(tmp_path)
    made = [caution("model_fragile", count=2), caution("bootstrap_dropped", failed=3,
                                                        total=200)]
    summary.write_cautions(made, tables / "cautions.csv")
    assert summary.read_cautions(tables) == made
    text = page_text(tables)
    assert caution_text(made[0], "zh") in text and caution_text(made[1], "zh") in text
    (tables / "cautions.csv").write_text("key,values\nmodel_fragile,{oops\n", encoding="utf-8")
    with pytest.raises(EvalkitError, match=r"cautions.csv: row 2, column values"):
        summary.read_cautions(tables)


def test_a_missing_table_is_one_line_naming_its_notebook(tmp_path):
    with pytest.raises(EvalkitError) as info:
        report.report_from_tables(tmp_path, lang="zh", level=0.95, ci_method="logit",
                                   run_name="t")
    message = str(info.value)
    assert "indicators.csv: not found; notebook 02_indicators writes it" in message
    assert "\n" not in message


def test_english_verdict_words_are_lower_case_inside_sentences(tmp_path):
    text = page_text(write_tables(tmp_path), lang="en")
    assert ("Wrong-exit rate: cannot tell by the survey design, misses the line by the "
            "official plain ratio.") in text
    labels = "|".join(i18n.text(f"status.{s}", "en")
                      for s in ("pass", "fail", "cannot_tell", "none"))
    # A label word after a lower-case word or a comma is a capital inside a sentence.
    inside = re.findall(rf"(?:[a-z,;]) (?:{labels})\b", text)
    assert inside == [], inside
    # Where the design-based verdict disagrees with the official one, the sentence reads.
    table = pd.DataFrame(ROWS, columns=COLUMNS)
    table.loc[1, ["decision", "official_decision"]] = ["fail", "pass"]
    text = page_text(write_tables(tmp_path / "b", table), lang="en")
    assert "By the survey design, however, it misses the line with 95% confidence." in text


def test_the_official_plain_ratio_decides_as_the_design_brief_says(tmp_path):
    """DESIGN.md: the official figure is the plain sample ratio against the exit line
    ("below 2%", "at least 90%"); the design-based interval only says how sure the sample
    is. The page must say the official ratio decides, whichever way the two disagree."""
    from evalkit.survey.decision import official_decision

    assert official_decision(0.0199, 0.02, "below") == "pass"
    assert official_decision(0.02, 0.02, "below") == "fail"  # "below 2%": 2.0% is not below
    assert official_decision(0.90, 0.90, "at_least") == "pass"  # "at least 90%"
    table = pd.DataFrame(ROWS, columns=COLUMNS)
    # Missed: the design-based verdict fails while the plain ratio passes.
    table.loc[1, ["decision", "official_decision"]] = ["fail", "pass"]
    # Wrong exits: the design-based verdict passes while the plain ratio fails.
    table.loc[0, ["decision", "official_decision"]] = ["pass", "fail"]
    for lang, rule, decides in (
            ("en", "The exit assessment judges the official plain ratio: {figure}, {verdict}.",
             "the exit rule judges that figure against the line: it is what the exit "
             "decision uses"),
            ("zh", "退出评估按官方简单比率判定：{figure}，{verdict}。",
             "退出规则用它对照标准线判定，退出决定依据的就是这一比率")):
        text = page_text(write_tables(tmp_path / lang, table), lang=lang)
        assert i18n.catalog(lang)["decides.rule"] == rule
        assert rule.format(figure="2.9%", verdict=i18n.text("official.fail", lang)) in text
        assert rule.format(figure="1.1%", verdict=i18n.text("official.pass", lang)) in text
        assert decides in text
        # The page never says the design-based verdict decides the exit.
        assert "decision uses the design" not in text and "以抽样设计结论为准" not in text
