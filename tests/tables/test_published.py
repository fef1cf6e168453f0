"""Reading annex-style files: merged headers, variant names, totals checked, every problem named by its row."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import write_annex

from povanalysis.data.sources import ValidationError
from povanalysis.tables import read_published

# Two districts; the names as annexes write them.
MESSY = [
    ("total", "Tổng cộng"),
    ("district", "Huyện Đồng Hỷ", "row"),
    ("commune", "Sông Cầu", 1500, 60, 80, 20),  # a town without its prefix
    ("commune", "TT. Trại Cau", 1200, 45, 70, 10),  # "TT." for Thị trấn
    ("commune", "Xa Van Lang", 900, 120, 90, 100),  # no diacritics: Văn Lăng of Đồng Hỷ, not Văn Lang of Na Rì
    ("commune", "Xã Hoà Bình", 800, 90, 60, 70),  # the other tone placement
    ("commune", "Xã Hóa Trung", 1100, 40, 55, 12),
    ("commune", "Xã Quang Sơnn", 700, 80, 40, 60),  # misspelt
    ("district", "H. Na Rì", "cong"),  # abbreviated, with a "Cộng" row after its communes
    ("commune", "Văn Lang", 650, 150, 70, 148),
    ("commune", "Thị trấn Yến Lạc", 1300, 70, 60, 50),
    ("commune", "Liêm Thuỷ", 500, 110, 45, 109),
]
EXPECTED = {
    "Sông Cầu": ("05656", "normalised"),
    "TT. Trại Cau": ("05662", "normalised"),
    "Xa Van Lang": ("05665", "ascii"),
    "Xã Hoà Bình": ("05671", "normalised"),
    "Xã Hóa Trung": ("05683", "exact"),
    "Xã Quang Sơnn": ("05674", "fuzzy"),
    "Văn Lang": ("02140", "normalised"),
    "Thị trấn Yến Lạc": ("02155", "exact"),
    "Liêm Thuỷ": ("02197", "normalised"),
}
# Title (3 rows), header (2), numbering (1): the total is on sheet row 7, Đồng Hỷ on 8, Xã Hóa Trung on 13.
TOTAL_ROW = 7


def _with(items, *extra, after: str):
    """``items`` with ``extra`` inserted after the item labelled ``after``."""
    k = next(i for i, it in enumerate(items) if it[1] == after)
    return items[: k + 1] + list(extra) + items[k + 1 :]


def _problems(exc: pytest.ExceptionInfo) -> list[str]:
    return exc.value.problems["problem"].tolist()


def test_a_messy_annex_is_read_matched_and_checked(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", MESSY, overrides={"Xã Hóa Trung": {2: "1.100"}})
    t = read_published(path)
    assert t.review_year == 2023 and t.year_source == "title"  # not 2024, the decision's date
    got = {r.label: (r.commune_code, r.method) for r in t.matches.itertuples()}
    assert got == EXPECTED
    fuzzy = t.matches.set_index("label").loc["Xã Quang Sơnn"]
    assert fuzzy["name"] == "Xã Quang Sơn" and 0.85 <= fuzzy["score"] < 1
    assert t.unplaced.empty
    by = t.table.set_index("commune_code")
    assert by.at["05683", "households"] == 1100 and by.at["05665", "poor"] == 120
    assert by.at["02140", "minority_poor"] == 148
    assert by.at["05656", "poor_rate"] == pytest.approx(60 / 1500)
    assert set(t.table["district_name"]) == {"Huyện Đồng Hỷ", "Huyện Na Rì"}
    # Every row accounted for: 9 communes, the total, 2 districts, the "Cộng" row.
    assert t.rows["kind"].value_counts().to_dict() == {"commune": 9, "district": 2, "total": 1, "subtotal": 1}
    checked = t.totals.groupby("kind")["row"].nunique().to_dict()
    assert checked == {"total": 1, "district": 1, "subtotal": 1}  # H. Na Rì has no figures of its own
    assert (t.totals["stated"] == t.totals["computed"]).all()
    assert t.rows.set_index("label").at["H. Na Rì", "outcome"] == "no figures: not checked"
    fields = dict(zip(t.columns["field"], t.columns["title"]))
    assert fields["poor"] == "Hộ nghèo / Số hộ" and fields["near_poor_rate"] == "Hộ cận nghèo / Tỷ lệ (%)"
    assert fields["minority_poor"] == "Hộ nghèo DTTS"
    assert pd.isna(t.columns.set_index("title").at["Ghi chú", "field"])
    assert len(t.missing) == 280 - 9
    text = t.summary()
    assert "fuzzy: row 14 'Xã Quang Sơnn' → 05674 Xã Quang Sơn" in text
    assert "communes: 9 placed (2 exact, 5 normalised, 1 ascii, 1 fuzzy), 0 unplaced; 9 units in the table" in text
    assert "totals: 3 total, district and subtotal rows checked; all add up" in text


@pytest.mark.parametrize("encoding", ["cp1258", "utf-8-sig", "utf-8"])
def test_a_csv_in_any_usual_encoding_reads_as_the_workbook(tmp_path, encoding):
    book = read_published(write_annex(tmp_path / "annex.xlsx", MESSY))
    text = read_published(write_annex(tmp_path / "annex.csv", MESSY, encoding=encoding))
    pd.testing.assert_frame_equal(text.table, book.table)
    pd.testing.assert_frame_equal(text.matches, book.matches)
    assert text.totals.equals(book.totals)


def test_a_total_that_does_not_add_up_is_an_error_naming_its_row(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", MESSY, overrides={"Tổng cộng": {3: 766, 4: None}})
    with pytest.raises(ValidationError) as exc:
        read_published(path)
    assert str(exc.value) == (
        f"{path}: sheet row {TOTAL_ROW} ('Tổng cộng'), column D ('Hộ nghèo / Số hộ'): the total states 766 but "
        "its 9 commune rows add up to 765 (a difference of 1)"
    )
    assert (exc.value.row, exc.value.column, exc.value.value) == (TOTAL_ROW, "Hộ nghèo / Số hộ", 766)


def test_district_rows_and_subtotals_are_checked_against_their_own_communes(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", MESSY, overrides={"Huyện Đồng Hỷ": {2: 6201, 4: None, 6: None}})
    with pytest.raises(ValidationError) as exc:
        read_published(path)
    assert _problems(exc) == [
        "sheet row 8 ('Huyện Đồng Hỷ'), column C ('Tổng số hộ dân cư'): the district row states 6,201 but its 6 "
        "commune rows add up to 6,200 (a difference of 1)"
    ]
    path = write_annex(tmp_path / "cong.xlsx", MESSY, overrides={"Cộng": {7: 300}})
    with pytest.raises(
        ValidationError,
        match=r"sheet row 19 \('Cộng'\), column H \('Hộ nghèo DTTS'\): the "
        r"subtotal states 300 but its 3 commune rows add up to 307",
    ):
        read_published(path)


def test_a_rate_that_disagrees_with_its_counts_is_an_error(tmp_path):
    # 40 poor of 1,100 households: 3.64 %, printed 3.6 with one decimal is fine, 4.5 is not.
    assert read_published(write_annex(tmp_path / "ok.xlsx", MESSY, overrides={"Xã Hóa Trung": {4: 3.6}}))
    path = write_annex(tmp_path / "bad.xlsx", MESSY, overrides={"Xã Hóa Trung": {4: 4.5}})
    with pytest.raises(ValidationError) as exc:
        read_published(path)
    assert _problems(exc) == [
        "sheet row 13 ('Xã Hóa Trung'), column E ('Hộ nghèo / Tỷ lệ (%)'): the rate 4.5 disagrees with poor 40 "
        "over households 1,100 (3.64%) beyond rounding"
    ]


def test_rates_written_as_shares_are_recognised(tmp_path):
    shares = {it[1]: {4: round(it[3] / it[2], 4), 6: round(it[4] / it[2], 4)} for it in MESSY if it[0] == "commune"}
    shares["Tổng cộng"] = {4: None, 6: None}
    shares["Huyện Đồng Hỷ"] = {4: None, 6: None}
    shares["Cộng"] = {4: None, 6: None}
    t = read_published(write_annex(tmp_path / "annex.xlsx", MESSY, overrides=shares))
    assert len(t.table) == 9


def test_counts_that_cannot_be_are_errors(tmp_path):
    items = [it if it[1] != "Xã Hóa Trung" else ("commune", "Xã Hóa Trung", 30, 40, 0, 12) for it in MESSY]
    with pytest.raises(ValidationError) as exc:
        read_published(write_annex(tmp_path / "annex.xlsx", items, overrides={"Xã Hóa Trung": {4: None}}))
    assert _problems(exc) == [
        "sheet row 13 ('Xã Hóa Trung'), column D ('Hộ nghèo / Số hộ'): poor 40 is more than households 30"
    ]
    with pytest.raises(
        ValidationError,
        match=r"sheet row 13 \('Xã Hóa Trung'\), column C \('Tổng số hộ dân cư'\): "
        r"'1100,5' is not a whole number",
    ):
        read_published(write_annex(tmp_path / "b.xlsx", MESSY, overrides={"Xã Hóa Trung": {2: "1100,5"}}))
    with pytest.raises(ValidationError) as exc:
        read_published(write_annex(tmp_path / "c.xlsx", MESSY, overrides={"Xã Hóa Trung": {5: None, 6: None}}))
    assert _problems(exc) == [
        "sheet row 13 ('Xã Hóa Trung'), column F ('Hộ cận nghèo / Số hộ'): empty cell in a commune row with figures "
        "(write 0 where there are none)"
    ]


def test_a_commune_given_twice_is_an_error_naming_both_rows(tmp_path):
    items = _with(MESSY, ("commune", "Xã Hoá Trung", 10, 1, 1, 0), after="Xã Quang Sơnn")
    with pytest.raises(ValidationError) as exc:
        read_published(write_annex(tmp_path / "annex.xlsx", items))
    assert _problems(exc) == [
        "sheet row 15 ('Xã Hoá Trung'), column B ('Đơn vị'): Xã Hóa Trung (05683) is given twice: also at "
        "sheet row 13 ('Xã Hóa Trung')"
    ]


def test_a_commune_or_district_of_another_province_is_an_error(tmp_path):
    items = _with(MESSY, ("commune", "Xã Hồng Thái", 400, 20, 10, 5), after="Liêm Thuỷ")
    with pytest.raises(ValidationError) as exc:
        read_published(write_annex(tmp_path / "annex.xlsx", items))
    (problem,) = _problems(exc)
    assert problem.startswith(
        "sheet row 19 ('Xã Hồng Thái'), column B ('Đơn vị'): 'Xã Hồng Thái' is not a pre-2025 unit of Thai Nguyen "
        "or Bac Kan; units of that name: Xã Hồng Thái, Huyện Phú Xuyên, Thành phố Hà Nội;"
    )
    items = MESSY + [("district", "Huyện Yên Thế", "row"), ("commune", "Xã Đồng Tâm", 100, 1, 1, 0)]
    with pytest.raises(ValidationError) as exc:
        read_published(write_annex(tmp_path / "district.xlsx", items))
    assert (
        "'Huyện Yên Thế' is not a district of old Thai Nguyen or Bac Kan but of Huyện Yên Thế, Tỉnh Bắc Giang"
        in (_problems(exc)[0])
    )


def test_a_name_found_nowhere_is_returned_unplaced_with_three_suggestions(tmp_path):
    items = _with(MESSY, ("commune", "Xã Bản Phờ Kìa", 400, 20, 10, 5), after="Xã Quang Sơnn")
    t = read_published(write_annex(tmp_path / "annex.xlsx", items))
    (row,) = t.unplaced.to_dict("records")
    assert (row["row"], row["label"], row["district"], row["households"], row["poor"]) == (
        15,
        "Xã Bản Phờ Kìa",
        "Huyện Đồng Hỷ",
        400,
        20,
    )
    assert "no unit of the district scores 0.85 or more" in row["reason"]
    assert len(row["suggestions"].split("; ")) == 3 and re.match(r"0\d{4} Xã ", row["suggestions"])
    assert t.rows.set_index("label").at["Xã Bản Phờ Kìa", "outcome"] == "unplaced"
    assert "unplaced: row 15 'Xã Bản Phờ Kìa' (Huyện Đồng Hỷ)" in t.summary()
    with pytest.raises(ValueError, match="1 row\\(s\\) not placed \\(rows 15\\)"):
        t.to_new_units()
    # The totals include it: its figures are still in the file's sums.
    assert t.totals.set_index(["kind", "column"]).at[("total", "households"), "stated"] == 8650 + 400
    # An alias places it, for a unit merged before 2025.
    aliased = read_published(write_annex(tmp_path / "a.xlsx", items), aliases={"Bản Phờ Kìa": "05671"})
    assert aliased.table.set_index("commune_code").at["05671", "households"] == 800 + 400


def test_the_review_year_comes_from_the_title_or_the_caller(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", MESSY, title=False)
    with pytest.raises(ValidationError, match="no review year in the title above the table"):
        read_published(path)
    assert read_published(path, year=2022).review_year == 2022
    t = read_published(write_annex(tmp_path / "titled.xlsx", MESSY), year=2022)
    assert t.review_year == 2022 and "the title names the year 2023" in t.notes[0]


def test_signatures_and_notes_below_the_table_are_listed_not_matched(tmp_path):
    path = write_annex(tmp_path / "annex.xlsx", MESSY)
    import openpyxl

    book = openpyxl.load_workbook(path)
    ws = book.active
    ws.append([None, "Ghi chú: số liệu theo báo cáo của các huyện"])
    ws.append([])
    ws.append([None, "KT. CHỦ TỊCH"])
    ws.append([None, "Nguyễn Văn An"])
    book.save(path)
    t = read_published(path)
    notes = t.rows[t.rows["kind"] == "note"]
    assert notes["label"].tolist() == ["Ghi chú: số liệu theo báo cáo của các huyện", "KT. CHỦ TỊCH", "Nguyễn Văn An"]
    assert (notes["outcome"] == "skipped: text without figures").all() and t.blank_rows == 1


def test_a_fuzzy_guess_at_a_unit_another_row_gives_is_left_unplaced(tmp_path):
    # "To Tranh" (Tức Tranh with two typing errors) is nearest to Vô Tranh, which the next row gives.
    items = MESSY + [
        ("district", "Huyện Phú Lương", "row"),
        ("commune", "X. To Tranh", 900, 30, 20, 10),
        ("commune", "Xã Vô Tranh", 800, 20, 10, 5),
    ]
    t = read_published(write_annex(tmp_path / "annex.xlsx", items))
    assert t.table.set_index("commune_code").at["05647", "households"] == 800
    (row,) = t.unplaced.to_dict("records")
    assert row["label"] == "X. To Tranh" and row["reason"] == (
        "its nearest unit, Xã Vô Tranh (05647, score 0.88), is also given at sheet row 22 ('Xã Vô Tranh')"
    )
    assert row["suggestions"].startswith("05647 Xã Vô Tranh (Huyện Phú Lương) 0.88; 05641 Xã Tức Tranh")


def test_an_annex_of_the_2025_units_reads_and_passes_through(tmp_path):
    items = [
        ("total", "Tổng cộng"),
        ("commune", "Đại Từ", 9000, 300, 200, 250),  # since 2025 a commune, not the old district
        ("commune", "Phường Đức Xuân", 7000, 70, 90, 40),
        ("commune", "Xã Văn Lăng", 3000, 210, 150, 200),
    ]
    t = read_published(write_annex(tmp_path / "annex.xlsx", items, year=2025), vintage=2025)
    assert t.table["commune_code"].tolist() == ["01840", "05665", "05830"]
    new = t.to_new_units()
    assert new["poor_rate"].tolist() == [70 / 7000, 210 / 3000, 300 / 9000]
    assert new["complete"].all() and not new["apportioned"].any()
