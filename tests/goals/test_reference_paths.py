"""Commune reference paths that add up to a province-wide target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from povanalysis.goals import reference_paths as RP
from povanalysis.goals import targets as T
from povanalysis.goals.targets import Target


@pytest.fixture
def three():
    """A (100 households, 20%: 20 poor), B (200, 10%: 20 poor), C (200, 5%: 10 poor): 50 of 500, 10%."""
    return pd.DataFrame(
        {"commune_code": ["A", "B", "C"], "households": [100, 200, 200], "start_level": [0.20, 0.10, 0.05]}
    )


def _levels(r, year):
    return r.paths.loc[r.paths["year"] == year].set_index("commune_code")


def test_proportional_reference_paths_by_hand(three):
    # Province 10% falling 1 point a year: 9, 8, 7, 6, 5%, i.e. p(t)/p(0) = 0.9, 0.8, 0.7, 0.6, 0.5.
    r = RP.commune_reference_paths(three, Target("p", annual_reduction=1.0))
    ratio = np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    wide = r.paths.pivot(index="commune_code", columns="year", values="reference_level")
    assert_allclose(wide.to_numpy(), np.outer([0.20, 0.10, 0.05], ratio), atol=1e-15)
    assert_allclose(r.province["province_level"], 0.10 * ratio, atol=1e-15)
    assert_allclose(r.province["reference_mean"], 0.10 * ratio, atol=1e-15)
    assert_allclose(r.province["common_fall"], 1 - ratio, atol=1e-15)
    end = _levels(r, 2030)
    # 2030: A 20 -> 10 poor, B 20 -> 10, C 10 -> 5: 25 fewer poor households, shares 10/25, 10/25, 5/25.
    assert_allclose(end["poor_reduction"], [10, 10, 5], atol=1e-9)
    assert_allclose(end["share_of_province_reduction"], [0.4, 0.4, 0.2], atol=1e-12)
    # The shares of the fall are the shares of the poor in every year; none at the start (no fall asked).
    later = r.paths[r.paths["year"] > 2025]
    assert_allclose(later["share_of_province_reduction"], np.repeat([0.4, 0.4, 0.2], 5), atol=1e-12)
    assert r.paths.loc[r.paths["year"] == 2025, "share_of_province_reduction"].isna().all()
    assert end["rank"].tolist() == [1, 2, 3]  # A and B tie at 10 households: by code
    assert not r.paths[["at_floor", "already_met"]].any().any() and r.paths["attainable"].all()
    assert set(r.paths["rule"]) == {"proportional"} and set(r.paths["floor"]) == {0.0}
    assert list(r.paths.columns) == [
        "commune_code",
        "year",
        "start_level",
        "households",
        "reference_level",
        "rule",
        "floor",
        "at_floor",
        "already_met",
        "attainable",
        "poor_reduction",
        "share_of_province_reduction",
        "rank",
    ]


def test_share_of_poor_split_is_the_proportional_rule(three):
    # Splitting the 2030 fall of 25 poor households (500 x (10% - 5%)) by the shares of the poor
    # (20/50, 20/50, 10/50) leaves A 20 - 10, B 20 - 10, C 10 - 5 poor: 10%, 5%, 2.5%, the proportional path.
    poor = np.array([20, 20, 10])
    left = poor - 25 * poor / 50
    end = _levels(RP.commune_reference_paths(three, Target("p", annual_reduction=1.0)), 2030)
    assert_allclose(end["reference_level"], left / np.array([100, 200, 200]), atol=1e-15)
    with pytest.raises(ValueError, match="'share_of_poor' is the proportional rule when households are held fixed"):
        RP.commune_reference_paths(three, Target("p", annual_reduction=1.0), rule="share_of_poor")


def test_floor_passes_the_rest_on_by_hand(three):
    r = RP.commune_reference_paths(three, Target("p", annual_reduction=1.0), floor=0.03)
    # 2029 (ratio 0.6): C reaches 5% x 0.6 = 3%, the floor itself, which is not passing it.
    y29 = _levels(r, 2029)
    assert_allclose(y29["reference_level"], [0.12, 0.06, 0.03], atol=1e-15)
    assert not y29["at_floor"].any()
    # 2030: C would be 2.5%; held at 3% it keeps 6 poor instead of 5.  The province keeps 500 x 5% = 25,
    # so A and B keep 25 - 6 = 19 of their 40: each at 19/40 = 0.475 of its start, A 9.5%, B 4.75%.
    y30 = _levels(r, 2030)
    assert_allclose(y30["reference_level"], [0.095, 0.0475, 0.03], atol=1e-15)
    assert y30["at_floor"].tolist() == [False, False, True]
    # Falls: A 20 - 9.5, B 20 - 9.5, C 10 - 6 = 10.5 + 10.5 + 4 = 25.
    assert_allclose(y30["share_of_province_reduction"], [0.42, 0.42, 0.16], atol=1e-12)
    p = r.province.set_index("year")
    assert_allclose(
        p.loc[2030, ["province_level", "reference_mean", "floors_level", "common_fall"]].to_numpy(float),
        [0.05, 0.05, 0.03, 0.525],
        atol=1e-15,
    )
    assert p["communes_at_floor"].tolist() == [0, 0, 0, 0, 0, 1] and p["attainable"].all()


def test_points_rule_by_hand(three):
    r = RP.commune_reference_paths(three, Target("p", annual_reduction=1.2), rule="points")
    # 2029: the province falls 4.8 points to 5.2%; every commune falls 4.8: 15.2, 5.2, 0.2%
    # (15.2 + 10.4 + 0.4 = 26 poor = 500 x 5.2%).
    assert_allclose(_levels(r, 2029)["reference_level"], [0.152, 0.052, 0.002], atol=1e-15)
    # 2030: 6 points would take C to -1%; held at 0, A and B keep 500 x 4% = 20 poor:
    # 100 (20% - d) + 200 (10% - d) = 40 - 300 d = 20, d = 1/15: A 13.33%, B 3.33%.
    y30 = _levels(r, 2030)
    assert_allclose(y30["reference_level"], [0.2 - 1 / 15, 0.1 - 1 / 15, 0.0], atol=1e-15)
    assert y30["at_floor"].tolist() == [False, False, True]
    assert_allclose(r.province.set_index("year").loc[2030, "common_fall"], 1 / 15, atol=1e-15)


def test_unattainable_above_the_floors_is_stated(three):
    # 2 points a year from 10%: 8, 6, 4, 2, 0%.  With a 3% floor the communes cannot go below 3% on average.
    r = RP.commune_reference_paths(three, Target("p", annual_reduction=2.0), floor=0.03)
    p = r.province.set_index("year")
    assert p["attainable"].tolist() == [True, True, True, True, False, False]
    # 2028 (4%): C would be 2%, held at 3% (6 poor); A and B keep 20 - 6 = 14 of 40: A 7%, B 3.5%.
    assert_allclose(_levels(r, 2028)["reference_level"], [0.07, 0.035, 0.03], atol=1e-15)
    # 2029-2030: every commune at its floor, 3% on average, above the 2% and 0% asked.
    late = r.paths[r.paths["year"] >= 2029]
    assert_allclose(late["reference_level"], 0.03, atol=1e-15)
    assert not late["attainable"].any()
    assert_allclose(p.loc[[2029, 2030], "reference_mean"], [0.03, 0.03], atol=1e-15)
    assert "unattainable above the floors in 2029, 2030" in r.summary()


def test_already_met_communes_ask_for_nothing():
    # A (100 households, 20%), B (100, 0.4%) and C (100, 0%) with a 0.5% floor: B and C are already met
    # and stay at their start.  Province 20.4 / 300 = 6.8% falls 5 points to 1.8%: 5.4 poor households,
    # 0.4 of them in B, so A keeps 5 poor: 5%.
    b = pd.DataFrame(
        {"commune_code": ["A", "B", "C"], "households": [100, 100, 100], "start_level": [0.20, 0.004, 0.0]}
    )
    r = RP.commune_reference_paths(b, Target("p", annual_reduction=1.0), floor=0.005)
    wide = r.paths.pivot(index="commune_code", columns="year", values="reference_level")
    assert_allclose(wide.loc[["B", "C"]].to_numpy(), [[0.004] * 6, [0.0] * 6])
    assert_allclose(wide.loc["A", 2030], 0.05, atol=1e-15)
    end = _levels(r, 2030)
    assert end["already_met"].tolist() == [False, True, True]
    assert end["at_floor"].tolist() == [False, False, False] and end["attainable"].all()
    assert_allclose(end["share_of_province_reduction"], [1, 0, 0], atol=1e-12)
    assert end["rank"].tolist() == [1, 2, 3]
    assert Target("p", annual_reduction=1, floor=0.005).already_met([0.2, 0.004, 0.0, 0.005]).tolist() == [
        False,
        True,
        True,
        True,
    ]
    assert Target("c", annual_reduction=1, direction="increase", floor=0.9).already_met([0.95, 0.5]).tolist() == [
        True,
        False,
    ]


@settings(max_examples=80, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(1, 10_000), st.floats(0, 1)), min_size=1, max_size=30),
    reduction=st.floats(0, 5),
)
def test_proportional_paths_add_up_to_the_province_path(data, reduction):
    households = np.array([h for h, _ in data], dtype=float)
    start = np.array([s for _, s in data])
    b = pd.DataFrame(
        {"commune_code": [f"{i:05d}" for i in range(len(data))], "households": households, "start_level": start}
    )
    t = Target("p", annual_reduction=reduction)
    r = RP.commune_reference_paths(b, t)
    p0 = np.average(start, weights=households)
    province = t.path(p0)["target_level"].to_numpy()
    wide = r.paths.pivot(index="commune_code", columns="year", values="reference_level").to_numpy()
    assert_allclose(np.average(wide, axis=0, weights=households), province, rtol=0, atol=1e-12)
    if p0 > 0:  # the same relative fall everywhere
        assert_allclose(wide, np.outer(start, province / p0), rtol=0, atol=1e-12)
    assert not r.paths["at_floor"].any()


@settings(max_examples=80, deadline=None)
@given(
    data=st.lists(st.tuples(st.integers(1, 10_000), st.floats(0, 1)), min_size=1, max_size=30),
    reduction=st.floats(0, 5),
    floor=st.floats(0, 0.2),
    rule=st.sampled_from(RP.REFERENCE_RULES),
)
def test_paths_with_a_floor_add_up_or_say_they_cannot(data, reduction, floor, rule):
    households = np.array([h for h, _ in data], dtype=float)
    start = np.array([s for _, s in data])
    b = pd.DataFrame(
        {"commune_code": [f"{i:05d}" for i in range(len(data))], "households": households, "start_level": start}
    )
    r = RP.commune_reference_paths(b, Target("p", annual_reduction=reduction), rule=rule, floor=floor)
    p, paths = r.province, r.paths
    ok = p["attainable"].to_numpy()
    assert_allclose(p.loc[ok, "reference_mean"], p.loc[ok, "province_level"], rtol=0, atol=1e-12)
    low = np.minimum(paths["start_level"], floor)
    assert (paths["reference_level"] >= low - 1e-12).all()
    assert (paths["reference_level"] <= paths["start_level"] + 1e-12).all()
    wide = paths.pivot(index="commune_code", columns="year", values="reference_level").to_numpy()
    assert (np.diff(wide, axis=1) <= 1e-12).all()
    stuck = paths["year"].isin(p.loc[~ok, "year"])
    assert_allclose(paths.loc[stuck, "reference_level"], low[stuck], atol=1e-12)
    assert (paths["already_met"] == (paths["start_level"] <= floor + 1e-12)).all()


def test_reference_paths_read_a_baseline(tiny):
    t = Target("p", annual_reduction=1)
    b = T.baseline(tiny, [t, Target("q", annual_reduction=2)], min_cell=1)
    r = RP.commune_reference_paths(b, t)
    # 01: 2 of 4 poor (50%), 02: 1 of 4 (25%); province 37.5% -> 32.5% in 2030, ratio 13/15.
    assert_allclose(_levels(r, 2030)["reference_level"], [0.5 * 13 / 15, 0.25 * 13 / 15], atol=1e-15)
    assert r.paths["households"].tolist() == [4.0] * 12
    assert r.to_frame().equals(r.paths) and r.to_frame() is not r.paths


_ABC = pd.DataFrame({"commune_code": ["A", "B"], "households": [10, 20], "start_level": [0.2, 0.1]})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            dict(target=Target("d", "disadvantaged", annual_reduction=3, scope="commune")),
            "'target' must have scope 'group' .* got 'd' with scope 'commune'",
        ),
        (
            dict(target=Target("c", annual_reduction=3, direction="increase")),
            "'target' must be a decrease \\(a poverty rate\\), got 'c' with direction 'increase'",
        ),
        (dict(rule="equal"), "'rule' must be one of \\('proportional', 'points'\\), got 'equal'"),
        (dict(floor=5), "'floor' is a share in \\[0, 1\\] \\(0.005 for 0.5%\\), got 5"),
        (
            dict(baseline=_ABC.drop(columns="households")),
            "'baseline' lacks the columns \\['households'\\]; it needs commune_code, households and start_level",
        ),
        (
            dict(baseline=_ABC.assign(households=[10, -3])),
            "'baseline' column 'households' must be a number of households > 0: commune 'B' has -3",
        ),
        (
            dict(baseline=_ABC.assign(start_level=[0.2, 10.29])),
            "'baseline' column 'start_level' must be a share in \\[0, 1\\] \\(0.10 for 10%\\): commune 'B' has 10.29",
        ),
        (
            dict(baseline=_ABC.assign(commune_code=["A", "A"])),
            "'baseline' has more than one row for the communes \\['A'\\]",
        ),
        (dict(baseline=_ABC.assign(target="other", kind="commune")), "'baseline' has no commune rows for target 'p'"),
        (
            dict(target=Target("p", annual_reduction=1, start_level=0.1029)),
            "target 'p': its 'start_level' is 0.1029 but its communes' household-weighted start level is 0.1333",
        ),
    ],
)
def test_reference_path_errors(kwargs, message):
    args = {"baseline": _ABC, "target": Target("p", annual_reduction=1)} | kwargs
    with pytest.raises(ValueError, match=message):
        RP.commune_reference_paths(args.pop("baseline"), args.pop("target"), **args)


def test_reference_path_type_errors():
    with pytest.raises(TypeError, match="'target' should be a Target, got str"):
        RP.commune_reference_paths(_ABC, "province_high")
    with pytest.raises(TypeError, match="'baseline' should be a DataFrame, got dict"):
        RP.commune_reference_paths({"commune_code": ["A"]}, Target("p", annual_reduction=1))


def test_province_target_split_on_the_synthetic_panel(small_panel, small_classified):
    dis = frozenset(small_panel.communes.loc[small_panel.communes["disadvantaged"], "commune_code"])
    b = T.baseline(
        small_classified,
        T.DEFAULT_TARGETS,
        disadvantaged=dis,
        minority_areas=T.minority_areas(small_classified),
        standard="2026-2030",
    )
    high = {t.name: t for t in T.DEFAULT_TARGETS}["province_high"]
    group = b[(b["target"] == "province_high") & (b["kind"] == "group")]
    province = high.path(group["start_level"].item())["target_level"].to_numpy()
    r = RP.commune_reference_paths(b, high)
    communes = b[(b["target"] == "province_high") & (b["kind"] == "commune")]
    assert r.paths["commune_code"].nunique() == len(communes)
    assert_allclose(r.province["reference_mean"], province, rtol=0, atol=1e-12)
    assert not r.paths["at_floor"].any() and r.paths["attainable"].all()
    # Already met: exactly the communes with no poor household at the start (the floor is 0).
    assert (r.paths["already_met"] == (r.paths["start_level"] == 0)).all()
    end = r.paths[r.paths["year"] == 2030]
    assert_allclose(end["share_of_province_reduction"].sum(), 1.0)
    assert sorted(end["rank"]) == list(range(1, len(end) + 1))
    # Every commune applying the province's 1.5 points itself (the literal reading) would not add up.
    held = high.levels(end["start_level"], [2030])[0][:, 0]
    assert np.average(held, weights=end["households"]) > province[-1] + 0.001
