import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from povanalysis.figures import targeting as figures
from povanalysis.measure.standards import CLASSES
from povanalysis.reports.prose import targeting as prose
from povanalysis.targeting import allocation, risk
from povanalysis.targeting import beneficiaries as targeting

X, Y = "01840", "01843"

# --------------------------------------------------------------------------- eligibility

# household -> {review year: class}; gaps are years without a review row.
HISTORY = {
    "H1": {2021: "poor", 2022: "near_poor", 2023: "average_living", 2024: "not_poor"},
    "H2": {2021: "not_poor", 2022: "not_poor", 2023: "not_poor", 2024: "not_poor"},
    "H3": {2021: "near_poor", 2022: "not_poor", 2023: "average_living", 2024: "not_poor", 2025: "not_poor"},
    "H4": {2021: "average_living", 2022: "poor", 2023: "poor", 2024: "average_living"},
    "H5": {2021: "poor", 2022: "not_poor", 2023: "poor", 2024: "not_poor"},
    "H6": {2021: "near_poor", 2023: "not_poor"},
}
# Expected programme per (household, year) with the default window of 3 years.
EXPECTED = {
    ("H1", 2021): "poor",
    ("H1", 2022): "near_poor",
    ("H1", 2023): "newly_escaped",
    ("H1", 2024): "newly_escaped",
    ("H2", 2021): None,
    ("H2", 2022): None,
    ("H2", 2023): None,
    ("H2", 2024): None,
    ("H3", 2021): "near_poor",
    ("H3", 2022): "newly_escaped",
    ("H3", 2023): "newly_escaped",
    ("H3", 2024): "newly_escaped",
    ("H3", 2025): None,  # 2025 − 2021 = 4 > 3
    ("H4", 2021): None,
    ("H4", 2022): "poor",
    ("H4", 2023): "poor",
    ("H4", 2024): "newly_escaped",
    ("H5", 2021): "poor",
    ("H5", 2022): "newly_escaped",
    ("H5", 2023): "poor",
    ("H5", 2024): "newly_escaped",
    ("H6", 2021): "near_poor",
    ("H6", 2023): "newly_escaped",
}
LAST_LISTED = {("H1", 2024): 2022, ("H2", 2024): None, ("H3", 2025): 2021, ("H5", 2024): 2023, ("H4", 2021): None}


def history_frame(history, commune=X):
    rows = [(h, y, commune, c) for h, years in history.items() for y, c in years.items()]
    return pd.DataFrame(rows, columns=["household_id", "review_year", "commune_code", "poverty_class"])


@pytest.fixture
def shuffled():
    frame = history_frame(HISTORY)
    frame = frame.sample(frac=1, random_state=3)
    frame.index = [f"r{i}" for i in range(len(frame))]
    return frame


def test_eligibility_hand_built_panel(shuffled):
    out = targeting.eligibility(shuffled)
    assert out.index.equals(shuffled.index)
    got = {
        (h, y): (None if pd.isna(p) else p)
        for h, y, p in zip(out["household_id"], out["review_year"], out["programme"])
    }
    assert got == EXPECTED
    for (h, y), last in LAST_LISTED.items():
        value = out.loc[(out["household_id"] == h) & (out["review_year"] == y), "last_listed"].iloc[0]
        assert (pd.isna(value) and last is None) or value == last
    assert (out["loan_year"] == out["review_year"] + 1).all()
    assert out["eligible"].sum() == sum(p is not None for p in EXPECTED.values())


def test_eligibility_window_is_a_parameter(shuffled):
    out = targeting.eligibility(shuffled, newly_escaped_years=1)
    got = dict(zip(zip(out["household_id"], out["review_year"]), out["eligible_newly_escaped"]))
    assert got[("H3", 2022)] and not got[("H3", 2023)]
    assert got[("H1", 2023)] and not got[("H1", 2024)]
    assert not got[("H6", 2023)]  # two years after its last listing
    wide = targeting.eligibility(shuffled, newly_escaped_years=4)
    assert wide.loc[(wide["household_id"] == "H3") & (wide["review_year"] == 2025), "eligible_newly_escaped"].item()


def test_eligibility_accepts_categorical_classes(small_classified):
    part = small_classified[small_classified["commune_code"] == small_classified["commune_code"].iloc[0]]
    a = targeting.eligibility(part)
    b = targeting.eligibility(part.assign(poverty_class=part["poverty_class"].astype(str)))
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: f.drop(columns="poverty_class"), r"lacks the columns \['poverty_class'\]"),
        (
            lambda f: f.assign(poverty_class=f["poverty_class"].where(f.index != "r2", "rich")),
            r"'poverty_class' of 'classified' must be one of .* got 'rich' at row 'r2'",
        ),
        (
            lambda f: f.assign(review_year=f["review_year"].astype(float)),
            r"'review_year' of 'classified' must hold integers",
        ),
        (
            lambda f: pd.concat([f, f.iloc[[0]].rename(index={"r0": "dup"})]),
            r"1 duplicate \(household_id, review_year\) rows \(first at row 'dup'",
        ),
        (
            lambda f: f.assign(commune_code=f["commune_code"].where(f.index != "r1", None)),
            r"column 'commune_code' of 'classified' has 1 missing values \(first at row 'r1'\)",
        ),
    ],
)
def test_eligibility_errors(shuffled, change, message):
    with pytest.raises(ValueError, match=message):
        targeting.eligibility(change(shuffled))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_eligibility_window_must_be_positive_integer(shuffled, bad):
    with pytest.raises(ValueError, match="'newly_escaped_years' must be a positive integer"):
        targeting.eligibility(shuffled, newly_escaped_years=bad)


def test_eligibility_type_error():
    with pytest.raises(TypeError, match="'classified' should be a DataFrame, got list"):
        targeting.eligibility([1, 2])


def _reference(history, window):
    out = {}
    for h, years in history.items():
        last = None
        for y in sorted(years):
            c = years[y]
            if c in ("poor", "near_poor"):
                last = y
                out[(h, y)] = c
            else:
                out[(h, y)] = "newly_escaped" if last is not None and y - last <= window else None
    return out


@settings(max_examples=25, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f"P{i}" for i in range(8)]),
        st.dictionaries(st.integers(2016, 2030), st.sampled_from(CLASSES), min_size=1, max_size=8),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 5),
)
def test_eligibility_matches_a_loop_reference(history, window):
    out = targeting.eligibility(history_frame(history), newly_escaped_years=window)
    got = {
        (h, y): (None if pd.isna(p) else p)
        for h, y, p in zip(out["household_id"], out["review_year"], out["programme"])
    }
    assert got == _reference(history, window)
    flags = out[["eligible_poor", "eligible_near_poor", "eligible_newly_escaped"]].to_numpy()
    assert (flags.sum(axis=1) <= 1).all()
    assert (flags.any(axis=1) == out["eligible"].to_numpy()).all()
    assert (out["programme"].isna().to_numpy() == ~out["eligible"].to_numpy()).all()


# --------------------------------------------------------------------------- accuracy

PANEL = {
    # household: (commune, minority, classes at the 2022, 2023, 2024 reviews)
    "A": (X, True, ("poor", "poor", "poor")),
    "B": (X, False, ("near_poor", "near_poor", "average_living")),
    "C": (X, False, ("not_poor", "not_poor", "not_poor")),
    "D": (X, True, ("not_poor", "poor", "near_poor")),
    "E": (X, True, ("near_poor", "average_living", "not_poor")),
    "F": (Y, True, ("poor", "near_poor", "near_poor")),
    "G": (Y, True, ("average_living", "average_living", "average_living")),
}
LOANS = [
    ("A", "poor", "2024-02-01"),
    ("A", "poor", "2024-09-01"),  # two loans, one household reached
    ("C", "near_poor", "2024-03-01"),  # leakage: C was not eligible in 2023
    ("E", "newly_escaped", "2024-04-01"),
    ("F", "poor", "2024-05-01"),  # eligible, but for the near-poor programme
    ("B", "newly_escaped", "2025-03-01"),
    ("G", "near_poor", "2025-06-01"),  # leakage
    ("D", "poor", "2022-06-01"),  # no 2021 review: cannot be judged
]


@pytest.fixture(scope="module")
def panel():
    rows = [
        (h, y, c, "Tày" if m else "Kinh", cls[i])
        for h, (c, m, cls) in PANEL.items()
        for i, y in enumerate((2022, 2023, 2024))
    ]
    return pd.DataFrame(rows, columns=["household_id", "review_year", "commune_code", "ethnicity", "poverty_class"])


@pytest.fixture(scope="module")
def loans():
    out = pd.DataFrame(LOANS, columns=["household_id", "programme", "disbursed"])
    out["disbursed"] = pd.to_datetime(out["disbursed"])
    return out


@pytest.fixture(scope="module")
def acc2024(panel, loans):
    return targeting.accuracy(panel, loans, year=2024, min_cell=1)


def _cell(table, **where):
    mask = np.ones(len(table), bool)
    for k, v in where.items():
        mask &= (table[k] == v).to_numpy()
    assert mask.sum() == 1, where
    return table[mask].iloc[0]


COLUMNS = ["eligible", "reached", "loans", "inclusion_errors", "other_programme"]


@pytest.mark.parametrize(
    "commune, programme, expected",
    [
        (X, "poor", (2, 1, 2, 0, 0)),
        (X, "near_poor", (1, 0, 1, 1, 0)),
        (X, "newly_escaped", (1, 1, 1, 0, 0)),
        (X, "all", (4, 2, 4, 1, 0)),
        (Y, "poor", (0, 0, 1, 0, 1)),
        (Y, "near_poor", (1, 1, 0, 0, 0)),
        (Y, "newly_escaped", (0, 0, 0, 0, 0)),
        (Y, "all", (1, 1, 1, 0, 0)),
    ],
)
def test_accuracy_hand_built_2024(acc2024, commune, programme, expected):
    row = _cell(acc2024, commune_code=commune, programme=programme)
    assert tuple(int(row[c]) for c in COLUMNS) == expected
    assert row["review_year"] == 2023
    e, r, n, inc = expected[:4]
    assert row["exclusion_errors"] == e - r
    if e:
        assert_allclose([row["coverage"], row["exclusion_rate"]], [r / e, 1 - r / e])
    else:
        assert np.isnan(row["coverage"])
    if n:
        assert_allclose(row["inclusion_share"], inc / n)
    else:
        assert np.isnan(row["inclusion_share"])


def test_accuracy_by_minority(panel, loans):
    t = targeting.accuracy(panel, loans, by=("commune_code", "minority"), year=2024, min_cell=1)
    t = t[t["programme"] == "all"]
    got = {
        (c, bool(m)): tuple(int(v) for v in r)
        for c, m, *r in t[["commune_code", "minority", "eligible", "reached", "loans", "inclusion_errors"]].itertuples(
            index=False
        )
    }
    assert got == {(X, True): (3, 2, 3, 0), (X, False): (1, 0, 1, 1), (Y, True): (1, 1, 1, 0)}


def test_accuracy_every_year_and_the_loans_not_assessed(panel, loans):
    t = targeting.accuracy(panel, loans, min_cell=1)
    assert sorted(t["loan_year"].unique()) == [2023, 2024, 2025]
    assert t.attrs["loans_not_assessed"] == 1
    allp = t[t["programme"] == "all"].set_index(["loan_year", "commune_code"])
    assert allp.loc[(2023, X), ["eligible", "loans"]].tolist() == [3, 0]  # A, B, E eligible; no loans
    assert allp.loc[(2025, X), ["eligible", "reached", "loans"]].tolist() == [4, 1, 1]
    assert allp.loc[(2025, Y), ["eligible", "reached", "loans", "inclusion_errors"]].tolist() == [1, 0, 1, 1]
    assert allp["loans"].sum() == 7


def test_accuracy_suppression(panel, loans):
    t = targeting.accuracy(panel, loans, year=2024)
    assert t["suppressed"].all()  # nothing rests on 10 households here
    t = targeting.accuracy(panel, loans, year=2024, min_cell=2)
    assert _cell(t, commune_code=X, programme="all")["suppressed"] == False  # noqa: E712 (4 eligible, 4 loans)
    assert _cell(t, commune_code=X, programme="near_poor")["suppressed"] == True  # noqa: E712 (1 eligible)
    assert _cell(t, commune_code=Y, programme="all")["suppressed"] == True  # noqa: E712


def test_accuracy_errors(panel, loans):
    stranger = pd.concat(
        [
            loans,
            pd.DataFrame(
                {"household_id": ["Z"], "programme": ["poor"], "disbursed": pd.to_datetime(["2024-01-05"])}, index=[99]
            ),
        ]
    )
    with pytest.raises(
        ValueError,
        match=r"'loans' row 99: household 'Z' got a loan in 2024 but has no row in the "
        r"review of 2023 \(1 such loans\)",
    ):
        targeting.accuracy(panel, stranger, year=2024)
    with pytest.raises(
        ValueError,
        match=r"'year' 2022: loans of 2022 are judged against the review of 2021, which "
        r"is not in 'classified'",
    ):
        targeting.accuracy(panel, loans, year=2022)
    with pytest.raises(ValueError, match=r"'year' 2023: no loans disbursed in 2023"):
        targeting.accuracy(panel, loans, year=2023)
    with pytest.raises(ValueError, match=r"'programme' of 'loans' must be one of .* got 'housing' at row 2"):
        targeting.accuracy(panel, loans.assign(programme=loans["programme"].where(loans.index != 2, "housing")))
    with pytest.raises(ValueError, match=r"'disbursed' of 'loans' must hold dates \(datetime64\), got dtype"):
        targeting.accuracy(panel, loans.assign(disbursed=loans["disbursed"].dt.strftime("%Y-%m-%d")))
    with pytest.raises(ValueError, match=r"'by' must not name 'review_year'"):
        targeting.accuracy(panel, loans, by=("review_year",))
    with pytest.raises(ValueError, match=r"'classified' lacks the columns \['old_area'\]"):
        targeting.accuracy(panel, loans, by=("old_area",))
    with pytest.raises(ValueError, match=r"'by' asks for 'minority' but 'classified' has neither"):
        targeting.accuracy(panel.drop(columns="ethnicity"), loans, by=("minority",))
    with pytest.raises(ValueError, match=r"'min_cell' must be a positive integer, got 0"):
        targeting.accuracy(panel, loans, min_cell=0)


def test_accuracy_on_the_synthetic_panel(small_classified, small_panel):
    """The generator lends under the programme of the previous review's class and leaks only to
    ineligible applicants (recorded as near-poor loans): our eligibility must agree with it."""
    loans = small_panel.loans
    t = targeting.accuracy(small_classified, loans, by=("old_area",), min_cell=1)
    assert t["loans"][t["programme"] == "all"].sum() == len(loans)
    assert t.attrs["loans_not_assessed"] == 0
    for prog in ("poor", "newly_escaped"):
        part = t[t["programme"] == prog]
        assert part["inclusion_errors"].sum() == 0 and part["other_programme"].sum() == 0
        assert (part["reached"] >= part["loans"]).all()  # each such loan reaches an eligible household
    allp = t[t["programme"] == "all"]
    assert allp["inclusion_errors"].sum() == t.loc[t["programme"] == "near_poor", "inclusion_errors"].sum()
    assert allp["inclusion_errors"].sum() < 0.5 * allp["loans"].sum()
    # Many eligible households are never reached.
    assert (allp["coverage"] < 0.5).all() and (allp["exclusion_errors"] == allp["eligible"] - allp["reached"]).all()


# --------------------------------------------------------------------------- commune table and priority index


def test_commune_table_pins_depth_and_risk():
    hh = pd.DataFrame(
        {
            "commune_code": [X] * 4 + [Y] * 2,
            "review_year": [2024] * 6,
            "area": ["rural", "rural", "urban", "rural", "rural", "rural"],
            "income_pc": [750_000, 1_500_000, 1_000_000, 3e6, 1.2e6, 4e6],
            "size": [4] * 6,
            "ethnicity": ["Tày", "Kinh", "Dao", "Kinh", "Kinh", "Kinh"],
            "poverty_class": ["poor", "near_poor", "poor", "not_poor", "poor", "not_poor"],
        }
    )
    scores = pd.DataFrame(
        {
            "household_id": ["q", "r", "s"],
            "review_year": [2024] * 3,
            "commune_code": [X, X, Y],
            "probability": [0.3, 0.1, 0.9],
        }
    )
    t = targeting.commune_table(hh, review_year=2024, scores=scores, threshold=0.25, min_cell=1).set_index(
        "commune_code"
    )
    # X: gaps 0.5 (750k vs 1.5M), 0 (at the line), 0.5 (1M vs the urban 2M), 0 -> FGT1 = 1/4
    assert_allclose(
        t.loc[X, ["poor_rate", "fgt1", "minority_share", "at_risk_share"]].to_numpy(float), [0.5, 0.25, 0.5, 0.25]
    )
    assert_allclose(t.loc[Y, ["poor_rate", "fgt1", "at_risk_share"]].to_numpy(float), [0.5, 0.1, 0.5])
    assert t.loc[X, "name"] == "Phường Đức Xuân" and t.loc[X, "at_risk"] == 1
    without = targeting.commune_table(hh, review_year=2024, min_cell=1)
    assert without["at_risk_share"].isna().all()
    with pytest.raises(ValueError, match=r"'review_year' 2030 is not in 'classified'"):
        targeting.commune_table(hh, review_year=2030)


def test_priority_index_by_hand():
    t = pd.DataFrame(
        {
            "commune_code": ["a", "b", "c", "d"],
            "poor_rate": [0.10, 0.30, 0.20, 0.9],
            "poor": [50, 10, 30, 1],
            "suppressed": [False, False, False, True],
        }
    )
    out = targeting.priority_index(t, weights={"poor_rate": 3, "poor": 1}).set_index("commune_code")
    # scaled over a, b, c: rate (0, 1, .5), poor (1, 0, .5); index = .75 rate + .25 poor
    assert_allclose(out.loc[["a", "b", "c"], "index"], [0.25, 0.75, 0.5])
    assert out.loc[["b", "c", "a"], "rank"].tolist() == [1, 2, 3]
    assert pd.isna(out.loc["d", "rank"]) and np.isnan(out.loc["d", "index"])
    assert_allclose(out.loc["c", ["poor_rate_contribution", "poor_contribution"]].to_numpy(float), [0.375, 0.125])


@settings(max_examples=15, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 5000), st.floats(0, 1)), min_size=3, max_size=12),
    st.floats(0.1, 100),
    st.floats(-5, 5),
)
def test_priority_ranking_ignores_units(rows, scale, shift):
    t = pd.DataFrame(rows, columns=["poor_rate", "poor", "minority_share"]).assign(
        commune_code=[f"c{i:02d}" for i in range(len(rows))]
    )
    w = {"poor_rate": 0.5, "poor": 0.3, "minority_share": 0.2}
    a = targeting.priority_index(t, weights=w)
    b = targeting.priority_index(t.assign(poor=t["poor"] * scale + shift), weights=w)
    assert_allclose(a["index"], b["index"], atol=1e-9)
    assert ((a["index"] >= -1e-12) & (a["index"] <= 1 + 1e-12)).all()


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"poverty": 1}, r"'weights' names columns that 'commune_table' lacks: \['poverty'\]"),
        ({"poor_rate": -1}, r"weights\['poor_rate'\] must be a non-negative finite number, got -1"),
        ({"poor_rate": 0}, r"'weights' must have a positive sum"),
        ({}, r"'weights' must be a non-empty mapping"),
    ],
)
def test_priority_index_weight_errors(weights, message):
    t = pd.DataFrame({"commune_code": ["a", "b"], "poor_rate": [0.1, 0.2]})
    with pytest.raises(ValueError, match=message):
        targeting.priority_index(t, weights=weights)


def test_priority_index_missing_component():
    t = pd.DataFrame({"commune_code": ["a", "b"], "poor_rate": [0.1, np.nan]})
    with pytest.raises(
        ValueError,
        match=r"'poor_rate' of 'commune_table' must be a finite number for every ranked "
        r"commune, got nan at row 1 \(commune 'b'\)",
    ):
        targeting.priority_index(t, weights={"poor_rate": 1})


def test_rank_sensitivity():
    t = pd.DataFrame(
        {"commune_code": list("abcdef"), "poor_rate": [0.1, 0.5, 0.3, 0.2, 0.4, 0.6], "poor": [60, 10, 30, 50, 20, 40]}
    )
    w = {"poor_rate": 0.5, "poor": 0.5}
    res = targeting.rank_sensitivity(t, weights=w, n_draws=400, concentration=5, seed=1, top=2)
    again = targeting.rank_sensitivity(t, weights=w, n_draws=400, concentration=5, seed=1, top=2)
    pd.testing.assert_frame_equal(res.ranks, again.ranks)
    assert_allclose(res.weights_drawn.sum(axis=1), 1)
    base = targeting.priority_index(t, weights=w).set_index("commune_code")["rank"]
    r = res.ranks.set_index("commune_code")
    assert (r["rank"] == base.reindex(r.index)).all()
    assert (r["rank_min"] <= r["rank_p05"]).all() and (r["rank_p95"] <= r["rank_max"]).all()
    # The two components disagree, so the ranking moves: some draws differ from the default ranking.
    assert res.spearman.min() < 1 and res.spearman.max() <= 1 + 1e-12
    assert isinstance(res.summary(), str) and "Spearman" in res.summary()
    # With agreeing components every draw gives the same ranking.
    agree = targeting.rank_sensitivity(t.assign(poor=t["poor_rate"] * 100), weights=w, n_draws=50)
    assert_allclose(agree.spearman, 1.0)
    assert (agree.ranks["rank_min"] == agree.ranks["rank_max"]).all()
    zero = targeting.rank_sensitivity(t, weights={"poor_rate": 1, "poor": 0}, n_draws=20)
    assert (zero.weights_drawn["poor"] == 0).all()
    with pytest.raises(ValueError, match=r"'concentration' must be a positive number, got 0"):
        targeting.rank_sensitivity(t, weights=w, concentration=0)


# --------------------------------------------------------------------------- figures


def test_coverage_figure(panel, loans):
    t = targeting.accuracy(panel, loans, by=("commune_code", "minority"), year=2024, min_cell=1)
    f = figures.coverage_figure(t, lang="en")
    assert [tr.name for tr in f.data] == ["Ethnic-minority households", "Kinh households"]
    assert list(f.data[0].x) == [2 / 3, 1.0] and list(f.data[1].x) == [0.0]
    assert f.layout.xaxis.tickformat == ".0%"
    vi = figures.coverage_figure(t, measure="inclusion_share")
    assert vi.data[0].name == "Hộ dân tộc thiểu số" and "2024" in vi.layout.title.text
    hidden = figures.coverage_figure(
        targeting.accuracy(panel, loans, by=("commune_code", "minority"), year=2024, min_cell=2), lang="en"
    )
    assert "2 cells suppressed" in hidden.layout.title.text
    with pytest.raises(ValueError, match=r"'table' must hold one loan year"):
        figures.coverage_figure(targeting.accuracy(panel, loans, by=("commune_code", "minority"), min_cell=1))
    with pytest.raises(ValueError, match=r"lang must be one of"):
        figures.coverage_figure(t, lang="fr")


def test_priority_figure():
    t = pd.DataFrame({"commune_code": [X, Y, "01849"], "poor_rate": [0.1, 0.3, 0.2], "poor": [30, 10, 20]})
    w = {"poor_rate": 0.5, "poor": 0.5}
    idx = targeting.priority_index(t, weights=w)
    res = targeting.rank_sensitivity(t, weights=w, n_draws=100)
    f = figures.priority_figure(idx, res, top=2, lang="en")
    assert len(f.data) == 2 and len(f.data[1].y) == 2
    assert f.data[1].name == "Rank with the default weights"
    assert list(f.data[0].error_x.array) == (res.ranks["rank_p95"] - res.ranks["rank_p05"]).head(2).tolist()
    assert figures.priority_figure(idx).layout.title.text == "Xếp hạng ưu tiên xã, phường"


# --------------------------------------------------------------------------- no identifiers in published outputs


def test_no_household_id_reaches_a_published_output(small_classified, small_panel, tmp_path):
    classified, loans = small_classified, small_panel.loans
    ids = set(classified["household_id"])
    model = risk.fit_fallback_model(classified, loans)
    scores = model.score(classified)
    year = int(classified["review_year"].max())
    acc = targeting.accuracy(classified, loans, by=("commune_code", "minority"), year=year)
    table = targeting.commune_table(classified, review_year=year, scores=scores)
    idx = targeting.priority_index(table)
    sens = targeting.rank_sensitivity(table, n_draws=50)
    counts = risk.at_risk_counts(scores)
    alloc_in = allocation.allocation_table(
        targeting.eligibility(classified),
        review_year=year,
        disadvantaged=set(small_panel.communes.loc[small_panel.communes["disadvantaged"], "commune_code"]),
    )
    kw = dict(budget=2e9, effect={"poor": 0.1, "near_poor": 0.0, "newly_escaped": 0.0}, effect_se=0.03, loan_size=55e6)
    opt, prop = allocation.allocate_budget(alloc_in, **kw), allocation.proportional_allocation(alloc_in, **kw)
    drawn = [
        figures.coverage_figure(acc),
        figures.priority_figure(idx, sens),
        figures.calibration_figure(model),
        figures.comparison_figure(opt, prop),
    ]
    tables = [
        acc,
        table,
        idx,
        sens.to_frame(),
        counts,
        model.to_frame(),
        model.calibration,
        opt.to_frame(),
        prop.to_frame(),
        allocation.compare_allocations(opt, prop),
    ]
    pattern = re.compile(r"TN\d{7}")
    texts = [f.to_json() for f in drawn] + [t.to_csv(index=False) for t in tables] + [model.summary()]
    for text in texts:
        found = set(pattern.findall(text)) & ids
        assert not found, sorted(found)[:3]
    for t in tables:
        assert "household_id" not in t.columns
    for f in drawn:
        json.loads(f.to_json())
    # ... while the confidential export does list them.
    path = risk.confidential_export(scores, tmp_path / "MAT-CONFIDENTIAL_fallback.csv")
    assert set(pd.read_csv(path, skiprows=1, dtype=str)["household_id"]) == set(scores["household_id"])


# --------------------------------------------------------------------------- publishing


def test_accuracy_text_and_province_totals(panel, loans):
    province = targeting.accuracy(panel, loans, by=(), min_cell=1)
    minority = targeting.accuracy(panel, loans, by=("minority",), min_cell=1)
    row = _cell(province, loan_year=2024, programme="all")
    assert [int(row[c]) for c in ("eligible", "reached", "loans", "inclusion_errors")] == [5, 3, 5, 1]
    assert prose.accuracy_text(province, minority, year=2024, lang="en", min_cell=1) == (
        "Of the 5 households eligible at the 2023 review, 3 got a loan in 2024 (coverage 60.0%); 2 eligible "
        "households were not reached. 1 of the 5 loans (20.0%) went to households that were not eligible. "
        "Coverage was 75.0% among ethnic-minority households and 0.0% among Kinh households."
    )
    vi = prose.accuracy_text(province, year=2024, min_cell=1)
    assert vi.startswith(
        "Trong 5 hộ đủ điều kiện theo kết quả rà soát năm 2023, 3 hộ được vay vốn trong năm 2024 (độ bao phủ 60,0%)"
    )
    # under a limit of 3: the 2 not reached read "fewer than 3", so the 3 reached read "more than 2"
    # (5 − 2 would give them back); the 1 loan to the ineligible reads "fewer than 3"; no rate is shown,
    # since no band up to 50% holds 3 of 5 (rate_band(5, 3) is NaN), nor the coverage by group
    assert prose.accuracy_text(province, minority, year=2024, lang="en", min_cell=3) == (
        "Of the 5 households eligible at the 2023 review, more than 2 got a loan in 2024; fewer than 3 eligible "
        "households were not reached. Fewer than 3 of the 5 loans went to households that were not eligible."
    )
    hidden = targeting.accuracy(panel, loans, by=())
    assert (
        prose.accuracy_text(hidden, year=2024, lang="en") == "The figures for 2024 are suppressed (too few households)."
    )
    with pytest.raises(
        ValueError, match=r"'province' must hold one 'all' row for loan year 2024 \(pass by=\(\) to accuracy\), got 2"
    ):
        prose.accuracy_text(targeting.accuracy(panel, loans, min_cell=1), year=2024)


def test_mask_suppressed(panel, loans):
    t = targeting.accuracy(panel, loans, year=2024, min_cell=2)
    masked = targeting.mask_suppressed(t, keep=["loan_year", "review_year"])
    hidden = masked[masked["suppressed"]]
    assert hidden[["eligible", "reached", "coverage", "loans", "inclusion_share"]].isna().all().all()
    assert hidden["commune_code"].notna().all() and (hidden["loan_year"] == 2024).all()
    shown = masked[~masked["suppressed"]]
    assert shown["eligible"].tolist() == t.loc[~t["suppressed"], "eligible"].tolist()
    with pytest.raises(ValueError, match=r"'table' lacks the columns \['suppressed'\]"):
        targeting.mask_suppressed(t.drop(columns="suppressed"))


def test_priority_text():
    t = pd.DataFrame({"commune_code": [X, Y, "01849"], "poor_rate": [0.1, 0.3, 0.2], "poor": [30, 10, 20]})
    w = {"poor_rate": 0.5, "poor": 0.5}
    text = prose.priority_text(
        targeting.priority_index(t, weights=w),
        targeting.rank_sensitivity(t, weights=w, n_draws=100, top=2),
        n=2,
        lang="en",
    )
    assert text.startswith("Highest priority: ") and "Under 100 random weightings" in text and "top 2" in text
    vi = prose.priority_text(targeting.priority_index(t, weights={"poor_rate": 1}), n=1)
    assert vi == "Ưu tiên cao nhất: Phường Bắc Kạn."
