"""Nothing the run was not given: no value of a notebook's parameters cell reaches an output.

Every notebook's ``parameters`` cell holds None for every key; the run injects every key
(None for an optional section the params file leaves out); and a run without an optional
section (a re-check without ``targets``, a run without ``followup`` or the report's
identity) shows no trace of it in its tables, executed notebooks or pages.
"""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from evalkit.run import cli
from evalkit.run.params import IDENTITY_KEYS, OPTIONAL_KEYS, load_params, notebook_parameters
from evalkit.run.pipeline import ALL_NOTEBOOKS
from evalkit.run.refresh import REFRESH_PARAMS

REPO = Path(__file__).resolve().parents[1]
COUNTY_NOTEBOOKS = [s for s in ALL_NOTEBOOKS if REFRESH_PARAMS.get(s.filename, "") is not None]


def assigned(source: str) -> dict[str, object]:
    """Names a cell assigns, with their literal values."""
    out: dict[str, object] = {}
    for node in ast.parse(source).body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        out[node.targets[0].id] = ast.literal_eval(node.value)  # type: ignore[attr-defined]
    return out


@pytest.mark.parametrize("spec", COUNTY_NOTEBOOKS, ids=lambda s: s.name)
def test_parameters_cell_is_neutral_and_declares_what_the_run_injects(spec, tmp_path):
    nb = nbformat.read(REPO / "notebooks" / spec.filename, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    declared = assigned(cell.source)
    assert all(value is None for value in declared.values()), declared
    params = tmp_path / "p.yaml"
    params.write_text("run_name: bare\n", encoding="utf-8")
    injected = notebook_parameters(load_params(params), "tables")
    for key in OPTIONAL_KEYS:  # left out of the params file: injected as None
        assert injected[key] is None
    if not spec.policy:
        injected = {k: v for k, v in injected.items() if k not in IDENTITY_KEYS}
    # The runner also injects the inputs it prepared once (evalkit.run.prepare).
    assert set(declared) == set(injected) | {"prepared"}


@pytest.mark.parametrize("spec", COUNTY_NOTEBOOKS, ids=lambda s: s.name)
def test_committed_notebook_runs_on_its_injected_params(spec):
    """The committed outputs come from a params file (the injected cell), not the
    parameters cell."""
    nb = nbformat.read(REPO / "notebooks" / spec.filename, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    at = next(i for i, t in enumerate(tags) if "parameters" in t)
    assert "injected-parameters" in tags[at + 1]
    values = assigned(nb.cells[at + 1].source.split("\n", 1)[1])
    assert values["run_name"] == ("recheck" if spec.name == "05_followup" else "default")


@pytest.fixture(scope="module")
def recheck_without_targets(tmp_path_factory) -> Path:
    """One re-check run (zh) without every optional block it can leave out at once:
    no ``targets``, no identity, ``calibration.method: none``, ``data.listing: null``, and
    no ``nonresponse`` block on surveys (both rounds) without ``responded`` / ``replaces``
    columns."""
    folder = tmp_path_factory.mktemp("absence")
    params = folder / "recheck.yaml"
    params.write_text(
        "run_name: recheck-bare\nlang: zh\nfollowup:\n  survey: packaged:recheck_survey.csv\n"
        "calibration:\n  method: none\n"
        "data:\n  frame: packaged:frame.csv\n  survey: packaged:survey.csv\n  listing: null\n",
        encoding="utf-8")
    assert cli.main(["run", str(params), "--out", str(folder / "out"), "--quiet"]) == 0
    return folder / "out" / "recheck-bare"


@pytest.mark.slow
def test_recheck_without_targets_shows_no_target(recheck_without_targets):
    run = recheck_without_targets
    table = pd.read_csv(run / "tables" / "followup.csv", keep_default_na=False)
    assert set(table["target"]) == {""} and set(table["target_status"]) == {""}
    assert not set(table["kind"]) & {"target"}  # no count-target row either
    words = re.compile(r"目标|[Tt]arget")
    page = (run / "04_summary.html").read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", "", page, flags=re.S))
    assert not words.findall(visible)
    for path in sorted((run / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        # 01's sizing tables have a "target" column of their own (a power target)
        shows_targets = path.stem in ("04_summary", "05_followup")
        for cell in nb.cells:
            tags = cell.metadata.get("tags", [])
            if "injected-parameters" in tags:
                values = assigned(cell.source.split("\n", 1)[1])
                assert values["targets"] is None
                assert values.get("county") is None
            if not shows_targets:
                continue
            if cell.cell_type == "markdown":
                assert not words.findall(cell.source), (path.name, cell.source[:80])
            for output in cell.get("outputs", []):
                shown = str(output.get("text", "")) + "".join(
                    str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))
                assert not words.findall(shown), (path.name, shown[:200])


def _visible(page: str) -> str:
    """A page's text as its reader sees it (no style, script or tags)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _shown(nb) -> list[tuple[str, str]]:
    """(kind, text) of what a notebook shows its reader: markdown and every output (code
    cells are the code, which names every params key whether given or not)."""
    out = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            out.append(("markdown", cell.source))
        for output in cell.get("outputs", []):
            out.append(("output", str(output.get("text", "")) + "".join(
                str(v) for k, v in output.get("data", {}).items() if k.startswith("text/"))))
    return out


# What a run says or writes only when it calibrates, adjusts for non-response or draws from a
# registration listing: claims ("calibrated to", "the adjusted weights"), the tables' own
# columns, and the R calls; in the page's language too.
CALIBRATION_TRACE = re.compile(
    r"calibrated (to|weights)|calibration residuals|run's calibration|_calibrated|"
    r"uncalibrated|postStratify|calibrate\(|rake\(|校准|事后分层")
NONRESPONSE_TRACE = re.compile(
    r"adjusted weights|weighting cell|pooled_into|response_rate|min_cell_respondents|"
    r"max_factor|non-respondent|无应答|未应答|应答率")
LISTING_TRACE = re.compile(r"uses the registration listing|户籍名单")


@pytest.mark.slow
def test_run_without_calibration_nonresponse_or_listing_shows_no_trace(
        recheck_without_targets):
    run = recheck_without_targets
    tables = run / "tables"
    # Tables that exist only for an optional block are not written at all ...
    for name in ("calibration_effect.csv", "nonresponse.csv", "followup_nonresponse.csv"):
        assert not (tables / name).exists(), name
    # ... and the others carry none of its columns or values.
    for path in sorted(tables.glob("*.csv")) + [tables / "r_appendix.R"]:
        text = path.read_text(encoding="utf-8")
        header = text.split("\n", 1)[0]
        assert not CALIBRATION_TRACE.search(header), (path.name, header)
        assert not NONRESPONSE_TRACE.search(header), (path.name, header)
    r_script = (tables / "r_appendix.R").read_text(encoding="utf-8")
    assert not re.search(r"postStratify|calibrate\(|rake\(", r_script)
    for path in sorted(run.glob("*.html")):
        if path.stem in ("04_summary", "index"):  # the reader's pages, wholly
            shown = _visible(path.read_text(encoding="utf-8"))
            for trace in (CALIBRATION_TRACE, NONRESPONSE_TRACE, LISTING_TRACE):
                assert not trace.search(shown), (path.name, trace.search(shown))
    for path in sorted((run / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for kind, text in _shown(nb):
            for trace in (CALIBRATION_TRACE, NONRESPONSE_TRACE, LISTING_TRACE):
                found = trace.search(text)
                assert not found, (path.name, kind, found, text[:200])
    # What the run says instead: the design weights, and the synthetic listing.
    sampling = (run / "notebooks" / "01_sampling.ipynb").read_text(encoding="utf-8")
    assert "No registration listing was given" in sampling
    indicators = (run / "notebooks" / "02_indicators.ipynb").read_text(encoding="utf-8")
    assert "design weights (no calibration)" in indicators
