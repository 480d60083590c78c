"""The page "evalkit for R survey and Stata svy users" (docs/reference/r_stata.rst).

Its evalkit examples run as doctests (so the numbers it prints are evalkit's), and every
number it quotes from R is R's: the reference values computed with R's survey 4.1-1 beside
the other tests (tests/data/r_survey_reference.json, tests/data/r/*.json).
"""

from __future__ import annotations

import doctest
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reference" / "r_stata.rst"
DATA = Path(__file__).parent / "data"


def r_blocks() -> str:
    """The text of the page's R code blocks (what it says R prints)."""
    text = PAGE.read_text(encoding="utf-8")
    blocks = re.findall(r"\.\. code-block:: r\n\n((?:   .*\n|\n)+)", text)
    assert len(blocks) == 2
    return "".join(blocks)


def test_the_page_examples_run_and_print_what_it_shows() -> None:
    text = PAGE.read_text(encoding="utf-8")
    test = doctest.DocTestParser().get_doctest(text, {"DATA": DATA}, "r_stata", str(PAGE), 0)
    assert len(test.examples) > 25
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)


def _r_values() -> list[tuple[str, str]]:
    """(what, how the page prints R's value) for every R number the page quotes."""
    strat = json.loads((DATA / "r_survey_reference.json").read_text())["strat_fpc"]
    calibration = json.loads((DATA / "r" / "calibration_reference.json").read_text())["strat"]
    change = json.loads((DATA / "r" / "change_reference.json").read_text())["shared"]
    plain = calibration["uncalibrated"]
    values = [
        ("svymean", f"{strat['mean_api00']['estimate']:.4f}, SE {strat['mean_api00']['se']:.4f}"),
        ("svytotal", f"{plain['total']['estimate']:.1f}, SE {plain['total']['se']:.1f}"),
        ("svyratio", f"{strat['ratio_api00_over_api99']['estimate']:.6f}, "
                     f"SE {strat['ratio_api00_over_api99']['se']:.6f}"),
    ]
    for method in ("logit", "beta"):
        share = strat["prop_hi"][method]
        values.append((f"svyciprop {method}", f"{share['estimate']:.4f} ({share['ci'][0]:.4f}, "
                                              f"{share['ci'][1]:.4f})"))
    by = plain["by"]
    values += [(f"svyby {level}", f"{level} {estimate:.2f} ({se:.4f})")
               for level, estimate, se in zip(by["levels"], by["estimate"], by["se"],
                                              strict=True)]
    glm = plain["glm"]
    values += [(f"svyglm {name}", f"{name} {coef:.6f} ({se:.6f})")
               for name, coef, se in zip(glm["names"], glm["coef"], glm["se"], strict=True)]
    for step in ("poststratify", "rake", "calibrate_linear"):
        mean = calibration[step]["mean"]
        values.append((step, f"{mean['estimate']:.4f}, SE {mean['se']:.4f}"))
    rec = change["mean_rec"]
    values.append(("svycontrast", f"{rec['estimate']:.6f}, SE {rec['se']:.6f}"))
    return values


@pytest.mark.parametrize(("what", "printed"), _r_values())
def test_the_page_quotes_r_s_own_numbers(what: str, printed: str) -> None:
    assert printed in r_blocks(), f"{what}: the page's R block should say {printed}"


def test_evalkit_prints_the_numbers_r_prints() -> None:
    """Each R number quoted is also what the evalkit example below it prints."""
    evalkit_output = "\n".join(
        example.want for example in doctest.DocTestParser().get_examples(
            PAGE.read_text(encoding="utf-8")))
    missing = [what for what, printed in _r_values()
               if printed.replace("(Intercept)", "Intercept") not in evalkit_output]
    assert not missing
