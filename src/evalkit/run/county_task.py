"""One county of a province as a Dask task: everything it needs travels as bytes.

:func:`inspect_county` loads and validates a county (and, tables only, estimates it);
:func:`run_county` runs its full assessment with :func:`evalkit.run.pipeline.run`. Both
stage their inputs in a private temporary folder (:func:`evalkit.run.staging.task_folder`)
removed when the task ends, and return what they made as bytes, so workers need no shared
filesystem. The survey arrives without its identifying columns (the client removed them).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalkit.contract.errors import one_line
from evalkit.contract.spreadsheet import csv_text
from evalkit.run.staging import task_folder

TABLES_DIR = "tables"
# Columns of the survey that the province-wide rates need (plus the design's own columns).
RATE_COLUMNS = ("village", "household_type", "household_size", "people_wrongly_exited",
                "people_missed", "recognizes", "exited", "nonpoor")
# The frame's population counts: people (the incidence) and households (calibration).
FRAME_COLUMNS_PREFIXES = ("people", "hh_")


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
    # SHA-256 of the files as the client read them, by manifest key: the survey is shipped
    # without its identifying columns, but the cache and the manifest name the user's file.
    input_sha256: dict[str, str] = field(default_factory=dict)
    staging_root: str | None = None  # the client's private folder (staging.staging_root)

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
        inputs = {"params": sha256_bytes(self.params_bytes())}
        for key in ("data.frame", "data.survey"):
            inputs[key] = self.input_sha256.get(key) or sha256_bytes(
                self.files[self.values["data"][key.split(".")[1]]])
        if not self.tables_only:
            inputs.update({f"notebooks/{n}": sha256_bytes(b) for n, b in self.notebooks.items()})
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


def sha256_bytes(data: bytes) -> str:
    """The SHA-256 of ``data``, in hex."""
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
    with task_folder(job.staging_root) as tmp:
        params_path = _materialize(job, tmp)
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
    # Every column the design block names (psu and fpc may list one per stage), when the
    # survey has it (a survey without probability columns falls back to villages alone).
    named = [design.get("weights"), design.get("strata")]
    for key in ("psu", "fpc"):
        value = design.get(key)
        named.extend(value if isinstance(value, list) else [value])
    keep = [c for c in (*RATE_COLUMNS, *named)
            if isinstance(c, str) and c in inputs.survey.columns]
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
        "tables": {f"{TABLES_DIR}/indicators.csv": {"sha256": sha256_bytes(table),
                                                    "producer": producer("indicators.csv")}},
    }
    return {
        f"{TABLES_DIR}/indicators.csv": table,
        "params.yaml": job.params_bytes(),
        "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(),
    }


def run_county(job: CountyJob) -> CountyOutput:
    """Run one county's full assessment with :func:`evalkit.run.pipeline.run` (a task).

    The inputs are written to a private temporary folder (:func:`staging.task_folder`),
    removed when the task ends; the finished run's files come back as bytes. Errors come
    back as one line naming the notebook and cell. The notebooks see their inputs' folder
    relative to their own, so its random name never reaches a report.
    """
    from evalkit.run import pipeline

    t0 = time.perf_counter()
    with task_folder(job.staging_root) as folder:
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
    if job.input_sha256:  # the manifest names the user's files, not the shipped copies
        manifest = json.loads(files["manifest.json"])
        for key, digest in job.input_sha256.items():
            manifest["inputs"][key]["sha256"] = digest
        files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False)
                                  + "\n").encode()
    return CountyOutput(job.name, files, None, time.perf_counter() - t0)
