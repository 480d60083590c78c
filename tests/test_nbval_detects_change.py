"""nbval, as `make test` runs it, fails when a notebook's numbers change.

The committed notebooks hold the outputs of the default run and `nbval_sanitize.cfg` masks
what honestly varies. A sanitizer that masked too much (every number, say) would let a
changed estimate pass; these tests run nbval, with the project's sanitize file, on copies of
a committed notebook:

- unchanged: nbval passes (so the failures below come from the change, not the copy);
- one stored number altered (a digit that the sanitizer leaves visible): nbval fails in
  that cell, as it would if the code now computed a different estimate;
- the confidence level changed in the injected parameters cell: the recomputed outputs no longer
  match the stored ones and nbval fails.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest

from evalkit.run.kernel import KERNEL_ENV_DEFAULTS

REPO = Path(__file__).resolve().parents[1]
SANITIZE = REPO / "nbval_sanitize.cfg"
# The estimates live in 02; the others are tried when 02 shows no number (yet).
CANDIDATES = [REPO / "notebooks" / name for name in (
    "02_indicators.ipynb", "01_sampling.ipynb", "03_satisfaction.ipynb", "04_summary.ipynb")]


def sanitizers() -> list[tuple[re.Pattern[str], str]]:
    config = configparser.ConfigParser()
    config.read(SANITIZE)
    return [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]


def sanitize(text: str) -> str:
    for pattern, replacement in sanitizers():
        text = pattern.sub(replacement, text)
    return text


def _texts(output: dict) -> list[tuple[str, str]]:
    """(key, text) pairs of an output that nbval compares."""
    if output["output_type"] == "stream":
        return [("text", "")]
    if output["output_type"] in ("execute_result", "display_data"):
        return [(k, "") for k in output.get("data", {}) if k.startswith("text/")]
    return []


def tamper_with_a_number(nb: nbformat.NotebookNode) -> int | None:
    """Change one digit of a stored output, one the sanitizer does not mask.

    Returns the cell's position among code cells, which is how nbval names it ("Cell 2"),
    or None when no compared output shows a number.
    """
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for index, cell in enumerate(code_cells):
        for output in cell.get("outputs", []):
            for key, _ in _texts(output):
                holder = output if key == "text" else output["data"]
                text = "".join(holder[key]) if isinstance(holder[key], list) else holder[key]
                for match in re.finditer(r"\d", text):
                    digit = str((int(match.group()) + 1) % 10)
                    changed = text[: match.start()] + digit + text[match.end():]
                    if sanitize(changed) != sanitize(text):
                        holder[key] = changed
                        return index
    return None


def change_level(nb: nbformat.NotebookNode) -> None:
    """The run's level, as `make refresh` injected it after the (neutral) parameters cell."""
    cell = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    source, count = re.subn(r"(?m)^level = 0\.95\b", "level = 0.9", cell.source)
    assert count == 1, "the injected parameters cell sets level = 0.95"
    cell.source = source


def run_nbval(folder: Path) -> dict[str, dict[str, str]]:
    """Run nbval as `make test` does; return {notebook stem: {cell name: outcome}}."""
    report = folder / "junit.xml"
    env = {**os.environ, **KERNEL_ENV_DEFAULTS}
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "--rootdir", str(folder), "--nbval", "--nbval-current-env",
         "--nbval-sanitize-with", str(SANITIZE), f"--junitxml={report}", "notebooks"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=900,
    )
    results: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        stem = next(s for s in ("unchanged", "tampered", "level") if s in case.get("classname", ""))
        outcome = "passed"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        results.setdefault(stem, {})[case.get("name")] = outcome
    return results


@pytest.fixture(scope="module")
def nbval_results(tmp_path_factory) -> tuple[dict[str, dict[str, str]], int]:
    folder = tmp_path_factory.mktemp("nbval")
    (folder / "notebooks").mkdir()
    for notebook in CANDIDATES:
        tampered = nbformat.read(notebook, as_version=4)
        cell = tamper_with_a_number(tampered)
        if cell is not None:
            break
    else:
        raise AssertionError("no committed notebook shows a number that nbval compares")
    nbformat.write(tampered, folder / "notebooks" / "tampered.ipynb")
    committed = nbformat.read(notebook, as_version=4)
    nbformat.write(committed, folder / "notebooks" / "unchanged.ipynb")
    level = nbformat.read(notebook, as_version=4)
    change_level(level)
    nbformat.write(level, folder / "notebooks" / "level.ipynb")
    return run_nbval(folder), cell


def test_unchanged_copy_passes(nbval_results) -> None:
    results, _ = nbval_results
    assert results["unchanged"], "nbval collected the notebook"
    assert set(results["unchanged"].values()) == {"passed"}, results["unchanged"]


def test_changed_stored_number_fails_in_that_cell(nbval_results) -> None:
    results, cell = nbval_results
    failed = [name for name, outcome in results["tampered"].items() if outcome == "failed"]
    assert failed == [f"Cell {cell}"], results["tampered"]


def test_changed_confidence_level_fails(nbval_results) -> None:
    results, _ = nbval_results
    assert "failed" in results["level"].values(), results["level"]


def test_sanitizer_keeps_numbers() -> None:
    estimates = "wrong-exit rate 2.9% (95% CI 1.84% to 4.55%), n = 2,076 households in 29 villages"
    assert sanitize(estimates) == estimates
    assert sanitize("<Figure size 640x480 with 1 Axes>") == "<Figure>"
    assert sanitize("<object at 0x7f3a2b1c9d00>") == "<object at 0xADDRESS>"
    assert sanitize("wrote /tmp/pytest-of-root/x/tables/a.csv") == "wrote PATH"
    assert sanitize("done in 1.25 s") == "done in DURATION"
