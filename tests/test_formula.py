"""Formulas are data: evalkit's grammar refuses anything that a formula library would run."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.contract.errors import EvalkitError
from evalkit.contract.formula import parse_formula
from evalkit.run import cli
from evalkit.run.params import DEFAULTS

# Each variant would run code if formulaic evaluated it; {marker} is a file it would create.
INJECTIONS: tuple[str, ...] = (
    "{{__import__('os').system('touch {marker}') or recognizes}} ~ dibao + log_income",
    "recognizes ~ {{__import__('os').system('touch {marker}')}} + dibao",
    "recognizes ~ I(__import__('os').system('touch {marker}')) + dibao",
    "I(open('{marker}', 'w').close() or recognizes) ~ dibao",
    "recognizes ~ (lambda: open('{marker}', 'w'))() + dibao",
    "recognizes ~ dibao.__class__.__mro__ + log_income",
    "recognizes ~ __builtins__ + dibao",
    "recognizes ~ np.log(log_income) + dibao",
    "recognizes ~ C(dibao, open('{marker}', 'w')) + log_income",
    "recognizes ~ exec('open(\"{marker}\", \"w\")') + dibao",
    "recognizes ~ dibao + 'x'",
    "recognizes ~ dibao ** 2",
)


@pytest.mark.parametrize("template", INJECTIONS)
def test_injection_is_refused_by_the_grammar(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    with pytest.raises(EvalkitError, match="is not allowed") as info:
        parse_formula(template.format(marker=marker), role="satisfaction.formula")
    message = str(info.value)
    assert message.startswith("satisfaction.formula: term ") and "\n" not in message
    assert not marker.exists()


@pytest.mark.parametrize("template", INJECTIONS)
def test_injection_stops_the_run_before_any_kernel(template: str, tmp_path: Path,
                                                   write_params, capsys) -> None:
    marker = tmp_path / "executed"
    path = write_params({"satisfaction": {"formula": template.format(marker=marker)}})
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("evalkit: error: ") and "satisfaction.formula: " in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_default_formula_is_accepted_and_rebuilt_from_its_tokens() -> None:
    parsed = parse_formula(DEFAULTS["satisfaction"]["formula"])
    assert parsed.response == "recognizes"
    assert parsed.text == DEFAULTS["satisfaction"]["formula"]
    assert parsed.variables == ("nonpoor", "water_at_door", "reimbursement_gap", "dibao",
                                "log_income")


@pytest.mark.parametrize("text, rhs", [
    ("y ~ a:b*(c+d)", "a:b * (c + d)"),
    ("y ~ C(township) + x - 1", "C(township) + x - 1"),
    ("y~0+x", "0 + x"),
    ("y ~ -1 + x", "- 1 + x"),
])
def test_grammar_accepts_the_formula_operators(text: str, rhs: str) -> None:
    assert parse_formula(text).rhs == rhs


def test_column_names_are_checked_with_a_suggestion() -> None:
    with pytest.raises(EvalkitError, match=r"column 'dibau' is not in the data \(did you "
                                           r"mean 'dibao'\?\)"):
        parse_formula("recognizes ~ dibau", columns=["recognizes", "dibao"])
    assert parse_formula("recognizes ~ C(dibao)", columns=["recognizes", "dibao"]
                         ).categorical == ("dibao",)


@pytest.mark.parametrize("text, fragment", [
    ("recognizes nonpoor", "exactly one '~'"),
    ("y ~ a ~ b", "exactly one '~'"),
    ("y ~ a +", "(end of formula)"),
    ("y ~ a b", "unexpected 'b'"),
    ("y ~ 2 * a", "number 2"),
    ("y + z ~ a", "the left of '~' must be one column name"),
    ("y ~ import", "'import' is not a column name"),
    ("", "expected a formula"),
])
def test_malformed_formulas_get_one_line(text: str, fragment: str) -> None:
    with pytest.raises(EvalkitError) as info:
        parse_formula(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_unknown_formula_column_stops_the_run_before_any_kernel(write_params, tmp_path,
                                                               capsys) -> None:
    path = write_params({"satisfaction": {"formula": "recognizes ~ nonpoor + dibau"}})
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "column 'dibau' is not in the data (did you mean 'dibao'?)" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("given", "shown"), [
    ("wilson", "wilson"), ("clopper_pearson", "clopper-pearson"),
    ("clopper-pearson", "clopper-pearson"), ("agresti_coull", "agresti-coull"),
])
def test_srs_interval_on_a_clustered_design_stops_the_run(write_params, tmp_path, capsys,
                                                         given, shown) -> None:
    path = write_params({"ci_method": given})
    assert cli.main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"ci_method: {shown} assumes a simple random sample" in err
