"""Done when: annexes of the synthetic panel's counts by old unit, written as the province writes them, read back and
re-aggregated onto the 2025 units, give the rates the microdata give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import write_annex

from povanalysis.data import pipeline, registry
from povanalysis.geo import crosswalk
from povanalysis.goals.series import check_counts
from povanalysis.measure.aggregates import poverty_counts
from povanalysis.tables import read_published_series

YEARS = (2021, 2022, 2023, 2024, 2025)
SEED = 7
_OLD_TONES = {"òa": "oà", "óa": "oá", "ỏa": "oả", "ọa": "oạ", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ụy": "uỵ"}
_ABBREVIATIONS = {"Thị trấn ": "TT. ", "Phường ": "P. ", "Xã ": "X. "}
# District labels as annexes of 2021–2024 write them: old city status, abbreviations, bare names, other tones.
_DISTRICTS = {
    "Thành phố Phổ Yên": "Thị xã Phổ Yên",
    "Thành phố Sông Công": "TP. Sông Công",
    "Huyện Đại Từ": "Đại Từ",
    "Huyện Võ Nhai": "H. Võ Nhai",
    "Huyện Định Hóa": "Huyện Định Hoá",
    "Thành Phố Bắc Kạn": "TP Bắc Kạn",
}
MISSPELT = {"Xã Quang Sơn": "Xã Quang Sơnn", "Xã Tân Cương": "Xã Tân Cươn"}


def _messy(name: str, short: str, k: int) -> str:
    """One of the usual ways of writing a unit's name, chosen by ``k``."""
    if name in MISSPELT:
        return MISSPELT[name]
    way = k % 6
    if way == 1:
        return short
    if way == 2:
        return registry.ascii_name(name)
    if way == 3:
        old = name
        for new, previous in _OLD_TONES.items():
            old = old.replace(new, previous)
        return old if old != name else name.upper()
    if way == 4:
        for prefix, short_prefix in _ABBREVIATIONS.items():
            if name.startswith(prefix):
                return short_prefix + name[len(prefix) :]
    if way == 5:
        return "  " + name.replace(" ", "  ") + " "
    return name


def _items(counts: pd.DataFrame, year: int) -> list:
    units = registry.units(2024)
    got = counts[counts["review_year"] == year].set_index("commune_code")
    items: list = [("total", "Tổng cộng")]
    k = 0
    for area, province in (("thai_nguyen", "Tỉnh Thái Nguyên"), ("bac_kan", "Tỉnh Bắc Kạn")):
        items.append(("province", province))
        part = units[units["old_area"] == area]
        for d, (_, district) in enumerate(part.groupby("district_code", sort=True)):
            label = district["district_name"].iloc[0]
            items.append(("district", _DISTRICTS.get(label, label), "cong" if d % 3 == 2 else "row"))
            for code, name, short in district[["commune_code", "name", "short_name"]].itertuples(index=False):
                k += 1
                figures = [
                    int(got.at[code, c]) if code in got.index else 0 for c in crosswalk.COUNT_COLUMNS if c != "persons"
                ]
                items.append(("commune", _messy(name, short, k + year), *figures))
    return items


@pytest.fixture(scope="module")
def panel(classified):
    """The panel's households with an old unit each, and their counts by old unit and year."""
    households = classified.assign(old_code=crosswalk.assign_old_units(classified, seed=SEED).to_numpy())
    by_old = poverty_counts(households.assign(commune_code=households["old_code"]), by=["commune_code", "review_year"])
    return households, by_old


@pytest.fixture(scope="module")
def annexes(panel, tmp_path_factory):
    _, by_old = panel
    folder = tmp_path_factory.mktemp("annexes")
    paths = []
    for year in YEARS:
        # One year arrives as a plain CSV saved by a Vietnamese Excel (Windows-1258), the others as workbooks.
        name = f"annex_{year}.csv" if year == 2022 else f"annex_{year}.xlsx"
        paths.append(write_annex(folder / name, _items(by_old, year), year=year, encoding="cp1258"))
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
