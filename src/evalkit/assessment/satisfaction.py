"""The satisfaction analysis of the assessment: the counterfactual scenarios (water piped in,
reimbursement raised), the sensitivity of the model, and recovery of a known truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from evalkit.contract.errors import EvalkitError

if TYPE_CHECKING:
    pass
from evalkit.survey.decision import CANNOT_TELL, FAIL, PASS, decide
from evalkit.survey.robust import cluster_robust
from evalkit.survey.svyglm import (
    LogitResult,
    Scenario,
    check_columns,
    split_formula,
)
from evalkit.survey.svyolr import OrdinalResult, ordinal_logit

#: The recognition codes from lowest to highest (the ordinal model's response).
RECOGNITION_ORDER: tuple[str, ...] = ("dissatisfied", "basically_satisfied", "satisfied")


# --------------------------------------------------------------------------------------
# Counterfactual scenarios
# --------------------------------------------------------------------------------------
def _pipe_water(data: pd.DataFrame) -> pd.DataFrame:
    """Water piped into the home of non-poor households that now have it at the door."""
    check_columns(data, ["nonpoor", "water_at_door"], "scenario 'pipe_water'")
    out = data.copy()
    rows = (out["nonpoor"] == 1) & (out["water_at_door"] == 1)
    out.loc[rows, "water_at_door"] = 0
    if "water_access" in out.columns:
        out.loc[rows, "water_access"] = "in_home"
    return out


def _raise_reimbursement(data: pd.DataFrame) -> pd.DataFrame:
    """Non-poor reimbursement raised to the poor households' level (gap to 90% closed)."""
    check_columns(data, ["nonpoor", "reimbursement_gap"], "scenario 'raise_reimbursement'")
    out = data.copy()
    rows = out["nonpoor"] == 1
    out.loc[rows, "reimbursement_gap"] = 0.0
    if "reimbursement_share" in out.columns:
        share = out["reimbursement_share"]
        out.loc[rows & share.notna(), "reimbursement_share"] = np.maximum(
            share[rows & share.notna()], 0.9)
    return out


def _both(data: pd.DataFrame) -> pd.DataFrame:
    """Both disparities removed."""
    return _raise_reimbursement(_pipe_water(data))


#: Named counterfactual scenarios (the ``satisfaction.scenarios`` params refer to these).
SCENARIOS: dict[str, Scenario] = {
    "pipe_water": _pipe_water,
    "raise_reimbursement": _raise_reimbursement,
    "both": _both,
}


SCENARIO_DESCRIPTIONS: dict[str, str] = {
    "observed": "as surveyed",
    "pipe_water": "water piped into non-poor homes that have it at the door",
    "raise_reimbursement": "non-poor reimbursement raised to 90% (the poor households' level)",
    "both": "both disparities removed",
}


def scenario_data(data: pd.DataFrame, scenario: str | Scenario) -> pd.DataFrame:
    """A copy of ``data`` with the covariates a named (or callable) scenario changes."""
    if callable(scenario):
        return scenario(data)
    if scenario not in SCENARIOS:
        raise EvalkitError(
            f"scenario {scenario!r} is unknown; expected one of " + ", ".join(SCENARIOS)
        )
    return SCENARIOS[scenario](data)


DEFAULT_SCENARIOS: tuple[str, ...] = ("pipe_water", "raise_reimbursement", "both")


def scenario_table(fit: LogitResult, scenarios: Sequence[str | tuple[str, Scenario]]
                   = DEFAULT_SCENARIOS, level: float = 0.95, by: str | None = None
                   ) -> pd.DataFrame:
    """Predicted recognition under the named scenarios (:data:`SCENARIOS`) beside the
    observed rate: :meth:`evalkit.survey.svyglm.LogitResult.scenarios` with each name
    turned into its function; ``(name, function)`` pairs pass through."""
    named: list[tuple[str, Scenario]] = []
    for item in scenarios:
        if isinstance(item, tuple):
            named.append(item)
        elif item in SCENARIOS:
            named.append((item, SCENARIOS[item]))
        else:
            raise EvalkitError(
                f"scenarios: {item!r} is unknown; expected one of " + ", ".join(SCENARIOS))
    return fit.scenarios(named, level=level, by=by)


def sensitivity_table(result: LogitResult, ordinal: OrdinalResult | None = None,
                      cluster: str | None = None) -> pd.DataFrame:
    """Binary design-based fit beside cluster-robust errors and the ordinal model.

    Under proportional odds the binary logit of "recognizes" (basically satisfied or
    satisfied vs dissatisfied) and the ordinal model estimate the same slopes, so close
    ``coef`` and ``coef_ordinal`` support the binary summary of the three-level answer.
    """
    table = cluster_robust(result, cluster)[["coef", "se_design", "se_cluster", "ratio"]]
    table = table.rename(columns={"ratio": "cluster_to_design"})
    if ordinal is not None:
        table["coef_ordinal"] = ordinal.params.reindex(table.index)
        table["se_ordinal"] = ordinal.bse.reindex(table.index)
    return table


@dataclass
class Sensitivity:
    """The sensitivity checks of one fit: table, ordinal model and computed sentences."""

    table: pd.DataFrame
    ordinal: OrdinalResult | None
    notes: list[str]


def sensitivity(result: LogitResult, response: str = "recognition",
                cluster: str | None = None) -> Sensitivity:
    """Cluster-robust errors and the ordinal model of ``response``, with plain sentences.

    The ordinal model uses the binary model's terms (:func:`ordinal_formula`). When it
    cannot be fitted (e.g. separation in the three-level answer) the table is left without
    its columns and a note says why, rather than stopping the report.
    """
    notes: list[str] = []
    ordinal: OrdinalResult | None = None
    if response in result.design.data.columns:
        try:
            ordinal = ordinal_logit(result.design, ordinal_formula(result.formula, response),
                                    levels=RECOGNITION_ORDER)
        except EvalkitError as exc:
            notes.append(f"the ordinal model could not be fitted: {exc}")
    else:
        notes.append(f"no column {response!r}: the ordinal check is skipped")
    table = sensitivity_table(result, ordinal, cluster)
    ratio = table["cluster_to_design"]
    design = result.design
    text = (f"Cluster-robust standard errors by village (statsmodels) are {ratio.min():.3f} "
            f"to {ratio.max():.3f} times the design-based ones.")
    if design.strata is None and design.fpc is None:
        expected = float(np.sqrt((result.n_obs - 1) / (result.n_obs - len(result.params))))
        text += (f" With villages as the only design feature the two differ only by "
                 f"statsmodels' small-sample factor sqrt((N-1)/(N-K)) = {expected:.4f} (and "
                 "R's use of the previous IRLS iterate's weights).")
    else:
        text += (" The design-based errors also centre village totals within strata and "
                 "apply the finite population correction, which the cluster-robust ones "
                 "ignore.")
    notes.append(text)
    if ordinal is not None:
        slopes = table.drop(index="Intercept", errors="ignore")
        same = np.sign(slopes["coef"]) == np.sign(slopes["coef_ordinal"])
        differ = list(slopes.index[~same])
        text = (f"The ordinal model of the three-level answer gives slopes of the same sign "
                f"as the binary model for {int(same.sum())} of {len(slopes)} terms")
        text += ("." if not differ else
                 "; they differ for " + ", ".join(f"`{d}`" for d in differ) + ".")
        notes.append(text)
    return Sensitivity(table=table, ordinal=ordinal, notes=notes)


def scenario_terms(fit: LogitResult, scenario: str | Scenario) -> tuple[str, ...]:
    """The model terms whose variables a scenario changes (its function applied to the
    fit's data, compared column by column), in the model's order."""
    data = fit.analysis_data()
    changed_data = scenario_data(data, scenario)
    changed = {column for column in data.columns if column in changed_data.columns
               and not data[column].equals(changed_data[column])}

    def touches(part: str) -> bool:
        return any(part == column or part.startswith(f"C({column})") for column in changed)

    return tuple(name for name in fit.params.index
                 if any(touches(part) for part in str(name).split(":")))


def sign_conflicts(table: pd.DataFrame) -> tuple[str, ...]:
    """Terms whose binary and ordinal coefficients have opposite signs, from
    :func:`sensitivity_table` (``coef`` beside ``coef_ordinal``; () without the ordinal
    model). Under proportional odds both estimate the same slope, so an opposite sign means
    the binary summary of the three-level answer is not robust for that term."""
    if "coef_ordinal" not in table.columns:
        return ()
    binary = pd.to_numeric(table["coef"], errors="coerce")
    ordinal = pd.to_numeric(table["coef_ordinal"], errors="coerce")
    differ = np.sign(binary) * np.sign(ordinal) < 0
    return tuple(str(name) for name in table.index[differ.to_numpy()])


#: Columns :func:`with_caveats` adds to a scenario table: the terms a scenario changes that
#: rest on few events, and those whose sign the ordinal model contradicts (``;``-separated).
CAVEAT_COLUMNS: tuple[str, str] = ("rests_on_few", "sign_differs")


def with_caveats(table: pd.DataFrame, fit: LogitResult, fragile: Sequence[str],
                 conflicts: Sequence[str]) -> pd.DataFrame:
    """The scenario table with :data:`CAVEAT_COLUMNS`: for each scenario, the terms it
    changes (:func:`scenario_terms`) that are in ``fragile`` (coefficients resting on few
    events, :func:`evalkit.assessment.fragility.fragile_terms`) and in ``conflicts``
    (:func:`sign_conflicts`); empty for the observed row and for unnamed scenarios."""
    out = table.copy()
    few, signs = [], []
    for name in out["scenario"].astype(str):  # a handful of scenarios
        terms = scenario_terms(fit, name) if name in SCENARIOS else ()
        few.append(";".join(t for t in terms if t in set(fragile)))
        signs.append(";".join(t for t in terms if t in set(conflicts)))
    out[CAVEAT_COLUMNS[0]] = few
    out[CAVEAT_COLUMNS[1]] = signs
    return out


def _terms(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    return [t for t in str(value).split(";") if t]


def scenario_caveat(row: Mapping[str, Any]) -> str:
    """The fragility a scenario's numbers carry, as one sentence ("" when none): the terms
    it changes that rest on few households, and those whose sign the ordinal model
    contradicts (the :data:`CAVEAT_COLUMNS` of its row)."""
    few, signs = _terms(row.get(CAVEAT_COLUMNS[0])), _terms(row.get(CAVEAT_COLUMNS[1]))
    parts = []
    if few:
        parts.append("it rests on coefficients fitted from few households ("
                     + ", ".join(f"`{t}`" for t in few) + ")")
    if signs:
        parts.append("the ordinal model of the three-level answer gives the opposite sign "
                     "for " + ", ".join(f"`{t}`" for t in signs))
    return ("Fragile: " + "; ".join(parts) + ".") if parts else ""


#: What every scenario assumes, said once before the scenarios.
CAUSAL_ASSUMPTION = (
    "The survey is cross-sectional: the model shows how recognition is associated with each "
    "disparity, not what removing it would do. Each scenario predicts recognition with the "
    "non-poor households' covariates changed, which is the effect of the change only if the "
    "association is causal (nothing left out of the model, such as village or the "
    "households' history, drives both).")


def scenario_sentences(table: pd.DataFrame, threshold: float | None = None,
                       level: float = 0.95) -> list[str]:
    """One plain sentence per scenario of :meth:`LogitResult.scenarios` (one group), after
    :data:`CAUSAL_ASSUMPTION`; a scenario whose terms are fragile (:func:`with_caveats`)
    carries :func:`scenario_caveat` in its own sentence."""
    rows = table.set_index("scenario")
    observed = rows.loc["observed"]
    sentences = [
        f"Observed recognition: {observed['estimate']:.1%} ({level:.0%} interval "
        f"{observed['ci_low']:.1%} to {observed['ci_high']:.1%}).",
        CAUSAL_ASSUMPTION,
    ]
    for name, row in rows.drop(index="observed").iterrows():
        description = SCENARIO_DESCRIPTIONS.get(str(name), str(name))
        sentence = (
            f"{description.capitalize()}: predicted {row['estimate']:.1%} "
            f"({row['ci_low']:.1%} to {row['ci_high']:.1%}), "
            f"{row['change'] * 100:+.1f} percentage points "
            f"({row['change_low'] * 100:+.1f} to {row['change_high'] * 100:+.1f}) against the "
            "prediction for the households as they are, if the association were causal"
        )
        # Where the interval lies is the threshold rule's verdict on these bounds.
        verdict = decide((row["ci_low"], row["ci_high"]), threshold, "at_least")
        if verdict is not None:
            sentence += {PASS: f"; the whole interval is at or above the {threshold:.0%} line",
                         FAIL: f"; the whole interval is below the {threshold:.0%} line",
                         CANNOT_TELL: f"; the interval straddles the {threshold:.0%} line",
                         }[verdict]
        caveat = scenario_caveat(row.to_dict())
        sentences.append(sentence + "." + (f" {caveat}" if caveat else ""))
    return sentences


# --------------------------------------------------------------------------------------
# Synthetic data: does the sample recover the generator's coefficients?
# --------------------------------------------------------------------------------------
TRUTH_KINDS: dict[str, str] = {
    "census": "census coefficients (the model fitted to every household of the county: "
              "what svyglm estimates)",
    "population_averaged": "population-averaged coefficients (village effects integrated "
                           "out)",
    "conditional": "generating coefficients (given the village effect)",
}


def load_truth(data: Mapping[str, str], params_dir: str | None = None) -> dict | None:
    """The generator's ``truth.json`` beside the run's survey file, or None.

    The packaged synthetic county (``packaged:survey.csv``) ships one, and so does every
    county written by :func:`evalkit.synth.county.write_county`. A user's own survey has none.
    """
    import json
    from pathlib import Path

    from evalkit.contract.paths import resolve_data_path

    survey = resolve_data_path(data["survey"], Path(params_dir) if params_dir else Path.cwd())
    candidate = survey.parent / "truth.json"
    if not candidate.is_file():
        return None
    truth = json.loads(candidate.read_text(encoding="utf-8"))
    return truth if "recognition_model" in truth else None


def recovery_table(result: LogitResult, truth: Mapping[str, Any], level: float = 0.95
                   ) -> pd.DataFrame:
    """The fitted coefficients beside the generator's, and whether each interval covers them.

    ``truth`` is a synthetic county's ``truth.json``; its ``recognition_model`` gives three
    sets of true coefficients (:data:`TRUTH_KINDS`). The design-based ``svyglm`` targets the
    census fit (Binder 1983: the finite-population parameter), which differs from the
    generating coefficients by the village effects' attenuation and their realized values.
    """
    model = truth["recognition_model"]
    ci = result.conf_int(level)
    table = pd.DataFrame({"estimate": result.params, "ci_low": ci["ci_low"],
                          "ci_high": ci["ci_high"]})
    for kind in TRUTH_KINDS:
        values = pd.Series(model.get(f"coefficients_{kind}", {}), dtype=float)
        table[kind] = values.reindex(table.index)
        covered = (table["ci_low"] <= table[kind]) & (table[kind] <= table["ci_high"])
        table[f"covered_{kind}"] = covered.astype("boolean").mask(table[kind].isna())
    table = table.rename_axis("term")
    return table


def recovery_sentence(table: pd.DataFrame, level: float = 0.95) -> str:
    """Computed sentences on how many true coefficients the intervals cover, and how many
    point estimates have the wrong sign.

    Covering is not recovering: an interval that covers the truth may still put the point
    estimate on the wrong side of zero. Per kind of truth (:data:`TRUTH_KINDS`) the
    sentence counts the covered coefficients, the wrong signs (estimate and truth of
    opposite signs), and the coefficients whose interval excludes zero on the truth's side
    (the only ones whose direction the sample establishes).
    """
    covers, wrong, pinned = [], [], []
    for kind, label in TRUTH_KINDS.items():
        known = table[kind].notna()
        if not known.any():
            continue
        total = int(known.sum())
        covered = int(table.loc[known, f"covered_{kind}"].astype(bool).sum())
        missed = list(table.index[known & ~table[f"covered_{kind}"].fillna(True).astype(bool)])
        text = f"{covered} of {total} {label}"
        if missed:
            text += " (outside: " + ", ".join(f"`{m}`" for m in missed) + ")"
        covers.append(text)
        truth = table[kind]
        opposite = known & (np.sign(table["estimate"]) * np.sign(truth) < 0)
        names = list(table.index[opposite])
        short = label.split(" (")[0]
        wrong.append(f"{len(names)} of {total} {short}"
                     + (" (" + ", ".join(f"`{m}`" for m in names) + ")" if names else ""))
        sure = known & (((truth > 0) & (table["ci_low"] > 0))
                        | ((truth < 0) & (table["ci_high"] < 0)))
        pinned.append(f"{int(sure.sum())} of {total} {short}")
    if not covers:
        return "The data carry no true coefficients to compare with."
    return (f"The {level:.0%} intervals cover " + "; ".join(covers) + ". Covering is not "
            "recovering: the point estimate has the sign opposite to the truth for "
            + "; ".join(wrong) + ", and only the intervals that exclude zero on the truth's "
            "side establish a direction: " + "; ".join(pinned) + ".")


def ordinal_formula(formula: str, response: str = "recognition") -> str:
    """The binary model's formula with the three-level answer as the response."""
    _, rhs = split_formula(formula)
    return f"{response} ~ {rhs}"
