"""The Jupyter kernel every notebook runs in: one environment whatever the machine, warm
imports, and the papermill engine that stops cleanly on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

KERNEL_NAME = "python3"

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

_engine_registered = False
_ENV_LOCK = threading.Lock()


def prepare_kernel_environment() -> None:
    """Make ``python3`` kernels start in this interpreter's environment.

    ipykernel installs a ``python3`` kernelspec into ``sys.prefix/share/jupyter`` whose
    command is ``python``, which jupyter_client replaces by ``sys.executable``. Putting that
    directory first in JUPYTER_PATH stops a user-level kernelspec (another Python, without
    evalkit) from shadowing it. Kernels inherit this process's environment, so the
    reproducibility settings of :data:`KERNEL_ENV_DEFAULTS` are set here (unless the user
    set them). papermill's "Passed unknown parameter" warning is muted: the runner injects
    every params key on purpose, and a notebook that does not read one (01-03 and
    ``followup``) is not a problem worth a line on stderr, three times, under ``--quiet``.
    """
    logging.getLogger("papermill").setLevel(logging.ERROR)
    with _ENV_LOCK:
        own = str(Path(sys.prefix) / "share" / "jupyter")
        current = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
        if not current or current[0] != own:
            os.environ["JUPYTER_PATH"] = os.pathsep.join([own, *[p for p in current if p != own]])
        for key, value in KERNEL_ENV_DEFAULTS.items():
            os.environ.setdefault(key, value)


def warm_up_code(snapshot: bool = False) -> str:
    """Kernel start-up code that imports :data:`WARM_MODULES` and leaves no name behind;
    with ``snapshot``, it then records the fresh kernel's state
    (:func:`snapshot_fresh_state`) so that a later notebook can start from it."""
    code = (
        "def _evalkit_warm_up():\n"
        "    import importlib\n"
        f"    for name in {WARM_MODULES!r}:\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "        except Exception:\n"
        "            pass\n"
    )
    if snapshot:
        code += ("    from evalkit.run.kernel import snapshot_fresh_state\n"
                 "    snapshot_fresh_state()\n")
    return code + "_evalkit_warm_up()\ndel _evalkit_warm_up\n"


#: Run (silently) in a kernel that already executed a notebook, before the next one's first
#: cell: :func:`restore_fresh_state`. It leaves no name behind (the namespace is emptied).
RESET_CODE = "__import__('evalkit.run.kernel', fromlist=['_']).restore_fresh_state()\n"

# What a kernel looked like after its warm imports, before any notebook's cell ran.
_FRESH: dict[str, Any] | None = None


def snapshot_fresh_state() -> None:
    """Record, in a kernel before any notebook ran, the process state a notebook can change
    and a later notebook could see: the working folder, ``sys.path``, the environment,
    warnings filters, numpy's print and error options and matplotlib's rcParams (of the
    modules imported so far). :func:`restore_fresh_state` puts it back (pandas' options go
    back to their defaults, which nothing in evalkit changes at import).

    >>> from evalkit.run import kernel
    >>> kernel.snapshot_fresh_state()
    >>> before = list(sys.path)
    >>> sys.path.append("/left/by/a/notebook")
    >>> kernel.restore_fresh_state()  # outside IPython: no namespace to empty
    >>> sys.path == before
    True
    """
    import warnings

    global _FRESH
    state: dict[str, Any] = {
        "cwd": os.getcwd(), "path": list(sys.path), "environ": dict(os.environ),
        "filters": list(warnings.filters),
    }
    if "numpy" in sys.modules:
        np = sys.modules["numpy"]
        state["np_print"] = np.get_printoptions()
        state["np_err"] = np.geterr()
    if "matplotlib" in sys.modules:
        rc = dict(sys.modules["matplotlib"].rcParams.copy())
        del rc["backend"]  # as matplotlib.rc_context: never switch the backend back
        state["rc"] = rc
    _FRESH = state


def restore_fresh_state() -> None:
    """Make this kernel as a fresh one is for the next notebook (issue #24: one kernel per
    worker, not per notebook): the user namespace and output history emptied, the execution
    counter at 1 (IPython's ``reset(new_session=True)``, what ``%reset -f`` does plus the
    counter), figures closed, and what :func:`snapshot_fresh_state` recorded put back
    (warnings filters with their once-only registries cleared, so a warning shown in one
    notebook is shown again in the next). Notebooks seed their own random generators from
    the params, so no random state is restored.
    """
    import gc
    import warnings

    state = _FRESH
    if state is None:
        raise RuntimeError("restore_fresh_state: no snapshot (the kernel was not warmed up)")
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.reset(new_session=True)
        shell.execution_count = 1
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated keys, read or written
        if "rc" in state:
            rc = sys.modules["matplotlib"].rcParams
            rc.update({k: v for k, v in state["rc"].items() if rc[k] != v})
        if "pandas" in sys.modules:
            sys.modules["pandas"].reset_option("all")
    if "np_print" in state:
        np = sys.modules["numpy"]
        np.set_printoptions(**state["np_print"])
        np.seterr(**state["np_err"])
    os.chdir(state["cwd"])
    sys.path[:] = state["path"]
    if dict(os.environ) != state["environ"]:
        os.environ.clear()
        os.environ.update(state["environ"])
    # resetwarnings() marks every module's once-per-location registry stale, as a change
    # of filters does: a warning shown in one notebook is shown again in the next.
    warnings.resetwarnings()
    warnings.filters[:] = state["filters"]
    warnings.onceregistry.clear()
    gc.collect()


ENGINE_NAME = "evalkit"


class AbortedError(Exception):
    """Raised in a waiting kernel when a notebook it depends on failed."""


def register_engine() -> None:
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
            kernel_log = kwargs.pop("kernel_log", None)
            km = kwargs.pop("km", None)
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
            # A given kernel manager (``km``) is the caller's: its kernel is started if it
            # has none, and outlives this notebook (only this client's channels close).
            client = _Client(nb_man, km=km, **final_kwargs)
            client.before_cells = before_cells
            try:
                # cwd goes to the kernel only: papermill's own cwd= would chdir this whole
                # process, which is shared by the notebooks running in parallel threads.
                if kernel_log is None:
                    return client.execute(cwd=kernel_cwd)
                # The kernel process's own stdout and stderr (not its cells' output, which
                # comes back as messages) go to the log file, never to the terminal.
                with open_kernel_log(Path(kernel_log)) as log:
                    return client.execute(cwd=kernel_cwd, stdout=log, stderr=log)
            finally:
                if km is not None and client.kc is not None:
                    client.kc.stop_channels()
                    client.kc = None

    papermill_engines.register(ENGINE_NAME, _Engine)
    _engine_registered = True


def new_kernel_manager(kernel_name: str) -> Any:
    """A kernel manager (no kernel started yet) for a kernel that runs several notebooks in
    turn: papermill's engine starts its kernel with the first one."""
    from jupyter_client.manager import AsyncKernelManager

    return AsyncKernelManager(kernel_name=kernel_name)


def shutdown_kernel(km: Any, *, now: bool) -> None:
    """Stop ``km``'s kernel (if it still runs) and free its ports and connection file, as
    nbclient does with a kernel it owns; a kernel already dead or killed is no error."""
    import contextlib

    from jupyter_core.utils import ensure_async, run_sync

    async def stop() -> None:
        try:
            if await ensure_async(km.is_alive()):
                await ensure_async(km.shutdown_kernel(now=now))
        finally:
            await ensure_async(km.cleanup_resources())

    with contextlib.suppress(Exception):
        run_sync(stop)()


# A kernel that dies before it replies (a TCP port taken in between) is started again.
KERNEL_START_ATTEMPTS = 2

#: The folder (in a run's private partial folder) of the kernels' own logs: each kernel
#: process's stdout and stderr (a heartbeat's "ZMQError: Address already in use"
#: traceback, a crash at start). Removed with the partial folder's other private files when
#: the run succeeds; kept beside a failed run for debugging.
KERNEL_LOG_DIR = ".kernel-logs"


def kernel_log_path(folder: Path, name: str) -> Path:
    """Where the kernel of notebook ``name`` writes its own output: ``folder /``
    :data:`KERNEL_LOG_DIR` ``/ name.log`` (the folder made private, mode 0700)."""
    logs = folder / KERNEL_LOG_DIR
    logs.mkdir(mode=0o700, exist_ok=True)
    return logs / f"{name}.log"


def open_kernel_log(path: Path) -> Any:
    """``path`` opened for appending (a restarted kernel adds to the first one's log),
    readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "ab", buffering=0)


def kernel_log_reason(path: Path | None) -> str | None:
    """The last exception line a kernel's log holds (``ZMQError: Address already in
    use``), for a one-line error when the kernel did not start; None when there is none.

    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "k.log"
    >>> _ = log.write_text("Traceback (most recent call last):\\n  File ...\\n"
    ...                    "zmq.error.ZMQError: Address already in use\\n")
    >>> kernel_log_reason(log)
    'zmq.error.ZMQError: Address already in use'
    """
    import re

    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.findall(r"^([\w.]*(?:Error|Exception|Interrupt)\b:?.*)$", text, flags=re.M)
    return " ".join(found[-1].split())[:200] if found else None


def run_restarting(execute: Callable[[], Any], *, may_restart: Callable[[], bool],
                   restarting: Callable[[], None]) -> Any:
    """``execute()`` (a notebook's execution), again when its kernel died before replying.

    jupyter_client picks free TCP ports, then the kernel binds them: another process can
    take one in between ("Address already in use") and the kernel dies before any cell ran.
    Starting it again is safe then; ``may_restart()`` says whether no cell has run yet.
    """
    for attempt in range(KERNEL_START_ATTEMPTS):
        try:
            return execute()
        except RuntimeError as exc:
            if (attempt + 1 == KERNEL_START_ATTEMPTS
                    or "Kernel died before replying" not in str(exc) or not may_restart()):
                raise
            restarting()
    return None


def merge_split_streams(nb: Any) -> Any:
    """``nb`` with consecutive stream outputs of one name (stdout, stderr) in a cell merged.

    A busy kernel can send one ``print``'s text in two messages (the line, then its
    newline), which the executed notebook keeps as two outputs and the HTML shows as two
    blocks; merged, a run's notebook and HTML are the same bytes however loaded the machine
    was (nbval compares streams merged as well).
    """
    for cell in nb.cells:
        merged: list[Any] = []
        for output in cell.get("outputs", ()):
            last = merged[-1] if merged else None
            if (last is not None and output.get("output_type") == "stream"
                    and last.get("output_type") == "stream"
                    and last.get("name") == output.get("name")):
                last["text"] += output["text"]
            else:
                merged.append(output)
        if "outputs" in cell:
            cell["outputs"] = merged
    return nb
