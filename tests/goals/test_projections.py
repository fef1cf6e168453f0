"""Rebasing, the trend and transition projections, credit scenarios, commune requirements and figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from numpy.testing import assert_allclose
from scipy import special, stats

from povanalysis.goals import projections as P
from povanalysis.measure import aggregates
from povanalysis.measure.standards import classify
from povanalysis.goals.targets import Target

YEARS = np.arange(2021, 2026)


# ---------------------------------------------------------------------------- helpers

def _logit_linear(seed: int, *, n: int = 40, slope: float = -0.25, dispersion_rho: float = 0.0):
    """Commune counts 2021-2025 drawn from logit p = level + slope (year - 2025); the true 2030 rates."""
    rng = np.random.default_rng(seed)
    level = rng.normal(-2.0, 0.6, n)
    hh = rng.integers(150, 600, n)
    p = special.expit(level[:, None] + slope * (YEARS - 2025)[None, :])
    if dispersion_rho:
        k = 1 / dispersion_rho - 1
        p = rng.beta(p * k, (1 - p) * k)
    poor = rng.binomial(np.repeat(hh[:, None], 5, axis=1), p)
    counts = pd.DataFrame({
        "commune_code": np.repeat([f"{i:05d}" for i in range(n)], 5),
        "review_year": np.tile(YEARS, n),
        "households": np.repeat(hh, 5),
        "poor": poor.ravel(),
    })
    return counts, special.expit(level + slope * 5), hh


def _projection(mean, obs, *, households=(100, 5), codes=("05500", "05518"), years=(2026, 2027), standard="2022-2025"):
    """A hand-made projection: ``mean`` (units, years) and recorded-rate draws ``obs`` (sims, units, years)."""
    mean, obs = np.asarray(mean, float), np.asarray(obs, float)
    observed = pd.DataFrame({"commune_code": list(codes), "review_year": 2025,
                             "households": list(households), "poor": np.ones(len(codes))})
    observed["rate"] = observed["poor"] / observed["households"]
    return P.Projection(units=pd.DataFrame({"commune_code": list(codes)}), years=np.asarray(years),
                        households=np.asarray(households, float), mean=mean, mean_se=np.zeros_like(mean),
                        ci_lower=mean, ci_upper=mean, draws=obs, obs_draws=obs, observed=observed,
                        standard=standard, min_cell=10)


# ---------------------------------------------------------------------------- rebasing

def test_rebasing_count_reproduced_by_classifying_under_both_standards(small_classified):
    hh = small_classified[small_classified["review_year"] == 2025]
    old = classify(hh, standard="2022-2025") == "poor"
    new = classify(hh, standard="2026-2030") == "poor"
    r = P.rebase(small_classified)
    assert (r.year, r.from_standard, r.to_standard) == (2025, "2022-2025", "2026-2030")
    prov = r.table(()).iloc[0]
    assert (prov["households"], prov["poor_from"], prov["poor_to"]) == (len(hh), old.sum(), new.sum())
    assert prov["newly_poor"] == (new & ~old).sum() and prov["no_longer_poor"] == (old & ~new).sum()
    by_commune = pd.DataFrame({"c": hh["commune_code"], "new": new, "old": old}).groupby("c")[["old", "new"]].sum()
    t = r.table("commune_code").set_index("commune_code")
    assert (t["poor_from"] == by_commune["old"]).all() and (t["poor_to"] == by_commune["new"]).all()
    assert_allclose(t["gap"], (by_commune["new"] - by_commune["old"]) / hh.groupby("commune_code").size())
    assert r.crosstab().to_numpy().sum() == len(hh)
    assert r.crosstab().loc["poor"].sum() == old.sum()
    long = r.to_frame()
    assert set(long["dimension"]) == {"province", "old_area", "area", "minority", "commune_code"}
    assert long.loc[long["dimension"] == "minority", "households"].sum() == len(hh)
    assert "Rebasing the 2025 review from 2022-2025 to 2026-2030" in r.summary()
    assert r.headline("vi").startswith("Tính lại kết quả rà soát năm 2025 theo chuẩn 2026–2030")


def test_rebase_errors(small_classified):
    with pytest.raises(ValueError, match="'classified' has no households at review year 2030"):
        P.rebase(small_classified, year=2030)
    with pytest.raises(ValueError, match="households lack the columns \\['d_internet'\\]"):
        P.rebase(small_classified.drop(columns="d_internet"))
    with pytest.raises(ValueError, match="'by' names columns the rebasing does not keep: \\['district'\\]"):
        P.rebase(small_classified).table("district")


# ---------------------------------------------------------------------------- (a) trend model

def test_trend_fit_equals_statsmodels_glm_with_unit_dummies():
    sm = pytest.importorskip("statsmodels.api")
    counts, _, _ = _logit_linear(3, n=6, dispersion_rho=0.02)
    counts["old_area"] = np.where(counts["commune_code"] < "00003", "bac_kan", "thai_nguyen")
    proj = P.trend_projection(counts, slope_by="old_area", n_sim=50)
    fit = proj.model
    unit = pd.factorize(counts["commune_code"], sort=True)[0]
    group = pd.factorize(counts["old_area"], sort=True)[0]
    X = np.zeros((len(counts), 8))
    X[np.arange(len(counts)), unit] = 1
    X[np.arange(len(counts)), 6 + group] = counts["review_year"] - 2025
    y, n = counts["poor"] / counts["households"], counts["households"]
    model = sm.GLM(y.to_numpy(), X, family=sm.families.Binomial(), var_weights=n.to_numpy())
    ref = model.fit(scale="X2")
    assert fit.dispersion > 1
    assert_allclose(fit.dispersion, ref.scale, rtol=1e-6)
    assert_allclose(np.concatenate([fit.level, fit.trend]), ref.params, rtol=1e-7, atol=1e-9)
    assert_allclose(fit.to_frame()["se"], ref.bse, rtol=1e-6)
    pred = ref.get_prediction(np.column_stack([np.eye(6), np.where(np.arange(6)[:, None] < 3, [5, 0], [0, 5])]))
    sf = pred.summary_frame(alpha=0.05)
    f = proj.to_frame()
    f = f[f["year"] == 2030]
    assert_allclose(f["mean"], sf["mean"], rtol=1e-6)
    assert_allclose(f["mean_se"], sf["mean_se"], rtol=1e-5)
    assert_allclose(f["ci_lower"], sf["mean_ci_lower"], rtol=1e-5)
    assert_allclose(f["ci_upper"], sf["mean_ci_upper"], rtol=1e-5)


def test_trend_interval_covers_the_known_2030_rate():
    counts, truth, hh = _logit_linear(20240, n=40)
    proj = P.trend_projection(counts, n_sim=2000, seed=1)
    f = proj.to_frame()
    f = f[f["year"] == 2030]
    covered = (f["ci_lower"].to_numpy() <= truth) & (truth <= f["ci_upper"].to_numpy())
    assert covered.mean() >= 0.9, covered.mean()
    slope, se = proj.model.trend[0], proj.model.to_frame().iloc[-1]["se"]
    assert abs(slope + 0.25) < 2.5 * se
    province = proj.aggregate()
    true_rate = float((truth * hh).sum() / hh.sum())
    assert province.ci_lower[0, -1] <= true_rate <= province.ci_upper[0, -1]
    assert (f["obs_ci_upper"] - f["obs_ci_lower"] >= f["ci_upper"] - f["ci_lower"] - 1e-12).all()


def test_trend_intervals_are_calibrated_over_many_histories():
    # 25 seeded histories of 40 communes: the 95% intervals of the 2030 rates cover about 95% of them
    # (misses are correlated within a history through the shared trend).
    coverage = []
    for seed in range(100, 125):
        counts, truth, _ = _logit_linear(seed, n=40)
        f = P.trend_projection(counts, n_sim=20).to_frame()
        f = f[f["year"] == 2030]
        coverage.append(((f["ci_lower"].to_numpy() <= truth) & (truth <= f["ci_upper"].to_numpy())).mean())
    assert 0.9 <= np.mean(coverage) <= 0.99


def test_trend_slope_groups_recover_their_own_trends():
    a, _, _ = _logit_linear(1, n=20, slope=-0.1)
    b, _, _ = _logit_linear(2, n=20, slope=-0.4)
    b["commune_code"] = "9" + b["commune_code"].str[1:]
    counts = pd.concat([a.assign(old_area="bac_kan"), b.assign(old_area="thai_nguyen")], ignore_index=True)
    fit = P.trend_projection(counts, slope_by="old_area", n_sim=20).model
    assert fit.groups == ["bac_kan", "thai_nguyen"]
    assert_allclose(fit.trend, [-0.1, -0.4], atol=0.06)


def test_commune_at_zero_gets_the_jeffreys_bound_and_no_negative_rate():
    counts = pd.DataFrame({"commune_code": ["A"] * 5 + ["B"] * 5, "review_year": list(YEARS) * 2,
                           "households": [200] * 10, "poor": [0] * 5 + [40, 35, 30, 26, 22]})
    proj = P.trend_projection(counts, n_sim=500, min_cell=1)
    f = proj.to_frame().set_index(["commune_code", "year"])
    zero = f.loc["A"]
    assert (zero["mean"] == 0).all() and (zero["ci_lower"] == 0).all()
    assert_allclose(zero["ci_upper"], stats.beta(0.5, 1000.5).ppf(0.975))
    assert (proj.draws >= 0).all() and (proj.obs_draws >= 0).all()
    assert any("never poor in the series" in n for n in proj.notes)


def test_tiny_commune_has_wider_intervals_and_is_suppressed():
    counts = pd.DataFrame({"commune_code": ["big"] * 5 + ["tiny"] * 5, "review_year": list(YEARS) * 2,
                           "households": [1200] * 5 + [12] * 5,
                           "poor": [300, 270, 240, 216, 192, 3, 3, 2, 2, 2]})
    f = P.trend_projection(counts, n_sim=500, min_cell=20).to_frame().set_index(["commune_code", "year"])
    width = f["ci_upper"] - f["ci_lower"]
    assert (width.loc["tiny"] > 2 * width.loc["big"]).all()
    assert f.loc["tiny", "suppressed"].all() and not f.loc["big", "suppressed"].any()


def test_trend_on_the_rebased_level(small_classified):
    r = P.rebase(small_classified)
    counts = aggregates.poverty_counts(small_classified, by=["commune_code", "review_year"])
    proj = P.trend_projection(counts, rebase=r, n_sim=50)
    obs = proj.observed.set_index(["commune_code", "review_year"])["rate"]
    table = r.table("commune_code").set_index("commune_code")
    inner = table[(table["rate_from"] > 0) & (table["rate_from"] < 1) & (table["rate_to"] > 0) & (table["rate_to"] < 1)]
    # The last review lands on the new standard's rate; every year moves by the same odds ratio.
    assert_allclose(obs.xs(2025, level="review_year").loc[inner.index], inner["rate_to"], atol=1e-12)
    old = counts.set_index(["commune_code", "review_year"])
    old = (old["poor"] / old["households"]).loc[obs.index]
    both = (old > 0) & (old < 1) & obs.index.get_level_values(0).isin(inner.index)
    lor = (special.logit(obs[both]) - special.logit(old[both])).groupby(level=0)
    assert_allclose(lor.max() - lor.min(), 0, atol=1e-9)
    assert (proj.standard, proj.basis) == ("2026-2030", "rebased_shift")
    assert "shifted by each unit's gap" in proj.basis_text("en")
    plain = P.trend_projection(counts, n_sim=50)
    assert plain.standard == "2022-2025"
    assert "Reviews from 2026 use another standard" in plain.basis_text("en")
    assert "Dự báo theo chuẩn 2022–2025" in plain.basis_text("vi")
    assert "Projection (trend), 92 units" in plain.summary()


def test_trend_errors():
    counts, _, _ = _logit_linear(5, n=3)
    with pytest.raises(ValueError, match="'counts' lacks the columns \\['poor'\\]"):
        P.trend_projection(counts.drop(columns="poor"))
    bad = counts.copy()
    bad.loc[4, "poor"] = 10_000
    with pytest.raises(ValueError, match="'counts' row 4: need households >= 1 and 0 <= poor <= households"):
        P.trend_projection(bad)
    with pytest.raises(ValueError, match="'counts' has more than one row for"):
        P.trend_projection(pd.concat([counts, counts.head(1)]))
    with pytest.raises(ValueError, match="'years' must come after the last review used \\(2025\\)"):
        P.trend_projection(counts, years=[2025, 2026])
    with pytest.raises(ValueError, match="the series mixes standards \\['2022-2025', '2026-2030'\\]"):
        P.trend_projection(counts.assign(standard=np.where(counts["review_year"] == 2025, "2026-2030", "2022-2025")))
    with pytest.raises(ValueError, match="'slope_by' column 'x' varies within unit"):
        P.trend_projection(counts.assign(x=np.arange(len(counts))), slope_by="x")
    with pytest.raises(ValueError, match="'rebase' has no gap for the units"):
        P.trend_projection(counts, rebase=pd.DataFrame({"commune_code": ["00000"], "gap": [0.1], "standard": "2026-2030"}))
    with pytest.raises(ValueError, match="'alpha' must be in \\(0, 1\\), got 5"):
        P.trend_projection(counts, alpha=5)
    with pytest.raises(ValueError, match="no unit has both poor and non-poor households"):
        P.trend_projection(counts.assign(poor=0))


# ---------------------------------------------------------------------------- (b) transition model

def _observed_transitions(classified: pd.DataFrame) -> pd.DataFrame:
    """One-year transitions counted directly from the panel: state at t, poor at t+1."""
    poor = (classified.assign(poor=classified["poverty_class"] == "poor")
            .pivot(index="household_id", columns="review_year", values="poor"))
    rows = []
    for y in range(2021, 2025):
        now, nxt = poor[y], poor[y + 1]
        prev = [poor[y - k] if y - k in poor.columns else pd.Series(np.nan, index=poor.index) for k in (1, 2, 3)]
        state = np.select([now == True, prev[0] == True, prev[1] == True, prev[2] == True],  # noqa: E712
                          ["poor", "escaped_1", "escaped_2", "escaped_3"], "not_poor")
        ok = now.notna() & nxt.notna()
        rows.append(pd.DataFrame({"state": state[ok.to_numpy()], "x": nxt[ok].astype(bool).to_numpy()}))
    t = pd.concat(rows).groupby("state")["x"].agg(["size", "sum"])
    return t.rename(columns={"size": "n", "sum": "x"})


def test_transition_model_reproduces_the_observed_one_year_rates(small_classified):
    proj = P.transition_projection(small_classified, prior_strength=0, n_sim=200)
    model = proj.model
    pooled = model.groupby("state")[["n", "x"]].sum()
    direct = _observed_transitions(small_classified)
    assert (pooled.loc[direct.index, "n"] == direct["n"]).all()
    assert (pooled.loc[direct.index, "x"] == direct["x"]).all()
    seen = model[model["n"] > 0]
    assert_allclose(seen["rate"], seen["x"] / seen["n"])
    exit_rate = 1 - direct.loc["poor", "x"] / direct.loc["poor", "n"]
    assert f"exit {exit_rate:.3f}" in " ".join(proj.notes)
    assert direct.loc["escaped_1", "x"] > 0  # re-entry is observed and counted


def test_transition_one_step_reproduces_the_next_review_exactly(small_classified):
    late = small_classified[small_classified["review_year"] >= 2024]
    both = late.groupby("household_id").size().loc[lambda s: s == 2].index
    panel = small_classified[small_classified["household_id"].isin(both)]
    proj = P.transition_projection(panel, start_year=2024, years=[2025], window=(2024, 2025), prior_strength=0,
                                   time_trend=False, n_sim=50, min_cell=1)
    nxt = panel[panel["review_year"] == 2025].groupby("commune_code")["poverty_class"].apply(lambda s: (s == "poor").sum())
    got = pd.Series(proj.mean[:, 0] * proj.households, index=proj.units["commune_code"])
    assert_allclose(got.loc[nxt.index], nxt, atol=1e-9)


def test_transition_states_by_hand():
    # a: poor 2021, out 2022-2025 -> escaped_1 (2022), escaped_2, escaped_3, not_poor (2025)
    # b: poor 2021-2022, out 2023, poor again 2024 (re-entry from escaped_1), poor 2025
    # c: never poor, 2021-2024 only (4 years, 3 transitions from not_poor)
    hh = pd.DataFrame({"household_id": ["a"] * 5 + ["b"] * 5 + ["c"] * 4, "review_year": list(YEARS) * 2 + [2021, 2022, 2023, 2024],
                       "commune_code": "01",
                       "poverty_class": ["poor", "not_poor", "near_poor", "not_poor", "average_living",
                                         "poor", "poor", "not_poor", "poor", "poor"] + ["not_poor"] * 4})
    m = P.transition_projection(hh, prior_strength=0, n_sim=20, min_cell=1).model.set_index("state")
    assert m["n"].to_dict() == {"poor": 4, "escaped_1": 2, "escaped_2": 1, "escaped_3": 1, "not_poor": 3}
    assert m["x"].to_dict() == {"poor": 2, "escaped_1": 1, "escaped_2": 0, "escaped_3": 0, "not_poor": 0}


def test_transition_prior_shrinks_small_units_towards_the_pooled_rate(small_classified):
    proj = P.transition_projection(small_classified, prior_strength=50, n_sim=50)
    m = proj.model[proj.model["state"] == "poor"]
    pooled = m["x"].sum() / m["n"].sum()
    small = m[(m["n"] > 0) & (m["n"] < 20)]
    assert (np.abs(small["rate"] - pooled) <= np.abs(small["observed_rate"] - pooled) + 1e-12).all()
    assert ((m["ci_lower"] <= m["rate"]) & (m["rate"] <= m["ci_upper"])).all()


def test_transition_errors(small_classified):
    hh = small_classified.head(50)
    with pytest.raises(ValueError, match="has household 'TN0000000' twice at review 2021"):
        P.transition_projection(pd.concat([hh, hh.head(1)]))
    with pytest.raises(ValueError, match="review years must be consecutive, at least two, got \\[2021, 2023\\]"):
        P.transition_projection(small_classified[small_classified["review_year"].isin([2021, 2023])])
    with pytest.raises(ValueError, match="column 'poverty_class' must be one of"):
        P.transition_projection(small_classified.assign(poverty_class="rich"))
    with pytest.raises(ValueError, match="'window' must be two review years within 2021..2025 in order"):
        P.transition_projection(small_classified, window=(2025, 2021))
    with pytest.raises(ValueError, match="'prior_strength' must be a finite number >= 0, got -1"):
        P.transition_projection(small_classified, prior_strength=-1)
    with pytest.raises(ValueError, match="the panel mixes standards"):
        P.transition_projection(small_classified.assign(standard=small_classified["review_year"].astype(str)))


# ---------------------------------------------------------------------------- (c) credit scenario

@pytest.fixture(scope="module")
def one_commune():
    counts = pd.DataFrame({"commune_code": ["05500"] * 5, "review_year": YEARS, "households": [500] * 5,
                           "poor": [100, 90, 80, 72, 64]})
    return P.trend_projection(counts, n_sim=400, min_cell=1)


def test_credit_scenario_arithmetic(one_commune):
    # 20 loans a year, effect 0.10: 2 more exits a year, cumulative: 2, 4, 6, 8, 10 of 500 households.
    scn = P.credit_scenario(one_commune, 20, effect=0.10, effect_se=0.0, cost_per_exit=(5e8, 5e8, 5e8))
    assert_allclose(one_commune.mean - scn.mean, [np.arange(1, 6) * 2 / 500])
    assert_allclose(one_commune.draws - scn.draws, np.broadcast_to(np.arange(1, 6) * 2 / 500, one_commune.draws.shape))
    assert_allclose(scn.model["additional_exits"], [2, 4, 6, 8, 10])
    assert_allclose(scn.model["credit_vnd"], np.array([2, 4, 6, 8, 10]) * 5e8)
    assert scn.method == "credit scenario on trend"
    later = P.credit_scenario(one_commune, 20, 0.10, 0.0, start_year=2028)
    assert_allclose(later.model["additional_exits"], [0, 0, 2, 4, 6])


def test_credit_scenario_uncertainty_and_floor(one_commune):
    wide = P.credit_scenario(one_commune, 20, 0.10, 0.05)
    narrow = P.credit_scenario(one_commune, 20, 0.10, 0.0)
    assert (wide.ci_upper - wide.ci_lower)[0, -1] > (narrow.ci_upper - narrow.ci_lower)[0, -1]
    flooded = P.credit_scenario(one_commune, 10_000, 0.5, 0.1)
    assert (flooded.mean == 0).all() and (flooded.draws >= 0).all() and (flooded.obs_draws >= 0).all()


@settings(max_examples=25, deadline=None)
@given(loans=st.floats(0, 5000), effect=st.floats(0, 1), se=st.floats(0, 0.5))
def test_credit_scenario_never_raises_poverty_nor_goes_below_zero(one_commune, loans, effect, se):
    scn = P.credit_scenario(one_commune, loans, effect, se)
    assert (scn.mean <= one_commune.mean + 1e-12).all() and (scn.mean >= 0).all()
    assert (scn.draws >= 0).all() and (scn.obs_draws >= 0).all()
    assert (scn.draws <= one_commune.draws + 1e-12).all()


def test_credit_scenario_loans_by_unit(one_commune):
    s = P.credit_scenario(one_commune, pd.Series({"05500": 10.0}), 0.2, 0.0)
    assert_allclose(s.model["additional_exits"], [2, 4, 6, 8, 10])
    frame = pd.DataFrame({"commune_code": ["05500"], "year": [2027], "loans": [50.0]})
    assert_allclose(P.credit_scenario(one_commune, frame, 0.1, 0.0).model["additional_exits"], [0, 5, 5, 5, 5])


def test_credit_scenario_errors(one_commune):
    with pytest.raises(ValueError, match="'effect' must be a number in \\[0, 1\\], got 1.5"):
        P.credit_scenario(one_commune, 10, 1.5, 0.1)
    with pytest.raises(ValueError, match="'additional_loans' must be a number >= 0, got -3"):
        P.credit_scenario(one_commune, -3, 0.1, 0.0)
    with pytest.raises(ValueError, match="'additional_loans' names a unit not in the projection"):
        P.credit_scenario(one_commune, pd.Series({"99999": 1.0}), 0.1, 0.0)
    with pytest.raises(ValueError, match="'start_year' 2040 is not a projected year"):
        P.credit_scenario(one_commune, 10, 0.1, 0.0, start_year=2040)
    with pytest.raises(ValueError, match="'cost_per_exit' interval must contain the estimate"):
        P.credit_scenario(one_commune, 10, 0.1, 0.0, cost_per_exit=(5e8, 6e8, 7e8))
    with pytest.raises(TypeError, match="'projection' should be a Projection, got DataFrame"):
        P.credit_scenario(one_commune.to_frame(), 10, 0.1, 0.0)


def test_cost_from_a_credit_result():
    class Cost:
        vnd_per_exit = 4e8

        def conf_int(self, alpha=0.05):
            return (2e8, 8e8)

    assert P._cost(Cost(), 0.05) == (4e8, 2e8, 8e8)


# ---------------------------------------------------------------------------- aggregation

def test_aggregate_is_household_weighted():
    proj = _projection([[0.10, 0.08], [0.20, 0.10]], np.tile([[[0.10, 0.08], [0.20, 0.10]]], (4, 1, 1)),
                       households=(100, 300))
    agg = proj.aggregate()
    assert_allclose(agg.mean, [[0.175, 0.095]])
    assert agg.households.tolist() == [400]
    assert agg.observed["rate"].item() == pytest.approx(2 / 400)
    sel = proj.aggregate(np.array([False, True]), label="second")
    assert_allclose(sel.mean, [[0.20, 0.10]]) and sel.units["group"].tolist() == ["second"]
    with pytest.raises(ValueError, match="'groups' selects no unit"):
        proj.aggregate(np.array([False, False]))
    with pytest.raises(ValueError, match="'groups' names 'x', not a unit column"):
        proj.aggregate("x")


# ---------------------------------------------------------------------------- requirements

def _three_points():
    codes = ("05500", "05518")
    t = Target("three", "communes", annual_reduction=3, scope="commune", communes=codes)
    base = pd.DataFrame({"target": "three", "kind": ["group", "commune", "commune"],
                         "commune_code": [None, *codes], "households": [105, 100, 5],
                         "start_level": [0.10, 0.10, 0.20], "standard": "2022-2025"})
    return t, base


def test_commune_requirements_by_hand():
    # Commune 05500: 100 households at 10% in 2025; target -3 points: 7% (2026), 4% (2027).
    obs = np.array([[[0.05, 0.03], [0.1, 0.1]], [[0.06, 0.05], [0.1, 0.1]],
                    [[0.08, 0.06], [0.1, 0.1]], [[0.09, 0.04], [0.1, 0.1]]])
    proj = _projection([[0.07, 0.045], [0.10, 0.10]], obs)
    t, base = _three_points()
    r = P.commune_requirements(proj, [t], base, cost_per_exit=(5e8, 5e8, 5e8), min_cell=10)
    a = r[r["commune_code"] == "05500"].set_index("year")
    assert_allclose(a["target_level"], [0.07, 0.04], atol=1e-12)
    assert_allclose(a["exits_per_year"], [3, 3], atol=1e-9)  # 3 points of 100 households a year
    assert_allclose(a["exits_in_year"], [3, 3], atol=1e-9)
    assert_allclose(a["gap"], [0.0, 0.005], atol=1e-12)
    assert_allclose(a["p_meet"], [0.5, 0.5])  # draws at or below 7%: 0.05, 0.06; at or below 4%: 0.03, 0.04
    assert_allclose(a["additional_exits"], [0.0, 0.5], atol=1e-9)
    assert_allclose(a["credit_vnd"], [0.0, 0.5 * 5e8], atol=1e-3)
    assert a["on_track"].tolist() == [True, False] and a["target"].tolist() == ["three", "three"]
    assert a["name"].iloc[0] == "Phường Tích Lương"
    b = r[r["commune_code"] == "05518"].set_index("year")
    assert b["suppressed"].all() and not a["suppressed"].any()
    assert b["attainable"].iloc[0] is True and a["attainable"].iloc[0] is False  # 10% - 5 x 3 passes 0


def test_binding_target_fallback_and_communes_without_target():
    proj = _projection([[0.35, 0.33], [0.05, 0.04]], np.full((3, 2, 2), 0.3))
    three = Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500",))
    exit_ = Target("exit", "communes", end_level=0.15, scope="commune", communes=("05500",))
    prov = Target("prov", annual_reduction=1.5)
    base = pd.DataFrame({"target": ["three", "three", "exit", "exit", "prov", "prov", "prov"],
                         "kind": ["group", "commune", "group", "commune", "group", "commune", "commune"],
                         "commune_code": [None, "05500", None, "05500", None, "05500", "05518"],
                         "households": [100, 100, 100, 100, 105, 100, 5],
                         "start_level": [0.40, 0.40, 0.40, 0.40, 40.3 / 105, 0.40, 0.06]})
    r = P.commune_requirements(proj, [three, exit_, prov], base)
    assert r.loc[r["commune_code"] == "05500", "target"].unique().tolist() == ["exit"]  # 15% < 25% in 2030 terms
    assert_allclose(r.loc[r["commune_code"] == "05500", "target_level"], [0.35, 0.30])
    lone = r[r["commune_code"] == "05518"]
    assert lone["target"].isna().all() and lone["gap"].isna().all() and lone["p_meet"].isna().all()
    r2 = P.commune_requirements(proj, [three, exit_, prov], base, fallback="prov")
    # The province target is shared, not copied: 05518 falls by the province's relative fall,
    # 6% x (p0 - 1.5 t) / p0 with p0 = 40.3 / 105 (not 6% - 1.5 points a year).
    p0 = 40.3 / 105
    lone2 = r2[r2["commune_code"] == "05518"]
    assert_allclose(lone2["target_level"], [0.06 * (p0 - 0.015) / p0, 0.06 * (p0 - 0.030) / p0])
    assert lone2["rule"].unique().tolist() == ["proportional share of prov"]
    assert r2.loc[r2["commune_code"] == "05500", "target"].unique().tolist() == ["exit"]
    r3 = P.commune_requirements(proj, [three, exit_, prov], base, fallback="prov", fallback_rule="points")
    assert (r3.loc[r3["commune_code"] == "05518", "target_level"] < 0.06).all()


def test_requirements_errors(small_classified):
    proj = _projection([[0.07, 0.045], [0.1, 0.1]], np.full((3, 2, 2), 0.05))
    t, base = _three_points()
    with pytest.raises(ValueError, match="'fallback' 'nope' is not one of the targets \\['three'\\]"):
        P.commune_requirements(proj, [t], base, fallback="nope")
    with pytest.raises(ValueError, match="the baseline is on \\['2026-2030'\\] but the projection on '2022-2025'"):
        P.commune_requirements(proj, [t], base.assign(standard="2026-2030"))
    cells = P.Projection(**{**proj.__dict__, "units": pd.DataFrame({"commune_code": ["05500", "05500"],
                                                                    "minority": [True, False]})})
    with pytest.raises(ValueError, match="'projection' must be by commune_code only"):
        P.commune_requirements(cells, [t], base)
    prov = Target("prov", "minority", annual_reduction=1.5)
    with pytest.raises(ValueError, match="'baseline' has no commune rows for the fallback target 'prov'"):
        P.commune_requirements(proj, [t, prov], pd.concat([base, pd.DataFrame(
            {"target": ["prov"], "kind": ["group"], "commune_code": [None], "households": [3], "start_level": [0.1]})]),
            fallback="prov")


def test_province_ranking_orders_by_gap_and_blanks_small_communes():
    obs = np.full((4, 3, 2), 0.05)
    proj = _projection([[0.09, 0.08], [0.12, 0.10], [0.30, 0.30]], obs, households=(100, 200, 5),
                       codes=("05500", "05518", "05467"))
    t = Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500", "05518", "05467"))
    base = pd.DataFrame({"target": "three", "kind": ["group", "commune", "commune", "commune"],
                         "commune_code": [None, "05500", "05518", "05467"], "households": [305, 100, 200, 5],
                         "start_level": [0.1, 0.10, 0.12, 0.30]})
    ranking = P.province_ranking(P.commune_requirements(proj, [t], base))
    assert ranking["commune_code"].tolist() == ["05518", "05500", "05467"]
    assert ranking["rank"].astype(object).tolist() == [1, 2, pd.NA]  # no rank for a suppressed commune
    small = ranking.set_index("commune_code").loc["05467"]
    assert small["suppressed"] and np.isnan(small["households"]) and np.isnan(small["gap"])
    assert_allclose(ranking.set_index("commune_code").loc["05518", "exits_per_year"], 6.0)  # 3 points of 200
    assert_allclose(ranking.set_index("commune_code").loc["05500", "exits_per_year"], 3.0)
    assert "household_id" not in ranking.columns
    with pytest.raises(ValueError, match="'year' 2035 is not in the requirements"):
        P.province_ranking(P.commune_requirements(proj, [t], base), year=2035)
    text = P.requirements_headline(P.commune_requirements(proj, [t], base), lang="vi")
    assert text.startswith("Đến năm 2027, 0/2 xã, phường có mục tiêu được dự báo đạt lộ trình")
    assert "1 xã có dưới ngưỡng số hộ không được công bố" in text


def test_group_status_pools_the_units_of_each_population():
    units = pd.DataFrame({"commune_code": ["05500", "05500"], "minority": [True, False]})
    mean = np.array([[0.20, 0.18], [0.02, 0.02]])
    proj = P.Projection(units=units, years=np.array([2026, 2027]), households=np.array([100.0, 300.0]), mean=mean,
                        mean_se=np.zeros_like(mean), ci_lower=mean, ci_upper=mean,
                        draws=np.tile(mean, (5, 1, 1)), obs_draws=np.tile(mean, (5, 1, 1)),
                        observed=units.assign(review_year=2025, households=[100, 300], poor=[22.0, 6.0],
                                              rate=[0.22, 0.02]), min_cell=10)
    ts = [Target("m", "minority", annual_reduction=3), Target("all", annual_reduction=1)]
    base = pd.DataFrame({"target": ["m", "all"], "kind": "group", "commune_code": None, "households": [100, 400],
                         "start_level": [0.22, 0.07]})
    g = P.group_status(proj, ts, base).set_index(["target", "year"])
    assert_allclose(g.loc[("m", 2027), ["target_level", "mean", "gap"]].astype(float), [0.16, 0.18, 0.02])
    assert_allclose(g.loc[("all", 2026), "mean"], (20 + 6) / 400)
    assert g.loc[("m", 2027), "p_meet"] == 0.0 and g.loc[("all", 2026), "p_meet"] == 0.0  # 6.5% > 6%
    by_commune = proj.aggregate("commune_code")
    note = P.group_status(by_commune, ts, base).set_index("target").loc["m", "note"]
    assert "cannot express population 'minority'" in note.iloc[0]


# ---------------------------------------------------------------------------- figures

def test_fan_chart_traces_and_labels(one_commune):
    t = Target("t", annual_reduction=1.5)
    fig = P.plot_fan_chart(one_commune, t, commune_code="05500", lang="vi")
    names = [tr.name for tr in fig.data]
    assert names == ["Khoảng dự báo 95%", "Khoảng dự báo 80%", "Khoảng dự báo 50%", "Kết quả rà soát", "Dự báo",
                     "Lộ trình mục tiêu: t"]
    assert fig.layout.title.text == "Phường Tích Lương: tỷ lệ hộ nghèo dự báo 2026–2030 (chuẩn 2022–2025)"
    assert_allclose(fig.data[-1].y, [0.128, 0.113, 0.098, 0.083, 0.068, 0.053], atol=1e-12)
    assert list(fig.data[3].y) == pytest.approx([0.2, 0.18, 0.16, 0.144, 0.128])
    outer, inner = np.asarray(fig.data[0].y), np.asarray(fig.data[2].y)
    assert outer[1:6].max() >= inner[1:6].max()  # the 95% band holds the 50% band
    assert fig.layout.yaxis.tickformat == ".0%"
    path = pd.DataFrame({"year": [2025, 2030], "target_level": [0.128, 0.05]})
    assert P.plot_fan_chart(one_commune, path, commune_code="05500", lang="en").data[-1].name == "Target path"


def test_fan_chart_errors(one_commune):
    two = _projection([[0.1, 0.1], [0.2, 0.2]], np.full((3, 2, 2), 0.1))
    with pytest.raises(ValueError, match="give 'commune_code' or 'group': the projection has several units"):
        P.plot_fan_chart(two)
    with pytest.raises(ValueError, match="commune_code '99999' is not in the projection"):
        P.plot_fan_chart(two, commune_code="99999")
    with pytest.raises(ValueError, match="lang must be one of"):
        P.plot_fan_chart(one_commune, lang="fr")
    with pytest.raises(ValueError, match="no observed rate at the target's start year 2019"):
        P.plot_fan_chart(one_commune, Target("t", annual_reduction=1, start_year=2019))


def test_gap_bars_are_ranked_and_leave_out_suppressed_communes():
    r = pd.DataFrame({"commune_code": ["05500", "05518", "05467", "05443"],
                      "name": ["Phường Tích Lương", "Phường Sông Công", "Phường Gia Sàng", "Phường Phan Đình Phùng"],
                      "year": 2030, "gap": [0.02, -0.01, 0.05, np.nan], "gap_ci_lower": [0.0, -0.02, 0.03, np.nan],
                      "gap_ci_upper": [0.04, 0.0, 0.07, np.nan], "suppressed": [False, False, True, False]})
    fig = P.plot_gap_bars(r, lang="vi")
    behind, on = fig.data
    assert list(behind.y) == ["Phường Tích Lương"] and list(on.y) == ["Phường Sông Công"]
    assert_allclose(behind.x, [2.0]) and behind.marker.color == "#D55E00"
    assert behind.name == "Chậm so với lộ trình" and on.name == "Đạt lộ trình"
    assert "1 xã không công bố" in fig.layout.title.text and "1 xã không có mục tiêu" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "Chênh lệch so với mục tiêu năm 2030 (điểm phần trăm)"
    with pytest.raises(ValueError, match="'requirements' has no rows for year 2031"):
        P.plot_gap_bars(r, year=2031)


def test_projection_frame_columns(one_commune):
    f = one_commune.to_frame()
    assert list(f.columns) == ["commune_code", "year", "households", "mean", "mean_se", "ci_lower", "ci_upper",
                               "obs_ci_lower", "obs_ci_upper", "poor_mean", "standard", "method", "suppressed"]
    assert (f["ci_lower"] <= f["mean"]).all() and (f["mean"] <= f["ci_upper"]).all()
    assert isinstance(one_commune.model.summary(), str)


# ---------------------------------------------------------------------------- bad input, named

def test_more_trend_errors():
    counts, _, _ = _logit_linear(5, n=3)
    with pytest.raises(ValueError, match="'years' must be consecutive years in increasing order, got \\[2026, 2028\\]"):
        P.trend_projection(counts, years=[2026, 2028])
    with pytest.raises(ValueError, match="'min_cell' must be at least 1, got 0"):
        P.trend_projection(counts, min_cell=0)
    with pytest.raises(ValueError, match="'n_sim' must be at least 2, got 1"):
        P.trend_projection(counts, n_sim=1)
    with pytest.raises(ValueError, match="'counts' needs at least two review years to estimate a trend"):
        P.trend_projection(counts[counts["review_year"] == 2025])
    with pytest.raises(TypeError, match="'counts' should be a DataFrame, got dict"):
        P.trend_projection({"poor": [1]})
    with pytest.raises(ValueError, match="'rebase' column 'standard' must hold one standard"):
        P.trend_projection(counts, rebase=pd.DataFrame({"commune_code": ["00000", "00001"], "gap": 0.1,
                                                         "standard": ["2026-2030", "2022-2025"]}))
    with pytest.raises(TypeError, match="'rebase' should be a Rebase or a DataFrame"):
        P.trend_projection(counts, rebase=0.05)
    one_year = pd.DataFrame({"commune_code": ["A", "A", "B"], "review_year": [2024, 2025, 2025],
                             "households": [50, 50, 40], "poor": [0, 0, 8]})
    with pytest.raises(ValueError, match="the units with poor households are observed in one review year only"):
        P.trend_projection(one_year)
    groups = pd.DataFrame({"commune_code": ["A"] * 5 + ["B"], "review_year": [*YEARS, 2025],
                           "households": [50] * 6, "poor": [10, 9, 8, 7, 6, 5], "g": ["a"] * 5 + ["b"]})
    with pytest.raises(ValueError, match="no information on the trend of the slope groups \\['b'\\]"):
        P.trend_projection(groups, slope_by="g")
    ends = pd.DataFrame({"commune_code": ["A"] * 5 + ["B"] * 5, "review_year": list(YEARS) * 2,
                         "households": [60] * 10, "poor": [6, 0, 0, 0, 0, 12, 11, 10, 9, 8]})
    with pytest.raises(ValueError, match="the trend model did not converge"):
        P.trend_projection(ends, slope_by="commune_code")


def test_more_rebase_and_aggregate_errors(small_classified):
    with pytest.raises(ValueError, match="the data need a 'minority' or an 'ethnicity' column"):
        P.rebase(small_classified.drop(columns=["minority", "ethnicity"]))
    with pytest.raises(TypeError, match="'classified' should be a DataFrame, got str"):
        P.rebase("households.csv")
    proj = _projection([[0.1, 0.1], [0.2, 0.2]], np.full((3, 2, 2), 0.1), households=(0, 5))
    with pytest.raises(ValueError, match="a group has no households in the projection"):
        proj.aggregate(np.array([True, False]))
    with pytest.raises(ValueError, match="'groups' must have one value per unit \\(2\\), got shape \\(3,\\)"):
        proj.aggregate(["a", "b", "c"])


def test_more_transition_errors(small_classified):
    with pytest.raises(ValueError, match="'start_year' 2030 is not a review year of the panel"):
        P.transition_projection(small_classified, start_year=2030)
    with pytest.raises(ValueError, match="'n_sim' must be at least 2, got 0"):
        P.transition_projection(small_classified, n_sim=0)
    with pytest.raises(ValueError, match="no transitions from the state 'poor' in the window 2021-2025"):
        P.transition_projection(small_classified.assign(poverty_class="not_poor"))
    with pytest.raises(ValueError, match="'classified' lacks the columns \\['household_id'\\]"):
        P.transition_projection(small_classified.drop(columns="household_id"))


def test_more_credit_errors(one_commune):
    with pytest.raises(TypeError, match="'cost_per_exit' should be a number, \\(estimate, lower, upper\\) or a result"):
        P.credit_scenario(one_commune, 10, 0.1, 0.0, cost_per_exit="cheap")
    with pytest.raises(ValueError, match="'cost_per_exit' must be a positive amount of VND, got 0.0"):
        P.credit_scenario(one_commune, 10, 0.1, 0.0, cost_per_exit=0)
    with pytest.raises(TypeError, match="'additional_loans' should be a number, a Series by unit or a DataFrame"):
        P.credit_scenario(one_commune, [10], 0.1, 0.0)
    bad = pd.DataFrame({"commune_code": ["05500"], "year": [2027], "loans": [-1.0]})
    with pytest.raises(ValueError, match="'additional_loans' row 0: loans must be a number >= 0, got -1.0"):
        P.credit_scenario(one_commune, bad, 0.1, 0.0)
    cells = P.Projection(**{**one_commune.__dict__, "units": pd.DataFrame({"commune_code": ["05500"], "minority": [True]})})
    with pytest.raises(ValueError, match="a Series of loans needs a projection with one unit column"):
        P.credit_scenario(cells, pd.Series({"05500": 1.0}), 0.1, 0.0)
    with pytest.raises(ValueError, match="'effect_se' must be a number in \\[0, inf\\], got -0.1"):
        P.credit_scenario(one_commune, 10, 0.1, -0.1)


def test_more_requirement_errors():
    proj = _projection([[0.07, 0.045], [0.1, 0.1]], np.full((3, 2, 2), 0.05))
    t, base = _three_points()
    with pytest.raises(TypeError, match="'projection' should be a Projection, got DataFrame"):
        P.commune_requirements(proj.to_frame(), [t], base)
    up = Target("up", "communes", annual_reduction=1, scope="commune", communes=("05500",), direction="increase")
    with pytest.raises(ValueError, match="target 'up': commune requirements read decreasing targets only"):
        P.commune_requirements(proj, [t, up], base)
    early = Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500",), start_year=2026,
                   end_year=2030)
    with pytest.raises(ValueError, match="target 'three' starts in 2026, not before the projection \\(2026\\)"):
        P.commune_requirements(proj, [early], base)
    group = Target("g", annual_reduction=1)
    with pytest.raises(ValueError, match="'baseline' has no group row for target 'g'"):
        P.group_status(proj, [group], base)
    g_base = pd.DataFrame({"target": ["g"], "kind": ["group"], "commune_code": [None], "households": [105],
                           "start_level": [0.1]})
    with pytest.raises(ValueError, match="target 'g' starts in 2026, not before the projection"):
        P.group_status(proj, [Target("g", annual_reduction=1, start_year=2026)], g_base)
    with pytest.raises(ValueError, match="target 'g': group status reads decreasing targets only"):
        P.group_status(proj, [Target("g", annual_reduction=1, direction="increase")], g_base)
    with pytest.raises(TypeError, match="'projection' should be a Projection, got str"):
        P.group_status("trend", [group], g_base)
    r = P.commune_requirements(proj, [t], base)
    assert P.binding_target(r, [t], "05500") is t
    with pytest.raises(ValueError, match="commune_code 5500 is not in the requirements \\(codes are strings of five"):
        P.binding_target(r, [t], 5500)
    with pytest.raises(ValueError, match="the requirements name the target 'three', which is not in 'targets'"):
        P.binding_target(r, [group], "05500")


def test_scenario_headline(one_commune):
    scn = P.credit_scenario(one_commune, 20, 0.10, 0.02, cost_per_exit=(5e8, 2e8, np.inf))
    text = P.scenario_headline(one_commune, scn, lang="vi")
    assert text.startswith("Với thêm 20 khoản vay mỗi năm từ năm 2026 và hiệu quả thoát nghèo ước tính 0,100")
    assert "không có cận trên hữu hạn" in text
    assert "VND 5.0 billion" in P.scenario_headline(one_commune, scn, lang="en")  # 10 exits x 500 million
    with pytest.raises(ValueError, match="'scenario' is not a credit scenario"):
        P.scenario_headline(one_commune, one_commune)
    with pytest.raises(ValueError, match="'year' 2035 is not projected"):
        P.scenario_headline(one_commune, scn, year=2035)
    with pytest.raises(TypeError, match="'baseline' should be a Projection, got DataFrame"):
        P.scenario_headline(one_commune.to_frame(), scn)


def test_more_figure_errors(one_commune):
    cells = P.Projection(**{**one_commune.__dict__, "units": pd.DataFrame({"commune_code": ["05500"], "minority": [True]})})
    with pytest.raises(ValueError, match="'commune_code' needs a projection by commune_code"):
        P.plot_fan_chart(cells, commune_code="05500")
    with pytest.raises(ValueError, match="'group' needs a projection with one unit column"):
        P.plot_fan_chart(cells, group=True)
    with pytest.raises(ValueError, match="group 'x' is not in the projection"):
        P.plot_fan_chart(one_commune, group="x")
    with pytest.raises(ValueError, match="'levels' are coverages in \\(0, 1\\), got 95"):
        P.plot_fan_chart(one_commune, levels=(95,))
    with pytest.raises(TypeError, match="'target' should be a Target or a DataFrame, got float"):
        P.plot_fan_chart(one_commune, 0.05)
    with pytest.raises(TypeError, match="'projection' should be a Projection, got DataFrame"):
        P.plot_fan_chart(one_commune.to_frame())


def test_fan_chart_of_a_small_commune_draws_nothing():
    proj = _projection([[0.1, 0.1], [0.2, 0.2]], np.full((3, 2, 2), 0.1))
    fig = P.plot_fan_chart(proj, commune_code="05518", lang="en")
    assert len(fig.data) == 0
    assert fig.layout.title.text.endswith("suppressed: too few households")
