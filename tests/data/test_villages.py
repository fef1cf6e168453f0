"""Villages: checked within their commune, and the synthetic panel's villages (realistic counts, real clustering)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from povanalysis.data import registry, villages
from povanalysis.data.io import write_parquet
from povanalysis.data.schema import VILLAGE_KINDS
from povanalysis.data.sources import ValidationError
from povanalysis.data.villages import (
    assign_villages,
    attach_villages,
    check_villages,
    intra_village_correlation,
    read_villages,
    village_problems,
)


@pytest.fixture(scope="module")
def panel_villages(small_panel, small_classified):
    """The small panel's households at their first review, with their village."""
    first = small_classified.drop_duplicates("household_id").reset_index(drop=True)
    return attach_villages(first, small_panel.villages).merge(
        small_panel.villages[["household_id", "distance_km"]], on="household_id"
    )


def test_villages_depend_only_on_the_households_and_the_seed(small_panel):
    again = assign_villages(small_panel.households, seed=11, scale=0.02)
    pd.testing.assert_frame_equal(again, small_panel.villages)
    other = assign_villages(small_panel.households, seed=12, scale=0.02)
    assert not other["village_code"].equals(small_panel.villages["village_code"])


def test_every_household_lives_in_one_village_of_its_commune(small_panel):
    v = small_panel.villages
    assert list(v.columns) == ["household_id", "commune_code", "village_code", "village_name", "distance_km"]
    assert v["household_id"].is_unique
    assert set(v["household_id"]) == set(small_panel.households["household_id"])
    assert (v["village_code"].str[:5] == v["commune_code"]).all()
    assert v["village_code"].str.fullmatch(r"\d{5}-\d{3}").all()
    home = small_panel.households.drop_duplicates("household_id").set_index("household_id")["commune_code"]
    assert (v["commune_code"].to_numpy() == v["household_id"].map(home).to_numpy()).all()
    check_villages(v)  # one commune and one name per code
    per_commune = v.groupby("commune_code")
    assert (per_commune["village_name"].nunique() == per_commune["village_code"].nunique()).all()
    assert (v["distance_km"] > 0).all()


def test_village_names_say_their_kind_with_diacritics(small_panel):
    v = small_panel.villages.drop_duplicates("village_code")
    kind = v["village_name"].map(lambda n: next((k for k in VILLAGE_KINDS if n.startswith(k + " ")), None))
    assert kind.notna().all(), v[kind.isna()]
    wards = set(registry.units().query("unit_type == 'ward'")["commune_code"])
    in_ward = v["commune_code"].isin(wards)
    assert (kind[in_ward] == "Tổ dân phố").all()
    assert set(kind[~in_ward]) == {"Thôn", "Xóm", "Bản", "Tổ dân phố"}  # towns keep their tổ dân phố
    bac_kan = set(registry.units().query("old_area == 'bac_kan'")["commune_code"])
    assert (kind[v["commune_code"].isin(bac_kan)] != "Xóm").all()
    assert v["village_name"].str.contains("[ổằịạơưđ]", regex=True).any()


def test_full_scale_village_counts_are_those_assumed(small_panel, monkeypatch):
    """Without the floor on village size of reduced scales, each unit has the full-scale count."""
    monkeypatch.setattr(villages, "MIN_VILLAGE_HOUSEHOLDS", 1)
    v = assign_villages(small_panel.households, seed=11, scale=0.02)
    counts = v.groupby("commune_code")["village_code"].nunique()
    households = v.groupby("commune_code").size()
    units = registry.units().set_index("commune_code")
    rural = units["unit_type"].reindex(counts.index) == "commune"
    big = households >= 60  # enough households for 60 villages of one
    assert counts[rural & big].between(20, 60).all(), counts[rural & big].describe()
    assert counts[~rural & big].between(10, 120).all()
    # full-scale households per village: 100 to 300 (400 in wards) unless a bound on the count binds
    full_size = households / 0.02 / counts
    free = rural & big & counts.between(21, 59)
    assert full_size[free].between(100 * 0.9, 300 * 1.1).all(), full_size[free].describe()


def test_reduced_scale_keeps_villages_of_five_households_on_average(small_panel):
    v = small_panel.villages
    counts = v.groupby("commune_code")["village_code"].nunique()
    households = v.groupby("commune_code").size()
    assert (counts <= np.maximum(households // villages.MIN_VILLAGE_HOUSEHOLDS, 2)).all()
    assert counts.min() >= 1 and counts.sum() > 1000


def test_households_cluster_by_village(panel_villages):
    """Poverty, ethnicity and distance are correlated within villages of a commune; a random placement is not."""
    hh = panel_villages
    below = hh["poverty_class"].isin(["poor", "near_poor"])
    rho = intra_village_correlation(below, hh["village_code"], hh["commune_code"])
    rho_minority = intra_village_correlation(hh["minority"], hh["village_code"], hh["commune_code"])
    assert rho > 0.08, rho
    assert rho_minority > 0.08, rho_minority
    rng = np.random.default_rng(0)
    shuffled = hh.groupby("commune_code")["village_code"].transform(lambda s: rng.permutation(s.to_numpy()))
    rho_random = intra_village_correlation(below, shuffled, hh["commune_code"])
    assert abs(rho_random) < 0.03, rho_random
    # poorer villages lie farther from the commune's centre (within communes)
    g = (
        hh.assign(below=below)
        .groupby(["commune_code", "village_code"])
        .agg(rate=("below", "mean"), km=("distance_km", "first"))
    )
    g = g - g.groupby("commune_code").transform("mean")
    assert g["rate"].corr(g["km"], method="spearman") > 0.1


def test_noise_weakens_the_clustering(small_panel, small_classified):
    first = small_classified.drop_duplicates("household_id")
    below = first["poverty_class"].isin(["poor", "near_poor"]).to_numpy()
    rhos = []
    for noise in (0.0, 1.0, 100.0):
        v = assign_villages(small_panel.households, seed=11, scale=0.02, noise=noise)
        m = attach_villages(first, v)
        rhos.append(intra_village_correlation(below, m["village_code"], m["commune_code"]))
    assert rhos[0] > rhos[1] > rhos[2]
    assert abs(rhos[2]) < 0.03


@pytest.mark.parametrize("n_per_village", [8, 30])
def test_intra_village_correlation_recovers_a_planted_value(n_per_village):
    """Random-effects data with ICC 0 and 0.2 in 40 communes of 10 villages: the estimate is unbiased."""
    for planted in (0.0, 0.2):
        estimates = []
        for seed in range(60):
            rng = np.random.default_rng(seed)
            communes = np.repeat(np.arange(40), 10 * n_per_village)
            villages_ = np.repeat(np.arange(400), n_per_village)
            y = (
                rng.normal(0, 1, 40)[communes]
                + rng.normal(0, np.sqrt(planted), 400)[villages_]
                + rng.normal(0, np.sqrt(1 - planted), len(villages_))
            )
            estimates.append(intra_village_correlation(y, villages_, communes))
        assert np.mean(estimates) == pytest.approx(planted, abs=0.01)


def test_check_villages_names_row_column_and_value():
    hh = pd.DataFrame(
        {
            "household_id": ["A", "B", "C", "D", "A"],
            "commune_code": ["01840", "01840", "01843", "01840", "01840"],
            "village_code": ["01840-001", "01840-001", "01840-001", "01840-002", "01840-002"],
            "village_name": ["Xóm Na", "Xóm Nà", "Xóm Na", "", "Xóm Cả"],
        }
    )
    with pytest.raises(ValidationError) as err:
        check_villages(hh, path="households.csv")
    e = err.value
    assert str(e) == (
        "households.csv: 4 invalid village values in 4 rows:"
        "\n  row 1, column 'village_name': village '01840-001' is named 'Xóm Na' at row 0: one name per village code,"
        " got 'Xóm Nà'"
        "\n  row 2, column 'village_code': village code in commune '01843', but in commune '01840' at row 0: "
        "a village belongs to one commune, got '01840-001'"
        "\n  row 3, column 'village_name': empty village name for a village code, got ''"
        "\n  row 4, column 'village_code': household 'A' is in village '01840-001' elsewhere, got '01840-002'"
    )  # row 3 has no name: its code is not compared with row 4's
    assert (e.row, e.column, e.value) == (1, "village_name", "Xóm Nà")
    assert e.problems["row"].tolist() == [1, 2, 3, 4]


def test_frames_without_villages_pass_and_half_the_columns_do_not():
    hh = pd.DataFrame({"household_id": ["A"], "commune_code": ["01840"]})
    assert check_villages(hh) is hh
    with pytest.raises(ValidationError, match=r"village columns come together: \['village_code'\] without"):
        check_villages(hh.assign(village_code=["01840-001"]))


def test_read_villages_round_trip_and_agreement_with_the_review_file(small_panel, tmp_path):
    path = tmp_path / "villages.parquet"
    write_parquet(small_panel.villages, path)
    back = read_villages(path, households=small_panel.households)
    pd.testing.assert_frame_equal(back, small_panel.villages, check_dtype=False)
    moved = small_panel.villages.head(3).copy()
    moved.loc[1, "commune_code"] = "01843"
    csv = tmp_path / "villages.csv"
    moved.to_csv(csv, index=False)
    with pytest.raises(ValidationError) as err:
        read_villages(csv, households=small_panel.households)
    assert err.value.row == 2 and err.value.column == "commune_code" and err.value.value == "01843"
    assert "row 2 (line 3 of the file), column 'commune_code'" in str(err.value)


def test_village_problems_take_the_majority_as_reference_and_the_earliest_on_a_tie():
    def where(pos):
        return [f"#{p}" for p in pos]

    commune = np.array(["01843", "01840", "01840", "01843", "01843"], dtype=object)
    code = np.array(["a", "a", "a", "b", "b"], dtype=object)
    name = np.array(["Xóm Na", "Xóm Na", "Xóm Na", "Bản Mò", "Bản Mỏ"], dtype=object)
    found = village_problems(np.array(["H1", "H2", "H3", "H4", "H1"], dtype=object), commune, code, name, where)
    assert found == [
        (0, "village_code", "a", "village code in commune '01843', but in commune '01840' at #1: a village belongs to one commune"),
        (4, "village_code", "b", "household 'H1' is in village 'a' elsewhere"),
        (4, "village_name", "Bản Mỏ", "village 'b' is named 'Bản Mò' at #3: one name per village code"),
    ]  # fmt: skip
    assert village_problems(None, commune[:0], code[:0], name[:0], where) == []
