"""Confidence sets for the tau best / tau worst (evalkit.survey.ranking.top_set) against the
authors' own R code (csranks' cstaubest / cstauworst: tests/data/r/make_top_set_reference.R),
their limits, and the province's re-inspection list built on them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evalkit.contract.errors import EvalkitError
from evalkit.survey.ranking import top_set

REFERENCE = Path(__file__).parent / "data" / "r" / "top_set_reference.json"


def _cases() -> list[dict]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]


def _case_id(case: dict) -> str:
    return (f"{case['data']}-{case['subject']}-tau{case['tau']}-"
            f"{'worst' if case['worst'] else 'best'}-{case['level']}")


@pytest.mark.parametrize("case", _cases(), ids=_case_id)
def test_agrees_with_csranks_up_to_monte_carlo_noise(case: dict) -> None:
    """Where every one of csranks' 20 seeded runs agrees (share 0 or 1), evalkit agrees;
    the borderline units (0 < share < 1) may go either way, and they are few."""
    share = np.asarray(case["share"], dtype=float)
    ours = top_set(case["estimates"], case["se"], tau=int(case["tau"]), level=case["level"],
                   worst=bool(case["worst"]), seed=11, draws=4000)
    settled = (share == 0) | (share == 1)
    assert ours[settled].tolist() == (share[settled] == 1).tolist()
    assert (~settled).sum() <= max(2, len(share) // 10)
    # the set holds at least tau units and is not every unit for these data
    assert ours.sum() >= case["tau"]


def test_reference_cases_are_informative() -> None:
    """The reference is not trivial: sets between tau and everyone, both directions."""
    cases = _cases()
    assert {c["data"] for c in cases} == {"pisa2018", "counties"}
    assert {c["worst"] for c in cases} == {True, False}
    sizes = [int(round(np.sum(np.asarray(c["share"]) >= 0.5))) for c in cases]
    assert any(c["tau"] < size < len(c["share"]) for c, size in zip(cases, sizes,
                                                                    strict=True))


def test_tiny_standard_errors_give_exactly_the_tau_best_or_worst() -> None:
    rng = np.random.default_rng(4)
    theta = rng.permutation(np.linspace(0.01, 0.2, 12))
    tiny = np.full(12, 1e-7)
    order = np.argsort(-theta)
    best = np.zeros(12, dtype=bool)
    best[order[:5]] = True
    worst = np.zeros(12, dtype=bool)
    worst[order[-3:]] = True
    assert top_set(theta, tiny, tau=5).tolist() == best.tolist()
    assert top_set(theta, tiny, tau=3, worst=True).tolist() == worst.tolist()


def test_huge_standard_errors_give_every_unit() -> None:
    theta = np.linspace(0.01, 0.2, 12)
    assert top_set(theta, np.full(12, 50.0), tau=2).all()
    assert top_set(theta, np.full(12, 50.0), tau=2, worst=True).all()


def test_input_order_seed_and_the_worst_are_the_best_of_the_negated() -> None:
    rng = np.random.default_rng(9)
    theta = rng.normal(0, 1, 25)
    se = rng.uniform(0.1, 0.5, 25)
    base = top_set(theta, se, tau=4, seed=3)
    assert np.array_equal(base, top_set(theta, se, tau=4, seed=3))
    perm = rng.permutation(25)
    assert np.array_equal(top_set(theta[perm], se[perm], tau=4, seed=3), base[perm]) or (
        # a permutation changes which draw goes with which unit: only Monte Carlo noise
        np.sum(top_set(theta[perm], se[perm], tau=4, seed=3) != base[perm]) <= 1)
    assert np.array_equal(top_set(-theta, se, tau=4, worst=True, seed=3), base)
    # a larger tau or a higher level never drops a unit
    assert np.all(top_set(theta, se, tau=6, seed=3) >= base)
    assert np.all(top_set(theta, se, tau=4, level=0.99, seed=3) >= base)


@pytest.mark.parametrize("tau", [0, 26, 2.5, True, "3"])
def test_tau_must_be_a_whole_number_within_the_units(tau) -> None:
    with pytest.raises(EvalkitError, match="top_set: tau="):
        top_set(np.arange(25.0), np.ones(25), tau=tau)


def test_province_ranking_marks_who_may_be_among_the_worst() -> None:
    """Wrong exits: the worst are the highest rates; recognition: the lowest. The table
    marks the re-inspection list and the page names it in plain words, zh and en."""
    from evalkit.report.province import may_be_worst_text, ranking_table

    rows = []
    estimates = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09, 0.10]
    for k, e in enumerate(estimates, start=1):
        for key, value in (("wrong_exit", e), ("recognition", 1 - e)):
            rows.append({"county": f"c{k:02d}", "indicator": key, "estimate": value,
                         "se": 0.001, "ci_low": value - 0.002, "ci_high": value + 0.002,
                         "decision": "pass"})
    ranking = ranking_table(pd.DataFrame(rows), seed=2, worst=3)
    assert (ranking["worst_tau"] == 3).all()
    flagged = {key: sorted(part.loc[part["may_be_worst"], "county"])
               for key, part in ranking.groupby("indicator")}
    # the highest wrong-exit rates and the lowest recognition rates: c08, c09, c10 both times
    assert flagged == {"wrong_exit": ["c08", "c09", "c10"],
                       "recognition": ["c08", "c09", "c10"]}
    en = may_be_worst_text(ranking, "wrong_exit", "en")
    assert en.startswith("Re-inspection list: 3 counties may be among the 3 with the highest")
    assert en.endswith("c10, c09, c08.")
    zh = may_be_worst_text(ranking, "recognition", "zh")
    assert zh.startswith("复查名单：以下 3 个县可能位于") and "最低的 3 个县" in zh
    # wide intervals: every county may be among the worst, and the sentence says so
    wide = pd.DataFrame(rows).assign(se=0.5)
    everyone = ranking_table(wide, seed=2, worst=3)
    assert everyone["may_be_worst"].all()
    assert "all 10 counties may be among the 3 worst" in may_be_worst_text(everyone,
                                                                          "wrong_exit", "en")


def test_province_worst_is_read_from_the_province_block(tmp_path: Path) -> None:
    from evalkit.run.province_params import load_province

    params = tmp_path / "p.yaml"
    params.write_text("province:\n  name: x\n  counties: []\n  worst: 3\n", encoding="utf-8")
    with pytest.raises(EvalkitError, match="no counties"):
        load_province(params)
    (tmp_path / "a").mkdir()
    for name in ("frame.csv", "survey.csv"):
        (tmp_path / "a" / name).write_text("x\n", encoding="utf-8")
    params.write_text("province:\n  name: x\n  counties_dir: .\n  worst: 3\n",
                      encoding="utf-8")
    assert load_province(params).worst == 3
    params.write_text("province:\n  name: x\n  counties_dir: .\n", encoding="utf-8")
    assert load_province(params).worst == 5
    for bad in ("0", "2.5", "yes", "many"):
        params.write_text(f"province:\n  name: x\n  counties_dir: .\n  worst: {bad}\n",
                          encoding="utf-8")
        with pytest.raises(EvalkitError, match="province.worst: expected a whole number"):
            load_province(params)
