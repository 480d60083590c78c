"""Run the assessment: params file in, one folder of executed notebooks and reports out.

:func:`run` validates the params file, executes the independent notebooks (01-03) in
parallel with papermill, then the summary notebook (04), renders each to offline HTML and
writes ``index.html`` and ``manifest.json``. The run is built in a hidden folder beside the
target (``outputs/.<run>.partial-XXXX``) and moved into ``outputs/<run>/`` only when every
step succeeded, so a failed run never damages the last good one.

Speed: a notebook's cost is mostly starting a kernel and importing the scientific stack.
Each worker starts one kernel, imports the stack once, and runs its notebooks in it in turn,
the kernel reset to its fresh state between two (:func:`evalkit.run.kernel.restore_fresh_state`;
the outputs are the same bytes as with a kernel per notebook, tested). A worker whose
notebook failed starts a new kernel for the next. The summary notebook runs in the first
worker that is free once 01-03 are taken, and waits for them only before its first cell.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from evalkit.contract.errors import EvalkitError, printable
from evalkit.contract.paths import PACKAGE_ROOT
from evalkit.contract.spreadsheet import neutralise_csv_files
from evalkit.report.render import (
    IndexEntry,
    external_references,
    notebook_title,
    output_title,
    render_notebook,
    write_index,
)
from evalkit.run.kernel import (
    ENGINE_NAME,
    KERNEL_ENV_DEFAULTS,
    KERNEL_LOG_DIR,
    KERNEL_NAME,
    KERNEL_QUIET,
    KERNEL_START_ATTEMPTS,
    RESET_CODE,
    AbortedError,
    kernel_log_path,
    kernel_log_reason,
    merge_split_streams,
    new_kernel_manager,
    prepare_kernel_environment,
    register_engine,
    run_restarting,
    shutdown_kernel,
    warm_up_code,
)
from evalkit.run.params import IDENTITY_KEYS, Params, load_params, notebook_parameters
from evalkit.run.prepare import (
    PREPARED_DIR,
    PREPARED_PARAMETER,
    declares_parameter,
    prepare_inputs,
)
from evalkit.run.provenance import code_sha256, git_state, package_versions, sha256_file
from evalkit.run.publish import output_folder, publish_dir

TABLES_DIR = "tables"
NOTEBOOK_SUBDIR = "notebooks"


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook of the assessment.

    ``policy`` reports hide code; ``final`` notebooks run after all the others and may read
    the tables they wrote.
    """

    name: str
    policy: bool = False
    final: bool = False

    @property
    def filename(self) -> str:
        return f"{self.name}.ipynb"


PLAN: tuple[NotebookSpec, ...] = (
    NotebookSpec("01_sampling"),
    NotebookSpec("02_indicators"),
    NotebookSpec("03_satisfaction"),
    NotebookSpec("04_summary", policy=True, final=True),
)
#: Runs beside 01-03 when the params have a ``followup`` block (the re-check round).
FOLLOWUP_NOTEBOOK = NotebookSpec("05_followup")
#: Every committed notebook of the assessment (what ``make refresh`` re-executes, with
#: :data:`START_HERE_NOTEBOOK` and the province notebook).
ALL_NOTEBOOKS: tuple[NotebookSpec, ...] = (*PLAN[:-1], FOLLOWUP_NOTEBOOK, PLAN[-1])
#: The engine on one's own survey: a tutorial, refreshed and checked by nbval like the others
#: but no part of a run (``plan_for`` never returns it).
START_HERE_NOTEBOOK = NotebookSpec("00_start_here")


def plan_for(params: Params) -> tuple[NotebookSpec, ...]:
    """The notebooks a run executes: :data:`PLAN`, plus 05 when ``followup`` is given."""
    return ALL_NOTEBOOKS if params.values.get("followup") else PLAN


@dataclass
class NotebookTiming:
    """Seconds from the start of the run: kernel start, first cell, last cell, HTML done."""

    name: str
    started: float = 0.0
    cells_started: float = 0.0
    finished: float = 0.0
    rendered: float = 0.0

    @property
    def execute_seconds(self) -> float:
        return self.finished - self.started

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": round(self.started, 3),
            "cells_started": round(self.cells_started, 3),
            "finished": round(self.finished, 3),
            "rendered": round(self.rendered, 3),
            "execute_seconds": round(self.execute_seconds, 3),
            "render_seconds": round(self.rendered - self.finished, 3),
        }


@dataclass
class RunResult:
    """A finished run: its folder, manifest and timings."""

    run_dir: Path
    manifest: dict[str, Any]
    timings: list[NotebookTiming] = field(default_factory=list)
    seconds: float = 0.0


class NotebookFailedError(EvalkitError):
    """A notebook raised; the message names notebook, cell and exception in one line."""

    def __init__(self, message: str, *, notebook: str, partial_dir: Path | None = None):
        super().__init__(message)
        self.notebook = notebook
        self.partial_dir = partial_dir


# --- helpers -------------------------------------------------------------------------------


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree evalkit is installed from (editable install;
    :func:`evalkit.run.province.run_province` computes the same path without importing this
    module)."""
    return PACKAGE_ROOT.parents[1] / "notebooks"


def parameters_cell_index(nb: nbformat.NotebookNode, path: Path) -> int:
    """The index of the one cell tagged ``parameters``; :class:`EvalkitError` naming
    ``path`` when there is none or more than one."""
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get(
        "tags", [])]
    if len(tagged) != 1:
        raise EvalkitError(
            f"{path}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
        )
    return tagged[0]


def first_line(source: str) -> str:
    """A cell's first non-blank line, cut to 60 characters (``first_line("\nx = 1")`` is
    ``"x = 1"``): how an error message names the cell."""
    for line in source.splitlines():
        if line.strip():
            text = line.strip()
            return text if len(text) <= 60 else text[:57] + "..."
    return ""


def error_line(ename: str, evalue: str) -> str:
    """``"ValueError: bad"``: an exception's name and message on one line of at most 200
    characters."""
    evalue = " ".join(str(evalue).split())
    if len(evalue) > 200:
        evalue = evalue[:197] + "..."
    return f"{ename}: {evalue}" if evalue else ename


def _stable_cell_ids(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give papermill's injected cell a fixed id (it draws a random one), so that two runs
    of the same params produce byte-identical reports."""
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell["id"] = "injected-parameters"
    return nb


def stderr_progress(message: str) -> None:
    """The command line's progress reporter: ``evalkit: <message>`` on stderr."""
    print(f"evalkit: {printable(message)}", file=sys.stderr, flush=True)


# --- the run -------------------------------------------------------------------------------


class _Run:
    inputs_are_copies = False  # a province county's: the notebooks see their folder relatively

    def __init__(
        self, params: Params, partial: Path, notebooks_dir: Path, plan: tuple[NotebookSpec, ...],
        workers: int, progress: Callable[[str], None], kernel_name: str, start_timeout: int,
        cell_timeout: int | None, prepared: str | None = None,
        takes_prepared: frozenset[str] = frozenset(), reuse_kernels: bool = True,
    ) -> None:
        self.params = params
        self.reuse_kernels = reuse_kernels
        self.worker = threading.local()  # this worker thread's kernel: km, log, used
        self.prepared = prepared
        self.takes_prepared = takes_prepared
        self.partial = partial
        self.notebooks_dir = notebooks_dir
        self.plan = plan
        self.workers = workers
        self.kernel_name = kernel_name
        self.start_timeout = start_timeout
        self.cell_timeout = cell_timeout
        self._progress = progress
        self._lock = threading.Lock()
        self.t0 = time.perf_counter()
        self.timings: dict[str, NotebookTiming] = {s.name: NotebookTiming(s.name) for s in plan}
        self.failures: list[tuple[int, NotebookFailedError]] = []
        self.done = 0
        self.aborted = False
        self.kernels: dict[str, Any] = {}  # kernel managers of notebooks running cells
        self.queue: list[tuple[int, NotebookSpec]] = [
            *[(i, s) for i, s in enumerate(plan) if not s.final],
            *[(i, s) for i, s in enumerate(plan) if s.final],
        ]
        self.executed: set[str] = set()
        self.titles: dict[str, str | None] = {}  # read from each executed notebook once
        # Set once every independent notebook has finished executing (or failed): the final
        # notebooks may then read their tables while their HTML is still being rendered.
        self.independent_done = threading.Event()
        self.n_independent = sum(not s.final for s in plan)
        if self.n_independent == 0:
            self.independent_done.set()

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def progress(self, message: str) -> None:
        with self._lock:
            self._progress(message)

    def _executed(self, spec: NotebookSpec) -> None:
        if spec.final:
            return
        with self._lock:
            self.executed.add(spec.name)
            if len(self.executed) == self.n_independent:
                self.independent_done.set()

    def execute(self, order: int, spec: NotebookSpec, wait_for: threading.Event | None) -> None:
        """Execute and render one notebook; record a failure instead of raising. After any
        failure (rendering included) this worker's next notebook gets a new kernel."""
        try:
            self._execute(spec, wait_for)
        except AbortedError:
            self.discard_kernel()
            return
        except NotebookFailedError as exc:
            self.discard_kernel()
            with self._lock:
                self.failures.append((order, exc))
            self._executed(spec)
            self.progress(f"{spec.name}: FAILED")
            return
        except Exception as exc:  # a kernel that died, a timeout, a rendering error
            self.discard_kernel()
            message = f"notebook {spec.filename} failed: {error_line(type(exc).__name__, exc)}"
            with self._lock:
                self.failures.append((order, NotebookFailedError(message, notebook=spec.filename)))
            self._executed(spec)
            self.progress(f"{spec.name}: FAILED")
            return
        with self._lock:
            self.done += 1
            done = self.done
        timing = self.timings[spec.name]
        self.progress(
            f"[{done}/{len(self.plan)}] {spec.name} done "
            f"({timing.finished - timing.cells_started:.1f} s in cells, "
            f"{timing.execute_seconds:.1f} s with kernel start, "
            f"{timing.rendered - timing.finished:.1f} s to HTML)"
        )

    def _parameters(self, spec: NotebookSpec) -> dict[str, Any]:
        """What papermill injects; the report's identity goes to the policy page only."""
        values = notebook_parameters(self.params, TABLES_DIR,
                                     self.partial if self.inputs_are_copies else None)
        if not spec.policy:
            for key in IDENTITY_KEYS:
                values.pop(key, None)
        if self.prepared is not None and spec.name in self.takes_prepared:
            values[PREPARED_PARAMETER] = self.prepared
        return values

    def _kernel(self, name: str) -> tuple[Any, Path, bool]:
        """This worker's kernel manager, its log, and whether a notebook already ran in it;
        a new one (its kernel started by the engine, its log named after ``name``) when the
        worker has none."""
        if getattr(self.worker, "km", None) is None:
            self.worker.km = new_kernel_manager(self.kernel_name)
            self.worker.log = kernel_log_path(self.partial, name)
            self.worker.used = False
        return self.worker.km, self.worker.log, self.worker.used

    def discard_kernel(self, *, now: bool = True) -> None:
        """Stop this worker's kernel: after a failure (the next notebook gets a fresh one),
        when the worker has no more notebooks, or after each notebook without reuse."""
        km = getattr(self.worker, "km", None)
        self.worker.km = None
        if km is not None:
            shutdown_kernel(km, now=now)

    def _execute(self, spec: NotebookSpec, wait_for: threading.Event | None) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        source = self.notebooks_dir / spec.filename
        nb = nbformat.read(source, as_version=4)
        param_index = parameters_cell_index(nb, source)
        executed = self.partial / NOTEBOOK_SUBDIR / spec.filename
        timing = self.timings[spec.name]
        timing.started = self.now()
        # Every kernel imports the stack before its first notebook and records its fresh
        # state, which a later notebook in the same kernel starts from.
        extra_arguments: list[str] = [*KERNEL_QUIET,
                                      f"--IPKernelApp.exec_lines={warm_up_code(snapshot=True)}"]
        log = kernel_log_path(self.partial, spec.name)

        def before_cells(client: Any) -> None:
            if wait_for is not None:
                wait_for.wait()
            with self._lock:
                if self.aborted or (wait_for is not None and self.failures):
                    raise AbortedError
                self.kernels[spec.name] = client.km
            if self.worker.used:
                msg_id = client.kc.execute(RESET_CODE, silent=True, store_history=False)
                reply = client.wait_for_reply(msg_id)
                if reply is None or reply["content"].get("status") != "ok":
                    content = reply["content"] if reply else {}
                    raise RuntimeError("the kernel could not be reset between notebooks: "
                                       + error_line(content.get("ename", "no reply"),
                                                    content.get("evalue", "")))
            timing.cells_started = self.now()
            self.progress(f"{spec.name}: running")

        def attempt() -> Any:
            nonlocal log
            km, log, used = self._kernel(spec.name)
            try:
                return papermill.execute_notebook(
                    source, executed, parameters=self._parameters(spec),
                    engine_name=ENGINE_NAME, kernel_name=self.kernel_name,
                    progress_bar=False, request_save_on_cell_execute=False,
                    start_timeout=self.start_timeout, execution_timeout=self.cell_timeout,
                    extra_arguments=extra_arguments, before_cells=before_cells,
                    kernel_cwd=str(self.partial), kernel_log=None if used else str(log),
                    km=km,
                )
            except BaseException:
                # Whatever failed (a cell, the kernel, an interrupt), the next notebook of
                # this worker, or the next attempt, gets a new kernel.
                self.discard_kernel()
                raise

        try:
            run_restarting(
                attempt,
                may_restart=lambda: not timing.cells_started and not self.aborted,
                restarting=lambda: self.progress(f"{spec.name}: kernel did not start; "
                                                 "starting it again"))
        except RuntimeError as exc:
            if "Kernel died before replying" not in str(exc):
                raise
            # One line, whatever the kernel printed (its log is in the partial folder).
            reason = kernel_log_reason(log) or error_line(type(exc).__name__, exc)
            raise NotebookFailedError(
                f"notebook {spec.filename} failed: its kernel did not start "
                f"({KERNEL_START_ATTEMPTS} attempts; {reason})",
                notebook=spec.filename) from None
        except PapermillExecutionError as exc:
            if self.aborted:
                raise AbortedError from None
            # papermill inserted its parameters cell right after ours: map back to the
            # index in the notebook the user edits.
            index = exc.cell_index - 1 if exc.cell_index > param_index else exc.cell_index
            where = (
                "the injected parameters cell" if exc.cell_index == param_index + 1
                else f"cell {index} ({first_line(exc.source)!r})"
            )
            raise NotebookFailedError(
                f"notebook {spec.filename} failed in {where}: "
                f"{error_line(exc.ename, exc.evalue)}",
                notebook=spec.filename,
            ) from None
        finally:
            with self._lock:
                self.kernels.pop(spec.name, None)
        self.worker.used = True
        if not self.reuse_kernels:
            self.discard_kernel(now=False)
        timing.finished = self.now()
        self._executed(spec)
        result = merge_split_streams(_stable_cell_ids(nbformat.read(executed, as_version=4)))
        nbformat.write(result, executed)
        # The policy page's own heading names it (tab title and index link alike).
        self.titles[spec.name] = ((output_title(result) if spec.policy else None)
                                  or notebook_title(result))
        html_path = self.partial / f"{spec.name}.html"
        render_notebook(result, html_path, hide_code=spec.policy, lang=self.params.values["lang"],
                        title=self.titles[spec.name])
        fetches = external_references(html_path.read_text(encoding="utf-8"))
        if fetches:
            raise NotebookFailedError(
                f"report {html_path.name} would fetch {fetches[0]} when opened; embed the "
                "resource in the notebook instead (reports must open offline)",
                notebook=spec.filename,
            )
        timing.rendered = self.now()

    def _next(self) -> tuple[int, NotebookSpec] | None:
        with self._lock:
            if self.aborted or not self.queue:
                return None
            return self.queue.pop(0)

    def work(self) -> None:
        """One worker: notebooks from the queue (01-03, then the final ones) in its own
        kernel, until none is left; then its kernel is stopped."""
        try:
            while (task := self._next()) is not None:
                order, spec = task
                self.execute(order, spec, self.independent_done if spec.final else None)
        finally:
            # Idle, its notebooks' outputs already received: killed at once (a graceful
            # shutdown waits about 0.5 s for the kernel to exit, at the end of the run).
            self.discard_kernel(now=True)

    def run_all(self) -> None:
        independent = [(i, s) for i, s in enumerate(self.plan) if not s.final]
        finals = [(i, s) for i, s in enumerate(self.plan) if s.final]
        self.progress(
            f"running {len(self.plan)} notebooks ({len(independent)} in parallel on "
            f"{self.workers} workers, then {', '.join(s.name for _, s in finals) or 'none'})"
        )
        # Each worker keeps one kernel; the worker that takes a final notebook holds it (its
        # kernel warm) until the independent notebooks are done.
        pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            futures = [pool.submit(self.work) for _ in range(self.workers)]
            for future in futures:
                future.result()
        except BaseException:
            self.abort()
            raise
        finally:
            self.independent_done.set()
            pool.shutdown(wait=True, cancel_futures=True)

    def abort(self, patience: float = 5.0) -> None:
        """Stop quickly (Ctrl-C): waiting notebooks never start, running cells are interrupted.

        A kernel ignores an interrupt that lands between two cells, so the interrupt is
        repeated; kernels still busy after ``patience`` seconds are killed (their notebooks
        then fail with a dead kernel, which ends their threads).
        """
        with self._lock:
            self.aborted = True
        self.independent_done.set()
        deadline = time.monotonic() + patience
        while True:
            with self._lock:
                kernels = list(self.kernels.values())
            if not kernels:
                return
            stop = signal.SIGINT if time.monotonic() < deadline else signal.SIGKILL
            for km in kernels:
                with contextlib.suppress(Exception):
                    os.kill(km.provisioner.pid, stop)
            if stop == signal.SIGKILL:
                return
            time.sleep(0.5)


def run(
    params_path: Path | str | Params,
    out_dir: Path | str = "outputs",
    *,
    notebooks_dir: Path | str | None = None,
    plan: Iterable[NotebookSpec] | None = None,
    workers: int | None = None,
    progress: Callable[[str], None] | None = stderr_progress,
    kernel_name: str = KERNEL_NAME,
    start_timeout: int = 120,
    cell_timeout: int | None = None,
    origins: Mapping[str, str] | None = None,
    git: tuple[str, bool | None] | None = None,
    loaded_inputs: Any = None,
    reuse_kernels: bool = True,
) -> RunResult:
    """Execute the assessment described by ``params_path`` into ``out_dir/<run_name>/``.

    ``origins`` and ``git`` are for a run made elsewhere than its inputs live (a province's
    county on a Dask worker, from copies in a temporary folder): the manifest then records
    the inputs' original paths (by manifest key: ``params``, ``data.frame``,
    ``notebooks/<file>``) and the git state of the code they came with.

    The inputs are read and prepared once before any kernel starts, or ``loaded_inputs``
    (what ``load_inputs`` returned for these params) is used: :mod:`evalkit.run.prepare`.

    ``reuse_kernels=False`` gives every notebook a kernel of its own (the reference that
    the reused kernels' outputs are compared with in the tests; slower).

    Raises :class:`EvalkitError` for a bad params file or bad data (before anything runs) and
    :class:`NotebookFailedError` when a notebook raises; then the partial folder is kept for
    debugging and any previous run of the same name is left untouched.
    """
    started_at = time.time()
    t0 = time.perf_counter()
    params = params_path if isinstance(params_path, Params) else load_params(params_path)
    plan = plan_for(params) if plan is None else tuple(plan)
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    nb_dir = nb_dir.resolve()
    takes_prepared = set()
    for spec in plan:
        path = nb_dir / spec.filename
        if not path.is_file():
            raise EvalkitError(f"{path}: notebook not found")
        nb = nbformat.read(path, as_version=4)
        parameters_cell_index(nb, path)
        if declares_parameter(nb, PREPARED_PARAMETER):
            takes_prepared.add(spec.name)
    n_independent = sum(not s.final for s in plan)
    if workers is None:
        # One kernel per core at most: more would only take turns (and the progress line
        # would promise a parallelism the machine does not have).
        workers = min(n_independent, os.cpu_count() or 1)
    if workers < 1:
        raise EvalkitError(f"workers: {workers} is out of range, expected at least 1")
    workers = max(1, min(workers, n_independent or 1))
    report = progress or (lambda _message: None)

    inputs = {"params": params.source, **params.data_paths}
    inputs.update({f"notebooks/{s.filename}": nb_dir / s.filename for s in plan})
    origins = origins or {}
    input_hashes = {
        key: {"path": origins.get(key, str(path)), "sha256": sha256_file(path)}
        for key, path in inputs.items()
    }

    out, partial = output_folder(out_dir, params.run_name)
    target = out / params.run_name
    # mkdtemp makes a private folder; a published run gets the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    partial.chmod(0o777 & ~umask)
    (partial / NOTEBOOK_SUBDIR).mkdir()
    (partial / TABLES_DIR).mkdir()
    shutil.copyfile(params.source, partial / "params.yaml")
    prepared = None
    if takes_prepared:
        prepare_inputs(params, partial / PREPARED_DIR, loaded_inputs)
        prepared = PREPARED_DIR  # the kernels start in the partial folder

    prepare_kernel_environment()
    register_engine()
    state = _Run(
        params, partial, nb_dir, plan, workers, report, kernel_name, start_timeout, cell_timeout,
        prepared, frozenset(takes_prepared), reuse_kernels,
    )
    state.inputs_are_copies = bool(origins)
    try:
        state.run_all()
    except BaseException:
        report(f"interrupted; partial run kept in {partial}")
        raise
    if state.failures:
        _, first = min(state.failures, key=lambda item: item[0])
        others = len(state.failures) - 1
        also = f" ({others} more notebook{'s' if others > 1 else ''} failed)" if others else ""
        keep = f"partial run kept in {partial}"
        if target.exists():
            keep += f"; last good run {target} untouched"
        raise NotebookFailedError(
            f"{first}{also}; {keep}", notebook=first.notebook, partial_dir=partial
        )

    # The survey's rows stay out of the published run (a failed one keeps them to debug).
    shutil.rmtree(partial / PREPARED_DIR, ignore_errors=True)
    shutil.rmtree(partial / KERNEL_LOG_DIR, ignore_errors=True)
    # A village named "=..." must never be a live formula in a spreadsheet: escaped here.
    tables = neutralise_csv_files(partial, TABLES_DIR)
    # Lazy: summary imports pandas, which `evalkit run --check` never loads.
    from evalkit.assessment.summary import producer

    commit, dirty = git or git_state(nb_dir)
    manifest: dict[str, Any] = {
        "run_name": params.run_name,
        "params_file": origins.get("params", str(params.source)),
        "params": params.values,
        "inputs": input_hashes,
        "git": {"commit": commit, "dirty": dirty},
        "code_sha256": code_sha256(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "packages": package_versions(),
        "seeds": {"seed": params.values["seed"]},
        "kernel_environment": {k: os.environ.get(k, "") for k in KERNEL_ENV_DEFAULTS},
        "workers": workers,
        "notebooks": {
            spec.name: {
                "executed": f"{NOTEBOOK_SUBDIR}/{spec.filename}",
                "html": f"{spec.name}.html",
                "policy_report": spec.policy,
                **state.timings[spec.name].as_dict(),
            }
            for spec in plan
        },
        # Each table's checksum and the function that produced it (summary.SOURCES).
        "tables": {t: {"sha256": sha256_file(partial / t), "producer": producer(t)}
                   for t in tables},
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started_at)),
    }
    entries = []
    for spec in plan:
        entries.append(IndexEntry(
            f"{spec.name}.html", state.titles.get(spec.name) or spec.name, spec.policy
        ))
    write_index(
        partial / "index.html", run_name=params.run_name, reports=entries, tables=tables,
        lang=params.values["lang"], commit=commit, params_href="params.yaml",
    )
    seconds = time.perf_counter() - t0
    manifest["seconds"] = round(seconds, 3)
    (partial / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    publish_dir(partial, target)
    report(f"run '{params.run_name}' written to {target} ({seconds:.1f} s)")
    timings = [state.timings[s.name] for s in plan]
    return RunResult(run_dir=target, manifest=manifest, timings=timings, seconds=seconds)
