"""The Projection result and the logit-linear trend model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special, stats

from povanalysis.goals import projections as P
from povanalysis.goals import rebase as R
from povanalysis.measure import aggregates

YEARS = np.arange(2021, 2026)


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
    counts = pd.DataFrame(
        {
            "commune_code": np.repeat([f"{i:05d}" for i in range(n)], 5),
            "review_year": np.tile(YEARS, n),
            "households": np.repeat(hh, 5),
            "poor": poor.ravel(),
        }
    )
    return counts, special.expit(level + slope * 5), hh


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
    counts = pd.DataFrame(
        {
            "commune_code": ["A"] * 5 + ["B"] * 5,
            "review_year": list(YEARS) * 2,
            "households": [200] * 10,
            "poor": [0] * 5 + [40, 35, 30, 26, 22],
        }
    )
    proj = P.trend_projection(counts, n_sim=500, min_cell=1)
    f = proj.to_frame().set_index(["commune_code", "year"])
    zero = f.loc["A"]
    assert (zero["mean"] == 0).all() and (zero["ci_lower"] == 0).all()
    assert_allclose(zero["ci_upper"], stats.beta(0.5, 1000.5).ppf(0.975))
    assert (proj.draws >= 0).all() and (proj.obs_draws >= 0).all()
    assert any("never poor in the series" in n for n in proj.notes)


def test_tiny_commune_has_wider_intervals_and_is_suppressed():
    counts = pd.DataFrame(
        {
            "commune_code": ["big"] * 5 + ["tiny"] * 5,
            "review_year": list(YEARS) * 2,
            "households": [1200] * 5 + [12] * 5,
            "poor": [300, 270, 240, 216, 192, 3, 3, 2, 2, 2],
        }
    )
    f = P.trend_projection(counts, n_sim=500, min_cell=20).to_frame().set_index(["commune_code", "year"])
    width = f["ci_upper"] - f["ci_lower"]
    assert (width.loc["tiny"] > 2 * width.loc["big"]).all()
    assert f.loc["tiny", "suppressed"].all() and not f.loc["big", "suppressed"].any()


def test_trend_on_the_rebased_level(small_classified):
    r = R.rebase(small_classified)
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
        gaps = pd.DataFrame({"commune_code": ["00000"], "gap": [0.1], "standard": "2026-2030"})
        P.trend_projection(counts, rebase=gaps)
    with pytest.raises(ValueError, match="'alpha' must be in \\(0, 1\\), got 5"):
        P.trend_projection(counts, alpha=5)
    with pytest.raises(ValueError, match="no unit has both poor and non-poor households"):
        P.trend_projection(counts.assign(poor=0))


def test_aggregate_is_household_weighted(hand_projection):
    proj = hand_projection(
        [[0.10, 0.08], [0.20, 0.10]], np.tile([[[0.10, 0.08], [0.20, 0.10]]], (4, 1, 1)), households=(100, 300)
    )
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


def test_projection_frame_columns(one_commune):
    f = one_commune.to_frame()
    assert list(f.columns) == [
        "commune_code",
        "year",
        "households",
        "mean",
        "mean_se",
        "ci_lower",
        "ci_upper",
        "obs_ci_lower",
        "obs_ci_upper",
        "poor_mean",
        "standard",
        "method",
        "suppressed",
    ]
    assert (f["ci_lower"] <= f["mean"]).all() and (f["mean"] <= f["ci_upper"]).all()
    assert isinstance(one_commune.model.summary(), str)


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
        P.trend_projection(
            counts,
            rebase=pd.DataFrame(
                {"commune_code": ["00000", "00001"], "gap": 0.1, "standard": ["2026-2030", "2022-2025"]}
            ),
        )
    with pytest.raises(TypeError, match="'rebase' should be a Rebase or a DataFrame"):
        P.trend_projection(counts, rebase=0.05)
    one_year = pd.DataFrame(
        {
            "commune_code": ["A", "A", "B"],
            "review_year": [2024, 2025, 2025],
            "households": [50, 50, 40],
            "poor": [0, 0, 8],
        }
    )
    with pytest.raises(ValueError, match="the units with poor households are observed in one review year only"):
        P.trend_projection(one_year)
    groups = pd.DataFrame(
        {
            "commune_code": ["A"] * 5 + ["B"],
            "review_year": [*YEARS, 2025],
            "households": [50] * 6,
            "poor": [10, 9, 8, 7, 6, 5],
            "g": ["a"] * 5 + ["b"],
        }
    )
    with pytest.raises(ValueError, match="no information on the trend of the slope groups \\['b'\\]"):
        P.trend_projection(groups, slope_by="g")
    ends = pd.DataFrame(
        {
            "commune_code": ["A"] * 5 + ["B"] * 5,
            "review_year": list(YEARS) * 2,
            "households": [60] * 10,
            "poor": [6, 0, 0, 0, 0, 12, 11, 10, 9, 8],
        }
    )
    with pytest.raises(ValueError, match="the trend model did not converge"):
        P.trend_projection(ends, slope_by="commune_code")


def test_old_names_still_import_from_here_with_a_warning():
    import importlib

    for name, home in P.MOVED.items():
        with pytest.warns(DeprecationWarning, match=f"moved to {home}.{name}"):
            old = getattr(P, name)
        assert old is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        P.nothing  # noqa: B018
