"""One verdict rule, checkable with a ruler: every decision follows from the interval shown.

The rule (``evalkit.survey.decision.decide``, DESIGN.md "Two verdicts"): pass when the whole
interval printed is on the passing side of the line, fail when it is wholly on the failing
side, cannot tell when it straddles the line. The policy page leads with the official
decision (``id="decision"``), naming exactly the indicators whose official ratio fails.

The end-to-end tests run synthetic provinces of seeds nothing else is built on, through
``evalkit province --tables-only`` (notebook 02's ``indicators.csv`` bytes) and the policy
page built from those tables, and check the rule, not today's numbers.
"""

from __future__ import annotations

import gc
import html
import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import synth
from evalkit.report.policy import report_from_tables
from evalkit.run import cli
from evalkit.survey.decision import decide, decide_many, official_decision

NEW_SEEDS = (90417, 31337)


def ruler(low: float, high: float, line: float, direction: str) -> str:
    """The rule as a reader applies it to a printed interval."""
    if direction == "below":
        return "pass" if high < line else "fail" if low > line else "cannot tell"
    return "pass" if low >= line else "fail" if high < line else "cannot tell"


# --- the rule ------------------------------------------------------------------------------
@pytest.mark.parametrize(("interval", "line", "direction", "expected"), [
    ((0.010, 0.018), 0.02, "below", "pass"),
    ((0.019, 0.058), 0.02, "below", "cannot tell"),   # the card of the issue: crosses 2%
    ((0.021, 0.058), 0.02, "below", "fail"),
    ((0.020, 0.030), 0.02, "below", "cannot tell"),   # touching the line is not above it
    ((0.91, 0.97), 0.90, "at_least", "pass"),
    ((0.90, 0.97), 0.90, "at_least", "pass"),          # "at least 90%"
    ((0.88, 0.93), 0.90, "at_least", "cannot tell"),
    ((0.85, 0.89), 0.90, "at_least", "fail"),
])
def test_decide_reads_the_interval_shown(interval, line, direction, expected):
    assert decide(interval, line, direction) == expected
    assert decide_many(np.array([interval[0]]), np.array([interval[1]]), line,
                       direction).tolist() == [expected]


def test_decide_needs_a_line_and_finite_bounds():
    assert decide((0.01, 0.02), None, "below") is None
    assert decide((np.nan, 0.02), 0.02, "below") is None
    assert decide_many(np.array([np.nan, 0.0]), np.array([0.01, 0.01]), 0.02,
                       "below").tolist() == [None, "pass"]


def test_decide_many_equals_decide_everywhere():
    rng = np.random.default_rng(3)
    low = rng.uniform(0, 0.05, 500)
    high = low + rng.uniform(0, 0.03, 500)
    for direction in ("below", "at_least"):
        many = decide_many(low, high, 0.02, direction).tolist()
        assert many == [decide((lo, hi), 0.02, direction) for lo, hi in
                        zip(low, high, strict=True)]


def test_official_verdict_is_the_plain_ratio_against_the_line():
    assert official_decision(0.029, 0.02, "below") == "fail"
    assert official_decision(0.0199, 0.02, "below") == "pass"
    assert official_decision(0.9486, 0.90, "at_least") == "pass"
    assert official_decision(0.01, None, "below") is None


# --- synthetic provinces of new seeds ---------------------------------------------------------
@pytest.fixture(scope="module")
def new_province(tmp_path_factory) -> tuple[Path, Path]:
    """Two tables-only province runs on seeds no other test uses: (run folder, data)."""
    folder = tmp_path_factory.mktemp("decision")
    runs = []
    for seed in NEW_SEEDS:
        synth.write_province_data(folder / f"data{seed}", seed=seed, n_counties=4)
        params = folder / f"p{seed}.yaml"
        params.write_text(
            f"run_name: r{seed}\nseed: 5\nlang: zh\nprovince:\n  name: 新省\n"
            f"  counties_dir: data{seed}\n", encoding="utf-8")
        code = cli.main(["province", str(params), "--out", str(folder / "out"),
                         "--workers", "1", "--tables-only", "-q"])
        assert code == 0
        runs.append(folder / "out" / f"r{seed}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    return tuple(runs)  # type: ignore[return-value]


def county_tables(runs) -> list[Path]:
    return sorted(p for run in runs for p in (run / "counties").glob("*/tables"))


def test_indicators_csv_decisions_follow_from_the_interval(new_province):
    checked = 0
    outcomes = set()
    for tables in county_tables(new_province):
        table = pd.read_csv(tables / "indicators.csv")
        assert "one_sided_low" not in table.columns
        for rec in table.to_dict("records"):
            if not np.isfinite(rec["threshold"]):
                assert not isinstance(rec["decision"], str)
                continue
            expected = ruler(rec["ci_low"], rec["ci_high"], rec["threshold"],
                             rec["direction"])
            assert rec["decision"] == expected, (tables, rec["indicator"])
            outcomes.add(expected)
            checked += 1
    assert checked >= 8 * 4
    assert {"pass", "cannot tell"} <= outcomes  # the seeds exercise more than one branch


class _Elements(HTMLParser):
    """Start tags with their attributes, and the text inside #decision."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.decision_text: list[str] = []
        self._depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if attributes.get("id") == "decision":
            self._depth = 1
        elif self._depth and tag not in ("br", "img"):
            self._depth += 1

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.decision_text.append(data)


def parse(page: str) -> _Elements:
    parser = _Elements()
    parser.feed(page)
    return parser


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_policy_page_leads_with_the_official_decision(new_province, lang):
    from evalkit.report.i18n import indicator_label
    from evalkit.report.verdicts import HEADLINE_KEYS

    pages = 0
    for tables in county_tables(new_province):
        table = pd.read_csv(tables / "indicators.csv")
        page = report_from_tables(tables, lang=lang, level=0.95, ci_method="logit",
                                  run_name="t", households=2000, villages=29).html()
        elements = parse(page)
        # the decision comes before the first card
        assert page.index('id="decision"') < page.index('class="ek-card"')
        rows = table.set_index("indicator")
        failing = [k for k in HEADLINE_KEYS if rows.loc[k, "official_decision"] == "fail"]
        section = next(a for t, a in elements.tags if a.get("id") == "decision")
        assert section["data-official"] == ("fail" if failing else "pass")
        items = [a for t, a in elements.tags if t == "li" and "data-official" in a]
        named = [a["data-indicator"] for a in items if a["data-official"] == "fail"]
        assert named == failing
        lead = html.unescape(re.search(r'class="ek-decision-lead">(.*?)</p>', page).group(1))
        assert lead in "".join(elements.decision_text)
        for key in HEADLINE_KEYS:
            label = indicator_label(key, lang, in_sentence=True)
            # the lead names a failing indicator and no other
            assert (label in lead) == (key in failing), (tables, key, lead)
        for item in items:  # how sure: the item's statistical verdict is the table's
            key = item["data-indicator"]
            assert item["data-status"] == rows.loc[key, "decision"].replace(" ", "_")
        # cards: badges official first, then the statistical verdict, both from the table
        cards = [a for t, a in elements.tags if a.get("class") == "ek-card"]
        assert [c["data-indicator"] for c in cards] == list(HEADLINE_KEYS)
        for card in cards:
            rec = rows.loc[card["data-indicator"]]
            assert card["data-status"] == ruler(rec["ci_low"], rec["ci_high"],
                                                rec["threshold"],
                                                rec["direction"]).replace(" ", "_")
        badges = [a["data-verdict"] for t, a in elements.tags if "data-verdict" in a]
        assert badges[:2] == ["official_decision", "decision"]
        chips = [a["data-verdicts"] for t, a in elements.tags if "data-verdicts" in a]
        assert chips == ["official_decision", "decision"]
        pages += 1
    assert pages == 8


def test_decision_when_every_official_ratio_passes_and_without_lines(new_province):
    tables = county_tables(new_province)[0]
    table = pd.read_csv(tables / "indicators.csv")
    table["official_decision"] = "pass"
    from evalkit.report.policy import build_report

    page = build_report(table, lang="en").html()
    section = re.search(r'<section id="decision".*?</section>', page, re.S).group(0)
    assert 'data-official="pass"' in section
    assert "meets the exit standard" in section and "miss their lines" not in section
    # the items list only the indicators the sample is not sure of
    unsure = [k for k, d in zip(table["indicator"][:4], table["decision"][:4], strict=True)
              if d != "pass"]
    assert re.findall(r'data-indicator="(\w+)"', section) == unsure
    no_lines = table.assign(threshold=np.nan, decision=None, official_decision=None)
    page = build_report(no_lines, lang="zh").html()
    section = re.search(r'<section id="decision".*?</section>', page, re.S).group(0)
    assert "不作退出结论" in section and "未达标的指标" not in section
