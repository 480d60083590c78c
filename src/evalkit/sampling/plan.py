"""The sample plan: the size the wrong-exit rate needs beside what the plan delivers, the
design options a team can choose between, and the field list (Cochran 1977, secs. 4.4, 5.5,
9.4; Kish 1965, sec. 5.4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evalkit.contract import locale
from evalkit.contract.errors import EvalkitError
from evalkit.contract.schema import HOUSEHOLD_TYPES
from evalkit.contract.spreadsheet import write_csv
from evalkit.contract.xlsx import write_table
from evalkit.sampling.allocation import allocate_household_types
from evalkit.sampling.checks import (
    ceil_tolerant,
    significant_digits,
)
from evalkit.sampling.draw import (
    expected_sample,
)
from evalkit.sampling.frame import (
    FIELD_LIST_COLUMNS,
    frame_profile,
    household_groups,
    require_columns,
)
from evalkit.sampling.size import SampleSize, sample_size_proportion, sample_size_ratio


@dataclass(frozen=True)
class SamplePlan:
    """How many households the wrong-exit rate needs, next to what the plan delivers.

    ``household`` applies the design brief's formula to every sampled household (cluster
    size = households per village). The wrong-exit rate, however, rests only on exited
    households, so ``exited`` sizes the people-level rate (:func:`sample_size_ratio`) on
    the exited households expected per village under the plan (:func:`expected_sample`),
    and ``households_needed`` scales it up by the expected exited share of the sample.

    Examples
    --------
    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> plan = plan_sample(frame, expected_rate=0.029, margin=0.01, level=0.95, icc=0.05,
    ...                    households_per_village=70, response_rate=0.95, n_villages=30)
    >>> plan.exited.n_final, round(plan.exited_per_village, 2)
    (911, 12.01)

    The examples of the methods below continue from this plan.
    """

    household: SampleSize
    exited: SampleSize
    planned_villages: int
    planned_households: float
    planned_exited: float
    exited_per_village: float
    exited_fraction: float
    households_needed: int
    villages_needed: int
    frame_villages: int | None = None
    threshold: float | None = None

    def table(self) -> pd.DataFrame:
        """The plan as (quantity, value): counts as whole numbers, the rest to 4 significant
        digits, so reports and notebook comparisons show what matters.

        Examples
        --------
        >>> plan.table().iloc[0].tolist()
        ["n, household proportion (brief's formula, finite population N = frame households)", 4730]
        """
        frame_villages = (float(self.frame_villages) if self.frame_villages is not None
                          else float("nan"))
        rows = [
            ("n, household proportion (brief's formula, finite population N = frame "
             "households)", float(self.household.n_final)),
            ("deff there (m = households per village)", self.household.deff),
            ("exited households per village (expected)", self.exited_per_village),
            ("deff for the wrong-exit rate", self.exited.deff),
            ("household-size factor 1 + CV^2", self.exited.unit_factor),
            ("exited households needed", float(self.exited.n_final)),
            ("exited share of the sample (expected)", self.exited_fraction),
            ("households needed for the wrong-exit margin", float(self.households_needed)),
            ("villages needed at this village size", float(self.villages_needed)),
            ("planned villages", float(self.planned_villages)),
            ("planned households (expected)", self.planned_households),
            ("planned exited households (expected)", self.planned_exited),
            ("villages in the frame", frame_villages),
        ]
        counts = {0, 5, 7, 8, 9} | ({12} if self.frame_villages is not None else set())
        values = [int(v) if i in counts else significant_digits(v) for i, (_, v) in enumerate(rows)]
        return pd.DataFrame({"quantity": [q for q, _ in rows],
                             "value": pd.Series(values, dtype=object)})

    def flags(self) -> list[str]:
        """What the sizing cannot deliver, one sentence each ([] when nothing):

        * a margin at least as wide as the gap between the expected rate and the line
          (``threshold``): an interval of that half-width around the expected rate still
          reaches the line, so the size answers "how precise", not "which side";
        * more villages needed than the frame holds;
        * more exited households needed than the frame holds (the finite-population step
          already counts them; a quota above the frame means every exited household).

        >>> plan.flags()
        []
        """
        out: list[str] = []
        p, e = self.exited.p, self.exited.margin
        gap = abs(p - self.threshold) if self.threshold is not None else None
        if gap is not None and e >= gap:
            out.append(
                f"The margin (±{e * 100:.2g} points) is at least the gap between the expected "
                f"rate {p:.1%} and the {self.threshold:.0%} line ({gap * 100:.2g} points): an "
                "interval of that half-width around the expected rate still reaches the "
                "line, so this size cannot tell the two apart; the power calculation below "
                "sizes for that question.")
        if self.frame_villages is not None and self.villages_needed > self.frame_villages:
            out.append(
                f"{self.villages_needed} villages are needed at this village size but the "
                f"frame has {self.frame_villages}: the margin cannot be reached this way.")
        population = self.exited.population
        if population is not None and self.exited.n_final >= population:
            out.append(
                f"{self.exited.n_final} exited households are needed and the frame has "
                f"{population}: only a census of exited households reaches the margin.")
        return out


def plan_sample(
    frame: pd.DataFrame,
    *,
    expected_rate: float,
    margin: float,
    level: float,
    icc: float,
    households_per_village: int,
    response_rate: float,
    n_villages: int | Mapping[str, int],
    per_village: Mapping[str, int] | None = None,
    household_sizes: Sequence[float] | np.ndarray | None = None,
    size_column: str | Sequence[str] | None = None,
    strata: str | None = None,
    fill: bool = False,
    threshold: float | None = None,
) -> SamplePlan:
    """Sample size for the wrong-exit rate (Cochran) beside the planned two-stage sample.

    ``per_village`` defaults to :func:`allocate_household_types` of
    ``households_per_village`` (half registered, half not). ``household_sizes`` (e.g. the
    exited households' sizes in a previous survey) give the CV of household size; without
    them sizes are taken as equal. Villages needed are ``households_needed`` over the
    households per village actually expected (villages with fewer registered households
    than the quota deliver fewer).

    Both sizes take the brief's finite-population step ``n2 = n1 / (1 + (n1 - 1) / N)``
    with ``N`` the frame's households (the household proportion) and the frame's exited
    households (the wrong-exit rate). ``threshold`` (the wrong-exit line) lets
    :meth:`SamplePlan.flags` say when the margin is no narrower than the gap to the line.

    Examples
    --------
    The packaged synthetic county's frame, 30 villages of 35 + 35 households:

    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> plan = plan_sample(frame, expected_rate=0.029, margin=0.01, level=0.95, icc=0.05,
    ...                    households_per_village=70, response_rate=0.95, n_villages=30)
    >>> plan.households_needed, plan.villages_needed, round(plan.planned_exited, 1)
    (4164, 76, 360.4)
    """
    quota = household_groups(per_village or allocate_household_types(households_per_village))
    profile = frame_profile(frame).set_index("household_type")
    household = sample_size_proportion(expected_rate, margin, level=level,
                                       response_rate=response_rate, icc=icc,
                                       cluster_size=households_per_village,
                                       population=int(profile.loc["all", "households"]))
    exp = expected_sample(frame, n_villages, quota, size_column, strata=strata,
                          fill=fill).set_index("household_type")
    if "exited" not in exp.index or exp.loc["exited", "households"] <= 0:
        raise EvalkitError("per_village: the plan samples no exited households; expected a "
                           "'registered' or 'exited' quota")
    n_total = sum(n_villages.values()) if isinstance(n_villages, Mapping) else n_villages
    m_exited = float(exp.loc["exited", "per_village_mean"])
    if household_sizes is None:
        mean_size, cv = float(profile.loc["exited", "mean_size"]), 0.0
    else:
        sizes = np.asarray(household_sizes, dtype=float)
        if sizes.size == 0 or np.any(~np.isfinite(sizes)) or np.any(sizes < 1):
            raise EvalkitError("household_sizes: expected household sizes >= 1")
        mean_size, cv = float(sizes.mean()), float(sizes.std() / sizes.mean())
    exited = sample_size_ratio(expected_rate, margin, mean_size, level=level,
                               response_rate=response_rate, icc=icc,
                               cluster_size=max(m_exited, 1.0), cv_household_size=cv,
                               population=int(profile.loc["exited", "households"]))
    fraction = float(exp.loc["exited", "households"] / exp.loc["all", "households"])
    needed = ceil_tolerant(exited.n_final / fraction)
    per_village_all = float(exp.loc["all", "per_village_mean"])
    return SamplePlan(
        household=household, exited=exited, planned_villages=int(n_total),
        planned_households=float(exp.loc["all", "households"]),
        planned_exited=float(exp.loc["exited", "households"]),
        exited_per_village=m_exited, exited_fraction=fraction, households_needed=needed,
        villages_needed=ceil_tolerant(needed / per_village_all), frame_villages=len(frame),
        threshold=threshold)


def design_options(
    frame: pd.DataFrame,
    households_per_village: Sequence[int],
    *,
    n_villages: int,
    true_rate: float,
    threshold: float,
    icc: float,
    alpha: float = 0.05,
    method: str = "logit",
    household_sizes: Sequence[float] | np.ndarray | None = None,
    target_power: float = 0.8,
    fill: bool = True,
) -> pd.DataFrame:
    """For each households-per-village option (half registered, half not, topped up with
    ``fill``): exited households expected per village on this frame, the analytic power of
    declaring the wrong-exit rate above ``threshold`` at ``true_rate`` with ``n_villages``,
    and the villages (and households) needed for ``target_power``
    (:func:`evalkit.sampling.power.power_analytic`,
    :func:`evalkit.sampling.power.villages_for_power`).
    Villages needed beyond the frame's are reported as they are: the design cannot reach
    the target in this county.

    Examples
    --------
    >>> from evalkit.contract.data import load_frame
    >>> from evalkit.contract.paths import resolve_data_path
    >>> frame = load_frame(resolve_data_path("packaged:frame.csv", "."))
    >>> options = design_options(frame, [35, 70], n_villages=30, true_rate=0.029,
    ...                          threshold=0.02, icc=0.05)
    >>> list(options.columns)[:2]
    ['households_per_village', 'households_expected_per_village']
    >>> len(options)
    2
    """
    from evalkit.sampling.power import power_analytic, villages_for_power

    rows = []
    # A loop over the handful of options; each is array work.
    for k in households_per_village:
        quota = allocate_household_types(k)
        exp = expected_sample(frame, n_villages, quota, fill=fill).set_index("household_type")
        m = float(exp.loc["exited", "per_village_mean"])
        per_village = float(exp.loc["all", "per_village_mean"])
        pw = power_analytic(true_rate, threshold, n_villages, m, icc, alpha=alpha,
                            method=method, household_sizes=household_sizes)
        need = villages_for_power(true_rate, threshold, m, icc, power=target_power,
                                  alpha=alpha, method=method, household_sizes=household_sizes)
        rows.append((int(k), per_village, m, float(pw), need, need * per_village,
                     need <= len(frame)))
    return pd.DataFrame(rows, columns=[
        "households_per_village", "households_expected_per_village",
        "exited_per_village", f"power_with_{n_villages}_villages",
        f"villages_for_{target_power:.0%}_power".replace("%", "pct"),
        "households_for_target", "within_frame"])


#: The field list workbook's Chinese headers (``field.col.<column>`` of the locale catalogue).
FIELD_LIST_HEADERS_ZH: dict[str, str] = {
    column: locale.text(f"field.col.{column}", "zh") for column in FIELD_LIST_COLUMNS
}


def field_list(sample: pd.DataFrame, path: str | Path, lang: str = "en"
               ) -> tuple[Path, Path]:
    """Write the field team's list to ``path``.csv (UTF-8 with BOM, for Excel) and .xlsx.

    Only what is needed to find the household: township, village, household_id and
    household_type (Chinese labels when ``lang="zh"``, and Chinese headers in the
    workbook; the CSV keeps the column names), sorted by township, village, type and id.
    Names, ID numbers and phones never appear, whatever the sample holds.
    Returns the two paths.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import pandas as pd
    >>> sample = pd.DataFrame({"township": ["T1"], "village": ["V1"], "household_id": ["V1-01"],
    ...                        "household_type": ["exited"], "name": ["Zhang San"]})
    >>> folder = tempfile.mkdtemp()
    >>> csv, xlsx = field_list(sample, Path(folder) / "field_list")
    >>> csv.name, xlsx.name
    ('field_list.csv', 'field_list.xlsx')
    >>> "Zhang" in csv.read_text(encoding="utf-8-sig")
    False
    >>> import shutil
    >>> shutil.rmtree(folder)
    """
    require_columns(sample, FIELD_LIST_COLUMNS, "sample")
    if lang not in ("en", "zh"):
        raise EvalkitError(f"lang={lang!r}; expected 'en' or 'zh'")
    out = sample.loc[:, list(FIELD_LIST_COLUMNS)].copy()
    out = out.sort_values(list(FIELD_LIST_COLUMNS), kind="stable").reset_index(drop=True)
    if lang == "zh":
        labels = {code: locale.text(f"household_type.{code}", "zh") for code in HOUSEHOLD_TYPES}
        out["household_type"] = out["household_type"].map(labels).fillna(out["household_type"])
    base = Path(path)
    if base.suffix.lower() in (".csv", ".xlsx"):
        base = base.with_suffix("")
    base.parent.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = base.with_suffix(".csv"), base.with_suffix(".xlsx")
    write_csv(out, csv_path, encoding="utf-8-sig")
    if lang == "zh":  # the workbook is for people: Chinese headers and sheet name
        write_table(out.rename(columns=FIELD_LIST_HEADERS_ZH), xlsx_path,
                    sheet_name=locale.text("field.sheet", "zh"),
                    page_break_by=FIELD_LIST_HEADERS_ZH["village"])
    else:
        write_table(out, xlsx_path, sheet_name=locale.text("field.sheet", "en"),
                    page_break_by="village")
    return csv_path, xlsx_path
