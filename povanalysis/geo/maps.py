"""Choropleth maps of commune figures: rates, changes, M0, loans and hot spots (plotly figures, returned, never shown).

One module because every map is :func:`choropleth` on a prepared commune table: the thematic
maps (``rate_map``, ``change_map``, ``mpi_map``, ``loans_map``, ``hotspot_map``) differ only in how
they prepare that table, and all of them share the classification of values into classes, the
display geometry, the highlight of one commune and the vi/en text of the legends.  Splitting them
would make those internals a public interface without making either part readable alone.

The maps are filled paths on plain x/y axes (longitude, latitude at the province's aspect), not
plotly ``geo`` subplots: a ``geo`` subplot makes plotly.js fetch a world base map from its CDN,
so offline (JupyterLab without internet, an exported notebook) it draws only title and legend.
Filled paths need nothing but the figure itself.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely
from plotly.colors import sample_colorscale

from .. import config
from ..common.checks import require_frame
from ..common.labels import af_cutoff, af_label, check_lang, format_number, format_percent, label, pick
from ..figures.charts import FONT, new_figure
from . import boundaries as geo

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

    from .hotspots import Lisa

__all__ = [
    "choropleth",
    "drawn",
    "rate_map",
    "change_map",
    "mpi_map",
    "loans_map",
    "hotspot_map",
    "SCHEMES",
    "POLICY_THRESHOLDS",
    "COORDINATE_DECIMALS",
]

#: Classification schemes: quantiles, Fisher–Jenks natural breaks, fixed thresholds, or None (continuous).
SCHEMES: tuple = ("quantiles", "natural_breaks", "fixed", None)
#: Default thresholds of ``scheme="fixed"``: the poor-household rates 15% and 20% of the Region III
#: criteria (Decision 33/2020/QĐ-TTg, Art. 3): below 15%, 15% to below 20%, 20% and above.
POLICY_THRESHOLDS: tuple[float, ...] = (0.15, 0.20)
#: Decimals kept in the embedded coordinates (5 decimals of a degree: about 1 m).
COORDINATE_DECIMALS = 5

_FORMATS = ("auto", "percent", "points", "index", "number")
_SUPPRESSED_COLOUR = "#9e9e9e"
_MISSING_COLOUR = "#e6e6e6"
_HIGHLIGHT_COLOUR = "#000000"
_NEIGHBOUR_COLOUR = "#444444"
_SEQUENTIAL = "YlOrRd"
_DIVERGING = "RdBu_r"
#: Okabe–Ito-friendly colours of the LISA clusters.
_CLUSTER_COLOURS = {"HH": "#D55E00", "HL": "#E69F00", "LH": "#56B4E9", "LL": "#0072B2", "ns": "#f7f7f7"}

_TEXT = {
    "schematic": ("Sơ đồ minh họa, không phải ranh giới chính thức", "Schematic, not official boundaries"),
    "missing": ("Không có số liệu", "No data"),
    "neighbours": ("Xã, phường giáp ranh", "Neighbouring communes"),
    "change": ("Thay đổi", "Change"),
    "points": ("điểm %", "pts"),
    "quantiles": ("phân vị", "quantiles"),
    "natural_breaks": ("ngắt tự nhiên Jenks", "Jenks natural breaks"),
    "fixed": ("ngưỡng chính sách", "policy thresholds"),
    "loans_per_poor": ("Khoản vay trên một hộ nghèo", "Loans per poor household"),
    "loans": ("Khoản vay giải ngân", "Loans disbursed"),
    "hotspots": ("Cụm nghèo (LISA)", "Poverty clusters (LISA)"),
    "HH": ("Cao – Cao (điểm nóng)", "High–High (hot spot)"),
    "LL": ("Thấp – Thấp (điểm lạnh)", "Low–Low (cold spot)"),
    "HL": ("Cao giữa vùng thấp", "High among low"),
    "LH": ("Thấp giữa vùng cao", "Low among high"),
    "ns": ("Không có ý nghĩa thống kê", "Not significant"),
    "excluded": ("Không công bố (dưới ngưỡng số hộ)", "Suppressed (too few households)"),
}


def _t(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


def _kind(column: str, value_format: str) -> str:
    if value_format != "auto":
        return value_format
    name = str(column)
    if name.endswith("_rate") or "share" in name or name in ("H", "A", "FGT0", "hd", "hdk"):
        return "percent"
    if name == "change" or name.endswith("_change"):
        return "points"
    if name in ("M0", "FGT1", "FGT2"):
        return "index"
    return "number"


def _fmt(value: float, kind: str, lang: str) -> str:
    if value != value:
        return "–"
    if kind == "percent":
        return format_percent(value, lang)
    if kind == "points":
        text = f"{100 * value:+.2f}".replace("-", "\u2212")
        return text.replace(".", ",") if lang == "vi" else text
    if kind == "index":
        return format_number(value, lang, digits=3)
    digits = 0 if float(value).is_integer() else 2
    return format_number(value, lang, digits=digits)


#: Fewest decimals of a class boundary, by kind of figure (in its display unit: percent, points, index, number).
_MIN_DECIMALS = {"percent": 1, "points": 1, "index": 2, "number": 0}
#: Scale from a figure to its display unit.
_DISPLAY_SCALE = {"percent": 100.0, "points": 100.0, "index": 1.0, "number": 1.0}


def _edge(value: float, kind: str, lang: str, decimals: int | None = None) -> str:
    """A class boundary: percentages with one decimal (or ``decimals``)."""
    d = _MIN_DECIMALS.get(kind, 0) if decimals is None else decimals
    shown = _DISPLAY_SCALE.get(kind, 1.0) * value
    if kind == "percent":
        text = f"{shown:.{d}f}%"
    elif kind == "points":
        text = f"{shown:+.{d}f}".replace("-", "\u2212")
    else:
        text = f"{shown:,.{d}f}"
        if lang == "vi":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text
    return text.replace(".", ",") if lang == "vi" else text


def _round_cut(low: float, high: float, near: float, kind: str) -> tuple[float, int] | None:
    """The roundest boundary in ``(low, high]`` (nearest ``near`` among equally round ones) and its decimals.

    None when the two differ by less than a thousandth of the display unit (of a percentage
    point for rates): the classes cannot be told apart in print and are merged.

    ``low`` is the largest figure of a class and ``high`` the smallest of the next: any
    boundary in between keeps every commune in its class, so the legend can read
    ``< 10,0%`` and ``10,0% – < 20,0%`` instead of two classes sharing an edge.
    """
    scale = _DISPLAY_SCALE.get(kind, 1.0)
    lo, hi, at = scale * low, scale * high, scale * near
    for exponent in range(6, -4, -1):
        for mantissa in (5, 2, 1):
            step = mantissa * 10.0**exponent
            first = math.floor(lo / step + 1e-9) + 1
            last = math.floor(hi / step + 1e-9)
            if first <= last:
                n = min(max(round(at / step), first), last)
                decimals = max(_MIN_DECIMALS.get(kind, 0), -exponent if exponent < 0 else 0)
                return round(n * step, decimals + 2) / scale, decimals
    return None


def _class_names(cuts: Sequence[str]) -> list[str]:
    """Legend entries of the classes cut at ``cuts`` (formatted), closed on the left: no two share an edge."""
    names = [f"< {cuts[0]}"]
    names += [f"{a} – < {b}" for a, b in zip(cuts[:-1], cuts[1:])]
    names.append(f"≥ {cuts[-1]}")
    return names


def _classify(values: np.ndarray, scheme: str | None, k: int, thresholds, kind: str, lang: str):
    """Class index of every value and the label of every class.

    Classes are closed on the left (``5,0% – < 10,0%``). Quantiles and natural breaks keep
    mapclassify's classes and put each boundary on the roundest figure between the largest
    value of a class and the smallest of the next.
    """
    if scheme is None or len(values) == 0:
        return None, []
    if scheme == "fixed":
        cuts = np.asarray(thresholds, dtype=float)
        index = np.searchsorted(cuts, values, side="right")
        scaled = _DISPLAY_SCALE.get(kind, 1.0) * cuts
        digits = next(d for d in range(_MIN_DECIMALS.get(kind, 0), 7) if np.allclose(scaled, np.round(scaled, d)))
        return index, _class_names([_edge(c, kind, lang, digits) for c in cuts])
    import mapclassify

    k_eff = int(min(k, len(np.unique(values))))
    if k_eff < 2:
        return np.zeros(len(values), dtype=int), [f"{_edge(values.min(), kind, lang)}"]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Numba not installed")  # 92 communes need no speed-up
        cls = (
            mapclassify.Quantiles(values, k=k_eff)
            if scheme == "quantiles"
            else mapclassify.FisherJenks(values, k=k_eff)
        )
    yb = np.asarray(cls.yb, dtype=int)
    bins = np.asarray(cls.bins, dtype=float)
    group = np.zeros(int(yb.max()) + 1, dtype=int)  # mapclassify class → class drawn
    cuts, decimals, top = [], [], None
    for c in sorted(set(yb.tolist())):  # classes with members, in order
        if top is not None:
            found = _round_cut(float(values[yb == top].max()), float(values[yb == c].min()), float(bins[top]), kind)
            if found is not None:
                cuts.append(found[0])
                decimals.append(found[1])
        group[c] = len(cuts)
        top = c
    if not cuts:
        low, high = _edge(values.min(), kind, lang), _edge(values.max(), kind, lang)
        return np.zeros(len(values), dtype=int), [low if low == high else f"{low} – {high}"]
    digits = max(decimals)
    return group[yb], _class_names([_edge(c, kind, lang, digits) for c in cuts])


def _display(boundaries, tolerance: float | None):
    """Boundaries in WGS 84, simplified for display, with coordinates rounded."""
    b = geo.check_boundaries(boundaries, "boundaries")
    if tolerance:
        b = geo.simplify(b, tolerance=tolerance)
    b = b.to_crs("EPSG:4326") if b.crs.to_epsg() != 4326 else b
    geoms = shapely.transform(b.geometry.to_numpy(), lambda c: np.round(c, COORDINATE_DECIMALS))
    out = b.set_geometry(geoms, crs="EPSG:4326")
    out.attrs = dict(boundaries.attrs)
    return out


def _paths(display) -> dict[str, tuple[list, list]]:
    """x (longitude) and y (latitude) of every unit's rings, rings separated by None.

    Exteriors run counter-clockwise and holes clockwise, so a filled path leaves a hole (an
    enclave, drawn as its own unit) empty.
    """
    out = {}
    for code, g in zip(display["commune_code"], shapely.orient_polygons(display.geometry.to_numpy())):
        xs: list = []
        ys: list = []
        for part in shapely.get_parts(g):
            for ring in (part.exterior, *part.interiors):
                c = shapely.get_coordinates(ring)
                xs += c[:, 0].tolist() + [None]
                ys += c[:, 1].tolist() + [None]
        out[code] = (xs[:-1], ys[:-1])
    return out


def _area_traces(paths, codes, *, name, colour, hover, values=None, colours=None) -> list[go.Scatter]:
    """One filled path per unit, all in one legend entry (clicking it hides or shows them together).

    Each trace's ``meta`` holds its ``commune_code`` and, for a published figure, its ``value``;
    a class without units keeps its legend entry with an empty trace.
    """
    codes = list(codes)
    hover = list(hover)
    traces = []
    for i, code in enumerate(codes):
        meta = {"commune_code": str(code)}
        if values is not None:
            meta["value"] = float(values[i])
        xs, ys = paths[code]
        traces.append(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                fill="toself",
                fillcolor=colours[i] if colours is not None else colour,
                line=dict(color="#ffffff", width=0.5),
                name=name,
                legendgroup=name,
                showlegend=i == 0 and colours is None,
                hoveron="fills",
                hoverinfo="text",
                text=hover[i],
                meta=meta,
            )
        )
    if not traces and colours is None:
        traces.append(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                fill="toself",
                fillcolor=colour,
                line=dict(color="#ffffff", width=0.5),
                name=name,
                legendgroup=name,
                hoverinfo="skip",
            )
        )
    return traces


def _wrap(text: str, width: int = 22) -> str:
    """``text`` in lines of at most about ``width`` characters, joined by ``<br>`` (a colour bar's title)."""
    import textwrap

    return "<br>".join(textwrap.wrap(text, width=width, break_long_words=False)) or text


def _point_ticks(zmin: float, zmax: float, lang: str) -> dict:
    """Ticks of a colour bar of changes in percentage points: ``−10``, ``0``, ``+10`` (no % sign on points)."""
    span = max(zmax - zmin, 1e-9)
    step = next((s for s in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5) if span / s <= 8), 1.0)
    values = np.arange(math.ceil(zmin / step - 1e-9), math.floor(zmax / step + 1e-9) + 1) * step
    digits = max(0, -math.floor(math.log10(100 * step) + 1e-9))
    text = []
    for v in values:
        shown = f"{100 * v:+.{digits}f}".replace("-", "\u2212") if abs(v) > step / 2 else "0"
        text.append(shown.replace(".", ",") if lang == "vi" else shown)
    return dict(tickmode="array", tickvals=values.tolist(), ticktext=text)


def _colour_bar(
    scale, *, zmin: float, zmax: float, title: str, tickformat: str | None, at, ticks: dict | None = None
) -> go.Scatter:
    """An invisible marker carrying the colour bar of a continuous map."""
    return go.Scatter(
        x=[at[0]],
        y=[at[1]],
        mode="markers",
        marker=dict(
            size=0,
            opacity=0,
            color=[zmin],
            colorscale=scale,
            cmin=zmin,
            cmax=zmax,
            showscale=True,
            colorbar=dict(
                title=dict(text=_wrap(title)),
                len=0.6,
                tickformat=tickformat,
                x=1.0,
                xanchor="left",
                y=0.5,
                **(ticks or {}),
            ),
        ),
        showlegend=False,
        hoverinfo="skip",
        name=title,
    )


def _outline(display, codes, *, name: str, colour: str, width: float, dash: str = "solid") -> go.Scatter:
    xs: list = []
    ys: list = []
    for g in display.set_index("commune_code").loc[list(codes)].geometry:
        for part in shapely.get_parts(g):
            ring = shapely.get_coordinates(part.exterior)
            xs += ring[:, 0].tolist() + [None]
            ys += ring[:, 1].tolist() + [None]
    return go.Scatter(
        x=xs, y=ys, mode="lines", name=name, hoverinfo="skip", line=dict(color=colour, width=width, dash=dash)
    )


def _check_frame(frame, column: str | None, suppressed_column: str | None, name: str = "frame") -> pd.DataFrame:
    require_frame(frame, name)
    needed = ["commune_code"] + ([column] if column is not None else [])
    if suppressed_column is not None:
        needed.append(suppressed_column)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        hint = (
            " (pass suppressed_column=None for figures that need no suppression)"
            if suppressed_column in missing
            else ""
        )
        raise ValueError(f"{name!r} has no column {missing[0]!r}{hint}; columns: {list(frame.columns)}")
    dup = frame["commune_code"][frame["commune_code"].duplicated()]
    if len(dup):
        extra = " (filter one review year first)" if "review_year" in frame.columns else ""
        raise ValueError(f"{name!r} must have one row per commune; {dup.iloc[0]!r} appears more than once{extra}")
    if column is not None and not pd.api.types.is_numeric_dtype(frame[column]):
        raise ValueError(f"column {column!r} of {name!r} must be numeric, got {frame[column].dtype}")
    if suppressed_column is not None and not pd.api.types.is_bool_dtype(frame[suppressed_column]):
        raise ValueError(
            f"column {suppressed_column!r} of {name!r} must be boolean, got {frame[suppressed_column].dtype}"
        )
    return frame


def _layout(
    fig: go.Figure, display, *, title: str, legend_title: str, lang: str, view=None, colour_bar: bool = False
) -> go.Figure:
    """Title, font, size, legend and equal-scale hidden axes of a map.

    With a colour bar (a continuous map) the bar stands at the right and the legend (the
    suppressed, no-data and outlined units) lies under the map, so neither covers the other.
    """
    annotations = []
    if geo.is_schematic(display):
        annotations.append(
            dict(
                text=_t("schematic", lang),
                x=0,
                y=0,
                xref="paper",
                yref="paper",
                xanchor="left",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=12, color="#555555"),
            )
        )
    fig.update_layout(
        title=title,
        font=FONT,
        separators=",." if lang == "vi" else ".,",
        height=720,
        margin=dict(l=10, r=10, t=60, b=30),
        legend=(
            dict(title_text="", tracegroupgap=0, orientation="h", x=0, xanchor="left", y=-0.01, yanchor="top")
            if colour_bar
            else dict(title_text=legend_title, tracegroupgap=0, x=1.02, xanchor="left", y=1, yanchor="top")
        ),
        hovermode="closest",
        modebar_remove=["select2d", "lasso2d"],
        annotations=annotations,
    )
    x0, y0, x1, y1 = shapely.total_bounds(display.geometry.to_numpy())
    # equal distances look equal: a degree of latitude is 1/cos(latitude) degrees of longitude
    ratio = 1 / math.cos(math.radians((y0 + y1) / 2)) if np.isfinite(y0) else 1.0
    axis = dict(visible=False, showgrid=False, zeroline=False)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis, scaleanchor="x", scaleratio=ratio)
    if view is not None:
        (vx0, vx1), (vy0, vy1) = view
        fig.update_xaxes(range=[vx0, vx1])
        fig.update_yaxes(range=[vy0, vy1])
    return fig


def _view(display, codes: Sequence[str]):
    x0, y0, x1, y1 = shapely.total_bounds(display.set_index("commune_code").loc[list(codes)].geometry.to_numpy())
    mx, my = 0.15 * (x1 - x0) + 0.005, 0.15 * (y1 - y0) + 0.005
    return (x0 - mx, x1 + mx), (y0 - my, y1 + my)


def _highlight(display, highlight, show_neighbours: bool, zoom: bool, lang: str):
    """Outline traces, and the view window when zooming."""
    if highlight is None:
        if show_neighbours or zoom:
            raise ValueError("show_neighbours and zoom need highlight=<commune code>")
        return [], None
    code = str(highlight)
    names = display.set_index("commune_code")["name"]
    if code not in names.index:
        raise ValueError(f"highlight={highlight!r} is not a commune code of the boundaries")
    traces = [_outline(display, [code], name=str(names[code]), colour=_HIGHLIGHT_COLOUR, width=3)]
    shown = [code]
    if show_neighbours:
        near = geo.neighbours(display)[code]
        if near:
            traces.insert(
                0, _outline(display, near, name=_t("neighbours", lang), colour=_NEIGHBOUR_COLOUR, width=1.5, dash="dot")
            )
        shown += list(near)
    return traces, (_view(display, shown) if zoom else None)


def choropleth(
    frame: pd.DataFrame,
    column: str,
    *,
    boundaries: GeoDataFrame | None = None,
    lang: str = "vi",
    scheme: str | None = "quantiles",
    k: int = 5,
    thresholds: Sequence[float] | None = None,
    highlight: str | None = None,
    show_neighbours: bool = False,
    zoom: bool = False,
    suppressed_column: str | None = "auto",
    title: str | None = None,
    hover_columns: Sequence[str] | Mapping[str, str] | None = None,
    value_format: str = "auto",
    tolerance: float | None = None,
    colorscale: str | None = None,
    column_label: str | None = None,
    year: int | None = None,
) -> go.Figure:
    """A map of one figure per commune, classed or continuous, with suppression carried through.

    Every unit of the boundaries is drawn: communes with a figure in their class colour,
    communes whose figure is suppressed in grey (their hover text and the figure's data
    hold no number for them), and units without a row or with a missing value in light
    grey as "no data". Classes are computed on the published figures only. The shapes are
    filled paths on plain axes, embedded in the figure with coordinates rounded to
    :data:`COORDINATE_DECIMALS` decimals: no base map and no tile server, so the map draws
    offline, in JupyterLab as in an exported page.

    Parameters
    ----------
    frame : DataFrame
        One row per commune: ``commune_code`` (2025 vintage), ``column`` and, when figures
        may be suppressed, a boolean ``suppressed`` column.
    column : str
        The figure to map.
    boundaries : GeoDataFrame, optional
        Units to draw (:func:`povanalysis.geo.boundaries.boundaries.read_boundaries`); default
        :func:`povanalysis.geo.boundaries.boundaries.default_boundaries`, which are the schematic shapes unless
        ``$POVANALYSIS_BOUNDARIES`` names a file. Schematic shapes are labelled as such
        in the figure.
    lang : {"vi", "en"}
    scheme : {"quantiles", "natural_breaks", "fixed", None}
        Classes: quantiles, Fisher–Jenks natural breaks, the fixed ``thresholds``, or
        None for a continuous colour scale.
    k : int, default 5
        Number of classes for quantiles and natural breaks (fewer when there are fewer
        distinct values).
    thresholds : sequence of float, optional
        Class boundaries for ``scheme="fixed"``, increasing; classes are closed on the
        left (``15% – < 20%``). Default :data:`POLICY_THRESHOLDS`.
    highlight : str, optional
        A commune code to outline (used by the per-commune report).
    show_neighbours : bool
        Also outline the highlighted commune's neighbours (queen contiguity).
    zoom : bool
        Zoom the map to the highlighted commune (and its neighbours); only units inside
        the view are embedded.
    suppressed_column : str, None or "auto", default "auto"
        Boolean column flagging figures that must not be published. "auto": the column
        ``suppressed`` when ``frame`` has one, else none; a name: that column, which must
        exist; None: no suppression.
    title : str, optional
        Default: the label of ``column`` and the review year (``year``, or the one value of a
        ``review_year`` column of ``frame``).
    hover_columns : sequence or mapping, optional
        Extra columns for the hover text (mapping: column → label). Default: ``households``
        when present.
    value_format : {"auto", "percent", "points", "index", "number"}
        How figures are written; "auto" reads the column name (``*_rate`` and shares as
        percentages, ``change`` as percentage points, ``M0`` as an index).
    tolerance : float, optional
        Display simplification in metres (:func:`povanalysis.geo.boundaries.boundaries.simplify`); default
        :data:`povanalysis.geo.boundaries.boundaries.DEFAULT_TOLERANCE`, or 40 m when zooming; 0 for none.
    colorscale : str, optional
        A plotly colour scale name; default yellow–red, or red–blue for changes.
    column_label : str, optional
        How the figure is named in hover text and legend; default the label of ``column``.
    year : int, optional
        The review year the figures describe, named in the default title.

    Returns
    -------
    plotly.graph_objects.Figure
        One filled path (``Scatter`` with ``fill="toself"``) per unit drawn: the classes in
        order (or the continuous scale, then an invisible marker carrying its colour bar),
        the suppressed units, the units without data, then the outlines. A unit's trace has
        its class as ``name`` and ``legendgroup`` (one legend entry per class) and
        ``{"commune_code": ..., "value": ...}`` as ``meta``; suppressed and no-data units
        carry no ``value``. :func:`drawn` reads them back.

    References
    ----------
    Jenks, G. F. (1977). *Optimal data classification for choropleth maps*. Occasional
    paper 2, Department of Geography, University of Kansas.

    Rey, S. J., Stephens, P. and Laura, J. (2017). An evaluation of sampling and full
    enumeration strategies for Fisher Jenks classification in big data settings.
    *Transactions in GIS* 21(4): 796–810. doi:10.1111/tgis.12236

    Decision 33/2020/QĐ-TTg, Art. 3 (poor-household rate thresholds of Region III communes).

    Examples
    --------
    >>> f = pd.DataFrame({"commune_code": ["01840", "01843", "05665"], "poor_rate": [0.02, 0.18, 0.31],
    ...                   "households": [3000, 2500, 8], "suppressed": [False, False, True]})
    >>> fig = choropleth(f, "poor_rate", scheme="fixed", lang="en")
    >>> shown = drawn(fig)
    >>> shown[shown["legend"] != "No data"].to_numpy().tolist()
    [['01840', '< 15.0%', 0.02], ['01843', '15.0% – < 20.0%', 0.18], ['05665', 'Suppressed (too few households)', nan]]
    >>> [t.name for t in fig.data if t.showlegend is not False][:4]
    ['< 15.0%', '15.0% – < 20.0%', '≥ 20.0%', 'Suppressed (too few households)']
    >>> fig.layout.annotations[0].text
    'Schematic, not official boundaries'
    >>> choropleth(f, "poor_rate", scheme="fixed", year=2024).layout.title.text
    'Tỷ lệ hộ nghèo, rà soát 2024'
    """
    check_lang(lang)
    if suppressed_column == "auto":
        suppressed_column = "suppressed" if "suppressed" in getattr(frame, "columns", ()) else None
    frame = _check_frame(frame, column, suppressed_column)
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 2:
        raise ValueError(f"k must be an integer >= 2, got {k!r}")
    if value_format not in _FORMATS:
        raise ValueError(f"value_format must be one of {_FORMATS}, got {value_format!r}")
    if scheme == "fixed":
        thresholds = POLICY_THRESHOLDS if thresholds is None else tuple(thresholds)
        cuts = np.asarray(thresholds, dtype=float)
        if len(cuts) == 0 or not np.all(np.isfinite(cuts)) or np.any(np.diff(cuts) <= 0):
            raise ValueError(f"thresholds must be finite and strictly increasing, got {thresholds!r}")
    elif thresholds is not None:
        raise ValueError(f"thresholds are used only with scheme='fixed', got scheme={scheme!r}")
    boundaries = geo.default_boundaries() if boundaries is None else boundaries
    geo.check_boundaries(boundaries, "boundaries")
    unknown = sorted(set(frame["commune_code"].astype(str)) - set(boundaries["commune_code"]))
    if unknown:
        raise ValueError(
            f"'frame' has commune codes that are not units of the boundaries: {unknown[:5]}"
            f"{' …' if len(unknown) > 5 else ''} (maps use the 92 units of 2025)"
        )
    if hover_columns is None:
        hover_columns = (
            {"households": label("households", lang)}
            if "households" in frame.columns and column != "households"
            else {}
        )
    elif not isinstance(hover_columns, Mapping):
        hover_columns = {c: label(c, lang) for c in hover_columns}
    absent = [c for c in hover_columns if c not in frame.columns]
    if absent:
        raise ValueError(f"hover column {absent[0]!r} is not a column of 'frame'")
    if tolerance is None:
        tolerance = 40.0 if zoom else geo.DEFAULT_TOLERANCE

    display = _display(boundaries, tolerance)
    outlines, view = _highlight(display, highlight, show_neighbours, zoom, lang)
    kind = _kind(column, value_format)
    what = column_label or label(column, lang)
    rows = frame.assign(commune_code=frame["commune_code"].astype(str)).set_index("commune_code")
    codes = display["commune_code"].to_numpy()
    names = display.set_index("commune_code")["name"]
    in_frame = np.isin(codes, rows.index)
    value = rows[column].reindex(codes).to_numpy(dtype=float)
    hidden = np.zeros(len(codes), dtype=bool)
    if suppressed_column is not None:
        hidden = rows[suppressed_column].reindex(codes).fillna(False).to_numpy(dtype=bool)
    shown = in_frame & ~hidden & np.isfinite(value)
    missing = ~shown & ~hidden
    if view is not None:
        inside = shapely.intersects(
            display.geometry.to_numpy(), shapely.box(view[0][0], view[1][0], view[0][1], view[1][1])
        )
    else:
        inside = np.ones(len(codes), dtype=bool)

    def hover_of(i: int) -> str:
        lines = [f"<b>{names.iloc[i]}</b> ({codes[i]})", f"{what}: {_fmt(value[i], kind, lang)}"]
        for col, text in hover_columns.items():
            extra = rows.at[codes[i], col]
            shown_value = (
                _fmt(float(extra), _kind(col, "auto"), lang)
                if isinstance(extra, (int, float, np.number))
                else str(extra)
            )
            lines.append(f"{text}: {shown_value}")
        return "<br>".join(lines)

    fig = new_figure()
    paths = _paths(display)
    idx = np.flatnonzero(shown)
    scale = colorscale or (_DIVERGING if kind == "points" else _SEQUENTIAL)
    classes, class_names = _classify(value[idx], scheme, k, thresholds, kind, lang)
    if scheme is None:
        keep = idx[inside[idx]]
        if kind == "points":
            zmax = float(np.nanmax(np.abs(value[idx]))) if len(idx) else 1.0
            zmin = -zmax
        else:
            zmin = float(value[idx].min()) if len(idx) else 0.0
            zmax = float(value[idx].max()) if len(idx) else 1.0
        spread = zmax - zmin
        where = [(v - zmin) / spread if spread > 0 else 0.5 for v in value[keep]]
        fig.add_traces(
            _area_traces(
                paths,
                codes[keep],
                name=what,
                colour=None,
                colours=sample_colorscale(scale, where) if len(keep) else [],
                hover=[hover_of(i) for i in keep],
                values=value[keep],
            )
        )
        x0, y0, x1, y1 = shapely.total_bounds(display.geometry.to_numpy())
        fig.add_trace(
            _colour_bar(
                scale,
                zmin=zmin,
                zmax=zmax,
                title=what,
                tickformat={"percent": ".0%"}.get(kind),
                at=((x0 + x1) / 2, (y0 + y1) / 2),
                ticks=_point_ticks(zmin, zmax, lang) if kind == "points" else None,
            )
        )
    else:
        colours = (
            sample_colorscale(scale, list(np.linspace(0.12, 1.0, len(class_names))))
            if len(class_names) > 1
            else sample_colorscale(scale, [0.6])
        )
        for c, (cname, colour) in enumerate(zip(class_names, colours)):
            members = idx[(classes == c) & inside[idx]]
            fig.add_traces(
                _area_traces(
                    paths,
                    codes[members],
                    name=cname,
                    colour=colour,
                    hover=[hover_of(i) for i in members],
                    values=value[members],
                )
            )
    hid = np.flatnonzero(hidden & inside)
    if len(hid):
        fig.add_traces(
            _area_traces(
                paths,
                codes[hid],
                name=label("suppressed", lang),
                colour=_SUPPRESSED_COLOUR,
                hover=[f"<b>{names.iloc[i]}</b> ({codes[i]})<br>{label('suppressed', lang)}" for i in hid],
            )
        )
    gone = np.flatnonzero(missing & inside)
    if len(gone):
        fig.add_traces(
            _area_traces(
                paths,
                codes[gone],
                name=_t("missing", lang),
                colour=_MISSING_COLOUR,
                hover=[f"<b>{names.iloc[i]}</b> ({codes[i]})<br>{_t('missing', lang)}" for i in gone],
            )
        )
    for trace in outlines:
        fig.add_trace(trace)
    legend_title = what + (f" ({_t(scheme, lang)})" if scheme else "")
    if year is None and "review_year" in frame.columns and frame["review_year"].nunique() == 1:
        year = int(frame["review_year"].iloc[0])
    return _layout(
        fig,
        display,
        title=title or what + _year_suffix(year, lang),
        legend_title=legend_title,
        lang=lang,
        view=view,
        colour_bar=scheme is None,
    )


def _year_suffix(year: int | None, lang: str) -> str:
    """``, rà soát 2024`` (``, 2024 review``), or nothing without a year."""
    if year is None:
        return ""
    return f", rà soát {int(year)}" if lang == "vi" else f", {int(year)} review"


def drawn(fig: go.Figure) -> pd.DataFrame:
    """The units a map draws, read back from its traces, in drawing order.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        A map of this module.

    Returns
    -------
    DataFrame
        One row per unit drawn: ``commune_code``, ``legend`` (its class, or the suppressed
        or no-data entry) and ``value`` (the published figure, NaN when none is).

    Examples
    --------
    >>> f = pd.DataFrame({"commune_code": ["01840", "01843"], "rate": [0.1, 0.2]})
    >>> drawn(choropleth(f, "rate", scheme=None, lang="en")).head(3).to_numpy().tolist()
    [['01840', 'rate', 0.1], ['01843', 'rate', 0.2], ['01849', 'No data', nan]]
    """
    rows = [
        (t.meta["commune_code"], t.name, float(t.meta.get("value", np.nan)))
        for t in fig.data
        if isinstance(t.meta, dict) and "commune_code" in t.meta
    ]
    return pd.DataFrame(rows, columns=["commune_code", "legend", "value"])


def _year_rows(table: pd.DataFrame, year: int, name: str = "commune_year") -> pd.DataFrame:
    if "review_year" not in table.columns:
        raise ValueError(f"{name!r} has no column 'review_year'")
    years = sorted(int(y) for y in table["review_year"].unique())
    if int(year) not in years:
        raise ValueError(f"review year {year!r} is not in {name!r} (years: {years})")
    return table[table["review_year"] == int(year)]


#: The count each rate rests on: a rate is suppressed when that count is below the minimum cell.
_DENOMINATORS = {"poor_rate": "households", "near_poor_rate": "households", "minority_share_of_poor": "poor"}


def _min_cell(min_cell: int | None) -> int:
    limit = config.MIN_CELL if min_cell is None else int(min_cell)
    if limit < 1:
        raise ValueError(f"min_cell must be at least 1, got {min_cell!r}")
    return limit


def rate_map(
    commune_year: pd.DataFrame,
    *,
    year: int,
    rate: str = "poor_rate",
    boundaries: GeoDataFrame | None = None,
    lang: str = "vi",
    scheme: str | None = "quantiles",
    k: int = 5,
    thresholds: Sequence[float] | None = None,
    highlight: str | None = None,
    show_neighbours: bool = False,
    zoom: bool = False,
    title: str | None = None,
    min_cell: int | None = None,
) -> go.Figure:
    """Map of a rate by commune at one review: poor, near-poor, or minority share of the poor.

    A rate is suppressed when its row is flagged ``suppressed`` or when the count it rests
    on is below ``min_cell`` (households for the poor and near-poor rates, poor households
    for the ethnic-minority share of the poor).

    Parameters
    ----------
    commune_year : DataFrame
        :func:`povanalysis.data.pipeline.load_commune_year` or
        :func:`povanalysis.measure.aggregates.poverty_counts` by ``["commune_code", "review_year"]``.
    year : int
        Review year to map.
    rate : str, default "poor_rate"
        ``poor_rate``, ``near_poor_rate``, ``minority_share_of_poor`` or another share column.
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.

    Other parameters are those of :func:`choropleth`.

    Examples
    --------
    >>> cy = pd.DataFrame({"commune_code": ["01840", "01843"], "review_year": [2024, 2024],
    ...     "households": [3000, 2500], "poor": [60, 20], "poor_rate": [0.02, 0.008],
    ...     "suppressed": [False, False]})
    >>> fig = rate_map(cy, year=2024, lang="en", scheme=None)
    >>> drawn(fig).head(2).to_numpy().tolist()
    [['01840', 'Poor-household rate', 0.02], ['01843', 'Poor-household rate', 0.008]]
    >>> fig.layout.title.text
    'Poor-household rate, 2024 review'
    """
    check_lang(lang)
    rows = _year_rows(commune_year, year)
    _check_frame(rows, rate, "suppressed", "commune_year")
    limit = _min_cell(min_cell)
    hidden = rows["suppressed"].to_numpy(dtype=bool)
    base = _DENOMINATORS.get(rate)
    if base is not None:
        if base not in rows.columns:
            raise ValueError(f"'commune_year' has no column {base!r}, the count {rate!r} rests on")
        hidden = hidden | (rows[base].to_numpy() < limit)
    hover = [c for c in ("households", "poor") if c in rows.columns]
    default = label(rate, lang) + _year_suffix(year, lang)
    return choropleth(
        rows.assign(suppressed=hidden),
        rate,
        boundaries=boundaries,
        lang=lang,
        scheme=scheme,
        k=k,
        thresholds=thresholds,
        highlight=highlight,
        show_neighbours=show_neighbours,
        zoom=zoom,
        title=title or default,
        hover_columns=hover,
        value_format="percent",
    )


def change_map(
    commune_year: pd.DataFrame,
    *,
    start: int,
    end: int,
    rate: str = "poor_rate",
    boundaries: GeoDataFrame | None = None,
    lang: str = "vi",
    scheme: str | None = None,
    k: int = 5,
    highlight: str | None = None,
    show_neighbours: bool = False,
    zoom: bool = False,
    title: str | None = None,
    min_cell: int | None = None,
) -> go.Figure:
    """Map of the change of a rate between two reviews, in percentage points (end minus start).

    A commune's change is suppressed when its rate is suppressed at either review (see
    :func:`rate_map`) and is "no data" when either review lacks it. Decreases are blue,
    increases red, on a scale centred on zero.

    Parameters
    ----------
    commune_year : DataFrame
        Counts and rates by commune and review year.
    start, end : int
        The two review years.
    rate : str, default "poor_rate"

    Other parameters are those of :func:`choropleth` (``scheme`` defaults to continuous).

    Examples
    --------
    >>> cy = pd.DataFrame({"commune_code": ["01840", "01840"], "review_year": [2021, 2024],
    ...     "households": [3000, 3100], "poor": [300, 62], "poor_rate": [0.1, 0.02],
    ...     "suppressed": [False, False]})
    >>> fig = change_map(cy, start=2021, end=2024, lang="en")
    >>> round(fig.data[0].meta["value"], 4)
    -0.08
    >>> fig.data[0].text.split("<br>")[1:]
    ['Change (pts): −8.00', 'Poor-household rate 2021: 10.00%', 'Poor-household rate 2024: 2.00%']
    """
    check_lang(lang)
    if int(start) >= int(end):
        raise ValueError(f"start must be an earlier review than end, got start={start!r}, end={end!r}")
    a, b = _year_rows(commune_year, start), _year_rows(commune_year, end)
    limit = _min_cell(min_cell)
    parts = []
    for rows in (a, b):
        _check_frame(rows, rate, "suppressed", "commune_year")
        hidden = rows["suppressed"].to_numpy(dtype=bool)
        base = _DENOMINATORS.get(rate)
        if base is not None:
            if base not in rows.columns:
                raise ValueError(f"'commune_year' has no column {base!r}, the count {rate!r} rests on")
            hidden = hidden | (rows[base].to_numpy() < limit)
        parts.append(
            pd.DataFrame(
                {
                    "commune_code": rows["commune_code"].astype(str).to_numpy(),
                    "rate": rows[rate].to_numpy(dtype=float),
                    "hidden": hidden,
                }
            )
        )
    both = parts[0].merge(parts[1], on="commune_code", how="outer", suffixes=("_start", "_end"))
    hidden = both["hidden_start"].fillna(False).astype(bool) | both["hidden_end"].fillna(False).astype(bool)
    frame = pd.DataFrame(
        {
            "commune_code": both["commune_code"],
            "change": both["rate_end"] - both["rate_start"],
            "start_rate": both["rate_start"],
            "end_rate": both["rate_end"],
            "suppressed": hidden.to_numpy(),
        }
    )
    hover = {"start_rate": f"{label(rate, lang)} {int(start)}", "end_rate": f"{label(rate, lang)} {int(end)}"}
    what = f"{_t('change', lang)} ({_t('points', lang)})"
    lead = "Thay đổi" if lang == "vi" else "Change in the"
    default = f"{lead} {label(rate, lang).lower()}, {int(start)}–{int(end)} ({_t('points', lang)})"
    return choropleth(
        frame,
        "change",
        boundaries=boundaries,
        lang=lang,
        scheme=scheme,
        k=k,
        highlight=highlight,
        show_neighbours=show_neighbours,
        zoom=zoom,
        title=title or default,
        hover_columns=hover,
        value_format="points",
        column_label=what,
    )


def mpi_map(
    af: pd.DataFrame,
    *,
    measure: str = "M0",
    year: int | None = None,
    year_column: str = "review_year",
    boundaries: GeoDataFrame | None = None,
    lang: str = "vi",
    scheme: str | None = "quantiles",
    k: int = 5,
    highlight: str | None = None,
    show_neighbours: bool = False,
    zoom: bool = False,
    title: str | None = None,
    min_cell: int | None = None,
) -> go.Figure:
    """Map of an Alkire–Foster measure (``M0``, ``H`` or ``A``) by commune.

    The title and the hover name the Alkire–Foster measure with the cutoff k of ``af``
    (:func:`povanalysis.common.labels.af_label`): H is not the official poor-household rate.

    Parameters
    ----------
    af : DataFrame
        :func:`povanalysis.measure.indicators.alkire_foster` with ``by`` including ``commune_code``
        (and ``year_column``).
    measure : {"M0", "H", "A"}
    year : int, optional
        Review year to keep when ``af`` has ``year_column``.
    min_cell : int, optional
        A commune's measure is suppressed when it rests on fewer units (``n``) than this;
        default :data:`povanalysis.config.MIN_CELL`.

    Other parameters are those of :func:`choropleth`.

    References
    ----------
    Alkire, S. and Foster, J. (2011). Counting and multidimensional poverty measurement.
    *Journal of Public Economics* 95(7–8): 476–487. doi:10.1016/j.jpubeco.2010.11.006

    Examples
    --------
    >>> af = pd.DataFrame({"commune_code": ["01840", "01843", "01840"], "measure": ["M0", "M0", "H"],
    ...     "indicator": [None, None, None], "value": [0.051, 0.012, 0.2], "n": [400, 5, 400], "k": 0.25})
    >>> fig = mpi_map(af, scheme=None, lang="en")
    >>> drawn(fig).head(2).to_numpy().tolist()
    [['01840', 'Alkire–Foster adjusted headcount ratio M0 (k = 0.25)', 0.051], ['01843', 'Suppressed (too few households)', nan]]
    >>> mpi_map(af, measure="H", scheme=None).layout.title.text
    'Tỷ lệ hộ thiếu hụt đa chiều H (AF, k = 0,25)'
    """
    check_lang(lang)
    if measure not in ("M0", "H", "A"):
        raise ValueError(f"measure must be one of ('M0', 'H', 'A'), got {measure!r}")
    for col in ("commune_code", "measure", "value", "n"):
        if col not in af.columns:
            raise ValueError(f"'af' has no column {col!r}; pass alkire_foster(..., by=['commune_code', ...])")
    rows = af[(af["measure"] == measure) & af["commune_code"].notna()]
    if year_column in af.columns:
        if year is None:
            years = sorted(rows[year_column].dropna().unique().tolist())
            if len(years) > 1:
                raise ValueError(f"'af' has several years {years}: pass year=")
        else:
            rows = _year_rows(rows.rename(columns={year_column: "review_year"}), year, "af")
    elif year is not None:
        raise ValueError(f"'af' has no column {year_column!r} to select year={year!r}")
    limit = _min_cell(min_cell)
    name = af_label(measure, lang, **af_cutoff(af))
    frame = pd.DataFrame(
        {
            "commune_code": rows["commune_code"].astype(str).to_numpy(),
            measure: rows["value"].to_numpy(dtype=float),
            "n": rows["n"].to_numpy(),
            "suppressed": rows["n"].to_numpy() < limit,
        }
    )
    if year is None and year_column in rows.columns and rows[year_column].nunique() == 1:
        year = int(rows[year_column].iloc[0])
    suffix = _year_suffix(year, lang)
    return choropleth(
        frame,
        measure,
        boundaries=boundaries,
        lang=lang,
        scheme=scheme,
        k=k,
        highlight=highlight,
        show_neighbours=show_neighbours,
        zoom=zoom,
        title=title or name + suffix,
        hover_columns={"n": label("households", lang)},
        column_label=name,
    )


def loans_map(
    loans: pd.DataFrame,
    classified: pd.DataFrame,
    *,
    review_year: int,
    programmes: Sequence[str] | None = None,
    boundaries: GeoDataFrame | None = None,
    lang: str = "vi",
    scheme: str | None = "quantiles",
    k: int = 5,
    highlight: str | None = None,
    show_neighbours: bool = False,
    zoom: bool = False,
    title: str | None = None,
    min_cell: int | None = None,
) -> go.Figure:
    """Map of VBSP loans disbursed in the year after a review, per poor household of that review.

    The lists recognised at a review (September–December) are those lenders use the next
    calendar year, so the figure is: loans disbursed in ``review_year + 1`` (of the chosen
    programmes) to households of a commune, divided by the commune's poor households at
    ``review_year``. A borrower's commune is its commune at ``review_year`` (else its
    latest earlier record). Communes with fewer than ``min_cell`` poor households are
    suppressed. No household identifier reaches the figure.

    Parameters
    ----------
    loans : DataFrame
        :func:`povanalysis.data.pipeline.load_loans` (``household_id``, ``programme``, ``disbursed``).
    classified : DataFrame
        :func:`povanalysis.data.pipeline.load_classified` (``household_id``, ``review_year``,
        ``commune_code``, ``poverty_class``).
    review_year : int
    programmes : sequence of str, optional
        VBSP programmes to count (default: all).
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.

    Other parameters are those of :func:`choropleth`.

    References
    ----------
    Decree 78/2002/ND-CP (credit for the poor); Decision 15/2013/QĐ-TTg (near-poor);
    Decision 28/2015/QĐ-TTg (newly escaped households).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": [f"h{i}" for i in range(12)], "review_year": 2023,
    ...     "commune_code": "01840", "poverty_class": ["poor"] * 12})
    >>> ln = pd.DataFrame({"household_id": ["h0", "h1", "h1"], "programme": "poor",
    ...     "disbursed": pd.to_datetime(["2024-02-01", "2024-03-01", "2023-05-01"])})
    >>> fig = loans_map(ln, hh, review_year=2023, scheme=None)
    >>> fig.data[0].meta["commune_code"], round(fig.data[0].meta["value"], 4)
    ('01840', 0.1667)
    """
    check_lang(lang)
    for col in ("household_id", "programme", "disbursed"):
        if col not in loans.columns:
            raise ValueError(f"'loans' has no column {col!r}")
    for col in ("household_id", "review_year", "commune_code", "poverty_class"):
        if col not in classified.columns:
            raise ValueError(f"'classified' has no column {col!r}")
    years = sorted(int(y) for y in classified["review_year"].unique())
    if int(review_year) not in years:
        raise ValueError(f"review year {review_year!r} is not in 'classified' (years: {years})")
    limit = _min_cell(min_cell)
    chosen = loans[pd.to_datetime(loans["disbursed"]).dt.year == int(review_year) + 1]
    if programmes is not None:
        unknown = sorted(set(programmes) - set(loans["programme"].unique()))
        if unknown:
            raise ValueError(
                f"programmes {unknown} do not occur in 'loans' (programmes: {sorted(loans['programme'].unique())})"
            )
        chosen = chosen[chosen["programme"].isin(list(programmes))]
    earlier = classified[classified["review_year"] <= int(review_year)]
    home = (
        earlier.sort_values("review_year", kind="stable")
        .drop_duplicates("household_id", keep="last")
        .set_index("household_id")["commune_code"]
    )
    commune = chosen["household_id"].map(home)
    if commune.isna().any():
        raise ValueError(
            f"{int(commune.isna().sum())} loans in {int(review_year) + 1} go to households with no "
            f"review record up to {int(review_year)}"
        )
    at_review = classified[classified["review_year"] == int(review_year)]
    poor = (at_review["poverty_class"].astype(str) == "poor").groupby(at_review["commune_code"]).sum()
    counts = commune.value_counts().reindex(poor.index, fill_value=0)
    frame = pd.DataFrame({"commune_code": poor.index.astype(str), "loans": counts.to_numpy(), "poor": poor.to_numpy()})
    frame["loans_per_poor"] = np.where(
        frame["poor"] > 0, frame["loans"] / frame["poor"].where(frame["poor"] > 0, 1), np.nan
    )
    frame["suppressed"] = frame["poor"].to_numpy() < limit
    default = f"{_t('loans_per_poor', lang)}, {int(review_year) + 1}"
    fig = choropleth(
        frame,
        "loans_per_poor",
        boundaries=boundaries,
        lang=lang,
        scheme=scheme,
        k=k,
        highlight=highlight,
        show_neighbours=show_neighbours,
        zoom=zoom,
        title=title or default,
        hover_columns={"loans": _t("loans", lang), "poor": label("poor", lang)},
        value_format="number",
        column_label=_t("loans_per_poor", lang),
    )
    return fig


def hotspot_map(
    data: Lisa | pd.DataFrame,
    *,
    year: int | None = None,
    column: str = "poor_rate",
    alpha: float = 0.05,
    permutations: int = 999,
    seed: int = 0,
    boundaries: GeoDataFrame | None = None,
    lang: str = "vi",
    highlight: str | None = None,
    show_neighbours: bool = False,
    zoom: bool = False,
    title: str | None = None,
) -> go.Figure:
    """Map of LISA clusters: hot spots (High–High), cold spots (Low–Low) and outliers.

    Parameters
    ----------
    data : Lisa or DataFrame
        A :class:`povanalysis.geo.boundaries.hotspots.Lisa` result, or a commune table (e.g.
        :func:`povanalysis.data.pipeline.load_commune_year`) from which one is computed with
        ``column``, ``alpha``, ``permutations`` and ``seed`` on ``boundaries``.
    year : int, optional
        Review year to keep when ``data`` is a table with ``review_year``; named in the default
        title (with a :class:`Lisa`, the year its table was).

    Other parameters are those of :func:`choropleth`.

    Returns
    -------
    plotly.graph_objects.Figure
        The units of each cluster (``HH``, ``LL``, ``HL``, ``LH``, ``ns``, in that order,
        names in ``lang``), then the excluded (suppressed) communes, drawn as in
        :func:`choropleth`; the title gives the global Moran's I and its permutation p-value.

    References
    ----------
    Anselin, L. (1995). Local indicators of spatial association — LISA. *Geographical
    Analysis* 27(2): 93–115. doi:10.1111/j.1538-4632.1995.tb00338.x

    Examples
    --------
    >>> from povanalysis.geo import hotspots
    >>> from povanalysis.data import registry
    >>> u = registry.units()
    >>> f = pd.DataFrame({"commune_code": u["commune_code"], "v": u["lon"], "suppressed": False})
    >>> fig = hotspot_map(hotspots.lisa(f, "v", permutations=99, seed=1), lang="en")
    >>> list(drawn(fig)["legend"].unique()[:2])
    ['High–High (hot spot)', 'Low–Low (cold spot)']
    """
    from . import hotspots

    check_lang(lang)
    if isinstance(data, hotspots.Lisa):
        result = data
    else:
        rows = data if year is None else _year_rows(data, year, "data")
        if year is None and "review_year" in rows.columns and rows["review_year"].nunique() > 1:
            raise ValueError("'data' has several review years: pass year=")
        result = hotspots.lisa(rows, column, boundaries=boundaries, permutations=permutations, seed=seed, alpha=alpha)
    display = _display(result.boundaries if boundaries is None else boundaries, 40.0 if zoom else geo.DEFAULT_TOLERANCE)
    outlines, view = _highlight(display, highlight, show_neighbours, zoom, lang)
    table = result.to_frame().set_index("commune_code")
    codes = display["commune_code"].to_numpy()
    names = display.set_index("commune_code")["name"]
    if view is not None:
        inside = shapely.intersects(
            display.geometry.to_numpy(), shapely.box(view[0][0], view[1][0], view[0][1], view[1][1])
        )
    else:
        inside = np.ones(len(codes), dtype=bool)
    cluster = table["cluster"].reindex(codes)
    paths = _paths(display)
    kind = _kind(result.column, "auto")
    fig = new_figure()
    for key in hotspots.CLUSTERS:
        members = np.flatnonzero((cluster == key).to_numpy() & inside)
        hover = [
            f"<b>{names.iloc[i]}</b> ({codes[i]})<br>{_t(key, lang)}<br>"
            f"{label(result.column, lang)}: {_fmt(float(table.at[codes[i], 'value']), kind, lang)}<br>"
            f"p = {_p(float(table.at[codes[i], 'p_value']), lang)}"
            for i in members
        ]
        fig.add_traces(
            _area_traces(paths, codes[members], name=_t(key, lang), colour=_CLUSTER_COLOURS[key], hover=hover)
        )
    out = np.flatnonzero(cluster.isna().to_numpy() & inside)
    if len(out):
        fig.add_traces(
            _area_traces(
                paths,
                codes[out],
                name=_t("excluded", lang),
                colour=_SUPPRESSED_COLOUR,
                hover=[f"<b>{names.iloc[i]}</b> ({codes[i]})<br>{_t('excluded', lang)}" for i in out],
            )
        )
    for trace in outlines:
        fig.add_trace(trace)
    m = result.moran
    if year is None and not isinstance(data, hotspots.Lisa) and "review_year" in data.columns:
        if data["review_year"].nunique() == 1:
            year = int(data["review_year"].iloc[0])
    default = (
        f"{_t('hotspots', lang)}: {label(result.column, lang).lower() if lang == 'vi' else label(result.column, lang)}"
        f"{_year_suffix(year, lang)} — Moran's I = {_number(m.I, lang)} (p = {_p(m.p_value, lang)})"
    )
    legend = f"α = {_number(result.alpha, lang, 2)}"
    fig = _layout(fig, display, title=title or default, legend_title=legend, lang=lang, view=view)
    if view is None:
        # the whole province is tall and narrow: its legend stands inside the figure's right edge, where
        # "Không có ý nghĩa thống kê" was cut when the legend hung outside it
        fig.update_layout(legend=dict(x=1, xanchor="right"))
    return fig


def _number(value: float, lang: str, digits: int = 3) -> str:
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "vi" else text


def _p(value: float, lang: str) -> str:
    return _number(value, lang, 3)
