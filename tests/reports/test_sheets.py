"""The province topics as workbook sheets: every row, readable headers, and no small count readable or recomputable."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from povanalysis import config
from povanalysis.common.labels import label
from povanalysis.data import pipeline
from povanalysis.reports import prepare, published, sheets
from povanalysis.reports.disclosure import attack

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"


@pytest.fixture(scope="module")
def data_dir():
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        yield root


@pytest.fixture(scope="module")
def vi(data_dir):
    return sheets.province_sheets(review_year=2025)


def _small_numbers(frame: pd.DataFrame, columns) -> list:
    out = []
    for c in columns:
        for v in frame[c]:
            if isinstance(v, (int, np.integer)) and 0 < v < config.MIN_CELL:
                out.append((c, v))
    return out


def test_one_sheet_per_topic_with_every_row(vi, data_dir):
    assert list(vi) == [
        "Tổng quan theo xã",
        "Tác động tín dụng",
        "Mục tiêu 2026–2030",
        "Nhắm đối tượng",
        "Ước lượng cấp xã",
        "Theo tổ chức nhận ủy thác",
    ]
    assert all(len(name) <= 31 for name in vi)
    n = pipeline.load_commune_year()["commune_code"].nunique()
    years = pipeline.load_commune_year()["review_year"].nunique()
    # every commune, the two old areas and the province, every review
    assert len(vi["Tổng quan theo xã"]) == (n + 3) * years
    assert len(vi["Mục tiêu 2026–2030"]) == n and len(vi["Nhắm đối tượng"]) == n and len(vi["Ước lượng cấp xã"]) == n
    for sheet in vi.values():
        assert not sheet.columns.duplicated().any()
        codes = sheet.get("Mã xã")
        if codes is not None:
            assert all(isinstance(c, str) for c in codes)  # codes stay text: 01840, not 1840
        for v in sheet.to_numpy().ravel():
            assert v is None or isinstance(v, (str, int, float, np.integer, np.floating))
            assert not (isinstance(v, float) and not np.isfinite(v))


def test_no_count_under_the_limit_is_shown(vi):
    overview = vi["Tổng quan theo xã"]
    assert not _small_numbers(overview, ["Hộ nghèo (hộ)", "Hộ cận nghèo (hộ)"])
    assert (overview["Hộ nghèo (hộ)"] == "< 10").any()
    assert not _small_numbers(vi["Nhắm đối tượng"], ["Hộ nghèo (hộ)", "Hộ có nguy cơ tái nghèo (hộ)"])
    assert not _small_numbers(vi["Tác động tín dụng"], ["Hộ vay (hộ)"])


def test_the_organisation_sheet_is_page_02s_table(vi):
    """The four organisations and all of them, the province's figures as page 02 prints them, no small count."""
    from povanalysis.impact import channels
    from povanalysis.reports import province as page

    sheet = vi["Theo tổ chức nhận ủy thác"]
    assert sheet["Tổ chức nhận ủy thác"].tolist() == [
        "Hội Liên hiệp Phụ nữ",
        "Hội Nông dân",
        "Hội Cựu chiến binh",
        "Đoàn Thanh niên",
        "Tất cả các tổ chức",
    ]
    classified, loans = pipeline.load_classified(), pipeline.load_loans()
    table = page.channel_table(channels.by_channel(classified[classified["review_year"] <= 2025], loans))
    pd.testing.assert_frame_equal(sheet, table.sheet)
    assert not _small_numbers(sheet, ["Khoản vay (khoản)", "Hộ vay (hộ)"])
    # the organisations' households add up to all of them where every count is shown
    counts = sheet["Hộ vay (hộ)"]
    if all(isinstance(v, (int, np.integer)) for v in counts):
        assert sum(counts[:4]) >= counts.iloc[4]


def test_no_organisation_sheet_without_organisations(data_dir):
    loans = pipeline.load_loans().drop(columns=["channel"])
    assert sheets.channel_sheet(pipeline.load_classified(), loans) is None


def _overview_as_published(o: pd.DataFrame) -> pd.DataFrame:
    """The overview sheet read back into the keys of the province's household equations."""
    areas = {label(k, "vi"): k for k in ("bac_kan", "thai_nguyen", "province")}
    old_area = [
        areas[n] if c == "" else areas[a] for c, n, a in zip(o["Mã xã"], o["Xã, phường / khu vực"], o["Địa bàn cũ"])
    ]
    return pd.DataFrame(
        {
            "old_area": old_area,
            "commune_code": o["Mã xã"].where(o["Mã xã"] != "", published.ALL),
            "review_year": o["Năm rà soát"].astype(int),
            "ethnicity": published.ALL,
            "households": o["Số hộ (hộ)"],
            "poor": o["Hộ nghèo (hộ)"],
            "near_poor": o["Hộ cận nghèo (hộ)"],
            "poor_rate": [v / 100 if isinstance(v, float) else v for v in o["Tỷ lệ hộ nghèo (%)"]],
            "near_poor_rate": [v / 100 if isinstance(v, float) else v for v in o["Tỷ lệ hộ cận nghèo (%)"]],
        }
    )


def test_the_attacker_recovers_no_hidden_count_of_the_overview(vi):
    """Communes within the old areas, the areas within the province, every review: nothing comes back."""
    a = attack(_overview_as_published(vi["Tổng quan theo xã"]), published.HOUSEHOLDS, rate_digits=2)
    assert a.cells["hidden"].sum() > 0
    assert a.recovered.empty, a.summary()
    assert a.exposed.empty, a.summary()


def test_the_overview_is_the_decision_the_pages_and_the_index_publish(vi):
    """One decision for every output: a cell hidden on a commune page is hidden in the sheet, and the reverse."""
    tables, manifest = prepare.shared_tables()
    areas = tables["area_totals"].assign(commune_code=published.ALL)
    flat = pd.concat(
        [tables["ethnicity"].drop(columns="suppressed"), tables["commune_totals"], areas], ignore_index=True
    )
    decided = published.restore(flat, published.HOUSEHOLDS, min_cell=int(manifest["min_cell"])).for_workbook()
    decided = decided[decided["ethnicity"] == published.ALL].set_index(["old_area", "commune_code", "review_year"])
    sheet = _overview_as_published(vi["Tổng quan theo xã"]).set_index(["old_area", "commune_code", "review_year"])
    assert len(sheet) == len(decided)
    for column in ("households", "poor", "near_poor"):
        assert sheet[column].tolist() == decided.loc[sheet.index, column].tolist(), column


def test_english_sheets(data_dir, vi):
    en = sheets.overview_sheet(review_year=2024, lang="en")
    assert en.columns.tolist()[:3] == ["Review year", "Commune code", "Commune, ward or area"]
    assert set(en["Review year"]) == {"2021", "2022", "2023", "2024"}
    assert en.iloc[-1, 2] == "Province" and en.iloc[-2, 2] == "Old Thai Nguyen area"


def test_review_year_must_be_in_the_data(data_dir):
    with pytest.raises(ValueError, match="review_year must be a review year in the data"):
        sheets.province_sheets(review_year=2019)


def test_sheets_are_kept_and_read_back_as_made(data_dir, tmp_path, monkeypatch):
    fresh = sheets.province_sheets(review_year=2025, cache=None)
    made = sheets.province_sheets(review_year=2025, cache=tmp_path)
    assert len(list(tmp_path.glob("sheets-*.json"))) == 1
    made_again = []
    monkeypatch.setattr(sheets, "_province_sheets", lambda **kw: made_again.append(kw) or {})
    kept = sheets.province_sheets(review_year=2025, cache=tmp_path)
    assert made_again == []  # read back, not made again
    assert list(kept) == list(fresh) == list(made)
    for name in fresh:
        pd.testing.assert_frame_equal(kept[name], fresh[name])
        pd.testing.assert_frame_equal(made[name], fresh[name])
        # the decimals each column shows on its page travel with the sheet, also through the cache
        assert kept[name].attrs["number_formats"] == fresh[name].attrs["number_formats"]
        assert set(fresh[name].attrs["number_formats"]) == set(fresh[name].columns)
        # the same cells, type by type: a "< 10" stays text, a count an integer, a missing figure missing
        for a, b in zip(kept[name].to_numpy().ravel(), fresh[name].to_numpy().ravel()):
            assert (pd.isna(a) and pd.isna(b)) or (type(a) is type(b) and a == b), (name, a, b)
    # another language, another threshold or other data: made afresh
    sheets.province_sheets(review_year=2025, lang="en", cache=tmp_path)
    monkeypatch.setattr(config, "MIN_CELL", config.MIN_CELL + 1)
    sheets.province_sheets(review_year=2025, cache=tmp_path)
    assert len(made_again) == 2 and len(list(tmp_path.glob("sheets-*.json"))) == 3
