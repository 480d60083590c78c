"""The Dask cluster of a province run: an embedded LocalCluster or an existing scheduler, and
the province's own work (the rankings) run on its workers."""

from __future__ import annotations

import contextlib
import math
import os
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any

from evalkit.contract.errors import EvalkitError, one_line, printable

#: Seconds any wait on the network may take (connecting to a scheduler, its handshake, each
#: request to it, closing): ``--timeout`` or the environment variable below, else this.
DEFAULT_NETWORK_TIMEOUT = 30.0
TIMEOUT_ENV = "EVALKIT_NETWORK_TIMEOUT"
#: Schemes of a scheduler address (distributed's comm backends reachable over a network).
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")
#: Workers of an embedded LocalCluster at most: one process per core (more only take turns
#: and multiply memory), and never above this however many cores there are.
MAX_LOCAL_WORKERS = 256
_ADDRESS = re.compile(r"(?:(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://)?"
                      r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d{1,5})")


def network_timeout(timeout: float | None = None) -> float:
    """The network timeout in seconds: ``timeout``, else ``$EVALKIT_NETWORK_TIMEOUT``, else
    :data:`DEFAULT_NETWORK_TIMEOUT`; a value that is not a positive number is one line.

    >>> network_timeout(5)
    5.0
    """
    source, value = "--timeout", timeout
    if value is None:
        source, value = TIMEOUT_ENV, os.environ.get(TIMEOUT_ENV) or DEFAULT_NETWORK_TIMEOUT
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not math.isfinite(seconds) or seconds <= 0:
        raise EvalkitError(f"{source}: {value!r} is not a number of seconds above 0")
    return seconds


def checked_scheduler(address: str) -> str:
    """``address`` if it names a scheduler (``tcp://host:port``, ``host:port``, ``tls://``,
    ``ws://``, ``wss://``, ``ucx://``), else one line saying what was expected.

    >>> checked_scheduler("tcp://127.0.0.1:8786")
    'tcp://127.0.0.1:8786'
    """
    match = _ADDRESS.fullmatch(address.strip())
    scheme = (match.group("scheme") or "tcp").lower() if match else None
    if match is None or scheme not in SCHEMES or not 0 < int(match.group("port")) < 65536:
        raise EvalkitError(f"--scheduler {printable(address)!r}: expected a scheduler "
                           "address such as tcp://host:8786 (schemes: "
                           + ", ".join(SCHEMES) + ")")
    return address.strip()


def checked_options(workers: int | None, scheduler: str | None, timeout: float | None,
                    report: Callable[[str], None]) -> int | None:
    """Check the cluster options before any work: the timeout (:func:`network_timeout`),
    the scheduler's address (:func:`checked_scheduler`), and return ``--workers``, at least
    1 and, for an embedded LocalCluster, at most the cores (a note says so when it is
    capped); with ``--scheduler`` the cluster has its own."""
    network_timeout(timeout)
    if scheduler is not None:
        checked_scheduler(scheduler)
    if workers is None:
        return None
    if workers < 1:
        raise EvalkitError(f"--workers: {workers} is out of range, expected at least 1")
    if scheduler is not None:
        report(f"--workers {workers} ignored: the cluster at --scheduler has its own workers")
        return None
    cap = min(os.cpu_count() or 1, MAX_LOCAL_WORKERS)
    if workers > cap:
        report(f"--workers {workers}: capped at {cap}, the cores of this machine")
        return cap
    return workers


def _probe(address: str, seconds: float) -> None:
    """Connect to the scheduler and ask its identity, all within ``seconds``: a server that
    accepts and never answers fails here instead of hanging the run."""
    import asyncio

    from distributed.comm import connect

    async def identity() -> None:
        comm = await connect(address, timeout=seconds)
        try:
            await comm.write({"op": "identity", "reply": True})
            await comm.read()
        finally:
            comm.abort()

    asyncio.run(asyncio.wait_for(identity(), seconds))


def start_client(workers: int | None, scheduler: str | None,
                 timeout: float | None = None) -> tuple[Any, Any]:
    """A dask.distributed Client: on ``scheduler``, or on an embedded LocalCluster.

    Every network wait has the :func:`network_timeout`; an address that is not one, a
    scheduler that cannot be reached or does not answer is one line (an
    :class:`EvalkitError`), never a traceback or a hang.
    """
    import logging

    for name in ("distributed", "distributed.scheduler", "distributed.worker",
                 "distributed.nanny", "distributed.core", "distributed.http.proxy",
                 "distributed.comm", "distributed.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    seconds = network_timeout(timeout)
    if scheduler is not None:
        address = checked_scheduler(scheduler)
        from distributed import Client

        try:
            _probe(address, seconds)
            return Client(address, timeout=f"{seconds}s"), None
        except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, CommClosedError...
            reason = ("no answer" if isinstance(exc, TimeoutError) else one_line(exc)
                      ) or type(exc).__name__
            raise EvalkitError(f"--scheduler {address}: cannot connect within {seconds:g} s "
                               f"({printable(reason)}); is a Dask scheduler running there? "
                               f"(--timeout or {TIMEOUT_ENV} sets the wait)") from None
    from distributed import Client, LocalCluster

    _quiet_exit_of_clusters()
    n = workers or min(os.cpu_count() or 1, MAX_LOCAL_WORKERS)
    from evalkit.run.kernel import KERNEL_ENV_DEFAULTS

    for key, value in KERNEL_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    try:
        return Client(cluster, timeout=f"{seconds}s"), cluster
    except BaseException:
        cluster.close(timeout=seconds)
        raise


def _close_clusters_quietly() -> None:
    from distributed.deploy import spec

    with contextlib.suppress(Exception):
        spec.close_clusters()


def _quiet_exit_of_clusters() -> None:
    """distributed closes the clusters left open when Python exits; a LocalCluster stopped
    by SIGTERM or Ctrl-C while it was starting fails an assertion there, and its traceback
    followed the run's clean one-line stop. The same closing, without the traceback."""
    import atexit

    from distributed.deploy import spec

    atexit.unregister(spec.close_clusters)
    atexit.unregister(_close_clusters_quietly)
    atexit.register(_close_clusters_quietly)


def count_workers(client: Any, timeout: float | None = None) -> int:
    """The cluster's workers, asked of the scheduler within the :func:`network_timeout`."""
    seconds = network_timeout(timeout)
    try:
        info = client.sync(client.scheduler.identity, n_workers=-1, callback_timeout=seconds)
    except Exception as exc:  # noqa: BLE001
        raise EvalkitError(f"Dask scheduler {client.scheduler.address}: no answer within "
                           f"{seconds:g} s ({one_line(exc) or type(exc).__name__})") from None
    return len(info.get("workers", {}))


class Release:
    """Closes a client and its embedded cluster once, in a background thread: the client
    writes the province's page and tables while the workers shut down (about a second)."""

    def __init__(self, client: Any, cluster: Any, timeout: float | None = None) -> None:
        self._client, self._cluster = client, cluster
        self._seconds = network_timeout(timeout)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _close(self) -> None:
        try:
            with contextlib.suppress(Exception):  # a scheduler gone silent: do not wait on
                self._client.close(timeout=self._seconds)
        finally:
            if self._cluster is not None:
                self._cluster.close(timeout=self._seconds)

    def start(self) -> None:
        """Begin closing (again: no effect)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._close, name="evalkit-release")
                self._thread.start()

    def wait(self) -> None:
        """Close, and return once closed."""
        self.start()
        assert self._thread is not None
        self._thread.join()


def start_on_cluster(client: Any, report: Callable[[str], None],
                     release: Callable[[], None] | None = None
                     ) -> Callable[[Sequence[Any]], Callable[[], list[Any]]]:
    """Start the province's own work (the rankings) on the cluster's workers, side by side;
    the returned function waits for the results, then calls ``release`` (the cluster has
    nothing left to do). If the cluster cannot finish them (a worker lost), the client
    does them itself."""
    from evalkit.run.province_outputs import compute_here

    def start(calls: Sequence[Any]) -> Callable[[], list[Any]]:
        futures = [client.submit(function, *args, pure=False,
                                 key=f"province-{k}-{os.urandom(4).hex()}")
                   for k, (function, args) in enumerate(calls)]

        def wait() -> list[Any]:
            try:
                results = client.gather(futures)
            except EvalkitError:
                raise
            except Exception as exc:  # noqa: BLE001 - the client can still do it alone
                report(f"ranking on the cluster failed ({one_line(exc)}); ranking here")
                results = None
            if release is not None:
                release()
            return compute_here(calls)() if results is None else results

        return wait

    return start
