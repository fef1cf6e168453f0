"""Everything the commune pages, the index and the workbook publish is attacked, and gives no small count back.

The batch builds the reports of three communes and the index from the test data.  The
figures the pages print (the ethnic table with its total, the households sentence) and the
workbook's cells are read back as a reader would; each must be what the disclosure rule
decided for it (:mod:`povanalysis.reports.published`), never more.  Then an attacker who
holds every figure the rule lets out, for every commune, review and group (more than any one
page prints), tries rate × households, total minus parts, the old areas and the province:
it recovers nothing.  The leaks the pages used to have are looked for by name.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from povanalysis import config
from povanalysis.data import registry
from povanalysis.reports import batch, prepare, published, sheets
from povanalysis.reports import sections as report
from povanalysis.reports.disclosure import DASH, attack

CODES = ("01840", "01879", "02071")
YEAR = 2025


@pytest.fixture(scope="module")
def site(prepared, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = batch.run_batch(out, communes=list(CODES), workers=1, province=False, progress=False)
    assert result.ok, result.summary()
    return out


@pytest.fixture(scope="module")
def rule(prepared):
    """Every household row the rule decided (groups, communes, old areas, province), its display and the truth."""
    tables, manifest = prepare.shared_tables()
    areas = tables["area_totals"].assign(commune_code=published.ALL)
    flat = pd.concat(
        [tables["ethnicity"].drop(columns="suppressed"), tables["commune_totals"], areas], ignore_index=True
    )
    limit = int(manifest["min_cell"])
    p = published.restore(flat, published.HOUSEHOLDS, min_cell=limit)
    return flat, p, limit


def _page(site, code: str) -> str:
    return (site / "communes" / f"{registry.lookup(code)['slug']}.html").read_text(encoding="utf-8")


def _text(page: str) -> str:
    body = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _tables(page: str) -> list[list[list[str]]]:
    """The report tables of a page, as rows of cell texts (header first)."""
    out = []
    for table in re.findall(r'<table class="[^"]*report-table[^"]*">(.*?)</table>', page, flags=re.S):
        rows = []
        for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, flags=re.S):
            cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S)
            rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split()) for c in cells])
        out.append(rows)
    return out


def _ethnic_table(page: str) -> pd.DataFrame:
    (rows,) = [t for t in _tables(page) if t and t[0][:1] == ["Dân tộc"]]
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    names = {"Tổng": published.ALL, "Dân tộc khác": published.OTHER}
    return frame.assign(ethnicity=frame["Dân tộc"].map(lambda n: names.get(n, n)))


# ----------------------------------------------------------------------------- what the pages print is what the rule allows


def test_the_ethnic_table_prints_what_the_rule_decided(site, rule):
    flat, p, limit = rule
    shown = p.display()
    for code in CODES:
        table = _ethnic_table(_page(site, code))
        mine = shown[(shown["commune_code"] == code) & (shown["review_year"] == YEAR)].set_index("ethnicity")
        assert table["ethnicity"].tolist()[-1] == published.ALL
        assert set(table["ethnicity"]) == set(mine.index)
        for _, row in table.iterrows():
            decided = mine.loc[row["ethnicity"]]
            assert row["Số hộ"] == decided["households"]
            assert row["Số hộ nghèo"] == decided["poor"]
            assert row["Tỷ lệ hộ nghèo"] == decided["poor_rate"]
            # a count under the limit never stands next to a rate printed to two decimals
            if row["Số hộ nghèo"] == f"< {limit}":
                assert row["Tỷ lệ hộ nghèo"].startswith("< ") or row["Tỷ lệ hộ nghèo"] == DASH


def test_the_households_sentence_prints_what_the_rule_decided(site, rule):
    flat, p, limit = rule
    shown = p.display()
    sentence = re.compile(
        r"có ([\d.]+) hộ \([\d.]+ nhân khẩu\), trong đó (?:(.+?) hộ nghèo(?: \(tỷ lệ (.+?)\))?|số hộ nghèo không công bố)"
        r" và (?:(.+?) hộ cận nghèo(?: \(tỷ lệ (.+?)\))?|số hộ cận nghèo không công bố)\."
    )
    for code in CODES:
        text = _text(_page(site, code))
        row = shown[(shown["commune_code"] == code) & (shown["review_year"] == YEAR) & (shown["ethnicity"] == "all")]
        row = row.iloc[0]
        if row["households"] in (DASH, f"< {limit}"):
            assert not sentence.search(text) and "hộ nghèo (tỷ lệ" not in text.split("Xu hướng")[0]
            continue
        m = sentence.search(text)
        assert m, text[:2000]

        def mark(words):
            return DASH if words is None else words.replace("dưới ", "< ")

        assert m.group(1) == row["households"]
        assert mark(m.group(2)) == row["poor"] and mark(m.group(3)) in (row["poor_rate"], DASH)
        assert mark(m.group(4)) == row["near_poor"] and mark(m.group(5)) in (row["near_poor_rate"], DASH)


def test_the_old_leaks_are_gone(site):
    for code in CODES:
        text = _text(_page(site, code))
        # "dưới 10 hộ nghèo (tỷ lệ 0,18%)": a count under the limit next to its rate to two decimals
        assert not re.search(r"dưới \d+ hộ (?:cận )?nghèo \(tỷ lệ \d+,\d\d%\)", text)
        # "1 trong 70 khoản vay (1,43%)": a small count of loans next to its share
        for count in re.findall(r"(\d+) trong [\d.]+ khoản vay \(\d+,\d\d%\)", text):
            assert int(count) == 0 or int(count) >= config.MIN_CELL, count
        assert "kiểm duyệt" not in text.split("Thành phần dân tộc")[1].split("Tín dụng chính sách")[0]
        assert "được ẩn để bảo vệ thông tin hộ gia đình" in text
        # the ethnic table no longer prints a small count: every count cell is a number of at least
        # the limit, a zero, or a mark
        table = _ethnic_table(_page(site, code))
        for cell in table["Số hộ nghèo"]:
            assert cell in (f"< {config.MIN_CELL}", DASH) or int(cell.replace(".", "")) in {0} | set(
                range(config.MIN_CELL, 10**7)
            )


# ----------------------------------------------------------------------------- the workbook


def test_the_workbook_prints_what_the_rule_decided_and_nothing_gives_a_count_back(site, rule):
    flat, p, limit = rule
    wb = load_workbook(site / "key-figures.xlsx")
    # the key figures, one sheet per province topic, then the notes
    assert wb.sheetnames[0] == "Số liệu chính" and wb.sheetnames[-1] == "Ghi chú"
    assert wb.sheetnames[1:-1] == [name for name, _ in sheets.SHEET_NAMES.values()]
    ws = wb["Số liệu chính"]
    assert ws.auto_filter.ref and ws.freeze_panes == "C2"
    header = [c.value for c in ws[1]]
    rows = pd.DataFrame(list(ws.iter_rows(min_row=2, values_only=True)), columns=header)
    assert all(isinstance(c, str) and len(c) == 5 for c in rows["Mã"])  # codes as text
    assert {ws.cell(row=r, column=1).number_format for r in range(2, ws.max_row + 1)} == {"@"}
    book = p.for_workbook()
    now = book[(book["ethnicity"] == "all") & (book["review_year"] == YEAR) & (book["commune_code"] != "all")]
    now = now.set_index("commune_code").reindex(rows["Mã"])
    for column, key in (("Số hộ", "households"), ("Số hộ nghèo", "poor"), ("Tỷ lệ hộ nghèo", "poor_rate")):
        assert rows[column].tolist() == now[key].tolist(), column
    # rate × households gives no count under the limit: a numeric rate has a count of 0 or at least the limit
    households = pd.to_numeric(rows["Số hộ"], errors="coerce")
    rates = pd.to_numeric(rows["Tỷ lệ hộ nghèo"], errors="coerce")
    implied = np.round(rates * households)
    assert not ((implied > 0) & (implied < limit)).any()
    small = rows["Số hộ nghèo"] == f"< {limit}"
    assert small.any() and rates[small].isna().all()
    # the attacker with the workbook's rows in place of the display of the same cells
    shown = p.display().astype(object)
    mask = (shown["ethnicity"] == "all") & (shown["review_year"] == YEAR) & (shown["commune_code"] != "all")
    idx = shown.index[mask]
    cells = book.loc[idx, ["households", "poor", "poor_rate", "near_poor", "near_poor_rate"]]
    shown.loc[idx, cells.columns] = cells.to_numpy()
    found = attack(shown, published.HOUSEHOLDS, min_cell=limit, rate_digits=2, truth=flat)
    assert found.disclosed.empty, found.summary()
    # the province overview sheet prints each commune's figures of the review as the key figures do
    ws = wb[sheets.SHEET_NAMES["overview"][0]]
    header = [c.value for c in ws[1]]
    overview = pd.DataFrame(list(ws.iter_rows(min_row=2, values_only=True)), columns=header)
    overview = overview[(overview["Năm rà soát"] == str(YEAR)) & (overview["Mã xã"] != "")].set_index("Mã xã")
    assert overview.loc[rows["Mã"], "Hộ nghèo (hộ)"].tolist() == rows["Số hộ nghèo"].tolist()
    assert overview.loc[rows["Mã"], "Số hộ (hộ)"].tolist() == rows["Số hộ"].tolist()


# ----------------------------------------------------------------------------- the attacker on everything the rule lets out


def test_no_hidden_count_is_recovered_from_everything_published(rule):
    """Rate × households, total minus parts, communes within the old areas and the province, every review."""
    flat, p, limit = rule
    found = attack(p.display(), published.HOUSEHOLDS, min_cell=limit, truth=flat)
    assert found.cells["hidden"].sum() > 0
    assert found.disclosed.empty, found.summary()
    # differences between reviews: a change the pages print is between two rates both printed
    rates = p.values.assign(hidden=p.hidden["poor_rate"].to_numpy())
    for code in CODES:
        ctx = prepare.commune_context(code, review_year=YEAR)
        text = report.trend_text(ctx, lang="vi").data
        years = [int(y) for y in re.findall(r"năm (\d{4})", text)]
        mine = rates[(rates["commune_code"] == code) & (rates["ethnicity"] == "all")].set_index("review_year")
        assert all(not mine.loc[y, "hidden"] for y in years if y in mine.index), text


def test_credit_is_attacked_on_the_province_and_gives_nothing_back(prepared, site):
    """Borrowers by programme, their sum and the province: the credit tables of the pages are this decision."""
    tables, manifest = prepare.shared_tables()
    limit = int(manifest["min_cell"])
    loans = tables["credit"][tables["credit"]["programme"] != "all"].drop(
        columns=["borrowers__hidden", "borrowers__reason"]
    )
    p = published.credit_protected(loans, min_cell=limit)
    assert p.hidden["borrowers"].any()
    found = attack(p.display(), published.CREDIT, min_cell=limit, truth=p.values)
    assert found.disclosed.empty, found.summary()
    shown = p.display().set_index(["commune_code", "year", "programme"])["borrowers"]
    for code in CODES:
        (rows,) = [t for t in _tables(_page(site, code)) if t and t[0][:1] == ["Năm giải ngân"]]
        header = rows[0]
        columns = {"Số hộ vay": "all"} | {
            f"Số hộ vay: {name}": k
            for k, name in (
                ("poor", "hộ nghèo"),
                ("near_poor", "hộ cận nghèo"),
                ("newly_escaped", "hộ mới thoát nghèo"),
            )
        }
        for row in rows[1:]:
            year = int(row[0])
            for name, programme in columns.items():
                assert row[header.index(name)] == shown.loc[(code, year, programme)], (code, year, name)
            if row[header.index("Số hộ vay")] in (DASH, f"< {limit}"):
                assert row[header.index("Số khoản vay")] == DASH and row[header.index("Số tiền (triệu đồng)")] == DASH


# ----------------------------------------------------------------------------- the sections' table on random communes


@st.composite
def communes(draw):
    groups = draw(st.lists(st.integers(0, 60), min_size=1, max_size=4))
    rows = []
    for g, size in enumerate(groups):
        poor = draw(st.integers(0, size))
        rows += [{"ethnicity": ["Kinh", "Tày", "Dao", "Nùng"][g], "poor": i < poor} for i in range(size)]
    return pd.DataFrame(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(communes(), communes())
def test_the_household_table_of_random_communes_gives_nothing_back(a, b):
    """Two communes of one old area, each with up to four groups: the published table resists the attacker."""
    frames = []
    for code, households in (("00001", a), ("00002", b)):
        if households.empty:
            continue
        frames.append(
            households.assign(
                commune_code=code,
                review_year=YEAR,
                size=1,
                poverty_class=np.where(households["poor"], "poor", "not_poor"),
            )
        )
    if not frames:
        return
    classified = pd.concat(frames, ignore_index=True).drop(columns="poor")
    units = pd.DataFrame({"commune_code": ["00001", "00002"], "old_area": "thai_nguyen"})
    flat = published.household_table(classified, units, min_cell=10)
    p = published.restore(flat, published.HOUSEHOLDS, min_cell=10)
    values = flat[["poor", "households"]].to_numpy()
    assert p.hidden["poor"].to_numpy()[(values[:, 0] > 0) & (values[:, 0] < 10)].all()
    found = attack(p.display(), published.HOUSEHOLDS, min_cell=10, truth=flat)
    reported = set(map(tuple, p.unresolved[[*published.HOUSEHOLDS.keys, "column"]].to_numpy().tolist()))
    disclosed = set(map(tuple, found.disclosed[[*published.HOUSEHOLDS.keys, "column"]].to_numpy().tolist()))
    assert disclosed <= reported, found.summary()


def test_the_minority_share_adds_nothing_to_the_ethnic_table(rule):
    """Shown only where the table's total and Kinh row are, with minority poor households none or at least the limit."""
    flat, p, limit = rule
    communes = flat[(flat["ethnicity"] == "all") & (flat["commune_code"] != "all")]
    shown = communes[~communes["minority_share_of_poor__hidden"]]
    assert len(shown) < len(communes)
    kinh = flat[flat["ethnicity"] == "Kinh"].set_index(["commune_code", "review_year"])
    for row in shown.itertuples():
        k = kinh.loc[(row.commune_code, row.review_year)]
        assert not row.poor__hidden and not k["poor__hidden"]
        assert row.minority_poor == 0 or row.minority_poor >= limit
        assert np.isclose(row.minority_share_of_poor, (row.poor - k["poor"]) / row.poor)


def test_the_minority_share_by_hand():
    """Kinh 100 households (20 poor), Tày 50 (15 poor): 15 of 35; with 4 Tày poor households it is not published."""

    def commune(code: str, tay_poor: int) -> pd.DataFrame:
        ethnicity = ["Kinh"] * 100 + ["Tày"] * 50
        poor = [i < 20 for i in range(100)] + [i < tay_poor for i in range(50)]
        return pd.DataFrame(
            {
                "commune_code": code,
                "review_year": YEAR,
                "size": 1,
                "ethnicity": ethnicity,
                "poverty_class": np.where(poor, "poor", "not_poor"),
            }
        )

    classified = pd.concat([commune("00001", 15), commune("00002", 4), commune("00003", 30)], ignore_index=True)
    units = pd.DataFrame({"commune_code": ["00001", "00002", "00003"], "old_area": "thai_nguyen"})
    flat = published.household_table(classified, units, min_cell=10)
    rows = flat[(flat["ethnicity"] == "all") & (flat["commune_code"] != "all")].set_index("commune_code")
    assert rows.loc["00001", "minority_share_of_poor"] == pytest.approx(15 / 35)
    assert rows["minority_share_of_poor__hidden"].to_dict() == {"00001": False, "00002": True, "00003": False}
