"""Charts of poverty over time and of the deprivation profile (plotly figures, returned, never shown)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from ..common.labels import AF_MEASURES, af_cutoff, af_label, check_lang, format_percent, label

__all__ = [
    "rate_trend",
    "deprivation_profile",
    "contribution_bars",
    "apply_layout",
    "new_figure",
    "label_rows",
    "indicator_colour",
    "PALETTE",
    "INDICATOR_COLOURS",
    "FONT",
    "TEMPLATE",
]

#: Colours used across the package's figures (colour-blind safe, Okabe–Ito).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
#: A font stack with full Vietnamese coverage on common systems.
FONT = dict(family="Noto Sans, Arial, Helvetica, sans-serif", size=13)
#: One colour per deprivation indicator of every standard, one hue family per dimension (employment
#: blues, health oranges, education greens, housing purples, water and sanitation ochres, information
#: greys), darker for the first indicator of a dimension: no two closer than ΔE 25 (CIE76).
INDICATOR_COLOURS = {
    "d_employment": "#08519C",
    "d_dependants": "#6BAED6",
    "d_nutrition": "#A63603",
    "d_health_insurance": "#F16913",
    "d_adult_education": "#006D2C",
    "d_child_school": "#74C476",
    "d_housing_quality": "#7A0177",
    "d_floor_area": "#DD77B4",
    "d_water": "#8C6D00",
    "d_latrine": "#D9A400",
    "d_waste": "#F7DC6F",
    "d_telecom": "#252525",
    "d_information_means": "#737373",
    "d_internet": "#BDBDBD",
}
_WHITE = pio.templates["plotly_white"]
#: The house template: plotly_white's 2-D layout and bar and scatter defaults, the palette and the font.
#: Only what the package's figures use, so that giving it to a new figure costs little (plotly copies
#: a template each time one is set; the whole plotly_white costs about 20 ms a figure).
TEMPLATE = go.layout.Template(
    layout={
        **{k: v for k, v in _WHITE.layout.to_plotly_json().items() if k not in ("polar", "ternary", "scene", "geo")},
        "colorway": list(PALETTE),
        "font": FONT,
    },
    data={"bar": _WHITE.data.bar, "scatter": _WHITE.data.scatter},
)
#: Height of a line of text, in font sizes, for placing labels.
_LINE = 1.4


def new_figure(**layout: object) -> go.Figure:
    """An empty figure in the house style from the start: template and font (``layout`` adds to them).

    Setting a template on a figure copies it; :func:`apply_layout` used to set plotly_white
    after ``go.Figure()`` had applied plotly's default, which cost a fifth of a commune report's time.

    Examples
    --------
    >>> new_figure(height=300).layout.template.layout.plot_bgcolor, new_figure().layout.font.size
    ('white', 13)
    """
    return go.Figure(layout={"template": TEMPLATE, "font": FONT, **layout})


def indicator_colour(indicator: str) -> str:
    """The colour of a deprivation indicator (:data:`INDICATOR_COLOURS`); grey for an unknown one.

    Examples
    --------
    >>> indicator_colour("d_water"), indicator_colour("x")
    ('#8C6D00', '#9E9E9E')
    """
    return INDICATOR_COLOURS.get(str(indicator), "#9E9E9E")


def label_rows(
    fig: go.Figure, names: Sequence[str], *, axis: str = "y", row_px: int = 18, extra: int = 180
) -> go.Figure:
    """Label every row of a ranked chart: all ``names`` as ticks in that order, a font and a height that fit them.

    Plotly leaves out tick labels that would overlap (every other commune on a ranked chart
    of 92); here each row gets ``row_px`` pixels, its label a font a little smaller, and the
    figure at least 320 pixels (an empty chart keeps its axes).

    Examples
    --------
    >>> f = label_rows(new_figure(), ["A", "B", "C"])
    >>> list(f.layout.yaxis.tickvals), f.layout.height, f.layout.yaxis.tickfont.size
    (['A', 'B', 'C'], 320, 11)
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    names = [str(n) for n in names]
    size = max(8, min(FONT["size"] - 2, int(row_px / _LINE)))
    # an invisible tick mark keeps each label a few pixels off the axis and its first marker
    ticks = dict(
        ticks="outside",
        ticklen=8,
        tickcolor="rgba(0,0,0,0)",
        tickmode="array",
        tickvals=names,
        ticktext=names,
        tickfont=dict(size=size),
        automargin=True,
        categoryorder="array",
        categoryarray=names,
    )
    if axis == "y":
        fig.update_yaxes(**ticks)
        fig.update_layout(height=max(extra + row_px * len(names), 320))
    else:
        fig.update_xaxes(**ticks, tickangle=-60)
    return fig


def _percent_ticks(span: float) -> str:
    """A tick format of shares that never prints two ticks alike: whole percents from a 5% span, else one decimal."""
    return ".0%" if span >= 0.05 else ".1%"


def _plot_height(fig: go.Figure) -> float:
    """Height of the plotting area in pixels, from the figure's height and margins (plotly's defaults)."""
    m = fig.layout.margin
    total = fig.layout.height or 450
    return max(total - (m.t if m.t is not None else 100) - (m.b if m.b is not None else 80), 100)


def apply_layout(
    fig: go.Figure,
    title: str,
    *,
    x: str,
    y: str,
    percent: bool = True,
    top: int = 60,
    legend: str = "bottom",
    lang: str | None = None,
) -> go.Figure:
    """The house style of every figure: title, font, axis titles, margins, legend; rates as percent.

    With ``lang="vi"`` the figure writes numbers the Vietnamese way (``5,5%``, ``1.250``) on
    its axes and in its hover text (plotly's ``separators``).

    Text labels are drawn even where they pass the edge of the plotting area
    (``cliponaxis=False``) and the axes make room for their tick labels (``automargin``).
    The legend goes below the plot, under the x-axis title (``legend="bottom"``), above the
    plot under the title (``"top"``, for tall figures), or at the right (``"right"``): never
    over an axis title. The template is left as it is: figures are built with it (:func:`new_figure`).

    Examples
    --------
    >>> f = apply_layout(new_figure(), "T", x="x", y="y")
    >>> f.layout.legend.orientation, f.layout.legend.yanchor, f.layout.xaxis.automargin
    ('h', 'top', True)
    >>> apply_layout(new_figure(), "T", x="x", y="y", lang="vi").layout.separators
    ',.'
    """
    if lang is not None:
        fig.update_layout(separators=",." if check_lang(lang) == "vi" else ".,")
    if legend not in ("bottom", "top", "right"):
        raise ValueError(f"legend must be 'bottom', 'top' or 'right', got {legend!r}")
    fig.update_layout(
        title=dict(text=title, x=0.02, xanchor="left", xref="container"),
        font=FONT,
        legend_title_text="",
        xaxis_title=x,
        yaxis_title=y,
        margin=dict(l=60, r=30, t=top + (30 if legend == "top" else 0), b=60),
    )
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    if legend == "bottom":
        # below the x-axis tick labels and title: about 3.5 lines of text under the plotting area
        below = _LINE * FONT["size"] * 3.5 / _plot_height(fig)
        fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-below, yanchor="top"))
    elif legend == "top":
        fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=1, yanchor="bottom"))
    else:
        fig.update_layout(legend=dict(orientation="v", x=1.02, xanchor="left", y=1, yanchor="top"))
    for trace in fig.data:
        if trace.type in ("scatter", "bar") and trace.text is not None:
            trace.cliponaxis = False
    if percent:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _label_positions(series: Sequence[tuple[Sequence, Sequence[float]]], *, span: float, plot_px: float) -> list:
    """Where each point's label goes (``"top center"``, ``"bottom center"``) or None where no room is left.

    Series earlier in ``series`` choose first. At each x, a label is a box one text line high
    above or below its point; it must not cover another label, nor any series' point at that
    x, nor pass below zero. The highest point of an x tries above first, the lowest below.
    The first series is labelled at every point, over another series' point if no place is free.
    """
    h = span * _LINE * FONT["size"] / plot_px  # a label's height in data units
    gap = span * 6 / plot_px  # a marker's radius
    points: dict = {}
    for s, (xs, ys) in enumerate(series):
        for x, y in zip(xs, ys):
            points.setdefault(x, []).append((float(y), s))
    # what a label may not cover, at each x: (low, high, series of the point or None for a label)
    taken: dict = {x: [(y - gap, y + gap, s) for y, s in pts] for x, pts in points.items()}
    out = []
    for s, (xs, ys) in enumerate(series):
        where = []
        for x, y in zip(xs, ys):
            y = float(y)
            values = [v for v, _ in points[x]]
            order = [("top center", (y + gap, y + gap + h)), ("bottom center", (y - gap - h, y - gap))]
            if y <= min(values) < max(values):
                order.reverse()
            chosen = None
            for position, (lo, hi) in order:
                if lo < 0:
                    continue
                if all(hi <= a or lo >= b for a, b, owner in taken[x] if owner != s):
                    chosen = position
                    taken[x].append((lo, hi, None))
                    break
            if chosen is None and s == 0:  # the first series is always labelled, over a point if it must
                position, (lo, hi) = next((p, box) for p, box in order if box[0] >= 0)
                chosen = position
                taken[x].append((lo, hi, None))
            where.append(chosen)
        out.append(where)
    return out


def rate_trend(
    table: pd.DataFrame,
    *,
    rate: str = "poor_rate",
    group: str | None = None,
    focus: object = None,
    lang: str = "vi",
    fig: go.Figure | None = None,
) -> go.Figure:
    """Lines of a rate by review year, one per group; suppressed cells are left out and said so.

    Every point is labelled with its rate where the label covers no other label or point;
    the ``focus`` group (default: the first) is labelled first and drawn thickest.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`povanalysis.measure.aggregates.poverty_counts` with ``review_year`` (and
        ``group``) among its ``by`` columns.
    rate : str
        Column to draw (``poor_rate``, ``near_poor_rate``, ...): shares in [0, 1].
    group : str, optional
        Column whose values make the lines; one line when None.
    focus : optional
        The value of ``group`` whose line matters most (a commune against its areas).
    lang : {"vi", "en"}
    fig : Figure, optional
        A figure to draw on (it keeps its template).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> t = pd.DataFrame({"review_year": [2021, 2024], "poor_rate": [0.1029, 0.0546],
    ...                   "households": [100, 100], "suppressed": [False, False]})
    >>> f = rate_trend(t, lang="en")
    >>> list(f.data[0].y), list(f.data[0].text)
    ([0.1029, 0.0546], ['10.29%', '5.46%'])
    >>> f.layout.yaxis.title.text, f.data[0].cliponaxis
    ('Poor-household rate', False)
    """
    check_lang(lang)
    for col in ["review_year", rate] + ([group] if group else []):
        if col not in table.columns:
            raise ValueError(f"'table' has no column {col!r}")
    fig = fig if fig is not None else new_figure()
    shown = table[~table["suppressed"]] if "suppressed" in table.columns else table
    groups = [(None, shown)] if group is None else list(shown.groupby(group, sort=True))
    if focus is not None:
        if focus not in [key for key, _ in groups]:
            raise ValueError(f"focus {focus!r} is not a value of column {group!r}")
        groups.sort(key=lambda kv: kv[0] != focus)
    groups = [(key, part.sort_values("review_year")) for key, part in groups]
    top = max([float(part[rate].max()) for _, part in groups if len(part)] or [0.0])
    span = 1.2 * top if top > 0 else 0.1
    plot_px = min(_plot_height(fig), 380 - 60 - 110)  # commune pages draw it 380 px high
    where = _label_positions(
        [(part["review_year"].tolist(), part[rate].tolist()) for _, part in groups], span=span, plot_px=plot_px
    )
    for i, ((key, part), positions) in enumerate(zip(groups, where)):
        name = label(rate, lang) if key is None else label(str(key), lang)
        values = [format_percent(v, lang) for v in part[rate]]
        fig.add_trace(
            go.Scatter(
                x=part["review_year"].tolist(),
                y=part[rate].tolist(),
                mode="lines+markers+text",
                name=name,
                text=[v if p else "" for v, p in zip(values, positions)],
                textposition=[p or "top center" for p in positions],
                customdata=values,
                cliponaxis=False,
                line=dict(color=PALETTE[i % len(PALETTE)], width=3 if i == 0 else 2),
                hovertemplate="%{x}: %{customdata}<extra>" + name + "</extra>",
            )
        )
    n_hidden = len(table) - len(shown)
    title = label(rate, lang)
    if n_hidden:
        title += f" ({n_hidden} {'ô không công bố' if lang == 'vi' else 'cells suppressed'})"
    years = table["review_year"]
    fig.update_xaxes(dtick=1, range=[float(years.min()) - 0.4, float(years.max()) + 0.4] if len(years) else None)
    fig = apply_layout(fig, title, x=label("review_year", lang), y=label(rate, lang), lang=lang)
    fig.update_yaxes(range=[0, span], tickformat=_percent_ticks(span))
    return fig


def _indicator_order(indicators) -> list[str]:
    """Indicators in the order of :data:`INDICATOR_COLOURS` (grouped by dimension), unknown ones last."""
    known = list(INDICATOR_COLOURS)
    seen = list(dict.fromkeys(str(i) for i in indicators))
    return sorted(seen, key=lambda i: (known.index(i) if i in known else len(known), seen.index(i)))


def deprivation_profile(
    af: pd.DataFrame,
    *,
    measure: str = "hdk",
    year_column: str = "review_year",
    lang: str = "vi",
    indicators: Sequence[str] | None = None,
) -> go.Figure:
    """Horizontal bars of a per-indicator Alkire–Foster measure (censored headcount by default), per year.

    Each indicator has its colour (:data:`INDICATOR_COLOURS`); with several years, earlier
    years are paler. The title names the Alkire–Foster measure and the cutoff k read from
    ``af`` (:func:`povanalysis.common.labels.af_cutoff`). Values are written outside the
    bars, inside the figure.

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
    >>> list(f.data[0].marker.color)
    ['#8C6D00', '#D9A400']
    """
    check_lang(lang)
    title = af_label(measure, lang, **af_cutoff(af)) if measure in AF_MEASURES else label(measure, lang)
    rows = af[af["measure"] == measure]
    if rows.empty:
        raise ValueError(f"'af' has no rows with measure {measure!r}")
    if indicators is not None:
        rows = rows[rows["indicator"].isin(indicators)]
    order = _indicator_order(rows["indicator"])
    rows = rows.assign(_order=rows["indicator"].astype(str).map(order.index)).sort_values("_order", kind="stable")
    fig = new_figure()
    years = sorted(rows[year_column].unique()) if year_column in rows.columns else [None]
    for i, year in enumerate(years):
        part = rows if year is None else rows[rows[year_column] == year]
        names = [label(str(ind), lang) for ind in part["indicator"]]
        values = part["value"].tolist()
        fig.add_trace(
            go.Bar(
                x=values,
                y=names,
                orientation="h",
                name=str(year) if year is not None else title,
                marker=dict(
                    color=[indicator_colour(ind) for ind in part["indicator"]],
                    opacity=1.0 if i == len(years) - 1 else 0.35 + 0.5 * i / max(len(years) - 1, 1),
                ),
                text=[format_percent(v / 100 if measure == "pctb" else v, lang, digits=1) for v in values],
                textposition="outside",
                cliponaxis=False,
                hovertemplate="%{y}: %{text}<extra>" + (str(year) if year is not None else "") + "</extra>",
            )
        )
    n = rows["indicator"].nunique()
    fig.update_layout(barmode="group", height=160 + 26 * n * max(1, len(years)), showlegend=len(years) > 1)
    fig = apply_layout(fig, title, x=title, y="", percent=False, legend="right", lang=lang)
    top = float(rows["value"].max()) if len(rows) else 1.0
    span = 1.2 * top if top > 0 else 1.0
    fig.update_xaxes(range=[0, span], title_text="")
    if measure != "pctb":
        fig.update_xaxes(tickformat=_percent_ticks(span))
    fig.update_yaxes(autorange="reversed")
    return fig


def contribution_bars(af: pd.DataFrame, *, group: str = "review_year", lang: str = "vi") -> go.Figure:
    """Stacked bars of each indicator's percentage contribution to M0 (``pctb``), per group.

    One colour per indicator (:data:`INDICATOR_COLOURS`, grouped by dimension), stacked and
    listed in the legend in the order of the standard's dimensions. The title names the
    Alkire–Foster M0 and the cutoff k read from ``af`` (:func:`povanalysis.common.labels.af_cutoff`).

    Examples
    --------
    >>> af = pd.DataFrame({"measure": ["pctb"] * 2, "indicator": ["d_water", "d_latrine"],
    ...                    "value": [40.0, 60.0], "review_year": [2024, 2024]})
    >>> f = contribution_bars(af, lang="en")
    >>> [t.name for t in f.data], f.layout.title.text
    (['Domestic water', 'Hygienic latrine'], 'Contribution to M0 (%, Alkire–Foster)')
    >>> [t.marker.color for t in f.data]
    ['#8C6D00', '#D9A400']
    """
    check_lang(lang)
    title = af_label("pctb", lang, **af_cutoff(af))
    rows = af[af["measure"] == "pctb"]
    if rows.empty:
        raise ValueError("'af' has no 'pctb' rows")
    fig = new_figure()
    for ind in _indicator_order(rows["indicator"]):
        part = rows[rows["indicator"].astype(str) == ind]
        name = label(ind, lang)
        fig.add_trace(
            go.Bar(
                x=[str(v) for v in part[group]],
                y=part["value"].tolist(),
                name=name,
                marker_color=indicator_colour(ind),
                hovertemplate="%{x}: %{y:.1f}%<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(barmode="stack", height=480)
    fig.update_xaxes(type="category", categoryorder="category ascending")
    fig = apply_layout(fig, title, x=label(group, lang), y=title, percent=False, legend="right", lang=lang)
    fig.update_layout(legend_traceorder="reversed")
    return fig
