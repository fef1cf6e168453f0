"""Choropleths: classes, suppression carried through, highlight and zoom, languages, size of the real map, no base map."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis.data import registry
from povanalysis.geo import boundaries as geo
from povanalysis.geo import hotspots, maps
from povanalysis.measure import aggregates

CODES = sorted(registry.known_codes(2025))


@pytest.fixture(scope="module")
def commune_year(small_classified):
    return aggregates.poverty_counts(small_classified, by=["commune_code", "review_year"])


@pytest.fixture(scope="module")
def schematic():
    return geo.schematic_boundaries()


@pytest.fixture(scope="module")
def real(reference_dir):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(geo.BOUNDARIES_ENV, str(reference_dir / "communes_2025.geojson"))
        return geo.default_boundaries()


def _areas(fig):
    """The filled paths of a map, one per unit drawn."""
    return [t for t in fig.data if t.fill == "toself" and isinstance(t.meta, dict)]


def _located(fig) -> dict[str, str]:
    """commune code → legend entry of the path drawing it."""
    out = {}
    for t in _areas(fig):
        code = t.meta["commune_code"]
        assert code not in out, f"{code} drawn twice"
        out[code] = t.name
    return out


def _classes(fig) -> dict[str, list[str]]:
    """Every legend entry of the areas (those without units too) → the codes it draws."""
    out: dict[str, list[str]] = {}
    for t in fig.data:
        if t.fill == "toself":
            out.setdefault(t.name, [])
            if isinstance(t.meta, dict):
                out[t.name].append(t.meta["commune_code"])
    return out


def _published(fig) -> dict[str, float]:
    """commune code → the figure its path carries, for published figures only."""
    return {t.meta["commune_code"]: t.meta["value"] for t in _areas(fig) if "value" in t.meta}


def _outlines(fig):
    return [t for t in fig.data if t.mode == "lines" and t.fill is None]


def _trace(fig, code: str):
    return next(t for t in _areas(fig) if t.meta["commune_code"] == code)


def _tiny(values, suppressed=None, codes=tuple(CODES[:5])):
    n = len(values)
    return pd.DataFrame(
        {
            "commune_code": list(codes[:n]),
            "poor_rate": values,
            "households": [100] * n,
            "suppressed": suppressed if suppressed is not None else [False] * n,
        }
    )


def test_rate_map_draws_every_unit_once_with_its_value(commune_year, schematic):
    fig = maps.rate_map(commune_year, year=2024, boundaries=schematic, lang="en")
    located = _located(fig)
    assert sorted(located) == CODES
    rows = commune_year[commune_year["review_year"] == 2024].set_index("commune_code")
    assert _published(fig) == {code: rows.at[code, "poor_rate"] for code in CODES}
    shapes = geo.simplify(schematic).set_index("commune_code").geometry
    for t in _areas(fig):
        assert t.x[0] == pytest.approx(shapes[t.meta["commune_code"]].exterior.coords[0][0], abs=1e-5)
    names = list(_classes(fig))
    assert len(names) == 5 and names[0].endswith("%")
    assert sum(t.showlegend is not False for t in fig.data) == 5  # one legend entry per class
    assert fig.layout.title.text == "Poor-household rate, 2024 review"
    assert fig.layout.legend.title.text == "Poor-household rate (quantiles)"


def test_quantile_classes_are_ordered(commune_year, schematic):
    fig = maps.rate_map(commune_year, year=2024, boundaries=schematic)
    published = _published(fig)
    values = [sorted(published[c] for c in codes) for codes in _classes(fig).values()]
    assert sum(map(len, values)) == 92
    assert all(a[-1] <= b[0] for a, b in zip(values, values[1:]))
    assert [len(v) for v in values] == [19, 18, 18, 18, 19]


def test_fixed_policy_thresholds_are_closed_on_the_left(schematic):
    frame = _tiny([0.1499, 0.15, 0.1999, 0.20, 0.35])
    fig = maps.choropleth(frame, "poor_rate", boundaries=schematic, scheme="fixed", lang="vi")
    got = _classes(fig)
    assert got["< 15,0%"] == ["01840"]
    assert got["15,0% – < 20,0%"] == ["01843", "01849"]
    assert got["≥ 20,0%"] == ["01864", "01879"]
    custom = maps.choropleth(frame, "poor_rate", boundaries=schematic, scheme="fixed", thresholds=[0.3], lang="en")
    assert [(name, len(codes)) for name, codes in _classes(custom).items()][:2] == [("< 30.0%", 4), ("≥ 30.0%", 1)]


def test_natural_breaks_split_two_groups(schematic):
    frame = _tiny([0.01, 0.02, 0.03, 0.40, 0.41])
    fig = maps.choropleth(frame, "poor_rate", boundaries=schematic, scheme="natural_breaks", k=2, lang="en")
    assert list(_classes(fig).values())[:2] == [["01840", "01843", "01849"], ["01864", "01879"]]
    # the boundary is the roundest figure between 3% and 40%: no class shares an edge with the next
    assert list(_classes(fig))[:2] == ["< 20.0%", "≥ 20.0%"]


def test_suppressed_communes_show_no_number(commune_year, schematic):
    fig = maps.rate_map(commune_year, year=2024, boundaries=schematic, min_cell=40, lang="en")
    rows = commune_year[commune_year["review_year"] == 2024]
    small = rows[rows["households"] < 40]
    assert len(small) == 17
    hidden = [t for t in _areas(fig) if t.name == "Suppressed (too few households)"]
    assert sorted(t.meta["commune_code"] for t in hidden) == sorted(small["commune_code"])
    assert all("value" not in t.meta for t in hidden)
    assert all("%" not in t.text and "Suppressed" in t.text for t in hidden)
    assert len(_published(fig)) == 92 - 17
    texts = [t.text for t in _areas(fig)]
    names = registry.units(2025).set_index("commune_code")["name"]
    for code in small["commune_code"]:
        mentions = [text for text in texts if f"({code})" in text]
        assert mentions == [f"<b>{names[code]}</b> ({code})<br>Suppressed (too few households)"]


@settings(max_examples=8, deadline=None)
@given(
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.lists(st.integers(min_value=1, max_value=9999).map(lambda v: v / 10_000), min_size=5, max_size=5, unique=True),
)
def test_suppression_property(flags, rates):
    boundaries = geo.schematic_boundaries().iloc[:5]
    fig = maps.choropleth(_tiny(rates, flags), "poor_rate", boundaries=boundaries, scheme=None, lang="en")
    data = fig.to_json()
    published = list(_published(fig).values())
    assert sorted(published) == sorted(r for r, hidden in zip(rates, flags) if not hidden)
    for rate, hidden in zip(rates, flags):
        text = f"{100 * rate:.2f}%"
        assert (text in data) == (not hidden)


def test_no_data_units_are_labelled(schematic):
    frame = _tiny([0.1, np.nan])
    fig = maps.choropleth(frame, "poor_rate", boundaries=schematic, scheme=None, lang="vi")
    located = _located(fig)
    assert located["01843"] == "Không có số liệu" and located["05953"] == "Không có số liệu"
    assert list(_published(fig)) == ["01840"] and fig.data[0].meta["commune_code"] == "01840"


def test_schematic_label_in_both_languages(schematic, commune_year, tmp_path):
    vi = maps.rate_map(commune_year, year=2024, boundaries=schematic)
    en = maps.rate_map(commune_year, year=2024, boundaries=schematic, lang="en")
    assert vi.layout.annotations[0].text == "Sơ đồ minh họa, không phải ranh giới chính thức"
    assert en.layout.annotations[0].text == "Schematic, not official boundaries"
    official = schematic.copy()
    official.attrs = {"schematic": False}
    assert maps.rate_map(commune_year, year=2024, boundaries=official).layout.annotations == ()


def test_hover_has_vietnamese_name_and_figures(commune_year, schematic):
    fig = maps.rate_map(commune_year, year=2024, boundaries=schematic, scheme=None)
    row = commune_year[(commune_year["review_year"] == 2024) & (commune_year["commune_code"] == "01840")].iloc[0]
    lines = _trace(fig, "01840").text.split("<br>")
    assert lines[0] == "<b>Phường Đức Xuân</b> (01840)"
    assert lines[1] == f"Tỷ lệ hộ nghèo: {100 * row['poor_rate']:.2f}%".replace(".", ",")
    assert lines[2] == f"Số hộ: {row['households']}"


def test_highlight_neighbours_and_zoom(schematic, commune_year):
    fig = maps.rate_map(
        commune_year, year=2024, boundaries=schematic, highlight="01840", show_neighbours=True, zoom=True
    )
    outlines = _outlines(fig)
    assert [t.name for t in outlines] == ["Xã, phường giáp ranh", "Phường Đức Xuân"]
    assert outlines[1].line.width == 3 and outlines[1].x[-1] is None
    near = geo.neighbours(geo.simplify(schematic))["01840"]
    assert outlines[0].x.count(None) == len(near)
    x0, x1 = fig.layout.xaxis.range
    target = schematic.set_index("commune_code").geometry["01840"].bounds
    assert x0 < target[0] and x1 > target[2]
    drawn = set(_located(fig))
    assert {"01840", *near} <= drawn and len(drawn) < 92
    plain = maps.rate_map(commune_year, year=2024, boundaries=schematic, highlight="01840")
    assert [t.name for t in _outlines(plain)] == ["Phường Đức Xuân"]
    assert plain.layout.xaxis.range is None
    assert len(_located(plain)) == 92


def test_change_map_values_and_suppression(schematic):
    cy = pd.DataFrame(
        {
            "commune_code": ["01840", "01843", "01849"] * 2,
            "review_year": [2021] * 3 + [2024] * 3,
            "households": [200, 200, 200, 210, 5, 190],
            "poor": [40, 20, 10, 21, 1, 19],
            "suppressed": [False, False, False, False, True, False],
        }
    )
    cy["poor_rate"] = cy["poor"] / cy["households"]
    fig = maps.change_map(cy, start=2021, end=2024, boundaries=schematic, lang="en")
    published = _published(fig)
    assert list(published) == ["01840", "01849"]
    assert np.allclose(list(published.values()), [0.1 - 0.2, 0.1 - 0.05])
    (bar,) = [t for t in fig.data if t.mode == "markers"]
    assert bar.marker.cmin == -bar.marker.cmax == -0.1 and bar.marker.colorbar.title.text == "Change (pts)"
    # points are not percents: the bar reads -10, -5, 0, +5, +10 under its "(pts)" title
    assert list(bar.marker.colorbar.ticktext) == ["−10", "−5", "0", "+5", "+10"]  # a true minus sign
    assert np.allclose(bar.marker.colorbar.tickvals, [-0.1, -0.05, 0, 0.05, 0.1])
    assert _trace(fig, "01840").fillcolor != _trace(fig, "01849").fillcolor
    assert _trace(fig, "01840").text.split("<br>")[1:] == [
        "Change (pts): −10.00",
        "Poor-household rate 2021: 20.00%",
        "Poor-household rate 2024: 10.00%",
    ]
    assert _located(fig)["01843"] == "Suppressed (too few households)"
    assert fig.layout.title.text == "Change in the poor-household rate, 2021–2024 (pts)"
    vi = maps.change_map(cy, start=2021, end=2024, boundaries=schematic)
    assert vi.layout.title.text == "Thay đổi tỷ lệ hộ nghèo, 2021–2024 (điểm %)"


def test_minority_share_suppressed_on_poor_households(schematic):
    cy = pd.DataFrame(
        {
            "commune_code": ["01840", "01843"],
            "review_year": 2024,
            "households": [500, 500],
            "poor": [40, 6],
            "minority_share_of_poor": [0.5, 1.0],
            "suppressed": False,
        }
    )
    fig = maps.rate_map(cy, year=2024, rate="minority_share_of_poor", boundaries=schematic, scheme=None, lang="en")
    assert list(_published(fig)) == ["01840"]
    assert _located(fig)["01843"] == "Suppressed (too few households)"


def test_mpi_and_loans_maps(schematic):
    af = pd.DataFrame(
        {
            "commune_code": ["01840", "01843", "01840", None],
            "review_year": [2024, 2024, 2023, 2024],
            "measure": ["M0", "M0", "M0", "M0"],
            "indicator": None,
            "value": [0.051, 0.02, 0.08, 0.04],
            "n": [400, 300, 380, 700],
            "k": 0.25,
            "standard": "2022-2025",
        }
    )
    fig = maps.mpi_map(af, year=2024, boundaries=schematic, scheme=None, lang="en")
    assert _published(fig) == {"01840": 0.051, "01843": 0.02}
    assert fig.data[0].text.split("<br>")[1] == "Alkire–Foster adjusted headcount ratio M0 (k = 3/12): 0.051"
    assert fig.layout.title.text == "Alkire–Foster adjusted headcount ratio M0 (k = 3/12), 2024 review"
    with pytest.raises(ValueError, match=r"several years \[.*2023.*2024.*\]: pass year="):
        maps.mpi_map(af, boundaries=schematic)

    hh = pd.DataFrame(
        {
            "household_id": [f"TN{i:07d}" for i in range(30)],
            "review_year": 2023,
            "commune_code": ["01840"] * 20 + ["01843"] * 10,
            "poverty_class": ["poor"] * 15 + ["not_poor"] * 5 + ["poor"] * 4 + ["near_poor"] * 6,
        }
    )
    loans = pd.DataFrame(
        {
            "household_id": ["TN0000000", "TN0000001", "TN0000002", "TN0000021", "TN0000003"],
            "programme": ["poor", "poor", "near_poor", "near_poor", "poor"],
            "disbursed": pd.to_datetime(["2024-01-05", "2024-06-01", "2024-07-01", "2024-03-03", "2025-01-01"]),
        }
    )
    fig = maps.loans_map(loans, hh, review_year=2023, boundaries=schematic, scheme=None, lang="en")
    assert _published(fig) == {"01840": 3 / 15}
    assert _located(fig)["01843"] == "Suppressed (too few households)"
    assert "TN00" not in fig.to_json()
    only_poor = maps.loans_map(loans, hh, review_year=2023, programmes=["poor"], boundaries=schematic, scheme=None)
    assert _published(only_poor) == {"01840": 2 / 15}
    with pytest.raises(ValueError, match=r"programmes \['credit'\] do not occur in 'loans'"):
        maps.loans_map(loans, hh, review_year=2023, programmes=["credit"], boundaries=schematic)


def test_hotspot_map_from_lisa(schematic):
    units = registry.units(2025)
    frame = pd.DataFrame(
        {
            "commune_code": units["commune_code"],
            "lat": units["lat"],
            "suppressed": units["commune_code"].isin(["01840", "05953"]),
        }
    )
    result = hotspots.lisa(frame, "lat", boundaries=schematic, permutations=199, seed=3)
    fig = maps.hotspot_map(result, lang="en")
    names = list(_classes(fig))
    assert names == [
        "High–High (hot spot)",
        "Low–Low (cold spot)",
        "High among low",
        "Low among high",
        "Not significant",
        "Suppressed (too few households)",
    ]
    located = _located(fig)
    assert sorted(located) == CODES
    assert located["01840"] == located["05953"] == "Suppressed (too few households)"
    table = result.to_frame().set_index("commune_code")
    assert all(
        located[c] == {"HH": names[0], "LL": names[1], "HL": names[2], "LH": names[3], "ns": names[4]}[k]
        for c, k in table["cluster"].items()
    )
    assert fig.layout.title.text.startswith("Poverty clusters (LISA): lat — Moran's I = ")


def test_hotspot_map_from_table(commune_year, schematic):
    fig = maps.hotspot_map(commune_year, year=2024, boundaries=schematic, permutations=99, seed=1)
    assert sorted(_located(fig)) == CODES
    assert "Moran's I = 0,7" in fig.layout.title.text
    assert fig.layout.title.text.startswith("Cụm nghèo (LISA): tỷ lệ hộ nghèo, rà soát 2024 — ")
    with pytest.raises(ValueError, match="several review years: pass year="):
        maps.hotspot_map(commune_year, boundaries=schematic)


def test_errors_name_the_problem(commune_year, schematic):
    rows = commune_year[commune_year["review_year"] == 2024]
    with pytest.raises(ValueError, match=r"one row per commune; '01840' appears more than once \(filter one review"):
        maps.choropleth(commune_year, "poor_rate", boundaries=schematic)
    with pytest.raises(ValueError, match=r"no column 'm0'"):
        maps.choropleth(rows, "m0", boundaries=schematic)
    with pytest.raises(ValueError, match=r"no column 'flag' \(pass suppressed_column=None"):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, suppressed_column="flag")
    with pytest.raises(ValueError, match=r"codes that are not units of the boundaries: \['99999'\]"):
        maps.choropleth(_tiny([0.1]).assign(commune_code="99999"), "poor_rate", boundaries=schematic)
    with pytest.raises(ValueError, match="scheme must be one of"):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, scheme="jenks")
    with pytest.raises(ValueError, match="k must be an integer >= 2, got 1"):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, k=1)
    with pytest.raises(ValueError, match=r"thresholds must be finite and strictly increasing, got \(0.2, 0.15\)"):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, scheme="fixed", thresholds=(0.2, 0.15))
    with pytest.raises(ValueError, match="thresholds are used only with scheme='fixed'"):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, thresholds=(0.2,))
    with pytest.raises(ValueError, match="highlight='00000' is not a commune code of the boundaries"):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, highlight="00000")
    with pytest.raises(ValueError, match="show_neighbours and zoom need highlight="):
        maps.choropleth(rows, "poor_rate", boundaries=schematic, zoom=True)
    with pytest.raises(ValueError, match=r"review year 2030 is not in 'commune_year' \(years: \[2021, 2022"):
        maps.rate_map(commune_year, year=2030, boundaries=schematic)
    with pytest.raises(ValueError, match="start must be an earlier review than end"):
        maps.change_map(commune_year, start=2024, end=2021, boundaries=schematic)
    with pytest.raises(ValueError, match="lang must be one of"):
        maps.rate_map(commune_year, year=2024, boundaries=schematic, lang="fr")
    with pytest.raises(ValueError, match="column 'suppressed' of 'frame' must be boolean"):
        maps.choropleth(rows.assign(suppressed=rows["suppressed"].astype(int)), "poor_rate", boundaries=schematic)


def test_real_map_size(real, commune_year):
    fig = maps.rate_map(commune_year, year=2024, boundaries=real)
    size = len(fig.to_json())
    assert 200_000 < size <= 300_000  # 3.7 MB unsimplified
    assert fig.layout.annotations == ()
    assert sorted(_located(fig)) == CODES
    coords = json.dumps([v for t in _areas(fig) for v in t.x + t.y if v is not None])
    decimals = max(len(part.split(".")[1].rstrip("]")) for part in coords.replace(" ", "").split(",") if "." in part)
    assert decimals <= maps.COORDINATE_DECIMALS


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_mpi_map_names_h_as_the_alkire_foster_headcount_not_the_poverty_rate(schematic, lang):
    # H counts households deprived in >= k indicators whatever their income: it is not the poor-household rate.
    af = pd.DataFrame(
        {
            "commune_code": ["01840", "01843"],
            "review_year": 2024,
            "measure": "H",
            "indicator": None,
            "value": [0.15, 0.2],
            "n": [400, 300],
            "k": 0.25,
            "standard": "2022-2025",
        }
    )
    fig = maps.mpi_map(af, measure="H", year=2024, boundaries=schematic, scheme=None, lang=lang)
    hover = fig.data[0].text.split("<br>")[1]
    expected = {
        "vi": "Tỷ lệ hộ thiếu hụt đa chiều H (AF, k = 3/12)",
        "en": "Alkire–Foster multidimensional headcount H (k = 3/12)",
    }[lang]
    assert fig.layout.title.text.startswith(expected) and hover.startswith(expected + ": ")
    for text in (fig.layout.title.text, hover):
        for wrong in ("Tỷ lệ nghèo đa chiều", "Tỷ lệ hộ nghèo", "Poor-household rate", "poverty rate"):
            assert wrong.lower() not in text.lower()


def test_a_plain_frame_maps_without_a_suppressed_column(schematic):
    plain = pd.DataFrame({"commune_code": CODES[:3], "rate": [0.1, 0.2, 0.3]})
    fig = maps.choropleth(plain, "rate", boundaries=schematic, scheme=None, lang="en")
    assert list(_published(fig)) == CODES[:3]
    assert "Suppressed (too few households)" not in [t.name for t in fig.data]


def test_a_suppressed_column_is_applied_when_present_and_required_when_asked_for(schematic):
    flagged = pd.DataFrame({"commune_code": CODES[:3], "rate": [0.1, 0.2, 0.3], "suppressed": [False, True, False]})
    fig = maps.choropleth(flagged, "rate", boundaries=schematic, scheme=None, lang="en")
    assert _located(fig)[CODES[1]] == "Suppressed (too few households)"
    assert "20.00%" not in fig.to_json()
    opted_out = maps.choropleth(flagged, "rate", boundaries=schematic, scheme=None, suppressed_column=None)
    assert CODES[1] in _published(opted_out)
    renamed = flagged.rename(columns={"suppressed": "hidden"})
    fig = maps.choropleth(renamed, "rate", boundaries=schematic, scheme=None, suppressed_column="hidden", lang="en")
    assert _located(fig)[CODES[1]] == "Suppressed (too few households)"
    with pytest.raises(ValueError, match=r"'frame' has no column 'suppressed' \(pass suppressed_column=None"):
        maps.choropleth(
            flagged.drop(columns="suppressed"), "rate", boundaries=schematic, suppressed_column="suppressed"
        )


def test_maps_need_no_base_map(commune_year, schematic):
    # a plotly geo subplot fetches a world base map from a CDN: offline it draws nothing
    figures = [
        maps.rate_map(commune_year, year=2024, boundaries=schematic),
        maps.change_map(commune_year, start=2021, end=2024, boundaries=schematic),
        maps.rate_map(
            commune_year, year=2024, boundaries=schematic, highlight="01840", show_neighbours=True, zoom=True
        ),
        maps.hotspot_map(commune_year, year=2024, boundaries=schematic, permutations=99),
    ]
    for fig in figures:
        spec = fig.to_plotly_json()
        assert {t["type"] for t in spec["data"]} == {"scatter"}
        assert not [key for key in spec["layout"] if key.startswith(("geo", "map", "mapbox"))]
        assert spec["layout"]["yaxis"]["scaleanchor"] == "x"
        assert 1.05 < spec["layout"]["yaxis"]["scaleratio"] < 1.1  # 1 / cos(21.7°)


_SCHEMATIC = geo.schematic_boundaries()
_FEW = _SCHEMATIC[_SCHEMATIC["commune_code"].isin(CODES[:20])]  # a small map draws fast
_NUMBER = r"([+-]?[\d.,]+)%?"


def _interval(name: str, lang: str) -> tuple[float, float]:
    """The interval [low, high) a legend class names, in display units (percent, points, ...)."""
    import re

    def number(text: str) -> float:
        text = text.replace(".", "").replace(",", ".") if lang == "vi" else text.replace(",", "")
        return float(text)

    if m := re.fullmatch(rf"< {_NUMBER}", name):
        return -np.inf, number(m.group(1))
    if m := re.fullmatch(rf"≥ {_NUMBER}", name):
        return number(m.group(1)), np.inf
    m = re.fullmatch(rf"{_NUMBER} – < {_NUMBER}", name)
    assert m, f"a class name that does not say its interval: {name!r}"
    return number(m.group(1)), number(m.group(2))


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 0.6, allow_nan=False), min_size=6, max_size=20),
    scheme=st.sampled_from(["quantiles", "natural_breaks", "fixed"]),
    k=st.integers(2, 6),
    kind=st.sampled_from(["percent", "points", "index", "number"]),
    lang=st.sampled_from(["vi", "en"]),
)
def test_legend_classes_never_share_an_edge_and_hold_their_communes(values, scheme, k, kind, lang):
    schematic = _FEW
    scale = {"percent": 100, "points": 100, "index": 1, "number": 1000}[kind]
    frame = pd.DataFrame(
        {"commune_code": CODES[: len(values)], "v": np.asarray(values) * (1000 if kind == "number" else 1)}
    )
    fig = maps.choropleth(
        frame, "v", boundaries=schematic, scheme=scheme, k=k, lang=lang, value_format=kind, suppressed_column=None
    )
    classes = {name: codes for name, codes in _classes(fig).items() if name not in ("No data", "Không có số liệu")}
    if len(classes) == 1 and scheme != "fixed":  # one distinct value: one class, named by it
        return
    intervals = [_interval(name, lang) for name in classes]
    for (a1, b1), (a2, b2) in zip(intervals, intervals[1:]):
        assert b1 == a2 and a1 < b1 < b2  # ordered, each boundary in one class only (closed on the left)
    values_of = dict(zip(frame["commune_code"], frame["v"]))
    for (low, high), codes in zip(intervals, classes.values()):
        for code in codes:
            shown = values_of[code] * (scale if kind != "number" else 1)
            assert low - 1e-9 <= shown < high - 1e-12 or np.isclose(shown, low), (code, shown, low, high)


def test_map_titles_name_the_review_year(commune_year, schematic):
    rows = commune_year[commune_year["review_year"] == 2024]
    assert maps.choropleth(rows, "poor_rate", boundaries=schematic).layout.title.text == "Tỷ lệ hộ nghèo, rà soát 2024"
    en = maps.choropleth(rows.drop(columns="review_year"), "poor_rate", boundaries=schematic, lang="en", year=2025)
    assert en.layout.title.text == "Poor-household rate, 2025 review"
    assert maps.rate_map(commune_year, year=2023, boundaries=schematic).layout.title.text.endswith("rà soát 2023")
    near = maps.rate_map(commune_year, year=2024, rate="near_poor_rate", boundaries=schematic)
    assert near.layout.title.text == "Tỷ lệ hộ cận nghèo, rà soát 2024"
    af = pd.DataFrame(
        {
            "commune_code": ["01840"],
            "review_year": [2022],
            "measure": ["M0"],
            "indicator": None,
            "value": [0.05],
            "n": [400],
            "k": 0.25,
            "standard": "2022-2025",
        }
    )
    assert maps.mpi_map(af, boundaries=schematic, scheme=None).layout.title.text.endswith(", rà soát 2022")
    assert "2021–2024" in maps.change_map(commune_year, start=2021, end=2024, boundaries=schematic).layout.title.text


def test_colour_bar_and_legend_of_a_continuous_map_do_not_overlap(commune_year, schematic):
    fig = maps.rate_map(commune_year, year=2024, boundaries=schematic, scheme=None, min_cell=40, highlight="01840")
    (bar,) = [t for t in fig.data if t.marker is not None and t.marker.showscale]
    legend = fig.layout.legend
    assert bar.marker.colorbar.x >= 1 and bar.marker.colorbar.xanchor == "left"  # right of the map
    assert legend.orientation == "h" and legend.yanchor == "top" and legend.y <= 0  # under it
    # a long title is broken into lines over the bar instead of running left across the map
    gap = pd.DataFrame({"commune_code": CODES[:3], "gap": [0.01, -0.02, 0.05]})
    long = maps.choropleth(
        gap,
        "gap",
        boundaries=schematic,
        scheme=None,
        value_format="points",
        column_label="Chênh lệch so với mục tiêu năm 2030 (điểm phần trăm)",
    )
    (bar,) = [t for t in long.data if t.marker is not None and t.marker.showscale]
    lines = bar.marker.colorbar.title.text.split("<br>")
    assert len(lines) > 1 and max(map(len, lines)) <= 22 and " ".join(lines).startswith("Chênh lệch so với")
    classed = maps.rate_map(commune_year, year=2024, boundaries=schematic)
    assert classed.layout.legend.x >= 1 and classed.layout.legend.orientation != "h"  # no colour bar: legend at right


def test_maps_write_numbers_in_their_language(commune_year, schematic):
    assert maps.rate_map(commune_year, year=2024, boundaries=schematic, scheme=None).layout.separators == ",."
    assert maps.rate_map(commune_year, year=2024, boundaries=schematic, lang="en").layout.separators == ".,"
