"""Hostile or mistaken params and data: clear one-line refusals, nothing hangs, nothing leaks."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from evalkit.contract.errors import EvalkitError
from evalkit.contract.privacy import mask_identifiers
from evalkit.run import cli
from evalkit.run.params import MAX_BOOTSTRAP_REPLICATES, MAX_SIMULATIONS, load_params


def test_yaml_alias_bomb_is_refused_at_once(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    lines.append("seed: *i")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    with pytest.raises(EvalkitError, match=r"alias \*a is not accepted") as info:
        load_params(path)
    assert time.monotonic() - started < 5
    assert "\n" not in str(info.value) and len(str(info.value)) < 300


def test_oversized_params_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * 200_000 + "\n")
    with pytest.raises(EvalkitError, match="expected at most 100000"):
        load_params(path)


@pytest.mark.parametrize("key, section, maximum", [
    ("simulations", "sampling", MAX_SIMULATIONS),
    ("bootstrap_replicates", "satisfaction", MAX_BOOTSTRAP_REPLICATES),
])
def test_run_lengths_have_a_documented_maximum(write_params, key, section, maximum) -> None:
    with pytest.raises(EvalkitError, match="documented maximum") as info:
        load_params(write_params({section: {key: 1_000_000}}))
    assert f"{section}.{key}" in str(info.value) and str(maximum) in str(info.value)
    assert load_params(write_params({section: {key: maximum}})).values[section][key] == maximum


@pytest.mark.parametrize("value", [
    "13900000007", "+8613900000008", "139 0000 0009", "139-0000-0010", "(+86)139-0000-0011",
    "0086 139 0000 0012", "110101900101123", "11010119900101123X", "110101199001011234",
])
def test_phone_and_id_numbers_are_masked_in_any_form(value: str) -> None:
    masked = mask_identifiers(f"row 7, column note: value '{value}': expected text")
    assert masked == "row 7, column note: value '<masked>': expected text"


@pytest.mark.parametrize("value", ["3", "13,500", "0.92", "2019-08-15", "95%", "1234.56789"])
def test_ordinary_values_stay_readable(value: str) -> None:
    assert mask_identifiers(f"value '{value}'") == f"value '{value}'"


@pytest.mark.parametrize("value", ["+8613900000008", "139 0000 0009", "(+86)139-0000-0011",
                                   "110101900101123"])
def test_validation_messages_never_echo_identifiers(value: str, data_dir: Path,
                                                    capsys) -> None:
    survey = pd.read_csv(data_dir / "survey.csv", dtype=str, keep_default_na=False)
    survey.loc[2, "household_size"] = value
    survey.to_csv(data_dir / "survey.csv", index=False)
    assert cli.main(["validate", str(data_dir / "survey.csv")]) == 1
    out = capsys.readouterr().out
    assert "row 4, column household_size: value '<masked>'" in out
    digits = "".join(ch for ch in value if ch.isdigit())
    assert digits[-8:] not in "".join(ch for ch in out if ch.isdigit() or ch == "\n")


def test_probabilities_given_as_weights_stop_the_run(write_params, data_dir: Path,
                                                     tmp_path: Path, capsys) -> None:
    survey = pd.read_csv(data_dir / "survey.csv", dtype=str, keep_default_na=False)
    survey["incl_prob"] = (1 / survey["weight"].astype(float)).round(6).astype(str)
    survey.to_csv(data_dir / "survey.csv", index=False)
    path = write_params({"design": {"weights": "incl_prob"}})
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "column incl_prob (design.weights): every weight is at most 1" in err
    assert "weight = 1 / probability" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_normalised_weights_stop_the_run(write_params, data_dir: Path, tmp_path: Path,
                                         capsys) -> None:
    survey = pd.read_csv(data_dir / "survey.csv", dtype=str, keep_default_na=False)
    weight = survey["weight"].astype(float)
    survey["weight"] = (weight / weight.mean() * 1.5).round(6).astype(str)
    survey.to_csv(data_dir / "survey.csv", index=False)
    assert cli.main(["run", str(write_params()), "--out", str(tmp_path / "out")]) == 2
    assert "less than a tenth of the frame's" in capsys.readouterr().err


@pytest.mark.parametrize("lang, said", [("en", "unweighted estimates"), ("zh", "未加权估计")])
def test_unweighted_design_is_said_on_the_policy_page(data_dir: Path, lang: str,
                                                      said: str) -> None:
    from evalkit.report.policy import report_from_params
    from evalkit.run.params import DEFAULTS

    def page(weights: str | None) -> str:
        report = report_from_params(
            data={"frame": "frame.csv", "survey": "survey.csv"},
            design={**DEFAULTS["design"], "weights": weights},
            thresholds=DEFAULTS["thresholds"], level=0.95, ci_method="logit", lang=lang,
            run_name="t", params_dir=data_dir, satisfaction={"scenarios": []})
        return report.header_html() + report.notes_html()

    assert page(None).count(said) == 2
    assert said not in page("weight")


def test_validate_and_run_share_one_design_check(data_dir: Path, capsys) -> None:
    survey = pd.read_csv(data_dir / "survey.csv", dtype=str, keep_default_na=False)
    survey.drop(columns="weight").to_csv(data_dir / "survey.csv", index=False)
    assert cli.main(["validate", str(data_dir / "survey.csv")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("survey.csv: 1 problem\n")
    assert ("row 1 (header), column weight: expected a column named weight, which the params' "
            "design.weights names") in out


def test_nul_byte_is_reported_with_its_row(data_dir: Path, capsys) -> None:
    lines = (data_dir / "survey.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("H03", "H0\x003", 1)
    (data_dir / "survey.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["validate", str(data_dir / "survey.csv")]) == 1
    out = capsys.readouterr().out
    assert "survey.csv, row 4, column household_id: expected text without NUL bytes" in out


def test_oversized_field_names_its_row(data_dir: Path, capsys) -> None:
    lines = (data_dir / "survey.csv").read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5] + '"' + "x" * 200_000 + '"'
    (data_dir / "survey.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli.main(["validate", str(data_dir / "survey.csv")]) == 1
    out = capsys.readouterr().out
    assert "survey.csv, row 6: expected a well-formed CSV row (field larger than field limit" \
        in out


def test_chinese_headers_and_full_width_percent_are_accepted(data_dir: Path) -> None:
    from evalkit.contract import schema
    from evalkit.contract.data import load_frame, load_survey

    survey = pd.read_csv(data_dir / "survey.csv", dtype=str, keep_default_na=False)
    survey["reimbursement_share"] = survey["reimbursement_share"].str.replace("%", "％")
    survey.loc[0, "reimbursement_share"] = "92％"
    chinese = {c: schema.COLUMN_ALIASES[c][0] for c in survey.columns
               if c in schema.COLUMN_ALIASES}
    survey.rename(columns=chinese).to_csv(data_dir / "survey_zh.csv", index=False)
    frame = pd.read_csv(data_dir / "frame.csv", dtype=str, keep_default_na=False)
    frame.rename(columns={c: schema.COLUMN_ALIASES[c][0] for c in frame.columns}).to_csv(
        data_dir / "frame_zh.csv", index=False)
    english = load_survey(data_dir / "survey.csv", frame=data_dir / "frame.csv")
    loaded = load_survey(data_dir / "survey_zh.csv", frame=load_frame(data_dir / "frame_zh.csv"))
    assert loaded["reimbursement_share"].iloc[0] == pytest.approx(0.92)
    pd.testing.assert_frame_equal(loaded.drop(columns="reimbursement_share"),
                                  english.drop(columns="reimbursement_share"))


def test_misspelt_columns_get_a_suggestion(data_dir: Path, capsys) -> None:
    survey = pd.read_csv(data_dir / "survey.csv", dtype=str, keep_default_na=False)
    survey.rename(columns={"household_size": "houshold_size"}).to_csv(
        data_dir / "survey.csv", index=False)
    assert cli.main(["validate", str(data_dir / "survey.csv")]) == 1
    assert "(found 'houshold_size': did you mean household_size?)" in capsys.readouterr().out


def test_misspelt_design_column_gets_a_suggestion(write_params, tmp_path, capsys) -> None:
    path = write_params({"design": {"weights": "weigth"}})
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    assert "column weigth: expected a column named weigth, which the params' design.weights " \
        "names; the file has none (did you mean 'weight'?)" in \
        capsys.readouterr().err
