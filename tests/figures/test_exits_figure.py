"""The lasting-exits figure: bars of exits and held households with intervals, only what is published."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
from numpy.testing import assert_allclose

from povanalysis.figures.exits import plot_exits
from povanalysis.goals.exits import lasting_exits


def _panel(groups: dict[str, tuple[int, int, int]]) -> pd.DataFrame:
    """Per commune: (held at 2023 and 2024, held at 2023 then poor at 2024, poor at 2023) exits of 2022."""
    rows = []
    for code, (keep, once, back) in groups.items():
        kinds = [("not_poor", "not_poor")] * keep + [("not_poor", "poor")] * once + [("poor", "poor")] * back
        for i, (a, b) in enumerate(kinds):
            for j, c in enumerate(["poor", "not_poor", a, b]):
                rows.append(
                    {
                        "household_id": f"{code}-{i}",
                        "review_year": 2021 + j,
                        "commune_code": code,
                        "poverty_class": c,
                        "standard": "2022-2025",
                    }
                )
    return pd.DataFrame(rows)


def test_bars_intervals_and_labels():
    ex = lasting_exits(_panel({"01": (40, 12, 10)}), levels=["commune"], min_cell=10)
    fig = plot_exits(ex, "commune", "01", lang="vi")
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names == ["Hộ thoát nghèo", "Vẫn ngoài diện nghèo sau 1 kỳ", "Vẫn ngoài diện nghèo sau 2 kỳ"]
    exits, one, two = fig.data
    assert list(exits.x) == ["2022", "2024"] and list(exits.y) == [62.0, 0.0]  # nobody was poor in 2022
    assert list(one.x) == ["2022"] and list(one.y) == [52.0]
    assert list(two.y)[0] == 40.0
    row = ex.unit("commune", "01").query("exit_year == 2022 and horizon == 1").iloc[0]
    assert_allclose(
        [one.y[0] - one.error_y.arrayminus[0], one.y[0] + one.error_y.array[0]],
        [62 * row["held_all_lower"], 62 * row["held_all_upper"]],
    )
    assert fig.layout.xaxis.title.text == "Năm thoát nghèo" and fig.layout.yaxis.title.text == "Số hộ"
    assert "không công bố" not in fig.layout.title.text
    # counts of households: Vietnamese separators, whole-number ticks from zero
    assert fig.layout.separators == ",." and fig.layout.yaxis.tickformat == ",d"
    assert fig.layout.yaxis.rangemode == "tozero" and fig.layout.yaxis.range is None


def test_a_year_without_exits_draws_whole_numbers_from_zero():
    # no household left poverty: a zero bar, and an axis of 0–5 households (not −1 to 1 in halves)
    poor = _panel({"01": (0, 0, 12)}).assign(poverty_class="poor")
    ex = lasting_exits(poor, levels=["commune"], min_cell=10)
    fig = plot_exits(ex, "commune", "01", lang="en")
    assert all(v == 0 for trace in fig.data for v in trace.y)
    assert tuple(fig.layout.yaxis.range) == (0, 5) and fig.layout.yaxis.dtick == 1
    assert fig.layout.separators == ".,"


def test_hidden_bars_are_left_out_and_counted():
    # 2022: 14 exits, 9 held at 2023 (< 10): the held bar is hidden, and the title says so
    ex = lasting_exits(_panel({"01": (9, 0, 5)}), levels=["commune"], min_cell=10)
    fig = plot_exits(ex, "commune", "01", horizons=(1,), lang="en")
    assert [t.name for t in fig.data] == ["Households leaving poverty"]
    assert "not published (fewer than 10 households)" in fig.layout.title.text
    for trace in fig.data:
        assert all(v == 0 or v >= 10 for v in trace.y)


def test_arguments_are_checked():
    ex = lasting_exits(_panel({"01": (40, 12, 10)}), levels=["commune"], min_cell=10)
    with pytest.raises(ValueError, match="'horizons'"):
        plot_exits(ex, "commune", "01", horizons=(0,))
    with pytest.raises(TypeError, match="'exits'"):
        plot_exits(pd.DataFrame())
    with pytest.raises(ValueError, match="unsupported|lang"):
        plot_exits(ex, "commune", "01", lang="fr")
