"""Figures of a Fay–Herriot fit, on R sae's milk example."""

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from numpy.testing import assert_allclose

from povanalysis.figures.measure import plot_cv, plot_direct_vs_eblup, plot_estimates, plot_residuals
from povanalysis.measure.sae import fay_herriot

DATA = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def fits():
    data = pd.read_csv(DATA / "milk.csv", comment="#")
    X = pd.get_dummies(data["MajorArea"].astype("category"), prefix="major", drop_first=True).astype(float)
    return {"REML": fay_herriot(data["yi"].astype(float), (data["SD"] ** 2).astype(float), X, method="REML")}


def test_figures_in_both_languages(fits):
    res = fits["REML"]
    fig = plot_estimates(res, lang="vi", truth=res.eblup * 0 + 1.0)
    assert isinstance(fig, go.Figure)
    names = ["Ước lượng trực tiếp", "EBLUP (Fay–Herriot)", "Giá trị thật (tổng điều tra)"]
    assert [t.name for t in fig.data] == names
    assert len(fig.data[1].x) == 43
    assert fig.layout.yaxis.categoryarray[0] == str(res.eblup.idxmin())
    en = plot_direct_vs_eblup(res, lang="en", labels={0: "Area zero"})
    assert en.layout.xaxis.title.text == "Direct estimate" and en.data[1].text[0] == "Area zero"
    cv = plot_cv(res, lang="vi")
    assert cv.layout.xaxis.title.text == "Hệ số biến thiên (%)"
    assert_allclose(sorted(cv.data[1].x), sorted(100 * res.cv), rtol=1e-12)
    qq = plot_residuals(res, lang="en")
    assert [t.name for t in qq.data[:2]] == ["Standardised residuals", "Area effects (standardised)"]
    with pytest.raises(ValueError, match=r"lang must be one of \('vi', 'en'\), got 'fr'"):
        plot_cv(res, lang="fr")
    with pytest.raises(TypeError, match=r"'result' should be a FayHerriotResult, got dict"):
        plot_cv({}, lang="en")


def test_ranked_charts_name_every_area(fits):
    res = fits["REML"]
    names = {k: f"Xã số {k}" for k in res.eblup.index}
    for fig in (plot_estimates(res, labels=names), plot_cv(res, labels=names)):
        shown = list(fig.layout.yaxis.tickvals)
        assert shown == list(fig.layout.yaxis.ticktext) == list(fig.layout.yaxis.categoryarray)
        drawn = {y for t in fig.data for y in t.y}
        assert set(shown) == drawn and len(shown) == len(drawn)  # every area drawn has its label
        # each row has room for its label: at least 1.4 lines of the tick font
        rows_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
        assert rows_px / len(shown) >= 1.4 * fig.layout.yaxis.tickfont.size
        assert fig.layout.legend.y >= 1 and fig.layout.legend.yanchor == "bottom"  # above the plot, off the axes


def test_colour_bar_and_legend_do_not_overlap(fits):
    fig = plot_direct_vs_eblup(fits["REML"], lang="en")
    bar = fig.data[1].marker.colorbar
    legend = fig.layout.legend
    # the colour bar stands at the right of the plot, the legend under it: horizontal, below the axis title
    assert bar.x >= 1 and bar.xanchor == "left"
    assert legend.orientation == "h" and legend.yanchor == "top" and legend.y < -0.1


def test_the_figures_of_a_fit_have_titles_of_their_own(fits):
    res = fits["REML"]
    figures = (plot_estimates(res), plot_cv(res), plot_direct_vs_eblup(res), plot_residuals(res))
    titles = [f.layout.title.text for f in figures]
    assert len(set(titles)) == len(titles)
