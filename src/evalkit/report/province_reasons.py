"""A failed county's reason on the province page, in the page's language.

The reason is the run's one-line error (:func:`evalkit.run.province.inspect_county`: the
validation report's lines joined by ``; ``, or a notebook's failure). Each part is
recognised and written again from the catalogue's ``province.reason.*`` words
(:mod:`evalkit.report.i18n`), keeping the file, row and column; a part or an expected value
no pattern knows is kept as written, so nothing is lost.
"""

from __future__ import annotations

import re

from evalkit.report import i18n


def _t(lang: str, key: str, **values: str) -> str:
    return i18n.text(f"province.{key}", lang, **values)


_PROBLEM = re.compile(r"^(?P<file>[^,;:]+), row (?P<row>\d+)(?:, column (?P<column>[^:]+))?"
                      r"(?:: value (?P<value>'.*?'))?: expected (?P<expected>.+)$")
_FILE_PROBLEMS = re.compile(r"^(?P<file>[^,;:]+): (?P<n>\d+) problems?$")
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
)


def _expected_text(expected: str, lang: str) -> str:
    for pattern, key in _EXPECTED:
        found = pattern.match(expected)
        if found is None:
            continue
        values = {k: v for k, v in found.groupdict().items() if v is not None}
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
