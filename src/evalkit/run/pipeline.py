"""Run the assessment: params file in, one folder of executed notebooks and reports out.

:func:`run` validates the params file, executes the independent notebooks (01-03) in
parallel with papermill, then the summary notebook (04), renders each to offline HTML and
writes ``index.html`` and ``manifest.json``. The run is built in a hidden folder beside the
target (``outputs/.<run>.partial-XXXX``) and moved into ``outputs/<run>/`` only when every
step succeeded, so a failed run never damages the last good one.

Speed: a notebook's cost is mostly starting a kernel and importing the scientific stack.
The summary notebook's kernel is started (and the stack imported) while 01-03 run; it
waits for them only before its first cell.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import PACKAGE_ROOT
from evalkit.report.render import (
    IndexEntry,
    external_references,
    notebook_title,
    output_title,
    render_notebook,
    write_index,
)
from evalkit.run.params import IDENTITY_KEYS, Params, load_params, notebook_parameters

KERNEL_NAME = "python3"
TABLES_DIR = "tables"
NOTEBOOK_SUBDIR = "notebooks"

# Imported in a waiting kernel before its first cell, to overlap the import cost with the
# notebooks it waits for. Only sys.modules is touched: no name enters the notebook.
WARM_MODULES: tuple[str, ...] = (
    "numpy", "pandas", "scipy.stats", "statsmodels.api", "matplotlib.pyplot", "evalkit",
)

# Single-threaded BLAS: identical floating-point results whatever the core count, and no
# oversubscription when several kernels share two cores. PYTHONHASHSEED fixes set order.
KERNEL_ENV_DEFAULTS: dict[str, str] = {
    "PYTHONHASHSEED": "0",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


# The kernel's own log (a warning about its local TCP transport at start, a benign
# "KeyboardInterrupt caught" when jupyter_client interrupts it before shutdown) would mix
# with the progress lines. Errors in cells are reported by the runner, not by this log.
KERNEL_QUIET: tuple[str, ...] = ("--IPKernelApp.log_level=CRITICAL",)


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
#: Every committed notebook (what ``make refresh`` re-executes).
ALL_NOTEBOOKS: tuple[NotebookSpec, ...] = (*PLAN[:-1], FOLLOWUP_NOTEBOOK, PLAN[-1])


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


# --- kernel environment --------------------------------------------------------------------

_ENV_LOCK = threading.Lock()


def prepare_kernel_environment() -> None:
    """Make ``python3`` kernels start in this interpreter's environment.

    ipykernel installs a ``python3`` kernelspec into ``sys.prefix/share/jupyter`` whose
    command is ``python``, which jupyter_client replaces by ``sys.executable``. Putting that
    directory first in JUPYTER_PATH stops a user-level kernelspec (another Python, without
    evalkit) from shadowing it. Kernels inherit this process's environment, so the
    reproducibility settings of :data:`KERNEL_ENV_DEFAULTS` are set here (unless the user
    set them).
    """
    with _ENV_LOCK:
        own = str(Path(sys.prefix) / "share" / "jupyter")
        current = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
        if not current or current[0] != own:
            os.environ["JUPYTER_PATH"] = os.pathsep.join([own, *[p for p in current if p != own]])
        for key, value in KERNEL_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)


def _warm_up_code() -> str:
    """Kernel start-up code that imports :data:`WARM_MODULES` and leaves no name behind."""
    return (
        "def _evalkit_warm_up():\n"
        "    import importlib\n"
        f"    for name in {WARM_MODULES!r}:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except Exception:\n"
        "            pass\n"
        "_evalkit_warm_up()\n"
        "del _evalkit_warm_up\n"
    )


# --- papermill engine ---------------------------------------------------------------------

_ENGINE_NAME = "evalkit"
_engine_registered = False


class _AbortedError(Exception):
    """Raised in a waiting kernel when a notebook it depends on failed."""


def _register_engine() -> None:
    """Register a papermill engine that can hold a started kernel before its first cell."""
    global _engine_registered
    if _engine_registered:
        return
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class _Client(PapermillNotebookClient):
        before_cells: Callable[[Any], None] | None = None

        def papermill_execute_cells(self) -> None:
            if self.before_cells is not None:
                self.before_cells(self)
            super().papermill_execute_cells()

    class _Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls, nb_man: Any, kernel_name: str, log_output: bool = False,
            stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
            execution_timeout: int | None = None, **kwargs: Any,
        ) -> Any:
            before_cells = kwargs.pop("before_cells", None)
            kernel_cwd = kwargs.pop("kernel_cwd", None)
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs,
                timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
            )
            client = _Client(nb_man, **final_kwargs)
            client.before_cells = before_cells
            # cwd goes to the kernel only: papermill's own cwd= would chdir this whole
            # process, which is shared by the notebooks running in parallel threads.
            return client.execute(cwd=kernel_cwd)

    papermill_engines.register(_ENGINE_NAME, _Engine)
    _engine_registered = True


# --- helpers -------------------------------------------------------------------------------


def default_notebooks_dir() -> Path:
    """``notebooks/`` of the source tree evalkit is installed from (editable install)."""
    return PACKAGE_ROOT.parents[1] / "notebooks"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_sha256(package_dir: Path | None = None) -> str:
    """One SHA-256 over evalkit's installed files (paths and contents), __pycache__ aside.

    With the git commit this pins the code even when the work tree has uncommitted edits.
    """
    root = package_dir or PACKAGE_ROOT
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def git_state(directory: Path) -> tuple[str, bool | None]:
    """(commit, has uncommitted changes) of the git work tree holding ``directory``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
            timeout=20, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return (commit or "unknown"), bool(status.strip())


def package_versions() -> dict[str, str]:
    """Versions of evalkit and of every package it depends on."""
    names = ["evalkit"]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for req in importlib.metadata.requires("evalkit") or []:
            if "extra ==" in req:
                continue
            name = req.split(";")[0].strip()
            for sep in ("==", ">=", "<=", "~=", "!=", "<", ">", "[", " "):
                name = name.split(sep)[0]
            names.append(name.strip())
    for extra in ("ipykernel", "jupyter_client", "nbclient", "nbformat", "nbconvert", "nbval"):
        if extra not in names:
            names.append(extra)
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _parameters_cell_index(nb: nbformat.NotebookNode, path: Path) -> int:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get(
        "tags", [])]
    if len(tagged) != 1:
        raise EvalkitError(
            f"{path}: expected exactly one cell tagged 'parameters', found {len(tagged)}"
        )
    return tagged[0]


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip():
            text = line.strip()
            return text if len(text) <= 60 else text[:57] + "..."
    return ""


def _error_line(ename: str, evalue: str) -> str:
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


@contextlib.contextmanager
def _run_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder while a run is published.

    Two runs of the same name that finish together would otherwise both move the old
    folder aside and race to put theirs in place; with the lock the later one simply
    replaces the earlier one. The lock is taken on the folder itself (flock works on a
    directory's descriptor), so no lock file is left behind.
    """
    import fcntl

    descriptor = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def _replace_dir(partial: Path, target: Path) -> None:
    """Put ``partial`` at ``target``: old aside, new in, old deleted (renames are atomic).

    Call it under :func:`_run_lock`. A ``target`` that is a symbolic link is replaced as a
    link: the link is removed, the folder it pointed to is left as it was.
    """
    old: Path | None = None
    if target.is_symlink() or target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
    try:
        os.replace(partial, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)


def publish_dir(partial: Path, target: Path) -> None:
    """Put the finished folder ``partial`` at ``target`` in one step, under the output
    folder's lock (:func:`_run_lock`), replacing any previous run there. Used for a run and
    for each county of a province."""
    with _run_lock(target.parent):
        _replace_dir(partial, target)


def _output_folder(out_dir: Path | str, run_name: str) -> tuple[Path, Path]:
    """The resolved output folder and a new private partial folder in it.

    A folder that cannot be made or written (read-only filesystem, a file in the way) is
    one line naming it, before any kernel starts.
    """
    out = Path(out_dir).expanduser().resolve()
    try:
        if out.exists() and not out.is_dir():
            raise EvalkitError(f"--out {out}: is a file, expected a folder to write runs into")
        out.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{run_name}.partial-", dir=out))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EvalkitError(f"--out {out}: cannot write the run there ({reason}); choose a "
                           "writable folder with --out DIR") from None
    return out, partial


def stderr_progress(message: str) -> None:
    """The command line's progress reporter: ``evalkit: <message>`` on stderr."""
    print(f"evalkit: {message}", file=sys.stderr, flush=True)


# --- the run -------------------------------------------------------------------------------


class _Run:
    def __init__(
        self, params: Params, partial: Path, notebooks_dir: Path, plan: tuple[NotebookSpec, ...],
        workers: int, progress: Callable[[str], None], kernel_name: str, start_timeout: int,
        cell_timeout: int | None,
    ) -> None:
        self.params = params
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
        """Execute and render one notebook; record a failure instead of raising."""
        try:
            self._execute(spec, wait_for)
        except _AbortedError:
            return
        except NotebookFailedError as exc:
            with self._lock:
                self.failures.append((order, exc))
            self._executed(spec)
            self.progress(f"{spec.name}: FAILED")
            return
        except Exception as exc:  # a kernel that died, a timeout, a rendering error
            message = f"notebook {spec.filename} failed: {_error_line(type(exc).__name__, exc)}"
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
        values = notebook_parameters(self.params, TABLES_DIR)
        if not spec.policy:
            for key in IDENTITY_KEYS:
                values.pop(key, None)
        return values

    def _execute(self, spec: NotebookSpec, wait_for: threading.Event | None) -> None:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        source = self.notebooks_dir / spec.filename
        nb = nbformat.read(source, as_version=4)
        param_index = _parameters_cell_index(nb, source)
        executed = self.partial / NOTEBOOK_SUBDIR / spec.filename
        timing = self.timings[spec.name]
        timing.started = self.now()
        extra_arguments: list[str] = list(KERNEL_QUIET)

        def before_cells(client: Any) -> None:
            if wait_for is not None:
                wait_for.wait()
            with self._lock:
                if self.aborted or (wait_for is not None and self.failures):
                    raise _AbortedError
                self.kernels[spec.name] = client.km
            timing.cells_started = self.now()
            self.progress(f"{spec.name}: running")

        if wait_for is not None:
            extra_arguments.append(f"--IPKernelApp.exec_lines={_warm_up_code()}")
        try:
            papermill.execute_notebook(
                source,
                executed,
                parameters=self._parameters(spec),
                engine_name=_ENGINE_NAME,
                kernel_name=self.kernel_name,
                progress_bar=False,
                request_save_on_cell_execute=False,
                start_timeout=self.start_timeout,
                execution_timeout=self.cell_timeout,
                extra_arguments=extra_arguments,
                before_cells=before_cells,
                kernel_cwd=str(self.partial),
            )
        except PapermillExecutionError as exc:
            if self.aborted:
                raise _AbortedError from None
            # papermill inserted its parameters cell right after ours: map back to the
            # index in the notebook the user edits.
            index = exc.cell_index - 1 if exc.cell_index > param_index else exc.cell_index
            where = (
                "the injected parameters cell" if exc.cell_index == param_index + 1
                else f"cell {index} ({_first_line(exc.source)!r})"
            )
            raise NotebookFailedError(
                f"notebook {spec.filename} failed in {where}: "
                f"{_error_line(exc.ename, exc.evalue)}",
                notebook=spec.filename,
            ) from None
        finally:
            with self._lock:
                self.kernels.pop(spec.name, None)
        timing.finished = self.now()
        self._executed(spec)
        result = _stable_cell_ids(nbformat.read(executed, as_version=4))
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

    def run_all(self) -> None:
        independent = [(i, s) for i, s in enumerate(self.plan) if not s.final]
        finals = [(i, s) for i, s in enumerate(self.plan) if s.final]
        self.progress(
            f"running {len(self.plan)} notebooks ({len(independent)} in parallel on "
            f"{self.workers} workers, then {', '.join(s.name for _, s in finals) or 'none'})"
        )
        # The final notebooks get their own threads: their kernels start and import the stack
        # at once, then wait for the independent notebooks before their first cell.
        final_pool = ThreadPoolExecutor(max_workers=max(1, len(finals)))
        pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            final_futures = [final_pool.submit(self.execute, o, s, self.independent_done)
                             for o, s in finals]
            futures = [pool.submit(self.execute, o, s, None) for o, s in independent]
            for future in [*futures, *final_futures]:
                future.result()
        except BaseException:
            self.abort()
            raise
        finally:
            self.independent_done.set()
            pool.shutdown(wait=True, cancel_futures=True)
            final_pool.shutdown(wait=True, cancel_futures=True)

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
) -> RunResult:
    """Execute the assessment described by ``params_path`` into ``out_dir/<run_name>/``.

    Raises :class:`EvalkitError` for a bad params file (before anything runs) and
    :class:`NotebookFailedError` when a notebook raises; then the partial folder is kept for
    debugging and any previous run of the same name is left untouched.
    """
    started_at = time.time()
    t0 = time.perf_counter()
    params = params_path if isinstance(params_path, Params) else load_params(params_path)
    plan = plan_for(params) if plan is None else tuple(plan)
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else default_notebooks_dir()
    nb_dir = nb_dir.resolve()
    for spec in plan:
        path = nb_dir / spec.filename
        if not path.is_file():
            raise EvalkitError(f"{path}: notebook not found")
        _parameters_cell_index(nbformat.read(path, as_version=4), path)
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
    input_hashes = {
        key: {"path": str(path), "sha256": sha256_file(path)} for key, path in inputs.items()
    }

    out, partial = _output_folder(out_dir, params.run_name)
    target = out / params.run_name
    # mkdtemp makes a private folder; a published run gets the usual permissions.
    umask = os.umask(0)
    os.umask(umask)
    partial.chmod(0o777 & ~umask)
    (partial / NOTEBOOK_SUBDIR).mkdir()
    (partial / TABLES_DIR).mkdir()
    shutil.copyfile(params.source, partial / "params.yaml")

    prepare_kernel_environment()
    _register_engine()
    state = _Run(
        params, partial, nb_dir, plan, workers, report, kernel_name, start_timeout, cell_timeout
    )
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

    tables = sorted(
        p.relative_to(partial).as_posix() for p in (partial / TABLES_DIR).rglob("*") if p.is_file()
    )
    commit, dirty = git_state(nb_dir)
    manifest: dict[str, Any] = {
        "run_name": params.run_name,
        "params_file": str(params.source),
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
        "tables": {t: sha256_file(partial / t) for t in tables},
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


# --- make refresh --------------------------------------------------------------------------


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
        _parameters_cell_index(nb, path)
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
                            f"({_first_line(cell.source)!r}): "
                            f"{_error_line(output.ename, output.evalue)}; file not rewritten",
                            notebook=spec.filename,
                        ) from None
            raise
        nbformat.write(nb, path)
        written.append(path)
        report(f"{spec.filename} refreshed ({time.perf_counter() - t0:.1f} s)")
    return written


_stderr_progress = stderr_progress  # the former private name
