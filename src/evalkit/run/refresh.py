"""``make refresh`` (``evalkit refresh``): re-execute the committed notebooks in place.

Kept apart from :mod:`evalkit.run.pipeline`, whose runner it shares the kernel environment
and error messages with, because it writes into the source tree rather than a run folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat

from evalkit.run.kernel import KERNEL_NAME, KERNEL_QUIET, prepare_kernel_environment
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


def refresh_notebooks(
    notebooks_dir: Path | str | None = None,
    plan: Iterable[NotebookSpec] = ALL_NOTEBOOKS,
    *,
    progress: Callable[[str], None] | None = stderr_progress,
    kernel_name: str = KERNEL_NAME,
    timeout: int | None = None,
) -> list[Path]:
    """Re-execute the committed notebooks in place with their own (default) parameters.

    This is what nbval later compares against. nbclient runs them without papermill so no
    run-specific metadata (timestamps, paths) lands in the committed files; the kernel
    starts in the notebooks' folder, as in Jupyter and nbval.
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
