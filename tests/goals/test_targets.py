"""Targets as data: paths, populations, baselines and the conflicts between targets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from povanalysis.goals import targets as T
from povanalysis.goals.targets import Target
from povanalysis.measure.standards import classify
from povanalysis.reports.prose import goals as PG


def test_points_path_by_hand():
    # 10.29% falling 1.5 points a year from the 2025 review: 8.79, 7.29, 5.79, 4.29, 2.79.
    path = Target("p", annual_reduction=1.5, start_level=0.1029).path()
    assert path["year"].tolist() == [2025, 2026, 2027, 2028, 2029, 2030]
    assert_allclose(path["target_level"], [0.1029, 0.0879, 0.0729, 0.0579, 0.0429, 0.0279], atol=1e-12)
    assert not path["at_bound"].any()


def test_relative_path_by_hand():
    # 10% falling 10% a year: 9%, 8.1%, 7.29%, 6.561%, 5.9049% in 2030.
    path = Target("r", annual_reduction=10, unit="relative", start_level=0.10).path()
    assert_allclose(path["target_level"], [0.10, 0.09, 0.081, 0.0729, 0.06561, 0.059049], atol=1e-12)


def test_floor_holds_the_path_at_zero():
    # A commune at 2% cannot fall 3 points a year: the path stops at 0, never negative.
    path = Target("c", annual_reduction=3, start_level=0.02).path()
    assert_allclose(path["target_level"], [0.02, 0, 0, 0, 0, 0], atol=1e-12)
    assert_allclose(path["unbounded"], [0.02, -0.01, -0.04, -0.07, -0.10, -0.13], atol=1e-12)
    assert path["at_bound"].tolist() == [False, True, True, True, True, True]
    floored = Target("c", annual_reduction=3, start_level=0.05, floor=0.01).path()
    assert_allclose(floored["target_level"], [0.05, 0.02, 0.01, 0.01, 0.01, 0.01], atol=1e-12)


def test_reaching_the_floor_exactly_is_not_passing_it():
    path = Target("c", annual_reduction=3, start_level=0.03).path()
    assert path["at_bound"].tolist() == [False, False, True, True, True, True]


def test_end_level_path_is_linear_and_a_ceiling_when_already_met():
    below = Target("m", end_level=0.10, start_level=0.20).path()
    assert_allclose(below["target_level"], [0.20, 0.18, 0.16, 0.14, 0.12, 0.10], atol=1e-12)
    met = Target("m", end_level=0.10, start_level=0.05).path()
    assert_allclose(met["target_level"], [0.10] * 6)
    later = Target("m", end_level=0.10, start_level=0.20).path(years=[2031, 2032])
    assert_allclose(later["target_level"], [0.10, 0.10])


def test_increasing_target_is_capped_at_its_ceiling():
    t = Target("cover", annual_reduction=5, direction="increase", start_level=0.85)
    assert_allclose(t.path()["target_level"], [0.85, 0.90, 0.95, 1.0, 1.0, 1.0], atol=1e-12)
    assert t.meets(0.97, 0.95) and not t.meets(0.90, 0.95)
    assert Target("p", annual_reduction=1).meets(0.02, 0.03)


@settings(max_examples=60, deadline=None)
@given(start=st.floats(0, 1), reduction=st.floats(0, 20))
def test_points_path_is_max_of_zero_and_the_line(start, reduction):
    t = Target("p", annual_reduction=reduction)
    level = t.path(start)["target_level"].to_numpy()
    expected = np.maximum(start - reduction / 100 * np.arange(6), 0)
    assert_allclose(level, expected, atol=1e-12)
    assert (np.diff(level) <= 1e-15).all() and (level >= 0).all()


@settings(max_examples=60, deadline=None)
@given(start=st.floats(0, 1), end=st.floats(0, 1), relative=st.floats(0, 99))
def test_end_level_and_relative_paths_properties(start, end, relative):
    level = Target("e", end_level=end).path(start)["target_level"].to_numpy()
    if start > end:  # falls linearly to the end level
        assert_allclose(level, start + (end - start) * np.arange(6) / 5, atol=1e-12)
    else:  # already met: the level is a ceiling
        assert_allclose(level, end)
    assert (np.diff(level) <= 1e-15).all()
    rel = Target("r", annual_reduction=relative, unit="relative").path(start)["target_level"].to_numpy()
    assert_allclose(rel, start * (1 - relative / 100) ** np.arange(6), atol=1e-12)
    assert (rel >= 0).all()


def test_path_needs_a_start_level():
    with pytest.raises(ValueError, match="Target 'p' has no start level"):
        Target("p", annual_reduction=1).path()
    with pytest.raises(ValueError, match="years must be from its start year 2025, got 2024"):
        Target("p", annual_reduction=1).path(0.1, years=[2024])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(), "give exactly one of 'annual_reduction' and 'end_level', got None and None"),
        (dict(annual_reduction=1, end_level=0.1), "give exactly one of 'annual_reduction' and 'end_level'"),
        (dict(annual_reduction=-1), "'annual_reduction' must be a finite number >= 0, got -1"),
        (dict(annual_reduction=100, unit="relative"), "a relative 'annual_reduction' is a percent below 100, got 100"),
        (dict(annual_reduction=1, unit="percent"), "'unit' must be one of \\('points', 'relative'\\), got 'percent'"),
        (
            dict(annual_reduction=1, start_level=10.29),
            "'start_level' is a share in \\[0, 1\\] \\(0.10 for 10%\\), got 10.29",
        ),
        (dict(end_level=10), "'end_level' is a share in \\[0, 1\\]"),
        (dict(annual_reduction=1, end_year=2025), "'end_year' \\(2025\\) must be after 'start_year' \\(2025\\)"),
        (dict(annual_reduction=101), "'annual_reduction' in points must be at most 100, got 101"),
        (dict(annual_reduction=1, column="flag"), "'column' is only for population 'column', got population 'all'"),
        (dict(annual_reduction=1, population="communes"), "population 'communes' needs a non-empty tuple 'communes'"),
        (dict(annual_reduction=1, communes=("01",)), "'communes' is only for population 'communes'"),
        (dict(annual_reduction=1, population="column"), "population 'column' needs 'column'"),
        (
            dict(annual_reduction=1, population="minority", scope="commune"),
            "scope 'commune' needs a population of whole",
        ),
        (dict(annual_reduction=1, population="everyone"), "'population' must be one of"),
        (dict(annual_reduction=1, direction="down"), "'direction' must be one of"),
        (dict(annual_reduction=1, start_year=2025.0), "'start_year' must be an integer year, got 2025.0"),
    ],
)
def test_target_validation(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Target("t", **kwargs)


def test_target_needs_a_name():
    with pytest.raises(ValueError, match="Target 'name' must be a non-empty string, got ''"):
        Target("", annual_reduction=1)


def test_default_targets_mark_the_unconfirmed_ones():
    by = {t.name: t for t in T.DEFAULT_TARGETS}
    assert (by["province_low"].annual_reduction, by["province_high"].annual_reduction) == (1.0, 1.5)
    assert by["disadvantaged"].annual_reduction == 3.0 and by["disadvantaged"].scope == "commune"
    assert (by["minority_low"].annual_reduction, by["minority_high"].annual_reduction) == (3.0, 4.0)
    assert by["national_minority_areas"].end_level == 0.10
    assert by["national_poor_communes"].end_level == 0.15
    unconfirmed = {n for n, t in by.items() if not t.confirmed}
    assert unconfirmed == {"province_low", "province_high", "disadvantaged", "minority_low", "minority_high"}
    assert all("UNCONFIRMED" in by[n].source for n in unconfirmed)
    assert all(t.unit == "points" and t.start_year == 2025 and t.end_year == 2030 for t in T.DEFAULT_TARGETS)
    assert by["minority_low"].label("vi") == "Hộ DTTS: giảm 3,0 điểm/năm"


def test_default_targets_are_overridable():
    ts = {t.name: t for t in T.default_targets(province=(0.5, 2.0), disadvantaged=4, end_year=2029)}
    assert ts["province_high"].annual_reduction == 2.0 and ts["disadvantaged"].annual_reduction == 4
    assert ts["national_minority_areas"].end_year == 2029
    custom = dataclasses.replace(ts["province_low"], annual_reduction=1.2)
    assert custom.annual_reduction == 1.2
    with pytest.raises(
        ValueError,
        match="'province' must be two numbers \\(low, high\\) of points a year, low <= high, got '\\[1.0, 2.0\\]'",
    ):
        T.default_targets(province="[1.0, 2.0]")
    with pytest.raises(ValueError, match="'minority' must be two numbers"):
        T.default_targets(minority=(4, 3))


def test_select_each_population(tiny):
    sel = {
        "all": Target("a", annual_reduction=1),
        "disadvantaged": Target("d", "disadvantaged", annual_reduction=1),
        "minority": Target("m", "minority", annual_reduction=1),
        "minority_area": Target("ma", "minority_area", end_level=0.1),
        "communes": Target("c", "communes", annual_reduction=1, communes=("02",)),
        "column": Target("f", "column", annual_reduction=1, column="flag"),
    }
    got = {k: T.select(tiny, t, disadvantaged={"01"}, minority_areas={"02"}).tolist() for k, t in sel.items()}
    assert got["all"] == [True] * 8
    assert got["disadvantaged"] == [True] * 4 + [False] * 4
    assert got["minority"] == [True, True, True, False, False, False, False, False]
    assert got["minority_area"] == got["communes"] == [False] * 4 + [True] * 4
    assert got["column"] == [True] * 4 + [False] * 4


def test_select_errors(tiny):
    with pytest.raises(ValueError, match="selects population 'disadvantaged' but 'disadvantaged' is empty"):
        T.select(tiny, Target("d", "disadvantaged", annual_reduction=1))
    with pytest.raises(ValueError, match="column 'ethnicity' must be boolean, got str"):
        T.select(tiny, Target("f", "column", annual_reduction=1, column="ethnicity"))
    with pytest.raises(ValueError, match="selects on column 'nope', which the data lack"):
        T.select(tiny, Target("f", "column", annual_reduction=1, column="nope"))
    with pytest.raises(ValueError, match="the data have no 'commune_code' column"):
        T.select(tiny.drop(columns="commune_code"), Target("c", "communes", annual_reduction=1, communes=("01",)))
    with pytest.raises(TypeError, match="'target' should be a Target, got str"):
        T.select(tiny, "all")


def test_minority_needs_an_ethnicity_column(tiny):
    with pytest.raises(ValueError, match="the data need a 'minority' or an 'ethnicity' column"):
        T.select(tiny.drop(columns="ethnicity"), Target("m", "minority", annual_reduction=1))


def test_minority_areas_threshold(tiny):
    assert T.minority_areas(tiny) == frozenset({"01"})
    assert T.minority_areas(tiny, threshold=0.8) == frozenset()
    with pytest.raises(ValueError, match="'classified' has no households at review year 2024"):
        T.minority_areas(tiny, year=2024)
    with pytest.raises(ValueError, match="'threshold' is a share in \\(0, 1\\], got 15"):
        T.minority_areas(tiny, threshold=15)
    with pytest.raises(ValueError, match="'classified' has no column 'commune_code'"):
        T.minority_areas(tiny.drop(columns="commune_code"))


def test_baseline_by_hand(tiny):
    ts = [
        Target("p", annual_reduction=1),
        Target("m", "minority", annual_reduction=3),
        Target("d", "disadvantaged", annual_reduction=3, scope="commune", start_level=0.4),
    ]
    b = T.baseline(tiny, ts, disadvantaged={"01"}, min_cell=3)
    g = b[b["kind"] == "group"].set_index("target")
    assert g.loc["p", ["households", "poor"]].tolist() == [8, 3] and g.loc["p", "start_level"] == 3 / 8
    assert g.loc["m", ["households", "poor"]].tolist() == [3, 2]
    assert g.loc["d", "start_level"] == 0.4 and g.loc["d", "level_source"] == "given"
    c = b[b["kind"] == "commune"]
    assert c.groupby("target").size().to_dict() == {"d": 1, "p": 2}  # no commune rows for household populations
    assert c.loc[c["target"] == "d", "start_level"].tolist() == [0.5]  # commune rows always from data
    assert set(b["standard"]) == {"2022-2025"}
    assert b.loc[b["kind"] == "group", "suppressed"].tolist() == [False, False, False]


def test_baseline_on_the_rebased_standard_counts_the_reclassified_households(small_classified):
    hh = small_classified[small_classified["review_year"] == 2025]
    b = T.baseline(small_classified, [Target("p", annual_reduction=1)], standard="2026-2030")
    expected = int((classify(hh, standard="2026-2030") == "poor").sum())
    assert b.loc[b["kind"] == "group", "poor"].item() == expected
    assert b.loc[b["kind"] == "commune", "poor"].sum() == expected
    assert set(b["standard"]) == {"2026-2030"}


def test_baseline_errors(tiny):
    with pytest.raises(ValueError, match="has no households at its start year 2024; give the target a 'start_level'"):
        T.baseline(tiny, [Target("p", annual_reduction=1, start_year=2024)])
    with pytest.raises(ValueError, match="'targets' has duplicate names \\['p'\\]"):
        T.baseline(tiny, [Target("p", annual_reduction=1), Target("p", annual_reduction=2)])
    with pytest.raises(ValueError, match="has no column 'poverty_class'"):
        T.baseline(tiny.drop(columns="poverty_class"), [Target("p", annual_reduction=1)])
    with pytest.raises(TypeError, match="'targets'\\[0\\] should be a Target, got str"):
        T.baseline(tiny, ["p"])
    with pytest.raises(ValueError, match="'classified' has no column 'review_year'"):
        T.baseline(tiny.drop(columns="review_year"), [Target("p", annual_reduction=1)])
    with pytest.raises(
        ValueError, match="'baseline' lacks the columns \\['start_level'\\]; build it with targets.baseline"
    ):
        T.target_paths(
            [Target("p", annual_reduction=1)],
            T.baseline(tiny, [Target("p", annual_reduction=1)]).drop(columns="start_level"),
        )


def test_target_paths_long_form(tiny):
    ts = [Target("d", "disadvantaged", annual_reduction=3, scope="commune")]
    b = T.baseline(tiny, ts, disadvantaged={"01", "02"}, min_cell=1)
    p = T.target_paths(ts, b)
    c02 = p[p["commune_code"] == "02"]
    assert_allclose(c02["target_level"], [0.25, 0.22, 0.19, 0.16, 0.13, 0.10], atol=1e-12)
    assert len(p) == 3 * 6
    with pytest.raises(ValueError, match="'baseline' has no rows for the targets \\['x'\\]"):
        T.target_paths([Target("x", annual_reduction=1)], b)


def _base(rows):
    return pd.DataFrame(rows, columns=["target", "kind", "commune_code", "households", "start_level"])


def test_unattainable_commune_is_stated_with_the_year_it_hits_the_floor():
    ts = [Target("d", "communes", annual_reduction=3, scope="commune", communes=("05500", "05518", "05467"))]
    b = _base(
        [
            ("d", "group", None, 300, 0.03),
            ("d", "commune", "05500", 100, 0.02),
            ("d", "commune", "05518", 100, 0.03),
            ("d", "commune", "05467", 100, 0.14),
        ]
    )
    c = PG.conflict_messages(T.check_consistency(ts, b), ts)
    assert c[["kind", "commune_code", "year"]].to_dict("records") == [
        {"kind": "unattainable", "commune_code": "05467", "year": 2030},
        {"kind": "unattainable", "commune_code": "05500", "year": 2026},
        {"kind": "unattainable", "commune_code": "05518", "year": 2027},
    ]
    msg = c.set_index("commune_code").loc["05500", "message"]
    assert msg.startswith("Phường Tích Lương (05500): from 2.00% in 2025, a fall of 3.0 points a year")
    assert "unattainable as written" in msg
    vi = PG.conflict_messages(T.check_consistency(ts, b), ts, lang="vi")
    vi = vi.set_index("commune_code").loc["05500", "message"]
    assert "mục tiêu không thể đạt như đã viết" in vi and "2,00%" in vi


def test_insufficient_pace_between_two_commune_targets():
    ts = [
        Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500",)),
        Target("exit", "communes", end_level=0.15, scope="commune", communes=("05500",)),
    ]
    b = _base(
        [
            ("three", "group", None, 100, 0.40),
            ("three", "commune", "05500", 100, 0.40),
            ("exit", "group", None, 100, 0.40),
            ("exit", "commune", "05500", 100, 0.40),
        ]
    )
    c = T.check_consistency(ts, b)
    assert c["kind"].tolist() == ["insufficient"]
    assert c["other"].item() == "exit" and c["year"].item() == 2030
    assert_allclose(c["value"].item(), 0.25)  # 40% - 5 x 3 points


def test_implied_range_when_a_subgroup_target_outruns_the_province_range():
    # Minority households are half the province; 30% falling 4 points a year lowers the province
    # rate by at least 0.5 x 4 = 2.0 points a year, above the 1.5 of the range 1-1.5.
    ts = [
        Target("lo", annual_reduction=1.0),
        Target("hi", annual_reduction=1.5),
        Target("m", "minority", annual_reduction=4.0),
    ]
    b = _base([("lo", "group", None, 1000, 0.2), ("hi", "group", None, 1000, 0.2), ("m", "group", None, 500, 0.3)])
    c = PG.conflict_messages(T.check_consistency(ts, b), ts)
    assert c["kind"].tolist() == ["implied_range"]
    assert c["other"].item() == "hi"
    assert_allclose(c["value"].item(), 2.0)
    assert "consistent only if read as a minimum" in c["message"].item()
    b2 = _base([("lo", "group", None, 1000, 0.2), ("hi", "group", None, 1000, 0.2), ("m", "group", None, 300, 0.3)])
    assert T.check_consistency(ts, b2).empty  # 0.3 x 4 = 1.2 points: inside the range


def test_empty_population_is_a_conflict():
    ts = [Target("m", "minority", annual_reduction=3)]
    c = PG.conflict_messages(T.check_consistency(ts, _base([("m", "group", None, 0, np.nan)])), ts)
    assert c["kind"].tolist() == ["empty_population"]
    assert c["message"].item() == "Target 'm': no household of its population at the 2025 review."


def test_default_targets_on_the_synthetic_panel_state_their_conflicts(small_panel, small_classified):
    dis = frozenset(small_panel.communes.loc[small_panel.communes["disadvantaged"], "commune_code"])
    areas = T.minority_areas(small_classified)
    b = T.baseline(small_classified, T.DEFAULT_TARGETS, disadvantaged=dis, minority_areas=areas)
    c = PG.conflict_messages(T.check_consistency(T.DEFAULT_TARGETS, b), T.DEFAULT_TARGETS)
    assert set(c["kind"]) <= {"unattainable", "insufficient", "implied_range", "empty_population"}
    # Every disadvantaged commune below 15 points in 2025 cannot fall 3 points a year to 2030.
    d = b[(b["target"] == "disadvantaged") & (b["kind"] == "commune")]
    low = set(d.loc[d["start_level"] < 0.15, "commune_code"])
    flagged = set(c.loc[(c["kind"] == "unattainable") & (c["target"] == "disadvantaged"), "commune_code"])
    assert flagged == low
    assert c["message"].str.len().gt(40).all()


def test_default_values_live_in_one_table():
    assert T.default_targets() == T.DEFAULT_TARGETS
    by = {t.name: t for t in T.default_targets(province=None, minority=(2.0, 5.0))}
    assert by["province_high"].annual_reduction == T.DEFAULT_TARGET_VALUES["province"][1]
    assert by["minority_high"].annual_reduction == 5.0
    assert by["national_poor_communes"].end_level == T.DEFAULT_TARGET_VALUES["poor_commune_exit_level"]


def test_conflicts_carry_what_their_messages_need():
    ts = [
        Target("three", "communes", annual_reduction=3, scope="commune", communes=("05500",)),
        Target("exit", "communes", end_level=0.15, scope="commune", communes=("05500",)),
    ]
    b = _base(
        [
            ("three", "group", None, 100, 0.40),
            ("three", "commune", "05500", 100, 0.40),
            ("exit", "group", None, 100, 0.40),
            ("exit", "commune", "05500", 100, 0.40),
        ]
    )
    c = T.check_consistency(ts, b)
    assert "message" not in c.columns
    assert_allclose(c["reference"].item(), 0.15)  # the level 'exit' requires in 2030
    assert T.province_range(ts) is None
    with pytest.warns(DeprecationWarning, match="conflict_messages"):
        old = T.check_consistency(ts, b, lang="en")
    assert old["message"].item() == PG.conflict_messages(c, ts)["message"].item()


def test_moved_names_still_import_with_a_warning():
    from povanalysis.goals import reference_paths as RP

    with pytest.warns(DeprecationWarning, match="moved to povanalysis.goals.reference_paths.commune_reference_paths"):
        assert T.commune_reference_paths is RP.commune_reference_paths
    with pytest.warns(DeprecationWarning, match="moved to povanalysis.reports.prose.goals.target_table"):
        assert T.to_frame is PG.target_table
    assert T.check_targets(T.DEFAULT_TARGETS[0]) == [T.DEFAULT_TARGETS[0]]
    with pytest.raises(ValueError, match="'targets' has duplicate names \\['province_low'\\]"):
        T.check_targets(T.DEFAULT_TARGETS[:1] * 2)
