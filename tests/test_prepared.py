"""A run reads its inputs once: the prepared folder gives the notebooks exactly what
reading the data files gives them, refuses to stand in for other files or settings, and
never reaches a published run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_notebook

from evalkit import synth
from evalkit.assessment import indicators
from evalkit.assessment.inputs import load_inputs
from evalkit.assessment.prepared import DESCRIPTION, write_prepared
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.run.params import DEFAULTS, load_params
from evalkit.run.pipeline import NotebookSpec, run
from evalkit.run.prepare import PREPARED_DIR, declares_parameter, prepare_inputs

DESIGN = DEFAULTS["design"]
CALIBRATION = DEFAULTS["calibration"]
NONRESPONSE = DEFAULTS["nonresponse"]
THRESHOLDS = DEFAULTS["thresholds"]


def _county_with_nonresponse(folder: Path) -> Path:
    """The packaged county with about 15% of households not responding (answers emptied)
    and ten of them replaced by reserves: every step of the preparation has work to do."""
    folder.mkdir()
    shutil.copy(package_data_dir() / "frame.csv", folder / "frame.csv")
    survey = pd.read_csv(package_data_dir() / "survey.csv", dtype=str, keep_default_na=False)
    responded = np.random.default_rng(11).uniform(size=len(survey)) > 0.15
    survey["responded"] = responded.astype(int).astype(str)
    answers = ["people_wrongly_exited", "people_missed", "recognition", "water_access"]
    survey.loc[~responded, answers] = ""
    silent = survey.index[~responded][:10]
    reserves = pd.read_csv(package_data_dir() / "survey.csv", dtype=str,
                           keep_default_na=False).loc[silent]
    reserves["household_id"] = reserves["household_id"] + "-R1"
    reserves["replaces"] = survey.loc[silent, "household_id"].to_numpy()
    reserves["responded"], reserves["weight"] = "1", ""
    survey["replaces"] = ""
    pd.concat([survey, reserves], ignore_index=True).to_csv(folder / "survey.csv",
                                                            index=False)
    return folder


def _assert_same_inputs(read: object, prepared: object) -> None:
    for name in ("frame", "survey"):
        a, b = getattr(read, name), getattr(prepared, name)
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert list(a.dtypes.astype(str)) == list(b.dtypes.astype(str)), name
    pd.testing.assert_frame_equal(read.nonresponse.table, prepared.nonresponse.table,
                                  check_exact=True)
    assert (read.nonresponse.note, read.nonresponse.notes, read.nonresponse.informed) == (
        prepared.nonresponse.note, prepared.nonresponse.notes, prepared.nonresponse.informed)
    assert read.calibration_note == prepared.calibration_note
    assert (read.frame_path, read.survey_path) == (prepared.frame_path, prepared.survey_path)
    np.testing.assert_array_equal(read.design.weight_values,
                                  prepared.design.weight_values)
    # The numbers the notebooks show: every indicator, interval and verdict, bit for bit.
    tables = [indicators.indicator_table(indicators.assess(i.design, i.frame, THRESHOLDS))
              for i in (read, prepared)]
    pd.testing.assert_frame_equal(tables[0], tables[1], check_exact=True)
    for grouping in ("township", "village_type"):
        cells = [indicators.disaggregate(i.uncalibrated, grouping, THRESHOLDS)
                 for i in (read, prepared)]
        pd.testing.assert_frame_equal(cells[0], cells[1], check_exact=True)


@pytest.mark.parametrize("county", ["packaged", "non-response", "synthetic"])
@pytest.mark.parametrize("calibration", [CALIBRATION, {"method": "none", "totals": None},
                                         {"method": "raking", "totals": None}],
                         ids=["poststratify", "none", "raking"])
def test_prepared_inputs_are_the_inputs_read_from_the_files(tmp_path, county, calibration):
    if county == "packaged":
        data, base = {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"}, None
    elif county == "non-response":
        base = _county_with_nonresponse(tmp_path / "county")
        data = {"frame": "frame.csv", "survey": "survey.csv"}
    else:
        written = synth.write_province_data(tmp_path / "province", seed=31, n_counties=1)
        paths = next(iter(written.values()))
        base = paths["survey"].parent
        data = {"frame": paths["frame"].name, "survey": paths["survey"].name}
    read = load_inputs(data, DESIGN, base, calibration, NONRESPONSE)
    if county == "non-response":
        assert read.nonresponse.informed and read.nonresponse.notes
    folder = write_prepared(read, tmp_path / "prepared", DESIGN, calibration, NONRESPONSE)
    again = load_inputs(data, DESIGN, base, calibration, NONRESPONSE, prepared=folder)
    _assert_same_inputs(read, again)


def test_prepared_inputs_refuse_other_files_or_settings(tmp_path):
    base = _county_with_nonresponse(tmp_path / "county")
    data = {"frame": "frame.csv", "survey": "survey.csv"}
    inputs = load_inputs(data, DESIGN, base, CALIBRATION, NONRESPONSE)
    folder = write_prepared(inputs, tmp_path / "prepared", DESIGN, CALIBRATION, NONRESPONSE)
    other_design = dict(DESIGN, lonely_psu="adjust")
    with pytest.raises(EvalkitError, match="were made with design = .*set prepared = None"):
        load_inputs(data, other_design, base, CALIBRATION, NONRESPONSE, prepared=folder)
    with pytest.raises(EvalkitError, match="were made with calibration"):
        load_inputs(data, DESIGN, base, None, NONRESPONSE, prepared=folder)
    with pytest.raises(EvalkitError, match="were made with nonresponse"):
        load_inputs(data, DESIGN, base, CALIBRATION, dict(NONRESPONSE, max_factor=3.0),
                    prepared=folder)
    copy = tmp_path / "copy"
    shutil.copytree(base, copy)
    with pytest.raises(EvalkitError, match="not from data.frame"):
        load_inputs(data, DESIGN, copy, CALIBRATION, NONRESPONSE, prepared=folder)
    with (base / "survey.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n")  # the same path, other bytes
    with pytest.raises(EvalkitError, match="as it was then, not from data.survey"):
        load_inputs(data, DESIGN, base, CALIBRATION, NONRESPONSE, prepared=folder)
    with pytest.raises(EvalkitError, match=f"cannot read {DESCRIPTION}.*set prepared = None"):
        load_inputs(data, DESIGN, base, CALIBRATION, NONRESPONSE, prepared=tmp_path / "none")


def test_the_prepared_folder_holds_no_identifier_and_is_private(tmp_path, write_params):
    params = load_params(write_params())
    folder = prepare_inputs(params, tmp_path / PREPARED_DIR)
    assert folder.stat().st_mode & 0o077 == 0
    survey = pd.read_parquet(folder / "survey.parquet")
    assert not {"name", "id_number", "phone"} & set(survey.columns)
    description = json.loads((folder / DESCRIPTION).read_text(encoding="utf-8"))
    assert description["design"] == params.values["design"]


def _loading_notebook(path: Path, *, takes_prepared: bool) -> Path:
    """A notebook whose cell loads the inputs as 01-05 do and records how."""
    nb = make_notebook(path, "\n".join([
        "import json, os",
        "from evalkit.assessment import inputs as assessment",
        "given = globals().get('prepared')",
        "inputs = assessment.load_inputs(data, design, params_dir, calibration, nonresponse,"
        " given)",
        "os.makedirs(tables_dir, exist_ok=True)",
        "seen = {'prepared': given, 'exists': bool(given) and os.path.isdir(given),",
        "        'households': len(inputs.survey)}",
        f"open(os.path.join(tables_dir, '{path.stem}.json'), 'w').write(json.dumps(seen))",
    ]))
    if takes_prepared:
        import nbformat

        notebook = nbformat.read(nb, as_version=4)
        cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
        cell.source += "\nprepared = None"
        nbformat.write(notebook, nb)
        assert declares_parameter(notebook, "prepared")
    return nb


def test_the_run_hands_its_prepared_inputs_to_the_notebooks_that_take_them(
        tmp_path, write_params):
    notebooks = tmp_path / "nbs"
    _loading_notebook(notebooks / "01_takes.ipynb", takes_prepared=True)
    _loading_notebook(notebooks / "02_reads.ipynb", takes_prepared=False)
    plan = (NotebookSpec("01_takes"), NotebookSpec("02_reads"))
    result = run(write_params(), tmp_path / "out", notebooks_dir=notebooks, plan=plan,
                 progress=None)
    takes = json.loads((result.run_dir / "tables" / "01_takes.json").read_text())
    reads = json.loads((result.run_dir / "tables" / "02_reads.json").read_text())
    assert takes == {"prepared": PREPARED_DIR, "exists": True, "households": 10}
    assert reads == {"prepared": None, "exists": False, "households": 10}
    # The survey's rows stay out of the published run.
    assert not (result.run_dir / PREPARED_DIR).exists()
    assert not list(result.run_dir.rglob("*.parquet"))
