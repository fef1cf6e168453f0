"""Backtests, the simple projections and the outlook behind the reports: errors, coverage and sanity rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special

from povanalysis.goals import backtest as B, baselines, outlook, projections as P
from povanalysis.data.pipeline import classify_panel
from povanalysis.goals.targets import Target


@pytest.fixture(scope="module")
def second_panel():
    """A second small synthetic panel with another seed."""
    from povanalysis.data import synth

    return classify_panel(synth.generate(seed=23, scale=0.02).households)


def _random_walk_counts(rng, *, n_units=30, years=7, drift=(-0.20, -0.10), step_sd=0.08, unit_sd=0.05):
    """Unit counts whose pooled logit rates follow a random walk with drift per group (the drift model's own world)."""
    groups = np.arange(n_units) % 2
    level = rng.normal(-2.0, 0.5, n_units)
    shocks = np.cumsum(rng.normal(0, step_sd, (2, years)) + np.asarray(drift)[:, None], axis=1)
    own = np.cumsum(rng.normal(0, unit_sd, (n_units, years)), axis=1)
    p = special.expit(level[:, None] + shocks[groups] + own)
    hh = rng.integers(300, 900, n_units)
    poor = rng.binomial(hh[:, None], p)
    frame = pd.DataFrame({"commune_code": np.repeat([f"{i:05d}" for i in range(n_units)], years),
                          "group": np.repeat(groups.astype(str), years),
                          "review_year": np.tile(np.arange(2019, 2019 + years), n_units),
                          "households": np.repeat(hh, years), "poor": poor.ravel()})
    return frame


# ---------------------------------------------------------------------------- scores

def test_interval_score_by_hand():
    # inside: width only; below by 0.01 at alpha 0.1: width 0.04 + 20 x 0.01 = 0.24
    assert_allclose(B.interval_score([0.05, 0.03, 0.10], [0.04] * 3, [0.08] * 3, alpha=0.1), [0.04, 0.24, 0.44])


def test_backtest_table_and_scores(small_classified):
    bt = B.backtest(small_classified, models=("drift", "persistence"), levels=("province", "commune"), n_sim=100)
    t = bt.to_frame()
    assert set(t["origin"]) == {2023, 2024} and set(t["horizon"]) == {1, 2}
    assert set(t["standard"]) == {"2022-2025", "2026-2030"}
    prov = t[(t["level"] == "province") & (t["standard"] == "2022-2025")]
    for r in prov.itertuples():
        recorded = (small_classified.loc[small_classified["review_year"] == r.year, "poverty_class"] == "poor").mean()
        assert r.observed == pytest.approx(recorded)
    assert_allclose(t["abs_error"], (t["predicted"] - t["observed"]).abs())
    s = bt.scores()
    assert {"folds", "mean_abs_error", "coverage", "interval_score"} <= set(s.columns)
    assert "Rolling-origin backtest" in bt.summary()
    assert bt.best(level="province") == "drift"


def test_backtest_never_sees_the_review_it_predicts(small_classified):
    bt = B.backtest(small_classified, models=("drift",), levels=("province",), n_sim=100)
    changed = small_classified.copy()
    later = changed["review_year"] == 2025
    changed.loc[later, "income_pc"] = 1.0  # everyone poor-income in 2025: the prediction from 2023/2024 must not move
    bt2 = B.backtest(changed, models=("drift",), levels=("province",), n_sim=100)
    a, b = bt.table.set_index(["standard", "origin", "horizon"]), bt2.table.set_index(["standard", "origin", "horizon"])
    assert_allclose(a["predicted"], b.loc[a.index, "predicted"])
    assert (b.loc[b["year"] == 2025, "observed"] > a.loc[a["year"] == 2025, "observed"]).all()


@pytest.mark.parametrize("fixture", ["small_classified", "second_panel"])
def test_the_reports_model_passes_its_backtest_on_two_seeds(fixture, request):
    panel = request.getfixturevalue(fixture)
    model = outlook.DEFAULT_SETTINGS["model"]
    bt = B.backtest(panel, models=(model, "persistence"), levels=("province",), n_sim=300)
    s = bt.scores(("model", "standard", "horizon")).set_index(["model", "standard", "horizon"])
    assert (s.loc[model, "mean_abs_error"] < 0.01).all()  # well under one point a year and two years ahead
    assert (s.loc[model, "coverage"] >= 0.5).all()  # 90% intervals cover in most folds
    assert bt.passes(model, standard="2026-2030") and bt.passes(model, standard="2022-2025")
    # ... and it beats the no-change baseline on error.
    assert (s.loc[model, "mean_abs_error"] < s.loc["persistence", "mean_abs_error"]).all()


def test_a_model_with_a_constant_rate_fails_the_backtest(small_classified):
    def constant(history, years, **_):
        return P.transition_projection(history, by=["commune_code", "minority", "old_area"], years=years,
                                       time_trend=False, n_sim=100, alpha=0.1, min_cell=1)

    bt = B.backtest(small_classified, models=(constant,), levels=("province",), standards=("2026-2030",), n_sim=100)
    assert not bt.passes("constant", standard="2026-2030")


# ---------------------------------------------------------------------------- the drift projection

def test_drift_interval_covers_at_its_stated_level_in_its_own_world():
    # 150 histories drawn from a random walk with drift; the 90% interval of the recorded
    # province rate one and two years ahead should hold it about 90% of the time.
    rng = np.random.default_rng(5)
    hits = []
    for _ in range(150):
        full = _random_walk_counts(rng)
        past = full[full["review_year"] <= 2023]
        p = baselines.drift_projection(past, by=["commune_code", "group"], years=[2024, 2025], pool_by="group",
                                       alpha=0.10, n_sim=400, seed=int(rng.integers(1 << 30)), min_cell=1)
        agg = p.aggregate()
        lo, hi = np.quantile(agg.obs_draws[:, 0, :], [0.05, 0.95], axis=0)
        future = full[full["review_year"] >= 2024].groupby("review_year")[["poor", "households"]].sum()
        rate = (future["poor"] / future["households"]).to_numpy()
        hits.append((rate >= lo) & (rate <= hi))
    coverage = np.mean(hits, axis=0)
    band = 3 * np.sqrt(0.9 * 0.1 / 150)
    assert (np.abs(coverage - 0.9) < band + 0.02).all(), coverage


def test_projections_stay_in_bounds_fall_after_declines_and_widen_with_the_horizon(small_classified):
    for name in ("drift", "trend", "transition"):
        proj = outlook.project(small_classified, model=name, standard="2022-2025", n_sim=1000, seed=1)
        assert np.all((proj.obs_draws >= 0) & (proj.obs_draws <= 1)) and np.all((proj.mean >= 0) & (proj.mean <= 1))
        prov = proj.aggregate()
        last = (small_classified.loc[small_classified["review_year"] == 2025, "poverty_class"] == "poor").mean()
        assert prov.mean[0, 0] <= last, name  # five years of decline: 2026 does not turn upward
        # Uncertainty grows with the horizon on the odds scale (in points a band can narrow as the rate falls).
        lo, hi = np.quantile(prov.obs_draws[:, 0, :], [0.05, 0.95], axis=0)
        width = special.logit(hi) - special.logit(lo)
        assert (np.diff(width) > 0).all(), (name, width)


def test_persistence_carries_the_last_rate():
    counts = pd.DataFrame({"commune_code": "01", "review_year": [2023, 2024, 2025], "households": 2000,
                           "poor": [300, 250, 200]})
    p = baselines.persistence_projection(counts, years=[2026, 2027], n_sim=2000, min_cell=1)
    assert_allclose(np.median(p.draws[:, 0, :], axis=0), 0.10, atol=0.004)


# ---------------------------------------------------------------------------- the transition chain

def test_transition_roll_over_several_years_equals_a_hand_rolled_chain():
    # Constant rates of being poor next, from each state; a hand-rolled five-state chain.
    p = np.array([0.7, 0.3, 0.2, 0.1, 0.05])
    c0 = np.array([100.0, 20.0, 15.0, 10.0, 855.0])
    T = np.zeros((5, 5))  # T[from, to]
    for s_ in range(5):
        T[s_, 0] = p[s_]
    T[0, 1] = 1 - p[0]
    T[1, 2] = 1 - p[1]
    T[2, 3] = 1 - p[2]
    T[3, 4] = 1 - p[3]
    T[4, 4] = 1 - p[4]
    c, expected = c0.copy(), []
    for _ in range(4):
        c = c @ T
        expected.append(c[0])
    assert_allclose(P._roll(c0, p, 4), expected)
    assert_allclose(P._roll(c0, np.repeat(p[:, None], 4, axis=1), 4), expected)  # one set per step, same rates
    rolled = P._roll(np.broadcast_to(c0.astype(int), (3000, 5)), np.broadcast_to(p, (3000, 5)), 4,
                     rng=np.random.default_rng(0))
    assert_allclose(rolled.mean(axis=0), expected, rtol=0.01)  # no household lost or added in the draws


def test_transition_rates_follow_their_trend(small_classified):
    proj = P.transition_projection(small_classified, by="commune_code", n_sim=200)
    trends = proj.model.attrs["trends"].set_index("state")
    assert trends.loc["not_poor", "trend"] < 0  # entry falls in the panel
    assert "follow their yearly trend" in " ".join(proj.notes)


# ---------------------------------------------------------------------------- requirements

def test_a_commune_already_at_the_floor_is_already_met():
    obs = np.full((4, 2, 2), 0.05)
    observed_means = [[0.004, 0.004], [0.12, 0.11]]
    proj = P.Projection(units=pd.DataFrame({"commune_code": ["05500", "05518"]}), years=np.array([2026, 2027]),
                        households=np.array([300.0, 200.0]), mean=np.array(observed_means), mean_se=np.zeros((2, 2)),
                        ci_lower=np.array(observed_means), ci_upper=np.array(observed_means), draws=obs, obs_draws=obs,
                        observed=pd.DataFrame({"commune_code": ["05500", "05518"], "review_year": 2025,
                                               "households": [300, 200], "poor": [1, 24], "rate": [1 / 300, 0.12]}),
                        min_cell=10)
    t = Target("c", "communes", annual_reduction=3, scope="commune", communes=("05500", "05518"), floor=0.005)
    base = pd.DataFrame({"target": "c", "kind": ["group", "commune", "commune"], "commune_code": [None, "05500", "05518"],
                         "households": [500, 300, 200], "start_level": [25 / 500, 1 / 300, 0.12]})
    r = P.commune_requirements(proj, [t], base).set_index(["commune_code", "year"])
    met = r.loc["05500"]
    assert met["already_met"].all() and met["p_meet"].isna().all() and (met["additional_exits"] == 0).all()
    assert not r.loc["05518", "already_met"].any() and r.loc["05518", "p_meet"].notna().all()


def test_p_meet_comparison_names_disagreeing_models():
    a = pd.DataFrame({"target": ["x", "y"], "year": 2030, "p_meet": [0.9, 0.5]})
    b = pd.DataFrame({"target": ["x", "y"], "year": 2030, "p_meet": [0.1, 0.55]})
    table, text = outlook.compare_p_meet({"drift": a, "transition": b}, lang="en")
    assert table.set_index("target").loc["x"].tolist() == [0.9, 0.1]
    assert text.startswith("The models give very different probabilities of meeting — x:")
    assert "y:" not in text
    assert outlook.compare_p_meet({"drift": a, "trend": a}, lang="vi")[1] == ""


def test_outlook_text_names_the_model_and_its_backtest(small_classified):
    look = outlook.outlook(small_classified, settings={"n_sim": 200})
    assert look.model == outlook.DEFAULT_SETTINGS["model"] and look.passes
    assert look.backtest_text("vi").startswith("Dự báo dùng mô hình xu hướng thay đổi bình quân")
    assert "khoảng dự báo 90%" in look.backtest_text("vi")
    with pytest.raises(ValueError, match="'settings' has unknown keys \\['modle'\\]"):
        outlook.outlook(small_classified, settings={"modle": "trend"})
    with pytest.raises(ValueError, match="'model' must be one of"):
        outlook.project(small_classified, model="arima")
