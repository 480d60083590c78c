"""`evalkit province`: counties as Dask tasks, failure containment, resume, --scheduler."""

from __future__ import annotations

import gc
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit import synth
from evalkit.contract.errors import EvalkitError
from evalkit.report.province import RANKING_COLUMNS
from evalkit.run import cli
from evalkit.run.province import run_province
from evalkit.run.province_params import load_province

SEED = 20190815


@pytest.fixture(autouse=True)
def _collect_dask_event_loops():
    """distributed leaves an event loop to the garbage collector after a LocalCluster
    closes; collect it here, so its ResourceWarning does not land in a later test that
    records warnings."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _province(folder: Path, n: int, run_name: str = "prov") -> Path:
    synth.write_province_data(folder / "data", seed=SEED, n_counties=n)
    params = folder / "province.yaml"
    params.write_text(
        f"run_name: {run_name}\nseed: 7\nprovince:\n  name: Test province\n"
        "  counties_dir: data\n", encoding="utf-8")
    return params


def _corrupt(survey: Path) -> None:
    lines = survey.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    row = lines[3].split(",")
    row[header.index("weight")] = "heavy"
    lines[3] = ",".join(row)
    survey.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def tables_only_run(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("province")
    params = _province(folder, 4)
    out = folder / "out"
    code = cli.main(["province", str(params), "--out", str(out), "--workers", "2",
                     "--tables-only", "-q"])
    assert code == 0
    return params, out / "prov"


def test_province_wide_rates_carry_the_official_verdict(tables_only_run) -> None:
    """The province-wide rates show the official verdict (the pooled plain ratio against
    the line) beside how sure the sample is, as each county's cell does; and the run's
    summary says runs completed / runs failed, words no one reads as exit verdicts."""
    from evalkit.survey.decision import decide

    _, run_dir = tables_only_run
    rates = pd.read_csv(run_dir / "tables" / "province_rates.csv")
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    wide = page.split("Province-wide rates", 1)[1].split("</table>", 1)[0]
    assert "Official verdict (decides exit)" in wide and "How sure the sample is" in wide
    for row in rates.itertuples():
        # the plain rule, checked by hand: above the line fails a rate that must stay below
        worse = (row.official > row.threshold if row.direction == "below"
                 else row.official < row.threshold)
        official = "fail" if worse else "pass"
        assert row.official_decision == official
        assert f'data-indicator="{row.indicator}" data-official="{official}"' in wide
        assert f"{row.official * 100:.2f}%" in wide
        sample = decide((row.ci_low, row.ci_high), row.threshold, row.direction)
        assert row.decision == sample
        assert (f'data-indicator="{row.indicator}" '
                f'data-decision="{sample.replace(" ", "_")}"') in wide
    assert "4 counties: 4 runs completed, 0 runs failed (a run error" in page


def test_province_file_is_validated(tmp_path: Path) -> None:
    params = tmp_path / "p.yaml"
    params.write_text("province:\n  name: x\n  counties_dir: nowhere\n", encoding="utf-8")
    with pytest.raises(EvalkitError, match="counties_dir: folder not found"):
        load_province(params)
    params.write_text("levell: 0.9\nprovince:\n  name: x\n  counties_dir: .\n",
                      encoding="utf-8")
    with pytest.raises(EvalkitError, match="unknown key 'levell'"):
        load_province(params)
    params.write_text("province:\n  name: x\n  counties:\n    - {name: a, frame: f.csv, "
                      "survey: s.csv}\n", encoding="utf-8")
    spec = load_province(params)
    assert spec.counties[0].problem is not None and "not found" in spec.counties[0].problem


def test_counties_dir_lists_counties_in_reading_order(tmp_path: Path) -> None:
    """Digit runs count as numbers: county_9 before county_10 before county_100."""
    for name in ("county_100", "county_10", "county_9", "县10", "县2", ".hidden"):
        (tmp_path / "data" / name).mkdir(parents=True)
    (tmp_path / "data" / "a_file.csv").write_text("x\n", encoding="utf-8")
    params = tmp_path / "p.yaml"
    params.write_text("province:\n  name: x\n  counties_dir: data\n", encoding="utf-8")
    names = [c.name for c in load_province(params).counties]
    assert names == ["county_9", "county_10", "county_100", "县2", "县10"]


def test_tables_only_ranking_and_rates(tables_only_run) -> None:
    _, run_dir = tables_only_run
    ranking = pd.read_csv(run_dir / "tables" / "province_ranking.csv")
    assert tuple(ranking.columns) == RANKING_COLUMNS
    assert len(ranking) == 4 * 4
    for _, part in ranking.groupby("indicator"):
        assert sorted(part["county"]) == [f"county_{k:02d}" for k in range(1, 5)]
        assert (part["rank_low"] <= part["rank"]).all()
        assert (part["rank"] <= part["rank_high"]).all()
        assert (part["rank_low_simultaneous"] <= part["rank_low"]).all()
        assert (part["rank_high"] <= part["rank_high_simultaneous"]).all()
        # rank 1 = the largest estimate
        assert part.loc[part["estimate"].idxmax(), "rank"] == 1
    rates = pd.read_csv(run_dir / "tables" / "province_rates.csv")
    assert rates["indicator"].tolist() == ["wrong_exit", "missed", "incidence", "recognition"]
    assert (rates["counties"] == 4).all()
    assert (rates["ci_low"] < rates["estimate"]).all()
    assert (rates["estimate"] < rates["ci_high"]).all()
    # counties are strata: df = villages - counties
    villages = sum(pd.read_csv(p)["village"].nunique() for p in
                   sorted((run_dir.parents[1] / "data").glob("county_*/survey.csv")))
    assert rates.loc[rates["indicator"] == "recognition", "df"].item() == villages - 4
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "Test province" in page and "Simultaneous set" in page
    assert "http://" not in page and "https://" not in page
    # Every table in the province's and a county's manifest names the function that made it.
    import importlib

    for manifest_path in (run_dir / "manifest.json",
                          run_dir / "counties" / "county_01" / "manifest.json"):
        entries = json.loads(manifest_path.read_text(encoding="utf-8"))["tables"]
        assert entries
        for rel, entry in entries.items():
            assert len(entry["sha256"]) == 64, rel
            module, name = entry["producer"].rsplit(".", 1)
            assert callable(getattr(importlib.import_module(module), name)), rel


def test_the_technical_notebook_runs_on_a_folder_with_its_manifest(tables_only_run, tmp_path,
                                                                  monkeypatch) -> None:
    """06_province reads the run through manifest.json (load_run): a full run must write the
    manifest before it executes the notebook (a first run once found none and failed)."""
    import evalkit.run.province_outputs as outputs
    from evalkit.report.province import load_run
    from evalkit.run.province import CountyStatus

    params, run_dir = tables_only_run
    run = tmp_path / "prov"
    shutil.copytree(run_dir / "counties", run / "counties")
    seen = []

    def notebook(folder: Path, lang: str, notebooks_dir: Path, progress) -> None:
        seen.append(load_run(folder).name)  # what the notebook's first cells do

    monkeypatch.setattr(outputs, "_run_province_notebook", notebook)
    statuses = [CountyStatus(p.name, "done") for p in sorted((run / "counties").iterdir())]
    outputs.write_province_outputs(load_province(params), run, statuses, {},
                                   tables_only=False, notebook=True,
                                   notebooks_dir=Path("notebooks"), progress=lambda _m: None)
    assert seen == [load_province(params).name]


def test_tables_only_matches_the_indicator_computation(tables_only_run) -> None:
    """The county table is exactly what notebook 02's code writes for that county."""
    from evalkit.assessment import indicators
    from evalkit.assessment import inputs as assessment
    from evalkit.report.formatting import rounded

    params, run_dir = tables_only_run
    data = params.parent / "data" / "county_02"
    spec = load_province(params)
    assert spec.values["calibration"]["method"] != "none"  # the default: calibrated weights
    inputs = assessment.load_inputs({"frame": str(data / "frame.csv"),
                                     "survey": str(data / "survey.csv")},
                                    {"psu": "village", "weights": "weight"},
                                    calibration=spec.values["calibration"])
    results = indicators.assess(inputs.design, inputs.frame, spec.values["thresholds"],
                                method=spec.values["ci_method"], level=spec.values["level"])
    expected = rounded(indicators.indicator_table(results), 10).to_csv(index=False).encode()
    got = (run_dir / "counties" / "county_02" / "tables" / "indicators.csv").read_bytes()
    assert got == expected


def test_failure_is_contained_named_and_a_rerun_resumes(tmp_path: Path, capsys) -> None:
    params = _province(tmp_path, 3, run_name="broken")
    _corrupt(tmp_path / "data" / "county_02" / "survey.csv")
    out = tmp_path / "out"
    args = ["province", str(params), "--out", str(out), "--workers", "2", "--tables-only"]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert "county_02: FAILED" in err and "weight" in err
    assert "1 of 3 county runs failed (run errors, not exit verdicts): county_02" in err
    assert "Traceback" not in err
    run_dir = out / "broken"
    status = pd.read_csv(run_dir / "tables" / "province_status.csv")
    assert status.set_index("county")["status"].to_dict() == {
        "county_01": "done", "county_02": "failed", "county_03": "done"}
    ranking = pd.read_csv(run_dir / "tables" / "province_ranking.csv")
    assert set(ranking["county"]) == {"county_01", "county_03"}
    page = (run_dir / "index.html").read_text(encoding="utf-8")
    assert "Counties that could not be run" in page and "county_02" in page
    first = (run_dir / "counties" / "county_01" / "manifest.json").stat().st_mtime_ns

    # Fix the file: only county_02 runs again.
    synth.write_province_data(tmp_path / "data", seed=SEED, n_counties=3)
    assert cli.main(args) == 0
    err = capsys.readouterr().err
    assert "3 counties, 2 unchanged since the last run, 1 to run" in err
    assert (run_dir / "counties" / "county_01" / "manifest.json").stat().st_mtime_ns == first
    assert (run_dir / "counties" / "county_02" / "tables" / "indicators.csv").is_file()
    ranking = pd.read_csv(run_dir / "tables" / "province_ranking.csv")
    assert len(ranking) == 3 * 4


def _wait_for_file(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.is_file() or not path.read_text().strip():
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} not written in {seconds} s")
        time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def test_external_scheduler_gives_the_local_outputs(tmp_path: Path, tables_only_run) -> None:
    """A `dask scheduler` and a `dask worker` in another folder: same outputs as local."""
    params, local_dir = tables_only_run
    bin_dir = Path(sys.executable).parent
    scheduler_file = tmp_path / "scheduler.json"
    worker_cwd = tmp_path / "elsewhere"
    worker_cwd.mkdir()
    env = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
    scheduler = subprocess.Popen(
        [str(bin_dir / "dask"), "scheduler", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    worker = None
    try:
        _wait_for_file(scheduler_file, scheduler)
        worker = subprocess.Popen(
            [str(bin_dir / "dask"), "worker", "--scheduler-file", str(scheduler_file),
             "--nthreads", "1", "--nworkers", "1", "--no-dashboard"],
            cwd=worker_cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        address = json.loads(scheduler_file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=120)
        out = tmp_path / "out"
        code = cli.main(["province", str(params), "--out", str(out), "--scheduler", address,
                         "--tables-only", "-q"])
        assert code == 0
        remote_dir = out / "prov"
        for rel in ("tables/province_ranking.csv", "tables/province_indicators.csv",
                    "tables/province_rates.csv", "index.html",
                    *(f"counties/county_{k:02d}/tables/indicators.csv" for k in range(1, 5))):
            assert (remote_dir / rel).read_bytes() == (local_dir / rel).read_bytes(), rel
        # the worker wrote nothing in its own folder
        assert list(worker_cwd.iterdir()) == []
    finally:
        for process in (worker, scheduler):
            if process is not None:
                _stop(process)


@pytest.mark.slow
def test_full_province_tables_equal_separate_runs(tmp_path: Path) -> None:
    """Each county's tables from the province run are the bytes of its own `evalkit run`."""
    params = _province(tmp_path, 4, run_name="full")
    out = tmp_path / "out"
    result = run_province(params, out, workers=2, notebook=False)
    # A synthetic county may still fail a notebook (sparse cells); it must be named, and the
    # others compared. At least three of the four must run.
    failed = {s.name: s.error for s in result.failed}
    assert len(failed) <= 1, failed
    assert all(error and "notebook" in error for error in failed.values())
    from evalkit.run.pipeline import run

    spec = load_province(params)
    for county in spec.counties:
        if county.name in failed:
            continue
        single = tmp_path / "single" / county.name
        single.mkdir(parents=True)
        shutil.copyfile(county.frame, single / "frame.csv")
        shutil.copyfile(county.survey, single / "survey.csv")
        values = dict(spec.values, run_name=county.name,
                      data={"frame": "frame.csv", "survey": "survey.csv"})
        import yaml

        (single / "params.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
        alone = run(single / "params.yaml", tmp_path / "single-out", progress=None)
        mine = out / "full" / "counties" / county.name
        tables = sorted(p.relative_to(alone.run_dir) for p in
                        (alone.run_dir / "tables").rglob("*") if p.is_file())
        assert tables
        for rel in tables:
            assert (mine / rel).read_bytes() == (alone.run_dir / rel).read_bytes(), rel
        assert (mine / "04_summary.html").is_file()
        # The manifest names the county's own files and the client's code, not the worker's
        # temporary copies.
        manifest = json.loads((mine / "manifest.json").read_text(encoding="utf-8"))
        own = json.loads((alone.run_dir / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["inputs"]["data.survey"]["path"] == str(county.survey)
        assert manifest["inputs"]["data.frame"]["path"] == str(county.frame)
        assert manifest["git"] == own["git"]
        assert manifest["inputs"]["data.survey"]["sha256"] == own["inputs"]["data.survey"][
            "sha256"]


def test_province_page_in_chinese_marks_failures_offline() -> None:
    from evalkit.report.province import province_page, ranking_table
    from evalkit.run.province import CountyStatus

    rows = []
    for k, (wrong, se) in enumerate([(0.03, 0.004), (0.01, 0.003), (0.02, 0.004)], start=1):
        rows.append({"county": f"c{k}", "indicator": "wrong_exit", "estimate": wrong, "se": se,
                     "ci_low": wrong - 2 * se, "ci_high": wrong + 2 * se, "threshold": 0.02,
                     "decision": "cannot tell"})
    indicators = pd.DataFrame(rows)
    ranking = ranking_table(indicators, seed=1)
    statuses = [CountyStatus("c1", "done"), CountyStatus("c2", "done"),
                CountyStatus("c3", "done"), CountyStatus("c4", "failed", "survey.csv: bad")]
    page = province_page(name="某省", lang="zh", level=0.95, thresholds={"wrong_exit": 0.02},
                         statuses=statuses, indicators=indicators, ranking=ranking, rates=None,
                         tables=["tables/province_ranking.csv"], county_links=True,
                         technical_href=None)
    assert "全省评估" in page and "未能运行的县" in page and "survey.csv: bad" in page
    assert "联合置信集" in page and '<svg class="ek-forest"' in page
    assert "<script" not in page and "https://" not in page


def county_indicator_rows(rng: np.random.Generator, counties: list[str],
                          keys: tuple[str, ...], *, low: float, high: float, se: float,
                          fail_above: float) -> list[dict]:
    """Indicator rows of made-up counties: estimates uniform on [low, high], intervals of
    +-2 se, "fail" above ``fail_above`` (a province page's input without running counties)."""
    return [{"county": county, "indicator": key, "estimate": e, "se": se,
             "ci_low": e - 2 * se, "ci_high": e + 2 * se,
             "decision": "fail" if e > fail_above else "pass"}
            for key in keys for county, e in zip(counties, rng.uniform(low, high, len(counties)),
                                                 strict=True)]


def test_forest_plots_are_inline_svg_sorted_with_threshold_and_verdict_colours() -> None:
    """The page's forest plots are text (searchable, sharp when printed): one row per
    rankable county, largest estimate first, coloured by verdict, with the threshold line;
    a county without an estimate has no row, and the page embeds its own font."""
    import re

    from evalkit.report.province import province_page, ranking_table
    from evalkit.report.verdicts import STATUS_COLOURS
    from evalkit.run.province import CountyStatus

    rows = county_indicator_rows(np.random.default_rng(5), [f"c{k}" for k in range(1, 7)],
                                 ("wrong_exit", "recognition"), low=0.1, high=0.9, se=0.01,
                                 fail_above=0.5)
    rows.append({"county": "c7", "indicator": "wrong_exit", "estimate": np.nan, "se": np.nan,
                 "ci_low": np.nan, "ci_high": np.nan, "decision": ""})
    indicators = pd.DataFrame(rows)
    page = province_page(name="p", lang="en", level=0.95,
                         thresholds={"wrong_exit": 0.02, "recognition": 0.9},
                         statuses=[CountyStatus(f"c{k}", "done") for k in range(1, 8)],
                         indicators=indicators, ranking=ranking_table(indicators, seed=3),
                         rates=None, tables=[], county_links=False, technical_href=None)
    svgs = re.findall(r'<svg class="ek-forest".*?</svg>', page)
    assert len(svgs) == 2 and "data:image/png" not in page
    wrong_exit = svgs[0]
    shown = re.findall(r"<g><title>(c\d): ([\d.]+)%", wrong_exit)
    part = indicators[(indicators["indicator"] == "wrong_exit") & indicators["se"].notna()]
    expected = part.sort_values("estimate", ascending=False)["county"].tolist()
    assert [county for county, _ in shown] == expected
    assert [float(v) for _, v in shown] == sorted((float(v) for _, v in shown), reverse=True)
    assert "c7" not in wrong_exit
    assert "Threshold 2%" in wrong_exit and 'stroke-dasharray="4 3"' in wrong_exit
    fails = (part["decision"] == "fail").sum()
    assert wrong_exit.count(f'stroke="{STATUS_COLOURS["fail"]}" stroke-width="2"') == fails
    assert "@font-face" in page and "data:font/woff2;base64," in page
    assert "<script" not in page and "https://" not in page


def test_axis_ticks_are_round_steps_inside_the_scale() -> None:
    from evalkit.report.charts import axis_ticks

    assert axis_ticks(0.0, 0.04) == [0.0, 0.01, 0.02, 0.03, 0.04]
    assert axis_ticks(0.75, 1.0) == [0.75, 0.8, 0.85, 0.9, 0.95, 1.0]
    assert axis_ticks(0.84, 1.0) == [0.85, 0.9, 0.95, 1.0]
    assert axis_ticks(0.0, 0.015) == [0.0, 0.005, 0.01, 0.015]


@pytest.mark.parametrize("method,totals", [
    ("poststratify", None),
    pytest.param("linear", ["hh_exited", "hh_not_exited", "hh_nonregistered", "people_exited"],
                 marks=pytest.mark.slow),
    pytest.param("raking", ["hh_registered", "hh_nonregistered", "people_not_exited"],
                 marks=pytest.mark.slow),
])
def test_province_rates_use_each_countys_calibrated_weights(tmp_path: Path, method: str,
                                                            totals: list[str] | None) -> None:
    """Calibrating the stacked design within counties gives every household the weight its
    county's own calibrated run gives it, so the province-wide rates are those of the
    counties' own designs put together."""
    import copy

    from evalkit.assessment.county_totals import DEFAULT_FRAME_TOTALS, frame_calibration
    from evalkit.assessment.inputs import load_inputs
    from evalkit.report.province import province_rates, stacked_design
    from evalkit.run.params import DEFAULTS
    from evalkit.run.province import CountyJob, inspect_county

    written = synth.write_province_data(tmp_path / "data", seed=77, n_counties=3)
    values = copy.deepcopy(DEFAULTS)
    values["calibration"] = {"method": method, "totals": totals}
    inspections, own = [], []
    for k, paths in enumerate(written.values(), start=1):
        county = dict(values, run_name=f"c{k}", data={"frame": "frame.csv",
                                                    "survey": "survey.csv"})
        job = CountyJob(f"c{k}", county, {"frame.csv": paths["frame"].read_bytes(),
                                          "survey.csv": paths["survey"].read_bytes()},
                        tables_only=True)
        inspections.append(inspect_county(job))
        assert inspections[-1].problem is None
        alone = load_inputs({"frame": str(paths["frame"]), "survey": str(paths["survey"])},
                            values["design"], paths["frame"].parent, values["calibration"])
        own.append(alone.design.weight_values)
    design, frame = stacked_design(inspections, values["design"])
    stacked = frame_calibration(design, frame, method, totals or DEFAULT_FRAME_TOTALS,
                                by="_county")
    np.testing.assert_allclose(stacked.weight_values, np.concatenate(own), rtol=1e-9)
    assert not np.allclose(design.weight_values, stacked.weight_values)
    rates = province_rates(inspections, values).set_index("indicator")
    data = stacked.data
    w = stacked.weight_values
    exited = data["exited"].to_numpy(float) == 1
    size = data["household_size"].to_numpy(float)
    wrong = data["people_wrongly_exited"].to_numpy(float)
    expected = (w * wrong)[exited].sum() / (w * size)[exited].sum()
    assert rates.loc["wrong_exit", "estimate"] == pytest.approx(expected, rel=1e-12)


def test_interval_plot_refuses_colours_that_do_not_match_the_rows() -> None:
    from evalkit.report import plots

    with pytest.raises(ValueError, match="2 colours for 3 rows"):
        plots.interval_plot(["a", "b", "c"], [0.1, 0.2, 0.3], [0.0, 0.1, 0.2],
                            [0.2, 0.3, 0.4], title="t", colours=["#000", "#111"])


def _ranking_of(values: dict[str, list[float]], se: float = 1e-5) -> pd.DataFrame:
    from evalkit.report.province import ranking_table

    rows = [{"county": f"c{i}", "indicator": key, "estimate": v, "se": se,
             "ci_low": v - 2 * se, "ci_high": v + 2 * se, "decision": "cannot tell"}
            for key, series in values.items() for i, v in enumerate(series, start=1)]
    return ranking_table(pd.DataFrame(rows), seed=1)


def test_the_worst_end_of_the_ranks_follows_each_indicator() -> None:
    """Rank 1 is the largest value: the worst wrong-exit rate, but the best recognition.
    With tiny standard errors the simultaneous sets are points, so the counties surely in
    the five worst are exactly the five highest wrong-exit rates and the five lowest
    recognition rates, and the page's words say which end is worst."""
    from evalkit.report.province import rank_order_text, surely_worst, worst_text

    values = {"wrong_exit": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07],
              "recognition": [0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97]}
    ranking = _ranking_of(values)
    assert surely_worst(ranking, "wrong_exit", "below") == ["c3", "c4", "c5", "c6", "c7"]
    assert surely_worst(ranking, "recognition", "at_least") == ["c1", "c2", "c3", "c4", "c5"]
    assert worst_text(ranking, "wrong_exit", "en") == (
        "Surely among the 5 worst (the highest wrong-exit rate): c3, c4, c5, c6, c7.")
    assert worst_text(ranking, "recognition", "en") == (
        "Surely among the 5 worst (the lowest recognition rate): c1, c2, c3, c4, c5.")
    assert worst_text(ranking, "recognition", "zh") == (
        "确定位于最差 5 名之内（群众认可度最低）：c1、c2、c3、c4、c5。")
    assert "the worst" in rank_order_text("wrong_exit", 7, "en")
    assert rank_order_text("recognition", 7, "en") == (
        "Rank 1 is the county with the highest recognition rate, the best; the 5 worst are "
        "the lowest, ranks 3 to 7.")
    # Swap the order: the sets and the words follow the numbers.
    flipped = _ranking_of({"recognition": values["recognition"][::-1]})
    assert worst_text(flipped, "recognition", "en").endswith("c3, c4, c5, c6, c7.")
    # Five counties or fewer: every one is among the five worst; say so, name none.
    few = _ranking_of({"recognition": [0.91, 0.95, 0.97]})
    assert worst_text(few, "recognition", "en") == (
        "With 3 counties, every county is among the 5 worst: the sets cannot single any out.")


def test_province_page_words_come_from_the_locale_files() -> None:
    from evalkit.report import i18n
    from evalkit.report.province import province_page
    from evalkit.run.province import CountyStatus

    ranking = _ranking_of({"wrong_exit": [0.01, 0.02, 0.03, 0.04, 0.05, 0.06],
                           "recognition": [0.91, 0.92, 0.93, 0.94, 0.95, 0.96]})
    indicators = ranking[["county", "indicator", "estimate", "ci_low", "ci_high",
                          "decision"]].copy()
    statuses = [CountyStatus(f"c{i}", "done") for i in range(1, 7)]
    pages = {}
    for lang in ("zh", "en"):
        page = pages[lang] = province_page(name="某省", lang=lang, level=0.95,
                             thresholds={"wrong_exit": 0.02, "recognition": 0.9},
                             statuses=statuses, indicators=indicators, ranking=ranking,
                             rates=None, tables=[], county_links=False, technical_href=None)
        assert i18n.text("status.cannot_tell", lang) in page  # the county pages' word
        assert i18n.text("province.ranking_note", lang, level="95%", k=5).replace(
            '"', "&quot;").replace("'", "&#x27;") in page
        assert i18n.text("province.status.done", lang) in page
    assert "无法判定" not in pages["zh"] and "无法判断" in pages["zh"]
    assert "Rank 1 is the county with the highest recognition rate, the best" in pages["en"]
    # Wide tables scroll inside their own box on a phone, not the whole page.
    assert pages["zh"].count('<div class="table-wrap"><table>') == pages["zh"].count("<table>")


def test_county_indicator_tables_read_as_one_equal_reading_each(tmp_path: Path) -> None:
    """The county tables are parsed in one pass; the result must be that of reading each
    file, with quoted notes holding commas and line breaks, and with a county whose table
    has other columns (then each file is read on its own)."""
    from evalkit.report.province import HEADLINE, read_county_indicators

    header = "indicator,estimate,se,decision,note\n"
    files = {
        "a": header + 'wrong_exit,0.02,0.005,pass,"no events, so Korn-Graubard"\n'
                      "missed,0.01,0.002,pass,\nother,1,1,,\n",
        "b": header + 'wrong_exit,0.03,0.006,fail,"two\nlines"\nrecognition,0.9,0.01,pass,\n',
        "c": header + "incidence,0.015,0.003,cannot tell,\n",
    }
    for name, text in files.items():
        folder = tmp_path / name / "tables"
        folder.mkdir(parents=True)
        (folder / "indicators.csv").write_text(text, encoding="utf-8")

    def each(names: list[str]) -> pd.DataFrame:
        parts = [pd.read_csv(tmp_path / n / "tables" / "indicators.csv").assign(county=n)
                 for n in names]
        out = pd.concat(parts, ignore_index=True)
        out = out[out["indicator"].isin(HEADLINE)].reset_index(drop=True)
        return out[["county", "indicator", "estimate", "se", "decision"]]

    names = ["a", "b", "c"]
    got = read_county_indicators(tmp_path, names)
    pd.testing.assert_frame_equal(got, each(names))
    assert got["county"].tolist() == ["a", "a", "b", "b", "c"]
    (tmp_path / "c" / "tables" / "indicators.csv").write_text(
        "indicator,estimate,se,decision\nincidence,0.015,0.003,pass\n", encoding="utf-8")
    pd.testing.assert_frame_equal(read_county_indicators(tmp_path, names), each(names))


def test_a_county_without_events_is_ranked_with_its_interval_not_as_exact() -> None:
    """A zero proportion has a linearized SE of 0; ranked with it, the county would be
    'surely below' a county whose estimate lies inside its own Korn-Graubard interval."""
    from evalkit.report.province import rank_indicator, ranking_se

    part = pd.DataFrame({
        "county": ["none", "low", "high"], "estimate": [0.0, 0.008, 0.05],
        "se": [0.0, 0.002, 0.006], "ci_low": [0.0, 0.004, 0.039],
        "ci_high": [0.012, 0.012, 0.063], "decision": ["pass", "pass", "fail"]})
    se = ranking_se(part, 0.95)
    assert se[0] == pytest.approx(0.012 / 1.959963984540054) and list(se[1:]) == [0.002, 0.006]
    ranked = rank_indicator(part, "wrong_exit", 0.95, seed=1).set_index("county")
    assert ranked.loc["none", "rank"] == 3
    assert ranked.loc["none", "rank_low"] == 2 and ranked.loc["none", "rank_high"] == 3
    assert ranked.loc["high", "rank_high"] == 1  # still surely the highest
    # with the linearized SE of 0 the county would be surely the lowest (a point set)
    from evalkit.survey.ranking import rank_confidence_sets

    naive = rank_confidence_sets(part["estimate"], part["se"], simultaneous=False, seed=1)
    assert naive.loc[0, "rank_low"] == naive.loc[0, "rank_high"] == 3
    # an interval of zero width stays exact
    exact = part.assign(ci_high=[0.0, 0.012, 0.063])
    assert ranking_se(exact, 0.95)[0] == 0.0
