"""Cost per exit: VND of VBSP credit per household that leaves poverty because of it."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .did import clustered_vcov
from .effects import CREDIBLE_METHODS, CreditEffect, NoVariation, estimate, t_interval
from .outcomes import REVIEW_CUTOFF, cached_study, household_year_keys, prepare_panel

__all__ = ["CostPerExit", "cost_per_exit"]


@dataclass
class CostPerExit:
    """VND of credit per household that leaves poverty because of it (what :func:`cost_per_exit` returns).

    Attributes
    ----------
    vnd_per_exit : float
        Credit per exit caused: ``credit / (effect * poor borrowers)``; ``inf`` when the
        estimated effect is not positive.
    se : float
        Delta-method standard error of ``vnd_per_exit`` (NaN when it is infinite).
    effect : CreditEffect
        The effect on exit used.
    credit_per_poor_borrower : float
        Credit counted per poor borrower (VND): their own loans (``spending="poor"``) or all
        loans of the same years (``spending="all"``).
    n_borrowers : int
        Poor borrowers behind the effect.
    exits : float
        Exits caused among them: ``effect * n_borrowers``.
    spending : {"poor", "all"}
    interval : {"delta", "fieller"}
        How :meth:`conf_int` is computed.
    """

    vnd_per_exit: float
    se: float
    effect: CreditEffect
    credit_per_poor_borrower: float
    n_borrowers: int
    exits: float
    spending: str
    interval: str
    _log_se: float = field(repr=False, default=np.nan)
    _cov: np.ndarray = field(repr=False, default=None)

    def conf_int(self, alpha: float = 0.05) -> tuple[float, float]:
        """``(lower, upper)`` interval at level ``1 - alpha``.

        ``delta``: the delta method on the log scale, ``vnd_per_exit * exp(±q * se_log)``
        where ``se_log`` combines the relative errors of the credit per borrower and of the
        effect (with their covariance); when the effect's own interval reaches zero, no finite
        upper limit exists and the upper bound is ``inf``.  ``fieller``: Fieller's interval for
        a ratio, unbounded above when the effect is not significantly positive.
        """
        q = t_interval(0.0, 1.0, self.effect.n_clusters - 1, alpha)[1]
        tau, se_tau, a = self.effect.effect, self.effect.se, self.credit_per_poor_borrower
        if tau <= 0:
            top = tau + q * se_tau
            return (float(a / top) if top > 0 else np.inf), np.inf
        if self.interval == "delta":
            lo = self.vnd_per_exit * np.exp(-q * self._log_se)
            hi = np.inf if tau - q * se_tau <= 0 else self.vnd_per_exit * np.exp(q * self._log_se)
            return float(lo), float(hi)
        # Fieller: every ratio r with (a - r tau)^2 <= q^2 Var(a - r tau).
        va, vt, c = self._cov[0, 0], self._cov[1, 1], self._cov[0, 1]
        qa, qb, qc = tau**2 - q**2 * vt, -2 * (a * tau - q**2 * c), a**2 - q**2 * va
        disc = qb**2 - 4 * qa * qc
        if disc < 0:
            return 0.0, np.inf
        roots = sorted(((-qb - np.sqrt(disc)) / (2 * qa), (-qb + np.sqrt(disc)) / (2 * qa)))
        if qa > 0:
            return float(roots[0]), float(roots[1])
        # Not significantly positive: the set is unbounded above.
        return (float(max(roots[1], 0.0)) if self.vnd_per_exit >= roots[1] else 0.0), np.inf

    def to_frame(self) -> pd.DataFrame:
        """One tidy row: ``vnd_per_exit``, ``se``, ``ci_lower``, ``ci_upper``, ``effect``, ``effect_se``,
        ``credit_per_poor_borrower``, ``n_borrowers``, ``exits``, ``method``, ``spending``, ``interval``."""
        lo, hi = self.conf_int()
        return pd.DataFrame(
            [
                {
                    "vnd_per_exit": self.vnd_per_exit,
                    "se": self.se,
                    "ci_lower": lo,
                    "ci_upper": hi,
                    "effect": self.effect.effect,
                    "effect_se": self.effect.se,
                    "credit_per_poor_borrower": self.credit_per_poor_borrower,
                    "n_borrowers": self.n_borrowers,
                    "exits": self.exits,
                    "method": self.effect.method,
                    "spending": self.spending,
                    "interval": self.interval,
                }
            ]
        )

    def summary(self) -> str:
        """Plain-text account (returned)."""
        lo, hi = self.conf_int()
        what = (
            "loans to the poor borrowers" if self.spending == "poor" else "all VBSP household loans of the same years"
        )
        return "\n".join(
            [
                f"Cost per exit from poverty ({self.effect.label}{', BIASED' if self.effect.biased else ''})",
                f"  {self.vnd_per_exit / 1e6:,.1f} million VND per household lifted out of poverty, 95% interval "
                f"[{lo / 1e6:,.1f}, {hi / 1e6:,.1f}] million "
                f"({'delta method, log scale' if self.interval == 'delta' else 'Fieller'})",
                f"  credit counted: {what}, {self.credit_per_poor_borrower / 1e6:,.1f} million VND per poor borrower",
                f"  effect on exit {self.effect.effect:.4f} (s.e. {self.effect.se:.4f}) over {self.n_borrowers:,} poor "
                f"borrowers: {self.exits:,.1f} exits caused",
            ]
        )

    def text(self, lang: str = "vi") -> str:
        """Deprecated: use :func:`povanalysis.reports.prose.impact.cost_text`."""
        warnings.warn(
            "CostPerExit.text moved to povanalysis.reports.prose.impact.cost_text; the method will be "
            "removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..reports.prose.impact import cost_text

        return cost_text(self, lang)


def cost_per_exit(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    method: str = "did",
    spending: str = "poor",
    interval: str = "fieller",
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    comparison: str = "not_yet",
    covariates: Sequence[str] | None = None,
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
    cache: str | os.PathLike | bool | None = True,
) -> CostPerExit:
    """VND of VBSP credit disbursed per household that leaves poverty because of it.

    ``vnd_per_exit = C / τ``, where ``τ`` is the effect on exit (:func:`estimate_effect`,
    ``outcome="exit"``) and ``C`` the credit per poor borrower of the cohorts behind ``τ``:
    their own first-interval loans (``spending="poor"``), or every household loan of the
    same intervals divided by the poor borrowers (``spending="all"``: loans to near-poor and
    newly escaped households lift nobody out of poverty at that review, so they add cost
    without exits).  Uncertainty: the delta method on the log scale using the joint
    clustered influence values of ``C`` and ``τ`` (default), or Fieller's interval.

    Parameters
    ----------
    method : {"fe", "did", "ipw", "naive"}
        Estimator of ``τ`` (``naive`` is biased and flagged as such).
    spending : {"poor", "all"}
    interval : {"fieller", "delta"}
        Fieller's interval (default) covers the cost at its level in the simulation study
        (:mod:`povanalysis.impact.simulation`); the delta method's falls short when the effect is
        imprecise (87% of 95% intervals in panels of about 4,300 households).
    Other parameters (``cache`` too) are those of :func:`estimate_effect`.

    Returns
    -------
    CostPerExit

    References
    ----------
    Fieller, E. C. (1954). Some problems in interval estimation. *JRSS B* 16(2), 175–185.
    https://doi.org/10.1111/j.2517-6161.1954.tb00159.x

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> c = cost_per_exit(p.households, p.loans)
    >>> c.vnd_per_exit > c.credit_per_poor_borrower
    True
    """
    if method not in ("naive",) + CREDIBLE_METHODS:
        raise ValueError(
            f"cost per exit needs an effect on exit from method 'fe', 'did', 'ipw' or 'naive', got {method!r}"
        )
    if spending not in ("poor", "all"):
        raise ValueError(f"spending must be 'poor' or 'all', got {spending!r}")
    if interval not in ("delta", "fieller"):
        raise ValueError(f"interval must be 'delta' or 'fieller', got {interval!r}")
    if isinstance(years, Iterator):  # read once: kept as a list for the key and the estimate
        years = list(years)

    def compute() -> CostPerExit:
        data = prepare_panel(
            households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff, missing_pre=missing_pre
        )
        fit = estimate(
            data, outcome="exit", method=method, population="poor", comparison=comparison, covariates=covariates
        )
        lv = data.levels
        cohorts = set(fit.details["cohort"].astype(int))
        base = lv[np.isin(lv["review_year"] + 1, list(cohorts))]
        seen_next = (
            pd.Series(household_year_keys(base["_hh"], base["review_year"] + 1))
            .isin(household_year_keys(lv["_hh"], lv["review_year"]))
            .to_numpy()
        )
        poor_borrower = (
            base["poor"].to_numpy() & (base["cohort"].to_numpy() == base["review_year"].to_numpy() + 1) & seen_next
        )
        if spending == "poor":
            amounts = np.where(poor_borrower, base["amount"].to_numpy(dtype=float), 0.0)
            clusters = base["_cluster"].to_numpy()
        else:
            lc = data.loans[data.loans["cohort"].isin(cohorts) & np.isin(data.loans["_hh"], lv["_hh"])]
            home = lv.drop_duplicates("_hh").set_index("_hh")["_cluster"]
            amounts = np.r_[lc["amount"].to_numpy(), np.zeros(len(base))]
            clusters = np.r_[home.reindex(lc["_hh"]).to_numpy(), base["_cluster"].to_numpy()]
            poor_borrower = np.r_[np.zeros(len(lc), bool), poor_borrower]
        n_b = int(poor_borrower.sum())
        if n_b == 0:
            raise NoVariation("no poor borrower behind the effect: cost per exit cannot be computed")
        c_mean = amounts.sum() / n_b
        inf = (amounts - c_mean * poor_borrower) / n_b
        codes, labels = pd.factorize(clusters, sort=True)
        psi_c = pd.Series(np.bincount(codes, inf, minlength=len(labels)), index=data.cluster_labels[labels])
        joint = pd.concat([psi_c, fit.psi], axis=1).fillna(0.0).to_numpy()
        cov = clustered_vcov(joint)
        tau = fit.effect
        if tau > 0:
            ratio = c_mean / tau
            log_se = float(np.sqrt(cov[0, 0] / c_mean**2 + cov[1, 1] / tau**2 - 2 * cov[0, 1] / (c_mean * tau)))
            se = ratio * log_se
        else:
            ratio, log_se, se = np.inf, np.nan, np.nan
        return CostPerExit(
            float(ratio), float(se), fit, float(c_mean), n_b, float(tau * n_b), spending, interval, log_se, cov
        )

    return cached_study(
        __name__,
        "cost_per_exit",
        households,
        loans,
        compute,
        cache=cache,
        classes=[CostPerExit, CreditEffect],
        method=method,
        spending=spending,
        interval=interval,
        years=years,
        cluster=cluster,
        comparison=comparison,
        covariates=covariates,
        review_cutoff=review_cutoff,
        missing_pre=missing_pre,
    )
