"""Global Moran's I and LISA clusters: hand-derived values, permutation tests, exclusions and errors."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from povanalysis.data import registry
from povanalysis.geo import boundaries as geo
from povanalysis.geo import hotspots
from povanalysis.measure import aggregates


@pytest.fixture(scope="module")
def row_of_four():
    """Four cells in a row: a–b–c–d, each touching only its neighbours in the row."""
    cells = [box(105 + 0.1 * i, 21, 105.1 + 0.1 * i, 21.1) for i in range(4)]
    return gpd.GeoDataFrame({"commune_code": list("abcd"), "name": list("ABCD")}, geometry=cells, crs="EPSG:4326")


@pytest.fixture(scope="module")
def latitude():
    units = registry.units(2025)
    return pd.DataFrame({"commune_code": units["commune_code"], "lat": units["lat"], "suppressed": False})


def test_moran_hand_derived(row_of_four):
    # z = (-1.5, -0.5, 0.5, 1.5); row-standardised lags (-0.5, -0.5, 0.5, 0.5);
    # I = (n / S0) · Σ z·lag / Σ z² = (4 / 4) · 2 / 5 = 0.4; E[I] = -1/3.
    frame = pd.DataFrame({"commune_code": list("abcd"), "y": [1.0, 2.0, 3.0, 4.0], "suppressed": False})
    m = hotspots.moran(frame, "y", boundaries=row_of_four, permutations=99, seed=0)
    assert m.I == pytest.approx(0.4) and m.expected_I == pytest.approx(-1 / 3)
    assert m.n == 4 and m.n_links == 3
    row = m.to_frame().iloc[0]
    assert row["measure"] == "moran_I" and row["value"] == pytest.approx(0.4) and row["n"] == 4


def test_lisa_hand_derived(row_of_four):
    # Standardised z = (-1.342, -0.447, 0.447, 1.342), Σz² = 4, lags (-0.447, -0.447, 0.447, 0.447):
    # I_i = (n - 1) z_i lag_i / Σz² = (0.45, 0.15, 0.15, 0.45).
    frame = pd.DataFrame({"commune_code": list("abcd"), "y": [1.0, 2.0, 3.0, 4.0], "suppressed": False})
    r = hotspots.lisa(frame, "y", boundaries=row_of_four, permutations=99, seed=0)
    table = r.to_frame()
    assert np.allclose(table["local_I"], [0.45, 0.15, 0.15, 0.45])
    assert table["quadrant"].tolist() == ["LL", "LL", "HH", "HH"]
    assert table["name"].tolist() == list("ABCD")
    # Four values allow no local significance at 5%.
    assert table["cluster"].tolist() == ["ns"] * 4


def test_latitude_is_strongly_autocorrelated(latitude):
    schematic = geo.schematic_boundaries()
    m = hotspots.moran(latitude, "lat", boundaries=schematic, permutations=999, seed=0)
    assert m.I == pytest.approx(0.9657, abs=5e-4)
    assert m.p_value == pytest.approx(0.001) and m.n_links == 240
    assert m.null_lower < 0 < m.null_upper < 0.2
    r = hotspots.lisa(latitude, "lat", boundaries=schematic, permutations=999, seed=0)
    counts = r.to_frame()["cluster"].value_counts().to_dict()
    assert counts == {"ns": 39, "LL": 27, "HH": 26}
    table = r.to_frame().set_index("commune_code")
    hot = table[table["cluster"] == "HH"]
    cold = table[table["cluster"] == "LL"]
    assert hot["value"].min() > cold["value"].max()  # hot spots in the north, cold spots in the south
    assert (table.loc[table["significant"], "p_value"] < 0.05).all()
    assert "HH    26" in r.summary() and "Global Moran's I of 'lat'" in r.summary()


def test_seeded_and_state_preserved(latitude):
    schematic = geo.schematic_boundaries()
    state = np.random.get_state()[1].copy()
    a = hotspots.lisa(latitude, "lat", boundaries=schematic, permutations=199, seed=7)
    assert (np.random.get_state()[1] == state).all()
    b = hotspots.lisa(latitude, "lat", boundaries=schematic, permutations=199, seed=7)
    assert a.to_frame().equals(b.to_frame()) and a.moran == b.moran
    c = hotspots.moran(latitude, "lat", boundaries=schematic, permutations=199, seed=8)
    assert c.se != a.moran.se


def test_suppressed_and_missing_units_are_excluded(latitude):
    frame = latitude.assign(suppressed=latitude["commune_code"].isin(["01840", "01843"]))
    frame = frame[frame["commune_code"] != "05953"]
    r = hotspots.lisa(frame, "lat", boundaries=geo.schematic_boundaries(), permutations=99, seed=0)
    assert len(r.to_frame()) == 89 and r.moran.n == 89
    assert r.moran.excluded.values.tolist() == [["01840", "suppressed"], ["01843", "suppressed"], ["05953", "no data"]]
    assert "excluded: 1 no data, 2 suppressed" in r.moran.summary()


def test_poverty_hot_spots_in_the_synthetic_panel(small_classified):
    cy = aggregates.poverty_counts(small_classified, by=["commune_code", "review_year"])
    r = hotspots.lisa(cy[cy["review_year"] == 2024], "poor_rate", boundaries=geo.schematic_boundaries(), seed=0)
    assert r.moran.I == pytest.approx(0.7713, abs=5e-4) and r.moran.p_value == pytest.approx(0.001)
    assert r.to_frame()["cluster"].value_counts().to_dict() == {"ns": 41, "LL": 33, "HH": 18}


def test_errors(latitude, row_of_four):
    schematic = geo.schematic_boundaries()
    with pytest.raises(ValueError, match=r"one row per commune; '01840' appears more than once"):
        hotspots.moran(pd.concat([latitude, latitude]), "lat", boundaries=schematic)
    with pytest.raises(ValueError, match="no column 'rate'"):
        hotspots.moran(latitude, "rate", boundaries=schematic)
    with pytest.raises(ValueError, match="same value in every commune"):
        hotspots.moran(latitude.assign(lat=1.0), "lat", boundaries=schematic)
    with pytest.raises(ValueError, match="needs at least 3 communes with published values of 'lat', got 2"):
        hotspots.moran(latitude.head(2), "lat", boundaries=schematic)
    with pytest.raises(ValueError, match="permutations must be an integer >= 99, got 10"):
        hotspots.moran(latitude, "lat", boundaries=schematic, permutations=10)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        hotspots.moran(latitude, "lat", boundaries=schematic, seed=-1)
    with pytest.raises(ValueError, match=r"alpha must be in \(0, 1\), got 1.5"):
        hotspots.lisa(latitude, "lat", boundaries=schematic, alpha=1.5)
    with pytest.raises(ValueError, match=r"codes that are not units of the boundaries: \['01840'"):
        hotspots.moran(latitude, "lat", boundaries=row_of_four)
    islands = gpd.GeoDataFrame(
        {"commune_code": list("xyz"), "name": list("XYZ")},
        crs="EPSG:4326",
        geometry=[box(105 + 0.5 * i, 21, 105.1 + 0.5 * i, 21.1) for i in range(3)],
    )
    apart = pd.DataFrame({"commune_code": list("xyz"), "y": [1.0, 2.0, 3.0], "suppressed": False})
    with pytest.raises(ValueError, match="no two analysed communes are neighbours"):
        hotspots.moran(apart, "y", boundaries=islands)
