"""The building blocks shared by the projection models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from povanalysis import config
from povanalysis.goals import series as S


def test_years_must_be_consecutive_and_after_the_last_review():
    assert S.check_years(range(2026, 2031), 2025).tolist() == [2026, 2027, 2028, 2029, 2030]
    with pytest.raises(ValueError, match="'years' must be consecutive years in increasing order, got \\[2026, 2028\\]"):
        S.check_years([2026, 2028], 2025)
    with pytest.raises(ValueError, match="'years' must come after the last review used \\(2025\\), got \\[2025\\]"):
        S.check_years([2025], 2025)


def test_min_cell_defaults_to_the_configuration():
    assert S.check_min_cell(None) == config.MIN_CELL
    with pytest.raises(ValueError, match="'min_cell' must be at least 1, got 0"):
        S.check_min_cell(0)


def test_streams_are_reproducible_and_independent():
    a, b = S.random_stream(7, 1).standard_normal(1000), S.random_stream(7, 2).standard_normal(1000)
    assert_allclose(a, S.random_stream(7, 1).standard_normal(1000))
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.1


def test_units_quantiles_and_minority():
    codes, units, index = S.unit_index(pd.DataFrame({"c": ["b", "a", "b"], "m": [True, False, True]}), ["c", "m"])
    assert codes.tolist() == [1, 0, 1] and len(units) == len(index) == 2
    lo, hi = S.quantiles(np.linspace(0, 1, 1001)[:, None], 0.05)
    assert_allclose([lo[0], hi[0]], [0.025, 0.975])
    assert S.standard_in_force(2026) == "2026-2030" and S.standard_in_force(1999) is None
    with pytest.raises(ValueError, match="'minority' or an 'ethnicity' column"):
        S.minority_column(pd.DataFrame({"x": [1]}))
