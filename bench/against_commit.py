"""This checkout against an earlier commit: the default run and a province, side by side.

Issue 24's goal, measured in one sitting on one machine (never a timed unit test): against a
base commit, each command runs alternately (base, head, base, head, ...) ``--repeats`` times,
so a load that comes and goes touches both sides alike:

* the default run, ``evalkit run params/default.yaml``: wall time and CPU seconds (the
  process and its children: kernels, renderers), goal at most ``--goal`` (0.6) times the
  base's, both;
* a province of ``--counties`` (4) synthetic counties with full reports,
  ``evalkit province``: wall time, same goal.

The base commit gets its own git worktree and virtual environment in a private temporary
folder (removed at the end), built from its own Makefile (``make venv`` when it has that
target, else ``pip install -e .[test]``). The synthetic province is written once, by this
checkout's ``evalkit synth --province``, so both sides run the same data. Medians are
compared (the ratio of medians; the best of each side is printed beside it).

Whether a number changed is a separate question that this script does not answer by
comparing with the base: a round that changes estimates on purpose (issue 25's design as
drawn) makes the two sides differ. ``tests/test_prepared.py`` checks the speed-up's own
claim instead: the notebooks given the prepared inputs write the same tables as the same
notebooks reading the data themselves.

Usage: python bench/against_commit.py [--base 11b4f47] [--repeats 3] [--counties 4]
       [--skip-province] [--goal 0.6]
Exits non-zero when a ratio misses the goal.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BASE = "11b4f47"  # the commit issue 24 starts from


@dataclass
class Side:
    """One checkout: its root, its interpreter, and what was measured with it."""

    name: str
    root: Path
    python: Path
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _check(done: subprocess.CompletedProcess, what: str) -> None:
    if done.returncode != 0:
        tail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        raise SystemExit(f"bench: {what} failed (exit {done.returncode}): {' | '.join(tail)}")


def base_side(commit: str, scratch: Path) -> Side:
    """A worktree of ``commit`` with its own environment, under ``scratch``."""
    root = scratch / "base"
    _check(subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q",
                           str(root), commit], capture_output=True, text=True),
           f"git worktree add {commit}")
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    if "\nvenv:" in makefile or " venv " in makefile:
        _check(subprocess.run(["make", "-C", str(root), "venv"], capture_output=True, text=True),
               f"make venv at {commit}")
    else:
        subprocess.run([sys.executable, "-m", "venv", str(root / ".venv")], check=True)
        _check(subprocess.run([str(root / ".venv/bin/pip"), "install", "-q", "-e", ".[test]"],
                              cwd=root, capture_output=True, text=True), "pip install")
    return Side("base " + commit, root, root / ".venv" / "bin" / "python")


def timed(side: Side, key: str, argv: list[str], cwd: Path) -> None:
    """Run ``python -m evalkit ARGV`` with ``side``'s interpreter; record wall and CPU."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    t0, c0 = time.perf_counter(), _children_cpu()
    done = subprocess.run([str(side.python), "-m", "evalkit", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True)
    side.wall.setdefault(key, []).append(time.perf_counter() - t0)
    side.cpu.setdefault(key, []).append(_children_cpu() - c0)
    _check(done, f"{side.name}: evalkit {' '.join(argv[:2])}")


def synthetic_province(python: Path, counties: int, seed: int, out: Path) -> Path:
    """The province params file ``evalkit synth --province`` writes under ``out``."""
    _check(subprocess.run([str(python), "-m", "evalkit", "synth", "--province", str(counties),
                           "--seed", str(seed), "--out", str(out)],
                          capture_output=True, text=True), "evalkit synth --province")
    found = sorted(out.rglob("province*.yaml"))
    if not found:
        raise SystemExit(f"bench: evalkit synth --province wrote no province params in {out}")
    return found[0]


def ratio_line(label: str, base: list[float], head: list[float], goal: float) -> tuple[str, bool]:
    b, h = statistics.median(base), statistics.median(head)
    ok = h <= goal * b
    text = (f"{label:<34} base median {b:7.1f} s (best {min(base):6.1f})   "
            f"head median {h:7.1f} s (best {min(head):6.1f})   ratio {h / b:.2f}  "
            f"goal <= {goal:.2f}: {'met' if ok else 'MISSED'}")
    return text, ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default=BASE)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--goal", type=float, default=0.6)
    parser.add_argument("--skip-province", action="store_true")
    args = parser.parse_args()

    head = Side("head", REPO, Path(sys.executable))
    scratch = Path(tempfile.mkdtemp(prefix="evalkit-against-"))  # mode 0700
    try:
        print(f"building the environment of {args.base} ...", flush=True)
        base = base_side(args.base, scratch)
        params = {s.name: s.root / "params" / "default.yaml" for s in (base, head)}
        province = None
        if not args.skip_province:
            province = synthetic_province(head.python, args.counties, args.seed,
                                          scratch / "province")
        load = [os.getloadavg()[0]]
        for i in range(args.repeats):
            for side in (base, head):
                out = scratch / f"out-{side is head}"
                timed(side, "default run", ["run", str(params[side.name]), "--out", str(out),
                                            "-q"], side.root)
                if province is not None:
                    timed(side, "province", ["province", str(province), "--out", str(out),
                                             "-q"], side.root)
                shutil.rmtree(out, ignore_errors=True)
            print(f"round {i + 1} of {args.repeats} done", flush=True)
        load.append(os.getloadavg()[0])

        cores = os.cpu_count() or 1
        commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True).stdout.strip()
        print(f"\n{args.repeats} alternate rounds on {cores} cores, load average "
              f"{load[0]:.1f} before, {load[1]:.1f} after; base {args.base}, head {commit}")
        lines = [ratio_line("default run, wall", base.wall["default run"],
                            head.wall["default run"], args.goal),
                 ratio_line("default run, CPU (with children)", base.cpu["default run"],
                            head.cpu["default run"], args.goal)]
        if province is not None:
            lines.append(ratio_line(f"province of {args.counties}, full reports, wall",
                                    base.wall["province"], head.wall["province"], args.goal))
        for text, _ in lines:
            print(text)
        return 0 if all(ok for _, ok in lines) else 1
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                        str(scratch / "base")], capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
