"""Params validation: every bad params file gets one line naming the key."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import nbformat
import pytest
import yaml

from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.run.params import (
    DEFAULTS,
    load_params,
    notebook_parameters,
    read_yaml,
    validate,
)
from evalkit.run.pipeline import ALL_NOTEBOOKS

REPO = Path(__file__).resolve().parents[1]


def test_defaults_mirror_default_yaml() -> None:
    assert read_yaml(REPO / "params" / "default.yaml") == DEFAULTS


def test_default_yaml_is_valid() -> None:
    checked = load_params(REPO / "params" / "default.yaml", check_files=False)
    assert checked.values == DEFAULTS
    assert checked.run_name == "default"


def test_default_data_resolves_to_package_data() -> None:
    checked = validate(DEFAULTS, REPO / "params" / "default.yaml", check_files=False)
    assert checked.values["data"]["frame"] == "packaged:frame.csv"
    paths = load_params(REPO / "params" / "default.yaml").data_paths
    assert paths["data.frame"] == (package_data_dir() / "frame.csv").resolve()
    assert paths["data.survey"] == (package_data_dir() / "survey.csv").resolve()


@pytest.mark.parametrize("spec", ALL_NOTEBOOKS, ids=lambda s: s.name)
def test_notebook_parameters_cell_declares_every_default(spec) -> None:
    """Every parameters cell declares every key the run injects, each as a neutral None.

    No value in a notebook's parameters cell may reach an output unless the params gave it
    (#22): the run injects every key, and the committed notebooks get theirs from the
    injected-parameters cell that `make refresh` writes from params/default.yaml.
    """
    nb = nbformat.read(REPO / "notebooks" / spec.filename, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    declared = {}
    for node in ast.parse(cells[0].source).body:
        assert isinstance(node, ast.Assign), ast.unparse(node)
        declared[node.targets[0].id] = ast.literal_eval(node.value)
    optional = set(declared) & {"followup", "targets", "county", "period", "assessor"}
    assert set(declared) - optional == set(DEFAULTS) | {"tables_dir", "params_dir", "prepared"}
    assert all(value is None for value in declared.values()), declared
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_partial_file_takes_defaults(write_params) -> None:
    path = write_params(raw="run_name: mine\ndata:\n  frame: data/frame.csv\n"
                            "  survey: data/survey.csv\nsampling:\n  margin: 0.02\n")
    values = load_params(path).values
    assert values["run_name"] == "mine"
    assert values["sampling"]["margin"] == 0.02
    assert values["sampling"]["icc"] == DEFAULTS["sampling"]["icc"]
    assert values["level"] == DEFAULTS["level"]
    assert values["satisfaction"] == DEFAULTS["satisfaction"]


def test_relative_data_paths_resolve_against_params_file(write_params, data_dir, tmp_path,
                                                         monkeypatch) -> None:
    path = write_params()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    checked = load_params(path)
    assert checked.data_paths["data.frame"] == (data_dir / "frame.csv").resolve()
    assert checked.data_paths["data.survey"] == (data_dir / "survey.csv").resolve()


def test_absolute_data_path_is_accepted(write_params, data_dir) -> None:
    path = write_params({"data": {"survey": str(data_dir / "survey.csv")}})
    assert load_params(path).data_paths["data.survey"] == (data_dir / "survey.csv").resolve()


def test_notebook_parameters_adds_runner_keys(write_params) -> None:
    checked = load_params(write_params())
    injected = notebook_parameters(checked, "tables")
    assert injected["tables_dir"] == "tables"
    assert injected["params_dir"] == str(checked.source.parent)
    assert {k: v for k, v in injected.items() if k in DEFAULTS} == checked.values


BAD_VALUES = [
    # (overrides, key named in the message, words the message must contain)
    ({"level": 1.5}, "level", "1.5 is out of range"),
    ({"level": 0}, "level", "out of range"),
    ({"level": -0.95}, "level", "out of range"),
    ({"level": "95%"}, "level", "expected a number"),
    ({"level": True}, "level", "expected a number"),
    ({"seed": "abc"}, "seed", "expected a whole number"),
    ({"seed": -1}, "seed", "out of range"),
    ({"seed": 1.5}, "seed", "expected a whole number"),
    ({"lang": "fr"}, "lang", "not one of: en, zh"),
    ({"ci_method": "exact"}, "ci_method", "not one of"),
    ({"min_cell_size": 0}, "min_cell_size", "out of range"),
    ({"thresholds": {"recognition": 90}}, "thresholds.recognition", "out of range"),
    ({"thresholds": "strict"}, "thresholds", "expected a section"),
    ({"sampling": {"margin": 0}}, "sampling.margin", "out of range"),
    ({"sampling": {"icc": 1.2}}, "sampling.icc", "out of range"),
    ({"sampling": {"response_rate": 0}}, "sampling.response_rate", "out of range"),
    ({"sampling": {"simulations": 500.0}}, "sampling.simulations", "whole number"),
    ({"sampling": {"households_per_village": False}}, "sampling.households_per_village",
     "whole number"),
    ({"design": {"lonely_psu": "drop"}}, "design.lonely_psu", "not one of"),
    ({"design": {"psu": 3}}, "design.psu", "column name"),
    ({"design": {"fpc": -10}}, "design.fpc", "out of range"),
    ({"satisfaction": {"formula": "recognizes + nonpoor"}}, "satisfaction.formula",
     "is not a formula 'response ~ terms'"),
    ({"satisfaction": {"scenarios": "both"}}, "satisfaction.scenarios", "list"),
    ({"satisfaction": {"scenarios": ["both", "both"]}}, "satisfaction.scenarios", "repeat"),
    ({"satisfaction": {"bootstrap_replicates": 0}}, "satisfaction.bootstrap_replicates",
     "out of range"),
    ({"run_name": "../elsewhere"}, "run_name", "outside the output folder"),
    ({"run_name": "/etc/evil"}, "run_name", "outside the output folder"),
    ({"run_name": "a/b"}, "run_name", "outside the output folder"),
    ({"run_name": ".."}, "run_name", "outside the output folder"),
    ({"run_name": ".hidden"}, "run_name", "outside the output folder"),
    ({"run_name": "C:evil"}, "run_name", "outside the output folder"),
    ({"run_name": "two words"}, "run_name", "not a plain folder name"),
    ({"run_name": ""}, "run_name", "expected a folder name"),
    ({"run_name": 2019}, "run_name", "expected a folder name"),
    ({"data": {"frame": "nowhere/frame.csv"}}, "data.frame", "data file not found"),
    ({"data": {"survey": "packaged:missing.csv"}}, "data.survey", "data file not found"),
    ({"data": {"survey": "packaged:../params.py"}}, "data.survey", "shipped with evalkit"),
    ({"data": {"survey": ""}}, "data.survey", "non-empty text"),
]


@pytest.mark.parametrize(("overrides", "key", "words"), BAD_VALUES,
                         ids=[f"{k}:{w}" for _, k, w in BAD_VALUES])
def test_bad_value_names_the_key_in_one_line(write_params, overrides, key, words) -> None:
    path = write_params(overrides)
    with pytest.raises(EvalkitError) as info:
        load_params(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ("levle: 0.9\n", "unknown key 'levle' (did you mean 'level'?)"),
        ("sampling:\n  margn: 0.01\n", "unknown key 'sampling.margn' (did you mean "
                                       "'sampling.margin'?)"),
        ("tables_dir: /tmp\n", "unknown key 'tables_dir' (set by the runner"),
        ("colour: blue\n", "unknown key 'colour'; expected one of: run_name"),
        ("level: 0.9\nlevel: 0.8\n", "line 2, column 1: YAML syntax error: key 'level' "
                                     "appears twice"),
        ("level: [0.9\n", "YAML syntax error"),
        ("- 1\n- 2\n", "expected a mapping"),
        ("run_date: 2019-08-15\n", "unknown key 'run_date'"),
    ],
)
def test_bad_file_names_the_problem_in_one_line(write_params, raw, words) -> None:
    path = write_params(raw=raw)
    with pytest.raises(EvalkitError) as info:
        load_params(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)), message
    assert words in message, message


def test_missing_params_file(tmp_path) -> None:
    with pytest.raises(EvalkitError, match="params file not found"):
        load_params(tmp_path / "nope.yaml")


def test_yaml_date_is_a_wrong_type(write_params) -> None:
    path = write_params(raw="run_name: 2019-08-15\n")
    with pytest.raises(EvalkitError, match="run_name: expected a folder name"):
        load_params(path, check_files=False)


def test_validation_does_not_change_the_input() -> None:
    raw = copy.deepcopy(DEFAULTS)
    checked = validate(raw, "x.yaml", check_files=False)
    checked.values["sampling"]["margin"] = 0.5
    assert raw == DEFAULTS
    assert yaml.safe_dump(DEFAULTS)  # DEFAULTS stays plain YAML-able data


def test_params_choices_follow_the_estimators() -> None:
    """params.py keeps light copies (no pandas/scipy at validation time): they must agree."""
    from evalkit.assessment.inputs import DESIGN_KEYS
    from evalkit.run.params import CI_METHODS, LONELY_PSU, SCHEMA
    from evalkit.survey.design import LONELY_PSU_OPTIONS
    from evalkit.survey.intervals import METHODS

    assert LONELY_PSU is LONELY_PSU_OPTIONS  # one list, in contract.schema
    assert CI_METHODS == METHODS  # one list, one spelling (evalkit.contract.schema)
    assert set(SCHEMA["design"]) <= set(DESIGN_KEYS)


def test_report_identity_is_optional_and_validated(write_params) -> None:
    path = write_params(raw="county: 示例县\nperiod: 2019年8月\nassessor: ' 第三方评估组 '\n")
    values = load_params(path).values
    assert (values["county"], values["period"], values["assessor"]) == (
        "示例县", "2019年8月", "第三方评估组")
    assert "county" not in load_params(write_params(raw="seed: 1\n")).values
    for bad, why in (("county: ''", "short text"), ("county: 12", "short text"),
                     ("period: \"a\\nb\"", "line break"), ("assessor: " + "x" * 61, "too long")):
        with pytest.raises(EvalkitError, match=why) as info:
            load_params(write_params(raw=bad + "\n"))
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(("given", "read"), [
    ("clopper_pearson", "clopper-pearson"), ("clopper-pearson", "clopper-pearson"),
    ("agresti_coull", "agresti-coull"), ("agresti-coull", "agresti-coull"),
    ("wilson", "wilson"), ("logit", "logit"),
])
def test_ci_method_older_spelling_is_read_as_the_canonical_one(write_params, given,
                                                               read) -> None:
    """Params files written with underscores keep working; evalkit spells methods with
    hyphens everywhere after reading (tables, locale keys, the manifest's params)."""
    from evalkit.contract.schema import CI_METHODS

    values = load_params(write_params({"ci_method": given})).values
    assert values["ci_method"] == read
    assert values["ci_method"] in CI_METHODS


def test_ci_method_error_lists_the_canonical_spelling(write_params) -> None:
    with pytest.raises(EvalkitError, match="ci_method") as info:
        load_params(write_params({"ci_method": "clopper pearson"}))
    assert "clopper-pearson" in str(info.value)
    assert "clopper_pearson" not in str(info.value)


@pytest.mark.parametrize("design, message", [
    ({"pps": "overton"}, "design.pps: 'overton' is not null or one of: brewer"),
    ({"psu": ["village", 3]}, "design.psu: list item 3 is not a column name"),
    ({"fpc": ["village_prob", -1, "household_prob"]}, "design.fpc: list item -1"),
    ({"fpc": ["village_prob", "household_prob"]},
     "design.fpc: 2 entries for 3 stage(s) of design.psu; expected one per stage"),
    ({"psu": "village", "fpc": 148}, "design.pps: 'brewer' needs design.fpc to name the column"),
])
def test_bad_design_blocks_are_one_line(tmp_path, design, message):
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"design": design}), encoding="utf-8")
    with pytest.raises(EvalkitError) as info:
        load_params(path, check_files=False)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_the_default_design_is_the_design_as_drawn():
    design = load_params(REPO / "params" / "default.yaml").values["design"]
    assert design["pps"] == "brewer"
    assert design["fpc"] == ["village_prob", 1, "household_prob"]
    assert design["psu"] == ["village", "household_type", "household_id"]
