"""Headers as annexes write them: one row or several, with or without diacritics, a district column, movements."""

from __future__ import annotations

import openpyxl
import pytest

from povanalysis.data.sources import ValidationError
from povanalysis.tables import read_published
from povanalysis.tables.headers import field_of


def _csv(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_one_row_header_without_diacritics(tmp_path):
    path = _csv(
        tmp_path / "a.csv",
        [
            "STT,Ten xa,Tong so ho dan cu,So ho ngheo,Ty le ho ngheo (%),So ho can ngheo,Ty le ho can ngheo (%)",
            ",Huyen Vo Nhai,2000,300,15,200,10",
            "1,Xa La Hien,1200,180,15,100,8.33",
            "2,Xa Than Xa,800,120,15,100,12.5",
        ],
    )
    t = read_published(path, year=2021)
    assert t.table["commune_code"].tolist() == ["05725", "05740"]
    assert t.matches["method"].tolist() == ["ascii", "ascii"]
    assert t.totals["kind"].unique().tolist() == ["district"]


def test_a_district_column_instead_of_district_rows(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Kết quả rà soát hộ nghèo năm 2024"])
    ws.append(["TT", "Huyện", "Xã, phường, thị trấn", "Số hộ", "Số hộ nghèo", "Hộ nghèo DTTS"])
    ws.append([1, "Thành phố Thái Nguyên", "Phường Trung Thành", 900, 9, 1])
    ws.append([2, None, "Phường Tân Thịnh", 1000, 10, 2])
    ws.append([3, "Thành phố Phổ Yên", "Phường Trung Thành", 800, 16, 3])
    ws.merge_cells("B3:B4")
    book.save(tmp_path / "a.xlsx")
    t = read_published(tmp_path / "a.xlsx")
    assert t.review_year == 2024
    assert t.matches["commune_code"].tolist() == ["05476", "05452", "05899"]
    assert t.matches["district"].tolist() == ["Thành phố Thái Nguyên"] * 2 + ["Thành phố Phổ Yên"]


def test_movements_over_the_year_are_ignored_and_listed(tmp_path):
    path = _csv(
        tmp_path / "a.csv",
        [
            "STT,Đơn vị,Tổng số hộ,Số hộ nghèo đầu kỳ,Số hộ thoát nghèo,Số hộ nghèo phát sinh,Số hộ nghèo cuối kỳ,"
            "Hộ nghèo và cận nghèo,Ghi chú",
            "1,Xã Tân Cương,1000,50,20,5,35,100,",
        ],
    )
    t = read_published(path, year=2022)
    assert t.table.at[0, "poor"] == 35
    assert t.columns.loc[t.columns["field"].isna(), "column"].tolist() == ["D", "E", "F", "H", "I"]
    assert "ignored columns: D 'Số hộ nghèo đầu kỳ'" in t.summary()


def test_two_columns_for_one_field_are_an_error_until_the_caller_says_which(tmp_path):
    path = _csv(
        tmp_path / "a.csv",
        ["STT,Đơn vị,Tổng số hộ,Số hộ nghèo,Tổng số hộ nghèo", "1,Xã Tân Cương,1000,35,36"],
    )
    with pytest.raises(
        ValidationError,
        match=r"2 columns could hold 'poor': D \('Số hộ nghèo'\), E \('Tổng số hộ "
        r"nghèo'\); say which with columns=\{'poor': 'letter'\}",
    ):
        read_published(path, year=2022)
    assert read_published(path, year=2022, columns={"poor": "E"}).table.at[0, "poor"] == 36


def test_a_header_without_the_poor_households_is_an_error_listing_the_titles(tmp_path):
    assert field_of("Số khẩu nghèo") is None  # persons, not households
    path = _csv(
        tmp_path / "a.csv", ["STT,Đơn vị,Tổng số hộ,Số khẩu nghèo,Số hộ cận nghèo", "1,Xã Tân Cương,1000,35,20"]
    )
    with pytest.raises(ValidationError) as exc:
        read_published(path, year=2022)
    assert str(exc.value) == (
        f"{path}: no column for 'poor' in the header (line 1 to line 1); titles found: A 'STT'; B 'Đơn vị'; "
        "C 'Tổng số hộ'; D 'Số khẩu nghèo'; E 'Số hộ cận nghèo'; say which with columns={'poor': 'letter'}"
    )
    path = _csv(tmp_path / "b.csv", ["STT,Đơn vị,Tổng số hộ,Ghi chú", "1,Xã Tân Cương,1000,"])
    with pytest.raises(ValidationError, match="no header found in the first 60 rows"):
        read_published(path, year=2022)


def test_rates_in_percent_formatted_cells(tmp_path):
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["STT", "Đơn vị", "Tổng số hộ dân cư", "Số hộ nghèo", "Tỷ lệ hộ nghèo"])
    ws.append([1, "Xã Tân Cương", 1000, 35, 0.035])
    ws["E2"].number_format = "0.00%"
    book.save(tmp_path / "a.xlsx")
    assert read_published(tmp_path / "a.xlsx", year=2023).table.at[0, "poor_rate"] == 0.035
    ws["E2"] = 0.045
    book.save(tmp_path / "a.xlsx")
    with pytest.raises(ValidationError, match=r"the rate 4.5 disagrees with poor 35 over households 1,000 \(3.50%\)"):
        read_published(tmp_path / "a.xlsx", year=2023)
