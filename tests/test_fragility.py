"""Fragile samples give explained results, never a crash (issue 10).

Singular or separated bootstrap replicates, zero events, constant covariates, one-answer
outcomes: each gives the estimate where it exists, "not estimable" with a reason where it
does not, and a warning, and the run goes on.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import special

from evalkit import SurveyDesign
from evalkit.assessment import fragility, indicators
from evalkit.assessment.defaults import (
    DECOMPOSITION_FACTORS,
    DECOMPOSITION_GROUP,
    DECOMPOSITION_OUTCOME,
    DECOMPOSITION_RATE_LABELS,
)
from evalkit.report import plots
from evalkit.report import policy as report
from evalkit.report.cautions import caution_text
from evalkit.survey import intervals
from evalkit.survey.decomposition import fairlie
from evalkit.survey.glm import batch_logit

# The assessment's recognition gap (evalkit.assessment.defaults), the engine's arguments.
RECOGNITION_GAP = {"outcome": DECOMPOSITION_OUTCOME, "group": DECOMPOSITION_GROUP,
                   "factors": DECOMPOSITION_FACTORS, "controls": ("dibao", "log_income"),
                   "rate_labels": DECOMPOSITION_RATE_LABELS}


def _fairlie(design, **options):
    return fairlie(design, **{**RECOGNITION_GAP, **options})

matplotlib.use("Agg")


def _sample(n_villages: int = 30, per_village: int = 30, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_villages * per_village
    village = np.repeat(np.arange(n_villages), per_village)
    nonpoor = rng.binomial(1, 0.5, n)
    water = np.where(nonpoor == 1, rng.binomial(1, 0.7, n), rng.binomial(1, 0.1, n))
    gap = np.where(rng.random(n) < 0.35, rng.uniform(0, 0.3, n), 0.0) * nonpoor
    dibao = rng.binomial(1, np.where(nonpoor == 1, 0.05, 0.4))
    log_income = rng.normal(9 + 0.3 * nonpoor, 0.5)
    eta = 1.5 - 0.4 * nonpoor - 1.0 * water - 3.0 * gap + 0.1 * (log_income - 9)
    recognizes = rng.binomial(1, special.expit(eta))
    return pd.DataFrame({
        "village": village, "weight": np.repeat(rng.uniform(20, 60, n_villages), per_village),
        "nonpoor": nonpoor, "water_at_door": water, "reimbursement_gap": gap, "dibao": dibao,
        "log_income": log_income, "recognizes": recognizes,
    })


def _one_dissatisfied_on_dibao(frame: pd.DataFrame) -> pd.DataFrame:
    """Every dibao household recognizes but one: most bootstrap draws separate dibao."""
    frame = frame.copy()
    on_dibao = np.flatnonzero(frame["dibao"].to_numpy() == 1)
    frame.loc[on_dibao, "recognizes"] = 1
    frame.loc[on_dibao[0], "recognizes"] = 0
    return frame


def testbatch_logit_marks_a_singular_replicate_as_nan_and_fits_the_others():
    frame = _sample()
    X = np.column_stack([np.ones(len(frame)), frame[["nonpoor", "dibao"]].to_numpy(float)])
    y = frame["recognizes"].to_numpy(float)
    w = frame["weight"].to_numpy(float)
    singular = np.where(frame["dibao"] == 1, 0.0, w)  # dibao is all 0: a zero column
    weights = np.column_stack([w, singular, w * 1.1])
    design = SurveyDesign(frame, psu="village", weights="weight")
    start = design.logit("recognizes ~ nonpoor + dibao").params.to_numpy()
    betas = batch_logit(X, y, weights, start)
    assert np.all(np.isnan(betas[1]))
    assert np.all(np.isfinite(betas[[0, 2]]))
    # Scaling all weights does not move a weighted MLE.
    np.testing.assert_allclose(betas[0], betas[2], rtol=1e-8)
    np.testing.assert_allclose(betas[0], start, rtol=1e-6)


def testbatch_logit_marks_a_separated_replicate_as_nan():
    frame = _sample()
    X = np.column_stack([np.ones(len(frame)), frame["dibao"].to_numpy(float)])
    y = frame["recognizes"].to_numpy(float)
    y[frame["dibao"].to_numpy() == 1] = 1.0  # dibao households all recognize: separation
    w = frame["weight"].to_numpy(float)
    betas = batch_logit(X, y, w[:, None], np.zeros(2))
    assert np.all(np.isnan(betas[0]))


def test_fairlie_bootstrap_drops_and_counts_replicates_that_cannot_be_fitted():
    frame = _one_dissatisfied_on_dibao(_sample())
    design = SurveyDesign(frame, psu="village", weights="weight")
    result = _fairlie(design, controls=["dibao", "log_income"], replicates=60, seed=3)
    assert 0 < result.failed_replicates < 60
    assert result.replicates is not None
    assert result.replicates.shape[0] == 60 - result.failed_replicates
    assert any("could not refit" in note for note in result.notes)
    table = result.table.set_index("component")
    assert np.isfinite(table.loc["explained", ["estimate", "ci_low", "ci_high"]]).all()
    assert table.loc["explained", "ci_low"] < table.loc["explained", "ci_high"]


def test_fairlie_without_failures_reports_none():
    design = SurveyDesign(_sample(), psu="village", weights="weight")
    result = _fairlie(design, controls=["dibao", "log_income"], replicates=30, seed=3)
    assert result.failed_replicates == 0
    assert not any("could not refit" in note for note in result.notes)


def test_forest_plot_draws_zero_width_and_missing_intervals():
    table = pd.DataFrame({
        "label": ["zero events", "not estimable", "rounding"],
        "estimate": [0.0, 0.01, 0.3],
        "ci_low": [0.0, np.nan, 0.3 + 1e-17],
        "ci_high": [0.009, np.nan, 0.3],
        "official": [0.0, 0.01, 0.3],
        "threshold": [0.02, 0.02, 0.02],
        "decision": ["pass", None, "fail"],
    })
    figure = plots.forest_plot(table)
    assert len(figure.axes) == 3
    plots.plt.close(figure)


@pytest.mark.parametrize("low, high", [(np.nan, np.nan), (0.5 + 1e-12, 0.5 - 1e-12)])
def test_error_bars_are_never_negative(low, high):
    # matplotlib refuses a negative error-bar arm ("'xerr' must not contain negative
    # values"): a bound past the estimate by rounding, or no bound, must still draw.
    table = pd.DataFrame({"label": ["x"], "estimate": [0.5], "ci_low": [low],
                          "ci_high": [high], "official": [0.5], "threshold": [0.02],
                          "decision": [None]})
    figure = plots.forest_plot(table)
    segments = [s for c in figure.axes[0].collections for s in c.get_segments()]
    assert segments  # the bar is drawn, of zero length
    for segment in segments:
        assert segment[:, 0].min() == pytest.approx(50) == segment[:, 0].max()
    plots.plt.close(figure)


# --------------------------------------------------------------------------------------
# honest intervals (issue 10)
# --------------------------------------------------------------------------------------
THRESHOLDS = {"wrong_exit": 0.02, "missed": 0.02, "recognition": 0.9, "incidence": 0.02}
PACKAGED = Path(__file__).resolve().parents[1] / "src" / "evalkit" / "resources" / "data"


def _edge(folder: Path, name: str) -> Path:
    """An edge sample made from the packaged county (frame and survey files)."""
    survey = pd.read_csv(PACKAGED / "survey.csv", dtype=str, keep_default_na=False)
    frame = pd.read_csv(PACKAGED / "frame.csv", dtype=str, keep_default_na=False)
    changes = {
        "all_recognize": {"recognition": "satisfied"},
        "none_recognize": {"recognition": "dissatisfied"},
        "zero_wrong": {"people_wrongly_exited": "0"},
        "zero_missed": {"people_missed": "0"},
        "zero_both": {"people_wrongly_exited": "0", "people_missed": "0"},
        "one_township": {"township": "T01"},
        "all_dibao": {"dibao": "1"},
    }[name]
    for column, value in changes.items():
        survey[column] = value
        if column in frame.columns:
            frame[column] = value
    out = folder / name
    out.mkdir(parents=True, exist_ok=True)
    survey.to_csv(out / "survey.csv", index=False)
    frame.to_csv(out / "frame.csv", index=False)
    return out


EDGES = ("all_recognize", "none_recognize", "zero_wrong", "zero_missed", "zero_both",
         "one_township", "all_dibao")


def _inputs(folder: Path):
    from evalkit.assessment import inputs as assessment

    return assessment.load_inputs(
        {"frame": str(folder / "frame.csv"), "survey": str(folder / "survey.csv")},
        {"psu": "village", "strata": None, "weights": "weight", "fpc": None,
         "lonely_psu": "fail"}, folder)


@pytest.fixture(scope="module")
def zero_both(tmp_path_factory):
    return _inputs(_edge(tmp_path_factory.mktemp("edges"), "zero_both"))


def test_zero_event_rate_counts_households_not_persons(zero_both):
    """0 wrong exits: n* is the 422 exited households (0.94%), not their 1,292 persons."""
    from evalkit.survey.intervals import zero_event_interval

    design = zero_both.design
    result = indicators.estimate_indicator(design, indicators.SPECS["wrong_exit"],
                                           threshold=0.02)
    assert result.n_households == 422
    assert result.estimate.estimate == 0 and result.estimate.se == 0
    # n* = 422 / (1 + CV^2 of the exited households' weights): the design's weighting
    # effect, the part of a design effect that holds with no event (issue 25)
    exited = (design.data["exited"] == 1).to_numpy() & design.domain
    effect = indicators.kish_weighting_effect(design.weight_values[exited])
    assert effect > 1.01
    assert result.estimate.ci == pytest.approx(
        zero_event_interval(0.0, 422, 0.95, design.df, design_effect=effect))
    assert result.estimate.ci[1] > zero_event_interval(0.0, 422, 0.95, design.df)[1]
    assert result.ci_method == indicators.ZERO_EVENT_METHOD
    persons = indicators.people_design(design.subset(
        (design.data["exited"] == 1).to_numpy()), "people_wrongly_exited", "household_size")
    assert int(persons.domain.sum()) > 1200  # the persons-based rule would be ~3x narrower
    assert "households" in result.estimate.note
    # the decision compares the interval shown, a zero-event bound on households, with 2%
    assert result.estimate.ci[1] < 0.02
    assert result.decision == "pass"


@pytest.mark.parametrize("method", ["logit", "beta", "mean", "asin", "likelihood"])
def test_incidence_with_no_wrong_exit_and_no_missed_is_not_zero_width(zero_both, method):
    result = indicators.incidence(zero_both.design, zero_both.frame, threshold=0.02,
                                  method=method)
    low, high = result.estimate.ci
    assert result.estimate.se == 0
    assert low == pytest.approx(result.estimate.estimate)
    assert high > low + 0.002  # the zero-event upper bounds of both rates
    assert result.decision == ("pass" if high < 0.02 else "cannot tell")
    assert "zero-event rule" in result.estimate.note
    assert result.estimate.method == ("logit" if method == "likelihood" else method)


@pytest.mark.parametrize("method", ["logit", "beta", "mean", "asin"])
def test_incidence_interval_follows_ci_method(method):
    from evalkit.assessment import inputs as assessment

    inputs = assessment.load_inputs(
        {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
        {"psu": "village", "strata": None, "weights": "weight", "fpc": None,
         "lonely_psu": "fail"}, PACKAGED)
    result = indicators.incidence(inputs.design, inputs.frame, method=method)
    est = result.estimate
    expected = intervals.interval_from_se(est.estimate, est.se, method, 0.95, est.df,
                                          est.n)
    assert est.ci == pytest.approx(expected)
    assert est.method == method
    if method == "mean":
        from scipy import stats

        t = stats.t.ppf(0.975, est.df)
        assert est.ci[1] - est.estimate == pytest.approx(t * est.se)


def test_township_table_verdicts_follow_from_the_intervals_shown():
    from evalkit.assessment import inputs as assessment

    inputs = assessment.load_inputs(
        {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv"},
        {"psu": "village", "strata": None, "weights": "weight", "fpc": None,
         "lonely_psu": "fail"}, PACKAGED)
    cells = indicators.disaggregate(inputs.design, "township", THRESHOLDS)
    shown = cells[~cells["suppressed"]]
    assert len(shown) > 0
    for rec in shown.to_dict("records"):  # every verdict checkable against its bounds
        line = THRESHOLDS[rec["indicator"]]
        low, high = rec["ci_low"], rec["ci_high"]
        below = rec["indicator"] != "recognition"
        expected = (("pass" if high < line else "fail" if low > line else "cannot tell")
                    if below else
                    ("pass" if low >= line else "fail" if high < line else "cannot tell"))
        assert rec["decision"] == expected
    assert "one_sided_low" not in cells.columns


# --------------------------------------------------------------------------------------
# edge samples through the analyses of notebooks 02-04
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def edges(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("edge-samples")
    return {name: _edge(folder, name) for name in EDGES}


def _layer(folder: Path, seed: int = 20190815, replicates: int = 50) -> dict:
    """What notebooks 02, 03 and 04 compute, without the notebooks."""
    design = {"psu": "village", "strata": None, "weights": "weight", "fpc": None,
              "lonely_psu": "fail"}
    formula = ("recognizes ~ nonpoor * water_at_door + nonpoor:reimbursement_gap + dibao"
               " + log_income")
    inputs = _inputs(folder)
    results = indicators.assess(inputs.design, inputs.frame, THRESHOLDS)
    table = indicators.indicator_table(results)
    plots.plt.close(plots.forest_plot(table.iloc[:4]))
    for grouping in ("township", "village_type"):
        indicators.disaggregate(inputs.design, grouping, THRESHOLDS)
    analysis = fragility.satisfaction_analysis(
        inputs.design, formula, ["pipe_water", "raise_reimbursement", "both"],
        replicates=replicates, seed=seed)
    pages = {lang: report.report_from_params(
        data={"frame": str(folder / "frame.csv"), "survey": str(folder / "survey.csv")},
        design=design, thresholds=THRESHOLDS, level=0.95, ci_method="logit", lang=lang,
        run_name="edge", params_dir=folder, seed=seed,
        satisfaction={"formula": formula, "scenarios": ["pipe_water", "both"],
                      "bootstrap_replicates": replicates}).html() for lang in ("en", "zh")}
    return {"table": table, "analysis": analysis, "pages": pages}


def _no_zero_width(table: pd.DataFrame) -> None:
    finite = table[np.isfinite(table["ci_low"]) & np.isfinite(table["ci_high"])]
    assert (finite["ci_high"] > finite["ci_low"]).all(), finite[["indicator", "ci_low",
                                                                  "ci_high"]]


@pytest.mark.parametrize("name", EDGES)
def test_every_edge_sample_reaches_the_policy_report(edges, name):
    out = _layer(edges[name])
    _no_zero_width(out["table"])
    analysis = out["analysis"]
    for lang, page in out["pages"].items():
        assert "ek-cautions" in page, lang  # each edge sample has something to flag
    if name in ("all_recognize", "none_recognize"):
        assert analysis.fit is None and analysis.scenarios is None
        assert "one answer" in analysis.reasons["model"]
        assert {c.key for c in analysis.cautions} >= {"one_answer"}
        assert "all 2025 households gave the same answer" in out["pages"]["en"]
        assert "2025户的回答全部相同" in out["pages"]["zh"]
    elif name == "all_dibao":
        assert analysis.fit is not None and analysis.fit.aliased == ("dibao",)
        assert analysis.decomposition is not None
        assert analysis.effects is not None
        dibao = analysis.effects[analysis.effects["variable"] == "dibao"]
        assert (dibao["note"] == "not in the model").all()
        assert "terms_dropped" in {c.key for c in analysis.cautions}
    else:
        assert analysis.reasons == {}
        assert analysis.scenarios is not None and analysis.decomposition is not None
    if name.startswith("zero"):
        keys = {c.key for c in fragility.indicator_cautions(out["table"])}
        assert {"zero_events", "incidence_zero_events"} <= keys


def test_cautions_read_in_both_languages():
    for key, values in (
            ("zero_events", {"indicator": "wrong_exit", "households": 422, "high": "0.9%"}),
            ("one_answer", {"analysis": "model", "households": 2025}),
            ("terms_dropped", {"analysis": "model", "terms": "dibao"}),
            ("bootstrap_dropped", {"failed": 3, "total": 200}),
            ("model_fragile", {"count": 2}),
            ("no_interval", {"indicator": "missed"})):
        item = fragility.caution(key, **values)
        en, zh = caution_text(item, "en"), caution_text(item, "zh")
        assert en and zh and en != zh
        assert "{" not in en + zh


# --------------------------------------------------------------------------------------
# a province of new counties, and whole runs (slow: they still run in `make test`)
# --------------------------------------------------------------------------------------
PROVINCE_SEED = 7  # not the default county's seed


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> list[Path]:
    from evalkit import synth

    out = tmp_path_factory.mktemp("province")
    synth.write_province_data(out, seed=PROVINCE_SEED, n_counties=20)
    return sorted(p for p in out.iterdir() if p.is_dir())


@pytest.mark.slow
def test_twenty_new_counties_reach_the_policy_report(province):
    """Every county: indicators, the satisfaction analyses and the report, no crash."""
    assert len(province) == 20
    dropped = 0
    for county in province:
        out = _layer(county, seed=PROVINCE_SEED, replicates=200)
        _no_zero_width(out["table"])
        analysis = out["analysis"]
        assert analysis.fit is not None, (county.name, analysis.reasons)
        assert analysis.decomposition is not None, (county.name, analysis.reasons)
        dropped += analysis.decomposition.failed_replicates
        assert "ek-cards" in out["pages"]["en"] and "ek-cards" in out["pages"]["zh"]
    assert dropped > 0  # some counties do have separating bootstrap draws: handled


def _run(folder: Path, out: Path, name: str) -> Path:
    from evalkit.run.pipeline import run

    params = out / f"{name}.yaml"
    params.write_text(
        f"run_name: {name}\ndata:\n  frame: {folder / 'frame.csv'}\n"
        f"  survey: {folder / 'survey.csv'}\n", encoding="utf-8")
    run(params, out / "runs", progress=None)
    return out / "runs" / name


def _four_reports(folder: Path) -> None:
    for page in ("01_sampling", "02_indicators", "03_satisfaction", "04_summary"):
        assert (folder / f"{page}.html").is_file(), page
    assert (folder / "index.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("name", EDGES)
def test_edge_sample_full_run_writes_four_reports(edges, tmp_path, name):
    folder = _run(edges[name], tmp_path, name)
    _four_reports(folder)
    summary = (folder / "04_summary.html").read_text(encoding="utf-8")
    assert "Read with care" in summary


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 3, 5])
def test_new_county_full_run_writes_four_reports(province, tmp_path, index):
    _four_reports(_run(province[index], tmp_path, province[index].name))
