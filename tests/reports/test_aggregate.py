"""Commune reports on published counts: annexes of the synthetic panel read, brought onto the 2025 units, mapped,
projected and reported, with the rates of the microdata; the sections that need household records say so."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis import config
from povanalysis.data import pipeline, registry
from povanalysis.geo import crosswalk, maps
from povanalysis.measure.aggregates import poverty_counts
from povanalysis.reports import aggregate, prepare, sections
from povanalysis.tables import read_published_series
from povanalysis.tables.annex import write_panel_annexes

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"
YEARS = (2021, 2022, 2023, 2024, 2025)
SEED = 7
SPLIT = ["05443", "05467", "05500", "05908", "05941"]  # new units that received part of a split old unit


@pytest.fixture(scope="module")
def classified():
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        yield pipeline.load_classified()


@pytest.fixture(scope="module")
def published(classified, tmp_path_factory):
    """Messy annexes of the panel (2022 as a Windows-1258 CSV), read, brought onto the 2025 units with household
    weights, and stored in a data root of their own."""
    folder = tmp_path_factory.mktemp("published")
    paths = write_panel_annexes(classified, folder / "annexes", seed=SEED, csv_years=(2022,))
    series = read_published_series(paths)
    households = classified.assign(old_code=crosswalk.assign_old_units(classified, seed=SEED).to_numpy())
    weights = pd.concat(
        [crosswalk.weights_from_records(households, year=y).assign(review_year=y) for y in YEARS], ignore_index=True
    )
    table = series.commune_year(weights=weights)
    root = folder / "root"
    aggregate.write_counts(table, root, synthetic=True, sources=[p.name for p in paths])
    return series, table, root


def test_every_row_of_the_messy_annexes_is_placed(published):
    series, _, _ = published
    assert series.years == list(YEARS)
    for t in series.tables:
        assert t.unplaced.empty and not t.missing and len(t.matches) == 280
        assert {"normalised", "ascii", "fuzzy"} <= set(t.matches["method"])


def test_the_reports_rates_are_the_microdata_rates(published, classified):
    """Done when: exactly where the counts are whole, within what was apportioned where old units were split."""
    _, _, root = published
    truth = poverty_counts(classified, by=["commune_code", "review_year"], min_cell=1)
    truth = truth.set_index(["commune_code", "review_year"])
    for code in registry.known_codes():
        ctx = aggregate.commune_context(code, review_year=2025, root=root)
        got = ctx.rates.set_index(["commune_code", "review_year"])
        want = truth.loc[got.index]
        assert len(got) == len(YEARS)
        columns = ["households", "poor", "near_poor", "minority_poor", "poor_rate", "near_poor_rate"]
        if code in SPLIT:
            assert np.allclose(got["households"], want["households"], rtol=0, atol=1e-9)
            assert np.allclose(got["poor_rate"], want["poor_rate"], rtol=0, atol=0.05)
        else:
            for column in columns:
                assert np.array_equal(got[column].to_numpy(float), want[column].to_numpy(float)), (code, column)
    # the province's rate, from every commune, is the microdata's
    province = ctx.areas[ctx.areas["old_area"] == "province"].set_index("review_year")
    whole = poverty_counts(classified, by=["review_year"], min_cell=1).set_index("review_year")
    assert np.allclose(province["poor_rate"], whole.loc[province.index, "poor_rate"], rtol=0, atol=1e-12)
    assert np.allclose(province["households"], whole.loc[province.index, "households"], rtol=0, atol=1e-9)


def test_map_trend_projection_and_targets_run_on_the_counts(published, classified):
    _, _, root = published
    ctx = aggregate.commune_context("02020", review_year=2025, root=root)
    assert ctx.sections == {"map": True, "targeting": False, "projections": True, "risk": False}
    fig = aggregate.map_figure(ctx, lang="vi")
    assert fig is not None and len(fig.data) >= 92
    hidden = int(ctx.all_rates["suppressed"].sum())
    assert sum(str(t.name).startswith("Không công bố") for t in fig.data) >= hidden > 0
    assert len(ctx.all_rates) == 92
    # the stored table is in the layout the maps take
    stored, meta = aggregate.read_counts(root)
    assert meta == {"synthetic": True, "sources": [f"annex_{y}.{'csv' if y == 2022 else 'xlsx'}" for y in YEARS]}
    shown = maps.drawn(maps.rate_map(stored, year=2025, lang="en"))
    assert sorted(shown["commune_code"]) == sorted(registry.known_codes())
    path = ctx.extra["projections"]
    assert path["year"].tolist() == [2026, 2027, 2028, 2029, 2030]
    assert (path["target"] == "province_high").all() and (path["standard"] == "2022-2025").all()
    # the start of the commune's reference path is its published 2025 rate (a whole commune)
    now = poverty_counts(classified, by=["commune_code", "review_year"], min_cell=1).set_index(
        ["commune_code", "review_year"]
    )
    assert path["start_level"].iloc[0] == pytest.approx(now.loc[("02020", 2025), "poor_rate"], abs=1e-12)
    # a proportional share of -1.5 points a year from the province's 2025 rate
    province = classified[classified["review_year"] == 2025]
    p0 = (province["poverty_class"] == "poor").mean()
    factor = max(p0 - 0.075, 0) / p0
    assert path["target_level"].iloc[-1] == pytest.approx(path["start_level"].iloc[0] * factor, rel=1e-9)
    assert path["mean"].between(0, 1).all() and (path["obs_ci_lower"] <= path["obs_ci_upper"]).all()
    text = aggregate.section("projections", ctx, lang="vi").data
    assert "2030" in text and "chuẩn nghèo giai đoạn 2022–2025" in text and "cần số liệu từng hộ" in text
    assert aggregate.path_figure(ctx, lang="en") is not None
    assert aggregate.rate_figure(ctx, lang="en") is not None


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_household_sections_say_so_in_one_sentence(published, lang):
    _, _, root = published
    for code in ("01840", "02020", "05443"):
        ctx = aggregate.commune_context(code, review_year=2025, root=root)
        for key in aggregate.HOUSEHOLD_SECTIONS:
            text = aggregate.section(key, ctx, lang=lang).data
            heading, body = text.split("\n\n", 1)
            assert heading.startswith("## ")
            sentence = aggregate.household_sentence(key, lang)
            assert body.startswith(sentence) and sentence.count(". ") == 0 and sentence.endswith(".")
        for figure in ("profile_figure", "contribution_figure", "ethnicity_table", "credit_table"):
            assert getattr(aggregate, figure)(ctx, lang=lang) is None
        for key in ("overview", "trend", "map", "projections"):
            text = aggregate.section(key, ctx, lang=lang)
            if text is not None:
                assert not {"nan", "None", "NaN"} & set(text.data.replace(".", " ").split())


def test_small_counts_are_never_given_back(tmp_path):
    counts = pd.DataFrame(
        {
            "commune_code": ["01840", "01840", "01843", "01843"],
            "review_year": [2024, 2025, 2024, 2025],
            "households": [200, 201, 100, 50],
            "poor": [12, 4, 30, 20],
            "near_poor": [15, 10, 9, 5],
        }
    )
    aggregate.write_counts(counts, tmp_path)
    ctx = aggregate.commune_context("01840", review_year=2025, root=tmp_path)
    text = aggregate.households_text(ctx, lang="vi").data
    assert text == (
        "Theo bảng kết quả rà soát năm 2025, Phường Đức Xuân có 201 hộ, trong đó dưới 10 hộ nghèo "
        "và 10 hộ cận nghèo (tỷ lệ 4,98%)."
    )
    assert "không công bố dự báo" in aggregate.path_text(ctx, lang="vi").data
    assert aggregate.path_figure(ctx, lang="vi") is None
    # both units are of the old Bac Kan: its rate in 2024 is (12 + 30) / (200 + 100)
    areas = ctx.areas.set_index(["old_area", "review_year"])
    assert areas.loc[("bac_kan", 2024), "poor_rate"] == pytest.approx(42 / 300)
    assert areas.loc[("province", 2025), "poor_rate"] == pytest.approx(24 / 251)
    assert not areas.loc[("province", 2025), "poor_rate__hidden"]


def test_modes_and_their_errors(published, tmp_path):
    _, _, root = published
    assert aggregate.sections_for("households") is sections
    assert aggregate.sections_for("tables") is aggregate
    with pytest.raises(ValueError, match="data_mode must be one of"):
        aggregate.sections_for("microdata")
    with pytest.raises(ValueError, match="review_year 2019 is not a review in the published tables"):
        aggregate.commune_context("01840", review_year=2019, root=root)
    with pytest.raises(FileNotFoundError, match="povanalysis batch --tables"):
        aggregate.commune_context("01840", review_year=2025, root=tmp_path)
    with pytest.raises(ValueError, match="'99999' is not a unit"):
        aggregate.write_counts(
            pd.DataFrame(
                {"commune_code": ["99999"], "review_year": [2025], "households": [1], "poor": [0], "near_poor": [0]}
            ),
            tmp_path,
        )
    # a series that does not reach the targets' start year: no path, and the section is left out
    counts = pd.DataFrame(
        {
            "commune_code": ["01840", "01840"],
            "review_year": [2023, 2024],
            "households": [200, 200],
            "poor": [20, 18],
            "near_poor": [15, 15],
        }
    )
    aggregate.write_counts(counts, tmp_path / "short")
    ctx = aggregate.commune_context("01840", review_year=2024, root=tmp_path / "short")
    assert not ctx.sections["projections"] and aggregate.section("projections", ctx) is None


def test_the_household_mode_reads_the_prepared_tables(monkeypatch):
    calls = []
    monkeypatch.setattr(prepare, "commune_context", lambda code, *, review_year: calls.append((code, review_year)))
    aggregate.context_for("households", "01840", review_year=2024)
    assert calls == [("01840", 2024)]
    with pytest.raises(ValueError, match="data_mode must be one of"):
        aggregate.context_for("Households", "01840", review_year=2024)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 91), st.integers(1, 400), st.floats(0, 1), st.floats(0, 1)),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0],
    )
)
def test_area_rates_add_the_communes_and_hide_only_small_counts(rows):
    codes = sorted(registry.known_codes())
    counts = pd.DataFrame(
        {
            "commune_code": [codes[i] for i, *_ in rows],
            "review_year": 2025,
            "households": [float(h) for _, h, *_ in rows],
            "poor": [float(round(h * p)) for _, h, p, _ in rows],
            "near_poor": [float(round(h * (1 - p) * q)) for _, h, p, q in rows],
        }
    )
    areas = aggregate.area_rates(counts, min_cell=10).set_index("old_area")
    province = areas.loc["province"]
    assert province["households"] == counts["households"].sum() and province["poor"] == counts["poor"].sum()
    assert province["poor_rate"] == pytest.approx(counts["poor"].sum() / counts["households"].sum())
    parts = areas.drop(index="province")
    assert parts["households"].sum() == province["households"]
    rates = aggregate.commune_rates(counts, min_cell=10)
    assert rates["poor_rate"].between(0, 1).all() and rates["near_poor_rate"].between(0, 1).all()
    assert (rates["poor_rate__hidden"] == (rates["poor"] < 10)).all()
    assert (rates["suppressed"] == (rates["households"] < 10)).all()
