import shutil
from pathlib import Path

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
    villages = tmp_path / "processed" / "villages.parquet"
    villages.unlink()  # processed before the pipeline knew villages: processed again
    assert pipeline.ensure_demo_data(tmp_path, seed=2, scale=0.003)["villages"] == villages
    assert villages.exists()


def test_process_checks_and_writes_the_villages_and_nothing_else_changes(raw_root, tmp_path, monkeypatch):
    with_villages = pipeline.process(raw_root)
    raw_villages = pd.read_parquet(raw_root / "raw" / "villages.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(with_villages["villages"]), raw_villages)
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(raw_root))
    loaded = pipeline.load_villages()
    assert loaded["household_id"].is_unique and set(loaded["household_id"]) == set(raw_villages["household_id"])
    assert loaded["village_code"].str.fullmatch(r"\d{5}-\d{3}").all()
    other = tmp_path / "data"
    shutil.copytree(raw_root / "raw", other / "raw")
    shutil.copytree(raw_root / "processed", other / "processed")  # a stale village table from the run above
    (other / "raw" / "villages.parquet").unlink()
    without = pipeline.process(other)
    assert set(with_villages) - set(without) == {"villages"}
    for key, path in without.items():
        assert path.read_bytes() == with_villages[key].read_bytes(), key
    assert not (other / "processed" / "villages.parquet").exists()
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(other))
    assert pipeline.load_villages() is None


def test_process_refuses_villages_that_disagree_with_the_review_file(raw_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(raw_root / "raw", root / "raw")
    v = pd.read_parquet(root / "raw" / "villages.parquet")
    other = v.index[v["commune_code"] != v.loc[3, "commune_code"]][0]
    columns = ["commune_code", "village_code", "village_name"]
    v.loc[3, columns] = v.loc[other, columns]  # a village of another commune: consistent, but not the household's
    io.write_parquet(v, root / "raw" / "villages.parquet")
    with pytest.raises(io.ValidationError) as err:
        pipeline.process(root)
    assert err.value.path == root / "raw" / "villages.parquet"
    assert (err.value.row, err.value.column) == (3, "commune_code")
    assert "record 3 (0-based), column 'commune_code'" in str(err.value)


def _counting_reads(monkeypatch) -> list:
    reads = []
    real = io.read_parquet

    def read(path):
        reads.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(io, "read_parquet", read)
    return reads


def test_loaded_tables_are_remembered_and_a_caller_s_writes_never_reach_them(raw_root, monkeypatch):
    pipeline.process(raw_root)
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(raw_root))
    reads = _counting_reads(monkeypatch)
    processed = raw_root / "processed"
    for load, name in [
        (pipeline.load_classified, "households_classified.parquet"),
        (pipeline.load_loans, "loans.parquet"),
        (pipeline.load_commune_year, "commune_year.parquet"),
    ]:
        truth = pd.read_parquet(processed / name)
        first = load()
        # every way a notebook writes to a table it loaded
        first["poverty_class" if "poverty_class" in first else first.columns[0]] = "changed"
        first["added"] = 1
        first.loc[first.index[:5], first.columns[1]] = first[first.columns[1]].iloc[-1]
        first.iloc[0, 2] = first.iloc[-1, 2]
        first.loc[first.index[-1]] = first.iloc[0]
        first.attrs["note"] = "changed"
        first.index.name = "row"
        del first[first.columns[3]]
        again = load()
        pd.testing.assert_frame_equal(again, truth)
        assert again.attrs == {} and again.index.name is None
        assert again is not load()
        assert reads.count(name) == 1, name  # read once, remembered after


def test_a_changed_file_or_data_folder_is_read_again_and_only_the_last_table_is_kept(raw_root, tmp_path, monkeypatch):
    pipeline.process(raw_root)
    other = tmp_path / "data"
    shutil.copytree(raw_root / "processed", other / "processed")
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(raw_root))
    reads = _counting_reads(monkeypatch)
    pipeline.load_loans()
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(other))
    pipeline.load_loans()
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(raw_root))
    pipeline.load_loans()  # the other folder's table replaced this one: read again
    assert reads == ["loans.parquet"] * 3
    path = other / "processed" / "loans.parquet"
    loans = pd.read_parquet(path)
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(other))
    pipeline.load_loans()
    io.write_parquet(loans.iloc[:-1], path)  # the file is rewritten: its time, size and inode change
    assert len(pipeline.load_loans()) == len(loans) - 1
    assert reads == ["loans.parquet"] * 5
