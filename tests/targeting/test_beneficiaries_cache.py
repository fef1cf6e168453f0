"""The targeting-accuracy table's disk cache: read back equal to a fresh table, computed afresh when an input changes."""

from __future__ import annotations

import pandas as pd
import pytest

from povanalysis import config
from povanalysis.targeting import beneficiaries as targeting


def _never(*args, **kwargs):
    raise AssertionError("computed again instead of read from the cache")


@pytest.mark.parametrize("by", [(), ("minority",), ("commune_code", "minority")])
def test_a_cached_accuracy_table_is_the_table(small_classified, small_panel, tmp_path, monkeypatch, by):
    loans = small_panel.loans
    fresh = targeting.accuracy(small_classified, loans, by=by, cache=None)
    first = targeting.accuracy(small_classified, loans, by=by, cache=tmp_path)
    monkeypatch.setattr(targeting, "household_panel", _never)  # the next call reads the stored table
    second = targeting.accuracy(small_classified.copy(), loans.copy(), by=list(by), cache=tmp_path)
    assert len(list(tmp_path.glob("*.json"))) == 1
    pd.testing.assert_frame_equal(first, fresh)
    pd.testing.assert_frame_equal(second, fresh)
    assert first.attrs == second.attrs == fresh.attrs == {"loans_not_assessed": 0}


def test_a_changed_input_gives_a_fresh_accuracy_table(small_classified, small_panel, tmp_path, monkeypatch):
    loans = small_panel.loans
    base = targeting.accuracy(small_classified, loans, by=(), cache=tmp_path)
    fewer = loans.iloc[::2]  # half the loans: fewer loans and fewer households reached
    changed = targeting.accuracy(small_classified, fewer, by=(), cache=tmp_path)
    pd.testing.assert_frame_equal(changed, targeting.accuracy(small_classified, fewer, by=(), cache=None))
    assert changed["loans"].sum() < base["loans"].sum() and changed["reached"].sum() < base["reached"].sum()
    # every poor household counted not poor: none eligible for the poor programme
    edited = small_classified.copy()
    edited.loc[edited["poverty_class"] == "poor", "poverty_class"] = "not_poor"
    judged = targeting.accuracy(edited, loans, by=(), cache=tmp_path)
    assert (
        judged.loc[judged["programme"] == "poor", "eligible"].sum()
        == 0
        < base.loc[base["programme"] == "poor", "eligible"].sum()
    )
    year = int(base["loan_year"].max())
    assert set(targeting.accuracy(small_classified, loans, by=(), year=year, cache=tmp_path)["loan_year"]) == {year}
    monkeypatch.setattr(config, "MIN_CELL", 10_000_000)  # the publication threshold is part of the key
    assert targeting.accuracy(small_classified, loans, by=(), cache=tmp_path)["suppressed"].all()
    assert not base["suppressed"].all()
    assert len(list(tmp_path.glob("*.json"))) == 5
