"""Figure of lasting exits: households leaving poverty each year and how many were still out later (plotly)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..common.labels import check_lang, format_number
from ..goals.exits import Exits
from ..reports.prose.exits import exit_label, publish_exits, unit_name
from .charts import PALETTE, apply_layout

__all__ = ["plot_exits"]


def plot_exits(
    exits: Exits,
    level: str = "commune",
    group: object = None,
    *,
    horizons: Sequence[int] = (1, 2),
    lang: str = "vi",
    fig: go.Figure | None = None,
) -> go.Figure:
    """Bars of the exits of each year beside the households still out one and two reviews later.

    The held bars carry the 95% interval of the held share (of all exits, the households no
    longer on the lists counted as not held) as households.  Only what the publication rule
    shows is drawn (:func:`povanalysis.reports.prose.exits.publish_exits`): a count under
    the limit, or one hidden to protect it, leaves its bar out and the title says how many.

    Parameters
    ----------
    exits : Exits
        :func:`povanalysis.goals.exits.lasting_exits`.
    level, group
        The unit (``"commune"`` and a code, ``"province"``...).
    horizons : sequence of int
        Later reviews drawn (default one and two).
    lang : {"vi", "en"}
    fig : Figure, optional
        A figure to draw on.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from povanalysis.goals.exits import lasting_exits
    >>> hist = {f"h{i}": ["poor", "not_poor", "not_poor" if i % 4 else "poor"] for i in range(60)}
    >>> hh = pd.DataFrame([{"household_id": h, "review_year": 2023 + j, "commune_code": "01",
    ...                     "poverty_class": c, "standard": "2022-2025"} for h, cs in hist.items()
    ...                    for j, c in enumerate(cs)])
    >>> f = plot_exits(lasting_exits(hh, min_cell=10), "province", lang="en")
    >>> [t.name for t in f.data], list(f.data[0].y), list(f.data[1].y)
    (['Households leaving poverty', 'Still out after 1 review(s)'], [60.0], [45.0])
    """
    check_lang(lang)
    if not isinstance(exits, Exits):
        raise TypeError(f"'exits' should be an Exits result, got {type(exits).__name__}")
    for k in horizons:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"'horizons' are numbers of later reviews (1, 2...), got {k!r}")
    cells = publish_exits(exits, level, group, lang=lang)
    group = "all" if group is None else group
    fig = fig if fig is not None else go.Figure()
    hidden = 0
    base = cells[cells["horizon"] == 0].sort_values("exit_year")
    shown = base["exits_value"].notna()
    hidden += int((~shown).sum())
    name = exit_label("figure_exits", lang)
    fig.add_trace(
        go.Bar(
            x=base.loc[shown, "exit_year"].astype(str).tolist(),
            y=base.loc[shown, "exits_value"].tolist(),
            name=name,
            marker_color="#999999",
            text=[format_number(v, lang) for v in base.loc[shown, "exits_value"]],
            textposition="outside",
            hovertemplate="%{x}: %{text}<extra>" + name + "</extra>",
        )
    )
    for i, k in enumerate(horizons):
        part = cells[cells["horizon"] == k].sort_values("exit_year")
        if part.empty:
            continue
        ok = part["held_value"].notna()
        hidden += int((~ok).sum())
        part = part[ok]
        if part.empty:
            continue
        name = exit_label("figure_held", lang, k=k)
        y = part["held_value"].to_numpy(dtype=float)
        fig.add_trace(
            go.Bar(
                x=part["exit_year"].astype(str).tolist(),
                y=y.tolist(),
                name=name,
                marker_color=PALETTE[i % len(PALETTE)],
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=(part["held_upper"].to_numpy(dtype=float) - y).tolist(),
                    arrayminus=(y - part["held_lower"].to_numpy(dtype=float)).tolist(),
                    color="#333333",
                ),
                customdata=np.column_stack([part["held_share"], part["held_ci"]]),
                hovertemplate="%{x}: %{y:,.0f} (%{customdata[0]}; "
                + exit_label("figure_interval", lang)
                + " %{customdata[1]})<extra>"
                + name
                + "</extra>",
            )
        )
    title = exit_label("figure_title", lang, who=unit_name(level, group, lang))
    if hidden:
        title += f"<br><sup>{exit_label('figure_hidden', lang, n=hidden, m=exits.min_cell)}</sup>"
    fig.update_layout(barmode="group")
    # counts of households: whole-number ticks from zero, at least 0–5 when every bar is small or zero
    tops = [v for trace in fig.data for v in (trace.y or ()) if v is not None and np.isfinite(v)]
    tops += [
        y + e
        for trace in fig.data
        if trace.error_y and trace.error_y.array
        for y, e in zip(trace.y, trace.error_y.array)
    ]
    if max(tops, default=0) < 5:
        fig.update_yaxes(range=[0, 5], dtick=1)
    fig.update_yaxes(rangemode="tozero", tickformat=",d")
    return apply_layout(
        fig, title, x=exit_label("exit_year", lang), y=exit_label("figure_y", lang), percent=False, top=80, lang=lang
    )
