"""Figures of a Fay–Herriot fit (plotly figures, returned, never shown): estimates, shrinkage, CVs, residuals."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from ..common.labels import check_lang
from ..measure.sae import FayHerriotResult
from .charts import apply_layout, label_rows, new_figure

__all__ = ["plot_estimates", "plot_direct_vs_eblup", "plot_cv", "plot_residuals"]

#: Every text of the figures, by language.
_TEXT = {
    "vi": {
        "direct": "Ước lượng trực tiếp",
        "eblup": "EBLUP (Fay–Herriot)",
        "synthetic": "Ước lượng tổng hợp (không có mẫu)",
        "truth": "Giá trị thật (tổng điều tra)",
        "area": "Xã, phường",
        "ranked": "Xã, phường, xếp theo EBLUP",
        "estimate": "Ước lượng",
        "interval": "khoảng tin cậy {level:.0%}",
        "title_estimates": "Ước lượng trực tiếp và EBLUP theo xã, phường",
        "title_scatter": "EBLUP so với ước lượng trực tiếp",
        "identity": "đường y = x",
        "cv": "Hệ số biến thiên (%)",
        "cv_direct": "CV ước lượng trực tiếp",
        "cv_eblup": "CV của EBLUP",
        "ranked_cv": "Xã/phường, xếp theo CV trực tiếp",
        "title_cv": "Hệ số biến thiên: trực tiếp và EBLUP",
        "residuals": "Phần dư chuẩn hoá",
        "random_effects": "Hiệu ứng khu vực (chuẩn hoá)",
        "theoretical": "Phân vị chuẩn lý thuyết",
        "observed": "Phân vị quan sát",
        "title_residuals": "Kiểm tra phân phối chuẩn của mô hình Fay–Herriot",
        "gamma": "Hệ số co γ",
    },
    "en": {
        "direct": "Direct estimate",
        "eblup": "EBLUP (Fay–Herriot)",
        "synthetic": "Synthetic (not sampled)",
        "truth": "Truth (census)",
        "area": "Commune/ward",
        "ranked": "Communes/wards ranked by EBLUP",
        "estimate": "Estimate",
        "interval": "{level:.0%} interval",
        "title_estimates": "Direct estimates and EBLUPs by commune",
        "title_scatter": "EBLUP against the direct estimate",
        "identity": "y = x",
        "cv": "Coefficient of variation (%)",
        "cv_direct": "CV of the direct estimate",
        "cv_eblup": "CV of the EBLUP",
        "ranked_cv": "Communes/wards ranked by the direct CV",
        "title_cv": "Coefficient of variation: direct and EBLUP",
        "residuals": "Standardised residuals",
        "random_effects": "Area effects (standardised)",
        "theoretical": "Theoretical normal quantiles",
        "observed": "Observed quantiles",
        "title_residuals": "Normality checks of the Fay–Herriot model",
        "gamma": "Shrinkage γ",
    },
}


def _texts(lang: str) -> dict:
    return _TEXT[check_lang(lang)]


def _check_result(result: object) -> FayHerriotResult:
    if not isinstance(result, FayHerriotResult):
        raise TypeError(f"'result' should be a FayHerriotResult, got {type(result).__name__}")
    return result


def _names(result: FayHerriotResult, labels: Mapping | pd.Series | None) -> pd.Series:
    index = result.eblup.index
    if labels is None:
        return pd.Series(index.astype(str), index=index)
    names = pd.Series(labels)
    out = pd.Series([str(names.get(k, k)) for k in index], index=index)
    twice = out.duplicated(keep=False)
    out[twice] = [f"{name} ({key})" for key, name in out[twice].items()]
    return out


def plot_estimates(
    result: FayHerriotResult,
    *,
    lang: str = "vi",
    labels: Mapping | pd.Series | None = None,
    truth: Mapping | pd.Series | None = None,
    level: float = 0.95,
    fig: go.Figure | None = None,
    percent: bool = False,
) -> go.Figure:
    """Ranked dot plot: every area's direct estimate and EBLUP with their intervals, every area named.

    Areas are ranked by EBLUP; unsampled areas show their synthetic prediction.  ``labels``
    maps area keys to display names (e.g. Vietnamese commune names); ``truth`` (a Series
    keyed like the areas) adds the known values, as in a simulation.  With ``percent`` the
    estimates are shares and the axis reads them as percents (``10%``, not ``0,1``).

    Examples
    --------
    >>> from povanalysis.measure.sae import fay_herriot
    >>> res = fay_herriot([1.0, 2.0, 3.5, 4.0, 6.0], [0.5, 0.5, 1.0, 1.0, 2.0], [[1], [2], [3], [4], [5]])
    >>> [t.name for t in plot_estimates(res, lang="en").data]
    ['Direct estimate', 'EBLUP (Fay–Herriot)']
    """
    t = _texts(lang)
    table = _check_result(result).to_frame(level=level).sort_values("eblup", kind="stable")
    names = _names(result, labels).reindex(table.index)
    fig = new_figure() if fig is None else fig
    z = stats.norm.ppf(0.5 + level / 2.0)
    s = table["sampled"]
    interval = t["interval"].format(level=level)
    fig.add_trace(
        go.Scatter(
            x=table.loc[s, "direct"],
            y=names[s],
            mode="markers",
            name=t["direct"],
            marker={"symbol": "circle-open", "size": 8, "color": "#7f7f7f"},
            error_x={"type": "data", "array": z * table.loc[s, "direct_se"], "thickness": 1, "width": 0},
            hovertemplate=f"%{{y}}<br>{t['direct']}: %{{x:.4g}} ({interval})<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=table["eblup"],
            y=names,
            mode="markers",
            name=t["eblup"],
            marker={"size": 7, "color": np.where(s, "#1f77b4", "#ff7f0e").tolist()},
            error_x={
                "type": "data",
                "symmetric": False,
                "thickness": 1.5,
                "width": 0,
                "array": table["ci_upper"] - table["eblup"],
                "arrayminus": table["eblup"] - table["ci_lower"],
            },
            hovertemplate=f"%{{y}}<br>{t['eblup']}: %{{x:.4g}} ({interval})<extra></extra>",
        )
    )
    if truth is not None:
        truth = pd.Series(truth).reindex(table.index)
        fig.add_trace(
            go.Scatter(
                x=truth, y=names, mode="markers", name=t["truth"], marker={"symbol": "x", "size": 7, "color": "#d62728"}
            )
        )
    label_rows(fig, names.tolist())
    fig = apply_layout(
        fig, t["title_estimates"], x=t["estimate"], y=t["ranked"], percent=False, legend="top", lang=lang
    )
    if percent:
        fig.update_xaxes(tickformat=".0%")
    return fig


def plot_direct_vs_eblup(
    result: FayHerriotResult,
    *,
    lang: str = "vi",
    labels: Mapping | pd.Series | None = None,
    fig: go.Figure | None = None,
) -> go.Figure:
    """Scatter of EBLUP against the direct estimate, coloured by shrinkage, with the line y = x.

    Examples
    --------
    >>> from povanalysis.measure.sae import fay_herriot
    >>> res = fay_herriot([1.0, 2.0, 3.5, 4.0, 6.0], [0.5, 0.5, 1.0, 1.0, 2.0], [[1], [2], [3], [4], [5]])
    >>> plot_direct_vs_eblup(res, lang="en").layout.xaxis.title.text
    'Direct estimate'
    """
    t = _texts(lang)
    table = _check_result(result).to_frame()
    table = table[table["sampled"]]
    names = _names(result, labels).reindex(table.index)
    fig = new_figure() if fig is None else fig
    lo = float(min(table["direct"].min(), table["eblup"].min()))
    hi = float(max(table["direct"].max(), table["eblup"].max()))
    fig.add_trace(
        go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", name=t["identity"], line={"dash": "dash", "color": "#999"})
    )
    fig.add_trace(
        go.Scatter(
            x=table["direct"],
            y=table["eblup"],
            mode="markers",
            name=t["eblup"],
            text=names,
            marker={
                "color": table["gamma"],
                "colorscale": "Viridis",
                "cmin": 0,
                "cmax": 1,
                "size": 9,
                "colorbar": {"title": {"text": t["gamma"]}, "x": 1.02, "xanchor": "left", "len": 0.8},
            },
            hovertemplate="%{text}<br>%{x:.4g} → %{y:.4g}<extra></extra>",
        )
    )
    # the legend goes under the plot, the colour bar of γ at the right: neither covers the other
    return apply_layout(fig, t["title_scatter"], x=t["direct"], y=t["eblup"], percent=False, lang=lang)


def plot_cv(
    result: FayHerriotResult,
    *,
    lang: str = "vi",
    labels: Mapping | pd.Series | None = None,
    fig: go.Figure | None = None,
) -> go.Figure:
    """CV (%) of the direct estimate and of the EBLUP for each sampled area, ranked by the direct CV, every area named.

    Examples
    --------
    >>> from povanalysis.measure.sae import fay_herriot
    >>> res = fay_herriot([1.0, 2.0, 3.5, 4.0, 6.0], [0.5, 0.5, 1.0, 1.0, 2.0], [[1], [2], [3], [4], [5]])
    >>> [len(tr.x) for tr in plot_cv(res, lang="en").data]
    [5, 5]
    """
    t = _texts(lang)
    table = _check_result(result).to_frame()
    table = table[table["sampled"]].sort_values("direct_cv", kind="stable")
    names = _names(result, labels).reindex(table.index)
    fig = new_figure() if fig is None else fig
    for col, name, style in (
        ("direct_cv", t["cv_direct"], {"symbol": "circle-open", "color": "#7f7f7f", "size": 8}),
        ("cv", t["cv_eblup"], {"color": "#1f77b4", "size": 7}),
    ):
        fig.add_trace(
            go.Scatter(
                x=100 * table[col],
                y=names,
                mode="markers",
                name=name,
                marker=style,
                hovertemplate="%{y}<br>%{x:.1f}%<extra></extra>",
            )
        )
    label_rows(fig, names.tolist())
    return apply_layout(fig, t["title_cv"], x=t["cv"], y=t["ranked_cv"], percent=False, legend="top", lang=lang)


def plot_residuals(result: FayHerriotResult, *, lang: str = "vi", fig: go.Figure | None = None) -> go.Figure:
    """Normal Q–Q plot of the standardised residuals and of the standardised area effects.

    Examples
    --------
    >>> from povanalysis.measure.sae import fay_herriot
    >>> res = fay_herriot([1.0, 2.0, 3.5, 4.0, 6.0], [0.5, 0.5, 1.0, 1.0, 2.0], [[1], [2], [3], [4], [5]])
    >>> plot_residuals(res, lang="en").data[0].name
    'Standardised residuals'
    """
    t = _texts(lang)
    _check_result(result)
    fig = new_figure() if fig is None else fig
    for values, name in ((result.residuals, t["residuals"]), (result.random_effects, t["random_effects"])):
        v = np.sort(values.to_numpy())
        sd = v.std(ddof=1)
        if not sd > 0:
            continue
        q = stats.norm.ppf((np.arange(1, len(v) + 1) - 0.375) / (len(v) + 0.25))
        fig.add_trace(go.Scatter(x=q, y=(v - v.mean()) / sd, mode="markers", name=name))
    lim = 3.0
    fig.add_trace(
        go.Scatter(x=[-lim, lim], y=[-lim, lim], mode="lines", showlegend=False, line={"dash": "dash", "color": "#999"})
    )
    return apply_layout(fig, t["title_residuals"], x=t["theoretical"], y=t["observed"], percent=False, lang=lang)
