"""The runner: layout, manifest, atomic replacement, failures, injection, offline HTML."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from conftest import make_notebook, resolve_dotted

from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.report.render import external_references, render_notebook
from evalkit.run.params import load_params
from evalkit.run.pipeline import (
    PLAN,
    NotebookFailedError,
    NotebookSpec,
    run,
)
from evalkit.run.provenance import git_state
from evalkit.run.publish import replace_dir

REPO = Path(__file__).resolve().parents[1]

TINY_PLAN = (
    NotebookSpec("01_first"),
    NotebookSpec("02_second"),
    NotebookSpec("09_summary", policy=True, final=True),
)

WRITE_TABLE = """\
import pandas as pd
from pathlib import Path
Path(tables_dir).mkdir(parents=True, exist_ok=True)
pd.DataFrame({"k": [1, 2], "level": [level, level]}).to_csv(Path(tables_dir) / "first.csv",
                                                            index=False)
print("first ok")"""

WRITE_PROBES = """\
import json, os, sys
from pathlib import Path
probe = {"formula": satisfaction["formula"], "run_name": run_name,
         "executable": os.path.realpath(sys.executable), "cwd": os.getcwd(),
         "hashseed": os.environ.get("PYTHONHASHSEED")}
(Path(tables_dir) / "probe.json").write_text(json.dumps(probe))
print("second ok")"""

SUMMARY = """\
import pandas as pd
from pathlib import Path
SECRET_CODE_MARKER = 1
table = pd.read_csv(Path(tables_dir) / "first.csv")
print(f"summary sees {len(table)} rows")"""


def tiny_notebooks(folder: Path, *, second: str = WRITE_PROBES) -> Path:
    make_notebook(folder / "01_first.ipynb", WRITE_TABLE, title="First")
    make_notebook(folder / "02_second.ipynb", "x = 1", second, title="Second")
    make_notebook(folder / "09_summary.ipynb", SUMMARY, title="Summary for readers")
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    return tiny_notebooks(tmp_path / "nbs")


def test_run_writes_the_documented_layout(write_params, notebooks, tmp_path) -> None:
    nasty = 'y ~ x"; open("PWNED", "w").write("x") #\n\\"""\' 中文 \\n {tables_dir}'
    # Formulas are refused by the grammar before a run; the string is put in after
    # validation to prove that even such a value would reach the notebooks as data.
    params = load_params(write_params())
    params.values["satisfaction"]["formula"] = nasty
    out = tmp_path / "out"
    messages: list[str] = []
    result = run(params, out, notebooks_dir=notebooks, plan=TINY_PLAN, progress=messages.append)

    run_dir = out / "test-run"
    assert result.run_dir == run_dir
    names = sorted(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file())
    assert names == [
        "01_first.html", "02_second.html", "09_summary.html", "index.html", "manifest.json",
        "notebooks/01_first.ipynb", "notebooks/02_second.ipynb", "notebooks/09_summary.ipynb",
        "params.yaml", "tables/first.csv", "tables/probe.json",
    ]
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "temporary folders left"
    assert any("[3/3] 09_summary done" in m for m in messages)

    # Parameters arrive as data: the string is intact and nothing in it ran.
    probe = json.loads((run_dir / "tables" / "probe.json").read_text())
    assert probe["formula"] == nasty
    assert probe["run_name"] == "test-run"
    assert not list(tmp_path.rglob("PWNED"))
    # The kernel is this interpreter, started in the run folder, with a fixed hash seed.
    assert probe["executable"] == os.path.realpath(sys.executable)
    assert Path(probe["cwd"]).name.startswith(".test-run.partial-")
    assert probe["hashseed"] == "0"

    # The final notebook ran after the others and read their table.
    summary = nbformat.read(run_dir / "notebooks" / "09_summary.ipynb", as_version=4)
    assert "summary sees 2 rows" in json.dumps(summary.cells[-1].outputs)

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["params"]["satisfaction"]["formula"] == nasty
    assert manifest["seeds"] == {"seed": manifest["params"]["seed"]}
    inputs = manifest["inputs"]
    assert inputs["params"]["sha256"] == sha256(params.source)
    assert inputs["data.frame"]["sha256"] == sha256(tmp_path / "data" / "frame.csv")
    assert inputs["data.survey"]["sha256"] == sha256(tmp_path / "data" / "survey.csv")
    assert inputs["notebooks/01_first.ipynb"]["sha256"] == sha256(notebooks / "01_first.ipynb")
    # Tables evalkit does not know (these test notebooks' own) have no producer.
    assert manifest["tables"] == {
        "tables/first.csv": {"sha256": sha256(run_dir / "tables" / "first.csv"),
                             "producer": None},
        "tables/probe.json": {"sha256": sha256(run_dir / "tables" / "probe.json"),
                              "producer": None},
    }
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", manifest["git"]["commit"])
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["code_sha256"])
    assert manifest["python"] == ".".join(map(str, sys.version_info[:3]))
    assert manifest["packages"]["papermill"] == "2.7.0"
    assert manifest["packages"]["pandas"]
    for name in ("01_first", "02_second", "09_summary"):
        timing = manifest["notebooks"][name]
        assert 0 <= timing["started"] <= timing["cells_started"] <= timing["finished"]
        assert timing["finished"] <= timing["rendered"] <= manifest["seconds"]
    # The summary's cells start only after both independent notebooks finished.
    first_done = max(manifest["notebooks"][n]["finished"] for n in ("01_first", "02_second"))
    assert manifest["notebooks"]["09_summary"]["cells_started"] >= first_done
    assert (run_dir / "params.yaml").read_bytes() == params.source.read_bytes()

    index = (run_dir / "index.html").read_text()
    for href in ("01_first.html", "02_second.html", "09_summary.html", "tables/first.csv",
                 "manifest.json", "params.yaml"):
        assert f'href="{href}"' in index
    assert "Summary for readers" in index

    # Policy report hides code; technical reports show it. No report fetches anything.
    policy = (run_dir / "09_summary.html").read_text()
    technical = (run_dir / "01_first.html").read_text()
    assert "SECRET_CODE_MARKER" not in policy
    assert "summary sees 2 rows" in policy
    assert "to_csv" in technical
    # Technical reports show the values the run used (papermill's injected cell), not the
    # notebook's defaults they replaced.
    assert "DEFAULT_PARAMETERS_MARKER" not in technical
    assert "test-run" in technical
    for page in run_dir.glob("*.html"):
        assert external_references(page.read_text()) == [], page.name


def test_failure_names_cell_keeps_partial_and_last_good_run(write_params, notebooks,
                                                            tmp_path) -> None:
    params = write_params()
    out = tmp_path / "out"
    run(params, out, notebooks_dir=notebooks, plan=TINY_PLAN, progress=None)
    good = out / "test-run"
    before = {p.relative_to(good): p.read_bytes() for p in good.rglob("*") if p.is_file()}

    broken = tiny_notebooks(tmp_path / "broken", second="total = 0\nrate = 3 / total")
    with pytest.raises(NotebookFailedError) as info:
        run(params, out, notebooks_dir=broken, plan=TINY_PLAN, progress=None)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(
        "notebook 02_second.ipynb failed in cell 3 ('total = 0'): "
        "ZeroDivisionError: division by zero; partial run kept in "
    ), message
    assert f"last good run {good} untouched" in message
    partial = info.value.partial_dir
    assert partial is not None and partial.is_dir() and partial.parent == out
    assert partial.name.startswith(".test-run.partial-") and str(partial) in message
    # The failed notebook is kept for debugging; the summary never ran its cells.
    assert (partial / "notebooks" / "02_second.ipynb").is_file()
    assert not (partial / "notebooks" / "09_summary.ipynb").exists()
    after = {p.relative_to(good): p.read_bytes() for p in good.rglob("*") if p.is_file()}
    assert after == before


def test_failing_final_notebook_is_reported(write_params, tmp_path) -> None:
    nbs = tiny_notebooks(tmp_path / "nbs")
    make_notebook(nbs / "09_summary.ipynb", "import math", "math.sqrt(-1)")
    with pytest.raises(NotebookFailedError, match=r"^notebook 09_summary.ipynb failed in cell "
                       r"3 \('math.sqrt\(-1\)'\): ValueError: math domain error; partial"):
        run(write_params(), tmp_path / "out", notebooks_dir=nbs, plan=TINY_PLAN, progress=None)
    assert not (tmp_path / "out" / "test-run").exists()


def test_invalid_params_stop_before_anything_runs(write_params, notebooks, tmp_path) -> None:
    out = tmp_path / "out"
    with pytest.raises(EvalkitError, match="level: 1.5 is out of range"):
        run(write_params({"level": 1.5}), out, notebooks_dir=notebooks, plan=TINY_PLAN)
    assert not out.exists()


def test_notebook_without_parameters_cell_is_refused(write_params, notebooks, tmp_path) -> None:
    nb = nbformat.read(notebooks / "02_second.ipynb", as_version=4)
    nb.cells[1].metadata["tags"] = []
    nbformat.write(nb, notebooks / "02_second.ipynb")
    with pytest.raises(EvalkitError, match="expected exactly one cell tagged 'parameters'"):
        run(write_params(), tmp_path / "out", notebooks_dir=notebooks, plan=TINY_PLAN)


def test_git_state_outside_git_is_unknown(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert git_state(tmp_path) == ("unknown", None)


def test_git_state_in_this_repo() -> None:
    commit, dirty = git_state(REPO)
    assert re.fullmatch(r"[0-9a-f]{40}", commit) and isinstance(dirty, bool)


def test_replace_dir_swaps_in_new_run(tmp_path) -> None:
    target, new = tmp_path / "run", tmp_path / ".run.partial-x"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "new.txt").write_text("new")
    replace_dir(new, target)
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_render_is_offline_with_embedded_images(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"
        "RU5ErkJggg=="
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n\nInline math $x^2$ and a [link](https://example.org)"),
        nbformat.v4.new_code_cell("draw_unique_marker()", outputs=[nbformat.v4.new_output(
            "display_data", data={"image/png": png, "text/plain": "<Figure>"})]),
    ]
    for hide_code in (False, True):
        page = render_notebook(nb, tmp_path / f"r{hide_code}.html", hide_code=hide_code)
        text = page.read_text()
        assert f"data:image/png;base64,{png}" in text
        assert external_references(text) == []
        assert ("draw_unique_marker" in text) is not hide_code
    assert "<title>Title</title>" in (tmp_path / "rFalse.html").read_text()


def test_stock_nbconvert_template_would_fetch_from_cdn() -> None:
    """The scanner catches the defect the evalkit template removes."""
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("$x$")]
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    found = external_references(body)
    assert any(ref.tag == "script" and "require" in ref.url for ref in found), found


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ('<script src="https://cdn.x/require.js"></script>', ["https://cdn.x/require.js"]),
        ('<link rel="stylesheet" href="http://fonts.x/css">', ["http://fonts.x/css"]),
        ('<img src="//cdn.x/a.png">', ["//cdn.x/a.png"]),
        ('<iframe src="https://x.org/embed"></iframe>', ["https://x.org/embed"]),
        ('<img srcset="a.png 1x, https://x/b.png 2x">', ["https://x/b.png"]),
        ("<style>@import 'https://fonts.x/css';</style>", ["https://fonts.x/css"]),
        ("<style>p { background: url(https://x/bg.png) }</style>", ["https://x/bg.png"]),
        ('<div style="background:url(\'http://x/y.png\')"></div>', ["http://x/y.png"]),
        ('<a href="https://example.org">a link is not a fetch</a>', []),
        ('<img src="data:image/png;base64,AAAA">', []),
        ("<style>/* from https://github.com/x */ p {}</style>", []),
        ('<script>var u = "https://not.fetched"</script>', []),
    ],
)
def test_external_references(page, expected) -> None:
    assert [ref.url for ref in external_references(page)] == expected


def test_environment_yml_lists_the_pyproject_pins() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    assert {"test", "docs"} <= set(extras)
    wanted = set(project["dependencies"]).union(*extras.values())
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    conda = {d for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    listed = {d for d in conda if "==" in d} | {d for d in pip if "==" in d}
    normalise = {s.lower().replace("_", "-") for s in wanted}
    assert {s.lower().replace("_", "-") for s in listed} == normalise
    assert all("==" in d for d in wanted), "pyproject pins every dependency"


def test_ci_script_runs_make_test() -> None:
    script = REPO / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert re.search(r"^make test$", text, re.M)


@pytest.fixture(scope="module")
def two_default_runs(request, tmp_path_factory) -> tuple[Path, Path]:
    """The default assessment, run twice from scratch: the session's shared run and one of
    this fixture's own (made first, so under xdist it runs while another worker makes the
    shared one), the latter with a kernel per notebook: a kernel that ran another notebook
    must give the same bytes as a fresh one (issue #24)."""
    out = tmp_path_factory.mktemp("default-b")
    run(REPO / "params" / "default.yaml", out, progress=None, reuse_kernels=False)
    return request.getfixturevalue("default_run"), out / "default"


@pytest.mark.slow
def test_two_default_runs_are_identical(two_default_runs) -> None:
    """Acceptance: two runs of the default params give identical numbers in every output."""
    first, second = two_default_runs
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert [f for f in files if f.parts[0] == "notebooks"], files
    assert any(f.suffix == ".xlsx" for f in files)
    for rel in files:
        if rel.name == "manifest.json":
            continue  # holds timings; compared key by key below
        if rel.suffix == ".ipynb":
            a, b = (nbformat.read(d / rel, as_version=4) for d in (first, second))
            assert [(c.source, c.get("outputs")) for c in a.cells] == \
                [(c.source, c.get("outputs")) for c in b.cells], rel
        else:  # tables (CSV, XLSX), HTML, JSON, images: byte for byte
            assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (first, second)]
    for key in ("params", "inputs", "git", "code_sha256", "packages", "seeds", "tables"):
        assert manifests[0][key] == manifests[1][key], key
    assert set(PLAN[i].name for i in range(len(PLAN))) == set(manifests[0]["notebooks"])


@pytest.mark.slow
def test_default_run_manifest_names_each_tables_producer(default_run) -> None:
    """Every table of a real run names the function that produced it, and that function
    imports and is callable (evalkit.assessment.summary.SOURCES)."""
    manifest = json.loads((default_run / "manifest.json").read_text())
    tables = manifest["tables"]
    assert "tables/indicators.csv" in tables and len(tables) >= 20, sorted(tables)
    for name, entry in tables.items():
        assert entry["sha256"] == sha256(default_run / name), name
        assert entry["producer"], f"{name}: no producer in the manifest"
        assert callable(resolve_dotted(entry["producer"])), (name, entry["producer"])
    assert tables["tables/indicators.csv"]["producer"] == \
        "evalkit.assessment.indicators.indicator_table"


@pytest.mark.slow
def test_default_run_outputs_carry_no_personal_identifiers(default_run) -> None:
    """The packaged survey holds fake names, ID numbers and phones: none may reach an output.

    Every file of the run (notebooks, HTML, CSV, the inside of XLSX workbooks) is searched
    for each identifier of the input file.
    """
    import zipfile

    import pandas as pd

    survey = pd.read_csv(package_data_dir() / "survey.csv", dtype=str)
    secrets = set(survey["id_number"]) | set(survey["phone"])
    names = {n for n in survey["name"] if len(n) >= 2}
    assert len(secrets) > 1000 and len(names) > 100  # the check has something to find
    texts: dict[str, str] = {}
    for path in default_run.rglob("*"):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts[str(path)] = "".join(book.read(n).decode("utf-8", "ignore")
                                           for n in book.namelist())
        elif path.is_file():
            texts[str(path)] = path.read_text(encoding="utf-8", errors="ignore")
    for where, text in texts.items():
        digits = set(re.findall(r"\d{11,18}", text))
        assert not digits & secrets, where
        assert not [n for n in names if n in text], where


def test_a_kernel_that_died_before_replying_is_started_once_more() -> None:
    """A kernel can die before its first reply when another process took one of its TCP
    ports; no cell ran, so the notebook is started again, once."""
    from evalkit.run.kernel import KERNEL_START_ATTEMPTS, run_restarting

    calls: list[int] = []
    said: list[str] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return "ran"

    assert run_restarting(flaky, may_restart=lambda: True,
                          restarting=lambda: said.append("again")) == "ran"
    assert len(calls) == 2 and said == ["again"]

    def always() -> None:
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    calls.clear()
    with pytest.raises(RuntimeError):
        run_restarting(always, may_restart=lambda: True, restarting=lambda: None)
    assert len(calls) == KERNEL_START_ATTEMPTS
    calls.clear()  # a cell already ran, or another error: not started again
    with pytest.raises(RuntimeError):
        run_restarting(always, may_restart=lambda: False, restarting=lambda: None)
    assert len(calls) == 1

    def other() -> None:
        calls.append(1)
        raise RuntimeError("something else")

    calls.clear()
    with pytest.raises(RuntimeError, match="something else"):
        run_restarting(other, may_restart=lambda: True, restarting=lambda: None)
    assert len(calls) == 1


def test_a_print_split_in_two_messages_is_one_output() -> None:
    """Under load a kernel may send a print's line and its newline apart; the run's notebook
    keeps one output, so two runs give the same bytes. Only consecutive streams of one name
    merge."""
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    from evalkit.run.kernel import merge_split_streams

    cell = new_code_cell("print(x)", outputs=[
        new_output("stream", name="stdout", text="With 29 villages"),
        new_output("stream", name="stdout", text="\n"),
        new_output("stream", name="stderr", text="warning\n"),
        new_output("display_data", data={"text/plain": "figure"}),
        new_output("stream", name="stdout", text="after\n"),
    ])
    nb = merge_split_streams(new_notebook(cells=[cell, new_code_cell("y = 1")]))
    outputs = nb.cells[0].outputs
    assert [(o.output_type, o.get("name"), o.get("text")) for o in outputs] == [
        ("stream", "stdout", "With 29 villages\n"), ("stream", "stderr", "warning\n"),
        ("display_data", None, None), ("stream", "stdout", "after\n")]
    assert nb.cells[1].outputs == []


# A notebook's look at the state a previous notebook in the same kernel could have left:
# names, working folder, options, rcParams, warnings (one shown once per location), the
# execution counter, the environment, open figures.
PROBE = """import os, sys, warnings
import matplotlib, numpy as np, pandas as pd
sys.path.insert(0, {lib!r})
import warns_here
warns_here.warn()
print('leak' in dir(), os.path.basename(os.getcwd()).startswith({cwd!r}),
      pd.get_option('display.max_rows'), matplotlib.rcParams['lines.linewidth'],
      np.get_printoptions()['precision'],
      len(warnings.filters), sys.path.count({lib!r}), get_ipython().execution_count,
      os.environ.get('EVALKIT_LEAK'))
import matplotlib.pyplot as plt
print(plt.get_fignums())"""

LEAK = """leak = 1
os.chdir('/')
pd.set_option('display.max_rows', 3)
matplotlib.rcParams['lines.linewidth'] = 9
np.set_printoptions(precision=2)
warnings.filters.insert(0, ('ignore', None, Warning, None, 0))  # no version bump
os.environ['EVALKIT_LEAK'] = '1'
plt.figure()"""


def _probe_outputs(path: Path) -> list[Any]:
    nb = nbformat.read(path, as_version=4)
    return [c.outputs for c in nb.cells if c.cell_type == "code" and "warns_here" in c.source]


def test_a_reused_kernel_starts_each_notebook_as_a_fresh_one(write_params, tmp_path) -> None:
    """Issue #24: one worker runs both notebooks in one kernel; the second sees none of the
    first's names, options, folder, filters or figures, and its warning is shown again."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "warns_here.py").write_text(
        "import warnings\n\ndef warn():\n    warnings.warn('warned here', UserWarning)\n")
    out = tmp_path / "out"
    cwd = ".test-run.partial-"  # the kernels' folder: the run's partial folder
    nbs = tmp_path / "nbs"
    probe = PROBE.format(lib=str(lib), cwd=cwd)
    make_notebook(nbs / "01_first.ipynb", probe, LEAK)
    make_notebook(nbs / "02_second.ipynb", probe)
    plan = (NotebookSpec("01_first"), NotebookSpec("02_second"))
    result = run(write_params(), out, notebooks_dir=nbs, plan=plan, workers=1, progress=None)
    first, second = (_probe_outputs(result.run_dir / "notebooks" / f"{n.name}.ipynb")
                     for n in plan)
    assert first == second
    text = json.dumps(first)
    assert "UserWarning: warned here" in text
    # No 'leak', in the partial folder, the defaults of pandas, matplotlib and numpy.
    assert "False True 60 1.5 8 " in text
    assert "\\n[]\\n" in text  # no figure open


def test_a_notebook_that_kills_its_kernel_does_not_poison_the_next(write_params,
                                                                   tmp_path) -> None:
    """After a failure the worker starts a fresh kernel for its next notebook."""
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "01_first.ipynb", "leak = 1\nimport os\nos._exit(1)")
    make_notebook(nbs / "02_second.ipynb", "print('leak' in dir(), get_ipython().execution_count)")
    plan = (NotebookSpec("01_first"), NotebookSpec("02_second"))
    with pytest.raises(NotebookFailedError, match="01_first.ipynb failed") as failed:
        run(write_params(), tmp_path / "out", notebooks_dir=nbs, plan=plan, workers=1,
            progress=None)
    partial = failed.value.partial_dir
    assert partial is not None
    second = nbformat.read(partial / "notebooks" / "02_second.ipynb", as_version=4)
    assert second.cells[-1].outputs[0]["text"] == "False 4\n"  # as in a fresh kernel
