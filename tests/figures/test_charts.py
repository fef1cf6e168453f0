"""Charts of rates and of the deprivation profile: colours a reader can tell apart, labels that fit, the house style."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis.common.labels import af_label, label
from povanalysis.figures import charts
from povanalysis.measure.standards import STANDARDS

INDICATORS_2022 = [ind.column for ind in STANDARDS["2022-2025"].indicators]


def _lab(colour: str) -> np.ndarray:
    """CIE L*a*b* (D65) of a ``#RRGGBB`` colour."""
    rgb = np.array([int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)])
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_lab_of_known_colours():
    assert np.allclose(_lab("#FFFFFF"), [100, 0, 0], atol=0.05)
    assert np.allclose(_lab("#FF0000"), [53.24, 80.09, 67.20], atol=0.1)


def test_every_indicator_of_every_standard_has_its_own_distinct_colour():
    every = {ind.column for std in STANDARDS.values() for ind in std.indicators}
    assert every <= set(charts.INDICATOR_COLOURS)
    colours = [charts.INDICATOR_COLOURS[c] for c in sorted(every)]
    assert len(set(colours)) == len(colours)
    closest = min(np.linalg.norm(_lab(a) - _lab(b)) for a, b in itertools.combinations(colours, 2))
    assert closest >= 25  # CIE76: about 2.3 is a just-noticeable difference; 25 is plainly another colour


def test_indicators_of_a_dimension_share_a_hue_family():
    by_dim: dict[str, list[str]] = {}
    for std in STANDARDS.values():
        for ind in std.indicators:
            by_dim.setdefault(ind.dimension, []).append(charts.INDICATOR_COLOURS[ind.column])

    def hue(c):
        lab = _lab(c)
        return np.degrees(np.arctan2(lab[2], lab[1])) % 360, np.hypot(lab[1], lab[2])

    for dim, colours in by_dim.items():
        hues = [hue(c) for c in set(colours)]
        chromatic = [h for h, chroma in hues if chroma > 10]
        if chromatic:  # the greys of information have no hue
            spread = max(chromatic) - min(chromatic)
            assert min(spread, 360 - spread) < 40, dim


def _af(measure, values, years=(2024,)):
    rows = []
    for y in years:
        for ind, v in zip(INDICATORS_2022, values):
            rows.append({"measure": measure, "indicator": ind, "value": v, "review_year": y, "k": 1 / 3})
    return pd.DataFrame(rows)


def test_contribution_bars_give_twelve_indicators_twelve_colours_in_dimension_order():
    shuffled = INDICATORS_2022[::-1]
    af = _af("pctb", [100 / 12] * 12, years=(2021, 2024)).set_index("indicator").loc[shuffled].reset_index()
    fig = charts.contribution_bars(af, lang="vi")
    assert [t.name for t in fig.data] == [label(c) for c in INDICATORS_2022]
    assert len({t.marker.color for t in fig.data}) == 12
    assert [t.marker.color for t in fig.data] == [charts.INDICATOR_COLOURS[c] for c in INDICATORS_2022]
    assert fig.layout.legend.traceorder == "reversed"  # the legend reads as the stack, top first
    assert fig.layout.title.text == af_label("pctb", "vi", k=1 / 3, n_indicators=12)


def test_deprivation_profile_colours_bars_by_indicator_and_keeps_labels_inside_the_figure():
    values = np.linspace(0.01, 0.6, 12)
    fig = charts.deprivation_profile(_af("hdk", values), lang="vi")
    (bars,) = fig.data
    assert list(bars.marker.color) == [charts.INDICATOR_COLOURS[c] for c in INDICATORS_2022]
    assert bars.textposition == "outside" and bars.cliponaxis is False
    assert fig.layout.xaxis.range[1] >= 1.15 * values.max()  # room for the longest bar's label
    assert bars.text[-1] == "60,0%"
    assert fig.layout.title.text == "Tỷ lệ thiếu hụt của hộ nghèo đa chiều hdk (AF, k = 4/12)"
    assert fig.layout.showlegend is False  # one year: its bars need no legend
    two = charts.deprivation_profile(_af("hdk", values, years=(2021, 2024)))
    assert [t.name for t in two.data] == ["2021", "2024"] and two.layout.showlegend is not False
    assert two.data[0].marker.opacity < two.data[1].marker.opacity == 1


def test_alkire_foster_wording_says_what_the_measure_is():
    for text in (label("hd"), label("hdk"), af_label("hdk")):
        assert "kiểm duyệt" not in text
    assert label("hd") == "Tỷ lệ thiếu hụt (mọi hộ)"
    assert af_label("hdk") == "Tỷ lệ thiếu hụt của hộ nghèo đa chiều hdk (AF)"


def _trend(values_by_group):
    rows = []
    for g, values in values_by_group.items():
        for y, v in zip(range(2021, 2021 + len(values)), values):
            rows.append({"review_year": y, "poor_rate": v, "group": g, "households": 100, "suppressed": False})
    return pd.DataFrame(rows)


def _boxes(fig, pixels=210):
    """(x, low, high) of every drawn label, in data units, as :func:`charts.rate_trend` sizes them."""
    span = fig.layout.yaxis.range[1]
    h = span * 1.4 * charts.FONT["size"] / pixels
    gap = span * 6 / pixels
    out = []
    for t in fig.data:
        for x, y, text, pos in zip(t.x, t.y, t.text, t.textposition):
            if text:
                out.append((x, y + gap, y + gap + h) if pos == "top center" else (x, y - gap - h, y - gap))
    return out


def test_rate_trend_labels_never_cover_each_other_or_a_point():
    # the near-poor lines of a commune and its areas: 8.1%, 8.3% and 7.9% in 2024
    table = _trend(
        {
            "Xã A": [0.12, 0.10, 0.09, 0.081],
            "Bắc Kạn cũ": [0.11, 0.10, 0.088, 0.083],
            "Toàn tỉnh": [0.1, 0.09, 0.085, 0.079],
        }
    )
    fig = charts.rate_trend(table, group="group", focus="Xã A", lang="vi")
    assert fig.data[0].name == "Xã A" and fig.data[0].line.width > fig.data[1].line.width
    assert all(t.text[0] for t in fig.data[:1]) and all(fig.data[0].text)  # the focus is labelled everywhere
    boxes = _boxes(fig)
    for (x1, a1, b1), (x2, a2, b2) in itertools.combinations(boxes, 2):
        assert x1 != x2 or b1 <= a2 or b2 <= a1, "two labels overlap"
    points = [(x, y) for t in fig.data for x, y in zip(t.x, t.y)]
    for x, lo, hi in _boxes(go.Figure(fig.data[1:], layout=fig.layout)):  # only the focus may cover a point
        assert not any(px == x and lo < py < hi for px, py in points)
    assert sum(not s for t in fig.data for s in t.text) >= 1  # a squeezed label is left to the hover
    assert all(t.cliponaxis is False for t in fig.data)
    assert all(t.customdata[i] for t in fig.data for i in range(len(t.x)))  # the hover keeps every value
    assert fig.layout.yaxis.range[1] >= 1.15 * table["poor_rate"].max()  # the top label fits


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(0.0, 0.8), min_size=3, max_size=3), min_size=1, max_size=4))
def test_rate_trend_labels_never_overlap_whatever_the_rates(series):
    table = _trend({f"g{i}": v for i, v in enumerate(series)})
    fig = charts.rate_trend(table, group="group")
    boxes = _boxes(fig)
    for (x1, a1, b1), (x2, a2, b2) in itertools.combinations(boxes, 2):
        assert x1 != x2 or b1 <= a2 + 1e-12 or b2 <= a1 + 1e-12
    assert all(lo >= 0 for _, lo, _ in boxes)


def test_rate_trend_focus_must_be_a_group():
    with pytest.raises(ValueError, match="focus 'Xã B' is not a value of column 'group'"):
        charts.rate_trend(_trend({"Xã A": [0.1, 0.2]}), group="group", focus="Xã B")


def test_house_layout_puts_the_legend_off_the_axis_titles():
    fig = charts.apply_layout(charts.new_figure(), "T", x="Năm", y="Tỷ lệ")
    plot_px = 450 - fig.layout.margin.t - fig.layout.margin.b
    assert fig.layout.legend.yanchor == "top" and -fig.layout.legend.y * plot_px >= 3 * 13  # under the x title
    right = charts.apply_layout(charts.new_figure(), "T", x="", y="", legend="right")
    assert right.layout.legend.x > 1
    with pytest.raises(ValueError, match="legend must be 'bottom', 'top' or 'right', got 'left'"):
        charts.apply_layout(charts.new_figure(), "T", x="", y="", legend="left")


def test_new_figure_starts_in_the_house_template():
    fig = charts.new_figure(height=300)
    assert fig.layout.template.layout.plot_bgcolor == "white"
    assert list(fig.layout.template.layout.colorway) == list(charts.PALETTE)
    assert fig.layout.font.family == charts.FONT["family"] and fig.layout.height == 300
    # smaller than plotly_white: no polar, ternary, 3-D or geo defaults embedded in every page
    assert fig.layout.template.layout.polar.to_plotly_json() == {}
    assert len(fig.layout.template.to_plotly_json()["data"]) == 2
    assert isinstance(charts.rate_trend(_trend({"a": [0.1, 0.2]}), group="group"), go.Figure)


def test_label_rows_names_every_row():
    names = [f"Xã {i}" for i in range(92)]
    fig = charts.label_rows(charts.new_figure(), names)
    assert list(fig.layout.yaxis.tickvals) == names and fig.layout.yaxis.tickmode == "array"
    assert fig.layout.height >= 18 * 92
    with pytest.raises(ValueError, match="axis must be 'x' or 'y', got 'z'"):
        charts.label_rows(charts.new_figure(), names, axis="z")


def test_rate_trend_with_every_cell_suppressed_keeps_its_years_and_readable_ticks():
    table = _trend({"a": [0.1, 0.2, 0.3]}).assign(suppressed=True)
    fig = charts.rate_trend(table, group="group")
    assert len(fig.data) == 0 and "3 ô không công bố" in fig.layout.title.text
    assert fig.layout.xaxis.range[0] < 2021 < 2023 < fig.layout.xaxis.range[1] < 2024
    assert fig.layout.yaxis.range[1] == pytest.approx(0.1) and fig.layout.yaxis.tickformat == ".0%"
    small = charts.rate_trend(_trend({"a": [0.01, 0.02]}), group="group")
    assert small.layout.yaxis.tickformat == ".1%"  # 0,5%, 1,0%, ...: no tick repeats "1%"


def test_contribution_bars_put_the_years_in_order():
    af = _af("pctb", [100 / 12] * 12, years=(2024, 2021, 2023))
    fig = charts.contribution_bars(af)
    assert fig.layout.xaxis.categoryorder == "category ascending" and fig.layout.xaxis.type == "category"


def test_deprivation_profile_ticks_never_repeat():
    fig = charts.deprivation_profile(_af("hdk", np.linspace(0.005, 0.024, 12)))
    assert fig.layout.xaxis.tickformat == ".1%"  # 0,5%, 1,0%, 1,5%: not 0%, 1%, 1%, 2%
    assert charts.deprivation_profile(_af("hdk", np.linspace(0.05, 0.6, 12))).layout.xaxis.tickformat == ".0%"


@pytest.mark.parametrize(("lang", "separators"), [("vi", ",."), ("en", ".,")])
def test_figures_write_numbers_in_their_language(lang, separators):
    trend = charts.rate_trend(_trend({"a": [0.1, 0.2]}), group="group", lang=lang)
    profile = charts.deprivation_profile(_af("hdk", np.linspace(0.01, 0.2, 12)), lang=lang)
    bars = charts.contribution_bars(_af("pctb", [100 / 12] * 12), lang=lang)
    assert {f.layout.separators for f in (trend, profile, bars)} == {separators}


def test_the_charts_of_a_commune_page_have_titles_of_their_own():
    trend = _trend({"a": [0.1, 0.2]}).assign(near_poor_rate=[0.05, 0.06])
    titles = [
        charts.rate_trend(trend, group="group").layout.title.text,
        charts.rate_trend(trend, rate="near_poor_rate", group="group").layout.title.text,
        charts.deprivation_profile(_af("hdk", np.linspace(0.01, 0.2, 12))).layout.title.text,
        charts.contribution_bars(_af("pctb", [100 / 12] * 12)).layout.title.text,
    ]
    assert len(set(titles)) == len(titles)
