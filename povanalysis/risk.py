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

from . import config
from .charts import FONT, PALETTE
from .labels import check_lang, pick
from .schema import ETHNIC_MAJORITY
from .targeting import (NEWLY_ESCAPED_YEARS, _check_positive_int, _check_years, _income_line, _min_cell, _no_missing,
                        _panel, _py, _require)

__all__ = [
    "FEATURES",
    "DEFAULT_RISK_THRESHOLD",
    "RULE_OF_THUMB_MARGIN",
    "CONFIDENTIAL_MARK",
    "transitions",
    "fit_fallback_model",
    "FallbackModel",
    "Baseline",
    "auc",
    "at_risk_counts",
    "confidential_export",
    "evaluation_text",
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

#: Probability of falling back at the next review from which a household counts as "at risk"
#: in published counts.  An analytic choice (about twice the usual re-entry rate), not a rule.
DEFAULT_RISK_THRESHOLD = 0.25

#: The rule of thumb the model must beat: income within 10% above the line.
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
    "auc_rule": ("AUC quy tắc thu nhập ≤ 110% chuẩn", "AUC of the 'income within 10% of the line' rule"),
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
    :func:`povanalysis.targeting.eligibility`: poor or near-poor at an earlier review,
    above the near-poor line now, listed at most ``newly_escaped_years`` years ago).  The
    outcome ``fell_back`` is whether the household is in ``fallback_classes`` (default poor
    or near-poor, i.e. back below the income line) at review ``t + 1``; it is missing when
    the household has no review ``t + 1`` (the latest review, or a household that dissolved).
    Changes (``income_change``, ``size_change``) compare with the household's previous review.

    Parameters
    ----------
    classified : DataFrame
        As from :func:`povanalysis.pipeline.classify_panel`: ``household_id``,
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
        :data:`FEATURES` and ``fell_back`` (nullable boolean).

    Examples
    --------
    >>> hh = pd.DataFrame({"household_id": ["A"] * 3, "review_year": [2022, 2023, 2024],
    ...                    "commune_code": ["01840"] * 3, "area": ["rural"] * 3,
    ...                    "income_pc": [1_400_000, 1_650_000, 1_450_000], "size": [4, 4, 5],
    ...                    "deprivations": [3, 2, 3], "d_dependants": [0, 0, 1], "minority": [True] * 3,
    ...                    "poverty_class": ["poor", "average_living", "poor"]})
    >>> t = transitions(hh)
    >>> t[["review_year", "years_since_exit", "fell_back"]].to_dict("records")
    [{'review_year': 2023, 'years_since_exit': 1, 'fell_back': True}]
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


def auc(y, score) -> tuple[float, float]:
    """Area under the ROC curve (ties count one half) and its DeLong standard error.

    Parameters
    ----------
    y : array-like of bool
        Observed outcomes (both values must occur).
    score : array-like of float
        Higher means more likely positive.

    Returns
    -------
    (auc, se) : tuple of float
        ``se`` is NaN with fewer than two units of either outcome.

    References
    ----------
    DeLong, E. R., DeLong, D. M. and Clarke-Pearson, D. L. (1988). Comparing the areas under
    two or more correlated receiver operating characteristic curves: a nonparametric
    approach. *Biometrics* 44(3): 837–845. doi:10.2307/2531595

    Examples
    --------
    >>> a, se = auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
    >>> a
    0.75
    """
    y = np.asarray(y, dtype=bool)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"'y' and 'score' must be one-dimensional of the same length, got {y.shape} and {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("'score' must be finite")
    if y.all() or not y.any():
        raise ValueError("'y' must hold both outcomes to compute an AUC")
    a, v10, v01 = _midrank_components(s[y], s[~y])
    if len(v10) < 2 or len(v01) < 2:
        return a, float("nan")
    var = v10.var(ddof=1) / len(v10) + v01.var(ddof=1) / len(v01)
    return a, float(np.sqrt(var))


def _auc_difference(y: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> tuple[float, float]:
    """Paired DeLong difference AUC(s1) − AUC(s2) and its standard error."""
    a1, p1, n1 = _midrank_components(s1[y], s1[~y])
    a2, p2, n2 = _midrank_components(s2[y], s2[~y])
    s10 = np.cov(np.vstack([p1, p2]))
    s01 = np.cov(np.vstack([n1, n2]))
    c = np.array([1.0, -1.0])
    var = c @ s10 @ c / len(p1) + c @ s01 @ c / len(n1)
    return a1 - a2, float(np.sqrt(max(var, 0.0)))


# ----------------------------------------------------------------------------- the model


@dataclass
class Baseline:
    """The rule of thumb: flag households whose income is within ``margin`` above the line.

    Attributes
    ----------
    rule : str
    margin : float
    auc, auc_se : float
        Out-of-time AUC of the binary flag (ties count one half) and its DeLong SE.
    flagged_share : float
        Share of the test households flagged.
    precision : float
        Fall-back rate among the flagged.
    """

    rule: str
    margin: float
    auc: float
    auc_se: float
    flagged_share: float
    precision: float


def _z() -> float:
    return float(stats.norm.ppf(0.975))


def _wilson(k: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = _z()
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


@dataclass
class FallbackModel:
    """A logit of falling back into poverty, fitted on earlier transitions and tested on the latest.

    Attributes
    ----------
    result : statsmodels.discrete.discrete_model.BinaryResultsWrapper
        The fitted logit.
    features : tuple of str
        The predictors used (constant predictors of the training data are left out and
        listed in ``dropped``).
    dropped : tuple of str
        Predictors left out: constant in the training data, or ``credit`` without loans.
    train_years, test_year
        Outcome review years of the training and test transitions.
    n_train, n_test : int
        Households in each.
    base_rate : float
        Fall-back rate in the test transitions.
    auc, auc_se : float
        Out-of-time AUC of the model and its DeLong SE.
    auc_ci : tuple of float
        95% interval of the AUC.
    baseline : Baseline
        The rule of thumb, income within 10% of the line, on the same test transitions.
    auc_difference, auc_difference_se, auc_difference_p : float
        Model AUC minus rule AUC, its paired DeLong SE and the two-sided p-value.
    calibration : DataFrame
        Test households binned by predicted probability (deciles): ``bin``, ``n``,
        ``predicted`` (mean), ``observed`` (rate), ``se``, ``ci_lower``, ``ci_upper`` (Wilson).
    precision_at_top_decile : float
        Fall-back rate among the 10% of test households with the highest predicted risk.
    brier : float
        Mean squared error of the predicted probabilities on the test transitions.
    coefficients : DataFrame
        ``term``, ``coef``, ``se``, ``ci_lower``, ``ci_upper``, ``odds_ratio``, ``p_value``.
    """

    result: object = field(repr=False)
    features: tuple
    dropped: tuple
    train_years: tuple
    test_year: int
    n_train: int
    n_test: int
    base_rate: float
    auc: float
    auc_se: float
    auc_ci: tuple
    baseline: Baseline
    auc_difference: float
    auc_difference_se: float
    auc_difference_p: float
    calibration: pd.DataFrame = field(repr=False)
    precision_at_top_decile: float
    brier: float
    coefficients: pd.DataFrame = field(repr=False)
    newly_escaped_years: int = NEWLY_ESCAPED_YEARS
    fallback_classes: tuple = _FALLBACK
    _loans: pd.DataFrame | None = field(default=None, repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The out-of-time evaluation as a tidy table.

        Columns ``measure``, ``model``, ``value``, ``se``, ``ci_lower``, ``ci_upper``, ``n``
        (test households) and ``test_year``.
        """
        z = _z()
        b = self.baseline
        rows = [
            ("AUC", "logit", self.auc, self.auc_se),
            ("AUC", "rule_of_thumb", b.auc, b.auc_se),
            ("AUC_difference", "logit - rule_of_thumb", self.auc_difference, self.auc_difference_se),
            ("precision_top_decile", "logit", self.precision_at_top_decile, np.nan),
            ("precision_flagged", "rule_of_thumb", b.precision, np.nan),
            ("base_rate", "observed", self.base_rate, np.nan),
            ("brier", "logit", self.brier, np.nan),
        ]
        out = pd.DataFrame(rows, columns=["measure", "model", "value", "se"])
        out["ci_lower"] = out["value"] - z * out["se"]
        out["ci_upper"] = out["value"] + z * out["se"]
        out["n"] = self.n_test
        out["test_year"] = self.test_year
        return out

    def summary(self) -> str:
        """A text account of the fit and its out-of-time evaluation."""
        b = self.baseline
        lines = [
            "Risk of falling back into poverty: logit on households that left the lists "
            f"(within {self.newly_escaped_years} years)",
            f"  trained on transitions into reviews {', '.join(map(str, self.train_years))} "
            f"({self.n_train:,} households); tested out of time on {self.test_year} ({self.n_test:,} households)",
            f"  fall-back rate in the test year: {self.base_rate:.3f}",
            f"  AUC {self.auc:.3f} (95% CI {self.auc_ci[0]:.3f}–{self.auc_ci[1]:.3f}); rule of thumb "
            f"'{b.rule}' AUC {b.auc:.3f} (SE {b.auc_se:.3f})",
            f"  difference {self.auc_difference:+.3f} (SE {self.auc_difference_se:.3f}, "
            f"p = {self.auc_difference_p:.3g})",
            f"  precision in the top decile {self.precision_at_top_decile:.3f}; rule of thumb flags "
            f"{b.flagged_share:.1%} with precision {b.precision:.3f}; Brier score {self.brier:.4f}",
        ]
        if self.dropped:
            lines.append(f"  predictors left out: {', '.join(self.dropped)}")
        lines.append("  coefficients (log-odds):")
        for r in self.coefficients.itertuples():
            lines.append(f"    {r.term:<18} {r.coef:>8.3f}  (SE {r.se:.3f})")
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
        p = self._predict(t)
        out = t[["household_id", "review_year", "commune_code", "minority", "log_income_ratio",
                 "income_change"]].copy()
        out["minority"] = out["minority"].astype(bool)
        out["probability"] = p
        return out.reset_index(drop=True)

    def _predict(self, t: pd.DataFrame) -> np.ndarray:
        x = t[list(self.features)].to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise ValueError(f"predictor {_py(self.features[j])!r} is missing for household "
                             f"{_py(t['household_id'].iloc[i])!r} "
                             f"at review {t['review_year'].iloc[i]}")
        beta = np.asarray(self.result.params)
        eta = beta[0] + x @ beta[1:]
        return 1.0 / (1.0 + np.exp(-eta))


def fit_fallback_model(classified: pd.DataFrame, loans: pd.DataFrame | None = None, *,
                       train_years: Sequence[int] | None = None, test_year: int | None = None,
                       newly_escaped_years: int = NEWLY_ESCAPED_YEARS,
                       fallback_classes: Sequence[str] = _FALLBACK,
                       rule_margin: float = RULE_OF_THUMB_MARGIN, n_bins: int = 10) -> FallbackModel:
    """Fit a logit of falling back into poverty on earlier transitions; evaluate it out of time.

    Transitions (see :func:`transitions`) are labelled by their outcome review year: a
    household newly escaped at review ``t`` either falls back at review ``t + 1`` or not.
    The model is fitted on the transitions into ``train_years`` and evaluated on those into
    ``test_year``, so the evaluation uses only information a forecaster had: the AUC with
    its DeLong SE, a calibration table by deciles of predicted risk, the precision in the
    top decile and the Brier score; and it is compared with the rule of thumb "income within
    10% above the line" on the same households (paired DeLong test).

    Parameters
    ----------
    classified : DataFrame
        As from :func:`povanalysis.pipeline.classify_panel` (see :func:`transitions`).
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

    Examples
    --------
    >>> from povanalysis import pipeline, synth
    >>> panel = synth.generate(seed=5, scale=0.01)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> model.test_year, model.train_years
    (2025, (2023, 2024))
    >>> model.auc > model.baseline.auc
    True
    """
    import statsmodels.api as sm

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
    exog = sm.add_constant(pd.DataFrame(x_tr, columns=features), has_constant="add")
    fit = sm.Logit(y_tr.astype(float), exog).fit(disp=0, maxiter=200)
    if not fit.mle_retvals.get("converged", False):
        raise RuntimeError(f"the fall-back logit did not converge in {fit.mle_retvals.get('iterations')} iterations")
    z = _z()
    ci = fit.conf_int()
    coefficients = pd.DataFrame({
        "term": list(exog.columns), "coef": fit.params.to_numpy(), "se": fit.bse.to_numpy(),
        "ci_lower": ci.iloc[:, 0].to_numpy(), "ci_upper": ci.iloc[:, 1].to_numpy(),
        "odds_ratio": np.exp(fit.params.to_numpy()), "p_value": fit.pvalues.to_numpy()})
    model = FallbackModel(
        result=fit, features=tuple(features), dropped=tuple(dropped), train_years=train, test_year=int(test),
        n_train=len(tr), n_test=len(te), base_rate=float(y_te.mean()), auc=np.nan, auc_se=np.nan,
        auc_ci=(np.nan, np.nan), baseline=None, auc_difference=np.nan, auc_difference_se=np.nan,
        auc_difference_p=np.nan, calibration=pd.DataFrame(), precision_at_top_decile=np.nan, brier=np.nan,
        coefficients=coefficients, newly_escaped_years=newly_escaped_years,
        fallback_classes=tuple(fallback_classes), _loans=loans)
    p = model._predict(te)
    a, a_se = auc(y_te, p)
    flag = (te["income_pc"].to_numpy() <= (1 + rule_margin) * te["line"].to_numpy())
    b_auc, b_se = auc(y_te, flag.astype(float))
    diff, diff_se = _auc_difference(y_te, p, flag.astype(float))
    model.auc, model.auc_se, model.auc_ci = a, a_se, (a - z * a_se, a + z * a_se)
    model.baseline = Baseline(rule=f"income <= {1 + rule_margin:g} x line", margin=float(rule_margin), auc=b_auc,
                              auc_se=b_se, flagged_share=float(flag.mean()),
                              precision=float(y_te[flag].mean()) if flag.any() else np.nan)
    model.auc_difference, model.auc_difference_se = diff, diff_se
    model.auc_difference_p = float(2 * stats.norm.sf(abs(diff / diff_se))) if diff_se > 0 else np.nan
    model.calibration = _calibration(p, y_te, n_bins)
    k = int(np.ceil(0.1 * len(p)))
    top = np.argsort(-p, kind="stable")[:k]
    model.precision_at_top_decile = float(y_te[top].mean())
    model.brier = float(np.mean((p - y_te) ** 2))
    return model


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
    from . import registry

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
    names = registry.units(2025).set_index("commune_code")["name"]
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


def evaluation_text(model: FallbackModel, *, lang: str = "vi") -> str:
    """The out-of-time evaluation in two sentences: AUC against the rule of thumb, and the top decile.

    Parameters
    ----------
    model : FallbackModel
    lang : {"vi", "en"}

    Returns
    -------
    str

    Examples
    --------
    >>> from povanalysis import pipeline, synth
    >>> panel = synth.generate(seed=5, scale=0.005)
    >>> model = fit_fallback_model(pipeline.classify_panel(panel.households), panel.loans)
    >>> evaluation_text(model, lang="en").startswith("Fitted on households that left the lists")
    True
    >>> calibration_figure(model, lang="en").data[1].name
    'Observed fall-back rate'
    """
    from .labels import format_number, format_percent

    check_lang(lang)
    if not isinstance(model, FallbackModel):
        raise TypeError(f"'model' should be a FallbackModel, got {type(model).__name__}")
    b = model.baseline
    auc, lo, hi, rule = (_fmt(v, lang) for v in (model.auc, *model.auc_ci, b.auc))
    train = ", ".join(map(str, model.train_years))
    n = format_number(model.n_test, lang)
    rate, prec = format_percent(model.base_rate, lang, digits=1), format_percent(model.precision_at_top_decile, lang,
                                                                                  digits=1)
    margin = format_number(100 * (1 + b.margin), lang)
    if lang == "vi":
        return (f"Mô hình được ước lượng trên các hộ thoát nghèo và chuyển dịch đến kỳ rà soát {train}, rồi kiểm định "
                f"trên kỳ {model.test_year} ({n} hộ, {rate} tái nghèo hoặc tái cận nghèo): AUC {auc} "
                f"(khoảng tin cậy 95%: {lo}–{hi}), so với {rule} của quy tắc kinh nghiệm “thu nhập không quá "
                f"{margin}% chuẩn nghèo”. Trong 10% hộ có nguy cơ cao nhất theo mô hình, {prec} đã tái nghèo.")
    return (f"Fitted on households that left the lists, with outcomes at the {train} reviews, and tested on the "
            f"{model.test_year} review ({n} households, {rate} fell back): AUC {auc} (95% CI {lo}–{hi}), against "
            f"{rule} for the rule of thumb 'income at most {margin}% of the line'. Of the 10% the model rates "
            f"riskiest, {prec} fell back.")


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
    if not isinstance(model, FallbackModel):
        raise TypeError(f"'model' should be a FallbackModel, got {type(model).__name__}")
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
    b = model.baseline
    sub = (f"{_text('auc_model', lang)} {_fmt(model.auc, lang)} · {_text('auc_rule', lang)} {_fmt(b.auc, lang)}"
           f" · {model.test_year}")
    fig.update_layout(title=dict(text=f"{_text('cal_title', lang)}<br><sup>{sub}</sup>"), font=FONT,
                      template="plotly_white", legend_title_text="", xaxis_title=_text("predicted", lang),
                      yaxis_title=_text("observed", lang), margin=dict(l=60, r=20, t=80, b=50))
    fig.update_xaxes(tickformat=".0%", range=[0, top])
    fig.update_yaxes(tickformat=".0%", range=[0, top])
    return fig


def _fmt(value: float, lang: str) -> str:
    text = f"{value:.3f}"
    return text.replace(".", ",") if lang == "vi" else text
