"""The Dask cluster of a province run: an embedded LocalCluster or an existing scheduler, and
the province's own work (the rankings) run on its workers."""

from __future__ import annotations

import os
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


def start_on_cluster(client: Any, report: Callable[[str], None]
                ) -> Callable[[Sequence[Any]], Callable[[], list[Any]]]:
    """Start the province's own work (the rankings) on the cluster's workers, side by side;
    the returned function waits for the results. If the cluster cannot finish them (a worker
    lost), the client does them itself."""
    from evalkit.run.province_outputs import compute_here

    def start(calls: Sequence[Any]) -> Callable[[], list[Any]]:
        futures = [client.submit(function, *args, pure=False,
                                 key=f"province-{k}-{os.urandom(4).hex()}")
                   for k, (function, args) in enumerate(calls)]

        def wait() -> list[Any]:
            try:
                return client.gather(futures)
            except EvalkitError:
                raise
            except Exception as exc:  # noqa: BLE001 - the client can still do it alone
                report(f"ranking on the cluster failed ({one_line(exc)}); ranking here")
                return compute_here(calls)()

        return wait

    return start
