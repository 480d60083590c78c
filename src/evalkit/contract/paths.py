"""Where a params file's ``data`` entries point (kept free of heavy imports: the CLI
validates params before loading pandas)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from evalkit.contract.errors import EvalkitError

PACKAGED_PREFIX = "packaged:"
# The installed package and the files shipped inside it (data, fonts, locale, templates).
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
RESOURCES_DIR = PACKAGE_ROOT / "resources"


def package_data_dir() -> Path:
    """The folder of data files shipped inside evalkit (the synthetic county)."""
    return Path(str(resources.files("evalkit").joinpath("resources", "data")))


def packaged_files() -> list[str]:
    """Names of the shipped data files, as ``packaged:NAME`` specs."""
    folder = package_data_dir()
    return sorted(PACKAGED_PREFIX + p.name for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith("."))


def resolve_data_path(spec: str, base_dir: Path | str, must_exist: bool = True) -> Path:
    """Turn a ``data.*`` value into a path.

    ``packaged:NAME`` is the file NAME shipped in ``evalkit/resources/data/``; anything else is a
    path, absolute or relative to ``base_dir`` (the folder of the params file). With
    ``must_exist`` a missing file raises :class:`EvalkitError` naming the spec.
    """
    spec = str(spec).strip()
    if spec.startswith(PACKAGED_PREFIX):
        name = spec[len(PACKAGED_PREFIX):].strip()
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise EvalkitError(f"data path {spec!r}: expected one of the files shipped with "
                               "evalkit: " + ", ".join(packaged_files()))
        path = package_data_dir() / name
        if must_exist and not path.is_file():
            raise EvalkitError(f"data path {spec!r}: data file not found; expected one of the "
                               "files shipped with evalkit: " + ", ".join(packaged_files()))
        return path
    path = Path(spec).expanduser()
    if not path.is_absolute():
        path = Path(base_dir) / path
    if must_exist and not path.is_file():
        raise EvalkitError(f"data path {spec!r}: data file not found: {path}; expected an "
                           "existing file")
    return path
