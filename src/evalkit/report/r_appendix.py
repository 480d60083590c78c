"""An appendix for referees: the R code that reproduces a run's headline estimates.

A referee who trusts R's survey package (Lumley 2010) more than evalkit can rerun the
headline estimates on the run's own data: :func:`write_r_appendix` writes, into the run's
``tables/`` folder (listed on the run's ``index.html``),

* ``r_appendix_data.csv``: the analysed households, only the columns the design and the
  estimates use (design variables, household type and size, the indicators' and the
  satisfaction model's columns; never a name, ID number or phone);
* ``r_appendix.R``: ``svydesign`` with the design the run used (read from its
  :class:`evalkit.survey.design.SurveyDesign`: ids, strata, weights, fpc, ``pps``, the
  lonely-PSU option), the run's calibration (``postStratify`` to the frame's household
  counts by type, or ``calibrate`` with the same columns and totals), then ``svyciprop``
  (recognition), ``svyratio`` (the wrong-exit and missed rates) and ``svyglm`` (the
  satisfaction model), each printed beside the value the run's ``indicators.csv`` and
  ``coefficients.csv`` hold, stopping with an error when any differs by more than 1e-6
  relative; then ``sessionInfo()``;
* ``weights_by_type.csv``: the distribution of the final weights by household type
  (:func:`weight_distribution`).

:func:`appendix_lines` says the same in sentences, with the software versions and which
incidence line the run used and why (:func:`incidence_line_sentence`).
"""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.survey.design import SurveyDesign
from evalkit.survey.svyglm import split_formula

__all__ = ["APPENDIX_FILES", "appendix_lines", "incidence_line_sentence", "r_script",
           "weight_distribution", "write_r_appendix"]

#: The files :func:`write_r_appendix` writes in the tables folder.
APPENDIX_FILES: tuple[str, str, str] = ("r_appendix.R", "r_appendix_data.csv",
                                        "weights_by_type.csv")
_TYPES = ("exited", "not_exited", "nonregistered")
_INDICATOR_COLUMNS = ("household_type", "household_size", "people_wrongly_exited",
                      "people_missed", "recognizes")
#: The column that stands for household_id in the appendix's data (one household a row).
_ROW = "household_row"
_LONELY = {"fail": "fail", "adjust": "adjust", "certainty": "certainty", "remove": "remove",
           "average": "average"}


def weight_distribution(design: SurveyDesign, by: str = "household_type") -> pd.DataFrame:
    """The final weights' distribution by ``by``: households, sum, min, quartiles, max and
    the coefficient of variation (Kish's weighting effect ``1 + CV^2`` grows with it).

    >>> import pandas as pd
    >>> from evalkit import SurveyDesign
    >>> data = pd.DataFrame({"v": [1, 1, 2, 2], "household_type": ["exited"] * 2 + ["x"] * 2,
    ...                      "w": [10.0, 30.0, 20.0, 20.0]})
    >>> weight_distribution(SurveyDesign(data, "v", weights="w"))["sum"].tolist()
    [40.0, 40.0]
    """
    if by not in design.data.columns:
        raise EvalkitError(f"weight_distribution: column {by!r} is not in the survey")
    frame = pd.DataFrame({by: design.data[by].astype(str).to_numpy(),
                          "weight": design.weight_values})
    groups = frame.groupby(by, sort=True)["weight"]
    out = groups.agg(households="size", sum="sum", min="min",
                     q25=lambda w: float(np.quantile(w, 0.25)), median="median",
                     q75=lambda w: float(np.quantile(w, 0.75)), max="max",
                     cv=lambda w: float(np.std(w) / np.mean(w)) if np.mean(w) else np.nan)
    return out.reset_index()


def _formula_terms(formula: str) -> list[str]:
    """The column names a model formula uses (its response first)."""
    response, rhs = split_formula(formula)
    names = [response]
    for token in rhs.replace("*", "+").replace(":", "+").replace("(", "+").replace(
            ")", "+").split("+"):
        token = token.strip()
        if token and token not in ("0", "1", "C") and token not in names:
            names.append(token)
    return names


def _r_formula(columns: Sequence[str]) -> str:
    return "~" + " + ".join(columns)


def _design_call(design: SurveyDesign) -> str:
    """``svydesign(...)`` for ``design``, from its own fields (not a fixed string)."""
    psu = design.psu
    if psu is None:
        ids = "~1"
    else:
        # household_id is not written to the data (privacy): its stage's unit is the row.
        ids = _r_formula([_ROW if c == "household_id" else c
                          for c in ([psu] if isinstance(psu, str) else list(psu))])
    parts = [f"ids = {ids}"]
    if design.strata is not None:
        parts.append(f"strata = ~{design.strata}")
    if design.weights is not None:
        parts.append(f"weights = ~{design.weights}")
    elif design.probs is not None:
        parts.append(f"probs = ~{design.probs}")
    fpc = design.fpc
    if isinstance(fpc, str):
        parts.append(f"fpc = ~{fpc}")
    elif isinstance(fpc, (list, tuple)):
        # A number (1: every unit of the stage taken) becomes a constant column, since R's
        # fpc formula takes columns (see _fpc_constants).
        parts.append("fpc = " + _r_formula([c if isinstance(c, str) else f"fpc_stage{k + 1}"
                                            for k, c in enumerate(fpc)]))
    elif fpc is not None:
        parts.append(f"fpc = rep({float(fpc)!r}, nrow(households))")
    if design.pps is not None:
        parts.append(f'pps = "{design.pps}"')
    return "svydesign(" + ", ".join(parts) + ", data = households)"


def _fpc_constants(design: SurveyDesign) -> list[str]:
    """R lines adding the constant fpc columns :func:`_design_call` names."""
    fpc = design.fpc
    if not isinstance(fpc, (list, tuple)):
        return []
    return [f"households$fpc_stage{k + 1} <- {float(c)!r}" for k, c in enumerate(fpc)
            if not isinstance(c, str)]


def _frame_totals(frame: pd.DataFrame) -> dict[str, float]:
    totals = {c: float(pd.to_numeric(frame[c]).sum()) for c in frame.columns
              if c.startswith(("hh_", "people_"))}
    if "hh_exited" in totals and "hh_not_exited" in totals:
        totals["hh_registered"] = totals["hh_exited"] + totals["hh_not_exited"]
    return totals


def _calibration_code(calibration: Mapping[str, Any] | None, frame: pd.DataFrame) -> list[str]:
    """R lines calibrating ``des`` as the params' calibration block does
    (:func:`evalkit.assessment.county_totals.frame_calibration`)."""
    method = (calibration or {}).get("method", "none")
    if method == "none":
        return ["# The run used the design weights (calibration: none)."]
    names = list(dict.fromkeys((calibration or {}).get("totals") or
                               ("hh_registered", "hh_exited", "hh_not_exited",
                                "hh_nonregistered")))
    if {"hh_exited", "hh_not_exited"} <= set(names) and "hh_registered" in names:
        names.remove("hh_registered")
    totals = _frame_totals(frame)
    missing = [n for n in names if n not in totals]
    if missing:
        raise EvalkitError("r appendix: the frame has no total " + ", ".join(missing))
    if method == "poststratify" and set(names) == {f"hh_{t}" for t in _TYPES}:
        counts = ", ".join(repr(t).replace("'", '"') for t in _TYPES)
        freqs = ", ".join(f"{totals[f'hh_{t}']:.0f}" for t in _TYPES)
        return ["# Post-stratified to the frame's households by type (the run's calibration).",
                f"population <- data.frame(household_type = c({counts}), Freq = c({freqs}))",
                "des <- postStratify(des, ~household_type, population)"]
    lines = ["# Calibrated to the frame's totals, one column per total (the run's calibration)."]
    for name in names:
        kind, what = name.split("_", 1)
        member = ('household_type %in% c("exited", "not_exited")' if what == "registered"
                  else f'household_type == "{what}"')
        value = f"as.numeric({member})" + (" * household_size" if kind == "people" else "")
        lines.append(f"des <- update(des, cal_{name} = {value})")
    population = ", ".join(f"cal_{n} = {totals[n]:.0f}" for n in names)
    calfun = "cal.raking" if method == "raking" else "cal.linear"
    lines.append(f"des <- calibrate(des, ~0 + {' + '.join(f'cal_{n}' for n in names)}, "
                 f"population = c({population}), calfun = {calfun})")
    return lines


def _versions() -> str:
    return ", ".join(f"{name} {metadata.version(name)}"
                     for name in ("evalkit", "numpy", "pandas", "scipy"))


def r_script(design: SurveyDesign, frame: pd.DataFrame, *,
             calibration: Mapping[str, Any] | None, level: float, ci_method: str,
             formula: str | None) -> str:
    """The R script of the appendix (module docstring) for this run's design and params."""
    method = {"clopper-pearson": "beta", "beta": "beta"}.get(ci_method, ci_method)
    if method not in ("logit", "likelihood", "asin", "beta", "mean", "xlogit"):
        method = "logit"  # intervals R's svyciprop has no name for: compare estimate and se
    lonely = _LONELY.get(design.lonely_psu, "fail")
    lines = [
        "# Reproduces this run's headline estimates with R's survey package (Lumley 2010).",
        "# Written by evalkit.report.r_appendix.write_r_appendix; run it from the run's",
        "# tables/ folder:  Rscript r_appendix.R",
        "# It stops with an error when any estimate differs from the run's by more than 1e-6",
        "# relative.",
        f"# Written with Python {platform.python_version()}, {_versions()}.",
        "suppressMessages(library(survey))",
        f'options(survey.lonely.psu = "{lonely}")',
        'households <- read.csv("r_appendix_data.csv", stringsAsFactors = FALSE)',
        *_fpc_constants(design),
        f"des <- {_design_call(design)}",
        *_calibration_code(calibration, frame),
        'run <- read.csv("indicators.csv", stringsAsFactors = FALSE)',
        "row_of <- function(key) run[run$indicator == key, ]",
        "compare <- list()",
        "check <- function(what, r, evalkit) {",
        "  rel <- abs(r - evalkit) / pmax(abs(evalkit), 1e-12)",
        '  cat(sprintf("%-40s R %.10g  evalkit %.10g  relative difference %.1e\\n",',
        "              what, r, evalkit, rel))",
        "  compare[[what]] <<- rel",
        "}",
        "",
        "# Recognition: a household proportion, svyciprop with the run's interval method.",
        f'rec <- svyciprop(~recognizes, des, method = "{method}", level = {level!r})',
        'check("recognition estimate", as.numeric(coef(rec)), row_of("recognition")$estimate)',
        'check("recognition se", as.numeric(SE(rec)), row_of("recognition")$se)',
        'check("recognition ci_low", as.numeric(confint(rec))[1], row_of("recognition")$ci_low)',
        'check("recognition ci_high", as.numeric(confint(rec))[2], '
        'row_of("recognition")$ci_high)',
        "",
        "# People-level rates: ratios of household totals in their domain.",
        'we <- svyratio(~people_wrongly_exited, ~household_size, '
        'subset(des, household_type == "exited"))',
        'check("wrong_exit estimate", as.numeric(coef(we)), row_of("wrong_exit")$estimate)',
        'check("wrong_exit se", as.numeric(SE(we)), row_of("wrong_exit")$se)',
        'mi <- svyratio(~people_missed, ~household_size, '
        'subset(des, household_type == "nonregistered"))',
        'check("missed estimate", as.numeric(coef(mi)), row_of("missed")$estimate)',
        'check("missed se", as.numeric(SE(mi)), row_of("missed")$se)',
    ]
    if formula:
        lines += [
            "",
            "# The satisfaction model: svyglm with quasibinomial errors.",
            f"fit <- svyglm({formula}, design = des, family = quasibinomial())",
            'coefs <- read.csv("coefficients.csv", stringsAsFactors = FALSE)',
            'r_names <- gsub("[()]", "", names(coef(fit)))',
            "for (k in seq_along(r_names)) {",
            "  hit <- coefs[coefs$term == r_names[k], ]",
            "  if (nrow(hit) == 1) {",
            '    check(paste("coef", r_names[k]), as.numeric(coef(fit)[k]), hit$coef)',
            '    check(paste("se", r_names[k]), as.numeric(SE(fit)[k]), hit$se)',
            "  }",
            "}",
        ]
    lines += [
        "",
        "worst <- max(unlist(compare))",
        'cat(sprintf("largest relative difference: %.1e\\n", worst))',
        "print(sessionInfo())",
        'if (worst > 1e-6) stop("R and evalkit differ by more than 1e-6 relative")',
        "",
    ]
    return "\n".join(lines)


def _data_columns(design: SurveyDesign, formula: str | None) -> list[str]:
    design_columns: list[str] = []
    for value in (design.psu, design.strata, design.weights, design.probs, design.fpc):
        if isinstance(value, str):
            design_columns.append(value)
        elif isinstance(value, (list, tuple)):
            design_columns.extend(c for c in value if isinstance(c, str))
    wanted = [*design_columns, *_INDICATOR_COLUMNS,
              *(_formula_terms(formula) if formula else [])]
    return [c for c in dict.fromkeys(wanted) if c in design.data.columns and c != "household_id"]


def write_r_appendix(design: SurveyDesign, frame: pd.DataFrame, tables_dir: str | Path, *,
                     calibration: Mapping[str, Any] | None, level: float, ci_method: str,
                     formula: str | None, final: SurveyDesign | None = None) -> list[Path]:
    """Write :data:`APPENDIX_FILES` into ``tables_dir``: the R script, its data and the
    weights by household type; returns their paths.

    ``design`` is the run's design before calibration (its weights after non-response
    adjustment: R's ``svydesign(weights = ~adjusted)``), ``final`` the calibrated one whose
    weights the distribution shows (``design`` when None); ``calibration`` the params'
    block, ``formula`` the satisfaction formula (None: no model in the script).
    """
    folder = Path(tables_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = design.data.loc[:, _data_columns(design, formula)]
    psu = [design.psu] if isinstance(design.psu, str) else list(design.psu or ())
    if "household_id" in psu:
        data = data.assign(**{_ROW: np.arange(1, len(data) + 1)})
    script = r_script(design, frame, calibration=calibration, level=level,
                      ci_method=ci_method, formula=formula)
    paths = [folder / name for name in APPENDIX_FILES]
    paths[0].write_text(script, encoding="utf-8")
    data.to_csv(paths[1], index=False)
    weights = weight_distribution(final if final is not None else design)
    weights.round(6).to_csv(paths[2], index=False)
    return paths


def incidence_line_sentence(threshold: float | None) -> str:
    """Which incidence line the run used, and why: 2% is the central provinces' line and
    3% the western provinces' (the exit standard); the run uses ``thresholds.incidence``."""
    if threshold is None:
        return "This run judged comprehensive incidence against no line (none was given)."
    if abs(threshold - 0.02) < 1e-12:
        which = "the central provinces' line (2%)"
    elif abs(threshold - 0.03) < 1e-12:
        which = "the western provinces' line (3%)"
    else:
        which = (f"a line of {threshold:.3g} (neither the central provinces' 2% nor the "
                 "western provinces' 3%)")
    return (f"Comprehensive incidence was judged against {which}, because the run's params "
            f"set thresholds.incidence = {threshold:g}; a county in a western province is "
            "judged against 3% (set it to 0.03), one in a central province against 2%.")


def appendix_lines(design: SurveyDesign, thresholds: Mapping[str, float],
                   calibration: Mapping[str, Any] | None = None) -> list[str]:
    """The appendix in sentences: the design R is given (and the params' ``calibration``,
    named only when the run calibrates), the software versions and the incidence line."""
    method = (calibration or {}).get("method", "none")
    weights = ("then the run's calibration" if method != "none"
               else "with the design weights, as the run (no calibration)")
    return [
        f"R reproduces the run's design as `{_design_call(design)}` (the design's own "
        f"fields), {weights}; `tables/r_appendix.R` compares every headline "
        "estimate and the model's coefficients with this run's tables and stops on a "
        "relative difference above 1e-6.",
        "Software versions: the run's manifest.json lists Python's and every package's, "
        "the script's header the ones that wrote it, and the script prints R's "
        "sessionInfo() (evalkit's reference values come from R survey 4.1-1).",
        incidence_line_sentence(thresholds.get("incidence")),
    ]
