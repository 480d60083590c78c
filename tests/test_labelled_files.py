"""Stata .dta and SPSS .sav surveys and frames: value labels mapped through the codebook's
accepted labels (Chinese included), the same checks and messages as CSV, and the same tables
as the CSV run (evalkit.contract.reading)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.contract.data import load_frame, load_survey, validate_file
from evalkit.contract.errors import EvalkitError
from evalkit.run import cli

DATA = Path(__file__).resolve().parents[1] / "src" / "evalkit" / "resources" / "data"

# Labelled codes as a Chinese team's Stata or SPSS file holds them.
LABELS = {
    "household_type": {1: "已脱贫", 2: "未脱贫", 3: "非建档立卡"},
    "recognition": {1: "满意", 2: "基本满意", 3: "不满意"},
    "water_access": {1: "管道入户", 2: "到门口", 3: "无"},
    "village_type": {1: "贫困村", 2: "非贫困村"},
}
FLAGS = ("dibao", "industry_support", "microcredit", "public_welfare_job")
CODE_OF = {"household_type": {"exited": 1, "not_exited": 2, "nonregistered": 3},
           "recognition": {"satisfied": 1, "basically_satisfied": 2, "dissatisfied": 3},
           "water_access": {"in_home": 1, "at_door": 2, "none": 3},
           "village_type": {"poor": 1, "nonpoor": 2}}
TEXT_COLUMNS = ("township", "village", "household_id", "name", "id_number", "phone")


def labelled(csv: Path) -> tuple[pd.DataFrame, dict[str, dict[int, str]]]:
    """The packaged CSV as a typed table: codes as labelled integers, flags 0/1 labelled
    否/是, numbers as numbers (empty = missing), ids and names as text."""
    raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    out = pd.DataFrame(index=raw.index)
    labels: dict[str, dict[int, str]] = {}
    for column in raw.columns:
        if column in CODE_OF:
            out[column] = raw[column].map(CODE_OF[column]).astype("int16")
            labels[column] = LABELS[column]
        elif column in TEXT_COLUMNS:
            out[column] = raw[column]
        else:
            out[column] = pd.to_numeric(raw[column].replace("", None))
            if column in FLAGS:
                out[column] = out[column].astype("int8")
                labels[column] = {0: "否", 1: "是"}
    return out, labels


def write(table: pd.DataFrame, labels: dict[str, dict[int, str]], path: Path) -> Path:
    if path.suffix == ".dta":
        table.to_stata(path, write_index=False, version=118, value_labels=labels)
    else:
        import pyreadstat

        pyreadstat.write_sav(table, str(path), variable_value_labels=labels)
    return path


@pytest.fixture(scope="module", params=[".dta", ".sav"])
def converted(request, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("labelled")
    suffix = request.param
    survey = write(*labelled(DATA / "survey.csv"), folder / f"survey{suffix}")
    frame = write(*labelled(DATA / "frame.csv"), folder / f"frame{suffix}")
    return survey, frame


def test_the_labelled_files_hold_codes_not_texts(converted) -> None:
    survey, _ = converted
    if survey.suffix == ".dta":
        stored = pd.read_stata(survey, convert_categoricals=False)
    else:
        import pyreadstat

        stored, _ = pyreadstat.read_sav(str(survey), apply_value_formats=False)
    assert set(stored["household_type"].unique()) <= {1, 2, 3}


def test_survey_and_frame_read_as_from_csv(converted) -> None:
    survey, frame = converted
    pd.testing.assert_frame_equal(load_frame(frame), load_frame(DATA / "frame.csv"))
    from_labelled = load_survey(survey, frame)
    from_csv = load_survey(DATA / "survey.csv", DATA / "frame.csv")
    pd.testing.assert_frame_equal(from_labelled, from_csv)
    assert not {"name", "id_number", "phone"} & set(from_labelled.columns)


def test_a_code_without_an_accepted_label_is_checked_as_csv_would_be(converted, tmp_path
                                                                    ) -> None:
    survey, _ = converted
    table, labels = labelled(DATA / "survey.csv")
    table.loc[4, "household_type"] = 9  # no label: the stored 9 is checked
    labels = {**labels, "water_access": {**LABELS["water_access"], 2: "门口附近"}}
    bad = write(table, labels, tmp_path / f"bad{survey.suffix}")
    report = validate_file(bad)
    lines = [str(p) for p in report.problems]
    assert any(f"bad{survey.suffix}" in line and "row 6" in line
               and "household_type" in line and "'9'" in line for line in lines), lines
    # 门口附近 is not a label the codebook accepts: the stored code 2 is what gets checked
    assert any("water_access" in line and "'2'" in line for line in lines), lines


def test_a_damaged_file_is_one_line_naming_it(converted, tmp_path, capsys) -> None:
    survey, frame = converted
    damaged = tmp_path / f"survey{survey.suffix}"
    damaged.write_bytes(survey.read_bytes()[:200])
    assert cli.main(["validate", str(damaged), "--frame", str(frame)]) == 1  # problems found
    captured = capsys.readouterr()
    what = "Stata .dta" if survey.suffix == ".dta" else "SPSS .sav"
    assert f"{damaged.name}: expected a readable {what} file" in captured.out
    assert "Traceback" not in captured.out + captured.err
    with pytest.raises(EvalkitError, match=f"a readable {what} file"):
        load_survey(damaged, frame)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".dta", ".sav"])
def test_a_run_on_stata_or_spss_files_gives_the_csv_runs_tables(suffix, tmp_path) -> None:
    """Acceptance: the packaged county saved as .dta or .sav gives byte-identical tables."""
    import yaml

    from evalkit.run.pipeline import run

    tables = {}
    for kind in (".csv", suffix):
        folder = tmp_path / kind.strip(".")
        folder.mkdir()
        if kind == ".csv":
            paths = {"survey": DATA / "survey.csv", "frame": DATA / "frame.csv"}
        else:
            paths = {name: write(*labelled(DATA / f"{name}.csv"), folder / f"{name}{kind}")
                     for name in ("survey", "frame")}
            # the generator's truth beside the survey, as beside the packaged CSV: the same
            # county, so the same published-figure and truth-recovery tables
            shutil.copy(DATA / "truth.json", folder / "truth.json")
        params = folder / "params.yaml"
        params.write_text(yaml.safe_dump({"run_name": "county", "data": {
            "survey": str(paths["survey"]), "frame": str(paths["frame"])}}),
            encoding="utf-8")
        run(params, folder / "out", progress=None)
        out = folder / "out" / "county" / "tables"
        tables[kind] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                        if p.is_file()}
    assert sorted(tables[".csv"]) == sorted(tables[suffix])
    assert len(tables[".csv"]) >= 20
    for name, content in tables[".csv"].items():
        assert tables[suffix][name] == content, name
