"""Fixtures shared by the goals' tests: a one-commune projection, hand-made projections, a tiny review."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from povanalysis.goals import projections as P


@pytest.fixture(scope="module")
def one_commune() -> P.Projection:
    """The trend projection of one commune of 500 households whose poor fall from 100 to 64 in 2021-2025."""
    counts = pd.DataFrame(
        {
            "commune_code": ["05500"] * 5,
            "review_year": np.arange(2021, 2026),
            "households": [500] * 5,
            "poor": [100, 90, 80, 72, 64],
        }
    )
    return P.trend_projection(counts, n_sim=400, min_cell=1)


@pytest.fixture
def hand_projection():
    """A maker of hand-made projections: ``mean`` (units, years), recorded-rate draws ``obs`` (sims, units, years)."""

    def make(mean, obs, *, households=(100, 5), codes=("05500", "05518"), years=(2026, 2027), standard="2022-2025"):
        mean, obs = np.asarray(mean, float), np.asarray(obs, float)
        observed = pd.DataFrame(
            {
                "commune_code": list(codes),
                "review_year": 2025,
                "households": list(households),
                "poor": np.ones(len(codes)),
            }
        )
        observed["rate"] = observed["poor"] / observed["households"]
        return P.Projection(
            units=pd.DataFrame({"commune_code": list(codes)}),
            years=np.asarray(years),
            households=np.asarray(households, float),
            mean=mean,
            mean_se=np.zeros_like(mean),
            ci_lower=mean,
            ci_upper=mean,
            draws=obs,
            obs_draws=obs,
            observed=observed,
            standard=standard,
            min_cell=10,
        )

    return make


@pytest.fixture
def tiny() -> pd.DataFrame:
    """Two communes of the 2025 review: 01 (4 households, 2 poor, 3 minority), 02 (4, 1 poor, Kinh)."""
    return pd.DataFrame(
        {
            "review_year": 2025,
            "commune_code": ["01"] * 4 + ["02"] * 4,
            "ethnicity": ["Tày", "Dao", "Tày", "Kinh", "Kinh", "Kinh", "Kinh", "Kinh"],
            "poverty_class": ["poor", "poor", "near_poor", "not_poor", "poor", "not_poor", "not_poor", "not_poor"],
            "standard": "2022-2025",
            "flag": [True] * 4 + [False] * 4,
        }
    )
