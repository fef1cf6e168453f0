"""Projections of the poor-household rate to 2030: the Projection result and the logit-linear trend model."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from ..common.checks import check_alpha, require_frame
from ..common.deprecation import moved_names
from ..measure.standards import get_standard
from .rebase import Rebase as _Rebase
from .series import check_counts, check_min_cell, check_years, quantiles, random_stream, standard_in_force, unit_index

__all__ = ["PROJECTION_YEARS", "Projection", "TrendFit", "trend_projection"]

#: Review years projected by default: the 2026–2030 period.
PROJECTION_YEARS: tuple[int, ...] = (2026, 2027, 2028, 2029, 2030)

#: Names that moved out of this module in 0.2.0, and their new homes (importable here for one release).
MOVED: dict[str, str] = {
    **dict.fromkeys(("Rebase", "rebase", "reclassify", "standard_gap"), "povanalysis.goals.rebase"),
    **dict.fromkeys(("STATES", "transition_projection"), "povanalysis.goals.transition"),
    **dict.fromkeys(
        ("credit_scenario", "commune_requirements", "group_status", "province_ranking", "binding_target"),
        "povanalysis.goals.requirements",
    ),
    **dict.fromkeys(("requirements_headline", "scenario_headline", "gap_labels"), "povanalysis.reports.prose.goals"),
    **dict.fromkeys(("plot_fan_chart", "plot_gap_bars"), "povanalysis.figures.goals"),
}


__getattr__ = moved_names(__name__, MOVED)


# --------------------------------------------------------------------------------------------
# The projection result
# --------------------------------------------------------------------------------------------


@dataclass
class Projection:
    """Projected poor-household rates by unit and year, with simulated uncertainty.

    The tidy table (:meth:`to_frame`) follows statsmodels' ``summary_frame``: ``mean``,
    ``mean_se``, ``ci_lower``/``ci_upper`` (interval of the expected rate, from the
    model's parameter uncertainty) and ``obs_ci_lower``/``obs_ci_upper`` (prediction
    interval of the rate a review will record, adding household-level chance).

    Attributes
    ----------
    units : DataFrame
        The unit keys (the ``by`` columns), one row per unit.
    years : ndarray
        Projected review years.
    households : ndarray
        Households per unit, held at the last review used.
    mean, mean_se, ci_lower, ci_upper : ndarray
        (units, years) arrays of the expected rate.
    draws, obs_draws : ndarray
        (simulations, units, years): simulated expected rates and simulated recorded rates.
    observed : DataFrame
        The series the projection rests on: ``by`` columns, ``review_year``, ``households``,
        ``poor``, ``rate`` (on the projection's standard, so shifted when rebased).
    standard : str
        The standard the rates are on.
    basis : {"as_classified", "rebased_shift", "reclassified"}
        How the series relates to the standard (see :meth:`basis_text`).
    method : str
        ``trend``, ``transition`` or ``credit scenario`` (with what it was applied to).
    alpha : float
        1 - coverage of the intervals.
    model : object
        What the projection rests on: the :class:`TrendFit` (trend), the table of
        transition rates (transition), the scenario table (credit scenario).
    notes : tuple of str
        Assumptions and exclusions, stated.
    min_cell : int
        Units with fewer households are flagged ``suppressed``.
    """

    units: pd.DataFrame
    years: np.ndarray
    households: np.ndarray
    mean: np.ndarray
    mean_se: np.ndarray
    ci_lower: np.ndarray
    ci_upper: np.ndarray
    draws: np.ndarray = field(repr=False)
    obs_draws: np.ndarray = field(repr=False)
    observed: pd.DataFrame = field(repr=False)
    standard: str = "2022-2025"
    basis: str = "as_classified"
    method: str = "trend"
    alpha: float = 0.05
    model: object = field(default=None, repr=False)
    notes: tuple[str, ...] = ()
    min_cell: int = 10

    @property
    def by(self) -> list[str]:
        """The unit columns."""
        return list(self.units.columns)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: unit columns, ``year``, ``households``, ``mean``, ``mean_se``, ``ci_lower``,
        ``ci_upper``, ``obs_ci_lower``, ``obs_ci_upper``, ``poor_mean``, ``standard``, ``method``, ``suppressed``."""
        n_u, n_y = len(self.units), len(self.years)
        lo, hi = quantiles(self.obs_draws, self.alpha)
        out = pd.DataFrame({c: np.repeat(self.units[c].to_numpy(), n_y) for c in self.by})
        out["year"] = np.tile(self.years, n_u).astype("int64")
        out["households"] = np.repeat(self.households, n_y).astype("int64")
        out["mean"] = self.mean.ravel()
        out["mean_se"] = self.mean_se.ravel()
        out["ci_lower"] = self.ci_lower.ravel()
        out["ci_upper"] = self.ci_upper.ravel()
        out["obs_ci_lower"] = lo.ravel()
        out["obs_ci_upper"] = hi.ravel()
        out["poor_mean"] = out["mean"] * out["households"]
        out["standard"] = self.standard
        out["method"] = self.method
        out["suppressed"] = out["households"] < self.min_cell
        return out

    def basis_text(self, lang: str = "vi") -> str:
        """Which standard the projection is on and how the series was brought to it, in words
        (:func:`povanalysis.reports.prose.goals.projection_basis`)."""
        from ..reports.prose.goals import projection_basis

        return projection_basis(self, lang)

    def summary(self) -> str:
        """A text account of the projection (returned, not printed)."""
        tot = self.aggregate()
        lines = [
            f"Projection ({self.method}), {len(self.units)} units by {self.by}, years "
            f"{int(self.years[0])}-{int(self.years[-1])}, {self.draws.shape[0]} simulations, "
            f"{100 * (1 - self.alpha):.0f}% intervals",
            "  " + self.basis_text("en"),
        ]
        for j, y in enumerate(self.years):
            lines.append(
                f"  {int(y)}: {100 * tot.mean[0, j]:.2f}% [{100 * tot.ci_lower[0, j]:.2f}, "
                f"{100 * tot.ci_upper[0, j]:.2f}] (all units, {int(tot.households[0]):,} households)"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _groups(self, groups, label_):
        n = len(self.units)
        if groups is None:
            return np.zeros(n, dtype=int), pd.DataFrame({"group": [label_]}), np.ones(n, bool)
        if isinstance(groups, str):
            if groups not in self.units.columns:
                raise ValueError(f"'groups' names {groups!r}, not a unit column of the projection ({self.by})")
            codes, uniq = pd.factorize(self.units[groups], sort=True)
            return codes, pd.DataFrame({groups: uniq}), np.ones(n, bool)
        values = np.asarray(groups)
        if values.shape != (n,):
            raise ValueError(f"'groups' must have one value per unit ({n}), got shape {values.shape}")
        if values.dtype == bool:
            if not values.any():
                raise ValueError("'groups' selects no unit")
            return np.zeros(n, dtype=int), pd.DataFrame({"group": [label_]}), values
        codes, uniq = pd.factorize(values, sort=True)
        return codes, pd.DataFrame({"group": uniq}), np.ones(n, bool)

    def aggregate(self, groups: str | ArrayLike | None = None, *, label: str = "all") -> Projection:
        """Pool units into groups by summing households and simulated poor households.

        Parameters
        ----------
        groups : None, str, or array of one value per unit
            None: all units in one group named ``label``; a unit column (e.g.
            ``"commune_code"`` for a projection by commune and ethnicity); labels per unit;
            or a boolean array selecting units (one group named ``label``).

        Returns
        -------
        Projection
            Expected rate of a group: household-weighted mean of its units; intervals
            from the pooled simulations.
        """
        codes, units, keep = self._groups(groups, label)
        g = len(units)
        w = np.zeros((len(self.units), g))
        w[np.flatnonzero(keep), codes[keep]] = self.households[keep]
        hh = w.sum(axis=0)
        if (hh == 0).any():
            raise ValueError("a group has no households in the projection")
        mean = (w.T @ self.mean) / hh[:, None]
        draws = np.moveaxis(np.tensordot(self.draws, w, axes=([1], [0])), 2, 1) / hh[None, :, None]
        obs = np.moveaxis(np.tensordot(self.obs_draws, w, axes=([1], [0])), 2, 1) / hh[None, :, None]
        lo, hi = quantiles(draws, self.alpha)
        obs_frame = self.observed
        unit_idx = pd.MultiIndex.from_frame(self.units).get_indexer(pd.MultiIndex.from_frame(obs_frame[self.by]))
        sel = unit_idx >= 0
        sel[sel] = keep[unit_idx[sel]]
        o = obs_frame.loc[sel, ["review_year", "households", "poor"]].copy()
        key = units.columns[0]
        o[key] = units[key].to_numpy()[codes[unit_idx[sel]]]
        o = o.groupby([key, "review_year"], sort=True)[["households", "poor"]].sum().reset_index()
        o["rate"] = o["poor"] / o["households"]
        return replace(
            self,
            units=units,
            households=hh,
            mean=mean,
            mean_se=draws.std(axis=0, ddof=1),
            ci_lower=lo,
            ci_upper=hi,
            draws=draws,
            obs_draws=obs,
            observed=o,
            notes=self.notes + (f"aggregated from {int(keep.sum())} units",),
        )


def _frame_standard(gaps) -> str:
    if not isinstance(gaps, pd.DataFrame) or "standard" not in gaps.columns:
        raise TypeError(
            "'rebase' should be a Rebase or a DataFrame with the unit columns, 'gap' and 'standard', "
            f"got {type(gaps).__name__}"
        )
    values = sorted(gaps["standard"].astype(str).unique())
    if len(values) != 1:
        raise ValueError(f"'rebase' column 'standard' must hold one standard, got {values}")
    return get_standard(values[0]).key


def _gap_index(rebase_, by: list[str], units_mi: pd.MultiIndex) -> np.ndarray:
    if isinstance(rebase_, _Rebase):
        gaps = rebase_.gaps(by)
    elif isinstance(rebase_, pd.DataFrame):
        require_frame(rebase_, "rebase", by + ["gap", "standard"])
        gaps = rebase_
    else:
        raise TypeError(
            f"'rebase' should be a Rebase or a DataFrame with {by}, 'gap' and 'standard', got {type(rebase_).__name__}"
        )
    pos = pd.MultiIndex.from_frame(gaps[by]).get_indexer(units_mi)
    if (pos < 0).any():
        missing = [k[0] if len(k) == 1 else k for k in units_mi[pos < 0][:5].tolist()]
        raise ValueError(f"'rebase' has no gap for the units {missing} ({int((pos < 0).sum())} in all)")
    return gaps["gap"].to_numpy(dtype=float)[pos]


def _beta_binomial(rng, n: np.ndarray, p: np.ndarray, phi: float) -> np.ndarray:
    """Recorded rates: binomial counts out of ``n`` with extra-binomial dispersion ``phi`` (variance x phi)."""
    n = np.broadcast_to(n, p.shape)
    q = p
    if phi > 1:
        rho = np.clip((phi - 1) / np.maximum(n - 1, 1), 1e-9, 0.999)
        k = 1 / rho - 1
        pc = np.clip(p, 1e-12, 1 - 1e-12)
        q = np.where((p <= 0) | (p >= 1), p, rng.beta(pc * k, (1 - pc) * k))
    return rng.binomial(n.astype(np.int64), np.clip(q, 0, 1)) / np.maximum(n, 1)


# --------------------------------------------------------------------------------------------
# (a) Trend model
# --------------------------------------------------------------------------------------------


@dataclass
class TrendFit:
    """The fitted logit-linear trend: ``logit p = level[unit] + trend[group] * (year - last review)``.

    Attributes
    ----------
    level : ndarray
        Unit levels (logit of the rate at the last review) of the units fitted.
    trend : ndarray
        Yearly trends on the logit scale, one per slope group.
    groups : list of str
        Names of the slope groups.
    info_level, info_cross, info_trend : ndarray
        The blocks of the Fisher information: per unit Σw and Σw·d, per group
        Σw·d² − Σ(Σw·d)²/Σw (the information on the trend with the levels profiled out).
    dispersion : float
        Pearson χ²/df; the covariance is scaled by ``scale = max(dispersion, 1)``.
    scale : float
    df_resid : int
    loglik : float
        Binomial log-likelihood (up to the constant).
    iterations : int
    coefficients : DataFrame
        ``term`` (level or trend), ``key`` (unit or group), ``estimate``, ``se`` (scaled).
    """

    level: np.ndarray
    trend: np.ndarray
    groups: list
    info_level: np.ndarray
    info_cross: np.ndarray
    info_trend: np.ndarray
    dispersion: float
    scale: float
    df_resid: int
    loglik: float
    iterations: int
    coefficients: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The coefficient table."""
        return self.coefficients.copy()

    def summary(self) -> str:
        """The trends and the dispersion, as text."""
        lines = [
            f"Logit-linear trend with unit levels: {len(self.level)} units, {len(self.trend)} trend groups, "
            f"dispersion {self.dispersion:.3f} (scale {self.scale:.3f}, df {self.df_resid}), "
            f"{self.iterations} iterations"
        ]
        for g, b, i in zip(self.groups, self.trend, self.info_trend):
            lines.append(f"  trend[{g}] = {b:+.4f} per year (se {math.sqrt(self.scale / i):.4f})")
        return "\n".join(lines)


def _fit_trend(y, n, unit, unit_group, d, groups, *, tol: float = 1e-10, max_iter: int = 100) -> TrendFit:
    """Maximum likelihood of the binomial logit model with unit levels and group trends, by Newton's method.

    Each row belongs to one unit and each unit to one trend group, so the information matrix
    has a diagonal level block and a diagonal trend block once the levels are profiled out
    (Schur complement): every step is O(rows) and the result equals statsmodels' GLM with one
    dummy per unit.
    """
    n_u, n_g = len(unit_group), len(groups)
    group = unit_group[unit]

    def tally(idx, w, k):
        return np.bincount(idx, weights=w, minlength=k)

    def loglik(a, b):
        eta = a[unit] + b[group] * d
        return float(np.sum(n * (y * eta - np.logaddexp(0, eta))))

    dmin, dmax = np.full(n_u, np.inf), np.full(n_u, -np.inf)
    np.minimum.at(dmin, unit, d)
    np.maximum.at(dmax, unit, d)
    informed = np.zeros(n_g, bool)
    np.logical_or.at(informed, unit_group, dmax > dmin)
    if not informed.all():
        bad = [groups[g] for g in np.flatnonzero(~informed)]
        raise ValueError(
            f"no information on the trend of the slope groups {bad}: their units are seen in one "
            "review only; use a coarser 'slope_by'"
        )
    diverged = ValueError(
        f"the trend model did not converge in {max_iter} iterations (a unit whose poverty ends "
        "early and has its own trend diverges): use a coarser 'slope_by'"
    )
    pooled = tally(unit, n * y, n_u) / tally(unit, n, n_u)
    level, trend = special.logit(np.clip(pooled, 1e-6, 1 - 1e-6)), np.zeros(n_g)
    ll = loglik(level, trend)
    for it in range(1, max_iter + 1):  # noqa: B007 (the count is read after the loop)
        mu = special.expit(level[unit] + trend[group] * d)
        r, w = n * (y - mu), n * mu * (1 - mu)
        a, c = tally(unit, w, n_u), tally(unit, w * d, n_u)
        S = tally(group, w * d * d, n_g) - tally(unit_group, c * c / a, n_g)
        if (S <= 1e-10).any() or (a <= 1e-10).any():
            raise diverged
        s_a = tally(unit, r, n_u)
        db = (tally(group, r * d, n_g) - tally(unit_group, c * s_a / a, n_g)) / S
        da = (s_a - c * db[unit_group]) / a
        step = 1.0
        while True:
            new = loglik(level + step * da, trend + step * db)
            if new >= ll - 1e-9 * abs(ll) or step < 1e-8:
                break
            step /= 2
        level, trend, ll = level + step * da, trend + step * db, new
        if max(np.abs(step * da).max(), np.abs(step * db).max()) < tol:
            break
    else:
        raise diverged
    mu = special.expit(level[unit] + trend[group] * d)
    w = n * mu * (1 - mu)
    a, c = tally(unit, w, n_u), tally(unit, w * d, n_u)
    S = tally(group, w * d * d, n_g) - tally(unit_group, c * c / a, n_g)
    pearson = float(np.sum(n * (y - mu) ** 2 / (mu * (1 - mu))))
    df = len(y) - n_u - n_g
    phi = pearson / df if df > 0 else 1.0
    return TrendFit(
        level=level,
        trend=trend,
        groups=list(groups),
        info_level=a,
        info_cross=c,
        info_trend=S,
        dispersion=phi,
        scale=max(phi, 1.0),
        df_resid=int(df),
        loglik=ll,
        iterations=it,
    )


def trend_projection(
    counts: pd.DataFrame,
    *,
    by: str | Sequence[str] = "commune_code",
    years: Sequence[int] = PROJECTION_YEARS,
    slope_by: str | None = None,
    rebase: _Rebase | pd.DataFrame | None = None,
    alpha: float = 0.05,
    n_sim: int = 1000,
    seed: int = 0,
    min_cell: int | None = None,
) -> Projection:
    """Project poor-household rates with a logit-linear trend in review year and unit effects.

    The model is a binomial GLM on the review counts, ``logit p[u, t] = a[u] + b[g(u)] (t - T)``,
    with one level ``a`` per unit (commune, or commune × group) at the last review ``T``
    and a trend ``b`` shared by the units of a ``slope_by`` group (one common trend by
    default).  Extra-binomial variation between communes and years is taken into account by
    the quasi-binomial scale (Pearson χ²/df, never below 1), which widens every interval.
    The maximum-likelihood fit is Newton's method on the block structure of the model
    (:class:`TrendFit`): the same estimates and covariance as statsmodels' ``GLM`` with
    ``family=Binomial()``, ``var_weights=households`` and a dummy per unit, at a cost linear in
    the number of rows (a dense dummy design is 16,500 × 3,300 for the country's communes).

    Intervals of the expected rate: delta method on the logit scale, as statsmodels'
    ``get_prediction``.  Simulations: the coefficients are drawn from their estimated
    normal distribution, and recorded rates from a beta-binomial with the same dispersion.
    A unit with no poor household in any review (or only poor households) has no finite
    level: it is projected at 0 (or 1) with the Jeffreys interval of its pooled
    household-years (Brown, Cai & DasGupta 2001), and no trend.

    Parameters
    ----------
    counts : DataFrame
        One row per unit and review year: the ``by`` columns, ``review_year``,
        ``households`` and ``poor`` (output of :func:`povanalysis.measure.aggregates.poverty_counts`).
        A ``standard`` column, when present, says which standard the counts are on;
        otherwise the review years' default standard.
    by : str or sequence of str
        Unit columns, e.g. ``"commune_code"`` or ``["commune_code", "minority"]``.
    years : sequence of int
        Consecutive years to project, after the last review.
    slope_by : str, optional
        Column (constant within a unit) whose groups get their own trend, e.g.
        ``"old_area"``; the unit column itself gives each unit its own trend.
    rebase : Rebase or DataFrame, optional
        Project on the new standard: each unit's series is shifted by its rebasing gap
        (``Rebase.gaps(by)``, a share added to every year's rate, kept within [0, 1]).  A
        DataFrame gives the ``by`` columns, ``gap`` and ``standard`` (the new standard).
    alpha : float
        1 - coverage.
    n_sim : int
        Number of simulations.
    seed : int
        Seed of the simulations.
    min_cell : int, optional
        Units with fewer households are flagged ``suppressed``.

    Returns
    -------
    Projection

    References
    ----------
    McCullagh, P. & Nelder, J. A. (1989). *Generalized Linear Models*, 2nd ed., ch. 4
    (quasi-likelihood, dispersion). Brown, L. D., Cai, T. T. & DasGupta, A. (2001). Interval
    estimation for a binomial proportion. *Statistical Science* 16(2), 101–133.
    doi:10.1214/ss/1009213286.

    Examples
    --------
    >>> counts = pd.DataFrame({"commune_code": ["01"] * 5 + ["02"] * 5,
    ...                        "review_year": list(range(2021, 2026)) * 2,
    ...                        "households": [400] * 10,
    ...                        "poor": [80, 66, 54, 44, 36, 40, 33, 27, 22, 18]})
    >>> p = trend_projection(counts, n_sim=200, min_cell=1)
    >>> f = p.to_frame()
    >>> f.loc[f["year"] == 2030, ["commune_code", "mean"]].round(3).to_dict("list")
    {'commune_code': ['01', '02'], 'mean': [0.031, 0.015]}
    """
    by = [by] if isinstance(by, str) else list(by)
    alpha = check_alpha(alpha)
    hh, poor = check_counts(counts, by, extra=[slope_by] if slope_by else [])
    if n_sim < 2:
        raise ValueError(f"'n_sim' must be at least 2, got {n_sim!r}")
    year = counts["review_year"].to_numpy(dtype=int)
    if len(np.unique(year)) < 2:
        raise ValueError("'counts' needs at least two review years to estimate a trend")
    ref = int(year.max())
    yrs = check_years(years, ref)
    if "standard" in counts.columns:
        stds = sorted(counts["standard"].astype(str).unique())
    else:
        stds = sorted({s for s in (standard_in_force(int(y)) for y in np.unique(year)) if s})
    if len(stds) != 1:
        raise ValueError(
            f"the series mixes standards {stds}: put every review on one standard first (reclassify, or rebase)"
        )
    standard, basis = stds[0], "as_classified"
    codes, units, units_mi = unit_index(counts, by)
    n_units = len(units)
    rate = poor / hh
    notes = []
    if rebase is not None:
        standard = rebase.to_standard if isinstance(rebase, _Rebase) else _frame_standard(rebase)
        if isinstance(rebase, _Rebase):
            # The gap held on the odds scale: in points it shrinks as the rate falls, as observed
            # when every review is reclassified (see standard_gap).
            t = rebase.table(by)
            r_from, r_to = t["rate_from"].to_numpy(), t["rate_to"].to_numpy()
            interior = (r_from > 0) & (r_from < 1) & (r_to > 0) & (r_to < 1)
            n1 = t["households"].to_numpy() + 1.0
            with np.errstate(divide="ignore", invalid="ignore"):
                lg = np.where(
                    interior,
                    special.logit(r_to) - special.logit(r_from),
                    special.logit((t["poor_to"].to_numpy() + 0.5) / n1)
                    - special.logit((t["poor_from"].to_numpy() + 0.5) / n1),
                )
            pos = pd.MultiIndex.from_frame(t[by]).get_indexer(units_mi)
            if (pos < 0).any():
                missing = [k[0] if len(k) == 1 else k for k in units_mi[pos < 0][:5].tolist()]
                raise ValueError(f"'rebase' has no gap for the units {missing} ({int((pos < 0).sum())} in all)")
            exact = interior[pos][codes] & (rate > 0) & (rate < 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                base = np.where(
                    exact, special.logit(np.clip(rate, 1e-300, 1 - 1e-16)), special.logit((poor + 0.5) / (hh + 1.0))
                )
            rate = special.expit(base + lg[pos][codes])
            notes.append(
                "series shifted by each unit's rebasing gap on the odds scale (a constant odds ratio), every year"
            )
        else:
            rate = np.clip(rate + _gap_index(rebase, by, units_mi)[codes], 0.0, 1.0)
            notes.append("series shifted by each unit's rebasing gap (points), every year")
        basis = "rebased_shift"
    last = year == ref
    households = np.zeros(n_units)
    households[codes[last]] = hh[last]
    present = households > 0
    if not present.all():
        notes.append(
            f"{int((~present).sum())} units absent from the {ref} review are not projected: "
            f"{units[~present].head(5).to_dict('records')}"
        )
    if slope_by is None:
        group = np.zeros(len(counts), dtype=int)
        group_names = ["all"]
    else:
        per_unit = pd.Series(counts[slope_by].to_numpy()).groupby(codes).nunique()
        if (per_unit > 1).any():
            u = int(per_unit.index[per_unit > 1][0])
            raise ValueError(f"'slope_by' column {slope_by!r} varies within unit {units.iloc[u].to_dict()}")
        group, group_names = pd.factorize(counts[slope_by], sort=True)
        group_names = [str(g) for g in group_names]
    unit_group = np.zeros(n_units, dtype=int)
    unit_group[codes] = group
    # Units with no variation in poverty (never poor, or always poor) have no finite level.
    total = np.bincount(codes, weights=hh, minlength=n_units)
    poor_total = np.bincount(codes, weights=rate * hh, minlength=n_units)
    zero = np.isclose(poor_total, 0, atol=1e-9)
    full = np.isclose(poor_total, total, atol=1e-9)
    fit_unit = ~(zero | full) & present
    fit_rows = fit_unit[codes]
    fit_groups = np.unique(unit_group[fit_unit])
    if not fit_unit.any():
        raise ValueError("no unit has both poor and non-poor households in the series: there is no trend to fit")
    if len(np.unique(year[fit_rows])) < 2:
        raise ValueError("the units with poor households are observed in one review year only: no trend to fit")
    fit_pos = -np.ones(n_units, dtype=int)
    fit_pos[fit_unit] = np.arange(int(fit_unit.sum()))
    grp_pos = -np.ones(len(group_names), dtype=int)
    grp_pos[fit_groups] = np.arange(len(fit_groups))
    rows = np.flatnonzero(fit_rows)
    fit = _fit_trend(
        rate[rows],
        hh[rows],
        fit_pos[codes[rows]],
        grp_pos[unit_group[fit_unit]],
        (year[rows] - ref).astype(float),
        [group_names[g] for g in fit_groups],
    )
    if fit.df_resid <= 0:
        notes.append("no residual degrees of freedom: dispersion set to 1 (binomial)")
    scale = fit.scale
    d = (yrs - ref).astype(float)
    ug = grp_pos[unit_group[fit_unit]]
    lean = fit.info_cross / fit.info_level  # c_u / a_u
    eta = fit.level[:, None] + fit.trend[ug][:, None] * d[None, :]
    se = np.sqrt(
        scale * (1 / fit.info_level[:, None] + (d[None, :] - lean[:, None]) ** 2 / fit.info_trend[ug][:, None])
    )
    z = stats.norm.ppf(1 - alpha / 2)
    n_y = len(yrs)
    mean = np.full((n_units, n_y), np.nan)
    mean_se = np.full_like(mean, np.nan)
    lo, hi = np.full_like(mean, np.nan), np.full_like(mean, np.nan)
    p_hat = special.expit(eta)
    mean[fit_unit], mean_se[fit_unit] = p_hat, p_hat * (1 - p_hat) * se
    lo[fit_unit], hi[fit_unit] = special.expit(eta - z * se), special.expit(eta + z * se)
    rng = random_stream(seed, 1)
    # Joint normal draws of (level, trend) with the block covariance: trend first, then each
    # level given its group's trend.
    b_draw = fit.trend[None, :] + np.sqrt(scale / fit.info_trend)[None, :] * rng.standard_normal(
        (n_sim, len(fit.trend))
    )
    a_draw = (
        fit.level[None, :]
        - lean[None, :] * (b_draw[:, ug] - fit.trend[ug][None, :])
        + np.sqrt(scale / fit.info_level)[None, :] * rng.standard_normal((n_sim, len(fit.level)))
    )
    draws = np.full((n_sim, n_units, n_y), np.nan)
    draws[:, fit_unit, :] = special.expit(a_draw[:, :, None] + b_draw[:, ug][:, :, None] * d[None, None, :])
    for flag, value in ((zero & present, 0.0), (full & present, 1.0)):
        if not flag.any():
            continue
        n_pool = total[flag]
        a0, b0 = (0.5, n_pool + 0.5) if value == 0 else (n_pool + 0.5, 0.5)
        dist = stats.beta(a0, b0)
        mean[flag], mean_se[flag] = value, dist.std()[:, None]
        if value == 0:
            lo[flag], hi[flag] = 0.0, dist.ppf(1 - alpha / 2)[:, None]
        else:
            lo[flag], hi[flag] = dist.ppf(alpha / 2)[:, None], 1.0
        draws[:, flag, :] = rng.beta(a0, b0, size=(n_sim, int(flag.sum())))[:, :, None]
        notes.append(
            f"{int(flag.sum())} units {'never' if value == 0 else 'always'} poor in the series: projected "
            f"at {value:g} with the Jeffreys interval of their pooled household-years, no trend"
        )
    keep = present
    obs = _beta_binomial(rng, households[keep][None, :, None], draws[:, keep, :], scale)
    observed = units.iloc[codes].reset_index(drop=True)
    observed["review_year"] = year
    observed["households"] = hh.astype("int64")
    observed["poor"] = rate * hh
    observed["rate"] = rate
    observed = observed.sort_values(by + ["review_year"], kind="stable").reset_index(drop=True)
    keys = units[fit_unit].astype(str).agg("|".join, axis=1).tolist()
    fit.coefficients = pd.DataFrame(
        {
            "term": ["level"] * len(fit.level) + ["trend"] * len(fit.trend),
            "key": keys + fit.groups,
            "estimate": np.concatenate([fit.level, fit.trend]),
            "se": np.concatenate(
                [np.sqrt(scale * (1 / fit.info_level + lean**2 / fit.info_trend[ug])), np.sqrt(scale / fit.info_trend)]
            ),
        }
    )
    notes.append(
        f"dispersion (Pearson chi2/df) {fit.dispersion:.2f}; trend per year on the logit scale: "
        + ", ".join(
            f"{g} {b:+.3f} (se {math.sqrt(scale / i):.3f})" for g, b, i in zip(fit.groups, fit.trend, fit.info_trend)
        )
    )
    notes.append(f"households held at the {ref} review")
    return Projection(
        units=units[keep].reset_index(drop=True),
        years=yrs,
        households=households[keep],
        mean=mean[keep],
        mean_se=mean_se[keep],
        ci_lower=lo[keep],
        ci_upper=hi[keep],
        draws=draws[:, keep, :],
        obs_draws=obs,
        observed=observed,
        standard=standard,
        basis=basis,
        method="trend",
        alpha=alpha,
        model=fit,
        notes=tuple(notes),
        min_cell=check_min_cell(min_cell),
    )
