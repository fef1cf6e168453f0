"""The simple reference projections: persistence and drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import special

from povanalysis.goals import baselines


def _random_walk_counts(
    rng, *, n_units=30, households=(300, 900), years=7, drift=(-0.20, -0.10), step_sd=0.08, unit_sd=0.05
):
    """Unit counts whose pooled logit rates follow a random walk with drift per group (the drift model's own world)."""
    groups = np.arange(n_units) % 2
    level = rng.normal(-2.0, 0.5, n_units)
    shocks = np.cumsum(rng.normal(0, step_sd, (2, years)) + np.asarray(drift)[:, None], axis=1)
    own = np.cumsum(rng.normal(0, unit_sd, (n_units, years)), axis=1)
    p = special.expit(level[:, None] + shocks[groups] + own)
    hh = rng.integers(*households, n_units)
    poor = rng.binomial(hh[:, None], p)
    frame = pd.DataFrame(
        {
            "commune_code": np.repeat([f"{i:05d}" for i in range(n_units)], years),
            "group": np.repeat(groups.astype(str), years),
            "review_year": np.tile(np.arange(2019, 2019 + years), n_units),
            "households": np.repeat(hh, years),
            "poor": poor.ravel(),
        }
    )
    return frame


@pytest.mark.parametrize("drift", [(0.0, 0.0), (-0.20, -0.10)], ids=["no-drift", "drift"])
@pytest.mark.parametrize(
    ("n_units", "households"), [(30, (300, 900)), (12, (2000, 6000))], ids=["30-small-units", "12-large-units"]
)
def test_drift_interval_covers_at_its_stated_level_in_its_own_world(drift, n_units, households):
    # 150 histories drawn from a random walk with a planted drift (zero or a fall), at two sizes;
    # the 90% interval of the recorded province rate one and two years ahead should hold it about
    # 90% of the time.
    rng = np.random.default_rng(5)
    hits, errors = [], []
    for _ in range(150):
        full = _random_walk_counts(rng, n_units=n_units, households=households, drift=drift)
        past = full[full["review_year"] <= 2023]
        p = baselines.drift_projection(
            past,
            by=["commune_code", "group"],
            years=[2024, 2025],
            pool_by="group",
            alpha=0.10,
            n_sim=400,
            seed=int(rng.integers(1 << 30)),
            min_cell=1,
        )
        agg = p.aggregate()
        lo, hi = np.quantile(agg.obs_draws[:, 0, :], [0.05, 0.95], axis=0)
        future = full[full["review_year"] >= 2024].groupby("review_year")[["poor", "households"]].sum()
        rate = (future["poor"] / future["households"]).to_numpy()
        hits.append((rate >= lo) & (rate <= hi))
        errors.append(agg.mean[0] - rate)
    coverage = np.mean(hits, axis=0)
    band = 3 * np.sqrt(0.9 * 0.1 / 150)
    assert (np.abs(coverage - 0.9) < band + 0.02).all(), coverage
    # No systematic error with or without a planted drift: the mean error is within 3 standard errors of 0.
    errors = np.asarray(errors)
    assert (np.abs(errors.mean(axis=0)) < 3 * errors.std(axis=0, ddof=1) / np.sqrt(len(errors))).all()


def test_persistence_carries_the_last_rate():
    counts = pd.DataFrame(
        {"commune_code": "01", "review_year": [2023, 2024, 2025], "households": 2000, "poor": [300, 250, 200]}
    )
    p = baselines.persistence_projection(counts, years=[2026, 2027], n_sim=2000, min_cell=1)
    assert_allclose(np.median(p.draws[:, 0, :], axis=0), 0.10, atol=0.004)


def test_baselines_refuse_two_rows_for_one_unit_and_review():
    counts = pd.DataFrame(
        {"commune_code": "01", "review_year": [2023, 2024, 2024, 2025], "households": 500, "poor": [60, 50, 50, 40]}
    )
    for project in (baselines.drift_projection, baselines.persistence_projection):
        with pytest.raises(
            ValueError, match="'counts' has more than one row for \\{'commune_code': '01', 'review_year': 2024\\}"
        ):
            project(counts, years=[2026], n_sim=50, min_cell=1)
