"""Figures of the targeting part: coverage by commune, the priority ranking, the risk model's calibration, allocations.

Each function takes a result of :mod:`povanalysis.targeting` and returns a plotly figure; the
words come from :mod:`povanalysis.reports.prose.targeting`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..common.checks import require_frame
from ..common.labels import check_lang, format_number, format_percent, label
from ..reports.prose.targeting import commune_names, decimal, term
from ..targeting.allocation import Allocation
from ..targeting.beneficiaries import RankSensitivity
from ..targeting.panel import positive_int
from ..targeting.risk import FallbackModel
from .charts import FONT, PALETTE, apply_layout, label_rows, new_figure

__all__ = ["coverage_figure", "priority_figure", "calibration_figure", "comparison_figure"]

_ALL = "all"


def coverage_figure(
    table: pd.DataFrame,
    *,
    measure: str = "coverage",
    programme: str = _ALL,
    group: str | None = "minority",
    lang: str = "vi",
) -> go.Figure:
    """Dots of coverage (or exclusion rate, or inclusion share) by commune, one colour per group, every commune named.

    Communes are ranked by their mean over the groups. Suppressed cells are left out and counted in the title.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`accuracy` for one loan year, with ``by`` holding ``commune_code``
        (and ``group``).
    measure : {"coverage", "exclusion_rate", "inclusion_share"}
    programme : {"all", "poor", "near_poor", "newly_escaped"}
    group : str or None, default "minority"
        Column whose values make the colours (``minority``: ethnic-minority vs Kinh
        households); None for one series.
    lang : {"vi", "en"}

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"loan_year": [2025] * 2, "commune_code": ["01840", "01840"], "minority": [True, False],
    ...                   "programme": ["all", "all"], "coverage": [0.4, 0.2], "suppressed": [False, False]})
    >>> f = coverage_figure(t, lang="en")
    >>> [(tr.name, list(tr.x)) for tr in f.data]
    [('Ethnic-minority households', [0.4]), ('Kinh households', [0.2])]
    """
    check_lang(lang)
    if measure not in ("coverage", "exclusion_rate", "inclusion_share"):
        raise ValueError(f"'measure' must be 'coverage', 'exclusion_rate' or 'inclusion_share', got {measure!r}")
    needed = ["commune_code", "programme", measure, "suppressed", "loan_year"] + ([group] if group else [])
    require_frame(table, "table", needed)
    years = table["loan_year"].unique()
    if len(years) != 1:
        raise ValueError(f"'table' must hold one loan year (pass year= to accuracy), got {sorted(years.tolist())}")
    rows = table[table["programme"] == programme]
    if rows.empty:
        raise ValueError(f"'table' has no rows for programme {programme!r}")
    shown = rows[~rows["suppressed"].to_numpy(dtype=bool) & rows[measure].notna().to_numpy()]
    order = shown.groupby("commune_code")[measure].mean().sort_values(kind="stable").index.tolist()
    fig = new_figure()
    if group:
        parts = [(key, part) for key, part in shown.groupby(group, sort=False)]
        parts.sort(key=lambda kv: (0 if bool(kv[0]) else 1) if group == "minority" else str(kv[0]))
    else:
        parts = [(None, shown)]
    for i, (key, part) in enumerate(parts):
        if key is None:
            name = term(measure, lang)
        elif group == "minority":
            name = label("minority" if bool(key) else "majority", lang)
        else:
            name = label(str(key), lang)
        fmt = [format_percent(v, lang, digits=1) for v in part[measure]]
        fig.add_trace(
            go.Scatter(
                x=part[measure].tolist(),
                y=commune_names(part["commune_code"]),
                mode="markers",
                name=name,
                marker=dict(color=PALETTE[i % len(PALETTE)], size=9),
                text=fmt,
                hovertemplate="%{y}: %{text}<extra>" + name + "</extra>",
            )
        )
    hidden = len(rows) - len(shown)
    prog = term(_ALL if programme == _ALL else f"prog_{programme}", lang)
    title = f"{term(measure, lang)} — {prog}, {term('loans_year', lang)} {int(years[0])}"
    if hidden:
        title += f" ({hidden} {'ô không công bố' if lang == 'vi' else 'cells suppressed'})"
    label_rows(fig, commune_names(order))
    fig.update_xaxes(tickformat=".0%", rangemode="tozero")
    return apply_layout(
        fig, title, x=term(measure, lang), y=label("commune", lang), percent=False, top=70, legend="top", lang=lang
    )


def priority_figure(
    index: pd.DataFrame, sensitivity: RankSensitivity | None = None, *, top: int = 30, lang: str = "vi"
) -> go.Figure:
    """The top communes by priority rank, with the 5%–95% rank range under weight changes.

    Parameters
    ----------
    index : DataFrame
        Output of :func:`priority_index`.
    sensitivity : RankSensitivity, optional
        Output of :func:`rank_sensitivity` on the same table; adds the bands.
    top : int, default 30
        Number of communes shown.
    lang : {"vi", "en"}

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"commune_code": ["01840", "01843"], "poor_rate": [0.1, 0.3]})
    >>> from povanalysis.targeting.beneficiaries import priority_index
    >>> f = priority_figure(priority_index(t, weights={"poor_rate": 1}), lang="en")
    >>> list(f.data[0].x), f.layout.xaxis.title.text
    ([1, 2], 'Priority rank')
    """
    check_lang(lang)
    top = positive_int(top, "top")
    require_frame(index, "index", ["commune_code", "rank"])
    rows = index[index["rank"].notna()].sort_values(["rank", "commune_code"], kind="stable").head(top)
    names = commune_names(rows["commune_code"])
    fig = new_figure()
    if sensitivity is not None:
        band = sensitivity.ranks.set_index("commune_code").reindex(rows["commune_code"])
        if band["rank_p05"].isna().any():
            raise ValueError("'sensitivity' does not cover every commune of 'index': compute both on the same table")
        fig.add_trace(
            go.Scatter(
                x=band["rank_p05"].tolist(),
                y=names,
                mode="markers",
                name=term("band", lang),
                marker=dict(color=PALETTE[5], size=2),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=(band["rank_p95"] - band["rank_p05"]).tolist(),
                    arrayminus=[0.0] * len(band),
                    color=PALETTE[5],
                    thickness=8,
                    width=0,
                ),
                customdata=[f"{a:g}–{b:g}" for a, b in zip(band["rank_p05"], band["rank_p95"])],
                hovertemplate="%{y}: %{customdata}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=[int(r) for r in rows["rank"]],
            y=names,
            mode="markers",
            name=term("base_rank", lang),
            marker=dict(color=PALETTE[0], size=10),
            text=[format_number(v, lang, digits=3) for v in rows["index"]] if "index" in rows.columns else None,
            hovertemplate="%{y}: %{x} (%{text})<extra></extra>",
        )
    )
    label_rows(fig, names[::-1])
    return apply_layout(
        fig,
        term("priority_title", lang),
        x=term("rank", lang),
        y=label("commune", lang),
        percent=False,
        top=70,
        legend="top",
        lang=lang,
    )


def calibration_figure(model: FallbackModel, *, lang: str = "vi") -> go.Figure:
    """Observed fall-back rate against predicted probability by decile, with Wilson intervals.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from povanalysis.data import pipeline, synth
    >>> from povanalysis.targeting.risk import fit_fallback_model
    >>> panel = synth.generate(seed=5, scale=0.005)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> calibration_figure(model, lang="en").data[1].name
    'Observed fall-back rate'
    """
    check_lang(lang)
    if not isinstance(model, FallbackModel):
        raise TypeError(f"'model' should be a FallbackModel, got {type(model).__name__}")
    cal = model.calibration
    top = float(max(cal["ci_upper"].max(), cal["predicted"].max())) * 1.05
    fig = new_figure()
    fig.add_trace(
        go.Scatter(
            x=[0, top], y=[0, top], mode="lines", name=term("perfect", lang), line=dict(color="#999999", dash="dash")
        )
    )
    fig.add_trace(
        go.Scatter(
            x=cal["predicted"].tolist(),
            y=cal["observed"].tolist(),
            mode="markers+lines",
            name=term("observed", lang),
            marker=dict(color=PALETTE[0], size=9),
            line=dict(color=PALETTE[0]),
            error_y=dict(
                type="data",
                symmetric=False,
                array=(cal["ci_upper"] - cal["observed"]).tolist(),
                arrayminus=(cal["observed"] - cal["ci_lower"]).tolist(),
            ),
            customdata=cal["n"].tolist(),
            hovertemplate=(
                term("predicted", lang)
                + " %{x:.1%}, "
                + term("observed", lang).lower()
                + " %{y:.1%} (n = %{customdata})<extra></extra>"
            ),
        )
    )
    sub = (
        f"{term('auc_model', lang)} {decimal(model.auc, lang)} · {term('auc_baseline', lang)} "
        f"{decimal(model.baseline.auc, lang)} · {model.test_year}"
    )
    fig.update_layout(
        title=dict(text=f"{term('cal_title', lang)}<br><sup>{sub}</sup>"),
        font=FONT,
        separators=",." if lang == "vi" else ".,",
        legend_title_text="",
        xaxis_title=term("predicted", lang),
        yaxis_title=term("observed", lang),
        margin=dict(l=60, r=20, t=80, b=50),
    )
    fig.update_xaxes(tickformat=".0%", range=[0, top])
    fig.update_yaxes(tickformat=".0%", range=[0, top])
    return fig


def comparison_figure(optimised: Allocation, proportional: Allocation, *, top: int = 30, lang: str = "vi") -> go.Figure:
    """Bars of credit per commune under both allocations, with expected exits and intervals in the legend.

    The ``top`` communes by the larger of the two amounts are shown, disadvantaged ones marked *.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> c = pd.DataFrame({"commune_code": ["01840", "01843"], "eligible": [4, 4], "poor": [3, 1],
    ...                   "disadvantaged": [True, False], "effect": [0.1, 0.2]})
    >>> kw = dict(budget=2e8, effect="effect", effect_se=0.01, loan_size=5e7)
    >>> from povanalysis.targeting.allocation import allocate_budget, proportional_allocation
    >>> f = comparison_figure(allocate_budget(c, **kw), proportional_allocation(c, **kw), lang="en")
    >>> [list(t.y) for t in f.data]
    [[0.1, 0.1], [0.15, 0.05]]
    """
    check_lang(lang)
    for name, a in (("optimised", optimised), ("proportional", proportional)):
        if not isinstance(a, Allocation):
            raise TypeError(f"{name!r} should be an Allocation, got {type(a).__name__}")
    top = positive_int(top, "top")
    a = optimised.by_commune().set_index("commune_code")
    b = proportional.by_commune().set_index("commune_code")
    if set(a.index) != set(b.index):
        raise ValueError("the two allocations cover different communes")
    both = pd.DataFrame({"opt": a["amount"], "prop": b["amount"].reindex(a.index), "dis": a["disadvantaged"]})
    both = (
        both.assign(m=np.maximum(both["opt"], both["prop"]))
        .sort_values(["m"], ascending=False, kind="stable")
        .head(top)
    )
    x = [f"{name}{' *' if d else ''}" for name, d in zip(commune_names(both.index), both["dis"])]
    fig = new_figure()
    for i, (key, res, col) in enumerate((("optimised", optimised, "opt"), ("proportional", proportional, "prop"))):
        exits = (
            f"{format_number(res.expected_exits, lang, digits=1)} "
            f"({format_number(res.ci_lower, lang, digits=1)}–{format_number(res.ci_upper, lang, digits=1)})"
        )
        name = f"{term(key, lang)}: {exits} {term('exits', lang)}"
        fig.add_trace(
            go.Bar(
                x=x,
                y=(both[col] / 1e9).round(6).tolist(),
                name=name,
                marker_color=PALETTE[i],
                hovertemplate="%{x}: %{y:.2f}<extra>" + term(key, lang) + "</extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        title=term("allocation_title", lang),
        font=FONT,
        separators=",." if lang == "vi" else ".,",
        xaxis_title=label("commune", lang) + (" (* xã đặc biệt khó khăn)" if lang == "vi" else " (* disadvantaged)"),
        yaxis_title=term("amount_bn", lang),
        # above the bars: under them the rotated names and the axis title need all the room
        legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
        margin=dict(l=60, r=20, t=110, b=60),
        height=560,
    )
    fig.update_xaxes(tickangle=-45, automargin=True)
    fig.update_yaxes(automargin=True)
    return fig
