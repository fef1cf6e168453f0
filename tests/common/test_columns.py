"""common.columns.isin: the same answer as pandas' Series.isin, for every text dtype and missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from povanalysis.common.columns import isin

TEXT = st.lists(st.one_of(st.none(), st.text(alphabet="abcĐđ", max_size=3)), max_size=30)


@settings(max_examples=200, deadline=None)
@given(TEXT, TEXT, st.sampled_from(["string[pyarrow]", "str", "string[python]", "object"]))
def test_same_as_pandas(values, allowed, dtype):
    left, right = pd.Series(values, dtype=dtype), pd.Series(allowed, dtype=dtype)
    expected = left.isin(right).to_numpy(bool)
    assert isin(left, right).tolist() == expected.tolist()
    assert isin(left, pd.Index(right)).tolist() == expected.tolist()
    assert isin(left, list(allowed)).tolist() == left.isin(list(allowed)).to_numpy(bool).tolist()


def test_hand_values():
    ids = pd.Series(["h1", "h2", None, "h4"], dtype="string[pyarrow]")
    assert isin(ids, pd.Series(["h4", "h1", "zz"], dtype="string[pyarrow]")).tolist() == [True, False, False, True]
    assert isin(ids, pd.Series([None], dtype="string[pyarrow]")).tolist() == [False, False, True, False]
    assert isin(ids, pd.Series([], dtype="string[pyarrow]")).tolist() == [False] * 4
    assert isin(np.array([1, 2, 3]), [3, 1]).tolist() == [True, False, True]
    assert isin(ids, pd.Series(["h1"], dtype="string[pyarrow]")).dtype == bool


@pytest.mark.parametrize("n", [1, 200_000])
def test_large_text_sets(n):
    left = pd.Series([f"h{i}" for i in range(n)], dtype="str")
    right = pd.Series([f"h{i}" for i in range(0, 2 * n, 2)], dtype="str")
    assert isin(left, right).sum() == (n + 1) // 2
