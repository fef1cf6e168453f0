"""Charts of poverty over time and of the deprivation profile (plotly figures, returned, never shown)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from ..common.labels import AF_MEASURES, af_cutoff, af_label, check_lang, format_percent, label

__all__ = ["rate_trend", "deprivation_profile", "contribution_bars", "apply_layout", "PALETTE", "FONT"]

#: Colours used across the package's figures (colour-blind safe, Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: A font stack with full Vietnamese coverage on common systems.
FONT = dict(family="Noto Sans, Arial, Helvetica, sans-serif", size=13)


def apply_layout(fig: go.Figure, title: str, *, x: str, y: str, percent: bool = True, top: int = 60) -> go.Figure:
    """The house style of every figure: title, font, white template, axis titles, margins; rates as percent."""
    fig.update_layout(
        title=title,
        font=FONT,
        template="plotly_white",
        legend_title_text="",
        xaxis_title=x,
        yaxis_title=y,
        margin=dict(l=60, r=20, t=top, b=50),
    )
    if percent:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def rate_trend(
    table: pd.DataFrame,
    *,
    rate: str = "poor_rate",
    group: str | None = None,
    lang: str = "vi",
    fig: go.Figure | None = None,
) -> go.Figure:
    """Lines of a rate by review year, one per group; suppressed cells are left out and said so.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`povanalysis.measure.aggregates.poverty_counts` with ``review_year`` (and
        ``group``) among its ``by`` columns.
    rate : str
        Column to draw (``poor_rate``, ``near_poor_rate``, ...): shares in [0, 1].
    group : str, optional
        Column whose values make the lines; one line when None.
    lang : {"vi", "en"}
    fig : Figure, optional
        A figure to draw on.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"review_year": [2021, 2024], "poor_rate": [0.1029, 0.0546],
    ...                   "households": [100, 100], "suppressed": [False, False]})
    >>> f = rate_trend(t, lang="en")
    >>> list(f.data[0].y)
    [0.1029, 0.0546]
    >>> f.layout.yaxis.title.text
    'Poor-household rate'
    """
    check_lang(lang)
    for col in ["review_year", rate] + ([group] if group else []):
        if col not in table.columns:
            raise ValueError(f"'table' has no column {col!r}")
    fig = fig if fig is not None else go.Figure()
    shown = table[~table["suppressed"]] if "suppressed" in table.columns else table
    groups = [(None, shown)] if group is None else list(shown.groupby(group, sort=True))
    for i, (key, part) in enumerate(groups):
        part = part.sort_values("review_year")
        name = label(rate, lang) if key is None else label(str(key), lang)
        text = [format_percent(v, lang) for v in part[rate]]
        fig.add_trace(
            go.Scatter(
                x=part["review_year"].tolist(),
                y=part[rate].tolist(),
                mode="lines+markers+text",
                name=name,
                text=text,
                textposition="top center",
                line=dict(color=PALETTE[i % len(PALETTE)], width=3),
                hovertemplate="%{x}: %{text}<extra>" + name + "</extra>",
            )
        )
    n_hidden = len(table) - len(shown)
    title = label(rate, lang)
    if n_hidden:
        title += f" ({n_hidden} {'ô không công bố' if lang == 'vi' else 'cells suppressed'})"
    fig.update_xaxes(dtick=1)
    return apply_layout(fig, title, x=label("review_year", lang), y=label(rate, lang))


def deprivation_profile(
    af: pd.DataFrame,
    *,
    measure: str = "hdk",
    year_column: str = "review_year",
    lang: str = "vi",
    indicators: Sequence[str] | None = None,
) -> go.Figure:
    """Horizontal bars of a per-indicator Alkire–Foster measure (censored headcount by default), per year.

    The title names the Alkire–Foster measure and the cutoff k read from ``af``
    (:func:`povanalysis.common.labels.af_cutoff`).

    Parameters
    ----------
    af : DataFrame
        Output of :func:`povanalysis.measure.indicators.alkire_foster` with ``by`` including ``year_column``.
    measure : {"hdk", "hd", "pctb"}

    Examples
    --------
    >>> af = pd.DataFrame({"measure": ["hdk", "hdk"], "indicator": ["d_water", "d_latrine"],
    ...                    "value": [0.03, 0.05], "review_year": [2024, 2024], "k": 0.5})
    >>> f = deprivation_profile(af, lang="en")
    >>> list(f.data[0].y), f.layout.title.text
    (['Domestic water', 'Hygienic latrine'], 'Alkire–Foster censored headcount hdk (k = 1/2)')
    """
    check_lang(lang)
    title = af_label(measure, lang, **af_cutoff(af)) if measure in AF_MEASURES else label(measure, lang)
    rows = af[af["measure"] == measure]
    if rows.empty:
        raise ValueError(f"'af' has no rows with measure {measure!r}")
    if indicators is not None:
        rows = rows[rows["indicator"].isin(indicators)]
    fig = go.Figure()
    years = sorted(rows[year_column].unique()) if year_column in rows.columns else [None]
    for i, year in enumerate(years):
        part = rows if year is None else rows[rows[year_column] == year]
        names = [label(str(ind), lang) for ind in part["indicator"]]
        values = part["value"].tolist()
        fig.add_trace(
            go.Bar(
                x=values if measure != "pctb" else values,
                y=names,
                orientation="h",
                name=str(year) if year is not None else title,
                marker_color=PALETTE[i % len(PALETTE)],
                text=[format_percent(v / 100 if measure == "pctb" else v, lang, digits=1) for v in values],
                hovertemplate="%{y}: %{text}<extra>" + (str(year) if year is not None else "") + "</extra>",
            )
        )
    fig.update_layout(barmode="group", height=160 + 28 * rows["indicator"].nunique() * max(1, len(years)) // 2)
    fig = apply_layout(fig, title, x=title, y="", percent=False)
    if measure != "pctb":
        fig.update_xaxes(tickformat=".0%")
    fig.update_yaxes(autorange="reversed")
    return fig


def contribution_bars(af: pd.DataFrame, *, group: str = "review_year", lang: str = "vi") -> go.Figure:
    """Stacked bars of each indicator's percentage contribution to M0 (``pctb``), per group.

    The title names the Alkire–Foster M0 and the cutoff k read from ``af``
    (:func:`povanalysis.common.labels.af_cutoff`).

    Examples
    --------
    >>> af = pd.DataFrame({"measure": ["pctb"] * 2, "indicator": ["d_water", "d_latrine"],
    ...                    "value": [40.0, 60.0], "review_year": [2024, 2024]})
    >>> f = contribution_bars(af, lang="en")
    >>> [t.name for t in f.data], f.layout.title.text
    (['Domestic water', 'Hygienic latrine'], 'Contribution to M0 (%, Alkire–Foster)')
    """
    check_lang(lang)
    title = af_label("pctb", lang, **af_cutoff(af))
    rows = af[af["measure"] == "pctb"]
    if rows.empty:
        raise ValueError("'af' has no 'pctb' rows")
    fig = go.Figure()
    for i, (ind, part) in enumerate(rows.groupby("indicator", sort=False)):
        name = label(str(ind), lang)
        fig.add_trace(
            go.Bar(
                x=[str(v) for v in part[group]],
                y=part["value"].tolist(),
                name=name,
                marker_color=PALETTE[i % len(PALETTE)],
                hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(barmode="stack")
    return apply_layout(fig, title, x=label(group, lang), y=title, percent=False)
