"""The small-area simulation study: direct estimates and EBLUPs of a sampled census against its truth."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis.data.schema import DEPRIVATIONS
from povanalysis.measure.sae_simulation import demonstrate


def _census(seed=0, communes=40, per_commune=60):
    """A small household review in the schema: commune effects drive income and deprivations."""
    rng = np.random.default_rng(seed)
    n = communes * per_commune
    code = np.repeat([f"{10000 + 7 * i:05d}" for i in range(communes)], per_commune)
    minority = np.repeat(rng.uniform(0, 0.9, communes), per_commune)
    urban = np.repeat(rng.uniform(0, 0.3, communes) * (rng.uniform(size=communes) < 0.4), per_commune)
    is_minority = rng.uniform(size=n) < minority
    frame = pd.DataFrame(
        {
            "household_id": [f"H{i:06d}" for i in range(n)],
            "review_year": 2024,
            "commune_code": code,
            "area": np.where(rng.uniform(size=n) < urban, "urban", "rural"),
            "ethnicity": np.where(is_minority, "Tày", "Kinh"),
            "size": rng.integers(1, 8, n),
        }
    )
    latent = 0.8 * is_minority + np.repeat(rng.normal(0, 0.3, communes), per_commune) + rng.normal(0, 0.6, n)
    frame["income_pc"] = np.round(np.exp(14.9 - 0.9 * latent + rng.normal(0, 0.3, n)), -3)
    for j, d in enumerate(DEPRIVATIONS):
        frame[d] = (rng.uniform(size=n) < 1 / (1 + np.exp(-(latent - 0.5 - 0.1 * j)))).astype(int)
    return frame


def test_demonstration_eblup_beats_direct_against_the_census():
    hh = _census()
    demo = demonstrate(hh, review_year=2024, seed=7, n_communes=30, n_households=10, n_replicates=3)
    truth = demo.table["truth"]
    assert demo.target == "poverty headcount" and demo.fit.transform == "arcsin"
    assert 0.05 < truth.mean() < 0.5
    assert demo.table["sampled"].sum() == 30 and (demo.table.loc[demo.table.sampled, "n"] == 10).all()
    assert demo.mse_eblup < demo.mse_direct
    assert_allclose([demo.mse_direct, demo.mse_eblup], [0.015787037, 0.0060474779], rtol=1e-7)
    assert "gain" in demo.summary()
    income = demonstrate(hh, review_year=2024, seed=7, y="income_pc", n_communes=30, n_households=10)
    assert income.fit.transform is None and income.mse_eblup < income.mse_direct


def test_demonstration_keeps_completely_sampled_communes_exact():
    hh = _census(communes=30, per_commune=40)
    hh = hh[~((hh["commune_code"] == "10007") & (hh.groupby("commune_code").cumcount() >= 10))]
    demo = demonstrate(hh, review_year=2024, seed=1, n_communes=30, n_households=10)
    row = demo.table.loc["10007"]
    assert row["enumerated"] and row["n"] == 10 and demo.table["enumerated"].sum() == 1
    assert row["eblup"] == row["direct"] == pytest.approx(row["truth"], abs=1e-12)
    assert row["eblup_se"] == 0.0 and not demo.fit.sampled["10007"]
    assert demo.fit.sampled.sum() == 29


def test_demonstration_on_the_synthetic_census(small_panel):
    demo = demonstrate(small_panel.households, review_year=2024, seed=7, n_communes=40, n_households=15)
    assert len(demo.table) == 92 and demo.table["sampled"].sum() == 40
    assert demo.fit.converged and demo.fit.sigma2_u > 0
    assert demo.mse_eblup < 0.8 * demo.mse_direct
    expected = ["intercept", "share_minority", "share_urban", "mean_size", "mean_deprivations"]
    assert list(demo.fit.coef.index) == expected


def test_demonstration_errors():
    hh = _census(communes=5, per_commune=4)
    with pytest.raises(ValueError, match=r"review_year=2023 is not in 'households' \(years: \[2024\]\)"):
        demonstrate(hh, review_year=2023, seed=1)
    with pytest.raises(ValueError, match=r"y='spend' is not a column of 'households'"):
        demonstrate(hh, review_year=2024, seed=1, y="spend")
