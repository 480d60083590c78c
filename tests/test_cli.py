"""The command line: one-line errors, exit codes, lazily imported subcommands."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

from evalkit import cli
from evalkit.errors import EvalkitError


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
    from evalkit import pipeline

    seen = {}

    def fake_run(params, out, **kwargs):
        seen.update(params=params, out=out, **kwargs)
        return pipeline.RunResult(run_dir=tmp_path / "r", manifest={})

    monkeypatch.setattr(pipeline, "run", fake_run)
    path = write_params()
    code = cli.main(["run", str(path), "--out", str(tmp_path / "o"), "--workers", "2", "-q"])
    assert code == 0
    assert seen["params"] == path and seen["out"] == tmp_path / "o"
    assert seen["workers"] == 2 and seen["progress"] is None
    assert capsys.readouterr().out.strip() == str(tmp_path / "r" / "index.html")


def test_evalkit_error_becomes_one_line_without_traceback(monkeypatch, capsys) -> None:
    from evalkit import pipeline

    def broken(*args, **kwargs):
        raise pipeline.NotebookFailedError(
            "notebook 02_indicators.ipynb failed in cell 4 ('x'):\nValueError: bad",
            notebook="02_indicators.ipynb",
        )

    monkeypatch.setattr(pipeline, "run", broken)
    assert cli.main(["run", "whatever.yaml"]) == 2
    err = capsys.readouterr().err
    assert err == ("evalkit: error: notebook 02_indicators.ipynb failed in cell 4 ('x'): "
                   "ValueError: bad\n")


def test_validate_uses_evalkit_data(monkeypatch, capsys, tmp_path) -> None:
    class Report:
        def __init__(self, ok: bool) -> None:
            self.ok = ok

        def summary(self) -> str:
            return "3 problems" if not self.ok else "no problems"

    fake = types.ModuleType("evalkit.data")
    fake.validate_file = lambda path: Report(ok=path.name == "good.csv")
    monkeypatch.setitem(sys.modules, "evalkit.data", fake)
    assert cli.main(["validate", str(tmp_path / "good.csv")]) == 0
    assert capsys.readouterr().out == "no problems\n"
    assert cli.main(["validate", str(tmp_path / "bad.csv")]) == 1
    assert capsys.readouterr().out == "3 problems\n"


def test_validate_error_is_one_line(monkeypatch, capsys) -> None:
    fake = types.ModuleType("evalkit.data")

    def validate_file(path):
        raise EvalkitError(f"{path}: not a CSV file")

    fake.validate_file = validate_file
    monkeypatch.setitem(sys.modules, "evalkit.data", fake)
    assert cli.main(["validate", "x.bin"]) == 2
    assert capsys.readouterr().err == "evalkit: error: x.bin: not a CSV file\n"


def test_synth_prints_what_it_wrote(monkeypatch, capsys, tmp_path) -> None:
    fake = types.ModuleType("evalkit.synth")
    fake.write_default_data = lambda: {"frame": tmp_path / "f.csv", "survey": tmp_path / "s.csv"}
    monkeypatch.setitem(sys.modules, "evalkit.synth", fake)
    assert cli.main(["synth"]) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "f.csv"), str(tmp_path / "s.csv")]


@pytest.mark.parametrize("command", [["synth"], ["validate", "x.csv"]])
def test_missing_module_is_a_clear_error(monkeypatch, capsys, command) -> None:
    name = "evalkit.synth" if command[0] == "synth" else "evalkit.data"
    monkeypatch.setitem(sys.modules, name, None)  # import now fails as if the module were absent
    assert cli.main(command) == 2
    assert capsys.readouterr().err == (
        f"evalkit: error: {name} is not available in this installation\n"
    )


def test_usage_error_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["run"])
    assert info.value.code == 2


def test_ctrl_c_stops_the_run_and_keeps_the_partial_folder(write_params, tmp_path) -> None:
    import signal
    import time

    from conftest import make_notebook

    from evalkit.pipeline import PLAN

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
