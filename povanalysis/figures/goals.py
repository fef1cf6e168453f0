"""Figures of the 2026–2030 goals: fan charts of projections, ranked gaps to the targets, backtests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..common.checks import require_frame
from ..common.labels import check_lang, format_number, label
from ..goals.backtest import Backtest
from ..goals.projections import Projection
from ..goals.series import standard_in_force
from ..goals.targets import Target
from ..measure.standards import get_standard
from ..reports.prose.goals import decree_name, figure_text, gap_labels, level_label, model_label, standard_short
from .charts import FONT, PALETTE, apply_layout, label_rows, new_figure

__all__ = ["plot_fan_chart", "plot_gap_bars", "plot_backtest"]


def _commune_names() -> dict:
    from ..data import registry

    units = registry.units()
    return dict(zip(units["commune_code"], units["name"]))


def _unit_position(projection: Projection, commune_code, group) -> tuple[int, str]:
    if commune_code is not None:
        if projection.by != ["commune_code"]:
            raise ValueError(
                f"'commune_code' needs a projection by commune_code, got {projection.by}: use "
                "projection.aggregate('commune_code')"
            )
        hits = np.flatnonzero(projection.units["commune_code"].to_numpy() == str(commune_code))
        if not len(hits):
            raise ValueError(f"commune_code {commune_code!r} is not in the projection")
        return int(hits[0]), "commune"
    if group is not None:
        if len(projection.by) != 1:
            raise ValueError(f"'group' needs a projection with one unit column, got {projection.by}")
        values = projection.units[projection.by[0]].astype(str).to_numpy()
        hits = np.flatnonzero(values == str(group))
        if not len(hits):
            raise ValueError(f"group {group!r} is not in the projection (groups: {values[:10].tolist()})")
        return int(hits[0]), "group"
    if len(projection.units) == 1:
        return 0, "group"
    raise ValueError("give 'commune_code' or 'group': the projection has several units")


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"rgba({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)}, {alpha})"


#: Names of the review series on a fan chart: rebased to the projection's standard, or as recorded.
_HISTORY = {
    "rebased": ("Kết quả rà soát quy đổi về chuẩn {decree}", "Review results rebased to {decree}"),
    "recorded": (
        "Kết quả rà soát đã công bố (chuẩn của từng kỳ)",
        "Review results as published (standard of each review)",
    ),
}


def _restated(projection: Projection, years: Sequence[int]) -> bool:
    """Whether the review series is not what the reviews published: brought to another standard
    (``basis``), or classified under a standard that was not in force at some of its reviews."""
    if projection.basis != "as_classified":
        return True
    return any(standard_in_force(int(y)) not in (None, projection.standard) for y in years)


def _history_name(key: str, lang: str, **fields: object) -> str:
    return _HISTORY[key][0 if lang == "vi" else 1].format(**fields)


def plot_fan_chart(
    projection: Projection,
    target: Target | pd.DataFrame | None = None,
    *,
    commune_code: str | None = None,
    group: object = None,
    levels: Sequence[float] = (0.5, 0.8, 0.95),
    recorded: pd.DataFrame | None = None,
    lang: str = "vi",
    fig: go.Figure | None = None,
) -> go.Figure:
    """Fan chart of one commune's or group's projected rate against a target path.

    Draws the review results, the projection with nested prediction intervals (the rate a
    review will record), and the target path.  The title names the standard.  A unit with
    fewer households than the projection's ``min_cell`` is not drawn (the title says so).

    When the review series is not on the standard of its reviews (brought to the projection's
    standard, ``projection.basis`` other than ``"as_classified"``, or classified under a
    standard not yet in force: the 2021–2025 reviews under Decree 351/2025/ND-CP), it is
    named as restated, and ``recorded`` adds the rates the reviews published under the
    standard of their time, dotted and grey, so that a reader sees why the fan chart's
    history differs from the published rates.  ``recorded`` is drawn only then (otherwise
    it is the review series itself), so a caller may always pass it.

    Parameters
    ----------
    projection : Projection
    target : Target or DataFrame, optional
        A target (its start level, when not given, is the unit's rate at the target's start
        year) or a path with ``year`` and ``target_level``.
    commune_code, group
        The unit shown (a projection by commune, or with one unit column).
    levels : sequence of float
        Coverages of the bands.
    recorded : DataFrame, optional
        The unit's published rates: ``review_year`` and ``rate`` (or ``poor_rate``), with a
        boolean ``suppressed`` whose true rows are left out.
    lang : {"vi", "en"}
    fig : Figure, optional

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from povanalysis.goals.projections import trend_projection
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> proj = trend_projection(counts, n_sim=200, min_cell=1)
    >>> f = plot_fan_chart(proj, Target("t", annual_reduction=1.5), commune_code="01", lang="en")
    >>> [t.name for t in f.data][-2:]
    ['Projection', 'Target path: t']
    >>> [round(v, 3) for v in f.data[-1].y][:2]
    [0.128, 0.113]
    """
    check_lang(lang)
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    for lv in levels:
        if not 0 < lv < 1:
            raise ValueError(f"'levels' are coverages in (0, 1), got {lv!r}")
    i, kind = _unit_position(projection, commune_code, group)
    key = projection.units.iloc[i]
    hidden = projection.households[i] < projection.min_cell
    obs = projection.observed.merge(projection.units.iloc[[i]], on=projection.by)
    obs = obs.sort_values("review_year")
    if kind == "commune":
        who = _commune_names().get(str(commune_code), str(commune_code))
    else:
        v = str(key.iloc[0])
        who = label("province", lang) if v == "all" else label(v, lang)
    fig = fig if fig is not None else new_figure()
    yrs = projection.years.tolist()
    title = (
        figure_text("fan_title", lang, who=who, y0=yrs[0], y1=yrs[-1])
        + f" ({standard_short(projection.standard, lang)})"
    )
    if hidden:
        fig.update_layout(title=f"{title}: {figure_text('suppressed', lang)}", font=FONT)
        return fig
    x0 = obs["review_year"].tolist()
    anchor_x = [x0[-1]] if x0 else []
    anchor_y = [float(obs["rate"].iloc[-1])] if x0 else []
    for j, lv in enumerate(sorted(levels, reverse=True)):
        lo, hi = np.quantile(projection.obs_draws[:, i, :], [(1 - lv) / 2, (1 + lv) / 2], axis=0)
        xs = anchor_x + yrs
        fig.add_trace(
            go.Scatter(
                x=xs + xs[::-1],
                y=anchor_y + hi.tolist() + (lo.tolist()[::-1]) + anchor_y,
                fill="toself",
                mode="lines",
                fillcolor=_rgba(PALETTE[0], 0.12 + 0.1 * j),
                line=dict(width=0),
                hoverinfo="skip",
                name=figure_text("band", lang, p=f"{100 * lv:g}"),
            )
        )
    rate_name = label("poor_rate", lang)
    rebased = _restated(projection, x0)
    history = (
        _history_name("rebased", lang, decree=decree_name(get_standard(projection.standard), lang))
        if rebased
        else figure_text("observed", lang)
    )
    fig.add_trace(
        go.Scatter(
            x=x0,
            y=obs["rate"].tolist(),
            mode="lines+markers",
            name=history,
            line=dict(color=PALETTE[7], width=2),
            hovertemplate="%{x}: %{y:.2%}<extra>" + history + "</extra>",
        )
    )
    if recorded is not None:
        require_frame(recorded, "recorded", ["review_year"])
        column = next((c for c in ("rate", "poor_rate") if c in recorded.columns), None)
        if column is None:
            raise ValueError(f"'recorded' has no column 'rate' or 'poor_rate'; columns: {list(recorded.columns)}")
    if recorded is not None and rebased:
        published = recorded
        if "suppressed" in recorded.columns:
            published = recorded[~recorded["suppressed"].astype(bool)]
        published = published.sort_values("review_year")
        name = _history_name("recorded", lang)
        fig.add_trace(
            go.Scatter(
                x=published["review_year"].tolist(),
                y=published[column].astype(float).tolist(),
                mode="lines+markers",
                name=name,
                line=dict(color="#7f7f7f", width=2, dash="dot"),
                marker=dict(symbol="circle-open", size=8),
                hovertemplate="%{x}: %{y:.2%}<extra>" + name + "</extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=anchor_x + yrs,
            y=anchor_y + projection.mean[i].tolist(),
            mode="lines+markers",
            name=figure_text("projection", lang),
            line=dict(color=PALETTE[0], width=3),
            hovertemplate="%{x}: %{y:.2%}<extra>" + figure_text("projection", lang) + "</extra>",
        )
    )
    if target is not None:
        if isinstance(target, Target):
            s = target.start_level
            if s is None:
                at = obs[obs["review_year"] == target.start_year]
                if at.empty:
                    raise ValueError(
                        f"the unit has no observed rate at the target's start year {target.start_year}; "
                        "give the target a start_level"
                    )
                s = float(at["rate"].iloc[0])
            path = target.path(s, years=range(target.start_year, max(yrs[-1], target.end_year) + 1))
            tname = f"{figure_text('target', lang)}: {target.label(lang)}"
        elif isinstance(target, pd.DataFrame):
            require_frame(target, "target", ["year", "target_level"])
            path, tname = target, figure_text("target", lang)
        else:
            raise TypeError(f"'target' should be a Target or a DataFrame, got {type(target).__name__}")
        fig.add_trace(
            go.Scatter(
                x=path["year"].tolist(),
                y=path["target_level"].tolist(),
                mode="lines",
                name=tname,
                line=dict(color=PALETTE[1], width=3, dash="dash"),
                hovertemplate="%{x}: %{y:.2%}<extra>" + figure_text("target", lang) + "</extra>",
            )
        )
    fig = apply_layout(fig, title, x=figure_text("year", lang), y=rate_name, lang=lang)
    fig.update_xaxes(dtick=1)
    return fig


def plot_gap_bars(
    requirements: pd.DataFrame,
    *,
    year: int | None = None,
    top: int | None = None,
    lang: str = "vi",
    fig: go.Figure | None = None,
) -> go.Figure:
    """Ranked horizontal bars of each commune's gap to its target (percentage points), with intervals.

    Communes behind their path are drawn in vermillion, those on track in green;
    suppressed communes and communes without a target are left out and counted in the title.

    Parameters
    ----------
    requirements : DataFrame
        Output of :func:`povanalysis.goals.requirements.commune_requirements` or
        :func:`povanalysis.goals.requirements.province_ranking`.
    year : int, optional
        Default: the last year in the table.
    top : int, optional
        Show only the ``top`` largest gaps.
    lang : {"vi", "en"}
    fig : Figure, optional

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> r = pd.DataFrame({"commune_code": ["01", "02", "03"], "name": ["A", "B", "C"], "year": 2030,
    ...                   "gap": [0.02, -0.01, 0.05], "gap_ci_lower": [0.0, -0.02, 0.03],
    ...                   "gap_ci_upper": [0.04, 0.0, 0.07], "households": [500, 300, 5],
    ...                   "suppressed": [False, False, True]})
    >>> f = plot_gap_bars(r, lang="en")
    >>> list(f.data[0].y), [round(v, 1) for v in f.data[0].x]
    (['A'], [2.0])
    >>> f.layout.title.text
    'Gap between projection and target in 2030, by commune (1 commune(s) suppressed (too few households))'
    """
    check_lang(lang)
    require_frame(requirements, "requirements", ["commune_code", "year", "gap", "suppressed"])
    year = int(requirements["year"].max()) if year is None else int(year)
    r = requirements[requirements["year"] == year]
    if r.empty:
        raise ValueError(f"'requirements' has no rows for year {year}")
    hidden = int(r["suppressed"].sum())
    no_target = int((r["gap"].isna() & ~r["suppressed"]).sum())
    r = r[~r["suppressed"] & r["gap"].notna()].sort_values("gap", ascending=False, kind="stable")
    if top is not None:
        r = r.head(int(top))
    names = r["name"].fillna(r["commune_code"]) if "name" in r.columns else r["commune_code"]
    fig = fig if fig is not None else new_figure()
    for behind, key, colour in ((True, "behind", PALETTE[1]), (False, "on_track", PALETTE[2])):
        part = r[(r["gap"] > 1e-12) == behind]
        nm = names[part.index]
        err = None
        if {"gap_ci_lower", "gap_ci_upper"} <= set(part.columns):
            err = dict(
                type="data",
                symmetric=False,
                array=(100 * (part["gap_ci_upper"] - part["gap"])).tolist(),
                arrayminus=(100 * (part["gap"] - part["gap_ci_lower"])).tolist(),
                color="#555555",
                thickness=1,
            )
        fig.add_trace(
            go.Bar(
                x=(100 * part["gap"]).tolist(),
                y=nm.tolist(),
                orientation="h",
                name=figure_text(key, lang),
                marker_color=colour,
                error_x=err,
                customdata=part["commune_code"].tolist(),
                hovertemplate="%{y} (%{customdata}): %{x:.2f}<extra>" + figure_text(key, lang) + "</extra>",
            )
        )
    texts = gap_labels(year=year, lang=lang)
    title = texts["title"]
    extra = [
        s
        for s in (
            figure_text("hidden", lang, n=hidden) if hidden else "",
            figure_text("no_target", lang, n=no_target) if no_target else "",
        )
        if s
    ]
    if extra:
        title += " (" + "; ".join(extra) + ")"
    fig.update_layout(barmode="overlay")
    label_rows(fig, names.tolist())
    fig = apply_layout(fig, title, x=texts["column_label"], y="", percent=False, legend="top", lang=lang)
    fig.update_yaxes(autorange="reversed")
    return fig


def plot_backtest(
    bt: Backtest,
    *,
    level: str = "province",
    standard: str | None = None,
    lang: str = "vi",
    fig: go.Figure | None = None,
) -> go.Figure:
    """Predicted against recorded rates of the held-out reviews, with the prediction intervals, one series per model.

    Parameters
    ----------
    bt : Backtest
        :func:`povanalysis.goals.backtest.backtest`.
    level : str
        One of :data:`povanalysis.goals.backtest.LEVELS`.
    standard : str, optional
        Only this standard (default: all).
    lang : {"vi", "en"}
    fig : Figure, optional

    Returns
    -------
    plotly.graph_objects.Figure
    """
    check_lang(lang)
    t = bt.table[bt.table["level"] == level]
    if standard is not None:
        t = t[t["standard"] == standard]
    if t.empty:
        raise ValueError(f"no backtest rows at level {level!r}" + (f" and standard {standard!r}" if standard else ""))
    fig = fig if fig is not None else new_figure()
    models = list(dict.fromkeys(t["model"]))
    for k, m in enumerate(models):
        r = t[t["model"] == m].sort_values(["standard", "group", "origin", "horizon"])
        x = [
            f"{sd} · {o}→{y}" + ("" if level == "province" else f" · {g}")
            for sd, o, y, g in zip(r["standard"], r["origin"], r["year"], r["group"])
        ]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=r["predicted"],
                mode="markers",
                name=model_label(m, lang),
                marker=dict(color=PALETTE[k % len(PALETTE)], size=9),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=(r["upper"] - r["predicted"]).to_numpy(),
                    arrayminus=(r["predicted"] - r["lower"]).to_numpy(),
                ),
                offsetgroup=str(k),
                hovertemplate="%{x}: %{y:.2%}<extra>" + model_label(m, lang) + "</extra>",
            )
        )
    obs = t.drop_duplicates(["standard", "group", "origin", "year"]).sort_values(
        ["standard", "group", "origin", "horizon"]
    )
    xo = [
        f"{sd} · {o}→{y}" + ("" if level == "province" else f" · {g}")
        for sd, o, y, g in zip(obs["standard"], obs["origin"], obs["year"], obs["group"])
    ]
    recorded = figure_text("recorded", lang)
    fig.add_trace(
        go.Scatter(
            x=xo,
            y=obs["observed"],
            mode="markers",
            name=recorded,
            marker=dict(color="black", symbol="x", size=11),
            hovertemplate="%{x}: %{y:.2%}<extra>" + recorded + "</extra>",
        )
    )
    level_pct = format_number(100 * (1 - bt.alpha), lang, digits=0)
    title = figure_text("backtest_title", lang, level=level_label(level, lang).lower(), p=level_pct)
    fig.update_layout(
        title=title,
        font=FONT,
        separators=",." if lang == "vi" else ".,",
        scattermode="group",
        legend_title_text="",
        xaxis_title=figure_text("backtest_x", lang),
        yaxis_title=figure_text("poor_rate", lang),
        margin=dict(l=60, r=20, t=70, b=90),
    )
    fig.update_yaxes(tickformat=".1%", rangemode="tozero")
    return fig
