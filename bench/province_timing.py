"""Province runs on Dask: seconds per county, the speed-up of a second worker, the fast path.

Measures, each in a fresh output folder (no resume), with the machine's load average
recorded beside every figure (the figures are wall-clock times: on a shared machine they
are upper bounds):

* ``--full N`` synthetic counties with full reports (four notebooks, HTML) on a LocalCluster:
  with 1 worker held to one core, with 1 worker free to use both cores, and with 2 workers
  on both cores: seconds per county, CPU seconds, and the speed-up of 2 cores over 1 (goal:
  at least 1.8x). One worker on a free machine already uses more than one core (a county's
  summary notebook starts its kernel while the others run, and the rendering overlaps), so
  the speed-up of 2 workers over 1 worker both on 2 cores is capped by that overlap and is
  shown beside it; the CPU seconds show whether 2 workers keep both cores busy
  (``efficiency`` = CPU seconds / (wall seconds x cores));
* ``--tables N`` counties with ``--tables-only`` on 2 workers (goal: under 30 s for 100),
  with the median seconds of one county's task;
* a projection for a national rerun of 832 counties on a 64-worker cluster from the
  measured per-county cost of one worker: ``seconds per county x ceil(832 / 64)`` plus the
  measured start of the cluster and the client's own work (from the tables-only run).

The figures go to ``--json`` (``make bench-province`` writes
``bench/results/province.json``); with ``--readme README.md`` the block between
``<!-- bench:province -->`` and ``<!-- /bench:province -->`` of the README is rewritten
from them, so the README's projection is the measured one.

Holding a run to one core needs ``os.sched_setaffinity`` (Linux). Where it does not exist
(macOS) the one-core run is skipped with a printed note and recorded as skipped in the JSON
(``{"skipped": reason}``); the speed-up of 2 cores over 1 is then not measured.

Usage: python bench/province_timing.py [--full 24] [--tables 100] [--json FILE]
       [--readme README.md]
Prints each figure beside its goal; exits non-zero on a miss.

evalkit is imported inside :func:`main`, not at the top: LocalCluster's workers start with
``spawn`` and import this script again, which must stay cheap.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEED = 20190815
NATIONAL = 832
CLUSTER = 64
BEGIN, END = "<!-- bench:province -->", "<!-- /bench:province -->"
RUN_LABELS = {"1_worker_1_core": "1 worker held to 1 core",
              "1_worker_2_cores": "1 worker, 2 cores", "2_workers_2_cores": "2 workers, 2 cores"}


#: Why the one-core run is skipped where the process cannot be held to chosen CPUs.
NO_AFFINITY = ("skipped: this platform has no os.sched_setaffinity (Linux only), so no run "
               "can be held to one core")


def _can_hold_cores() -> bool:
    """Whether this platform can hold a process to chosen CPUs (Linux: yes; macOS: no)."""
    return hasattr(os, "sched_getaffinity") and hasattr(os, "sched_setaffinity")


def _province(folder: Path, n: int) -> Path:
    from evalkit import synth

    synth.write_province_data(folder / "data", seed=SEED, n_counties=n)
    params = folder / "province.yaml"
    params.write_text(f"run_name: bench\nprovince:\n  name: bench {n}\n  counties_dir: data\n",
                      encoding="utf-8")
    return params


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _cpu_seconds() -> float:
    """CPU seconds of this process and of its finished children (workers and their kernels,
    each reaped by its parent, are counted once the cluster is closed)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(params: Path, out: Path, workers: int, tables_only: bool,
           cores: set[int] | None = None) -> dict[str, Any]:
    """Run the province; wall and CPU seconds, the seconds to the first county, the tasks'
    own. ``cores`` holds the run (client, workers, kernels: affinity is inherited) to those
    CPUs."""
    from evalkit.run.province import run_province

    if not _can_hold_cores():
        if cores is not None:
            raise RuntimeError(NO_AFFINITY)
        return _timed_here(run_province, params, out, workers, tables_only,
                           os.cpu_count() or 1)
    everything = os.sched_getaffinity(0)
    if cores is not None:
        os.sched_setaffinity(0, cores)
    try:
        return _timed_here(run_province, params, out, workers, tables_only,
                           len(cores or everything))
    finally:
        os.sched_setaffinity(0, everything)


def _timed_here(run_province: Any, params: Path, out: Path, workers: int, tables_only: bool,
                cores: int) -> dict[str, Any]:
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(message: str) -> None:
        now = time.perf_counter() - t0
        if message.startswith("Dask:"):
            marks["cluster_up"] = now
        if "counties (" in message:
            marks["last"] = now

    load_before = _load()
    cpu0 = _cpu_seconds()
    result = run_province(params, out, workers=workers, tables_only=tables_only,
                          notebook=False, progress=progress)
    seconds = time.perf_counter() - t0
    cpu = _cpu_seconds() - cpu0
    task = [s.seconds for s in result.statuses if s.seconds is not None]
    return {
        "seconds": round(seconds, 1),
        "cores": cores,
        "cpu_seconds": round(cpu, 1),
        "efficiency": round(cpu / (seconds * cores), 2),
        "failed": len(result.failed),
        "cluster_start_seconds": round(marks.get("cluster_up", float("nan")), 1),
        "after_last_county_seconds": round(seconds - marks.get("last", seconds), 1),
        "median_task_seconds": round(statistics.median(task), 2) if task else None,
        "load_before": load_before,
        "load_after": _load(),
    }


def _readme_block(figures: dict[str, Any]) -> str:
    """The README's scale table, from the figures."""
    lines = [BEGIN, "", "| measurement | figure | goal | load average |", "|---|---|---|---|"]
    tables = figures.get("tables")
    if tables:
        n = tables["counties"]
        lines.append(
            f"| {n} counties `--tables-only`, 2 workers | {tables['seconds']} s (cluster start "
            f"{tables['cluster_start_seconds']} s; median county task "
            f"{tables['median_task_seconds']} s; client after the last county "
            f"{tables['after_last_county_seconds']} s) | under 30 s for 100"
            f"{'' if tables['seconds'] < 30 else ': **missed** here'} | "
            f"{tables['load_before']} / {tables['load_after']} |")
    full = figures.get("full")
    if full:
        n = full["counties"]
        for key, run in full["runs"].items():
            if "skipped" in run:
                lines.append(f"| {n} counties with full reports, {RUN_LABELS[key]} | "
                             f"{run['skipped']} | | |")
                continue
            lines.append(f"| {n} counties with full reports, {RUN_LABELS[key]} | "
                         f"{run['seconds']} s ({run['seconds_per_county']} s per county; "
                         f"{run['cpu_seconds']} CPU s, efficiency {run['efficiency']}), "
                         f"{run['failed']} failed | | {run['load_before']} / "
                         f"{run['load_after']} |")
        if full.get("speedup_cores") is not None:
            lines.append(f"| speed-up of 2 cores over 1 (2 workers vs 1 worker on one core) | "
                         f"{full['speedup_cores']}x | at least 1.8x"
                         f"{'' if full['speedup_cores'] >= 1.8 else ': **missed** here'} | |")
        if full.get("speedup_workers") is not None:
            lines.append(f"| speed-up of 2 workers over 1, both on 2 cores | "
                         f"{full['speedup_workers']}x | (capped by one worker's own overlap) | |")
    projection = figures.get("projection")
    if projection:
        lines.append(f"| projection: {NATIONAL} counties on {CLUSTER} workers | about "
                     f"{projection['minutes']} min ({projection['formula']}) | | |")
    else:
        lines.append(f"| projection: {NATIONAL} counties on {CLUSTER} workers | not measured "
                     "yet: `make bench-province` runs the full-report part | | |")
    lines += ["", f"Measured {figures['measured_at']} on {figures['cores']} cores; the load "
              "average (before / after) shows how busy the machine was. Written by "
              "`bench/province_timing.py` to `bench/results/province.json`.", "", END]
    return "\n".join(lines)


def _update_readme(path: Path, figures: dict[str, Any]) -> None:
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        print(f"bench: {path} has no {BEGIN} block; not updated", file=sys.stderr)
        return
    path.write_text(pattern.sub(lambda _m: _readme_block(figures), text), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", type=int, default=24, help="counties with full reports")
    parser.add_argument("--tables", type=int, default=100, help="counties, --tables-only")
    parser.add_argument("--one-worker-two-cores", action=argparse.BooleanOptionalAction,
                        default=True, help="also time 1 worker free to use every core")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument("--readme", type=Path, default=None,
                        help="rewrite this README's bench:province block from the figures")
    args = parser.parse_args()
    previous: dict[str, Any] = {}
    if args.json and args.json.is_file():  # a partial run keeps the other part's figures
        previous = json.loads(args.json.read_text(encoding="utf-8"))
    figures: dict[str, Any] = {
        "cores": os.cpu_count() or 1,
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "tables": previous.get("tables"),
        "full": previous.get("full") if "runs" in (previous.get("full") or {}) else None,
        "projection": previous.get("projection")}
    misses = []
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-province-") as tmp:
        folder = Path(tmp)
        if args.tables:
            params = _province(folder / "tables", args.tables)
            run = _timed(params, folder / "out-tables", 2, True)
            figures["tables"] = {"counties": args.tables, **run}
            print(f"{args.tables} counties --tables-only on 2 workers: {run['seconds']} s "
                  f"(cluster start {run['cluster_start_seconds']} s, median task "
                  f"{run['median_task_seconds']} s, client after the last county "
                  f"{run['after_last_county_seconds']} s; load {run['load_before']} -> "
                  f"{run['load_after']}; goal for 100: under 30 s)")
            if args.tables >= 100 and run["seconds"] >= 30:
                misses.append("tables-only")
        if args.full:
            params = _province(folder / "full", args.full)
            runs: dict[str, dict[str, Any]] = {}
            configs: list[tuple[str, int, set[int] | None]] = [("2_workers_2_cores", 2, None)]
            if args.one_worker_two_cores:
                configs.insert(0, ("1_worker_2_cores", 1, None))
            if _can_hold_cores():
                configs.insert(0, ("1_worker_1_core", 1, {min(os.sched_getaffinity(0))}))
            else:
                runs["1_worker_1_core"] = {"skipped": NO_AFFINITY}
                print(f"{args.full} counties with full reports, "
                      f"{RUN_LABELS['1_worker_1_core']}: {NO_AFFINITY}; the speed-up of 2 "
                      "cores over 1 is not measured")
            for key, workers, cores in configs:
                run = _timed(params, folder / f"out-full-{key}", workers, False, cores)
                run["seconds_per_county"] = round(run["seconds"] / args.full, 1)
                runs[key] = run
                print(f"{args.full} counties with full reports, {RUN_LABELS[key]}: "
                      f"{run['seconds']} s ({run['seconds_per_county']} s per county; "
                      f"{run['cpu_seconds']} CPU s, efficiency {run['efficiency']}; "
                      f"{run['failed']} failed; load {run['load_before']} -> "
                      f"{run['load_after']})")
            two = runs["2_workers_2_cores"]["seconds"]
            one_core = runs["1_worker_1_core"].get("seconds")
            speedup = round(one_core / two, 2) if one_core is not None else None
            figures["full"] = {"counties": args.full, "runs": runs, "speedup_cores": speedup,
                               "speedup_workers": round(runs["1_worker_2_cores"]["seconds"]
                                                        / two, 2)
                               if "1_worker_2_cores" in runs else None}
            if speedup is not None:
                print(f"speed-up of 2 cores over 1: {speedup:.2f}x (goal: at least 1.8x)")
                if speedup < 1.8:
                    misses.append("speed-up")
    full = figures.get("full")
    # Per county on one worker with the machine to itself: the cost a cluster's worker pays
    # (cluster workers are not held to one core). A skipped run has no seconds.
    one = next((full["runs"][key] for key in ("1_worker_2_cores", "1_worker_1_core")
                if "seconds" in full["runs"].get(key, {})),
               None) if full and "runs" in full else None
    if full and "runs" in full and one is None:
        figures["projection"] = None  # no one-worker run to project from
    if one is not None:
        per_county = (one["seconds"] - one["cluster_start_seconds"]
                      - one["after_last_county_seconds"]) / full["counties"]
        rounds = math.ceil(NATIONAL / CLUSTER)
        overhead = one["cluster_start_seconds"] + one["after_last_county_seconds"]
        seconds = per_county * rounds + overhead
        figures["projection"] = {
            "seconds_per_county_one_worker": round(per_county, 1), "rounds": rounds,
            "overhead_seconds": round(overhead, 1), "minutes": round(seconds / 60, 1),
            "formula": f"{per_county:.1f} s per county x {rounds} counties per worker + "
                       f"{overhead:.0f} s cluster start and client"}
        print(f"projection: {NATIONAL} counties on {CLUSTER} workers ~ "
              f"{figures['projection']['formula']} = {seconds / 60:.1f} min")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if args.readme:
        _update_readme(args.readme, figures)
    if misses:
        print("bench: missed goal(s): " + ", ".join(misses), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
