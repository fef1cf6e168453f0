"""What the targets ask of each commune and group, against a projection; the credit that would close the gaps."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from ..common.checks import require_frame
from .projections import Projection
from .reference_paths import commune_reference_paths
from .series import check_min_cell, quantiles, random_stream
from .targets import Target, check_targets, select

__all__ = [
    "cost_interval",
    "credit_scenario",
    "commune_requirements",
    "group_status",
    "province_ranking",
    "binding_target",
]


def _commune_names(codes) -> dict:
    from ..data import registry

    units = registry.units()
    known = dict(zip(units["commune_code"], units["name"]))
    return {c: known[c] for c in codes if c in known}


# --------------------------------------------------------------------------------------------
# (c) Credit scenario
# --------------------------------------------------------------------------------------------


def cost_interval(cost_per_exit: object, alpha: float) -> tuple[float, float, float] | None:
    """(estimate, lower, upper) in VND per exit from a number, a triple or a credit-module result (None for None).

    A result (:func:`povanalysis.impact.credit.cost_per_exit`) gives its ``vnd_per_exit`` and
    its ``conf_int(alpha=alpha)`` (None when its cost is infinite, i.e. its estimated effect is
    not above zero: the credit needed is then not given); a number is an interval of width zero.

    Examples
    --------
    >>> cost_interval(4e8, 0.05), cost_interval((4e8, 2e8, 8e8), 0.05)
    ((400000000.0, 400000000.0, 400000000.0), (400000000.0, 200000000.0, 800000000.0))
    """
    if cost_per_exit is None:
        return None
    if hasattr(cost_per_exit, "vnd_per_exit"):
        est = float(cost_per_exit.vnd_per_exit)
        if est == math.inf:  # the estimated effect is not above zero: no cost per exit to apply
            return None
        try:
            ci = cost_per_exit.conf_int(alpha=alpha)
        except TypeError:
            ci = cost_per_exit.conf_int()
        lo, hi = (float(v) for v in np.asarray(ci, dtype=float).ravel()[:2])
    elif isinstance(cost_per_exit, (int, float)) and not isinstance(cost_per_exit, bool):
        est = lo = hi = float(cost_per_exit)
    else:
        try:
            est, lo, hi = (float(v) for v in cost_per_exit)
        except (TypeError, ValueError):
            raise TypeError(
                "'cost_per_exit' should be a number, (estimate, lower, upper) or a result with "
                f"'vnd_per_exit' and 'conf_int()', got {cost_per_exit!r}"
            ) from None
    if not (math.isfinite(est) and est > 0):
        raise ValueError(f"'cost_per_exit' must be a positive amount of VND, got {est!r}")
    if not (lo <= est <= hi) or math.isnan(lo) or math.isnan(hi):
        raise ValueError(f"'cost_per_exit' interval must contain the estimate, got {est!r} in [{lo!r}, {hi!r}]")
    return est, lo, hi


def _cost_draws(cost, n_sim: int, alpha: float, rng) -> np.ndarray | None:
    """Lognormal draws matching the interval; None when the interval is unbounded or not positive."""
    est, lo, hi = cost
    if lo == hi:
        return np.full(n_sim, est)
    if lo <= 0 or not math.isfinite(hi):
        return None
    sigma = (math.log(hi) - math.log(lo)) / (2 * stats.norm.ppf(1 - alpha / 2))
    return np.exp(math.log(est) + sigma * rng.standard_normal(n_sim))


def _loans(additional_loans, proj: Projection, first: int) -> np.ndarray:
    n_u, yrs = len(proj.units), proj.years
    active = (yrs >= first).astype(float)
    if isinstance(additional_loans, (int, float)) and not isinstance(additional_loans, bool):
        total = float(additional_loans)
        if not math.isfinite(total) or total < 0:
            raise ValueError(f"'additional_loans' must be a number >= 0, got {additional_loans!r}")
        poor = proj.mean * proj.households[:, None]
        share = poor / np.where(poor.sum(axis=0) > 0, poor.sum(axis=0), 1)
        return total * share * active[None, :]
    if isinstance(additional_loans, pd.Series):
        if len(proj.by) != 1:
            raise ValueError("a Series of loans needs a projection with one unit column; pass a DataFrame")
        frame = additional_loans.rename("loans").rename_axis(proj.by[0]).reset_index()
        frame = frame.merge(pd.DataFrame({"year": yrs}), how="cross")
    elif isinstance(additional_loans, pd.DataFrame):
        frame = additional_loans
        require_frame(frame, "additional_loans", proj.by + ["year", "loans"])
    else:
        raise TypeError(
            "'additional_loans' should be a number, a Series by unit or a DataFrame with the unit "
            f"columns, 'year' and 'loans', got {type(additional_loans).__name__}"
        )
    values = pd.to_numeric(frame["loans"], errors="coerce").to_numpy(dtype=float)
    if (~np.isfinite(values) | (values < 0)).any():
        i = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0])
        raise ValueError(
            f"'additional_loans' row {frame.index[i]!r}: loans must be a number >= 0, got {frame['loans'].iloc[i]}"
        )
    u = pd.MultiIndex.from_frame(proj.units).get_indexer(pd.MultiIndex.from_frame(frame[proj.by]))
    if (u < 0).any():
        i = int(np.flatnonzero(u < 0)[0])
        raise ValueError(f"'additional_loans' names a unit not in the projection: {frame[proj.by].iloc[i].to_dict()}")
    t = np.searchsorted(yrs, frame["year"].to_numpy(dtype=int))
    inside = (t < len(yrs)) & (yrs[np.minimum(t, len(yrs) - 1)] == frame["year"].to_numpy(dtype=int))
    out = np.zeros((n_u, len(yrs)))
    np.add.at(out, (u[inside], t[inside]), values[inside])
    return out * active[None, :]


def credit_scenario(
    projection: Projection,
    additional_loans: float | pd.Series | pd.DataFrame,
    effect: float,
    effect_se: float,
    *,
    cost_per_exit: object = None,
    start_year: int | None = None,
    seed: int = 0,
) -> Projection:
    """Add VBSP loans to a projection, with the credit-impact estimate and its uncertainty.

    Each additional loan to a poor household lifts it out of poverty by the next review with
    probability ``effect`` (the estimand of :mod:`povanalysis.impact.credit`: the effect of a loan on
    not being poor at the next review, for borrowers poor at the review before).  Lifted
    households stay out of poverty to the end of the projection (no re-entry, which favours
    the scenario).  The effect is drawn from Normal(``effect``, ``effect_se``) kept in [0, 1],
    once per simulation, so its uncertainty adds to the projection's.

    Parameters
    ----------
    projection : Projection
        The baseline (any method).
    additional_loans : number, Series or DataFrame
        Loans a year: a number for the whole projection, spread over units in proportion
        to their projected poor households; a Series by unit (one unit column); or a
        DataFrame with the unit columns, ``year`` and ``loans``.
    effect, effect_se : float
        The estimate (probability points) and its standard error, e.g. from
        ``povanalysis.impact.credit.estimate_effect(...)`` (``.effect``, ``.se``).
    cost_per_exit : number, (estimate, lower, upper) or result, optional
        VND of credit per additional exit (e.g. ``povanalysis.impact.credit.cost_per_exit(...)``):
        adds the credit's value to :attr:`Projection.model`.
    start_year : int, optional
        First year with additional loans (default: the first projected year).
    seed : int
        Seed of the effect draws.

    Returns
    -------
    Projection
        ``model`` is the scenario table: unit columns, ``year``, ``loans``,
        ``additional_exits`` (cumulative, expected), ``effect``, ``effect_se`` and, with
        ``cost_per_exit``, ``credit_vnd``, ``credit_vnd_lower``, ``credit_vnd_upper``.

    Examples
    --------
    >>> from povanalysis.goals.projections import trend_projection
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> base = trend_projection(counts, n_sim=200, min_cell=1)
    >>> scn = credit_scenario(base, 20, effect=0.10, effect_se=0.0)
    >>> round(float((base.mean - scn.mean)[0, -1] * 500), 1)
    10.0
    """
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    for name, v, top in (("effect", effect, 1.0), ("effect_se", effect_se, math.inf)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not (0 <= v <= top):
            raise ValueError(f"'{name}' must be a number in [0, {top:g}], got {v!r}")
    first = int(projection.years[0]) if start_year is None else int(start_year)
    if first not in projection.years:
        raise ValueError(f"'start_year' {first} is not a projected year ({projection.years.tolist()})")
    loans = _loans(additional_loans, projection, first)
    n_sim = projection.draws.shape[0]
    rng = random_stream(seed, 3)
    e = (
        np.clip(effect + effect_se * rng.standard_normal(n_sim), 0.0, 1.0)
        if effect_se > 0
        else np.full(n_sim, float(effect))
    )
    h = projection.households[None, :, None]
    cum = np.cumsum(loans, axis=1)[None]
    mean = np.maximum(projection.mean - cum[0] * effect / h[0], 0.0)
    draws = np.maximum(projection.draws - cum * e[:, None, None] / h, 0.0)
    obs = np.maximum(projection.obs_draws - np.round(cum * e[:, None, None]) / h, 0.0)
    lo, hi = quantiles(draws, projection.alpha)
    scen = pd.DataFrame({c: np.repeat(projection.units[c].to_numpy(), len(projection.years)) for c in projection.by})
    scen["year"] = np.tile(projection.years, len(projection.units)).astype("int64")
    scen["loans"] = loans.ravel()
    exits = (projection.mean - mean) * h[0]
    scen["additional_exits"] = exits.ravel()
    scen["effect"], scen["effect_se"] = float(effect), float(effect_se)
    cost = cost_interval(cost_per_exit, projection.alpha)
    if cost is not None:
        scen["credit_vnd"] = scen["additional_exits"] * cost[0]
        scen["credit_vnd_lower"] = scen["additional_exits"] * cost[1]
        scen["credit_vnd_upper"] = scen["additional_exits"] * cost[2]
    note = (
        f"credit scenario from {first}: {loans.sum():,.0f} additional loans in all, effect {effect:.3f} "
        f"(se {effect_se:.3f}); lifted households assumed to stay out of poverty"
    )
    return replace(
        projection,
        mean=mean,
        mean_se=draws.std(axis=0, ddof=1),
        ci_lower=lo,
        ci_upper=hi,
        draws=draws,
        obs_draws=obs,
        method=f"credit scenario on {projection.method}",
        model=scen,
        notes=projection.notes + (note,),
    )


# --------------------------------------------------------------------------------------------
# What each commune must achieve
# --------------------------------------------------------------------------------------------


def _compare(
    proj: Projection, level: np.ndarray, prev: np.ndarray, start: np.ndarray, t0: np.ndarray, cost, *, seed: int = 0
) -> dict:
    """Gap, probability of meeting and required exits for per-unit paths ``level`` (units, years)
    starting at ``start`` in year ``t0`` (per unit)."""
    h = proj.households[:, None]
    gap = proj.mean - level
    gap_draws = proj.draws - level[None]
    glo, ghi = quantiles(gap_draws, proj.alpha)
    with np.errstate(invalid="ignore"):
        p_meet = (proj.obs_draws <= level[None] + 1e-12).mean(axis=0)
    p_meet = np.where(np.isfinite(level), p_meet, np.nan)
    extra = np.maximum(gap, 0) * h
    extra_draws = np.maximum(gap_draws, 0) * h[None]
    out = {
        "gap": gap,
        "gap_ci_lower": glo,
        "gap_ci_upper": ghi,
        "p_meet": p_meet,
        "exits_per_year": (start[:, None] - level) * h / (proj.years[None, :] - t0[:, None]),
        "exits_in_year": (prev - level) * h,
        "additional_exits": extra,
        "additional_exits_lower": quantiles(extra_draws, proj.alpha)[0],
        "additional_exits_upper": quantiles(extra_draws, proj.alpha)[1],
    }
    if cost is not None:
        rng = random_stream(seed, 4)
        cd = _cost_draws(cost, extra_draws.shape[0], proj.alpha, rng)
        out["credit_vnd"] = extra * cost[0]
        if cd is None:
            out["credit_vnd_lower"] = out["additional_exits_lower"] * max(cost[1], 0)
            out["credit_vnd_upper"] = np.where(out["additional_exits_upper"] > 0, np.inf, 0.0)
        else:
            lo, hi = quantiles(extra_draws * cd[:, None, None], proj.alpha)
            out["credit_vnd_lower"], out["credit_vnd_upper"] = lo, hi
    return out


def _check_standard(proj: Projection, baseline: pd.DataFrame) -> None:
    if "standard" not in baseline.columns:
        return
    stds = {s for s in baseline["standard"].dropna().astype(str).unique() if s}
    if stds and stds != {proj.standard}:
        raise ValueError(
            f"the baseline is on {sorted(stds)} but the projection on {proj.standard!r}: build the "
            f"baseline with standard={proj.standard!r}"
        )


def commune_requirements(
    projection: Projection,
    targets: Sequence[Target],
    baseline: pd.DataFrame,
    *,
    fallback: str | Target | None = None,
    fallback_rule: str = "proportional",
    cost_per_exit: object = None,
    min_cell: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """What each commune must achieve: its binding target, the gap to it, its chance, the credit to close it.

    A commune's targets are the ``scope="commune"`` targets whose population holds it; the
    binding one is the lowest path at the last projected year.  ``fallback`` (a target of
    the list, e.g. ``"province_high"``) gives a reference path to the communes no commune
    target covers.  A province-wide target is not a rule for every commune: a group-scope
    fallback is shared among the communes by :func:`povanalysis.goals.reference_paths.commune_reference_paths`
    (``fallback_rule``: ``"proportional"``, the same relative fall everywhere, or ``"points"``),
    so that the communes' paths add up to the province path; a commune-scope fallback is
    read commune by commune.  Communes with no target keep their rows with a missing target.
    A commune already at or below the binding target's floor is ``already_met``: no
    probability, no exits or credit needed.

    Parameters
    ----------
    projection : Projection
        By ``commune_code`` (aggregate a finer projection with
        ``projection.aggregate("commune_code")``).
    targets : sequence of Target
    baseline : DataFrame
        :func:`povanalysis.goals.targets.baseline` of the same targets, on the projection's standard.
    fallback : str or Target, optional
    fallback_rule : {"proportional", "points"}
        How a group-scope fallback is shared among communes.
    cost_per_exit : number, (estimate, lower, upper) or credit result, optional
        VND of credit per additional exit.
    min_cell : int, optional
        Default the projection's.
    seed : int
        Seed of the cost draws.

    Returns
    -------
    DataFrame
        One row per commune and projected year: ``commune_code``, ``name``, ``year``,
        ``target``, ``confirmed``, ``attainable`` (False when the path is held at the floor),
        ``start_level``, ``target_level``, ``mean``, ``ci_lower``, ``ci_upper``,
        ``obs_ci_lower``, ``obs_ci_upper``, ``gap`` (projected minus target, a share; > 0 is
        behind), ``gap_ci_lower``, ``gap_ci_upper``, ``p_meet`` (probability that the recorded
        rate meets the path), ``on_track``, ``households``, ``exits_per_year`` (households
        that must leave poverty each year, net, from the target's start to that year),
        ``exits_in_year`` (the net fall the path asks in that year alone),
        ``additional_exits`` (beyond the projection,
        with ``_lower``/``_upper``), ``credit_vnd`` (with ``_lower``/``_upper``, when
        ``cost_per_exit`` is given), ``standard``, ``suppressed``.

    Examples
    --------
    >>> from povanalysis.goals.projections import trend_projection
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5, "review_year": range(2021, 2026),
    ...                        "households": [500] * 5, "poor": [100, 90, 80, 72, 64]})
    >>> proj = trend_projection(counts, n_sim=200, min_cell=1)
    >>> t = Target("c", annual_reduction=3, scope="commune")
    >>> base = pd.DataFrame({"target": ["c", "c"], "kind": ["group", "commune"], "commune_code": [None, "01"],
    ...                      "households": [500, 500], "start_level": [0.128, 0.128]})
    >>> r = commune_requirements(proj, [t], base)
    >>> r.loc[r["year"] == 2030, ["target_level", "exits_per_year", "exits_in_year"]].round(3).to_dict("records")
    [{'target_level': 0.0, 'exits_per_year': 12.8, 'exits_in_year': 4.0}]
    """
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    if projection.by != ["commune_code"]:
        raise ValueError(
            f"'projection' must be by commune_code only, got {projection.by}: use projection.aggregate('commune_code')"
        )
    targets = check_targets(targets)
    require_frame(baseline, "baseline", ["target", "kind", "commune_code", "start_level"])
    _check_standard(projection, baseline)
    by_name = {t.name: t for t in targets}
    if isinstance(fallback, str):
        if fallback not in by_name:
            raise ValueError(f"'fallback' {fallback!r} is not one of the targets {sorted(by_name)}")
        fallback = by_name[fallback]
    cands = [t for t in targets if t.scope == "commune"]
    for t in cands + ([fallback] if fallback is not None else []):
        if t.direction != "decrease":
            raise ValueError(f"target {t.name!r}: commune requirements read decreasing targets only")
    yrs = projection.years
    codes = projection.units["commune_code"].to_numpy()
    n_u, n_y = len(codes), len(yrs)
    best = np.full((n_u, n_y), np.nan)
    prev = np.full((n_u, n_y), np.nan)
    start = np.full(n_u, np.nan)
    t0 = np.full(n_u, np.nan)
    name = np.full(n_u, None, dtype=object)
    attainable = np.full(n_u, None, dtype=object)
    rule = np.full(n_u, None, dtype=object)
    already = np.zeros(n_u, dtype=bool)

    def apply(t: Target, only_empty: bool):
        rows = baseline[(baseline["target"] == t.name) & (baseline["kind"] == "commune")]
        if rows.empty:
            if t is fallback:
                raise ValueError(
                    f"'baseline' has no commune rows for the fallback target {t.name!r}: pass it to "
                    "targets.baseline() (its population must be whole communes)"
                )
            return
        if yrs[0] <= t.start_year:
            raise ValueError(f"target {t.name!r} starts in {t.start_year}, not before the projection ({int(yrs[0])})")
        span = np.arange(t.start_year, max(int(yrs[-1]), t.end_year) + 1)
        if t.scope == "group":
            ref = commune_reference_paths(baseline, t, rule=fallback_rule, years=span).paths
            wide = ref.pivot(index="commune_code", columns="year", values="reference_level")
            rows = (
                ref.groupby("commune_code", sort=True)
                .agg(start_level=("start_level", "first"), attainable=("attainable", "all"))
                .reset_index()
            )
            lvl = wide.loc[rows["commune_code"], span].to_numpy(dtype=float)
            held = ~rows["attainable"].to_numpy(dtype=bool)
            rule_text = f"{fallback_rule} share of {t.name}"
        else:
            lvl = None
            rule_text = t.name
        pos = pd.Index(codes).get_indexer(rows["commune_code"])
        ok = pos >= 0
        pos, s = pos[ok], rows["start_level"].to_numpy(dtype=float)[ok]
        if lvl is None:
            lvl, raw = t.levels(s, span)
            held = (~np.isclose(lvl, raw, rtol=0, atol=1e-12))[:, span <= t.end_year].any(axis=1)
        else:
            lvl, held = lvl[ok], held[ok]
        cols = np.searchsorted(span, yrs)
        new, before = lvl[:, cols], lvl[:, cols - 1]
        met = t.already_met(s)
        for i, p in enumerate(pos):
            empty = name[p] is None
            if only_empty and not empty:
                continue
            if empty or new[i, -1] < best[p, -1] - 1e-12:
                best[p], prev[p], start[p], name[p], attainable[p] = new[i], before[i], s[i], t.name, not held[i]
                t0[p], rule[p], already[p] = t.start_year, rule_text, bool(met[i])

    for t in cands:
        apply(t, only_empty=False)
    if fallback is not None:
        apply(fallback, only_empty=True)
    cost = cost_interval(cost_per_exit, projection.alpha)
    cmp_ = _compare(projection, best, prev, start, t0, cost, seed=seed)
    frame = projection.to_frame()
    names = _commune_names(codes)
    out = pd.DataFrame({"commune_code": np.repeat(codes, n_y)})
    out["name"] = out["commune_code"].map(names)
    out["year"] = np.tile(yrs, n_u).astype("int64")
    out["target"] = np.repeat(name, n_y)
    out["confirmed"] = out["target"].map({t.name: t.confirmed for t in targets + ([fallback] if fallback else [])})
    out["attainable"] = np.repeat(attainable, n_y)
    out["start_level"] = np.repeat(start, n_y)
    out["target_level"] = best.ravel()
    for c in ("mean", "ci_lower", "ci_upper", "obs_ci_lower", "obs_ci_upper"):
        out[c] = frame[c].to_numpy()
    for k in ("gap", "gap_ci_lower", "gap_ci_upper", "p_meet"):
        out[k] = cmp_.pop(k).ravel()
    out["on_track"] = pd.array(np.where(np.isfinite(best.ravel()), out["gap"] <= 1e-12, None), dtype="boolean")
    out["households"] = frame["households"].to_numpy()
    for k, v in cmp_.items():
        out[k] = v.ravel()
    out.insert(out.columns.get_loc("target") + 1, "rule", np.repeat(rule, n_y))
    met = np.repeat(already, n_y)
    out.insert(out.columns.get_loc("attainable") + 1, "already_met", met)
    # Already at the floor: nothing to achieve, so no probability, no exits and no credit.
    out.loc[met, "p_meet"] = np.nan
    for c in [c for c in out.columns if c.startswith(("additional_exits", "credit_vnd"))] + [
        "exits_per_year",
        "exits_in_year",
    ]:
        out.loc[met, c] = 0.0
    out.loc[met, "on_track"] = True
    out["standard"] = projection.standard
    limit = projection.min_cell if min_cell is None else check_min_cell(min_cell)
    out["suppressed"] = out["households"] < limit
    return out


def group_status(
    projection: Projection,
    targets: Sequence[Target],
    baseline: pd.DataFrame,
    *,
    disadvantaged: Collection[str] = frozenset(),
    minority_areas: Collection[str] = frozenset(),
    cost_per_exit: object = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Each group target against the projection of its population: gap, chance and required exits.

    The projection's units are pooled into each target's population (:func:`povanalysis.goals.targets.select`
    on the unit columns), so a projection by ``["commune_code", "minority"]`` answers every
    default target.  A target whose population the units cannot express (ethnic-minority
    households in a projection by commune only) keeps its rows with a ``note``.

    Returns
    -------
    DataFrame
        One row per group target and projected year: ``target``, ``label``, ``confirmed``,
        ``year``, ``start_level``, ``target_level``, ``mean``, ``ci_lower``, ``ci_upper``,
        ``obs_ci_lower``, ``obs_ci_upper``, the columns of :func:`commune_requirements` from
        ``gap`` on, and ``note``.
    """
    if not isinstance(projection, Projection):
        raise TypeError(f"'projection' should be a Projection, got {type(projection).__name__}")
    targets = check_targets(targets)
    require_frame(baseline, "baseline", ["target", "kind", "start_level"])
    _check_standard(projection, baseline)
    cost = cost_interval(cost_per_exit, projection.alpha)
    yrs = projection.years
    parts = []
    units = projection.units
    for t in targets:
        if t.scope != "group":
            continue
        base = pd.DataFrame({"target": t.name, "label": t.label("en"), "confirmed": t.confirmed, "year": yrs})
        need = {"minority": ("minority", "ethnicity"), "column": (t.column,)}.get(t.population, ("commune_code",))
        if t.population != "all" and not any(c in units.columns for c in need):
            parts.append(
                base.assign(
                    note=f"the projection's units ({projection.by}) cannot express population "
                    f"{t.population!r}: project by {list(need[:1]) + ['commune_code']}"
                )
            )
            continue
        mask = select(units, t, disadvantaged=disadvantaged, minority_areas=minority_areas).to_numpy()
        if not mask.any():
            parts.append(base.assign(note="no projected unit in the population"))
            continue
        agg = projection.aggregate(mask, label=t.name)
        row = baseline[(baseline["target"] == t.name) & (baseline["kind"] == "group")]
        if row.empty:
            raise ValueError(f"'baseline' has no group row for target {t.name!r}")
        s = float(row["start_level"].iloc[0])
        if yrs[0] <= t.start_year:
            raise ValueError(f"target {t.name!r} starts in {t.start_year}, not before the projection ({int(yrs[0])})")
        span = np.arange(t.start_year, max(int(yrs[-1]), t.end_year) + 1)
        lvl, raw = t.levels([s], span)
        cols = np.searchsorted(span, yrs)
        level, prev = lvl[:, cols], lvl[:, cols - 1]
        cmp_ = (
            _compare(agg, level, prev, np.array([s]), np.array([t.start_year]), cost, seed=seed)
            if t.direction == "decrease"
            else None
        )
        if cmp_ is None:
            raise ValueError(f"target {t.name!r}: group status reads decreasing targets only")
        out = base.assign(
            start_level=s, target_level=level[0], mean=agg.mean[0], ci_lower=agg.ci_lower[0], ci_upper=agg.ci_upper[0]
        )
        lo, hi = quantiles(agg.obs_draws, agg.alpha)
        out["obs_ci_lower"], out["obs_ci_upper"] = lo[0], hi[0]
        for k, v in cmp_.items():
            out[k] = v[0]
        out["on_track"] = out["gap"] <= 1e-12
        out["households"] = agg.households[0]
        out["attainable"] = not (~np.isclose(lvl, raw, rtol=0, atol=1e-12))[0, span <= t.end_year].any()
        out["note"] = ""
        parts.append(out)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    out["standard"] = projection.standard
    return out


def province_ranking(
    requirements: pd.DataFrame, *, year: int | None = None, min_cell: int | None = None
) -> pd.DataFrame:
    """The province table: one row per commune ranked by what it contributes to the province's gap.

    The rank follows ``additional_exits`` (households that must leave poverty beyond the
    projection to meet the commune's path), so a large commune a little behind comes before
    a small one far behind; ``share_of_gap`` is its share of all communes' additional exits.

    A published table: every count and rate of a commune with fewer than ``min_cell``
    households is blanked (``suppressed`` True), and no household identifier appears.

    Parameters
    ----------
    requirements : DataFrame
        Output of :func:`commune_requirements`.
    year : int, optional
        The year ranked (default: the last projected).
    min_cell : int, optional
        Default :data:`povanalysis.config.MIN_CELL`.

    Returns
    -------
    DataFrame
        ``rank``, ``commune_code``, ``name``, ``year``, ``target``, ``confirmed``, ``attainable``,
        ``start_level``, ``target_level``, ``mean``, ``ci_lower``, ``ci_upper``, ``gap``,
        ``gap_ci_lower``, ``gap_ci_upper``, ``p_meet``, ``on_track``, ``households``,
        ``exits_per_year`` (from the target's start to ``year``), ``additional_exits``
        (and ``credit_vnd`` columns when present), ``standard``, ``suppressed``.
    """
    require_frame(requirements, "requirements", ["commune_code", "year", "gap", "households", "exits_per_year"])
    yrs = sorted(requirements["year"].unique().tolist())
    year = yrs[-1] if year is None else int(year)
    if year not in yrs:
        raise ValueError(f"'year' {year} is not in the requirements ({yrs})")
    out = requirements[requirements["year"] == year].copy()
    limit = check_min_cell(min_cell)
    small = out["households"].to_numpy() < limit
    out["suppressed"] = small
    numeric = [
        c
        for c in out.columns
        if c
        not in (
            "commune_code",
            "name",
            "year",
            "target",
            "rule",
            "confirmed",
            "attainable",
            "already_met",
            "on_track",
            "standard",
            "suppressed",
        )
        and pd.api.types.is_numeric_dtype(out[c])
        and not pd.api.types.is_bool_dtype(out[c])
    ]
    out[numeric] = out[numeric].astype(float)
    out.loc[small, numeric] = np.nan
    if "on_track" in out.columns:
        out["on_track"] = pd.array(out["on_track"], dtype="boolean")
        out.loc[small, "on_track"] = pd.NA
    if "additional_exits" in out.columns:
        total = float(np.nansum(out["additional_exits"].to_numpy(dtype=float)))
        out["share_of_gap"] = (
            out["additional_exits"] / total if total > 0 else np.where(out["gap"].notna(), 0.0, np.nan)
        )
        order = ["additional_exits", "gap", "commune_code"]
    else:
        order = ["gap", "commune_code"]
    out = out.sort_values(order, ascending=[False] * (len(order) - 1) + [True], na_position="last", kind="stable")
    out.insert(0, "rank", pd.array(np.where(out["gap"].notna(), np.arange(1, len(out) + 1), None), dtype="Int64"))
    keep = [
        "rank",
        "commune_code",
        "name",
        "year",
        "target",
        "rule",
        "confirmed",
        "attainable",
        "already_met",
        "start_level",
        "target_level",
        "mean",
        "ci_lower",
        "ci_upper",
        "obs_ci_lower",
        "obs_ci_upper",
        "gap",
        "gap_ci_lower",
        "gap_ci_upper",
        "p_meet",
        "on_track",
        "households",
        "exits_per_year",
        "additional_exits",
        "share_of_gap",
        "credit_vnd",
        "credit_vnd_lower",
        "credit_vnd_upper",
        "standard",
        "suppressed",
    ]
    return out[[c for c in keep if c in out.columns]].reset_index(drop=True)


def binding_target(requirements: pd.DataFrame, targets: Sequence[Target], commune_code: str) -> Target | None:
    """The target that binds a commune in :func:`commune_requirements` (None when it has none).

    Examples
    --------
    >>> r = pd.DataFrame({"commune_code": ["05500"], "target": ["t"]})
    >>> binding_target(r, [Target("t", annual_reduction=1)], "05500").name
    't'
    """
    require_frame(requirements, "requirements", ["commune_code", "target"])
    rows = requirements[requirements["commune_code"] == commune_code]
    if rows.empty:
        raise ValueError(
            f"commune_code {commune_code!r} is not in the requirements (codes are strings of five "
            f"digits, e.g. {requirements['commune_code'].iloc[0]!r})"
        )
    name = rows["target"].iloc[0]
    if not isinstance(name, str):
        return None
    found = [t for t in check_targets(targets) if t.name == name]
    if not found:
        raise ValueError(f"the requirements name the target {name!r}, which is not in 'targets'")
    return found[0]
