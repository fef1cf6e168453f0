"""Shared fixtures: a small synthetic panel, the reference data folder when present, hand-made projections."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from povanalysis import config

SHARED = Path(os.environ.get("POVANALYSIS_REFERENCE_DIR", config.PROJ_ROOT.parent / "shared" / "data" / "thai-nguyen"))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The folder of reference files (real units, crosswalk, boundaries); skip when absent."""
    if not (SHARED / "units_2025.csv").exists():
        pytest.skip(f"reference data not found at {SHARED}")
    return SHARED


@pytest.fixture(scope="session")
def small_panel():
    """A synthetic panel of about 8,000 households (2% of the province)."""
    from povanalysis.data import synth

    return synth.generate(seed=11, scale=0.02)


@pytest.fixture(scope="session")
def small_classified(small_panel):
    """The small panel, classified under the standard of each review year."""
    from povanalysis.data.pipeline import classify_panel

    return classify_panel(small_panel.households)


@pytest.fixture(scope="module")
def one_commune():
    """The trend projection of one commune of 500 households whose poor fall from 100 to 64 in 2021-2025."""
    from povanalysis.goals import projections

    counts = pd.DataFrame(
        {
            "commune_code": ["05500"] * 5,
            "review_year": np.arange(2021, 2026),
            "households": [500] * 5,
            "poor": [100, 90, 80, 72, 64],
        }
    )
    return projections.trend_projection(counts, n_sim=400, min_cell=1)


@pytest.fixture
def hand_projection():
    """A maker of hand-made projections: ``mean`` (units, years), recorded-rate draws ``obs`` (sims, units, years)."""
    from povanalysis.goals import projections

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
        return projections.Projection(
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
