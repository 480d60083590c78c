"""Publishing a run's folder: one run at a time per output folder (an flock), and the finished
folder replacing the old one atomically, symlinks included.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from evalkit.contract.errors import EvalkitError


@contextlib.contextmanager
def run_lock(out: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder while a run is published.

    Two runs of the same name that finish together would otherwise both move the old
    folder aside and race to put theirs in place; with the lock the later one simply
    replaces the earlier one. The lock is taken on the folder itself (flock works on a
    directory's descriptor), so no lock file is left behind.
    """
    import fcntl

    descriptor = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def replace_dir(partial: Path, target: Path) -> None:
    """Put ``partial`` at ``target``: old aside, new in, old deleted (renames are atomic).

    Call it under :func:`run_lock`. A ``target`` that is a symbolic link is replaced as a
    link: the link is removed, the folder it pointed to is left as it was.
    """
    old: Path | None = None
    if target.is_symlink() or target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
    try:
        os.replace(partial, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        if old.is_symlink():
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)


def publish_dir(partial: Path, target: Path) -> None:
    """Put the finished folder ``partial`` at ``target`` in one step, under the output
    folder's lock (:func:`run_lock`), replacing any previous run there. Used for a run and
    for each county of a province."""
    with run_lock(target.parent):
        replace_dir(partial, target)


def output_folder(out_dir: Path | str, run_name: str) -> tuple[Path, Path]:
    """The resolved output folder and a new private partial folder in it.

    A folder that cannot be made or written (read-only filesystem, a file in the way) is
    one line naming it, before any kernel starts.
    """
    out = Path(out_dir).expanduser().resolve()
    try:
        if out.exists() and not out.is_dir():
            raise EvalkitError(f"--out {out}: is a file, expected a folder to write runs into")
        out.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{run_name}.partial-", dir=out))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EvalkitError(f"--out {out}: cannot write the run there ({reason}); choose a "
                           "writable folder with --out DIR") from None
    return out, partial
