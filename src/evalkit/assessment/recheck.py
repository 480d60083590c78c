"""A synthetic re-check round (回头看) of a synthetic county, with documented true changes.

The county is the default synthetic county (:func:`evalkit.synth.county.generate_county` with the
default seed), or the one of another ``county_seed``; its frame and households are unchanged
except for what the rectification changed, household by household:

* water piped into the home of non-registered households that had it at the door only
  (each with probability ``water_piped``);
* reimbursement of non-registered households' hospital stays raised by
  ``reimbursement_raise`` (capped at 95%);
* wrongly exited households rectified (support resumed, no longer judged wrongly exited)
  with probability ``wrong_exit_fixed``;
* public-welfare jobs and microcredit given to registered households that had none (with
  probabilities ``job_added`` and ``microcredit_added``);
* recognition: each household keeps its latent satisfaction ``y* = a + x'b + u_village + e``
  of the assessment (same village effect ``u`` and household draw ``e``, recovered from the
  generator's random streams), with ``x`` updated for the new water and reimbursement and a
  shift ``recognition_shift`` for everything else the rectification did (visits, dibao
  reviews). The part of the change due to water and reimbursement alone (the shift set to
  0) is documented beside the total change.

The re-check sample is a second systematic PPS sample of villages with the same inclusion
probabilities, its random start shifted by the fixed ``start_shift`` from the assessment's
(``u2 = u1 + shift mod 1``; ``u2`` is uniform whenever ``u1`` is, so the re-check is a valid
PPS sample on its own) which revisits about two thirds of the villages, then a fresh simple
random sample of households within each village and list, allocated as in the assessment.
A household drawn in both rounds keeps its identity. The true changes are finite-population
values of the whole county (``truth.json``), which design-based estimates of the change
target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit import synth
from evalkit.contract.data import prepare_survey
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import package_data_dir
from evalkit.sampling.pps import PPS_EPS, pps_inclusion_probabilities, systematic_hits

FOLLOWUP_SEED = 20200815
FOLLOWUP_VERSION = 1

#: What the rectification changed, as probabilities per household (see the module docstring).
CHANGES: dict[str, float] = {
    "water_piped": 0.70,
    "reimbursement_raise": 0.10,
    "wrong_exit_fixed": 0.60,
    "job_added": 0.30,
    "microcredit_added": 0.22,
    "recognition_shift": 0.30,
}
#: Shift of the systematic PPS start (in units of the sampling interval).
START_SHIFT = 0.08
_REIMBURSEMENT_CAP = 0.95


@dataclass
class Recheck:
    """The re-check round: the county's households after the rectification, the sample."""

    county: synth.SyntheticCounty
    population: pd.DataFrame  # every household after the rectification (coded, derived)
    sample: pd.DataFrame  # the re-check survey file as shipped
    truth: dict[str, Any]


def _village_codes(frame: pd.DataFrame, population: pd.DataFrame) -> np.ndarray:
    position = pd.Series(np.arange(len(frame)), index=frame["village"].to_numpy())
    return position.loc[population["village"].to_numpy()].to_numpy()


def _first_stage(county: synth.SyntheticCounty, shift: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Villages of the assessment (recovered) and of the re-check, and the PPS probabilities."""
    s = county.settings
    sizes = synth.village_sizes(s, county.frame)
    pi = pps_inclusion_probabilities(sizes, s.n_sample_villages)
    # The assessment's start is the first draw of its "sample" stream (frame order: no
    # permutation is drawn before it).
    u1 = synth.random_streams(county.seed, synth.STREAM_NAMES)["sample"].random()
    certain = pi >= 1.0 - PPS_EPS
    chain = np.flatnonzero((pi > PPS_EPS) & ~certain)
    n_rest = s.n_sample_villages - int(certain.sum())

    def select(u: float) -> np.ndarray:
        chosen = certain.copy()
        chosen[chain[systematic_hits(pi[chain], n_rest, u)]] = True
        return np.flatnonzero(chosen)

    first = select(u1)
    sampled = np.sort(pd.unique(_village_codes(county.frame, county.sample)))
    if not np.array_equal(first, sampled):
        raise EvalkitError("re-check: could not recover the assessment's village sample")
    return first, select((u1 + shift) % 1.0), pi


def _latent_draws(county: synth.SyntheticCounty, v: np.ndarray) -> np.ndarray:
    """``u_village + e`` of every household, recovered from the recognition stream."""
    stream = synth.random_streams(county.seed, synth.STREAM_NAMES)["recognition"]
    u_village = stream.normal(0.0, county.settings.random_effect_sd, len(county.frame))
    # The generator's latent is a - (logit(U) - x'b - u): its household draw is -logit(U).
    e = -synth.logit_of(stream.random(len(county.population)))
    return u_village[v] + e


def _categories(latent: np.ndarray, cut: float) -> np.ndarray:
    return np.select([latent <= 0.0, latent <= cut], ["dissatisfied", "basically_satisfied"],
                     "satisfied")


def _indicators(pop: pd.DataFrame, frame: pd.DataFrame) -> dict[str, float]:
    """The county's true values of the indicators the re-check compares (whole county)."""
    htype = pop["household_type"]
    exited, nonreg = htype == "exited", htype == "nonregistered"
    registered, not_exited = ~nonreg, htype == "not_exited"
    size = pop["household_size"]
    rural = float(frame[["people_exited", "people_not_exited",
                         "people_nonregistered"]].to_numpy().sum())
    remaining = float(frame["people_not_exited"].sum())
    wrongly, missed = float(pop["people_wrongly_exited"].sum()), float(pop["people_missed"].sum())
    return {
        "wrong_exit": float(pop.loc[exited, "people_wrongly_exited"].sum()
                            / size[exited].sum()),
        "missed": float(pop.loc[nonreg, "people_missed"].sum() / size[nonreg].sum()),
        "recognition": float(pop["recognizes"].mean()),
        "incidence": (remaining + wrongly + missed) / rural,
        "industry_support": float(pop.loc[registered, "industry_support"].mean()),
        "microcredit": float(pop.loc[registered, "microcredit"].mean()),
        "public_welfare_job": float(pop.loc[registered, "public_welfare_job"].mean()),
        "dibao_not_exited": float(pop.loc[not_exited, "dibao"].mean()),
        "water_in_home_nonpoor": float((pop.loc[nonreg, "water_access"] == "in_home").mean()),
        "microcredit_households": float(pop.loc[registered, "microcredit"].sum()),
    }


def generate_recheck(seed: int = FOLLOWUP_SEED, changes: dict[str, float] | None = None,
                     start_shift: float = START_SHIFT,
                     county_seed: int = synth.DEFAULT_SEED) -> Recheck:
    """The county of ``county_seed`` (the default county unless given) after the
    rectification and its re-check sample (deterministic)."""
    change = {**CHANGES, **(changes or {})}
    county = synth.generate_county(county_seed)
    s = county.settings
    frame = county.frame
    before = county.population.copy()
    v = _village_codes(frame, before)
    rng = np.random.default_rng(seed)
    draws = {k: rng.random(len(before)) for k in ("water", "wrong", "job", "credit")}
    htype = before["household_type"].to_numpy()
    nonreg = htype == "nonregistered"
    registered = ~nonreg

    # Recognition of the assessment, rebuilt from its latent variable: a check that the
    # household draws were recovered exactly.
    slopes = np.array([0.0] + [s.recognition_slopes[t] for t in synth.RECOGNITION_TERMS[1:]])
    a = county.truth["recognition_model"]["coefficients_conditional"]["Intercept"]
    noise = _latent_draws(county, v)
    x1 = synth.truth_design_matrix(before)
    latent1 = a + x1 @ slopes + noise
    if not np.array_equal(_categories(latent1, s.satisfied_cut),
                          before["recognition"].to_numpy()):
        raise EvalkitError("re-check: could not recover the assessment's recognition draws")

    after = before.copy()
    piped = nonreg & (after["water_access"].to_numpy() == "at_door") & (
        draws["water"] < change["water_piped"])
    after.loc[piped, "water_access"] = "in_home"
    share = after["reimbursement_share"].to_numpy(float)
    raised = nonreg & ~np.isnan(share)
    after.loc[raised, "reimbursement_share"] = np.round(
        np.minimum(share[raised] + change["reimbursement_raise"], _REIMBURSEMENT_CAP), 3)
    fixed = (after["people_wrongly_exited"].to_numpy() > 0) & (
        draws["wrong"] < change["wrong_exit_fixed"])
    after.loc[fixed, "people_wrongly_exited"] = 0
    job = registered & (after["public_welfare_job"].to_numpy() == 0) & (
        draws["job"] < change["job_added"])
    after.loc[job, "public_welfare_job"] = 1
    credit = registered & (after["microcredit"].to_numpy() == 0) & (
        draws["credit"] < change["microcredit_added"])
    after.loc[credit, "microcredit"] = 1
    after = prepare_survey(after)
    x2 = synth.truth_design_matrix(after)
    moved = a + x2 @ slopes + noise
    latent2 = moved + change["recognition_shift"]
    after["recognition"] = _categories(latent2, s.satisfied_cut)
    after = prepare_survey(after)

    # The re-check sample.
    first, second, pi = _first_stage(county, start_shift)
    alloc = synth.allocate_households(replace(s, targets=None), frame, second, pi[second])
    pop_v = after.assign(v=v)
    sample_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1])
    selected = synth.select_sample(pop_v, frame, alloc, sample_rng)
    sample = synth.sample_file(pop_v, selected, sample_rng)
    # A household drawn in both rounds keeps the identity it had at the assessment.
    identity = county.sample.set_index("household_id")[["name", "id_number", "phone"]]
    both = sample["household_id"].isin(identity.index).to_numpy()
    for col in ("name", "id_number", "phone"):
        sample.loc[both, col] = identity.loc[sample.loc[both, "household_id"], col].to_numpy()

    values_before = _indicators(before, frame)
    values_after = _indicators(after, frame)
    only_services = float((moved > 0).mean())
    revisited = np.intersect1d(first, second)
    truth = {
        "generator": {"module": "evalkit.assessment.recheck", "function": "generate_recheck",
                      "version": FOLLOWUP_VERSION, "seed": int(seed),
                      "county_seed": int(county_seed), "changes": change,
                      "start_shift": start_shift},
        "design": {
            "description": ("systematic PPS of villages with the assessment's inclusion "
                            "probabilities and its start shifted by start_shift; SRS of "
                            "households within each village and list as in the assessment"),
            "sampled_villages": len(second),
            "revisited_villages": len(revisited),
            "new_villages": len(second) - len(revisited),
            "revisited": [str(frame["village"].iloc[i]) for i in revisited],
            "sample_households": len(sample),
            "households_in_both_rounds": int(both.sum()),
        },
        "changed_households": {
            "water_piped": int(piped.sum()), "reimbursement_raised": int(raised.sum()),
            "wrong_exit_fixed": int(fixed.sum()), "job_added": int(job.sum()),
            "microcredit_added": int(credit.sum()),
        },
        "before": {k: synth.round6(x) for k, x in values_before.items()},
        "after": {k: synth.round6(x) for k, x in values_after.items()},
        "change": {k: synth.round6(values_after[k] - values_before[k]) for k in values_before},
        "recognition_explained": {
            "total_change": synth.round6(values_after["recognition"]
                                      - values_before["recognition"]),
            "water_and_reimbursement": synth.round6(only_services
                                                 - values_before["recognition"]),
            "note": ("under the generating (conditional) model: the change had only water and "
                     "reimbursement changed (recognition_shift = 0); the rest is the shift"),
        },
    }
    return Recheck(county, after, sample, truth)


def write_recheck(out_dir: str | Path, seed: int = FOLLOWUP_SEED,
                  county_seed: int | None = None) -> dict[str, Path]:
    """Write a re-check round into ``out_dir``.

    Without ``county_seed``: ``survey.csv`` (the re-check sample of the default county) and
    ``truth.json``; the frame is the default county's (``data.frame`` of the default params).
    With it: a new county and its re-check, ready to run (``evalkit run params.yaml``): the
    county's ``frame.csv``, ``survey.csv`` and ``truth.json`` (the assessment), the
    re-check's ``recheck_survey.csv`` and ``recheck_truth.json`` (true changes), and a
    ``params.yaml`` with the ``followup`` block.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if county_seed is None:
        recheck = generate_recheck(seed)
        paths = {"survey": out / "survey.csv", "truth": out / "truth.json"}
    else:
        recheck = generate_recheck(seed, county_seed=county_seed)
        paths = dict(synth.write_county(recheck.county, out))
        paths.update({"recheck_survey": out / PACKAGED_NAMES["survey"],
                      "recheck_truth": out / PACKAGED_NAMES["truth"],
                      "params": out / "params.yaml"})
        paths["params"].write_text(
            f"# A synthetic county (seed {county_seed}) and its re-check round (seed {seed}):\n"
            "# the true changes are in recheck_truth.json.\n"
            f"run_name: county_{county_seed}_recheck\n"
            "data:\n  frame: frame.csv\n  survey: survey.csv\n"
            "followup:\n  survey: recheck_survey.csv\n", encoding="utf-8")
    survey, truth = (("survey", "truth") if county_seed is None
                     else ("recheck_survey", "recheck_truth"))
    synth.write_csv(recheck.sample, paths[survey])
    paths[truth].write_text(json.dumps(recheck.truth, ensure_ascii=False, indent=2) + "\n",
                            encoding="utf-8")
    return paths


#: The packaged re-check files (``packaged:recheck_survey.csv``), next to the default county.
PACKAGED_NAMES = {"survey": "recheck_survey.csv", "truth": "recheck_truth.json"}


def write_packaged_recheck(out_dir: str | Path | None = None) -> dict[str, Path]:
    """Regenerate the packaged re-check files (byte for byte) into ``out_dir`` (default: the
    package's ``evalkit/data/``), named as :data:`PACKAGED_NAMES`."""
    out = Path(out_dir) if out_dir is not None else package_data_dir()
    recheck = generate_recheck()
    out.mkdir(parents=True, exist_ok=True)
    paths = {k: out / name for k, name in PACKAGED_NAMES.items()}
    synth.write_csv(recheck.sample, paths["survey"])
    paths["truth"].write_text(json.dumps(recheck.truth, ensure_ascii=False, indent=2) + "\n",
                              encoding="utf-8")
    return paths
