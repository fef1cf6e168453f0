"""Boundaries: schematic shapes, reading official files in any CRS, simplification, adjacency."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon, box

from povanalysis.data import registry
from povanalysis.geo import boundaries as geo


@pytest.fixture(scope="module")
def schematic():
    return geo.schematic_boundaries()


@pytest.fixture(scope="module")
def real(reference_dir):
    # Through $POVANALYSIS_BOUNDARIES: default_boundaries reads the file once per process.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(geo.BOUNDARIES_ENV, str(reference_dir / "communes_2025.geojson"))
        return geo.default_boundaries()


@pytest.fixture(scope="module")
def real_raw(reference_dir):
    return gpd.read_file(reference_dir / "communes_2025.geojson")


def _as_file(gdf, path, **kw):
    gdf.rename(columns={"commune_code": "code"}).drop(columns="name").to_file(path, **kw)
    return path


# --- schematic shapes -----------------------------------------------------------------


def test_schematic_units_columns_and_flag(schematic):
    assert list(schematic.columns) == ["commune_code", "name", "geometry"]
    assert schematic["commune_code"].tolist() == sorted(registry.known_codes(2025))
    assert schematic.crs.to_epsg() == 4326
    assert schematic.attrs["schematic"] is True and geo.is_schematic(schematic)
    assert schematic.set_index("commune_code").at["01840", "name"] == "Phường Đức Xuân"


def test_schematic_is_a_gap_free_coverage_with_registry_areas(schematic):
    geoms = schematic.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert bool(shapely.coverage_is_valid(geoms))
    metric = schematic.to_crs(geo.METRIC_CRS)
    units = registry.units(2025)
    union = shapely.union_all(metric.geometry.to_numpy())
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    # The hull is sized to the registry's total area (8,134.94 km² in vietnamadminunits).
    assert union.area / 1e6 == pytest.approx(units["area_km2"].sum(), rel=1e-4)
    rel = np.abs(metric.area.to_numpy() / 1e6 - units["area_km2"].to_numpy()) / units["area_km2"].to_numpy()
    assert (rel < 0.10).sum() >= 75 and rel.max() < 0.35
    inside = shapely.contains(geoms, shapely.points(units["lon"], units["lat"]))
    assert inside.sum() >= 85


def test_schematic_is_deterministic(schematic):
    # A fresh process: the cells are cached within one.
    code = (
        "import hashlib, shapely; from povanalysis import geo; g = geo.schematic_boundaries(); "
        "print(hashlib.sha256(b''.join(shapely.to_wkb(g.geometry.to_numpy()))).hexdigest())"
    )
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert again == hashlib.sha256(b"".join(shapely.to_wkb(schematic.geometry.to_numpy()))).hexdigest()


def test_default_boundaries_schematic_without_env(monkeypatch):
    monkeypatch.delenv(geo.BOUNDARIES_ENV, raising=False)
    assert geo.is_schematic(geo.default_boundaries())


def test_default_boundaries_from_env(monkeypatch, tmp_path, schematic):
    path = tmp_path / "units.gpkg"
    schematic.rename(columns={"commune_code": "ma_xa"}).drop(columns="name").to_file(path)
    monkeypatch.setenv(geo.BOUNDARIES_ENV, str(path))
    monkeypatch.setenv(geo.CODE_COLUMN_ENV, "ma_xa")
    b = geo.default_boundaries()
    assert not geo.is_schematic(b) and len(b) == 92 and b.attrs["source"].endswith("units.gpkg")
    monkeypatch.setenv(geo.BOUNDARIES_ENV, str(tmp_path / "absent.gpkg"))
    with pytest.raises(FileNotFoundError, match="POVANALYSIS_BOUNDARIES names .*absent.gpkg"):
        geo.default_boundaries()


# --- reading files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "crs, name", [("EPSG:9213", "tm3.gpkg"), ("EPSG:3405", "utm.shp"), ("EPSG:4756", "vn.geojson")]
)
def test_read_reprojects_from_vn2000(tmp_path, schematic, crs, name):
    path = _as_file(schematic.to_crs(crs), tmp_path / name)
    b = geo.read_boundaries(path)
    assert b.crs.to_epsg() == 4326 and b.attrs["source_crs"] == crs and not geo.is_schematic(b)
    moved = shapely.hausdorff_distance(
        b.to_crs(geo.METRIC_CRS).geometry.to_numpy(), schematic.to_crs(geo.METRIC_CRS).geometry.to_numpy()
    )
    assert moved.max() < 0.01  # metres: the round trip through VN-2000 loses nothing visible


def test_check_boundaries_names_the_argument(schematic):
    assert geo.check_boundaries(schematic, "boundaries") is schematic
    with pytest.raises(TypeError, match=r"'boundaries' should be a GeoDataFrame, got DataFrame"):
        geo.check_boundaries(pd.DataFrame(schematic), "boundaries")
    with pytest.raises(ValueError, match=r"'boundaries' has duplicate commune codes: \['01840'\]"):
        geo.check_boundaries(pd.concat([schematic, schematic[schematic["commune_code"] == "01840"]]), "boundaries")


def test_read_pads_integer_codes(tmp_path, schematic):
    frame = schematic.assign(code=schematic["commune_code"].astype(int)).drop(columns=["commune_code", "name"])
    frame.to_file(tmp_path / "int.shp")
    assert gpd.read_file(tmp_path / "int.shp")["code"].dtype.kind == "i"
    b = geo.read_boundaries(tmp_path / "int.shp")
    assert b["commune_code"].iloc[0] == "01840"


def test_read_reports_missing_extra_and_duplicate_codes(tmp_path, schematic):
    frame = schematic[schematic["commune_code"] != "05665"]
    dup = schematic[schematic["commune_code"] == "01840"]
    extra = schematic[schematic["commune_code"] == "01843"].assign(commune_code="99999")
    path = _as_file(pd.concat([frame, dup, extra], ignore_index=True), tmp_path / "bad.gpkg")
    with pytest.raises(
        geo.BoundaryError,
        match=r"1 extra code: '99999' \(feature 93\); 1 duplicate code: '01840' "
        r"\(features 1, 92\); 1 missing code: '05665'\. See",
    ) as info:
        geo.read_boundaries(path)
    report = info.value.report
    assert report[["problem", "commune_code"]].values.tolist() == [
        ["extra_code", "99999"],
        ["duplicate_code", "01840"],
        ["duplicate_code", "01840"],
        ["missing_code", "05665"],
    ]
    assert report["feature"].tolist() == [93, 1, 92, pd.NA]
    assert info.value.path == path


def test_read_report_lists_every_problem(tmp_path, schematic):
    bowtie = Polygon([(105.8, 22.1), (105.9, 22.2), (105.9, 22.1), (105.8, 22.2)])
    frame = schematic.copy()
    frame.loc[frame["commune_code"] == "01840", "geometry"] = bowtie
    frame.loc[frame["commune_code"] == "01843", "geometry"] = shapely.Point(105.86, 22.1)
    path = _as_file(frame, tmp_path / "geom.gpkg")
    with pytest.raises(
        geo.BoundaryError,
        match=r"1 invalid geometry: '01840' \(feature 1\); "
        r"1 non-polygon geometry: '01843' \(feature 2\)",
    ) as info:
        geo.read_boundaries(path)
    assert info.value.report[["problem", "commune_code", "detail"]].values.tolist() == [
        ["invalid_geometry", "01840", "Self-intersection[105.85 22.15]"],
        ["not_polygon", "01843", "a Point, not a polygon"],
    ]


def test_read_rejects_missing_crs(tmp_path, schematic):
    path = _as_file(schematic.to_crs("EPSG:3405"), tmp_path / "noprj.shp")
    (tmp_path / "noprj.prj").unlink()
    with pytest.raises(geo.BoundaryError, match="no coordinate reference system.*never assumed") as info:
        geo.read_boundaries(path)
    assert info.value.report["problem"].tolist() == ["no_crs"]


def test_read_flags_wrong_crs(tmp_path, schematic):
    wrong = schematic.to_crs("EPSG:3405").set_crs("EPSG:9213", allow_override=True)
    path = _as_file(wrong, tmp_path / "wrong.gpkg")
    with pytest.raises(
        geo.BoundaryError,
        match=r"92 polygons far from their registry locations: '01840' "
        r"\(feature 1\), .*… 88 more",
    ) as info:
        geo.read_boundaries(path)
    report = info.value.report
    assert (report["problem"] == "far_from_registry").sum() == 92
    assert report["detail"].iloc[0] == (
        "150 km from the registry's location of this unit: wrong CRS (EPSG:9213) or wrong code?"
    )


def test_read_errors_on_file_and_column(tmp_path, schematic):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        geo.read_boundaries(tmp_path / "none.geojson")
    path = _as_file(schematic, tmp_path / "units.gpkg")
    with pytest.raises(geo.BoundaryError, match=r"no column 'ma_xa'; the file has \['code'\]") as info:
        geo.read_boundaries(path, code_column="ma_xa")
    assert info.value.report["problem"].tolist() == ["no_code_column"]
    (tmp_path / "junk.geojson").write_text("not json", encoding="utf-8")
    with pytest.raises(geo.BoundaryError, match="cannot read the file"):
        geo.read_boundaries(tmp_path / "junk.geojson")
    with pytest.raises(ValueError, match="vintage must be one of"):
        geo.read_boundaries(path, vintage=2020)


def test_read_old_vintage_checks_280_units(tmp_path, schematic):
    # Every 2025 code is also a 2024 code: a file of the new units read as vintage 2024
    # lacks the other 188 old units.
    path = _as_file(schematic, tmp_path / "units.gpkg")
    with pytest.raises(geo.BoundaryError, match=r"280 units of vintage 2024 .* 188 missing codes: '01834'") as info:
        geo.read_boundaries(path, vintage=2024)
    assert info.value.report["problem"].unique().tolist() == ["missing_code"]


# --- simplification and adjacency -------------------------------------------------------


def test_simplify_keeps_a_coverage(schematic):
    simple = geo.simplify(schematic, tolerance=800)
    assert simple["commune_code"].tolist() == schematic["commune_code"].tolist()
    assert simple.attrs["schematic"] is True and simple.attrs["simplified_m"] == 800.0
    check = geo.coverage_check(schematic, simple)
    assert check["coverage_valid"] and check["gap_area_m2"] < 1 and check["overlap_area_m2"] < 1
    assert 0 < check["max_displacement_m"] < 2000
    assert geo.simplify(schematic, tolerance=0).geometry.equals(schematic.geometry)


def test_simplify_and_neighbours_validate(schematic):
    with pytest.raises(ValueError, match="tolerance must be a finite number of metres >= 0, got -1"):
        geo.simplify(schematic, tolerance=-1)
    with pytest.raises(TypeError, match="'gdf' should be a GeoDataFrame, got DataFrame"):
        geo.neighbours(pd.DataFrame(schematic.drop(columns="geometry")))
    with pytest.raises(ValueError, match="'gdf' has no CRS"):
        geo.neighbours(schematic.set_crs(None, allow_override=True))
    with pytest.raises(ValueError, match=r"duplicate commune codes: \['01840'\]"):
        geo.simplify(pd.concat([schematic, schematic.iloc[:1]]))


def test_queen_neighbours_on_a_grid():
    cells = [box(105 + 0.1 * i, 21 + 0.1 * j, 105.1 + 0.1 * i, 21.1 + 0.1 * j) for j in range(3) for i in range(3)]
    grid = gpd.GeoDataFrame({"commune_code": [f"c{k}" for k in range(9)]}, geometry=cells, crs="EPSG:4326")
    near = geo.neighbours(grid)
    assert len(near["c4"]) == 8  # the centre touches every cell
    assert near["c0"] == ("c1", "c3", "c4")  # a corner: two edges and one point
    assert len(near["c1"]) == 5


def test_schematic_neighbours_symmetric(schematic):
    near = geo.neighbours(schematic)
    assert list(near) == schematic["commune_code"].tolist()
    assert all(a in near[b] for a, others in near.items() for b in others)
    assert sum(map(len, near.values())) // 2 == 240 and min(map(len, near.values())) >= 2


# --- the real polygons of the 92 units ----------------------------------------------------


def test_real_boundaries(real):
    assert len(real) == 92 and real.crs.to_epsg() == 4326 and not geo.is_schematic(real)
    assert real.attrs["source"].endswith("communes_2025.geojson") and real.attrs["source_crs"] == "EPSG:4326"
    assert real["commune_code"].tolist() == sorted(registry.known_codes(2025))


def test_real_reprojected_and_shapefile_copies(tmp_path, real, real_raw):
    real_raw.to_crs("EPSG:9213")[["code", "geometry"]].to_file(tmp_path / "tm3.gpkg")
    real_raw.to_crs("EPSG:3405")[["code", "geometry"]].to_file(tmp_path / "utm.shp")
    original = shapely.get_coordinates(real.to_crs(geo.METRIC_CRS).geometry.to_numpy())
    for name, crs in [("tm3.gpkg", "EPSG:9213"), ("utm.shp", "EPSG:3405")]:
        back = geo.read_boundaries(tmp_path / name)
        assert back.attrs["source_crs"] == crs and len(back) == 92
        again = shapely.get_coordinates(back.to_crs(geo.METRIC_CRS).geometry.to_numpy())
        assert again.shape == original.shape == (177_094, 2)
        assert np.abs(again - original).max() < 0.01  # metres, vertex by vertex


def test_real_file_with_code_problems(tmp_path, real_raw):
    broken = pd.concat(
        [real_raw[real_raw["code"] != "05830"], real_raw[real_raw["code"] == "05665"]], ignore_index=True
    )
    broken.loc[0, "code"] = "12345"
    broken[["code", "geometry"]].to_file(tmp_path / "broken.gpkg")
    with pytest.raises(
        geo.BoundaryError,
        match=r"1 extra code: '12345' \(feature 1\); 1 duplicate code: '05665' "
        r"\(features 61, 92\); 2 missing codes: '01840', '05830'",
    ) as info:
        geo.read_boundaries(tmp_path / "broken.gpkg")
    assert info.value.report["problem"].value_counts().to_dict() == {
        "duplicate_code": 2,
        "missing_code": 2,
        "extra_code": 1,
    }


def test_real_simplification(real):
    simple = geo.simplify(real)
    check = geo.coverage_check(real, simple)
    assert check["coverage_valid"]
    assert check["gap_area_m2"] == 0.0 and check["overlap_area_m2"] < 1.0
    assert check["max_displacement_m"] < 900  # 876 m: a 23 m² sliver of Lam Vỹ dropped by cleaning
    assert shapely.get_num_coordinates(simple.geometry.to_numpy()).sum() < 11_000
    assert shapely.get_num_coordinates(real.geometry.to_numpy()).sum() == 177_094


def test_real_neighbours(real):
    near = geo.neighbours(real)
    assert sum(map(len, near.values())) // 2 == 235
    assert near["01840"] == ("01843", "01849", "02008")
    assert near["05830"] == ("05488", "05818", "05845")  # Xã Đại Từ, despite a 4,111 m² overlap with La Bằng
