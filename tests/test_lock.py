"""The locked environment: requirements.lock pins every transitive dependency with its hashes,
in step with pyproject.toml (which environment.yml mirrors: tests/test_pipeline.py), and the
Makefile installs from it with hashes required."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _name(requirement: str) -> str:
    """Normalised distribution name (PEP 503), extras dropped."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>~! ;]", requirement, maxsplit=1)[0]).lower()


def _lock() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) from requirements.lock."""
    pins: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            current = _name(match.group(1))
            assert current not in pins, f"{current} pinned twice"
            pins[current] = (match.group(2), [])
        elif line.strip().startswith("--hash=") and current is not None:
            pins[current][1].append(line.strip().removeprefix("--hash=").rstrip(" \\"))
        elif line.strip() and not line.lstrip().startswith("#"):
            raise AssertionError(f"unexpected line in requirements.lock: {line!r}")
    return pins


def test_every_locked_package_has_a_pinned_version_and_a_sha256() -> None:
    pins = _lock()
    assert len(pins) > 100  # the whole tree, not only the direct dependencies
    for name, (_, hashes) in pins.items():
        assert hashes, f"{name} has no hash"
        assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


def test_the_lock_holds_pyprojects_pins_and_extras() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(d for extra in project["optional-dependencies"].values()
                                          for d in extra)]
    pins = _lock()
    for requirement in wanted:
        version = requirement.split("==", 1)[1].strip()
        assert pins.get(_name(requirement), (None,))[0] == version, (
            f"{requirement} is not in requirements.lock at that version: run `make lock`")
    # what a dependency needs comes along (pandas needs numpy, dask[distributed] tornado)
    assert {"python-dateutil", "tornado", "execnet"} <= set(pins)


def test_the_makefile_installs_the_lock_with_hashes_required() -> None:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "pip install --quiet --require-hashes -r $(LOCK)" in makefile
    assert "pip install --quiet --no-deps -e ." in makefile
    assert "LOCK   := requirements.lock" in makefile
    header = (REPO / "requirements.lock").read_text(encoding="utf-8").splitlines()[:2]
    assert header[1].strip() == "#    make lock"
