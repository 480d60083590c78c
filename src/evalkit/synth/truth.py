"""A synthetic county's fake identities and its known truth (population rates and the
population-averaged model the survey should recover).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from evalkit.contract import schema
from evalkit.synth.population import (
    independent_logistic_fit,
    round6,
    truth_design_matrix,
)
from evalkit.synth.published import figure_counts, reproduce_published
from evalkit.synth.settings import (
    DIBAO_OTHER_INTERCEPTS,
    DIBAO_SLOPES,
    GENERATOR_VERSION,
    INDUSTRY_SLOPES,
    JOB_SLOPES,
    MICROCREDIT_SLOPES,
    MISSED_SLOPES,
    RECOGNITION_FORMULA,
    RECOGNITION_TERMS,
    SIZE_MEASURE_LABELS,
    SURVEY_FILE_COLUMNS,
    WRONG_EXIT_SLOPES,
    Allocation,
    CountySettings,
)

# --------------------------------------------------------------------------------------
# the sample file, identities, truth
# --------------------------------------------------------------------------------------
_SURNAMES = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                  "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江")


_GIVEN = tuple("建国华明伟芳秀英军平丽强勇艳杰娟涛超霞刚桂兰玉梅志红春海林文德福荣珍云凤成兵辉敏")


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


_ID_CHECK = np.array(list("10X98765432"))


def fake_identities(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Fake household heads: Chinese names, 18-digit ID numbers and 11-digit phones.

    ID numbers follow the GB 11643 pattern (6-digit region, 8-digit birth date, 3-digit
    sequence, ISO 7064 MOD 11-2 check character) but use region codes starting 99, which no
    province has; phones start 100, which no mobile network uses. They exist only so the
    privacy rule (identifying columns dropped at load) is exercised.
    """
    two = rng.random(n) < 0.6
    names = (np.asarray(_SURNAMES)[rng.integers(0, len(_SURNAMES), n)].astype(object)
             + np.asarray(_GIVEN)[rng.integers(0, len(_GIVEN), n)].astype(object)
             + np.where(two, np.asarray(_GIVEN)[rng.integers(0, len(_GIVEN), n)], "")
             .astype(object))
    region = 990000 + rng.integers(0, 10000, n)
    year = rng.integers(1935, 1999, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    seq = rng.integers(0, 1000, n)
    # The 17 digits as one integer (region 6, date 8, sequence 3), then its digits by
    # place value, for the MOD 11-2 check character.
    number = ((region * 10 ** 4 + year) * 10 ** 4 + month * 100 + day) * 1000 + seq
    digits = (number[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)) % 10
    check = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11]
    ids = pd.Series(number).astype(str).str.zfill(17) + pd.Series(check, dtype=object)
    phones = "100" + pd.Series(rng.integers(0, 10 ** 8, n)).astype(str).str.zfill(8)
    return pd.DataFrame({"name": list(names), "id_number": ids.tolist(),
                         "phone": phones.tolist()})


def sample_file(population: pd.DataFrame, selected: pd.DataFrame, rng: np.random.Generator
                 ) -> pd.DataFrame:
    sample = population.loc[selected.index].join(selected)
    sample = sample.sort_values(["v", "household_id"], kind="stable").reset_index(drop=True)
    sample = pd.concat([sample, fake_identities(len(sample), rng)], axis=1)
    sample["income_per_head"] = sample["income_per_head"].astype(np.int64)
    sample["village_prob"] = sample["village_prob"].round(8)
    sample["incl_prob"] = sample["incl_prob"].round(10)
    sample["weight"] = sample["weight"].round(6)
    return sample[list(SURVEY_FILE_COLUMNS)]


def population_averaged(X: np.ndarray, beta: np.ndarray, sd: float) -> np.ndarray:
    """Logistic projection of the marginal probabilities E_u[expit(x'b + u)], u ~ N(0, sd^2).

    The integral uses 40-point Gauss-Hermite quadrature (probabilists' weights); the
    projection is the logistic regression of those probabilities on X over the whole
    county (Zeger, Liang & Albert 1988 give sd-dependent attenuation close to
    1/sqrt(1 + 0.346 sd^2) for this link).
    """
    z, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    eta = X @ beta
    p = (1.0 / (1.0 + np.exp(-(eta[:, None] + sd * z[None, :])))) @ w
    return independent_logistic_fit(X, p)


def population_rates(df: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, (num, den) in figure_counts(df).items():
        out[key] = {"numerator": num, "denominator": den,
                    "rate": round6(num / den) if den else None}
    nonreg = df["household_type"] == "nonregistered"
    missed, people_nonreg = int(df["people_missed"].sum()), int(df.loc[nonreg, "household_size"]
                                                                .sum())
    out["missed_rate"] = {"numerator": missed, "denominator": people_nonreg,
                          "rate": round6(missed / people_nonreg)}
    return out


def county_truth(seed: int, s: CountySettings, frame: pd.DataFrame, population: pd.DataFrame,
           sample: pd.DataFrame, alloc: Allocation, intercepts: dict[str, float],
           calibrated: list[str], adjusted: dict[str, int], coefficients: dict[str, float],
           u_village: np.ndarray) -> dict[str, Any]:
    X = truth_design_matrix(population)
    beta = np.array([coefficients[t] for t in RECOGNITION_TERMS])
    pa = population_averaged(X, beta, s.random_effect_sd)
    census = independent_logistic_fit(X, population["recognizes"].to_numpy(float))
    registered = sample["household_type"] != "nonregistered"
    frame_hh = frame[["hh_exited", "hh_not_exited", "hh_nonregistered"]].sum(axis=1)
    people = frame[["people_exited", "people_not_exited", "people_nonregistered"]].sum(axis=1)
    wrongly = int(population["people_wrongly_exited"].sum())
    missed = int(population["people_missed"].sum())
    remaining = int(frame["people_not_exited"].sum())
    settings = asdict(s)
    settings["targets"] = list(s.targets) if s.targets else None
    published = reproduce_published(sample)
    return {
        "generator": {"module": "evalkit.synth", "function": "generate_county",
                      "version": GENERATOR_VERSION, "seed": int(seed), "settings": settings},
        "frame": {
            "townships": int(frame["township"].nunique()),
            "villages": len(frame),
            "poor_villages": int((frame["village_type"] == "poor").sum()),
            "villages_with_registered_households": int(
                ((frame["hh_exited"] + frame["hh_not_exited"]) > 0).sum()),
            "households": int(frame_hh.sum()),
            "registered_households": int((frame["hh_exited"] + frame["hh_not_exited"]).sum()),
            "registered_people": int((frame["people_exited"] + frame["people_not_exited"]).sum()),
            "not_exited_people": remaining,
            "exited_people": int(frame["people_exited"].sum()),
            "nonregistered_households": int(frame["hh_nonregistered"].sum()),
            "rural_population": int(people.sum()),
        },
        "design": {
            "description": (f"systematic PPS of villages (size = "
                            f"{SIZE_MEASURE_LABELS[s.village_size_measure]}, frame order), "
                            "then SRS within each village from the exited, not-exited and "
                            "non-registered lists; weight = 1 / (village_prob * m_list / "
                            "N_list)"),
            "village_size_measure": s.village_size_measure,
            "certainty_villages": int((alloc.pi >= 1.0).sum()),
            "sampled_villages": len(alloc.villages),
            "households_per_village": s.households_per_village,
            "registered_cap_per_village": s.registered_cap,
            "sample_households": len(sample),
            "by_household_type": {t: int((sample["household_type"] == t).sum())
                                  for t in ("exited", "not_exited", "nonregistered")},
            "registered_share": round6(registered.mean()),
            "allocation_adjustments": alloc.adjustments,
            "weight_sum": round6(sample["weight"].sum()),
            "weight_sum_registered": round6(sample.loc[registered, "weight"].sum()),
            "frame_households": int(frame_hh.sum()),
            "frame_registered_households": int((frame["hh_exited"]
                                                + frame["hh_not_exited"]).sum()),
        },
        "published_figures": [
            {"figure": r.figure, "published": r.published, "reproduced": r.reproduced,
             "numerator": int(r.numerator), "denominator": int(r.denominator),
             "rate": round6(r.rate), "matches": bool(r.matches)}
            for r in published.itertuples()
        ],
        "recognition_model": {
            "formula": RECOGNITION_FORMULA,
            "latent": ("y* = x'b + u_village + e, e ~ logistic; dissatisfied if y* <= 0, "
                       "basically_satisfied if 0 < y* <= satisfied_cut, satisfied above; "
                       "recognizes = 1{y* > 0}"),
            "random_effect_sd": s.random_effect_sd,
            "random_effect_realized_sd": round6(np.std(u_village, ddof=1)),
            "satisfied_cut": s.satisfied_cut,
            "derived_columns": {k: schema.DERIVED_COLUMNS[k]
                                for k in ("reimbursement_gap", "log_income")},
            "coefficients_conditional": {k: round6(v) for k, v in coefficients.items()},
            "coefficients_population_averaged": dict(zip(RECOGNITION_TERMS,
                                                          map(round6, pa), strict=True)),
            "coefficients_census": dict(zip(RECOGNITION_TERMS, map(round6, census), strict=True)),
            "note": ("conditional = the generating coefficients, given the village effect; "
                     "population_averaged = logistic projection of the marginal "
                     "probabilities over the whole county (what a model without village "
                     "effects estimates in expectation); census = logistic regression on "
                     "every household's realized answer (the finite-population target of "
                     "svyglm)"),
        },
        "other_models": {
            "form": "P(y = 1) = expit(intercept + slopes . x); log_income_centred = "
                    "ln(income_per_head + 1) - ln(centre)",
            "dibao": {"not_exited_intercept": round6(intercepts["dibao"]),
                      "exited_intercept": DIBAO_OTHER_INTERCEPTS["exited"],
                      "nonregistered_intercept": DIBAO_OTHER_INTERCEPTS["nonregistered"],
                      "slopes": DIBAO_SLOPES, "centre": 5000},
            "industry_support": {"group": "registered", "intercept": round6(intercepts["industry"]),
                                 "slopes": INDUSTRY_SLOPES},
            "public_welfare_job": {"group": "registered", "intercept": round6(intercepts["job"]),
                                   "slopes": JOB_SLOPES},
            "microcredit": {"group": "registered",
                            "intercept": round6(intercepts["microcredit"]),
                            "slopes": MICROCREDIT_SLOPES},
            "wrong_exit": {"group": "exited (whole household)",
                           "intercept": round6(intercepts["wrong_exit"]),
                           "slopes": WRONG_EXIT_SLOPES, "centre": 7000},
            "missed": {"group": "nonregistered (whole household)",
                       "intercept": round6(intercepts["missed"]), "slopes": MISSED_SLOPES,
                       "centre": 9000},
        },
        "calibration": {
            "calibrated_intercepts": calibrated,
            "adjusted_draws": adjusted,
            "method": ("intercept set midway between the two critical values that bracket "
                       "the target count in the sample; the same intercept generates every "
                       "household in the county"),
        },
        "population": {
            **population_rates(population),
            "comprehensive_incidence": {
                "numerator": remaining + wrongly + missed, "denominator": int(people.sum()),
                "rate": round6((remaining + wrongly + missed) / people.sum())},
        },
    }
