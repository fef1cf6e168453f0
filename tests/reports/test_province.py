"""The province pages' headings and tables: one language, formats for reading, household counts under the disclosure rule."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from povanalysis.reports import province as page
from povanalysis.reports.disclosure import Layout, attack

RAW = re.compile(r"NaN|<NA>|&lt;NA&gt;|\bNone\b|\bTrue\b|\bFalse\b|e\+\d|rows ×")
ASCII_WORDS = re.compile(r"\b(?:the|and|of|households|rate)\b")


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<style>.*?</style>", "", html, flags=re.S))


def test_every_heading_in_both_languages_and_the_vietnamese_one_in_vietnamese():
    for key, (vi, en) in page.TEXT.items():
        assert vi and en and vi != en, key
        assert not ASCII_WORDS.search(vi), (key, vi)
        assert set(re.findall(r"{(\w+)}", vi)) == set(re.findall(r"{(\w+)}", en)), key
    assert page.text(["overview.title", "overview.lead"], "vi", year=2025, first=2021).data.startswith(
        "# Hộ nghèo, hộ cận nghèo và thiếu hụt đa chiều tỉnh Thái Nguyên, kỳ rà soát 2025\n\nSố liệu"
    )
    assert page.text("overview.maps", "en", year=2025).data.startswith("## Poverty maps by commune, 2025 review")


def test_chart_titles_of_a_page_differ():
    groups = {}
    for key, (vi, _) in page.TEXT.items():
        prefix = key.split(".")[0]
        groups.setdefault(prefix, []).append(vi)
    for prefix, titles in groups.items():
        assert len(titles) == len(set(titles)), prefix


def test_retitle_sets_the_title():
    import plotly.graph_objects as go

    fig = page.retitle(go.Figure(), "targets.fan_province", "en", start=2026, end=2030, model="Drift")
    assert fig.layout.title.text == "Province: projection 2026–2030, «Drift» model"


def test_overview_table_formats_and_keeps_the_numbers():
    province = pd.DataFrame(
        {
            "review_year": [2024, 2025],
            "households": [8448, 8489],
            "poor": [462, 391],
            "near_poor": [312, 291],
            "poor_rate": [462 / 8448, 391 / 8489],
            "near_poor_rate": [312 / 8448, 291 / 8489],
        }
    )
    af = pd.DataFrame(
        {
            "review_year": [2024, 2024, 2024, 2025, 2025, 2025],
            "measure": ["H", "A", "M0"] * 2,
            "value": [0.1642, 0.3744, 0.0615, 0.1443, 0.3627, 0.0523],
            "k": 0.25,
            "indicator": None,
        }
    )
    r = page.overview_table(province, af)
    assert r.frame.iloc[1].tolist() == ["2025", "8.489", "391", "4,61%", "291", "3,43%", "14,43%", "36,27%", "0,0523"]
    assert r.frame.columns[3] == "Tỷ lệ hộ nghèo" and r.sheet.columns[3] == "Tỷ lệ hộ nghèo (%)"
    assert r.sheet.iloc[1, 3] == 4.61
    en = page.overview_table(province, af, lang="en")
    assert en.frame.iloc[1, 1] == "8,489" and "Poor-household rate" in en.frame.columns


def test_small_counts_and_the_rates_that_would_give_them_back_are_hidden():
    at_risk = pd.DataFrame(
        {
            "review_year": 2025,
            "commune_code": ["01840", "01843", "01849", "01852"],
            "households": [120, 300, 54, 80],
            "at_risk": [4, 30, 12, 0],
            "at_risk_rate": [4 / 120, 0.1, 12 / 54, 0.0],
            "expected_fallbacks": [3.1, 28.2, 11.0, 0.4],
            "suppressed": False,
        }
    )
    r = page.at_risk_table(at_risk)
    shown = r.frame.set_axis(["name", "households", "at_risk", "at_risk_rate", "expected"], axis=1)
    row = shown[shown["households"] == "120"].iloc[0]
    assert row["at_risk"] == "< 10" and row["at_risk_rate"] == "< 10%"
    assert shown["at_risk"].tolist() == ["30", "12", "< 10", "0"]  # most expected fall-backs first
    published = pd.DataFrame(
        {
            "commune_code": at_risk.sort_values("expected_fallbacks", ascending=False)["commune_code"].to_numpy(),
            "households": shown["households"].to_numpy(),
            "at_risk": shown["at_risk"].to_numpy(),
            "at_risk_rate": shown["at_risk_rate"].to_numpy(),
        }
    )
    a = attack(published, Layout(["commune_code"], ["at_risk"], rates={"at_risk_rate": "at_risk"}))
    assert a.recovered.empty and a.exposed.empty


def test_accuracy_table_hides_the_reached_households_the_rest_would_give_back():
    acc = pd.DataFrame(
        {
            "loan_year": [2022, 2022],
            "review_year": [2021, 2021],
            "minority": [False, True],
            "programme": "all",
            "eligible": [370, 953],
            "reached": [8, 52],
            "coverage": [8 / 370, 52 / 953],
            "exclusion_errors": [362, 901],
            "exclusion_rate": [362 / 370, 901 / 953],
            "loans": [14, 58],
            "inclusion_errors": [6, 6],
            "inclusion_share": [6 / 14, 6 / 58],
            "suppressed": False,
        }
    )
    r = page.accuracy_table(acc, by="minority")
    first = r.frame.iloc[0].tolist()
    assert first[4] == "< 10" and "8" not in first[5:] and "362" not in first
    assert all(not re.fullmatch(r"\d+", v) or int(v.replace(".", "")) >= 10 or v == "0" for v in first[3:])
    assert "Khoản vay" not in r.frame.columns  # loans minus reached would give the ineligible loans back


def test_ranking_table_cut_on_the_page_and_whole_in_the_workbook():
    n = 40
    ranking = pd.DataFrame(
        {
            "rank": range(1, n + 1),
            "commune_code": [f"{i:05d}" for i in range(n)],
            "name": [f"Xã {i}" for i in range(n)],
            "target": "province_high",
            "rule": "proportional share of province_high",
            "attainable": True,
            "already_met": [False] * (n - 1) + [True],
            "start_level": 0.1,
            "target_level": 0.05,
            "mean": 0.07,
            "obs_ci_lower": 0.05,
            "obs_ci_upper": 0.09,
            "gap": np.linspace(0.05, -0.01, n),
            "p_meet": [np.nan] + [0.3] * (n - 1),
            "exits_per_year": 2.5,
            "additional_exits": 3.0,
            "share_of_gap": 1 / n,
            "credit_vnd": 5.349563e08,
            "suppressed": False,
        }
    )
    r = page.ranking_table(ranking, {}, top=15)
    html = r.to_html()
    assert r.shown == 15 and len(r.sheet) == n
    assert not RAW.search(_text(html))
    assert "0,5" in r.frame.iloc[0].tolist()  # 5.349563e+08 VND read as 0,5 billion
    full = page.ranking_table(ranking, {}, top=None, full=True).sheet
    assert full.columns[4:6].tolist() == ["Có thể đạt", "Đã đạt"] and full.iloc[-1, 5] == "Có"
    assert "proportional share" not in " ".join(map(str, full.to_numpy().ravel()))


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_sae_sentences_use_the_languages_decimal_mark(lang):
    class Fit:
        sigma2_u, method = 0.00998379, "REML"

    class Demo:
        fit = Fit()
        sample = pd.DataFrame({"x": range(600)})
        mse_direct, mse_eblup, mse_synthetic, gain = 0.0032887, 0.00236536, 0.00259111, 0.281

        def to_frame(self):
            return pd.DataFrame({"sampled": [True] * 40 + [False] * 52})

    text = page.sae_text(Demo(), review_year=2024, lang=lang).data
    if lang == "vi":
        assert "**600** hộ ở **40** trên 92 xã, phường" in text and "0,00329" in text and "28%" in text
        assert not re.search(r"\d\.\d", text)
    else:
        assert "0.00329" in text and "**600** households" in text
    bench = page.benchmark_text({"estimate": 0.0511, "ci_lower": 0.0266, "ci_upper": 0.0756}, 0.0547, lang=lang).data
    assert ("5,11% (khoảng tin cậy 95%: 2,66%–7,56%)" if lang == "vi" else "5.11% (95% interval 2.66%–7.56%)") in bench


def _accuracy(inclusion: int, loans: int) -> pd.DataFrame:
    rows = []
    for programme, eligible, reached, incl, n_loans in (
        ("poor", 800, 60, 0, 60),
        ("near_poor", 795, 23, inclusion, 23 + inclusion),
        ("all", 1595, 83, inclusion, loans),
    ):
        rows.append(
            {
                "loan_year": 2025,
                "review_year": 2024,
                "programme": programme,
                "eligible": eligible,
                "reached": reached,
                "coverage": reached / eligible,
                "exclusion_errors": eligible - reached,
                "exclusion_rate": 1 - reached / eligible,
                "loans": n_loans,
                "inclusion_errors": incl,
                "inclusion_share": incl / n_loans,
                "suppressed": False,
            }
        )
    return pd.DataFrame(rows)


def test_accuracy_sentence_says_under_ten_and_leaves_the_loans_out():
    text = page.accuracy_sentence(_accuracy(7, 90), year=2025).data
    assert text.startswith("Trong 1.595 hộ đủ điều kiện theo kết quả rà soát năm 2024, 83 hộ được vay vốn")
    assert "Dưới 10 khoản vay (dưới 20% số khoản vay) đến hộ không đủ điều kiện." in text
    assert "90" not in text and "7,8%" not in text  # 90 loans − 83 reached would give the 7 back
    shown = page.accuracy_sentence(_accuracy(12, 95), year=2025, lang="en").data
    assert "12 of the 95 loans (12.6%) went to households that were not eligible." in shown


def test_p_meet_sentence_names_targets_by_their_labels():
    from povanalysis.goals.targets import DEFAULT_TARGETS

    targets = {t.name: t for t in DEFAULT_TARGETS}
    name = DEFAULT_TARGETS[0].name
    t = pd.DataFrame({"target": [name], "drift": [0.32], "trend": [0.69]})
    text = page.p_meet_sentence(t, targets, margin=0.2).data
    assert f"«{DEFAULT_TARGETS[0].label('vi')}»: Thay đổi bình quân 32%, Xu hướng logit 69%" in text
    assert name not in text
    assert page.p_meet_sentence(t, targets, margin=0.5, lang="en").data == "The models agree."


def test_a_coverage_chart_with_every_commune_hidden_is_a_sentence():
    hidden = pd.DataFrame(
        {
            "loan_year": 2025,
            "commune_code": ["01840", "01843"],
            "minority": [True, False],
            "programme": "all",
            "inclusion_share": [np.nan, np.nan],
            "suppressed": [True, True],
        }
    )
    said = page.coverage_chart(hidden, measure="inclusion_share", lang="vi", min_cell=10)
    assert said.data == (
        "Tỷ lệ khoản vay cho hộ không đủ điều kiện theo xã, phường (khoản vay năm 2025) không vẽ thành biểu đồ: ở "
        "mọi xã, phường, số hộ hoặc số khoản vay quá ít để công bố (dưới 10)."
    )
    one = hidden.assign(inclusion_share=[0.25, np.nan], suppressed=[False, True])
    fig = page.coverage_chart(one, measure="inclusion_share", lang="en")
    assert [list(t.x) for t in fig.data] == [[0.25]]
