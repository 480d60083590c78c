"""The command line: one-line errors, exit codes, lazily imported subcommands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.run import cli
from evalkit.run import publish as run_publish


def test_python_dash_m_bad_params_prints_one_line_and_exits_2(write_params) -> None:
    path = write_params({"level": 1.5})
    done = subprocess.run(
        [sys.executable, "-m", "evalkit", "run", str(path)], capture_output=True, text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"evalkit: error: {path.resolve()}: level: 1.5 is out of range, expected a number "
        "strictly between 0 and 1\n"
    )


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("evalkit")
    assert script.is_file(), "pip install -e . installs the evalkit command"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for command in ("run", "refresh", "validate", "synth"):
        assert command in done.stdout


def test_check_only_validates(write_params, capsys) -> None:
    path = write_params({"run_name": "checked"})
    assert cli.main(["run", str(path), "--check"]) == 0
    captured = capsys.readouterr()
    assert '"run_name": "checked"' in captured.out
    assert f"data.survey: {(path.parent / 'data' / 'survey.csv').resolve()}" in captured.out
    assert captured.err.strip().endswith(": OK")


def test_run_passes_options_to_the_pipeline(write_params, monkeypatch, tmp_path, capsys) -> None:
    from evalkit.run import pipeline

    seen = {}

    def fake_run(params, out, **kwargs):
        seen.update(params=params, out=out, **kwargs)
        return pipeline.RunResult(run_dir=tmp_path / "r", manifest={})

    monkeypatch.setattr(pipeline, "run", fake_run)
    path = write_params()
    code = cli.main(["run", str(path), "--out", str(tmp_path / "o"), "--workers", "2", "-q"])
    assert code == 0
    # the validated params travel on (the file is not parsed a second time)
    assert seen["params"].source == path.resolve() and seen["out"] == tmp_path / "o"
    assert seen["workers"] == 2 and seen["progress"] is None
    assert capsys.readouterr().out.strip() == str(tmp_path / "r" / "index.html")


def test_evalkit_error_becomes_one_line_without_traceback(write_params, monkeypatch,
                                                         capsys) -> None:
    from evalkit.run import pipeline

    def broken(*args, **kwargs):
        raise pipeline.NotebookFailedError(
            "notebook 02_indicators.ipynb failed in cell 4 ('x'):\nValueError: bad",
            notebook="02_indicators.ipynb",
        )

    monkeypatch.setattr(pipeline, "run", broken)
    assert cli.main(["run", str(write_params())]) == 2
    err = capsys.readouterr().err
    assert err == ("evalkit: error: notebook 02_indicators.ipynb failed in cell 4 ('x'): "
                   "ValueError: bad\n")


DATA = Path(__file__).parent / "data" / "data_contract"


def test_validate_reports_every_problem_and_exits_1(capsys) -> None:
    assert cli.main(["validate", str(DATA / "survey_small.csv")]) == 0
    assert capsys.readouterr().out.startswith("survey_small.csv: OK")
    assert cli.main(["validate", str(DATA / "survey_bad.csv")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("survey_bad.csv: ") and lines[0].endswith("problems")
    assert any("row 3, column household_size" in line for line in lines)


def test_validate_checks_villages_against_a_frame(tmp_path, capsys) -> None:
    survey = (DATA / "survey_small.csv").read_text(encoding="utf-8")
    first_village = survey.splitlines()[1].split(",")[1]
    unknown = tmp_path / "survey.csv"
    unknown.write_text(survey.replace(first_village, "NO-SUCH-VILLAGE", 1), encoding="utf-8")
    assert cli.main(["validate", str(unknown)]) == 0  # without a frame nothing to compare
    capsys.readouterr()
    assert cli.main(["validate", str(unknown), "--frame", str(DATA / "frame_small.csv")]) == 1
    assert "NO-SUCH-VILLAGE" in capsys.readouterr().out


def test_validate_unreadable_file_is_reported(tmp_path, capsys) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert cli.main(["validate", str(empty)]) == 1
    assert "empty.csv" in capsys.readouterr().out


def test_synth_regenerates_the_packaged_county_byte_for_byte(tmp_path, capsys) -> None:
    from evalkit.contract.paths import package_data_dir

    assert cli.main(["synth", "--out", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    assert {Path(p).name for p in written} == {"frame.csv", "survey.csv", "truth.json"}
    for name in ("frame.csv", "survey.csv", "truth.json"):
        assert (tmp_path / name).read_bytes() == (package_data_dir() / name).read_bytes()


def test_synth_province_needs_an_output_folder(capsys) -> None:
    assert cli.main(["synth", "--province", "2"]) == 2
    assert "--out" in capsys.readouterr().err


def test_usage_error_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["run"])
    assert info.value.code == 2


def test_ctrl_c_stops_the_run_and_keeps_the_partial_folder(write_params, tmp_path) -> None:
    import signal
    import time

    from conftest import make_notebook

    from evalkit.run.pipeline import PLAN

    notebooks = tmp_path / "nbs"
    for spec in PLAN:
        body = "import time\ntime.sleep(300)" if spec.name == "01_sampling" else "x = 1"
        make_notebook(notebooks / spec.filename, body)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", str(write_params()), "--out", str(out),
         "--notebooks", str(notebooks)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # A shell's background jobs ignore SIGINT, and the child would inherit that.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        for line in process.stderr:
            if "01_sampling: running" in line or time.monotonic() > deadline:
                break
        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)
    assert time.monotonic() - started < 30, "the sleeping cell was interrupted"
    assert process.returncode == 130
    assert "evalkit: interrupted" in err
    assert not (out / "test-run").exists()
    partial = [p for p in out.iterdir() if p.name.startswith(".test-run.partial-")]
    assert len(partial) == 1 and f"partial run kept in {partial[0]}" in err


def test_bad_data_stops_the_run_before_any_notebook(write_params, tmp_path, capsys) -> None:
    bad = tmp_path / "data" / "survey.csv"
    bad.write_bytes((DATA / "survey_bad.csv").read_bytes())
    out = tmp_path / "out"
    assert cli.main(["run", str(write_params()), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "evalkit: error: the run's data files have problems; nothing was run"
    assert any("survey.csv, row 3, column household_size" in line for line in err[1:])
    assert not out.exists()  # no partial folder: nothing started


def test_a_design_that_cannot_be_built_stops_the_run(write_params, tmp_path, capsys) -> None:
    out = tmp_path / "out"
    params = write_params({"design": {"weights": "no_such_column"}})
    assert cli.main(["run", str(params), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no_such_column" in err and "nothing was run" in err
    assert not out.exists()


def test_out_that_is_a_file_is_one_line_and_exit_2(write_params, tmp_path, capsys) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert cli.main(["run", str(write_params()), "--out", str(blocker), "-q"]) == 2
    err = capsys.readouterr().err
    assert err == f"evalkit: error: --out {blocker}: is a file, expected a folder to write " \
                  "runs into\n"


def test_out_on_a_read_only_filesystem_is_one_line_and_exit_2(write_params, tmp_path,
                                                              monkeypatch, capsys) -> None:
    import errno
    import tempfile

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkdtemp", read_only)
    out = tmp_path / "ro"
    assert cli.main(["run", str(write_params()), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"evalkit: error: --out {out}: cannot write the run there "
                          "(Read-only file system)")
    assert err.count("\n") == 1


def test_concurrent_publications_of_one_run_never_crash(tmp_path) -> None:
    import threading


    out = tmp_path / "out"
    out.mkdir()
    errors: list[BaseException] = []

    def publish(worker: int) -> None:
        for i in range(25):
            partial = out / f".r.partial-{worker}-{i}"
            partial.mkdir()
            (partial / "who").write_text(f"{worker}-{i}")
            try:
                with run_publish.run_lock(out):
                    run_publish.replace_dir(partial, out / "r")
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (out / "r" / "who").read_text().endswith("-24")
    assert sorted(p.name for p in out.iterdir()) == ["r"]


def test_a_symlinked_run_folder_is_replaced_without_leftovers(tmp_path) -> None:

    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep").write_text("old run")
    (out / "r").symlink_to(elsewhere, target_is_directory=True)
    partial = out / ".r.partial-x"
    partial.mkdir()
    (partial / "new").write_text("new run")
    run_publish.replace_dir(partial, out / "r")
    assert (out / "r" / "new").read_text() == "new run" and not (out / "r").is_symlink()
    assert (elsewhere / "keep").read_text() == "old run"
    assert sorted(p.name for p in out.iterdir()) == ["r"]


def test_sigterm_stops_the_run_like_ctrl_c(write_params, tmp_path) -> None:
    import signal
    import time

    from conftest import make_notebook

    from evalkit.run.pipeline import PLAN

    notebooks = tmp_path / "nbs"
    for spec in PLAN:
        body = "import time\ntime.sleep(300)" if spec.name == "01_sampling" else "x = 1"
        make_notebook(notebooks / spec.filename, body)
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit", "run", str(write_params()), "--out", str(out),
         "--notebooks", str(notebooks)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        for line in process.stderr:
            if "01_sampling: running" in line or time.monotonic() > deadline:
                break
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert time.monotonic() - started < 30, "the sleeping cell was interrupted"
    assert process.returncode == 128 + signal.SIGTERM
    assert "evalkit: terminated (SIGTERM)" in err and "Traceback" not in err
    partial = [p for p in out.iterdir() if p.name.startswith(".test-run.partial-")]
    assert len(partial) == 1 and f"partial run kept in {partial[0]}" in err


def test_a_survey_without_the_design_columns_is_named_like_any_header_problem(tmp_path):
    """A survey lacking the weights column the params' design names: one line naming the
    file, the header row and the column, and what the params expect (validate and run)."""
    import shutil

    import pandas as pd

    from evalkit.contract.paths import package_data_dir

    survey = pd.read_csv(package_data_dir() / "survey.csv", dtype=str, keep_default_na=False)
    survey.drop(columns=["weight"]).to_csv(tmp_path / "survey.csv", index=False)
    shutil.copy(package_data_dir() / "frame.csv", tmp_path / "frame.csv")
    params = tmp_path / "params.yaml"
    params.write_text("run_name: nw\ndata:\n  frame: frame.csv\n  survey: survey.csv\n",
                      encoding="utf-8")
    expected = ("survey.csv, row 1 (header), column weight: expected a column named weight, "
                "which the params' design.weights names")
    done = subprocess.run([sys.executable, "-m", "evalkit", "run", str(params), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"evalkit: error: {expected}")
    assert len(done.stderr.strip().splitlines()) == 1
    done = subprocess.run([sys.executable, "-m", "evalkit", "validate",
                           str(tmp_path / "survey.csv"), "--frame", str(tmp_path / "frame.csv")],
                          capture_output=True, text=True)
    assert done.returncode != 0 and f"  {expected}" in done.stdout
    assert "design: survey.csv" not in done.stdout
