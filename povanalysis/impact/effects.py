"""The effect of a first VBSP loan: the results object and its five estimators.

One module because the five estimators share one design (cohorts, comparison groups, covariates) and
one clustered covariance, and return the same results object; the data preparation, the event study,
the subgroups and the cost per exit live in their own modules.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from .. import config
from ..common.checks import check_alpha, to_python
from .did import COMPARISONS, StaggeredDiD, clustered_vcov
from .outcomes import (
    OUTCOME_NAMES,
    REVIEW_CUTOFF,
    AnalysisPanel,
    cached_study,
    outcome_values,
    prepare_panel,
    select_population,
)

__all__ = [
    "METHODS",
    "CREDIBLE_METHODS",
    "DEFAULT_COVARIATES",
    "NoVariation",
    "DesignError",
    "CreditEffect",
    "t_interval",
    "did_design",
    "covariate_matrix",
    "estimate",
    "estimate_effect",
    "planted_effect",
]

#: Estimators: the naive (biased) difference, stacked household fixed effects, staggered
#: difference-in-differences (Callaway–Sant'Anna), inverse-probability weighting, dose-response.
METHODS: tuple[str, ...] = ("naive", "fe", "did", "ipw", "dose")
#: The estimators that compare borrowers with households that borrow later.
CREDIBLE_METHODS: tuple[str, ...] = ("fe", "did", "ipw")
#: Pre-loan covariates of the propensity model (measured at the review before the loan).
DEFAULT_COVARIATES: tuple[str, ...] = ("minority", "urban", "bac_kan", "size", "log_income", "deprivations")

_AMOUNT_UNIT = 10_000_000  # dose slopes are per 10 million VND
_ENGLISH_NAMES = {
    "naive": "Naive: borrowers vs never-borrowers (biased)",
    "fe": "Household fixed effects (stacked)",
    "did": "Staggered DiD (Callaway–Sant'Anna)",
    "ipw": "Inverse-probability weighting (IPW)",
    "dose": "Dose–response in loan amount",
}


class NoVariation(ValueError):
    """The data leave nothing to compare: no borrowers, no comparison households, or no pre-period."""


class DesignError(ValueError):
    """The covariates cannot be used in this sample: missing, constant, collinear, or no overlap."""


# --------------------------------------------------------------------------- results


def t_interval(effect: float, se: float, df: int, alpha: float) -> tuple[float, float]:
    """``effect ± q se`` with ``q`` the ``1 - alpha / 2`` quantile of t with ``df`` degrees of freedom (NaN below 1).

    Examples
    --------
    >>> [round(v, 3) for v in t_interval(0.1, 0.05, 30, 0.05)]
    [-0.002, 0.202]
    """
    alpha = check_alpha(alpha)
    q = stats.t.ppf(1 - alpha / 2, df) if df >= 1 else np.nan
    return float(effect - q * se), float(effect + q * se)


@dataclass
class CreditEffect:
    """An estimated effect of a first VBSP loan (what :func:`estimate_effect` returns).

    Attributes
    ----------
    effect : float
        Average effect on the borrowers: for ``exit`` in probability points (0.10 = ten
        percentage points more borrowers out of poverty at the first review after the loan);
        for ``log_income`` in log points; for ``deprivations`` in indicators.  For
        ``method="dose"``, the change in that effect per 10 million VND of loan.
    se : float
        Standard error, clustered by ``cluster`` (commune by default).
    n : int
        Household-transitions used (a comparison household used for several cohorts counts
        once per cohort).
    n_treated, n_control, n_clusters : int
    method, outcome, population, comparison : str
    years : tuple of int
        Review years used.
    biased : bool
        True for the naive difference and for comparisons with never-borrowers, which do not
        remove selection on unobserved traits.
    details : DataFrame
        By cohort (first review after the loan): ``n_treated`` and ``n_control``, and for
        the credible methods the cohort's own ``effect``, ``se``, ``ci_lower``, ``ci_upper``
        and ``suppressed`` (fewer than :data:`povanalysis.config.MIN_CELL` borrowers).
    balance : DataFrame or None
        For ``ipw``: covariate means and standardised differences before and after weighting.
    curve : DataFrame or None
        For ``dose``: effects by tercile of the loan amount.
    covariates : tuple of str
    notes : tuple of str
    psi : Series
        Influence values of the estimate summed by cluster (index: cluster labels), scaled so
        that the estimation error is their sum: joint tests across estimates use them.
    """

    effect: float
    se: float
    n: int
    n_treated: int
    n_control: int
    n_clusters: int
    method: str
    outcome: str
    population: str
    comparison: str
    years: tuple
    biased: bool
    details: pd.DataFrame
    balance: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    covariates: tuple = ()
    notes: tuple = ()
    psi: pd.Series = field(default=None, repr=False)

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """``(lower, upper)`` interval at level ``1 - alpha`` (t with clusters - 1 degrees of freedom)."""
        return t_interval(self.effect, self.se, self.n_clusters - 1, alpha)

    @property
    def label(self) -> str:
        """A short English name of the estimator; comparisons with never-borrowers say so."""
        text = _ENGLISH_NAMES[self.method]
        if self.comparison == "never" and self.method != "naive":
            text += " (vs never-borrowers, biased)"
        return text

    def name(self, lang: str = "vi") -> str:
        """Deprecated: use :func:`povanalysis.reports.prose.impact.method_name`."""
        warnings.warn(
            "CreditEffect.name moved to povanalysis.reports.prose.impact.method_name; the method will be "
            "removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..reports.prose.impact import method_name

        return method_name(self, lang)

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``method``, ``outcome``, ``population``, ``comparison``, ``effect``, ``se``,
        ``ci_lower``, ``ci_upper``, ``n``, ``n_treated``, ``n_control``, ``n_clusters``, ``biased``."""
        lo, hi = self.conf_int()
        return pd.DataFrame(
            [
                {
                    "method": self.method,
                    "outcome": self.outcome,
                    "population": self.population,
                    "comparison": self.comparison,
                    "effect": self.effect,
                    "se": self.se,
                    "ci_lower": lo,
                    "ci_upper": hi,
                    "n": self.n,
                    "n_treated": self.n_treated,
                    "n_control": self.n_control,
                    "n_clusters": self.n_clusters,
                    "biased": self.biased,
                }
            ]
        )

    def summary(self) -> str:
        """A plain-text account of the estimate (returned, not printed)."""
        lo, hi = self.conf_int()
        unit = (
            "per 10 million VND of loan"
            if self.method == "dose"
            else {"exit": "probability points", "log_income": "log points", "deprivations": "indicators"}[self.outcome]
        )
        lines = [
            f"Credit effect: {self.label}",
            f"  outcome: {OUTCOME_NAMES[self.outcome].lower()} "
            f"({self.population} households at the review before the loan)",
            f"  effect {self.effect:.4f} {unit}, s.e. {self.se:.4f} (clustered, {self.n_clusters} clusters), "
            f"95% interval [{lo:.4f}, {hi:.4f}]",
            f"  {self.n:,} household-transitions: {self.n_treated:,} borrowers, {self.n_control:,} comparisons "
            f"({'households that borrow later' if self.comparison == 'not_yet' else 'households that never borrowed'})",
            f"  review years {self.years[0]}–{self.years[-1]}",
        ]
        if self.biased:
            lines.append(
                "  BIASED: borrowers are compared with households that never borrowed; they differ in traits "
                "the data do not show, so this does not measure the loan's effect."
            )
        if self.covariates:
            lines.append(f"  covariates: {', '.join(self.covariates)}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def text(self, lang: str = "vi") -> str:
        """Deprecated: use :func:`povanalysis.reports.prose.impact.effect_text`."""
        warnings.warn(
            "CreditEffect.text moved to povanalysis.reports.prose.impact.effect_text; the method will be "
            "removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..reports.prose.impact import effect_text

        return effect_text(self, lang)


def _fit_result(
    effect,
    psi: pd.Series,
    *,
    method,
    outcome,
    population,
    comparison,
    data,
    n,
    n_treated,
    n_control,
    details,
    biased,
    se=None,
    covariates=(),
    balance=None,
    curve=None,
    notes=(),
) -> CreditEffect:
    if se is None:
        se = float(np.sqrt(clustered_vcov(psi.to_numpy())[0, 0]))
    psi = pd.Series(psi.to_numpy(), index=data.cluster_labels[psi.index.to_numpy(dtype=np.int64)])
    return CreditEffect(
        effect=float(effect),
        se=float(se),
        n=int(n),
        n_treated=int(n_treated),
        n_control=int(n_control),
        n_clusters=int(len(psi)),
        method=method,
        outcome=outcome,
        population=population,
        comparison=comparison,
        years=data.years,
        biased=bool(biased),
        details=details,
        balance=balance,
        curve=curve,
        covariates=tuple(covariates),
        notes=tuple(data.notes) + tuple(notes),
        psi=psi,
    )


# --------------------------------------------------------------------------- estimators


def did_design(data: AnalysisPanel, y: np.ndarray, pop: np.ndarray, comparison: str) -> StaggeredDiD:
    """The staggered design of outcome ``y`` over the rows ``pop`` of ``data``, or :class:`NoVariation`."""
    lv = data.levels
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {COMPARISONS}, got {comparison!r}")
    borrowers = np.isfinite(lv["cohort"].to_numpy())
    if not (borrowers & pop).any():
        raise NoVariation(
            "no household of the analysis population ever received a loan in these data (no variation in treatment)"
        )
    first_year = data.years[0]
    if not (lv["cohort"].to_numpy()[borrowers] > first_year).any():
        raise NoVariation(
            f"every loan precedes the first review used ({first_year}): no borrower is observed "
            "before its loan (missing pre-period)"
        )
    panel = pd.DataFrame(
        {
            "unit": lv["_hh"].to_numpy(),
            "time": lv["review_year"].to_numpy(),
            "cohort": lv["cohort"].to_numpy(),
            "y": y,
            "cluster": lv["_cluster"].to_numpy(),
            "pop": pop,
        },
        index=lv.index,
    )
    design = StaggeredDiD(
        panel,
        unit="unit",
        time="time",
        cohort="cohort",
        outcome="y",
        cluster="cluster",
        population="pop",
        comparison=comparison,
    )
    if 0 not in design.event_times():
        reasons = (
            "; ".join(
                f"cohort {r.cohort}: {r.reason}"
                for r in design.skipped.itertuples()
                if r.time != r.time or r.time == r.cohort
            )
            or "no cohort observed after its loan"
        )
        what = "households that borrow later" if comparison == "not_yet" else "households that never borrow"
        raise NoVariation(
            f"no borrower can be compared with {what} at the first review after the loan "
            f"(no variation in treatment timing): {reasons}"
        )
    return design


def _skipped_notes(design: StaggeredDiD) -> tuple:
    sk = design.skipped
    sk = sk[sk["time"] == sk["cohort"]]
    return tuple(
        f"cohort {int(r.cohort)} (loans between the reviews of {int(r.cohort) - 1} and {int(r.cohort)}) "
        f"left out: {r.reason}"
        for r in sk.itertuples()
    )


def _cohort_details(design: StaggeredDiD) -> pd.DataFrame:
    c = design.cells
    c = c[c["event_time"] == 0].drop(columns=["time", "event_time"]).reset_index(drop=True)
    c.loc[c["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
    return c


def _ols(yv: np.ndarray, X: np.ndarray, clusters: np.ndarray, cols: Sequence[int]) -> tuple:
    """OLS with commune-clustered covariance; returns coefficients, covariance and cluster influence sums."""
    fit = sm.OLS(yv, X).fit()
    codes, labels = pd.factorize(clusters, sort=True)
    n, k = X.shape
    scale = np.sqrt((n - 1) / (n - k))
    contrib = fit.model.pinv_wexog[list(cols)] * fit.resid  # (len(cols), n)
    psi = np.vstack([np.bincount(codes, row, minlength=len(labels)) for row in contrib]).T * scale
    return fit.params[list(cols)], clustered_vcov(psi), [pd.Series(psi[:, j], index=labels) for j in range(len(cols))]


def _check_design(X: np.ndarray, names: Sequence[str], n_fixed: int) -> None:
    """Raise naming the first covariate that is constant or a combination of earlier columns."""
    bad = ~np.isfinite(X)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise DesignError(
            f"covariate {names[j]!r} is missing or infinite in {int(bad[:, j].sum())} rows of the analysis sample"
        )
    for j in range(n_fixed, X.shape[1]):
        if np.ptp(X[:, j]) == 0:
            raise DesignError(
                f"covariate {names[j]!r} is constant ({to_python(X[0, j])!r}) in the analysis sample: "
                "it is collinear with the intercept"
            )
    norms = np.linalg.norm(X, axis=0)
    r = np.linalg.qr(X / np.where(norms > 0, norms, 1.0), mode="r")
    diag = np.abs(np.diag(r))
    for j in range(n_fixed, X.shape[1]):
        if diag[j] < 1e-8:
            earlier = ["the intercept and the cohort effects"] + [repr(n) for n in names[n_fixed:j]]
            raise DesignError(
                f"covariates are collinear in the analysis sample: {names[j]!r} is a linear combination "
                f"of {', '.join(earlier)}"
            )


def covariate_matrix(levels: pd.DataFrame, rows: pd.Index | Sequence, covariates: Sequence[str]) -> np.ndarray:
    """The ``covariates`` of ``rows`` of ``levels`` as floats; raises naming an unknown or non-numeric covariate."""
    unknown = [c for c in covariates if c not in levels.columns or c.startswith("_")]
    if unknown:
        allowed = [
            c
            for c in levels.columns
            if pd.api.types.is_numeric_dtype(levels[c])
            and not c.startswith("_")
            and c not in ("cohort", "amount", "review_year")
        ]
        raise ValueError(f"unknown covariates {unknown}; use pre-loan columns such as {allowed}")
    sub = levels.loc[rows, list(covariates)]
    for c in covariates:
        if not (pd.api.types.is_numeric_dtype(sub[c]) or pd.api.types.is_bool_dtype(sub[c])):
            raise ValueError(f"covariate {c!r} must be numeric or boolean, got dtype {sub[c].dtype}")
    return sub.to_numpy(dtype=float) if len(covariates) else np.empty((len(sub), 0))


def _stack_design(stack: pd.DataFrame) -> tuple[np.ndarray, list]:
    cohorts = sorted(stack["cohort"].unique())
    cols = [np.ones(len(stack))] + [(stack["cohort"] == c).to_numpy(float) for c in cohorts[1:]]
    names = ["intercept"] + [f"cohort {c}" for c in cohorts[1:]]
    return np.column_stack(cols), names


def _naive(data: AnalysisPanel, y: np.ndarray, pop: np.ndarray, outcome: str, population: str) -> CreditEffect:
    lv = data.levels
    nxt = pd.DataFrame({"_hh": lv["_hh"].to_numpy(), "review_year": lv["review_year"].to_numpy() - 1, "y_next": y})
    base = pd.DataFrame(
        {
            "_hh": lv["_hh"].to_numpy(),
            "review_year": lv["review_year"].to_numpy(),
            "cohort": lv["cohort"].to_numpy(),
            "cluster": lv["_cluster"].to_numpy(),
            "pop": pop,
        }
    )
    t = base[base["pop"]].merge(nxt, on=["_hh", "review_year"], how="inner")
    t = t[np.isfinite(t["y_next"])]
    treated = (t["cohort"] == t["review_year"] + 1).to_numpy()
    never = np.isinf(t["cohort"].to_numpy())
    keep = treated | never
    if not treated.any():
        raise NoVariation(
            "no household of the analysis population received a loan between two reviews (no variation in treatment)"
        )
    if not never.any():
        raise NoVariation(
            "every household of the analysis population borrowed: no never-borrower to compare "
            "(no variation in treatment)"
        )
    t = t[keep]
    d = treated[keep].astype(float)
    X = np.column_stack([np.ones(len(t)), d])
    coef, v, psi = _ols(t["y_next"].to_numpy(), X, t["cluster"].to_numpy(), [1])
    by = t.assign(d=d).groupby("review_year")
    details = pd.DataFrame(
        {
            "cohort": (by.size().index + 1).astype(int),
            "n_treated": by["d"].sum().astype(int).to_numpy(),
            "n_control": (by.size() - by["d"].sum()).astype(int).to_numpy(),
        }
    )
    return _fit_result(
        coef[0],
        psi[0],
        method="naive",
        outcome=outcome,
        population=population,
        comparison="never",
        data=data,
        n=len(t),
        n_treated=int(d.sum()),
        n_control=int(len(t) - d.sum()),
        details=details,
        biased=True,
        se=float(np.sqrt(v[0, 0])),
    )


def _fe(data, design, outcome, population, comparison, covariates) -> CreditEffect:
    stack = design.stack(0)
    F, names = _stack_design(stack)
    Z = covariate_matrix(data.levels, stack["row"], covariates)
    X = np.column_stack([F, Z, stack["treated"].to_numpy(float)])
    _check_design(X[:, :-1], names + list(covariates), len(names))
    coef, v, psi = _ols(stack["delta"].to_numpy(), X, stack["cluster"].to_numpy(), [X.shape[1] - 1])
    return _fit_result(
        coef[0],
        psi[0],
        method="fe",
        outcome=outcome,
        population=population,
        comparison=comparison,
        data=data,
        n=len(stack),
        n_treated=int(stack["treated"].sum()),
        n_control=int((~stack["treated"]).sum()),
        details=_cohort_details(design),
        biased=comparison == "never",
        se=float(np.sqrt(v[0, 0])),
        covariates=covariates,
        notes=_skipped_notes(design),
    )


def _did(data, design, outcome, population, comparison) -> CreditEffect:
    agg = design.aggregate(0)
    return _fit_result(
        agg.effect,
        agg.psi,
        method="did",
        outcome=outcome,
        population=population,
        comparison=comparison,
        data=data,
        n=agg.n_treated + agg.n_control,
        n_treated=agg.n_treated,
        n_control=agg.n_control,
        details=_cohort_details(design),
        biased=comparison == "never",
        se=agg.se,
        notes=_skipped_notes(design),
    )


def _ipw(data, design, outcome, population, comparison, covariates) -> CreditEffect:
    """Standardised IPW difference-in-differences (Sant'Anna and Zhao 2020, panel data)."""
    stack = design.stack(0)
    F, names = _stack_design(stack)
    Z = covariate_matrix(data.levels, stack["row"], covariates)
    X = np.column_stack([F, Z])
    _check_design(X, names + list(covariates), len(names))
    d = stack["treated"].to_numpy(float)
    dy = stack["delta"].to_numpy()
    n = len(d)
    try:
        logit = sm.Logit(d, X).fit(disp=0, method="newton", maxiter=100, warn_convergence=False)
    except np.linalg.LinAlgError as exc:
        raise DesignError(f"the propensity model cannot be fitted on covariates {list(covariates)}: {exc}") from None
    ps = logit.predict(X)
    if not logit.mle_retvals.get("converged", True) or ps[d == 0].max() > 0.999 or ps[d == 1].min() < 0.001:
        raise DesignError(
            f"no overlap: the propensity model on covariates {list(covariates)} predicts borrowing "
            "with near certainty for some households; use fewer or coarser covariates"
        )
    w_t = d
    w_c = ps * (1 - d) / (1 - ps)
    eta_t = (w_t * dy).sum() / w_t.sum()
    eta_c = (w_c * dy).sum() / w_c.sum()
    att = eta_t - eta_c
    score = (d - ps)[:, None] * X
    hess = logit.cov_params() * n
    lin_ps = score @ hess
    m2 = (w_c * (dy - eta_c))[:, None].T @ X / n
    inf_t = w_t * (dy - eta_t) / w_t.mean()
    inf_c = (w_c * (dy - eta_c) + (lin_ps @ m2.ravel())) / w_c.mean()
    inf = (inf_t - inf_c) / n
    codes, labels = pd.factorize(stack["cluster"], sort=True)
    psi = pd.Series(np.bincount(codes, inf, minlength=len(labels)), index=labels)
    bal = _balance_table(Z, d, w_c, covariates)
    return _fit_result(
        att,
        psi,
        method="ipw",
        outcome=outcome,
        population=population,
        comparison=comparison,
        data=data,
        n=n,
        n_treated=int(d.sum()),
        n_control=int(n - d.sum()),
        details=_cohort_details(design),
        biased=comparison == "never",
        covariates=covariates,
        balance=bal,
        notes=_skipped_notes(design),
    )


def _balance_table(Z: np.ndarray, d: np.ndarray, w_c: np.ndarray, covariates: Sequence[str]) -> pd.DataFrame:
    t, c = d == 1, d == 0
    rows = []
    for j, name in enumerate(covariates):
        x = Z[:, j]
        m_t, m_c = x[t].mean(), x[c].mean()
        m_w = np.average(x[c], weights=w_c[c])
        sd = np.sqrt((x[t].var(ddof=1) + x[c].var(ddof=1)) / 2)
        sd = sd if sd > 0 else np.nan
        rows.append((name, m_t, m_c, m_w, (m_t - m_c) / sd, (m_t - m_w) / sd, int(t.sum()), int(c.sum())))
    out = pd.DataFrame(
        rows,
        columns=[
            "covariate",
            "mean_treated",
            "mean_control",
            "mean_control_weighted",
            "smd_unweighted",
            "smd_weighted",
            "n_treated",
            "n_control",
        ],
    )
    out["suppressed"] = out["n_treated"] < config.MIN_CELL
    return out


def _dose(data, design, outcome, population, comparison) -> CreditEffect:
    stack = design.stack(0)
    F, names = _stack_design(stack)
    d = stack["treated"].to_numpy(float)
    amount = data.levels.loc[stack["row"], "amount"].to_numpy(dtype=float) / _AMOUNT_UNIT
    a_t = amount[d == 1]
    if np.ptp(a_t) == 0:
        raise ValueError("no variation in loan amount among the borrowers: a dose-response cannot be estimated")
    centred = np.where(d == 1, amount - a_t.mean(), 0.0)
    X = np.column_stack([F, d, centred])
    coef, v, psi = _ols(stack["delta"].to_numpy(), X, stack["cluster"].to_numpy(), [X.shape[1] - 1])
    # Effects by tercile of the amount.
    bins = pd.qcut(pd.Series(a_t), 3, duplicates="drop")
    cats = bins.cat.categories
    bin_of = np.full(len(d), -1)
    bin_of[d == 1] = bins.cat.codes.to_numpy()
    Xb = np.column_stack([F] + [(bin_of == k).astype(float) for k in range(len(cats))])
    cb, vb, _ = _ols(
        stack["delta"].to_numpy(), Xb, stack["cluster"].to_numpy(), list(range(F.shape[1], F.shape[1] + len(cats)))
    )
    g = stack["cluster"].nunique()
    rows = []
    for k in range(len(cats)):
        se = float(np.sqrt(vb[k, k]))
        lo, hi = t_interval(cb[k], se, g - 1, 0.05)
        n_k = int((bin_of == k).sum())
        rows.append(
            (
                float(a_t[bins.cat.codes == k].min() * 10),
                float(a_t[bins.cat.codes == k].max() * 10),
                float(cb[k]),
                se,
                lo,
                hi,
                n_k,
                n_k < config.MIN_CELL,
            )
        )
    curve = pd.DataFrame(
        rows,
        columns=[
            "amount_min_mvnd",
            "amount_max_mvnd",
            "effect",
            "se",
            "ci_lower",
            "ci_upper",
            "n_treated",
            "suppressed",
        ],
    )
    curve.loc[curve["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
    return _fit_result(
        coef[0],
        psi[0],
        method="dose",
        outcome=outcome,
        population=population,
        comparison=comparison,
        data=data,
        n=len(stack),
        n_treated=int(d.sum()),
        n_control=int(len(d) - d.sum()),
        details=_cohort_details(design),
        biased=comparison == "never",
        se=float(np.sqrt(v[0, 0])),
        curve=curve,
        notes=_skipped_notes(design),
    )


def estimate(
    data: AnalysisPanel,
    *,
    outcome: str,
    method: str,
    population: str | None,
    comparison: str,
    covariates: Sequence[str] | None,
    extra_mask: np.ndarray | None = None,
) -> CreditEffect:
    """:func:`estimate_effect` on a prepared panel, restricted to the rows ``extra_mask`` when given."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    population, pop = select_population(data.levels, outcome, population)
    if extra_mask is not None:
        pop = pop & extra_mask
    y = outcome_values(data.levels, outcome)
    if covariates is None:
        covariates = DEFAULT_COVARIATES if method == "ipw" else ()
    if isinstance(covariates, str):
        raise TypeError(f"'covariates' should be a sequence of column names, got the string {covariates!r}")
    covariates = tuple(covariates)
    if covariates and method not in ("fe", "ipw"):
        raise ValueError(f"covariates are used by methods 'fe' and 'ipw', not {method!r}")
    if method == "naive":
        return _naive(data, y, pop, outcome, population)
    design = did_design(data, y, pop, comparison)
    if method == "did":
        return _did(data, design, outcome, population, comparison)
    if method == "fe":
        return _fe(data, design, outcome, population, comparison, covariates)
    if method == "ipw":
        return _ipw(data, design, outcome, population, comparison, covariates)
    return _dose(data, design, outcome, population, comparison)


def estimate_effect(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    outcome: str = "exit",
    method: str = "did",
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    population: str | None = None,
    comparison: str = "not_yet",
    covariates: Sequence[str] | None = None,
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
    cache: str | os.PathLike | bool | None = True,
) -> CreditEffect:
    """Effect of a household's first VBSP loan on its situation at the next review.

    The estimand (``outcome="exit"``) is the average, over borrowers poor at the review
    before the loan, of being not poor at the first review after it with the loan minus
    without it, in probability points.  Loans do not go to households at random: those more
    able to escape poverty are also more likely to borrow, so borrowers cannot simply be set
    against non-borrowers.  The credible estimators compare each year's new borrowers with
    households in the same situation at the same review that borrow *later* (not yet
    treated): among eventual borrowers the year of the loan is close to random.

    Methods:

    * ``naive``: borrowers against households that never borrowed, outcome at the next
      review, pooled over years.  **Biased**; shown for contrast only.
    * ``fe``: household fixed-effects regression with cohort-by-year effects on a stacked
      panel of clean comparisons (each cohort with the households that borrow later; reviews
      before and after the loan).  With two reviews per stack the within estimator equals the
      first-difference regression used here.
    * ``did``: staggered difference-in-differences with not-yet-treated comparisons,
      group-time effects aggregated by cohort size (:class:`povanalysis.impact.did.StaggeredDiD`),
      valid with heterogeneous effects.
    * ``ipw``: standardised inverse-probability weighting of the comparisons on pre-loan
      covariates (with the propensity model's estimation in the standard error);
      ``.balance`` holds the balance diagnostics.
    * ``dose``: change in the effect per 10 million VND of loan (borrowers' amounts centred);
      ``.curve`` holds effects by tercile of amount.

    Parameters
    ----------
    households : DataFrame
        Household review panel (schema columns, or classified by
        :func:`povanalysis.data.pipeline.classify_panel`; classified here when ``poverty_class`` is
        absent).
    loans : DataFrame
        VBSP loan records.
    outcome : {"exit", "log_income", "deprivations"}
        Not poor at the next review (population ``poor`` only); change in log per-capita
        income; change in the number of deprivations of the review year's standard.
    method : {"naive", "fe", "did", "ipw", "dose"}
    years : iterable of int, optional
        Review years to use (at least two consecutive ones).
    cluster : str
        Column for clustered standard errors (communes: loans are allocated through
        commune-level savings-and-credit groups).
    population : {"poor", "eligible"}, optional
        Households at the review before the loan: ``poor`` (default) or every household a
        VBSP household programme serves (poor, near-poor, or off the lists for at most 3
        reviews, Decision 28/2015/QĐ-TTg; listing before the panel's first year is unknown).
    comparison : {"not_yet", "never"}
        Comparison households for ``fe``, ``did``, ``ipw`` and ``dose``: those that borrow
        later (default), or those that never borrow (biased; for contrast).
    covariates : sequence of str, optional
        Pre-loan columns (measured at the review before the loan).  ``ipw`` uses
        :data:`DEFAULT_COVARIATES` by default; ``fe`` none (given, they enter as trends).
    review_cutoff : str
        First day of the annual review as ``MM-DD`` (:data:`REVIEW_CUTOFF`).
    missing_pre : {"raise", "drop"}
        Borrowers without a record at the review before their first loan: an error, or left out.
    cache : path, bool or None
        Where the estimate is kept for the next call with the same data and arguments (Parquet
        and JSON, :func:`povanalysis.impact.outcomes.cached_study`): ``True`` (default) the
        data's cache folder (:func:`povanalysis.config.cache_dir`), a folder, or ``None`` to
        estimate every time.

    Returns
    -------
    CreditEffect

    Raises
    ------
    ValueError
        A single review year; no variation in treatment (no borrowers, no comparison
        households); a missing pre-period; constant or collinear covariates; no overlap.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple time
    periods. *J. Econometrics* 225(2), 200–230. https://doi.org/10.1016/j.jeconom.2020.12.001

    Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust difference-in-differences
    estimators. *J. Econometrics* 219(1), 101–122. https://doi.org/10.1016/j.jeconom.2020.06.003

    Cengiz, D., Dube, A., Lindner, A. and Zipperer, B. (2019). The effect of minimum wages on
    low-wage jobs. *QJE* 134(3), 1405–1454. https://doi.org/10.1093/qje/qjz014

    Decree 78/2002/ND-CP (VBSP credit to poor households); Decision 15/2013/QĐ-TTg (near-poor);
    Decision 28/2015/QĐ-TTg (newly escaped).

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> naive = estimate_effect(p.households, p.loans, method="naive")
    >>> did = estimate_effect(p.households, p.loans, method="did")
    >>> naive.biased, did.biased, did.n_treated > 0
    (True, False, True)
    >>> lo, hi = did.conf_int()
    >>> bool(lo < did.effect < hi)
    True
    """
    if isinstance(years, Iterator):  # read once: kept as a list for the key and the estimate
        years = list(years)

    def compute() -> CreditEffect:
        data = prepare_panel(
            households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff, missing_pre=missing_pre
        )
        return estimate(
            data, outcome=outcome, method=method, population=population, comparison=comparison, covariates=covariates
        )

    return cached_study(
        __name__,
        "estimate_effect",
        households,
        loans,
        compute,
        cache=cache,
        classes=[CreditEffect],
        outcome=outcome,
        method=method,
        years=years,
        cluster=cluster,
        population=population,
        comparison=comparison,
        covariates=covariates,
        review_cutoff=review_cutoff,
        missing_pre=missing_pre,
    )


def planted_effect(truth: Mapping | float | None, outcome: str, population: str) -> float | None:
    """The synthetic generator's planted value for ``outcome`` (None when it has none).

    ``truth`` is the generator's record (:func:`povanalysis.data.pipeline.load_truth`) or a number.

    Examples
    --------
    >>> planted_effect({"credit_effect": 0.1}, "exit", "poor"), planted_effect(None, "exit", "poor")
    (0.1, None)
    """
    if truth is None:
        return None
    if isinstance(truth, Mapping):
        if outcome == "exit":
            return float(truth["credit_effect"])
        if outcome == "log_income" and population == "poor" and "mean_log_income_gain_exit_events" in truth:
            return float(truth["mean_log_income_gain_exit_events"])
        if outcome == "deprivations" and "deprivation_effect" in truth:
            return float(truth["deprivation_effect"])
        return None
    return float(truth)
