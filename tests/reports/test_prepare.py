"""The prepared tables: stored without pickle, read back exactly; a changed commune redoes only its report and the index."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from povanalysis import config
from povanalysis.data import io, pipeline, registry
from povanalysis.impact import credit
from povanalysis.impact.effects import NoVariation
from povanalysis.reports import batch, prepare, sections

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"


def _small_root() -> Path:
    root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
    pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
    return root


@pytest.fixture()
def data_copy(tmp_path, monkeypatch):
    """A private copy of the small synthetic data (raw and processed), with the package's code digest frozen."""
    source = _small_root()
    root = tmp_path / "data"
    shutil.copytree(source / "raw", root / "raw")
    shutil.copytree(source / "processed", root / "processed", ignore=shutil.ignore_patterns("report"))
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(root))
    monkeypatch.delenv("POVANALYSIS_BOUNDARIES", raising=False)
    monkeypatch.delenv(prepare.CONTEXT_ENV, raising=False)
    frozen = prepare.code_digest()
    monkeypatch.setattr(prepare, "code_digest", lambda: frozen)
    return root


def test_prepared_folder_holds_no_pickle_and_reads_back(data_copy):
    folder = prepare.prepare()
    names = sorted(p.name for p in folder.iterdir())
    assert not [n for n in names if n.endswith((".pkl", ".pickle"))]
    assert "projection.json" in names and "projection.obs_draws.parquet" in names
    tables, manifest = prepare.shared_tables()
    store = tables["projection"]
    projection = store["projection"]
    assert projection.obs_draws.shape == (len(projection.draws), len(projection.units), len(projection.years))
    assert set(store["backtest_text"]) == {"vi", "en"} and store["credit_cost_missing"] is None
    assert tables["boundaries"].crs is not None and len(tables["boundaries"]) == 92
    ctx = prepare.commune_context("01840", review_year=2025)
    assert sections.path_figure(ctx, lang="vi") is not None and sections.map_figure(ctx, lang="vi") is not None


def test_missing_credit_cost_is_said_in_the_report(data_copy, monkeypatch):
    def no_cost(households, loans, **kwargs):
        raise NoVariation("no poor borrower behind the effect: cost per exit cannot be computed")

    monkeypatch.setattr(credit, "cost_per_exit", no_cost)
    prepare.prepare()
    tables, _ = prepare.shared_tables()
    assert tables["projection"]["credit_cost_missing"].startswith("NoVariation: no poor borrower")
    texts = {
        lang: sections.path_text(prepare.commune_context("01864", review_year=2025), lang=lang).data
        for lang in ("vi", "en")
    }
    assert "chưa ước tính được số vốn vay chính sách tương ứng" in texts["vi"]
    assert "could not be estimated" in texts["en"] and "billion VND" not in texts["en"]


def test_other_errors_of_the_credit_cost_are_not_swallowed(data_copy, monkeypatch):
    def broken(households, loans, **kwargs):
        raise ValueError("loans column 'amount' must be a positive amount in VND, got -1.0 at row 3")

    monkeypatch.setattr(credit, "cost_per_exit", broken)
    prepare.prepare()
    manifest = prepare.read_manifest()
    assert not manifest["sections"]["projections"]
    assert manifest["skipped"]["projections"].startswith("ValueError: loans column 'amount' must be a positive")


def _mtimes(out: Path) -> dict[str, int]:
    return {
        p.relative_to(out).as_posix(): p.stat().st_mtime_ns
        for p in out.rglob("*")
        if p.suffix in (".html", ".ipynb", ".xlsx")
    }


def test_rerun_after_one_commune_changes_redoes_that_report_and_the_index(data_copy, tmp_path):
    codes = ["01840", "01879", "02071"]
    out = tmp_path / "site"
    first = batch.run_batch(out, communes=codes, workers=1, province=False, progress=False)
    assert first.ok and first.index_status == "built", first.summary()
    before = _mtimes(out)
    old = prepare.read_manifest()
    # the ethnic group of households of one commune is corrected (Tày → Nùng, both minorities):
    # that commune's rows of the prepared tables change, and those of any commune whose published
    # cells the disclosure rule decides again (the province's communes are one set of equations)
    raw = pd.read_parquet(data_copy / "raw" / "households.parquet")
    changed = (raw["commune_code"] == "02071") & (raw["ethnicity"] == "Tày")
    assert changed.sum() > 0
    raw.loc[changed, "ethnicity"] = "Nùng"
    io.write_parquet(raw, data_copy / "raw" / "households.parquet")
    pipeline.process(data_copy)
    again = batch.run_batch(out, communes=codes, workers=1, province=False, progress=False)
    new = prepare.read_manifest()
    redo = {c for c in codes if new["shared"] != old["shared"] or new["communes"][c] != old["communes"][c]}
    assert "02071" in redo
    assert {r.job.key: r.status for r in again.results} == {c: "done" if c in redo else "skipped" for c in codes}
    assert again.index_status == "built"
    after = _mtimes(out)
    rebuilt = sorted(name for name in after if after[name] != before.get(name))
    slugs = sorted(registry.lookup(c)["slug"] for c in redo)
    pages = sorted(f"communes/{s}.{e}" for s in slugs for e in ("html", "ipynb"))
    assert rebuilt == sorted([*pages, "index.html", "key-figures.xlsx"])


def test_a_changed_preparation_is_reported_without_the_machine_paths(data_copy, monkeypatch):
    # the batch records a failed report's error in its summary, in the published folder
    monkeypatch.setenv(prepare.CONTEXT_ENV, "0" * 64)
    with pytest.raises(RuntimeError, match=r"changed during the batch") as failed:
        prepare.ensure_prepared()
    message = str(failed.value)
    assert str(data_copy) not in message and str(config.PROJ_ROOT) not in message
    assert not re.search(r"(^|[\s'(])/\w", message), message
