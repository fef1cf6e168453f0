"""Figures of the credit-impact analysis: event study, forest plot of estimates or subgroups, covariate balance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
import plotly.graph_objects as go

from .. import config
from ..common.checks import require_frame
from ..common.labels import check_lang, format_number
from ..impact.effects import CreditEffect, planted_effect
from ..impact.studies import EventStudy, Heterogeneity
from ..reports.prose.impact import DISPLAY_SCALE, method_name, term
from .charts import PALETTE, apply_layout, new_figure

__all__ = ["plot_event_study", "plot_forest", "plot_balance"]


def plot_event_study(
    study: EventStudy, *, truth: Mapping | float | None = None, lang: str = "vi", fig: go.Figure | None = None
) -> go.Figure:
    """Leads and lags with 95% intervals; the base review is the reference (0); suppressed points are left out.

    Examples
    --------
    >>> import numpy as np
    >>> t = pd.DataFrame({"event_time": [-2, -1, 0], "effect": [0.01, 0.0, 0.1], "se": [0.02, np.nan, 0.03],
    ...                   "ci_lower": [-0.03, np.nan, 0.04], "ci_upper": [0.05, np.nan, 0.16],
    ...                   "n_treated": [50, 0, 60], "n_control": [70, 0, 80], "suppressed": [False] * 3,
    ...                   "reference": [False, True, False]})
    >>> test = {"stat": 0.25, "df": 1, "df_denom": 40, "pvalue": 0.62, "event_times": (-2,)}
    >>> es = EventStudy(t, test, t, "exit", "poor", "not_yet", (2021, 2025))
    >>> f = plot_event_study(es, lang="en")
    >>> [round(v, 1) for v in f.data[0].y]
    [1.0, 10.0]
    """
    check_lang(lang)
    if not isinstance(study, EventStudy):
        raise TypeError(f"'study' should be an EventStudy, got {type(study).__name__}")
    s = DISPLAY_SCALE[study.outcome]
    t = study.table
    est = t[~t["reference"] & ~t["suppressed"]]
    ref = t[t["reference"]]
    fig = fig if fig is not None else new_figure()
    fig.add_trace(
        go.Scatter(
            x=est["event_time"].tolist(),
            y=(s * est["effect"]).tolist(),
            mode="markers",
            name=term("effect", lang),
            marker=dict(color=PALETTE[0], size=10),
            error_y=dict(
                type="data",
                symmetric=False,
                array=(s * (est["ci_upper"] - est["effect"])).tolist(),
                arrayminus=(s * (est["effect"] - est["ci_lower"])).tolist(),
                color=PALETTE[0],
            ),
            hovertemplate="%{x}: %{y:.2f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=ref["event_time"].tolist(),
            y=[0.0] * len(ref),
            mode="markers",
            name=term("reference", lang),
            marker=dict(color=PALETTE[7], size=10, symbol="circle-open"),
        )
    )
    value = planted_effect(truth, study.outcome, study.population)
    if value is not None:
        fig.add_trace(
            go.Scatter(
                x=[0],
                y=[s * value],
                mode="markers",
                name=term("truth", lang),
                marker=dict(color=PALETTE[1], size=12, symbol="x"),
            )
        )
    fig.add_hline(y=0, line=dict(color="#888888", width=1))
    fig.add_vline(x=-0.5, line=dict(color="#888888", width=1, dash="dash"))
    p = study.pretrend
    title = f"{term('event', lang)}: {term(study.outcome, lang).lower()}"
    if p["df"]:
        title += f"<br><sup>{term('pretrend', lang)}: p = {format_number(p['pvalue'], lang, digits=3)}</sup>"
    hidden = int(t["suppressed"].sum())
    if hidden:
        title += f"<br><sup>{hidden} {term('suppressed', lang)}</sup>"
    fig.update_xaxes(dtick=1)
    y_title = f"{term('effect', lang)} ({term('unit_' + study.outcome, lang)})"
    return apply_layout(fig, title, x=term("event_time", lang), y=y_title, percent=False, top=70, lang=lang)


def _forest_rows(
    estimates: Heterogeneity | pd.DataFrame | Iterable[CreditEffect], lang: str
) -> tuple[pd.DataFrame, str, str]:
    if isinstance(estimates, Heterogeneity):
        t = estimates.table
        names = [f"{term('by_' + b, lang)}: {term(g, lang)}" for b, g in zip(t["by"], t["group"])]
        frame = pd.DataFrame(
            {
                "name": names,
                "effect": t["effect"],
                "ci_lower": t["ci_lower"],
                "ci_upper": t["ci_upper"],
                "suppressed": t["suppressed"],
                "biased": False,
            }
        )
        return frame, estimates.outcome, estimates.population
    if isinstance(estimates, pd.DataFrame):
        need = ["name", "effect", "ci_lower", "ci_upper"]
        require_frame(estimates, "estimates", need)
        frame = estimates.assign(suppressed=estimates.get("suppressed", False), biased=estimates.get("biased", False))
        return frame, estimates.attrs.get("outcome", "exit"), estimates.attrs.get("population", "poor")
    results = list(estimates)
    if not results or not all(isinstance(r, CreditEffect) for r in results):
        raise TypeError("'estimates' should be CreditEffect results, a Heterogeneity result or a DataFrame")
    if len({r.outcome for r in results}) > 1:
        raise ValueError("'estimates' mix outcomes; plot one outcome at a time")
    rows = [(method_name(r, lang), r.effect, *r.conf_int(), r.n_treated < config.MIN_CELL, r.biased) for r in results]
    return (
        pd.DataFrame(rows, columns=["name", "effect", "ci_lower", "ci_upper", "suppressed", "biased"]),
        results[0].outcome,
        results[0].population,
    )


def plot_forest(
    estimates: Heterogeneity | pd.DataFrame | Iterable[CreditEffect],
    *,
    truth: Mapping | float | None = None,
    lang: str = "vi",
    title: str | None = None,
    fig: go.Figure | None = None,
) -> go.Figure:
    """Forest plot of estimates with 95% intervals: methods, or subgroups of :func:`heterogeneity`.

    Biased estimates are drawn in a warning colour; suppressed ones are left out and counted in
    the title.  ``truth`` draws the synthetic generator's planted value as a vertical line.

    Parameters
    ----------
    estimates : sequence of CreditEffect, Heterogeneity, or DataFrame
        A DataFrame needs ``name``, ``effect``, ``ci_lower``, ``ci_upper`` (in the outcome's own
        units) and may carry ``attrs["outcome"]``.

    Examples
    --------
    >>> r = CreditEffect(0.1, 0.02, 500, 100, 400, 50, "did", "exit", "poor", "not_yet", (2021, 2025),
    ...                  False, pd.DataFrame())
    >>> f = plot_forest([r], truth=0.1, lang="en")
    >>> list(f.data[0].y), list(f.data[0].x)
    (["Staggered DiD (Callaway–Sant'Anna)"], [10.0])
    """
    check_lang(lang)
    frame, outcome, population = _forest_rows(estimates, lang)
    s = DISPLAY_SCALE[outcome]
    shown = frame[~frame["suppressed"].astype(bool)]
    fig = fig if fig is not None else new_figure()
    for biased, part in shown.groupby(shown["biased"].astype(bool), sort=True):
        colour = PALETTE[1] if biased else PALETTE[0]
        fig.add_trace(
            go.Scatter(
                x=(s * part["effect"]).tolist(),
                y=part["name"].tolist(),
                mode="markers",
                marker=dict(color=colour, size=11, symbol="diamond" if biased else "circle"),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=(s * (part["ci_upper"] - part["effect"])).tolist(),
                    arrayminus=(s * (part["effect"] - part["ci_lower"])).tolist(),
                    color=colour,
                ),
                name=term("biased" if biased else "effect", lang),
                hovertemplate="%{y}: %{x:.2f}<extra></extra>",
            )
        )
    value = planted_effect(truth, outcome, population)
    if value is not None:
        fig.add_vline(
            x=s * value,
            line=dict(color=PALETTE[2], width=2, dash="dot"),
            annotation_text=term("truth", lang),
            annotation_position="top",
        )
    fig.add_vline(x=0, line=dict(color="#888888", width=1))
    text = title or f"{term('forest', lang)}: {term(outcome, lang).lower()}"
    hidden = int(frame["suppressed"].astype(bool).sum())
    if hidden:
        text += f"<br><sup>{hidden} {term('suppressed', lang)}</sup>"
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=180 + 45 * len(shown))
    return apply_layout(
        fig, text, x=f"{term('effect', lang)} ({term('unit_' + outcome, lang)})", y="", percent=False, top=70, lang=lang
    )


_COVARIATE_KEYS = {"log_income": "log_income_cov", "deprivations": "deprivations_cov"}


def plot_balance(
    balance: CreditEffect | pd.DataFrame, *, lang: str = "vi", threshold: float = 0.1, fig: go.Figure | None = None
) -> go.Figure:
    """Covariate balance (love plot): standardised mean differences before and after IPW weighting.

    Parameters
    ----------
    balance : CreditEffect or DataFrame
        An ``ipw`` result (its ``balance``) or a table with ``covariate``, ``smd_unweighted``,
        ``smd_weighted``.
    threshold : float
        Dotted guides at ``±threshold`` (0.1 is the usual rule of thumb).

    References
    ----------
    Austin, P. C. (2009). Balance diagnostics for comparing the distribution of baseline
    covariates between treatment groups in propensity-score matched samples. *Stat. Med.*
    28(25), 3083–3107. https://doi.org/10.1002/sim.3697

    Examples
    --------
    >>> b = pd.DataFrame({"covariate": ["minority", "size"], "smd_unweighted": [0.3, -0.2],
    ...                   "smd_weighted": [0.01, 0.02], "suppressed": [False, False]})
    >>> f = plot_balance(b, lang="en")
    >>> list(f.data[0].y), list(f.data[1].x)
    (['Ethnic-minority households', 'Household size'], [0.01, 0.02])
    """
    check_lang(lang)
    if isinstance(balance, CreditEffect):
        if balance.balance is None:
            raise ValueError(f"the {balance.method!r} result has no balance table: use method='ipw'")
        table = balance.balance
    elif isinstance(balance, pd.DataFrame):
        table = balance
    else:
        raise TypeError(f"'balance' should be an ipw CreditEffect or a DataFrame, got {type(balance).__name__}")
    require_frame(table, "balance", ("covariate", "smd_unweighted", "smd_weighted"))
    if "suppressed" in table.columns:
        table = table[~table["suppressed"].astype(bool)]
    names = [term(_COVARIATE_KEYS.get(c, c), lang) for c in table["covariate"]]
    fig = fig if fig is not None else new_figure()
    for col, key, colour, symbol in (
        ("smd_unweighted", "unweighted", PALETTE[1], "circle-open"),
        ("smd_weighted", "weighted", PALETTE[0], "circle"),
    ):
        fig.add_trace(
            go.Scatter(
                x=table[col].tolist(),
                y=names,
                mode="markers",
                name=term(key, lang),
                marker=dict(color=colour, size=11, symbol=symbol),
                hovertemplate="%{y}: %{x:.3f}<extra>" + term(key, lang) + "</extra>",
            )
        )
    for x in (-threshold, threshold):
        fig.add_vline(x=x, line=dict(color="#888888", width=1, dash="dot"))
    fig.add_vline(x=0, line=dict(color="#888888", width=1))
    fig.update_layout(height=180 + 40 * len(names))
    return apply_layout(fig, term("balance", lang), x=term("smd", lang), y="", percent=False, top=70, lang=lang)
