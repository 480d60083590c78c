"""A run's inputs prepared once and handed to its notebooks.

``evalkit run`` reads and validates the frame and survey, adjusts for non-response and
calibrates once (:func:`evalkit.assessment.inputs.load_inputs`), then writes the result into
the run's folder with :func:`write_prepared`: the respondents after the non-response
adjustment, the frame, the table of weighting cells and the per-village counts of sampled and
interviewed households as Parquet, and a small description
(``inputs.json``: the settings and the checksums of the files they came from). Each notebook
gets the folder as its ``prepared`` parameter; ``load_inputs(..., prepared=folder)`` reads
the tables back (:func:`read_prepared`) and makes the design and its calibration again from
the adjusted respondents (milliseconds), so the notebooks' numbers are those
of ``load_inputs`` on the data files, bit for bit, while the reading, validation and
non-response adjustment (most of the time) are done once per run instead of once per
notebook.

Parquet keeps every column's dtype and every float64's bits, so nothing is rounded on the way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.contract.errors import EvalkitError

#: The folder of a run (beside ``tables/``) holding its prepared inputs.

DESCRIPTION = "inputs.json"
FORMAT = 2
_TABLES = ("frame", "survey", "nonresponse", "nonresponse_villages")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _settings(design: dict[str, Any], calibration: dict[str, Any] | None,
              nonresponse: dict[str, Any] | None) -> dict[str, Any]:
    # Through JSON, as they will be read back: tuples become lists, keys strings.
    return json.loads(json.dumps({"design": design, "calibration": calibration,
                                  "nonresponse": nonresponse}))


def write_prepared(inputs: Any, folder: Path | str, design: dict[str, Any],
                   calibration: dict[str, Any] | None = None,
                   nonresponse: dict[str, Any] | None = None) -> Path:
    """Write ``inputs`` (the :class:`~evalkit.assessment.inputs.RunInputs` that
    ``load_inputs`` returned for these ``design``, ``calibration`` and ``nonresponse``
    blocks: its frame, survey, non-response report and file paths) to ``folder``; return it.

    Example::

        inputs = load_inputs(data, design, params_dir, calibration, nonresponse)
        write_prepared(inputs, run_dir / "prepared", design, calibration, nonresponse)
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    inputs.frame.to_parquet(folder / "frame.parquet")
    inputs.survey.to_parquet(folder / "survey.parquet")
    response = inputs.nonresponse
    response.table.to_parquet(folder / "nonresponse.parquet")
    villages = _villages(response)
    villages.to_parquet(folder / "nonresponse_villages.parquet")
    description = {
        "format": FORMAT,
        "frame": {"path": str(inputs.frame_path), "sha256": _sha256(inputs.frame_path)},
        "survey": {"path": str(inputs.survey_path), "sha256": _sha256(inputs.survey_path)},
        **_settings(design, calibration, nonresponse),
        "nonresponse_report": {"note": response.note, "notes": list(response.notes),
                               "informed": bool(response.informed)},
        # Parquet gives text columns back as pandas' str dtype; these were object columns.
        "object_columns": {name: [str(c) for c in table.columns if table[c].dtype == object]
                           for name, table in (("frame", inputs.frame),
                                               ("survey", inputs.survey),
                                               ("nonresponse", response.table),
                                               ("nonresponse_villages", villages))},
    }
    (folder / DESCRIPTION).write_text(json.dumps(description, indent=2, ensure_ascii=False)
                                      + "\n", encoding="utf-8")
    return folder


def _villages(response: Any) -> Any:
    """The per-village counts of the non-response report (empty when it has none)."""
    import pandas as pd

    from evalkit.assessment.nonresponse import VILLAGE_COLUMNS

    if response.villages is None:
        return pd.DataFrame(columns=list(VILLAGE_COLUMNS))
    return response.villages


@dataclass(frozen=True)
class PreparedTables:
    """What :func:`read_prepared` returns: the frame, the respondents with their adjusted
    weights, and what was done about non-response, as ``load_inputs`` had them."""

    frame: Any  # pandas DataFrame
    survey: Any  # pandas DataFrame
    nonresponse: Any  # evalkit.assessment.nonresponse.RunNonresponse
    frame_path: Path
    survey_path: Path


def _read_table(folder: Path, name: str, object_columns: list[str]) -> Any:
    import pandas as pd

    table = pd.read_parquet(folder / f"{name}.parquet")
    for column in object_columns:
        table[column] = table[column].astype(object)
    return table


def read_prepared(folder: Path | str, frame_path: Path, survey_path: Path,
                  design: dict[str, Any], calibration: dict[str, Any] | None = None,
                  nonresponse: dict[str, Any] | None = None) -> PreparedTables:
    """The tables :func:`write_prepared` wrote to ``folder``, checked against what the caller
    would otherwise read: the data files ``frame_path`` and ``survey_path`` (same paths and
    SHA-256) and the ``design``, ``calibration`` and ``nonresponse`` blocks. A difference
    raises :class:`EvalkitError` naming it (a notebook never silently uses other inputs).

    :func:`evalkit.assessment.inputs.load_inputs` (``prepared=``) makes the design from them.
    """
    from evalkit.assessment.nonresponse import RunNonresponse

    folder = Path(folder)
    fix = "; set prepared = None to read the data files"
    try:
        description = json.loads((folder / DESCRIPTION).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EvalkitError(f"prepared inputs {folder}: cannot read {DESCRIPTION} "
                           f"({type(exc).__name__}); expected a folder written by evalkit run"
                           f"{fix}") from None
    if description.get("format") != FORMAT:
        raise EvalkitError(f"prepared inputs {folder}: format {description.get('format')!r}, "
                           f"expected {FORMAT}{fix}")
    for key, path in (("frame", frame_path), ("survey", survey_path)):
        recorded = description[key]
        # The same file, however it is spelled: a province county's notebooks see their
        # inputs relative to their working folder (evalkit.run.params.notebook_parameters).
        same_file = Path(path).resolve() == Path(recorded["path"]).resolve()
        if not same_file or _sha256(path) != recorded["sha256"]:
            raise EvalkitError(f"prepared inputs {folder} were made from {recorded['path']} "
                               f"as it was then, not from data.{key} = {path} as it is now"
                               f"{fix}")
    for key, value in _settings(design, calibration, nonresponse).items():
        if description[key] != value:
            raise EvalkitError(f"prepared inputs {folder} were made with {key} = "
                               f"{description[key]!r}, not {value!r}{fix}")
    frame, survey, table, villages = (
        _read_table(folder, name, description["object_columns"][name]) for name in _TABLES)
    report = description["nonresponse_report"]
    response = RunNonresponse(table, report["note"], tuple(report["notes"]),
                              report["informed"], villages)
    return PreparedTables(frame, survey, response, Path(frame_path), Path(survey_path))
