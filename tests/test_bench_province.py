"""bench/province_timing.py off Linux: without ``os.sched_setaffinity`` (macOS) the one-core
run is skipped with a printed note and recorded as skipped, instead of crashing.

Nothing is timed here: the province and the timed run are replaced by stand-ins, so only
the script's own bookkeeping (which runs, what the JSON and the README say) is exercised.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "province_timing.py"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("province_timing_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(calls: list[dict[str, Any]]):
    """A stand-in for one timed province run that records how it was asked to run."""
    def timed_here(run_province: Any, params: Path, out: Path, workers: int,
                   tables_only: bool, cores: int) -> dict[str, Any]:
        calls.append({"workers": workers, "tables_only": tables_only, "cores": cores})
        seconds = 100.0 if workers == 1 else 60.0
        return {"seconds": seconds, "cores": cores, "cpu_seconds": 110.0, "efficiency": 0.9,
                "failed": 0, "cluster_start_seconds": 1.0, "after_last_county_seconds": 3.0,
                "median_task_seconds": 5.0, "load_before": 0.1, "load_after": 0.2}
    return timed_here


def test_without_affinity_the_one_core_run_is_skipped_and_recorded(
        bench, monkeypatch, tmp_path, capsys):
    for name in ("sched_getaffinity", "sched_setaffinity"):
        monkeypatch.delattr(os, name, raising=False)
    assert not bench._can_hold_cores()
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(bench, "_timed_here", fake_run(calls))
    monkeypatch.setattr(bench, "_province", lambda folder, n: folder / "province.yaml")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{bench.BEGIN}\nold\n{bench.END}\nend\n", encoding="utf-8")
    out = tmp_path / "province.json"
    monkeypatch.setattr(sys, "argv", ["province_timing.py", "--tables", "0", "--full", "4",
                                      "--json", str(out), "--readme", str(readme)])

    assert bench.main() == 0

    printed = capsys.readouterr().out
    assert "1 worker held to 1 core: skipped" in printed
    assert "os.sched_setaffinity" in printed
    figures = json.loads(out.read_text(encoding="utf-8"))
    runs = figures["full"]["runs"]
    assert runs["1_worker_1_core"] == {"skipped": bench.NO_AFFINITY}
    assert set(runs) == {"1_worker_1_core", "1_worker_2_cores", "2_workers_2_cores"}
    assert figures["full"]["speedup_cores"] is None
    assert figures["full"]["speedup_workers"] == pytest.approx(100 / 60, abs=0.01)
    # The other runs were timed, unheld, on every core.
    assert [c["workers"] for c in calls] == [1, 2]
    assert {c["cores"] for c in calls} == {os.cpu_count() or 1}
    # The projection comes from the one-worker run that was measured.
    assert figures["projection"]["seconds_per_county_one_worker"] == pytest.approx(24.0)
    text = readme.read_text(encoding="utf-8")
    assert "| 4 counties with full reports, 1 worker held to 1 core | skipped:" in text
    assert "speed-up of 2 cores over 1" not in text
    # Asking for a held run anyway is a clear error, not an AttributeError.
    with pytest.raises(RuntimeError, match="sched_setaffinity"):
        bench._timed(tmp_path / "p.yaml", tmp_path / "o", 1, False, {0})


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux only")
def test_with_affinity_the_one_core_run_is_held_to_one_core(bench, monkeypatch, tmp_path):
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(bench, "_timed_here", fake_run(calls))
    monkeypatch.setattr(bench, "_province", lambda folder, n: folder / "province.yaml")
    held: list[set[int]] = []
    monkeypatch.setattr(os, "sched_setaffinity", lambda pid, cpus: held.append(set(cpus)))
    out = tmp_path / "province.json"
    monkeypatch.setattr(sys, "argv", ["province_timing.py", "--tables", "0", "--full", "4",
                                      "--no-one-worker-two-cores", "--json", str(out)])
    assert bench.main() == 1  # 100 s / 60 s = 1.67x misses the 1.8x goal
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["full"]["speedup_cores"] == pytest.approx(1.67)
    assert [c["cores"] for c in calls] == [1, len(os.sched_getaffinity(0))]
    assert len(held[0]) == 1 and held[1] == os.sched_getaffinity(0)
