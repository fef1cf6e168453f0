"""Rolling-origin backtests of the projection models: fit on past reviews, predict the reviews held out."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..common.cache import cache_key, cached_frame, frame_digest
from ..common.checks import check_alpha, require_frame
from ..common.deprecation import moved_names
from ..measure import aggregates
from ..measure.standards import classify, get_standard
from . import baselines, projections, transition
from .series import minority_column, quantiles

__all__ = ["MODELS", "LEVELS", "Backtest", "backtest", "interval_score"]

#: Models a backtest runs by default: the two projection models and the two simple baselines.
MODELS: tuple[str, ...] = ("trend", "transition", "drift", "persistence")

#: Levels at which predictions are compared with the reviews held out.
LEVELS: tuple[str, ...] = ("province", "minority", "old_area", "disadvantaged", "commune")


def interval_score(observed: ArrayLike, lower: ArrayLike, upper: ArrayLike, alpha: float) -> np.ndarray:
    """The interval score of a central ``1 - alpha`` interval (lower is better).

    ``(upper - lower) + 2/alpha * (lower - y) 1{y < lower} + 2/alpha * (y - upper) 1{y > upper}``:
    the width, plus a penalty for every miss that grows with its distance.

    References
    ----------
    Gneiting, T. & Raftery, A. E. (2007). Strictly proper scoring rules, prediction, and
    estimation. *JASA* 102(477), 359–378. doi:10.1198/016214506000001437.

    Examples
    --------
    >>> interval_score([0.05, 0.12], [0.04, 0.04], [0.08, 0.08], alpha=0.1).round(4).tolist()
    [0.04, 0.84]
    """
    y, lo, hi = (np.asarray(v, dtype=float) for v in (observed, lower, upper))
    return (hi - lo) + 2 / alpha * (lo - y) * (y < lo) + 2 / alpha * (y - hi) * (y > hi)


@dataclass
class Backtest:
    """Predictions of held-out reviews and their errors.

    Attributes
    ----------
    table : DataFrame
        One row per model, standard, origin (last review fitted), horizon, level and group:
        ``model``, ``standard``, ``origin``, ``horizon``, ``year``, ``level``, ``group``,
        ``households``, ``observed`` (the rate the review recorded), ``predicted`` (the
        projection's expected rate), ``lower``/``upper`` (the prediction interval of the
        recorded rate at ``1 - alpha``), ``error`` (predicted − observed), ``abs_error``,
        ``covered``, ``interval_score``.
    alpha : float
        1 − the intervals' coverage.
    notes : tuple of str
    """

    table: pd.DataFrame = field(repr=False)
    alpha: float = 0.10
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The tidy table of predictions (a copy)."""
        return self.table.copy()

    def scores(self, by: Sequence[str] = ("model", "standard", "level", "horizon")) -> pd.DataFrame:
        """Mean error, mean absolute error, coverage and mean interval score by ``by``.

        Columns: ``by``, ``folds`` (predictions compared), ``mean_error``, ``mean_abs_error``,
        ``max_abs_error``, ``coverage`` (share of recorded rates inside the interval),
        ``interval_score``.  Rates and errors are shares (0.01 is one point).
        """
        by = list(by)
        t = self.table
        g = t.groupby(by, sort=True, observed=True)
        out = pd.DataFrame(
            {
                "folds": g.size(),
                "mean_error": g["error"].mean(),
                "mean_abs_error": g["abs_error"].mean(),
                "max_abs_error": g["abs_error"].max(),
                "coverage": g["covered"].mean(),
                "interval_score": g["interval_score"].mean(),
            }
        ).reset_index()
        return out

    def best(
        self, *, level: str = "province", standard: str | None = None, candidates: Sequence[str] | None = None
    ) -> str:
        """The model with the lowest mean interval score at ``level`` (over horizons and origins)."""
        t = self.table[self.table["level"] == level]
        if standard is not None:
            t = t[t["standard"] == standard]
        if candidates is not None:
            t = t[t["model"].isin(candidates)]
        if t.empty:
            raise ValueError(
                f"no backtest rows at level {level!r}" + (f" and standard {standard!r}" if standard else "")
            )
        return str(t.groupby("model")["interval_score"].mean().idxmin())

    def passes(
        self,
        model: str,
        *,
        standard: str | None = None,
        level: str = "province",
        max_abs_error: float = 0.01,
        min_coverage: float = 0.5,
    ) -> bool:
        """Whether ``model`` backtests acceptably at ``level``.

        Acceptable: at every horizon its mean absolute error is under ``max_abs_error`` (a
        share: 0.01 is one point) and its intervals cover at least ``min_coverage`` of the
        held-out reviews (most folds, by default more than half).
        """
        s = self.scores(("model", "standard", "level", "horizon"))
        s = s[(s["model"] == model) & (s["level"] == level)]
        if standard is not None:
            s = s[s["standard"] == standard]
        if s.empty:
            return False
        return bool((s["mean_abs_error"] < max_abs_error).all() and (s["coverage"] >= min_coverage).all())

    def summary(self) -> str:
        """The scores by model, standard, level and horizon, as text (returned, not printed)."""
        s = self.scores()
        lines = [
            f"Rolling-origin backtest, {100 * (1 - self.alpha):.0f}% prediction intervals of the recorded rate; "
            f"origins {sorted(self.table['origin'].unique().tolist())}, horizons "
            f"{sorted(self.table['horizon'].unique().tolist())}"
        ]
        for r in s.itertuples(index=False):
            lines.append(
                f"  {r.model:<12} {r.standard:<10} {r.level:<13} h={r.horizon}: folds {r.folds:>4}, "
                f"mean error {100 * r.mean_error:+.2f}, MAE {100 * r.mean_abs_error:.2f}, "
                f"max {100 * r.max_abs_error:.2f} points, coverage {100 * r.coverage:.0f}%, "
                f"interval score {100 * r.interval_score:.2f}"
            )
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _groups(units: pd.DataFrame, level: str, disadvantaged: frozenset) -> tuple[np.ndarray, list] | None:
    """Group label per unit of a projection by (commune_code, minority) for ``level``; None when not expressible."""
    codes = units["commune_code"].astype(str).to_numpy()
    if level == "province":
        return np.full(len(units), "all", dtype=object), ["all"]
    if level == "minority":
        v = np.where(units["minority"].to_numpy(dtype=bool), "minority", "majority").astype(object)
        return v, sorted(set(v))
    if level == "old_area":
        return units["old_area"].astype(str).to_numpy(dtype=object), sorted(set(units["old_area"].astype(str)))
    if level == "disadvantaged":
        if not disadvantaged:
            return None
        v = np.where(np.isin(codes, list(disadvantaged)), "disadvantaged", "other").astype(object)
        return v, sorted(set(v))
    if level == "commune":
        return codes.astype(object), sorted(set(codes))
    raise ValueError(f"'levels' must be among {LEVELS}, got {level!r}")


def _observed(panel: pd.DataFrame, year: int, level: str, disadvantaged: frozenset) -> pd.Series:
    rows = panel[panel["review_year"] == year]
    poor = (rows["poverty_class"] == "poor").to_numpy()
    if level == "province":
        key = np.full(len(rows), "all", dtype=object)
    elif level == "minority":
        key = np.where(rows["minority"].to_numpy(dtype=bool), "minority", "majority")
    elif level == "old_area":
        key = rows["old_area"].astype(str).to_numpy()
    elif level == "disadvantaged":
        key = np.where(rows["commune_code"].isin(list(disadvantaged)).to_numpy(), "disadvantaged", "other")
    else:
        key = rows["commune_code"].astype(str).to_numpy()
    return pd.Series(poor).groupby(key).mean()


def _fit(
    model: str | Callable,
    history: pd.DataFrame,
    years: np.ndarray,
    options: Mapping,
    seed: int,
    n_sim: int,
    alpha: float,
) -> projections.Projection:
    by = ["commune_code", "minority", "old_area"]
    common = dict(years=years, alpha=alpha, n_sim=n_sim, seed=seed, min_cell=1)
    if callable(model):
        return model(history, years=years, **options)
    if model == "transition":
        return transition.transition_projection(history, by=by, **common, **options)
    counts = aggregates.poverty_counts(history, by=by + ["review_year"], min_cell=1)
    counts["standard"] = history["standard"].iloc[0]
    if model == "trend":
        return projections.trend_projection(counts, by=by, **{"slope_by": "old_area", **common, **options})
    if model == "drift":
        return baselines.drift_projection(counts, by=by, **{"pool_by": "old_area", **common, **options})
    if model == "persistence":
        return baselines.persistence_projection(counts, by=by, **common, **options)
    raise ValueError(f"'models' must be among {MODELS} or callables, got {model!r}")


def backtest(
    classified: pd.DataFrame,
    *,
    models: Sequence[str] = MODELS,
    standards: Sequence[str] | None = None,
    origins: Sequence[int] | None = None,
    horizons: Sequence[int] = (1, 2),
    levels: Sequence[str] = LEVELS,
    disadvantaged: Collection[str] = frozenset(),
    min_reviews: int = 3,
    alpha: float = 0.10,
    n_sim: int = 500,
    seed: int = 0,
    options: Mapping[str, Mapping] | None = None,
    cache: str | os.PathLike | None = None,
) -> Backtest:
    """Rolling-origin evaluation: fit every model on the reviews up to an origin, predict the next ones.

    For each standard, every review is classified under it (so a model is judged on one
    consistent series), then for each origin ``t`` (a review with at least ``min_reviews``
    reviews up to it, and a later review to predict) each model is fitted on the reviews up
    to ``t`` and projects ``t + h`` for each horizon ``h``; the projection is pooled to each
    level (province, ethnic minority, pre-merger province, disadvantaged communes, commune)
    and compared with the rate the review recorded.  Projections are by commune, ethnic
    minority and pre-merger province, so every level is a sum of units.

    Parameters
    ----------
    classified : DataFrame
        The household panel with ``household_id``, ``review_year``, ``commune_code``,
        ``minority`` (or ``ethnicity``), ``old_area``, ``area``, ``income_pc`` and the
        deprivation columns of every standard in ``standards``.
    models : sequence of str or callables
        Among :data:`MODELS`; a callable takes ``(history, years=...)`` and returns a
        :class:`povanalysis.goals.projections.Projection` by ``commune_code``, ``minority`` and
        ``old_area``.
    standards : sequence of str, optional
        Standards to reclassify the panel under; default: both the 2022–2025 and the
        2026–2030 standard when the panel has their columns.
    origins : sequence of int, optional
        Default: every review with ``min_reviews`` reviews up to it and a later review.
    horizons : sequence of int
        Years ahead.
    levels : sequence of str
        Among :data:`LEVELS`; ``disadvantaged`` needs the ``disadvantaged`` codes.
    min_reviews : int
        Reviews a model must see (3: a trend and its year-to-year variation need at least three).
    alpha : float
        Intervals at ``1 - alpha`` (0.10: 90% intervals).
    n_sim, seed : int
    options : mapping, optional
        Keyword arguments per model name, e.g. ``{"trend": {"slope_by": None}}``.
    cache : path, optional
        A folder (:func:`povanalysis.config.cache_dir`) where the table is stored, keyed by the
        arguments, a digest of ``classified`` (:func:`povanalysis.common.cache.frame_digest`),
        the package version and its source: a backtest already run is read back.  Not used
        when a model is a callable (its code is not part of the key).

    Returns
    -------
    Backtest

    References
    ----------
    Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
    *International Journal of Forecasting* 16(4), 437–450. doi:10.1016/S0169-2070(00)00065-0.
    """
    require_frame(classified, "classified", ["household_id", "review_year", "commune_code"])
    alpha = check_alpha(alpha)
    hz = sorted({int(h) for h in horizons})
    if not hz or hz[0] < 1:
        raise ValueError(f"'horizons' must be whole numbers >= 1, got {list(horizons)!r}")
    for lv in levels:
        if lv not in LEVELS:
            raise ValueError(f"'levels' must be among {LEVELS}, got {lv!r}")
    panel = classified.copy()
    if "minority" not in panel.columns:
        panel["minority"] = minority_column(panel)
    if "old_area" not in panel.columns:
        panel["old_area"] = "all"
    ys = np.sort(panel["review_year"].unique())
    if standards is None:
        standards = [s for s in ("2022-2025", "2026-2030") if set(get_standard(s).columns) <= set(panel.columns)]
    if origins is None:
        origins = [int(y) for y in ys[min_reviews - 1 : -1]]
    origins = sorted(int(o) for o in origins)
    if not origins:
        raise ValueError(
            f"no origin: the panel has {len(ys)} reviews and a model needs {min_reviews} plus one to predict"
        )
    options = dict(options or {})
    disadvantaged = frozenset(str(c) for c in disadvantaged)
    if any(callable(m) for m in models):
        cache = None
    key = (
        cache_key(
            __name__,
            study="goals.backtest",
            panel=frame_digest(classified),
            models=list(models),
            standards=list(standards),
            origins=origins,
            horizons=hz,
            levels=list(levels),
            disadvantaged=disadvantaged,
            min_reviews=min_reviews,
            alpha=alpha,
            n_sim=n_sim,
            seed=seed,
            options=options,
        )
        if cache is not None
        else ""
    )
    table, meta = cached_frame(
        cache,
        key,
        lambda: _run(panel, models, standards, origins, hz, levels, disadvantaged, options, ys, seed, n_sim, alpha),
    )
    return Backtest(table=table, alpha=float(alpha), notes=tuple(meta["notes"]))


def _run(
    panel: pd.DataFrame,
    models: Sequence,
    standards: Sequence[str],
    origins: list[int],
    hz: list[int],
    levels: Sequence[str],
    disadvantaged: frozenset,
    options: dict,
    ys: np.ndarray,
    seed: int,
    n_sim: int,
    alpha: float,
) -> tuple[pd.DataFrame, dict]:
    rows = []
    notes = []
    for std in standards:
        key = get_standard(std).key
        series = panel.assign(poverty_class=classify(panel, standard=key).astype(str), standard=key)
        for t in origins:
            history = series[series["review_year"] <= t]
            years = np.array([t + h for h in hz if t + h in ys])
            if len(years) == 0:
                continue
            years = np.arange(t + 1, years.max() + 1)
            for m in models:
                name = getattr(m, "__name__", m)
                proj = _fit(m, history, years, options.get(name, {}), seed, n_sim, alpha)
                for lv in levels:
                    grouping = _groups(proj.units, lv, disadvantaged)
                    if grouping is None:
                        continue
                    labels, names = grouping
                    agg = proj.aggregate(labels)
                    lo, hi = quantiles(agg.obs_draws, alpha)
                    gnames = agg.units.iloc[:, 0].astype(str).to_numpy()
                    for h in hz:
                        y = t + h
                        if y not in ys:
                            continue
                        j = int(np.flatnonzero(agg.years == y)[0])
                        obs = _observed(series, y, lv, disadvantaged).reindex(gnames)
                        rows.append(
                            pd.DataFrame(
                                {
                                    "model": name,
                                    "standard": key,
                                    "origin": t,
                                    "horizon": h,
                                    "year": y,
                                    "level": lv,
                                    "group": gnames,
                                    "households": agg.households,
                                    "observed": obs.to_numpy(),
                                    "predicted": agg.mean[:, j],
                                    "lower": lo[:, j],
                                    "upper": hi[:, j],
                                }
                            )
                        )
    if not rows:
        raise ValueError("nothing to compare: no origin has a later review at the given horizons")
    table = pd.concat(rows, ignore_index=True)
    missing = table["observed"].isna()
    if missing.any():
        notes.append(f"{int(missing.sum())} predictions of groups absent from the held-out review are left out")
        table = table[~missing].reset_index(drop=True)
    table["error"] = table["predicted"] - table["observed"]
    table["abs_error"] = table["error"].abs()
    table["covered"] = (table["observed"] >= table["lower"] - 1e-12) & (table["observed"] <= table["upper"] + 1e-12)
    table["interval_score"] = interval_score(table["observed"], table["lower"], table["upper"], alpha)
    notes.append("each review is reclassified under the standard evaluated; households are held at the origin")
    return table, {"notes": notes}


#: Names that moved out of this module in 0.2.0, and their new homes (importable here for one release).
MOVED: dict[str, str] = {
    "readable_scores": "povanalysis.reports.prose.goals",
    "plot_backtest": "povanalysis.figures.goals",
}


__getattr__ = moved_names(__name__, MOVED)
