"""Annex-style files for the tests (written by :mod:`povanalysis.tables.annex`) and the small synthetic panel."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from povanalysis import config
from povanalysis.data import pipeline
from povanalysis.tables.annex import write_annex

__all__ = ["write_annex"]

ARTIFACTS = config.PROJ_ROOT / "tests" / "_artifacts"


@pytest.fixture(scope="session")
def classified():
    """The small synthetic panel, classified (the data the other tests prepare)."""
    with pytest.MonkeyPatch.context() as mp:
        root = Path(os.environ.get("POVANALYSIS_DATA_DIR") or ARTIFACTS / "data")
        pipeline.ensure_demo_data(root, seed=20240, scale=0.02)
        mp.setenv("POVANALYSIS_DATA_DIR", str(root))
        return pipeline.load_classified()
