"""Lasting exits: hand-derived counts, planted persistence recovered with honest intervals, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from povanalysis.goals import exits as EX

COUNT_COLUMNS = ["poor_before", "exits", "lost", "observed", "held", "reentered", "at_risk", "reentered_now"]


def _panel(histories: dict[str, list[str | None]], *, commune: str | dict = "01", start: int = 2021) -> pd.DataFrame:
    """A classified panel from class histories (None: not reviewed that year)."""
    rows = []
    for hid, classes in histories.items():
        code = commune if isinstance(commune, str) else commune[hid]
        for j, cls in enumerate(classes):
            if cls is not None:
                rows.append({"household_id": hid, "review_year": start + j, "commune_code": code, "poverty_class": cls})
    return pd.DataFrame(rows).assign(standard="2022-2025")


# Five households over four reviews (2021-2024), worked out by hand in the comments.
TINY = {
    "A": ["poor", "not_poor", "not_poor", "not_poor"],  # exit 2022, held +1 and +2
    "B": ["poor", "not_poor", "poor", "poor"],  # exit 2022, re-entered at +1
    "C": ["poor", "poor", "not_poor", None],  # exit 2023, lost at +1
    "D": ["poor", "not_poor", "not_poor", "poor"],  # exit 2022, held +1, re-entered at +2
    "E": ["near_poor", "poor", "near_poor", "near_poor"],  # exit 2023 (to near-poor), held +1
}


def _row(ex: EX.Exits, year: int, horizon: int, level: str = "province", group: str = "all") -> dict:
    c = ex.counts
    r = c[(c["level"] == level) & (c["group"] == group) & (c["exit_year"] == year) & (c["horizon"] == horizon)]
    assert len(r) == 1, (year, horizon)
    return {k: int(v) for k, v in r[COUNT_COLUMNS].iloc[0].items()}


def _share(ex: EX.Exits, year: int, horizon: int, measure: str, level: str = "province") -> pd.Series:
    t = ex.table
    r = t[(t["level"] == level) & (t["exit_year"] == year) & (t["horizon"] == horizon) & (t["measure"] == measure)]
    assert len(r) == 1
    return r.iloc[0]


def test_tiny_panel_counts_by_hand():
    ex = EX.lasting_exits(_panel(TINY), levels=["province"], min_cell=1)
    # 2022: poor in 2021 and reviewed in 2022 are A, B, C, D; A, B, D left poverty.
    assert _row(ex, 2022, 0) == dict(
        poor_before=4, exits=3, lost=0, observed=0, held=0, reentered=0, at_risk=0, reentered_now=0
    )
    assert _row(ex, 2022, 1) == dict(
        poor_before=4, exits=3, lost=0, observed=3, held=2, reentered=1, at_risk=3, reentered_now=1
    )
    # +2: A still out, B re-entered at +1, D at +2; at risk at +2 are A and D, one (D) falls back.
    assert _row(ex, 2022, 2) == dict(
        poor_before=4, exits=3, lost=0, observed=3, held=1, reentered=2, at_risk=2, reentered_now=1
    )
    # 2023: poor in 2022 are C and E, both leave; C is not reviewed in 2024 (lost), E holds.
    assert _row(ex, 2023, 1) == dict(
        poor_before=2, exits=2, lost=1, observed=1, held=1, reentered=0, at_risk=1, reentered_now=0
    )
    # 2024: only B was poor in 2023, and it stays poor; no later review.
    assert _row(ex, 2024, 0)["exits"] == 0 and _row(ex, 2024, 0)["poor_before"] == 1
    c = ex.counts
    assert set(zip(c["exit_year"], c["horizon"])) == {(2022, 0), (2022, 1), (2022, 2), (2023, 0), (2023, 1), (2024, 0)}
    assert _share(ex, 2022, 1, "held")["estimate"] == pytest.approx(2 / 3)
    assert _share(ex, 2022, 2, "held")["estimate"] == pytest.approx(1 / 3)
    assert _share(ex, 2022, 2, "reentry_hazard")["estimate"] == pytest.approx(1 / 2)
    assert _share(ex, 2023, 1, "held")["estimate"] == pytest.approx(1.0)
    assert _share(ex, 2023, 1, "held_all")["estimate"] == pytest.approx(1 / 2)
    assert _share(ex, 2023, 1, "lost")["estimate"] == pytest.approx(1 / 2)
    assert _share(ex, 2022, 0, "exit")["estimate"] == pytest.approx(3 / 4)


def test_wilson_interval_pinned_to_hand_values():
    # 2 of 3 held: centre (2 + z²/2)/(3 + z²), half z/(3 + z²) sqrt(2·1/3 + z²/4).
    z = 1.959963984540054
    centre, half = (2 + z**2 / 2) / (3 + z**2), z / (3 + z**2) * np.sqrt(2 / 3 + z**2 / 4)
    ex = EX.lasting_exits(_panel(TINY), levels=["commune"], min_cell=1)
    r = _share(ex, 2022, 1, "held", level="commune")
    assert r["interval"] == "wilson"
    assert_allclose([r["ci_lower"], r["ci_upper"]], [centre - half, centre + half], rtol=1e-12)
    assert_allclose([r["ci_lower"], r["ci_upper"]], [0.2077, 0.9385], atol=5e-5)  # Brown, Cai & DasGupta's tables


def test_cluster_interval_on_effective_sample_size():
    # Two communes: 01 with 8 of 10 held, 02 with 2 of 10: p = 0.5, cluster variance
    # 2/1 · ((8 - 5)² + (2 - 5)²) / 20² = 0.09, so n* = 0.25 / 0.09, times (z / t_1)².
    hist = {f"a{i}": ["poor", "not_poor", "not_poor" if i < 8 else "poor"] for i in range(10)}
    hist |= {f"b{i}": ["poor", "not_poor", "not_poor" if i < 2 else "poor"] for i in range(10)}
    communes = {h: ("01" if h.startswith("a") else "02") for h in hist}
    ex = EX.lasting_exits(_panel(hist, commune=communes), levels=["province"], min_cell=1)
    r = _share(ex, 2022, 1, "held")
    assert (r["x"], r["n"], r["clusters"], r["interval"]) == (10, 20, 2, "wilson_cluster")
    assert r["se"] == pytest.approx(0.3)
    from scipy import stats

    z = stats.norm.ppf(0.975)
    n_eff = 0.25 / 0.09 * (z / stats.t.ppf(0.975, 1)) ** 2
    half = z / (n_eff + z**2) * np.sqrt(0.25 * n_eff + z**2 / 4)
    assert_allclose([r["ci_lower"], r["ci_upper"]], [0.5 - half, 0.5 + half], rtol=1e-10)


def test_mixed_standards_are_refused_and_reclassification_is_stated(small_classified):
    mixed = _panel(TINY)
    mixed.loc[mixed["review_year"] == 2024, "standard"] = "2026-2030"
    with pytest.raises(ValueError, match="mixes standards"):
        EX.lasting_exits(mixed)
    ex = EX.lasting_exits(small_classified, standard="2026-2030", levels=["province"])
    assert (ex.standard, ex.basis) == ("2026-2030", "reclassified")
    as_is = EX.lasting_exits(small_classified, levels=["province"])
    assert (as_is.standard, as_is.basis) == ("2022-2025", "as_classified")
    assert as_is.counts["exits"].sum() != ex.counts["exits"].sum()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="'levels'"):
        EX.lasting_exits(_panel(TINY), levels=["village"])
    with pytest.raises(ValueError, match="'horizons'"):
        EX.lasting_exits(_panel(TINY), horizons=0)
    dup = pd.concat([_panel(TINY), _panel(TINY).iloc[:1]])
    with pytest.raises(ValueError, match="duplicate"):
        EX.lasting_exits(dup)
    with pytest.raises(ValueError, match="at least two review years"):
        EX.lasting_exits(_panel({"A": ["poor"]}))


def test_levels_the_data_do_not_carry_are_left_out_and_said(small_classified):
    ex = EX.lasting_exits(small_classified)
    assert "disadvantaged" not in set(ex.counts["level"])
    assert any("disadvantaged" in n for n in ex.notes)
    codes = sorted(small_classified["commune_code"].unique())[:5]
    ex = EX.lasting_exits(small_classified, disadvantaged=codes)
    assert {"province", "commune", "minority", "old_area", "disadvantaged"} == set(ex.counts["level"])
    c = ex.counts.groupby(["level", "exit_year", "horizon"])[COUNT_COLUMNS].sum()
    for level in ("commune", "minority", "old_area", "disadvantaged"):
        pd.testing.assert_frame_equal(c.loc[level], c.loc["province"])  # groups add up to the province
    assert "Lasting exits" in ex.summary() and "2022" in ex.summary()
    assert ex.to_frame().equals(ex.table) and ex.to_frame() is not ex.table


# ----------------------------------------------------------------------------- simulation


def _simulate(
    rng: np.random.Generator,
    *,
    communes: int,
    size: int,
    reentry: float,
    spread: float = 0.0,
    reviews: int = 4,
    exit_p: float = 0.5,
    lost_p: float = 0.05,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Households all poor at the first review; the poor leave with ``exit_p``, the others fall back
    with their commune's re-entry probability (Beta around ``reentry`` when ``spread`` > 0), and
    any household leaves the panel for good with ``lost_p`` (at random)."""
    n = communes * size
    com = np.repeat(np.arange(communes), size)
    if spread > 0:
        kappa = 1 / spread
        r_c = rng.beta(reentry * kappa, (1 - reentry) * kappa, communes)
    else:
        r_c = np.full(communes, reentry)
    poor = np.ones(n, bool)
    here = np.ones(n, bool)
    frames = []
    for j in range(reviews):
        if j:
            here &= rng.random(n) >= lost_p
            u = rng.random(n)
            poor = np.where(poor, u >= exit_p, u < r_c[com])
        frames.append(
            pd.DataFrame(
                {
                    "household_id": np.flatnonzero(here),
                    "review_year": 2021 + j,
                    "commune_code": com[here].astype(str),
                    "poverty_class": np.where(poor[here], "poor", "not_poor"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True).assign(standard="2022-2025"), r_c


def _covered(t: pd.DataFrame, truth) -> np.ndarray:
    truth = np.asarray(truth, dtype=float)
    return ((t["ci_lower"].to_numpy() <= truth) & (truth <= t["ci_upper"].to_numpy())).astype(float)


def _pick(ex: EX.Exits, level: str, measure: str, horizon: int, year: int = 2022) -> pd.DataFrame:
    t = ex.table
    return t[(t["level"] == level) & (t["measure"] == measure) & (t["horizon"] == horizon) & (t["exit_year"] == year)]


def test_planted_zero_every_exit_holds():
    for seed in range(200):
        panel, _ = _simulate(np.random.default_rng(seed), communes=3, size=30, reentry=0.0)
        ex = EX.lasting_exits(panel, levels=["province", "commune"], min_cell=1)
        held = ex.table[ex.table["measure"] == "held"]
        assert (held["estimate"] == 1).all() and (held["ci_upper"] == 1).all() and (held["ci_lower"] < 1).all()
        back = ex.table[ex.table["measure"].isin(["reentered", "reentry_hazard"])]
        assert (back["x"] == 0).all() and (back["ci_lower"] == 0).all()
        c = ex.counts[ex.counts["horizon"] > 0]
        assert (c["held"] == c["observed"]).all()


@pytest.mark.parametrize("size", [40, 200])
def test_planted_reentry_is_recovered_with_95_percent_coverage(size):
    """Re-entry 0.2 a review: held share 0.8 after one review, 0.64 after two, hazard 0.2 at the second."""
    truth = {("held", 1): 0.8, ("held", 2): 0.64, ("reentry_hazard", 2): 0.2}
    cover = {k: [] for k in truth}
    cover_p = {k: [] for k in truth}
    est_p = {k: [] for k in truth}
    for seed in range(200):
        panel, _ = _simulate(np.random.default_rng(seed), communes=12, size=size, reentry=0.2, lost_p=0.15)
        ex = EX.lasting_exits(panel, levels=["province", "commune"], min_cell=1)
        for (m, h), p in truth.items():
            cover[(m, h)].append(_covered(_pick(ex, "commune", m, h), p))
            prov = _pick(ex, "province", m, h)
            cover_p[(m, h)].append(_covered(prov, p))
            est_p[(m, h)].append(float(prov["estimate"].iloc[0]))
    for key, p in truth.items():
        c = np.concatenate(cover[key]).mean()  # 2,400 commune intervals: Monte-Carlo sd 0.0045
        assert 0.93 <= c <= 0.975, (key, c)
        cp = np.concatenate(cover_p[key]).mean()  # 200 province intervals: Monte-Carlo sd 0.015
        assert 0.90 <= cp <= 0.99, (key, cp)
        est = np.array(est_p[key])
        se = est.std(ddof=1) / np.sqrt(len(est))
        assert abs(est.mean() - p) < 4 * se + 1e-3, (key, est.mean(), p)


def test_clustered_reentry_needs_the_cluster_interval():
    """Communes differ (re-entry Beta around 0.2): the pooled interval must widen to keep 95%."""
    mu, spread = 0.2, 0.1  # Beta(2, 8): variance mu(1 - mu) spread / (1 + spread)
    var = mu * (1 - mu) * spread / (1 + spread)
    truth = {1: 1 - mu, 2: (1 - mu) ** 2 + var}
    cover = {1: [], 2: []}
    naive = {1: [], 2: []}
    for seed in range(200):
        panel, _ = _simulate(np.random.default_rng(10_000 + seed), communes=25, size=120, reentry=mu, spread=spread)
        ex = EX.lasting_exits(panel, levels=["province"], min_cell=1)
        for h, p in truth.items():
            r = _pick(ex, "province", "held", h)
            assert (r["interval"] == "wilson_cluster").all()
            cover[h].append(_covered(r, p)[0])
            lo, hi = EX.proportion_interval(r["x"].to_numpy(), r["n"].to_numpy())
            naive[h].append(float(lo[0] <= p <= hi[0]))
    for h in truth:
        assert 0.90 <= np.mean(cover[h]) <= 0.99, (h, np.mean(cover[h]))
        assert np.mean(naive[h]) < 0.85, (h, np.mean(naive[h]))  # independent-household intervals are too narrow


# ----------------------------------------------------------------------------- properties

CLASS = st.sampled_from(["poor", "near_poor", "average_living", "not_poor", None])


@settings(max_examples=40, deadline=None)
@given(
    histories=st.lists(st.lists(CLASS, min_size=4, max_size=4), min_size=1, max_size=25),
    communes=st.lists(st.sampled_from(["01", "02", "03"]), min_size=25, max_size=25),
)
def test_properties(histories, communes):
    hist = {f"h{i}": h for i, h in enumerate(histories) if sum(c is not None for c in h) >= 1}
    if not hist:
        return
    panel = _panel(hist, commune={f"h{i}": communes[i] for i in range(len(histories))})
    if panel["review_year"].nunique() < 2:
        return
    ex = EX.lasting_exits(panel, levels=["province", "commune"], min_cell=1)
    c, t = ex.counts, ex.table
    assert (c["exits"] <= c["poor_before"]).all()
    later = c[c["horizon"] > 0]
    assert (later["held"] + later["reentered"] + later["lost"] == later["exits"]).all()
    assert (later["observed"] == later["exits"] - later["lost"]).all()
    assert (later["held"] <= later["exits"]).all() and (later["reentered_now"] <= later["at_risk"]).all()
    for _, part in later.groupby(["exit_year", "group"]):
        part = part.sort_values("horizon")
        assert part["held"].is_monotonic_decreasing and part["lost"].is_monotonic_increasing
    defined = t[t["n"] > 0]
    assert ((defined["estimate"] >= 0) & (defined["estimate"] <= 1)).all()
    assert (
        (defined["ci_lower"] <= defined["estimate"] + 1e-12) & (defined["estimate"] <= defined["ci_upper"] + 1e-12)
    ).all()
    assert ((defined["ci_lower"] >= 0) & (defined["ci_upper"] <= 1)).all()
    by = c.groupby(["level", "exit_year", "horizon"])[COUNT_COLUMNS].sum()
    if "commune" in by.index.get_level_values(0):
        pd.testing.assert_frame_equal(by.loc["commune"], by.loc["province"])
    # the province counts equal a direct count of poor -> not poor between consecutive reviews
    wide = panel.pivot(index="household_id", columns="review_year", values="poverty_class")
    for y in wide.columns[1:]:
        if y - 1 not in wide.columns:
            continue
        before, now = wide[y - 1], wide[y]
        direct = int(((before == "poor") & now.notna() & (now != "poor")).sum())
        row = c[(c["level"] == "province") & (c["exit_year"] == y) & (c["horizon"] == 0)]
        assert int(row["exits"].sum()) == direct
