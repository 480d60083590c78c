"""The province params file: the shared county keys plus a ``province`` block naming the
counties (a folder of county folders, or a list), each checked before any work starts.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.contract.errors import EvalkitError

PROVINCE_KEYS = ("name", "counties_dir", "counties", "worst")
#: Counties in one province run at most: a national rerun is 832 counties, and every
#: county of China (about 2,800) still fits.
MAX_COUNTIES = 3_000
#: ``province.worst`` when left out: the re-inspection list names the counties that may be
#: among the five worst on each indicator.
DEFAULT_WORST = 5
#: A list of more than this many worst counties is no longer a re-inspection list.
MAX_WORST = 1000


@dataclass(frozen=True)
class CountySource:
    """One county of the province file: its name, its two data files, or why it is bad."""

    name: str
    frame: Path | None
    survey: Path | None
    problem: str | None = None


@dataclass(frozen=True)
class ProvinceSpec:
    """A validated province params file."""

    source: Path
    name: str
    run_name: str
    values: dict[str, Any]  # the shared county params (every key of params.DEFAULTS)
    counties: tuple[CountySource, ...]
    worst: int = DEFAULT_WORST  # tau of the re-inspection list (report.province.rank_indicator)


def load_province(path: Path | str) -> ProvinceSpec:
    """Read and validate a province params file (one-line :class:`EvalkitError` otherwise).

    Problems of one county (a missing file, a bad name) do not raise: they are recorded on
    its :class:`CountySource` and the county is reported as failed.
    """
    from evalkit.run import params as params_mod

    source = Path(path).expanduser().resolve()
    raw = params_mod.read_yaml(source)
    if not isinstance(raw, dict):
        raise EvalkitError(f"{source}: expected a mapping of keys to values at the top level")
    raw = dict(raw)
    block = raw.pop("province", None)
    if not isinstance(block, dict):
        raise EvalkitError(f"{source}: province: expected a section with keys name and "
                           "counties_dir or counties (this is not a province params file)")
    if "data" in raw:
        raise EvalkitError(f"{source}: data: a province file gives each county's data in "
                           "province.counties_dir or province.counties, not in data")
    unknown = sorted(set(block) - set(PROVINCE_KEYS))
    if unknown:
        raise EvalkitError(f"{source}: unknown key 'province.{unknown[0]}'; expected one of: "
                           + ", ".join(PROVINCE_KEYS))
    name = block.get("name")
    if not isinstance(name, str) or not name.strip():
        raise EvalkitError(f"{source}: province.name: expected non-empty text, got {name!r}")
    if raw.get("followup"):
        raise EvalkitError(f"{source}: followup: the re-check round is run county by county "
                           "(evalkit run), not in a province file")
    explicit_run_name = "run_name" in raw
    checked = params_mod.validate(raw, source, check_files=False)
    values = checked.values
    run_name = values["run_name"] if explicit_run_name else "province"
    has_dir, has_list = "counties_dir" in block, "counties" in block
    if has_dir == has_list:
        raise EvalkitError(f"{source}: province: give exactly one of counties_dir and counties")
    counties = (_counties_from_dir(source, block["counties_dir"]) if has_dir
                else _counties_from_list(source, block["counties"]))
    if not counties:
        raise EvalkitError(f"{source}: province: no counties found")
    _check_count(source, len(counties))
    seen: dict[str, str] = {}
    for county in counties:
        # Folder names that differ only in case are one folder on Windows and macOS.
        key = unicodedata.normalize("NFC", county.name).casefold()  # é and e + U+0301 too
        if key in seen:
            also = "" if seen[key] == county.name else f" (as {seen[key]!r}: names that " \
                "differ only in case are one folder on Windows and macOS)"
            raise EvalkitError(f"{source}: province: county {county.name!r} appears "
                               f"twice{also}")
        seen[key] = county.name
    worst = block.get("worst", DEFAULT_WORST)
    if isinstance(worst, bool) or not isinstance(worst, int) or not 1 <= worst <= MAX_WORST:
        raise EvalkitError(f"{source}: province.worst: expected a whole number from 1 to "
                           f"{MAX_WORST} (how many worst counties the re-inspection list looks "
                           f"for), got {worst!r}")
    return ProvinceSpec(source, name.strip(), run_name, values, tuple(counties), worst)


def _check_count(source: Path, n: int) -> None:
    if n > MAX_COUNTIES:
        raise EvalkitError(f"{source}: province: {n:,} counties; at most {MAX_COUNTIES:,} in "
                           "one run (China has about 2,800 counties): split the province")


def _check_county_name(name: Any) -> str | None:
    """Why ``name`` cannot be a county's folder name (the rules of ``run_name``), or None."""
    from evalkit.run.params import validate

    try:
        validate({"run_name": name}, "<county>", check_files=False)
    except EvalkitError as exc:
        return "name: " + str(exc).split("run_name: ", 1)[-1]
    return None


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading digit runs as numbers: ``county_9`` before ``county_10``, ``县2`` before
    ``县10`` (folder names as a reader counts them, not as a byte order would)."""
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", name) if part)


def _counties_from_dir(source: Path, spec: Any) -> list[CountySource]:
    if not isinstance(spec, str) or not spec.strip():
        raise EvalkitError(f"{source}: province.counties_dir: expected a folder, got {spec!r}")
    folder = Path(spec).expanduser()
    folder = folder if folder.is_absolute() else source.parent / folder
    if not folder.is_dir():
        raise EvalkitError(f"{source}: province.counties_dir: folder not found: {folder}")
    out = []
    subfolders = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    _check_count(source, len(subfolders))  # before reading thousands of folders
    for sub in sorted(subfolders, key=lambda p: (natural_key(p.name), p.name)):
        frame, survey = sub / "frame.csv", sub / "survey.csv"
        problem = _check_county_name(sub.name)
        missing = [p.name for p in (frame, survey) if not p.is_file()]
        if problem is None and missing:
            problem = f"{sub}: {' and '.join(missing)} not found"
        out.append(CountySource(sub.name, frame, survey, problem))
    return out


def _counties_from_list(source: Path, spec: Any) -> list[CountySource]:
    if not isinstance(spec, list):
        raise EvalkitError(f"{source}: province.counties: expected a list of {{name, frame, "
                           f"survey}}, got {type(spec).__name__}")
    out = []
    for index, item in enumerate(spec, start=1):
        where = f"{source}: province.counties item {index}"
        if not isinstance(item, dict) or set(item) != {"name", "frame", "survey"}:
            raise EvalkitError(f"{where}: expected exactly the keys name, frame, survey")
        name = item["name"]
        problem = _check_county_name(name)
        if problem is not None:
            raise EvalkitError(f"{where}: {problem}")
        paths: list[Path | None] = []
        for key in ("frame", "survey"):
            value = item[key]
            if not isinstance(value, str) or not value.strip():
                problem = problem or f"{key}: expected a file path, got {value!r}"
                paths.append(None)
                continue
            path = Path(value).expanduser()
            path = path if path.is_absolute() else source.parent / path
            if not path.is_file() and problem is None:
                problem = f"{key}: data file not found: {path}"
            paths.append(path)
        out.append(CountySource(str(name), paths[0], paths[1], problem))
    return out


def counties(n: int) -> str:
    """A count of counties as a progress line writes it: ``1 county``, ``2 counties``.

    >>> counties(1), counties(24)
    ('1 county', '24 counties')
    """
    return f"{n} county" if n == 1 else f"{n} counties"
