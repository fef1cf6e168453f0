"""``povanalysis batch --tables``: annexes read, rows that cannot be placed stop the run (or are listed), the counts
stored in a data root of their own, and the commune reports made on them."""

from __future__ import annotations

import html
import json
import os
from pathlib import Path

import nbformat
import pytest

from povanalysis import cli, config
from povanalysis.data import pipeline
from povanalysis.measure.aggregates import poverty_counts
from povanalysis.reports import aggregate, prepare
from povanalysis.reports.from_tables import UnplacedRows, read_annexes, write_tables_root
from povanalysis.tables import annex
from povanalysis.tables.annex import old_unit_counts, panel_items, write_annex

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"
YEARS = (2024, 2025)


@pytest.fixture(scope="module")
def data_root():
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        mp.delenv(prepare.CONTEXT_ENV, raising=False)
        frozen = prepare.code_digest()  # the package's files may change while the module runs
        mp.setattr(prepare, "code_digest", lambda: frozen)
        yield root


@pytest.fixture(scope="module")
def annexes(data_root, tmp_path_factory):
    """Two years of annexes of the panel, and the same with one row naming a unit that does not exist."""
    _, by_old = old_unit_counts(pipeline.load_classified(), seed=7)
    folder = tmp_path_factory.mktemp("annexes")
    good, bad = [], []
    for year in YEARS:
        items = panel_items(by_old, year)
        good.append(write_annex(folder / f"annex_{year}.xlsx", items, year=year))
        k = next(i for i, it in enumerate(items) if it[0] == "commune")
        wrong = [*items[: k + 1], ("commune", "Xã Không Tên", 120, 30, 10, 25), *items[k + 1 :]]
        bad.append(write_annex(folder / f"bad_{year}.xlsx", wrong, year=year))
    return good, bad


def test_unplaced_rows_stop_the_run_with_the_match_report(annexes):
    _, bad = annexes
    with pytest.raises(UnplacedRows) as exc:
        read_annexes(bad)
    message = str(exc.value)
    assert "2 row(s) of the annexes could not be placed" in message
    assert "bad_2024.xlsx (2024)" in message and "'Xã Không Tên'" in message and "nearest:" in message
    series, table = read_annexes(bad, allow_unplaced=True)
    assert len(series.unplaced) == 2 and series.unplaced["households"].tolist() == [120, 120]
    # the unplaced households are in no unit (every real unit is placed, so every new unit is complete)
    good, _ = read_annexes(annexes[0])
    placed = good.table.groupby("review_year")["households"].sum()
    assert (table.groupby("review_year")["households"].sum().round(6) == placed.round(6)).all()
    assert table["complete"].all()


def test_the_counts_never_go_to_the_household_data_root(annexes, data_root):
    good, _ = annexes
    _, table = read_annexes(good)
    with pytest.raises(ValueError, match="household data root"):
        write_tables_root(table, data_root)


def test_batch_tables_from_the_command_line(annexes, data_root, tmp_path, capsys):
    good, bad = annexes
    out = tmp_path / "reports"
    status = cli.main(
        ["batch", "--tables", *map(str, good), "--out", str(out), "--communes", "01840,02020"]
        + ["--workers", "1", "--quiet", "--lang", "en"]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err[-3000:]
    assert "published tables: 2 annexes, review years [2024, 2025]" in printed.out
    assert "2 reports: 2 run, 0 up to date, 0 failed" in printed.out
    counts, meta = aggregate.read_counts(out / "tables-data")
    assert len(counts) == 92 * 2 and meta["sources"] == ["annex_2024.xlsx", "annex_2025.xlsx"]
    nb = nbformat.read(out / "communes" / "02020-xa-cho-don.ipynb", as_version=4)
    assert nb.metadata.papermill["parameters"]["data_mode"] == "tables"
    page = html.unescape((out / "communes" / "02020-xa-cho-don.html").read_text(encoding="utf-8"))
    for key in aggregate.HOUSEHOLD_SECTIONS:
        assert aggregate.household_sentence(key, "en") in page
    assert "According to the 2025 review tables" in page and "Traceback" not in page
    assert not (out / "province").exists()  # the province notebooks need household records
    index = html.unescape((out / "index.html").read_text(encoding="utf-8"))
    assert f"index: {out / 'index.html'}" in printed.out
    assert '<a href="communes/02020-xa-cho-don.html">Xã Chợ Đồn</a>' in index
    assert "annex_2024.xlsx, annex_2025.xlsx" in index and index.count("<tr>") == 1 + 92
    counts = counts[counts["review_year"] == 2025].set_index("commune_code")
    row = index[index.index("Xã Chợ Đồn</a>") :].split("</tr>")[0]
    cells = [c.split("</td>")[0] for c in row.split("<td>")[1:]]
    assert cells[1] == f"{counts.at['02020', 'households']:.0f}"  # a whole unit: the annex's households
    poor = counts["poor"] < config.MIN_CELL
    hidden = counts.index[poor & (counts["households"] >= config.MIN_CELL)][0]
    name = counts.at[hidden, "name"]
    row = index[index.index(f"{name}</a>") if f"{name}</a>" in index else index.index(f"<td>{name}</td>") :]
    assert row.split("</tr>")[0].split("<td>")[3].startswith("–")  # its poor rate is not published
    # the split units apportioned by households (a CSV of the panel's links): their households are the microdata's
    households, _ = old_unit_counts(pipeline.load_classified(), seed=7)
    annex.split_weights(households).to_csv(tmp_path / "weights.csv", index=False)
    weighted = tmp_path / "weighted"
    assert (
        cli.main(
            ["batch", "--tables", *map(str, good), "--out", str(weighted), "--weights", str(tmp_path / "weights.csv")]
            + ["--communes", "05443", "--workers", "1", "--quiet"]
        )
        == 0
    ), capsys.readouterr().err[-3000:]
    capsys.readouterr()
    by_households, _ = aggregate.read_counts(weighted / "tables-data")
    micro = poverty_counts(households, by=["commune_code", "review_year"], min_cell=1)
    both = by_households.merge(micro, on=["commune_code", "review_year"], suffixes=("", "_micro"))
    assert len(both) == 92 * 2 and both["households"].sub(both["households_micro"]).abs().max() < 1e-9
    (tmp_path / "wrong.csv").write_text("old,new,households\n05461,05443,10\n", encoding="utf-8")
    status = cli.main(
        ["batch", "--tables", *map(str, good), "--out", str(weighted), "--weights", str(tmp_path / "wrong.csv")]
    )
    assert status == 2 and "has no column(s) ['old_code', 'new_code']" in capsys.readouterr().err
    # nothing written to the household data root (other runs may prepare it meanwhile), the environment restored
    assert not (data_root / "processed" / "commune_year.json").exists()
    assert "mode" not in (prepare.read_manifest() or {})
    assert os.environ["POVANALYSIS_DATA_DIR"] == str(data_root) and prepare.CONTEXT_ENV not in os.environ
    # run again: up to date
    assert (
        cli.main(
            ["batch", "--tables", *map(str, good), "--out", str(out), "--communes", "01840,02020"]
            + ["--workers", "1", "--quiet", "--lang", "en"]
        )
        == 0
    )
    assert "2 reports: 0 run, 2 up to date" in capsys.readouterr().out

    # unplaced rows: the match report and status 1; with --allow-unplaced they are listed
    status = cli.main(["batch", "--tables", *map(str, bad), "--out", str(tmp_path / "bad"), "--quiet"])
    printed = capsys.readouterr()
    assert status == 1 and "'Xã Không Tên'" in printed.err and "--allow-unplaced" in printed.err
    assert not (tmp_path / "bad" / "communes").exists()
    status = cli.main(
        ["batch", "--tables", *map(str, bad), "--out", str(tmp_path / "bad"), "--allow-unplaced"]
        + ["--communes", "01840", "--workers", "1", "--quiet"]
    )
    printed = capsys.readouterr()
    assert status == 0, printed.err[-3000:]
    assert "2 row(s) not placed, left out of the counts:" in printed.out and "'Xã Không Tên'" in printed.out
    summary = json.loads((tmp_path / "bad" / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["counts"] == {"done": 1, "skipped": 0, "failed": 0}
