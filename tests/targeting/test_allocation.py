import itertools
import sys
import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from povanalysis.figures import targeting as figures
from povanalysis.reports.prose import targeting as prose
from povanalysis.targeting import allocation
from povanalysis.targeting import beneficiaries as targeting

M = 1_000_000


def communes(**cols):
    n = len(next(iter(cols.values())))
    base = {"commune_code": [f"c{i}" for i in range(n)], "disadvantaged": [False] * n}
    base.update(cols)
    return pd.DataFrame(base)


def check_constraints(res, table_in, *, budget, ceiling=allocation.CEILING_PER_HOUSEHOLD, min_share):
    t = res.table
    assert t["amount"].sum() <= budget * (1 + 1e-12)
    assert (t["loans"] >= 0).all() and (t["loans"] <= table_in["eligible"].to_numpy()).all()
    assert (t["loans"] == t["loans"].round()).all()
    assert (t["loan_size"] <= ceiling).all()
    assert_allclose(t["amount"], t["loans"] * t["loan_size"])
    cap = (t["eligible"] * t["loan_size"])[t["disadvantaged"]].sum()
    assert t.loc[t["disadvantaged"], "amount"].sum() >= min(min_share * budget, cap) * (1 - 1e-12)
    assert all(res.constraints.values())


# --------------------------------------------------------------------------- by hand


def test_floor_binds_by_hand():
    c = communes(eligible=[3, 5, 4], effect=[0.20, 0.10, 0.05], disadvantaged=[False, True, True])
    free = allocation.allocate_budget(
        c, budget=400 * M, effect="effect", effect_se=0.0, loan_size=50 * M, min_share_disadvantaged=0.5
    )
    assert free.table["loans"].tolist() == [3, 5, 0]
    assert_allclose(free.expected_exits, 1.1)
    bound = allocation.allocate_budget(
        c, budget=400 * M, effect="effect", effect_se=0.0, loan_size=50 * M, min_share_disadvantaged=0.75
    )
    # 300M must go to b and c: a keeps 2 loans, b 5, c 1.
    assert bound.table["loans"].tolist() == [2, 5, 1]
    assert_allclose(bound.expected_exits, 0.95)
    assert bound.disadvantaged_amount == 300 * M and bound.min_disadvantaged_amount == 300 * M
    check_constraints(bound, c, budget=400 * M, min_share=0.75)


def test_whole_loans_beat_the_greedy_ratio():
    # Greedy by effect per VND takes the 60M loan and strands 40M; two 50M loans do better.
    c = communes(eligible=[1, 2], effect=[0.10, 0.07])
    c = c.assign(size=[60 * M, 50 * M])
    res = allocation.allocate_budget(
        c, budget=100 * M, effect="effect", effect_se=0.0, loan_size="size", min_share_disadvantaged=0.0
    )
    assert res.table["loans"].tolist() == [0, 2]
    assert_allclose(res.expected_exits, 0.14)
    assert res.unspent == 0


def test_risk_aversion_prefers_the_surer_effect():
    c = communes(eligible=[1, 1], effect=[0.10, 0.08], se=[0.08, 0.01])
    kw = dict(budget=50 * M, effect="effect", effect_se="se", loan_size=50 * M, min_share_disadvantaged=0.0)
    assert allocation.allocate_budget(c, **kw).table["loans"].tolist() == [1, 0]
    assert allocation.allocate_budget(c, risk_aversion=1.0, **kw).table["loans"].tolist() == [0, 1]


def test_priority_breaks_ties():
    c = communes(eligible=[2, 2], rank_score=[0.2, 0.9])
    kw = dict(budget=100 * M, effect=0.1, effect_se=0.02, loan_size=50 * M, min_share_disadvantaged=0.0)
    assert allocation.allocate_budget(c, priority="rank_score", **kw).table["loans"].tolist() == [0, 2]
    assert allocation.allocate_budget(c.assign(rank_score=[0.9, 0.2]), priority="rank_score", **kw).table[
        "loans"
    ].tolist() == [2, 0]


def test_intervals_common_and_independent():
    c = communes(eligible=[4, 4], effect=[0.1, 0.2], se=[0.03, 0.04])
    kw = dict(budget=400 * M, effect="effect", effect_se="se", loan_size=50 * M, min_share_disadvantaged=0.0)
    common = allocation.allocate_budget(c, **kw)
    assert_allclose([common.expected_exits, common.se], [1.2, 4 * 0.03 + 4 * 0.04])
    assert_allclose([common.ci_lower, common.ci_upper], [1.2 - 1.959964 * 0.28, 1.2 + 1.959964 * 0.28], rtol=1e-6)
    ind = allocation.allocate_budget(c, correlation="independent", **kw)
    assert_allclose(ind.se, np.hypot(0.12, 0.16))
    assert_allclose(ind.by_commune()["se"], [0.12, 0.16])
    assert "expected exits 1.2" in common.summary()


def test_floor_above_capacity_funds_every_disadvantaged_household():
    c = communes(eligible=[10, 2], effect=[0.2, 0.0], disadvantaged=[False, True])
    res = allocation.allocate_budget(
        c, budget=500 * M, effect="effect", effect_se=0.0, loan_size=50 * M, min_share_disadvantaged=0.5
    )
    assert res.table["loans"].tolist() == [8, 2]
    assert res.min_disadvantaged_amount == 100 * M
    assert any("cannot absorb the minimum share" in n for n in res.notes)


def test_proportional_by_hand():
    c = communes(eligible=[10, 10, 1], poor=[30, 10, 10])
    kw = dict(budget=500 * M, effect=0.1, effect_se=0.0, loan_size=50 * M, min_share_disadvantaged=0.0)
    # shares 300, 100, 100 (M); the third can use only 50: the 50 left goes 3:1 to the others,
    # giving 337.5 and 112.5, i.e. 6.75 and 2.25 loans: floors 6 and 2, then one more by largest remainder.
    res = allocation.proportional_allocation(c, **kw)
    assert res.table["loans"].tolist() == [7, 2, 1]
    assert res.spent == 500 * M
    plain = allocation.proportional_allocation(c, redistribute=False, **kw)
    assert plain.table["loans"].tolist() == [6, 2, 1] and plain.unspent == 50 * M


def test_proportional_splits_a_commune_over_its_programmes():
    c = pd.DataFrame(
        {
            "commune_code": ["a", "a", "b"],
            "programme": ["poor", "near_poor", "poor"],
            "eligible": [2, 6, 8],
            "poor": [2, 2, 6],
            "disadvantaged": [False, False, True],
        }
    )
    res = allocation.proportional_allocation(
        c,
        budget=400 * M,
        effect={"poor": 0.1, "near_poor": 0.0},
        effect_se=0.0,
        loan_size=50 * M,
        min_share_disadvantaged=0.0,
    )
    # a gets 1/4 (100M): 25M to poor, 75M to near-poor; b gets 300M.
    # 0.5 and 1.5 loans: floors 0 and 1, then the larger remainder (a tie, the first row) gets one more.
    assert res.table["loans"].tolist() == [1, 1, 6]
    opt = allocation.allocate_budget(
        c,
        budget=400 * M,
        effect={"poor": 0.1, "near_poor": 0.0},
        effect_se=0.0,
        loan_size=50 * M,
        min_share_disadvantaged=0.0,
    )
    assert opt.table["loans"].tolist() == [2, 0, 6] and opt.expected_exits > res.expected_exits
    with pytest.raises(
        ValueError,
        match=r"column 'poor' must be the commune's value on every row of the commune; "
        r"commune 'a' has 1.0 and 2.0",
    ):
        allocation.proportional_allocation(
            c.assign(poor=[1, 2, 6]), budget=400 * M, effect=0.1, effect_se=0.0, loan_size=50 * M
        )


@pytest.mark.parametrize(
    "change, kwargs, message",
    [
        (
            None,
            dict(loan_size=120 * M),
            r"'loan_size' 120,000,000 VND at row 0 exceeds the per-household ceiling 100,000,000",
        ),
        (None, dict(budget=-1), r"'budget' must be a positive finite number, got -1"),
        (
            None,
            dict(effect=1.5),
            r"'effect' is in probability points per loan \(a share in \[-1, 1\]\), got 1.5 at row 0",
        ),
        (None, dict(effect_se=-0.1), r"'effect_se' must be non-negative, got -0.1 at row 0"),
        (
            None,
            dict(effect={"poor": 0.1}),
            r"'effect' is a mapping by programme but 'communes' has no 'programme' column",
        ),
        (None, dict(effect="gain"), r"'effect' names the column 'gain', which 'communes' lacks"),
        (None, dict(min_share_disadvantaged=1.2), r"'min_share_disadvantaged' must be in \[0, 1\], got 1.2"),
        (None, dict(correlation="partial"), r"'correlation' must be 'common' or 'independent', got 'partial'"),
        (lambda c: c.drop(columns="eligible"), {}, r"'communes' lacks the columns \['eligible'\]"),
        (
            lambda c: c.assign(eligible=[2.5, 1.0]),
            {},
            r"column 'eligible' of 'communes' must hold non-negative integer counts",
        ),
        (
            lambda c: c.assign(disadvantaged=[1, 0]),
            {},
            r"column 'disadvantaged' of 'communes' must be boolean, got dtype int64",
        ),
        (
            lambda c: c.assign(commune_code=["c0", "c0"]),
            {},
            r"'communes' has duplicate rows for \{'commune_code': 'c0'\}",
        ),
    ],
)
def test_allocation_errors(change, kwargs, message):
    c = communes(eligible=[2, 2])
    c = change(c) if change else c
    kw = dict(budget=100 * M, effect=0.1, effect_se=0.02, loan_size=50 * M) | kwargs
    with pytest.raises(ValueError, match=message):
        allocation.allocate_budget(c, **kw)


def test_rounded_lp_falls_back_to_the_exact_programme():
    # The relaxation puts 0.18 of a 50M loan in the disadvantaged commune; rounding it up
    # overspends, rounding down misses the floor: only the 30M loan meets both.
    c = communes(eligible=[0, 1, 1], size=[30 * M, 30 * M, 50 * M], effect=[0.0] * 3, disadvantaged=[False, True, True])
    res = allocation.allocate_budget(
        c, budget=30 * M, effect="effect", effect_se=0.01, loan_size="size", min_share_disadvantaged=0.3, solver="lp"
    )
    assert res.table["loans"].tolist() == [0, 1, 0]
    assert "solved exactly instead" in res.notes[0]
    with pytest.raises(ValueError, match=r"'solver' must be 'auto', 'exact' or 'lp', got 'greedy'"):
        allocation.allocate_budget(c, budget=30 * M, effect=0.1, effect_se=0.0, loan_size=30 * M, solver="greedy")


def test_infeasible_floor_and_mapping_gaps():
    c = communes(eligible=[2, 2], disadvantaged=[True, False])
    with pytest.raises(ValueError, match=r"the disadvantaged floor of 45,000,000 VND cannot be met with whole loans"):
        allocation.allocate_budget(
            c, budget=48 * M, effect=0.1, effect_se=0.0, loan_size=50 * M, min_share_disadvantaged=45 / 48
        )
    p = c.assign(programme=["poor", "near_poor"])
    with pytest.raises(ValueError, match=r"'effect' has no value for the programmes \['near_poor'\]"):
        allocation.allocate_budget(p, budget=100 * M, effect={"poor": 0.1}, effect_se=0.0, loan_size=50 * M)


# --------------------------------------------------------------------------- properties


# Effects on a grid of 0.5 points: differences far above the solver's tolerance (1e-7).
effects = st.integers(-10, 60).map(lambda k: k / 200)
problems = st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from([30, 50, 70]), effects, st.booleans(), st.integers(0, 20)),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None)
@given(problems, st.integers(20, 400), st.sampled_from([0.0, 0.3, 0.6]))
def test_optimum_matches_brute_force(rows, budget_m, share):
    c = communes(
        eligible=[r[0] for r in rows],
        size=[r[1] * M for r in rows],
        effect=[r[2] for r in rows],
        disadvantaged=[r[3] for r in rows],
    )
    budget = budget_m * M
    cap = float((c["eligible"] * c["size"])[c["disadvantaged"]].sum())
    floor = min(share * budget, cap)
    best = None
    for n in itertools.product(*[range(e + 1) for e in c["eligible"]]):
        n = np.array(n)
        spend = n * c["size"].to_numpy()
        if spend.sum() <= budget and spend[c["disadvantaged"].to_numpy()].sum() >= floor * (1 - 1e-12):
            value = float(n @ c["effect"].to_numpy())
            best = value if best is None else max(best, value)
    kw = dict(budget=budget, effect="effect", effect_se=0.01, loan_size="size", min_share_disadvantaged=share)
    if best is None:
        with pytest.raises(ValueError, match="cannot be met with whole loans"):
            allocation.allocate_budget(c, **kw)
        return
    res = allocation.allocate_budget(c, **kw)
    assert_allclose(res.expected_exits, best, atol=1e-9)
    check_constraints(res, c, budget=budget, min_share=share)
    # The relaxation rounded to whole loans: feasible, never above the optimum, close to it.
    lp = allocation.allocate_budget(c, solver="lp", **kw)
    check_constraints(lp, c, budget=budget, min_share=share)
    assert lp.expected_exits <= best + 1e-9 <= lp.bound + 2e-9
    assert lp.expected_exits >= best - 3 * max(0.0, c["effect"].max()) - 1e-9
    assert_allclose(res.bound, best, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(1, 40), effects, st.booleans()), min_size=2, max_size=8),
    st.integers(50, 3000),
    st.sampled_from([0.0, 0.2, 0.5]),
)
def test_optimised_never_below_proportional(rows, budget_m, share):
    c = communes(
        eligible=[r[0] for r in rows],
        poor=[r[1] for r in rows],
        effect=[r[2] for r in rows],
        disadvantaged=[r[3] for r in rows],
    )
    kw = dict(budget=budget_m * M, effect="effect", effect_se=0.02, loan_size=55 * M, min_share_disadvantaged=share)
    prop = allocation.proportional_allocation(c, **kw)
    assert prop.constraints["budget"] and prop.constraints["eligible"]
    if not prop.constraints["min_disadvantaged"]:
        return  # the rule ignores the floor: the two solve different problems
    opt = allocation.allocate_budget(c, **kw)
    assert opt.expected_exits >= prop.expected_exits - 1e-9
    check_constraints(opt, c, budget=budget_m * M, min_share=share)


# --------------------------------------------------------------------------- on the synthetic panel


@pytest.fixture(scope="module")
def table(small_classified, small_panel):
    dis = set(small_panel.communes.loc[small_panel.communes["disadvantaged"], "commune_code"])
    year = int(small_classified["review_year"].max())
    return allocation.allocation_table(targeting.eligibility(small_classified), review_year=year, disadvantaged=dis)


def test_allocation_table_on_the_panel(table, small_classified):
    elig = targeting.eligibility(small_classified)
    latest = elig[elig["review_year"] == elig["review_year"].max()]
    assert table["eligible"].sum() == latest["eligible"].sum()
    by_prog = table.groupby("programme")["eligible"].sum()
    assert by_prog["poor"] == latest["eligible_poor"].sum()
    assert (table.groupby("commune_code")["poor"].nunique() == 1).all()
    one = allocation.allocation_table(elig, review_year=2025, by_programme=False)
    assert "programme" not in one.columns and one["eligible"].sum() == table["eligible"].sum()
    with pytest.raises(ValueError, match=r"'review_year' 2019 is not in 'eligible'"):
        allocation.allocation_table(elig, review_year=2019)


def test_every_constraint_and_more_exits_than_proportional(table):
    budget = 3e9
    kw = dict(
        budget=budget,
        effect={"poor": 0.10, "near_poor": 0.0, "newly_escaped": 0.0},
        effect_se=0.03,
        loan_size={"poor": 55 * M, "near_poor": 60 * M, "newly_escaped": 65 * M},
        min_share_disadvantaged=0.6,
    )
    opt = allocation.allocate_budget(table, **kw)
    prop = allocation.proportional_allocation(table, **kw)
    check_constraints(opt, table, budget=budget, min_share=0.6)
    assert prop.constraints["min_disadvantaged"] and prop.constraints["budget"] and prop.constraints["eligible"]
    assert opt.expected_exits > prop.expected_exits
    assert opt.table.loc[opt.table["programme"] != "poor", "loans"].sum() == 0
    cmp = allocation.compare_allocations(opt, prop)
    assert cmp["method"].tolist() == ["optimised", "proportional"]
    assert_allclose(cmp["expected_exits"], [opt.expected_exits, prop.expected_exits])
    assert_allclose(opt.by_commune()["amount"].sum(), opt.spent)


def test_comparison_figure(table):
    kw = dict(
        budget=2e9,
        effect={"poor": 0.10, "near_poor": 0.0, "newly_escaped": 0.0},
        effect_se=0.03,
        loan_size=55 * M,
        min_share_disadvantaged=0.5,
    )
    opt, prop = allocation.allocate_budget(table, **kw), allocation.proportional_allocation(table, **kw)
    f = figures.comparison_figure(opt, prop, top=12, lang="en")
    assert len(f.data) == 2 and len(f.data[0].x) == 12
    assert f.data[0].name.startswith("Optimised allocation: ") and "expected exits" in f.data[0].name
    assert f.layout.yaxis.title.text == "Credit allocated (billion VND)"
    vi = figures.comparison_figure(opt, prop)
    assert vi.data[1].name.startswith("Phân bổ theo số hộ nghèo")
    with pytest.raises(TypeError, match="'optimised' should be an Allocation, got dict"):
        figures.comparison_figure({}, prop)


# --------------------------------------------------------------------------- the effect per loan


def test_loan_effect_sources(monkeypatch):
    assert allocation.loan_effect() == allocation.DEFAULT_EFFECT
    truth = allocation.loan_effect(truth={"credit_effect": 0.1})
    assert (truth.effect, truth.se, truth.source) == (0.1, 0.0, "truth")
    assert "synthetic generator" in prose.loan_effect_text(truth, lang="en") and "mô phỏng" in prose.loan_effect_text(
        truth, lang="vi"
    )

    class Result:
        effect, se, method = 0.08, 0.02, "did"

    fake = types.ModuleType("povanalysis.impact.credit")
    fake.estimate_effect = lambda households, loans, *, outcome, method: Result()
    monkeypatch.setitem(sys.modules, "povanalysis.impact.credit", fake)
    est = allocation.loan_effect(pd.DataFrame(), pd.DataFrame(), truth={"credit_effect": 0.1})
    assert (est.effect, est.se, est.source, est.method) == (0.08, 0.02, "estimate", "did")

    def failing(households, loans, *, outcome, method):
        raise ValueError("no variation in treatment")

    fake.estimate_effect = failing
    assert allocation.loan_effect(pd.DataFrame(), pd.DataFrame(), truth={"credit_effect": 0.1}).source == "truth"


def test_comparison_text_says_when_the_floor_is_capped():
    c = communes(eligible=[10, 2], poor=[5, 5], effect=[0.2, 0.0], disadvantaged=[False, True])
    kw = dict(budget=500 * M, effect="effect", effect_se=0.0, loan_size=50 * M, min_share_disadvantaged=0.5)
    opt, prop = allocation.allocate_budget(c, **kw), allocation.proportional_allocation(c, **kw)
    en = prose.comparison_text(opt, prop, lang="en")
    assert en.startswith(
        "With a budget of 0.5 billion VND, the optimised allocation funds 10 loans and is expected "
        "to lift 1.6 households"
    )
    assert en.endswith(
        "The floor of 50% of the budget for disadvantaged communes exceeds what their eligible "
        "households can absorb, so every one of them is funded."
    )
    vi = prose.comparison_text(opt, prop)
    assert vi.startswith("Với ngân sách 0,5 tỷ đồng") and "vượt quá nhu cầu" in vi
    with pytest.raises(TypeError, match="'proportional' should be an Allocation, got NoneType"):
        prose.comparison_text(opt, None)
