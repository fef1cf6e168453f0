"""Figures of the goals: fan charts, gap bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis.figures import goals as FG
from povanalysis.goals import projections as P
from povanalysis.goals.targets import Target

YEARS = np.arange(2021, 2026)


def test_fan_chart_traces_and_labels(one_commune):
    t = Target("t", annual_reduction=1.5)
    fig = FG.plot_fan_chart(one_commune, t, commune_code="05500", lang="vi")
    names = [tr.name for tr in fig.data]
    assert names == [
        "Khoảng dự báo 95%",
        "Khoảng dự báo 80%",
        "Khoảng dự báo 50%",
        "Kết quả rà soát",
        "Dự báo",
        "Lộ trình mục tiêu: t",
    ]
    assert fig.layout.title.text == "Phường Tích Lương: tỷ lệ hộ nghèo dự báo 2026–2030 (chuẩn 2022–2025)"
    assert_allclose(fig.data[-1].y, [0.128, 0.113, 0.098, 0.083, 0.068, 0.053], atol=1e-12)
    assert list(fig.data[3].y) == pytest.approx([0.2, 0.18, 0.16, 0.144, 0.128])
    outer, inner = np.asarray(fig.data[0].y), np.asarray(fig.data[2].y)
    assert outer[1:6].max() >= inner[1:6].max()  # the 95% band holds the 50% band
    assert fig.layout.yaxis.tickformat == ".0%"
    path = pd.DataFrame({"year": [2025, 2030], "target_level": [0.128, 0.05]})
    assert FG.plot_fan_chart(one_commune, path, commune_code="05500", lang="en").data[-1].name == "Target path"


def test_fan_chart_errors(one_commune, hand_projection):
    two = hand_projection([[0.1, 0.1], [0.2, 0.2]], np.full((3, 2, 2), 0.1))
    with pytest.raises(ValueError, match="give 'commune_code' or 'group': the projection has several units"):
        FG.plot_fan_chart(two)
    with pytest.raises(ValueError, match="commune_code '99999' is not in the projection"):
        FG.plot_fan_chart(two, commune_code="99999")
    with pytest.raises(ValueError, match="lang must be one of"):
        FG.plot_fan_chart(one_commune, lang="fr")
    with pytest.raises(ValueError, match="no observed rate at the target's start year 2019"):
        FG.plot_fan_chart(one_commune, Target("t", annual_reduction=1, start_year=2019))


def test_gap_bars_are_ranked_and_leave_out_suppressed_communes():
    r = pd.DataFrame(
        {
            "commune_code": ["05500", "05518", "05467", "05443"],
            "name": ["Phường Tích Lương", "Phường Sông Công", "Phường Gia Sàng", "Phường Phan Đình Phùng"],
            "year": 2030,
            "gap": [0.02, -0.01, 0.05, np.nan],
            "gap_ci_lower": [0.0, -0.02, 0.03, np.nan],
            "gap_ci_upper": [0.04, 0.0, 0.07, np.nan],
            "suppressed": [False, False, True, False],
        }
    )
    fig = FG.plot_gap_bars(r, lang="vi")
    behind, on = fig.data
    assert list(behind.y) == ["Phường Tích Lương"] and list(on.y) == ["Phường Sông Công"]
    assert_allclose(behind.x, [2.0]) and behind.marker.color == "#D55E00"
    assert behind.name == "Chậm so với lộ trình" and on.name == "Đạt lộ trình"
    assert "1 xã không công bố" in fig.layout.title.text and "1 xã không có mục tiêu" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "Chênh lệch so với mục tiêu năm 2030 (điểm phần trăm)"
    with pytest.raises(ValueError, match="'requirements' has no rows for year 2031"):
        FG.plot_gap_bars(r, year=2031)


def test_more_figure_errors(one_commune):
    units = pd.DataFrame({"commune_code": ["05500"], "minority": [True]})
    cells = P.Projection(**{**one_commune.__dict__, "units": units})
    with pytest.raises(ValueError, match="'commune_code' needs a projection by commune_code"):
        FG.plot_fan_chart(cells, commune_code="05500")
    with pytest.raises(ValueError, match="'group' needs a projection with one unit column"):
        FG.plot_fan_chart(cells, group=True)
    with pytest.raises(ValueError, match="group 'x' is not in the projection"):
        FG.plot_fan_chart(one_commune, group="x")
    with pytest.raises(ValueError, match="'levels' are coverages in \\(0, 1\\), got 95"):
        FG.plot_fan_chart(one_commune, levels=(95,))
    with pytest.raises(TypeError, match="'target' should be a Target or a DataFrame, got float"):
        FG.plot_fan_chart(one_commune, 0.05)
    with pytest.raises(TypeError, match="'projection' should be a Projection, got DataFrame"):
        FG.plot_fan_chart(one_commune.to_frame())


def test_fan_chart_of_a_small_commune_draws_nothing(hand_projection):
    proj = hand_projection([[0.1, 0.1], [0.2, 0.2]], np.full((3, 2, 2), 0.1))
    fig = FG.plot_fan_chart(proj, commune_code="05518", lang="en")
    assert len(fig.data) == 0
    assert fig.layout.title.text.endswith("suppressed: too few households")


def test_fan_chart_names_a_rebased_history_and_shows_the_recorded_one(one_commune):
    rebased = P.Projection(**{**one_commune.__dict__, "standard": "2026-2030", "basis": "rebased_shift"})
    recorded = pd.DataFrame(
        {
            "review_year": [2021, 2022, 2023, 2024, 2025],
            "poor_rate": [0.15, 0.13, 0.12, 0.10, 0.09],
            "suppressed": [False, False, True, False, False],
        }
    )
    fig = FG.plot_fan_chart(rebased, commune_code="05500", recorded=recorded, lang="vi")
    names = [t.name for t in fig.data]
    assert "Kết quả rà soát quy đổi về chuẩn Nghị định 351/2025/NĐ-CP" in names
    shown = fig.data[names.index("Kết quả rà soát đã công bố (chuẩn của từng kỳ)")]
    assert list(shown.x) == [2021, 2022, 2024, 2025]  # the suppressed review is left out
    assert list(shown.y) == [0.15, 0.13, 0.10, 0.09]
    history = fig.data[names.index("Kết quả rà soát quy đổi về chuẩn Nghị định 351/2025/NĐ-CP")]
    assert shown.line.dash == "dot" and history.line.dash is None and shown.line.color != history.line.color
    assert len(set(names)) == len(names)
    # classified under the 2026-2030 standard at reviews held under the 2022-2025 one: restated too
    later = P.Projection(**{**one_commune.__dict__, "standard": "2026-2030"})
    names = [t.name for t in FG.plot_fan_chart(later, commune_code="05500", recorded=recorded, lang="en").data]
    assert "Review results rebased to Decree 351/2025/ND-CP" in names
    assert "Review results as published (standard of each review)" in names
    # on the standard of its reviews: the history is the review results themselves, 'recorded' adds nothing
    plain = [t.name for t in FG.plot_fan_chart(one_commune, commune_code="05500", recorded=recorded, lang="en").data]
    assert "Review results" in plain and not any("published" in n for n in plain)
    with pytest.raises(ValueError, match="'recorded' has no column 'rate' or 'poor_rate'"):
        FG.plot_fan_chart(one_commune, commune_code="05500", recorded=recorded.drop(columns="poor_rate"))


def test_fan_chart_legend_sits_under_the_axis_title(one_commune):
    fig = FG.plot_fan_chart(one_commune, Target("t", annual_reduction=1.5), commune_code="05500")
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yanchor == "top"
    assert fig.layout.legend.y < -0.1 and fig.layout.xaxis.automargin


def test_gap_bars_name_every_commune():
    r = pd.DataFrame(
        {
            "commune_code": [f"{i:05d}" for i in range(40)],
            "name": [f"Xã {i}" for i in range(40)],
            "year": 2030,
            "gap": np.linspace(-0.05, 0.05, 40),
            "suppressed": False,
        }
    )
    fig = FG.plot_gap_bars(r)
    ticks = list(fig.layout.yaxis.tickvals)
    assert sorted(ticks) == sorted(r["name"]) and ticks[0] == "Xã 39"  # largest gap first
    assert (fig.layout.height - 200) / 40 >= 1.4 * fig.layout.yaxis.tickfont.size
