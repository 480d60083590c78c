"""The policy report as a reader sees it: sentences, cards, tables, chart, Excel, fonts."""

from __future__ import annotations

import base64
import gc
import io
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from evalkit.assessment.indicators import assess, indicator_table
from evalkit.assessment.satisfaction import scenario_table
from evalkit.contract.data import prepare_survey
from evalkit.contract.errors import EvalkitError
from evalkit.report import fonts, i18n, plots, verdicts
from evalkit.report import policy as report
from evalkit.report.render import external_references
from evalkit.survey.design import SurveyDesign

THRESHOLDS = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.90, "incidence": 0.02}
FORMULA = "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao + log_income"
SCENARIOS = ["pipe_water", "raise_reimbursement", "both"]
# Identifying values planted in the simulated survey: none may reach any output.
SECRETS = ("欧阳明月", "Zhang Sanfeng", "110101199003071234", "13800138000")


def simulate(seed: int = 11, n_villages: int = 18, per_village: int = 40
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small two-stage sample (villages as PSUs) with the survey contract's columns."""
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    village = np.repeat([f"村{i:02d}" for i in range(n_villages)], per_village)
    htype = rng.choice(["exited", "not_exited", "nonregistered"], n, p=[0.4, 0.1, 0.5])
    size = rng.integers(1, 7, n)
    wrong = np.where(htype == "exited", rng.binomial(size, 0.035), 0)
    missed = np.where(htype == "nonregistered", rng.binomial(size, 0.01), 0)
    nonpoor = htype == "nonregistered"
    water = np.where(nonpoor, rng.choice(["in_home", "at_door"], n, p=[0.4, 0.6]),
                     rng.choice(["in_home", "at_door"], n, p=[0.95, 0.05]))
    stay = rng.random(n) < 0.35
    share = np.where(stay, np.where(nonpoor, rng.uniform(0.55, 0.8, n),
                                    rng.uniform(0.88, 0.97, n)), np.nan)
    income = rng.gamma(4.0, 2500.0, n)
    dibao = ((~nonpoor) & (rng.random(n) < 0.5)).astype(int)
    gap = np.where(stay, np.clip(0.9 - share, 0, None), 0.0)
    u = np.repeat(rng.normal(0, 0.3, n_villages), per_village)
    eta = 3.4 - 1.6 * (nonpoor & (water == "at_door")) - 6.0 * nonpoor * gap + u
    recognizes = rng.random(n) < 1 / (1 + np.exp(-eta))
    recognition = np.where(recognizes, rng.choice(["satisfied", "basically_satisfied"], n),
                           "dissatisfied")
    registered = ~nonpoor
    survey = pd.DataFrame({
        "township": np.repeat([f"镇{i // 6}" for i in range(n_villages)], per_village),
        "village": village,
        "household_id": [f"H{i:05d}" for i in range(n)],
        "name": np.resize(np.array(SECRETS[:2]), n),
        "id_number": SECRETS[2], "phone": SECRETS[3],
        "household_type": htype, "household_size": size,
        "people_wrongly_exited": wrong, "people_missed": missed,
        "recognition": recognition, "water_access": water, "reimbursement_share": share,
        "dibao": dibao,
        "industry_support": (registered & (rng.random(n) < 0.56)).astype(int),
        "microcredit": np.zeros(n, dtype=int),
        "public_welfare_job": (registered & (rng.random(n) < 0.05)).astype(int),
        "income_per_head": income,
        "weight": 12.5,
    })
    people = pd.DataFrame({"village": village, "htype": htype, "size": size * 12.5})
    totals = people.pivot_table(index="village", columns="htype", values="size",
                                aggfunc="sum", fill_value=0)
    frame = pd.DataFrame({
        "village": totals.index,
        "people_exited": totals["exited"].round().astype(int).to_numpy(),
        "people_not_exited": totals["not_exited"].round().astype(int).to_numpy(),
        "people_nonregistered": totals["nonregistered"].round().astype(int).to_numpy(),
    })
    return prepare_survey(survey), frame


@pytest.fixture(scope="module")
def results() -> dict[str, object]:
    survey, frame = simulate()
    design = SurveyDesign(survey, psu="village", weights="weight")
    table = indicator_table(assess(design, frame, THRESHOLDS, method="logit", level=0.95))
    scenarios = scenario_table(design.logit(FORMULA), SCENARIOS, level=0.95)
    return {"survey": survey, "table": table, "scenarios": scenarios,
            "villages": design.n_psu}


def make_report(results: dict[str, object], lang: str, **changes: object
                ) -> report.PolicyReport:
    options: dict[str, object] = dict(lang=lang, level=0.95, method="logit",
                                      run_name="unit-test",
                                      households=len(results["survey"]),  # type: ignore[arg-type]
                                      villages=results["villages"])
    options.update(changes)
    return report.build_report(results["table"], results["scenarios"],  # type: ignore[arg-type]
                               **options)  # type: ignore[arg-type]


def row(**values: object) -> dict[str, object]:
    base: dict[str, object] = {"indicator": "wrong_exit", "estimate": 0.029, "ci_low": 0.021,
                               "ci_high": 0.039, "threshold": 0.02, "direction": "below",
                               "decision": "fail"}
    base.update(values)
    return base


# --- sentences -------------------------------------------------------------------------
def test_sentence_above_the_line_in_both_languages():
    assert verdicts.sentence(row(), "en", 0.95) == (
        "The wrong-exit rate is 2.9%; we are 95% confident it lies between 2.1% and 3.9%, "
        "so it is above the 2% line.")
    assert verdicts.sentence(row(), "zh", 0.95) == (
        "脱贫人口错退率为2.9%，我们有95%的把握认为其真实值在2.1%至3.9%之间，"
        "因此高于2%的标准线。")


def test_sentence_cannot_tell():
    r = row(ci_low=0.018, ci_high=0.045, decision="cannot tell")
    assert verdicts.sentence(r, "en", 0.95) == (
        "The wrong-exit rate is 2.9%; we are 95% confident it lies between 1.8% and 4.5%, "
        "so we cannot tell whether it is above the 2% line with this sample.")
    assert verdicts.sentence(r, "zh", 0.95).endswith("因此以现有样本无法判断它是否高于2%的标准线。")


def test_sentence_has_no_bound_but_the_interval_it_quotes():
    # The verdict follows the interval quoted; no other bound is named.
    r = row(ci_low=0.0193, decision="cannot tell")
    text = verdicts.sentence(r, "en", 0.95)
    assert text == (
        "The wrong-exit rate is 2.9%; we are 95% confident it lies between 1.9% and 3.9%, "
        "so we cannot tell whether it is above the 2% line with this sample.")


def test_sentence_for_a_rate_that_must_reach_its_line():
    r = row(indicator="recognition", estimate=0.9486, ci_low=0.93, ci_high=0.962,
            threshold=0.9, direction="at_least", decision="pass")
    assert verdicts.sentence(r, "en", 0.9) == (
        "The recognition rate is 94.9%; we are 90% confident it lies between 93.0% and "
        "96.2%, so it reaches the 90% line.")
    assert verdicts.sentence(r, "zh", 0.9) == (
        "群众认可度为94.9%，我们有90%的把握认为其真实值在93.0%至96.2%之间，因此达到90%的标准线。")
    low = row(indicator="recognition", estimate=0.87, ci_low=0.85, ci_high=0.89,
              threshold=0.9, direction="at_least", decision="fail")
    assert verdicts.sentence(low, "en", 0.95).endswith("so it falls short of the 90% line.")


def test_sentence_without_a_line_gives_no_verdict():
    r = row(indicator="microcredit", estimate=0.0, ci_low=0.0, ci_high=0.006,
            threshold=None, decision=None)
    assert verdicts.sentence(r, "en", 0.95) == (
        "The microcredit take-up is 0.0%; we are 95% confident it lies between 0.0% and "
        "0.6%.")


def test_unknown_decision_is_an_error():
    with pytest.raises(EvalkitError, match="decision 'maybe'"):
        verdicts.sentence(row(decision="maybe"), "en", 0.95)


# --- priorities ------------------------------------------------------------------------
def test_priorities_ranked_by_recognition_recovered():
    scenarios = pd.DataFrame({
        "scenario": ["observed", "pipe_water", "raise_reimbursement", "both"],
        "estimate": [0.88, 0.905, 0.89, 0.915],
        "ci_low": [0.86, 0.89, 0.87, 0.901],
        "ci_high": [0.90, 0.92, 0.91, 0.93],
        "change": [0.0, 0.025, 0.010, 0.035],
        "change_low": [np.nan, 0.015, 0.002, 0.022],
        "change_high": [np.nan, 0.035, 0.018, 0.048],
    })
    ranked = verdicts.rank_priorities(scenarios, threshold=0.9)
    assert list(ranked["scenario"]) == ["both", "pipe_water", "raise_reimbursement"]
    assert list(ranked["rank"]) == [1, 2, 3]
    np.testing.assert_allclose(ranked["before"], 0.88)
    assert list(ranked["reaches"]) == ["pass", "cannot tell", "cannot tell"]
    with pytest.raises(EvalkitError, match="missing column"):
        verdicts.rank_priorities(scenarios.drop(columns="change_low"))
    broken = scenarios.assign(change=["0", "x", "0.01", "0.03"])
    with pytest.raises(EvalkitError, match="'pipe_water' has an empty or non-numeric"):
        verdicts.rank_priorities(broken)


# --- the page --------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_shows_this_runs_numbers_in_the_chosen_language(results, lang):
    page = make_report(results, lang)
    doc = page.html()
    table = results["table"]
    for key in report.HEADLINE_KEYS:
        rec = table.loc[table["indicator"] == key].iloc[0]
        thr = rec["threshold"]
        for value in (rec["estimate"], rec["ci_low"], rec["ci_high"], rec["official"]):
            assert i18n.format_percent(value, versus=thr) in doc, (key, value)
        assert i18n.indicator_label(key, lang) in doc
        assert html_text(verdicts.sentence(rec.to_dict(), lang, 0.95)) in doc
    # The official wrong-exit rate, recomputed here from the raw sample.
    survey = results["survey"]
    exited = survey["household_type"] == "exited"
    plain = survey.loc[exited, "people_wrongly_exited"].sum() / survey.loc[
        exited, "household_size"].sum()
    assert f"{plain * 100:.1f}%" in doc
    # Scenarios, ranked, with their gains.
    ranked = page.priorities()
    assert ranked is not None and len(ranked) == 3
    for rec in ranked.to_dict("records"):
        assert html_text(verdicts.scenario_label(rec["scenario"], lang)) in doc
        assert i18n.format_points(rec["change"]) in doc
    for key in ("report.title", "section.headline", "section.secondary", "section.drivers",
                "section.priorities", "section.notes", "notes.privacy"):
        assert html_text(i18n.text(key, lang)) in doc
    other = "zh" if lang == "en" else "en"
    for key in ("report.title", "section.priorities", "status.pass", "card.official"):
        assert html_text(i18n.text(key, other)) not in doc
    assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in doc


def html_text(text: str) -> str:
    import html

    return html.escape(text, quote=True)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_summary_chip_counting_zero_is_grey_not_alarming(results, lang):
    """"未达标: 4项中0项" in red reads as a failure at a glance: a chip that counts 0 is
    grey; a chip that counts any is in its verdict's colour."""
    from evalkit.report.verdicts import STATUS_COLOURS

    table = results["table"].copy()
    table.loc[table.index[:4], "official_decision"] = "pass"
    page = make_report({**results, "table": table}, lang).html()
    chips = re.findall(r'<span class="ek-chip" data-status="(\w+)" data-count="(\d+)" '
                       r'style="color:(#[0-9a-f]+);', page)
    assert len(chips) >= 4
    official_fail = [c for c in chips if c[0] == "fail"][0]
    assert official_fail[1] == "0" and official_fail[2] == STATUS_COLOURS["none"]
    assert ("pass", "4", STATUS_COLOURS["pass"]) in chips
    for status, count, colour in chips:
        assert colour == (STATUS_COLOURS[status] if count != "0" else STATUS_COLOURS["none"])


def test_cards_are_traffic_lights_with_the_official_figure_beside(results):
    page = make_report(results, "en")
    cards = page.cards_html()
    found = re.findall(r'data-indicator="(\w+)" data-status="(\w+)"', cards)
    table = results["table"].set_index("indicator")
    assert [k for k, _ in found] == list(report.HEADLINE_KEYS)
    for key, status in found:
        assert status == verdicts.status_key(table.loc[key, "decision"])
    assert cards.count("Official plain figure") == 4
    assert cards.count("<svg") == 4


def test_page_is_offline_responsive_printable_and_private(results):
    doc = make_report(results, "zh").html()
    assert external_references(doc) == []
    assert "://" not in doc
    assert "<script" not in doc.lower()
    assert 'name="viewport"' in doc
    assert "flex-wrap" in doc and "max-width" in doc
    assert "@media print" in doc and "size: A4" in doc and "break-inside: avoid" in doc
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', doc)
    assert len(images) == 1
    assert base64.b64decode(images[0])[:8] == b"\x89PNG\r\n\x1a\n"
    for secret in SECRETS:
        assert secret not in doc


def test_report_without_scenarios_says_so(results):
    page = report.build_report(results["table"], None, lang="en")
    doc = page.html()
    assert "scenarios were not available" in doc
    assert "data:image/png" not in doc
    assert page.drivers_png() is None


def test_bad_inputs_are_one_line_errors(results):
    with pytest.raises(EvalkitError, match="lang 'de'"):
        report.build_report(results["table"], lang="de")
    with pytest.raises(EvalkitError, match="no row for recognition"):
        report.build_report(results["table"].iloc[:3])
    with pytest.raises(EvalkitError, match="missing column"):
        report.build_report(results["table"].drop(columns="decision"))


def test_page_settings_have_one_home_and_the_signature_is_kept():
    import dataclasses
    import inspect

    from evalkit.report.policy_sections import PageContext

    # The report declares no field of its own: every page setting is PageContext's.
    assert issubclass(report.PolicyReport, PageContext)
    assert dataclasses.fields(report.PolicyReport) == dataclasses.fields(PageContext)
    assert list(inspect.signature(report.PolicyReport).parameters) == [
        "indicators", "scenarios", "lang", "level", "method", "run_name", "households",
        "villages", "weighted", "clustered", "cautions", "by_township", "county", "period",
        "assessor", "frame_villages"]


def test_one_context_per_report_its_sections_match_the_page(results, monkeypatch):
    from evalkit.assessment import summary
    from evalkit.report import policy_sections

    calls = {"rank": 0, "at_risk": 0}
    rank, at_risk = policy_sections.rank_priorities, summary.at_risk

    def counted_rank(*args, **kwargs):
        calls["rank"] += 1
        return rank(*args, **kwargs)

    def counted_at_risk(*args, **kwargs):
        calls["at_risk"] += 1
        return at_risk(*args, **kwargs)

    monkeypatch.setattr(policy_sections, "rank_priorities", counted_rank)
    monkeypatch.setattr(summary, "at_risk", counted_at_risk)
    from evalkit.assessment.fragility import caution

    page = make_report(results, "zh", cautions=(caution("no_interval", indicator="missed"),))
    assert page.page() is page
    one_by_one = [page.header_html(), page.cards_html(), page.cautions_html(),
                  page.priorities_html(), page.drivers_intro_html(),
                  page.scenarios_html(), page.secondary_html(), page.notes_html()]
    pieces = page.sections()
    assert [piece for kind, piece in pieces if kind == "html"] == one_by_one
    assert all(one_by_one)  # every section shown, the cautions included
    assert [kind for kind, _ in pieces].count("png") == 1
    page.html()
    assert page.priorities() is page.ranked is not None
    # Ranked and at-risk were computed once for the report, not once per section.
    assert calls == {"rank": 1, "at_risk": 1}
    # A second report computes its own.
    make_report(results, "en").priorities_html()
    assert calls["at_risk"] == 2


def test_notebook_display_shows_html_and_the_chart_as_an_image(results, monkeypatch):
    import IPython.display

    shown: list[object] = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    make_report(results, "zh").show()
    kinds = [type(obj).__name__ for obj in shown]
    assert kinds.count("Image") == 1
    assert kinds.count("HTML") == len(kinds) - 1 >= 5
    html_parts = [obj.data for obj in shown if type(obj).__name__ == "HTML"]
    assert all("base64" not in part for part in html_parts)  # nbval compares HTML text


# --- Excel -----------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_xlsx_has_translated_headers_and_the_unrounded_numbers(results, lang, tmp_path):
    from openpyxl import load_workbook

    page = make_report(results, lang)
    path = page.to_xlsx(tmp_path / "report.xlsx")
    wb = load_workbook(path)
    t = page.t
    assert wb.sheetnames == [t("sheet.indicators"), t("sheet.priorities"), t("sheet.about")]
    ws = wb[t("sheet.indicators")]
    header = [c.value for c in ws[1]]
    assert header[:3] == [t("col.indicator"), t("col.estimate"), t("col.ci_low")]
    table = results["table"]
    labels = [ws.cell(row=i, column=1).value for i in range(2, len(table) + 2)]
    assert labels == [i18n.indicator_label(k, lang) for k in table["indicator"]]
    estimates = [ws.cell(row=i, column=2).value for i in range(2, len(table) + 2)]
    np.testing.assert_allclose(estimates, table["estimate"], rtol=0, atol=1e-15)
    assert ws.cell(row=2, column=2).number_format == "0.00%"
    ranked = page.priorities()
    ps = wb[t("sheet.priorities")]
    gains = [ps.cell(row=i, column=7).value for i in range(2, len(ranked) + 2)]
    np.testing.assert_allclose(gains, ranked["change"] * 100)
    # Reproducible bytes: a rerun writes the same file.
    again = page.to_xlsx(tmp_path / "again.xlsx")
    assert again.read_bytes() == path.read_bytes()
    text = b"".join(_xlsx_parts(path))
    for secret in SECRETS:
        assert secret.encode() not in text


def _xlsx_parts(path) -> list[bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return [z.read(name) for name in z.namelist()]


# --- fonts -----------------------------------------------------------------------------
def _draw(text: str) -> list[str]:
    """Messages of the warnings raised while drawing ``text`` with the report font."""
    from matplotlib.figure import Figure

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fonts.context():
            fig = Figure(figsize=(4, 2))
            ax = fig.add_subplot()
            ax.set_title(text)
            ax.set_xlabel("全县认可度的变化（百分点）")
            ax.plot([-1, 1], [0, 1])  # a negative tick label uses U+2212
            fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught]


def test_chinese_renders_without_missing_glyphs():
    assert _draw("脱贫人口错退率 群众认可度 综合贫困发生率 乡镇村 ≥90%") == []
    # GB2312 level-2 characters common in place names
    assert _draw("垭口村 坳上组 峁塬镇 岙头") == []


def test_the_glyph_check_can_fail():
    # U+9F98 (龘, outside GB2312) is in neither the subset nor DejaVu Sans: the same check
    # must then see matplotlib's missing-glyph warning.
    messages = _draw("龘口村")
    assert any("missing from font" in m for m in messages)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_report_chart_draws_every_glyph(results, lang, caplog):
    page = make_report(results, lang)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = page.drivers_png()
    assert [str(w.message) for w in caught] == []
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    assert png is not None and png[:8] == b"\x89PNG\r\n\x1a\n"
    assert page.drivers_png() == png  # same bytes on a rerun


def test_font_is_small_registered_and_licensed():
    from matplotlib import font_manager

    assert fonts.FONT_PATH.stat().st_size < 2.5 * 1024 * 1024
    assert fonts.LICENSE_PATH.is_file()
    licence = fonts.LICENSE_PATH.read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Reserved Font Name 'Source'" in licence
    found = font_manager.findfont(font_manager.FontProperties(family=fonts.FAMILY),
                                  fallback_to_default=False)
    assert found == str(fonts.FONT_PATH)
    assert fonts.FAMILY not in ("Noto Sans CJK SC", "Source Han Sans SC")


def test_chart_marks_the_gain_needed_when_recognition_is_below_the_line():
    scenarios = pd.DataFrame({
        "scenario": ["pipe_water", "my_own_plan"],
        "estimate": [0.905, 0.87], "ci_low": [0.89, 0.85], "ci_high": [0.92, 0.89],
        "change": [0.025, -0.01], "change_low": [0.015, -0.02], "change_high": [0.035, 0.0],
    })
    ranked = verdicts.rank_priorities(scenarios, threshold=0.9)
    np.testing.assert_allclose(ranked["before"], 0.88)
    gc.collect()  # event loops left by earlier tests' kernels warn when collected
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = plots.drivers_figure(ranked, "zh", 0.95, threshold=0.9)
        plots.figure_png(fig)
    assert [str(w.message) for w in caught if w.category is not ResourceWarning] == []
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert i18n.text("chart.needed", "zh", threshold="90%") in legend
    ax = fig.axes[0]
    assert any(abs(line.get_xdata()[0] - 2.0) < 1e-9 for line in ax.get_lines())
    texts = [t.get_text() for t in ax.texts]
    assert "为非贫困户自来水入户" in texts and "my_own_plan" in texts  # user scenario kept
    assert "-1.0" in texts and "+2.5" in texts


def test_the_notes_name_every_row_whose_interval_is_not_the_runs_method(results):
    """The zero-event rows (microcredit: no case in the sample) get Korn-Graubard with a
    design-based effective size; the notes must not claim one method for every row."""
    table = results["table"]
    assert (table.set_index("indicator").loc["microcredit", "ci_method"]
            == "zero-event korn-graubard")
    en = make_report(results, "en").notes_html()
    assert "Interval method: logit. For Microcredit take-up: Korn-Graubard" in en
    zh = make_report(results, "zh").notes_html()
    assert "小额信贷获贷率：Korn-Graubard法" in zh
    logit_only = {**results, "table": table.assign(ci_method="logit")}
    assert "For " not in make_report(logit_only, "en").notes_html()
