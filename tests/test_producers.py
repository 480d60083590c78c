"""The table -> producer registry (evalkit.assessment.summary.SOURCES) the manifest records."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import resolve_dotted

from evalkit.assessment.summary import SOURCES, producer
from evalkit.report.r_appendix import APPENDIX_FILES

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("table", sorted(SOURCES))
def test_every_registry_entry_names_a_real_function(table: str) -> None:
    notebook, dotted = SOURCES[table]
    assert (REPO / "notebooks" / f"{notebook}.ipynb").is_file(), notebook
    assert dotted.startswith("evalkit."), dotted
    assert callable(resolve_dotted(dotted)), dotted


def test_a_missing_function_does_not_resolve() -> None:
    """The check above can fail: a misspelt producer is an error, not a pass."""
    with pytest.raises(AttributeError):
        resolve_dotted("evalkit.assessment.indicators.indicator_tabel")


def _written_tables(notebook: Path) -> set[str]:
    """File names a notebook's code writes into its tables folder."""
    names: set[str] = set()
    for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for line in source.splitlines():
            if "tables" in line and ("to_csv" in line or "to_xlsx" in line or "write_" in line):
                names.update(re.findall(r'"([\w{}]+\.(?:csv|xlsx))"', line))
            if "field_list(" in line:  # writes FIELD_LIST.csv and .xlsx
                names.update({"field_list.csv", "field_list.xlsx"})
            if "write_r_appendix(" in line:  # the referee's R script, its data, the weights
                names.update(APPENDIX_FILES)
        for grouping in re.findall(r"for grouping in \(([^)]*)\)", source):
            for value in re.findall(r'"(\w+)"', grouping):
                names.add(f"indicators_by_{value}.csv")
    return {n for n in names if "{" not in n}


def test_every_table_a_notebook_writes_has_a_producer() -> None:
    written = set()
    for notebook in sorted((REPO / "notebooks").glob("0*.ipynb")):
        tables = _written_tables(notebook)
        for name in tables:
            assert name in SOURCES, f"{notebook.name} writes {name}: add it to SOURCES"
            assert SOURCES[name][0] == notebook.stem, (name, SOURCES[name][0])
        written |= tables
    assert {"indicators.csv", "design_check.csv", "indicators_by_village_type.csv",
            "policy_report.xlsx", "field_list.csv"} <= written
    assert set(SOURCES) == written, set(SOURCES) ^ written  # no stale entries either


def test_producer_reads_a_manifest_path() -> None:
    assert producer("tables/indicators.csv") == "evalkit.assessment.indicators.indicator_table"
    assert producer("indicators_by_township.csv") == \
        producer("tables/indicators_by_village_type.csv")
    assert producer("tables/my_own_table.csv") is None
