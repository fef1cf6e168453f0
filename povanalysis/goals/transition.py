"""The household transition model: poverty exits, re-entries and entries rolled forward as a Markov chain."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ..common.checks import check_alpha, require_frame
from ..measure.standards import CLASSES, classify, get_standard
from .projections import PROJECTION_YEARS, Projection
from .series import check_min_cell, check_years, quantiles, random_stream, standard_in_force, unit_index

__all__ = ["STATES", "roll", "transition_projection"]

#: States of the household transition model: poor; not poor, having left poverty 1, 2 or 3
#: reviews ago (the "newly escaped" window of Decision 28/2015/QĐ-TTg, where re-entry is
#: counted); not poor for longer (or never poor in the panel).
STATES: tuple[str, ...] = ("poor", "escaped_1", "escaped_2", "escaped_3", "not_poor")


def roll(counts0: np.ndarray, p: np.ndarray, steps: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """Roll state counts (..., 5) forward with the probabilities of being poor next; the poor counts per step.

    The states are :data:`STATES`.  ``p`` is (..., 5) for constant probabilities or
    (..., 5, steps) for one set per step.  Without ``rng`` the counts are expected values;
    with it, each household's transition is drawn (binomial counts).

    Examples
    --------
    >>> roll(np.array([10.0, 0, 0, 0, 90]), np.array([0.5, 0.2, 0.2, 0.2, 0.0]), 2).tolist()
    [5.0, 3.5]
    """
    c = counts0.astype(float) if rng is None else counts0.astype(np.int64)
    varying = p.ndim == counts0.ndim + 1
    out = []
    for k in range(steps):
        pk = p[..., k] if varying else p
        to_poor = c * pk if rng is None else rng.binomial(c, pk)
        stay = c - to_poor
        new = np.empty_like(c)
        new[..., 0] = to_poor.sum(axis=-1)
        new[..., 1] = stay[..., 0]
        new[..., 2] = stay[..., 1]
        new[..., 3] = stay[..., 2]
        new[..., 4] = stay[..., 3] + stay[..., 4]
        c = new
        out.append(c[..., 0])
    return np.stack(out, axis=-1)


def _random_effects_line(y: np.ndarray, v: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Weighted line through yearly logit rates with a between-year variance (DerSimonian–Laird moments).

    Returns the coefficients, their covariance, the year-to-year variance on the logit scale
    (0 when it cannot be estimated) and the residual degrees of freedom.
    """
    k, q = X.shape
    w0 = 1 / v
    A0 = X.T @ (w0[:, None] * X)
    b0 = np.linalg.solve(A0, X.T @ (w0 * y))
    df = k - q
    tau2 = 0.0
    if df > 0:
        Q = float(np.sum(w0 * (y - X @ b0) ** 2))
        trace = float(w0.sum() - np.trace(np.linalg.solve(A0, X.T @ ((w0**2)[:, None] * X))))
        tau2 = max(0.0, (Q - df) / trace) if trace > 0 else 0.0
    w = 1 / (v + tau2)
    A = X.T @ (w[:, None] * X)
    beta = np.linalg.solve(A, X.T @ (w * y))
    return beta, np.linalg.inv(A), tau2, df


def _transition_trends(nY: np.ndarray, xY: np.ndarray, t: np.ndarray, T: int) -> tuple[list, list]:
    """Yearly logit trend of each transition (pooled over units), with the year-to-year variance.

    ``nY``/``xY`` are (6, years) pooled counts of the states and of poor at the next review;
    state 5 holds the not-poor households whose history before the panel is unknown (entry,
    with its own offset when households of known history are also seen).  Returns per state
    (0..4) the fit (coefficients, covariance, year variance, df, has-censoring-term) and notes.
    """
    fits, notes = [], []
    for s_ in range(5):
        rows = [(s_, j) for j in range(len(t)) if nY[s_, j] > 0]
        cens = []
        if s_ == 4:
            cens = [(5, j) for j in range(len(t)) if nY[5, j] > 0]
            if not rows:
                rows, cens = cens, []
                notes.append(
                    "entry is estimated from households whose history before the first review is unknown "
                    "(left-censored): some of them left poverty shortly before it, so entry is overstated"
                )
        all_rows = rows + cens
        if not all_rows:
            fits.append(None)
            continue
        N = np.array([nY[a, j] for a, j in all_rows])
        X_ = np.array([xY[a, j] for a, j in all_rows])
        p_ = (X_ + 0.5) / (N + 1.0)
        y = special.logit(p_)
        v = 1 / ((N + 1.0) * p_ * (1 - p_))
        d = np.array([t[j] - T for _, j in all_rows], dtype=float)
        cols = [np.ones(len(all_rows))]
        if len(np.unique(d)) >= 2:
            cols.append(d)
        has_cens = bool(cens) and bool(rows) and len(all_rows) > len(cols)
        if has_cens:
            cols.append(np.array([0.0] * len(rows) + [1.0] * len(cens)))
        elif cens and rows:
            all_rows = rows
            keep = slice(0, len(rows))
            y, v, cols = y[keep], v[keep], [c[keep] for c in cols]
        X = np.column_stack(cols)
        beta, cov, tau2, df = _random_effects_line(y, v, X)
        if X.shape[1] == 1:
            beta, cov = np.append(beta, 0.0), np.pad(cov, ((0, 1), (0, 1)))
        fits.append((beta[:2], cov[:2, :2], tau2, df))
        if df <= 0:
            notes.append(f"{STATES[s_]}: too few review years to estimate year-to-year variation")
    return fits, notes


def transition_projection(
    classified: pd.DataFrame,
    *,
    by: str | Sequence[str] = "commune_code",
    years: Sequence[int] = PROJECTION_YEARS,
    standard: str | None = None,
    start_year: int | None = None,
    window: tuple[int, int] | None = None,
    prior_strength: float = 20.0,
    time_trend: bool = True,
    alpha: float = 0.05,
    n_sim: int = 1000,
    seed: int = 0,
    min_cell: int | None = None,
) -> Projection:
    """Project poor-household rates with a household transition model rolled forward as a Markov chain.

    From the panel of reviews, each household-year is in one of :data:`STATES`: poor; left
    poverty 1, 2 or 3 reviews ago; not poor for longer.  The model estimates, by unit and
    state, the chance of being poor at the next review: from ``poor`` one minus the exit
    rate, from ``escaped_k`` the re-entry rate of households that left within three years,
    from ``not_poor`` the entry rate.  A household's history starts at the first review in
    the data, so before it every non-poor household counts as ``not_poor``.

    Each rate has a Beta posterior: prior Beta(m·p̄, m·(1 − p̄)) centred on the pooled rate
    p̄ of its state, with ``m = prior_strength`` pseudo-transitions (shrinkage for small
    communes), updated with the unit's transitions.  With ``prior_strength=0`` the
    projection uses the observed rates x/n and Jeffreys Beta(x + ½, n − x + ½) draws.
    The chain starts from the state counts at ``start_year``; households are held constant.

    Rates change over time (``time_trend=True``): each transition's pooled rate follows a
    line in the review year on the logit scale, fitted to the yearly pooled rates with
    weights that include a between-year variance (DerSimonian–Laird moments), and each
    unit keeps its shrunken log-odds difference from the pooled rate.  The simulations draw
    the lines' coefficients from their covariance, a fresh year shock of the estimated
    variance for every projected year and transition (process noise), the units' Beta
    posteriors and, for the recorded rate, each household's transition.

    Left censoring: a household not poor at one of the first three reviews of its history
    may have left poverty shortly before the panel starts, so it cannot be told apart from
    a household long out of poverty.  Its transitions enter the entry line with an offset of
    their own, estimated against the households whose history is known; when none is known
    yet (a panel of three reviews or fewer), entry rests on the censored households and the
    notes say it is overstated.  ``time_trend=False`` rolls constant pooled rates (the
    window's averages), without these refinements.

    Parameters
    ----------
    classified : DataFrame
        Household records: ``household_id``, ``review_year``, ``poverty_class`` (or the
        columns :func:`povanalysis.measure.standards.classify` needs when ``standard`` is given) and
        the ``by`` columns.  Review years must be consecutive.
    by : str or sequence of str
        Units, e.g. ``"commune_code"``, ``"minority"``, ``["commune_code", "minority"]``.
    years : sequence of int
        Consecutive years to project, after ``start_year``.
    standard : str, optional
        Reclassify every review under this standard first (``"2026-2030"`` projects on the
        new standard); None uses ``poverty_class`` as given.
    start_year : int, optional
        The review the chain starts from (default: the last).
    window : (int, int), optional
        First and last review years of the transitions used (default: all up to
        ``start_year``; a window past ``start_year`` is a backtest that sees the future).
    prior_strength : float
        ``m`` above; 0 for the observed rates.
    time_trend : bool
        Rates that follow their yearly trend (default) or constant rates.
    alpha, n_sim, seed, min_cell
        As in :func:`povanalysis.goals.projections.trend_projection`.

    Returns
    -------
    Projection
        ``model`` is the table of rates: unit columns, ``state``, ``n`` (transitions),
        ``x`` (poor at the next review), ``observed_rate`` (x/n), ``rate`` (used),
        ``ci_lower``, ``ci_upper``.

    References
    ----------
    Bane, M. J. & Ellwood, D. T. (1986). Slipping into and out of poverty: the dynamics of
    spells. *Journal of Human Resources* 21(1), 1–23. doi:10.2307/145955. Decision
    28/2015/QĐ-TTg (households that left poverty within three years).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": list("aaabbbccc"), "review_year": [2023, 2024, 2025] * 3,
    ...                    "commune_code": "01", "poverty_class": ["poor", "poor", "poor", "poor", "not_poor",
    ...                    "poor", "not_poor", "not_poor", "not_poor"]})
    >>> p = transition_projection(hh, years=[2026], prior_strength=0, time_trend=False, n_sim=100, min_cell=1)
    >>> p.model[["state", "n", "x", "observed_rate"]].head(2).to_dict("records")
    [{'state': 'poor', 'n': 3, 'x': 2, 'observed_rate': 0.6666666666666666},
     {'state': 'escaped_1', 'n': 1, 'x': 1, 'observed_rate': 1.0}]
    >>> round(float(p.mean[0, 0]), 4)  # 2 poor x 2/3 + 1 not poor x 0
    0.4444
    """
    by = [by] if isinstance(by, str) else list(by)
    alpha = check_alpha(alpha)
    require_frame(
        classified,
        "classified",
        ["household_id", "review_year"] + by + ([] if standard is not None else ["poverty_class"]),
    )
    if prior_strength < 0 or not math.isfinite(prior_strength):
        raise ValueError(f"'prior_strength' must be a finite number >= 0, got {prior_strength!r}")
    if n_sim < 2:
        raise ValueError(f"'n_sim' must be at least 2, got {n_sim!r}")
    dup = classified.duplicated(["household_id", "review_year"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise ValueError(
            f"'classified' has household {classified['household_id'].iloc[i]!r} twice at review "
            f"{int(classified['review_year'].iloc[i])}"
        )
    if standard is not None:
        std = get_standard(standard).key
        cls = classify(classified, standard=std).astype(str).to_numpy()
        basis = "reclassified"
    else:
        cls = classified["poverty_class"].astype(str).to_numpy()
        stds = (
            sorted(classified["standard"].astype(str).unique())
            if "standard" in classified.columns
            else sorted({s for s in (standard_in_force(int(y)) for y in classified["review_year"].unique()) if s})
        )
        if len(stds) != 1:
            raise ValueError(f"the panel mixes standards {stds}: pass 'standard' to reclassify every review")
        std, basis = stds[0], "as_classified"
    bad = ~np.isin(cls, CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"column 'poverty_class' must be one of {CLASSES}, got {cls[i]!r} at row {classified.index[i]!r}"
        )
    ry = classified["review_year"].to_numpy(dtype=int)
    ys = np.unique(ry)
    if len(ys) < 2 or (np.diff(ys) != 1).any():
        raise ValueError(f"review years must be consecutive, at least two, got {ys.tolist()}")
    start = int(ys[-1]) if start_year is None else int(start_year)
    if start not in ys:
        raise ValueError(f"'start_year' {start} is not a review year of the panel ({ys.tolist()})")
    yrs = check_years(years, start)
    w0, w1 = (int(ys[0]), start) if window is None else (int(window[0]), int(window[1]))
    if not (ys[0] <= w0 < w1 <= ys[-1]):
        raise ValueError(
            f"'window' must be two review years within {int(ys[0])}..{int(ys[-1])} in order, got {window!r}"
        )
    hid, _ = pd.factorize(classified["household_id"])
    yi = np.searchsorted(ys, ry)
    H, Y = int(hid.max()) + 1, len(ys)
    gcode, units, _mi = unit_index(classified, by)
    G = len(units)
    poor_m = np.full((H, Y), -1, dtype=np.int8)
    poor_m[hid, yi] = cls == "poor"
    unit_m = np.full((H, Y), -1, dtype=np.int64)
    unit_m[hid, yi] = gcode
    state = np.full((H, Y), -1, dtype=np.int8)
    censored = np.zeros((H, Y), dtype=bool)
    last = np.full(H, -(10**6))
    first = np.full(H, -1)
    for j in range(Y):
        present, isp = poor_m[:, j] >= 0, poor_m[:, j] == 1
        first = np.where((first < 0) & present, j, first)
        since = j - last
        st = np.where(isp, 0, np.where((since >= 1) & (since <= 3), since, 4))
        state[:, j] = np.where(present, st, -1)
        # Not poor with fewer than three reviews of history: it may have left poverty just before.
        censored[:, j] = present & (st == 4) & (j - first < 3)
        last = np.where(isp, j, last)
    n = np.zeros((G, 5))
    x = np.zeros((G, 5))
    nY = np.zeros((6, Y - 1))
    xY = np.zeros((6, Y - 1))
    for j in range(Y - 1):
        if not (w0 <= ys[j] and ys[j + 1] <= w1):
            continue
        ok = (state[:, j] >= 0) & (poor_m[:, j + 1] >= 0)
        idx = unit_m[ok, j] * 5 + state[ok, j]
        n += np.bincount(idx, minlength=G * 5).reshape(G, 5)
        x += np.bincount(idx, weights=poor_m[ok, j + 1], minlength=G * 5).reshape(G, 5)
        s6 = np.where(censored[ok, j], 5, state[ok, j])
        nY[:, j] = np.bincount(s6, minlength=6)
        xY[:, j] = np.bincount(s6, weights=poor_m[ok, j + 1], minlength=6)
    n_pool, x_pool = n.sum(axis=0), x.sum(axis=0)
    notes = []
    for s_ in (0, 4):
        if n_pool[s_] == 0:
            raise ValueError(f"no transitions from the state {STATES[s_]!r} in the window {w0}-{w1}: widen 'window'")
    unseen = np.flatnonzero(n_pool[1:4] == 0) + 1
    if len(unseen):
        # A re-entry state without transitions borrows the pooled rate of the re-entry states
        # that have some, or the entry rate when none has: stated in the notes.
        seen = [k for k in (1, 2, 3) if n_pool[k] > 0]
        src = seen if seen else [4]
        n_pool[unseen], x_pool[unseen] = n_pool[src].sum(), x_pool[src].sum()
        notes.append(
            f"no transitions from {[STATES[k] for k in unseen]} in {w0}-{w1}: their rate is the pooled rate "
            f"of {[STATES[k] for k in src]}"
        )
    p_bar = x_pool / n_pool
    m = float(prior_strength)
    if m > 0:
        a, b = m * p_bar + x, m * (1 - p_bar) + n - x
        center = a / (a + b)
    else:
        has = n > 0
        a = np.where(has, x + 0.5, x_pool + 0.5)
        b = np.where(has, n - x + 0.5, n_pool - x_pool + 0.5)
        center = np.where(has, x / np.where(has, n, 1), p_bar)
    j0 = int(np.searchsorted(ys, start))
    at = state[:, j0] >= 0
    counts0 = np.bincount(unit_m[at, j0] * 5 + state[at, j0], minlength=G * 5).reshape(G, 5)
    households = counts0.sum(axis=1).astype(float)
    keep = households > 0
    if not keep.all():
        notes.append(f"{int((~keep).sum())} units with no household at the {start} review are not projected")
    steps = int(yrs[-1] - start)
    pick = (yrs - start - 1).astype(int)
    rng = random_stream(seed, 2)
    hk = households[keep]
    mean = roll(counts0[keep], center[keep], steps)[..., pick] / hk[:, None]
    p_draw = rng.beta(a[keep][None], b[keep][None], size=(n_sim,) + a[keep].shape)
    trends = None
    if time_trend:
        t_dest = ys[1:]
        fits, tnotes = _transition_trends(nY, xY, t_dest, start)
        notes += tnotes
        k_ = np.arange(1, steps + 1, dtype=float)
        logit_bar = special.logit(np.clip(p_bar, 1e-9, 1 - 1e-9))
        # Unit offsets on the logit scale, from the Beta posteriors (centre, then per simulation).
        off_c = special.logit(np.clip(center[keep], 1e-9, 1 - 1e-9)) - logit_bar[None, :]
        off_d = special.logit(np.clip(p_draw, 1e-9, 1 - 1e-9)) - logit_bar[None, None, :]
        line_c = np.zeros((5, steps))
        line_d = np.zeros((n_sim, 5, steps))
        rows_ = []
        for s_, fit in enumerate(fits):
            if fit is None:
                line_c[s_] = logit_bar[s_]
                line_d[:, s_] = logit_bar[s_]
                continue
            beta, cov, tau2, df = fit
            line_c[s_] = beta[0] + beta[1] * k_
            coef = rng.multivariate_normal(beta, cov, size=n_sim, method="svd")
            shock = np.sqrt(tau2) * rng.standard_normal((n_sim, steps))
            line_d[:, s_] = coef[:, :1] + coef[:, 1:2] * k_[None, :] + shock
            rows_.append(
                {
                    "state": STATES[s_],
                    "logit_rate": beta[0],
                    "trend": beta[1],
                    "trend_se": math.sqrt(max(cov[1, 1], 0.0)),
                    "year_sd": math.sqrt(tau2),
                    "df": df,
                }
            )
        trends = pd.DataFrame(rows_)
        p_mean = special.expit(line_c[None, :, :] + off_c[:, :, None])
        p_sims = special.expit(line_d[:, None, :, :] + off_d[:, :, :, None])
        mean = roll(counts0[keep], p_mean, steps)[..., pick] / hk[:, None]
        cnt = np.broadcast_to(counts0[keep], p_draw.shape)
        draws = roll(cnt, p_sims, steps)[..., pick] / hk[None, :, None]
        obs = roll(cnt, p_sims, steps, rng=rng)[..., pick] / hk[None, :, None]
        censored_start = int(censored[:, j0].sum())
        if censored_start:
            notes.append(
                f"{censored_start} households at the {start} review have less than three reviews of history: "
                "they start as long out of poverty"
            )
        notes.append(
            "transition rates follow their yearly trend on the logit scale: "
            + ", ".join(f"{r['state']} {r['trend']:+.3f}/year (year sd {r['year_sd']:.3f})" for r in rows_)
        )
    else:
        draws = roll(np.broadcast_to(counts0[keep], p_draw.shape), p_draw, steps)[..., pick] / hk[None, :, None]
        obs = roll(np.broadcast_to(counts0[keep], p_draw.shape), p_draw, steps, rng=rng)[..., pick] / hk[None, :, None]
    lo, hi = quantiles(draws, alpha)
    post = stats.beta(a, b)
    model = pd.DataFrame({c: np.repeat(units[c].to_numpy(), 5) for c in by})
    model["state"] = np.tile(STATES, G)
    model["n"] = n.ravel().astype("int64")
    model["x"] = x.ravel().astype("int64")
    model["observed_rate"] = np.where(n.ravel() > 0, x.ravel() / np.where(n.ravel() > 0, n.ravel(), 1), np.nan)
    model["rate"] = center.ravel()
    model["ci_lower"] = post.ppf(alpha / 2).ravel()
    model["ci_upper"] = post.ppf(1 - alpha / 2).ravel()
    if trends is not None:
        model.attrs["trends"] = trends
    tally = pd.DataFrame({"g": gcode, "review_year": ry, "poor": cls == "poor"})
    tally = tally.groupby(["g", "review_year"], sort=True)["poor"].agg(["size", "sum"]).reset_index()
    observed = units.iloc[tally["g"].to_numpy()].reset_index(drop=True)
    observed["review_year"] = tally["review_year"].to_numpy()
    observed["households"] = tally["size"].to_numpy().astype("int64")
    observed["poor"] = tally["sum"].to_numpy().astype(float)
    observed["rate"] = observed["poor"] / observed["households"]
    observed = observed[observed["review_year"] <= start].reset_index(drop=True)
    notes += [
        f"transitions {w0}-{w1}; pooled one-year rates: exit {1 - p_bar[0]:.3f}, re-entry within 1/2/3 years "
        f"{p_bar[1]:.3f}/{p_bar[2]:.3f}/{p_bar[3]:.3f}, entry {p_bar[4]:.3f}",
        f"Beta prior strength {m:g}; households held at the {start} review; histories start at {int(ys[0])}",
    ]
    return Projection(
        units=units[keep].reset_index(drop=True),
        years=yrs,
        households=hk,
        mean=mean,
        mean_se=draws.std(axis=0, ddof=1),
        ci_lower=lo,
        ci_upper=hi,
        draws=draws,
        obs_draws=obs,
        observed=observed,
        standard=std,
        basis=basis,
        method="transition",
        alpha=alpha,
        model=model,
        notes=tuple(notes),
        min_cell=check_min_cell(min_cell),
    )
