"""How well a risk score separates and calibrates: AUC and DeLong's test (clustered), logit fits, recalibration."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "auc",
    "auc_difference",
    "fit_logit",
    "LogitFit",
    "recalibration",
    "expit",
    "t_quantile",
]


# ----------------------------------------------------------------------------- AUC


def _midrank_components(pos: np.ndarray, neg: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """AUC and DeLong's structural components V10 (per positive) and V01 (per negative)."""
    m, n = len(pos), len(neg)
    tz = stats.rankdata(np.concatenate([pos, neg]))
    tx, ty = stats.rankdata(pos), stats.rankdata(neg)
    v10 = (tz[:m] - tx) / n
    v01 = 1.0 - (tz[m:] - ty) / m
    return float(v10.mean()), v10, v01


def _clusters(groups: ArrayLike, n: int) -> tuple[np.ndarray, int]:
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
            raise ValueError(
                f"'y' and {name!r} must be one-dimensional of the same length, got {y.shape} and {s.shape}"
            )
        if not np.isfinite(s).all():
            raise ValueError(f"{name!r} must be finite")
        out.append(s)
    if y.all() or not y.any():
        raise ValueError("'y' must hold both outcomes to compute an AUC")
    return y, out


def auc(y: ArrayLike, score: ArrayLike, *, groups: ArrayLike | None = None) -> tuple[float, float]:
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


def auc_difference(
    y: ArrayLike, score1: ArrayLike, score2: ArrayLike, *, groups: ArrayLike | None = None
) -> tuple[float, float]:
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


def t_quantile(level: float, df: float) -> float:
    """Two-sided quantile of a ``level`` interval: normal when ``df`` is infinite, else t with ``df`` degrees of freedom.

    Examples
    --------
    >>> round(t_quantile(0.95, float("inf")), 4), round(t_quantile(0.95, 9), 4)
    (1.96, 2.2622)
    """
    q = (1 + level) / 2
    return float(stats.norm.ppf(q) if np.isinf(df) else stats.t.ppf(q, df))


def expit(eta: np.ndarray) -> np.ndarray:
    """The logistic function ``1 / (1 + exp(-eta))``: probabilities from log-odds.

    Examples
    --------
    >>> expit(np.array([0.0])).tolist()
    [0.5]
    """
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
        q = t_quantile(level, self.df)
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
        return pd.DataFrame(
            {
                "term": names,
                "coef": self.params,
                "se": self.se,
                "ci_lower": lo,
                "ci_upper": hi,
                "p_value": self.p_values(),
            }
        )

    def summary(self, terms: Sequence[str] | None = None) -> str:
        """The coefficients as text."""
        how = (
            f"cluster-robust (CR1), {self.n_clusters} clusters, t with {self.df:g} df"
            if self.n_clusters
            else "model-based"
        )
        lines = [f"Logit, {self.n:,} units, {self.iterations} Newton iterations; standard errors {how}"]
        for r in self.to_frame(terms).itertuples():
            lines.append(f"  {r.term:<18} {r.coef:>9.4f}  (SE {r.se:.4f}; 95% CI {r.ci_lower:.4f} to {r.ci_upper:.4f})")
        return "\n".join(lines)


def fit_logit(
    x: ArrayLike,
    y: ArrayLike,
    *,
    offset: ArrayLike | None = None,
    groups: ArrayLike | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
) -> LogitFit:
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
        iteration = 0
        while iteration < max_iter:
            iteration += 1
            mu = expit((x @ beta[..., None])[..., 0] + off)
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
        mu = expit((x @ beta[..., None])[..., 0] + off)
        info = (xt * (mu * (1 - mu))[..., None, :]) @ x
    if converged:
        try:
            bread = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            converged = False
    if not converged:
        raise RuntimeError(
            f"the logit did not converge in {iteration} iterations "
            "(a predictor may separate the outcomes, or the terms may be collinear)"
        )
    if groups is None:
        return LogitFit(params=beta, cov=bread, df=float("inf"), n=int(n), n_clusters=None, iterations=iteration)
    codes, g = _clusters(groups, n)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(codes[order]) != 0])
    sums = np.add.reduceat((x * (y - mu)[..., None])[..., order, :], starts, axis=-2)
    meat = np.swapaxes(sums, -1, -2) @ sums
    cov = g / (g - 1) * (n - 1) / (n - k) * (bread @ meat @ bread)
    return LogitFit(params=beta, cov=cov, df=float(g - 1), n=int(n), n_clusters=g, iterations=iteration)


def recalibration(
    y: ArrayLike, probability: ArrayLike, *, groups: ArrayLike | None = None
) -> tuple[LogitFit, LogitFit]:
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
