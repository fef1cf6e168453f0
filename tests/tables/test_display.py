"""The match report and the agreement with microdata as tables for reading: counts, close matches, unplaced rows."""

from __future__ import annotations

import html
import re

import pandas as pd
import pytest
from conftest import write_annex

from povanalysis.tables import read_published, read_published_series
from povanalysis.tables.display import agreement_table, match_table, series_table

ITEMS = [
    ("total", "Tổng cộng"),
    ("district", "Huyện Đồng Hỷ", "row"),
    ("commune", "Sông Cầu", 1500, 60, 80, 20),
    ("commune", "TT. Trại Cau", 1200, 45, 70, 10),
    ("commune", "Xa Van Lang", 900, 120, 90, 100),
    ("commune", "Xã Hóa Trung", 1100, 40, 55, 12),
    ("commune", "Xã Quang Sơnn", 700, 80, 40, 60),
    ("commune", "Xã <b>Không</b> Tên", 300, 20, 10, 5),
]


def _cells(page: str) -> list[list[str]]:
    """The rows of the tables of ``page``, cells unescaped."""
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", page, flags=re.S)
    return [[html.unescape(c.strip()) for c in re.findall(r"<t[dh]>(.*?)</t[dh]>", r, flags=re.S)] for r in rows]


def test_the_match_report_counts_every_row_and_names_the_close_and_unplaced(tmp_path):
    table = read_published(write_annex(tmp_path / "annex.xlsx", ITEMS))
    page = match_table(table, lang="vi").data
    rows = _cells(page)
    assert ["Dòng xã, phường, thị trấn", "6"] in rows and ["Dòng huyện", "1"] in rows
    assert ["Tên trùng khớp", "1"] in rows and ["Trùng khi bỏ dấu", "1"] in rows
    assert ["Gần đúng (lỗi chính tả)", "1"] in rows and ["Chưa xác định", "1"] in rows
    close = next(r for r in rows if r[:2] == ["13", "Xã Quang Sơnn"])
    assert close[2:4] == ["Xã Quang Sơn (05674)", "Huyện Đồng Hỷ"]
    unplaced = next(r for r in rows if r[1] == "Xã <b>Không</b> Tên")
    assert unplaced[0] == "14" and unplaced[4]  # its nearest units
    assert "<b>Không</b>" not in page  # a name from the file is text, never markup
    english = _cells(match_table(table, lang="en").data)
    assert ["Close match (a typing error)", "1"] in english
    with pytest.raises(TypeError, match="'table' should be a PublishedTable, got DataFrame"):
        match_table(table.table)


def test_the_series_table_has_one_line_per_annex(tmp_path):
    paths = [write_annex(tmp_path / f"annex_{y}.xlsx", ITEMS[:-1], year=y) for y in (2023, 2024)]
    rows = _cells(series_table(read_published_series(paths), lang="en").data)
    assert rows[0] == ["File", "Review year", "Commune rows", "Placed", "Close matches", "Unplaced"]
    assert rows[1:] == [
        ["annex_2023.xlsx", "2023", "5", "5", "1", "0"],
        ["annex_2024.xlsx", "2024", "5", "5", "1", "0"],
    ]


def test_agreement_with_the_microdata_pins_the_gap():
    published = pd.DataFrame(
        {
            "commune_code": ["01840", "01843", "01840", "01843"],
            "review_year": [2024, 2024, 2025, 2025],
            "households": [200.0, 100.0, 200.0, 100.0],
            "poor": [20.0, 10.0, 18.0, 11.0],
            "apportioned": [False, True, False, True],
        }
    ).assign(poor_rate=lambda t: t["poor"] / t["households"])
    micro = published.drop(columns="apportioned").assign(poor=[20, 10, 18, 10])
    micro["poor_rate"] = micro["poor"] / micro["households"]
    rows = _cells(agreement_table(published, micro, lang="vi").data)
    assert rows[1] == ["2024", "2", "2", "1", "0,00", "300 / 300"]
    assert rows[2] == ["2025", "2", "1", "1", "1,00", "300 / 300"]  # 11 / 100 against 10 / 100
    with pytest.raises(ValueError, match="unit 01843 at 2025 is only in 'published'"):
        agreement_table(published, micro.iloc[:3], lang="vi")
