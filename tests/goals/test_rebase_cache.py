"""The rebasing's disk cache: read back equal to a fresh result, computed afresh when an input changes."""

from __future__ import annotations

import pandas as pd
import pytest

from povanalysis import config
from povanalysis.goals import rebase as R


def _never(*args, **kwargs):
    raise AssertionError("computed again instead of read from the cache")


def test_a_cached_rebasing_is_the_rebasing(small_classified, tmp_path, monkeypatch):
    fresh = R.rebase(small_classified, cache=None)
    first = R.rebase(small_classified, cache=tmp_path)
    monkeypatch.setattr(R, "classify", _never)  # the next call reads the stored result
    second = R.rebase(small_classified.copy(), cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    for r in (first, second):
        assert (r.year, r.from_standard, r.to_standard, r.min_cell) == (2025, "2022-2025", "2026-2030", 10)
        pd.testing.assert_frame_equal(r.cells, fresh.cells)
        for by in [(), "commune_code", ("old_area", "minority")]:
            pd.testing.assert_frame_equal(r.table(by), fresh.table(by))
        pd.testing.assert_frame_equal(r.crosstab(), fresh.crosstab())
        assert r.summary() == fresh.summary() and r.headline("vi") == fresh.headline("vi")


@pytest.mark.parametrize("by", [(), "old_area"])
def test_a_cached_standard_gap_is_the_standard_gap(small_classified, tmp_path, monkeypatch, by):
    fresh = R.standard_gap(small_classified, by=by, cache=None)
    first = R.standard_gap(small_classified, by=by, cache=tmp_path)
    monkeypatch.setattr(R, "classify", _never)
    second = R.standard_gap(small_classified.copy(), by=by, cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    pd.testing.assert_frame_equal(first, fresh)
    pd.testing.assert_frame_equal(second, first)


def test_a_changed_input_gives_a_fresh_rebasing_and_gap(small_classified, tmp_path, monkeypatch):
    base = R.rebase(small_classified, cache=tmp_path)
    gap = R.standard_gap(small_classified, cache=tmp_path)
    # every poor household of the last review under the new standard given a high income: fewer poor
    last = small_classified["review_year"] == 2025
    edited = small_classified.copy()
    edited.loc[last & (edited["income_pc"] < 2_200_000), "income_pc"] = 10_000_000.0
    changed = R.rebase(edited, cache=tmp_path)
    fresh = R.rebase(edited, cache=None)
    assert changed.table(())["poor_to"].iloc[0] < base.table(())["poor_to"].iloc[0]
    pd.testing.assert_frame_equal(changed.cells, fresh.cells)
    changed_gap = R.standard_gap(edited, cache=tmp_path)
    assert changed_gap["rate_to"].iloc[-1] < gap["rate_to"].iloc[-1]
    pd.testing.assert_frame_equal(changed_gap, R.standard_gap(edited, cache=None))
    assert R.rebase(small_classified, year=2024, cache=tmp_path).year == 2024
    monkeypatch.setattr(config, "MIN_CELL", 10_000_000)  # the publication threshold is part of the key
    assert R.rebase(small_classified, cache=tmp_path).table("commune_code")["suppressed"].all()
    assert R.standard_gap(small_classified, cache=tmp_path)["suppressed"].all()
    assert len(list(tmp_path.glob("*.json"))) == 7
