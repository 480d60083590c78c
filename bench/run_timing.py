"""Wall time of the default run beside its floor (``make bench``).

Two floors; the run is held to the larger one:

* the kernel floor: the time to start one kernel and import the stack, times the number of
  notebooks, divided by the number that can run at once (the runner's workers, but never
  more than the cores: two kernels importing numpy on two cores cannot go faster). A run
  cannot beat it without sharing kernels between notebooks;
* the CPU floor: the CPU seconds of a whole run (runner and kernels) divided by the cores.
  No schedule on those cores can beat it.

Issue 14 set the goal against the kernel floor alone (then 2.1-2.25x). That floor leaves
out the notebooks' own computation and the HTML rendering, which are most of a run's CPU
(measured 2026-11-30 on 2 cores: kernel floor 7.3 s, CPU 31.6 s, so a CPU floor of 15.8 s),
so it cannot be approached by any scheduling; the goal is to stay within 1.5x of the larger
floor. Exits non-zero on a miss.

Usage: python bench/run_timing.py [--params params/default.yaml] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evalkit.run.kernel import KERNEL_QUIET, WARM_MODULES, prepare_kernel_environment
from evalkit.run.pipeline import PLAN

REPO = Path(__file__).resolve().parents[1]


def kernel_and_stack_seconds(repeats: int) -> list[float]:
    """Start a python3 kernel, import the stack in it, and stop the clock when it replies."""
    from jupyter_client.manager import start_new_kernel

    prepare_kernel_environment()
    code = "import " + ", ".join(WARM_MODULES)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(
            kernel_name="python3", startup_timeout=120,
            extra_arguments=list(KERNEL_QUIET),
        )
        try:
            reply = kc.execute_interactive(code, timeout=300, output_hook=lambda msg: None)
            times.append(time.perf_counter() - t0)
            if reply["content"]["status"] != "ok":
                raise SystemExit(f"bench: importing the stack failed: {reply['content']}")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return times


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_seconds(params: Path, repeats: int) -> tuple[list[float], list[float], dict]:
    """Wall and CPU seconds of ``python -m evalkit run PARAMS`` (a fresh process, as a user
    runs it; CPU counts that process and its kernels)."""
    times, cpu, manifest = [], [], {}
    with tempfile.TemporaryDirectory(prefix="evalkit-bench-") as out:
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), _children_cpu()
            done = subprocess.run(
                [sys.executable, "-m", "evalkit", "run", str(params), "--out", out, "-q"],
                capture_output=True, text=True,
            )
            times.append(time.perf_counter() - t0)
            cpu.append(_children_cpu() - c0)
            if done.returncode != 0:
                raise SystemExit(f"bench: the run failed: {done.stderr.strip()}")
            run_dir = Path(done.stdout.strip()).parent
            manifest = json.loads((run_dir / "manifest.json").read_text())
    return times, cpu, manifest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=Path, default=REPO / "params" / "default.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    kernel = kernel_and_stack_seconds(args.repeats)
    runs, cpu, manifest = run_seconds(args.params, args.repeats)
    workers = manifest.get("workers", sum(not s.final for s in PLAN))
    parallel = max(1, min(workers, cores))
    one = min(kernel)
    floor = one * len(PLAN) / parallel
    best, median = min(runs), statistics.median(runs)

    print(f"kernel start + import stack: {one:.2f} s (best of {len(kernel)}: "
          f"{', '.join(f'{t:.2f}' for t in kernel)})")
    print(f"floor: {one:.2f} s x {len(PLAN)} notebooks / {parallel} at once "
          f"({workers} workers, {cores} cores) = {floor:.2f} s")
    least_cpu = min(cpu)
    cpu_floor = least_cpu / cores
    bound = max(floor, cpu_floor)
    ratio = best / bound
    print(f"CPU of a run (runner and kernels): {least_cpu:.2f} s, so no schedule on {cores} "
          f"cores beats {cpu_floor:.2f} s (the CPU floor)")
    print(f"default run (evalkit run, fresh process): best {best:.2f} s, median {median:.2f} s "
          f"over {len(runs)} runs: {best / floor:.2f}x the kernel floor, {ratio:.2f}x the "
          f"larger floor (goal: within 1.5x of the larger floor)")
    print("last run, seconds from its start (kernel start / first cell / last cell / HTML):")
    for name, t in manifest.get("notebooks", {}).items():
        print(f"  {name:<16} {t['started']:6.2f} {t['cells_started']:6.2f} "
              f"{t['finished']:6.2f} {t['rendered']:6.2f}")
    print(f"  total in-process {manifest.get('seconds', float('nan')):.2f} s")
    if ratio > 1.5:
        print("bench: missed goal: the default run within 1.5x of its floor", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
