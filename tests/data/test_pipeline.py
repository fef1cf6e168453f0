import pandas as pd
import pytest

from povanalysis.data import io, pipeline, synth


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    synth.write(synth.generate(seed=8, scale=0.01), root / "raw")
    return root


def test_process_is_deterministic_and_complete(raw_root, tmp_path):
    first = pipeline.process(raw_root)
    snapshot = {k: p.read_bytes() for k, p in first.items()}
    second = pipeline.process(raw_root)
    for key, path in second.items():
        assert path.read_bytes() == snapshot[key], key
    households = pd.read_parquet(raw_root / "raw" / "households.parquet")
    classified = pd.read_parquet(first["households_classified"])
    assert len(classified) == len(households)
    table = pd.read_parquet(first["commune_year"])
    assert table["households"].sum() == len(households)
    assert table["poor"].sum() == (classified["poverty_class"] == "poor").sum()
    assert {"name", "name_ascii", "unit_type", "old_area", "suppressed"} <= set(table.columns)
    ind = pd.read_parquet(first["indicators_commune_year"])
    wide = ind[ind["indicator"].isna()].pivot_table(
        index=["commune_code", "review_year"], columns="measure", values="value"
    )
    assert ((wide["M0"] - wide["H"] * wide["A"].fillna(0)).abs() < 1e-12).all()
    lines = classified["area"].map({"rural": 1_500_000, "urban": 2_000_000})
    fgt0 = (classified["income_pc"] <= lines).groupby([classified["commune_code"], classified["review_year"]]).mean()
    assert (wide["FGT0"] - fgt0.reindex(wide.index)).abs().max() < 1e-12
    groups = pd.read_parquet(first["groups_year"])
    by_year = groups[groups["dimension"] == "old_area"].groupby("review_year")["poor"].sum()
    assert by_year.to_dict() == groups[groups["dimension"] == "province"].set_index("review_year")["poor"].to_dict()


def test_each_review_year_uses_its_standard(small_panel):
    mapping = {2021: "2022-2025", 2022: "2022-2025", 2023: "2022-2025", 2024: "2022-2025", 2025: "2026-2030"}
    out = pipeline.classify_panel(small_panel.households, standards=mapping)
    assert out.groupby("review_year")["standard"].first().to_dict() == mapping
    rebased = (out.loc[out["review_year"] == 2025, "poverty_class"] == "poor").mean()
    default = (
        pipeline.classify_panel(small_panel.households).query("review_year == 2025")["poverty_class"] == "poor"
    ).mean()
    assert rebased > default  # higher lines under Decree 351


def test_disadvantaged_list_is_validated(tmp_path, monkeypatch):
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(tmp_path))
    assert pipeline.load_disadvantaged() == frozenset()
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "disadvantaged_communes.csv").write_text("commune_code\n01840\n1840\n", encoding="utf-8")
    with pytest.raises(
        io.ValidationError, match="data row 2 \\(line 3\\), column 'commune_code': '1840' is not one of"
    ):
        pipeline.load_disadvantaged()
    (tmp_path / "raw" / "disadvantaged_communes.csv").write_text("commune_code\n01840\n05665\n", encoding="utf-8")
    assert pipeline.load_disadvantaged() == frozenset({"01840", "05665"})


def test_ensure_demo_data_regenerates_only_when_parameters_change(tmp_path):
    pipeline.ensure_demo_data(tmp_path, seed=1, scale=0.003)
    stamp = (tmp_path / "raw" / "households.parquet").stat().st_mtime_ns
    pipeline.ensure_demo_data(tmp_path, seed=1, scale=0.003)
    assert (tmp_path / "raw" / "households.parquet").stat().st_mtime_ns == stamp
    pipeline.ensure_demo_data(tmp_path, seed=2, scale=0.003)
    assert (tmp_path / "raw" / "households.parquet").stat().st_mtime_ns != stamp
