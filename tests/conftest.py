"""Shared fixtures: a repo handle, throwaway params files and tiny notebooks for the runner."""

from __future__ import annotations

import copy
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from evalkit.run.params import DEFAULTS

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs the whole pipeline more than once (still part of make test)"
    )


#: A module defining a fixture of this scope runs whole on one xdist worker.
_SHARED_SCOPE = re.compile(r"""scope\s*=\s*["'](module|class|package)["']""")


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``make test``'s scheduler for pytest-xdist (``-n auto --dist loadgroup``).

    - A test module that defines a module-scoped fixture (a pipeline run, a fitted model)
      runs whole on one worker, so the fixture is built once, not once per worker.
    - nbval's notebook cells (``--nbval``, collected with the tests) run on one worker in
      their order: a notebook's cells share its kernel, and 04 reads the tables that 02 and
      03 wrote before it.
    - Every other test is a unit of its own; the largest units start first.

    xdist's own ``loadgroup`` reads ``xdist_group`` marks through node ids that pytest 9.2
    no longer lets it rewrite (pytest-xdist issue 1386: the marks are silently ignored), so
    the grouping is done here, from the node ids alone.
    """
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    shares: dict[str, bool] = {}

    def module_shares_a_fixture(path: str) -> bool:
        if path not in shares:
            source = config.rootpath / path
            shares[path] = source.suffix == ".py" and source.is_file() and bool(
                _SHARED_SCOPE.search(source.read_text(encoding="utf-8")))
        return shares[path]

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            if path.endswith(".ipynb"):
                return "nbval-notebooks"
            return path if module_shares_a_fixture(path) else nodeid

    return SharedFixtureScheduling(config, log)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``evalkit run params/default.yaml``, shared by every test that only reads it.

    Under pytest-xdist the workers share one base temporary folder; the first worker to
    take the lock runs it, the others wait and read the same folder (so a session makes one
    default run, not one per worker). Returns the run folder (``.../default``).
    """
    import fcntl

    from evalkit.run.pipeline import run

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's folder, above each worker's own
    folder = shared / "shared-default-run"
    folder.mkdir(exist_ok=True)
    done = folder / "done"
    with open(folder / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists():
                run(REPO / "params" / "default.yaml", folder / "out", progress=None)
                done.write_text("ok\n")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder / "out" / "default"


def _deep_update(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
    return base


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A small valid frame and survey (the data contract's test fixtures)."""
    folder = tmp_path / "data"
    folder.mkdir()
    fixtures = Path(__file__).parent / "data" / "data_contract"
    shutil.copyfile(fixtures / "frame_small.csv", folder / "frame.csv")
    shutil.copyfile(fixtures / "survey_small.csv", folder / "survey.csv")
    return folder


@pytest.fixture
def write_params(tmp_path: Path, data_dir: Path) -> Callable[..., Path]:
    """``write_params(overrides=None, name="params.yaml", raw=None)`` -> path of a params file.

    By default the file is the default params with data pointing at ``data_dir`` (relative
    to the params file); ``overrides`` are merged in; ``raw`` is written verbatim instead.
    """

    def write(
        overrides: dict[str, Any] | None = None, name: str = "params.yaml", raw: str | None = None
    ) -> Path:
        path = tmp_path / name
        if raw is not None:
            path.write_text(raw, encoding="utf-8")
            return path
        values = copy.deepcopy(DEFAULTS)
        values["run_name"] = "test-run"
        values["data"] = {"frame": "data/frame.csv", "survey": "data/survey.csv"}
        _deep_update(values, overrides or {})
        path.write_text(yaml.safe_dump(values, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        return path

    return write


def parameters_source() -> str:
    """A parameters cell declaring every params key, as the real notebooks do."""
    lines = ["# DEFAULT_PARAMETERS_MARKER"]
    lines += [f"{key} = {value!r}" for key, value in DEFAULTS.items()]
    lines += ['tables_dir = "tables"', 'params_dir = "."']
    return "\n".join(lines)


def make_notebook(path: Path, *code: str, title: str = "Test notebook") -> Path:
    """Write a notebook: a title, the parameters cell, then one code cell per ``code``."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3",
    }
    nb.cells = [
        new_markdown_cell(f"# {title}"),
        new_code_cell(parameters_source(), metadata={"tags": ["parameters"]}),
        *[new_code_cell(source) for source in code],
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def resolve_dotted(path: str) -> object:
    """The object a dotted path names (``evalkit.sampling.plan.SamplePlan.table``): the longest
    importable module prefix, then attributes. Raises ImportError/AttributeError if absent."""
    import importlib

    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"no module in {path!r}")
