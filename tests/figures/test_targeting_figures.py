"""Figures of the targeting part as a reader sees them: every commune of a dot plot named, legends off the axes."""

from __future__ import annotations

import pandas as pd

from povanalysis.data import registry
from povanalysis.figures import targeting as figures
from povanalysis.reports.prose.targeting import commune_names
from povanalysis.targeting.beneficiaries import priority_index

CODES = sorted(registry.known_codes(2025))


def test_coverage_dot_plot_names_every_commune_of_the_province():
    n = len(CODES)
    t = pd.DataFrame(
        {
            "loan_year": 2025,
            "commune_code": CODES * 2,
            "minority": [True] * n + [False] * n,
            "programme": "all",
            "coverage": [(i % 50) / 50 for i in range(2 * n)],
            "suppressed": False,
        }
    )
    fig = figures.coverage_figure(t, lang="vi")
    ticks = list(fig.layout.yaxis.tickvals)
    assert sorted(ticks) == sorted(commune_names(CODES)) and list(fig.layout.yaxis.ticktext) == ticks
    rows_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
    assert rows_px / n >= 1.4 * fig.layout.yaxis.tickfont.size  # a row's height holds its label
    # the legend above the plot: the axis titles at the left and bottom stay clear
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.y >= 1


def test_priority_figure_names_every_ranked_commune():
    t = pd.DataFrame({"commune_code": CODES, "poor_rate": [i / 100 for i in range(len(CODES))]})
    fig = figures.priority_figure(priority_index(t, weights={"poor_rate": 1}), top=40, lang="en")
    ticks = list(fig.layout.yaxis.tickvals)
    assert len(ticks) == 40 and set(ticks) == set(fig.data[0].y)
    assert ticks[-1] == fig.data[0].y[0]  # rank 1 at the top


def test_allocation_bars_keep_their_legend_off_the_rotated_names():
    from povanalysis.targeting.allocation import allocate_budget, proportional_allocation

    c = pd.DataFrame(
        {
            "commune_code": CODES[:6],
            "eligible": [40] * 6,
            "poor": [30, 10, 20, 5, 8, 12],
            "disadvantaged": [True, False] * 3,
            "effect": [0.1, 0.2, 0.15, 0.1, 0.12, 0.2],
        }
    )
    kw = dict(budget=2e9, effect="effect", effect_se=0.01, loan_size=5e7)
    fig = figures.comparison_figure(allocate_budget(c, **kw), proportional_allocation(c, **kw))
    assert fig.layout.xaxis.tickangle == -45 and fig.layout.xaxis.title.text.endswith("(* xã đặc biệt khó khăn)")
    assert fig.layout.legend.yanchor == "bottom" and fig.layout.legend.y >= 1  # above the plot, not over the names
    assert fig.layout.separators == ",."
