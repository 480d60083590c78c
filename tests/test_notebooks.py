"""House rules for the committed notebooks: thin, parameterized, readable offline."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.name)
def notebook(request) -> nbformat.NotebookNode:
    return nbformat.read(request.param, as_version=4)


def test_the_notebooks_are_there():
    assert [p.name for p in NOTEBOOKS] == [
        "00_start_here.ipynb", "01_sampling.ipynb", "02_indicators.ipynb", "03_satisfaction.ipynb",
        "04_summary.ipynb", "05_followup.ipynb", "06_province.ipynb"]


def test_exactly_one_parameters_cell(notebook):
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1


def test_no_function_or_class_definitions(notebook):
    """Logic lives in evalkit; notebooks only call it."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not re.search(r"^\s*(def|class)\s", cell.source, re.M), cell.source[:80]
            assert "lambda" not in cell.source, cell.source[:80]


def test_markdown_has_no_tex_math(notebook):
    """Reports open offline without MathJax, so $...$ would show as raw TeX."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            assert not re.search(r"\$[^$\s][^$]*\$", cell.source), cell.source[:80]


def test_committed_outputs_hold_no_figure_reprs_or_errors(notebook):
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "notebook not executed: make refresh"
    for cell in code:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", cell.source[:80]
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            assert "<Figure size" not in text, cell.source[:80]


def test_committed_tables_show_no_nan(notebook):
    """A missing number in a technical report says why, or is left out (formatting.shown)."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            text = (output.get("text", "") + str(data.get("text/plain", ""))
                    + str(data.get("text/html", "")) + str(data.get("text/markdown", "")))
            assert not re.search(r"\bNaN\b|\bnan\b|<NA>", text), cell.source[:80]
