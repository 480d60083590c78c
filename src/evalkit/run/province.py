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
is non-zero. Progress (done, failed, time left) goes to stderr.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
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

import yaml

from evalkit.contract.errors import EvalkitError, one_line
from evalkit.contract.schema import DEFAULT_SEED
from evalkit.contract.spreadsheet import csv_text, read_csv
from evalkit.report.province import COUNTIES_SUBDIR, STATUS_FAILED
from evalkit.run.cluster import Release, start_client, start_on_cluster
from evalkit.run.province_params import counties, load_province

TABLES_DIR = "tables"
HEADLINE_KEYS = ("wrong_exit", "missed", "incidence", "recognition")
# Columns of the survey that the province-wide rates need (plus the design's own columns).
RATE_COLUMNS = ("village", "household_type", "household_size", "people_wrongly_exited",
                "people_missed", "recognizes", "exited", "nonpoor")
# The frame's population counts: people (the incidence) and households (calibration).
FRAME_COLUMNS_PREFIXES = ("people", "hh_")
# The province's technical notebook: run by `evalkit province` on the province folder, and
# refreshed with the county notebooks (`make refresh`), whose default is an example province.
NOTEBOOK_NAME = "06_province"
STATUS_OK, STATUS_CACHED = "done", "unchanged (skipped)"


def _notebook_spec() -> Any:
    from evalkit.run.pipeline import NotebookSpec

    return NotebookSpec(NOTEBOOK_NAME)


# --- tasks -----------------------------------------------------------------------------------


@dataclass
class CountyJob:
    """Everything one county's task needs, as bytes: no shared filesystem."""

    name: str
    values: dict[str, Any]  # the county's params (run_name = county name, data = file names)
    files: dict[str, bytes]  # data file name -> bytes
    notebooks: dict[str, bytes] = field(default_factory=dict)
    tables_only: bool = False
    notebook_workers: int = 1
    # evalkit's code hash as the client computed it (its cache key): a tables-only task
    # records it instead of importing the notebook runner (nbformat, seconds per worker)
    # and hashing the package again for every county.
    code_sha256: str = ""
    # Where the inputs live on the client, by manifest key, and the git state of the code
    # there: the county's manifest names these, not the worker's temporary copies.
    origins: dict[str, str] = field(default_factory=dict)
    git: tuple[str, bool | None] | None = None

    def params_bytes(self) -> bytes:
        """The county's ``params.yaml`` (made once: the client's cache check and the task
        both need it, and the YAML dump costs more than the county's estimates)."""
        cached = self.__dict__.get("_params_bytes")
        if cached is None:
            cached = yaml.safe_dump(self.values, sort_keys=False, allow_unicode=True).encode()
            self.__dict__["_params_bytes"] = cached
        return cached

    def cache_key(self, code: str) -> dict[str, Any]:
        """What the county's manifest must hold for its outputs to be reused."""
        inputs = {"params": _sha(self.params_bytes())}
        inputs["data.frame"] = _sha(self.files[self.values["data"]["frame"]])
        inputs["data.survey"] = _sha(self.files[self.values["data"]["survey"]])
        if not self.tables_only:
            inputs.update({f"notebooks/{n}": _sha(b) for n, b in self.notebooks.items()})
        return {"inputs": inputs, "code_sha256": code}


@dataclass
class Inspection:
    """A county loaded and validated in its task (and, with ``tables_only``, estimated)."""

    name: str
    problem: str | None
    rates_data: Any = None  # pandas DataFrame: the columns the province rates need
    frame_totals: Any = None  # pandas DataFrame: the frame's population columns
    files: dict[str, bytes] = field(default_factory=dict)  # tables-only outputs
    seconds: float = 0.0


@dataclass
class CountyOutput:
    """What a county's run returns: its folder's files as bytes, or its one-line error."""

    name: str
    files: dict[str, bytes]
    error: str | None
    seconds: float


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _materialize(job: CountyJob, folder: Path) -> Path:
    """Write the job's params, data and notebooks under ``folder``; return the params path."""
    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    for name, data in job.files.items():
        (inputs / name).write_bytes(data)
    params_path = inputs / "params.yaml"
    params_path.write_bytes(job.params_bytes())
    if job.notebooks:
        nb_dir = folder / "notebooks"
        nb_dir.mkdir()
        for name, data in job.notebooks.items():
            (nb_dir / name).write_bytes(data)
    return params_path


def inspect_county(job: CountyJob) -> Inspection:
    """Load and validate one county's files (a task). With ``tables_only`` also estimate.

    Returns the problems as one line (the data validation report's lines joined by ``; ``)
    instead of raising, so one bad county never stops the others.
    """
    from evalkit.assessment import inputs as assessment
    from evalkit.contract.errors import ProblemsError

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="evalkit-county-") as tmp:
        params_path = _materialize(job, Path(tmp))
        base = params_path.parent
        try:
            # As notebook 02: non-response adjusted and calibrated as the params say.
            inputs = assessment.load_inputs(job.values["data"], job.values["design"], base,
                                            job.values.get("calibration"),
                                            job.values.get("nonresponse"))
        except ProblemsError as exc:
            lines = [" ".join(line.split()) for line in str(exc).splitlines() if line.strip()]
            return Inspection(job.name, "; ".join(lines[:4]) + (
                f"; ... ({len(lines) - 4} more lines)" if len(lines) > 4 else ""),
                seconds=time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - any bad county is contained and named
            return Inspection(job.name, one_line(exc), seconds=time.perf_counter() - t0)
        files: dict[str, bytes] = {}
        if job.tables_only:
            try:
                files = _tables_only_files(job, inputs)
            except Exception as exc:  # noqa: BLE001
                return Inspection(job.name, one_line(exc), seconds=time.perf_counter() - t0)
    design = job.values["design"]
    keep = [c for c in (*RATE_COLUMNS, design.get("weights"), design.get("strata"),
                        design.get("fpc") if isinstance(design.get("fpc"), str) else None)
            if c]
    rates = inputs.survey[list(dict.fromkeys(keep))].copy()
    frame = inputs.frame[[c for c in inputs.frame.columns
                          if c.startswith(FRAME_COLUMNS_PREFIXES)]].copy()
    return Inspection(job.name, None, rates, frame, files, time.perf_counter() - t0)


def _tables_only_files(job: CountyJob, inputs: Any) -> dict[str, bytes]:
    """``tables/indicators.csv`` as notebook 02 writes it, and a manifest (the cache key)."""
    from evalkit.assessment import indicators
    from evalkit.assessment.summary import producer
    from evalkit.report.formatting import rounded

    v = job.values
    results = indicators.assess(inputs.design, inputs.frame, v["thresholds"],
                                method=v["ci_method"], level=v["level"])
    # Notebook 02's bytes: its table, neutralised as `evalkit run` neutralises every table.
    table = csv_text(rounded(indicators.indicator_table(results), 10)).encode()
    code = job.code_sha256
    if not code:
        from evalkit.run.provenance import code_sha256

        code = code_sha256()
    key = job.cache_key(code)
    manifest = {
        "run_name": job.name, "mode": "tables-only", "params": v,
        "inputs": {k: {"sha256": h} for k, h in key["inputs"].items()},
        "code_sha256": key["code_sha256"],
        # The entry format of `evalkit run`'s manifest: the bytes' hash and who made them.
        "tables": {f"{TABLES_DIR}/indicators.csv": {"sha256": _sha(table),
                                                    "producer": producer("indicators.csv")}},
    }
    return {
        f"{TABLES_DIR}/indicators.csv": table,
        "params.yaml": job.params_bytes(),
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(),
    }


@contextlib.contextmanager
def _task_folder(job: CountyJob) -> Any:
    """A private folder for the task, named by the county and a hash of its inputs.

    The notebooks show the folder of their params file (papermill injects it), so a fixed
    name makes the county's notebooks and HTML the same bytes on every worker and rerun.
    """
    digest = _sha(job.params_bytes() + b"".join(_sha(b).encode() for b in job.files.values()))
    folder = Path(tempfile.gettempdir()) / "evalkit-province" / f"{job.name}-{digest[:16]}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_county(job: CountyJob) -> CountyOutput:
    """Run one county's full assessment with :func:`evalkit.run.pipeline.run` (a task).

    The inputs are written to a private temporary folder of the worker; the finished run's
    files come back as bytes. Errors come back as one line naming the notebook and cell.
    """
    from evalkit.run import pipeline

    t0 = time.perf_counter()
    with _task_folder(job) as folder:
        params_path = _materialize(job, folder)
        try:
            result = pipeline.run(params_path, folder / "out", notebooks_dir=folder / "notebooks",
                                  workers=job.notebook_workers, progress=None,
                                  origins=job.origins, git=job.git)
        except Exception as exc:  # noqa: BLE001 - contained: the others go on
            message = one_line(exc).split("; partial run kept in")[0]
            return CountyOutput(job.name, {}, message, time.perf_counter() - t0)
        files = {p.relative_to(result.run_dir).as_posix(): p.read_bytes()
                 for p in sorted(result.run_dir.rglob("*")) if p.is_file()}
    return CountyOutput(job.name, files, None, time.perf_counter() - t0)


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
    """Whether ``county_dir`` holds a finished run made from the inputs in ``key``."""
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
    return f"{finished}/{counties(total)} ({done} done, {failed} failed), {elapsed:.0f} s{left}"


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
                 code: str, git: Any, statuses: dict[str, CountyStatus]
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
            files = {frame_name: county.frame.read_bytes(),
                     survey_name: county.survey.read_bytes()}
        except OSError as exc:
            statuses[county.name] = CountyStatus(county.name, STATUS_FAILED, one_line(exc))
            continue
        origins = {"params": str(spec.source), "data.frame": str(county.frame),
                   "data.survey": str(county.survey),
                   **{f"notebooks/{n}": str(nb_dir / n) for n in notebooks}}
        jobs[county.name] = CountyJob(county.name, values, files, notebooks, tables_only,
                                      code_sha256=code, origins=origins, git=git)
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
) -> ProvinceResult:
    """Run every county of the province file; rank; write the province folder.

    Returns the result (failed counties included); raises :class:`EvalkitError` only for a
    bad province file or an unreachable scheduler.
    """
    from evalkit.contract.paths import PACKAGE_ROOT
    from evalkit.run import provenance

    t0 = time.perf_counter()
    report = progress or (lambda _m: None)
    spec = load_province(params_path)
    if workers is not None and workers < 1:
        raise EvalkitError(f"workers: {workers} is out of range, expected at least 1")
    # pipeline.default_notebooks_dir(), without importing the notebook runner: a tables-only
    # run needs no notebook, and nbformat's import costs seconds.
    nb_dir = Path(notebooks_dir) if notebooks_dir else PACKAGE_ROOT.parents[1] / "notebooks"
    notebooks: dict[str, bytes] = {}
    if not tables_only:
        from evalkit.run import pipeline

        notebooks = {s.filename: (nb_dir / s.filename).read_bytes() for s in pipeline.PLAN}
    out = Path(out_dir).expanduser().resolve()
    run_dir = out / spec.run_name
    counties_dir = run_dir / COUNTIES_SUBDIR
    code = provenance.code_sha256()
    git = None if tables_only else provenance.git_state(nb_dir)

    statuses: dict[str, CountyStatus] = {}
    jobs = _county_jobs(spec, notebooks, nb_dir, tables_only, code, git, statuses)
    for name in (c.name for c in spec.counties):
        status = statuses.get(name)
        if status is not None:
            report(f"{name}: FAILED: {status.error}")

    cached = {name for name, job in jobs.items()
              if _cached(counties_dir / name, job.cache_key(code))}
    report(f"province '{spec.name}': {counties(len(spec.counties))}, {len(cached)} unchanged "
           f"since the last run, {len(jobs) - len(cached)} to run"
           + (" (tables only)" if tables_only else ""))

    client, cluster = start_client(workers, scheduler)
    release = Release(client, cluster)
    try:
        n_workers = len(client.scheduler_info(n_workers=-1).get("workers", {}))
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
            spec, run_dir, ordered, inspections, tables_only=tables_only, notebook=notebook,
            notebooks_dir=nb_dir, progress=report,
            start=start_on_cluster(client, report, release.start))
    finally:
        release.wait()

    seconds = time.perf_counter() - t0
    bad = [s for s in ordered if s.status == STATUS_FAILED]
    report(f"province '{spec.name}' written to {run_dir} ({seconds:.1f} s; "
           f"{len(ordered) - len(bad)} of {counties(len(ordered))} ok, {len(bad)} could not be run"
           + (": " + ", ".join(s.name for s in bad) if bad else "") + ")")
    return ProvinceResult(run_dir, ordered, seconds, ranking)


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
