"""The data contract: column names, codes and their Chinese labels.

Every module (loading, synthesis, sampling, indicators, models, report) reads column
names from here so that the contract lives in one place. The codebook in
``docs/codebook.md`` documents the same names for users.
"""

from __future__ import annotations

from collections.abc import Sequence

#: The one default seed (the seed county's survey date, 2019-08-15): params, the synthetic
#: county and province, and the command line all start from it.
DEFAULT_SEED = 20190815

#: R survey's ``options(survey.lonely.psu = ...)``: what to do with a stratum of one PSU.
LONELY_PSU_OPTIONS: tuple[str, ...] = ("fail", "adjust", "certainty", "remove", "average")
#: The without-replacement PPS variance approximations ``SurveyDesign(pps=...)`` offers (R's
#: ``svydesign(pps = "brewer")``); params ``design.pps`` is null or one of them.
PPS_METHODS: tuple[str, ...] = ("brewer",)

#: Interval methods for a proportion (the ``ci_method`` params key;
#: :mod:`evalkit.survey.intervals`): R ``svyciprop``'s design-based methods (Lumley 2010,
#: sec. 2.3.1) and, for a simple random sample only, the classical binomial intervals. One
#: spelling, with hyphens, everywhere inside evalkit (tables, locale keys, notes).
DESIGN_CI_METHODS: tuple[str, ...] = ("logit", "likelihood", "asin", "beta", "mean", "xlogit")
SRS_CI_METHODS: tuple[str, ...] = ("wilson", "clopper-pearson", "jeffreys", "agresti-coull")
CI_METHODS: tuple[str, ...] = DESIGN_CI_METHODS + SRS_CI_METHODS
#: Other spellings users write (older params files used underscores): read as the canonical
#: one by the params reader and by ``SurveyDesign.proportion``.
CI_METHOD_ALIASES: dict[str, str] = {"clopper_pearson": "clopper-pearson",
                                     "agresti_coull": "agresti-coull"}


def canonical_ci_method(method: str) -> str:
    """The canonical spelling of an interval method (``clopper_pearson`` ->
    ``clopper-pearson``); any other name comes back unchanged for the caller to check."""
    return CI_METHOD_ALIASES.get(method, method)


#: How weights may be calibrated to the frame's county totals, and which totals
#: (:mod:`evalkit.assessment.county_totals`; the ``calibration`` params block).
CALIBRATION_METHODS: tuple[str, ...] = ("none", "poststratify", "linear", "raking")
FRAME_TOTAL_NAMES: tuple[str, ...] = (
    "hh_registered", "hh_exited", "hh_not_exited", "hh_nonregistered",
    "people_exited", "people_not_exited", "people_nonregistered",
)
#: Survey columns a non-response weighting cell may be formed from (``nonresponse.cells``).
WEIGHTING_CELL_COLUMNS: tuple[str, ...] = ("household_type", "village", "township",
                                           "village_type", "stratum")

# --- sampling frame: one row per village -------------------------------------------
FRAME_COLUMNS: dict[str, str] = {
    "township": "township (乡镇) name or code",
    "village": "village (行政村) name or code, unique within the county",
    "village_type": "poor / nonpoor (贫困村 / 非贫困村)",
    "hh_exited": "registered households that have exited poverty (已脱贫户)",
    "people_exited": "people in exited households",
    "hh_not_exited": "registered households not yet exited (未脱贫户)",
    "people_not_exited": "people in not-yet-exited households",
    "hh_nonregistered": "households never registered (非建档立卡户)",
    "people_nonregistered": "people in non-registered households",
}

# --- household survey: one row per sampled household -------------------------------
SURVEY_REQUIRED: dict[str, str] = {
    "township": "township, as in the frame",
    "village": "village, as in the frame",
    "household_id": "household identifier, unique in the file (not a national ID)",
    "household_type": "exited / not_exited / nonregistered (已脱贫 / 未脱贫 / 非建档立卡)",
    "household_size": "people in the household, integer >= 1",
    "people_wrongly_exited": "people judged wrongly exited, 0..household_size",
    "people_missed": "people judged missed (qualify but not registered), 0..household_size",
    "recognition": "satisfied / basically_satisfied / dissatisfied (满意 / 基本满意 / 不满意)",
    "water_access": "in_home / at_door / none (入户 / 到门口 / 无)",
    "reimbursement_share": "reimbursed share of the last hospital stay, 0..1, empty if none",
    "dibao": "receives dibao (低保), 0/1",
    "industry_support": "receives industry support (产业扶持), 0/1",
    "microcredit": "took up poverty-alleviation microcredit (小额信贷), 0/1",
    "public_welfare_job": "holds a public-welfare job (公益岗位), 0/1",
    "income_per_head": "annual net income per head, yuan, >= 0",
}
SURVEY_OPTIONAL: dict[str, str] = {
    "weight": "design weight (inverse inclusion probability), > 0",
    "stratum": "design stratum, when the user's design has one",
    "village_prob": "first-stage inclusion probability of the village, 0 < p <= 1",
    "incl_prob": "inclusion probability of the household, 0 < p <= 1 (weight = 1/incl_prob)",
    "household_prob": "second-stage inclusion probability of the household within its village "
                      "and sampling group, 0 < p <= 1 (incl_prob = village_prob * household_prob)",
    "responded": "1 if the sampled household was interviewed, 0 if not (refused, away, not "
                 "found); a 0 row needs only the sample columns, its answers may be empty",
    "replaces": "in a reserve household's row: the household_id of the sampled household it "
                "replaced (a row of the same file, same village and type, not responded)",
}

# Chinese column headers accepted for each column (as Chinese spreadsheets name them).
# English names are matched case-insensitively; these exactly, after trimming spaces.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "township": ("乡镇", "乡镇名称"),
    "village": ("行政村", "村", "村名", "村名称"),
    "village_type": ("村类型", "贫困村类型"),
    "hh_exited": ("已脱贫户数",),
    "people_exited": ("已脱贫人口数", "已脱贫人数"),
    "hh_not_exited": ("未脱贫户数",),
    "people_not_exited": ("未脱贫人口数", "未脱贫人数"),
    "hh_nonregistered": ("非建档立卡户数",),
    "people_nonregistered": ("非建档立卡人口数", "非建档立卡人数"),
    "household_id": ("户编号", "户号", "农户编号"),
    "household_type": ("户类型", "农户类型"),
    "household_size": ("家庭人口数", "家庭人口", "户人口数"),
    "people_wrongly_exited": ("错退人数",),
    "people_missed": ("漏评人数",),
    "recognition": ("认可度", "满意度"),
    "water_access": ("安全饮水", "饮水情况"),
    "reimbursement_share": ("报销比例", "医疗报销比例"),
    "dibao": ("低保",),
    "industry_support": ("产业扶持",),
    "microcredit": ("小额信贷",),
    "public_welfare_job": ("公益岗位",),
    "income_per_head": ("人均纯收入", "人均收入"),
    "weight": ("权重", "抽样权重"),
    "stratum": ("层", "分层"),
    "village_prob": ("村入样概率",),
    "incl_prob": ("入样概率",),
    "household_prob": ("户入样概率",),
    "responded": ("是否应答", "应答"),
    "replaces": ("替换户编号", "被替换户编号"),
}

# Columns that identify people. They may be present in an input file; the loader
# drops them and nothing downstream ever sees them.
IDENTIFYING_COLUMNS: tuple[str, ...] = (
    "name", "head_name", "姓名", "户主姓名",
    "id_number", "id_card", "身份证号", "身份证号码",
    "phone", "telephone", "mobile", "电话", "联系电话", "手机",
)

# Code lists, English code -> accepted Chinese labels.
HOUSEHOLD_TYPES: dict[str, tuple[str, ...]] = {
    "exited": ("已脱贫", "已脱贫户"),
    "not_exited": ("未脱贫", "未脱贫户"),
    "nonregistered": ("非建档立卡", "非建档立卡户", "非贫困户"),
}
RECOGNITION_LEVELS: dict[str, tuple[str, ...]] = {
    "satisfied": ("满意",),
    "basically_satisfied": ("基本满意",),
    "dissatisfied": ("不满意",),
}
WATER_ACCESS: dict[str, tuple[str, ...]] = {
    "in_home": ("入户", "管道入户"),
    "at_door": ("到门口", "到户门口"),
    "none": ("无", "未通"),
}
VILLAGE_TYPES: dict[str, tuple[str, ...]] = {
    "poor": ("贫困村",),
    "nonpoor": ("非贫困村",),
}

# Derived columns added by ``evalkit.contract.data.prepare_survey``.
DERIVED_COLUMNS: dict[str, str] = {
    "registered": "1 if household_type is exited or not_exited",
    "nonpoor": "1 if household_type is nonregistered",
    "exited": "1 if household_type is exited",
    "recognizes": "1 if recognition is satisfied or basically_satisfied",
    "water_at_door": "1 if water_access is at_door",
    "water_none": "1 if water_access is none",
    "has_hospital_stay": "1 if reimbursement_share is present",
    "reimbursement_gap": "max(0, 0.9 - reimbursement_share); 0 when there was no hospital stay",
    "log_income": "natural log of (income_per_head + 1)",
}

# Derived columns added to the frame by ``evalkit.contract.data.load_frame``.
FRAME_DERIVED: dict[str, str] = {
    "hh_registered": "hh_exited + hh_not_exited",
    "people_registered": "people_exited + people_not_exited",
    "hh_total": "hh_registered + hh_nonregistered (the PPS size measure)",
    "people_total": "people_registered + people_nonregistered (rural population)",
}

# --- non-response: the survey's responded / replaces columns (evalkit.survey.nonresponse)
#: The columns a non-respondent's row must fill in (the others may stay empty).
SAMPLE_COLUMNS: tuple[str, ...] = ("township", "village", "household_id", "household_type",
                                   "household_size")
DESIGN_COLUMNS: tuple[str, ...] = ("weight", "village_prob", "incl_prob", "household_prob",
                                    "stratum")
# Neutral stand-ins the survey checks see in a non-respondent's empty answer cells; the
# loaded sample keeps none of them (evalkit.contract.data.load_sample returns only
# SAMPLE_COLUMNS and the design columns of non-respondents).
PLACEHOLDERS: dict[str, str] = {
    "people_wrongly_exited": "0", "people_missed": "0", "recognition": "satisfied",
    "water_access": "in_home", "reimbursement_share": "", "dibao": "0",
    "industry_support": "0", "microcredit": "0", "public_welfare_job": "0",
    "income_per_head": "0",
}


def has_response_information(columns: Sequence[str]) -> bool:
    """Whether a survey's columns say anything about non-response."""
    return "responded" in columns or "replaces" in columns
