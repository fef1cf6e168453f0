"""VBSP lending at a review against the reference ranges: hand-derived figures, the synthetic panel's calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis.data import synth
from povanalysis.data.pipeline import classify_panel
from povanalysis.impact.lending import REFERENCE, REPAYMENTS, lending_check


def _classified() -> pd.DataFrame:
    """Five households over three reviews, classes given (no deprivation columns: no standard jump)."""
    classes = {
        "A": ["poor", "poor", "poor"],
        "B": ["poor", "near_poor", "near_poor"],
        "C": ["poor", "not_poor", "not_poor"],  # newly escaped at 2024
        "D": ["not_poor", "not_poor", "not_poor"],
        "E": ["not_poor", "not_poor", "poor"],
    }
    rows = [
        {"household_id": h, "review_year": y, "commune_code": "01840", "poverty_class": c}
        for h, cs in classes.items()
        for y, c in zip((2022, 2023, 2024), cs)
    ]
    return pd.DataFrame(rows)


def _loans() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ["A", "B", "C", "D", "A"],
            "programme": ["poor", "near_poor", "newly_escaped", "poor", "poor"],
            "disbursed": pd.to_datetime(["2022-03-01", "2024-06-15", "2024-01-10", "2021-01-05", "2019-05-01"]),
            "amount": [40e6, 60e6, 80e6, 50e6, 30e6],
            "term_months": [60, 36, 12, 36, 36],
            "overdue": [True, False, False, False, False],
        }
    )


def test_figures_by_hand():
    check = lending_check(_classified(), _loans(), review_year=2024)
    v = check.table.set_index("key")["value"]
    # Outstanding at December 2024: A's 2022 loan (runs to February 2027), B's (to June 2027) and C's
    # (January 2024 + 12 months: due January 2025); D's 2021 loan ended in January 2024, A's 2019 loan in 2022.
    assert v["borrower_share"] == pytest.approx(100 * 3 / 5)
    assert v["loans_per_1000"] == pytest.approx(1000 * 2 / 5)  # B and C disbursed in 2024
    assert v["average_loan"] == pytest.approx(70.0)
    assert v["outstanding_per_borrower"] == pytest.approx((40 + 60 + 80) / 3)
    assert v["mix_poor"] == pytest.approx(100 / 3)
    assert v["mix_near_poor"] == pytest.approx(100 / 3)
    assert v["mix_newly_escaped"] == pytest.approx(100 / 3)
    assert v["poor_borrowers_per_poor"] == pytest.approx(1 / 2)  # A of A and E
    # Eligible at 2024: A (poor), B (near-poor), C (newly escaped), E (poor); covered A, B, C.
    assert v["eligible_coverage"] == pytest.approx(75.0)
    assert v["overdue_share"] == pytest.approx(100 * 40 / 180)
    assert np.isnan(v["standard_jump"])
    assert check.table.set_index("key")["in_range"].isna()["standard_jump"]


def test_equal_instalments_by_hand():
    check = lending_check(_classified(), _loans(), review_year=2024, repayment="equal_instalments")
    v = check.table.set_index("key")["value"]
    # Months elapsed up to and including December 2024: A 34 of 60, B 7 of 36, C 12 of 12 (paid off).
    expected = (40 * (1 - 34 / 60) + 60 * (1 - 7 / 36) + 0.0) / 3
    assert v["outstanding_per_borrower"] == pytest.approx(expected)


def test_without_overdue_column_the_share_is_missing_not_zero():
    check = lending_check(_classified(), _loans().drop(columns="overdue"), review_year=2024)
    row = check.table.set_index("key").loc["overdue_share"]
    assert np.isnan(row["value"]) and pd.isna(row["in_range"])


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="repayment must be one of"):
        lending_check(_classified(), _loans(), repayment="balloon")
    with pytest.raises(ValueError, match="review_year 2030 is not a review in the data"):
        lending_check(_classified(), _loans(), review_year=2030)
    with pytest.raises(ValueError, match="term_months"):
        lending_check(_classified(), _loans().drop(columns="term_months"))


@settings(max_examples=40, deadline=None)
@given(
    amounts=st.lists(st.floats(1e6, 100e6), min_size=1, max_size=8),
    months=st.lists(st.integers(0, 47), min_size=8, max_size=8),
    terms=st.lists(st.sampled_from([12, 24, 36, 48, 60]), min_size=8, max_size=8),
)
def test_instalments_never_exceed_the_amount_and_the_mix_adds_up(amounts, months, terms):
    n = len(amounts)
    ids = ["A", "B", "C", "D", "E"]
    loans = pd.DataFrame(
        {
            "household_id": [ids[i % 5] for i in range(n)],
            "programme": [("poor", "near_poor", "newly_escaped")[i % 3] for i in range(n)],
            "disbursed": [pd.Timestamp(2021, 1, 1) + pd.DateOffset(months=m) for m in months[:n]],
            "amount": amounts,
            "term_months": terms[:n],
        }
    )
    full = lending_check(_classified(), loans, review_year=2024).table.set_index("key")["value"]
    part = lending_check(_classified(), loans, review_year=2024, repayment="equal_instalments").table
    part = part.set_index("key")["value"]
    if np.isfinite(full["outstanding_per_borrower"]):
        assert part["outstanding_per_borrower"] <= full["outstanding_per_borrower"] + 1e-6
        mix = full[["mix_poor", "mix_near_poor", "mix_newly_escaped"]].sum()
        assert mix == pytest.approx(100.0)
    assert 0 <= full["borrower_share"] <= 100


def test_reference_table_is_complete():
    assert set(REFERENCE.columns) == {"key", "low", "high", "unit", "reference", "source"}
    assert (REFERENCE["low"] < REFERENCE["high"]).all()
    assert REFERENCE["key"].is_unique and REFERENCE["source"].str.len().gt(0).all()
    assert REPAYMENTS == ("at_maturity", "equal_instalments")


# ----------------------------------------------------------------------------- the synthetic panel


@pytest.fixture(scope="module", params=[(0.05, 11), (0.15, 12)], ids=["small", "larger"])
def calibrated(request):
    scale, seed = request.param
    p = synth.generate(seed=seed, scale=scale)
    return p, classify_panel(p.households)


def test_synthetic_lending_falls_in_every_reference_range(calibrated):
    p, hh = calibrated
    check = lending_check(hh, p.loans)  # the last review, 2025: four years of lending behind it
    assert check.review_year == 2025
    assert check.passes(), check.summary()
    assert check.table["value"].notna().all() and check.failures().empty
    # A year earlier only the newly escaped may fall short: the panel has no history before 2021.
    earlier = lending_check(hh, p.loans, review_year=2024)
    assert set(earlier.failures()["key"]) <= {"mix_newly_escaped"}, earlier.summary()


def test_the_default_planted_effect_is_moderate():
    assert 0 < synth.DEFAULT_CREDIT_EFFECT <= 0.05
    p = synth.generate(seed=5, scale=0.02)
    assert p.truth["credit_effect"] == synth.DEFAULT_CREDIT_EFFECT
