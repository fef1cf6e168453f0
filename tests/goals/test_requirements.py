"""Credit scenarios, commune requirements, group status and the province ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from povanalysis.goals import projections as P
from povanalysis.goals import requirements as Q
from povanalysis.goals.targets import Target
from povanalysis.reports.prose import goals as PG


def test_credit_scenario_arithmetic(one_commune):
    # 20 loans a year, effect 0.10: 2 more exits a year, cumulative: 2, 4, 6, 8, 10 of 500 households.
    scn = Q.credit_scenario(one_commune, 20, effect=0.10, effect_se=0.0, cost_per_exit=(5e8, 5e8, 5e8))
    assert_allclose(one_commune.mean - scn.mean, [np.arange(1, 6) * 2 / 500])
    assert_allclose(one_commune.draws - scn.draws, np.broadcast_to(np.arange(1, 6) * 2 / 500, one_commune.draws.shape))
    assert_allclose(scn.model["additional_exits"], [2, 4, 6, 8, 10])
    assert_allclose(scn.model["credit_vnd"], np.array([2, 4, 6, 8, 10]) * 5e8)
    assert scn.method == "credit scenario on trend"
    later = Q.credit_scenario(one_commune, 20, 0.10, 0.0, start_year=2028)
    assert_allclose(later.model["additional_exits"], [0, 0, 2, 4, 6])


def test_credit_scenario_uncertainty_and_floor(one_commune):
    wide = Q.credit_scenario(one_commune, 20, 0.10, 0.05)
    narrow = Q.credit_scenario(one_commune, 20, 0.10, 0.0)
    assert (wide.ci_upper - wide.ci_lower)[0, -1] > (narrow.ci_upper - narrow.ci_lower)[0, -1]
    flooded = Q.credit_scenario(one_commune, 10_000, 0.5, 0.1)
    assert (flooded.mean == 0).all() and (flooded.draws >= 0).all() and (flooded.obs_draws >= 0).all()


@settings(max_examples=25, deadline=None)
@given(loans=st.floats(0, 5000), effect=st.floats(0, 1), se=st.floats(0, 0.5))
def test_credit_scenario_never_raises_poverty_nor_goes_below_zero(one_commune, loans, effect, se):
    scn = Q.credit_scenario(one_commune, loans, effect, se)
    assert (scn.mean <= one_commune.mean + 1e-12).all() and (scn.mean >= 0).all()
    assert (scn.draws >= 0).all() and (scn.obs_draws >= 0).all()
    assert (scn.draws <= one_commune.draws + 1e-12).all()


def test_credit_scenario_loans_by_unit(one_commune):
    s = Q.credit_scenario(one_commune, pd.Series({"05500": 10.0}), 0.2, 0.0)
    assert_allclose(s.model["additional_exits"], [2, 4, 6, 8, 10])
    frame = pd.DataFrame({"commune_code": ["05500"], "year": [2027], "loans": [50.0]})
    assert_allclose(Q.credit_scenario(one_commune, frame, 0.1, 0.0).model["additional_exits"], [0, 5, 5, 5, 5])


def test_credit_scenario_errors(one_commune):
    with pytest.raises(ValueError, match="'effect' must be a number in \\[0, 1\\], got 1.5"):
        Q.credit_scenario(one_commune, 10, 1.5, 0.1)
    with pytest.raises(ValueError, match="'additional_loans' must be a number >= 0, got -3"):
        Q.credit_scenario(one_commune, -3, 0.1, 0.0)
    with pytest.raises(ValueError, match="'additional_loans' names a unit not in the projection"):
        Q.credit_scenario(one_commune, pd.Series({"99999": 1.0}), 0.1, 0.0)
    with pytest.raises(ValueError, match="'start_year' 2040 is not a projected year"):
        Q.credit_scenario(one_commune, 10, 0.1, 0.0, start_year=2040)
    with pytest.raises(ValueError, match="'cost_per_exit' interval must contain the estimate"):
        Q.credit_scenario(one_commune, 10, 0.1, 0.0, cost_per_exit=(5e8, 6e8, 7e8))
    with pytest.raises(TypeError, match="'projection' should be a Projection, got DataFrame"):
        Q.credit_scenario(one_commune.to_frame(), 10, 0.1, 0.0)


def test_cost_from_a_credit_result():
    class Cost:
        vnd_per_exit = 4e8

        def conf_int(self, alpha=0.05):
            return (2e8, 8e8)

    assert Q.cost_interval(Cost(), 0.05) == (4e8, 2e8, 8e8)


def _three_points():
    codes = ("05500", "05518")
    t = Target("three", "communes", annual_reduction=3, scope="commune", communes=codes)
    base = pd.DataFrame(
        {
            "target": "three",
            "kind": ["group", "commune", "commune"],
            "commune_code": [None, *codes],
            "households": [105, 100, 5],
            "start_level": [0.10, 0.10, 0.20],
            "standard": "2022-2025",
        }
    )
    return t, base


def test_commune_requirements_by_hand(hand_projection):
    # Commune 05500: 100 households at 10% in 2025; target -3 points: 7% (2026), 4% (2027).
    obs = np.array(
        [[[0.05, 0.03], [0.1, 0.1]], [[0.06, 0.05], [0.1, 0.1]], [[0.08, 0.06], [0.1, 0.1]], [[0.09, 0.04], [0.1, 0.1]]]
    )
    proj = hand_projection([[0.07, 0.045], [0.10, 0.10]], obs)
    t, base = _three_points()
    r = Q.commune_requirements(proj, [t], base, cost_per_exit=(5e8, 5e8, 5e8), min_cell=10)
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


def test_binding_target_fallback_and_communes_without_target(hand_projection):
    proj = hand_projection([[0.35, 0.33], [0.05, 0.04]], np.full((3, 2, 2), 0.3))
    three = Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500",))
    exit_ = Target("exit", "communes", end_level=0.15, scope="commune", communes=("05500",))
    prov = Target("prov", annual_reduction=1.5)
    base = pd.DataFrame(
        {
            "target": ["three", "three", "exit", "exit", "prov", "prov", "prov"],
            "kind": ["group", "commune", "group", "commune", "group", "commune", "commune"],
            "commune_code": [None, "05500", None, "05500", None, "05500", "05518"],
            "households": [100, 100, 100, 100, 105, 100, 5],
            "start_level": [0.40, 0.40, 0.40, 0.40, 40.3 / 105, 0.40, 0.06],
        }
    )
    r = Q.commune_requirements(proj, [three, exit_, prov], base)
    assert r.loc[r["commune_code"] == "05500", "target"].unique().tolist() == ["exit"]  # 15% < 25% in 2030 terms
    assert_allclose(r.loc[r["commune_code"] == "05500", "target_level"], [0.35, 0.30])
    lone = r[r["commune_code"] == "05518"]
    assert lone["target"].isna().all() and lone["gap"].isna().all() and lone["p_meet"].isna().all()
    r2 = Q.commune_requirements(proj, [three, exit_, prov], base, fallback="prov")
    # The province target is shared, not copied: 05518 falls by the province's relative fall,
    # 6% x (p0 - 1.5 t) / p0 with p0 = 40.3 / 105 (not 6% - 1.5 points a year).
    p0 = 40.3 / 105
    lone2 = r2[r2["commune_code"] == "05518"]
    assert_allclose(lone2["target_level"], [0.06 * (p0 - 0.015) / p0, 0.06 * (p0 - 0.030) / p0])
    assert lone2["rule"].unique().tolist() == ["proportional share of prov"]
    assert r2.loc[r2["commune_code"] == "05500", "target"].unique().tolist() == ["exit"]
    r3 = Q.commune_requirements(proj, [three, exit_, prov], base, fallback="prov", fallback_rule="points")
    assert (r3.loc[r3["commune_code"] == "05518", "target_level"] < 0.06).all()


def test_requirements_errors(small_classified, hand_projection):
    proj = hand_projection([[0.07, 0.045], [0.1, 0.1]], np.full((3, 2, 2), 0.05))
    t, base = _three_points()
    with pytest.raises(ValueError, match="'fallback' 'nope' is not one of the targets \\['three'\\]"):
        Q.commune_requirements(proj, [t], base, fallback="nope")
    with pytest.raises(ValueError, match="the baseline is on \\['2026-2030'\\] but the projection on '2022-2025'"):
        Q.commune_requirements(proj, [t], base.assign(standard="2026-2030"))
    cells = P.Projection(
        **{**proj.__dict__, "units": pd.DataFrame({"commune_code": ["05500", "05500"], "minority": [True, False]})}
    )
    with pytest.raises(ValueError, match="'projection' must be by commune_code only"):
        Q.commune_requirements(cells, [t], base)
    prov = Target("prov", "minority", annual_reduction=1.5)
    with pytest.raises(ValueError, match="'baseline' has no commune rows for the fallback target 'prov'"):
        Q.commune_requirements(
            proj,
            [t, prov],
            pd.concat(
                [
                    base,
                    pd.DataFrame(
                        {
                            "target": ["prov"],
                            "kind": ["group"],
                            "commune_code": [None],
                            "households": [3],
                            "start_level": [0.1],
                        }
                    ),
                ]
            ),
            fallback="prov",
        )


def test_province_ranking_orders_by_gap_and_blanks_small_communes(hand_projection):
    obs = np.full((4, 3, 2), 0.05)
    proj = hand_projection(
        [[0.09, 0.08], [0.12, 0.10], [0.30, 0.30]], obs, households=(100, 200, 5), codes=("05500", "05518", "05467")
    )
    t = Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500", "05518", "05467"))
    base = pd.DataFrame(
        {
            "target": "three",
            "kind": ["group", "commune", "commune", "commune"],
            "commune_code": [None, "05500", "05518", "05467"],
            "households": [305, 100, 200, 5],
            "start_level": [0.1, 0.10, 0.12, 0.30],
        }
    )
    ranking = Q.province_ranking(Q.commune_requirements(proj, [t], base))
    assert ranking["commune_code"].tolist() == ["05518", "05500", "05467"]
    assert ranking["rank"].astype(object).tolist() == [1, 2, pd.NA]  # no rank for a suppressed commune
    small = ranking.set_index("commune_code").loc["05467"]
    assert small["suppressed"] and np.isnan(small["households"]) and np.isnan(small["gap"])
    assert_allclose(ranking.set_index("commune_code").loc["05518", "exits_per_year"], 6.0)  # 3 points of 200
    assert_allclose(ranking.set_index("commune_code").loc["05500", "exits_per_year"], 3.0)
    assert "household_id" not in ranking.columns
    with pytest.raises(ValueError, match="'year' 2035 is not in the requirements"):
        Q.province_ranking(Q.commune_requirements(proj, [t], base), year=2035)
    text = PG.requirements_headline(Q.commune_requirements(proj, [t], base), lang="vi")
    assert text.startswith("Đến năm 2027, 0/2 xã, phường có mục tiêu được dự báo đạt lộ trình")
    assert "1 xã có dưới ngưỡng số hộ không được công bố" in text


def test_group_status_pools_the_units_of_each_population():
    units = pd.DataFrame({"commune_code": ["05500", "05500"], "minority": [True, False]})
    mean = np.array([[0.20, 0.18], [0.02, 0.02]])
    proj = P.Projection(
        units=units,
        years=np.array([2026, 2027]),
        households=np.array([100.0, 300.0]),
        mean=mean,
        mean_se=np.zeros_like(mean),
        ci_lower=mean,
        ci_upper=mean,
        draws=np.tile(mean, (5, 1, 1)),
        obs_draws=np.tile(mean, (5, 1, 1)),
        observed=units.assign(review_year=2025, households=[100, 300], poor=[22.0, 6.0], rate=[0.22, 0.02]),
        min_cell=10,
    )
    ts = [Target("m", "minority", annual_reduction=3), Target("all", annual_reduction=1)]
    base = pd.DataFrame(
        {
            "target": ["m", "all"],
            "kind": "group",
            "commune_code": None,
            "households": [100, 400],
            "start_level": [0.22, 0.07],
        }
    )
    g = Q.group_status(proj, ts, base).set_index(["target", "year"])
    assert_allclose(g.loc[("m", 2027), ["target_level", "mean", "gap"]].astype(float), [0.16, 0.18, 0.02])
    assert_allclose(g.loc[("all", 2026), "mean"], (20 + 6) / 400)
    assert g.loc[("m", 2027), "p_meet"] == 0.0 and g.loc[("all", 2026), "p_meet"] == 0.0  # 6.5% > 6%
    by_commune = proj.aggregate("commune_code")
    note = Q.group_status(by_commune, ts, base).set_index("target").loc["m", "note"]
    assert "cannot express population 'minority'" in note.iloc[0]


def test_more_credit_errors(one_commune):
    with pytest.raises(TypeError, match="'cost_per_exit' should be a number, \\(estimate, lower, upper\\) or a result"):
        Q.credit_scenario(one_commune, 10, 0.1, 0.0, cost_per_exit="cheap")
    with pytest.raises(ValueError, match="'cost_per_exit' must be a positive amount of VND, got 0.0"):
        Q.credit_scenario(one_commune, 10, 0.1, 0.0, cost_per_exit=0)
    with pytest.raises(TypeError, match="'additional_loans' should be a number, a Series by unit or a DataFrame"):
        Q.credit_scenario(one_commune, [10], 0.1, 0.0)
    bad = pd.DataFrame({"commune_code": ["05500"], "year": [2027], "loans": [-1.0]})
    with pytest.raises(ValueError, match="'additional_loans' row 0: loans must be a number >= 0, got -1.0"):
        Q.credit_scenario(one_commune, bad, 0.1, 0.0)
    units = pd.DataFrame({"commune_code": ["05500"], "minority": [True]})
    cells = P.Projection(**{**one_commune.__dict__, "units": units})
    with pytest.raises(ValueError, match="a Series of loans needs a projection with one unit column"):
        Q.credit_scenario(cells, pd.Series({"05500": 1.0}), 0.1, 0.0)
    with pytest.raises(ValueError, match="'effect_se' must be a number in \\[0, inf\\], got -0.1"):
        Q.credit_scenario(one_commune, 10, 0.1, -0.1)


def test_more_requirement_errors(hand_projection):
    proj = hand_projection([[0.07, 0.045], [0.1, 0.1]], np.full((3, 2, 2), 0.05))
    t, base = _three_points()
    with pytest.raises(TypeError, match="'projection' should be a Projection, got DataFrame"):
        Q.commune_requirements(proj.to_frame(), [t], base)
    up = Target("up", "communes", annual_reduction=1, scope="commune", communes=("05500",), direction="increase")
    with pytest.raises(ValueError, match="target 'up': commune requirements read decreasing targets only"):
        Q.commune_requirements(proj, [t, up], base)
    early = Target(
        "three", "communes", annual_reduction=3, scope="commune", communes=("05500",), start_year=2026, end_year=2030
    )
    with pytest.raises(ValueError, match="target 'three' starts in 2026, not before the projection \\(2026\\)"):
        Q.commune_requirements(proj, [early], base)
    group = Target("g", annual_reduction=1)
    with pytest.raises(ValueError, match="'baseline' has no group row for target 'g'"):
        Q.group_status(proj, [group], base)
    g_base = pd.DataFrame(
        {"target": ["g"], "kind": ["group"], "commune_code": [None], "households": [105], "start_level": [0.1]}
    )
    with pytest.raises(ValueError, match="target 'g' starts in 2026, not before the projection"):
        Q.group_status(proj, [Target("g", annual_reduction=1, start_year=2026)], g_base)
    with pytest.raises(ValueError, match="target 'g': group status reads decreasing targets only"):
        Q.group_status(proj, [Target("g", annual_reduction=1, direction="increase")], g_base)
    with pytest.raises(TypeError, match="'projection' should be a Projection, got str"):
        Q.group_status("trend", [group], g_base)
    r = Q.commune_requirements(proj, [t], base)
    assert Q.binding_target(r, [t], "05500") is t
    with pytest.raises(ValueError, match="commune_code 5500 is not in the requirements \\(codes are strings of five"):
        Q.binding_target(r, [t], 5500)
    with pytest.raises(ValueError, match="the requirements name the target 'three', which is not in 'targets'"):
        Q.binding_target(r, [group], "05500")


def test_a_commune_already_at_the_floor_is_already_met():
    obs = np.full((4, 2, 2), 0.05)
    observed_means = [[0.004, 0.004], [0.12, 0.11]]
    proj = P.Projection(
        units=pd.DataFrame({"commune_code": ["05500", "05518"]}),
        years=np.array([2026, 2027]),
        households=np.array([300.0, 200.0]),
        mean=np.array(observed_means),
        mean_se=np.zeros((2, 2)),
        ci_lower=np.array(observed_means),
        ci_upper=np.array(observed_means),
        draws=obs,
        obs_draws=obs,
        observed=pd.DataFrame(
            {
                "commune_code": ["05500", "05518"],
                "review_year": 2025,
                "households": [300, 200],
                "poor": [1, 24],
                "rate": [1 / 300, 0.12],
            }
        ),
        min_cell=10,
    )
    t = Target("c", "communes", annual_reduction=3, scope="commune", communes=("05500", "05518"), floor=0.005)
    base = pd.DataFrame(
        {
            "target": "c",
            "kind": ["group", "commune", "commune"],
            "commune_code": [None, "05500", "05518"],
            "households": [500, 300, 200],
            "start_level": [25 / 500, 1 / 300, 0.12],
        }
    )
    r = Q.commune_requirements(proj, [t], base).set_index(["commune_code", "year"])
    met = r.loc["05500"]
    assert met["already_met"].all() and met["p_meet"].isna().all() and (met["additional_exits"] == 0).all()
    assert not r.loc["05518", "already_met"].any() and r.loc["05518", "p_meet"].notna().all()
