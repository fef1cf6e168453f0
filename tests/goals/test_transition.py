"""The household transition model and its Markov chain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis.goals import transition as TR

YEARS = np.arange(2021, 2026)


def _observed_transitions(classified: pd.DataFrame) -> pd.DataFrame:
    """One-year transitions counted directly from the panel: state at t, poor at t+1."""
    poor = classified.assign(poor=classified["poverty_class"] == "poor").pivot(
        index="household_id", columns="review_year", values="poor"
    )
    rows = []
    for y in range(2021, 2025):
        now, nxt = poor[y], poor[y + 1]
        prev = [poor[y - k] if y - k in poor.columns else pd.Series(np.nan, index=poor.index) for k in (1, 2, 3)]
        state = np.select(
            [now == True, prev[0] == True, prev[1] == True, prev[2] == True],  # noqa: E712
            ["poor", "escaped_1", "escaped_2", "escaped_3"],
            "not_poor",
        )
        ok = now.notna() & nxt.notna()
        rows.append(pd.DataFrame({"state": state[ok.to_numpy()], "x": nxt[ok].astype(bool).to_numpy()}))
    t = pd.concat(rows).groupby("state")["x"].agg(["size", "sum"])
    return t.rename(columns={"size": "n", "sum": "x"})


def test_transition_model_reproduces_the_observed_one_year_rates(small_classified):
    proj = TR.transition_projection(small_classified, prior_strength=0, n_sim=200)
    model = proj.model
    pooled = model.groupby("state")[["n", "x"]].sum()
    direct = _observed_transitions(small_classified)
    assert (pooled.loc[direct.index, "n"] == direct["n"]).all()
    assert (pooled.loc[direct.index, "x"] == direct["x"]).all()
    seen = model[model["n"] > 0]
    assert_allclose(seen["rate"], seen["x"] / seen["n"])
    exit_rate = 1 - direct.loc["poor", "x"] / direct.loc["poor", "n"]
    assert f"exit {exit_rate:.3f}" in " ".join(proj.notes)
    assert direct.loc["escaped_1", "x"] > 0  # re-entry is observed and counted


def test_transition_one_step_reproduces_the_next_review_exactly(small_classified):
    late = small_classified[small_classified["review_year"] >= 2024]
    both = late.groupby("household_id").size().loc[lambda s: s == 2].index
    panel = small_classified[small_classified["household_id"].isin(both)]
    proj = TR.transition_projection(
        panel,
        start_year=2024,
        years=[2025],
        window=(2024, 2025),
        prior_strength=0,
        time_trend=False,
        n_sim=50,
        min_cell=1,
    )
    last = panel[panel["review_year"] == 2025]
    nxt = (last["poverty_class"] == "poor").groupby(last["commune_code"]).sum()
    got = pd.Series(proj.mean[:, 0] * proj.households, index=proj.units["commune_code"])
    assert_allclose(got.loc[nxt.index], nxt, atol=1e-9)


def test_transition_states_by_hand():
    # a: poor 2021, out 2022-2025 -> escaped_1 (2022), escaped_2, escaped_3, not_poor (2025)
    # b: poor 2021-2022, out 2023, poor again 2024 (re-entry from escaped_1), poor 2025
    # c: never poor, 2021-2024 only (4 years, 3 transitions from not_poor)
    hh = pd.DataFrame(
        {
            "household_id": ["a"] * 5 + ["b"] * 5 + ["c"] * 4,
            "review_year": list(YEARS) * 2 + [2021, 2022, 2023, 2024],
            "commune_code": "01",
            "poverty_class": [
                "poor",
                "not_poor",
                "near_poor",
                "not_poor",
                "average_living",
                "poor",
                "poor",
                "not_poor",
                "poor",
                "poor",
            ]
            + ["not_poor"] * 4,
        }
    )
    m = TR.transition_projection(hh, prior_strength=0, n_sim=20, min_cell=1).model.set_index("state")
    assert m["n"].to_dict() == {"poor": 4, "escaped_1": 2, "escaped_2": 1, "escaped_3": 1, "not_poor": 3}
    assert m["x"].to_dict() == {"poor": 2, "escaped_1": 1, "escaped_2": 0, "escaped_3": 0, "not_poor": 0}


def test_transition_prior_shrinks_small_units_towards_the_pooled_rate(small_classified):
    proj = TR.transition_projection(small_classified, prior_strength=50, n_sim=50)
    m = proj.model[proj.model["state"] == "poor"]
    pooled = m["x"].sum() / m["n"].sum()
    small = m[(m["n"] > 0) & (m["n"] < 20)]
    assert (np.abs(small["rate"] - pooled) <= np.abs(small["observed_rate"] - pooled) + 1e-12).all()
    assert ((m["ci_lower"] <= m["rate"]) & (m["rate"] <= m["ci_upper"])).all()


def test_transition_errors(small_classified):
    hh = small_classified.head(50)
    with pytest.raises(ValueError, match="has household 'TN0000000' twice at review 2021"):
        TR.transition_projection(pd.concat([hh, hh.head(1)]))
    with pytest.raises(ValueError, match="review years must be consecutive, at least two, got \\[2021, 2023\\]"):
        TR.transition_projection(small_classified[small_classified["review_year"].isin([2021, 2023])])
    with pytest.raises(ValueError, match="column 'poverty_class' must be one of"):
        TR.transition_projection(small_classified.assign(poverty_class="rich"))
    with pytest.raises(ValueError, match="'window' must be two review years within 2021..2025 in order"):
        TR.transition_projection(small_classified, window=(2025, 2021))
    with pytest.raises(ValueError, match="'prior_strength' must be a finite number >= 0, got -1"):
        TR.transition_projection(small_classified, prior_strength=-1)
    with pytest.raises(ValueError, match="the panel mixes standards"):
        TR.transition_projection(small_classified.assign(standard=small_classified["review_year"].astype(str)))


def test_more_transition_errors(small_classified):
    with pytest.raises(ValueError, match="'start_year' 2030 is not a review year of the panel"):
        TR.transition_projection(small_classified, start_year=2030)
    with pytest.raises(ValueError, match="'n_sim' must be at least 2, got 0"):
        TR.transition_projection(small_classified, n_sim=0)
    with pytest.raises(ValueError, match="no transitions from the state 'poor' in the window 2021-2025"):
        TR.transition_projection(small_classified.assign(poverty_class="not_poor"))
    with pytest.raises(ValueError, match="'classified' lacks the columns \\['household_id'\\]"):
        TR.transition_projection(small_classified.drop(columns="household_id"))


def test_transition_roll_over_several_years_equals_a_hand_rolled_chain():
    # Constant rates of being poor next, from each state; a hand-rolled five-state chain.
    p = np.array([0.7, 0.3, 0.2, 0.1, 0.05])
    c0 = np.array([100.0, 20.0, 15.0, 10.0, 855.0])
    T = np.zeros((5, 5))  # T[from, to]
    for s_ in range(5):
        T[s_, 0] = p[s_]
    T[0, 1] = 1 - p[0]
    T[1, 2] = 1 - p[1]
    T[2, 3] = 1 - p[2]
    T[3, 4] = 1 - p[3]
    T[4, 4] = 1 - p[4]
    c, expected = c0.copy(), []
    for _ in range(4):
        c = c @ T
        expected.append(c[0])
    assert_allclose(TR.roll(c0, p, 4), expected)
    assert_allclose(TR.roll(c0, np.repeat(p[:, None], 4, axis=1), 4), expected)  # one set per step, same rates
    rolled = TR.roll(
        np.broadcast_to(c0.astype(int), (3000, 5)), np.broadcast_to(p, (3000, 5)), 4, rng=np.random.default_rng(0)
    )
    assert_allclose(rolled.mean(axis=0), expected, rtol=0.01)  # no household lost or added in the draws


def test_transition_rates_follow_their_trend(small_classified):
    proj = TR.transition_projection(small_classified, by="commune_code", n_sim=200)
    trends = proj.model.attrs["trends"].set_index("state")
    assert trends.loc["not_poor", "trend"] < 0  # entry falls in the panel
    assert "follow their yearly trend" in " ".join(proj.notes)
