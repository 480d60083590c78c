"""A failed county's reason on the province page, in the page's language.

The reason is the run's one-line error (:func:`evalkit.run.province.inspect_county`: the
validation report's lines joined by ``; ``, or a notebook's failure). Each part is
recognised and written again from the catalogue's ``province.reason.*`` words
(:mod:`evalkit.report.i18n`), keeping the file, row and column; a part or an expected value
no pattern knows is kept as written, so nothing is lost.
"""

from __future__ import annotations

import re

from evalkit.contract.cells import FLAG_EXPECTED
from evalkit.report import i18n


def _t(lang: str, key: str, **values: str) -> str:
    return i18n.text(f"province.{key}", lang, **values)


_PROBLEM = re.compile(r"^(?P<file>[^,;:]+), row (?P<row>\d+)(?:, column (?P<column>[^:]+))?"
                      r"(?:: value (?P<value>'.*?'))?: expected (?P<expected>.+)$")
_FILE_PROBLEMS = re.compile(r"^(?P<file>[^,;:]+): (?P<n>\d+) problems?$")
_FILE_EXPECTED = re.compile(r"^(?P<file>[^,;:]+): expected (?P<expected>.+)$")
_NOTEBOOK = re.compile(r"^notebook (?P<notebook>\S+) failed in cell (?P<cell>\d+) "
                       r"\((?P<line>.*)\): (?P<error>.+)$")
_MORE = re.compile(r"^\.\.\. \((?P<n>\d+) more lines\)$")
_EXPECTED = (
    (re.compile(r"^a column named (?P<name>\S+) \((?P<what>.*?)\) in the header row"
                r"(?: \(found '(?P<found>.*)': did you mean (?P<meant>.*)\?\))?$"),
     "column_named"),
    (re.compile(r"^a whole number from (?P<low>\d+) to (?P<high>\d+)$"), "whole_number"),
    (re.compile(r"^a design weight > 0$"), "design_weight"),
    (re.compile(r"^a value \(this cell is empty\)$"), "empty"),
    (re.compile(r"^an existing file(?: \((?P<path>.*)\))?$"), "existing_file"),
    (re.compile(rf"^{re.escape(FLAG_EXPECTED)}$"), "zero_one"),
    (re.compile(rf"^{re.escape(FLAG_EXPECTED)}: 1 if the household was interviewed, 0 if it "
                r"was sampled but not interviewed$"), "responded"),
    (re.compile(r"^a number of yuan >= 0$"), "yuan"),
    (re.compile(r"^a probability > 0 and <= 1$"), "probability"),
    (re.compile(r"^a whole number >= (?P<low>\d+)$"), "whole_number_min"),
    (re.compile(r"^at most household_size \((?P<n>\d+)\) people$"), "at_most_size"),
    (re.compile(r"^0 for households that are not non-registered$"), "zero_not_nonregistered"),
    (re.compile(r"^one of (?P<options>.+)$"), "one_of"),
    (re.compile(r"^(?P<township>[^,\s]+), the township of village (?P<village>\S+) in "
                r"(?P<file>.+)$"), "township_of"),
    (re.compile(r"^a village listed in the frame \((?P<file>.+)\)$"), "village_in_frame"),
    (re.compile(r"^a share between 0 and 1 \(0\.7 or 70%, not 70\), or empty if no stay$"),
     "share"),
    (re.compile(r"^a household id used once \(also in row (?P<row>\d+)\)$"), "id_once"),
    (re.compile(r"^each village once \(also in row (?P<row>\d+)\)$"), "village_once"),
    (re.compile(r"^the household_id of a sampled household in this file that this reserve "
                r"household replaced \(add that household's row with responded 0\)$"),
     "replaces"),
    (re.compile(r"^at least one data row below the header \(found none\)$"), "no_rows"),
)


def _expected_text(expected: str, lang: str) -> str:
    for pattern, key in _EXPECTED:
        found = pattern.match(expected)
        if found is None:
            continue
        values = {k: v for k, v in found.groupdict().items() if v is not None}
        if key == "column_named" and i18n.has_text(f"codebook.{values['name']}", lang):
            # the codebook's description of the column, in the page's language
            values["what"] = i18n.text(f"codebook.{values['name']}", lang)
        text = _t(lang, f"reason.{key}", **{k: v for k, v in values.items()
                                            if k not in ("found", "meant", "path")})
        if "found" in values:
            text += ("" if lang == "zh" else " ") + _t(
                lang, "reason.did_you_mean", found=values["found"], meant=values["meant"])
        if "path" in values:
            text += f" ({values['path']})"
        return text
    return expected


def reason_text(error: str, lang: str) -> str:
    """A failed county's reason in the page's language, with its file, row and column.

    The reason is the run's one-line error (the validation report's lines joined by
    ``; ``, or a notebook's failure); each part is recognised and written again from the
    catalogue's ``province.reason.*`` words. A part (or an expected value) no pattern
    knows is kept as it was written, so nothing is lost.

    >>> reason_text("survey.csv, row 3, column weight: value '0': expected a design "
    ...             "weight > 0", "zh")
    "survey.csv，第3行，weight列：值'0'：应为大于0的设计权重"
    """
    if lang == "en":
        return error
    parts = []
    for part in error.split("; "):
        part = part.strip()
        if found := _PROBLEM.match(part):
            text = _t(lang, "reason.location", file=found["file"], row=found["row"])
            if found["column"]:
                text += _t(lang, "reason.column", column=found["column"])
            if found["value"] is not None:
                text += _t(lang, "reason.value", value=found["value"])
            part = text + _t(lang, "reason.expected",
                             expected=_expected_text(found["expected"], lang))
        elif found := _FILE_EXPECTED.match(part):
            part = found["file"] + _t(lang, "reason.expected",
                                      expected=_expected_text(found["expected"], lang))
        elif found := _FILE_PROBLEMS.match(part):
            part = _t(lang, "reason.file_problems", file=found["file"], n=found["n"])
        elif found := _NOTEBOOK.match(part):
            part = _t(lang, "reason.notebook", **found.groupdict())
        elif found := _MORE.match(part):
            part = _t(lang, "reason.more", n=found["n"])
        elif part == "the run's data files have problems":
            part = _t(lang, "reason.data_files")
        elif part == "nothing was run":
            part = _t(lang, "reason.nothing_run")
        parts.append(part)
    return _t(lang, "reason.separator").join(parts)
