"""Fixtures shared by the goals' tests: a one-commune projection, hand-made projections, a tiny review."""

from __future__ import annotations

import pandas as pd
import pytest


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
