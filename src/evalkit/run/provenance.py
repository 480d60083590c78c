"""Provenance of a run: file and code hashes, the git state and package versions the manifest
records (the manifest is also the cache key of a province's counties).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import subprocess
from pathlib import Path

from evalkit.contract.paths import PACKAGE_ROOT


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_sha256(package_dir: Path | None = None) -> str:
    """One SHA-256 over evalkit's installed files (paths and contents), __pycache__ aside.

    With the git commit this pins the code even when the work tree has uncommitted edits.
    """
    root = package_dir or PACKAGE_ROOT
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(sha256_file(path).encode() + b"\n")
    return digest.hexdigest()


def git_state(directory: Path) -> tuple[str, bool | None]:
    """(commit, has uncommitted changes) of the git work tree holding ``directory``."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True,
            timeout=20, check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=directory,
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "unknown", None
    return (commit or "unknown"), bool(status.strip())


def package_versions() -> dict[str, str]:
    """Versions of evalkit and of every package it depends on."""
    names = ["evalkit"]
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        for req in importlib.metadata.requires("evalkit") or []:
            if "extra ==" in req:
                continue
            name = req.split(";")[0].strip()
            for sep in ("==", ">=", "<=", "~=", "!=", "<", ">", "[", " "):
                name = name.split(sep)[0]
            names.append(name.strip())
    for extra in ("ipykernel", "jupyter_client", "nbclient", "nbformat", "nbconvert", "nbval"):
        if extra not in names:
            names.append(extra)
    versions: dict[str, str] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
