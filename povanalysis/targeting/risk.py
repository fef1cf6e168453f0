"""Risk of falling back into poverty after leaving the lists: a logit tested out of time, counts, a confidential list.

One module because the transitions the model learns from, the model with its out-of-time
evaluation, and the two ways its scores leave it (published counts, a confidential list) are one
concept and share the model's checks (over 800 lines); the statistics it rests on (AUC, DeLong, logit fits) are in
:mod:`povanalysis.targeting.discrimination`, its words in :mod:`povanalysis.reports.prose.targeting`.

The confidential list is the package's only file that names households: it is written readable
by its owner only, and never into a folder that holds published reports (:func:`confidential_export`).
"""

from __future__ import annotations

import numbers
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy import stats

from .. import config
from ..common.cache import cache_folder, cache_key, cached_result, frame_digest
from ..common.checks import Z_95, require_frame, to_python
from ..common.deprecation import moved_names
from ..common.safe import neutralise_formulas
from ..data.schema import ETHNIC_MAJORITY
from . import discrimination
from .panel import (
    NEWLY_ESCAPED_YEARS,
    household_panel,
    income_line,
    min_cell_limit,
    positive_int,
    require_complete,
    review_years,
)

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
    "at_risk_counts",
    "ConfidentialFile",
    "confidential_export",
]

#: Predictors of falling back, measured at the review after which the outcome is observed.
FEATURES: tuple[str, ...] = (
    "log_income_ratio",  # log(income per person / income line): distance above the line
    "income_change",  # change in log income since the previous review (a shock, or a recovery)
    "deprivations",  # deprivation count under the review's standard
    "size",  # household members
    "size_change",  # members gained or lost since the previous review
    "dependants",  # deprived in the dependants indicator (structure proxy)
    "years_since_exit",  # reviews since the household was last listed (1..newly_escaped_years)
    "credit",  # holds a VBSP loan at the review (disbursed, not yet matured)
    "minority",  # ethnic-minority household
    "urban",  # urban area
    "bac_kan",  # commune of the old Bac Kan province
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

#: Names that moved out of this module in 0.2.0, and their new homes (kept for one release).
_MOVED = MappingProxyType(
    {
        **{
            name: "povanalysis.targeting.discrimination"
            for name in ("auc", "auc_difference", "fit_logit", "LogitFit", "recalibration")
        },
        **{
            name: "povanalysis.reports.prose.targeting"
            for name in ("evaluation_text", "discrimination_table", "calibration_table")
        },
        "calibration_figure": "povanalysis.figures.targeting",
    }
)


__getattr__ = moved_names(__name__, _MOVED)


# ----------------------------------------------------------------------------- transitions


def _credit(rows: pd.DataFrame, loans: pd.DataFrame) -> np.ndarray:
    """Whether each (household_id, review_year) row holds a loan at the end of its review year."""
    require_frame(loans, "loans", ["household_id", "disbursed", "term_months"])
    require_complete(loans, ["household_id", "disbursed", "term_months"], "loans")
    if not pd.api.types.is_datetime64_any_dtype(loans["disbursed"].dtype):
        raise ValueError(
            f"column 'disbursed' of 'loans' must hold dates (datetime64), got dtype {loans['disbursed'].dtype}"
        )
    term = loans["term_months"]
    bad = (~(term >= 1)).to_numpy() if pd.api.types.is_integer_dtype(term.dtype) else np.ones(len(term), bool)
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"column 'term_months' of 'loans' must hold positive integers, got {to_python(term.iloc[i])!r} "
            f"at row {to_python(loans.index[i])!r}"
        )
    d = loans["disbursed"]
    start = d.dt.year.to_numpy() * 12 + d.dt.month.to_numpy() - 1
    ln = pd.DataFrame(
        {"household_id": loans["household_id"].to_numpy(), "start": start, "end": start + term.to_numpy()}
    )
    key = pd.DataFrame(
        {
            "household_id": rows["household_id"].to_numpy(),
            "row": np.arange(len(rows)),
            "month": rows["review_year"].to_numpy() * 12 + 11,
        }
    )
    m = key.merge(ln, on="household_id", how="inner")
    held = m[(m["start"] <= m["month"]) & (m["end"] > m["month"])]["row"].unique()
    out = np.zeros(len(rows), bool)
    out[held] = True
    return out


def transitions(
    classified: pd.DataFrame,
    loans: pd.DataFrame | None = None,
    *,
    newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
    fallback_classes: Sequence[str] = _FALLBACK,
) -> pd.DataFrame:
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
    needed = [
        "household_id",
        "review_year",
        "commune_code",
        "area",
        "income_pc",
        "size",
        "deprivations",
        "d_dependants",
        "poverty_class",
    ]
    require_frame(classified, "classified", needed)
    if "minority" not in classified.columns and "ethnicity" not in classified.columns:
        raise ValueError("'classified' lacks both 'minority' and 'ethnicity'")
    bad_fb = [c for c in fallback_classes if c not in ("poor", "near_poor", "average_living", "not_poor")]
    if bad_fb or not len(fallback_classes):
        raise ValueError(
            f"'fallback_classes' must name classes among poor, near_poor, average_living, not_poor; "
            f"got {list(fallback_classes)!r}"
        )
    require_complete(classified, needed, "classified")
    window = positive_int(newly_escaped_years, "newly_escaped_years")
    core = household_panel(classified, window)
    income = classified["income_pc"].to_numpy(dtype=float)
    if (income <= 0).any():
        i = np.flatnonzero(income <= 0)[0]
        raise ValueError(
            f"column 'income_pc' of 'classified' must be positive for a log ratio, got {to_python(income[i])!r} "
            f"at row {to_python(classified.index[i])!r}"
        )
    sel = np.flatnonzero(core.newly)
    order = np.lexsort((classified["household_id"].iloc[sel].to_numpy(), core.years[sel]))
    sel = sel[order]
    prev, nxt = core.prev[sel], core.next[sel]
    cols = [
        c
        for c in (
            "area",
            "standard",
            "review_year",
            "d_dependants",
            "deprivations",
            "minority",
            "ethnicity",
            "old_area",
        )
        if c in classified.columns
    ]
    sub = classified[cols].iloc[sel]
    line = income_line(sub)
    years = core.years[sel]
    size = classified["size"].to_numpy(dtype=float)
    log_inc = np.log(income)
    fb_codes = [("poor", "near_poor", "average_living", "not_poor").index(c) for c in fallback_classes]
    has_next = (nxt >= 0) & (core.years[np.maximum(nxt, 0)] == years + 1)
    fell = np.isin(core.cls[np.maximum(nxt, 0)], fb_codes)
    has_prev = prev >= 0
    p = np.maximum(prev, 0)
    minority = (
        sub["minority"].to_numpy(dtype=bool)
        if "minority" in sub.columns
        else (sub["ethnicity"] != ETHNIC_MAJORITY).to_numpy()
    )
    # class at the review the household was last listed: look up (household, last listed year)
    key = core.hid.astype(np.int64) * 10_000 + core.years
    by_key = np.argsort(key, kind="stable")
    last_row = by_key[np.searchsorted(key[by_key], key[sel] - years + core.last_listed[sel].astype(np.int64))]
    fell_back = pd.array(np.where(has_next, fell, False), dtype="boolean")
    fell_back[~has_next] = pd.NA
    out = pd.DataFrame(
        {
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
            "bac_kan": ((sub["old_area"] == "bac_kan").to_numpy(dtype=float) if "old_area" in sub.columns else np.nan),
            "was_near_poor": (core.cls[last_row] == 1).astype(float),
            "fell_back": fell_back,
        },
        index=classified.index[sel],
    )
    if loans is not None:
        out["credit"] = _credit(out, loans).astype(float)
    return out


# ----------------------------------------------------------------------------- AUC


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
    z = Z_95
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

    logit: discrimination.LogitFit = field(repr=False)
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
        role = {
            b.score: ("baseline" if b is self.baseline else "rule_of_thumb" if b is self.rule else "simple_score")
            for b in self.baselines
        }
        rows = [("AUC", "logit", "model", self.auc, self.auc_se, *self.auc_ci)]
        rows += [("AUC", b.score, role[b.score], b.auc, b.auc_se, *b.auc_ci) for b in self.baselines]
        rows += [
            ("AUC_difference", f"logit - {b.score}", role[b.score], b.difference, b.difference_se, *b.difference_ci)
            for b in self.baselines
        ]
        rows += [
            (
                "calibration_intercept",
                "logit",
                "model",
                self.calibration_intercept,
                self.calibration_intercept_se,
                *self.calibration_intercept_ci,
            ),
            (
                "calibration_slope",
                "logit",
                "model",
                self.calibration_slope,
                self.calibration_slope_se,
                *self.calibration_slope_ci,
            ),
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
            lines.append(
                f"    {s.score:<18} AUC {s.auc:.3f} ({ci(s.auc_ci)}), {way} is riskier; "
                f"model − score {s.difference:+.3f} ({ci(s.difference_ci)})"
            )
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

    def score(
        self, classified: pd.DataFrame, *, loans: pd.DataFrame | None = None, review_year: int | None = None
    ) -> pd.DataFrame:
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
        t = transitions(
            classified,
            loans if "credit" in self.features else None,
            newly_escaped_years=self.newly_escaped_years,
            fallback_classes=self.fallback_classes,
        )
        years = sorted(set(review_years(classified, "classified").tolist()))
        year = years[-1] if review_year is None else review_year
        if year not in years:
            raise ValueError(f"'review_year' {year!r} is not in 'classified' (review years: {years})")
        t = t[t["review_year"] == year]
        p = discrimination.expit(self._linear_predictor(t))
        out = t[["household_id", "review_year", "commune_code", "minority", "log_income_ratio", "income_change"]].copy()
        out["minority"] = out["minority"].astype(bool)
        out["probability"] = p
        return out.reset_index(drop=True)

    def _linear_predictor(self, t: pd.DataFrame) -> np.ndarray:
        x = t[list(self.features)].to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(
                f"predictor {to_python(self.features[j])!r} is missing for household "
                f"{to_python(t['household_id'].iloc[i])!r} "
                f"at review {t['review_year'].iloc[i]}"
            )
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
    q = discrimination.t_quantile(0.95, df)
    return (value - q * se, value + q * se)


def _p_value(value: float, se: float, df: float) -> float:
    if not se > 0:
        return float("nan")
    z = abs(value / se)
    return float(2 * (stats.norm.sf(z) if np.isinf(df) else stats.t.sf(z, df)))


def fit_fallback_model(
    classified: pd.DataFrame,
    loans: pd.DataFrame | None = None,
    *,
    train_years: Sequence[int] | None = None,
    test_year: int | None = None,
    newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
    fallback_classes: Sequence[str] = _FALLBACK,
    rule_margin: float = RULE_OF_THUMB_MARGIN,
    n_bins: int = 10,
    cache: str | os.PathLike | bool | None = True,
) -> FallbackModel:
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
    cache : path, bool or None
        Where the fitted model is kept for the next call with the same data and arguments
        (Parquet and JSON, :func:`povanalysis.common.cache.cached_result`; the key holds digests of
        ``classified`` and ``loans``, the arguments, the publication threshold and this module's
        code): ``True`` (default) the data's cache folder (:func:`povanalysis.config.cache_dir`),
        a folder, or ``None`` to fit every time.

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
    folder = cache_folder(cache)
    if folder is not None:
        require_frame(classified, "classified", [])
        if loans is not None:
            require_frame(loans, "loans", [])
        arguments = dict(
            train_years=None if train_years is None else list(train_years),
            test_year=test_year,
            newly_escaped_years=newly_escaped_years,
            fallback_classes=list(fallback_classes),
            rule_margin=rule_margin,
            n_bins=n_bins,
        )
        key = cache_key(
            __name__,
            function="fit_fallback_model",
            classified=frame_digest(classified),
            loans=None if loans is None else frame_digest(loans),
            min_cell=config.MIN_CELL,
            **arguments,
        )
        return cached_result(
            folder,
            key,
            lambda: fit_fallback_model(classified, loans, cache=None, **arguments),
            classes=[FallbackModel, Baseline, discrimination.LogitFit],
        )
    n_bins = positive_int(n_bins, "n_bins")
    newly_escaped_years = positive_int(newly_escaped_years, "newly_escaped_years")
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
            raise ValueError(
                f"the {name} transitions hold only one outcome "
                f"({'all' if y.all() else 'none'} fell back): "
                "no model can be fitted or evaluated"
            )
    for name, frame in (("training", tr), ("test", te)):
        if frame["commune_code"].nunique() < 2:
            raise ValueError(
                f"the {name} transitions lie in a single commune: intervals clustered by commune need at least two"
            )
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
        raise ValueError(
            f"predictor {to_python(features[j])!r} is missing for household {to_python(tr['household_id'].iloc[i])!r} "
            f"at review {tr['review_year'].iloc[i]}"
        )
    try:
        fit = discrimination.fit_logit(
            np.column_stack([np.ones(len(tr)), x_tr]), y_tr, groups=tr["commune_code"].to_numpy()
        )
    except RuntimeError as err:
        raise RuntimeError(f"the fall-back logit did not converge: {err}") from None
    lo, hi = fit.conf_int()
    coefficients = pd.DataFrame(
        {
            "term": ["const", *features],
            "coef": fit.params,
            "se": fit.se,
            "ci_lower": lo,
            "ci_upper": hi,
            "odds_ratio": np.exp(fit.params),
            "p_value": fit.p_values(),
        }
    )
    nan = float("nan")
    model = FallbackModel(
        logit=fit,
        features=tuple(features),
        dropped=tuple(dropped),
        train_years=train,
        test_year=int(test),
        n_train=len(tr),
        n_test=len(te),
        n_clusters=int(te["commune_code"].nunique()),
        base_rate=float(y_te.mean()),
        mean_predicted=nan,
        auc=nan,
        auc_se=nan,
        auc_ci=(nan, nan),
        baselines=(),
        baseline=None,
        rule=None,
        auc_difference=nan,
        auc_difference_se=nan,
        auc_difference_ci=(nan, nan),
        auc_difference_p=nan,
        calibration_intercept=nan,
        calibration_intercept_se=nan,
        calibration_intercept_ci=(nan, nan),
        calibration_slope=nan,
        calibration_slope_se=nan,
        calibration_slope_ci=(nan, nan),
        calibration=pd.DataFrame(),
        precision_at_top_decile=nan,
        brier=nan,
        coefficients=coefficients,
        newly_escaped_years=newly_escaped_years,
        fallback_classes=tuple(fallback_classes),
        rule_margin=float(rule_margin),
        _loans=loans,
    )
    _evaluate(model, tr, te, n_bins=n_bins)
    return model


def _evaluate(model: FallbackModel, tr: pd.DataFrame, te: pd.DataFrame, *, n_bins: int) -> None:
    """Fill the out-of-time evaluation of ``model`` on the test transitions ``te``."""
    rule_margin = model.rule_margin
    y_tr = tr["fell_back"].to_numpy(dtype=bool)
    y = te["fell_back"].to_numpy(dtype=bool)
    communes = te["commune_code"].to_numpy()
    df = float(model.n_clusters - 1)
    p = discrimination.expit(model._linear_predictor(te))
    a, a_se = discrimination.auc(y, p, groups=communes)
    model.auc, model.auc_se, model.auc_ci = a, a_se, _interval(a, a_se, df)
    baselines = []
    for name in (*SIMPLE_SCORES, "rule_of_thumb"):
        trained = name == "rule_of_thumb" or discrimination.auc(y_tr, _simple_score(tr, name, rule_margin))[0] >= 0.5
        direction = 1 if trained else -1
        s = direction * _simple_score(te, name, rule_margin)
        b_auc, b_se = discrimination.auc(y, s, groups=communes)
        d, d_se = discrimination.auc_difference(y, p, s, groups=communes)
        b = Baseline(
            score=name,
            direction=direction,
            auc=b_auc,
            auc_se=b_se,
            auc_ci=_interval(b_auc, b_se, df),
            difference=d,
            difference_se=d_se,
            difference_ci=_interval(d, d_se, df),
            difference_p=_p_value(d, d_se, df),
        )
        if name == "rule_of_thumb":
            flag = s > 0
            b.flagged_share = float(flag.mean())
            b.precision = float(y[flag].mean()) if flag.any() else float("nan")
        baselines.append(b)
    model.baselines, model.rule = tuple(baselines), baselines[-1]
    model.baseline = max(baselines[:-1], key=lambda b: b.auc)
    model.auc_difference, model.auc_difference_se = model.baseline.difference, model.baseline.difference_se
    model.auc_difference_ci, model.auc_difference_p = model.baseline.difference_ci, model.baseline.difference_p
    large, slope = discrimination.recalibration(y.astype(float), p, groups=communes)
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
    out = pd.DataFrame(
        {"n": g.size(), "predicted": g["p"].mean(), "observed": g["y"].mean(), "fell_back": g["y"].sum()}
    ).reset_index()
    n, k = out["n"].to_numpy(float), out["fell_back"].to_numpy(float)
    out["se"] = np.sqrt(out["observed"] * (1 - out["observed"]) / n)
    lo, hi = _wilson(k, n)
    out["ci_lower"], out["ci_upper"] = lo, hi
    out["fell_back"] = out["fell_back"].astype(np.int64)
    return out[["bin", "n", "predicted", "observed", "fell_back", "se", "ci_lower", "ci_upper"]]


# ----------------------------------------------------------------------------- outputs


def _check_scores(scores: pd.DataFrame, columns) -> None:
    require_frame(scores, "scores", ["probability", *columns])
    require_complete(scores, ["probability", *columns], "scores")
    p = scores["probability"].to_numpy(dtype=float)
    bad = ~((p >= 0) & (p <= 1))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(
            f"column 'probability' of 'scores' must be in [0, 1], got {to_python(p[i])!r} "
            f"at row {to_python(scores.index[i])!r}"
        )


def _check_threshold(threshold) -> float:
    ok = isinstance(threshold, numbers.Real) and not isinstance(threshold, bool)
    if not ok or not 0 < threshold <= 1:
        raise ValueError(f"'threshold' must be in (0, 1], got {threshold!r}")
    return float(threshold)


def at_risk_counts(
    scores: pd.DataFrame,
    *,
    threshold: float = DEFAULT_RISK_THRESHOLD,
    by: str | Sequence[str] = "commune_code",
    min_cell: int | None = None,
) -> pd.DataFrame:
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
    limit = min_cell_limit(min_cell)
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


# Files that mark a folder of published reports: a report set's index and its stamp
# (povanalysis.reports.index.build_index), and the stamp every report is written with
# (<report>.stamp.json, povanalysis.reports.batch); named here, as the reports import this module.
_PUBLISHED_MARKS = ("index.html", "index.stamp.json")
_REPORT_STAMP = "*.stamp.json"


@dataclass(frozen=True)
class ConfidentialFile:
    """Where :func:`confidential_export` wrote a household list, and who can read it.

    Usable as a path (``open(result)``, ``pd.read_csv(result, skiprows=1)``).

    Attributes
    ----------
    path : Path
        The file written (symbolic links resolved).
    households : int
        Households listed.
    permissions : int
        Its permission bits: ``0o600``, read and written by its owner only.
    """

    path: Path
    households: int
    permissions: int = 0o600

    def __fspath__(self) -> str:
        return os.fspath(self.path)

    @property
    def message(self) -> str:
        """What was written, where, and who can read it, in Vietnamese then English."""
        return (
            f"Đã ghi danh sách MẬT gồm {self.households} hộ vào {self.path}; chỉ chủ sở hữu tệp được đọc "
            f"(quyền {self.permissions:o}). Không đưa tệp vào thư mục báo cáo công bố. / Wrote the CONFIDENTIAL list of "
            f"{self.households} households to {self.path}; the file is readable by its owner only "
            f"(mode {self.permissions:o}). Keep it out of any published folder."
        )


def _published_folder(path: Path) -> tuple[Path, str] | None:
    """The first folder holding ``path`` that holds published reports, and why; None when there is none.

    The path is checked as given (made absolute) and with every symbolic link resolved, so that
    neither a link to a published folder nor a link inside one leads a list there.
    """
    configured = Path(os.path.realpath(config.reports_dir()))
    given = Path(os.path.abspath(path))
    resolved = Path(os.path.realpath(path))
    for target in dict.fromkeys((given, resolved)):
        for folder in target.parents:
            real = Path(os.path.realpath(folder))
            if real == configured or configured in real.parents:
                return configured, "is the published reports folder (povanalysis.config.reports_dir)"
            try:
                if all((folder / name).is_file() for name in _PUBLISHED_MARKS):
                    return folder, "holds a report set's index.html and index.stamp.json"
                if next(folder.glob(_REPORT_STAMP), None) is not None:
                    return folder, f"holds report stamps ({_REPORT_STAMP})"
            except OSError:  # a folder that cannot be read holds nothing this process published
                continue
    return None


def _check_confidential_target(path: Path) -> Path:
    """The resolved file a confidential list may be written to; raises naming the path and the reason when none."""
    found = _published_folder(path)
    if found is not None:
        folder, why = found
        raise ValueError(
            f"'path' {str(path)!r} is in {str(folder)!r}, which {why}: household lists must never be written there"
        )
    target = Path(os.path.realpath(path))
    try:
        links = os.stat(target).st_nlink
    except FileNotFoundError:
        links = 1
    if links > 1:
        raise ValueError(
            f"'path' {str(path)!r} has {links} names (hard links): another of them may be in a published folder, "
            "and household lists must never be written there; remove the file or choose another name"
        )
    return target


def _write_owner_only(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all, readable by its owner only from its first byte.

    The data go to a temporary file created with mode ``0o600`` (``O_EXCL``, no link followed),
    which then takes the target's name; a new folder is created with mode ``0o700``.
    """
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)  # the umask may only have removed bits: say it outright
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def confidential_export(
    scores: pd.DataFrame, path: str | os.PathLike, *, threshold: float = DEFAULT_RISK_THRESHOLD
) -> ConfidentialFile:
    """Write the list of households at risk of falling back for the commune officials who follow them up.

    **Confidential.** The file's first line is :data:`CONFIDENTIAL_MARK` with a notice in
    Vietnamese and English and its name must contain ``CONFIDENTIAL``.  It is readable and
    writable by its owner only (mode ``0o600``, set when the file is created, so it is never
    readable by others even for a moment) and appears whole or not at all.  It is never
    written into a folder that holds published reports: the configured reports folder
    (:func:`povanalysis.config.reports_dir`), or any folder, or folder above it, holding a
    report set (``index.html`` and ``index.stamp.json``) or report stamps (``*.stamp.json``),
    whether reached directly or through a symbolic link; nor over a file with other names
    (hard links), one of which may be in such a folder.  No published output uses it.

    It is a UTF-8 CSV with a byte-order mark (for spreadsheet programs); read it back with
    ``pd.read_csv(path, skiprows=1)``.  Text cells that a spreadsheet program would read as a
    formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return: an
    identifier or name from a file the package does not control) are written with a leading
    apostrophe (:func:`povanalysis.common.safe.neutralise_formulas`), so opening the list never
    evaluates anything; such an identifier reads back with the apostrophe in front.  Numbers
    stay numbers, negative ones too.

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
    ConfidentialFile
        The file written (usable as a path), the households listed, and a message saying
        where the list is and that only its owner can read it.

    Raises
    ------
    ValueError
        The name is not a confidential ``.csv``, the folder holds published reports, or the
        file has other names; the message names the path and the reason.

    Examples
    --------
    >>> import tempfile
    >>> s = pd.DataFrame({"household_id": ["TN0000001"], "review_year": [2025], "commune_code": ["01840"],
    ...                   "log_income_ratio": [0.05], "income_change": [0.2], "probability": [0.4]})
    >>> out = confidential_export(s, Path(tempfile.mkdtemp()) / "MAT-CONFIDENTIAL_risk.csv")
    >>> out.path.read_text(encoding="utf-8-sig").splitlines()[0].startswith("MẬT — CONFIDENTIAL")
    True
    >>> oct(out.path.stat().st_mode & 0o777), "readable by its owner only" in out.message
    ('0o600', True)
    """
    from ..data import registry

    threshold = _check_threshold(threshold)
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"'path' must be a .csv file, got {path.name!r}")
    if "confidential" not in path.name.lower():
        raise ValueError(
            f"'path' must say the file is confidential: its name must contain 'CONFIDENTIAL', "
            f"got {path.name!r} (e.g. 'MAT-CONFIDENTIAL_fallback-risk.csv')"
        )
    target = _check_confidential_target(path)
    _check_scores(scores, ["household_id", "commune_code", "review_year"])
    names = registry.units().set_index("commune_code")["name"]
    out = pd.DataFrame(
        {
            "commune_code": scores["commune_code"].to_numpy(),
            "commune_name": scores["commune_code"].map(names).to_numpy(),
            "household_id": scores["household_id"].to_numpy(),
            "review_year": scores["review_year"].to_numpy(),
            "probability": scores["probability"].to_numpy(dtype=float).round(4),
            "at_risk": scores["probability"].to_numpy(dtype=float) >= threshold,
        }
    )
    for col in ("log_income_ratio", "income_change"):
        if col in scores.columns:
            out[col] = scores[col].to_numpy(dtype=float).round(4)
    out = out.sort_values(
        ["commune_code", "probability", "household_id"], ascending=[True, False, True], kind="stable"
    ).reset_index(drop=True)
    out.insert(3, "rank_in_commune", out.groupby("commune_code").cumcount() + 1)
    notice = (
        f"{CONFIDENTIAL_MARK}: danh sách hộ có nguy cơ tái nghèo — chỉ dành cho cán bộ được giao theo dõi — "
        "không công bố và không chia sẻ / households at risk of falling back into poverty — for the assigned "
        "officials only — do not publish or share"
    )
    text = notice + "\n" + neutralise_formulas(out).to_csv(index=False, lineterminator="\n")
    _write_owner_only(target, text.encode("utf-8-sig"))
    return ConfidentialFile(target, len(out))
