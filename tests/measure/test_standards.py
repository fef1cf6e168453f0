from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis.data.schema import DEPRIVATIONS
from povanalysis.measure.standards import (
    CLASSES,
    STANDARDS,
    classify,
    deprivation_count,
    get_standard,
    standard_for_review,
)


def household(income, area="rural", deprived=(), **extra):
    row = {"area": area, "income_pc": income}
    row.update({d: int(d in deprived) for d in DEPRIVATIONS})
    row.update(extra)
    return row


THREE = ("d_water", "d_latrine", "d_housing_quality")
TWO = ("d_water", "d_latrine")


@pytest.mark.parametrize(
    "income, area, deprived, expected",
    [
        (1_500_000, "rural", THREE, "poor"),  # at the line and 3 deprivations: poor
        (1_500_000, "rural", TWO, "near_poor"),  # at the line, 2 deprivations: near-poor
        (1_500_001, "rural", THREE, "average_living"),
        (1_499_999.99, "rural", THREE, "poor"),
        (2_250_000, "rural", (), "average_living"),  # at the band: average living
        (2_250_001, "rural", (), "not_poor"),
        (2_000_000, "urban", THREE, "poor"),
        (2_000_000.01, "urban", THREE, "average_living"),
        (1_900_000, "urban", TWO, "near_poor"),
        (3_000_000, "urban", (), "average_living"),
        (3_000_000.5, "urban", (), "not_poor"),
        (0, "rural", (), "near_poor"),
    ],
)
def test_decree_07_boundaries(income, area, deprived, expected):
    hh = pd.DataFrame([household(income, area, deprived)])
    assert classify(hh, standard="2022-2025").iloc[0] == expected


@pytest.mark.parametrize(
    "income, area, deprived, expected",
    [
        (2_200_000, "rural", ("d_internet", "d_waste", "d_water"), "poor"),
        (2_200_000, "rural", ("d_information_means", "d_water", "d_latrine"), "near_poor"),  # indicator removed
        (2_200_001, "rural", THREE, "average_living"),
        (2_800_000, "urban", THREE, "poor"),
        (1_600_000, "rural", ("d_internet", "d_waste"), "near_poor"),
    ],
)
def test_decree_351_boundaries(income, area, deprived, expected):
    hh = pd.DataFrame([household(income, area, deprived)])
    assert classify(hh, standard="2026-2030").iloc[0] == expected


def test_decree_07_ignores_the_new_indicators():
    hh = pd.DataFrame([household(1_000_000, "rural", ("d_internet", "d_waste", "d_water"))])
    assert classify(hh, standard="2022-2025").iloc[0] == "near_poor"


def test_standards_as_data():
    d07, d351 = get_standard("2022-2025"), get_standard("2026-2030")
    assert (d07.income_line["rural"], d07.income_line["urban"]) == (1_500_000, 2_000_000)
    assert (d07.average_band["rural"], d07.average_band["urban"]) == (2_250_000, 3_000_000)
    assert (d351.income_line["rural"], d351.income_line["urban"]) == (2_200_000, 2_800_000)
    assert len(d07.columns) == 12 and len(d07.dimensions) == 6
    assert "d_information_means" not in d351.columns
    assert {"d_internet", "d_waste"} <= set(d351.columns)
    assert len(get_standard("2026-2030-draft12").columns) == 12
    assert d07.k == pytest.approx(0.25)


def test_result_is_ordered_categorical_aligned_to_input():
    hh = pd.DataFrame([household(1_000_000, deprived=THREE), household(5_000_000)], index=[10, 3])
    out = classify(hh, standard="2022-2025")
    assert list(out.index) == [10, 3]
    assert out.cat.ordered and list(out.cat.categories) == list(CLASSES)
    assert (out < "average_living").tolist() == [True, False]


def test_overridable_average_band():
    std = replace(get_standard("2026-2030"), average_band={"rural": 3_000_000, "urban": 4_000_000})
    hh = pd.DataFrame([household(3_100_000)])
    assert classify(hh, standard=std).iloc[0] == "not_poor"
    assert classify(hh, standard="2026-2030").iloc[0] == "average_living"
    with pytest.raises(ValueError, match="average_band\\['rural'\\] is below the income line"):
        replace(get_standard("2022-2025"), average_band={"rural": 1_000_000, "urban": 3_000_000})


def test_review_year_mapping_default_and_override():
    assert standard_for_review(2021) == "2022-2025"
    assert standard_for_review(2025) == "2022-2025"
    assert standard_for_review(2026) == "2026-2030"
    assert standard_for_review(2025, mapping={2025: "2026-2030"}) == "2026-2030"
    with pytest.raises(ValueError, match="no poverty standard is set for review year 2019"):
        standard_for_review(2019)


@pytest.mark.parametrize(
    "column, value, message",
    [
        ("d_water", np.nan, "column 'd_water': deprivation indicators must be 0 or 1, got nan at row 0"),
        ("d_water", 2, "column 'd_water': deprivation indicators must be 0 or 1, got 2 at row 0"),
        ("income_pc", -5, "column 'income_pc' must be a non-negative amount, got -5 at row 0"),
        ("income_pc", np.nan, "column 'income_pc' must be a non-negative amount, got nan"),
        ("area", "town", "column 'area' must be one of \\('rural', 'urban'\\), got 'town' at row 0"),
    ],
)
def test_bad_values_are_errors_never_not_poor(column, value, message):
    hh = pd.DataFrame([household(1_000_000, deprived=THREE)])
    hh[column] = hh[column].astype(object)
    hh.loc[0, column] = value
    with pytest.raises(ValueError, match=message):
        classify(hh, standard="2022-2025")


def test_missing_columns_and_unknown_standard():
    hh = pd.DataFrame([household(1_000_000)]).drop(columns=["d_telecom"])
    with pytest.raises(ValueError, match="lack the columns \\['d_telecom'\\]"):
        classify(hh, standard="2022-2025")
    with pytest.raises(ValueError, match="standard must be one of"):
        classify(hh, standard="2016-2020")
    with pytest.raises(TypeError, match="'households' should be a DataFrame, got list"):
        classify([1, 2], standard="2022-2025")


rows = st.lists(
    st.tuples(
        st.integers(0, 5_000_000),
        st.sampled_from(["rural", "urban"]),
        st.lists(st.booleans(), min_size=14, max_size=14),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rows, st.sampled_from(sorted(STANDARDS)), st.integers(0, 2_000_000))
def test_more_income_never_a_worse_class(data, key, raise_by):
    hh = pd.DataFrame([{"income_pc": y, "area": a, **dict(zip(DEPRIVATIONS, map(int, d)))} for y, a, d in data])
    before = classify(hh, standard=key)
    after = classify(hh.assign(income_pc=hh["income_pc"] + raise_by), standard=key)
    assert (after.cat.codes >= before.cat.codes).all()


@settings(max_examples=60, deadline=None)
@given(rows, st.sampled_from(sorted(STANDARDS)), st.integers(0, 13))
def test_an_extra_deprivation_never_a_better_class(data, key, j):
    hh = pd.DataFrame([{"income_pc": y, "area": a, **dict(zip(DEPRIVATIONS, map(int, d)))} for y, a, d in data])
    before = classify(hh, standard=key)
    hh2 = hh.copy()
    hh2[DEPRIVATIONS[j]] = 1
    after = classify(hh2, standard=key)
    assert (after.cat.codes <= before.cat.codes).all()
    count = deprivation_count(hh2, standard=key)
    poor = (after == "poor").to_numpy()
    line = np.where(
        hh2["area"] == "urban", get_standard(key).income_line["urban"], get_standard(key).income_line["rural"]
    )
    assert np.array_equal(poor, (hh2["income_pc"].to_numpy() <= line) & (count.to_numpy() >= 3))
