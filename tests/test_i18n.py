"""Translations: both languages say everything, with the same placeholders; numbers format
honestly; the shipped font has a glyph for every character a translation can show."""

from __future__ import annotations

import contextlib
import re

import pytest

from evalkit.assessment.indicators import SPECS
from evalkit.contract.errors import EvalkitError
from evalkit.report import fonts, i18n

CJK = re.compile(r"[\u3400-\u9fff]")
# Chinese text or Chinese (full-width) punctuation.
CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def test_both_languages_have_the_same_keys_and_placeholders():
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    assert set(en) == set(zh)
    assert len(en) > 50
    for key in en:
        assert i18n.placeholders(en[key]) == i18n.placeholders(zh[key]), key


def test_chinese_is_chinese_and_english_is_not():
    en, zh = i18n.catalog("en"), i18n.catalog("zh")
    for key, value in zh.items():
        assert CHINESE.search(value), f"zh {key!r} has no Chinese: {value!r}"
    for key, value in en.items():
        assert not CJK.search(value), f"en {key!r} has Chinese: {value!r}"
        assert value.strip() == value or value.startswith((",", ";", ".")), key


def test_text_fills_placeholders_and_rejects_what_it_cannot():
    assert i18n.text("card.line.below", "en", threshold="2%") == "Line: below 2%"
    assert i18n.text("card.line.below", "zh", threshold="2%") == "标准：低于2%"
    with pytest.raises(EvalkitError, match="placeholder 'threshold'"):
        i18n.text("card.line.below", "en")
    with pytest.raises(EvalkitError, match="no text for key 'no.such.key'"):
        i18n.text("no.such.key", "zh")
    with pytest.raises(EvalkitError, match="lang 'fr': expected one of en, zh"):
        i18n.text("report.title", "fr")
    assert i18n.has_text("scenario.pipe_water", "zh")
    assert not i18n.has_text("scenario.my_own_plan", "zh")


def test_indicator_labels_come_from_the_indicator_specs():
    assert i18n.indicator_label("wrong_exit", "en") == SPECS["wrong_exit"].label_en
    assert i18n.indicator_label("wrong_exit", "en", in_sentence=True) == "wrong-exit rate"
    assert i18n.indicator_label("recognition", "zh") == "群众认可度"
    assert i18n.indicator_label("recognition", "zh", in_sentence=True) == "群众认可度"
    assert i18n.indicator_label("not_an_indicator", "en") == "not_an_indicator"


def test_percentages_never_look_equal_to_the_line():
    assert i18n.format_percent(0.029) == "2.9%"
    assert i18n.format_percent(0.029, versus=0.02) == "2.9%"
    # 2.04% beside a 2% line would print "2.0%": one more decimal.
    assert i18n.format_percent(0.0204, versus=0.02) == "2.04%"
    assert i18n.format_percent(0.02004, versus=0.02) == "2.004%"
    assert i18n.format_percent(0.9, versus=0.9) == "90.0%"  # truly on the line
    assert i18n.format_percent(0.94864, decimals=2) == "94.86%"
    assert i18n.format_percent(float("nan")) == "\u2013"


def test_lines_points_and_counts():
    assert i18n.format_line(0.02) == "2%"
    assert i18n.format_line(0.9) == "90%"
    assert i18n.format_line(0.975) == "97.5%"
    assert i18n.format_line(0.95) == "95%"
    assert i18n.format_points(0.0134) == "+1.3"
    assert i18n.format_points(-0.0004) == "+0.0"  # no "-0.0"
    assert i18n.format_points(-0.021) == "-2.1"
    assert i18n.format_count(2076, "en") == "2,076"
    assert i18n.format_count(2076, "zh") == "2076"


def test_shipped_font_covers_every_translation_and_all_gb2312_hanzi():
    covered = fonts.characters()
    needed = {c for c in i18n.all_characters() if not c.isspace()}
    assert needed - covered == set()
    hanzi = set()
    for row in range(16, 88):
        for cell in range(1, 95):
            with contextlib.suppress(UnicodeDecodeError):
                hanzi.add(bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312"))
    assert len(hanzi) == 6763
    assert hanzi - covered == set()
    # Village and township characters of both levels, and the digits and signs of charts.
    assert set("乡镇村组屯寨坪坝岭沟湾垭坳峁塬岙") <= covered
    assert set("0123456789%+\u2212\u2013.,()（）：；、") <= covered


def test_indicator_and_published_names_come_from_the_catalogue_through_one_helper():
    from evalkit.assessment.indicators import IndicatorSpec
    from evalkit.contract import locale
    from evalkit.synth.published import PUBLISHED_FIGURES, PublishedFigure

    # Written once: neither class defines its own label trio.
    for cls in (IndicatorSpec, PublishedFigure):
        assert issubclass(cls, locale.Labelled)
        assert not {"label", "label_en", "label_zh"} & set(vars(cls))
    assert SPECS["wrong_exit"].label_en == "Wrong-exit rate"
    assert SPECS["wrong_exit"].label_zh == "脱贫人口错退率"
    figures = {f.key: f for f in PUBLISHED_FIGURES}
    assert figures["wrong_exit_rate"].label("en") == "wrong-exit rate"
    assert figures["wrong_exit_rate"].label_zh == i18n.catalog("zh")[
        "published.wrong_exit_rate.name"]
    for lang in ("en", "zh"):
        words = i18n.catalog(lang)
        for spec in SPECS.values():
            assert spec.label(lang) == words[f"indicator.{spec.key}.name"]
        for figure in PUBLISHED_FIGURES:
            assert figure.label(lang) == words[f"published.{figure.key}.name"]
    assert all(f.label_en != f.label_zh for f in PUBLISHED_FIGURES)
    with pytest.raises(EvalkitError, match="lang 'fr'"):
        SPECS["missed"].label("fr")
