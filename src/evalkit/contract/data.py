"""The data contract: load, validate and prepare the sampling frame and the household survey.

Two tables (documented column by column in ``docs/codebook.md``; names and codes live in
:mod:`evalkit.contract.schema`):

* the **frame**, one row per village: township, village, village type and the numbers of
  households and people by household type (exited, not yet exited, non-registered);
* the **survey**, one row per sampled household.

Files may be CSV (UTF-8 with or without BOM, or GBK/GB18030 as Excel writes it in China),
XLSX, Parquet, Stata .dta or SPSS .sav (value labels read through the codebook's accepted
labels: :mod:`evalkit.contract.reading`). Validation reports every problem at once; each
names the file, the row as a spreadsheet user sees it (the header is row 1, the first
household row 2), the column, the value and what was expected. No row is ever dropped
silently: a row with a problem stops the load, it is never skipped.

Privacy rule: columns that identify people (:data:`evalkit.contract.schema.IDENTIFYING_COLUMNS`:
names, ID numbers, phones) are dropped as soon as the header is read, before any value is
looked at, so their values can appear in no message, table or report. As a second guard,
any value that looks like an ID number or a phone number (:mod:`evalkit.contract.privacy`, the one
rule) is masked whenever a message would echo it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.contract.cells import (
    FLAG_EXPECTED,
    FLAG_VALUES,
    Checker,
    code_lookup,
    is_empty,
    missing_columns,
    normal_code,
    parse_numbers,
)
from evalkit.contract.errors import EvalkitError
from evalkit.contract.problems import (
    Problem,
    ValidationReport,
    by_row,
    raise_if_problems,
    shown_value,
)
from evalkit.contract.reading import Table, read_table

#: Reimbursement share that registered poor households get (the county reports "above 90%").
#: ``reimbursement_gap = max(0, REIMBURSEMENT_REFERENCE - reimbursement_share)``.
REIMBURSEMENT_REFERENCE = 0.9

#: Cells read as "no value" (for reimbursement_share this means "no hospital stay").
#: Larger households are almost surely typing errors (an ID or phone in the wrong column).
MAX_HOUSEHOLD_SIZE = 30

FLAG_COLUMNS: tuple[str, ...] = ("dibao", "industry_support", "microcredit", "public_welfare_job")
COUNT_COLUMNS: tuple[str, ...] = (
    "hh_exited", "people_exited", "hh_not_exited", "people_not_exited",
    "hh_nonregistered", "people_nonregistered",
)


# --------------------------------------------------------------------------------------
# the frame
# --------------------------------------------------------------------------------------
def _check_frame(table: Table, label: str, problems: list[Problem]) -> pd.DataFrame | None:
    data = table.data
    missing = missing_columns(label, data.columns, schema.FRAME_COLUMNS, problems)
    n_before = len(problems)
    ck = Checker(label, data, problems, table.headers)
    present = set(data.columns)
    for c in ("township", "village"):
        if c in present:
            ck.text(c)
    if "village_type" in present:
        ck.code("village_type", schema.VILLAGE_TYPES)
    for c in COUNT_COLUMNS:
        if c in present:
            ck.integer(c, 0)
    if missing:  # every recognised column's values are checked; the rest needs them all
        return None
    out = ck.out
    village = out["village"]
    dup = village.duplicated(keep="first") & ~is_empty(data["village"])
    first = village.reset_index().drop_duplicates("village").set_index("village")["index"]
    for row in dup.index[dup.to_numpy()]:
        problems.append(Problem(label, int(row), ck.column_text("village"),
                                shown_value(village.loc[row]),
                                f"each village once (also in row {first[village.loc[row]]})"))
    for kind in ("exited", "not_exited", "nonregistered"):
        hh, people = out[f"hh_{kind}"], out[f"people_{kind}"]
        ck.report(f"people_{kind}", people < hh,
                  f"at least hh_{kind} people (one person or more per household)")
        ck.report(f"people_{kind}", (hh == 0) & (people > 0),
                  f"0 people when hh_{kind} is 0")
    total = sum(out[f"hh_{k}"] for k in ("exited", "not_exited", "nonregistered"))
    ck.report("hh_nonregistered", total == 0,
              "at least one household in the village (all household counts are 0)")
    if len(problems) > n_before:
        return None
    frame = pd.DataFrame({c: out[c] for c in schema.FRAME_COLUMNS})
    for c in COUNT_COLUMNS:
        frame[c] = frame[c].astype("int64")
    for c in ("township", "village", "village_type"):
        frame[c] = frame[c].astype(str)
    frame["hh_registered"] = frame["hh_exited"] + frame["hh_not_exited"]
    frame["people_registered"] = frame["people_exited"] + frame["people_not_exited"]
    frame["hh_total"] = frame["hh_registered"] + frame["hh_nonregistered"]
    frame["people_total"] = frame["people_registered"] + frame["people_nonregistered"]
    extras = [c for c in data.columns if c not in frame.columns]
    for c in extras:
        frame[c] = data[c]
    return frame.reset_index(drop=True)


def read_file(path: Path) -> tuple[Table | None, list[Problem]]:
    """A file's table (None after a problem) and the problems found reading it."""
    problems: list[Problem] = []
    return read_table(path, path.name, problems), problems


def check_frame_file(path: Path, read: tuple[Table | None, list[Problem]] | None = None
                  ) -> tuple[ValidationReport, pd.DataFrame | None]:
    """Validate a frame file; ``read`` is the file as :func:`read_file` already gave it."""
    label = path.name
    table, problems = read if read is not None else read_file(path)
    frame = _check_frame(table, label, problems) if table is not None else None
    report = ValidationReport(label, "frame", 0 if table is None else len(table.data),
                              by_row(problems), [] if table is None else table.dropped)
    if frame is not None:
        frame.attrs["source"] = label
    return report, frame


def load_frame(path: str | Path) -> pd.DataFrame:
    """Load and validate a sampling frame (one row per village).

    Returns the frame with codes in English (``village_type`` poor/nonpoor), counts as
    int64, and the totals of :data:`evalkit.contract.schema.FRAME_DERIVED` added. Raises
    :class:`EvalkitError` listing every problem (first line ``frame.csv: N problems``).
    """
    report, frame = check_frame_file(Path(path))
    raise_if_problems(report)
    assert frame is not None
    return frame


# --------------------------------------------------------------------------------------
# the survey
# --------------------------------------------------------------------------------------
def prepare_survey(survey: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns of :data:`evalkit.contract.schema.DERIVED_COLUMNS` to a coded survey.

    ``reimbursement_gap = max(0, 0.9 - reimbursement_share)``, 0 when the household had no
    hospital stay (the shortfall from the 90% that registered poor households get; a
    household without a stay had nothing to be short of). ``log_income = ln(income_per_head
    + 1)`` (the +1 keeps zero incomes finite).
    """
    out = survey.copy()
    htype = out["household_type"]
    out["registered"] = htype.isin(["exited", "not_exited"]).astype("int64")
    out["nonpoor"] = (htype == "nonregistered").astype("int64")
    out["exited"] = (htype == "exited").astype("int64")
    out["recognizes"] = out["recognition"].isin(
        ["satisfied", "basically_satisfied"]).astype("int64")
    out["water_at_door"] = (out["water_access"] == "at_door").astype("int64")
    out["water_none"] = (out["water_access"] == "none").astype("int64")
    share = out["reimbursement_share"].astype(float)
    out["has_hospital_stay"] = share.notna().astype("int64")
    out["reimbursement_gap"] = (REIMBURSEMENT_REFERENCE - share).clip(lower=0.0).fillna(0.0)
    out["log_income"] = np.log1p(out["income_per_head"].astype(float))
    return out


def _response_prepass(data: pd.DataFrame, label: str, problems: list) -> pd.DataFrame:
    """Check ``responded`` and ``replaces`` of a raw survey table and ready it for the checks.

    ``data`` is the survey as read (text cells, index = spreadsheet row). ``responded`` is a
    0/1 flag (1 = interviewed). ``replaces`` names, in a reserve household's row, the
    ``household_id`` of the sampled household it replaced: that household must be a row of
    the same file, of the same village and household type, not responded (its ``responded``
    is 0, or 0 is implied when the file has no ``responded`` column), and replaced once.
    A reserve row may leave its weight and probabilities empty: it takes those of the
    household it replaced (same village and group, same inclusion probability).
    Non-respondents' answer cells are not checked (they are usually empty). Problems are
    appended to ``problems`` one per cell; returns the table the usual checks then read,
    with a ``responded`` column of "0"/"1".
    """
    out = data.copy()
    ids = out["household_id"].astype(str).str.strip()
    row_of = pd.Series(out.index, index=ids.to_numpy())
    row_of = row_of[~row_of.index.duplicated(keep="first")]
    if "responded" in out.columns:
        raw = out["responded"].astype(str).str.strip()
        flag = raw.str.lower().map(FLAG_VALUES)
        numeric = parse_numbers(raw)
        flag = flag.fillna(numeric.where(numeric.isin([0.0, 1.0])))
        for row in flag.index[flag.isna().to_numpy()]:
            problems.append(Problem(
                label, int(row), "responded", shown_value(raw.loc[row]),
                f"{FLAG_EXPECTED}: 1 if the household was interviewed, 0 if it was sampled "
                "but not interviewed"))
    else:
        flag = pd.Series(1.0, index=out.index)
    if "replaces" in out.columns:
        target = out["replaces"].astype(str).str.strip()
        named = ~is_empty(target)
        given_flag = "responded" in out.columns
        replaced_rows = target[named].map(row_of)
        seen: dict[str, int] = {}
        htype = normal_code(out["household_type"].astype(str)).map(
            code_lookup(schema.HOUSEHOLD_TYPES))
        # Who names each household as the one it replaced: a reserve that is itself
        # replaced makes a chain or a cycle (two reserves replacing each other), and every
        # household in it would silently leave the sample.
        replaced_by = {v: int(r) for r, v in target[named].items()}
        for row, value in target[named].items():  # reserve rows: a few per village
            other = replaced_rows.loc[row]
            shown = shown_value(value)
            by = replaced_by.get(ids.loc[row])
            if by is not None and by != row:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"a reserve household that was interviewed, so not itself replaced (row "
                    f"{by} replaces this row's household: a replacement "
                    f"{'cycle' if replaced_by.get(ids.loc[by]) == row else 'chain'}); "
                    "record only the reserve that was interviewed"))
                continue
            if pd.isna(other):
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    "the household_id of a sampled household in this file that this reserve "
                    "household replaced (add that household's row with responded 0)"))
                continue
            other = int(other)
            if value in seen:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"each sampled household replaced once (also in row {seen[value]})"))
                continue
            seen[value] = int(row)
            if other == row:
                problems.append(Problem(label, int(row), "replaces", shown,
                                                 "the id of another household"))
                continue
            if given_flag and flag.loc[other] == 1:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"a household that did not respond (row {other} has responded 1)"))
            if given_flag and flag.loc[row] == 0:
                problems.append(Problem(
                    label, int(row), "responded", shown_value(out.at[row, "responded"]),
                    "1 for a reserve household (record only the reserve that was interviewed)"))
            same = (str(out.at[row, "village"]).strip() == str(out.at[other, "village"]).strip()
                    and htype.loc[row] == htype.loc[other])
            if not same:
                problems.append(Problem(
                    label, int(row), "replaces", shown,
                    f"a household of the same village and household type (row {other} is "
                    f"{shown_value(out.at[other, 'village'])}, "
                    f"{shown_value(out.at[other, 'household_type'])})"))
            for column in schema.DESIGN_COLUMNS:
                if column in out.columns and not str(out.at[row, column]).strip():
                    out.at[row, column] = out.at[other, column]
            if not given_flag:
                flag.loc[other] = 0.0
    silent = (flag == 0).to_numpy()
    for column, stand_in in schema.PLACEHOLDERS.items():
        if column in out.columns:
            out.loc[silent, column] = stand_in
    out["responded"] = flag.map({0.0: "0", 1.0: "1"}).fillna("0")
    return out


def _check_survey(table: Table, label: str, problems: list[Problem],
                  frame: pd.DataFrame | None) -> pd.DataFrame | None:
    data = table.data
    missing = missing_columns(label, data.columns, schema.SURVEY_REQUIRED, problems)
    n_before = len(problems)
    if not missing and schema.has_response_information(data.columns):
        # responded / replaces: checked first; non-respondents' answers are not checked
        data = _response_prepass(data, label, problems)
    ck = Checker(label, data, problems, table.headers)
    present = set(data.columns)
    # Every recognised column's values are checked, even when others are missing, so one
    # report lists them all (a header problem does not hide a second round of errors).
    for c in ("township", "village", "household_id"):
        if c in present:
            ck.text(c)
    if "household_type" in present:
        ck.code("household_type", schema.HOUSEHOLD_TYPES)
    if "responded" in present:
        ck.flag("responded")
    if "household_size" in present:
        ck.integer("household_size", 1, MAX_HOUSEHOLD_SIZE)
    for c in ("people_wrongly_exited", "people_missed"):
        if c in present:
            ck.integer(c, 0)
    if "recognition" in present:
        ck.code("recognition", schema.RECOGNITION_LEVELS)
    if "water_access" in present:
        ck.code("water_access", schema.WATER_ACCESS)
    if "reimbursement_share" in present:
        ck.number("reimbursement_share", minimum=0.0, maximum=1.0, optional=True,
                  percent=True, expected="a share between 0 and 1 (0.7 or 70%, not 70), or "
                  "empty if no stay")
    for c in FLAG_COLUMNS:
        if c in present:
            ck.flag(c)
    if "income_per_head" in present:
        ck.number("income_per_head", minimum=0.0, expected="a number of yuan >= 0")
    if "weight" in data.columns:
        ck.number("weight", minimum=0.0, strict=True, expected="a design weight > 0")
    for c in ("village_prob", "incl_prob"):
        if c in data.columns:
            ck.number(c, minimum=0.0, strict=True, maximum=1.0,
                      expected="a probability > 0 and <= 1")
    if "stratum" in data.columns:
        ck.text("stratum")
    if missing:
        return None
    out = ck.out

    size, htype = out["household_size"], out["household_type"]
    for c, kind, name in (("people_wrongly_exited", "exited", "exited"),
                          ("people_missed", "nonregistered", "non-registered")):
        over = out[c] > size
        for row in over.index[over.to_numpy()]:
            problems.append(Problem(label, int(row), ck.column_text(c),
                                    shown_value(data.at[row, c]),
                                    f"at most household_size ({int(size.loc[row])}) people"))
        wrong_type = (out[c] > 0) & htype.notna() & (htype != kind)
        ck.report(c, wrong_type, f"0 for households that are not {name}")

    hid = out["household_id"]
    dup = hid.duplicated(keep="first") & ~is_empty(data["household_id"])
    if dup.any():
        first_row = pd.Series(hid.index, index=hid.index).groupby(hid.to_numpy()).transform("min")
        for row in dup.index[dup.to_numpy()]:
            problems.append(Problem(label, int(row), ck.column_text("household_id"),
                                    shown_value(hid.loc[row]),
                                    f"a household id used once (also in row "
                                    f"{int(first_row.loc[row])})"))

    if frame is not None:
        source = frame.attrs.get("source", "the frame")
        township_of = pd.Series(frame["township"].to_numpy(), index=frame["village"].to_numpy())
        known = out["village"].isin(township_of.index)
        unknown = ~known & ~is_empty(data["village"])
        ck.report("village", unknown, f"a village listed in the frame ({source})")
        frame_township = out["village"].map(township_of)
        mismatch = known & (frame_township != out["township"]) & ~is_empty(data["township"])
        for row in mismatch.index[mismatch.to_numpy()]:
            problems.append(Problem(label, int(row), ck.column_text("township"),
                                    shown_value(data.at[row, "township"]),
                                    f"{shown_value(frame_township.loc[row])}, the township of "
                                    f"village {shown_value(out['village'].loc[row])} in {source}"))

    if len(problems) > n_before:
        return None
    columns = [*schema.SURVEY_REQUIRED, *(c for c in schema.SURVEY_OPTIONAL if c in out)]
    survey = pd.DataFrame({c: out[c] for c in columns})
    for c in ("township", "village", "household_id", "household_type", "recognition",
              "water_access", *(["stratum"] if "stratum" in survey else [])):
        survey[c] = survey[c].astype(str)
    for c in ("household_size", "people_wrongly_exited", "people_missed", *FLAG_COLUMNS,
              *(["responded"] if "responded" in survey else [])):
        survey[c] = survey[c].astype("int64")
    for c in ("reimbursement_share", "income_per_head", "weight", "village_prob", "incl_prob"):
        if c in survey:
            survey[c] = survey[c].astype(float)
    derived = set(schema.DERIVED_COLUMNS)
    for c in data.columns:
        if c not in survey.columns and c not in derived:
            survey[c] = data[c]  # the user's own extra columns travel along, as text
    return prepare_survey(survey.reset_index(drop=True))


def _survey_report(path: Path, frame: pd.DataFrame | None,
                   read: tuple[Table | None, list[Problem]] | None = None
                   ) -> tuple[ValidationReport, pd.DataFrame | None]:
    """Validate a survey file; ``read`` is the file as :func:`read_file` already gave it."""
    label = path.name
    table, problems = read if read is not None else read_file(path)
    survey = _check_survey(table, label, problems, frame) if table is not None else None
    report = ValidationReport(label, "survey", 0 if table is None else len(table.data),
                              by_row(problems), [] if table is None else table.dropped)
    if survey is not None:
        survey.attrs["source"] = label
    return report, survey


def load_survey(path: str | Path, frame: pd.DataFrame | str | Path | None = None
                ) -> pd.DataFrame:
    """Load and validate a household survey file.

    Identifying columns are dropped before anything else; Chinese labels are mapped to the
    English codes of :mod:`evalkit.contract.schema`; the derived columns of
    :data:`evalkit.contract.schema.DERIVED_COLUMNS` are added (:func:`prepare_survey`). With a
    ``frame`` (a DataFrame from :func:`load_frame`, or a path to one) every village must be
    in the frame, in the same township. Raises :class:`EvalkitError` listing every problem.
    """
    return load_sample(path, frame)[0]


def load_sample(path: str | Path, frame: pd.DataFrame | str | Path | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The survey's respondents (as :func:`load_survey`) and its whole sample.

    The sample has one row per sampled household, respondents or not, and only the
    sample and design columns (:data:`evalkit.contract.schema.SAMPLE_COLUMNS`, weight,
    probabilities, stratum) with ``responded`` and ``replaces`` when the file has them
    (the optional columns of the codebook that mark non-response). A non-respondent's
    answers are never loaded: :func:`load_survey` returns the respondents only.
    """
    if frame is not None and not isinstance(frame, pd.DataFrame):
        frame = load_frame(frame)
    report, survey = _survey_report(Path(path), frame)
    raise_if_problems(report)
    assert survey is not None
    keep = [c for c in (*schema.SAMPLE_COLUMNS, "weight", "stratum", "village_prob",
                        "incl_prob", "household_prob", "responded", "replaces")
            if c in survey.columns]
    sample = survey.loc[:, keep].copy()
    sample.attrs["source"] = survey.attrs.get("source", Path(path).name)
    if "responded" in survey.columns:
        survey = survey.loc[survey["responded"] == 1].reset_index(drop=True)
        survey.attrs["source"] = sample.attrs["source"]
    return survey, sample


# --------------------------------------------------------------------------------------
# validate a file of either kind
# --------------------------------------------------------------------------------------
_SURVEY_MARKERS = frozenset({"household_id", "household_type", "recognition", "household_size"})
_FRAME_MARKERS = frozenset({"village_type", "hh_exited", "hh_not_exited", "hh_nonregistered"})


def validate_file(path: str | Path, kind: str | None = None,
                  frame_path: str | Path | None = None) -> ValidationReport:
    """Check a frame or survey file and return every problem found.

    ``kind`` is ``"frame"`` or ``"survey"``; when None it is guessed from the header. With
    ``frame_path`` a survey's villages are checked against that frame, and the frame's own
    problems are included in the report.
    """
    path = Path(path)
    if kind not in (None, "frame", "survey"):
        raise EvalkitError(f"validate: kind {kind!r}: expected 'frame' or 'survey'")
    read: tuple[Table | None, list[Problem]] | None = None
    if kind is None:
        # The header tells the kind; the table read for it is the one checked below.
        read = read_file(path)
        table, probe = read
        if table is None:
            return ValidationReport(path.name, None, 0, probe)
        columns = set(table.data.columns)
        if columns & _SURVEY_MARKERS:
            kind = "survey"
        elif columns & _FRAME_MARKERS:
            kind = "frame"
        else:
            return ValidationReport(path.name, None, len(table.data), [Problem(
                path.name, 1, None, None,
                "the header of a frame (village_type, hh_exited, ...) or of a survey "
                "(household_id, household_type, ...)")], table.dropped)
    if kind == "frame":
        return check_frame_file(path, read)[0]
    frame = None
    frame_problems: list[Problem] = []
    if frame_path is not None:
        frame_report, frame = check_frame_file(Path(frame_path))
        frame_problems = frame_report.problems
    report = _survey_report(path, frame, read)[0]
    report.problems = frame_problems + report.problems
    return report
