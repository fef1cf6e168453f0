"""Shared fixtures: a small synthetic panel, and the reference data folder when it is present."""

from __future__ import annotations

import os
from pathlib import Path

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
