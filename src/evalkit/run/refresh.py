"""``evalkit refresh``: re-execute the committed notebooks with the default params.

A notebook's ``parameters`` cell holds neutral values (None), so nothing written there can
reach an output; the values a committed notebook shows come from an ``injected-parameters``
cell (:func:`inject_parameters`) holding a params file's values (:func:`refresh_parameters`),
which stays in the committed file: nbval re-executes the same run, and ``evalkit run``
(papermill) replaces that cell with the run's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import nbformat

from evalkit.run.kernel import KERNEL_NAME, KERNEL_QUIET, prepare_kernel_environment
from evalkit.run.params import IDENTITY_KEYS, load_params, notebook_parameters
from evalkit.run.pipeline import (
    ALL_NOTEBOOKS,
    NotebookFailedError,
    NotebookSpec,
    default_notebooks_dir,
    error_line,
    first_line,
    parameters_cell_index,
    stderr_progress,
)

#: The params file each committed notebook is refreshed with (``params/``); the others use
#: ``default.yaml``. 05 shows a re-check, so it is refreshed on the packaged one; 00 (a
#: tutorial whose parameters are the reader's files) and 06 (the example province) are not
#: county runs and keep their own parameters.
REFRESH_PARAMS: dict[str, str | None] = {"05_followup.ipynb": "recheck.yaml",
                                         "00_start_here.ipynb": None,
                                         "06_province.ipynb": None}
#: Where refreshed notebooks write their tables, relative to the notebooks' folder.
REFRESH_TABLES_DIR = "../outputs/notebook-tables"


def inject_parameters(nb: nbformat.NotebookNode, values: dict[str, Any]
                      ) -> nbformat.NotebookNode:
    """``nb`` with ``values`` assigned in a cell tagged ``injected-parameters`` right after
    its ``parameters`` cell (replacing an earlier one), as papermill writes it: Python
    literals, so a string stays a string whatever it contains."""
    from papermill.translators import translate_parameters

    source = translate_parameters("python3", "python", values, "Parameters")
    cell = nbformat.v4.new_code_cell(source=source, id="injected-parameters",
                                     metadata={"tags": ["injected-parameters"]})
    cells = [c for c in nb.cells
             if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    at = next(i for i, c in enumerate(cells)
              if "parameters" in c.get("metadata", {}).get("tags", []))
    nb.cells = [*cells[:at + 1], cell, *cells[at + 1:]]
    return nb


def refresh_parameters(spec: NotebookSpec, nb_dir: Path) -> dict[str, Any] | None:
    """What :func:`refresh_notebooks` injects into ``spec``: the values of its params file
    (:data:`REFRESH_PARAMS`, else ``params/default.yaml`` beside the notebooks' folder), as
    ``evalkit run`` injects them, with paths relative to the notebooks' folder; None for a
    notebook that is not a county run."""
    name = REFRESH_PARAMS.get(spec.filename, "default.yaml")
    if name is None:
        return None
    params = load_params(nb_dir.parent / "params" / name)
    values = notebook_parameters(params, REFRESH_TABLES_DIR, kernel_dir=nb_dir)
    if not spec.policy:
        for key in IDENTITY_KEYS:
            values.pop(key, None)
    return values



def refresh_notebooks(
    notebooks_dir: Path | str | None = None,
    plan: Iterable[NotebookSpec] = ALL_NOTEBOOKS,
    *,
    progress: Callable[[str], None] | None = stderr_progress,
    kernel_name: str = KERNEL_NAME,
    timeout: int | None = None,
) -> list[Path]:
    """Re-execute the committed notebooks in place with the default params.

    A notebook's ``parameters`` cell holds neutral values (None): the values come from the
    cell :func:`inject_parameters` writes after it, from :func:`refresh_parameters` (the
    default params file, the re-check's for 05), and stay in the committed file, so nbval
    re-executes the same run and ``evalkit run`` (papermill) replaces that cell with the
    run's own. This is what nbval later compares against. nbclient runs them without
    papermill so no run-specific metadata (timestamps, paths) lands in the committed files;
    the kernel starts in the notebooks' folder, as in Jupyter and nbval.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    prepare_kernel_environment()
    nb_dir = (Path(notebooks_dir) if notebooks_dir else default_notebooks_dir()).resolve()
    report = progress or (lambda _message: None)
    written: list[Path] = []
    for spec in sorted(plan, key=lambda s: s.final):
        path = nb_dir / spec.filename
        nb = nbformat.read(path, as_version=4)
        parameters_cell_index(nb, path)
        values = refresh_parameters(spec, nb_dir)
        if values is not None:
            nb = inject_parameters(nb, values)
        t0 = time.perf_counter()
        client = NotebookClient(
            nb, kernel_name=kernel_name, timeout=timeout, record_timing=False,
            resources={"metadata": {"path": str(nb_dir)}},
            extra_arguments=list(KERNEL_QUIET),
        )
        try:
            client.execute()
        except CellExecutionError:
            for index, cell in enumerate(nb.cells):
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        raise NotebookFailedError(
                            f"notebook {spec.filename} failed in cell {index} "
                            f"({first_line(cell.source)!r}): "
                            f"{error_line(output.ename, output.evalue)}; file not rewritten",
                            notebook=spec.filename,
                        ) from None
            raise
        nbformat.write(nb, path)
        written.append(path)
        report(f"{spec.filename} refreshed ({time.perf_counter() - t0:.1f} s)")
    return written
