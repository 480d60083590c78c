"""A province at once: every county assessed as one task on Dask distributed, then ranked.

``evalkit province PARAMS.yaml`` reads a province params file: the usual county keys, shared
by every county, plus a ``province`` block with ``name`` and either ``counties_dir`` (one
sub-folder per county holding ``frame.csv`` and ``survey.csv``, as ``evalkit synth
--province N`` writes them; the sub-folder name is the county's name) or ``counties`` (a
list of ``{name, frame, survey}``, paths relative to the params file).

How it runs (:func:`run_province`):

1. The params file is validated (a problem in the shared keys stops everything). Each
   county's files are read on the client and travel *as bytes* with its task, with the
   notebooks, so workers need no shared filesystem.
2. Counties whose previous outputs were made from the same inputs are skipped: the
   county's ``manifest.json`` is the cache key (SHA-256 of its params, data files and
   notebooks, and of evalkit's own code).
3. Every county is loaded and validated in a task (:func:`inspect_county`) before any
   notebook starts; a bad county is named with its one-line problems and marked failed,
   the others go on. The task returns the few columns the province-wide rates need.
4. Each remaining county runs as one task (:func:`run_county`): the single-county runner
   :func:`evalkit.run.pipeline.run` in a private temporary folder of the worker, so its
   notebooks, HTML, tables and manifest are what ``evalkit run`` makes; the task returns
   the folder's files as bytes and the client writes them atomically (a hidden folder
   renamed into ``counties/<county>/``). With ``tables_only`` the task computes the
   county's indicator table only (the same ``tables/indicators.csv`` bytes as notebook 02).
5. The client ranks the counties on each headline indicator with confidence sets for ranks
   (:func:`evalkit.survey.ranking.rank_confidence_sets`), estimates the province-wide rates with
   the counties as strata of one design, and writes ``tables/province_*.csv`` and the
   province page ``index.html``.

A county that fails is named with its one-line error; the others finish; the run's exit
is non-zero. Progress (runs completed, runs failed, time left) goes to stderr.
"""

from __future__ import annotations

import copy
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.contract.errors import EvalkitError, one_line
from evalkit.contract.schema import DEFAULT_SEED
from evalkit.contract.spreadsheet import read_csv
from evalkit.report.province import COUNTIES_SUBDIR, STATUS_FAILED
from evalkit.run import stopping
from evalkit.run.cluster import Release, count_workers, start_client, start_on_cluster
from evalkit.run.county_task import (
    TABLES_DIR,
    CountyJob,
    CountyOutput,
    Inspection,
    inspect_county,
    run_county,
    sha256_bytes,
)
from evalkit.run.province_params import counties, load_province
from evalkit.run.staging import (
    carry_over,
    remove_quietly,
    staging_root,
    without_identifiers,
)

HEADLINE_KEYS = ("wrong_exit", "missed", "incidence", "recognition")
# The province's technical notebook: run by `evalkit province` on the province folder, and
# refreshed with the county notebooks (`make refresh`), whose default is an example province.
NOTEBOOK_NAME = "06_province"
STATUS_OK, STATUS_CACHED = "done", "unchanged (skipped)"
MAX_NAMED = 10  # counties named in one message; the rest are counted


def _notebook_spec() -> Any:
    from evalkit.run.pipeline import NotebookSpec

    return NotebookSpec(NOTEBOOK_NAME)


# --- writing on the client ---------------------------------------------------------------------


def write_county_dir(counties_dir: Path, name: str, files: dict[str, bytes]) -> Path:
    """Put a county's files at ``counties_dir/name`` in one rename (old run replaced)."""
    counties_dir.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{name}.partial-", dir=counties_dir))
    try:
        for rel, data in files.items():
            target = (partial / rel).resolve()
            if partial.resolve() not in target.parents:
                raise EvalkitError(f"county {name}: output path {rel!r} leaves its folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        os.chmod(partial, 0o755)
        from evalkit.run.publish import publish_dir

        publish_dir(partial, counties_dir / name)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return counties_dir / name


def _cached(county_dir: Path, key: dict[str, Any]) -> bool:
    """Whether ``county_dir`` holds a finished run made from the inputs in ``key`` (a
    symbolic link does not: it is not a folder this run wrote)."""
    if county_dir.is_symlink():
        return False
    try:
        manifest = json.loads((county_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if manifest.get("code_sha256") != key["code_sha256"]:
        return False
    have = {k: v.get("sha256") for k, v in manifest.get("inputs", {}).items()
            if k in key["inputs"]}
    if have != key["inputs"]:
        return False
    return (county_dir / TABLES_DIR / "indicators.csv").is_file()


# --- the province run ----------------------------------------------------------------------------


@dataclass
class CountyStatus:
    name: str
    status: str
    error: str | None = None
    seconds: float | None = None


@dataclass
class ProvinceResult:
    """A finished province run: its folder and each county's status."""

    run_dir: Path
    statuses: list[CountyStatus]
    seconds: float
    ranking: Any = None

    @property
    def failed(self) -> list[CountyStatus]:
        return [s for s in self.statuses if s.status == STATUS_FAILED]


def _progress_line(done: int, failed: int, total: int, started: float) -> str:
    elapsed = time.perf_counter() - started
    finished = done + failed
    left = ""
    if 0 < finished < total:
        left = f", about {elapsed / finished * (total - finished):.0f} s left"
    runs = {n: f"{n} run{'s' if n != 1 else ''}" for n in (done, failed)}
    return (f"{finished}/{counties(total)} ({runs[done]} completed, {runs[failed]} failed), "
            f"{elapsed:.0f} s{left}")


@dataclass
class _Tally:
    """Counties finished so far, for the progress lines on stderr."""

    total: int
    report: Callable[[str], None]
    started: float = field(default_factory=time.perf_counter)
    done: int = 0
    failed: int = 0

    def line(self) -> str:
        return _progress_line(self.done, self.failed, self.total, self.started)


def _county_jobs(spec: Any, notebooks: dict[str, bytes], nb_dir: Path, tables_only: bool,
                 code: str, git: Any, statuses: dict[str, CountyStatus], staging: Path
                 ) -> dict[str, CountyJob]:
    """One job per county whose files could be read; the others go to ``statuses`` failed."""
    jobs: dict[str, CountyJob] = {}
    for county in spec.counties:
        if county.problem is not None:
            statuses[county.name] = CountyStatus(county.name, STATUS_FAILED, county.problem)
            continue
        assert county.frame is not None and county.survey is not None
        frame_name = "frame" + county.frame.suffix.lower()
        survey_name = "survey" + county.survey.suffix.lower()
        values = copy.deepcopy(spec.values)
        values["run_name"] = county.name
        values["data"] = {"frame": frame_name, "survey": survey_name}
        try:
            raw = {frame_name: county.frame.read_bytes(), survey_name: county.survey.read_bytes()}
            # Names, ID numbers and phones never leave the client (the reader drops them).
            files = {n: without_identifiers(n, b)[0] for n, b in raw.items()}
        except (OSError, EvalkitError) as exc:
            statuses[county.name] = CountyStatus(county.name, STATUS_FAILED, one_line(exc))
            continue
        digests = {"data.frame": sha256_bytes(raw[frame_name]),
                   "data.survey": sha256_bytes(raw[survey_name])}
        origins = {"params": str(spec.source), "data.frame": str(county.frame),
                   "data.survey": str(county.survey),
                   **{f"notebooks/{n}": str(nb_dir / n) for n in notebooks}}
        jobs[county.name] = CountyJob(county.name, values, files, notebooks, tables_only,
                                      code_sha256=code, origins=origins, git=git,
                                      input_sha256=digests, staging_root=str(staging))
    return jobs


def _inspect_counties(client: Any, jobs: dict[str, CountyJob], cached: set[str],
                      counties_dir: Path, tables_only: bool, tally: _Tally,
                      statuses: dict[str, CountyStatus]) -> dict[str, Inspection]:
    """Load and validate every county on the cluster (and, tables only, estimate and write
    it) before any notebook runs. One small graph per county (its bytes), not one large
    graph for the province."""
    from distributed import as_completed

    names = list(jobs)
    futures = [client.submit(inspect_county, jobs[n], key=f"inspect-{n}-{os.urandom(4).hex()}")
               for n in names]
    owner = {f.key: n for f, n in zip(futures, names, strict=True)}
    inspections: dict[str, Inspection] = {}
    for future in as_completed(futures):
        stopping.check()
        result: Inspection = _result(future, owner, lambda n, e: Inspection(n, e))
        inspections[result.name] = result
        if result.problem is not None:
            statuses[result.name] = CountyStatus(result.name, STATUS_FAILED,
                                                 result.problem, result.seconds)
            tally.failed += 1
            tally.report(f"{result.name}: FAILED: {result.problem}")
        elif tables_only:
            if result.name in cached:
                statuses[result.name] = CountyStatus(result.name, STATUS_CACHED)
            else:
                write_county_dir(counties_dir, result.name, result.files)
                statuses[result.name] = CountyStatus(result.name, STATUS_OK, None,
                                                     result.seconds)
            tally.done += 1
            if tally.done % max(1, tally.total // 10) == 0 or (
                    tally.done + tally.failed == tally.total):
                tally.report(tally.line())
    return inspections


def _run_counties(client: Any, jobs: dict[str, CountyJob], cached: set[str],
                  inspections: dict[str, Inspection], counties_dir: Path, n_workers: int,
                  tally: _Tally, statuses: dict[str, CountyStatus]) -> None:
    """Run the valid counties whose outputs are not up to date, one task each, writing each
    county's folder as its task returns."""
    from distributed import as_completed

    names = list(jobs)
    to_run = [n for n in names if inspections[n].problem is None and n not in cached]
    for n in names:
        if n in cached and inspections[n].problem is None:
            statuses[n] = CountyStatus(n, STATUS_CACHED)
            tally.done += 1
    if to_run:
        tally.report(f"running {counties(len(to_run))} on {n_workers} worker{'s'[:n_workers - 1]}")
    futures = [client.submit(run_county, jobs[n], key=f"county-{n}-{os.urandom(4).hex()}")
               for n in to_run]
    owner = {f.key: n for f, n in zip(futures, to_run, strict=True)}
    for future in as_completed(futures):
        stopping.check()
        output: CountyOutput = _result(future, owner, lambda n, e: CountyOutput(n, {}, e, 0.0))
        if output.error is None:
            write_county_dir(counties_dir, output.name, output.files)
            statuses[output.name] = CountyStatus(output.name, STATUS_OK, None, output.seconds)
            tally.done += 1
            tally.report(f"{output.name} done ({output.seconds:.1f} s); {tally.line()}")
        else:
            statuses[output.name] = CountyStatus(output.name, STATUS_FAILED, output.error,
                                                 output.seconds)
            tally.failed += 1
            tally.report(f"{output.name}: FAILED: {output.error}; {tally.line()}")


def run_province(
    params_path: Path | str,
    out_dir: Path | str = "outputs",
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    tables_only: bool = False,
    notebooks_dir: Path | str | None = None,
    progress: Callable[[str], None] | None = None,
    notebook: bool = True,
    timeout: float | None = None,
) -> ProvinceResult:
    """Run every county of the province file; rank; write the province folder.

    The province is built in a private folder beside its target (``.<run>.partial-XXXX``:
    counties unchanged since the last run are carried over as hard links) and put in place
    in one step when its page is written, so the page never describes county folders that
    the run folder does not hold; an interrupted run leaves the last one as it was. A run
    folder that is a symbolic link is replaced, the folder it pointed to left alone.

    Returns the result (failed counties included); raises :class:`EvalkitError` only for a
    bad province file, bad options or an unreachable scheduler (``timeout`` seconds, else
    :func:`evalkit.run.cluster.network_timeout`).
    """
    from evalkit.contract.paths import PACKAGE_ROOT
    from evalkit.run import provenance
    from evalkit.run.cluster import checked_options
    from evalkit.run.publish import output_folder, publish_dir

    t0 = time.perf_counter()
    report = progress or (lambda _m: None)
    spec = load_province(params_path)
    workers = checked_options(workers, scheduler, timeout, report)
    # pipeline.default_notebooks_dir(), without importing the notebook runner: a tables-only
    # run needs no notebook, and nbformat's import costs seconds.
    nb_dir = Path(notebooks_dir) if notebooks_dir else PACKAGE_ROOT.parents[1] / "notebooks"
    notebooks = {} if tables_only else _read_notebooks(nb_dir)
    run_dir = Path(out_dir).expanduser().resolve() / spec.run_name
    if run_dir.parent.exists() and not run_dir.parent.is_dir():  # before any work
        raise EvalkitError(f"--out {run_dir.parent}: is a file, expected a folder")
    counties_dir = run_dir / COUNTIES_SUBDIR
    code = provenance.code_sha256()
    git = None if tables_only else provenance.git_state(nb_dir)

    statuses: dict[str, CountyStatus] = {}
    with staging_root() as staging:
        jobs = _county_jobs(spec, notebooks, nb_dir, tables_only, code, git, statuses, staging)
        for name in (c.name for c in spec.counties):
            status = statuses.get(name)
            if status is not None:
                report(f"{name}: FAILED: {status.error}")
        cached = {name for name, job in jobs.items()
                  if _cached(counties_dir / name, job.cache_key(code))}
        report(f"province '{spec.name}': {counties(len(spec.counties))}, {len(cached)} "
               f"unchanged since the last run, {len(jobs) - len(cached)} to run"
               + (" (tables only)" if tables_only else ""))
        _, partial = output_folder(run_dir.parent, spec.run_name)
        try:
            new_counties = partial / COUNTIES_SUBDIR
            for name in sorted(cached):
                carry_over(counties_dir / name, new_counties / name)
            ordered, ranking = _run_on_cluster(spec, jobs, cached, partial, statuses, workers,
                                      scheduler, timeout, report,
                                      tables_only=tables_only, notebook=notebook,
                                      notebooks_dir=nb_dir)
            stopping.check()
            os.chmod(partial, 0o755)
            publish_dir(partial, run_dir)
        except BaseException:
            remove_quietly(partial)
            raise

    seconds = time.perf_counter() - t0
    bad = [s for s in ordered if s.status == STATUS_FAILED]
    shown = ", ".join(s.name for s in bad[:MAX_NAMED]) + (
        f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else "")
    report(f"province '{spec.name}' written to {run_dir} ({seconds:.1f} s; "
           f"{len(ordered) - len(bad)} of {counties(len(ordered))} ran to completion, "
           f"{len(bad)} run{'s' if len(bad) != 1 else ''} failed"
           + (": " + shown if bad else "") + ")")
    return ProvinceResult(run_dir, ordered, seconds, ranking)


def _read_notebooks(nb_dir: Path) -> dict[str, bytes]:
    """The county notebooks' bytes (they travel with each task); one line when missing."""
    from evalkit.run import pipeline

    try:
        return {s.filename: (nb_dir / s.filename).read_bytes() for s in pipeline.PLAN}
    except OSError as exc:
        raise EvalkitError(f"--notebooks {nb_dir}: cannot read the county notebooks "
                           f"({exc.strerror or type(exc).__name__}: "
                           f"{Path(exc.filename or nb_dir).name})") from None


def _run_on_cluster(spec: Any, jobs: dict[str, CountyJob], cached: set[str], partial: Path,
                    statuses: dict[str, CountyStatus], workers: int | None,
                    scheduler: str | None, timeout: float | None,
                    report: Callable[[str], None], *, tables_only: bool, notebook: bool,
                    notebooks_dir: Path) -> tuple[list[CountyStatus], Any]:
    """Inspect and run the counties on Dask, then write the province's tables and page into
    ``partial``; the cluster is closed however this ends."""
    counties_dir = partial / COUNTIES_SUBDIR
    client, cluster = start_client(workers, scheduler, timeout)
    release = Release(client, cluster, timeout)
    try:
        stopping.check()  # a stop while the cluster started may have been swallowed
        n_workers = count_workers(client, timeout)
        report(f"Dask: {n_workers} workers at {client.scheduler.address}")
        tally = _Tally(len(jobs), report)
        inspections = _inspect_counties(client, jobs, cached, counties_dir, tables_only,
                                        tally, statuses)
        if not tables_only:
            _run_counties(client, jobs, cached, inspections, counties_dir, n_workers, tally,
                          statuses)
        ordered = [statuses[c.name] for c in spec.counties]
        from evalkit.run.province_outputs import write_province_outputs

        ranking = write_province_outputs(
            spec, partial, ordered, inspections, tables_only=tables_only, notebook=notebook,
            notebooks_dir=notebooks_dir, progress=report,
            start=start_on_cluster(client, report, release.start))
    finally:
        release.wait()
    return ordered, ranking


def _result(future: Any, owner: dict[str, str], failed: Callable[[str, str], Any]) -> Any:
    """The task's result; a task that could not finish (a worker that died, a lost
    connection) becomes a failed county named with the reason, instead of stopping all."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - contained: the others go on
        return failed(owner[future.key], f"task failed on the cluster: {one_line(exc)}")


def _stderr(message: str) -> None:
    print(f"evalkit: {message}", file=sys.stderr, flush=True)


def __getattr__(name: str) -> Any:
    # NOTEBOOK is made lazily: importing evalkit.run.pipeline pulls in nbformat.
    if name == "NOTEBOOK":
        return _notebook_spec()
    raise AttributeError(name)


def example_run(n_counties: int = 4, seed: int = DEFAULT_SEED, lang: str = "en") -> Any:
    """A synthetic province computed in this process (no Dask): the notebook's default.

    The same steps as ``evalkit province --tables-only``: each county's indicator table by
    :func:`evalkit.run.province.inspect_county`, then ranking and province-wide rates.
    """
    import pandas as pd

    from evalkit import synth
    from evalkit.report.province import (
        HEADLINE,
        ProvinceRun,
        province_rates,
        ranking_table,
    )
    from evalkit.run.params import DEFAULTS

    values = copy.deepcopy(DEFAULTS)
    values["lang"] = lang
    inspections, tables = [], []
    with tempfile.TemporaryDirectory(prefix="evalkit-example-province-") as tmp:
        written = synth.write_province_data(Path(tmp), seed=seed, n_counties=n_counties)
        for k, paths in enumerate(written.values(), start=1):
            name = f"county_{k:02d}"
            county = dict(values, run_name=name,
                          data={"frame": "frame.csv", "survey": "survey.csv"})
            job = CountyJob(name, county, {"frame.csv": paths["frame"].read_bytes(),
                                           "survey.csv": paths["survey"].read_bytes()},
                            tables_only=True)
            result = inspect_county(job)
            if result.problem is not None:
                raise EvalkitError(f"{name}: {result.problem}")
            inspections.append(result)
            table = read_csv(io.BytesIO(result.files["tables/indicators.csv"]))
            tables.append(table[table["indicator"].isin(HEADLINE)].assign(county=name))
    indicators = pd.concat(tables, ignore_index=True)
    ranking = ranking_table(indicators, level=values["level"], seed=values["seed"])
    status = pd.DataFrame({"county": [i.name for i in inspections], "status": "done",
                           "error": ""})
    return ProvinceRun(f"synthetic province ({n_counties} counties, seed {seed})", lang,
                       values["level"], values["thresholds"], status, indicators, ranking,
                       province_rates(inspections, values))
