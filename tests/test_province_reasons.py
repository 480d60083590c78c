"""A failed county's reason on the zh province page: every message the data contract gives
reads in Chinese, with its file, row and column kept (issue #22)."""

from __future__ import annotations

import re

import pytest

# Every "expected ..." a county's validation can give (the data contract's messages, as
# `evalkit province` joins them into a failed county's reason), on the zh province page.
PROVINCE_REASONS = [
    "survey.csv, row 4, column township: value 'abc': expected T01, the township of village "
    "V001 in frame.csv",
    "survey.csv, row 4, column village: value 'V9': expected a village listed in the frame "
    "(frame.csv)",
    "survey.csv, row 4, column people_missed: value '9': expected at most household_size (5) "
    "people",
    "survey.csv, row 4, column people_missed: value '9': expected 0 for households that are "
    "not non-registered",
    "survey.csv, row 4, column reimbursement_share: value 'abc': expected a share between 0 "
    "and 1 (0.7 or 70%, not 70), or empty if no stay",
    "survey.csv, row 5, column household_id: value 'V001-0008': expected a household id used "
    "once (also in row 4)",
    "frame.csv, row 3, column village: value 'V001': expected each village once (also in "
    "row 2)",
    "survey.csv, row 4, column responded: value 'maybe': expected 0 or 1 (否/是): 1 if the "
    "household was interviewed, 0 if it was sampled but not interviewed",
    "survey.csv, row 4, column replaces: value 'XX': expected the household_id of a sampled "
    "household in this file that this reserve household replaced (add that household's row "
    "with responded 0)",
    "survey.csv, row 4, column dibao: value 'x': expected 0 or 1 (否/是)",
    "survey.csv, row 4, column income_per_head: value '-5': expected a number of yuan >= 0",
    "survey.csv, row 4, column village_prob: value '-5': expected a probability > 0 and <= 1",
    "survey.csv, row 4, column people_wrongly_exited: value '-5': expected a whole number >= 0",
    "survey.csv, row 4, column recognition: value 'x': expected one of satisfied (满意), "
    "basically_satisfied (基本满意), dissatisfied (不满意)",
    "survey.csv: expected at least one data row below the header (found none)",
]


@pytest.mark.parametrize("reason", PROVINCE_REASONS)
def test_every_county_reason_reads_in_chinese_with_file_row_and_column(reason):
    from evalkit.report.province_reasons import reason_text

    zh = reason_text(reason, "zh")
    # file, row and column kept; the value quoted as written
    assert zh.startswith(reason.split(",")[0].split(":")[0])
    if ", row " in reason:
        row = reason.split(", row ")[1].split(",")[0]
        assert f"第{row}行" in zh
        column = reason.split(", column ")[1].split(":")[0]
        assert f"{column}列" in zh
    # no English sentence is left: only the file, the column, the value as written and the
    # codes a cell may hold (snake_case, V001, T01) stay in Latin letters
    rest = re.sub(r"'[^']*'|\w+\.csv|[A-Za-z]+(?:_[A-Za-z0-9]+)+|[VT]\d+", " ", zh)
    rest = rest.replace(f"{reason.split(', column ')[1].split(':')[0]}列" if ", column " in reason
                        else "\0", " ")
    words = set(re.findall(r"[A-Za-z]{2,}", rest)) - {"satisfied", "dissatisfied", "responded"}
    assert not words, (words, zh)


def test_a_missing_columns_description_is_in_the_pages_language() -> None:
    """The codebook's description of a column reaches the zh page in Chinese; the English
    catalogue holds the codebook's own text without its Chinese terms (so the two cannot
    drift apart)."""
    import re

    from evalkit.contract import schema
    from evalkit.report import i18n
    from evalkit.report.province_reasons import reason_text

    columns = {**schema.FRAME_COLUMNS, **schema.SURVEY_REQUIRED, **schema.SURVEY_OPTIONAL}
    for name, text in columns.items():
        english = re.sub(r"\s*\([^)]*[\u3400-\u9fff][^)]*\)", "", text).strip()
        assert i18n.text(f"codebook.{name}", "en") == english, name
        assert i18n.has_text(f"codebook.{name}", "zh"), name
    error = ("survey.csv, row 1, column household_size: expected a column named household_size "
             "(people in the household, integer >= 1) in the header row")
    zh = reason_text(error, "zh")
    assert "家庭人口数，整数且不小于1" in zh and "people in the household" not in zh
    assert "people in the household, integer >= 1" in reason_text(error, "en")
