"""Small-area estimation with the Fay–Herriot area-level model: EBLUPs, their MSEs and checks.

Figures of a fit are in :mod:`povanalysis.figures.measure`; the design-based comparison with a
census (the simulation study) is in :mod:`povanalysis.measure.sae_simulation`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import special, stats

from ..common.deprecation import moved_names

__all__ = [
    "ConvergenceError",
    "ConvergenceWarning",
    "FayHerriotResult",
    "fay_herriot",
    "benchmark",
]

METHODS = ("REML", "ML", "FH")
TRANSFORMS = (None, "arcsin", "logit")
_MSE_NAMES = {"REML": "prasad-rao", "ML": "datta-lahiri", "FH": "datta-rao-smith"}
_GH_X, _GH_W = np.polynomial.hermite.hermgauss(64)


class ConvergenceError(RuntimeError):
    """Fisher scoring did not reach the tolerance within ``max_iter`` iterations."""


class ConvergenceWarning(UserWarning):
    """Fisher scoring did not converge and ``on_nonconvergence="warn"`` was asked for."""


# --------------------------------------------------------------------------- inputs


def _vector(values, name: str) -> tuple[np.ndarray, pd.Index | None]:
    index = values.index if isinstance(values, pd.Series) else None
    if isinstance(values, pd.DataFrame):
        raise ValueError(f"{name!r} must be 1-D, got a DataFrame with {values.shape[1]} columns")
    try:
        arr = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(f"{name!r} must be numeric, got {type(values).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name!r} must be 1-D, got shape {arr.shape}")
    return arr, index


def _design(covariates, m: int, intercept: bool) -> tuple[pd.DataFrame, pd.Index | None]:
    if covariates is None:
        frame = pd.DataFrame(index=range(m))
        index = None
    elif isinstance(covariates, pd.DataFrame):
        frame, index = covariates.reset_index(drop=True), covariates.index
    elif isinstance(covariates, pd.Series):
        frame, index = covariates.to_frame().reset_index(drop=True), covariates.index
    else:
        arr = np.asarray(covariates)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"'covariates' must be 2-D, got shape {arr.shape}")
        frame, index = pd.DataFrame(arr, columns=[f"x{j + 1}" for j in range(arr.shape[1])]), None
    if len(frame) != m:
        raise ValueError(f"'covariates' has {len(frame)} rows but 'direct' has {m} values")
    for col in frame.columns:
        if not (pd.api.types.is_numeric_dtype(frame[col]) or pd.api.types.is_bool_dtype(frame[col])):
            raise TypeError(
                f"covariate {col!r} is not numeric (dtype {frame[col].dtype}); encode categories with pd.get_dummies"
            )
    frame = frame.astype("float64")
    frame.columns = [str(c) for c in frame.columns]
    if intercept:
        if "intercept" in frame.columns:
            raise ValueError("'covariates' already has a column 'intercept'; pass intercept=False")
        frame.insert(0, "intercept", 1.0)
    if frame.shape[1] == 0:
        raise ValueError("the model has no coefficients: pass covariates or intercept=True")
    return frame, index


def _check_rank(X: pd.DataFrame) -> None:
    values = X.to_numpy()
    if np.linalg.matrix_rank(values) == values.shape[1]:
        return
    for j in range(values.shape[1]):
        if np.linalg.matrix_rank(values[:, : j + 1]) < j + 1:
            before = list(X.columns[:j])
            raise ValueError(
                f"'covariates' are collinear on the sampled areas: column {X.columns[j]!r} is constant or a "
                f"linear combination of {before}; drop it"
            )


def _transform(direct, variance, n_eff, transform, sampled, labels):
    """The model scale: (y*, D*) for the sampled areas."""
    y, v = direct[sampled], variance[sampled]
    names = labels[sampled]
    bad = ~np.isfinite(y) | ~np.isfinite(v) | (v < 0)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"area {names[i]!r} has direct={float(y[i])!r}, variance={float(v[i])!r}; "
            "both must be finite and the variance non-negative"
        )
    if transform is None:
        bad = ~(v > 0) | ~np.isfinite(v)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(
                f"'variance' must be positive for every sampled area; area {names[i]!r} has {float(v[i])!r} "
                f"(use transform='arcsin' with n_eff for rates estimated as 0 or 1)"
            )
        return y, v
    bad = ~((y >= 0) & (y <= 1))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"transform={transform!r} needs rates in [0, 1]; area {names[i]!r} has direct={float(y[i])!r}")
    if transform == "logit":
        bad = (y <= 0) | (y >= 1) | ~(v > 0)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(
                f"transform='logit' needs 0 < direct < 1 and variance > 0; area {names[i]!r} has "
                f"direct={float(y[i])!r}, variance={float(v[i])!r} (use transform='arcsin')"
            )
        return np.log(y / (1 - y)), v / (y * (1 - y)) ** 2
    if n_eff is None:
        bad = (y <= 0) | (y >= 1) | ~(v > 0)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(
                f"transform='arcsin' derives n_eff = p(1 - p) / variance, impossible for area {names[i]!r} "
                f"(direct={float(y[i])!r}, variance={float(v[i])!r}); pass n_eff"
            )
        ne = y * (1 - y) / v
    else:
        ne_all, _ = _vector(n_eff, "n_eff")
        if len(ne_all) != len(direct):
            raise ValueError(f"'n_eff' has {len(ne_all)} values but 'direct' has {len(direct)}")
        ne = ne_all[sampled]
        bad = ~(ne > 0) | ~np.isfinite(ne)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(f"'n_eff' must be positive for every sampled area; area {names[i]!r} has {float(ne[i])!r}")
    return np.arcsin(np.sqrt(y)), 1.0 / (4.0 * ne)


def _inverse(t: np.ndarray, transform) -> np.ndarray:
    if transform is None:
        return t
    if transform == "logit":
        return 1.0 / (1.0 + np.exp(-t))
    return np.sin(np.clip(t, 0.0, np.pi / 2)) ** 2


def _cos_integral(k: int, mean, sd, lower: float, upper: float):
    """``E[cos(k T); lower < T < upper]`` for ``T ~ N(mean, sd**2)``, ``sd > 0``, in closed form."""
    a, b = (lower - mean) / sd, (upper - mean) / sd
    shift = 1j * k * sd
    cdf_b = 0.5 * special.erfc(-(b - shift) / math.sqrt(2.0))  # the normal cdf at a complex point
    cdf_a = 0.5 * special.erfc(-(a - shift) / math.sqrt(2.0))
    return np.real(np.exp(1j * k * mean - 0.5 * (k * sd) ** 2) * (cdf_b - cdf_a))


def _moment(mean, var, transform, power: int):
    """``E[h(T)**power]`` for ``T ~ N(mean, var)`` and the inverse transform ``h``.

    Arcsine: exact, from ``sin^2 = (1 - cos 2t) / 2`` and ``sin^4 = (3 - 4 cos 2t + cos 4t) / 8``
    on ``[0, pi/2]`` plus the mass above ``pi/2`` (``h = 1`` there, 0 below 0).  Logit:
    64-node Gauss–Hermite quadrature (``expit`` is analytic).
    """
    mean, var = np.asarray(mean, dtype="float64"), np.asarray(var, dtype="float64")
    out = _inverse(mean, transform) ** power
    pos = var > 0
    if not pos.any():
        return out
    mu, sd = mean[pos], np.sqrt(var[pos])
    if transform == "logit":
        nodes = mu[:, None] + math.sqrt(2.0) * sd[:, None] * _GH_X[None, :]
        out[pos] = (_inverse(nodes, transform) ** power) @ _GH_W / math.sqrt(math.pi)
        return out
    half = np.pi / 2
    inside = stats.norm.cdf(half, mu, sd) - stats.norm.cdf(0.0, mu, sd)
    c2 = _cos_integral(2, mu, sd, 0.0, half)
    if power == 1:
        part = 0.5 * (inside - c2)
    else:
        part = (3.0 * inside - 4.0 * c2 + _cos_integral(4, mu, sd, 0.0, half)) / 8.0
    out[pos] = part + stats.norm.sf(half, mu, sd)
    return out


def _back(mean_t, var_t, transform, backtransform) -> np.ndarray:
    if transform is None:
        return mean_t
    if backtransform == "naive":
        return _inverse(mean_t, transform)
    return _moment(mean_t, var_t, transform, 1)


# --------------------------------------------------------------------------- fitting


def _gls(A: float, y, D, X):
    Vi = 1.0 / (A + D)
    XtVi = X.T * Vi
    Q = np.linalg.inv(XtVi @ X)
    beta = Q @ (XtVi @ y)
    return Vi, XtVi, Q, beta


def _score(A: float, y, D, X, method: str) -> tuple[float, float]:
    """Score and expected information of the variance component (R sae's eblupFH)."""
    Vi, XtVi, Q, beta = _gls(A, y, D, X)
    resid = y - X @ beta
    if method == "FH":
        return float((resid**2 * Vi).sum() - (len(y) - X.shape[1])), float(Vi.sum())
    Py = Vi * resid
    if method == "ML":
        return float(-0.5 * Vi.sum() + 0.5 * Py @ Py), float(0.5 * (Vi**2).sum())
    P = np.diag(Vi) - XtVi.T @ Q @ XtVi
    return float(-0.5 * np.trace(P) + 0.5 * Py @ Py), float(0.5 * np.sum(P * P))


def _fisher_scoring(y, D, X, method: str, tol: float, max_iter: int):
    """Return (sigma2_u, n_iter, converged, at_boundary, last relative change)."""
    A = float(np.median(D))
    change = math.inf
    for k in range(1, max_iter + 1):
        s, info = _score(A, y, D, X, method)
        new = A + s / info
        if new <= 0.0:
            if A == 0.0:
                return 0.0, k, True, True, 0.0
            new = 0.0
        elif A > 0.0:
            change = abs(new - A) / A
            if change <= tol:
                return new, k, True, False, change
        A = new
    return A, max_iter, False, A == 0.0, change


def _mse_terms(A: float, D, X, Q, method: str, m: int):
    """g1, g2, g3 and the bias term of the analytic MSE (R sae's mseFH); ``D = inf`` for unsampled areas."""
    sampled = np.isfinite(D)
    Vs = 1.0 / (A + D[sampled])
    S1, S2 = Vs.sum(), (Vs**2).sum()
    if method == "FH":
        var_a = 2.0 * m / S1**2
        bias = 2.0 * (m * S2 - S1**2) / S1**3
    else:
        var_a = 2.0 / S2
        bias = 0.0
        if method == "ML":
            Xs = X[sampled]
            bias = -np.trace(Q @ ((Xs.T * Vs**2) @ Xs)) / S2
    B = np.ones_like(D)
    B[sampled] = D[sampled] * Vs
    g1 = np.full_like(D, A)
    g1[sampled] = A * D[sampled] * Vs
    g2 = B**2 * np.einsum("ij,jk,ik->i", X, Q, X)
    g3 = np.zeros_like(D)
    g3[sampled] = B[sampled] ** 2 * var_a * Vs
    return g1, g2, g3, bias * B**2


@dataclass(frozen=True, repr=False)
class FayHerriotResult:
    """A fitted Fay–Herriot model; per-area attributes are Series in input order.

    Attributes
    ----------
    method : str
        ``"REML"``, ``"ML"`` or ``"FH"`` (Fay–Herriot moment estimator).
    transform : str or None
        ``None``, ``"arcsin"`` or ``"logit"``; per-area values are on the original scale.
    backtransform : str
        ``"bias_corrected"`` or ``"naive"`` (only used with a transform).
    sampled : Series of bool
        Whether the area had a direct estimate (unsampled areas get synthetic predictions).
    direct, variance : Series
        The inputs (NaN for unsampled areas).
    eblup, mse, cv, gamma, synthetic : Series
        EBLUP (synthetic prediction for unsampled areas), its estimated MSE, the
        coefficient of variation ``sqrt(mse) / |eblup|``, the shrinkage factor
        ``sigma2_u / (sigma2_u + D)`` (0 for unsampled areas) and the synthetic
        prediction ``x' beta``.
    eblup_link, mse_link : Series
        EBLUP and MSE on the model (transformed) scale.
    mse_components : DataFrame
        ``g1``, ``g2``, ``g3`` and ``bias`` on the model scale, ``mse_link = g1 + g2 + 2 g3 - bias``.
    mse_method : str
        ``"prasad-rao"``, ``"datta-lahiri"``, ``"datta-rao-smith"`` or ``"bootstrap"``.
    sigma2_u : float
        The variance of the area effects, kept ``>= 0``.
    at_boundary : bool
        True when the estimate of ``sigma2_u`` is 0 (all areas get the synthetic value).
    coef, coef_se : Series
        Regression coefficients and their standard errors (``sqrt diag (X' V^-1 X)^-1``).
    loglike, aic, bic : float
        Gaussian log-likelihood of the sampled direct estimates (model scale) at the fitted
        ``beta`` and ``sigma2_u`` (also for REML and FH, as R sae reports it), and the AIC and
        BIC with ``p + 1`` parameters.
    converged : bool
        Fisher scoring met ``tol`` (relative change of ``sigma2_u``) within ``max_iter``.
    n_iter : int
        Iterations used.
    residuals : Series
        Standardised residuals ``(y - x' beta) / sqrt(sigma2_u + D)`` of the sampled areas.
    random_effects : Series
        Predicted area effects ``gamma (y - x' beta)`` of the sampled areas.
    n_boot, n_boot_failed : int
        Bootstrap replicates asked for and replicates whose refit did not converge.
    design : DataFrame
        The design matrix by area, with the ``intercept`` column when one was added.
    """

    method: str
    transform: str | None
    backtransform: str
    sampled: pd.Series
    direct: pd.Series
    variance: pd.Series
    eblup: pd.Series
    mse: pd.Series
    cv: pd.Series
    gamma: pd.Series
    synthetic: pd.Series
    eblup_link: pd.Series
    mse_link: pd.Series
    mse_components: pd.DataFrame
    mse_method: str
    sigma2_u: float
    at_boundary: bool
    coef: pd.Series
    coef_se: pd.Series
    loglike: float
    aic: float
    bic: float
    converged: bool
    n_iter: int
    residuals: pd.Series
    random_effects: pd.Series
    n_boot: int = 0
    n_boot_failed: int = 0
    design: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"FayHerriotResult(method={self.method!r}, areas={len(self.eblup)}, "
            f"sampled={int(self.sampled.sum())}, sigma2_u={self.sigma2_u:.6g})"
        )

    def to_frame(self, *, level: float = 0.95) -> pd.DataFrame:
        """Per-area table: direct estimate, EBLUP, ``se``, ``ci_lower``, ``ci_upper``, CVs and shrinkage.

        Intervals are ``eblup ± z se``; with a transform they are the back-transformed
        interval of the model scale, so they stay in ``[0, 1]``.
        """
        if not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        z = stats.norm.ppf(0.5 + level / 2.0)
        if self.transform is None:
            lower, upper = self.eblup - z * np.sqrt(self.mse), self.eblup + z * np.sqrt(self.mse)
        else:
            half = z * np.sqrt(self.mse_link)
            lower = pd.Series(_inverse((self.eblup_link - half).to_numpy(), self.transform), index=self.eblup.index)
            upper = pd.Series(_inverse((self.eblup_link + half).to_numpy(), self.transform), index=self.eblup.index)
        direct_se = np.sqrt(self.variance)
        with np.errstate(divide="ignore", invalid="ignore"):
            direct_cv = (direct_se / self.direct.abs()).where(self.direct != 0)
        return pd.DataFrame(
            {
                "sampled": self.sampled,
                "direct": self.direct,
                "direct_se": direct_se,
                "direct_cv": direct_cv,
                "eblup": self.eblup,
                "se": np.sqrt(self.mse),
                "mse": self.mse,
                "cv": self.cv,
                "ci_lower": lower,
                "ci_upper": upper,
                "gamma": self.gamma,
                "synthetic": self.synthetic,
            }
        )

    def diagnostics(self) -> pd.DataFrame:
        """Normality checks of the standardised residuals and of the predicted area effects.

        Rows ``residuals`` and ``random_effects``; columns ``n``, ``mean``, ``sd``,
        ``skewness``, ``kurtosis`` (excess) and the Shapiro–Wilk ``shapiro_w`` and
        ``shapiro_p`` (NaN when the values are constant, e.g. at the boundary).
        """
        rows = {}
        for name, values in (("residuals", self.residuals), ("random_effects", self.random_effects)):
            v = values.to_numpy()
            constant = np.ptp(v) == 0 or len(v) < 3
            w, p = (np.nan, np.nan) if constant else stats.shapiro(v)
            rows[name] = {
                "n": len(v),
                "mean": v.mean(),
                "sd": v.std(ddof=1),
                "skewness": np.nan if constant else stats.skew(v),
                "kurtosis": np.nan if constant else stats.kurtosis(v),
                "shapiro_w": float(w),
                "shapiro_p": float(p),
            }
        return pd.DataFrame.from_dict(rows, orient="index")

    def summary(self) -> str:
        """The fit as text: method, variance component, convergence, fit criteria, coefficients."""
        m_s = int(self.sampled.sum())
        z = self.coef / self.coef_se
        table = pd.DataFrame({"coef": self.coef, "se": self.coef_se, "z": z, "p_value": 2 * stats.norm.sf(np.abs(z))})
        fr = self.to_frame()
        both = fr["direct_cv"].notna() & fr["cv"].notna()
        lines = [
            f"Fay–Herriot area-level model, method={self.method}, transform={self.transform}",
            f"areas: {len(fr)} ({m_s} sampled, {len(fr) - m_s} synthetic)",
            f"sigma2_u = {self.sigma2_u:.6g}"
            + ("  (at the boundary 0: synthetic estimates)" if self.at_boundary else ""),
            f"converged: {self.converged} in {self.n_iter} iterations",
            f"loglike = {self.loglike:.4f}, AIC = {self.aic:.4f}, BIC = {self.bic:.4f}",
            f"MSE: {self.mse_method}"
            + (f" (B = {self.n_boot}, failed refits = {self.n_boot_failed})" if self.n_boot else ""),
            f"median CV over the {int(both.sum())} areas where both are defined: "
            f"direct {fr.loc[both, 'direct_cv'].median():.3f}, EBLUP {fr.loc[both, 'cv'].median():.3f}",
            "",
            table.to_string(float_format=lambda x: f"{x:.6g}"),
        ]
        return "\n".join(lines)


def _fit_all(y_s, D_s, X, sampled, method, tol, max_iter):
    Xs = X[sampled]
    A, n_iter, converged, boundary, change = _fisher_scoring(y_s, D_s, Xs, method, tol, max_iter)
    Vi, _, Q, beta = _gls(A, y_s, D_s, Xs)
    synth = X @ beta
    eblup = synth.copy()
    gamma = np.zeros(len(X))
    gamma[sampled] = A * Vi
    eblup[sampled] = synth[sampled] + gamma[sampled] * (y_s - synth[sampled])
    return A, beta, Q, Vi, synth, eblup, gamma, n_iter, converged, boundary, change


def fay_herriot(
    direct: ArrayLike,
    variance: ArrayLike,
    covariates: ArrayLike | pd.DataFrame | None = None,
    *,
    method: str = "REML",
    intercept: bool = True,
    transform: str | None = None,
    n_eff: ArrayLike | None = None,
    backtransform: str = "bias_corrected",
    mse: str = "analytic",
    n_boot: int = 200,
    seed: int | None = None,
    tol: float = 1e-8,
    max_iter: int = 100,
    on_nonconvergence: str = "raise",
) -> FayHerriotResult:
    """Fit the Fay–Herriot model and predict every area: EBLUP, MSE, CV and shrinkage.

    The model is ``y_i = x_i' beta + u_i + e_i`` with ``u_i ~ N(0, sigma2_u)`` and
    ``e_i ~ N(0, D_i)``, ``D_i`` the known sampling variance.  ``sigma2_u`` is fitted by
    Fisher scoring from the median of ``D`` (REML, ML, or the Fay–Herriot moment equation),
    as R's ``sae::eblupFH``, stopping when the relative change is at most ``tol``.  An
    iterate that goes negative is set to 0; when the score at 0 still points down the
    estimate is 0 (``at_boundary``) and every area gets its synthetic value.

    Areas whose ``direct`` and ``variance`` are both NaN are unsampled: their prediction is
    the synthetic ``x' beta`` with MSE ``sigma2_u + x'(X'V^-1X)^-1 x - bias``.

    Parameters
    ----------
    direct, variance : array-like, 1-D
        Direct estimates and their sampling variances, one per area.  A Series gives the
        area labels.
    covariates : array-like or DataFrame, 2-D, optional
        Area-level covariates, one row per area (also for unsampled areas).
    method : {"REML", "ML", "FH"}
        Fitting method of ``sigma2_u``.
    intercept : bool
        Add an intercept column.
    transform : {None, "arcsin", "logit"}
        Model a rate on the arcsine-square-root scale (``D* = 1 / (4 n_eff)``) or the logit
        scale (``D* = D / (p (1 - p))**2``, delta method).
    n_eff : array-like, optional
        Effective sample sizes for ``"arcsin"``; if omitted ``p (1 - p) / variance``.
    backtransform : {"bias_corrected", "naive"}
        ``"naive"`` applies the inverse transform (``sin(clip(t, 0, pi/2))**2`` or
        ``expit``); ``"bias_corrected"`` takes its expectation under ``N(eblup*, g1)``
        (``N(x'beta, sigma2_u)`` when unsampled), Slud & Maiti's (2006) correction: in closed
        form for ``"arcsin"`` (mass below 0 maps to 0, above ``pi/2`` to 1), by Gauss–Hermite
        quadrature for ``"logit"``.
    mse : {"analytic", "bootstrap"}
        Analytic: Prasad–Rao ``g1 + g2 + 2 g3`` (REML), Datta–Lahiri with the ML bias term
        (ML), Datta–Rao–Smith (FH), exactly as R's ``sae::mseFH``; with a transform the
        model-scale MSE is carried to the original scale as ``E[(h(T) - eblup)**2]`` for
        ``T ~ N(eblup*, mse*)``.  Bootstrap: parametric bootstrap of González-Manteiga et al.
        (2008) with ``n_boot`` replicates on the original scale.
    n_boot : int
        Bootstrap replicates.
    seed : int, optional
        Seed of the bootstrap.
    tol, max_iter : float, int
        Convergence tolerance (relative change of ``sigma2_u``) and iteration limit.
    on_nonconvergence : {"raise", "warn"}
        Raise :class:`ConvergenceError`, or warn (:class:`ConvergenceWarning`) and return the
        last iterate with ``converged=False``.

    Returns
    -------
    FayHerriotResult

    References
    ----------
    Fay, R. E. and Herriot, R. A. (1979). JASA 74, 269–277. doi:10.1080/01621459.1979.10482505
    Prasad, N. G. N. and Rao, J. N. K. (1990). JASA 85, 163–171. doi:10.1080/01621459.1990.10475320
    Datta, G. S. and Lahiri, P. (2000). Statistica Sinica 10, 613–627.
    Datta, G. S., Rao, J. N. K. and Smith, D. D. (2005). Biometrika 92, 183–196. doi:10.1093/biomet/92.1.183
    Slud, E. V. and Maiti, T. (2006). JRSS B 68, 239–257. doi:10.1111/j.1467-9868.2006.00542.x
    González-Manteiga, W. et al. (2008). CSDA 52, 5242–5252. doi:10.1016/j.csda.2008.04.031
    Rao, J. N. K. and Molina, I. (2015). *Small Area Estimation*, 2nd ed., ch. 6. Wiley. doi:10.1002/9781118735855
    Molina, I. and Marhuenda, Y. (2015). The R Journal 7, 81–98. doi:10.32614/RJ-2015-007

    Examples
    --------
    >>> res = fay_herriot([1.0, 3.0, 2.5, 5.0, 4.0, 7.5], [0.3, 0.5, 0.4, 0.6, 0.5, 0.8],
    ...                   [[1.0], [2.0], [3.0], [4.0], [5.0], [6.0]])
    >>> round(res.sigma2_u, 4), res.converged
    (0.5847, True)
    >>> res.eblup.round(4).tolist()
    [1.0426, 2.623, 2.8, 4.6429, 4.6229, 6.869]
    >>> res.gamma.round(3).tolist()
    [0.661, 0.539, 0.594, 0.494, 0.539, 0.422]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    if backtransform not in ("bias_corrected", "naive"):
        raise ValueError(f"backtransform must be 'bias_corrected' or 'naive', got {backtransform!r}")
    if mse not in ("analytic", "bootstrap"):
        raise ValueError(f"mse must be 'analytic' or 'bootstrap', got {mse!r}")
    if on_nonconvergence not in ("raise", "warn"):
        raise ValueError(f"on_nonconvergence must be 'raise' or 'warn', got {on_nonconvergence!r}")
    if not (tol > 0):
        raise ValueError(f"tol must be positive, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if mse == "bootstrap" and (isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1):
        raise ValueError(f"n_boot must be an integer >= 1, got {n_boot!r}")
    y, y_index = _vector(direct, "direct")
    D, d_index = _vector(variance, "variance")
    m = len(y)
    if len(D) != m:
        raise ValueError(f"'variance' has {len(D)} values but 'direct' has {m}")
    X, x_index = _design(covariates, m, intercept)
    labels = y_index if y_index is not None else (x_index if x_index is not None else pd.RangeIndex(m))
    for other, name in ((d_index, "variance"), (x_index, "covariates")):
        if other is not None and not other.equals(labels):
            raise ValueError(f"the index of {name!r} does not match the areas of 'direct'")
    label_arr = np.array(labels.tolist(), dtype=object)
    x_nan = X.isna().to_numpy()
    user = X.columns != "intercept" if intercept else np.ones(X.shape[1], dtype=bool)
    for i in range(m):
        if user.any() and x_nan[i, user].all():
            what = "all-NaN data (direct, variance and covariates)" if np.isnan(y[i]) else "no covariate values"
            raise ValueError(f"area {label_arr[i]!r} has {what}")
        if np.isnan(y[i]) != np.isnan(D[i]):
            raise ValueError(
                f"area {label_arr[i]!r} has direct={float(y[i])!r} but variance={float(D[i])!r}; "
                "both must be given or both NaN"
            )
        if x_nan[i].any():
            col = X.columns[np.flatnonzero(x_nan[i])[0]]
            raise ValueError(f"covariate {col!r} is NaN for area {label_arr[i]!r}")
    sampled = ~np.isnan(y)
    m_s, p = int(sampled.sum()), X.shape[1]
    if m_s <= p:
        raise ValueError(f"{m_s} sampled areas cannot fit {p} coefficients and sigma2_u; need more than {p}")
    _check_rank(X[sampled])
    y_s, D_s = _transform(y, D, n_eff, transform, sampled, label_arr)
    Xv = X.to_numpy()

    A, beta, Q, Vi, synth, eb_link, gamma, n_iter, converged, _, change = _fit_all(
        y_s, D_s, Xv, sampled, method, tol, max_iter
    )
    if not converged:
        message = (
            f"Fisher scoring for method={method!r} did not converge in max_iter={max_iter} iterations "
            f"(last relative change of sigma2_u {change:.3g} > tol={tol:g})"
        )
        if on_nonconvergence == "raise":
            raise ConvergenceError(message + "; raise max_iter or pass on_nonconvergence='warn'")
        warnings.warn(message, ConvergenceWarning, stacklevel=2)

    D_all = np.full(m, np.inf)
    D_all[sampled] = D_s
    g1, g2, g3, bias = _mse_terms(A, D_all, Xv, Q, method, m_s)
    mse_link = g1 + g2 + 2 * g3 - bias
    var_cond = g1  # conditional variance of the area value given the data: gamma D, or sigma2_u
    eblup = _back(eb_link, var_cond, transform, backtransform)
    synthetic = _back(synth, np.full(m, A), transform, backtransform)
    n_failed = 0
    if mse == "bootstrap":
        mse_orig, n_failed = _bootstrap(
            A, beta, Xv, sampled, D_s, method, transform, backtransform, n_boot, seed, tol, max_iter
        )
        mse_name = "bootstrap"
    else:
        if transform is None:
            mse_orig = mse_link
        else:
            first = _moment(eb_link, mse_link, transform, 1)
            mse_orig = np.clip(_moment(eb_link, mse_link, transform, 2) - 2 * eblup * first + eblup**2, 0.0, None)
        mse_name = _MSE_NAMES[method]

    resid = y_s - Xv[sampled] @ beta
    loglike = float(-0.5 * np.sum(np.log(2 * np.pi * (A + D_s)) + resid**2 / (A + D_s)))
    k = p + 1

    def series(values, name):
        return pd.Series(np.asarray(values, dtype="float64"), index=labels, name=name)

    with np.errstate(divide="ignore", invalid="ignore"):
        cv = np.where(eblup != 0, np.sqrt(mse_orig) / np.abs(eblup), np.nan)
    s_labels = labels[sampled]
    return FayHerriotResult(
        method=method,
        transform=transform,
        backtransform=backtransform,
        sampled=pd.Series(sampled, index=labels, name="sampled"),
        direct=series(y, "direct"),
        variance=series(D, "variance"),
        eblup=series(eblup, "eblup"),
        mse=series(mse_orig, "mse"),
        cv=series(cv, "cv"),
        gamma=series(gamma, "gamma"),
        synthetic=series(synthetic, "synthetic"),
        eblup_link=series(eb_link, "eblup_link"),
        mse_link=series(mse_link, "mse_link"),
        mse_components=pd.DataFrame({"g1": g1, "g2": g2, "g3": g3, "bias": bias}, index=labels),
        mse_method=mse_name,
        sigma2_u=float(A),
        at_boundary=bool(A == 0.0),
        coef=pd.Series(beta, index=X.columns, name="coef"),
        coef_se=pd.Series(np.sqrt(np.diag(Q)), index=X.columns, name="se"),
        loglike=loglike,
        aic=-2 * loglike + 2 * k,
        bic=-2 * loglike + k * math.log(m_s),
        converged=bool(converged),
        n_iter=int(n_iter),
        residuals=pd.Series(resid * np.sqrt(Vi), index=s_labels, name="residuals"),
        random_effects=pd.Series(A * Vi * resid, index=s_labels, name="random_effects"),
        n_boot=int(n_boot) if mse == "bootstrap" else 0,
        n_boot_failed=n_failed,
        design=X.set_axis(labels),
    )


def _bootstrap(A, beta, X, sampled, D_s, method, transform, backtransform, n_boot, seed, tol, max_iter):
    """Parametric bootstrap MSE on the original scale; returns (mse, failed refits)."""
    rng = np.random.default_rng(seed)
    m = len(X)
    total = np.zeros(m)
    done = failed = 0
    mean = X @ beta
    for _ in range(n_boot):
        theta = mean + rng.normal(0.0, math.sqrt(A), m)
        y_b = theta[sampled] + rng.normal(0.0, np.sqrt(D_s))
        A_b, _, _, _, _, eb_b, _, _, ok, _, _ = _fit_all(y_b, D_s, X, sampled, method, tol, max_iter)
        if not ok:
            failed += 1
            continue
        var_b = np.full(m, A_b)
        var_b[sampled] = A_b * D_s / (A_b + D_s)
        pred = _back(eb_b, var_b, transform, backtransform)
        total += (pred - _inverse(theta, transform)) ** 2
        done += 1
    if failed:
        warnings.warn(
            f"{failed} of {n_boot} bootstrap refits did not converge and were left out",
            ConvergenceWarning,
            stacklevel=3,
        )
    if done == 0:
        raise ConvergenceError(f"none of the {n_boot} bootstrap refits converged")
    return total / done, failed


def benchmark(estimates: ArrayLike, weights: ArrayLike, target: float) -> pd.Series | np.ndarray:
    """Ratio-benchmark area estimates so that their weighted mean equals a reliable province figure.

    Every estimate is multiplied by ``target / sum(w_i est_i)`` with the weights normalised
    to sum to 1 (e.g. population sizes), so the population-weighted mean of the result is
    ``target`` (e.g. the province rate from the full survey).  MSEs are not adjusted.

    Parameters
    ----------
    estimates : array-like or Series
        Area estimates (e.g. ``result.eblup``).
    weights : array-like or Series
        Non-negative area weights, not all 0 (population or household counts).
    target : float
        The province mean the weighted estimates must reproduce.

    Returns
    -------
    Series or ndarray
        Benchmarked estimates, of the type of ``estimates``.

    References
    ----------
    Datta, G. S., Ghosh, M., Steorts, R. and Maples, J. (2011). TEST 20, 574–588.
    doi:10.1007/s11749-011-0218-y

    Examples
    --------
    >>> benchmark([0.1, 0.2], [1, 3], 0.35).round(6).tolist()
    [0.2, 0.4]
    """
    est, index = _vector(estimates, "estimates")
    w, _ = _vector(weights, "weights")
    if len(w) != len(est):
        raise ValueError(f"'weights' has {len(w)} values but 'estimates' has {len(est)}")
    if np.isnan(est).any() or np.isnan(w).any():
        raise ValueError("'estimates' and 'weights' must not contain NaN")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"'weights' must be non-negative and not all 0, got minimum {float(w.min())!r}")
    if not np.isfinite(target):
        raise ValueError(f"'target' must be a finite number, got {target!r}")
    current = float(np.dot(w / w.sum(), est))
    if current == 0:
        raise ValueError("the weighted mean of 'estimates' is 0; ratio benchmarking is undefined")
    out = est * (target / current)
    if index is not None:
        return pd.Series(out, index=index, name=getattr(estimates, "name", None))
    return out


#: Names that lived here before 0.2.0 and their new modules: importable from here, with a
#: DeprecationWarning, for one release.
_MOVED = {
    "plot_estimates": "povanalysis.figures.measure",
    "plot_direct_vs_eblup": "povanalysis.figures.measure",
    "plot_cv": "povanalysis.figures.measure",
    "plot_residuals": "povanalysis.figures.measure",
    "Demonstration": "povanalysis.measure.sae_simulation",
    "demonstrate": "povanalysis.measure.sae_simulation",
}


__getattr__ = moved_names(__name__, _MOVED)
