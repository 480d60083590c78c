"""Writing a province run's outputs: the ranking and indicator tables, the province page, and
the executed province notebook.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.contract.spreadsheet import csv_text
from evalkit.report.province import (
    COUNTIES_SUBDIR,
    HEADLINE,
    RANKING_COLUMNS,
    STATUS_FAILED,
    join_rankings,
    province_page,
    province_rates,
    rank_indicator,
    ranked_rows,
    read_county_indicators,
    write_atomic,
)

Call = tuple[Callable[..., Any], tuple[Any, ...]]
"""A function and its arguments, one piece of the province's own work."""


# Who makes each province table (the manifest's entry format is `evalkit run`'s).
PRODUCERS = {
    "province_indicators.csv": "evalkit.report.province.read_county_indicators",
    "province_ranking.csv": "evalkit.report.province.ranking_table",
    "province_status.csv": "evalkit.run.province.run_province",
    "province_rates.csv": "evalkit.report.province.province_rates",
}


def compute_here(calls: Sequence[Call]) -> Callable[[], list[Any]]:
    """``calls`` to run one after the other in this process (no cluster at hand): returns
    the function that runs them and gives their results in order."""
    return lambda: [function(*args) for function, args in calls]


def write_province_outputs(spec: Any, run_dir: Path, statuses: Sequence[Any],
                           inspections: dict[str, Any], *, tables_only: bool,
                           notebook: bool, notebooks_dir: Path,
                           progress: Callable[[str], None],
                           start: Callable[[Sequence[Call]], Callable[[], list[Any]]]
                           = compute_here) -> pd.DataFrame:
    """Write the province tables, the technical notebook (full runs) and ``index.html``.

    ``start`` starts the rankings and returns the function that waits
    for their results, in order: :func:`compute_here`, or the cluster's workers, while this
    process estimates the province-wide rates (their data is here already).
    """
    values = spec.values
    tables_dir = run_dir / "tables"
    ok = [s.name for s in statuses if s.status != STATUS_FAILED]
    indicators = read_county_indicators(run_dir / COUNTIES_SUBDIR, ok)
    valid = [inspections[n] for n in ok if n in inspections
             and inspections[n].problem is None]
    # The ranking and the province-wide rates do not depend on each other: on a cluster the
    # rankings' simulations (the slow part of a large province) run on the workers, side by
    # side, while this process estimates the rates.
    # With every county failed there is nothing to rank, but the page and the status table
    # still say so.
    parts = {key: ranked_rows(indicators, key) for key in HEADLINE} if ok else {}
    calls: list[Call] = [(rank_indicator, (part, key, values["level"], values["seed"],
                                           spec.worst))
                         for key, part in parts.items()]
    wait = start(calls)
    rates = None
    if valid:
        try:
            rates = province_rates(valid, values)
        except EvalkitError as exc:
            progress(f"province-wide rates not estimable: {exc}")
    ranking = join_rankings(wait()) if calls else pd.DataFrame(columns=RANKING_COLUMNS)
    # No timings here: the table is the same bytes for the same inputs (they go to the
    # manifest).
    status = pd.DataFrame([{"county": s.name, "status": s.status, "error": s.error or ""}
                           for s in statuses], columns=["county", "status", "error"])
    outputs = {"province_indicators.csv": indicators, "province_ranking.csv": ranking,
               "province_status.csv": status}
    if rates is not None:
        outputs["province_rates.csv"] = rates
    from evalkit.report.formatting import rounded

    hashes = {}
    for filename, table in outputs.items():
        data = csv_text(rounded(table, 10)).encode()  # county names: never a formula
        write_atomic(tables_dir / filename, data)
        hashes[f"tables/{filename}"] = {"sha256": hashlib.sha256(data).hexdigest(),
                                        "producer": PRODUCERS[filename]}
    if rates is None:
        (tables_dir / "province_rates.csv").unlink(missing_ok=True)
    manifest = {
        "province": spec.name, "params_file": str(spec.source), "params": values,
        "mode": "tables-only" if tables_only else "full",
        "counties": {s.name: {"status": s.status, "error": s.error,
                              "seconds": None if s.seconds is None else round(s.seconds, 1)}
                     for s in statuses},
        "tables": hashes,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    write_atomic(run_dir / "manifest.json",
                 (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode())
    # The technical notebook reads the run through its manifest (load_run), so the manifest
    # is written first.
    technical = None
    if notebook and not tables_only and ok:  # with every county failed there is no analysis
        technical = _run_province_notebook(run_dir, values["lang"], notebooks_dir, progress)
    tables = sorted(hashes)
    # A tables-only update into a folder holding a full run keeps the links to what exists.
    counties_dir = run_dir / COUNTIES_SUBDIR
    county_links = not tables_only or (bool(ok) and all(
        (counties_dir / name / "index.html").is_file() for name in ok))
    if technical is None and tables_only and (run_dir / "06_province.html").is_file():
        technical = "06_province.html"
    page = province_page(
        name=spec.name, lang=values["lang"], level=values["level"],
        thresholds=values["thresholds"], statuses=statuses, indicators=indicators,
        ranking=ranking, rates=rates, tables=tables, county_links=county_links,
        technical_href=technical, tables_only=tables_only)
    write_atomic(run_dir / "index.html", page.encode())
    return ranking


def _run_province_notebook(run_dir: Path, lang: str, notebooks_dir: Path,
                           progress: Callable[[str], None]) -> str | None:
    """Execute ``06_province.ipynb`` on the province folder and render it (when present)."""
    source = notebooks_dir / "06_province.ipynb"
    if not source.is_file():
        return None
    import nbformat
    import papermill

    from evalkit.report.render import render_notebook
    from evalkit.run import kernel

    kernel.prepare_kernel_environment()
    kernel.register_engine()
    executed = run_dir / "notebooks" / "06_province.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    # The kernel's own output (not its cells') goes to a log in the private partial folder,
    # never to the terminal; removed once the notebook ran or failed.
    log = kernel.kernel_log_path(run_dir, "06_province")
    try:
        kernel.run_restarting(
            lambda: papermill.execute_notebook(
                # The folder as the kernel sees it (its working folder): the run is built in
                # a partial folder whose random name must not reach the notebook.
                source, executed, parameters={"province_dir": ".", "lang": lang},
                engine_name=kernel.ENGINE_NAME, kernel_name=kernel.KERNEL_NAME,
                progress_bar=False, extra_arguments=list(kernel.KERNEL_QUIET),
                kernel_cwd=str(run_dir), kernel_log=str(log)),
            may_restart=lambda: True,  # the notebook only reads the tables
            restarting=lambda: progress("06_province: kernel did not start; starting it again"))
    except Exception as exc:  # noqa: BLE001 - the page is still written
        reason = kernel.kernel_log_reason(log) or " ".join(str(exc).split())[:200]
        progress(f"06_province.ipynb failed: {reason}")
        return None
    finally:  # the province folder is published: no log in it
        shutil.rmtree(run_dir / kernel.KERNEL_LOG_DIR, ignore_errors=True)
    nb = kernel.merge_split_streams(nbformat.read(executed, as_version=4))
    for cell in nb.cells:  # papermill draws a random id for its cell: fixed, as `evalkit run`
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    nbformat.write(nb, executed)
    render_notebook(nb, run_dir / "06_province.html", hide_code=False, lang=lang)
    return "06_province.html"
