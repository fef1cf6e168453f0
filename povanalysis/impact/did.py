"""Staggered difference-in-differences: group-time effects with not-yet-treated comparisons (Callaway–Sant'Anna)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..common.checks import require_frame, to_python

__all__ = ["StaggeredDiD", "Aggregate", "clustered_vcov", "wald_test", "COMPARISONS"]

#: Comparison groups: households that borrow later (``not_yet``) or never (``never``).
COMPARISONS: tuple[str, ...] = ("not_yet", "never")


def clustered_vcov(psi: np.ndarray) -> np.ndarray:
    """Cluster-robust covariance from cluster sums of influence values.

    Parameters
    ----------
    psi : ndarray, shape (n_clusters,) or (n_clusters, k)
        For each cluster, the sum over its observations of the influence values of one or
        more estimates, scaled so that the estimation error is ``psi.sum(axis=0)``.  Only
        clusters with at least one observation should be passed.

    Returns
    -------
    ndarray, shape (k, k)
        ``G / (G - 1) * psi.T @ psi`` with ``G`` the number of clusters.

    Examples
    --------
    >>> clustered_vcov(np.array([1.0, -1.0]))
    array([[4.]])
    """
    psi = np.asarray(psi, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    g = psi.shape[0]
    if g < 2:
        raise ValueError(f"clustered standard errors need at least 2 clusters, got {g}")
    return g / (g - 1) * psi.T @ psi


def wald_test(theta: np.ndarray, psi: np.ndarray, restriction: np.ndarray | None = None) -> dict:
    """Cluster-robust Wald test that ``restriction @ theta = 0``, referred to F(q, G - 1).

    With few clusters the covariance is itself noisy; dividing the Wald statistic by its
    ``q`` degrees of freedom and using the F distribution with ``G - 1`` denominator degrees
    of freedom (as for cluster-robust regression tests) keeps the size closer to nominal.

    Parameters
    ----------
    theta : array, shape (k,)
        Estimates.
    psi : array, shape (G, k)
        Their cluster sums of influence values (see :func:`clustered_vcov`).
    restriction : array, shape (q, k), optional
        Default: the identity (all estimates zero).

    Returns
    -------
    dict
        ``stat`` (F), ``df`` (q, the rank of the restricted covariance), ``df_denom`` (G - 1),
        ``chi2`` (the Wald statistic), ``pvalue``.

    Examples
    --------
    >>> t = wald_test(np.array([1.0]), np.array([[0.5], [-0.5], [0.5], [-0.5]]))
    >>> round(t["chi2"], 4), t["df"], t["df_denom"]
    (0.75, 1, 3)
    """
    theta = np.asarray(theta, dtype=float)
    psi = np.asarray(psi, dtype=float).reshape(len(psi), -1)
    r = np.eye(len(theta)) if restriction is None else np.asarray(restriction, dtype=float)
    v = r @ clustered_vcov(psi) @ r.T
    q = int(np.linalg.matrix_rank(v))
    diff = r @ theta
    chi2 = float(diff @ np.linalg.pinv(v) @ diff)
    g = psi.shape[0]
    if not q:
        return {"stat": np.nan, "df": 0, "df_denom": g - 1, "chi2": np.nan, "pvalue": np.nan}
    return {"stat": chi2 / q, "df": q, "df_denom": g - 1, "chi2": chi2, "pvalue": float(stats.f.sf(chi2 / q, q, g - 1))}


@dataclass(frozen=True)
class Aggregate:
    """One aggregate of group-time effects: an estimate with its cluster influence values.

    Attributes
    ----------
    effect : float
        The estimate.
    se : float
        Cluster-robust standard error.
    psi : Series
        Sum of the influence values by cluster (index: cluster labels with observations).
    n_treated, n_control : int
        Treated and comparison observations behind the estimate (a comparison household
        used for several cohorts counts once per cohort).
    cohorts : tuple of int
        The cohorts whose effects were averaged.
    """

    effect: float
    se: float
    psi: pd.Series
    n_treated: int
    n_control: int
    cohorts: tuple


class StaggeredDiD:
    """Group-time average effects on the treated under staggered adoption, and their aggregates.

    A unit in cohort ``g`` is first treated between the reviews ``g - 1`` and ``g``.  For each
    cohort the base period is ``g - 1`` (a *universal* base) and the analysis population is
    fixed there: units in ``population`` at ``g - 1`` and not yet treated at it.  The effect of
    cohort ``g`` at period ``r`` is the difference between treated and comparison units in the
    mean change of ``outcome`` from ``g - 1`` to ``r``:

    * ``comparison="not_yet"``: units of later cohorts, not yet treated by ``max(r, g)``
      (never-treated units are *not* used: where the never-treated differ in unobservables,
      they are not a valid comparison; this departs from the default of Callaway and
      Sant'Anna, which adds them);
    * ``comparison="never"``: never-treated units only.

    Cohorts are averaged with weights proportional to their treated units, and the
    uncertainty of those weights is included in the influence values.  Already-treated units
    are never used as comparisons, so the estimates are valid under heterogeneous and
    dynamic effects, unlike two-way fixed effects.  Inference is cluster-robust, with
    ``t`` intervals on ``G - 1`` degrees of freedom.

    Parameters
    ----------
    panel : DataFrame
        One row per unit and period.
    unit, time, cohort, outcome, cluster : str
        Columns: unit identifier; integer period; first treated period (constant within a
        unit, ``inf`` for never-treated units); outcome (float, NaN where unobserved);
        cluster of the unit.
    population : str, optional
        Boolean column: the unit belongs to the analysis population at that period (used at
        the base period).  Every row when None.
    comparison : {"not_yet", "never"}
    min_cell : int, optional
        Estimates resting on fewer treated units are flagged ``suppressed`` (default
        :data:`povanalysis.config.MIN_CELL`).

    Attributes
    ----------
    cells : DataFrame
        ``cohort``, ``time``, ``event_time`` (``time - cohort``), ``effect``, ``se``,
        ``ci_lower``, ``ci_upper``, ``n_treated``, ``n_control``, ``suppressed``.
    skipped : DataFrame
        ``cohort``, ``time``, ``reason`` for the group-time cells that could not be estimated.
    clusters : Index
        Cluster labels.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *Journal of Econometrics* 225(2), 200–230. https://doi.org/10.1016/j.jeconom.2020.12.001

    Examples
    --------
    >>> panel = pd.DataFrame({
    ...     "unit": [1, 1, 2, 2, 3, 3, 4, 4], "time": [1, 2] * 4,
    ...     "cohort": [2, 2, 2, 2, 3, 3, 3, 3], "y": [0, 1.0, 0, 0.5, 0, 0.25, 0, 0.0],
    ...     "cluster": ["a", "a", "b", "b", "a", "a", "b", "b"]})
    >>> d = StaggeredDiD(panel, unit="unit", time="time", cohort="cohort", outcome="y",
    ...                  cluster="cluster", min_cell=1)
    >>> d.aggregate(0).effect
    0.625
    """

    def __init__(
        self,
        panel: pd.DataFrame,
        *,
        unit: str,
        time: str,
        cohort: str,
        outcome: str,
        cluster: str,
        population: str | None = None,
        comparison: str = "not_yet",
        min_cell: int | None = None,
    ) -> None:
        require_frame(panel, "panel")
        if comparison not in COMPARISONS:
            raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")
        cols = [unit, time, cohort, outcome, cluster] + ([population] if population else [])
        require_frame(panel, "panel", cols)
        self.comparison = comparison
        self.min_cell = config.MIN_CELL if min_cell is None else int(min_cell)
        if panel.empty:
            raise ValueError("'panel' has no rows")
        if panel[cluster].isna().any():
            row = panel.index[panel[cluster].isna().to_numpy()][0]
            raise ValueError(f"column {cluster!r} is missing at row {to_python(row)!r}")
        dup = panel.duplicated([unit, time])
        if dup.any():
            row = panel.index[dup.to_numpy()][0]
            raise ValueError(
                f"'panel' has more than one row for unit {to_python(panel.at[row, unit])!r} "
                f"and {time} {to_python(panel.at[row, time])!r} (row {to_python(row)!r})"
            )
        g_col = pd.to_numeric(panel[cohort], errors="raise").to_numpy(dtype=float)
        if np.isnan(g_col).any():
            row = panel.index[np.isnan(g_col)][0]
            raise ValueError(f"column {cohort!r} is missing at row {to_python(row)!r}: use inf for never-treated units")
        u_code, self.units = pd.factorize(panel[unit], sort=False)
        times = np.sort(panel[time].unique())
        self.times = times
        t_pos = np.searchsorted(times, panel[time].to_numpy())
        c_code, self.clusters = pd.factorize(panel[cluster], sort=True)
        n_u, n_t = len(self.units), len(times)
        y = np.full((n_u, n_t), np.nan)
        y[u_code, t_pos] = pd.to_numeric(panel[outcome], errors="raise").to_numpy(dtype=float)
        pop = np.zeros((n_u, n_t), dtype=bool)
        pop[u_code, t_pos] = panel[population].to_numpy(dtype=bool) if population else True
        clu = np.full((n_u, n_t), -1, dtype=np.int64)
        clu[u_code, t_pos] = c_code
        rows = np.full((n_u, n_t), -1, dtype=np.int64)
        rows[u_code, t_pos] = np.arange(len(panel))
        g_unit = np.full(n_u, np.nan)
        g_unit[u_code] = g_col
        varies = pd.Series(g_col).groupby(u_code).nunique().to_numpy() > 1
        if varies.any():
            raise ValueError(
                f"column {cohort!r} must be constant within a unit; it varies for unit "
                f"{to_python(self.units[np.flatnonzero(varies)[0]])!r}"
            )
        self._index = panel.index
        self._g = g_unit
        self._cells: list[dict] = []
        skipped = []
        cohorts = np.unique(g_unit[np.isfinite(g_unit)])
        for g in cohorts:
            hits = np.flatnonzero(times == g - 1)
            if not len(hits):
                skipped.append((int(g), np.nan, "no review before the loan in the panel (missing pre-period)"))
                continue
            b = hits[0]
            base_ok = pop[:, b] & np.isfinite(y[:, b]) & (g_unit > times[b])
            for r_pos, r in enumerate(times):
                if r_pos == b:
                    continue
                ok = base_ok & np.isfinite(y[:, r_pos])
                treated = ok & (g_unit == g)
                if comparison == "not_yet":
                    control = ok & np.isfinite(g_unit) & (g_unit > max(r, g))
                else:
                    control = ok & np.isinf(g_unit)
                if not treated.any():
                    skipped.append((int(g), int(r), "no treated unit observed"))
                    continue
                if not control.any():
                    kind = "not-yet-treated" if comparison == "not_yet" else "never-treated"
                    skipped.append((int(g), int(r), f"no {kind} comparison unit"))
                    continue
                self._cells.append(self._cell(g, r, b, r_pos, treated, control, y, clu, rows))
        self.skipped = pd.DataFrame(skipped, columns=["cohort", "time", "reason"])
        self.cells = self._cell_table()

    def _cell(self, g, r, b, r_pos, treated, control, y, clu, rows) -> dict:
        delta = y[:, r_pos] - y[:, b]
        t_idx, c_idx = np.flatnonzero(treated), np.flatnonzero(control)
        d_t, d_c = delta[t_idx], delta[c_idx]
        m_t, m_c = d_t.mean(), d_c.mean()
        n_cl = len(self.clusters)
        cl_t, cl_c = clu[t_idx, b], clu[c_idx, b]
        psi = np.bincount(cl_t, (d_t - m_t) / len(t_idx), minlength=n_cl) - np.bincount(
            cl_c, (d_c - m_c) / len(c_idx), minlength=n_cl
        )
        used = np.zeros(n_cl, dtype=bool)
        used[cl_t] = True
        used[cl_c] = True
        return {
            "cohort": int(g),
            "time": int(r),
            "event_time": int(r - g),
            "effect": float(m_t - m_c),
            "n_treated": len(t_idx),
            "n_control": len(c_idx),
            "psi": psi,
            "used": used,
            "count_t": np.bincount(cl_t, minlength=n_cl).astype(float),
            "units_t": t_idx,
            "units_c": c_idx,
            "delta_t": d_t,
            "delta_c": d_c,
            "rows_t": rows[t_idx, b],
            "rows_c": rows[c_idx, b],
            "cluster_t": cl_t,
            "cluster_c": cl_c,
        }

    def _cell_table(self) -> pd.DataFrame:
        cols = [
            "cohort",
            "time",
            "event_time",
            "effect",
            "se",
            "ci_lower",
            "ci_upper",
            "n_treated",
            "n_control",
            "suppressed",
        ]
        if not self._cells:
            return pd.DataFrame(columns=cols)
        out = []
        for c in self._cells:
            se, lo, hi = self._inference(c["effect"], c["psi"][c["used"]])
            out.append(
                (
                    c["cohort"],
                    c["time"],
                    c["event_time"],
                    c["effect"],
                    se,
                    lo,
                    hi,
                    c["n_treated"],
                    c["n_control"],
                    c["n_treated"] < self.min_cell,
                )
            )
        return pd.DataFrame(out, columns=cols)

    @staticmethod
    def _inference(effect: float, psi: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
        if len(psi) < 2:
            return np.nan, np.nan, np.nan
        se = float(np.sqrt(clustered_vcov(psi)[0, 0]))
        q = stats.t.ppf(1 - alpha / 2, len(psi) - 1)
        return se, effect - q * se, effect + q * se

    def _at(self, event_time: int) -> list[dict]:
        return [c for c in self._cells if c["event_time"] == event_time]

    def event_times(self) -> list[int]:
        """The event times (``time - cohort``) with at least one estimated cell."""
        return sorted({c["event_time"] for c in self._cells})

    def aggregate(self, event_time: int = 0) -> Aggregate:
        """Average of the cohorts' effects at ``event_time``, weighted by their treated units.

        ``event_time=0`` is the first period after treatment; ``-1`` is the base period and
        has no estimate.
        """
        cells = self._at(event_time)
        if not cells:
            raise ValueError(
                f"no group-time effect can be estimated at event time {event_time}: "
                f"estimable event times are {self.event_times()}"
            )
        n_t = np.array([c["n_treated"] for c in cells], dtype=float)
        w = n_t / n_t.sum()
        att = np.array([c["effect"] for c in cells])
        theta = float(w @ att)
        count_t = np.vstack([c["count_t"] for c in cells])
        psi = sum(wi * c["psi"] for wi, c in zip(w, cells))
        psi = psi + ((att - theta)[:, None] * (count_t - w[:, None] * count_t.sum(axis=0))).sum(axis=0) / n_t.sum()
        used = np.logical_or.reduce([c["used"] for c in cells])
        se = self._inference(theta, psi[used])[0]
        return Aggregate(
            theta,
            se,
            pd.Series(psi[used], index=self.clusters[used]),
            int(n_t.sum()),
            int(sum(c["n_control"] for c in cells)),
            tuple(c["cohort"] for c in cells),
        )

    def event_study(self, *, alpha: float = 0.05) -> pd.DataFrame:
        """Effects by event time (leads ``<= -2``, the base ``-1`` as reference 0, lags ``>= 0``).

        Returns
        -------
        DataFrame
            ``event_time``, ``effect``, ``se``, ``ci_lower``, ``ci_upper``, ``n``, ``n_treated``,
            ``n_control``, ``suppressed`` (fewer than ``min_cell`` treated units: the numbers
            are set to NaN), ``reference`` (the base period).
        """
        rows = []
        for e in self.event_times():
            a = self.aggregate(e)
            _, lo, hi = self._inference(a.effect, a.psi.to_numpy(), alpha)
            rows.append(
                (
                    e,
                    a.effect,
                    a.se,
                    lo,
                    hi,
                    a.n_treated + a.n_control,
                    a.n_treated,
                    a.n_control,
                    a.n_treated < self.min_cell,
                    False,
                )
            )
        rows.append((-1, 0.0, np.nan, np.nan, np.nan, 0, 0, 0, False, True))
        out = pd.DataFrame(
            rows,
            columns=[
                "event_time",
                "effect",
                "se",
                "ci_lower",
                "ci_upper",
                "n",
                "n_treated",
                "n_control",
                "suppressed",
                "reference",
            ],
        )
        out.loc[out["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
        return out.sort_values("event_time", kind="stable").reset_index(drop=True)

    def joint_test(self, event_times: Sequence[int]) -> dict:
        """Cluster-robust test that the aggregates at ``event_times`` are all zero (see :func:`wald_test`).

        Returns
        -------
        dict
            ``stat`` (F), ``df``, ``df_denom``, ``chi2``, ``pvalue``, ``event_times``.  With no
            event time, ``stat`` and ``pvalue`` are NaN and ``df`` is 0.
        """
        event_times = list(event_times)
        if not event_times:
            return {"stat": np.nan, "df": 0, "df_denom": 0, "chi2": np.nan, "pvalue": np.nan, "event_times": ()}
        aggs = [self.aggregate(e) for e in event_times]
        psi = pd.concat([a.psi for a in aggs], axis=1).fillna(0.0).to_numpy()
        out = wald_test(np.array([a.effect for a in aggs]), psi)
        out["event_times"] = tuple(event_times)
        return out

    def pretrend_test(self) -> dict:
        """Joint test that every estimable lead (event time ``<= -2``) is zero.

        Leads resting on fewer than ``min_cell`` treated units are left out.
        """
        leads = [e for e in self.event_times() if e <= -2 and self.aggregate(e).n_treated >= self.min_cell]
        return self.joint_test(leads)

    def stack(self, event_time: int = 0) -> pd.DataFrame:
        """The clean comparisons at ``event_time`` as a stacked long frame (one row per unit and cohort).

        Returns
        -------
        DataFrame
            ``cohort``, ``treated`` (bool), ``delta`` (change of the outcome from the base
            period), ``cluster`` (label), ``row`` (index label of the unit's base-period row in
            ``panel``).
        """
        cells = self._at(event_time)
        if not cells:
            raise ValueError(
                f"no group-time effect can be estimated at event time {event_time}: "
                f"estimable event times are {self.event_times()}"
            )
        parts = []
        for c in cells:
            n_t, n_c = c["n_treated"], c["n_control"]
            parts.append(
                pd.DataFrame(
                    {
                        "cohort": np.full(n_t + n_c, c["cohort"], dtype=np.int64),
                        "treated": np.r_[np.ones(n_t, bool), np.zeros(n_c, bool)],
                        "delta": np.r_[c["delta_t"], c["delta_c"]],
                        "cluster": self.clusters[np.r_[c["cluster_t"], c["cluster_c"]]],
                        "row": self._index[np.r_[c["rows_t"], c["rows_c"]]],
                    }
                )
            )
        return pd.concat(parts, ignore_index=True)
