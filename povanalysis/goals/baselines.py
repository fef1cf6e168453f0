"""Simple reference projections (persistence, drift) that every projection model must beat in backtests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special

from ..common.checks import check_alpha
from .projections import PROJECTION_YEARS, Projection
from .series import check_counts, check_min_cell, check_years, quantiles, random_stream, standard_in_force, unit_index

__all__ = ["persistence_projection", "drift_projection"]


def _series(counts: pd.DataFrame, by: list[str], years, alpha: float, n_sim: int):
    alpha = check_alpha(alpha)
    hh, poor = check_counts(counts, by)
    if n_sim < 2:
        raise ValueError(f"'n_sim' must be at least 2, got {n_sim!r}")
    year = counts["review_year"].to_numpy(dtype=int)
    ys = np.unique(year)
    if len(ys) < 2 or (np.diff(ys) != 1).any():
        raise ValueError(f"'counts' needs at least two consecutive review years, got {ys.tolist()}")
    yrs = check_years(years, int(ys[-1]))
    if "standard" in counts.columns:
        stds = sorted(counts["standard"].astype(str).unique())
    else:
        stds = sorted({s for s in (standard_in_force(int(y)) for y in ys) if s})
    if len(stds) != 1:
        raise ValueError(f"the series mixes standards {stds}: put every review on one standard first")
    codes, units, _ = unit_index(counts, by)
    n_u, n_t = len(units), len(ys)
    t_idx = np.searchsorted(ys, year)
    H = np.zeros((n_u, n_t))
    P = np.zeros((n_u, n_t))
    np.add.at(H, (codes, t_idx), hh)
    np.add.at(P, (codes, t_idx), poor)
    observed = units.iloc[codes].reset_index(drop=True)
    observed["review_year"] = year
    observed["households"] = hh.astype("int64")
    observed["poor"] = poor
    observed["rate"] = poor / hh
    observed = observed.sort_values(by + ["review_year"], kind="stable").reset_index(drop=True)
    return units, ys, yrs, H, P, observed, stds[0], alpha


def _changes(H: np.ndarray, P: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """One-step changes of the pooled logit rate of each group: (groups, reviews - 1)."""
    g = int(groups.max()) + 1
    HG = np.zeros((g, H.shape[1]))
    PG = np.zeros((g, H.shape[1]))
    np.add.at(HG, groups, H)
    np.add.at(PG, groups, P)
    rate = (PG + 0.5) / (HG + 1.0)
    return np.diff(special.logit(rate), axis=1)


def _unit_noise(H: np.ndarray, P: np.ndarray, groups: np.ndarray) -> float:
    """Variance of a unit's yearly logit change around its group's change, beyond sampling noise."""
    rate = (P + 0.5) / (H + 1.0)
    v = 1.0 / ((H + 1.0) * rate * (1 - rate))
    du = np.diff(special.logit(rate), axis=1)
    dg = _changes(H, P, groups)[groups]
    excess = (du - dg) ** 2 - v[:, 1:] - v[:, :-1]
    w = np.minimum(H[:, 1:], H[:, :-1])
    ok = w > 0
    if not ok.any():
        return 0.0
    return float(max(0.0, np.average(excess[ok], weights=w[ok])))


def _project(
    units,
    ys,
    yrs,
    H,
    P,
    observed,
    standard,
    alpha,
    n_sim,
    seed,
    groups,
    drift,
    sd,
    drift_se,
    tau,
    method,
    notes,
    min_cell,
) -> Projection:
    last_h, last_p = H[:, -1], P[:, -1]
    present = last_h > 0
    steps = (yrs - ys[-1]).astype(float)
    rng = random_stream(seed, 11)
    n_g, n_u, n_y = len(drift), len(last_h), len(yrs)
    # Common shock per group: a random walk on the logit scale, with the drift's own uncertainty.
    walk = np.cumsum(rng.standard_normal((n_sim, n_g, n_y)), axis=2) * sd[None, :, None]
    slope = drift[None, :] + drift_se[None, :] * rng.standard_normal((n_sim, n_g))
    walk = walk + slope[:, :, None] * steps[None, None, :]
    # Each unit: its current rate, with its sampling error, and its own random walk.  Both
    # unit terms are lognormal on the odds with mean one (shifted by half their variance), so
    # that pooling many units does not raise the group's rate (for small rates odds ~ rate).
    # A unit with no poor household (or only poor ones) stays there.
    rate0 = np.where(present, last_p / np.maximum(last_h, 1), 0.0)
    smooth = (last_p + 0.5) / (last_h + 1.0)
    v0 = 1.0 / ((last_h + 1.0) * smooth * (1 - smooth))
    with np.errstate(divide="ignore"):
        centre = special.logit(rate0)
    anchor = centre[None, :] + np.sqrt(v0)[None, :] * rng.standard_normal((n_sim, n_u)) - v0[None, :] / 2
    own = (
        np.cumsum(rng.standard_normal((n_sim, n_u, n_y)), axis=2) * np.sqrt(tau)
        - tau * np.arange(1, n_y + 1)[None, None, :] / 2
    )
    draws = special.expit(anchor[:, :, None] + walk[:, groups, :] + own)
    obs = rng.binomial(last_h.astype(np.int64)[None, :, None], draws) / np.maximum(last_h, 1)[None, :, None]
    keep = present
    draws, obs = draws[:, keep], obs[:, keep]
    mean = draws.mean(axis=0)
    lo, hi = quantiles(draws, alpha)
    return Projection(
        units=units[keep].reset_index(drop=True),
        years=yrs,
        households=last_h[keep],
        mean=mean,
        mean_se=draws.std(axis=0, ddof=1),
        ci_lower=lo,
        ci_upper=hi,
        draws=draws,
        obs_draws=obs,
        observed=observed,
        standard=standard,
        basis="as_classified",
        method=method,
        alpha=alpha,
        model=pd.DataFrame({"group": np.arange(n_g), "drift": drift, "sd": sd, "drift_se": drift_se}),
        notes=tuple(notes),
        min_cell=check_min_cell(min_cell),
    )


def _pool(counts: pd.DataFrame, units: pd.DataFrame, by: list[str], pool_by: str | None) -> tuple[np.ndarray, list]:
    if pool_by is None:
        return np.zeros(len(units), dtype=int), ["all"]
    if pool_by not in units.columns:
        raise ValueError(f"'pool_by' must be one of the unit columns {by}, got {pool_by!r}")
    g, names = pd.factorize(units[pool_by], sort=True)
    return g, [str(n) for n in names]


def persistence_projection(
    counts: pd.DataFrame,
    *,
    by: str | Sequence[str] = "commune_code",
    years: Sequence[int] = PROJECTION_YEARS,
    pool_by: str | None = None,
    alpha: float = 0.05,
    n_sim: int = 1000,
    seed: int = 0,
    min_cell: int | None = None,
) -> Projection:
    """Carry the last review's rate forward: the no-change baseline.

    The interval is that of a random walk without drift on the logit scale: the pooled
    rate of each ``pool_by`` group moves each year by a normal step whose variance is the
    mean squared one-step change of that group's past series, and a review records a
    binomial count of the unit's households.

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": "01", "review_year": [2023, 2024, 2025],
    ...                        "households": 500, "poor": [60, 50, 40]})
    >>> p = persistence_projection(counts, years=[2026], n_sim=200, min_cell=1)
    >>> round(float(np.median(p.draws[:, 0, 0])), 3)
    0.08
    """
    by = [by] if isinstance(by, str) else list(by)
    units, ys, yrs, H, P, observed, std, alpha = _series(counts, by, years, alpha, n_sim)
    groups, names = _pool(counts, units, by, pool_by)
    d = _changes(H, P, groups)
    sd = np.sqrt((d**2).mean(axis=1))
    notes = [
        f"last review ({int(ys[-1])}) carried forward; logit random walk without drift, step sd "
        + ", ".join(f"{n} {s:.3f}" for n, s in zip(names, sd))
    ]
    zero = np.zeros(len(names))
    return _project(
        units,
        ys,
        yrs,
        H,
        P,
        observed,
        std,
        alpha,
        n_sim,
        seed,
        groups,
        zero,
        sd,
        zero,
        _unit_noise(H, P, groups),
        "persistence",
        notes,
        min_cell,
    )


def drift_projection(
    counts: pd.DataFrame,
    *,
    by: str | Sequence[str] = "commune_code",
    years: Sequence[int] = PROJECTION_YEARS,
    pool_by: str | None = None,
    alpha: float = 0.05,
    n_sim: int = 1000,
    seed: int = 0,
    min_cell: int | None = None,
) -> Projection:
    """Continue the average yearly change of the logit rate: the random-walk-with-drift baseline.

    Each unit's odds of being poor change each year by the mean one-step change of the
    pooled logit rate of its ``pool_by`` group; the interval adds the random walk's steps
    (their sample variance, pooled over groups) and the drift's standard error, and a
    binomial count of the unit's households.  With two reviews the step variance cannot be
    estimated: the interval then has the sampling noise only (stated in the notes).

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": "01", "review_year": [2023, 2024, 2025],
    ...                        "households": 500, "poor": [60, 50, 40]})
    >>> p = drift_projection(counts, years=[2026], n_sim=200, min_cell=1)
    >>> 0.06 < float(p.mean[0, 0]) < 0.07
    True
    """
    by = [by] if isinstance(by, str) else list(by)
    units, ys, yrs, H, P, observed, std, alpha = _series(counts, by, years, alpha, n_sim)
    groups, names = _pool(counts, units, by, pool_by)
    d = _changes(H, P, groups)
    drift = d.mean(axis=1)
    k = d.shape[1]
    notes = []
    if k >= 2:
        var = float(((d - drift[:, None]) ** 2).sum() / (d.size - len(drift)))
        sd = np.full(len(names), np.sqrt(var))
    else:
        sd = np.zeros(len(names))
        var = 0.0
        notes.append("one yearly change only: no estimate of year-to-year variation")
    notes.insert(
        0, "logit random walk with drift per group: " + ", ".join(f"{n} {b:+.3f}/year" for n, b in zip(names, drift))
    )
    drift_se = np.full(len(names), np.sqrt(var / k))
    tau = _unit_noise(H, P, groups)
    notes.append(f"unit deviation from its group's yearly change: sd {np.sqrt(tau):.3f} on the logit scale")
    return _project(
        units,
        ys,
        yrs,
        H,
        P,
        observed,
        std,
        alpha,
        n_sim,
        seed,
        groups,
        drift,
        sd,
        drift_se,
        tau,
        "drift",
        notes,
        min_cell,
    )
