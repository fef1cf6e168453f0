"""The analysis panel: prepared once for the same inputs, prepared again after any change to them."""

from __future__ import annotations

import pytest

from povanalysis.data import synth
from povanalysis.impact import credit, outcomes


@pytest.fixture(scope="module")
def panel():
    return synth.generate(seed=11, scale=0.004)


def test_the_same_inputs_give_the_same_prepared_panel(panel):
    hh, loans = panel.households, panel.loans
    first = outcomes.prepare_panel(hh, loans, years=range(2021, 2026))
    assert outcomes.prepare_panel(hh.copy(), loans.copy(), years=iter(range(2021, 2026))) is first
    assert outcomes.prepare_panel(hh, loans, years=[2022, 2023, 2024]) is not first


def test_an_edit_in_place_prepares_a_new_panel_and_changes_the_estimate(panel):
    hh, loans = panel.households.copy(), panel.loans.copy()
    before = credit.estimate_effect(hh, loans, method="fe")
    first = outcomes.prepare_panel(hh, loans)
    poor = hh.index[(hh["review_year"] == 2022)][:200]
    hh.loc[poor, "income_pc"] = hh.loc[poor, "income_pc"] * 3  # the same frame, edited in place
    second = outcomes.prepare_panel(hh, loans)
    assert second is not first
    edited = second.levels.index.isin(poor)
    assert (second.levels.loc[edited, "log_income"] > first.levels.loc[edited, "log_income"]).all()
    assert credit.estimate_effect(hh, loans, method="fe").effect != before.effect


def test_disadvantaged_communes_in_any_order_are_one_panel(panel):
    hh, loans = panel.households, panel.loans
    codes = sorted(hh["commune_code"].unique())[:5]
    a = outcomes.prepare_panel(hh, loans, disadvantaged=codes)
    assert outcomes.prepare_panel(hh, loans, disadvantaged=set(reversed(codes))) is a
    assert a.levels["disadvantaged"].any()
