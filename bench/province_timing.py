"""Province runs on Dask: seconds per county, the speed-up of a second worker, the fast path.

Measures, each in a fresh output folder (no resume):

* ``--full N`` synthetic counties with full reports (four notebooks, HTML) on a LocalCluster
  with 1 and then 2 workers: seconds per county and the speed-up (goal: at least 1.8x on 2
  cores);
* ``--tables N`` counties with ``--tables-only`` on 2 workers (goal: under 30 s for 100);
* a projection for a national rerun of 832 counties on a 64-worker cluster from the
  measured per-county cost of one worker (cost per county / 64 workers x 832, plus the
  cluster's start), printed beside the figures.

Usage: python bench/province_timing.py [--full 24] [--tables 100] [--json FILE]
Prints each figure beside its goal; exits non-zero on a miss.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from evalkit.run.province import run_province
from evalkit.synth import county as synth

SEED = 20190815
NATIONAL = 832
CLUSTER = 64


def _province(folder: Path, n: int) -> Path:
    synth.write_province_data(folder / "data", seed=SEED, n_counties=n)
    params = folder / "province.yaml"
    params.write_text(f"run_name: bench\nprovince:\n  name: bench {n}\n  counties_dir: data\n",
                      encoding="utf-8")
    return params


def _timed(params: Path, out: Path, workers: int, tables_only: bool) -> tuple[float, int]:
    t0 = time.perf_counter()
    result = run_province(params, out, workers=workers, tables_only=tables_only,
                          notebook=False)
    return time.perf_counter() - t0, len(result.failed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=int, default=24, help="counties with full reports")
    parser.add_argument("--tables", type=int, default=100, help="counties, --tables-only")
    parser.add_argument("--json", type=Path, default=None, help="also write figures here")
    args = parser.parse_args()
    figures: dict[str, float | int] = {"cores": os.cpu_count() or 1}
    misses = []
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-province-") as tmp:
        folder = Path(tmp)
        if args.tables:
            params = _province(folder / "tables", args.tables)
            seconds, failed = _timed(params, folder / "out-tables", 2, True)
            figures.update(tables_counties=args.tables, tables_seconds=round(seconds, 1),
                           tables_failed=failed)
            print(f"{args.tables} counties --tables-only on 2 workers: {seconds:.1f} s "
                  f"({seconds / args.tables:.2f} s per county; goal for 100: under 30 s)")
            if args.tables >= 100 and seconds >= 30:
                misses.append("tables-only")
        if args.full:
            params = _province(folder / "full", args.full)
            per_worker = {}
            for workers in (1, 2):
                seconds, failed = _timed(params, folder / f"out-full-{workers}", workers, False)
                per_worker[workers] = seconds
                figures[f"full_{workers}_workers_seconds"] = round(seconds, 1)
                figures[f"full_{workers}_workers_failed"] = failed
                print(f"{args.full} counties with full reports on {workers} worker"
                      f"{'s' if workers > 1 else ''}: {seconds:.1f} s "
                      f"({seconds / args.full:.1f} s per county; {failed} failed)")
            speedup = per_worker[1] / per_worker[2]
            figures.update(full_counties=args.full, speedup=round(speedup, 2))
            print(f"speed-up of 2 workers over 1: {speedup:.2f}x (goal: at least 1.8x)")
            if speedup < 1.8:
                misses.append("speed-up")
            per_county = per_worker[1] / args.full
            national = per_county * NATIONAL / CLUSTER
            figures.update(seconds_per_county_one_worker=round(per_county, 1),
                           national_832_on_64_workers_minutes=round(national / 60, 1))
            print(f"projection: {NATIONAL} counties on {CLUSTER} workers ~ "
                  f"{per_county:.1f} s x {NATIONAL} / {CLUSTER} = {national / 60:.1f} min "
                  "(plus cluster start; one core per worker)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    if misses:
        print("bench: missed goal(s): " + ", ".join(misses), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
