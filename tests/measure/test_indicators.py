"""Tests of povanalysis.measure.indicators: hand-derived values, independent standard errors, properties."""

from __future__ import annotations

from fractions import Fraction

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from statsmodels.regression.linear_model import WLS

import povanalysis.measure.alkire_foster as af_module
from povanalysis.measure import indicators
from povanalysis.measure.indicators import (
    CUTOFF_TOLERANCE,
    Z_95,
    alkire_foster,
    deprivation_score,
    fgt,
    identify_poor,
)

# Six households, four indicators with weights 4:2:1:1 (normalised 1/2, 1/4, 1/8, 1/8), k = 1/4.
#
#   hh  a b c d  score  poor  c(k)   w  area
#   h1  1 1 1 1  1      yes   1      1  r
#   h2  1 0 0 0  1/2    yes   1/2    2  r
#   h3  0 1 0 0  1/4    yes   1/4    1  r     (exactly at the cutoff)
#   h4  0 0 1 1  1/4    yes   1/4    1  u     (exactly at the cutoff)
#   h5  0 0 1 0  1/8    no    0      3  u
#   h6  0 0 0 0  0      no    0      2  u
#
# Unweighted: H = 4/6, Σc(k) = 2 so M0 = 2/6 = 1/3 and A = 2/4 = 1/2.
#   hd  = a 2/6, b 2/6, c 3/6, d 2/6;  hdk = 2/6 for each (h5 is deprived in c but not poor).
#   Σ w_j hdk_j = (1/2 + 1/4 + 1/8 + 1/8)/3 = 1/3 = M0;  pctb = 50, 25, 12.5, 12.5.
#   SE of H: z_i = (p_i − 2/3)/6 → four of 1/18, two of −1/9; Σz² = 1/27; × 6/5 → 2/45.
# Weighted (w above, Σw = 10): H = 5/10, Σw·c(k) = 1 + 1 + 1/4 + 1/4 = 2.5 so M0 = 0.25,
#   A = 2.5/5 = 0.5; hd = a 3/10, b 2/10, c 5/10, d 2/10; hdk = a .3, b .2, c .2, d .2;
#   pctb = 100·(.15, .05, .025, .025)/.25 = 60, 20, 10, 10.
# By area (unweighted): r = h1–h3 all poor, H = 1, M0 = A = 1.75/3; u: H = 1/3, M0 = .25/3,
#   A = .25; pop_share .5 each; contrib r = 1.75/2 = 87.5%, u = 12.5%.
SIX = pd.DataFrame(
    {
        "a": [1, 1, 0, 0, 0, 0],
        "b": [1, 0, 1, 0, 0, 0],
        "c": [1, 0, 0, 1, 1, 0],
        "d": [1, 0, 0, 1, 0, 0],
        "w": [1.0, 2.0, 1.0, 1.0, 3.0, 2.0],
        "area": ["r", "r", "r", "u", "u", "u"],
    },
    index=[f"h{i}" for i in range(1, 7)],
)
SIX_WEIGHTS = {"a": 4, "b": 2, "c": 1, "d": 1}


def pick(res, measure, indicator=None, **by):
    rows = res[res["measure"] == measure]
    rows = rows[rows["indicator"].isna()] if indicator is None else rows[rows["indicator"] == indicator]
    for col, val in by.items():
        rows = rows[rows[col].isna()] if val is None else rows[rows[col] == val]
    assert len(rows) == 1, (measure, indicator, by)
    return rows.iloc[0]


def values(res, measure, **by):
    rows = res[res["measure"] == measure]
    for col, val in by.items():
        rows = rows[rows[col].isna()] if val is None else rows[rows[col] == val]
    return rows.set_index("indicator")["value"]


def test_six_households_unweighted():
    res = alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25)
    assert list(res.columns) == ["measure", "indicator", "value", "se", "ci_lower", "ci_upper", "n", "k"]
    assert_allclose(pick(res, "H")["value"], 4 / 6)
    assert_allclose(pick(res, "M0")["value"], 1 / 3)
    assert_allclose(pick(res, "A")["value"], 1 / 2)
    assert_allclose(values(res, "hd")[list("abcd")], [2 / 6, 2 / 6, 3 / 6, 2 / 6])
    assert_allclose(values(res, "hdk")[list("abcd")], [2 / 6] * 4)
    assert_allclose(values(res, "pctb")[list("abcd")], [50, 25, 12.5, 12.5])
    h = pick(res, "H")
    assert_allclose(h["se"], np.sqrt(2 / 45))
    assert_allclose([h["ci_lower"], h["ci_upper"]], [4 / 6 - 1.959964 * h["se"], 4 / 6 + 1.959964 * h["se"]], rtol=1e-6)
    assert (res["n"] == 6).all() and (res["k"] == 0.25).all()
    assert list(res["measure"].unique()) == ["H", "A", "M0", "hd", "hdk", "pctb"]


def test_six_households_weighted():
    res = alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, sample_weight="w")
    assert_allclose(pick(res, "H")["value"], 0.5)
    assert_allclose(pick(res, "M0")["value"], 0.25)
    assert_allclose(pick(res, "A")["value"], 0.5)
    assert_allclose(values(res, "hd")[list("abcd")], [0.3, 0.2, 0.5, 0.2])
    assert_allclose(values(res, "hdk")[list("abcd")], [0.3, 0.2, 0.2, 0.2])
    assert_allclose(values(res, "pctb")[list("abcd")], [60, 20, 10, 10])


def test_six_households_by_area():
    res = alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, by="area")
    assert list(res.columns[:2]) == ["area", "measure"]
    assert_allclose(pick(res, "H", area="r")["value"], 1.0)
    assert_allclose(pick(res, "M0", area="r")["value"], 1.75 / 3)
    assert_allclose(pick(res, "A", area="u")["value"], 0.25)
    assert_allclose(pick(res, "M0", area="u")["value"], 0.25 / 3)
    assert_allclose(pick(res, "pop_share", area="u")["value"], 0.5)
    assert_allclose(pick(res, "contrib", area="r")["value"], 87.5)
    assert_allclose(pick(res, "contrib", area="u")["value"], 12.5)
    assert_allclose(pick(res, "M0", area=None)["value"], 1 / 3)
    assert pick(res, "M0", area=None)["n"] == 6 and pick(res, "M0", area="r")["n"] == 3
    # everyone in r is poor: H = 1 has no sampling variance
    assert pick(res, "H", area="r")["se"] == 0
    total = res[res["area"].isna()]
    assert sorted(total["measure"]) == ["A", "H", "M0"]


def test_by_accepts_names_arrays_series_and_frames():
    by_name = alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, by="area", sample_weight="w")
    by_array = alkire_foster(
        SIX, weights=SIX_WEIGHTS, k=0.25, by=SIX["area"].to_numpy(), sample_weight=SIX["w"].to_numpy()
    )
    by_frame = alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, by=SIX[["area"]], sample_weight=SIX["w"])
    assert "by" in by_array.columns and "area" in by_frame.columns
    assert_allclose(by_array["value"], by_name["value"])
    assert_allclose(by_frame["se"], by_name["se"])
    two = alkire_foster(SIX.assign(year=[2024, 2025] * 3), weights=SIX_WEIGHTS, k=0.25, by=["area", "year"])
    assert list(two.columns[:2]) == ["area", "year"]
    assert str(two["year"].dtype) == "Int64"
    assert len(two.drop_duplicates(["area", "year"])) == 4 + 1


def test_exact_cutoff_twelve_equal_weights():
    rows = np.array([[1] * d + [0] * (12 - d) for d in range(13)])
    d = pd.DataFrame(rows, columns=[f"d{j}" for j in range(12)])
    weights = {f"d{j}": 1 / 12 for j in range(12)}
    for k in (3 / 12, 0.25, 1 / 12 + 1 / 12 + 1 / 12):
        poor = identify_poor(d, weights=weights, k=k)
        assert poor.tolist() == [n >= 3 for n in range(13)]
        assert_allclose(pick(alkire_foster(d, weights=weights, k=k), "H")["value"], 10 / 13)
    # 1/3 as k with 18ths (global MPI weights 1/6 and 1/18): exactly 1/3 is poor
    mpi = {
        "nutrition": 1 / 6,
        "mortality": 1 / 6,
        "school": 1 / 6,
        "attend": 1 / 6,
        **{f"ls{j}": 1 / 18 for j in range(6)},
    }
    d = pd.DataFrame([[1, 0, 0, 0, 1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 1, 1, 0, 0, 0, 0]], columns=list(mpi))
    assert identify_poor(d, weights=mpi, k=1 / 3).tolist() == [True, False]


@st.composite
def rational_weights(draw):
    """Weights a_j / b as floats, a subset S and k = the exact score of S."""
    n_ind = draw(st.integers(2, 12))
    numerators = draw(st.lists(st.integers(1, 12), min_size=n_ind, max_size=n_ind))
    denominator = draw(st.integers(1, 36))
    subset = draw(st.lists(st.booleans(), min_size=n_ind, max_size=n_ind).filter(any))
    rows = draw(st.lists(st.lists(st.integers(0, 1), min_size=n_ind, max_size=n_ind), max_size=20))
    rows.append([int(s) for s in subset])
    return numerators, denominator, subset, rows


@settings(max_examples=40, deadline=None)
@given(rational_weights(), st.sampled_from(["fraction", "float_sum"]))
def test_exact_cutoff_property(case, how):
    numerators, denominator, subset, rows = case
    total = sum(numerators)
    weights = {f"i{j}": a / denominator for j, a in enumerate(numerators)}
    exact_k = Fraction(sum(a for a, s in zip(numerators, subset) if s), total)
    if how == "fraction":
        k = float(exact_k)
    else:
        k = sum(a / total for a, s in zip(numerators, subset) if s)
    k = min(k, 1.0)
    d = pd.DataFrame(rows, columns=list(weights))
    expected = [Fraction(sum(a * g for a, g in zip(numerators, row)), total) >= exact_k for row in rows]
    assert identify_poor(d, weights=weights, k=k).tolist() == expected
    assert expected[-1]
    res = alkire_foster(d, weights=weights, k=k)
    assert_allclose(pick(res, "H")["value"], np.mean(expected))


def test_deprivation_score_and_missing():
    score = deprivation_score(SIX, SIX_WEIGHTS)
    assert_allclose(score, [1, 0.5, 0.25, 0.25, 0.125, 0])
    d = SIX[list("abcd")].astype("Float64")
    d.loc["h2", "b"] = pd.NA
    poor = identify_poor(d, weights=SIX_WEIGHTS, k=0.25)
    assert poor.isna().tolist() == [False, True, False, False, False, False]
    lazy = dd.from_pandas(SIX, npartitions=2)
    assert_allclose(deprivation_score(lazy, SIX_WEIGHTS).compute(), score)
    assert identify_poor(lazy, weights=SIX_WEIGHTS, k=0.25).compute().tolist() == [True] * 4 + [False] * 2


# ----------------------------------------------------------------------------- standard errors


def random_survey(n=600, n_ind=5, seed=0):
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 1))
    g = (0.7 * latent + 0.7 * rng.normal(size=(n, n_ind)) > 0.3).astype(int)
    frame = pd.DataFrame(g, columns=[f"d{j}" for j in range(n_ind)])
    frame["w"] = rng.uniform(0.5, 3.0, n)
    frame["commune"] = rng.integers(0, 25, n)
    frame["district"] = np.where(frame["commune"] < 12, "east", "west")
    frame["area"] = rng.choice(["rural", "urban"], n)
    frame["income"] = rng.lognormal(0.2, 0.7, n) + 0.3 * latent[:, 0]
    frame["line"] = np.where(frame["area"] == "rural", 1.0, 1.3)
    return frame


def statsmodels_se(y, x, w, groups=None):
    """SE of Σwy/Σwx from WLS of y on x without constant (a mean when x = 1)."""
    model = WLS(np.asarray(y, float), np.asarray(x, float)[:, None], weights=np.asarray(w, float))
    if groups is None:
        fit = model.fit(cov_type="HC1")
    else:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(np.asarray(groups))[0]})
    return fit.params[0], fit.bse[0]


def linearised_se(y, x, w, clusters):
    """Direct influence-value computation: G/(G−1) Σ_c (Σ_{i∈c} w_i (y_i − θ x_i) / Σ w x)²."""
    y, x, w = (np.asarray(a, float) for a in (y, x, w))
    theta = np.sum(w * y) / np.sum(w * x)
    z = pd.Series(w * (y - theta * x) / np.sum(w * x)).groupby(np.asarray(clusters)).sum()
    return theta, np.sqrt(len(z) / (len(z) - 1) * np.sum(z**2))


@pytest.mark.parametrize("clustered", [False, True])
def test_standard_errors_match_statsmodels(clustered):
    frame = random_survey()
    weights = {f"d{j}": 1 + j for j in range(5)}
    res = alkire_foster(frame, weights=weights, k=0.3, sample_weight="w", cluster="commune" if clustered else None)
    groups = frame["commune"] if clustered else None
    w_ind = np.array(list(weights.values()), float) / sum(weights.values())
    score = frame[list(weights)].to_numpy() @ w_ind
    poor = (score >= 0.3 - 1e-9).astype(float)
    ck = score * poor
    ones = np.ones(len(frame))
    checks = {
        ("H", None): (poor, ones),
        ("M0", None): (ck, ones),
        ("A", None): (ck, poor),
        **{("hd", c): (frame[c], ones) for c in weights},
        **{("hdk", c): (frame[c] * poor, ones) for c in weights},
    }
    for (measure, ind), (y, x) in checks.items():
        value, se = statsmodels_se(y, x, frame["w"], groups)
        row = pick(res, measure, ind)
        assert_allclose(row["value"], value, rtol=1e-10)
        assert_allclose(row["se"], se, rtol=1e-8)
        assert_allclose(row["ci_upper"] - row["value"], Z_95 * se, rtol=1e-8)
    clusters = frame["commune"] if clustered else np.arange(len(frame))
    for j, c in enumerate(weights):
        value, se = linearised_se(w_ind[j] * frame[c] * poor, ck, frame["w"], clusters)
        row = pick(res, "pctb", c)
        assert_allclose([row["value"], row["se"]], [100 * value, 100 * se], rtol=1e-8)


@pytest.mark.parametrize("clustered", [False, True])
def test_subgroup_standard_errors(clustered):
    frame = random_survey(seed=3)
    weights = {f"d{j}": 1 for j in range(5)}
    cluster = "commune" if clustered else None
    res = alkire_foster(frame, weights=weights, k=0.4, sample_weight="w", by="area", cluster=cluster)
    score = frame[list(weights)].to_numpy().mean(axis=1)
    ck = score * (score >= 0.4 - 1e-9)
    clusters = frame["commune"] if clustered else np.arange(len(frame))
    for area, part in frame.groupby("area"):
        mask = (frame["area"] == area).to_numpy()
        _, se = statsmodels_se(ck[mask], np.ones(mask.sum()), part["w"], part["commune"] if clustered else None)
        assert_allclose(pick(res, "M0", area=area)["se"], se, rtol=1e-8)
        share, se = linearised_se(mask, np.ones(len(frame)), frame["w"], clusters)
        assert_allclose([pick(res, "pop_share", area=area)[c] for c in ("value", "se")], [share, se], rtol=1e-8)
        contrib, se = linearised_se(ck * mask, ck, frame["w"], clusters)
        assert_allclose(
            [pick(res, "contrib", area=area)[c] for c in ("value", "se")], [100 * contrib, 100 * se], rtol=1e-8
        )
    _, se = statsmodels_se(ck, np.ones(len(frame)), frame["w"], frame["commune"] if clustered else None)
    assert_allclose(pick(res, "M0", area=None)["se"], se, rtol=1e-8)


def test_clusters_crossing_groups():
    # communes span both areas: the cluster totals of pop_share use whole communes
    frame = random_survey(seed=5)
    res = alkire_foster(frame, weights={"d0": 1, "d1": 1}, k=0.5, by="area", cluster="commune")
    mask = (frame["area"] == "urban").to_numpy()
    share, se = linearised_se(mask, np.ones(len(frame)), np.ones(len(frame)), frame["commune"])
    assert_allclose(pick(res, "pop_share", area="urban")["se"], se, rtol=1e-8)


# ----------------------------------------------------------------------------- FGT


def test_fgt_five_people():
    # incomes 50, 80, 100, 120, 200 with line 100: poor 50, 80 and 100 (at the line).
    # gaps .5, .2, 0 → FGT0 = 3/5, FGT1 = .7/5 = .14, FGT2 = (.25 + .04)/5 = .058.
    # SE of FGT0: z = (p − .6)/5 → three .08, two −.12; Σz² = .048; × 5/4 = .06.
    res = fgt([50, 80, 100, 120, 200], line=100)
    assert list(res.columns) == ["measure", "indicator", "value", "se", "ci_lower", "ci_upper", "n"]
    assert res["measure"].tolist() == ["FGT0", "FGT1", "FGT2"]
    assert_allclose(res["value"], [0.6, 0.14, 0.058])
    assert_allclose(res["se"].iloc[0], np.sqrt(0.06))
    assert res["indicator"].isna().all() and (res["n"] == 5).all()
    # per-person lines (rural 100, urban 150): 120 < 150 is poor with gap .2
    res = fgt(pd.Series([50, 80, 100, 120, 200]), line=[100, 100, 100, 150, 150], alpha=(0, 1, 2, 0.5))
    assert_allclose(res["value"], [0.8, 0.18, 0.066, (0.5**0.5 + 2 * 0.2**0.5) / 5])
    assert res["measure"].tolist() == ["FGT0", "FGT1", "FGT2", "FGT0.5"]


@pytest.mark.parametrize("clustered", [False, True])
def test_fgt_standard_errors_match_statsmodels(clustered):
    frame = random_survey(seed=7)
    cluster = "commune" if clustered else None
    alphas = (0, 0.5, 1, 1.5, 2, 3)
    res = fgt("income", line="line", sample_weight="w", by="district", cluster=cluster, data=frame, alpha=alphas)
    gap = np.clip((frame["line"] - frame["income"]) / frame["line"], 0, None) * (frame["income"] <= frame["line"])
    for district, part in frame.groupby("district"):
        mask = (frame["district"] == district).to_numpy()
        for a in alphas:
            y = (frame["income"] <= frame["line"]).astype(float) if a == 0 else gap**a
            value, se = statsmodels_se(y[mask], np.ones(mask.sum()), part["w"], part["commune"] if clustered else None)
            row = pick(res, f"FGT{a:g}", district=district)
            assert_allclose([row["value"], row["se"]], [value, se], rtol=1e-8)


# ----------------------------------------------------------------------------- properties


@st.composite
def af_case(draw):
    n = draw(st.integers(2, 30))
    n_ind = draw(st.integers(1, 6))
    g = draw(st.lists(st.lists(st.integers(0, 1), min_size=n_ind, max_size=n_ind), min_size=n, max_size=n))
    weights = draw(st.lists(st.integers(1, 9), min_size=n_ind, max_size=n_ind))
    k = draw(st.sampled_from([0.1, 0.2, 0.25, 1 / 3, 0.5, 2 / 3, 1.0]))
    w = draw(st.lists(st.floats(0.1, 5.0), min_size=n, max_size=n))
    groups = draw(st.lists(st.sampled_from("xyz"), min_size=n, max_size=n))
    frame = pd.DataFrame(g, columns=[f"i{j}" for j in range(n_ind)])
    frame["w"], frame["grp"] = w, groups
    return frame, {f"i{j}": v for j, v in enumerate(weights)}, k


def lookup(res, by):
    """``{(measure, indicator, group): value}`` with None for missing indicator or group."""

    def key(v):
        return None if pd.isna(v) else v

    return {(m, key(i), key(g)): v for m, i, g, v in zip(res["measure"], res["indicator"], res[by], res["value"])}


@settings(max_examples=40, deadline=None)
@given(af_case())
def test_af_identities(case):
    frame, weights, k = case
    res = lookup(alkire_foster(frame, weights=weights, k=k, sample_weight="w", by="grp"), "grp")
    w = np.array(list(weights.values()), float) / sum(weights.values())
    groups = list(frame["grp"].unique())
    for grp in [*groups, None]:
        h, a, m0 = (res[(m, None, grp)] for m in ("H", "A", "M0"))
        if h > 0:
            assert_allclose(m0, h * a, rtol=1e-12)
        else:
            assert m0 == 0 and np.isnan(a)
        if grp is None:
            continue
        hd, hdk, pctb = (np.array([res[(m, c, grp)] for c in weights]) for m in ("hd", "hdk", "pctb"))
        assert (hd >= hdk - 1e-15).all()
        assert_allclose(np.sum(w * hdk), m0, rtol=1e-12, atol=1e-15)
        if m0 > 0:
            assert_allclose(pctb.sum(), 100, rtol=1e-12)
        else:
            assert np.isnan(pctb).all()
    share = np.array([res[("pop_share", None, g)] for g in groups])
    m0g = np.array([res[("M0", None, g)] for g in groups])
    m0 = res[("M0", None, None)]
    assert_allclose(share.sum(), 1, rtol=1e-12)
    assert_allclose(np.sum(share * m0g), m0, rtol=1e-12, atol=1e-15)
    if m0 > 0:
        contrib = np.array([res[("contrib", None, g)] for g in groups])
        assert_allclose(contrib.sum(), 100, rtol=1e-12)
        assert_allclose(contrib, 100 * share * m0g / m0, rtol=1e-12)


@settings(max_examples=25, deadline=None)
@given(af_case(), st.data())
def test_more_deprivation_never_lowers_m0(case, data):
    frame, weights, k = case
    cols = list(weights)
    zeros = [(i, j) for i in range(len(frame)) for j in range(len(cols)) if frame.iat[i, j] == 0]
    if not zeros:
        return
    i, j = data.draw(st.sampled_from(zeros))
    worse = frame.copy()
    worse.iat[i, j] = 1
    before = pick(alkire_foster(frame, weights=weights, k=k, sample_weight="w"), "M0")["value"]
    after = pick(alkire_foster(worse, weights=weights, k=k, sample_weight="w"), "M0")["value"]
    assert after >= before - 1e-15


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(-50, 500), min_size=2, max_size=40),
    st.floats(1, 300),
    st.lists(st.floats(0.1, 5), min_size=40, max_size=40),
)
def test_fgt_ordering(incomes, line, w):
    res = fgt(incomes, line=line, sample_weight=w[: len(incomes)], alpha=(0, 1, 2)).set_index("measure")
    fgt0, fgt1, fgt2 = res.loc[["FGT0", "FGT1", "FGT2"], "value"]
    if min(incomes) >= 0:
        assert fgt2 <= fgt1 + 1e-15 and fgt1 <= fgt0 + 1e-15
    assert 0 <= fgt0 <= 1


# ----------------------------------------------------------------------------- dask, missing values


def test_dask_gives_the_pandas_table():
    frame = random_survey(n=2000, seed=11)
    weights = {f"d{j}": 1 for j in range(5)}
    lazy = dd.from_pandas(frame, npartitions=4)
    for kwargs in ({}, {"by": "district", "cluster": "commune"}, {"by": ["area", "district"]}):
        eager = alkire_foster(frame, weights=weights, k=0.4, sample_weight="w", **kwargs)
        dask_res = alkire_foster(lazy, weights=weights, k=0.4, sample_weight="w", **kwargs)
        assert isinstance(dask_res, pd.DataFrame)
        pd.testing.assert_frame_equal(
            eager.drop(columns=["value", "se", "ci_lower", "ci_upper"]),
            dask_res.drop(columns=["value", "se", "ci_lower", "ci_upper"]),
        )
        for col in ("value", "se", "ci_lower", "ci_upper"):
            assert_allclose(dask_res[col], eager[col], rtol=1e-12)
    eager = fgt("income", line="line", sample_weight="w", by="area", cluster="commune", data=frame)
    dask_res = fgt("income", line="line", sample_weight="w", by="area", cluster="commune", data=lazy)
    assert_allclose(dask_res[["value", "se"]], eager[["value", "se"]], rtol=1e-12)
    assert dask_res["area"].tolist() == eager["area"].tolist()


def test_indicators_gathers_the_public_names():
    from povanalysis.common import checks
    from povanalysis.measure import fgt as fgt_module

    assert indicators.alkire_foster is af_module.alkire_foster and indicators.fgt is fgt_module.fgt
    assert indicators.Z_95 == checks.Z_95 and CUTOFF_TOLERANCE == 1e-9
    assert sorted(indicators.__all__) == [
        "CUTOFF_TOLERANCE",
        "Z_95",
        "alkire_foster",
        "deprivation_score",
        "fgt",
        "identify_poor",
    ]


PATHS = {
    # one (group × pattern) table; the poor and the non-poor apart, each in a table of its
    # patterns or cut into pieces of the indicators (the patterns' scores tabulated, or
    # each unit's score summed); small chunks of rows added up
    "table": {},
    "classes": {"_DENSE_CELLS": 31},
    "classes in pieces": {"_DENSE_CELLS": 0, "_PIECE_CELLS": 8},
    "classes in pieces, scores per unit": {"_DENSE_CELLS": 0, "_PIECE_CELLS": 4, "_TABLE_BITS": 0},
    "chunks": {"_CHUNK_ROWS": 257},
    "classes in chunks": {"_DENSE_CELLS": 0, "_CHUNK_ROWS": 300},
}


def assert_same_table(a, b, rtol_se=1e-12):
    """Same table up to rounding. A standard error comes from Σ(y − r·x)² expanded into summed
    second moments, so when it is small beside the value (small groups, few clusters) the
    order in which the units were added shows at a relative 1e-10 or so: ``rtol_se``."""
    numbers = ["value", "se", "ci_lower", "ci_upper"]
    pd.testing.assert_frame_equal(a.drop(columns=numbers), b.drop(columns=numbers))
    assert_allclose(a["value"], b["value"], rtol=1e-12, atol=1e-15)
    assert_allclose(a[numbers[1:]], b[numbers[1:]], rtol=rtol_se, atol=1e-15)


@pytest.mark.parametrize("path", list(PATHS))
def test_every_summing_path_gives_the_same_table(monkeypatch, path):
    frame = random_survey(n=4000, seed=9).astype({"d3": "float64"})
    frame.loc[[5, 700], "d3"] = np.nan
    weights = {f"d{j}": 1 + j % 3 for j in range(5)}
    cases = (
        {"by": "area"},
        {"by": "district", "cluster": "commune"},
        {},
        {"by": "commune"},
        {"by": "commune", "sample_weight": None},
    )
    used = []
    for name in ("_dense_sums", "_class_sums"):
        real = getattr(af_module, name)
        monkeypatch.setattr(
            af_module, name, lambda *a, _real=real, _name=name, **kw: used.append(_name) or _real(*a, **kw)
        )

    def tables():
        return [
            alkire_foster(frame, weights=weights, k=0.3, missing="drop", **({"sample_weight": "w"} | kw))
            for kw in cases
        ]

    reference = tables()
    assert used == ["_dense_sums"] * len(cases)
    for name, value in PATHS[path].items():
        monkeypatch.setattr(af_module, name, value)
    dense_classes = []
    real_stats = af_module._class_stats
    monkeypatch.setattr(
        af_module,
        "_class_stats",
        lambda *a, **kw: dense_classes.append(kw["score"] is not None) or real_stats(*a, **kw),
    )
    used.clear()
    for a, b in zip(tables(), reference):
        assert_same_table(a, b)
    assert used == ["_class_sums" if "classes" in path else "_dense_sums"] * len(cases)
    if path == "classes":  # some classes in a table of their patterns, some in pieces
        assert any(dense_classes) and not all(dense_classes)
    elif "pieces" in path:
        assert dense_classes and not any(dense_classes)


def many_groups(n=2500, ngroups=300, seed=21):
    frame = random_survey(n=n, n_ind=6, seed=seed)
    rng = np.random.default_rng(seed)
    frame["village"] = rng.integers(0, ngroups, n) * 7 + 1000  # codes, not positions
    frame["psu"] = frame["village"] * 10 + rng.integers(0, 3, n)
    return frame


@pytest.mark.parametrize("cluster", [None, "psu"])
@pytest.mark.parametrize("pieces", [False, True])
def test_many_groups_equal_each_group_on_its_own(monkeypatch, cluster, pieces):
    # 300 groups × 2^6 patterns is more cells than units: the poor and the non-poor are summed
    # apart, in tables of their own patterns or (forced) with the indicators cut into pieces
    frame = many_groups()
    weights = {f"d{j}": 1 + j % 4 for j in range(6)}
    used = []
    real = af_module._class_stats
    monkeypatch.setattr(af_module, "_class_stats", lambda *a, **kw: used.append(kw["score"] is None) or real(*a, **kw))
    if pieces:
        monkeypatch.setattr(af_module, "_DENSE_CELLS", 0)
    res = alkire_foster(frame, weights=weights, k=0.3, sample_weight="w", by="village", cluster=cluster)
    assert used == [pieces, pieces]
    monkeypatch.undo()
    groups = frame.groupby("village")
    assert res["village"].nunique() == groups.ngroups == 300
    for village, part in groups:
        alone = alkire_foster(part, weights=weights, k=0.3, sample_weight="w", cluster=cluster)
        mine = res[res["village"] == village]
        mine = mine[~mine["measure"].isin(["pop_share", "contrib"])]
        assert mine["measure"].tolist() == alone["measure"].tolist()
        assert mine["indicator"].tolist() == alone["indicator"].tolist()
        assert (mine["n"].to_numpy() == alone["n"].to_numpy()).all()
        assert_allclose(
            mine[["value", "se"]].to_numpy(float),
            alone[["value", "se"]].to_numpy(float),
            rtol=1e-10,
            atol=1e-14,
            equal_nan=True,
            err_msg=str(village),
        )
    total = alkire_foster(frame, weights=weights, k=0.3, sample_weight="w", cluster=cluster)
    headline = res[res["village"].isna()]
    assert_allclose(
        headline[["value", "se"]].to_numpy(float),
        total[total["indicator"].isna()][["value", "se"]].to_numpy(float),
        rtol=1e-10,
    )


@pytest.mark.parametrize("cluster", [None, "psu"])
def test_dask_gives_the_pandas_table_with_many_groups(cluster):
    frame = many_groups(n=3000, ngroups=400, seed=5)
    weights = {f"d{j}": 1 for j in range(6)}
    lazy = dd.from_pandas(frame, npartitions=7)
    kwargs = dict(weights=weights, k=0.3, sample_weight="w", by="village", cluster=cluster)
    assert_same_table(alkire_foster(lazy, **kwargs), alkire_foster(frame, **kwargs), rtol_se=1e-9)


def test_dask_cluster_gives_the_pandas_table():
    from distributed import Client, LocalCluster

    frame = many_groups(n=2000, ngroups=250, seed=8)
    weights = {f"d{j}": 1 + j for j in range(6)}
    lazy = dd.from_pandas(frame, npartitions=4)
    kwargs = dict(weights=weights, k=0.25, sample_weight="w", by="village")
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, protocol="tcp", host="127.0.0.1", dashboard_address=None
        ) as cluster,
        Client(cluster),
    ):
        on_cluster = alkire_foster(lazy, **kwargs)
    assert_same_table(on_cluster, alkire_foster(frame, **kwargs), rtol_se=1e-9)


def test_missing_drop_reports_and_matches_complete_rows():
    frame = random_survey(n=300, seed=2)
    weights = {f"d{j}": 1 for j in range(3)}
    holes = frame.astype({"d0": "float64", "d2": "float64"})
    holes.loc[[3, 10, 11], "d0"] = np.nan
    holes.loc[[10, 250], "d2"] = np.nan
    dropped = holes.drop(index=[3, 10, 11, 250])
    res = alkire_foster(holes, weights=weights, k=0.3, by="area", cluster="commune", missing="drop")
    ref = alkire_foster(dropped, weights=weights, k=0.3, by="area", cluster="commune")
    assert_allclose(res["value"], ref["value"], rtol=1e-12)
    assert_allclose(res["se"], ref["se"], rtol=1e-12)
    assert (res["n"] == ref["n"]).all()
    lost = holes.loc[[3, 10, 11, 250], "area"].value_counts()
    for area in ("rural", "urban"):
        assert (res.loc[res["area"] == area, "n_dropped"] == lost.get(area, 0)).all()
    assert (res.loc[res["area"].isna(), "n_dropped"] == 4).all()
    assert "n_dropped" not in ref.columns
    income = pd.Series([50.0, np.nan, 100, 200])
    assert_allclose(fgt(income, line=100, missing="drop")["value"], [2 / 3, 1 / 6, 1 / 12])


def test_empty_group_after_drop_is_reported():
    frame = SIX.astype({"a": "float64"})
    frame.loc[["h4", "h5", "h6"], "a"] = np.nan
    res = alkire_foster(frame, weights=SIX_WEIGHTS, k=0.25, by="area", missing="drop")
    u = res[res["area"] == "u"]
    assert (u["n"] == 0).all() and (u["n_dropped"] == 3).all()
    assert u.loc[~u["measure"].isin(["pop_share", "contrib"]), "value"].isna().all()
    assert_allclose(u.loc[u["measure"].isin(["pop_share", "contrib"]), "value"], 0)


# ----------------------------------------------------------------------------- errors


def test_error_missing_indicator_names_column_count_and_row():
    frame = SIX.astype({"b": "float64"})
    frame.loc[["h3", "h5"], "b"] = np.nan
    with pytest.raises(
        ValueError,
        match=r"column 'b' of 'deprivations' has 2 missing values "
        r"\(first at row 'h3'\); pass missing='drop'",
    ):
        alkire_foster(frame, weights=SIX_WEIGHTS, k=0.25)


def test_error_missing_counts_across_dask_partitions():
    frame = random_survey(n=400, seed=1).astype({"d1": "float64"})
    frame.loc[[150, 390], "d1"] = np.nan
    message = r"column 'd1' of 'deprivations' has 2 missing values \(first at row 150\)"
    with pytest.raises(ValueError, match=message):
        alkire_foster(frame, weights={"d0": 1, "d1": 1}, k=0.5)
    with pytest.raises(ValueError, match=message):
        alkire_foster(dd.from_pandas(frame, npartitions=4), weights={"d0": 1, "d1": 1}, k=0.5)


def test_error_non_binary_value():
    frame = SIX.copy()
    frame.loc["h2", "c"] = 2
    with pytest.raises(
        ValueError,
        match=r"column 'c' of 'deprivations' must hold 0/1 deprivation values, "
        r"got 2 at row 'h2' \(1 row in all\)",
    ):
        alkire_foster(frame, weights=SIX_WEIGHTS, k=0.25)
    with pytest.raises(ValueError, match=r"column 'c' of 'deprivations' must hold 0/1 deprivation values, got 2"):
        deprivation_score(frame, SIX_WEIGHTS)
    with pytest.raises(ValueError, match=r"column 'a' of 'deprivations' must hold 0/1 values, got dtype str"):
        alkire_foster(SIX.assign(a="yes"), weights=SIX_WEIGHTS, k=0.25)


@pytest.mark.parametrize("k", [0, -0.1, 1.5, np.nan, True, "0.3"])
def test_error_k_out_of_range(k):
    with pytest.raises(ValueError, match=r"'k' must be in \(0, 1\] on the scale of the normalised weights, got"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=k)


def test_error_weights():
    with pytest.raises(
        ValueError,
        match=r"'weights' names indicators that are not columns of 'deprivations': "
        r"\['zz', 'yy'\]",
    ):
        alkire_foster(SIX, weights={"a": 1, "zz": 1, "yy": 2}, k=0.5)
    with pytest.raises(ValueError, match=r"weights\['b'\] must be a positive finite number, got 0"):
        alkire_foster(SIX, weights={"a": 1, "b": 0}, k=0.5)
    with pytest.raises(ValueError, match=r"'weights' is empty"):
        alkire_foster(SIX, weights={}, k=0.5)
    with pytest.raises(TypeError, match=r"'weights' should be a dict or Series of indicator weights, got list"):
        alkire_foster(SIX, weights=["a", "b"], k=0.5)
    with pytest.raises(TypeError, match=r"'deprivations' should be a pandas or dask DataFrame, got ndarray"):
        alkire_foster(SIX.to_numpy(), weights={"a": 1}, k=0.5)


def test_error_design_arguments():
    with pytest.raises(
        ValueError,
        match=r"'sample_weight' column 'w' must be finite and non-negative, "
        r"got -1.0 at row 'h4'",
    ):
        alkire_foster(SIX.assign(w=[1, 1, 1, -1, 1, 1.0]), weights=SIX_WEIGHTS, k=0.25, sample_weight="w")
    with pytest.raises(ValueError, match=r"'by' column 'area' has 1 missing value \(first at row 'h2'\)$"):
        alkire_foster(SIX.assign(area=["r", None, "r", "u", "u", "u"]), weights=SIX_WEIGHTS, k=0.25, by="area")
    with pytest.raises(ValueError, match=r"by='region' is not a column of 'deprivations'"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, by="region")
    with pytest.raises(ValueError, match=r"'sample_weight' has 3 values but 'deprivations' has 6 rows"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, sample_weight=[1, 2, 3])
    with pytest.raises(ValueError, match=r"'cluster' is a Series whose index is not the index of 'deprivations'"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, cluster=pd.Series(range(6)))
    with pytest.raises(ValueError, match=r"'missing' must be 'raise' or 'drop', got 'ignore'"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, missing="ignore")
    with pytest.raises(TypeError, match=r"with a dask DataFrame 'deprivations', 'by' must be a column name, got list"):
        alkire_foster(dd.from_pandas(SIX, npartitions=2), weights=SIX_WEIGHTS, k=0.25, by=[["r"] * 6])
    with pytest.raises(ValueError, match=r"there are no rows to analyse"):
        alkire_foster(SIX.iloc[:0], weights=SIX_WEIGHTS, k=0.25)
    with pytest.raises(ValueError, match=r"'sample_weight' must be one-dimensional, got shape \(6, 1\)"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, sample_weight=np.ones((6, 1)))
    with pytest.raises(ValueError, match=r"'by' names the same column more than once: \['area', 'area'\]"):
        alkire_foster(SIX, weights=SIX_WEIGHTS, k=0.25, by=["area", "area"])
    with pytest.raises(ValueError, match=r"'cluster' column 'c' has 1 missing value \(first at row 'h6'\)"):
        alkire_foster(SIX.assign(c=[1, 1, 2, 2, 3, None]), weights={"a": 1}, k=0.5, cluster="c")


def test_error_fgt_arguments():
    with pytest.raises(ValueError, match=r"'income' has 1 missing value \(first at row 1\); pass missing='drop'"):
        fgt([1.0, np.nan, 3.0], line=2)
    with pytest.raises(ValueError, match=r"'income' must be finite, got inf at row 2"):
        fgt([1.0, 2.0, np.inf], line=2)
    with pytest.raises(ValueError, match=r"'line' must be positive and finite, got 0"):
        fgt([1.0, 2.0], line=0)
    with pytest.raises(ValueError, match=r"'line' must be positive and finite, got -1.0 at row 1"):
        fgt([1.0, 2.0], line=[1.0, -1.0])
    with pytest.raises(ValueError, match=r"'alpha' values must be non-negative finite numbers, got -1"):
        fgt([1.0, 2.0], line=1.5, alpha=(0, -1))
    with pytest.raises(ValueError, match=r"'alpha' must hold distinct values"):
        fgt([1.0, 2.0], line=1.5, alpha=(1, 1))
    with pytest.raises(ValueError, match=r"'income' is the column name 'inc' but no 'data' was given"):
        fgt("inc", line=1)
    with pytest.raises(ValueError, match=r"line='zline' is not a column of 'data'"):
        fgt("income", line="zline", data=random_survey(n=10))
    with pytest.raises(TypeError, match=r"for dask input pass the dask DataFrame as 'data' and column names"):
        fgt(dd.from_pandas(pd.Series([1.0, 2.0]), npartitions=1), line=1)
    with pytest.raises(TypeError, match=r"'data' should be a pandas or dask DataFrame, got dict"):
        fgt("income", line=1, data={"income": [1, 2]})
    with pytest.raises(ValueError, match=r"'income' column 'area' of 'data' must be numeric, got dtype str"):
        fgt("area", line=1, data=random_survey(n=10))


def test_points_match_mpitb():
    import mpitb

    frame = random_survey(n=500, seed=4)
    cols = [f"d{j}" for j in range(5)]
    mpi = mpitb.MPIToolbox()
    mpi.set(name="t", dimensions=[(cols[:2], "a"), (cols[2:], "b")])
    weights = mpi.get_equal_weights("t")
    found = pd.DataFrame(mpi.est(frame[cols].copy(), "t", klist=[35]))
    res = alkire_foster(frame, weights=weights, k=0.35)
    for measure in ("H", "A", "M0"):
        b = found.loc[found["measure"] == measure, "b"].iloc[0]
        assert_allclose(pick(res, measure)["value"], b, rtol=1e-12)
    for measure, scale in (("hdk", 1), ("hd", 1), ("pctb", 100)):
        b = found[found["measure"] == measure].set_index("indicator")["b"]
        assert_allclose(values(res, measure)[cols], scale * b[cols].astype(float), rtol=1e-12)
