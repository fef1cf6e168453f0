"""The credit studies' disk cache: a stored result reads back equal, and any change of input computes afresh."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from povanalysis import config
from povanalysis.data.pipeline import classify_panel
from povanalysis.impact import credit


@pytest.fixture(scope="module")
def panel(small_panel):
    return classify_panel(small_panel.households), small_panel.loans


def assert_same(a, b):
    """Every field of two results objects equal, frames and series to the dtype."""
    assert type(a) is type(b)
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif isinstance(x, pd.Series):
            pd.testing.assert_series_equal(x, y)
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y)
        elif dataclasses.is_dataclass(x):
            assert_same(x, y)
        elif isinstance(x, float) and np.isnan(x):
            assert np.isnan(y)
        else:
            assert x == y and type(x) is type(y), f.name


CALLS = {
    "effect_ipw": lambda h, loans, **kw: credit.estimate_effect(h, loans, method="ipw", years=range(2021, 2026), **kw),
    "effect_dose": lambda h, loans, **kw: credit.estimate_effect(h, loans, method="dose", **kw),
    "event_study": lambda h, loans, **kw: credit.event_study(h, loans, **kw),
    "heterogeneity": lambda h, loans, **kw: credit.heterogeneity(
        h, loans, by=["minority", "old_area"], outcome="log_income", **kw
    ),
    "cost_per_exit": lambda h, loans, **kw: credit.cost_per_exit(h, loans, **kw),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_cached_study_reads_back_what_was_computed(panel, tmp_path, name):
    households, loans = panel
    fresh = CALLS[name](households, loans, cache=None)
    first = CALLS[name](households, loans, cache=tmp_path)
    stored = sorted(p.name for p in tmp_path.iterdir())
    second = CALLS[name](households.copy(), loans.copy(), cache=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == stored and len(stored) == 2  # one result: its JSON, its parts
    assert_same(first, second)
    # the numbers are those of the uncached computation (frames read back may hold text as text)
    for f in dataclasses.fields(fresh):
        x, y = getattr(fresh, f.name), getattr(second, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_dtype=False)
        elif isinstance(x, float):
            assert x == y or (np.isnan(x) and np.isnan(y))


def test_the_second_call_does_not_estimate(panel, tmp_path, monkeypatch):
    households, loans = panel
    first = credit.estimate_effect(households, loans, method="fe", cache=tmp_path)
    from povanalysis.impact import effects

    monkeypatch.setattr(effects, "estimate", lambda *a, **k: pytest.fail("estimated again"))
    assert credit.estimate_effect(households, loans, method="fe", cache=tmp_path).effect == first.effect


def test_a_changed_input_gives_a_fresh_result(panel, tmp_path, monkeypatch):
    households, loans = panel
    base = credit.estimate_effect(households, loans, method="did", cache=tmp_path)
    # every household of one commune poor at every review: a different panel, a different estimate
    edited = households.copy()
    edited.loc[edited["commune_code"] == edited["commune_code"].iloc[0], "poverty_class"] = "poor"
    changed = credit.estimate_effect(edited, loans, method="did", cache=tmp_path)
    assert changed.effect != base.effect
    assert changed.effect == credit.estimate_effect(edited, loans, method="did", cache=None).effect
    # fewer loans, another argument, another publication threshold: each a result of its own
    fewer = credit.estimate_effect(households, loans.iloc[10:], method="did", cache=tmp_path)
    assert fewer.n_treated != base.n_treated
    other = credit.estimate_effect(households, loans, method="did", years=[2021, 2022, 2023], cache=tmp_path)
    assert other.years == (2021, 2022, 2023) != base.years
    monkeypatch.setattr(config, "MIN_CELL", 10_000)
    strict = credit.estimate_effect(households, loans, method="did", cache=tmp_path)
    assert strict.details["suppressed"].all() and not base.details["suppressed"].all()
    assert len(list(tmp_path.glob("*.json"))) == 5


def test_an_edit_in_place_is_seen(panel, tmp_path):
    households, loans = panel
    edited = households.copy()
    before = credit.estimate_effect(edited, loans, method="did", cache=tmp_path)
    edited.loc[edited["commune_code"] == edited["commune_code"].iloc[0], "poverty_class"] = "poor"  # written to
    after = credit.estimate_effect(edited, loans, method="did", cache=tmp_path)
    assert after.effect != before.effect


def test_the_cache_argument_is_checked(panel):
    households, loans = panel
    with pytest.raises(TypeError, match="'cache' should be a folder, True .* got 3"):
        credit.estimate_effect(households, loans, cache=3)
