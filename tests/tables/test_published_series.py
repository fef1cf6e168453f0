"""Done when: annexes of the synthetic panel's counts by old unit, written as the province writes them, read back and
re-aggregated onto the 2025 units, give the rates the microdata give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_annex

from povanalysis.data import pipeline
from povanalysis.geo import crosswalk
from povanalysis.goals.series import check_counts
from povanalysis.measure.aggregates import poverty_counts
from povanalysis.tables import read_published_series
from povanalysis.tables.annex import old_unit_counts, panel_items

YEARS = (2021, 2022, 2023, 2024, 2025)
SEED = 7


@pytest.fixture(scope="module")
def panel(classified):
    """The panel's households with an old unit each, and their counts by old unit and year."""
    return old_unit_counts(classified, seed=SEED)


@pytest.fixture(scope="module")
def annexes(panel, tmp_path_factory):
    _, by_old = panel
    folder = tmp_path_factory.mktemp("annexes")
    paths = []
    for year in YEARS:
        # One year arrives as a plain CSV saved by a Vietnamese Excel (Windows-1258), the others as workbooks.
        name = f"annex_{year}.csv" if year == 2022 else f"annex_{year}.xlsx"
        paths.append(write_annex(folder / name, panel_items(by_old, year), year=year, encoding="cp1258"))
    return paths


def test_annexes_of_the_panel_give_the_microdata_rates_by_new_unit(panel, annexes, classified):
    households, by_old = panel
    series = read_published_series(annexes)
    assert series.years == list(YEARS)
    for t in series.tables:  # every commune placed, none missing, every total checked
        assert t.unplaced.empty and not t.missing and len(t.matches) == 280
        assert set(t.matches["method"]) == {"exact", "normalised", "ascii", "fuzzy"}
        assert t.matches.loc[t.matches["method"] == "fuzzy", "name"].tolist() == ["Xã Tân Cương", "Xã Quang Sơn"]
        assert (t.rows["kind"] == "commune").sum() == 280
        assert t.totals["row"].nunique() == 1 + 2 + 17  # the total, two old provinces, 17 district rows or "Cộng"
    old = series.table.set_index(["review_year", "commune_code"])
    want = by_old.set_index(["review_year", "commune_code"])
    for column in ("households", "poor", "near_poor", "minority_poor"):
        assert (old.loc[want.index, column] == want[column]).all()
        assert old[column].drop(want.index).eq(0).all()  # old units without a household of the panel

    weights = pd.concat(
        [crosswalk.weights_from_records(households, year=y).assign(review_year=y) for y in YEARS], ignore_index=True
    )
    new = series.to_new_units(weights=weights, min_cell=1)
    truth = poverty_counts(classified, by=["commune_code", "review_year"], min_cell=1)
    both = new.merge(truth, on=["review_year", "commune_code"], suffixes=("", "_true"), validate="one_to_one")
    assert len(both) == len(new) == len(truth) == 92 * len(YEARS)
    assert new["complete"].all()
    whole = both[~both["apportioned"]]
    for column in ("households", "poor", "near_poor", "minority_poor", "poor_rate", "near_poor_rate"):
        assert np.array_equal(whole[column].to_numpy(float), whole[f"{column}_true"].to_numpy(float)), column
    # Split units: households exactly (the weights are the panel's households), the poor within what was apportioned.
    split = both[both["apportioned"]]
    assert sorted(split["commune_code"].unique()) == ["05443", "05467", "05500", "05908", "05941"]
    assert np.allclose(split["households"], split["households_true"], rtol=0, atol=1e-9)
    apportioned = by_old[by_old["commune_code"].isin(["05461", "05467", "05932"])].groupby("review_year")["poor"].sum()
    assert (abs(split["poor"] - split["poor_true"]) <= split["review_year"].map(apportioned)).all()
    assert np.isclose(split["poor"].sum(), split["poor_true"].sum())  # the totals are kept
    # Ready for the projections and the maps: one row per unit and year, households >= 1, poor <= households.
    check_counts(new, ["commune_code"])
    assert {"commune_code", "review_year", "poor_rate", "suppressed", "households"} <= set(new.columns)
    # The layout of the pipeline's commune-year table, but for persons (annexes count households).
    table = series.commune_year(weights=weights)
    expected = pipeline.load_commune_year().columns.drop("persons").tolist()
    assert table.columns.tolist() == expected + ["apportioned", "complete"] and len(table) == len(new)
