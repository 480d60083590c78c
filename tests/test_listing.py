"""The registration listing: codebook format, validation, the two-phase draw, reserves.

Everything runs on ``evalkit synth --listing`` (the default county's full listing) through
the command line, as a survey team would.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evalkit import SurveyDesign, sampling
from evalkit.assessment.listing import load_listing, run_listing, validate_listing
from evalkit.contract.data import load_frame
from evalkit.contract.errors import EvalkitError
from evalkit.contract.paths import resolve_data_path
from evalkit.run import cli

FRAME = resolve_data_path("packaged:frame.csv", Path.cwd())
SEED = 20190815


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    """The synthetic listing, a params file naming it, and both phases drawn once."""
    root = tmp_path_factory.mktemp("listing")
    assert cli.main(["synth", "--listing", "--out", str(root / "data")]) == 0
    listing_path = root / "data" / "listing.csv"
    params = root / "params.yaml"
    params.write_text(yaml.safe_dump({
        "run_name": "drawn", "lang": "zh",
        "data": {"frame": "packaged:frame.csv", "survey": "packaged:survey.csv",
                 "listing": "data/listing.csv"}}), encoding="utf-8")
    out = root / "draw"
    assert cli.main(["draw", str(params), "--stage", "villages", "--out", str(out)]) == 0
    assert cli.main(["draw", str(params), "--stage", "households", "--out", str(out)]) == 0
    return {"root": root, "listing": listing_path, "params": params, "out": out,
            "frame": load_frame(FRAME)}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir())}


def test_synthetic_listing_is_the_frame_and_validates(county):
    listing = load_listing(county["listing"], county["frame"])
    frame = county["frame"]
    counts = listing.groupby("household_type").size()
    assert counts["exited"] == frame["hh_exited"].sum()
    assert counts["not_exited"] == frame["hh_not_exited"].sum()
    assert counts["nonregistered"] == frame["hh_nonregistered"].sum()
    report = validate_listing(county["listing"], FRAME)
    assert report.ok
    assert "identifying columns dropped: head_name, phone" in report.summary()
    # the packaged survey's households are in the listing
    survey = pd.read_csv(resolve_data_path("packaged:survey.csv", Path.cwd()))
    assert survey["household_id"].isin(listing["household_id"]).all()


def test_draw_phases_match_draw_two_stage_and_rerun_same_bytes(county, tmp_path):
    out = county["out"]
    design = pd.read_csv(out / "design.csv", dtype={"household_id": str})
    listing = load_listing(county["listing"], county["frame"])
    per_village = sampling.allocate_household_types(70)
    expected = sampling.draw_two_stage(county["frame"], listing, 29, per_village, seed=SEED,
                                       fill=True)
    assert design["household_id"].tolist() == expected["household_id"].tolist()
    np.testing.assert_allclose(design["weight"], expected["weight"])
    # every household exists in the listing, with the planned numbers per village
    assert design["household_id"].isin(listing["household_id"]).all()
    per = design.groupby("village").size()
    assert len(per) == 29
    assert (per == 70).all()
    villages = pd.read_csv(out / "villages.csv")
    assert sorted(villages["village"]) == sorted(per.index)
    assert ((villages["village_prob"] > 0) & (villages["village_prob"] <= 1)).all()
    # a rerun in a fresh folder writes the same bytes
    again = tmp_path / "again"
    assert cli.main(["draw", str(county["params"]), "--stage", "villages", "--out",
                     str(again)]) == 0
    assert cli.main(["draw", str(county["params"]), "--stage", "households", "--out",
                     str(again)]) == 0
    assert _digest(again) == _digest(out)


def test_reserves_follow_the_sample_in_its_cells(county):
    out = county["out"]
    field = pd.read_csv(out / "field_list.csv", dtype=str)
    reserve = pd.read_csv(out / "reserve_list.csv", dtype=str)
    assert list(field.columns[:5]) == ["乡镇 township", "行政村 village",
                                       "户编号 household_id", "户类型 household_type",
                                       "人口数 household_size"]
    assert set(field["户类型 household_type"]) <= {"已脱贫", "未脱贫", "非建档立卡"}
    assert len(reserve) > 0
    assert not set(reserve["户编号 household_id"]) & set(field["户编号 household_id"])
    orders = reserve["备选顺序 reserve_order"].astype(int)
    assert orders.min() == 1 and orders.max() <= 3
    xlsx = pd.read_excel(out / "field_list.xlsx", dtype=str)
    pd.testing.assert_frame_equal(xlsx.fillna(""), field.fillna(""), check_dtype=False)


def test_identifying_columns_only_in_the_field_lists(county):
    out = county["out"]
    field = pd.read_csv(out / "field_list.csv", dtype=str)
    assert "户主姓名 head_name" in field.columns and "联系电话 phone" in field.columns
    assert field["户主姓名 head_name"].notna().all()
    names = set(field["户主姓名 head_name"])
    phones = set(field["联系电话 phone"])
    for name in ("design.csv", "villages.csv"):
        text = (out / name).read_text(encoding="utf-8")
        assert "head_name" not in text and "phone" not in text
        assert not any(p in text for p in list(phones)[:200])
        assert not any(f",{n}," in text for n in list(names)[:200])
    assert "head_name" not in load_listing(county["listing"]).columns


def test_weights_hit_frame_totals_in_expectation_and_exactly_after_calibration(county):
    frame = county["frame"]
    listing = load_listing(county["listing"], frame)
    per_village = sampling.allocate_household_types(70)
    truth = {"exited": frame["hh_exited"].sum(), "not_exited": frame["hh_not_exited"].sum(),
             "nonregistered": frame["hh_nonregistered"].sum()}
    totals = []
    for seed in range(40):  # replications of the whole draw, not households
        drawn = sampling.draw_two_stage(frame, listing, 29, per_village, seed=seed, fill=True)
        totals.append(drawn.groupby("household_type")["weight"].sum())
    table = pd.DataFrame(totals)
    mean, se = table.mean(), table.std() / np.sqrt(len(table))
    for kind, value in truth.items():
        assert abs(mean[kind] - value) < 4 * se[kind], kind
    design = SurveyDesign(pd.read_csv(county["out"] / "design.csv"), psu="village",
                          weights="weight")
    calibrated = design.poststratify("household_type", truth)
    sums = pd.Series(calibrated.weight_values).groupby(design.data["household_type"]).sum()
    assert sums.to_dict() == pytest.approx(truth, rel=1e-12)
    before = pd.Series(design.weight_values).groupby(design.data["household_type"]).sum()
    assert before.to_dict() != pytest.approx(truth, rel=1e-3)  # the draw alone misses them


@pytest.mark.parametrize(("edit", "message"), [
    (lambda t: t.assign(village=t["village"].where(t.index != 5, "NOWHERE")),
     "row 7, column village: value 'NOWHERE': expected a village listed in the frame"),
    (lambda t: t.assign(household_id=t["household_id"].where(t.index != 9,
                                                              t["household_id"].iloc[3])),
     "row 11, column household_id"),
    (lambda t: t.assign(household_type=t["household_type"].where(t.index != 2, "rich")),
     "row 4, column household_type: value 'rich': expected one of exited"),
])
def test_bad_listing_one_line_errors(county, tmp_path, capsys, edit, message):
    table = pd.read_csv(county["listing"], dtype=str).head(50)
    path = tmp_path / "listing.csv"
    edit(table).to_csv(path, index=False)
    assert cli.main(["validate", str(path), "--listing", "--frame", str(FRAME)]) == 1
    printed = capsys.readouterr().out
    assert "1 problem" in printed and message in printed
    with pytest.raises(EvalkitError, match="1 problem"):
        load_listing(path, county["frame"])


def test_households_stage_needs_a_listing_and_matching_villages(county, tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("run_name: nolisting\n", encoding="utf-8")
    assert cli.main(["draw", str(params), "--stage", "households", "--out",
                     str(tmp_path / "o")]) == 2
    assert "needs data.listing" in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "villages.csv").write_text("township,village,village_prob\nT01,V001,0.5\n")
    assert cli.main(["draw", str(county["params"]), "--stage", "households", "--out",
                     str(other)]) == 2
    assert "does not hold the villages these params draw" in capsys.readouterr().err


def test_notebook_listing_says_which_it_is(county):
    frame = county["frame"]
    given, note = run_listing({"listing": "data/listing.csv"}, frame, SEED, county["root"])
    assert len(given) == 67460 and "registration listing listing.csv" in note
    synthetic, note = run_listing({"listing": None}, frame, SEED)
    assert "synthetic listing" in note
    assert len(synthetic) == frame["hh_total"].sum()


def test_field_list_workbook_prints_a_village_per_page(county):
    """Issue 22: widths to the content, frozen and filtered header, A4 landscape, the header
    on every printed page and a page break at each village; the same bytes on a rerun are
    checked by test_draw_phases_match_draw_two_stage_and_rerun_same_bytes."""
    import openpyxl

    from evalkit.contract.xlsx import text_width

    out = county["out"]
    field = pd.read_csv(out / "field_list.csv", dtype=str, keep_default_na=False)
    ws = openpyxl.load_workbook(out / "field_list.xlsx").active
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, ws.max_column).column_letter}{len(field) + 1}"
    assert ws.print_title_rows == "$1:$1"
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == str(ws.PAPERSIZE_A4)
    assert ws.page_setup.fitToWidth == 1
    for j, column in enumerate(field.columns, start=1):
        letter = ws.cell(1, j).column_letter
        longest = max(text_width(v) for v in [column, *field[column]])
        assert ws.column_dimensions[letter].width == min(max(longest + 2, 6), 60), column
    villages = field["行政村 village"].tolist()
    starts = [i for i in range(1, len(villages)) if villages[i] != villages[i - 1]]
    assert len(starts) == field["行政村 village"].nunique() - 1 == 28
    # a break after the last row of each village (sheet rows: header = 1)
    assert [b.id for b in ws.row_breaks.brk] == [i + 1 for i in starts]
