"""Studies of the credit effect: leads and lags around the loan (event study), and effects by subgroup."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import config
from ..common.checks import check_alpha
from ..data.schema import CHANNELS, PROGRAMMES
from .did import wald_test
from .effects import (
    CREDIBLE_METHODS,
    DEFAULT_COVARIATES,
    DesignError,
    NoVariation,
    covariate_matrix,
    did_design,
    estimate,
)
from .outcomes import OUTCOME_NAMES, REVIEW_CUTOFF, cached_study, outcome_values, prepare_panel, select_population

__all__ = ["HETEROGENEITY", "EventStudy", "Heterogeneity", "event_study", "heterogeneity"]

#: Groups for :func:`heterogeneity`.
HETEROGENEITY: tuple[str, ...] = ("minority", "programme", "old_area", "disadvantaged", "channel")


@dataclass
class EventStudy:
    """Effects by review relative to the loan (what :func:`event_study` returns).

    Attributes
    ----------
    table : DataFrame
        ``event_time`` (reviews since the loan: 0 is the first review after it, -1 the base
        review, negative values are leads), ``effect``, ``se``, ``ci_lower``, ``ci_upper``,
        ``n``, ``n_treated``, ``n_control``, ``suppressed``, ``reference``.
    pretrend : dict
        Joint test that every lead is zero (:func:`povanalysis.impact.did.wald_test`): ``stat`` (F),
        ``df``, ``df_denom``, ``chi2``, ``pvalue``, ``event_times``.
    group_time : DataFrame
        The underlying effects by cohort and review.
    outcome, population, comparison : str
    years : tuple of int
    """

    table: pd.DataFrame
    pretrend: dict
    group_time: pd.DataFrame
    outcome: str
    population: str
    comparison: str
    years: tuple

    def to_frame(self) -> pd.DataFrame:
        """The event-time table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text table of leads and lags with the pre-trend test (returned)."""
        lines = [
            f"Event study: {OUTCOME_NAMES[self.outcome].lower()}, comparison {self.comparison}, "
            f"reviews {self.years[0]}–{self.years[-1]}",
            f"{'event':>6} {'effect':>9} {'se':>8} {'ci_lower':>9} {'ci_upper':>9} {'treated':>8}",
        ]
        for r in self.table.itertuples():
            if r.reference:
                lines.append(f"{r.event_time:>6} {'0 (base)':>9}")
            elif r.suppressed:
                lines.append(f"{r.event_time:>6} {'suppressed':>9}")
            else:
                lines.append(
                    f"{r.event_time:>6} {r.effect:>9.4f} {r.se:>8.4f} {r.ci_lower:>9.4f} {r.ci_upper:>9.4f} "
                    f"{r.n_treated:>8,}"
                )
        p = self.pretrend
        lines.append(
            "pre-trend test: no lead available"
            if not p["df"]
            else f"pre-trend test (leads {list(p['event_times'])} jointly zero): F({p['df']}, {p['df_denom']}) = "
            f"{p['stat']:.2f}, p = {p['pvalue']:.3f}"
        )
        return "\n".join(lines)

    def text(self, lang: str = "vi") -> str:
        """Deprecated: use :func:`povanalysis.reports.prose.impact.event_study_text`."""
        warnings.warn(
            "EventStudy.text moved to povanalysis.reports.prose.impact.event_study_text; the method will "
            "be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..reports.prose.impact import event_study_text

        return event_study_text(self, lang)


def event_study(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    outcome: str = "exit",
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    population: str | None = None,
    comparison: str = "not_yet",
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
    alpha: float = 0.05,
    cache: str | os.PathLike | bool | None = True,
) -> EventStudy:
    """Leads and lags of the loan effect with a joint pre-trend test (Callaway–Sant'Anna).

    For each cohort the base is the review before the loan and the population is fixed there
    (for ``exit``: households poor at it).  Event time ``e`` compares the change from the base
    to review ``cohort + e`` between borrowers and households not yet borrowing by then.
    Leads (``e <= -2``) should be near zero when the comparison is valid: for ``exit`` they
    compare the share not poor *before* the base among households poor at it.

    Parameters
    ----------
    alpha : float
        The intervals have level ``1 - alpha`` (t with clusters - 1 degrees of freedom).
    Other parameters (``cache`` too) are those of :func:`estimate_effect`.

    Returns
    -------
    EventStudy

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). https://doi.org/10.1016/j.jeconom.2020.12.001

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> es = event_study(p.households, p.loans)
    >>> es.table["event_time"].tolist()
    [-3, -2, -1, 0, 1, 2]
    >>> es.pretrend["df"]
    2
    """
    check_alpha(alpha)
    if isinstance(years, Iterator):  # read once: kept as a list for the key and the study
        years = list(years)

    def compute() -> EventStudy:
        data = prepare_panel(
            households, loans, years=years, cluster=cluster, review_cutoff=review_cutoff, missing_pre=missing_pre
        )
        chosen, pop = select_population(data.levels, outcome, population)
        design = did_design(data, outcome_values(data.levels, outcome), pop, comparison)
        gt = design.cells.copy()
        gt.loc[gt["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
        return EventStudy(
            design.event_study(alpha=alpha), design.pretrend_test(), gt, outcome, chosen, comparison, data.years
        )

    return cached_study(
        __name__,
        "event_study",
        households,
        loans,
        compute,
        cache=cache,
        classes=[EventStudy],
        outcome=outcome,
        years=years,
        cluster=cluster,
        population=population,
        comparison=comparison,
        review_cutoff=review_cutoff,
        missing_pre=missing_pre,
        alpha=alpha,
    )


# --------------------------------------------------------------------------- heterogeneity


@dataclass
class Heterogeneity:
    """Effects by subgroup (what :func:`heterogeneity` returns).

    Attributes
    ----------
    table : DataFrame
        ``by``, ``group``, ``effect``, ``se``, ``ci_lower``, ``ci_upper``, ``n``,
        ``n_treated``, ``n_control``, ``suppressed`` (fewer than
        :data:`povanalysis.config.MIN_CELL` borrowers, or not estimable; numbers set to NaN),
        ``note``.
    tests : DataFrame
        Per ``by``: test that the groups' effects are equal (``stat`` F with ``df`` and
        ``df_denom`` degrees of freedom, ``pvalue``; :func:`povanalysis.impact.did.wald_test`).
    method, outcome, population, comparison : str
    """

    table: pd.DataFrame
    tests: pd.DataFrame
    method: str
    outcome: str
    population: str
    comparison: str

    def to_frame(self) -> pd.DataFrame:
        """The subgroup table."""
        return self.table.copy()

    def summary(self) -> str:
        """Plain-text table of the subgroup effects and equality tests (returned)."""
        lines = [f"Heterogeneity of the {self.method} estimate: {OUTCOME_NAMES[self.outcome].lower()}"]
        for by, part in self.table.groupby("by", sort=False):
            lines.append(f"  by {by}:")
            for r in part.itertuples():
                lines.append(
                    f"    {r.group:<16} "
                    + (
                        "suppressed" + (f" ({r.note})" if r.note else "")
                        if r.suppressed
                        else f"{r.effect:8.4f} (se {r.se:.4f}) [{r.ci_lower:.4f}, "
                        f"{r.ci_upper:.4f}], {r.n_treated:,} borrowers"
                    )
                )
            t = self.tests[self.tests["by"] == by].iloc[0]
            lines.append(
                f"    equality: F({t['df']}, {t['df_denom']}) = {t['stat']:.2f}, p = {t['pvalue']:.3f}"
                if t["df"]
                else "    equality: fewer than two groups estimable"
            )
        return "\n".join(lines)

    def text(self, lang: str = "vi") -> str:
        """Deprecated: use :func:`povanalysis.reports.prose.impact.heterogeneity_text`."""
        warnings.warn(
            "Heterogeneity.text moved to povanalysis.reports.prose.impact.heterogeneity_text; the "
            "method will be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..reports.prose.impact import heterogeneity_text

        return heterogeneity_text(self, lang)


def _first_channel(levels: pd.DataFrame, loans: pd.DataFrame) -> pd.Series:
    """The entrusted organisation of each household's first loan (earliest disbursed; ``""`` for non-borrowers)."""
    order = np.argsort(loans["disbursed"].to_numpy(), kind="stable")
    first = loans.iloc[order].drop_duplicates("household_id").set_index("household_id")["channel"]
    return levels["household_id"].map(first).fillna("").astype(str)


def _groups(levels: pd.DataFrame, by: str, loans: pd.DataFrame) -> pd.Series:
    if by == "channel":
        return _first_channel(levels, loans)
    if by == "minority":
        return pd.Series(np.where(levels["minority"] > 0, "minority", "majority"), index=levels.index)
    if by == "old_area":
        return levels["old_area"].astype(str)
    if by == "disadvantaged":
        return pd.Series(np.where(levels["disadvantaged"], "disadvantaged", "other_communes"), index=levels.index)
    return levels["eligible_class"].astype(str)


_GROUP_ORDER = {
    "minority": ["majority", "minority"],
    "old_area": ["thai_nguyen", "bac_kan"],
    "disadvantaged": ["other_communes", "disadvantaged"],
    "programme": list(PROGRAMMES),
    "channel": list(CHANNELS),
}
_GROUP_COVARIATES = {
    "minority": ("minority",),
    "old_area": ("bac_kan",),
    "disadvantaged": ("disadvantaged",),
    "programme": (),
    "channel": (),
}


def heterogeneity(
    households: pd.DataFrame,
    loans: pd.DataFrame,
    *,
    by: str | Sequence[str] = "minority",
    outcome: str = "exit",
    method: str = "did",
    disadvantaged: Iterable[str] | None = None,
    years: Iterable[int] | None = None,
    cluster: str = "commune_code",
    population: str | None = None,
    comparison: str = "not_yet",
    covariates: Sequence[str] | None = None,
    review_cutoff: str = REVIEW_CUTOFF,
    missing_pre: str = "raise",
    alpha: float = 0.05,
    cache: str | os.PathLike | bool | None = True,
) -> Heterogeneity:
    """The loan effect by ethnic-minority status, programme, old province, disadvantaged commune or channel.

    Each group is estimated separately: borrowers and comparison households both come from
    the group (defined at the review before the loan).  ``programme`` groups households by
    the VBSP household programme they qualify for at that review (poor, near-poor, newly
    escaped), which is the programme of a borrower's loan; it needs
    ``population="eligible"`` and an outcome other than ``exit``.  The grouping variable is
    left out of the covariates within its own groups.  Groups with fewer than
    :data:`povanalysis.config.MIN_CELL` borrowers, or that cannot be estimated (no
    comparison households, or covariates constant or collinear within the group), are
    suppressed, with the reason in ``note``.

    ``channel`` groups households by the entrusted organisation of their first loan (the
    ``channel`` column of ``loans``, :data:`~povanalysis.data.schema.CHANNELS`): Women's Union,
    Farmers' Union, Veterans' Association, Youth Union.  Households that never borrow have no
    channel and are in no group, so it needs ``comparison="not_yet"``: each year's borrowers of
    a channel are compared with households of the same channel that have not borrowed yet,
    which exist because every comparison household borrows later (the last cohort has none and
    is left out by the estimator).  The effect of a channel is thus the effect of credit on the
    households the organisation reaches, not the organisation's own effect: organisations reach
    different households.

    Parameters
    ----------
    by : str or sequence of str
        Among :data:`HETEROGENEITY`.
    disadvantaged : iterable of str
        Commune codes of the disadvantaged communes (for instance
        :func:`povanalysis.data.pipeline.load_disadvantaged`); required for ``by="disadvantaged"``.
    method : {"naive", "fe", "did", "ipw"}
    alpha : float
        The intervals have level ``1 - alpha``.
    Other parameters are those of :func:`estimate_effect`.

    Returns
    -------
    Heterogeneity

    Examples
    --------
    >>> from povanalysis.data import synth
    >>> p = synth.generate(seed=5, scale=0.01)
    >>> h = heterogeneity(p.households, p.loans, by="old_area")
    >>> h.table["group"].tolist()
    ['thai_nguyen', 'bac_kan']
    """
    check_alpha(alpha)
    bys = [by] if isinstance(by, str) else list(by)
    if not bys:
        raise ValueError("'by' names no grouping")
    for b in bys:
        if b not in HETEROGENEITY:
            raise ValueError(f"by must be among {HETEROGENEITY}, got {b!r}")
    if method not in ("naive",) + CREDIBLE_METHODS:
        raise ValueError(f"heterogeneity needs method 'naive', 'fe', 'did' or 'ipw', got {method!r}")
    if "channel" in bys and comparison != "not_yet":
        raise ValueError(
            "heterogeneity by channel needs comparison='not_yet': households are grouped by the channel of "
            f"their first loan, so a group holds no household that never borrows (got comparison={comparison!r})"
        )
    if "channel" in bys and "channel" not in loans.columns:
        raise ValueError(
            "heterogeneity by channel needs a 'channel' column in 'loans' (the entrusted organisation; "
            "see povanalysis.data.io.read_loans)"
        )
    if "disadvantaged" in bys and disadvantaged is None:
        raise ValueError(
            "by='disadvantaged' needs the codes of the disadvantaged communes: pass "
            "disadvantaged=pipeline.load_disadvantaged()"
        )
    if isinstance(disadvantaged, str):
        raise TypeError(f"'disadvantaged' should be a collection of commune codes, got the string {disadvantaged!r}")
    pop_name = "poor" if population is None else population
    if "programme" in bys and (outcome == "exit" or pop_name != "eligible"):
        raise ValueError(
            "heterogeneity by programme needs population='eligible' and outcome 'log_income' or "
            "'deprivations': exit from poverty is defined only for poor households, who all borrow "
            "under the poor-household programme"
        )
    if isinstance(years, Iterator):  # read once: kept as a list for the key and the estimates
        years = list(years)
    if isinstance(disadvantaged, Iterator):
        disadvantaged = list(disadvantaged)

    def compute() -> Heterogeneity:
        covariates_used = covariates
        data = prepare_panel(
            households,
            loans,
            years=years,
            cluster=cluster,
            review_cutoff=review_cutoff,
            missing_pre=missing_pre,
            disadvantaged=disadvantaged,
        )
        if "disadvantaged" in bys and not data.levels["disadvantaged"].any():
            raise ValueError("no household of the panel lives in one of the given disadvantaged communes")
        if covariates_used is None:
            covariates_used = DEFAULT_COVARIATES if method == "ipw" else ()
        covariate_matrix(data.levels, data.levels.index[:0], covariates_used)  # names checked once, before the groups
        rows, tests = [], []
        for b in bys:
            groups = _groups(data.levels, b, loans)
            # Within its own groups the grouping variable is constant: it cannot be a covariate there.
            covs = tuple(c for c in covariates_used if c not in _GROUP_COVARIATES[b])
            fits = {}
            for g in _GROUP_ORDER[b]:
                mask = (groups == g).to_numpy()
                try:
                    fit = estimate(
                        data,
                        outcome=outcome,
                        method=method,
                        population=population,
                        comparison=comparison,
                        covariates=covs,
                        extra_mask=mask,
                    )
                except (NoVariation, DesignError) as exc:
                    rows.append((b, g, np.nan, np.nan, np.nan, np.nan, 0, 0, 0, True, str(exc)))
                    continue
                lo, hi = fit.conf_int(alpha)
                small = fit.n_treated < config.MIN_CELL
                rows.append(
                    (
                        b,
                        g,
                        fit.effect,
                        fit.se,
                        lo,
                        hi,
                        fit.n,
                        fit.n_treated,
                        fit.n_control,
                        small,
                        "fewer borrowers than the publication threshold" if small else "",
                    )
                )
                if not small:
                    fits[g] = fit
            if len(fits) >= 2:
                theta = np.array([f.effect for f in fits.values()])
                psi = pd.concat([f.psi for f in fits.values()], axis=1).fillna(0.0).to_numpy()
                r = np.column_stack([np.eye(len(theta) - 1), -np.ones(len(theta) - 1)])
                t = wald_test(theta, psi, r)
                tests.append((b, t["stat"], t["df"], t["df_denom"], t["pvalue"]))
            else:
                tests.append((b, np.nan, 0, 0, np.nan))
        table = pd.DataFrame(
            rows,
            columns=[
                "by",
                "group",
                "effect",
                "se",
                "ci_lower",
                "ci_upper",
                "n",
                "n_treated",
                "n_control",
                "suppressed",
                "note",
            ],
        )
        table.loc[table["suppressed"], ["effect", "se", "ci_lower", "ci_upper"]] = np.nan
        tests = pd.DataFrame(tests, columns=["by", "stat", "df", "df_denom", "pvalue"])
        return Heterogeneity(table, tests, method, outcome, pop_name, comparison)

    return cached_study(
        __name__,
        "heterogeneity",
        households,
        loans,
        compute,
        cache=cache,
        classes=[Heterogeneity],
        by=bys,
        outcome=outcome,
        method=method,
        disadvantaged=None if disadvantaged is None else sorted(map(str, disadvantaged)),
        years=years,
        cluster=cluster,
        population=population,
        comparison=comparison,
        covariates=covariates,
        review_cutoff=review_cutoff,
        missing_pre=missing_pre,
        alpha=alpha,
    )
