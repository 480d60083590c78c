"""Read and validate a run's params file before anything runs.

The layout of ``params/default.yaml`` is the schema: :data:`DEFAULTS` mirrors it (a test
keeps the two identical) and :data:`SCHEMA` says, key by key, what a value may be. A user's
params file may leave keys out (they take the default) but may not add keys, and every value
is checked for type and range. Each problem raises :class:`~evalkit.contract.errors.EvalkitError`
with
one line that names the file and the key, so a typo never silently runs the default
assessment.

Data paths: ``packaged:NAME`` means the file ``NAME`` shipped in ``evalkit/data/``; any other
value is a path, absolute or relative to the directory holding the params file.
"""

from __future__ import annotations

import copy
import difflib
import math
import os
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from evalkit.assessment.defaults import NONRESPONSE_DEFAULTS
from evalkit.contract.errors import EvalkitError
from evalkit.contract.formula import parse_formula
from evalkit.contract.paths import resolve_data_path
from evalkit.contract.privacy import mask_identifiers
from evalkit.contract.schema import (
    CALIBRATION_METHODS,
    CI_METHOD_ALIASES,
    CI_METHODS,
    DEFAULT_SEED,
    FRAME_TOTAL_NAMES,
    LONELY_PSU_OPTIONS,
    PPS_METHODS,
    WEIGHTING_CELL_COLUMNS,
)
from evalkit.report.i18n import LANGUAGES

# Mirror of params/default.yaml (tests/test_params.py fails if they drift apart).
DEFAULTS: dict[str, Any] = {
    "run_name": "default",
    "seed": DEFAULT_SEED,
    "lang": "en",
    "data": {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv", "listing": None},
    # The design as drawn (evalkit.assessment.inputs.build_design): villages by PPS without
    # replacement (Brewer's approximation with their inclusion probabilities), then
    # households by SRS within village and list (household type); with-replacement villages
    # when the survey has no probability columns.
    "design": {
        "psu": ["village", "household_type", "household_id"],
        "strata": None,
        "weights": "weight",
        "fpc": ["village_prob", 1, "household_prob"],
        "pps": "brewer",
        "lonely_psu": "fail",
    },
    "level": 0.95,
    "ci_method": "logit",
    "min_cell_size": 30,
    "thresholds": {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.90, "incidence": 0.02},
    "sampling": {
        "expected_wrong_exit": 0.029,
        "margin": 0.01,
        "icc": 0.05,
        "households_per_village": 70,
        "response_rate": 0.95,
        "n_villages": 29,
        "simulations": 500,
    },
    "satisfaction": {
        "formula": (
            "recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"
            " + log_income"
        ),
        "scenarios": ["pipe_water", "raise_reimbursement", "both"],
        "bootstrap_replicates": 1000,
    },
    # Households and people by type (R: calibrate(~household_type +
    # household_size:household_type)), linear: R's default, closed form; its g-weights on
    # the packaged county lie in 0.84-1.17, so raking's positive weights are not needed.
    "calibration": {
        "method": "linear",
        "totals": ["hh_exited", "hh_not_exited", "hh_nonregistered", "people_exited",
                   "people_not_exited", "people_nonregistered"],
    },
    # the assessment's defaults, one list (evalkit.assessment.defaults)
    "nonresponse": copy.deepcopy(NONRESPONSE_DEFAULTS),
}

# Keys the runner adds for the notebooks; a params file may not set them.
RUNNER_KEYS: tuple[str, ...] = ("tables_dir", "params_dir")

# R survey's options(survey.lonely.psu = ...): the one list, in contract.schema.
LONELY_PSU: tuple[str, ...] = LONELY_PSU_OPTIONS

#: Documented maxima (README, "Limits"): beyond them a run takes many minutes for no gain in
#: what the reports show (Monte Carlo error of a coverage at 10,000 draws is below 0.3
#: points; 2,000 bootstrap replicates put a 95% interval's ends within about 1% of their
#: limits).
MAX_SIMULATIONS = 10_000
MAX_BOOTSTRAP_REPLICATES = 2_000
MAX_PARAMS_BYTES = 100_000

_RUN_NAME = re.compile(r"^[^\W][\w.-]{0,99}$")
_IDENTIFIER = re.compile(r"^[^\W\d]\w*$")


class _BadValueError(Exception):
    """A value failed its check; the message is completed with file and key."""


Check = Callable[[Any], Any]


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _describe(value: Any) -> str:
    text = mask_identifiers(reprlib.repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _got(value: Any) -> str:
    return f"{_describe(value)} ({_type_name(value)})"


def _integer(lo: int | None = None, hi: int | None = None) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _BadValueError(f"expected a whole number, got {_got(value)}")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f"at least {lo}" if hi is None else f"between {lo} and {hi}"
            if hi is not None and value > hi >= 1000:
                bounds += " (the documented maximum: see the README's Limits)"
            raise _BadValueError(f"{value} is out of range, expected a whole number {bounds}")
        return value

    return check


def _number(lo: float, hi: float, *, lo_open: bool = True, hi_open: bool = True) -> Check:
    low = f"above {lo:g}" if lo_open else f"at least {lo:g}"
    high = f"below {hi:g}" if hi_open else f"at most {hi:g}"
    bounds = f"strictly between {lo:g} and {hi:g}" if lo_open and hi_open else f"{low} and {high}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _BadValueError(f"expected a number, got {_got(value)}")
        value = float(value)
        too_low = value <= lo if lo_open else value < lo
        too_high = value >= hi if hi_open else value > hi
        if not math.isfinite(value) or too_low or too_high:
            raise _BadValueError(f"{value:g} is out of range, expected a number {bounds}")
        return value

    return check


def _choice(options: tuple[str, ...], aliases: Mapping[str, str] | None = None) -> Check:
    """One of ``options``; a key of ``aliases`` (another spelling) is read as its value."""
    def check(value: Any) -> str:
        if isinstance(value, str) and aliases and value in aliases:
            return aliases[value]
        if value not in options:
            raise _BadValueError(f"{_describe(value)} is not one of: {', '.join(options)}")
        return value

    return check


def _column(*, optional: bool) -> Check:
    def check(value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not _IDENTIFIER.match(value):
            expected = "a column name" + (" or null" if optional else "")
            raise _BadValueError(f"expected {expected}, got {_describe(value)}")
        return value

    return check


def _fpc(value: Any) -> str | float | None:
    """Finite population correction: null, a column name, or one positive number.

    As in R's ``svydesign(fpc = )``: a number below 1 is a sampling fraction, otherwise the
    population count of PSUs.
    """
    if value is None or (isinstance(value, str) and _IDENTIFIER.match(value)):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadValueError(f"expected null, a column name or a number, got {_got(value)}")
    if not math.isfinite(value) or value <= 0:
        raise _BadValueError(f"{value} is out of range, expected a positive number")
    return value


def _columns(value: Any) -> str | list[str] | None:
    """``design.psu``: null, a column, or a list of columns (one per stage, R's
    ``ids = ~village + household_id``)."""
    if isinstance(value, list):
        if not value:
            raise _BadValueError("expected a column name or a non-empty list of column names, "
                                 "got []")
        for item in value:
            if not isinstance(item, str) or not _IDENTIFIER.match(item):
                raise _BadValueError(f"list item {_describe(item)} is not a column name")
        if len(set(value)) != len(value):
            raise _BadValueError(f"columns repeat in {_describe(value)}")
        return list(value)
    return _column(optional=True)(value)


def _fpcs(value: Any) -> str | float | list[str | float] | None:
    """``design.fpc``: as :func:`_fpc`, or a list with one entry per stage of ``psu``
    (a column, or a number: 1 for a stage whose units are all taken)."""
    if isinstance(value, list):
        if not value:
            raise _BadValueError("expected null, a column name, a number or a non-empty list "
                                 "of them, got []")
        out = []
        for item in value:
            if item is None:
                raise _BadValueError("list item null: every stage needs a column or a number")
            try:
                out.append(_fpc(item))
            except _BadValueError as exc:
                raise _BadValueError(f"list item {_describe(item)}: {exc}") from None
        return out
    return _fpc(value)


def _pps(value: Any) -> str | None:
    """``design.pps``: null (first stage with replacement, or fpc per stratum) or one of
    :data:`evalkit.survey.design.PPS_METHODS` (PSUs by PPS without replacement, ``fpc``
    their inclusion probabilities)."""
    if value is None:
        return None
    if value not in PPS_METHODS:
        raise _BadValueError(f"{_describe(value)} is not null or one of: "
                             + ", ".join(PPS_METHODS))
    return value


def _check_design(design: Mapping[str, Any], source: Path) -> None:
    """What no single key shows: ``fpc`` with one entry per ``psu`` stage, and ``pps``
    with the inclusion probabilities it needs."""
    psu, fpc = design.get("psu"), design.get("fpc")
    stages = len(psu) if isinstance(psu, list) else 1
    if isinstance(fpc, list) and len(fpc) != stages:
        raise EvalkitError(f"{source}: design.fpc: {len(fpc)} entries for {stages} stage(s) "
                           "of design.psu; expected one per stage")
    if design.get("pps") is not None:
        first = fpc[0] if isinstance(fpc, list) else fpc
        if not isinstance(first, str):
            raise EvalkitError(f"{source}: design.pps: {design['pps']!r} needs design.fpc to "
                               "name the column of each village's inclusion probability "
                               "(e.g. village_prob)")


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadValueError(f"expected non-empty text, got {_got(value)}")
    return value


def _formula(value: Any) -> str:
    """A model formula in evalkit's grammar (:mod:`evalkit.contract.formula`), never evaluated.

    Column names are checked against the survey before any kernel starts (the run's data
    check), since the survey is not read yet here.
    """
    _text(value)
    try:
        parse_formula(value, role="formula")
    except EvalkitError as exc:
        raise _BadValueError(str(exc).removeprefix("formula: ")) from None
    return value


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise _BadValueError(f"expected a non-empty list of names, got {_describe(value)}")
    for item in value:
        if not isinstance(item, str) or not _IDENTIFIER.match(item):
            raise _BadValueError(f"list item {_describe(item)} is not a name")
    if len(set(value)) != len(value):
        raise _BadValueError(f"names repeat in {_describe(value)}")
    return list(value)


MAX_NONRESPONSE_FACTOR = 10.0


def _names_among(allowed: tuple[str, ...], what: str) -> Callable[[Any], list[str]]:
    """A check for a non-empty list of distinct names, each one of ``allowed``."""
    def check(value: Any) -> list[str]:
        names = _names(value)
        for item in names:
            if item not in allowed:
                raise _BadValueError(f"{_describe(item)} is not {what}; expected names "
                                     f"among {', '.join(allowed)}")
        return names
    return check


def _run_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise _BadValueError(f"expected a folder name, got {_got(value)}")
    if (
        "/" in value or "\\" in value or value in (".", "..") or value.startswith(".")
        or Path(value).is_absolute() or re.match(r"^[A-Za-z]:", value)
    ):
        raise _BadValueError(
            f"{_describe(value)} would write outside the output folder; "
            "use a plain folder name such as 'county-2019'"
        )
    if not _RUN_NAME.match(value):
        raise _BadValueError(
            f"{_describe(value)} is not a plain folder name (letters, digits, '_', '-', '.', "
            "at most 100 characters)"
        )
    return value


def _data_path(value: Any) -> str:
    # Existence is checked later, once the params file's directory is known.
    return _text(value)


def _optional_data_path(value: Any) -> str | None:
    # data.listing: the household registration listing, when the team has it.
    return None if value is None else _text(value)


SCHEMA: dict[str, Any] = {
    "run_name": _run_name,
    "seed": _integer(0, 2**63 - 1),
    "lang": _choice(LANGUAGES),
    "data": {"frame": _data_path, "survey": _data_path, "listing": _optional_data_path},
    "design": {
        "psu": _columns,
        "strata": _column(optional=True),
        "weights": _column(optional=True),
        "fpc": _fpcs,
        "pps": _pps,
        "lonely_psu": _choice(LONELY_PSU),
    },
    "level": _number(0, 1),
    "ci_method": _choice(CI_METHODS, CI_METHOD_ALIASES),  # clopper_pearson: clopper-pearson
    "min_cell_size": _integer(1),
    "thresholds": {
        "wrong_exit": _number(0, 1),
        "missed": _number(0, 1),
        "recognition": _number(0, 1),
        "incidence": _number(0, 1),
    },
    "sampling": {
        "expected_wrong_exit": _number(0, 1),
        "margin": _number(0, 1),
        "icc": _number(0, 1, lo_open=False),
        "households_per_village": _integer(1),
        "response_rate": _number(0, 1, hi_open=False),
        "n_villages": _integer(1),
        "simulations": _integer(1, MAX_SIMULATIONS),
    },
    "satisfaction": {
        "formula": _formula,
        "scenarios": _names,
        "bootstrap_replicates": _integer(1, MAX_BOOTSTRAP_REPLICATES),
    },
    "calibration": {
        "method": _choice(CALIBRATION_METHODS),
        "totals": _names_among(FRAME_TOTAL_NAMES, "a frame total"),
    },
    "nonresponse": {
        "cells": _names_among(WEIGHTING_CELL_COLUMNS, "a weighting-cell column"),
        "min_cell_respondents": _integer(1, 1000),
        "max_factor": _number(1, MAX_NONRESPONSE_FACTOR, hi_open=False),
    },
}


# Optional top-level sections: absent from DEFAULTS (a run without them is unchanged) and
# from the notebooks' parameters unless given.
FOLLOWUP_DEFAULTS: dict[str, Any] = {"survey": None, "frame": None, "label": "re-check"}
# Rates a rectification target may name (evalkit.assessment.indicators.SPECS and the
# re-check's water indicator; tests/test_followup.py keeps them in step) and the counts.
TARGET_RATES: tuple[str, ...] = (
    "wrong_exit", "missed", "recognition", "incidence", "industry_support", "microcredit",
    "public_welfare_job", "dibao_not_exited", "water_in_home_nonpoor",
)
TARGET_COUNTS: tuple[str, ...] = ("microcredit_households",)


def _optional_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _count(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _BadValueError(f"expected a number, got {_got(value)}")
    if not math.isfinite(value) or value < 0:
        raise _BadValueError(f"{value:g} is out of range, expected a count of at least 0")
    return value


FOLLOWUP_SCHEMA: dict[str, Check] = {
    "survey": _data_path, "frame": _optional_text, "label": _text,
}
TARGETS_SCHEMA: dict[str, Check] = {
    **{key: _number(0, 1) for key in TARGET_RATES},
    **{key: _count for key in TARGET_COUNTS},
}


#: Optional words that identify the policy report (its heading, tab title and index link).
IDENTITY_KEYS: tuple[str, ...] = ("county", "period", "assessor")
#: Sections a params file may leave out; the run then injects None for each, so a value in a
#: notebook's parameters cell can never stand in for one the run was not given.
OPTIONAL_KEYS: tuple[str, ...] = ("followup", "targets", *IDENTITY_KEYS)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _identity(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _BadValueError(f"expected a short text, got {_got(value)}")
    if _CONTROL.search(value):
        raise _BadValueError(f"{_describe(value)} has a line break or control character; "
                             "expected one line")
    if len(value.strip()) > 60:
        raise _BadValueError(f"{_describe(value)} is too long, expected at most 60 characters")
    return value.strip()


def _validate_optional(raw: Mapping[Any, Any], source: Path) -> dict[str, Any]:
    """The optional ``followup`` and ``targets`` sections and the report's identity
    (``county``, ``period``, ``assessor``), when given (None: left out)."""
    out: dict[str, Any] = {}
    for key in IDENTITY_KEYS:
        if raw.get(key) is not None:
            try:
                out[key] = _identity(raw[key])
            except _BadValueError as exc:
                raise EvalkitError(f"{source}: {key}: {exc}") from None
    if raw.get("followup") is not None:
        given = raw["followup"]
        if not isinstance(given, Mapping):
            raise EvalkitError(f"{source}: followup: expected a section with keys "
                               f"{', '.join(FOLLOWUP_SCHEMA)}, got {_describe(given)}")
        if "survey" not in given:
            raise EvalkitError(f"{source}: followup.survey: missing; expected the re-check "
                               "survey file")
        out["followup"] = _validate_tree(given, FOLLOWUP_SCHEMA, FOLLOWUP_DEFAULTS,
                                         "followup.", source)
    if raw.get("targets") is not None:
        given = raw["targets"]
        if not isinstance(given, Mapping):
            raise EvalkitError(f"{source}: targets: expected a section with keys among "
                               f"{', '.join(TARGETS_SCHEMA)}, got {_describe(given)}")
        checked = _validate_tree(given, TARGETS_SCHEMA, dict.fromkeys(TARGETS_SCHEMA),
                                 "targets.", source)
        out["targets"] = {k: v for k, v in checked.items() if k in given}
    return out


@dataclass(frozen=True)
class Params:
    """A validated params file.

    ``values`` holds every key of :data:`DEFAULTS` (missing ones filled in), ``source`` the
    params file, and ``data_paths`` the resolved, existing data files by key (``data.frame``).
    """

    values: dict[str, Any]
    source: Path
    data_paths: dict[str, Path] = field(default_factory=dict)

    @property
    def run_name(self) -> str:
        return str(self.values["run_name"])

    @property
    def base_dir(self) -> Path:
        """Directory that relative data paths are resolved against."""
        return self.source.parent


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects a key given twice (PyYAML keeps the last silently) and
    any alias (``*name``): a params file never needs one, and nested aliases can expand a
    few lines into billions of values (a "billion laughs" file)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, f"alias *{event.anchor} is not accepted in a params file (write "
                "the value out instead)", event.start_mark)
        return super().compose_node(parent, index)


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def read_yaml(path: Path) -> Any:
    """Parse ``path`` safely; syntax errors become one line with line and column."""
    try:
        size = path.stat().st_size
        if size > MAX_PARAMS_BYTES:
            raise EvalkitError(f"{path}: the params file has {size} bytes; expected at most "
                               f"{MAX_PARAMS_BYTES} (a params file is a few dozen lines)")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalkitError(f"{path}: params file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalkitError(f"{path}: cannot read params file ({exc})") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise EvalkitError(f"{path}: {where}YAML syntax error: {problem}") from None


def _validate_tree(
    given: Mapping[Any, Any], schema: Mapping[str, Any], defaults: Mapping[str, Any],
    prefix: str, source: Path,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in given:
        if key not in schema:
            name = f"{prefix}{key}"
            hint = ""
            if f"{key}" in RUNNER_KEYS and not prefix:
                hint = " (set by the runner, not by the params file)"
            else:
                close = difflib.get_close_matches(str(key), list(schema), n=1)
                if close:
                    hint = f" (did you mean '{prefix}{close[0]}'?)"
            allowed = ", ".join([*schema, *(OPTIONAL_KEYS
                                            if not prefix else ())])
            raise EvalkitError(f"{source}: unknown key '{name}'{hint}; expected one of: {allowed}")
    for key, rule in schema.items():
        name = f"{prefix}{key}"
        if key not in given:
            out[key] = copy.deepcopy(defaults[key])
            continue
        value = given[key]
        if isinstance(rule, dict):
            if not isinstance(value, Mapping):
                raise EvalkitError(
                    f"{source}: {name}: expected a section with keys {', '.join(rule)}, "
                    f"got {_describe(value)}"
                )
            out[key] = _validate_tree(value, rule, defaults[key], f"{name}.", source)
        else:
            try:
                out[key] = rule(value)
            except _BadValueError as exc:
                raise EvalkitError(f"{source}: {name}: {exc}") from None
    return out


def _check_data(values: dict[str, Any], source: Path) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for key, spec in values["data"].items():
        if spec is None:
            continue
        try:
            path = resolve_data_path(spec, source.parent)
        except EvalkitError as exc:
            raise EvalkitError(f"{source}: data.{key}: {exc}") from None
        paths[f"data.{key}"] = path.resolve()
    for key, spec in (values.get("followup") or {}).items():
        if key in ("survey", "frame") and spec is not None:
            try:
                path = resolve_data_path(spec, source.parent)
            except EvalkitError as exc:
                raise EvalkitError(f"{source}: followup.{key}: {exc}") from None
            paths[f"followup.{key}"] = path.resolve()
    return paths


def validate(raw: Any, source: Path | str = "<params>", *, check_files: bool = True) -> Params:
    """Validate already-parsed params; ``source`` is the params file (for messages and paths)."""
    source = Path(source)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise EvalkitError(f"{source}: expected a mapping of keys to values at the top level")
    optional = {k: raw[k] for k in OPTIONAL_KEYS if k in raw}
    rest = {k: v for k, v in raw.items() if k not in optional}
    values = _validate_tree(rest, SCHEMA, DEFAULTS, "", source)
    _check_design(values["design"], source)
    values.update(_validate_optional(optional, source))
    data_paths = _check_data(values, source) if check_files else {}
    return Params(values=values, source=source, data_paths=data_paths)


def load_params(path: Path | str, *, check_files: bool = True) -> Params:
    """Read, validate and complete the params file at ``path``."""
    path = Path(path).expanduser().resolve()
    return validate(read_yaml(path), path, check_files=check_files)


def notebook_parameters(params: Params, tables_dir: str,
                        kernel_dir: Path | None = None) -> dict[str, Any]:
    """What papermill injects: every params key plus the runner's two paths.

    An optional section the params file leaves out (:data:`OPTIONAL_KEYS`: ``followup``,
    ``targets``, the report's identity) is injected as None, so nothing of a notebook's
    parameters cell reaches an output unless the params gave it.

    Values are plain data (str, int, float, bool, None, lists, dicts); papermill writes
    them as Python literals, so a string stays a string whatever it contains. With
    ``kernel_dir`` (the kernels' working folder) ``params_dir`` is relative to it: a
    province county's inputs are copies in a private temporary folder whose random name
    must not reach its reports (nor make two runs' reports differ).
    """
    injected = copy.deepcopy(params.values)
    for key in OPTIONAL_KEYS:
        injected.setdefault(key, None)
    injected["tables_dir"] = tables_dir
    injected["params_dir"] = (str(params.base_dir) if kernel_dir is None
                              else os.path.relpath(params.base_dir, kernel_dir))
    return injected
