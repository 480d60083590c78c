"""A kernel's own output never reaches the terminal (issue #21: no traceback, ever).

A kernel process inherits nothing from the run's stderr: its own output (a heartbeat's
``ZMQError: Address already in use`` traceback, a crash at start) goes to a log in the run's
private partial folder, and a kernel that cannot start becomes one line naming the reason.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import make_notebook

from evalkit.run.kernel import KERNEL_LOG_DIR, KERNEL_START_ATTEMPTS, kernel_log_reason
from evalkit.run.pipeline import NotebookFailedError, NotebookSpec, run, stderr_progress

PLAN = (NotebookSpec("01_first"), NotebookSpec("09_summary", policy=True, final=True))

TRACEBACK = ("Traceback (most recent call last):\n"
             '  File "heartbeat.py", line 1, in run\n'
             "zmq.error.ZMQError: Address already in use\n")

# Written to the kernel process's own file descriptor 2, as a heartbeat thread's traceback
# is: not a cell's output (that comes back as a message into the notebook).
KERNEL_STDERR = f"import os\nos.write(2, {TRACEBACK.encode()!r})\nprint('cell ok')"


def test_a_kernel_printing_a_traceback_does_not_reach_the_run_stderr(
        write_params, tmp_path, capfd) -> None:
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "01_first.ipynb", KERNEL_STDERR)
    make_notebook(nbs / "09_summary.ipynb", KERNEL_STDERR)
    result = run(write_params(), tmp_path / "out", notebooks_dir=nbs, plan=PLAN,
                 progress=stderr_progress)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ZMQError" not in err, err
    assert all(line.startswith("evalkit: ") for line in err.splitlines()), err
    # The published run holds no kernel log (it is removed with the private files).
    assert not (result.run_dir / KERNEL_LOG_DIR).exists()
    assert "cell ok" in (result.run_dir / "notebooks" / "01_first.ipynb").read_text()


def test_a_kernel_that_cannot_start_is_one_line_naming_the_reason(
        write_params, tmp_path, capfd, monkeypatch) -> None:
    """A kernel that dies at start (its ports taken) is tried again, then reported in one
    line with the reason from its log; its traceback stays in the partial folder's log."""
    spec = tmp_path / "jupyter" / "kernels" / "evalkit-dies"
    spec.mkdir(parents=True)
    dies = f"import sys; sys.stderr.write({TRACEBACK!r}); sys.exit(1)"
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", dies, "{connection_file}"],
        "display_name": "dies", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nbs = tmp_path / "nbs"
    make_notebook(nbs / "01_first.ipynb", "x = 1")
    make_notebook(nbs / "09_summary.ipynb", "x = 1")
    with pytest.raises(NotebookFailedError) as failed:
        run(write_params(), tmp_path / "out", notebooks_dir=nbs, plan=PLAN,
            progress=stderr_progress, kernel_name="evalkit-dies", start_timeout=30)
    message = str(failed.value)
    assert "\n" not in message
    assert "kernel did not start" in message
    assert f"{KERNEL_START_ATTEMPTS} attempts" in message
    assert "ZMQError: Address already in use" in message
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert "starting it again" in err
    log = failed.value.partial_dir / KERNEL_LOG_DIR / "01_first.log"
    assert log.read_text().count("Traceback") == KERNEL_START_ATTEMPTS
    assert (log.parent.stat().st_mode & 0o777) == 0o700


def test_kernel_log_reason_is_the_last_exception_line(tmp_path: Path) -> None:
    log = tmp_path / "k.log"
    assert kernel_log_reason(log) is None  # no log
    log.write_text("starting\n")
    assert kernel_log_reason(log) is None
    log.write_text(TRACEBACK + "ValueError: second\n")
    assert kernel_log_reason(log) == "ValueError: second"
