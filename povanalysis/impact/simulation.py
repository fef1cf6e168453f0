"""Simulation study of the credit estimators: bias and interval coverage on synthetic panels with a planted effect."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..common.cache import cache_key, cached_frame
from ..common.checks import check_alpha
from ..data import synth
from ..data.pipeline import classify_panel
from .cost import cost_per_exit
from .effects import METHODS, estimate_effect
from .outcomes import OUTCOMES
from .studies import event_study, heterogeneity

__all__ = ["ESTIMATORS", "GROUPINGS", "SimulationStudy", "simulation_study"]

#: What a study can check: the methods of :func:`povanalysis.impact.effects.estimate_effect`, the leads
#: of :func:`povanalysis.impact.studies.event_study`, the subgroups of
#: :func:`povanalysis.impact.studies.heterogeneity` and the interval of :func:`povanalysis.impact.cost.cost_per_exit`.
ESTIMATORS: tuple[str, ...] = ("naive", "fe", "did", "ipw", "dose", "event_study", "heterogeneity", "cost_per_exit")
#: Groupings a study can pass to :func:`povanalysis.impact.studies.heterogeneity`.
GROUPINGS: tuple[str, ...] = ("minority", "old_area", "disadvantaged")

_RUN_COLUMNS = [
    "seed",
    "scale",
    "planted",
    "households",
    "estimator",
    "term",
    "truth",
    "estimate",
    "se",
    "ci_lower",
    "ci_upper",
    "n_treated",
    "note",
]


def _cell(value: float, width: int = 9, digits: int = 4) -> str:
    return f"{'–':>{width}}" if not np.isfinite(value) else f"{value:>{width}.{digits}f}"


@dataclass
class SimulationStudy:
    """Bias and coverage of the credit estimators over synthetic panels (what :func:`simulation_study` returns).

    Attributes
    ----------
    runs : DataFrame
        One row per panel and estimate: ``seed``, ``scale``, ``planted`` (the generator's
        ``credit_effect``), ``households``, ``estimator``, ``term``, ``truth``, ``estimate``,
        ``se``, ``ci_lower``, ``ci_upper``, ``n_treated``, ``note`` (why an estimate is
        missing: suppressed or not estimable), ``covered`` (the interval holds ``truth``),
        ``reject_zero`` (the interval excludes zero).
    seeds : tuple of int
    scales, effects : tuple of float
    outcome : str
    alpha : float
        The intervals have level ``1 - alpha``.
    """

    runs: pd.DataFrame
    seeds: tuple
    scales: tuple
    effects: tuple
    outcome: str
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """One row per estimator, term, scale and planted effect.

        Returns
        -------
        DataFrame
            ``estimator``, ``term``, ``scale``, ``planted``, ``households`` (mean per panel),
            ``runs`` (panels with an estimate), ``skipped`` (panels without one),
            ``runs_with_truth`` (runs whose truth is known: bias and coverage rest on them),
            ``truth`` (mean), ``mean_estimate``, ``bias`` (mean of estimate minus truth),
            ``bias_mcse`` (its Monte Carlo standard error, the standard deviation of the
            errors over the square root of the runs), ``sd_estimate``, ``mean_se``,
            ``coverage`` (share of intervals holding the truth), ``coverage_mcse``
            (``sqrt(coverage (1 - coverage) / runs_with_truth)``), ``reject_zero`` (share of
            intervals excluding zero: the test's size when the truth is zero, its power
            otherwise), ``mean_n_treated``.  Coverage is NaN where the truth is not defined;
            the moments are NaN where an estimate or the truth is infinite (a cost per exit
            with no effect, or with an effect estimated at or below zero).
        """
        rows = []
        keys = ["estimator", "term", "scale", "planted"]
        for key, part in self.runs.groupby(keys, sort=False):
            ok = part[part["note"] == ""]
            known = ok[ok["truth"].notna()]
            n, m = len(ok), len(known)
            est = ok["estimate"].to_numpy(float)
            finite = n > 1 and bool(np.isfinite(est).all())
            err = (known["estimate"] - known["truth"]).to_numpy(float)
            exact = m > 1 and bool(np.isfinite(err).all())
            cov = float(known["covered"].mean()) if m else np.nan
            rows.append(
                (
                    *key,
                    float(part["households"].mean()),
                    n,
                    len(part) - n,
                    m,
                    float(known["truth"].mean()) if m else np.nan,
                    float(est.mean()) if finite else np.nan,
                    float(err.mean()) if exact else np.nan,
                    float(np.std(err, ddof=1) / np.sqrt(m)) if exact else np.nan,
                    float(np.std(est, ddof=1)) if finite else np.nan,
                    float(ok["se"].mean()) if finite else np.nan,
                    cov,
                    float(np.sqrt(cov * (1 - cov) / m)) if m else np.nan,
                    float(ok["reject_zero"].mean()) if n and key[0] != "cost_per_exit" else np.nan,
                    float(ok["n_treated"].mean()) if n else np.nan,
                )
            )
        return pd.DataFrame(
            rows,
            columns=keys
            + [
                "households",
                "runs",
                "skipped",
                "runs_with_truth",
                "truth",
                "mean_estimate",
                "bias",
                "bias_mcse",
                "sd_estimate",
                "mean_se",
                "coverage",
                "coverage_mcse",
                "reject_zero",
                "mean_n_treated",
            ],
        )

    def summary(self) -> str:
        """A plain-text table of bias and coverage (returned, not printed)."""
        t = self.to_frame()
        level = round(100 * (1 - self.alpha), 1)
        lines = [
            f"Simulation study of the credit estimators: outcome {self.outcome!r}, {level:g}% intervals",
            (
                f"  {len(self.seeds)} seeds ({min(self.seeds)}–{max(self.seeds)}) x scales {list(self.scales)} "
                f"x planted effects {list(self.effects)}"
            ),
            (
                f"  {'estimator':<14}{'term':<22}{'scale':>6}{'planted':>8}{'runs':>5}{'truth':>9}{'bias':>9}"
                f"{'(mcse)':>8}{'sd':>8}{'mean se':>8}{'coverage':>9}{'(mcse)':>7}{'rejects 0':>10}"
            ),
        ]
        for r in t.itertuples():
            # Costs per exit in million VND, with 1 decimal; effects with 4.
            f, d, term = (1e-6, 1, f"{r.term}, million VND") if r.estimator == "cost_per_exit" else (1.0, 4, r.term)
            truth = f"{'inf':>9}" if r.truth == np.inf else _cell(f * r.truth, 9, d)
            lines.append(
                f"  {r.estimator:<14}{term:<22}{r.scale:>6g}{r.planted:>8g}{r.runs:>5}{truth}"
                f"{_cell(f * r.bias, 9, d)}{_cell(f * r.bias_mcse, 8, d)}{_cell(f * r.sd_estimate, 8, d)}"
                f"{_cell(f * r.mean_se, 8, d)}{_cell(r.coverage, 9, 3)}{_cell(r.coverage_mcse, 7, 3)}"
                f"{_cell(r.reject_zero, 10, 3)}"
            )
        skipped = int(t["skipped"].sum())
        if skipped:
            lines.append(f"  {skipped} estimate(s) missing (suppressed or not estimable): see .runs['note']")
        return "\n".join(lines)

    def table(self, *, lang: str = "vi") -> pd.DataFrame:
        """Deprecated: use :func:`povanalysis.reports.prose.impact.simulation_table`."""
        warnings.warn(
            "SimulationStudy.table moved to povanalysis.reports.prose.impact.simulation_table; the method "
            "will be removed in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        from ..reports.prose.impact import simulation_table

        return simulation_table(self, lang=lang)


def _check_numbers(values, name: str, low: float, high: float, *, open_low: bool) -> tuple:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"'{name}' should be a sequence of numbers, got {values!r}")
    values = tuple(values)
    if not values:
        raise ValueError(f"'{name}' is empty")
    for v in values:
        bad = not isinstance(v, (int, float, np.integer, np.floating)) or not (
            (low < v if open_low else low <= v) and v <= high
        )
        if bad:
            interval = f"({low}, {high}]" if open_low else f"[{low}, {high}]"
            raise ValueError(f"'{name}' values must be numbers in {interval}, got {v!r}")
    return tuple(float(v) for v in values)


def _check_names(values, name: str, allowed: Sequence[str]) -> tuple:
    if isinstance(values, str):
        raise TypeError(f"'{name}' should be a sequence of names, got the string {values!r}")
    values = tuple(values)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"'{name}' must be among {allowed}, got {unknown}")
    return values


class _Lifts:
    """Poor borrowers and households lifted by the loan, by cohort and old area, as the generator plants them.

    Each year the generator plans to lift ``round(credit_effect x poor borrowers)`` households
    and apportions them to the old areas by their share of those borrowers (rounded in the
    Thai Nguyen area); the poor borrowers are the loans of the ``poor`` programme, whose cohort
    (first review after the loan) is the year of disbursement.  Where fewer borrowers of a
    cell would have stayed poor than it plans to lift, it lifts them all: that cell's
    borrowers are then all out of poverty at the next review, and the generator's record,
    ``truth["credit_effect_realised"]``, counts the households actually lifted.  The shortfall
    is placed in the cells where every borrower left poverty; an estimand that splits those
    cells is not known (NaN).
    """

    def __init__(self, panel: synth.SyntheticPanel, classified: pd.DataFrame):
        loans = panel.loans[panel.loans["programme"] == "poor"]
        cohort = loans["disbursed"].dt.year.to_numpy()
        area = panel.communes.set_index("commune_code")["old_area"]
        home = panel.households.drop_duplicates("household_id").set_index("household_id")["commune_code"]
        status = classified.set_index(["household_id", "review_year"])["poverty_class"]
        frame = pd.DataFrame(
            {
                "cohort": cohort,
                "old_area": area.reindex(home.reindex(loans["household_id"])).to_numpy(),
                "out": (status.reindex(list(zip(loans["household_id"], cohort))) != "poor").to_numpy(),
            }
        )
        cells = frame.groupby(["cohort", "old_area"])
        self.borrowers = cells.size().unstack(fill_value=0).reindex(columns=["thai_nguyen", "bac_kan"], fill_value=0)
        effect = panel.truth["credit_effect"]
        total = self.borrowers.sum(axis=1).to_numpy()
        n_lift = np.array([round(effect * t) for t in total])
        tn = np.array(
            [round(k * e / t) if k else 0 for k, e, t in zip(n_lift, self.borrowers["thai_nguyen"].to_numpy(), total)]
        )
        self.lifted = pd.DataFrame({"thai_nguyen": tn, "bac_kan": n_lift - tn}, index=self.borrowers.index)
        recorded = float(panel.truth["credit_effect_realised"]) * int(panel.truth["n_exit_events"])
        self.short = int(self.lifted.to_numpy().sum()) - round(recorded)
        all_out = cells["out"].all()
        self.candidates = {c for c in all_out.index[all_out.to_numpy()] if self.lifted.loc[c[0], c[1]] > 0}
        if self.short < 0 or (self.short and not self.candidates) or total.sum() != panel.truth["n_exit_events"]:
            raise RuntimeError(
                f"the lifts rebuilt from the loans ({int(self.lifted.to_numpy().sum())} of "
                f"{int(total.sum())} poor borrowers) do not match the generator's record "
                f"({round(recorded)} of {panel.truth['n_exit_events']}; seed {panel.truth['seed']}, "
                f"scale {panel.truth['scale']}): povanalysis.data.synth plants its effect "
                "differently from what this study assumes"
            )

    def effect(self, cohorts=None, area: str | None = None) -> float:
        """The realised effect among the poor borrowers of ``cohorts`` (default all) in ``area`` (default both)."""
        rows = list(self.borrowers.index) if cohorts is None else [c for c in self.borrowers.index if c in set(cohorts)]
        cols = ["thai_nguyen", "bac_kan"] if area is None else [area]
        n = self.borrowers.loc[rows, cols].to_numpy().sum()
        if not n:
            return np.nan
        lifted = self.lifted.loc[rows, cols].to_numpy().sum()
        if self.short:
            inside = {(c, a) for c, a in self.candidates if c in rows and a in cols}
            if inside and inside != self.candidates:
                return np.nan  # the shortfall may lie inside or outside these borrowers
            lifted -= self.short if inside else 0
        return float(lifted / n)


def _one_panel(
    seed: int, scale: float, effect: float, *, methods: tuple, outcome: str, by: tuple, base_method: str, alpha: float
) -> list:
    panel = synth.generate(seed=seed, scale=scale, credit_effect=effect)
    hh = classify_panel(panel.households)
    loans = panel.loans
    lifts = _Lifts(panel, hh)
    head = (seed, scale, effect, int(panel.households["household_id"].nunique()))
    rows = []

    def truth(cohorts=None, area=None):
        """The estimand of an effect resting on the poor borrowers of ``cohorts`` in ``area``."""
        if outcome == "exit":
            return lifts.effect(cohorts, area)
        if outcome == "deprivations" or effect == 0:
            return 0.0
        # The generator records the income gain over every poor borrower only.
        return float(panel.truth["mean_log_income_gain_exit_events"]) if area is None else np.nan

    def add(estimator, term, value, fit_effect=np.nan, se=np.nan, ci=(np.nan, np.nan), n_treated=0, note=""):
        rows.append((*head, estimator, term, value, fit_effect, se, ci[0], ci[1], n_treated, note))

    used = None  # cohorts behind the credible estimates (comparisons that borrow later)
    for method in methods:
        try:
            if method in METHODS:
                fit = estimate_effect(hh, loans, outcome=outcome, method=method, cache=None)
                if method == "naive":
                    value = truth()
                else:
                    used = fit.details["cohort"].tolist()
                    value = 0.0 if method == "dose" else truth(used)
                add(
                    method,
                    "slope" if method == "dose" else "effect",
                    value,
                    fit.effect,
                    fit.se,
                    fit.conf_int(alpha),
                    fit.n_treated,
                )
            elif method == "event_study":
                table = event_study(hh, loans, outcome=outcome, alpha=alpha, cache=None).table
                for r in table[table["event_time"] <= -2].itertuples():
                    add(
                        method,
                        f"lead {r.event_time}",
                        0.0,
                        r.effect,
                        r.se,
                        (r.ci_lower, r.ci_upper),
                        r.n_treated,
                        "suppressed" if r.suppressed else "",
                    )
            elif method == "heterogeneity":
                if used is None:
                    used = estimate_effect(hh, loans, outcome=outcome, method=base_method, cache=None).details["cohort"]
                codes = panel.communes.loc[panel.communes["disadvantaged"], "commune_code"]
                het = heterogeneity(
                    hh,
                    loans,
                    by=list(by),
                    outcome=outcome,
                    method=base_method,
                    disadvantaged=set(codes),
                    alpha=alpha,
                    cache=None,
                )
                for r in het.table.itertuples():
                    # Only the old areas have their own known truth under a positive effect.
                    value = (
                        truth(used, r.group)
                        if r.by == "old_area"
                        else 0.0
                        if effect == 0 or outcome == "deprivations"
                        else np.nan
                    )
                    add(
                        method,
                        f"{r.by}={r.group}",
                        value,
                        r.effect,
                        r.se,
                        (r.ci_lower, r.ci_upper),
                        r.n_treated,
                        r.note if r.suppressed else "",
                    )
            else:
                cost = cost_per_exit(hh, loans, method=base_method, cache=None)
                tau = truth(cost.effect.details["cohort"].tolist())
                value = np.inf if tau <= 0 else cost.credit_per_poor_borrower / tau
                for interval in ("delta", "fieller"):
                    ci = replace(cost, interval=interval).conf_int(alpha)
                    add(method, interval, value, cost.vnd_per_exit, cost.se, ci, cost.n_borrowers)
        except ValueError as exc:  # not estimable on this panel: no borrower, no comparison, no overlap
            add(method, "slope" if method == "dose" else "effect", np.nan, note=str(exc))
    return rows


def simulation_study(
    *,
    seeds: Iterable[int],
    scales: Sequence[float],
    effects: Sequence[float] = (0.0, synth.DEFAULT_CREDIT_EFFECT),
    methods: Sequence[str] = ("naive", "fe", "did", "ipw"),
    outcome: str = "exit",
    by: Sequence[str] = ("old_area",),
    base_method: str = "did",
    alpha: float = 0.05,
    cache: str | os.PathLike | None = None,
) -> SimulationStudy:
    """Bias and interval coverage of the credit estimators over synthetic panels with a known effect.

    For every seed, scale and planted effect one panel is generated
    (:func:`povanalysis.data.synth.generate`), classified once, and every estimator of ``methods``
    is run on it.  The question is whether a 95% interval holds the truth in about 95% of the
    panels, at every size: a bias can change sign with the size of the panel, so use at
    least two scales.

    **The truth.**  Each year the generator lifts out of poverty a fixed number of the
    borrowers poor at the review before their loan, ``round(credit_effect x borrowers)``,
    chosen at random among those who would have stayed poor, and apportions them to the old
    areas by their share of those borrowers.  The estimand is therefore the *realised* effect
    among the borrowers behind each estimate (the share of them lifted), not the planted
    probability: they differ by the rounding to whole households, which matters in small
    panels (at scale 0.01 an old area can have five poor borrowers a year).  The study
    rebuilds the lifts by cohort and area from the loans and checks them against
    ``panel.truth["credit_effect_realised"]``.  Per estimator, for ``outcome="exit"``:

    * ``naive``: the realised effect over every cohort;
    * ``fe``, ``did``, ``ipw``: over the cohorts the estimate uses (those with households that
      borrow later to compare with: not the last), weighted by their borrowers, which is the
      weighting of ``did`` and ``ipw`` (``fe`` weights cohorts by the variance of treatment,
      a difference of rounding only);
    * ``dose`` (slope per 10 million VND): 0 at any planted effect, because the generator
      draws loan amounts independently of who is lifted and of every gain;
    * ``event_study`` (each lead, event time -2 and earlier): 0 at any planted effect;
    * ``heterogeneity`` (with ``base_method``): each old area's own realised effect over the
      same cohorts.  Other groups have a known truth only under a zero planted effect (0):
      within an area the generator lifts at random among the borrowers who would have stayed
      poor, whose share differs by ethnicity and commune (Kinh borrowers are lifted less
      often), so there the coverage of a positive effect is NaN;
    * ``cost_per_exit`` (VND per exit, ``base_method``): the panel's credit per poor borrower
      divided by the realised effect, infinite under a zero effect, which an interval covers
      when it is unbounded above (the effect is not significantly positive); both intervals of
      :class:`povanalysis.impact.cost.CostPerExit` are checked (terms ``delta`` and ``fieller``).

    For ``log_income`` the truth is ``truth["mean_log_income_gain_exit_events"]`` (over every
    cohort; by old area not defined under a positive effect) and for ``deprivations`` 0
    (loans never change deprivations).  ``naive`` compares borrowers with never-borrowers,
    who differ in an unobserved drive: it is biased, and its low coverage is the point of
    including it.

    Parameters
    ----------
    seeds : iterable of int
        One panel per seed, scale and effect.
    scales : sequence of float
        Shares of the province's households (:func:`povanalysis.data.synth.generate`); 0.01 is
        about 4,300 households and 55 poor borrowers with a comparison.
    effects : sequence of float
        Planted effects on exit, in probability points.
    methods : sequence of str
        Among :data:`ESTIMATORS`.
    outcome : {"exit", "log_income", "deprivations"}
        ``cost_per_exit`` needs ``exit``.
    by : sequence of str
        Groupings for ``heterogeneity``, among :data:`GROUPINGS`.
    base_method : {"fe", "did", "ipw"}
        Estimator behind ``heterogeneity`` and ``cost_per_exit``.
    alpha : float
        Intervals at level ``1 - alpha``.
    cache : path, optional
        A folder (:func:`povanalysis.config.cache_dir`) where the runs are stored, keyed by
        every argument, the package version and its source: a study already run is read back
        instead of run again (the panels are synthetic, so no input data enters the key).

    Returns
    -------
    SimulationStudy

    Raises
    ------
    TypeError
        Seeds that are not integers; a string where a sequence is expected.
    ValueError
        Empty or out-of-range seeds, scales or effects; unknown method, outcome, grouping or
        base method; ``alpha`` outside (0, 1).
    RuntimeError
        The lifts rebuilt from a panel's loans do not match the generator's record (the
        generator plants its effect differently from what the study assumes).

    References
    ----------
    Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation studies to
    evaluate statistical methods. *Statistics in Medicine* 38(11), 2074–2102.
    https://doi.org/10.1002/sim.8086

    Examples
    --------
    >>> study = simulation_study(seeds=[1, 2], scales=[0.005], effects=[0.0], methods=["did"])
    >>> study.to_frame()[["estimator", "scale", "planted", "runs", "truth"]].values.tolist()
    [['did', 0.005, 0.0, 2, 0.0]]
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"'seeds' should be a sequence of integers, got {seeds!r}")
    seeds = tuple(seeds)
    if not seeds:
        raise ValueError("'seeds' is empty")
    for s in seeds:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)):
            raise TypeError(f"'seeds' must hold integers, got {s!r}")
    scales = _check_numbers(scales, "scales", 0.0, 5.0, open_low=True)
    effects = _check_numbers(effects, "effects", 0.0, 0.5, open_low=False)
    methods = _check_names(methods, "methods", ESTIMATORS)
    if not methods:
        raise ValueError("'methods' is empty")
    by = _check_names(by, "by", GROUPINGS)
    if "heterogeneity" in methods and not by:
        raise ValueError("method 'heterogeneity' needs at least one grouping in 'by'")
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if "cost_per_exit" in methods and outcome != "exit":
        raise ValueError(f"method 'cost_per_exit' needs outcome 'exit', got {outcome!r}")
    if base_method not in ("fe", "did", "ipw"):
        raise ValueError(f"base_method must be 'fe', 'did' or 'ipw', got {base_method!r}")
    alpha = check_alpha(alpha)

    def run() -> tuple[pd.DataFrame, dict]:
        rows = []
        for scale in scales:
            for effect in effects:
                for seed in seeds:
                    rows += _one_panel(
                        int(seed),
                        scale,
                        effect,
                        methods=methods,
                        outcome=outcome,
                        by=by,
                        base_method=base_method,
                        alpha=alpha,
                    )
        runs = pd.DataFrame(rows, columns=_RUN_COLUMNS)
        ok = runs["note"] == ""
        runs["covered"] = ok & (runs["ci_lower"] <= runs["truth"]) & (runs["truth"] <= runs["ci_upper"])
        runs["reject_zero"] = ok & ((runs["ci_lower"] > 0) | (runs["ci_upper"] < 0))
        runs.loc[runs["estimator"] == "cost_per_exit", "reject_zero"] = False  # a cost is never zero
        return runs, {}

    key = (
        cache_key(
            __name__,
            study="impact.simulation_study",
            seeds=[int(s) for s in seeds],
            scales=scales,
            effects=effects,
            methods=methods,
            outcome=outcome,
            by=by,
            base_method=base_method,
            alpha=alpha,
        )
        if cache is not None
        else ""
    )
    runs, _ = cached_frame(cache, key, run)
    return SimulationStudy(runs, seeds, scales, effects, outcome, alpha)
