"""The Dask cluster of a province run: an embedded LocalCluster or an existing scheduler, and
the province's own work (the rankings) run on its workers."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from evalkit.contract.errors import EvalkitError, one_line


def start_client(workers: int | None, scheduler: str | None) -> tuple[Any, Any]:
    """A dask.distributed Client: on ``scheduler``, or on an embedded LocalCluster."""
    import logging

    from distributed import Client, LocalCluster

    for name in ("distributed", "distributed.scheduler", "distributed.worker",
                 "distributed.nanny", "distributed.core", "distributed.http.proxy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as exc:
            raise EvalkitError(f"--scheduler {scheduler}: cannot connect ({one_line(exc)})"
                               ) from None
    n = workers or os.cpu_count() or 1
    from evalkit.run.kernel import KERNEL_ENV_DEFAULTS

    for key, value in KERNEL_ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.CRITICAL)
    return Client(cluster), cluster


class Release:
    """Closes a client and its embedded cluster once, in a background thread: the client
    writes the province's page and tables while the workers shut down (about a second)."""

    def __init__(self, client: Any, cluster: Any) -> None:
        self._client, self._cluster = client, cluster
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _close(self) -> None:
        try:
            self._client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()

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
