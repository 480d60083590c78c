"""`evalkit province` with real microdata and real clusters (issue 21): private staging that
never holds identifying columns and is gone after any exit, signals included; a scheduler
that never answers; hostile options, folders and names; a run folder published whole."""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from evalkit import synth
from evalkit.contract import data
from evalkit.contract.errors import EvalkitError
from evalkit.run import cli
from evalkit.run.province_params import MAX_COUNTIES, load_province
from evalkit.run.staging import STAGING_PREFIX, TASK_PREFIX, without_identifiers

SEED = 20190815
IDENTIFYING = ("name", "id_number", "phone")


@pytest.fixture(autouse=True)
def _collect_dask_event_loops():
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _province(folder: Path, n: int, run_name: str = "prov") -> Path:
    synth.write_province_data(folder / "data", seed=SEED, n_counties=n)
    params = folder / "province.yaml"
    params.write_text(f"run_name: {run_name}\nseed: 7\nprovince:\n  name: Test province\n"
                      "  counties_dir: data\n", encoding="utf-8")
    return params


# --- identifying columns never leave the client -------------------------------------------


def _same_cells(original: Path, stripped: bytes, suffix: str, tmp_path: Path) -> None:
    copy = tmp_path / f"stripped{suffix}"
    copy.write_bytes(stripped)
    before, problems = data.read_file(original)
    after, problems_after = data.read_file(copy)
    assert not problems and not problems_after
    pd.testing.assert_frame_equal(before.data, after.data)
    assert after.dropped == []


def test_identifying_columns_are_removed_in_every_format(tmp_path):
    synth.write_province_data(tmp_path / "data", seed=SEED, n_counties=1)
    survey = tmp_path / "data" / "county_01" / "survey.csv"
    table = pd.read_csv(survey, dtype=str, keep_default_na=False)
    assert set(IDENTIFYING) <= set(table.columns)
    names = set(table["name"])

    stripped, removed = without_identifiers("survey.csv", survey.read_bytes())
    assert removed == list(IDENTIFYING)
    assert not any(n.encode() in stripped for n in list(names)[:100])
    _same_cells(survey, stripped, ".csv", tmp_path)

    # GBK, Chinese headers, semicolons, CRLF: the encoding and the layout are kept.
    chinese = table.rename(columns={"name": "户主姓名", "id_number": "身份证号",
                                    "phone": "联系电话"})
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(chinese.to_csv(index=False, sep=";", lineterminator="\r\n")
                    .encode("gb18030"))
    stripped, removed = without_identifiers("survey.csv", gbk.read_bytes())
    assert removed == ["户主姓名", "身份证号", "联系电话"]
    assert stripped.decode("gb18030").splitlines()[0].count(";") == len(table.columns) - 4
    assert b"\r\n" in stripped
    _same_cells(gbk, stripped, ".csv", tmp_path)

    xlsx = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(xlsx) as writer:
        table.to_excel(writer, index=False, sheet_name="survey")
        table[["name", "phone"]].to_excel(writer, index=False, sheet_name="contacts")
    stripped, removed = without_identifiers("survey.xlsx", xlsx.read_bytes())
    assert removed == list(IDENTIFYING)
    assert pd.ExcelFile(io.BytesIO(stripped)).sheet_names == ["survey"]
    _same_cells(xlsx, stripped, ".xlsx", tmp_path)

    parquet = tmp_path / "survey.parquet"
    table.to_parquet(parquet)
    stripped, removed = without_identifiers("survey.parquet", parquet.read_bytes())
    assert removed == list(IDENTIFYING)
    _same_cells(parquet, stripped, ".parquet", tmp_path)

    clean = table.drop(columns=list(IDENTIFYING)).to_csv(index=False).encode()
    assert without_identifiers("survey.csv", clean) == (clean, [])
    with pytest.raises(EvalkitError, match="UTF-8 or GBK"):
        without_identifiers("survey.csv", "村,姓名\n".encode("utf-16"))


def test_jobs_carry_no_identifying_column_but_name_the_users_file(tmp_path):
    from evalkit.run import province
    from evalkit.run.county_task import sha256_bytes

    params = _province(tmp_path, 2)
    spec = load_province(params)
    statuses: dict = {}
    jobs = province._county_jobs(spec, {}, tmp_path, True, "code", None, statuses,
                                 tmp_path)
    assert not statuses and len(jobs) == 2
    for county in spec.counties:
        job = jobs[county.name]
        header = job.files["survey.csv"].split(b"\n", 1)[0].decode().split(",")
        assert not set(IDENTIFYING) & set(header)
        key = job.cache_key("code")
        assert key["inputs"]["data.survey"] == sha256_bytes(county.survey.read_bytes())


# --- private staging, removed after every exit, signals included ----------------------------


def _staged(tmp: Path) -> list[Path]:
    return sorted(tmp.glob(f"{STAGING_PREFIX}*/{TASK_PREFIX}*/notebooks"))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_staging_is_private_and_gone_after_a_signal(tmp_path, stop):
    """A real `evalkit province` in a subprocess, stopped while a county's notebooks run."""
    params = _province(tmp_path, 1, run_name="signalled")
    names = set(pd.read_csv(tmp_path / "data" / "county_01" / "survey.csv")["name"])
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "province", str(params), "--out", str(out),
         "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while not _staged(tmp):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no county was staged in 240 s"
            time.sleep(0.2)
        task = _staged(tmp)[0].parent
        root = task.parent
        for folder in (root, task):
            mode = stat.S_IMODE(folder.stat().st_mode)
            assert mode == 0o700, (folder, oct(mode))
        survey = next(task.glob("inputs/survey.*"))
        assert not set(IDENTIFYING) & set(survey.read_text().splitlines()[0].split(","))
        time.sleep(1.0)  # the kernels are starting
        process.send_signal(stop)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 128 + stop, err
    assert b"Traceback" not in err, err.decode()
    assert not list(tmp.glob(f"{STAGING_PREFIX}*")) and not list(tmp.rglob(f"{TASK_PREFIX}*"))
    leftovers = [p for p in tmp.rglob("*") if p.is_file()]
    for path in leftovers:  # kernels' connection files may stay; no microdata may
        content = path.read_bytes()
        assert not any(n.encode() in content for n in list(names)[:50]), path
    assert not (out / "signalled").exists()
    assert not list(out.glob(".*partial*")) if out.exists() else True


# --- the network: a scheduler that never answers, and bad addresses --------------------------


@pytest.fixture
def silent_scheduler():
    """A socket that accepts connections and never replies."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


@pytest.mark.parametrize("how", ["env", "option"])
def test_a_silent_scheduler_fails_in_one_line_within_the_timeout(tmp_path, capsys,
                                                                 monkeypatch,
                                                                 silent_scheduler, how):
    params = _province(tmp_path, 1)
    args = ["province", str(params), "--out", str(tmp_path / "out"), "--tables-only",
            "--scheduler", silent_scheduler]
    if how == "env":
        monkeypatch.setenv("EVALKIT_NETWORK_TIMEOUT", "1.5")
    else:
        args += ["--timeout", "1.5"]
    started = time.monotonic()
    assert cli.main(args) == 2
    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("evalkit: error:")]
    assert len(lines) == 1 and "cannot connect within 1.5 s" in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "prov").exists()
    assert not list((tmp_path / "out").glob(".*partial*"))


@pytest.mark.parametrize("address, expected", [
    ("garbage", "expected a scheduler address"),
    ("foo://x", "expected a scheduler address"),
    ("tcp://", "expected a scheduler address"),
    ("tcp://host:99999", "expected a scheduler address"),
    ("", "--scheduler: empty"),
    ("  ", "--scheduler: empty"),
])
def test_bad_scheduler_addresses_are_one_line(tmp_path, capsys, address, expected):
    params = _province(tmp_path, 1)
    code = cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--tables-only", "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and expected in err and "Traceback" not in err


def test_bad_timeouts_are_one_line(tmp_path, capsys, monkeypatch):
    params = _province(tmp_path, 1)
    monkeypatch.setenv("EVALKIT_NETWORK_TIMEOUT", "soon")
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--tables-only"]) == 2
    assert "EVALKIT_NETWORK_TIMEOUT: 'soon' is not a number of seconds" in (
        capsys.readouterr().err)


# --- options, folders and names ----------------------------------------------------------------


def test_workers_are_capped_at_the_cores(tmp_path, capsys):
    params = _province(tmp_path, 1)
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--tables-only", "--workers", "1000"]) == 0
    err = capsys.readouterr().err
    cores = os.cpu_count()
    assert f"--workers 1000: capped at {cores}" in err
    assert f"Dask: {cores} workers" in err


def test_every_county_failed_still_writes_the_page_and_the_status(tmp_path, capsys):
    params = _province(tmp_path, 2, run_name="nothing")
    for county in ("county_01", "county_02"):
        (tmp_path / "data" / county / "survey.csv").write_text("garbage\n", encoding="utf-8")
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert "2 of 2 county runs failed" in err and "Traceback" not in err
    run_dir = tmp_path / "out" / "nothing"
    status = pd.read_csv(run_dir / "tables" / "province_status.csv")
    assert status["status"].tolist() == ["failed", "failed"]
    assert "county_01" in (run_dir / "index.html").read_text(encoding="utf-8")


def test_a_symlinked_run_folder_is_replaced_not_written_through(tmp_path, capsys):
    params = _province(tmp_path, 2)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("mine", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "prov").symlink_to(elsewhere, target_is_directory=True)
    assert cli.main(["province", str(params), "--out", str(out), "--tables-only", "-q"]) == 0
    assert not (out / "prov").is_symlink() and (out / "prov" / "index.html").is_file()
    assert [p.name for p in elsewhere.iterdir()] == ["keep.txt"]


def test_tables_hold_no_timings_and_an_interrupted_rerun_keeps_the_last_run(
        tmp_path, capsys, monkeypatch):
    params = _province(tmp_path, 2)
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        assert cli.main(["province", str(params), "--out", str(out), "--tables-only",
                         "-q"]) == 0
    tables = sorted(p.name for p in (first / "prov" / "tables").iterdir())
    for name in tables:
        assert ((first / "prov" / "tables" / name).read_bytes()
                == (second / "prov" / "tables" / name).read_bytes()), name
    status = pd.read_csv(first / "prov" / "tables" / "province_status.csv")
    assert list(status.columns) == ["county", "status", "error"]
    manifest = json.loads((first / "prov" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counties"]["county_01"]["seconds"] is not None

    # A rerun stopped while it writes the page: the last run stays whole, nothing partial.
    before = {p.relative_to(first): p.read_bytes() for p in first.rglob("*") if p.is_file()}
    (tmp_path / "data" / "county_02" / "survey.csv").write_bytes(
        (tmp_path / "data" / "county_02" / "survey.csv").read_bytes() + b"\n")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    from evalkit.run import province_outputs

    monkeypatch.setattr(province_outputs, "write_province_outputs", interrupted)
    assert cli.main(["province", str(params), "--out", str(first), "--tables-only",
                     "-q"]) == 130
    after = {p.relative_to(first): p.read_bytes() for p in first.rglob("*") if p.is_file()}
    assert after == before


def test_out_that_is_a_file_and_missing_notebooks_are_one_line(tmp_path, capsys):
    params = _province(tmp_path, 1)
    afile = tmp_path / "afile"
    afile.write_text("x", encoding="utf-8")
    assert cli.main(["province", str(params), "--out", str(afile), "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert "is a file" in err and "Traceback" not in err and err.count("\n") == 1
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--notebooks", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert "--notebooks" in err and "Traceback" not in err and err.count("\n") == 1


def test_county_names_that_collide_or_hold_control_characters(tmp_path, capsys):
    (tmp_path / "data" / "County_A").mkdir(parents=True)
    (tmp_path / "data" / "county_a").mkdir(parents=True)
    params = tmp_path / "p.yaml"
    params.write_text("province:\n  name: x\n  counties_dir: data\n", encoding="utf-8")
    assert cli.main(["province", str(params), "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert "differ only in case" in err
    (tmp_path / "data" / "county_a").rmdir()
    (tmp_path / "data" / "x\x1b[31m").mkdir()
    synth.write_province_data(tmp_path / "good", seed=SEED, n_counties=1)
    for name in ("frame.csv", "survey.csv"):
        (tmp_path / "data" / "County_A" / name).write_bytes(
            (tmp_path / "good" / "county_01" / name).read_bytes())
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\\x1b[31m" in err


def test_many_counties_are_bounded_and_named_briefly(tmp_path, capsys):
    folder = tmp_path / "data"
    for k in range(MAX_COUNTIES + 1):
        (folder / f"c{k}").mkdir(parents=True)
    params = tmp_path / "p.yaml"
    params.write_text("province:\n  name: x\n  counties_dir: data\n", encoding="utf-8")
    assert cli.main(["province", str(params), "--tables-only"]) == 2
    err = capsys.readouterr().err
    assert f"{MAX_COUNTIES + 1:,} counties; at most {MAX_COUNTIES:,}" in err
    assert len(err) < 500
    for k in range(12, MAX_COUNTIES + 1):
        (folder / f"c{k}").rmdir()
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out"),
                     "--tables-only", "-q"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "12 of 12 county runs failed" in last and "and 2 more" in last and len(last) < 2000


@pytest.mark.parametrize("delay", [0.2, 1.0, 2.0])
def test_sigterm_while_the_local_cluster_starts_is_one_line(tmp_path, delay):
    """Stopped while the LocalCluster starts: one line, exit 143, no atexit traceback, no
    swallowed stop (the run used to finish when the signal landed in an import callback)."""
    params = _province(tmp_path, 2)
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "province", str(params), "--out",
         str(tmp_path / "out"), "--tables-only"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    first = process.stderr.readline()
    assert b"to run (tables only)" in first, first
    time.sleep(delay)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    if process.returncode == 0:  # finished before the signal: nothing to check
        pytest.skip("the run finished before the signal")
    assert process.returncode == 143, err
    assert b"Traceback" not in err and b"AssertionError" not in err, err.decode()
    assert err.decode().strip().splitlines()[-1] == "evalkit: terminated (SIGTERM)"
    assert not (tmp_path / "out" / "prov").exists()


def test_every_county_failed_in_a_full_run_skips_the_technical_notebook(tmp_path, capsys):
    """06_province used to run on an empty province and fail with a KeyError."""
    params = _province(tmp_path, 2, run_name="empty")
    for county in ("county_01", "county_02"):
        (tmp_path / "data" / county / "survey.csv").write_text("garbage\n", encoding="utf-8")
    assert cli.main(["province", str(params), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "06_province.ipynb failed" not in err and "Traceback" not in err
    run_dir = tmp_path / "out" / "empty"
    assert (run_dir / "index.html").is_file() and not (run_dir / "06_province.html").exists()
