"""Risk of falling back into poverty after leaving the lists: a logit tested out of time, counts, a confidential list."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from .. import config
from ..figures.charts import FONT, PALETTE
from ..common.labels import check_lang, format_number, format_percent, pick
from ..data.schema import ETHNIC_MAJORITY
from .beneficiaries import (NEWLY_ESCAPED_YEARS, _check_positive_int, _check_years, _income_line, _min_cell, _no_missing,
                        _panel, _py, _require)

__all__ = [
    "FEATURES",
    "SIMPLE_SCORES",
    "DEFAULT_RISK_THRESHOLD",
    "RULE_OF_THUMB_MARGIN",
    "CONFIDENTIAL_MARK",
    "transitions",
    "fit_fallback_model",
    "FallbackModel",
    "Baseline",
    "auc",
    "auc_difference",
    "fit_logit",
    "LogitFit",
    "recalibration",
    "at_risk_counts",
    "confidential_export",
    "evaluation_text",
    "discrimination_table",
    "calibration_table",
    "calibration_figure",
]

#: Predictors of falling back, measured at the review after which the outcome is observed.
FEATURES: tuple[str, ...] = (
    "log_income_ratio",   # log(income per person / income line): distance above the line
    "income_change",      # change in log income since the previous review (a shock, or a recovery)
    "deprivations",       # deprivation count under the review's standard
    "size",               # household members
    "size_change",        # members gained or lost since the previous review
    "dependants",         # deprived in the dependants indicator (structure proxy)
    "years_since_exit",   # reviews since the household was last listed (1..newly_escaped_years)
    "credit",             # holds a VBSP loan at the review (disbursed, not yet matured)
    "minority",           # ethnic-minority household
    "urban",              # urban area
    "bac_kan",            # commune of the old Bac Kan province
)

#: The simple scores the model is compared with, each a single column of :func:`transitions`:
#: the continuous distance to the income line (``income_pc / line`` of the household's area and
#: standard) and the previous status (reviews since the household was last listed; near-poor
#: rather than poor when last listed).  The strongest of them out of time is "the baseline".
SIMPLE_SCORES: tuple[str, ...] = ("income_ratio", "years_since_exit", "was_near_poor")

#: Probability of falling back at the next review from which a household counts as "at risk"
#: in published counts.  An analytic choice (about twice the usual re-entry rate), not a rule.
DEFAULT_RISK_THRESHOLD = 0.25

#: The rule of thumb "income within 10% above the line", kept for reference: a coarsened
#: distance to the line, never the headline comparison.
RULE_OF_THUMB_MARGIN = 0.10

#: The mark that heads every confidential household list.
CONFIDENTIAL_MARK = "MẬT — CONFIDENTIAL"

_FALLBACK = ("poor", "near_poor")

_TEXT = MappingProxyType({
    "cal_title": ("Hiệu chỉnh mô hình nguy cơ tái nghèo (kiểm định ngoài thời gian)",
                  "Calibration of the fall-back risk model (out-of-time test)"),
    "predicted": ("Xác suất dự báo", "Predicted probability"),
    "observed": ("Tỷ lệ tái nghèo thực tế", "Observed fall-back rate"),
    "bins": ("Nhóm theo xác suất dự báo", "Bins of predicted probability"),
    "perfect": ("Hiệu chỉnh hoàn hảo", "Perfect calibration"),
    "auc_model": ("AUC mô hình", "model AUC"),
    "auc_baseline": ("AUC điểm đơn giản tốt nhất", "AUC of the best simple score"),
    "logit": ("Mô hình logit", "Logit model"),
    "income_ratio": ("Khoảng cách tới chuẩn nghèo (thu nhập ÷ chuẩn)", "Distance to the income line (income ÷ line)"),
    "years_since_exit": ("Số năm kể từ khi ra khỏi danh sách", "Years since leaving the lists"),
    "was_near_poor": ("Là hộ cận nghèo (không phải hộ nghèo) khi còn trong danh sách",
                      "Near-poor rather than poor when last listed"),
    "rule_of_thumb": ("Quy tắc “thu nhập không quá {margin}% chuẩn nghèo”",
                      "Rule 'income at most {margin}% of the line'"),
    "col_score": ("Điểm dự báo", "Score"),
    "col_role": ("Vai trò", "Role"),
    "col_auc": ("AUC (KTC 95%)", "AUC (95% CI)"),
    "col_diff": ("Chênh lệch AUC mô hình − điểm (KTC 95%)", "Model AUC − score AUC (95% CI)"),
    "role_model": ("mô hình", "model"),
    "role_baseline": ("đối chứng (điểm đơn giản tốt nhất)", "baseline (best simple score)"),
    "role_simple": ("điểm đơn giản", "simple score"),
    "role_rule": ("tham khảo, không dùng để so sánh chính", "reference only, not the comparison"),
    "col_measure": ("Chỉ số", "Measure"),
    "col_estimate": ("Ước lượng", "Estimate"),
    "col_ci": ("KTC 95%", "95% CI"),
    "col_ideal": ("Giá trị lý tưởng", "Ideal value"),
    "col_verdict": ("Kết luận", "Verdict"),
    "observed_rate": ("Tỷ lệ tái nghèo quan sát", "Observed fall-back rate"),
    "mean_predicted": ("Xác suất dự báo trung bình", "Mean predicted probability"),
    "cal_intercept": ("Hiệu chỉnh tổng thể (hệ số chặn)", "Calibration-in-the-large (intercept)"),
    "cal_slope": ("Độ dốc hiệu chỉnh", "Calibration slope"),
    "covers": ("khoảng tin cậy chứa giá trị lý tưởng", "interval covers the ideal value"),
    "excludes": ("khoảng tin cậy không chứa giá trị lý tưởng", "interval excludes the ideal value"),
    "to": ("đến", "to"),
})


def _text(key: str, lang: str) -> str:
    return pick(_TEXT, key, lang)


# ----------------------------------------------------------------------------- transitions


def _credit(rows: pd.DataFrame, loans: pd.DataFrame) -> np.ndarray:
    """Whether each (household_id, review_year) row holds a loan at the end of its review year."""
    _require(loans, ["household_id", "disbursed", "term_months"], "loans")
    _no_missing(loans, ["household_id", "disbursed", "term_months"], "loans")
    if not pd.api.types.is_datetime64_any_dtype(loans["disbursed"].dtype):
        raise ValueError(f"column 'disbursed' of 'loans' must hold dates (datetime64), "
                         f"got dtype {loans['disbursed'].dtype}")
    term = loans["term_months"]
    bad = (~(term >= 1)).to_numpy() if pd.api.types.is_integer_dtype(term.dtype) else np.ones(len(term), bool)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"column 'term_months' of 'loans' must hold positive integers, got {_py(term.iloc[i])!r} "
                         f"at row {_py(loans.index[i])!r}")
    d = loans["disbursed"]
    start = d.dt.year.to_numpy() * 12 + d.dt.month.to_numpy() - 1
    ln = pd.DataFrame({"household_id": loans["household_id"].to_numpy(), "start": start,
                       "end": start + term.to_numpy()})
    key = pd.DataFrame({"household_id": rows["household_id"].to_numpy(), "row": np.arange(len(rows)),
                        "month": rows["review_year"].to_numpy() * 12 + 11})
    m = key.merge(ln, on="household_id", how="inner")
    held = m[(m["start"] <= m["month"]) & (m["end"] > m["month"])]["row"].unique()
    out = np.zeros(len(rows), bool)
    out[held] = True
    return out


def transitions(classified: pd.DataFrame, loans: pd.DataFrame | None = None, *,
                newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
                fallback_classes: Sequence[str] = _FALLBACK) -> pd.DataFrame:
    """Households that have left the lists, with their predictors and whether they fell back at the next review.

    The population at review ``t`` is the newly escaped households (see
    :func:`povanalysis.targeting.beneficiaries.beneficiaries.eligibility`: poor or near-poor at an earlier review,
    above the near-poor line now, listed at most ``newly_escaped_years`` years ago).  The
    outcome ``fell_back`` is whether the household is in ``fallback_classes`` (default poor
    or near-poor, i.e. back below the income line) at review ``t + 1``; it is missing when
    the household has no review ``t + 1`` (the latest review, or a household that dissolved).
    Changes (``income_change``, ``size_change``) compare with the household's previous review.

    Parameters
    ----------
    classified : DataFrame
        As from :func:`povanalysis.data.pipeline.classify_panel`: ``household_id``,
        ``review_year``, ``commune_code``, ``area``, ``income_pc``, ``size``,
        ``deprivations``, ``d_dependants``, ``poverty_class`` and ``minority`` (or
        ``ethnicity``); ``old_area`` and ``standard`` when present.
    loans : DataFrame, optional
        VBSP loans (``household_id``, ``disbursed``, ``term_months``) for the ``credit``
        predictor; without them ``credit`` is missing.
    newly_escaped_years : int, default 3
    fallback_classes : sequence of str, default ("poor", "near_poor")

    Returns
    -------
    DataFrame
        One row per newly escaped household-year: ``household_id``, ``review_year``,
        ``outcome_year`` (``review_year + 1``), ``commune_code``, ``income_pc``, ``line``, the
        :data:`FEATURES`, ``was_near_poor`` (1 when the household was near-poor, 0 when poor,
        at the review it was last listed) and ``fell_back`` (nullable boolean).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A"] * 3, "review_year": [2022, 2023, 2024],
    ...                    "commune_code": ["01840"] * 3, "area": ["rural"] * 3,
    ...                    "income_pc": [1_400_000, 1_650_000, 1_450_000], "size": [4, 4, 5],
    ...                    "deprivations": [3, 2, 3], "d_dependants": [0, 0, 1], "minority": [True] * 3,
    ...                    "poverty_class": ["poor", "average_living", "poor"]})
    >>> t = transitions(hh)
    >>> t[["review_year", "years_since_exit", "was_near_poor", "fell_back"]].to_dict("records")
    [{'review_year': 2023, 'years_since_exit': 1, 'was_near_poor': 0.0, 'fell_back': True}]
    >>> round(float(t["log_income_ratio"].iloc[0]), 4), round(float(t["income_change"].iloc[0]), 4)
    (0.0953, 0.1643)
    """
    needed = ["household_id", "review_year", "commune_code", "area", "income_pc", "size", "deprivations",
              "d_dependants", "poverty_class"]
    _require(classified, needed, "classified")
    if "minority" not in classified.columns and "ethnicity" not in classified.columns:
        raise ValueError("'classified' lacks both 'minority' and 'ethnicity'")
    bad_fb = [c for c in fallback_classes if c not in ("poor", "near_poor", "average_living", "not_poor")]
    if bad_fb or not len(fallback_classes):
        raise ValueError(f"'fallback_classes' must name classes among poor, near_poor, average_living, not_poor; "
                         f"got {list(fallback_classes)!r}")
    _no_missing(classified, needed, "classified")
    window = _check_positive_int(newly_escaped_years, "newly_escaped_years")
    core = _panel(classified, window)
    income = classified["income_pc"].to_numpy(dtype=float)
    if (income <= 0).any():
        i = np.flatnonzero(income <= 0)[0]
        raise ValueError(f"column 'income_pc' of 'classified' must be positive for a log ratio, got {_py(income[i])!r} "
                         f"at row {_py(classified.index[i])!r}")
    sel = np.flatnonzero(core.newly)
    order = np.lexsort((classified["household_id"].iloc[sel].to_numpy(), core.years[sel]))
    sel = sel[order]
    prev, nxt = core.prev[sel], core.next[sel]
    cols = [c for c in ("area", "standard", "review_year", "d_dependants", "deprivations", "minority", "ethnicity",
                        "old_area") if c in classified.columns]
    sub = classified[cols].iloc[sel]
    line = _income_line(sub)
    years = core.years[sel]
    size = classified["size"].to_numpy(dtype=float)
    log_inc = np.log(income)
    fb_codes = [("poor", "near_poor", "average_living", "not_poor").index(c) for c in fallback_classes]
    has_next = (nxt >= 0) & (core.years[np.maximum(nxt, 0)] == years + 1)
    fell = np.isin(core.cls[np.maximum(nxt, 0)], fb_codes)
    has_prev = prev >= 0
    p = np.maximum(prev, 0)
    minority = (sub["minority"].to_numpy(dtype=bool) if "minority" in sub.columns
                else (sub["ethnicity"] != ETHNIC_MAJORITY).to_numpy())
    # class at the review the household was last listed: look up (household, last listed year)
    key = core.hid.astype(np.int64) * 10_000 + core.years
    by_key = np.argsort(key, kind="stable")
    last_row = by_key[np.searchsorted(key[by_key], key[sel] - years + core.last_listed[sel].astype(np.int64))]
    fell_back = pd.array(np.where(has_next, fell, False), dtype="boolean")
    fell_back[~has_next] = pd.NA
    out = pd.DataFrame({
        "household_id": classified["household_id"].iloc[sel].array,
        "review_year": years,
        "outcome_year": years + 1,
        "commune_code": classified["commune_code"].iloc[sel].array,
        "income_pc": income[sel],
        "line": line,
        "log_income_ratio": log_inc[sel] - np.log(line),
        "income_change": np.where(has_prev, log_inc[sel] - log_inc[p], np.nan),
        "deprivations": sub["deprivations"].to_numpy(dtype=float),
        "size": size[sel],
        "size_change": np.where(has_prev, size[sel] - size[p], np.nan),
        "dependants": sub["d_dependants"].to_numpy(dtype=float),
        "years_since_exit": (years - core.last_listed[sel]).astype(np.int64),
        "credit": np.nan,
        "minority": minority.astype(float),
        "urban": (sub["area"] == "urban").to_numpy(dtype=float),
        "bac_kan": ((sub["old_area"] == "bac_kan").to_numpy(dtype=float) if "old_area" in sub.columns
                    else np.nan),
        "was_near_poor": (core.cls[last_row] == 1).astype(float),
        "fell_back": fell_back,
    }, index=classified.index[sel])
    if loans is not None:
        out["credit"] = _credit(out, loans).astype(float)
    return out


# ----------------------------------------------------------------------------- AUC


def _midrank_components(pos: np.ndarray, neg: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components V10 (per positive) and V01 (per negative)."""
    m, n = len(pos), len(neg)
    tz = stats.rankdata(np.concatenate([pos, neg]))
    tx, ty = stats.rankdata(pos), stats.rankdata(neg)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(v10.mean()), v10, v01


def _clusters(groups, n: int) -> tuple[np.ndarray, int]:
    """Cluster codes 0..G-1 of ``n`` units (one label each), and the number of clusters G (at least two)."""
    labels = np.asarray(groups)
    if labels.shape != (n,):
        raise ValueError(f"'groups' must hold one cluster label per unit ({n}), got shape {labels.shape}")
    codes, uniques = pd.factorize(labels)
    if (codes < 0).any():
        raise ValueError(f"'groups' has missing labels (first at position {int(np.flatnonzero(codes < 0)[0])})")
    if len(uniques) < 2:
        raise ValueError(f"'groups' must hold at least two clusters, got {len(uniques)}")
    return codes, len(uniques)


def _component_variance(v10: np.ndarray, v01: np.ndarray, theta: float, y: np.ndarray, groups) -> float:
    """Variance of an AUC (or of a difference of AUCs) from its structural components.

    Independent units: DeLong et al. (1988), ``var(V10)/m + var(V01)/n``.  Clusters: Obuchowski
    (1997), built from the cluster sums ``V10_g - m_g θ`` and ``V01_g - n_g θ``, including their
    covariance within clusters that hold both outcomes.
    """
    m, n = len(v10), len(v01)
    if groups is None:
        if m < 2 or n < 2:
            return float("nan")
        return float(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    codes, k = _clusters(groups, len(y))
    e10 = np.bincount(codes[y], weights=v10 - theta, minlength=k)
    e01 = np.bincount(codes[~y], weights=v01 - theta, minlength=k)
    return float(k / (k - 1) * (e10 @ e10 / m**2 + e01 @ e01 / n**2 + 2 * (e10 @ e01) / (m * n)))


def _auc_inputs(y, **scores) -> tuple[np.ndarray, list[np.ndarray]]:
    y = np.asarray(y, dtype=bool)
    out = []
    for name, score in scores.items():
        s = np.asarray(score, dtype=float)
        if y.shape != s.shape or y.ndim != 1:
            raise ValueError(f"'y' and {name!r} must be one-dimensional of the same length, "
                             f"got {y.shape} and {s.shape}")
        if not np.isfinite(s).all():
            raise ValueError(f"{name!r} must be finite")
        out.append(s)
    if y.all() or not y.any():
        raise ValueError("'y' must hold both outcomes to compute an AUC")
    return y, out


def auc(y, score, *, groups=None) -> tuple[float, float]:
    """Area under the ROC curve (ties count one half) and its DeLong standard error.

    Parameters
    ----------
    y : array-like of bool
        Observed outcomes (both values must occur).
    score : array-like of float
        Higher means more likely positive.
    groups : array-like, optional
        Cluster label of each unit (e.g. the commune): the standard error then allows for
        correlation within clusters (Obuchowski 1997); intervals should use a t quantile
        with (clusters − 1) degrees of freedom.  Default: independent units (DeLong et al. 1988).

    Returns
    -------
    (auc, se) : tuple of float
        ``se`` is NaN with fewer than two units of either outcome (without ``groups``).

    References
    ----------
    DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). Comparing the areas under
    two or more correlated receiver operating characteristic curves: a nonparametric
    approach. *Biometrics* 44(3): 837–845. doi:10.2307/2531595

    Obuchowski, N. A. (1997). Nonparametric analysis of clustered ROC curve data.
    *Biometrics* 53(2): 567–578. doi:10.2307/2533958

    Examples
    --------
    >>> a, se = auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
    >>> a
    0.75
    """
    y, (s,) = _auc_inputs(y, score=score)
    a, v10, v01 = _midrank_components(s[y], s[~y])
    return a, float(np.sqrt(_component_variance(v10, v01, a, y, groups)))


def auc_difference(y, score1, score2, *, groups=None) -> tuple[float, float]:
    """Paired difference of two AUCs on the same units, AUC(score1) − AUC(score2), and its standard error.

    The DeLong et al. (1988) test of two correlated ROC curves: the variance of the
    difference of the structural components, which carries the covariance of the two AUCs.

    Parameters
    ----------
    y : array-like of bool
    score1, score2 : array-like of float
        Two scores of the same units; higher means more likely positive.
    groups : array-like, optional
        Cluster labels, as for :func:`auc` (Obuchowski 1997).

    Returns
    -------
    (difference, se) : tuple of float

    References
    ----------
    DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). *Biometrics* 44(3):
    837–845. doi:10.2307/2531595

    Examples
    --------
    Five units by hand: AUCs 5/6 and 2/3, a difference of 1/6 with variance 7/36 + 1/36.

    >>> d, se = auc_difference([1, 1, 1, 0, 0], [0.9, 0.6, 0.3, 0.5, 0.1], [0.8, 0.2, 0.7, 0.4, 0.6])
    >>> round(d, 4), round(se**2, 4)
    (0.1667, 0.2222)
    """
    y, (s1, s2) = _auc_inputs(y, score1=score1, score2=score2)
    a1, p1, n1 = _midrank_components(s1[y], s1[~y])
    a2, p2, n2 = _midrank_components(s2[y], s2[~y])
    d = a1 - a2
    return d, float(np.sqrt(max(_component_variance(p1 - p2, n1 - n2, d, y, groups), 0.0)))


# ----------------------------------------------------------------------------- logits


def _quantile(level: float, df: float) -> float:
    """Two-sided quantile of a ``level`` interval: normal, or t with ``df`` degrees of freedom."""
    q = (1 + level) / 2
    return float(stats.norm.ppf(q) if np.isinf(df) else stats.t.ppf(q, df))


def _expit(eta: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-eta))


@dataclass(frozen=True)
class LogitFit:
    """A logit fitted by maximum likelihood, with its covariance.

    Attributes
    ----------
    params : ndarray, shape (..., k)
        Coefficients (log-odds), one set per leading index when fitted in a batch.
    cov : ndarray, shape (..., k, k)
        Cluster-robust sandwich (CR1) when fitted with ``groups``, else the inverse information.
    df : float
        Degrees of freedom of the t quantile of intervals and tests: clusters − 1, or ``inf``
        (normal quantile) without clusters.
    n : int
        Units.
    n_clusters : int or None
    iterations : int
        Newton–Raphson iterations.
    """

    params: np.ndarray
    cov: np.ndarray = field(repr=False)
    df: float
    n: int
    n_clusters: int | None
    iterations: int

    @property
    def se(self) -> np.ndarray:
        """Standard errors, shape (..., k)."""
        return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))

    def conf_int(self, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper ``level`` interval bounds, each of shape (..., k)."""
        q = _quantile(level, self.df)
        return self.params - q * self.se, self.params + q * self.se

    def p_values(self) -> np.ndarray:
        """Two-sided p-values of each coefficient against zero."""
        z = np.abs(self.params / self.se)
        return 2 * (stats.norm.sf(z) if np.isinf(self.df) else stats.t.sf(z, self.df))

    def to_frame(self, terms: Sequence[str] | None = None) -> pd.DataFrame:
        """``term``, ``coef``, ``se``, ``ci_lower``, ``ci_upper``, ``p_value`` (an unbatched fit only)."""
        if self.params.ndim != 1:
            raise ValueError(f"to_frame needs an unbatched fit, got params of shape {self.params.shape}")
        names = [f"x{j}" for j in range(len(self.params))] if terms is None else list(terms)
        if len(names) != len(self.params):
            raise ValueError(f"'terms' must name {len(self.params)} coefficients, got {len(names)}")
        lo, hi = self.conf_int()
        return pd.DataFrame({"term": names, "coef": self.params, "se": self.se, "ci_lower": lo, "ci_upper": hi,
                             "p_value": self.p_values()})

    def summary(self, terms: Sequence[str] | None = None) -> str:
        """The coefficients as text."""
        how = (f"cluster-robust (CR1), {self.n_clusters} clusters, t with {self.df:g} df" if self.n_clusters
               else "model-based")
        lines = [f"Logit, {self.n:,} units, {self.iterations} Newton iterations; standard errors {how}"]
        for r in self.to_frame(terms).itertuples():
            lines.append(f"  {r.term:<18} {r.coef:>9.4f}  (SE {r.se:.4f}; 95% CI {r.ci_lower:.4f} to {r.ci_upper:.4f})")
        return "\n".join(lines)


def fit_logit(x, y, *, offset=None, groups=None, max_iter: int = 100, tol: float = 1e-10) -> LogitFit:
    """Fit a logit by Newton–Raphson, vectorised over leading axes, with a cluster-robust covariance.

    ``logit P(y = 1) = offset + x @ params``.  With ``groups`` the covariance is the sandwich
    ``c · B M B`` with ``B`` the inverse information, ``M`` the sum over clusters of the outer
    products of the cluster score sums, and the small-sample factor
    ``c = G/(G − 1) · (n − 1)/(n − k)`` (CR1, as ``cov_type="cluster"`` in statsmodels);
    intervals then use a t quantile with ``G − 1`` degrees of freedom (Cameron and Miller 2015).

    Parameters
    ----------
    x : array-like, shape (..., n, k)
        Design matrix (include a column of ones for an intercept).  Leading axes fit many
        data sets at once (a simulation study).
    y : array-like of 0/1, shape (..., n)
    offset : array-like, shape (..., n), optional
        Known part of the linear predictor.
    groups : array-like, shape (n,), optional
        Cluster label of each unit, shared by every fit of a batch.
    max_iter : int, default 100
    tol : float, default 1e-10
        Convergence when the largest Newton step is below ``tol``.

    Returns
    -------
    LogitFit

    References
    ----------
    Cameron, A. C. and Miller, D. L. (2015). A practitioner's guide to cluster-robust
    inference. *Journal of Human Resources* 50(2): 317–372. doi:10.3368/jhr.50.2.317

    Examples
    --------
    >>> x = np.column_stack([np.ones(8), [0, 1, 2, 3, 0, 1, 2, 3]])
    >>> fit = fit_logit(x, [0, 0, 1, 0, 0, 1, 1, 1])
    >>> np.round(fit.params, 4).tolist(), fit.iterations
    ([-1.3623, 0.9082], 5)
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim < 2:
        raise ValueError(f"'x' must be (..., units, terms), got shape {x.shape}")
    if y.shape != x.shape[:-1]:
        raise ValueError(f"'y' must have shape {x.shape[:-1]} to match 'x' {x.shape}, got {y.shape}")
    if not ((y == 0) | (y == 1)).all():
        raise ValueError("'y' must hold 0/1 outcomes")
    if not np.isfinite(x).all():
        raise ValueError("'x' must be finite")
    off = np.zeros(y.shape) if offset is None else np.broadcast_to(np.asarray(offset, dtype=float), y.shape)
    if not np.isfinite(off).all():
        raise ValueError("'offset' must be finite")
    n, k = x.shape[-2:]
    if n <= k:
        raise ValueError(f"a logit of {k} terms needs more than {k} units, got {n}")
    xt = np.swapaxes(x, -1, -2)
    beta = np.zeros(x.shape[:-2] + (k,))
    converged = False
    with np.errstate(over="ignore"):
        for iteration in range(1, max_iter + 1):
            mu = _expit((x @ beta[..., None])[..., 0] + off)
            try:
                step = np.linalg.solve((xt * (mu * (1 - mu))[..., None, :]) @ x, xt @ (y - mu)[..., None])[..., 0]
            except np.linalg.LinAlgError:
                break
            beta = beta + step
            if not np.isfinite(beta).all():
                break
            if np.abs(step).max() < tol:
                converged = True
                break
        mu = _expit((x @ beta[..., None])[..., 0] + off)
        info = (xt * (mu * (1 - mu))[..., None, :]) @ x
    if converged:
        try:
            bread = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            converged = False
    if not converged:
        raise RuntimeError(f"the logit did not converge in {iteration} iterations "
                           "(a predictor may separate the outcomes, or the terms may be collinear)")
    if groups is None:
        return LogitFit(params=beta, cov=bread, df=float("inf"), n=int(n), n_clusters=None, iterations=iteration)
    codes, g = _clusters(groups, n)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    sums = np.add.reduceat((x * (y - mu)[..., None])[..., order, :], starts, axis=-2)
    meat = np.swapaxes(sums, -1, -2) @ sums
    cov = g / (g - 1) * (n - 1) / (n - k) * (bread @ meat @ bread)
    return LogitFit(params=beta, cov=cov, df=float(g - 1), n=int(n), n_clusters=g, iterations=iteration)


def recalibration(y, probability, *, groups=None) -> tuple[LogitFit, LogitFit]:
    """Calibration-in-the-large and calibration slope of predicted probabilities (logistic recalibration).

    With ``lp`` the log-odds of the predictions, two logits of the observed outcomes
    (Cox 1958): ``logit P(y) = a + lp`` (``lp`` as offset) gives the calibration-in-the-large
    ``a`` — 0 when the predictions are right on average, positive when they are too low,
    negative when too high — and ``logit P(y) = a' + b lp`` gives the calibration slope ``b``
    — 1 when their spread is right, below 1 when they are too extreme, above 1 when too
    moderate.  The predictions are taken as given (as for predictions made before the
    outcomes, out of time): the intervals speak of these predictions, not of the refitted
    model.  Pass ``groups`` for households clustered in communes.

    Parameters
    ----------
    y : array-like of 0/1, shape (..., n)
    probability : array-like, shape (..., n)
        Predicted probabilities, strictly between 0 and 1.
    groups : array-like, shape (n,), optional
        Cluster labels (cluster-robust sandwich, see :func:`fit_logit`).

    Returns
    -------
    (in_the_large, slope) : tuple of LogitFit
        The calibration-in-the-large is ``in_the_large.params[..., 0]``; the slope is
        ``slope.params[..., 1]`` (its intercept ``a'`` is ``slope.params[..., 0]``).

    References
    ----------
    Cox, D. R. (1958). Two further applications of a model for binary regression.
    *Biometrika* 45(3–4): 562–565. doi:10.1093/biomet/45.3-4.562

    Van Calster, B., Nieboer, D., Vergouwe, Y., De Cock, B., Pencina, M. J. and Steyerberg,
    E. W. (2016). A calibration hierarchy for risk models was defined: from utopia to
    empirical data. *Journal of Clinical Epidemiology* 74: 167–176.
    doi:10.1016/j.jclinepi.2015.12.005

    Examples
    --------
    >>> p = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    >>> large, slope = recalibration([0, 0, 1, 0, 0, 1, 1, 1], p)
    >>> round(float(large.params[0]), 4), round(float(slope.params[1]), 4)
    (0.2556, 1.842)
    """
    p = np.asarray(probability, dtype=float)
    if not ((p > 0) & (p < 1)).all():
        raise ValueError("'probability' must be strictly between 0 and 1")
    lp = np.log(p) - np.log1p(-p)
    ones = np.ones(lp.shape + (1,))
    large = fit_logit(ones, y, offset=lp, groups=groups)
    slope = fit_logit(np.concatenate([ones, lp[..., None]], axis=-1), y, groups=groups)
    return large, slope


# ----------------------------------------------------------------------------- the model


@dataclass
class Baseline:
    """A simple score the model is compared with, on the same out-of-time households.

    Attributes
    ----------
    score : str
        One of :data:`SIMPLE_SCORES`, or ``"rule_of_thumb"`` (income ≤ (1 + margin) × line).
    direction : int
        +1 when higher values mean more risk, −1 when lower values do; set on the training
        transitions (the sign that gives a training AUC of at least 0.5), never on the test.
    auc, auc_se : float
        Out-of-time AUC (ties count one half) and its standard error (clustered by commune).
    auc_ci : tuple of float
        95% interval.
    difference, difference_se, difference_p : float
        Model AUC minus this AUC on the same households (paired DeLong, clustered by commune),
        its standard error and two-sided p-value.
    difference_ci : tuple of float
        95% interval of the difference.
    flagged_share, precision : float
        For the rule of thumb: share of the test households flagged, fall-back rate among them
        (NaN for the other scores).
    """

    score: str
    direction: int
    auc: float
    auc_se: float
    auc_ci: tuple
    difference: float
    difference_se: float
    difference_ci: tuple
    difference_p: float
    flagged_share: float = float("nan")
    precision: float = float("nan")


def _wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = _quantile(0.95, float("inf"))
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@dataclass
class FallbackModel:
    """A logit of falling back into poverty, fitted on earlier transitions and tested on the latest.

    Every interval is a 95% interval that allows for households clustered in communes
    (cluster-robust, t quantile with clusters − 1 degrees of freedom).

    Attributes
    ----------
    logit : LogitFit
        The fitted logit (coefficients and their cluster-robust covariance).
    features : tuple of str
        The predictors used (constant predictors of the training data are left out and
        listed in ``dropped``).
    dropped : tuple of str
        Predictors left out: constant in the training data, or ``credit`` without loans.
    train_years, test_year
        Outcome review years of the training and test transitions.
    n_train, n_test : int
        Households in each.
    n_clusters : int
        Communes of the test households.
    base_rate : float
        Fall-back rate in the test transitions.
    mean_predicted : float
        Mean predicted probability in the test transitions.
    auc, auc_se : float
        Out-of-time AUC of the model and its standard error.
    auc_ci : tuple of float
    baselines : tuple of Baseline
        Every simple score of :data:`SIMPLE_SCORES`, then the rule of thumb, on the same test
        households.
    baseline : Baseline
        The baseline: the simple score with the highest out-of-time AUC (never the rule of
        thumb, which coarsens the distance to the line).  Chosen on the test households, which
        favours the baseline: the model's gain is if anything understated.
    rule : Baseline
        The rule of thumb "income within 10% of the line", for reference.
    auc_difference, auc_difference_se, auc_difference_p : float
        Model AUC minus the baseline's, its standard error and two-sided p-value.
    auc_difference_ci : tuple of float
    calibration_intercept, calibration_intercept_se : float
        Calibration-in-the-large out of time (:func:`recalibration`): 0 is ideal; positive
        when the predicted risks are too low on average.
    calibration_intercept_ci : tuple of float
    calibration_slope, calibration_slope_se : float
        Calibration slope out of time: 1 is ideal; above 1 when the predictions are too
        moderate, below 1 when too extreme.
    calibration_slope_ci : tuple of float
    calibration : DataFrame
        Test households binned by predicted probability (deciles): ``bin``, ``n``,
        ``predicted`` (mean), ``observed`` (rate), ``se``, ``ci_lower``, ``ci_upper`` (Wilson,
        ignoring clusters: a description for the figure, not a test).
    precision_at_top_decile : float
        Fall-back rate among the 10% of test households with the highest predicted risk.
    brier : float
        Mean squared error of the predicted probabilities on the test transitions.
    coefficients : DataFrame
        ``term``, ``coef``, ``se``, ``ci_lower``, ``ci_upper``, ``odds_ratio``, ``p_value``
        (cluster-robust by commune: a household appears in several training reviews).
    rule_margin : float
        The rule of thumb flags income ≤ (1 + rule_margin) × line.
    """

    logit: LogitFit = field(repr=False)
    features: tuple
    dropped: tuple
    train_years: tuple
    test_year: int
    n_train: int
    n_test: int
    n_clusters: int
    base_rate: float
    mean_predicted: float
    auc: float
    auc_se: float
    auc_ci: tuple
    baselines: tuple = field(repr=False)
    baseline: Baseline
    rule: Baseline = field(repr=False)
    auc_difference: float
    auc_difference_se: float
    auc_difference_ci: tuple
    auc_difference_p: float
    calibration_intercept: float
    calibration_intercept_se: float
    calibration_intercept_ci: tuple
    calibration_slope: float
    calibration_slope_se: float
    calibration_slope_ci: tuple
    calibration: pd.DataFrame = field(repr=False)
    precision_at_top_decile: float
    brier: float
    coefficients: pd.DataFrame = field(repr=False)
    newly_escaped_years: int = NEWLY_ESCAPED_YEARS
    fallback_classes: tuple = _FALLBACK
    rule_margin: float = RULE_OF_THUMB_MARGIN
    _loans: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The out-of-time evaluation as a tidy table.

        Columns ``measure`` (``AUC``, ``AUC_difference``, ``calibration_intercept``,
        ``calibration_slope``, ``precision_top_decile``, ``precision_flagged``, ``base_rate``,
        ``mean_predicted``, ``brier``), ``model`` (``logit``, a simple score,
        ``rule_of_thumb``, or ``logit - <score>`` for differences), ``role`` (``model``,
        ``baseline``, ``simple_score``, ``rule_of_thumb``), ``value``, ``se``, ``ci_lower``,
        ``ci_upper`` (95%, clustered by commune), ``n`` (test households) and ``test_year``.
        """
        nan = float("nan")
        role = {b.score: ("baseline" if b is self.baseline else "rule_of_thumb" if b is self.rule
                          else "simple_score") for b in self.baselines}
        rows = [("AUC", "logit", "model", self.auc, self.auc_se, *self.auc_ci)]
        rows += [("AUC", b.score, role[b.score], b.auc, b.auc_se, *b.auc_ci) for b in self.baselines]
        rows += [("AUC_difference", f"logit - {b.score}", role[b.score], b.difference, b.difference_se,
                  *b.difference_ci) for b in self.baselines]
        rows += [
            ("calibration_intercept", "logit", "model", self.calibration_intercept, self.calibration_intercept_se,
             *self.calibration_intercept_ci),
            ("calibration_slope", "logit", "model", self.calibration_slope, self.calibration_slope_se,
             *self.calibration_slope_ci),
            ("precision_top_decile", "logit", "model", self.precision_at_top_decile, nan, nan, nan),
            ("precision_flagged", "rule_of_thumb", "rule_of_thumb", self.rule.precision, nan, nan, nan),
            ("base_rate", "observed", "model", self.base_rate, nan, nan, nan),
            ("mean_predicted", "logit", "model", self.mean_predicted, nan, nan, nan),
            ("brier", "logit", "model", self.brier, nan, nan, nan),
        ]
        out = pd.DataFrame(rows, columns=["measure", "model", "role", "value", "se", "ci_lower", "ci_upper"])
        out["n"] = self.n_test
        out["test_year"] = self.test_year
        return out

    def summary(self) -> str:
        """A text account of the fit and its out-of-time evaluation."""
        b, r = self.baseline, self.rule

        def ci(pair):
            return f"{pair[0]:.3f} to {pair[1]:.3f}"

        lines = [
            "Risk of falling back into poverty: logit on households that left the lists "
            f"(within {self.newly_escaped_years} years)",
            f"  trained on transitions into reviews {', '.join(map(str, self.train_years))} "
            f"({self.n_train:,} households); tested out of time on {self.test_year} ({self.n_test:,} households, "
            f"{self.n_clusters} communes)",
            f"  fall-back rate in the test year: {self.base_rate:.3f}; mean predicted {self.mean_predicted:.3f}",
            "  95% intervals allow for clustering within communes",
            f"  AUC {self.auc:.3f} (95% CI {ci(self.auc_ci)})",
            f"  baseline (best simple score): {b.score} AUC {b.auc:.3f} (95% CI {ci(b.auc_ci)}); "
            f"difference {self.auc_difference:+.3f} (95% CI {ci(self.auc_difference_ci)}, "
            f"p = {self.auc_difference_p:.3g})",
            "  simple scores (direction set on the training reviews):",
        ]
        for s in self.baselines:
            way = "higher" if s.direction > 0 else "lower"
            lines.append(f"    {s.score:<18} AUC {s.auc:.3f} ({ci(s.auc_ci)}), {way} is riskier; "
                         f"model − score {s.difference:+.3f} ({ci(s.difference_ci)})")
        lines += [
            f"  calibration-in-the-large {self.calibration_intercept:+.3f} "
            f"(95% CI {ci(self.calibration_intercept_ci)}; 0 is ideal); calibration slope {self.calibration_slope:.3f} (95% CI {ci(self.calibration_slope_ci)}; "
            "1 is ideal)",
            f"  precision in the top decile {self.precision_at_top_decile:.3f}; the rule of thumb flags "
            f"{r.flagged_share:.1%} with precision {r.precision:.3f}; Brier score {self.brier:.4f}",
        ]
        if self.dropped:
            lines.append(f"  predictors left out: {', '.join(self.dropped)}")
        lines.append("  coefficients (log-odds, cluster-robust SE):")
        for c in self.coefficients.itertuples():
            lines.append(f"    {c.term:<18} {c.coef:>8.3f}  (SE {c.se:.3f})")
        return "\n".join(lines)

    def score(self, classified: pd.DataFrame, *, loans: pd.DataFrame | None = None,
              review_year: int | None = None) -> pd.DataFrame:
        """Probability of falling back at the next review, for every newly escaped household of a review.

        **Internal**: the frame holds household identifiers.  Publish only
        :func:`at_risk_counts`; hand lists to officials only through
        :func:`confidential_export`.  The model knows nothing of a change of standard at
        the next review (e.g. the 2026 review under Decree 351/2025/ND-CP): the scores
        speak of falling back below the current line.

        Parameters
        ----------
        classified : DataFrame
            As for :func:`fit_fallback_model`.
        loans : DataFrame, optional
            Loans for the ``credit`` predictor; default the loans the model was fitted with.
        review_year : int, optional
            Review to score; default the latest in ``classified``.

        Returns
        -------
        DataFrame
            ``household_id``, ``review_year``, ``commune_code``, ``minority``,
            ``log_income_ratio``, ``income_change``, ``probability``.
        """
        loans = self._loans if loans is None else loans
        if "credit" in self.features and loans is None:
            raise ValueError("the model uses 'credit': pass 'loans'")
        t = transitions(classified, loans if "credit" in self.features else None,
                        newly_escaped_years=self.newly_escaped_years, fallback_classes=self.fallback_classes)
        years = sorted(set(_check_years(classified, "classified").tolist()))
        year = years[-1] if review_year is None else review_year
        if year not in years:
            raise ValueError(f"'review_year' {year!r} is not in 'classified' (review years: {years})")
        t = t[t["review_year"] == year]
        p = _expit(self._linear_predictor(t))
        out = t[["household_id", "review_year", "commune_code", "minority", "log_income_ratio",
                 "income_change"]].copy()
        out["minority"] = out["minority"].astype(bool)
        out["probability"] = p
        return out.reset_index(drop=True)

    def _linear_predictor(self, t: pd.DataFrame) -> np.ndarray:
        x = t[list(self.features)].to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"predictor {_py(self.features[j])!r} is missing for household "
                             f"{_py(t['household_id'].iloc[i])!r} "
                             f"at review {t['review_year'].iloc[i]}")
        beta = np.asarray(self.logit.params)
        return beta[0] + x @ beta[1:]


def _simple_score(t: pd.DataFrame, name: str, rule_margin: float) -> np.ndarray:
    """A simple score's raw values (before orientation)."""
    ratio = t["income_pc"].to_numpy(dtype=float) / t["line"].to_numpy(dtype=float)
    if name == "income_ratio":
        return ratio
    if name == "rule_of_thumb":
        return (ratio <= 1 + rule_margin).astype(float)
    return t[name].to_numpy(dtype=float)


def _interval(value: float, se: float, df: float) -> tuple[float, float]:
    q = _quantile(0.95, df)
    return (value - q * se, value + q * se)


def _p_value(value: float, se: float, df: float) -> float:
    if not se > 0:
        return float("nan")
    z = abs(value / se)
    return float(2 * (stats.norm.sf(z) if np.isinf(df) else stats.t.sf(z, df)))


def fit_fallback_model(classified: pd.DataFrame, loans: pd.DataFrame | None = None, *,
                       train_years: Sequence[int] | None = None, test_year: int | None = None,
                       newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
                       fallback_classes: Sequence[str] = _FALLBACK,
                       rule_margin: float = RULE_OF_THUMB_MARGIN, n_bins: int = 10) -> FallbackModel:
    """Fit a logit of falling back into poverty on earlier transitions; evaluate it out of time.

    Transitions (see :func:`transitions`) are labelled by their outcome review year: a
    household newly escaped at review ``t`` either falls back at review ``t + 1`` or not.
    The model is fitted on the transitions into ``train_years`` and evaluated on those into
    ``test_year``, so the evaluation uses only information a forecaster had:

    - discrimination: the AUC, compared on the same households with each simple score of
      :data:`SIMPLE_SCORES` (the continuous distance to the income line, the previous status)
      by a paired DeLong test; the strongest of them out of time is the baseline.  The rule
      of thumb "income within 10% above the line" is reported too, for reference only: a
      binary cut of the distance to the line, it understates what that distance alone does;
    - calibration: the calibration-in-the-large and the calibration slope
      (:func:`recalibration`), and a table by deciles of predicted risk;
    - the precision in the top decile and the Brier score.

    Households are clustered in communes: the coefficients' standard errors, the AUCs and
    their differences (Obuchowski 1997) and the calibration tests are all cluster-robust by
    commune, with t quantiles on (communes − 1) degrees of freedom.

    Parameters
    ----------
    classified : DataFrame
        As from :func:`povanalysis.data.pipeline.classify_panel` (see :func:`transitions`).
    loans : DataFrame, optional
        VBSP loans; adds the ``credit`` predictor.
    train_years : sequence of int, optional
        Outcome review years to fit on; default every one before ``test_year``.  All must
        be earlier than ``test_year``.
    test_year : int, optional
        Outcome review year to evaluate on; default the latest.
    newly_escaped_years : int, default 3
    fallback_classes : sequence of str, default ("poor", "near_poor")
        Classes that count as falling back (back below the income line).
    rule_margin : float, default 0.10
        The rule of thumb flags income ≤ (1 + margin) × line.
    n_bins : int, default 10
        Bins of the calibration table (quantiles of predicted risk).

    Returns
    -------
    FallbackModel

    References
    ----------
    Hosmer, D. W., Lemeshow, S. and Sturdivant, R. X. (2013). *Applied Logistic
    Regression*, 3rd ed. Wiley. doi:10.1002/9781118548387

    DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). *Biometrics* 44(3):
    837–845. doi:10.2307/2531595

    Obuchowski, N. A. (1997). *Biometrics* 53(2): 567–578. doi:10.2307/2533958

    Van Calster, B. et al. (2016). *Journal of Clinical Epidemiology* 74: 167–176.
    doi:10.1016/j.jclinepi.2015.12.005

    Examples
    --------
    >>> from povanalysis.data import pipeline, synth
    >>> panel = synth.generate(seed=5, scale=0.01)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> model.test_year, model.train_years
    (2025, (2023, 2024))
    >>> model.baseline.score, model.auc > model.baseline.auc > model.rule.auc
    ('income_ratio', True)
    """
    if isinstance(rule_margin, bool) or not isinstance(rule_margin, numbers.Real) or not 0 <= rule_margin < 1:
        raise ValueError(f"'rule_margin' must be in [0, 1), got {rule_margin!r}")
    n_bins = _check_positive_int(n_bins, "n_bins")
    newly_escaped_years = _check_positive_int(newly_escaped_years, "newly_escaped_years")
    t = transitions(classified, loans, newly_escaped_years=newly_escaped_years, fallback_classes=fallback_classes)
    t = t[t["fell_back"].notna()]
    available = sorted(set(t["outcome_year"].tolist()))
    if len(available) < 2:
        raise ValueError(f"out-of-time evaluation needs transitions into at least two reviews, got {available}")
    test = available[-1] if test_year is None else test_year
    if test not in available:
        raise ValueError(f"'test_year' {test!r} has no transitions; outcome review years: {available}")
    train = tuple(y for y in available if y < test) if train_years is None else tuple(train_years)
    late = [y for y in train if y >= test]
    if late:
        raise ValueError(f"'train_years' must all be earlier than test_year {test} (out-of-time), got {late}")
    unknown = [y for y in train if y not in available]
    if unknown or not train:
        raise ValueError(f"'train_years' {list(train)!r} must be non-empty outcome review years among {available}")
    tr = t[t["outcome_year"].isin(train)]
    te = t[t["outcome_year"] == test]
    y_tr = tr["fell_back"].to_numpy(dtype=bool)
    y_te = te["fell_back"].to_numpy(dtype=bool)
    for name, y in (("training", y_tr), ("test", y_te)):
        if y.all() or not y.any():
            raise ValueError(f"the {name} transitions hold only one outcome "
                             f"({'all' if y.all() else 'none'} fell back): "
                             "no model can be fitted or evaluated")
    for name, frame in (("training", tr), ("test", te)):
        if frame["commune_code"].nunique() < 2:
            raise ValueError(f"the {name} transitions lie in a single commune: "
                             "intervals clustered by commune need at least two")
    features, dropped = [], []
    for f in FEATURES:
        col = tr[f].to_numpy(dtype=float)
        if f == "credit" and loans is None or np.isnan(col).all():
            dropped.append(f)
        elif np.nanmin(col) == np.nanmax(col):
            dropped.append(f)
        else:
            features.append(f)
    x_tr = tr[features].to_numpy(dtype=float)
    bad = ~np.isfinite(x_tr)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise ValueError(f"predictor {_py(features[j])!r} is missing for household {_py(tr['household_id'].iloc[i])!r} "
                         f"at review {tr['review_year'].iloc[i]}")
    try:
        fit = fit_logit(np.column_stack([np.ones(len(tr)), x_tr]), y_tr, groups=tr["commune_code"].to_numpy())
    except RuntimeError as err:
        raise RuntimeError(f"the fall-back logit did not converge: {err}") from None
    lo, hi = fit.conf_int()
    coefficients = pd.DataFrame({
        "term": ["const", *features], "coef": fit.params, "se": fit.se, "ci_lower": lo, "ci_upper": hi,
        "odds_ratio": np.exp(fit.params), "p_value": fit.p_values()})
    nan = float("nan")
    model = FallbackModel(
        logit=fit, features=tuple(features), dropped=tuple(dropped), train_years=train, test_year=int(test),
        n_train=len(tr), n_test=len(te), n_clusters=int(te["commune_code"].nunique()), base_rate=float(y_te.mean()),
        mean_predicted=nan, auc=nan, auc_se=nan, auc_ci=(nan, nan), baselines=(), baseline=None, rule=None,
        auc_difference=nan, auc_difference_se=nan, auc_difference_ci=(nan, nan), auc_difference_p=nan,
        calibration_intercept=nan, calibration_intercept_se=nan, calibration_intercept_ci=(nan, nan),
        calibration_slope=nan, calibration_slope_se=nan, calibration_slope_ci=(nan, nan),
        calibration=pd.DataFrame(), precision_at_top_decile=nan, brier=nan, coefficients=coefficients,
        newly_escaped_years=newly_escaped_years, fallback_classes=tuple(fallback_classes),
        rule_margin=float(rule_margin), _loans=loans)
    _evaluate(model, tr, te, n_bins=n_bins)
    return model


def _evaluate(model: FallbackModel, tr: pd.DataFrame, te: pd.DataFrame, *, n_bins: int) -> None:
    """Fill the out-of-time evaluation of ``model`` on the test transitions ``te``."""
    rule_margin = model.rule_margin
    y_tr = tr["fell_back"].to_numpy(dtype=bool)
    y = te["fell_back"].to_numpy(dtype=bool)
    communes = te["commune_code"].to_numpy()
    df = float(model.n_clusters - 1)
    p = _expit(model._linear_predictor(te))
    a, a_se = auc(y, p, groups=communes)
    model.auc, model.auc_se, model.auc_ci = a, a_se, _interval(a, a_se, df)
    baselines = []
    for name in (*SIMPLE_SCORES, "rule_of_thumb"):
        direction = 1 if name == "rule_of_thumb" or auc(y_tr, _simple_score(tr, name, rule_margin))[0] >= 0.5 else -1
        s = direction * _simple_score(te, name, rule_margin)
        b_auc, b_se = auc(y, s, groups=communes)
        d, d_se = auc_difference(y, p, s, groups=communes)
        b = Baseline(score=name, direction=direction, auc=b_auc, auc_se=b_se, auc_ci=_interval(b_auc, b_se, df),
                     difference=d, difference_se=d_se, difference_ci=_interval(d, d_se, df),
                     difference_p=_p_value(d, d_se, df))
        if name == "rule_of_thumb":
            flag = s > 0
            b.flagged_share = float(flag.mean())
            b.precision = float(y[flag].mean()) if flag.any() else float("nan")
        baselines.append(b)
    model.baselines, model.rule = tuple(baselines), baselines[-1]
    model.baseline = max(baselines[:-1], key=lambda b: b.auc)
    model.auc_difference, model.auc_difference_se = model.baseline.difference, model.baseline.difference_se
    model.auc_difference_ci, model.auc_difference_p = model.baseline.difference_ci, model.baseline.difference_p
    large, slope = recalibration(y.astype(float), p, groups=communes)
    lo, hi = large.conf_int()
    model.calibration_intercept, model.calibration_intercept_se = float(large.params[0]), float(large.se[0])
    model.calibration_intercept_ci = (float(lo[0]), float(hi[0]))
    lo, hi = slope.conf_int()
    model.calibration_slope, model.calibration_slope_se = float(slope.params[1]), float(slope.se[1])
    model.calibration_slope_ci = (float(lo[1]), float(hi[1]))
    model.mean_predicted = float(p.mean())
    model.calibration = _calibration(p, y, n_bins)
    k = int(np.ceil(0.1 * len(p)))
    top = np.argsort(-p, kind="stable")[:k]
    model.precision_at_top_decile = float(y[top].mean())
    model.brier = float(np.mean((p - y) ** 2))


def _calibration(p: np.ndarray, y: np.ndarray, n_bins: int) -> pd.DataFrame:
    ranks = stats.rankdata(p, method="ordinal")
    bins = np.minimum((ranks - 1) * n_bins // len(p), n_bins - 1)
    frame = pd.DataFrame({"bin": bins + 1, "p": p, "y": y.astype(float)})
    g = frame.groupby("bin", sort=True)
    out = pd.DataFrame({"n": g.size(), "predicted": g["p"].mean(), "observed": g["y"].mean(),
                        "fell_back": g["y"].sum()}).reset_index()
    n, k = out["n"].to_numpy(float), out["fell_back"].to_numpy(float)
    out["se"] = np.sqrt(out["observed"] * (1 - out["observed"]) / n)
    lo, hi = _wilson(k, n)
    out["ci_lower"], out["ci_upper"] = lo, hi
    out["fell_back"] = out["fell_back"].astype(np.int64)
    return out[["bin", "n", "predicted", "observed", "fell_back", "se", "ci_lower", "ci_upper"]]


# ----------------------------------------------------------------------------- outputs


def _check_scores(scores: pd.DataFrame, columns) -> None:
    _require(scores, ["probability", *columns], "scores")
    _no_missing(scores, ["probability", *columns], "scores")
    p = scores["probability"].to_numpy(dtype=float)
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"column 'probability' of 'scores' must be in [0, 1], got {_py(p[i])!r} "
                         f"at row {_py(scores.index[i])!r}")


def _check_threshold(threshold) -> float:
    ok = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not ok or not 0 < threshold <= 1:
        raise ValueError(f"'threshold' must be in (0, 1], got {threshold!r}")
    return float(threshold)


def at_risk_counts(scores: pd.DataFrame, *, threshold: float = DEFAULT_RISK_THRESHOLD,
                   by: str | Sequence[str] = "commune_code", min_cell: int | None = None) -> pd.DataFrame:
    """Publishable counts of households at risk of falling back, by commune (no identifiers).

    Parameters
    ----------
    scores : DataFrame
        Output of :meth:`FallbackModel.score`.
    threshold : float, default :data:`DEFAULT_RISK_THRESHOLD`
        A household is at risk when its probability is at least ``threshold``.
    by : str or sequence of str, default "commune_code"
        Grouping columns of ``scores`` (``review_year`` is added when present).
    min_cell : int, optional
        Rows resting on fewer scored households are flagged ``suppressed``; default
        :data:`povanalysis.config.MIN_CELL`.

    Returns
    -------
    DataFrame
        ``by`` columns, ``households`` (newly escaped households scored), ``at_risk``,
        ``at_risk_rate`` (share of those), ``expected_fallbacks`` (sum of the probabilities),
        ``suppressed``.

    Examples
    --------
    >>> s = pd.DataFrame({"household_id": list("abc"), "commune_code": ["01840"] * 3,
    ...                   "probability": [0.1, 0.3, 0.6]})
    >>> at_risk_counts(s, threshold=0.25, min_cell=1).to_dict("records")
    [{'commune_code': '01840', 'households': 3, 'at_risk': 2, 'at_risk_rate': 0.6666666666666666, 'expected_fallbacks': 1.0, 'suppressed': False}]
    """
    threshold = _check_threshold(threshold)
    limit = _min_cell(min_cell)
    keys = [by] if isinstance(by, str) else list(by)
    if "household_id" in keys:
        raise ValueError("'by' must not hold 'household_id': these counts are published")
    if "review_year" in scores.columns and "review_year" not in keys:
        keys = ["review_year", *keys]
    _check_scores(scores, keys)
    p = scores["probability"].to_numpy(dtype=float)
    work = pd.DataFrame({k: scores[k].to_numpy() for k in keys})
    work["households"] = 1
    work["at_risk"] = (p >= threshold).astype(np.int64)
    work["expected_fallbacks"] = p
    out = work.groupby(keys, sort=True, observed=True).sum().reset_index()
    out["at_risk_rate"] = out["at_risk"] / out["households"]
    out["suppressed"] = out["households"] < limit
    return out[[*keys, "households", "at_risk", "at_risk_rate", "expected_fallbacks", "suppressed"]]


def confidential_export(scores: pd.DataFrame, path, *, threshold: float = DEFAULT_RISK_THRESHOLD) -> Path:
    """Write the list of households at risk of falling back for the commune officials who follow them up.

    **Confidential.** The file's first line is :data:`CONFIDENTIAL_MARK` with a notice in
    Vietnamese and English, its name must contain ``CONFIDENTIAL``, and it may not be written
    under the published reports folder (:func:`povanalysis.config.reports_dir`).  No
    published output uses it.  It is a UTF-8 CSV with a byte-order mark (for spreadsheet
    programs); read it back with ``pd.read_csv(path, skiprows=1)``.

    Parameters
    ----------
    scores : DataFrame
        Output of :meth:`FallbackModel.score`.
    path : str or Path
        A ``.csv`` file whose name contains ``CONFIDENTIAL`` (any case), e.g.
        ``MAT-CONFIDENTIAL_fallback-risk_2025.csv``.
    threshold : float, default :data:`DEFAULT_RISK_THRESHOLD`
        Households at or above it are marked ``at_risk``; every scored household is listed.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile
    >>> s = pd.DataFrame({"household_id": ["TN0000001"], "review_year": [2025], "commune_code": ["01840"],
    ...                   "log_income_ratio": [0.05], "income_change": [0.2], "probability": [0.4]})
    >>> out = confidential_export(s, Path(tempfile.mkdtemp()) / "MAT-CONFIDENTIAL_risk.csv")
    >>> out.read_text(encoding="utf-8-sig").splitlines()[0].startswith("MẬT — CONFIDENTIAL")
    True
    """
    from ..data import registry

    threshold = _check_threshold(threshold)
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"'path' must be a .csv file, got {path.name!r}")
    if "confidential" not in path.name.lower():
        raise ValueError(f"'path' must say the file is confidential: its name must contain 'CONFIDENTIAL', "
                         f"got {path.name!r} (e.g. 'MAT-CONFIDENTIAL_fallback-risk.csv')")
    reports = config.reports_dir().resolve()
    target = path.resolve()
    if target == reports or reports in target.parents:
        raise ValueError(f"'path' {str(path)!r} is under the published reports folder {str(reports)!r}: "
                         "household lists must never be written there")
    _check_scores(scores, ["household_id", "commune_code", "review_year"])
    names = registry.units().set_index("commune_code")["name"]
    out = pd.DataFrame({
        "commune_code": scores["commune_code"].to_numpy(),
        "commune_name": scores["commune_code"].map(names).to_numpy(),
        "household_id": scores["household_id"].to_numpy(),
        "review_year": scores["review_year"].to_numpy(),
        "probability": scores["probability"].to_numpy(dtype=float).round(4),
        "at_risk": scores["probability"].to_numpy(dtype=float) >= threshold,
    })
    for col in ("log_income_ratio", "income_change"):
        if col in scores.columns:
            out[col] = scores[col].to_numpy(dtype=float).round(4)
    out = out.sort_values(["commune_code", "probability", "household_id"], ascending=[True, False, True],
                          kind="stable").reset_index(drop=True)
    out.insert(3, "rank_in_commune", out.groupby("commune_code").cumcount() + 1)
    notice = (f"{CONFIDENTIAL_MARK}: danh sách hộ có nguy cơ tái nghèo — chỉ dành cho cán bộ được giao theo dõi — "
              "không công bố và không chia sẻ / households at risk of falling back into poverty — for the assigned "
              "officials only — do not publish or share")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        fh.write(notice + "\n")
        out.to_csv(fh, index=False, lineterminator="\n")
    return path


def _fmt(value: float, lang: str, *, digits: int = 3, sign: bool = False) -> str:
    """A number with the decimal comma in Vietnamese and a true minus sign."""
    if value != value:
        return "–"
    text = f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"
    text = text.replace("-", "−")
    return text.replace(".", ",") if lang == "vi" else text


def _ci(pair: tuple, lang: str, *, digits: int = 3) -> str:
    return f"{_fmt(pair[0], lang, digits=digits)} {_text('to', lang)} {_fmt(pair[1], lang, digits=digits)}"


def _score_name(model: FallbackModel, score: str, lang: str) -> str:
    if score == "rule_of_thumb":
        margin = format_number(100 * (1 + model.rule_margin), lang)
        return _text("rule_of_thumb", lang).format(margin=margin)
    return _text(score, lang)


def _check_model(model) -> None:
    if not isinstance(model, FallbackModel):
        raise TypeError(f"'model' should be a FallbackModel, got {type(model).__name__}")


def _verdict(ci: tuple, ideal: float) -> int:
    """-1 when the interval lies below the ideal value, +1 above it, 0 when it covers it."""
    return -1 if ci[1] < ideal else 1 if ci[0] > ideal else 0


_CALIBRATION_WORDS = MappingProxyType({
    ("intercept", 1): ("dự báo thấp hơn thực tế về mức trung bình", "the predicted risks are too low on average"),
    ("intercept", -1): ("dự báo cao hơn thực tế về mức trung bình", "the predicted risks are too high on average"),
    ("intercept", 0): ("mức nguy cơ trung bình phù hợp trong phạm vi sai số",
                       "the average risk is right within its uncertainty"),
    ("slope", 1): ("dự báo quá dè dặt: nguy cơ thực tế phân tán rộng hơn",
                   "the predictions are too moderate: the observed risks spread further"),
    ("slope", -1): ("dự báo quá cực đoan: nguy cơ thực tế phân tán hẹp hơn",
                    "the predictions are too extreme: the observed risks spread less"),
    ("slope", 0): ("độ phân tán của dự báo phù hợp trong phạm vi sai số",
                   "the spread of the predictions is right within its uncertainty"),
})


def evaluation_text(model: FallbackModel, *, lang: str = "vi") -> str:
    """The out-of-time evaluation in a paragraph: AUC against the best simple score, calibration, top decile.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    str

    Examples
    --------
    >>> from povanalysis.data import pipeline, synth
    >>> panel = synth.generate(seed=5, scale=0.005)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> evaluation_text(model, lang="en").startswith("Fitted on households that left the lists")
    True
    >>> calibration_figure(model, lang="en").data[1].name
    'Observed fall-back rate'
    """
    check_lang(lang)
    _check_model(model)
    b, r = model.baseline, model.rule
    i = 0 if lang == "vi" else 1
    train = ", ".join(map(str, model.train_years))
    n = format_number(model.n_test, lang)
    communes = format_number(model.n_clusters, lang)
    rate = format_percent(model.base_rate, lang, digits=1)
    prec = format_percent(model.precision_at_top_decile, lang, digits=1)
    name = _score_name(model, b.score, lang)
    rule = _score_name(model, "rule_of_thumb", lang)
    v = {k: _fmt(getattr(model, k), lang) for k in ("auc", "calibration_slope")}
    v["diff"] = _fmt(model.auc_difference, lang, sign=True)
    v["cil"] = _fmt(model.calibration_intercept, lang)
    words_i = _CALIBRATION_WORDS[("intercept", _verdict(model.calibration_intercept_ci, 0.0))][i]
    words_s = _CALIBRATION_WORDS[("slope", _verdict(model.calibration_slope_ci, 1.0))][i]
    if lang == "vi":
        return (f"Mô hình được ước lượng trên các hộ thoát nghèo và chuyển dịch đến kỳ rà soát {train}, rồi kiểm định "
                f"trên kỳ {model.test_year} ({n} hộ tại {communes} xã, phường; {rate} tái nghèo hoặc tái cận nghèo): "
                f"AUC {v['auc']} (KTC 95%: {_ci(model.auc_ci, lang)}). Điểm đơn giản tốt nhất — "
                f"{name[0].lower() + name[1:]} — đạt AUC {_fmt(b.auc, lang)} (KTC 95%: {_ci(b.auc_ci, lang)}); "
                f"chênh lệch AUC giữa mô hình và điểm này: {v['diff']} (KTC 95%: {_ci(model.auc_difference_ci, lang)}). "
                f"{rule}, tức khoảng cách tới chuẩn nghèo bị chia thành hai nhóm, đạt AUC {_fmt(r.auc, lang)}. "
                f"Hiệu chỉnh ngoài thời gian: hệ số chặn {v['cil']} (KTC 95%: "
                f"{_ci(model.calibration_intercept_ci, lang)}; lý tưởng là 0) — {words_i}; "
                f"độ dốc {v['calibration_slope']} (KTC 95%: {_ci(model.calibration_slope_ci, lang)}; lý tưởng là 1) — {words_s}. Các khoảng tin cậy "
                f"tính đến việc các hộ cùng xã, phường không độc lập với nhau. Trong 10% hộ có nguy cơ cao nhất theo "
                f"mô hình, {prec} đã tái nghèo.")
    return (f"Fitted on households that left the lists, with outcomes at the {train} reviews, and tested on the "
            f"{model.test_year} review ({n} households in {communes} communes, {rate} fell back): AUC {v['auc']} "
            f"(95% CI {_ci(model.auc_ci, lang)}). The best simple score, the {name[0].lower() + name[1:]}, reaches "
            f"{_fmt(b.auc, lang)} (95% CI {_ci(b.auc_ci, lang)}); AUC difference, model minus this score: {v['diff']} "
            f"(95% CI {_ci(model.auc_difference_ci, lang)}). The {rule[0].lower() + rule[1:]}, a two-way cut of "
            f"that distance, reaches an AUC of {_fmt(r.auc, lang)}. Calibration out of time: "
            f"calibration-in-the-large {v['cil']} (95% CI {_ci(model.calibration_intercept_ci, lang)}; 0 is ideal), "
            f"{words_i}; calibration slope {v['calibration_slope']} (95% CI {_ci(model.calibration_slope_ci, lang)}; "
            f"1 is ideal), {words_s}. The intervals allow for households clustered in communes. Of the 10% the "
            f"model rates riskiest, {prec} fell back.")


def discrimination_table(model: FallbackModel, *, lang: str = "vi") -> pd.DataFrame:
    """The model and each simple score: out-of-time AUC and the model's gain over it, formatted for reading.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    DataFrame
        One row for the model, then the baseline, the other simple scores and the rule of
        thumb; columns score, role, AUC (95% CI), model AUC − score AUC (95% CI), as text.

    Examples
    --------
    See :func:`calibration_table`.
    """
    check_lang(lang)
    _check_model(model)
    order = [model.baseline] + [b for b in model.baselines if b is not model.baseline and b is not model.rule]
    rows = [(_text("logit", lang), _text("role_model", lang),
             f"{_fmt(model.auc, lang)} ({_ci(model.auc_ci, lang)})", "–")]
    for b in [*order, model.rule]:
        role = ("role_baseline" if b is model.baseline else "role_rule" if b is model.rule else "role_simple")
        rows.append((_score_name(model, b.score, lang), _text(role, lang),
                     f"{_fmt(b.auc, lang)} ({_ci(b.auc_ci, lang)})",
                     f"{_fmt(b.difference, lang, sign=True)} ({_ci(b.difference_ci, lang)})"))
    return pd.DataFrame(rows, columns=[_text(k, lang) for k in ("col_score", "col_role", "col_auc", "col_diff")])


def calibration_table(model: FallbackModel, *, lang: str = "vi") -> pd.DataFrame:
    """Out-of-time calibration formatted for reading: observed and predicted rates, intercept and slope.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    DataFrame
        Rows: observed fall-back rate, mean predicted probability, calibration-in-the-large,
        calibration slope; columns measure, estimate, 95% CI, ideal value, verdict, as text.

    Examples
    --------
    >>> from povanalysis.data import pipeline, synth
    >>> panel = synth.generate(seed=5, scale=0.005)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> list(calibration_table(model, lang="en").columns)
    ['Measure', 'Estimate', '95% CI', 'Ideal value', 'Verdict']
    >>> discrimination_table(model, lang="en").iloc[1]["Role"]
    'baseline (best simple score)'
    """
    check_lang(lang)
    _check_model(model)
    rows = [(_text("observed_rate", lang), format_percent(model.base_rate, lang, digits=1), "", "", ""),
            (_text("mean_predicted", lang), format_percent(model.mean_predicted, lang, digits=1), "", "", "")]
    for key, value, ci, ideal in (("cal_intercept", model.calibration_intercept, model.calibration_intercept_ci, 0.0),
                                  ("cal_slope", model.calibration_slope, model.calibration_slope_ci, 1.0)):
        verdict = "covers" if _verdict(ci, ideal) == 0 else "excludes"
        rows.append((_text(key, lang), _fmt(value, lang), _ci(ci, lang), _fmt(ideal, lang, digits=0),
                     _text(verdict, lang)))
    return pd.DataFrame(rows, columns=[_text(k, lang) for k in ("col_measure", "col_estimate", "col_ci", "col_ideal",
                                                                 "col_verdict")])


def calibration_figure(model: FallbackModel, *, lang: str = "vi") -> go.Figure:
    """Observed fall-back rate against predicted probability by decile, with Wilson intervals.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    See :func:`evaluation_text`.
    """
    check_lang(lang)
    _check_model(model)
    cal = model.calibration
    top = float(max(cal["ci_upper"].max(), cal["predicted"].max())) * 1.05
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", name=_text("perfect", lang),
                             line=dict(color="#999999", dash="dash")))
    fig.add_trace(go.Scatter(
        x=cal["predicted"].tolist(), y=cal["observed"].tolist(), mode="markers+lines", name=_text("observed", lang),
        marker=dict(color=PALETTE[0], size=9), line=dict(color=PALETTE[0]),
        error_y=dict(type="data", symmetric=False, array=(cal["ci_upper"] - cal["observed"]).tolist(),
                     arrayminus=(cal["observed"] - cal["ci_lower"]).tolist()),
        customdata=cal["n"].tolist(),
        hovertemplate=(_text("predicted", lang) + " %{x:.1%}, " + _text("observed", lang).lower()
                       + " %{y:.1%} (n = %{customdata})<extra></extra>")))
    sub = (f"{_text('auc_model', lang)} {_fmt(model.auc, lang)} · {_text('auc_baseline', lang)} "
           f"{_fmt(model.baseline.auc, lang)} · {model.test_year}")
    fig.update_layout(title=dict(text=f"{_text('cal_title', lang)}<br><sup>{sub}</sup>"), font=FONT,
                      template="plotly_white", legend_title_text="", xaxis_title=_text("predicted", lang),
                      yaxis_title=_text("observed", lang), margin=dict(l=60, r=20, t=80, b=50))
    fig.update_xaxes(tickformat=".0%", range=[0, top])
    fig.update_yaxes(tickformat=".0%", range=[0, top])
    return fig
