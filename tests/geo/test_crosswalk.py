"""Old-to-new re-aggregation (totals preserved, rates recomputed, split units apportioned) and name matching."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from povanalysis.data import registry
from povanalysis.geo import boundaries as geo
from povanalysis.geo import crosswalk
from povanalysis.measure import aggregates

OLD = sorted(registry.known_codes(2024))
SPLIT = {"05461": ("05443", "05467"), "05467": ("05467", "05500"), "05932": ("05908", "05941")}
HOUSEHOLD_WEIGHTS = pd.DataFrame(
    {
        "old_code": ["05461", "05461", "05467", "05467", "05932", "05932"],
        "new_code": ["05443", "05467", "05467", "05500", "05908", "05941"],
        "households": [1500, 500, 2400, 600, 900, 2100],
    }
)


@pytest.fixture(scope="module")
def real(reference_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(geo.BOUNDARIES_ENV, str(reference_dir / "communes_2025.geojson"))
        return geo.default_boundaries()


def _old_table(households: np.ndarray, poor: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"commune_code": OLD, "households": households, "poor": poor})


def test_split_units_match_the_reference_crosswalk(reference_dir):
    ref = pd.read_csv(reference_dir / "old_to_new_2025.csv", dtype=str)
    split = ref[ref["relation"] == "split"].groupby("old_code")["new_code"].apply(lambda s: tuple(sorted(s)))
    assert split.to_dict() == SPLIT
    assert set(ref["old_code"]) == set(OLD)


def test_totals_preserved_on_the_real_split_units():
    households = np.full(len(OLD), 1000)
    poor = np.full(len(OLD), 100)
    idx = {c: i for i, c in enumerate(OLD)}
    households[idx["05461"]], poor[idx["05461"]] = 4000, 400  # Gia Sàng
    households[idx["05467"]], poor[idx["05467"]] = 3000, 30  # Cam Giá
    households[idx["05932"]], poor[idx["05932"]] = 2000, 500  # Thượng Đình
    out = crosswalk.to_new_units(_old_table(households, poor), weight="households", weights=HOUSEHOLD_WEIGHTS)
    assert len(out) == 92 and out["complete"].all()
    assert out["households"].sum() == households.sum() and out["poor"].sum() == poor.sum()
    by = out.set_index("commune_code")
    # Phan Đình Phùng (05443): seven old wards whole and 3/4 of Gia Sàng.
    assert by.at["05443", "households"] == 7 * 1000 + 0.75 * 4000
    assert by.at["05443", "poor"] == 7 * 100 + 0.75 * 400
    # Gia Sàng (05467): 1/4 of old Gia Sàng, 4/5 of Cam Giá, Hương Sơn and Đồng Liên whole.
    assert by.at["05467", "households"] == 0.25 * 4000 + 0.8 * 3000 + 2 * 1000
    assert by.at["05467", "poor_rate"] == pytest.approx((0.25 * 400 + 0.8 * 30 + 200) / 5400)
    # Tích Lương (05500): five wards whole and 1/5 of Cam Giá.
    assert by.at["05500", "households"] == 5 * 1000 + 0.2 * 3000
    # Phú Bình (05908) and Điềm Thụy (05941) share Thượng Đình 3:7.
    assert by.at["05908", "poor"] == 5 * 100 + 0.3 * 500 and by.at["05941", "poor"] == 3 * 100 + 0.7 * 500
    assert by.at["05941", "poor_rate"] == pytest.approx(650 / 4400)
    share = out.attrs["shares"].set_index(["old_code", "new_code"])["share"]
    assert share[("05932", "05908")] == pytest.approx(0.3) and share[("05467", "05500")] == pytest.approx(0.2)
    assert by.loc[["05443", "05467", "05500", "05908", "05941"], "apportioned"].all()
    assert by["apportioned"].sum() == 5


def test_rates_recomputed_from_counts_not_averaged():
    # Đức Xuân (01840) = Nguyễn Thị Minh Khai + Đức Xuân + Huyền Tụng.
    table = pd.DataFrame(
        {
            "commune_code": ["01834", "01840", "01846"],
            "households": [100, 900, 1000],
            "poor": [10, 9, 1],
            "poor_rate": [0.1, 0.01, 0.001],
        }
    )
    out = crosswalk.to_new_units(table).set_index("commune_code")
    assert out.at["01840", "poor_rate"] == pytest.approx(20 / 2000)  # not (0.1 + 0.01 + 0.001) / 3
    assert out.at["01840", "complete"] and not out.at["01840", "apportioned"]
    assert out.at["01840", "name"] == "Phường Đức Xuân"


def test_by_groups_suppression_and_descriptors():
    table = pd.DataFrame(
        {
            "commune_code": ["01834", "01834"],
            "review_year": [2021, 2022],
            "name": ["Phường Nguyễn Thị Minh Khai"] * 2,
            "households": [8, 30],
            "poor": [1, 3],
            "near_poor": [0, 2],
            "suppressed": [True, False],
        }
    )
    out = crosswalk.to_new_units(table)
    assert out.columns.tolist() == [
        "review_year",
        "commune_code",
        "name",
        "households",
        "poor",
        "near_poor",
        "apportioned",
        "complete",
        "poor_rate",
        "near_poor_rate",
        "suppressed",
    ]
    assert out["suppressed"].tolist() == [True, False] and out["complete"].tolist() == [False, False]
    assert out["name"].tolist() == ["Phường Đức Xuân"] * 2


@settings(max_examples=10, deadline=None)
@given(arrays(np.int64, len(OLD), elements=st.integers(0, 5000)), st.integers(0, 2**16))
def test_totals_preserved_property(households, seed):
    poor = np.random.default_rng(seed).integers(0, households + 1)
    weights = HOUSEHOLD_WEIGHTS.assign(households=np.random.default_rng(seed + 1).integers(1, 100, 6))
    out = crosswalk.to_new_units(_old_table(households, poor), weight="households", weights=weights)
    assert out["households"].sum() == pytest.approx(households.sum(), rel=1e-12, abs=1e-9)
    assert out["poor"].sum() == pytest.approx(poor.sum(), rel=1e-12, abs=1e-9)
    assert (out["poor"] <= out["households"] + 1e-9).all()


def test_synthetic_round_trip(small_panel):
    hh = small_panel.households
    hh = hh[hh["review_year"] == 2024].assign(
        old_code=crosswalk.assign_old_units(hh[hh["review_year"] == 2024], seed=5)
    )
    assert hh["old_code"].isin(OLD).all()
    fake = hh.assign(poverty_class=np.where(hh["income_pc"] < 1_500_000, "poor", "not_poor"))
    by_old = aggregates.poverty_counts(fake.assign(commune_code=fake["old_code"]), by=["commune_code"])
    by_new = aggregates.poverty_counts(fake, by=["commune_code"]).set_index("commune_code")
    weights = crosswalk.weights_from_records(hh, year_column=None)
    out = crosswalk.to_new_units(by_old, weight="households", weights=weights).set_index("commune_code")
    # Household weights counted from the same records give every new unit its exact households.
    assert np.allclose(out["households"], by_new.loc[out.index, "households"])
    assert out["poor"].sum() == pytest.approx(by_new["poor"].sum())
    assert out["persons"].sum() == pytest.approx(by_new["persons"].sum())


def test_assign_old_units_is_deterministic_and_per_household(small_panel):
    hh = small_panel.households
    a = crosswalk.assign_old_units(hh, seed=1)
    assert a.equals(crosswalk.assign_old_units(hh, seed=1)) and not a.equals(crosswalk.assign_old_units(hh, seed=2))
    assert (hh.assign(old=a).groupby("household_id")["old"].nunique() == 1).all()
    links = set(zip(registry.crosswalk()["old_code"], registry.crosswalk()["new_code"]))
    assert all(pair in links for pair in set(zip(a, hh["commune_code"])))


def test_area_weights(real):
    w = crosswalk.area_weights(boundaries=real).set_index(["old_code", "new_code"])["share"]
    assert w.round(2).to_dict() == {
        ("05461", "05443"): 0.25,
        ("05461", "05467"): 0.75,
        ("05467", "05467"): 0.89,
        ("05467", "05500"): 0.11,
        ("05932", "05908"): 0.11,
        ("05932", "05941"): 0.89,
    }
    table = _old_table(np.full(len(OLD), 100), np.full(len(OLD), 10))
    out = crosswalk.to_new_units(table, boundaries=real)
    assert out["households"].sum() == pytest.approx(28_000)


def test_area_weights_on_schematic_boundaries_warn():
    with pytest.warns(UserWarning, match="schematic boundaries are illustrative"):
        w = crosswalk.area_weights(boundaries=geo.schematic_boundaries())
    assert np.allclose(w.groupby("old_code")["share"].sum(), 1.0)


def test_weights_from_records_population_and_errors():
    records = pd.DataFrame(
        {
            "old_code": ["05461", "05461", "05461"],
            "commune_code": ["05443", "05467", "05467"],
            "size": [4, 3, 3],
            "review_year": [2024, 2024, 2023],
        }
    )
    w = crosswalk.weights_from_records(records, size_column="size", year=2024)
    assert w[["new_code", "population", "share"]].values.tolist() == [["05443", 4, 4 / 7], ["05467", 3, 3 / 7]]
    with pytest.raises(ValueError, match=r"several years \[2023, 2024\]: pass year="):
        crosswalk.weights_from_records(records)
    bad = records.assign(commune_code=["05443", "05500", "05467"])
    with pytest.raises(ValueError, match=r"row 1: \('05461', '05500'\) is not a link of the 2025 crosswalk"):
        crosswalk.weights_from_records(bad, year_column=None)


def test_to_new_units_errors():
    good = pd.DataFrame({"commune_code": ["01834"], "households": [10], "poor": [1]})
    with pytest.raises(ValueError, match=r"row 0, column 'commune_code': '99999' is not one of the 280 commune codes"):
        crosswalk.to_new_units(good.assign(commune_code="99999"))
    with pytest.raises(ValueError, match=r"row 0, column 'poor': -1 is not a count >= 0"):
        crosswalk.to_new_units(good.assign(poor=-1))
    with pytest.raises(
        ValueError, match=r"cannot recompute 'poor_rate' without the counts \['poor'\]: rates are never"
    ):
        crosswalk.to_new_units(good.assign(poor_rate=0.1), count_columns=["households"])
    with pytest.raises(ValueError, match="column 'ethnicity' is neither a count, a rate"):
        crosswalk.to_new_units(good.assign(ethnicity="Tày"))
    # Weights are needed only when a split unit is in the table.
    assert crosswalk.to_new_units(good, weight="households")["households"].tolist() == [10.0]
    split = pd.DataFrame({"commune_code": list(SPLIT), "households": [10, 20, 30], "poor": [1, 2, 3]})
    with pytest.raises(ValueError, match="weight='households' needs weights="):
        crosswalk.to_new_units(split, weight="households")
    with pytest.raises(ValueError, match=r"lacks the split link \('05932', '05908'\)"):
        crosswalk.to_new_units(split, weight="households", weights=HOUSEHOLD_WEIGHTS.iloc[:4])
    with pytest.raises(ValueError, match=r"pairs that are not links of the 2025 crosswalk: \[\('01834', '05443'\)\]"):
        crosswalk.to_new_units(
            split,
            weight="households",
            weights=pd.concat(
                [HOUSEHOLD_WEIGHTS, pd.DataFrame({"old_code": ["01834"], "new_code": ["05443"], "households": [1]})]
            ),
        )
    with pytest.raises(ValueError, match=r"row 1: old unit '01834' appears twice"):
        crosswalk.to_new_units(pd.concat([good, good], ignore_index=True))
    with pytest.raises(ValueError, match="weight must be one of"):
        crosswalk.to_new_units(good, weight="land")
    with pytest.raises(ValueError, match="none of the count columns"):
        crosswalk.to_new_units(good[["commune_code"]])


def test_match_names_normalises_and_never_takes_a_district_for_a_commune():
    nfd = unicodedata.normalize("NFD", "Xã Đại Từ")
    m = crosswalk.match_names(
        [
            "Xã Đại Từ",
            nfd,
            "xã  đại từ",
            "Huyện Đại Từ",
            "Đại Từ",
            "Thành Phố Bắc Kạn",
            "Phường Bắc Kạn",
            "Xã Định Hoá",
            "Phuong Duc Xuan",
            "Xa Van Lang",
            "Văn Lăng",
            "Xã Không Có",
            "",
        ]
    )
    assert m["status"].tolist() == [
        "exact",
        "normalised",
        "normalised",
        "district",
        "ambiguous",
        "district",
        "exact",
        "normalised",
        "ascii",
        "ambiguous",
        "short_name",
        "unmatched",
        "unmatched",
    ]
    codes = m["commune_code"].tolist()
    assert codes[:3] == ["05830"] * 3 and codes[6:9] == ["01843", "05569", "01840"] and codes[10] == "05665"
    assert pd.isna(codes[3]) and pd.isna(codes[4]) and pd.isna(codes[5])
    assert m.at[4, "candidates"] == ("05830",) and m.at[9, "candidates"] == ("02143", "05665")


def test_match_names_old_vintage():
    m = crosswalk.match_names(["Phường Trung Thành", "Xã Thượng Đình", "Huyện Phú Bình"], vintage=2024)
    assert m["status"].tolist() == ["ambiguous", "exact", "district"]
    assert len(m.at[0, "candidates"]) == 2 and m.at[1, "commune_code"] == "05932"
    with pytest.raises(TypeError, match="not one string"):
        crosswalk.match_names("Xã Đại Từ")
    with pytest.raises(ValueError, match="vintage must be one of"):
        crosswalk.match_names(["x"], vintage=2019)
