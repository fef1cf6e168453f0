"""Published key figures: small counts are suppressed as well as small denominators."""

import pandas as pd

from povanalysis import config, pipeline, report


def test_small_counts_never_published(tmp_path, monkeypatch):
    monkeypatch.setenv("POVANALYSIS_DATA_DIR", str(tmp_path))
    pipeline.ensure_demo_data(tmp_path, seed=3, scale=0.01)
    report.prepare()
    kf = report.key_figures(review_year=2025)
    table = pd.read_parquet(tmp_path / "processed" / "commune_year.parquet")
    small = table[(table["review_year"] == 2025) & (table["poor"] < config.MIN_CELL) & ~table["suppressed"]]
    assert len(small) > 0  # the case exists in the data
    shown = kf.set_index("commune_code").loc[small["commune_code"], "poor"]
    assert shown.isna().all()
    assert (kf["poor"].dropna() >= config.MIN_CELL).all()
    assert (kf["near_poor"].dropna() >= config.MIN_CELL).all()
