"""The policy report: one page a county leader reads, in Chinese or English, offline.

Everything on the page is generated from this run's results: the indicator table of
:func:`evalkit.assessment.indicators.indicator_table` and the satisfaction model's scenario table
(columns ``scenario, estimate, ci_low, ci_high, change, change_low, change_high``; proportions,
``change`` = predicted county recognition under the scenario minus recognition now). No number
is typed in.

The page has, in order:

* a title, then the exit decision (``id="decision"``,
  :func:`evalkit.report.policy_decision.decision_html`): whether the county meets the exit
  standard by the official rule, which indicators fail it and how sure the sample is about
  each; the verdict counts, official first; a one-line description of the sample;
* a traffic-light card for each of the three rates and one degree (wrong exits, missed
  assessments, comprehensive incidence, recognition): the official and the statistical
  verdict's badges, the design-based estimate and its
  interval, the official plain figure beside it, a number line showing the interval against
  the exit line, and a sentence generated from the numbers;
* the secondary indicators in a compact table;
* what drives dissatisfaction: the recognition each scenario would recover, as a chart with
  intervals;
* rectification priorities ranked by the recognition they recover, with the numbers;
* how to read the page.

The page leads with the exit decision by the official rule (``#decision``): which
indicators' plain ratios fail their lines, and how sure the sample is about each. The
statistical verdicts follow from the interval printed and drawn on each card
(:func:`evalkit.survey.decision.decide`): pass when the whole interval is on the passing side
of the line, fail when wholly on the failing side, cannot tell when it straddles it.

This module holds the entry points: :class:`PolicyReport` (a run's tables, checked) and the
functions that build one from tables or params. A report is the page's one
:class:`evalkit.report.policy_sections.PageContext`, and each section is a function of it in
:mod:`evalkit.report.policy_sections` (HTML offline, phone and A4 print; the chart as PNG);
the Excel workbook is
:mod:`evalkit.report.policy_xlsx`. Household rows never reach the page: only aggregate
estimates are shown, so no name, ID number or phone can appear.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evalkit.contract.errors import EvalkitError
from evalkit.report import i18n, policy_sections
from evalkit.report.policy_sections import PageContext, Piece
from evalkit.report.policy_xlsx import policy_workbook
from evalkit.report.verdicts import (
    HEADLINE_KEYS,
    INDICATOR_COLUMNS,
    require_table_columns,
)


@dataclass(frozen=True)
class PolicyReport(PageContext):
    """This run's results, ready to be shown as the policy page.

    ``indicators``: :func:`evalkit.assessment.indicators.indicator_table` of this run.
    ``scenarios``: the satisfaction model's scenario table, or None when the run has none.
    ``households`` and ``villages`` describe the sample (for the one-line description).
    The fields and what is derived from them are those of
    :class:`evalkit.report.policy_sections.PageContext`, their one home; a report is the
    page's context, checked at construction.

    :meth:`html`, :meth:`show` and :meth:`to_xlsx` give the page; the ``*_html`` methods
    give one section each (:mod:`evalkit.report.policy_sections`). All of them read this
    one context, so the priorities and the indicators at risk are computed once per report.
    """

    def __post_init__(self) -> None:
        i18n.check_lang(self.lang)
        require_table_columns(self.indicators, INDICATOR_COLUMNS, "indicator table")
        if not 0 < self.level < 1:
            raise EvalkitError(f"report level {self.level!r}: expected a number between 0 "
                               "and 1")
        missing = [k for k in HEADLINE_KEYS if k not in set(self.indicators["indicator"])]
        if missing:
            raise EvalkitError(f"indicator table: no row for {', '.join(missing)}; expected "
                               "the four headline indicators")

    def priorities(self) -> pd.DataFrame | None:
        """:func:`evalkit.report.verdicts.rank_priorities` of this run's scenarios (None
        without scenarios): :attr:`PageContext.ranked`, computed once."""
        return self.ranked

    def page(self) -> PageContext:
        """What every section reads: this report itself, its priorities ranked and its
        indicators at risk computed once, on first use (:class:`PageContext`)."""
        return self

    # -- one section each (evalkit.report.policy_sections) ------------------------------
    def header_html(self) -> str:
        return policy_sections.header_html(self)

    def cards_html(self) -> str:
        return policy_sections.cards_html(self)

    def cautions_html(self) -> str:
        return policy_sections.cautions_html(self)

    def priorities_html(self) -> str:
        return policy_sections.priorities_html(self)

    def drivers_intro_html(self, chart: bytes | None = None) -> str:
        return policy_sections.drivers_intro_html(self, chart)

    def drivers_png(self) -> bytes | None:
        return policy_sections.drivers_png(self)

    def scenarios_html(self) -> str:
        return policy_sections.scenarios_html(self)

    def secondary_html(self) -> str:
        return policy_sections.secondary_html(self)

    def notes_html(self) -> str:
        return policy_sections.notes_html(self)

    # -- the whole page ----------------------------------------------------------------
    def sections(self, embed_figures: bool = False) -> list[Piece]:
        """The page in order, as ``("html", text)`` and ``("png", bytes)`` pieces.

        ``embed_figures`` puts the chart inside its section's HTML instead of a PNG piece.
        """
        return policy_sections.page_sections(self, embed_figures)

    def html(self) -> str:
        """The whole page as one self-contained HTML document (figures as data: URIs)."""
        return policy_sections.document_html(self)

    def show(self) -> None:
        """Display the page in a notebook: HTML pieces and the chart as an image output."""
        from IPython.display import HTML, Image, display

        for kind, piece in self.sections():
            if kind == "png":
                # Shown at 3/4 of its pixel width (sharp on high-density screens), never
                # wider than the page (the notebook CSS caps images at 100%).
                width = int.from_bytes(piece[16:20], "big")  # type: ignore[index]
                display(Image(data=piece, format="png", width=width * 3 // 4,
                              metadata={"alt": self.t("chart.drivers.title")}))
            else:
                display(HTML(piece))

    def to_xlsx(self, path: str | Path) -> Path:
        """Write the key tables to an Excel workbook for staff who work in Excel.

        Sheets: indicators, priorities (when the run has scenarios) and about (run, level,
        method, sample). Proportions are stored as numbers formatted as percentages, so they
        stay computable. The file is byte-for-byte reproducible (fixed timestamps).
        """
        return policy_workbook(self, path)


# --------------------------------------------------------------------------------------
# from a run's params to the report
# --------------------------------------------------------------------------------------
def build_report(indicators: pd.DataFrame, scenarios: pd.DataFrame | None = None, *,
                 lang: str = "en", level: float = 0.95, method: str = "logit",
                 run_name: str = "", households: int | None = None,
                 villages: int | None = None, weighted: bool = True,
                 clustered: bool = True, cautions: Sequence[Any] = ()) -> PolicyReport:
    """A :class:`PolicyReport` from an indicator table and a scenario table.

    ``weighted`` and ``clustered`` say whether the design had weights (or probabilities)
    and clusters, so the page never claims survey weights for an unweighted estimate.
    ``cautions`` (:mod:`evalkit.assessment.fragility`) get their own section.
    """
    return PolicyReport(indicators=indicators, scenarios=scenarios, lang=lang, level=level,
                        method=method, run_name=run_name, households=households,
                        villages=villages, weighted=weighted, clustered=clustered,
                        cautions=tuple(cautions))


def report_from_params(*, data: Mapping[str, str], design: Mapping[str, Any],
                       thresholds: Mapping[str, float], level: float, ci_method: str,
                       lang: str, run_name: str, params_dir: str | Path,
                       satisfaction: Mapping[str, Any], seed: int = 0) -> PolicyReport:
    """Everything notebook 04 shows, computed from the run's parameters.

    Loads the frame and survey and builds the design (:func:`evalkit.assessment.inputs.load_inputs`,
    as the other notebooks do), estimates the indicators
    (:func:`evalkit.assessment.indicators.assess`),
    fits the satisfaction model (``satisfaction.formula``, :func:`evalkit.survey.svyglm.logit`) and
    predicts its scenarios (``satisfaction.scenarios``). Nothing is read from the other
    notebooks' outputs, so the report does not depend on the order they ran in.

    The cautions of notebooks 02 and 03 (:mod:`evalkit.assessment.fragility`: zero events, analyses
    not estimable, fragile model cells, bootstrap replicates left out) are recomputed the
    same way (the decomposition with the run's ``seed``) and shown in their own section.
    """
    from evalkit.assessment.fragility import (
        indicator_cautions,
        nonresponse_cautions,
        satisfaction_analysis,
    )
    from evalkit.assessment.indicators import assess, indicator_table
    from evalkit.assessment.inputs import load_inputs

    i18n.check_lang(lang)
    inputs = load_inputs(dict(data), dict(design), params_dir)
    results = assess(inputs.design, inputs.frame, dict(thresholds), method=ci_method,
                     level=level)
    table = indicator_table(results)
    names = list(satisfaction.get("scenarios") or [])
    scenarios = None
    cautions = indicator_cautions(table)
    cautions += nonresponse_cautions(inputs.nonresponse.table)
    if satisfaction.get("formula"):
        analysis = satisfaction_analysis(
            inputs.design, str(satisfaction["formula"]), names,
            replicates=int(satisfaction.get("bootstrap_replicates") or 1000), seed=seed,
            level=level, steps=("model", "scenarios", "decomposition"))
        scenarios = analysis.scenarios
        cautions += analysis.cautions
    return build_report(table, scenarios, lang=lang, level=level,
                        method=ci_method, run_name=run_name,
                        households=len(inputs.survey), villages=inputs.design.n_psu,
                        weighted=inputs.design.weights is not None
                        or inputs.design.probs is not None,
                        clustered=inputs.design.psu is not None,
                        cautions=cautions)


def report_from_tables(tables_dir: str | Path, *, lang: str, level: float, ci_method: str,
                       run_name: str, households: int | None = None,
                       villages: int | None = None, weighted: bool = True,
                       clustered: bool = True, county: str | None = None,
                       period: str | None = None, assessor: str | None = None,
                       frame_villages: int | None = None) -> PolicyReport:
    """The policy page from the tables notebooks 02 and 03 wrote
    (:mod:`evalkit.assessment.summary`).

    ``households`` and ``villages`` describe the sample, ``weighted`` and ``clustered`` its
    design; ``county``, ``period`` and ``assessor`` identify the report (params, optional);
    ``frame_villages`` (the frame's villages) flags a sample size beyond the frame.
    The cautions are notebook 02's (:func:`evalkit.assessment.fragility.indicator_cautions` of
    ``indicators.csv``) and notebook 03's (``cautions.csv``), and a low response rate in
    a weighting cell of notebook 02's ``nonresponse.csv``.
    """
    from evalkit.assessment.fragility import indicator_cautions, nonresponse_cautions
    from evalkit.assessment.summary import read_cautions, read_table

    indicators = read_table(tables_dir, "indicators.csv")
    scenarios = read_table(tables_dir, "scenarios.csv", required=False)
    by_township = read_table(tables_dir, "indicators_by_township.csv", required=False)
    assert indicators is not None
    return PolicyReport(indicators=indicators, scenarios=scenarios, lang=lang, level=level,
                        method=ci_method, run_name=run_name, households=households,
                        villages=villages, by_township=by_township, county=county,
                        period=period, assessor=assessor, weighted=weighted,
                        clustered=clustered, frame_villages=frame_villages,
                        cautions=(*indicator_cautions(indicators),
                                  *read_cautions(tables_dir),
                                  *nonresponse_cautions(read_table(
                                      tables_dir, "nonresponse.csv", required=False))))
