"""The household registration listing and the two-phase draw a survey team works.

The listing (``data.listing`` in params; format in ``docs/codebook.md``) has one row per
household of the county: township, village, household_id, household_type, household_size,
and it may carry the columns that identify people (head's name, ID number, phone). Those
are kept apart: :func:`load_listing` drops them like the survey loader does, and only
:func:`draw_households_stage` puts them back, into the field list the interviewers carry.
No table, report or design file ever holds them.

The draw is the one of :func:`evalkit.sampling.draw.draw_two_stage` (villages by systematic PPS,
then households by SRS within village and household group, with ``fill``), run in two
phases from the params' seed:

1. ``evalkit draw PARAMS --stage villages --out DIR``: ``villages.csv``, the selected
   villages with their first-stage inclusion probabilities.
2. ``evalkit draw PARAMS --stage households --out DIR``: the households of those villages
   (``field_list.csv``/``.xlsx``), a reserve list per village and group
   (``reserve_list.csv``/``.xlsx``) and ``design.csv`` (ids, probabilities, weights: what
   the survey file is merged with).

Both phases replay one random stream seeded by ``seed``, so the sample equals
``draw_two_stage(frame, listing, n, per_village, seed, fill=True)`` and rerunning either
phase writes the same bytes. Reserves are the households that come next in the same
random order of their (village, group) cell: replace a household that cannot be
interviewed by the reserve of its village and group with the lowest ``reserve_order`` not
yet used, and record it (the cell's sample is then still an SRS of the cell).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import locale, schema
from evalkit.contract.errors import EvalkitError
from evalkit.contract.spreadsheet import read_csv, write_csv

LISTING_COLUMNS: dict[str, str] = {
    "township": "township, as in the frame",
    "village": "village, as in the frame",
    "household_id": "household identifier, unique in the file (not a national ID)",
    "household_type": "exited / not_exited / nonregistered (已脱贫 / 未脱贫 / 非建档立卡)",
    "household_size": "people in the household, integer >= 1",
}
#: Headers of the field and reserve lists: Chinese (``listing.col.<column>`` of the locale
#: catalogue) then the column's name, e.g. ``乡镇 township``.
FIELD_HEADERS: dict[str, str] = {
    column: f"{locale.text(f'listing.col.{column}', 'zh')} {column}"
    for column in ("township", "village", "household_id", "household_type", "household_size",
                   "reserve_order", "head_name", "name", "phone", "id_number")
}
RESERVES_PER_CELL = 3


# --- reading and checking --------------------------------------------------------------
def _listing_report(path: Path, frame: pd.DataFrame | None):
    from evalkit.contract import data
    from evalkit.contract.problems import ValidationReport, by_row

    label = path.name
    table, problems = data.read_file(path)
    listing = None
    if table is not None:
        listing = _check_listing(table, label, problems, frame)
    report = ValidationReport(label, "listing", 0 if table is None else len(table.data),
                                   by_row(problems),
                                   [] if table is None else table.dropped)
    return report, listing


def _check_listing(table, label: str, problems: list, frame: pd.DataFrame | None
                   ) -> pd.DataFrame | None:
    from evalkit.contract import cells, data
    from evalkit.contract.problems import Problem, shown_value

    frame_data = table.data
    if cells.missing_columns(label, frame_data.columns, LISTING_COLUMNS, problems):
        return None
    n_before = len(problems)
    ck = cells.Checker(label, frame_data, problems)
    for column in ("township", "village", "household_id"):
        ck.text(column)
    ck.code("household_type", schema.HOUSEHOLD_TYPES)
    ck.integer("household_size", 1, data.MAX_HOUSEHOLD_SIZE)
    out = ck.out
    hid = out["household_id"]
    dup = hid.duplicated(keep="first") & ~cells.is_empty(frame_data["household_id"])
    if dup.any():
        first = pd.Series(hid.index, index=hid.index).groupby(hid.to_numpy()).transform("min")
        for row in dup.index[dup.to_numpy()]:
            problems.append(Problem(label, int(row), "household_id",
                                         shown_value(hid.loc[row]),
                                         f"a household id used once (also in row "
                                         f"{int(first.loc[row])})"))
    if frame is not None:
        source = frame.attrs.get("source", "the frame")
        unknown = ~out["village"].isin(frame["village"]) & ~cells.is_empty(frame_data["village"])
        ck.report("village", unknown, f"a village listed in the frame ({source})")
    if len(problems) > n_before:
        return None
    listing = pd.DataFrame({c: out[c] for c in LISTING_COLUMNS})
    for column in ("township", "village", "household_id", "household_type"):
        listing[column] = listing[column].astype(str)
    listing["household_size"] = listing["household_size"].astype("int64")
    return listing.reset_index(drop=True)


def validate_listing(path: str | Path, frame_path: str | Path | None = None):
    """Check a listing file (and its villages against a frame): a
    :class:`~evalkit.contract.problems.ValidationReport` with every problem, one line each."""
    from evalkit.contract import data

    frame = None
    frame_problems: list = []
    if frame_path is not None:
        frame_report, frame = data.check_frame_file(Path(frame_path))
        frame_problems = frame_report.problems
    report = _listing_report(Path(path), frame)[0]
    report.problems = frame_problems + report.problems
    return report


def load_listing(path: str | Path, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Load and validate a listing (identifying columns dropped); raises with every
    problem: an unknown village, a duplicate household, a type outside the codebook."""
    from evalkit.contract.problems import raise_if_problems

    report, listing = _listing_report(Path(path), frame)
    raise_if_problems(report)
    assert listing is not None
    return listing


def listing_contacts(path: str | Path) -> pd.DataFrame:
    """``household_id`` and the identifying columns of the listing, for the field list
    only (the interviewers need the head's name to find the household)."""
    from evalkit.contract import reading

    path = Path(path)
    problems: list = []
    if path.suffix.lower() in reading.PARQUET_SUFFIXES:
        raw = pd.read_parquet(path).astype(str)
        rows = [list(raw.columns), *raw.itertuples(index=False, name=None)]
    else:
        read = reading.read_rows(path, path.name, problems)
        if read is None:
            raise EvalkitError(f"{path.name}: cannot read the listing")
        rows = read[0]
    header = [str(c).replace("\ufeff", "").strip() for c in rows[0]]
    # The codebook's Chinese headers (户编号, ...) as the listing's reader accepts them.
    names = [reading.COLUMN_ALIAS_LOOKUP.get(h, h.lower()) for h in header]
    wanted = [i for i, n in enumerate(names) if n in reading.IDENTIFYING]
    if "household_id" not in names:
        aliases = [alias for alias, name in reading.COLUMN_ALIAS_LOOKUP.items()
                   if name == "household_id" and not alias.isascii()]
        also = f" (or {aliases[0]})" if aliases else ""
        raise EvalkitError(f"{path.name}, row 1: no household_id column{also}; "
                           "expected the listing's header row")
    id_col = names.index("household_id")
    body = [[str(r[i]).strip() if i < len(r) else "" for i in [id_col, *wanted]]
            for r in rows[1:] if any(str(c).strip() for c in r)]
    return pd.DataFrame(body, columns=["household_id", *[header[i] for i in wanted]])


# --- the synthetic county's listing -----------------------------------------------------
def synthetic_listing(seed: int | None = None) -> pd.DataFrame:
    """The default synthetic county's full registration listing: every household of
    :func:`evalkit.synth.county.generate_county`, with fake heads' names and phones (so the
    privacy path is exercised). The packaged survey's households are in it."""
    from evalkit import synth

    county = synth.generate_county(synth.DEFAULT_SEED if seed is None else seed)
    pop = county.population
    listing = pop.loc[:, list(LISTING_COLUMNS)].copy()
    rng = np.random.default_rng([county.seed, 13])
    fake = synth.fake_identities(len(listing), rng)
    listing["head_name"] = fake["name"].to_numpy()
    listing["phone"] = fake["phone"].to_numpy()
    order = np.lexsort((listing["household_id"].to_numpy(), listing["village"].to_numpy()))
    return listing.iloc[order].reset_index(drop=True)


def write_synthetic_listing(out_dir: str | Path, seed: int | None = None) -> Path:
    """Write ``listing.csv`` (UTF-8) of :func:`synthetic_listing` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "listing.csv"
    write_csv(synthetic_listing(seed), path)
    return path


# --- the two phases of the draw ---------------------------------------------------------
def _plan(params: Mapping[str, Any]) -> tuple[int, dict[str, int]]:
    from evalkit.sampling.allocation import allocate_household_types

    sampling = params["sampling"]
    return int(sampling["n_villages"]), dict(
        allocate_household_types(int(sampling["households_per_village"])))


def draw_villages_stage(frame: pd.DataFrame, params: Mapping[str, Any]) -> pd.DataFrame:
    """Phase 1: the villages of :func:`evalkit.sampling.draw.draw_two_stage` for the params'
    seed, ``sampling.n_villages`` and household quota."""
    from evalkit.sampling.draw import select_villages

    n_villages, per_village = _plan(params)
    gen = np.random.default_rng(int(params["seed"]))
    return select_villages(frame, n_villages, gen, groups=tuple(per_village))


def draw_households_stage(frame: pd.DataFrame, listing: pd.DataFrame,
                          params: Mapping[str, Any], reserves: int = RESERVES_PER_CELL
                          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Phase 2: the sample, its reserves and the villages, replaying phase 1's stream.

    Returns ``(sample, reserve, villages)``; ``sample`` has the probabilities and weights
    of :func:`evalkit.sampling.draw.draw_two_stage`, ``reserve`` the next ``reserves``
    households of each (village, group) cell with ``reserve_order`` 1, 2, ...
    """
    from evalkit import sampling

    n_villages, per_village = _plan(params)
    gen = np.random.default_rng(int(params["seed"]))
    villages = sampling.select_villages(frame, n_villages, gen, groups=tuple(per_village))
    full = frame.reset_index(drop=True)
    prepared = sampling.prepare_listing(listing, full, per_village)
    drawn = sampling.draw_households(prepared, villages, sampling.frame_codes(full, villages),
                                      per_village, gen, fill=True, reserves=reserves)
    main = drawn["reserve_order"] == 0
    sample = drawn.loc[main].drop(columns="reserve_order").reset_index(drop=True)
    reserve = drawn.loc[~main, ["township", "village", "household_id", "household_type",
                                "household_size", "reserve_order"]]
    reserve = reserve.sort_values(["township", "village", "household_type", "reserve_order",
                                   "household_id"], kind="stable").reset_index(drop=True)
    return sample, reserve, villages


def _field_table(table: pd.DataFrame, contacts: pd.DataFrame | None, lang: str
                 ) -> pd.DataFrame:
    out = table.copy()
    if lang == "zh":
        labels = {code: locale.text(f"household_type.{code}", "zh")
                  for code in schema.HOUSEHOLD_TYPES}
        out["household_type"] = out["household_type"].map(labels).fillna(out["household_type"])
    headers = dict(FIELD_HEADERS)
    if contacts is not None and contacts.shape[1] > 1:
        out = out.merge(contacts, on="household_id", how="left", validate="one_to_one")
    return out.rename(columns=headers)


def write_draw(params: Mapping[str, Any], frame: pd.DataFrame, stage: str, out_dir: str | Path,
               listing_path: str | Path | None = None,
               progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write phase ``stage`` (``villages`` or ``households``) into ``out_dir``.

    ``households`` needs the listing (``listing_path``); when ``out_dir`` already holds a
    ``villages.csv`` it must be the phase-1 draw of the same params (else an error: the
    villages were drawn with other params). ``progress`` receives a line at each step of
    the households phase (a national listing of millions of rows takes a minute).
    """
    import time

    from evalkit.contract.xlsx import write_table

    started = time.perf_counter()

    def step(message: str) -> None:
        if progress is not None:
            progress(f"{message} ({time.perf_counter() - started:.1f} s)")

    out = Path(out_dir)
    lang = str(params.get("lang", "en"))
    if stage not in ("villages", "households"):
        raise EvalkitError(f"draw: stage {stage!r}; expected 'villages' or 'households'")
    _check_out_dir(out)
    if stage == "villages":
        villages = _village_table(draw_villages_stage(frame, params))
        out.mkdir(parents=True, exist_ok=True)
        return [write_csv(villages, out / "villages.csv")]
    if listing_path is None:
        raise EvalkitError("draw --stage households needs data.listing in the params file "
                           "(the household registration listing)")
    # Everything is read and checked before the first file is written: a bad listing or
    # a villages.csv of other params leaves the folder as it was.
    size = Path(listing_path).stat().st_size if Path(listing_path).is_file() else 0
    step(f"reading the listing {Path(listing_path).name} ({size / 1e6:,.1f} MB)")
    listing_raw = load_listing(listing_path, frame)
    contacts = listing_contacts(listing_path)
    step(f"listing checked: {len(listing_raw):,} households; drawing")
    sample, reserve, villages = draw_households_stage(frame, listing_raw, params)
    step(f"drawn: {len(sample):,} households and {len(reserve):,} reserves; writing")
    village_file = out / "villages.csv"
    expected = _village_table(villages)
    if village_file.exists():
        found = read_csv(village_file, dtype={"village": str, "township": str})
        if (list(found.get("village", pd.Series(dtype=str)).astype(str))
                != list(expected["village"].astype(str))):
            raise EvalkitError(
                f"draw: {village_file} does not hold the villages these params draw (seed "
                f"{params['seed']}); rerun --stage villages or use another --out folder"
            )
    columns = ["township", "village", "household_id", "household_type", "household_size"]
    field = sample.loc[:, columns].sort_values(["township", "village", "household_type",
                                                "household_id"], kind="stable")
    out.mkdir(parents=True, exist_ok=True)
    if not village_file.exists():
        write_csv(expected, village_file)
    written = [village_file]
    for name, table in (("field_list", field), ("reserve_list", reserve)):
        shown = _field_table(table.reset_index(drop=True), contacts, lang)
        written.append(write_csv(shown, out / f"{name}.csv", encoding="utf-8-sig"))
        # Printed and carried into the villages: a new page for each village.
        written.append(write_table(shown, out / f"{name}.xlsx", sheet_name=name,
                                   page_break_by=FIELD_HEADERS["village"]))
    design = sample.loc[:, [*columns, *[c for c in ("stratum",) if c in sample],
                            "village_prob", "household_prob", "incl_prob", "weight"]]
    return [*written, write_csv(design, out / "design.csv")]


def _check_out_dir(out: Path) -> None:
    """``--out`` must be a folder (or not exist yet): one line otherwise, nothing written."""
    if out.exists() and not out.is_dir():
        raise EvalkitError(f"--out {out}: is a file, expected a folder to write the draw into")


def _village_table(villages: pd.DataFrame) -> pd.DataFrame:
    keep = [c for c in ("township", "village", "village_type", "stratum", "hh_registered",
                        "hh_nonregistered", "hh_total") if c in villages]
    out = villages.loc[:, keep].copy()
    out["village_prob"] = villages["village_prob"].to_numpy()
    return out.reset_index(drop=True)


def run_listing(data: Mapping[str, Any], frame: pd.DataFrame, seed: int,
                params_dir: str | Path | None = None) -> tuple[pd.DataFrame, str]:
    """The listing notebook 01 draws from, and a sentence saying which it is.

    ``data.listing`` (a path relative to the params file, or ``packaged:NAME``) when the
    params give one, loaded and checked against the frame; otherwise
    :func:`evalkit.sampling.simulation.household_listing`, a synthetic listing made from the frame's
    counts with ``seed``.
    """
    from evalkit.contract.paths import resolve_data_path
    from evalkit.sampling.simulation import household_listing

    spec = data.get("listing")
    if spec:
        path = resolve_data_path(spec, Path(params_dir) if params_dir else Path.cwd())
        listing = load_listing(path, frame)
        return listing, (f"The draw uses the registration listing {path.name} "
                         f"({len(listing):,} households).")
    listing = household_listing(frame, seed)
    return listing, ("No registration listing was given (data.listing): the draw uses a "
                     f"synthetic listing of {len(listing):,} households made from the "
                     "frame's counts, so the households drawn are illustrative.")
